"""Settings for vcrpy that record Res:Harmonics traffic without its secrets.

vcrpy stores every request and answer as it went over the wire: the ``Authorization``
headers (``Basic`` credentials to the token endpoint, ``Bearer`` tokens to the API), the
client secret in a ``client_secret_post`` form, and the access token in the token answer.
`vcr_config` removes all of them while recording, and puts in place of the access token a
placeholder that the library still reads as a token with an expiry, so that a cassette
replays, token request included, with no network and no token service.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

#: The port the pytest plugin's fake listens on in a test marked ``vcr``, unless the
#: ``fake_resharmonics`` marker names another: vcrpy matches requests on host and port, so
#: a cassette replays only at the address it was recorded at.
CASSETTE_PORT = 8642

#: Headers never written into a cassette: credentials, tokens, the API's apiKey scheme.
SECRET_HEADERS = ("authorization", "proxy-authorization", "x-auth-token")

#: Form fields of a token request that are secrets (``client_secret_post`` and kin).
SECRET_FORM_FIELDS = frozenset({"client_secret", "client_assertion", "password"})

#: Fields of a token answer that are credentials.
TOKEN_FIELDS = ("access_token", "refresh_token", "id_token")


def _placeholder_jwt() -> str:
    def part(document: dict[str, object]) -> str:
        raw = json.dumps(document, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    # Unsigned and meaningless to any service, but JWT-shaped, with an ``exp`` in 2100:
    # a token answer without ``expires_in`` still reads as a token that has not expired.
    claims = {"sub": "recorded-by-vcrpy", "exp": 4102444800}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.cmVjb3JkZWQ"


#: What a recorded token answer carries instead of the access token.
PLACEHOLDER_TOKEN = _placeholder_jwt()

Hook = Callable[[Any], Any]
Hooks = Hook | Iterable[Hook] | None


def vcr_config(**options: Any) -> dict[str, Any]:
    """Return keyword arguments for ``vcr.VCR`` (or pytest-recording's ``vcr_config``).

    Cassettes recorded with them hold no ``Authorization`` (nor ``Proxy-Authorization``,
    ``X-Auth-Token``) header, no client secret in a token request's form, and no token in
    a token answer: its ``access_token`` is replaced by `PLACEHOLDER_TOKEN`, its
    ``refresh_token`` and ``id_token`` removed. Compressed answers are stored decoded, so
    that they can be scrubbed. Token requests are recorded and replayed like any other.

    ``options`` are added to the settings: ``filter_headers`` extends the list, and
    ``before_record_request`` / ``before_record_response`` (one callable or a list) run
    after the scrubbing; anything else replaces the setting of the same name.

    Example:
        >>> import vcr
        >>> recorder = vcr.VCR(**vcr_config(record_mode="once"))
        >>> with recorder.use_cassette("tests/cassettes/units.yaml"):
        ...     units = session.get("/api/v3/units").json()
    """
    settings: dict[str, Any] = {
        "filter_headers": list(SECRET_HEADERS),
        "decode_compressed_response": True,
    }
    settings["filter_headers"].extend(options.pop("filter_headers", ()))
    settings["before_record_request"] = [
        scrub_request,
        *_hooks(options.pop("before_record_request", None)),
    ]
    settings["before_record_response"] = [
        scrub_response,
        *_hooks(options.pop("before_record_response", None)),
    ]
    settings.update(options)
    return settings


def scrub_request(request: Any) -> Any:
    """Remove the secret fields from a token request's form body (a vcrpy ``Request``)."""
    body = request.body
    if not body or request.method.upper() != "POST":
        return request
    text = body.decode("latin-1") if isinstance(body, bytes) else str(body)
    try:
        fields = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return request  # not a form: not a token request
    if not any(name == "grant_type" for name, _ in fields):
        return request
    kept = [(name, value) for name, value in fields if name not in SECRET_FORM_FIELDS]
    request.body = urlencode(kept).encode("ascii")
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """Replace the token in a token answer (a vcrpy response dict) with the placeholder."""
    body = response.get("body", {}).get("string")
    if not body or b"_token" not in (body if isinstance(body, bytes) else body.encode()):
        return response
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return response
    if not isinstance(payload, dict) or not any(field in payload for field in TOKEN_FIELDS):
        return response
    if "access_token" in payload:
        payload["access_token"] = PLACEHOLDER_TOKEN
    payload.pop("refresh_token", None)
    payload.pop("id_token", None)
    scrubbed = json.dumps(payload).encode()
    response["body"]["string"] = scrubbed
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() == "content-length":
            headers[name] = [str(len(scrubbed))]
    return response


def _hooks(given: Hooks) -> list[Hook]:
    """Return the user's hooks as a list: vcrpy takes one callable or several."""
    if given is None:
        return []
    return [given] if callable(given) else list(given)
