"""The wire format (PROTOCOL.md §1, §3): frames, replies, digests and how addresses are written."""

from __future__ import annotations

import errno as _errno
import hashlib
import ipaddress
import os
import struct
from typing import Any

HEADER_LEN = 4
DEFAULT_PORT = 8099
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
ERR_TOO_LARGE = "too-large"
ERR_BUSY = "busy"
ERR_OUTPUT = "output"

#: Largest UDP payload over IPv4 (§10.3); the server's receive buffer is one byte more.
UDP_MAX_PAYLOAD = 65507
UDP_RECV_BUFFER = UDP_MAX_PAYLOAD + 1

#: Longest Unix socket path on Linux, in bytes (§10.2).
UNIX_PATH_MAX = 107

_HEADER = struct.Struct(">I")


def sha256_hex(payload: bytes) -> str:
    """SHA-256 as 64 lowercase hex digits."""
    return hashlib.sha256(payload).hexdigest()


def frame(payload: bytes) -> bytes:
    """One frame: 4-byte big-endian length, then the payload."""
    return _HEADER.pack(len(payload)) + payload


def frame_length(header: bytes) -> int:
    """The payload length a 4-byte prefix announces."""
    return _HEADER.unpack(header)[0]


def ack_text(seq: int, payload: bytes) -> bytes:
    """``ACK <seq> <length> <sha256>`` (§3.3)."""
    return ("ACK %d %d %s" % (seq, len(payload), sha256_hex(payload))).encode("ascii")


def err_text(code: str, detail: str) -> bytes:
    """``ERR <code> <detail>`` (§3.3), as the Rust server writes it."""
    return ("ERR %s %s" % (code, detail)).encode("utf-8")


def ip_string(host: str) -> str:
    """An IP in its shortest standard form; IPv4-mapped IPv6 (``::ffff:a.b.c.d``) as the IPv4."""
    name, percent, scope = host.partition("%")
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip) + percent + scope


def addr_string(sockaddr: Any) -> str:
    """``ip:port`` or ``[ipv6]:port`` (§1) for an AF_INET/AF_INET6 socket address tuple."""
    if not isinstance(sockaddr, tuple) or len(sockaddr) < 2:
        return str(sockaddr)
    host, port = sockaddr[0], sockaddr[1]
    ip = ip_string(host)
    scope_id = sockaddr[3] if len(sockaddr) >= 4 else 0
    if ":" in ip:
        if scope_id and "%" not in ip:
            ip = "%s%%%d" % (ip, scope_id)
        return "[%s]:%d" % (ip, port)
    return "%s:%d" % (ip, port)


def describe(exc: BaseException) -> str:
    """An exception as the Rust server words I/O errors: ``<strerror> (os error <n>)``."""
    if isinstance(exc, OSError) and exc.errno is not None:
        reason = exc.strerror or os.strerror(exc.errno)
        return "%s (os error %d)" % (reason, exc.errno)
    if isinstance(exc, (EOFError, ConnectionError)):
        return str(exc) or os.strerror(_errno.ECONNRESET)
    text = str(exc)
    return text if text else type(exc).__name__

