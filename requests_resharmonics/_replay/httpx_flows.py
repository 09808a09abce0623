"""The httpx and httpx2 drivers of the one conversation after an answer (`_replay.flow`).

httpx and httpx2 (Pydantic's fork) share one API, so one driver serves both: each front
door passes its library module. A driver only adds the header, reads a 401's body within
the bounds, tells whether the body can be sent again and resends; every decision is the
flow's, as for requests. The sync driver runs a manager call inline; the async driver runs
it in a worker thread (anyio's, so asyncio and trio both work), once for every coroutine
of the loop that needs the same renewal, so that no token request blocks the event loop.

Private reach: ``Response._content`` is set to what was read of a 401, as
``Response.read()`` would, so that the caller can still read the 401 in ``history``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterator
from types import ModuleType
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from .._credentials import Credentials
from ..token import Token
from . import flow, verdict
from .deadline_timer import call_at, duplicate_of
from .verdict import Body

_T = TypeVar("_T")

#: Where a request's extensions (which httpx copies into the request for a redirect) carry
#: the origin the call was first made to.
_FIRST_ORIGIN = "requests_resharmonics.first_origin"


class HTTPXFlows(Credentials):
    """Token handling for an httpx-API library: the two drivers and the async helpers."""

    #: The library whose requests and responses this front door handles.
    _library: ModuleType

    async def avalid_token(self) -> Token:
        """`valid_token` for coroutines: any token request runs in a worker thread."""
        token = self._manager.token
        if token is not None and self._manager.clock() < self._manager.renew_at(token):
            return token  # reading it needs no lock, no thread
        return await self._coalesced(("valid",), self._manager.valid_token)

    def sync_auth_flow(self, request: Any) -> Generator[Any, Any, None]:
        """Add the bearer token; renew and replay on the expiry 401, as every front door."""
        if not self._may_send(request):
            yield request
            return
        sent = self._manager.valid_token()
        request.headers["Authorization"] = "Bearer " + sent.access_token
        response = yield request
        conversation = flow.after_answer(self._manager, sent, self._answer_of(response, sent))
        result: Any = None
        while True:
            try:
                step = conversation.send(result)
            except StopIteration as stop:
                outcome: flow.Outcome = stop.value
                break
            if isinstance(step, flow.ReadBody):
                result = self._bounded(response)
            elif isinstance(step, flow.Rewind):
                result = self._replayable(request)
            elif isinstance(step, flow.Ask):
                result = step.call()
            else:
                if not self._is_read(response):
                    self._bounded(response)  # httpx reads it for history: within the bounds
                response.close()
                request.headers["Authorization"] = "Bearer " + step.token.access_token
                response = yield request
                result = self._answer_of(response, step.token)
        if outcome.error is not None:
            raise outcome.error

    async def async_auth_flow(self, request: Any) -> AsyncGenerator[Any, Any]:
        """Hold the same conversation without blocking the loop: manager calls run in a thread."""
        if not self._may_send(request):
            yield request
            return
        sent = await self.avalid_token()
        request.headers["Authorization"] = "Bearer " + sent.access_token
        response = yield request
        conversation = flow.after_answer(self._manager, sent, self._answer_of(response, sent))
        result: Any = None
        while True:
            try:
                step = conversation.send(result)
            except StopIteration as stop:
                outcome: flow.Outcome = stop.value
                break
            if isinstance(step, flow.ReadBody):
                result = await self._abounded(response)
            elif isinstance(step, flow.Rewind):
                result = self._replayable(request)
            elif isinstance(step, flow.Ask):
                if step.key is None:
                    result = await anyio.to_thread.run_sync(step.call)
                else:
                    result = await self._coalesced(step.key, step.call)
            else:
                if not self._is_read(response):
                    await self._abounded(response)
                await response.aclose()
                request.headers["Authorization"] = "Bearer " + step.token.access_token
                response = yield request
                result = self._answer_of(response, step.token)
        if outcome.error is not None:
            raise outcome.error

    # -- what only the library can do ---------------------------------------------------

    def _may_send(self, request: Any) -> bool:
        """Return whether this request may carry the token, to the call's first origin only.

        `may_send_token_to` decides for that origin. httpx follows its own redirects inside
        one auth flow, dropping the header on the way to another origin; a redirect followed
        by hand (``client.send(response.next_request)``) runs the flow again, with the first
        request's extensions: that one goes without the token to another scheme, host or
        port, as requests does it.
        """
        url = request.url
        origin = f"{url.scheme}://{(url.host or '').lower()}:{url.port}"
        if request.extensions.setdefault(_FIRST_ORIGIN, origin) != origin:
            return False
        return self.may_send_token_to(str(url))

    def _answer_of(self, response: Any, token: Token) -> flow.Answer:
        # httpx follows redirects inside one auth flow, and drops the header on the way to
        # another origin: the final answer then says nothing of our token.
        carried = response.request.headers.get("Authorization") == "Bearer " + token.access_token
        return flow.Answer(
            response.status_code, response.headers.get, response.request.method, carried
        )

    def _replayable(self, request: Any) -> bool:
        """Return whether the body is in memory (bytes, a form, JSON), so it can be resent."""
        try:
            request.content  # noqa: B018 - raises for a streamed body not read into memory
        except self._library.RequestNotRead:
            return False
        return True

    def _bounded(self, response: Any) -> Body:
        """Read at most `verdict.MAX_401_BYTES` of a 401 within the time bound."""
        if self._is_read(response):
            return Body(response.content[: verdict.MAX_401_BYTES + 1], True, None)
        reader = _Reader(response)
        try:
            with (
                _read_timeout_at_most(response, verdict.MAX_401_SECONDS),
                _shut_down_at(response, reader.remaining()),
            ):
                for chunk in response.iter_bytes():
                    if not reader.add(chunk):
                        response.close()
                        return reader.body()
        except self._library.HTTPError as error:
            response.close()
            return reader.body(error)
        return reader.body(complete=True)

    async def _abounded(self, response: Any) -> Body:
        """`_bounded` for an async response."""
        if self._is_read(response):
            return Body(response.content[: verdict.MAX_401_BYTES + 1], True, None)
        reader = _Reader(response)
        chunks: AsyncGenerator[bytes, None] = response.aiter_bytes()
        try:
            while True:
                # A body that stops coming is given up on at the bound too, whatever the
                # transport's own read timeout (None waits for ever).
                with anyio.move_on_after(reader.remaining()) as waiting:
                    chunk = await chunks.__anext__()
                if waiting.cancelled_caught or not reader.add(chunk):
                    await _abandon(chunks)
                    await response.aclose()
                    return reader.body()
        except StopAsyncIteration:
            return reader.body(complete=True)
        except self._library.HTTPError as error:
            await response.aclose()
            return reader.body(error)

    def _is_read(self, response: Any) -> bool:
        try:
            response.content  # noqa: B018 - raises until the body is read
        except self._library.ResponseNotRead:
            return False
        return True

    async def _coalesced(self, key: tuple[str, ...], call: Callable[[], _T]) -> _T:
        """Run ``call`` in a worker thread, once for all the coroutines asking meanwhile.

        The manager's lock already makes threads wait for one token request; this keeps
        coroutines from each holding a worker thread while they wait for it.
        """
        # Per thread, so per event loop; made on first use (setdefault is atomic).
        in_flight = self.__dict__.setdefault("_in_flight", threading.local())
        table: dict[tuple[str, ...], _Pending] = in_flight.__dict__.setdefault("table", {})
        while True:
            pending = table.get(key)
            if pending is None:
                break
            await pending.done.wait()
            if pending.finished:
                if pending.error is not None:
                    raise pending.error
                result: _T = pending.result
                return result
            # The call that ran it was cancelled before it finished: run it again.
        pending = table[key] = _Pending()
        try:
            pending.result = await anyio.to_thread.run_sync(call)
            pending.finished = True
            return pending.result  # type: ignore[no-any-return]
        except Exception as error:
            pending.error, pending.finished = error, True
            raise
        finally:
            del table[key]
            pending.done.set()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_in_flight", None)  # coroutines waiting in this process only
        return state


class _Reader:
    """What has been read of a 401's body, against its bounds of size and time."""

    def __init__(self, response: Any) -> None:
        self.response = response
        self.give_up_at = time.monotonic() + verdict.MAX_401_SECONDS
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, chunk: bytes) -> bool:
        """Keep ``chunk``; return whether reading may go on."""
        self.parts.append(chunk)
        self.size += len(chunk)
        return self.size <= verdict.MAX_401_BYTES and time.monotonic() <= self.give_up_at

    def remaining(self) -> float:
        """Return the seconds left before the body is given up on."""
        return max(0.0, self.give_up_at - time.monotonic())

    def body(self, error: BaseException | None = None, *, complete: bool = False) -> Body:
        """Return what was read; it stays the response's content, as ``read()`` stores it.

        So the caller (and httpx, which reads each answer it puts in ``history``) reads
        the 401 without touching a stream closed at the bound. A read that failed past
        the bound (a read timeout at it) is the body given up on, not lost to a failure.
        """
        if time.monotonic() >= self.give_up_at:
            error = None
        data = b"".join(self.parts)
        self.response._content = data
        return Body(data, complete, error)


