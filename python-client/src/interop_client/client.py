"""Sending messages in raw mode (§2) and framed mode (§3), with errors mapped to §7."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from typing import Callable, Iterator, List, NamedTuple, Optional

from . import wire
from .errors import ClientError, ConnectFailure, IOFailure, ProtocolFailure, TimeoutFailure

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8099
DEFAULT_TIMEOUT_MS = 10000
DEFAULT_MESSAGE = b"Hello SocketServer!!!"

# After a failed write in framed mode, how long to look for an ERR reply that may explain it.
ERR_REPLY_GRACE_SECONDS = 2.0


class Delivery(NamedTuple):
    """One message that was delivered (raw) or delivered and acknowledged (framed)."""

    seq: int
    local: str
    peer: str
    mode: str
    payload: bytes
    ack: str  # "none" (raw) or "verified" (framed)


OnDelivered = Callable[[Delivery], None]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno is not None:
        return os.strerror(exc.errno).lower()
    text = str(exc)
    return text if text else type(exc).__name__


def _is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return True
    return isinstance(exc, OSError) and exc.errno == errno.ETIMEDOUT


def connect(host: str, port: int, timeout: float) -> socket.socket:
    """Open a TCP connection; refused/unreachable/unresolved -> exit 3, timeout -> exit 4."""
    target = wire.format_host_port(host, port)
    try:
        return socket.create_connection(
            (host, port), timeout=min(timeout, wire.MAX_SOCKET_TIMEOUT)
        )
    except socket.gaierror as exc:
        raise ConnectFailure("cannot resolve host %s: %s" % (host, exc.strerror or exc))
    except OSError as exc:
        if _is_timeout(exc):
            raise TimeoutFailure(
                "timed out connecting to %s after %d ms" % (target, round(timeout * 1000))
            )
        if isinstance(exc, ConnectionResetError):
            # The handshake completed and the peer reset at once (the RST raced connect()):
            # the server was there, so this is a broken connection (exit 1), not exit 3.
            raise IOFailure("connection to %s was reset: %s" % (target, _reason(exc)))
        raise ConnectFailure("cannot connect to %s: %s" % (target, _reason(exc)))


@contextlib.contextmanager
def exchange(what: str, timeout: float) -> Iterator[None]:
    """Map errors raised while talking on an open connection to exit codes."""
    try:
        yield
    except ClientError:
        raise
    except wire.WireError as exc:
        raise ProtocolFailure("%s: %s" % (what, exc))
    except (socket.timeout, OSError) as exc:
        if _is_timeout(exc):
            raise TimeoutFailure("%s: timed out after %d ms" % (what, round(timeout * 1000)))
        raise IOFailure("%s: %s" % (what, _reason(exc)))


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass


def send_raw(
    host: str, port: int, messages: List[bytes], timeout: float, on_delivered: OnDelivered
) -> None:
    """Raw mode: one connection per message, in order; each ends when the server closes."""
    for payload in messages:
        sock = connect(host, port, timeout)
        try:
            with exchange("raw message to %s" % wire.format_host_port(host, port), timeout):
                local = wire.format_address(sock.getsockname())
                peer = wire.format_address(sock.getpeername())
                wire.send_all(sock, payload, timeout)
                sock.shutdown(socket.SHUT_WR)
                wire.drain_until_eof(sock, wire.Deadline(timeout))
        finally:
            _close(sock)
        on_delivered(Delivery(1, local, peer, "raw", payload, "none"))


def _err_reply_after_failed_write(sock: socket.socket, timeout: float) -> Optional[bytes]:
    """After a write failed, look for a reply frame the server sent before closing."""
    try:
        reply = wire.read_frame(
            sock, wire.MAX_REPLY_BYTES, wire.Deadline(min(timeout, ERR_REPLY_GRACE_SECONDS))
        )
    except (OSError, wire.WireError):
        return None
    return reply if reply.split(b" ")[0] == b"ERR" else None


def send_framed(
    host: str, port: int, messages: List[bytes], timeout: float, on_delivered: OnDelivered
) -> None:
    """Framed mode: all messages on one connection, stop-and-wait, each ACK verified."""
    sock = connect(host, port, timeout)
    try:
        what = "framed connection to %s" % wire.format_host_port(host, port)
        with exchange(what, timeout):
            local = wire.format_address(sock.getsockname())
            peer = wire.format_address(sock.getpeername())
        for seq, payload in enumerate(messages, start=1):
            what = "message %d" % seq
            try:
                frame = wire.encode_frame(payload)
            except ValueError as exc:
                raise IOFailure("%s: %s" % (what, exc))
            with exchange(what, timeout):
                try:
                    wire.send_all(sock, frame, timeout)
                except OSError as exc:
                    if _is_timeout(exc):
                        raise
                    # The server may have rejected the frame (ERR ...) and closed before
                    # reading all of it: report its reply rather than the broken pipe.
                    err = _err_reply_after_failed_write(sock, timeout)
                    if err is not None:
                        raise ProtocolFailure(
                            "%s: server replied %s" % (what, wire.describe_reply(err))
                        )
                    raise
                reply = wire.read_frame(sock, wire.MAX_REPLY_BYTES, wire.Deadline(timeout))
                wire.check_ack(reply, seq, payload)
            on_delivered(Delivery(seq, local, peer, "framed", payload, "verified"))
        # Every message is acknowledged: end the connection. A failure here loses nothing.
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    finally:
        _close(sock)


def send(
    mode: str,
    host: str,
    port: int,
    messages: List[bytes],
    timeout: float,
    on_delivered: OnDelivered,
) -> None:
    if mode == "framed":
        send_framed(host, port, messages, timeout, on_delivered)
    else:
        send_raw(host, port, messages, timeout, on_delivered)
