"""Sending messages in raw mode (§2) and framed mode (§3) over TCP or a Unix domain stream socket
(§10.2), as UDP datagrams (§10.3), pipelined or half-closed (§11), with errors mapped to §7."""

from __future__ import annotations

import contextlib
import errno
import os
import socket

from . import wire
from .errors import (
    ClientError,
    ConnectFailure,
    IOFailure,
    ProtocolFailure,
    TimeoutFailure,
    UsageError,
)

# typing for type checkers only (they take TYPE_CHECKING as true): no annotation is evaluated, and
# importing typing would cost every start ~4 ms (see python-client/README.md, Start-up).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterator, List, Optional, Tuple

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8099
DEFAULT_TIMEOUT_MS = 10000
DEFAULT_MESSAGE = b"Hello SocketServer!!!"
TRANSPORTS = ("tcp", "unix", "udp")

# After a failed write in framed mode, how long to look for an ERR reply that may explain it
# (§3.4: up to a second; the reply is already in the receive buffer if there is one).
ERR_REPLY_GRACE_SECONDS = 1.0


class Delivery:
    """One message that was delivered (raw) or delivered and acknowledged (framed, UDP)."""

    __slots__ = ("seq", "local", "peer", "mode", "payload", "ack", "transport")

    def __init__(
        self,
        seq: int,
        local: str,
        peer: str,
        mode: str,
        payload: bytes,
        ack: str,  # "none" (raw) or "verified" (framed, UDP)
        transport: str = "tcp",
    ) -> None:
        self.seq = seq
        self.local = local
        self.peer = peer
        self.mode = mode
        self.payload = payload
        self.ack = ack
        self.transport = transport


if TYPE_CHECKING:
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


def unix_path_bytes(path: str) -> bytes:
    """The bytes of a ``--path`` as the OS passed them (UTF-8 on a UTF-8 system)."""
    return path.encode("utf-8", "surrogateescape")


def check_unix_path(path: str) -> None:
    """§10.2: a path longer than 107 bytes is a usage error (exit 2) before anything else."""
    size = len(unix_path_bytes(path))
    if size > wire.MAX_UNIX_PATH_BYTES:
        raise UsageError(
            "unix socket path too long: %d bytes, at most %d" % (size, wire.MAX_UNIX_PATH_BYTES)
        )


def check_datagram_sizes(messages: List[bytes]) -> None:
    """§10.3: every message must fit one UDP datagram; checked before anything is sent."""
    for seq, payload in enumerate(messages, start=1):
        if len(payload) > wire.MAX_DATAGRAM_BYTES:
            raise UsageError(
                "message %d is %d bytes; a UDP datagram carries at most %d"
                % (seq, len(payload), wire.MAX_DATAGRAM_BYTES)
            )


def resolve(host: str, port: int, type_: int) -> List[Tuple[Any, ...]]:
    """getaddrinfo() for ``host``; a name that cannot be resolved -> exit 3.

    An ASCII name is passed as bytes: as a str it would go through the idna codec, whose import
    (encodings.idna, stringprep, unicodedata) costs every start ~2 ms, and which rejects an empty
    or over-long label with a UnicodeError rather than a resolver error."""
    try:
        return socket.getaddrinfo(host.encode("ascii") if host.isascii() else host, port, 0, type_)
    except socket.gaierror as exc:
        raise ConnectFailure("cannot resolve host %s: %s" % (host, exc.strerror or exc))
    except UnicodeError as exc:  # a non-ASCII name the idna codec cannot encode
        raise ConnectFailure("cannot resolve host %s: %s" % (host, exc))


