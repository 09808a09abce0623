"""The conversation after a 401: judge it, renew once, send again, and leave no token behind.

The shape is requests' ``HTTPDigestAuth``: a response hook that, on a 401, rewinds the body,
copies the request, sets the new header, sends it on the same connection and puts the first
answer in ``history``. What it must not do: buy a token per call for a 401 renewing cannot
help, loop, send a body twice that cannot be sent twice, or leave the live token where
caches and pickles keep responses (``history``, the hook itself).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Union

import requests
from requests.cookies import extract_cookies_to_jar

from .._tokens.manager import TokenManager, event
from ..token import Token
from .body_requests import as_requests_error
from .verdict import Verdict, judge

log = logging.getLogger("requests_resharmonics")

#: The most times one call is sent again: once after a rejection, and again only while each
#: rejected replacement had been accepted before (revoked while the replay was on its way).
MAX_REPLAYS = 3

#: Marks a body held in memory (``None``, bytes or str): it can be sent again as it is.
IN_MEMORY = -1
#: ``None`` marks a body that cannot be replayed (a generator, an unseekable stream).
BodyPosition = Union[int, None]


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
    """Return the answer to give the caller for ``response`` to a call carrying ``sent``."""
    request = response.request
    if request.headers.get("Authorization") != "Bearer " + sent.access_token:
        # The header was dropped or replaced on the way (a redirect to another host, a
        # user's own header): this answer says nothing of our token.
        return response
    if response.status_code != 401:
        _accepted(manager, sent, response)
        return response
    verdict, error = judge(response)
    if not rewind(request.body, body_position):
        if verdict is Verdict.EXPIRED:
            log.debug(
                "token %s rejected; the body cannot be sent again",
                sent.fingerprint,
                extra=event("unreplayable", sent),
            )
            manager.discard(sent)
        return _as_given(response, error)
    if verdict is Verdict.EXPIRED:
        replacement = manager.renew_after_rejection(sent)
    elif verdict is Verdict.UNREADABLE:
        # The body was lost to a local failure: no evidence either way. A token another
        # call has already renewed (a burst of expiries: that call could read its 401)
        # costs nothing to replay with; a token bought on no evidence could cost one per
        # call for a 401 renewing cannot help, so without one the read's error is raised.
        replacement = manager.replacement_for(sent)
    else:
        # The gateway calls the token invalid. One from a cache may have been revoked
        # since; one this object fetched itself is not renewed for it.
        replacement = manager.replace_refused_shared(sent)
    if replacement is None:  # nothing to gain, or renewals are paused
        return _as_given(response, error)
    reply = _replay(request, response, replacement, send_kwargs)
    replays = 1
    while reply.status_code == 401:
        # The replacement was refused too (any 401: a gateway may alternate its answers).
        # Again only where the manager has proof that this is a revocation, not an API that
        # refuses every token (then renewals pause and this is the answer), and at most
        # MAX_REPLAYS times, so that no call can loop.
        _, error = judge(reply)  # reads the body within its bound
        again = manager.replacement_rejected(replacement, may_replace=replays < MAX_REPLAYS)
        if again is None or not rewind(request.body, body_position):
            return _as_given(reply, error)
        reply = _replay(request, reply, again, send_kwargs)
        replacement, replays = again, replays + 1
    _accepted(manager, replacement, reply)
    return reply


def _accepted(manager: TokenManager, token: Token, response: requests.Response) -> None:
    """Note a call the API answered with ``token``; a redirect keeps no token in history."""
    if 200 <= response.status_code < 400:
        manager.accepted(token)
    if response.is_redirect:
        # requests follows it with copies of the request it was given, not of this one, and
        # puts this answer in ``history``, where caches such as requests-cache keep it.
        response.request = _without_token(response.request)


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
