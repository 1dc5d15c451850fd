"""Wire-level helpers: addresses (§1), frames (§3.1), acknowledgements (§3.3, §3.4), datagrams
(§10.3).

Socket errors (``OSError`` and its subclasses, ``socket.timeout``) propagate unchanged; problems
with what the server sent raise :class:`WireError` subclasses. Mapping both to exit codes is the
job of :mod:`interop_client.client`.
"""

from __future__ import annotations

import hashlib
import socket
import struct
import time

from .printing import escape_bytes

# typing for type checkers only (they take TYPE_CHECKING as true): no annotation is evaluated, and
# importing typing would cost every start ~4 ms (see python-client/README.md, Start-up).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Sequence, Union

    Address = Sequence[Union[str, int]]

HEADER = struct.Struct(">I")  # 4-byte unsigned big-endian length prefix
MAX_FRAME_LENGTH = 0xFFFFFFFF
MAX_REPLY_BYTES = 1024  # §3.4: a reply frame longer than this is rejected
RECV_CHUNK = 65536
MAX_UNIX_PATH_BYTES = 107  # §10.2: sun_path on Linux, without the terminating NUL
MAX_DATAGRAM_BYTES = 65507  # §10.3: the largest UDP payload over IPv4
# settimeout() rejects values that do not fit the platform's time_t; wait in slices instead.
MAX_SOCKET_TIMEOUT = 86400.0


class WireError(Exception):
    """The server sent something that breaks the protocol."""


class ConnectionClosed(WireError):
    """EOF arrived before the expected number of bytes."""

    def __init__(self, expected: int, received: int) -> None:
        super().__init__(
            "server closed the connection before the reply was complete (%d of %d bytes)"
            % (received, expected)
        )
        self.expected = expected
        self.received = received


class FrameTooLong(WireError):
    def __init__(self, length: int, limit: int) -> None:
        super().__init__("reply frame of %d bytes exceeds the limit of %d" % (length, limit))
        self.length = length
        self.limit = limit


class BadReply(WireError):
    """A complete reply frame that is not the expected acknowledgement."""

    def __init__(self, message: str, reply: bytes) -> None:
        super().__init__(message)
        self.reply = reply


class ErrReply(BadReply):
    """An ``ERR`` reply (§3.3). Its text is the whole error line after ``error: ``: a phrase for
    the code, then the reply as received."""

    def __init__(self, reply: bytes, seq: int) -> None:
        code = err_code(reply)
        if code == b"busy":
            what = "server is busy"
        elif code == b"output":
            what = "server could not log message %d" % seq
        else:
            what = "server rejected message %d" % seq
        super().__init__("%s: %s" % (what, printable(reply)), reply)
        self.seq = seq


def err_code(reply: bytes) -> Optional[bytes]:
    """The code of an ``ERR <code> [<detail>]`` reply (``b""`` for a bare ``ERR``), else None."""
    if reply == b"ERR":
        return b""
    if not reply.startswith(b"ERR "):
        return None
    return reply[4:].split(b" ", 1)[0]


def printable(data: bytes) -> str:
    """Printable ASCII as it is, every other byte as ``\\xNN``: a reply as received, on one line."""
    return "".join(chr(b) if 0x20 <= b <= 0x7E else "\\x%02x" % b for b in data)


def format_address(sockaddr: Address) -> str:
    """``ip:port`` for IPv4, ``[ip]:port`` for IPv6 (4-tuples from getsockname/getpeername)."""
    host = str(sockaddr[0])
    port = int(sockaddr[1])
    if len(sockaddr) >= 4 or ":" in host:
        return "[%s]:%d" % (host, port)
    return "%s:%d" % (host, port)


