"""The one conversation after an answer, which every front door drives.

Written once, as a generator that never touches the network: it yields what it needs done
and is sent back the result, as httpx's own auth flows are. Each front door (requests;
httpx and httpx2, sync and async) is a driver that only reads bodies, rewinds them and
sends again; the sync drivers run a manager call inline, the async ones in a worker thread.
So every front door judges the same 401 alike and replays it the same number of times.

What the conversation must not do: buy a token per call for a 401 renewing cannot help,
loop, send a body twice that cannot be sent twice, or act on an answer to a request that
did not carry our token (a redirect to another host, a user's own header).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Generator
from typing import Any, NamedTuple

from .._tokens.manager import TokenManager, event
from ..token import Token
from .verdict import Body, HeaderLookup, Judgement, Verdict, judge_body, judge_head

log = logging.getLogger("requests_resharmonics")

#: The most times one call is sent again: once after a rejection, and again only while each
#: rejected replacement had been accepted before (revoked while the replay was on its way).
MAX_REPLAYS = 3


class Answer(NamedTuple):
    """What the conversation needs of an HTTP answer, whatever library received it."""

    status: int
    header: HeaderLookup
    method: str
    #: Whether the request this answers carried our token: a redirect to another host
    #: drops it on the way, and then the answer says nothing of our token.
    carried_token: bool


class ReadBody(NamedTuple):
    """Step: read the current 401's body within the bounds; send back a `Body`."""


class Rewind(NamedTuple):
    """Step: make the request's body ready to be sent again; send back whether it can be."""


class Ask(NamedTuple):
    """Step: run a manager call that may wait for a lock or a token request.

    Send back its result. ``key`` names calls that coroutines of one loop may share
    (``None``: never).
    """

    call: Callable[[], Any]
    key: tuple[str, ...] | None = None


class Resend(NamedTuple):
    """Step: send the request again with ``token`` in place of the one refused.

    Send back the new `Answer`.
    """

    token: Token


class Outcome(NamedTuple):
    """How the conversation ended.

    The answer in hand is the caller's, or ``error`` (a body lost to a local failure) is
    raised as the front door's own error.
    """

    error: BaseException | None = None


Step = ReadBody | Rewind | Ask | Resend
Conversation = Generator[Step, Any, Outcome]


def after_answer(manager: TokenManager, sent: Token, answer: Answer) -> Conversation:
    """Decide what follows ``answer`` to a call that was sent with ``sent``."""
    if not answer.carried_token:
        return Outcome()
    if answer.status != 401:
        note_answer(manager, sent, answer.status)
        return Outcome()
    judgement = yield from _judge(answer)
    if not (yield Rewind()):
        if judgement.verdict is Verdict.EXPIRED:
            log.debug(
                "token %s rejected; the body cannot be sent again",
                sent.fingerprint,
                extra=event("unreplayable", sent),
            )
            yield Ask(lambda: manager.discard(sent))
        return Outcome(judgement.error)
    replacement = yield from _replacement(manager, sent, judgement.verdict)
    if replacement is None:  # nothing to gain, or renewals are paused
        return Outcome(judgement.error)
    reply: Answer = yield Resend(replacement)
    replays = 1
    while reply.status == 401:
        # The replacement was refused too (any 401: a gateway may alternate its answers).
        # Again only where the manager has proof that this is a revocation, not an API that
        # refuses every token (then renewals pause and this is the answer), and at most
        # MAX_REPLAYS times, so that no call can loop.
        judgement = yield from _judge(reply)  # reads the body within its bound
        again = yield Ask(
            functools.partial(
                manager.replacement_rejected, replacement, may_replace=replays < MAX_REPLAYS
            )
        )
        if again is None or not (yield Rewind()):
            return Outcome(judgement.error)
        reply = yield Resend(again)
        replacement, replays = again, replays + 1
    note_answer(manager, replacement, reply.status)
    return Outcome()


def note_answer(manager: TokenManager, token: Token, status: int) -> None:
    """Tell the manager the API answered a call made with ``token``.

    2xx and 3xx prove that it works; a 403 or a 5xx says nothing of the token.
    """
    if 200 <= status < 400:
        manager.accepted(token)


def replaced(manager: TokenManager, rejected: Token) -> Token | None:
    """Return a token that has already replaced ``rejected`` and is not due, without a lock.

    The one "has another call already replaced it?" test outside the manager's lock: the
    async drivers ask it before taking a worker thread.
    """
    current = manager.token
    if current is None or current.access_token == rejected.access_token:
        return None
    return current if manager.clock() < manager.renew_at(current) else None


def _judge(answer: Answer) -> Generator[Step, Any, Judgement]:
    judgement = judge_head(answer.status, answer.header, answer.method)
    if judgement is not None:
        return judgement
    body: Body = yield ReadBody()
    return judge_body(body)


def _replacement(
    manager: TokenManager, sent: Token, verdict: Verdict
) -> Generator[Step, Any, Token | None]:
    """Return the token to replay with for ``verdict``, or None to give the answer as it is."""
    if verdict is Verdict.EXPIRED:
        ready = replaced(manager, sent)
        if ready is not None:
            return ready
        token: Token | None = yield Ask(
            lambda: manager.renew_after_rejection(sent), ("renew", sent.access_token)
        )
        return token
    if verdict is Verdict.UNREADABLE:
        # The body was lost to a local failure: no evidence either way. A token another
        # call has already renewed (a burst of expiries: that call could read its 401)
        # costs nothing to replay with; a token bought on no evidence could cost one per
        # call for a 401 renewing cannot help, so without one the read's error is raised.
        token = yield Ask(lambda: manager.replacement_for(sent))
        return token
    # The gateway calls the token invalid. One from a cache may have been revoked since;
    # one this object fetched itself is not renewed for it.
    token = yield Ask(lambda: manager.replace_refused_shared(sent), ("shared", sent.access_token))
    return token