@contextlib.contextmanager
def _shut_down_at(response: Any, seconds: float) -> Iterator[None]:
    """Shut ``response``'s socket down at the deadline, unless it was closed by then.

    The read timeout bounds each read of the socket, not each chunk httpx yields, which may
    take many of them: a chunk's size line or a gzip header trickled a byte at a time would
    hold the reader for ever. The socket is reached through httpcore's public
    ``network_stream`` extension, and shut down (which, unlike closing, wakes a read blocked
    in another thread) through a duplicate of its descriptor, so that a TLS socket's own
    state is not touched. A closed response's connection may be back in its pool: httpx marks
    the response closed before it lets the connection go, and then it is left alone.
    """
    try:
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        duplicate = duplicate_of(sock.fileno()) if sock is not None else None
    except (AttributeError, OSError, ValueError, TypeError):
        duplicate = None  # a transport without a socket of its own (a mock): it answers at once
    if duplicate is None:
        yield
        return

    def shut_down() -> None:
        if not response.is_closed:
            with contextlib.suppress(OSError):
                duplicate.shutdown(socket.SHUT_RD)

    with duplicate, call_at(seconds, shut_down):
        yield


async def _abandon(chunks: AsyncGenerator[bytes, None]) -> None:
    """End ``chunks`` and the generators httpx and httpcore nest under it, read or not.

    Closing the outer one would leave the inner ones suspended for the garbage collector
    (trio warns of each one it collects); a cancellation raised at the innermost read ends
    every one of them, as the time bound's does. The chunks still buffered (no read, so no
    cancellation point) are dropped on the way, and so is a failure met meanwhile: the body
    was given up on before it.
    """
    with anyio.CancelScope() as scope:
        scope.cancel()
        with contextlib.suppress(Exception):  # StopAsyncIteration: it ended by itself
            while True:
                await chunks.__anext__()
    await chunks.aclose()  # ended already, unless a library swallowed the cancellation


@contextlib.contextmanager
def _read_timeout_at_most(response: Any, seconds: float) -> Iterator[None]:
    """Bound each read of ``response``'s body by ``seconds`` (a caller's shorter one stays).

    httpx's transports take a body's read timeout from the request's ``timeout`` extension
    (public: ``extensions={"timeout": ...}``) when the body is first read; the caller's is
    put back afterwards, for the request may be sent again. A transport that reads no such
    extension (a mock) is left as it is: it answers at once anyway.
    """
    try:
        extensions = response.request.extensions
    except (AttributeError, RuntimeError):  # a response built by hand has no request
        yield
        return
    timeouts = extensions.get("timeout") if isinstance(extensions, dict) else None
    if not isinstance(timeouts, dict):
        yield
        return
    own = timeouts.get("read")
    extensions["timeout"] = {**timeouts, "read": seconds if own is None else min(own, seconds)}
    try:
        yield
    finally:
        extensions["timeout"] = timeouts


class _Pending:
    """A worker-thread call under way, that other coroutines of the loop wait for."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.finished = False
        self.result: Any = None
        self.error: Exception | None = None
