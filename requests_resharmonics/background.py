"""Background renewals: at most one per token key in the process, never keeping it alive."""

from __future__ import annotations

import atexit
import os
import threading
from typing import Callable

_lock = threading.Lock()
_running: dict[str, threading.Thread] = {}

#: Set when the interpreter exits: renewals stop retrying instead of sleeping through it.
shutting_down = threading.Event()
atexit.register(shutting_down.set)


def start(key: str, renew: Callable[[], None]) -> bool:
    """Run ``renew`` in a daemon thread unless a renewal of ``key`` is already running.

    Returns whether a new renewal was started.
    """
    running = _running.get(key)  # every call in the renewal window asks: no lock for a yes
    if running is not None and running.is_alive():
        return False
    with _lock:
        running = _running.get(key)
        if running is not None and running.is_alive():
            return False
        thread = threading.Thread(
            target=_run, args=(key, renew), name="resharmonics-token-renewal", daemon=True
        )
        _running[key] = thread
    thread.start()
    return True


def is_running(key: str) -> bool:
    """Return whether a background renewal of ``key`` is under way."""
    with _lock:
        running = _running.get(key)
        return running is not None and running.is_alive()


def _run(key: str, renew: Callable[[], None]) -> None:
    try:
        renew()
    finally:
        with _lock:
            if _running.get(key) is threading.current_thread():
                del _running[key]


def _forget_after_fork() -> None:
    # The child has none of the parent's threads: nothing of theirs is running here.
    global _lock
    _lock = threading.Lock()
    _running.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
