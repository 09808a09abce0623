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
from collections.abc import Callable
from typing import Any, Protocol

from ._http import Answer, Incoming
from ._tokens import TokenService

PREFIX = "/_fake/"


class Controlled(Protocol):
    """What the controls touch of `FakeResharmonics` (which owns them and routes to them).

    Named here so that this module needs no import of the fake: the fake imports the
    controls, and the two would otherwise import each other.
    """

    tokens: TokenService
    api_delay: float
    token_delay: float
    hang_seconds: float

    @property
    def port(self) -> int: ...
    @property
    def token_requests(self) -> int: ...
    @property
    def api_requests(self) -> int: ...
    @property
    def tokens_issued_since_reset(self) -> int: ...
    def fail_token_requests(self, *faults: str) -> None: ...
    def fail_api_requests(self, *faults: str) -> None: ...
    def throttle(self, count: int = 1, retry_after: float = 1.0) -> None: ...
    def add_route(
        self, method: str, path: str, answer: Any = None, *, status: int = 200
    ) -> None: ...
    def reset(self) -> None: ...


Control = Callable[[Controlled, dict[str, Any]], Any]


def _expire(fake: Controlled, body: dict[str, Any]) -> Any:
    # accessToken is the documented spelling; access_token (OAuth's) is accepted too.
    token = body.get("accessToken", body.get("access_token"))
    if token is not None and not isinstance(token, str):
        raise ValueError('expected {"accessToken": "..."}')
    return {"expired": fake.tokens.expire(token)}


def _token_faults(fake: Controlled, body: dict[str, Any]) -> Any:
    fake.fail_token_requests(*_faults(body))
    return {"queued": len(body["faults"])}


def _api_faults(fake: Controlled, body: dict[str, Any]) -> Any:
    fake.fail_api_requests(*_faults(body))
    return {"queued": len(body["faults"])}


def _faults(body: dict[str, Any]) -> list[str]:
    faults = body.get("faults")
    if not isinstance(faults, list) or not all(isinstance(item, str) for item in faults):
        raise ValueError('expected {"faults": ["503", ...]}')
    return faults


def _throttle(fake: Controlled, body: dict[str, Any]) -> Any:
    count = body.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 1_000_000:
        raise ValueError("count must be a whole number from 0 to 1000000")
    retry_after = _seconds(body.get("retryAfter", 1), "retryAfter")
    fake.throttle(count, retry_after)
    return {"throttled": count}


def _latency(fake: Controlled, body: dict[str, Any]) -> Any:
    if "api" in body:
        fake.api_delay = _seconds(body["api"], "api")
    if "token" in body:
        fake.token_delay = _seconds(body["token"], "token")
    if "hang" in body:
        fake.hang_seconds = _seconds(body["hang"], "hang")
    return {"api": fake.api_delay, "token": fake.token_delay, "hang": fake.hang_seconds}


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number of seconds")
    seconds = float(value)
    if not 0 <= seconds <= 600:  # also refuses NaN
        raise ValueError(f"{name} must be between 0 and 600 seconds")
    return seconds


#: The settings ``/_fake/settings`` reads and changes: control key -> attribute of the fake.
SETTINGS = {
    "tokenLifetime": "token_lifetime",
    "serverLifetime": "server_lifetime",
    "tokenDelay": "token_delay",
    "apiDelay": "api_delay",
    "hangSeconds": "hang_seconds",
    "expiryStyle": "expiry_style",
    "legacyPagination": "legacy_pagination",
}


def _settings(fake: Controlled, body: dict[str, Any]) -> Any:
    unknown = sorted(set(body) - set(SETTINGS))
    if unknown:
        raise ValueError(f"unknown settings {unknown}; known: {', '.join(SETTINGS)}")
    if "legacyPagination" in body and not isinstance(body["legacyPagination"], bool):
        raise ValueError("legacyPagination must be true or false")
    for key in ("tokenLifetime", "tokenDelay", "apiDelay", "hangSeconds"):
        if key in body and (isinstance(body[key], bool) or not isinstance(body[key], (int, float))):
            raise ValueError(f"{key} must be a number of seconds")
    # Checked together first, so that a refused setting leaves every other one unchanged.
    before = {key: getattr(fake, name) for key, name in SETTINGS.items()}
    try:
        for key, value in body.items():
            setattr(fake, SETTINGS[key], value)
    except (ValueError, TypeError):
        for key, value in before.items():
            setattr(fake, SETTINGS[key], value)
        raise
    return {key: getattr(fake, name) for key, name in SETTINGS.items()}


def _read_settings(fake: Controlled, body: dict[str, Any]) -> Any:
    return {key: getattr(fake, name) for key, name in SETTINGS.items()}


def _reset(fake: Controlled, body: dict[str, Any]) -> Any:
    fake.reset()
    return {"reset": True}


def _route(fake: Controlled, body: dict[str, Any]) -> Any:
    method, path = body.get("method", "GET"), body.get("path")
    if not isinstance(method, str) or not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(
            'expected {"method": "GET", "path": "/api/v3/...", "status": 200, "body": ...}'
        )
    status = body.get("status", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        raise ValueError("status must be a whole number from 200 to 599")
    fake.add_route(method, path, body.get("body"), status=status)
    return {"added": f"{method.upper()} {path}"}


def _stats(fake: Controlled, body: dict[str, Any]) -> Any:
    # Every figure counts from the last reset, so that they agree with one another.
    return {
        "tokenRequests": fake.token_requests,
        "apiRequests": fake.api_requests,
        "issuedTokens": fake.tokens_issued_since_reset,
    }


#: (method, path below the prefix) -> (control, what it does)
CONTROLS: dict[tuple[str, str], tuple[Control, str]] = {
    ("POST", "tokens/expire"): (
        _expire,
        'expire every token, or one: {"accessToken": "..."}; the API answers the expiry 401',
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
    ("GET", "stats"): (_stats, "token requests, API requests and issued tokens since the reset"),
    ("GET", "settings"): (_read_settings, "the settings below"),
    ("POST", "settings"): (
        _settings,
        'change settings: {"tokenLifetime": 60, "serverLifetime": 30, "tokenDelay": 0.5, '
        '"apiDelay": 0.1, "hangSeconds": 30, "expiryStyle": "www-authenticate", '
        '"legacyPagination": true}',
    ),
}


def refusal(fake: Controlled, incoming: Incoming) -> str | None:
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


def answer(fake: Controlled, incoming: Incoming) -> Answer:
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
