"""The threads that fetch an export's pages ahead: daemons, so that a crash exits at once.

`concurrent.futures.ThreadPoolExecutor` joins its threads when the interpreter exits: a
script whose loop raised while a page hung would wait out that page's read timeouts (and
retries) before exiting. These threads are daemons, and the export joins them itself when
it stops (after cutting their connections, so the join is immediate).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class DaemonPool:
    """Up to ``size`` daemon threads running submitted calls, each with its `Future`.

    Example:
        >>> pool = DaemonPool(4, "resharmonics-page")
        >>> pool.submit(sum, [1, 2]).result()
        3
        >>> pool.shutdown(wait=True)
    """

    def __init__(self, size: int, name: str) -> None:
        self._size = size
        self._name = name
        self._queue: queue.SimpleQueue[
            tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None
        ]
        self._queue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._closed = False

    def submit(self, call: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``call(*args)`` in one of the threads; refuse once shut down."""
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new calls after shutdown")
            self._queue.put((future, call, args))
            if self._idle == 0 and len(self._threads) < self._size:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            else:
                self._idle -= 1 if self._idle else 0
        return future

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            future, call, args = job
            if future.set_running_or_notify_cancel():
                try:
                    result = call(*args)
                except BaseException as error:  # handed to whoever waits on the future
                    future.set_exception(error)
                else:
                    future.set_result(result)
                del future, call, args, job
            with self._lock:
                self._idle += 1

    def shutdown(self, *, wait: bool, timeout: float | None = None) -> None:
        """Stop taking calls; end the threads once their calls return (and wait for it).

        With a ``timeout``, wait at most that long in all: a thread still running then (one
        waiting for a token renewal that hangs, say) is left to end on its own; it is a
        daemon, and its call has nothing left to do.
        """
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)
        if not wait:
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        current = threading.current_thread()
        for thread in threads:
            if thread is not current:
                thread.join(None if deadline is None else max(deadline - time.monotonic(), 0))
