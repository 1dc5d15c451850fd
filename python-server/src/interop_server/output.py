"""What the server prints (PROTOCOL.md §4, §5, §8.1), byte for byte as the Rust server does.

Every record is written and flushed as a whole by one :class:`Printer`, from the event loop's
thread, so records of concurrent connections never interleave. In text format a connection's
``Hello: <peer>`` is held back until its first message (or its end) and printed together with it.

Log, then acknowledge (§5): :meth:`Printer.message` returns only once its record has been handed
to the operating system (stdout is written with ``os.write``, unbuffered), and raises
:class:`OutputFailed` when it could not be, so that no acknowledgement is sent for it. The first
failure to write stdout is remembered in :attr:`Printer.failure`; from then on nothing more is
written (stdout nor, in text format, stderr), and :attr:`Printer.on_failure` tells the server, which
stops and exits 3.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
from typing import Any, Callable, Dict, Optional, Set

from . import wire

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


class OutputFailed(Exception):
    """A record could not be written to stdout; its message must not be acknowledged."""


class FdWriter:
    """Writes whole records straight to a file descriptor: nothing is held in a user-space buffer
    (that could be flushed, and fail again, at exit), and a record is in the kernel's hands when
    :meth:`write` returns. Partial writes are completed; a non-blocking descriptor is waited on."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(self.fd, view)
            except (BlockingIOError, InterruptedError):
                select.select([], [self.fd], [])
                continue
            if written == 0:  # never for a regular file, pipe or terminal; do not spin
                raise OSError(5, os.strerror(5))  # EIO
            view = view[written:]

    def flush(self) -> None:
        pass


class Printer:
    """Turns server events into records on ``out`` (and, in text format, errors on ``err``)."""

    def __init__(
        self,
        fmt: str,
        out: Optional[Any] = None,
        err: Optional[Any] = None,
        hello_every_message: bool = False,
    ) -> None:
        self.fmt = fmt
        self.out = out if out is not None else FdWriter(1)
        self.err = err if err is not None else FdWriter(2)
        # UDP has no connection: every datagram is printed with its own Hello line.
        self.hello_every_message = hello_every_message
        self._hello_pending: Set[int] = set()
        #: Why stdout could not be written (``No space left on device (os error 28)``), or None.
        self.failure: Optional[str] = None
        #: Called once, with :attr:`failure`, when writing stdout first fails.
        self.on_failure: Optional[Callable[[str], None]] = None

    # -- events ------------------------------------------------------------------------------

    def listening(self, addr: str, mode: str) -> bool:
        """The first line(s); False if they could not be written (see :attr:`failure`)."""
        record = (LISTENING_PREFIX + addr + "\n").encode("utf-8", "replace")
        if self.fmt == "json":
            record += json_line({"event": "listening", "addr": addr, "mode": mode})
        return self._write_out(record)

    def connected(self, conn: int, peer: str, local: str) -> None:
        if self.fmt == "json":
            self._write_out(
                json_line({"event": "connected", "conn": conn, "peer": peer, "local": local})
            )
        else:
            self._hello_pending.add(conn)

    def message(self, conn: int, peer: str, seq: int, payload: bytes) -> None:
        """Logs a message; raises :class:`OutputFailed` if its record is not written (then it
        must not be acknowledged)."""
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
            written = self._write_out(json_line(record))
        else:
            if self.hello_every_message:
                self._hello_pending.add(conn)
            written = self._write_out(self._hello(conn, peer) + message_line(payload) + b"\n")
        if not written:
            raise OutputFailed(self.failure)

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

    def _write_out(self, record: bytes) -> bool:
        """Writes and flushes one record; False if it was not (now or since an earlier failure)."""
        if self.failure is not None:
            return False
        try:
            self.out.write(record)
            self.out.flush()
        except (OSError, ValueError) as exc:
            # stdout is full, closed or a pipe nobody reads: nothing can be logged any more.
            self.failure = wire.describe(exc)
            if self.on_failure is not None:
                self.on_failure(self.failure)
            return False
        return True

    def _write_err(self, record: bytes) -> None:
        if self.failure is not None:
            return  # the server is stopping; its one last line says why
        try:
            self.err.write(record)
            self.err.flush()
        except (OSError, ValueError):
            pass
