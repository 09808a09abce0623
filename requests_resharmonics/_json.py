"""JSON from bodies we cannot trust: the token endpoint's answers and the API's 401s."""

from __future__ import annotations

import json


def json_document(body: bytes) -> object:
    """Parse a JSON body from the network; ``None`` if it is not JSON.

    UTF-8, -16 and -32 are recognised as JSON prescribes; a body in another single-byte
    encoding (a gateway that says ``charset=iso-8859-1``) is read as Latin-1, which cannot
    fail and keeps the ASCII keys and messages we look for intact.
    """
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        pass
    except (ValueError, RecursionError):
        return None
    try:
        return json.loads(body.decode("latin-1"))
    except (ValueError, RecursionError):
        return None
