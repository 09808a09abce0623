"""The fake's controls over HTTP, under ``/_fake/``, for clients written in other languages.

Nothing here is part of the real service, so it lives apart from ``/api/v3`` and needs no
token: the server listens on 127.0.0.1 only. ``GET /_fake/`` lists the controls.

Listening on 127.0.0.1 does not keep out the web pages the developer's browser opens: a
page can POST to ``http://127.0.0.1:PORT/_fake/...`` (a ``text/plain`` POST needs no
preflight), or rebind its own name to 127.0.0.1 and read the answers. So a control request
is refused (403) unless its ``Host`` is the fake's own address and port, and unless any
``Origin`` it carries is the fake's own, and any ``Sec-Fetch-Site`` is ``same-origin`` or
``none`` (typed or pasted by the developer).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable

from ._http import Answer, Incoming

if TYPE_CHECKING:
    from ._fake import FakeResharmonics

PREFIX = "/_fake/"

Control = Callable[["FakeResharmonics", dict[str, Any]], Any]


def _expire(fake: FakeResharmonics, body: dict[str, Any]) -> Any:
    return {"expired": fake.tokens.expire(body.get("access_token"))}


def _token_faults(fake: FakeResharmonics, body: dict[str, Any]) -> Any:
    fake.fail_token_requests(*_faults(body))
    return {"queued": len(body["faults"])}


def _api_faults(fake: FakeResharmonics, body: dict[str, Any]) -> Any:
    fake.fail_api_requests(*_faults(body))
    return {"queued": len(body["faults"])}


def _faults(body: dict[str, Any]) -> list[str]:
    faults = body.get("faults")
    if not isinstance(faults, list) or not all(isinstance(item, str) for item in faults):
        raise ValueError('expected {"faults": ["503", ...]}')
    return faults


def _throttle(fake: FakeResharmonics, body: dict[str, Any]) -> Any:
    count = int(body.get("count", 1))
    retry_after = float(body.get("retryAfter", 1))
    fake.throttle(count, retry_after)
    return {"throttled": count}


def _latency(fake: FakeResharmonics, body: dict[str, Any]) -> Any:
    if "api" in body:
        fake.api_delay = _seconds(body["api"], "api")
    if "token" in body:
        fake.token_delay = _seconds(body["token"], "token")
    if "hang" in body:
        fake.hang_seconds = _seconds(body["hang"], "hang")
    return {"api": fake.api_delay, "token": fake.token_delay, "hang": fake.hang_seconds}


def _seconds(value: Any, name: str) -> float:
    seconds = float(value)
    if not 0 <= seconds <= 600:
        raise ValueError(f"{name} must be between 0 and 600 seconds")
    return seconds


def _reset(fake: FakeResharmonics, body: dict[str, Any]) -> Any:
    fake.reset()
    return {"reset": True}


def _route(fake: FakeResharmonics, body: dict[str, Any]) -> Any:
    method, path = body.get("method", "GET"), body.get("path")
    if not isinstance(method, str) or not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(
            'expected {"method": "GET", "path": "/api/v3/...", "status": 200, "body": ...}'
        )
    fake.add_route(method, path, body.get("body"), status=int(body.get("status", 200)))
    return {"added": f"{method.upper()} {path}"}


def _stats(fake: FakeResharmonics, body: dict[str, Any]) -> Any:
    return {
        "tokenRequests": fake.token_requests,
        "apiRequests": fake.api_requests,
        "issuedTokens": len(fake.issued_tokens),
    }


#: (method, path below the prefix) -> (control, what it does)
CONTROLS: dict[tuple[str, str], tuple[Control, str]] = {
    ("POST", "tokens/expire"): (
        _expire,
        'expire every token, or one: {"access_token": "..."}; the API answers the expiry 401',
    ),
    ("POST", "faults/token"): (_token_faults, 'queue token-endpoint faults: {"faults": [...]}'),
    ("POST", "faults/api"): (_api_faults, 'queue API faults: {"faults": [...]}'),
    ("POST", "throttle"): (
        _throttle,
        'answer the next API calls 429: {"count": 2, "retryAfter": 1}',
    ),
    ("POST", "latency"): (_latency, 'slow every call: {"api": 0.1, "token": 0.5, "hang": 30}'),
    ("POST", "routes"): (_route, 'add a route: {"method", "path", "status", "body"}'),
    ("POST", "reset"): (_reset, "fresh data; no added routes, faults, throttling or counts"),
    ("GET", "stats"): (_stats, "token and API request counts"),
}


def refusal(fake: FakeResharmonics, incoming: Incoming) -> str | None:
    """Say why a control request may come from a web page rather than the developer, or None."""
    own = {f"127.0.0.1:{fake.port}", f"localhost:{fake.port}"}
    host = incoming.headers.get("host", "").strip().lower()
    if host not in own:
        return "the Host header is not this server's own address (DNS rebinding?)"
    origin = incoming.headers.get("origin")
    if origin is not None and origin.strip().lower() not in {f"http://{name}" for name in own}:
        return "the request comes from another origin (a web page?)"
    site = incoming.headers.get("sec-fetch-site", "").strip().lower()
    if site not in ("", "same-origin", "none"):
        return f"the request is {site} (a web page?)"
    return None


def answer(fake: FakeResharmonics, incoming: Incoming) -> Answer:
    """Carry out one control request, unless it may come from a web page (403)."""
    from ._faults import API_FAULTS
    from ._tokens import TOKEN_FAULTS

    refused = refusal(fake, incoming)
    if refused is not None:
        return Answer(403, {"error": f"control refused: {refused}"})

    name = incoming.path[len(PREFIX) :].strip("/")
    if name == "" and incoming.method == "GET":
        listing = {
            f"{method} {PREFIX}{path}": text for (method, path), (_, text) in CONTROLS.items()
        }
        return Answer(
            200,
            {"controls": listing, "tokenFaults": list(TOKEN_FAULTS), "apiFaults": list(API_FAULTS)},
        )
    found = CONTROLS.get((incoming.method, name))
    if found is None:
        return Answer(404, {"error": f"no control {incoming.method} {incoming.path}; GET {PREFIX}"})
    try:
        try:
            body = json.loads(incoming.body or b"{}")
        except RecursionError:  # JSON nested thousands deep
            raise ValueError("the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return Answer(200, found[0](fake, body))
    except (ValueError, TypeError) as error:
        return Answer(400, {"error": str(error)})