def connect(
    host: str, port: int, timeout: float, framed: bool = False
) -> Tuple[socket.socket, wire.Address]:
    """Open a TCP connection to the first of the host's addresses that accepts one; return the
    socket and the address connected to. Refused/unreachable/unresolved -> exit 3, timeout ->
    exit 4, reset -> exit 1 (framed: unless an ERR reply already received explains it -> 5)."""
    target = wire.format_host_port(host, port)
    infos = resolve(host, port, socket.SOCK_STREAM)
    last = OSError(errno.EADDRNOTAVAIL, "no address")  # type: OSError
    for family, type_, proto, _, sockaddr in infos:
        sock = socket.socket(family, type_, proto)
        try:
            sock.settimeout(min(timeout, wire.MAX_SOCKET_TIMEOUT))
            sock.connect(sockaddr)
            return sock, sockaddr
        except (ConnectionResetError, BrokenPipeError) as exc:
            # The handshake completed and the peer reset at once (the RST raced connect()):
            # the server was there, so this is a broken connection (exit 1), not exit 3. A
            # framed server may have said why first (ERR busy): that reply is still in the
            # receive buffer, as after a failed write (§3.4).
            try:
                err = _err_reply_after_failed_write(sock, timeout) if framed else None
            finally:
                _close(sock)
            if err is not None:
                raise ProtocolFailure(str(wire.ErrReply(err, 1)))
            raise IOFailure("connection to %s was reset: %s" % (target, _reason(exc)))
        except OSError as exc:
            _close(sock)
            last = exc
    if _is_timeout(last):
        raise TimeoutFailure(
            "timed out connecting to %s after %d ms" % (target, round(timeout * 1000))
        )
    raise ConnectFailure("cannot connect to %s: %s" % (target, _reason(last)))


def connect_unix(path: str, timeout: float) -> socket.socket:
    """Connect a Unix domain stream socket; no such file or refused -> exit 3, timeout -> 4."""
    check_unix_path(path)
    target = "unix:" + path
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(min(timeout, wire.MAX_SOCKET_TIMEOUT))
        sock.connect(unix_path_bytes(path))
    except OSError as exc:
        _close(sock)
        if _is_timeout(exc):
            raise TimeoutFailure(
                "timed out connecting to %s after %d ms" % (target, round(timeout * 1000))
            )
        # ENOENT, ECONNREFUSED (also a stale socket file or a file that is not a socket),
        # EACCES, ENOTDIR, EAGAIN (backlog full): the server cannot be reached.
        raise ConnectFailure("cannot connect to %s: %s" % (target, _reason(exc)))
    return sock


class StreamTarget:
    """Where a stream transport (TCP or Unix) connects, and how its ends are named (§8.2)."""

    def __init__(self, transport: str, host: str, port: int, path: Optional[str]) -> None:
        self.transport = transport
        self.host = host
        self.port = port
        self.path = path
        self.connected_to = None  # type: Optional[wire.Address]

    def describe(self) -> str:
        if self.transport == "unix":
            return "unix:%s" % self.path
        return wire.format_host_port(self.host, self.port)

    def connect(self, timeout: float, framed: bool = False) -> socket.socket:
        if self.transport == "unix":
            assert self.path is not None
            return connect_unix(self.path, timeout)
        sock, self.connected_to = connect(self.host, self.port, timeout, framed)
        return sock

    def names(self, sock: socket.socket) -> Tuple[str, str]:
        """(local, peer) of a connected socket: a Unix client is named by its process id, the
        peer by the address connected to (a reset makes getpeername() fail)."""
        if self.transport == "unix":
            return "pid:%d" % os.getpid(), "unix:%s" % self.path
        assert self.connected_to is not None
        return wire.format_address(sock.getsockname()), wire.format_address(self.connected_to)


@contextlib.contextmanager
def exchange(what: str, timeout: float, refused_target: Optional[str] = None) -> Iterator[None]:
    """Map errors raised while talking on an open connection to exit codes.

    With ``refused_target`` (UDP), a refusal reported by the socket (ICMP port unreachable)
    means nothing listens there: exit 3.
    """
    try:
        yield
    except ClientError:
        raise
    except wire.ErrReply as exc:
        raise ProtocolFailure(str(exc))  # the whole line, as §3.3 words it
    except wire.WireError as exc:
        raise ProtocolFailure("%s: %s" % (what, exc))
    except (socket.timeout, OSError) as exc:
        if _is_timeout(exc):
            raise TimeoutFailure("%s: timed out after %d ms" % (what, round(timeout * 1000)))
        if refused_target is not None and isinstance(exc, ConnectionRefusedError):
            raise ConnectFailure(
                "%s: %s (nothing listening on %s)" % (what, _reason(exc), refused_target)
            )
        raise IOFailure("%s: %s" % (what, _reason(exc)))


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass


def send_raw(
    target: StreamTarget, messages: List[bytes], timeout: float, on_delivered: OnDelivered
) -> None:
    """Raw mode: one connection per message, in order; each ends when the server closes."""
    for payload in messages:
        sock = target.connect(timeout)
        try:
            with exchange("raw message to %s" % target.describe(), timeout):
                local, peer = target.names(sock)
                wire.send_all(sock, payload, timeout)
                sock.shutdown(socket.SHUT_WR)
                wire.drain_until_eof(sock, wire.Deadline(timeout))
        finally:
            _close(sock)
        on_delivered(Delivery(1, local, peer, "raw", payload, "none", target.transport))


def _err_reply_after_failed_write(sock: socket.socket, timeout: float) -> Optional[bytes]:
    """After a write (or connect) failed, look for an ERR reply the server sent before closing."""
    try:
        reply = wire.read_frame(
            sock, wire.MAX_REPLY_BYTES, wire.Deadline(min(timeout, ERR_REPLY_GRACE_SECONDS))
        )
    except (OSError, wire.WireError):
        return None
    return reply if wire.err_code(reply) is not None else None


def _encode_frames(messages: List[bytes]) -> List[bytes]:
    frames = []
    for seq, payload in enumerate(messages, start=1):
        try:
            frames.append(wire.encode_frame(payload))
        except ValueError as exc:
            raise IOFailure("message %d: %s" % (seq, exc))
    return frames


def _framed_stop_and_wait(
    sock: socket.socket,
    messages: List[bytes],
    frames: List[bytes],
    timeout: float,
    deliver: Callable[[int, bytes], None],
) -> None:
    for seq, (payload, frame) in enumerate(zip(messages, frames), start=1):
        what = "message %d" % seq
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
                    raise wire.ErrReply(err, seq)
                raise
            reply = wire.read_frame(sock, wire.MAX_REPLY_BYTES, wire.Deadline(timeout))
            wire.check_ack(reply, seq, payload)
        deliver(seq, payload)
    # Every message is acknowledged: end the connection. A failure here loses nothing.
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def _framed_pipelined(
    sock: socket.socket,
    messages: List[bytes],
    frames: List[bytes],
    timeout: float,
    half_close: bool,
    deliver: Callable[[int, bytes], None],
) -> None:
    """§11: write every frame at once (then, half-close, shut down the write side), and only
    then read and verify the acknowledgements in order."""
    write_error = None  # type: Optional[OSError]
    what = "writing %d frame%s" % (len(frames), "" if len(frames) == 1 else "s")
    with exchange(what, timeout):
        try:
            wire.send_all(sock, b"".join(frames), timeout)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            if _is_timeout(exc):
                raise
            # The server may have acknowledged some frames and rejected one (ERR ...) before
            # closing: read what it sent, and report the broken write only if nothing explains it.
            write_error = exc
    for seq, payload in enumerate(messages, start=1):
        what = "message %d" % seq
        if write_error is None:
            with exchange(what, timeout):
                reply = wire.read_frame(sock, wire.MAX_REPLY_BYTES, wire.Deadline(timeout))
        else:
            try:
                reply = wire.read_frame(
                    sock,
                    wire.MAX_REPLY_BYTES,
                    wire.Deadline(min(timeout, ERR_REPLY_GRACE_SECONDS)),
                )
            except (OSError, wire.WireError):
                raise IOFailure(
                    "writing %d frames: %s" % (len(frames), _reason(write_error))
                )
        with exchange(what, timeout):
            wire.check_ack(reply, seq, payload)
        deliver(seq, payload)
    if half_close:
        # §11: read every acknowledgement, then EOF. Everything is delivered already, so
        # nothing that happens now (extra bytes, a reset, no EOF in time) is a failure.
        try:
            wire.drain_until_eof(sock, wire.Deadline(timeout))
        except OSError:
            pass
    else:
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def send_framed(
    target: StreamTarget,
    messages: List[bytes],
    timeout: float,
    on_delivered: OnDelivered,
    pipeline: bool = False,
    half_close: bool = False,
) -> None:
    """Framed mode: all messages on one connection, each ACK verified; stop-and-wait unless
    pipelined (§11)."""
    frames = _encode_frames(messages)
    sock = target.connect(timeout, framed=True)
    try:
        with exchange("framed connection to %s" % target.describe(), timeout):
            local, peer = target.names(sock)

        def deliver(seq: int, payload: bytes) -> None:
            on_delivered(
                Delivery(seq, local, peer, "framed", payload, "verified", target.transport)
            )

        if pipeline or half_close:
            _framed_pipelined(sock, messages, frames, timeout, half_close, deliver)
        else:
            _framed_stop_and_wait(sock, messages, frames, timeout, deliver)
    finally:
        _close(sock)


