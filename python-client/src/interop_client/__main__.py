"""``python -m interop_client``: run the client command line (PROTOCOL.md §6)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
