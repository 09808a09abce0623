"""``python -m requests_resharmonics``: the same command line as ``resharmonics``."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
