"""The requests driver of the conversation after a 401, which leaves no token behind.

The decisions are `flow`'s, shared with every front door. The shape is requests'
``HTTPDigestAuth``: a response hook that, on a 401, rewinds the body, copies the request,
sets the new header, sends it on the same connection and puts the first answer in
``history``. What this driver must not do: leave the live token where caches and pickles
keep responses (``history``, the hook itself).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from requests.cookies import extract_cookies_to_jar

from .._tokens.manager import TokenManager
from ..token import Token
from . import body_requests, flow
from .body_requests import as_requests_error

#: Marks a body held in memory (``None``, bytes or str): it can be sent again as it is.
IN_MEMORY = -1
#: ``None`` marks a body that cannot be replayed (a generator, an unseekable stream).
BodyPosition = int | None


class AnswerHook:
    """The response hook an auth object adds to each request it gives a token.

    It pickles to a hook that does nothing: requests pickles a response with its request,
    and a request with its hooks, so a pickled response (a process pool's result, a task
    queue's, a disk cache's) would otherwise carry the token manager, secret and all.
    """

    __slots__ = ("body_position", "manager", "sent")

    def __init__(self, manager: TokenManager, sent: Token, body_position: BodyPosition) -> None:
        self.manager = manager
        self.sent = sent
        self.body_position = body_position

    def __call__(self, response: requests.Response, **send_kwargs: Any) -> requests.Response:
        """Return the answer for the caller: ``response``, or that of a replay."""
        return answer(self.manager, self.sent, self.body_position, response, send_kwargs)

    def __reduce__(self) -> tuple[Callable[[], Callable[..., requests.Response]], tuple[()]]:
        return (_spent_hook, ())


def _spent_hook() -> Callable[..., requests.Response]:
    return _as_it_is


def _as_it_is(response: requests.Response, **kwargs: Any) -> requests.Response:
    return response


def answer(
    manager: TokenManager,
    sent: Token,
    body_position: BodyPosition,
    response: requests.Response,
    send_kwargs: dict[str, Any],
) -> requests.Response:
    """Return the answer to give the caller for ``response`` to a call carrying ``sent``.

    Drives the one conversation (`flow.after_answer`) with requests: reads a 401's body
    within its bounds, rewinds the body and resends on the same connection.
    """
    request = response.request
    # The header was dropped or replaced on the way (a redirect to another host, a user's
    # own header): then this answer says nothing of our token.
    carried = request.headers.get("Authorization") == "Bearer " + sent.access_token
    conversation = flow.after_answer(manager, sent, _answer_of(response, carried))
    current = response
    result: Any = None
    while True:
        try:
            step = conversation.send(result)
        except StopIteration as stop:
            outcome: flow.Outcome = stop.value
            break
        if isinstance(step, flow.ReadBody):
            result = body_requests.read(current)
        elif isinstance(step, flow.Rewind):
            result = rewind(request.body, body_position)
        elif isinstance(step, flow.Ask):
            result = step.call()
        else:
            current = _replay(request, current, step.token, send_kwargs)
            result = _answer_of(current, True)
    if current.is_redirect and carried:
        # requests follows it with copies of the request it was given, not of this one, and
        # puts this answer in ``history``, where caches such as requests-cache keep it.
        current.request = _without_token(current.request)
    return _as_given(current, outcome.error)


def _answer_of(response: requests.Response, carried: bool) -> flow.Answer:
    return flow.Answer(
        response.status_code,
        response.headers.get,
        (response.request.method or "GET") if response.request is not None else "GET",
        carried,
    )


def _as_given(response: requests.Response, error: BaseException | None) -> requests.Response:
    """Return ``response`` as requests would: a body lost to a local failure is an error."""
    if error is not None:
        raise as_requests_error(error)
    return response


def _replay(
    request: requests.PreparedRequest,
    rejected: requests.Response,
    token: Token,
    send_kwargs: dict[str, Any],
) -> requests.Response:
    """Send ``request`` again with ``token``; keep the answer that rejected it in history.

    ``request`` is the caller's, the one requests follows redirects from.
    """
    rejected.close()
    replay = request.copy()
    extract_cookies_to_jar(replay._cookies, request, rejected.raw)  # type: ignore[attr-defined,no-untyped-call]
    replay.prepare_cookies(replay._cookies)  # type: ignore[attr-defined]
    replay.headers["Authorization"] = "Bearer " + token.access_token
    # The rejected call stays in ``history`` without its token.
    rejected.request = _without_token(rejected.request)
    # requests follows a redirect of the replay with copies of the request it was given
    # (the caller's): that one must carry the replacement, not the token just rejected.
    # It and the final request are the only ones left holding the live token.
    request.headers["Authorization"] = replay.headers["Authorization"]
    reply: requests.Response = rejected.connection.send(replay, **send_kwargs)
    reply.history = [*rejected.history, rejected]
    rejected.history = []
    reply.request = replay
    return reply


def _without_token(request: requests.PreparedRequest) -> requests.PreparedRequest:
    copy = request.copy()
    copy.headers.pop("Authorization", None)
    return copy


def body_position(body: object) -> BodyPosition:
    """Note where a body starts, so that it can be rewound for a replay."""
    if body is None or isinstance(body, (bytes, bytearray, memoryview, str)):
        return IN_MEMORY
    tell = getattr(body, "tell", None)
    if tell is None or not callable(getattr(body, "seek", None)):
        return None
    try:
        position = tell()
    except (OSError, ValueError):
        return None
    return position if isinstance(position, int) else None


def rewind(body: object, position: BodyPosition) -> bool:
    """Rewind a body to where it started; return whether it can be sent again."""
    if position is None:
        return False
    if position == IN_MEMORY:
        return True
    try:
        body.seek(position)  # type: ignore[attr-defined]
    except (OSError, ValueError, AttributeError):
        return False
    return True
