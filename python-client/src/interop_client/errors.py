"""Exit codes (PROTOCOL.md §7) and the exceptions that carry them."""

from __future__ import annotations

# typing for type checkers only (they take TYPE_CHECKING as true): no annotation is evaluated, and
# importing typing would cost every start ~4 ms (see python-client/README.md, Start-up).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

EXIT_OK = 0  # every message delivered (and, framed, acknowledged correctly)
EXIT_FAILURE = 1  # unreadable --file, connection reset/broken, other I/O errors
EXIT_USAGE = 2  # unknown option, missing or malformed value
EXIT_CONNECT = 3  # connection refused, host unreachable, name not resolved
EXIT_TIMEOUT = 4  # connect, write, or wait for a reply/EOF exceeded --timeout-ms
EXIT_PROTOCOL = 5  # ERR reply, bad acknowledgement, server closed before acknowledging


class ClientError(Exception):
    """A failure that ends the client: ``str(exc)`` is the reason, ``code`` the exit code."""

    code = EXIT_FAILURE

    def __init__(self, message: str, code: Optional[int] = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class IOFailure(ClientError):
    code = EXIT_FAILURE


class UsageError(ClientError):
    """A usage error found after parsing (a senseless combination, a path or message too long)."""

    code = EXIT_USAGE


class ConnectFailure(ClientError):
    code = EXIT_CONNECT


class TimeoutFailure(ClientError):
    code = EXIT_TIMEOUT


class ProtocolFailure(ClientError):
    code = EXIT_PROTOCOL
