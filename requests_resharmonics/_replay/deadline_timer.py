"""A call at a body's deadline, for the reads a read timeout cannot bound.

A read timeout bounds each read of the socket, not a library's read, which may be many of
them; a timer shuts the socket down at the deadline instead (shutting down, unlike closing,
wakes a read blocked in another thread). Shared by the requests and httpx readers of a 401.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any


@contextlib.contextmanager
def call_at(seconds: float, call: Callable[..., None], *args: Any) -> Iterator[None]:
    """Call ``call(*args)`` in ``seconds`` unless the block has ended by then.

    On the way out the timer is cancelled and waited for, so whatever the call sets is
    final when the block's caller looks at it.
    """
    timer = threading.Timer(seconds, call, args=args)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()


def duplicate_of(fileno: int) -> socket.socket:
    """Return a socket on a duplicate of ``fileno``; closing it closes the duplicate only.

    Shutting the duplicate down shuts the connection down without touching the owner's
    socket object (a TLS socket's own state, a file object's buffers).
    """
    return socket.socket(fileno=os.dup(fileno))