def format_host_port(host: str, port: int) -> str:
    """A host name or IP literal as given on the command line, with its port."""
    if ":" in host:
        return "[%s]:%d" % (host, port)
    return "%s:%d" % (host, port)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def encode_frame(payload: bytes) -> bytes:
    """The frame for one message: 4-byte big-endian length, then the payload."""
    if len(payload) > MAX_FRAME_LENGTH:
        raise ValueError("message of %d bytes is too long for a frame" % len(payload))
    return HEADER.pack(len(payload)) + payload


def expected_ack(seq: int, payload: bytes) -> bytes:
    """The reply payload that acknowledges message number ``seq`` carrying ``payload``."""
    return ("ACK %d %d %s" % (seq, len(payload), sha256_hex(payload))).encode("ascii")


class Deadline:
    """A point in time by which one read or write must have finished."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expires = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.expires - time.monotonic()

    def arm(self, sock: socket.socket) -> None:
        """Set the socket timeout to what is left, or raise ``socket.timeout`` if nothing is."""
        left = self.remaining()
        if left <= 0:
            raise socket.timeout("timed out")
        sock.settimeout(min(left, MAX_SOCKET_TIMEOUT))


def _recv(sock: socket.socket, size: int, deadline: Deadline) -> bytes:
    while True:
        deadline.arm(sock)
        try:
            return sock.recv(size)
        except socket.timeout:
            if deadline.remaining() > 0:  # only a slice of a very long timeout ran out
                continue
            raise


def recv_exact(sock: socket.socket, count: int, deadline: Deadline) -> bytes:
    """Read exactly ``count`` bytes; raise :class:`ConnectionClosed` on an early EOF."""
    chunks = []
    received = 0
    while received < count:
        chunk = _recv(sock, min(count - received, RECV_CHUNK), deadline)
        if not chunk:
            raise ConnectionClosed(count, received)
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def read_frame(sock: socket.socket, limit: int, deadline: Deadline) -> bytes:
    """Read one frame and return its payload; a length over ``limit`` is rejected unread."""
    (length,) = HEADER.unpack(recv_exact(sock, HEADER.size, deadline))
    if length > limit:
        raise FrameTooLong(length, limit)
    return recv_exact(sock, length, deadline)


def recv_datagram(sock: socket.socket, deadline: Deadline) -> bytes:
    """Receive one whole datagram (possibly empty) from a connected datagram socket."""
    return _recv(sock, RECV_CHUNK, deadline)


def drain_until_eof(sock: socket.socket, deadline: Deadline) -> int:
    """Read and discard everything until EOF; return how many bytes were discarded."""
    discarded = 0
    while True:
        chunk = _recv(sock, RECV_CHUNK, deadline)
        if not chunk:
            return discarded
        discarded += len(chunk)


def send_all(sock: socket.socket, data: bytes, timeout: float) -> None:
    """Write everything (``sendall``'s timeout bounds the whole call since Python 3.5)."""
    sock.settimeout(min(timeout, MAX_SOCKET_TIMEOUT))
    sock.sendall(data)


def describe_reply(reply: bytes) -> str:
    """A reply payload as printable one-line text."""
    return escape_bytes(reply)


def check_ack(reply: bytes, seq: int, payload: bytes) -> None:
    """Require ``reply`` to be exactly ``ACK seq len(payload) sha256(payload)`` (§3.4)."""
    expected = expected_ack(seq, payload)
    if reply == expected:
        return
    text = describe_reply(reply)
    if err_code(reply) is not None:
        raise ErrReply(reply, seq)
    fields = reply.split(b" ")
    if fields[0] != b"ACK" or len(fields) != 4:
        raise BadReply('malformed reply "%s"' % text, reply)
    want = expected.split(b" ")
    names = ("", "sequence number", "length", "sha256")
    for index in (1, 2, 3):
        if fields[index] != want[index]:
            raise BadReply(
                'acknowledgement has the wrong %s: got "%s", expected "%s"'
                % (
                    names[index],
                    describe_reply(fields[index]),
                    want[index].decode("ascii"),
                ),
                reply,
            )
    raise BadReply('malformed reply "%s"' % text, reply)  # unreachable
