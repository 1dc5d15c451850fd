"""Python client for the interop protocol, version 1 (see docs/PROTOCOL.md)."""

from __future__ import annotations

from .errors import (
    EXIT_CONNECT,
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_PROTOCOL,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    ClientError,
)
from .printing import format_message

__version__ = "1.0.0"

__all__ = [
    "EXIT_OK",
    "EXIT_FAILURE",
    "EXIT_USAGE",
    "EXIT_CONNECT",
    "EXIT_TIMEOUT",
    "EXIT_PROTOCOL",
    "ClientError",
    "format_message",
    "__version__",
]
