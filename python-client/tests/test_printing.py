"""§4 printing, §9 test vectors and wire helpers, tested in-process."""

from __future__ import annotations

import hashlib
import os

import pytest

from interop_client.printing import escape_bytes, format_message
from interop_client.wire import (
    BadReply,
    ErrReply,
    check_ack,
    encode_frame,
    expected_ack,
    format_address,
    sha256_hex,
)

ALL_BYTES = bytes(range(256))
# The example line of PROTOCOL.md §4, copied verbatim.
ALL_BYTES_LINE = (
    "[binary message: 256 bytes, sha256 "
    "40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880, starts "
    '"\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\t\\n\\x0b\\x0c\\r\\x0e\\x0f'
    '\\x10\\x11\\x12\\x13\\x14\\x15\\x16\\x17\\x18\\x19\\x1a\\x1b\\x1c\\x1d\\x1e\\x1f"...]'
)
PROTOCOL_MD = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "PROTOCOL.md"
)


def test_example_line_matches_protocol_md():
    if not os.path.exists(PROTOCOL_MD):
        pytest.skip("docs/PROTOCOL.md not found next to python-client/")
    with open(PROTOCOL_MD, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert ALL_BYTES_LINE in lines


def test_all_bytes_summary_is_the_documented_line():
    assert format_message(ALL_BYTES) == ALL_BYTES_LINE.encode("ascii") + b"\n"


@pytest.mark.parametrize(
    "message, digest",
    [
        (b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (
            b"Hello SocketServer!!!",
            "30836f56b786ee37cf464bfe65b7728a5853395d9225e2bfd76f06ae68bd5807",
        ),
        (ALL_BYTES, "40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880"),
    ],
)
def test_sha256_vectors(message, digest):
    assert sha256_hex(message) == digest


def test_frame_vectors():
    assert encode_frame(b"") == b"\x00\x00\x00\x00"
    assert encode_frame(b"abc") == b"\x00\x00\x00\x03abc"
    ack = expected_ack(1, b"abc")
    assert ack == b"ACK 1 3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert encode_frame(ack)[:4] == b"\x00\x00\x00\x48"
    hello = expected_ack(1, b"Hello SocketServer!!!")
    assert encode_frame(hello)[:4] == b"\x00\x00\x00\x49"


def test_text_messages_print_as_themselves():
    assert format_message(b"") == b"\n"
    assert format_message(b"Hello SocketServer!!!") == b"Hello SocketServer!!!\n"
    assert format_message("héllo ✓".encode()) == "héllo ✓\n".encode()
    assert format_message(b"two\nlines\r\t\x00") == b"two\nlines\r\t\x00\n"
    assert format_message(b"a" * 4096) == b"a" * 4096 + b"\n"


def test_long_utf8_message():
    data = b'"quoted" \\ ' + b"a" * 5000
    digest = hashlib.sha256(data).hexdigest()
    expected = '[long message: 5011 bytes, sha256 %s, starts "\\"quoted\\" \\\\ %s"...]\n' % (
        digest,
        "a" * 21,
    )
    assert format_message(data).decode("ascii") == expected
    assert format_message(b"a" * 4097).startswith(b"[long message: 4097 bytes, sha256 ")


def test_preview_ellipsis_only_when_longer_than_32_bytes():
    exactly = b"\xff" + b"b" * 31
    assert format_message(exactly).endswith(b'"]\n')
    assert format_message(exactly + b"c").endswith(b'"...]\n')
    assert b'starts "\\xff' + b"b" * 31 + b'"]' in format_message(exactly)


def test_invalid_utf8_is_binary():
    for data in (b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"ok\x80"):
        assert format_message(data).startswith(b"[binary message: %d bytes" % len(data))
    assert format_message(b"\xc3\xa9\xe2") == (
        b'[binary message: 3 bytes, sha256 %s, starts "\\xc3\\xa9\\xe2"]\n'
        % hashlib.sha256(b"\xc3\xa9\xe2").hexdigest().encode()
    )


def test_escape_table():
    assert escape_bytes(b' ~"\\\n\r\t\x7f\x80A') == ' ~\\"\\\\\\n\\r\\t\\x7f\\x80A'


def test_format_address():
    assert format_address(("127.0.0.1", 8099)) == "127.0.0.1:8099"
    assert format_address(("::1", 8099, 0, 0)) == "[::1]:8099"


def test_check_ack():
    payload = b"abc"
    check_ack(expected_ack(3, payload), 3, payload)
    for bad in (
        expected_ack(2, payload),
        expected_ack(3, payload + b"d"),
        b"ACK 3 3 " + b"0" * 64,
        b"ACK 3 3",
        b"ACK  3 3 " + sha256_hex(payload).encode(),
        expected_ack(3, payload) + b" ",
        expected_ack(3, payload).upper(),
        b"ERR too-large 5 > 4",
        b"",
    ):
        with pytest.raises(BadReply):
            check_ack(bad, 3, payload)


@pytest.mark.parametrize(
    "reply, line",
    [
        (b"ERR busy 2 connections open", "server is busy: ERR busy 2 connections open"),
        (b"ERR busy", "server is busy: ERR busy"),
        (
            b"ERR output writing output: full",
            "server could not log message 3: ERR output writing output: full",
        ),
        (b"ERR too-large 5 > 4", "server rejected message 3: ERR too-large 5 > 4"),
        (b'ERR odd "a\\b"\n\xff', 'server rejected message 3: ERR odd "a\\b"\\x0a\\xff'),
    ],
)
def test_err_replies_are_reported_as_received_after_a_phrase_for_their_code(reply, line):
    with pytest.raises(ErrReply) as caught:
        check_ack(reply, 3, b"abc")
    assert str(caught.value) == line
