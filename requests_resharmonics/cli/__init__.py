"""The ``resharmonics`` command line: ``token``, ``get``, ``demo`` and ``fake-server``.

The console script and ``python -m requests_resharmonics`` both run `main`.
"""

from __future__ import annotations

from ._commands import main

__all__ = ["main"]
