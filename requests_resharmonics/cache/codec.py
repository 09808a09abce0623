"""How tokens are written into caches: tagged, and sealed for caches outside the process.

A stored value reads ``v1:<id>:<payload>``. The id is a hash of the access token, so that a
cache can delete "the token that was rejected" without understanding the payload. For file
and Redis caches the payload is encrypted (Fernet, from ``cryptography``) with a key derived
from the client secret: whoever can read the file or the Redis key but does not hold the
secret learns nothing usable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from ..errors import ConfigurationError
from ..token import Token
from .base import VALUE_PREFIX, access_token_id, value_id, value_tag


def token_id(token: Token) -> str:
    """Return the id under which a cache knows ``token``: a hash, never the token."""
    return access_token_id(token.access_token)


class PlainCodec:
    """For caches inside the process: the token as JSON."""

    def encode(self, token: Token) -> str:
        """Return the stored form of ``token``."""
        return value_tag(token_id(token)) + token.to_json()

    def decode(self, value: str | None) -> Token | None:
        """Return the token of a stored value; ``None`` for anything unreadable."""
        payload = _payload(value)
        return Token.from_json(payload) if payload is not None else None


class SealedCodec(PlainCodec):
    """For caches outside the process: the token's JSON encrypted with a key from the secret.

    The key is derived from the secret *and* the cache key, so a value is bound to the key
    it was stored under: copied to another key of the same secret (another scope, another
    client id with the same secret), it does not decrypt.
    """

    def __init__(self, client_secret: str, cache_key: str) -> None:
        try:
            from cryptography.fernet import Fernet
        except ImportError:
            raise ConfigurationError(
                "file and Redis token caches encrypt tokens with 'cryptography': "
                "pip install 'requests-resharmonics[file]' or 'requests-resharmonics[redis]'"
            ) from None
        key = hmac.new(
            client_secret.encode("utf-8", "surrogatepass"),
            b"requests-resharmonics token cache v2\0" + cache_key.encode(),
            hashlib.sha256,
        ).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def __getstate__(self) -> dict[str, object]:
        raise TypeError("a SealedCodec is rebuilt from the secret, not pickled")

    def encode(self, token: Token) -> str:
        """Return ``token`` tagged with its id and encrypted."""
        sealed = self._fernet.encrypt(token.to_json().encode()).decode("ascii")
        return value_tag(token_id(token)) + sealed

    def decode(self, value: str | None) -> Token | None:
        """Return the token of a sealed value; ``None`` if it is unreadable or not ours."""
        from cryptography.fernet import InvalidToken

        payload = _payload(value)
        if payload is None:
            return None
        try:
            return Token.from_json(self._fernet.decrypt(payload.encode("ascii")))
        except (InvalidToken, ValueError, UnicodeEncodeError):
            return None


def _payload(value: str | None) -> str | None:
    if value is None or value_id(value) is None:
        return None
    return value[len(VALUE_PREFIX) :].partition(":")[2]