def connect_udp(host: str, port: int) -> socket.socket:
    """A UDP socket connected to the server (datagrams from anyone else are dropped)."""
    target = wire.format_host_port(host, port)
    infos = resolve(host, port, socket.SOCK_DGRAM)
    last = None  # type: Optional[OSError]
    for family, type_, proto, _, sockaddr in infos:
        sock = None
        try:
            sock = socket.socket(family, type_, proto)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            last = exc
            if sock is not None:
                _close(sock)
    reason = _reason(last) if last is not None else "no address"
    raise ConnectFailure("cannot connect to %s: %s" % (target, reason))


def send_udp(
    host: str,
    port: int,
    messages: List[bytes],
    timeout: float,
    on_delivered: OnDelivered,
    mode: str = "raw",
) -> None:
    """§10.3: one datagram per message, each acknowledged by one datagram, stop-and-wait."""
    check_datagram_sizes(messages)
    sock = connect_udp(host, port)
    try:
        with exchange("udp socket to %s" % wire.format_host_port(host, port), timeout):
            local = wire.format_address(sock.getsockname())
            peer = wire.format_address(sock.getpeername())
        for seq, payload in enumerate(messages, start=1):
            what = "message %d" % seq
            with exchange(what, timeout, refused_target="udp:" + peer):
                sock.settimeout(min(timeout, wire.MAX_SOCKET_TIMEOUT))
                sent = sock.send(payload)
                if sent != len(payload):
                    raise IOFailure(
                        "%s: only %d of %d bytes sent as a datagram" % (what, sent, len(payload))
                    )
                reply = wire.recv_datagram(sock, wire.Deadline(timeout))
                if len(reply) > wire.MAX_REPLY_BYTES:
                    raise wire.BadReply(
                        "reply datagram of %d bytes exceeds the limit of %d"
                        % (len(reply), wire.MAX_REPLY_BYTES),
                        reply,
                    )
                wire.check_ack(reply, seq, payload)
            on_delivered(Delivery(seq, local, peer, mode, payload, "verified", "udp"))
    finally:
        _close(sock)


def send(
    mode: str,
    host: str,
    port: int,
    messages: List[bytes],
    timeout: float,
    on_delivered: OnDelivered,
    transport: str = "tcp",
    path: Optional[str] = None,
    pipeline: bool = False,
    half_close: bool = False,
) -> None:
    """Send every message as the command line asked (combinations are checked by the caller)."""
    if transport == "udp":
        send_udp(host, port, messages, timeout, on_delivered, mode)
        return
    target = StreamTarget(transport, host, port, path)
    if mode == "framed":
        send_framed(target, messages, timeout, on_delivered, pipeline, half_close)
    else:
        send_raw(target, messages, timeout, on_delivered)
