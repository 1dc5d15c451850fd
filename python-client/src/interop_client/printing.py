"""How a message is printed (PROTOCOL.md §4)."""

from __future__ import annotations

import hashlib

MAX_TEXT_BYTES = 4096
PREVIEW_BYTES = 32


def _escape_for(byte: int) -> str:
    special = {0x5C: "\\\\", 0x22: '\\"', 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}
    if byte in special:
        return special[byte]
    if 0x20 <= byte <= 0x7E:
        return chr(byte)
    return "\\x%02x" % byte


_ESCAPES = tuple(_escape_for(b) for b in range(256))


def escape_bytes(data: bytes) -> str:
    """Escape bytes one by one as in the §4 preview (the result is printable ASCII)."""
    return "".join(_ESCAPES[b] for b in bytearray(data))


def is_text(data: bytes) -> bool:
    """True if the message is printed as itself: valid UTF-8 and at most 4096 bytes."""
    if len(data) > MAX_TEXT_BYTES:
        return False
    try:
        data.decode("utf-8", "strict")
    except UnicodeDecodeError:
        return False
    return True


def summary_line(data: bytes) -> str:
    """The one-line summary of a binary or long message, without the newline."""
    try:
        data.decode("utf-8", "strict")
        kind = "long"
    except UnicodeDecodeError:
        kind = "binary"
    digest = hashlib.sha256(data).hexdigest()
    ellipsis = "..." if len(data) > PREVIEW_BYTES else ""
    return '[%s message: %d bytes, sha256 %s, starts "%s"%s]' % (
        kind,
        len(data),
        digest,
        escape_bytes(data[:PREVIEW_BYTES]),
        ellipsis,
    )


def format_message(data: bytes) -> bytes:
    """The exact bytes printed for a message, including the final newline. Never fails."""
    data = bytes(data)
    if is_text(data):
        return data + b"\n"
    return summary_line(data).encode("ascii") + b"\n"
