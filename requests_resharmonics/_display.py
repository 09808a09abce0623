"""How auth objects, sessions and exports describe themselves: in a terminal, a log or a notebook.

Descriptions name the client, the URLs and the token's state, never a secret or a token.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from .token import Token


def token_state(token: Token | None, now: float) -> str:
    """Describe a token's state in words: none yet, valid for how long, or expired."""
    if token is None:
        return "no token yet"
    if token.expires_at is None:
        return "token of unknown lifetime"
    remaining = token.expires_at - now
    if remaining <= 0:
        return "token expired"
    if remaining >= 120:
        return f"token valid for {remaining / 60:.0f} min"
    return f"token valid for {remaining:.0f} s"


def plain_repr(name: str, fields: Sequence[tuple[str, object]], state: str) -> str:
    """Return ``Name(field=value, ..., <state>)`` for a repr."""
    shown = ", ".join(f"{key}={value!r}" for key, value in fields)
    return f"{name}({shown}, <{state}>)"


def html_repr(
    name: str, fields: Sequence[tuple[str, object]], state: str, *, label: str = "token"
) -> str:
    """Return a small HTML table for Jupyter's rich display; ``state`` is its last row."""
    rows = "".join(
        f"<tr><th style='text-align:left'>{html.escape(key)}</th>"
        f"<td style='text-align:left'><code>{html.escape(str(value))}</code></td></tr>"
        for key, value in [*fields, (label, state)]
    )
    return f"<div><strong>{html.escape(name)}</strong><table>{rows}</table></div>"
