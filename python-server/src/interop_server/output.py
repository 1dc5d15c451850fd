"""What the server prints (PROTOCOL.md §4, §5, §8.1), byte for byte as the Rust server does.

Every record is written and flushed as a whole by one :class:`Printer`, from the event loop's
thread, so records of concurrent connections never interleave. In text format a connection's
``Hello: <peer>`` is held back until its first message (or its end) and printed together with it.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any, BinaryIO, Dict, Optional, Set

PRINT_LIMIT = 4096
PREVIEW_BYTES = 32
LISTENING_PREFIX = "listening on "


def _escape_for(byte: int) -> str:
    special = {0x5C: "\\\\", 0x22: '\\"', 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}
    if byte in special:
        return special[byte]
    if 0x20 <= byte <= 0x7E:
        return chr(byte)
    return "\\x%02x" % byte


_ESCAPES = tuple(_escape_for(b) for b in range(256))


def escape(data: bytes) -> str:
    """A preview's escaping (§4)."""
    return "".join(_ESCAPES[b] for b in data)


def text_of(payload: bytes) -> Optional[str]:
    """The message as text: only when it is valid UTF-8 and at most 4096 bytes."""
    if len(payload) > PRINT_LIMIT:
        return None
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return None


def message_line(payload: bytes) -> bytes:
    """The printed form of a message (§4), without its newline."""
    if text_of(payload) is not None:
        return payload
    try:
        payload.decode("utf-8")
        kind = "long"
    except UnicodeDecodeError:
        kind = "binary"
    line = '[%s message: %d bytes, sha256 %s, starts "%s"%s]' % (
        kind,
        len(payload),
        hashlib.sha256(payload).hexdigest(),
        escape(payload[:PREVIEW_BYTES]),
        "..." if len(payload) > PREVIEW_BYTES else "",
    )
    return line.encode("ascii")


def json_line(record: Dict[str, Any]) -> bytes:
    """Compact JSON as serde_json writes it: UTF-8, no spaces, only the required escapes."""
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "replace") + b"\n"


class Printer:
    """Turns server events into records on ``out`` (and, in text format, errors on ``err``)."""

    def __init__(
        self,
        fmt: str,
        out: Optional[BinaryIO] = None,
        err: Optional[BinaryIO] = None,
        hello_every_message: bool = False,
    ) -> None:
        self.fmt = fmt
        self.out = out if out is not None else sys.stdout.buffer
        self.err = err if err is not None else sys.stderr.buffer
        # UDP has no connection: every datagram is printed with its own Hello line.
        self.hello_every_message = hello_every_message
        self._hello_pending: Set[int] = set()
        self.out_broken = False

    # -- events ------------------------------------------------------------------------------

    def listening(self, addr: str, mode: str) -> None:
        record = (LISTENING_PREFIX + addr + "\n").encode("utf-8", "replace")
        if self.fmt == "json":
            record += json_line({"event": "listening", "addr": addr, "mode": mode})
        self._write_out(record)

    def connected(self, conn: int, peer: str, local: str) -> None:
        if self.fmt == "json":
            self._write_out(
                json_line({"event": "connected", "conn": conn, "peer": peer, "local": local})
            )
        else:
            self._hello_pending.add(conn)

    def message(self, conn: int, peer: str, seq: int, payload: bytes) -> None:
        if self.fmt == "json":
            record: Dict[str, Any] = {
                "event": "message",
                "conn": conn,
                "peer": peer,
                "seq": seq,
                "len": len(payload),
                "sha256": hashlib.sha256(payload).hexdigest(),
            }
            text = text_of(payload)
            if text is not None:
                record["text"] = text
            self._write_out(json_line(record))
        else:
            if self.hello_every_message:
                self._hello_pending.add(conn)
            self._write_out(self._hello(conn, peer) + message_line(payload) + b"\n")

    def closed(self, conn: int, peer: str, messages: int) -> None:
        if self.fmt == "json":
            self._write_out(
                json_line({"event": "closed", "conn": conn, "peer": peer, "messages": messages})
            )
        else:
            hello = self._hello(conn, peer)
            if hello:
                self._write_out(hello)

    def error(self, conn: Optional[int], peer: Optional[str], error: str) -> None:
        """An error of connection ``conn`` (or, with ``conn`` None, of the server or a UDP peer)."""
        if self.fmt == "json":
            record: Dict[str, Any] = {"event": "error"}
            if conn is not None:
                record["conn"] = conn
            if peer is not None:
                record["peer"] = peer
            record["error"] = error
            self._write_out(json_line(record))
            return
        hello = self._hello(conn, peer) if conn is not None and peer is not None else b""
        if peer is not None:
            line = "error: %s: %s\n" % (peer, error)
        else:
            line = "error: %s\n" % error
        self._write_err(line.encode("utf-8", "replace"))
        if hello:
            self._write_out(hello)

    def forget(self, conn: int) -> None:
        """Drops the held-back Hello of a connection that was cut off without an event."""
        self._hello_pending.discard(conn)

    # -- writing -----------------------------------------------------------------------------

    def _hello(self, conn: int, peer: str) -> bytes:
        if conn in self._hello_pending:
            self._hello_pending.discard(conn)
            return ("Hello: %s\n" % peer).encode("utf-8", "replace")
        return b""

    def _write_out(self, record: bytes) -> None:
        if self.out_broken:
            return
        try:
            self.out.write(record)
            self.out.flush()
        except (OSError, ValueError):
            # stdout went away (e.g. a closed pipe): keep serving, as the Rust server does.
            self.out_broken = True

    def _write_err(self, record: bytes) -> None:
        try:
            self.err.write(record)
            self.err.flush()
        except (OSError, ValueError):
            pass
