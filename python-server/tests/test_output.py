"""Printing (PROTOCOL.md §4) and the JSON records (§8.1), without a server."""

from __future__ import annotations

import io

from interop_server import wire
from interop_server.output import Printer, message_line

ALL = bytes(range(256))


def printed(fmt, calls, hello_every_message=False):
    out, err = io.BytesIO(), io.BytesIO()
    printer = Printer(fmt, out, err, hello_every_message)
    for name, args in calls:
        getattr(printer, name)(*args)
    return out.getvalue(), err.getvalue()


def test_message_lines():
    assert message_line(b"") == b""
    assert message_line("你好 🦀\nline".encode()) == "你好 🦀\nline".encode()
    assert message_line(ALL) == (
        b'[binary message: 256 bytes, sha256 40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880,'
        b' starts "\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\t\\n\\x0b\\x0c\\r\\x0e\\x0f\\x10\\x11\\x12'
        b'\\x13\\x14\\x15\\x16\\x17\\x18\\x19\\x1a\\x1b\\x1c\\x1d\\x1e\\x1f"...]'
    )
    long = b"a" * 4097
    assert message_line(long).startswith(b"[long message: 4097 bytes, sha256 ")
    assert message_line(long).endswith(b'starts "' + b"a" * 32 + b'"...]')
    assert message_line(b"a" * 4096) == b"a" * 4096
    assert message_line(b'\xff"\\').endswith(b'starts "\\xff\\"\\\\"]')


def test_json_records_match_serde_json():
    calls = [
        ("listening", ("127.0.0.1:1", "framed")),
        ("connected", (1, "127.0.0.1:2", "127.0.0.1:1")),
        ("message", (1, "127.0.0.1:2", 1, "a\"\\\n\x01\x7f é \u2028".encode())),
        ("message", (1, "127.0.0.1:2", 2, b"\xff")),
        ("closed", (1, "127.0.0.1:2", 2)),
        ("error", (None, None, "accept failed")),
        ("error", (None, "127.0.0.1:3", "datagram truncated")),
    ]
    out, err = printed("json", calls)
    assert err == b""
    assert out.decode("utf-8").split("\n") == [
        "listening on 127.0.0.1:1",
        '{"event":"listening","addr":"127.0.0.1:1","mode":"framed"}',
        '{"event":"connected","conn":1,"peer":"127.0.0.1:2","local":"127.0.0.1:1"}',
        '{"event":"message","conn":1,"peer":"127.0.0.1:2","seq":1,"len":13,"sha256":"%s",'
        '"text":"a\\"\\\\\\n\\u0001\x7f é \u2028"}'
        % wire.sha256_hex("a\"\\\n\x01\x7f é \u2028".encode()),
        '{"event":"message","conn":1,"peer":"127.0.0.1:2","seq":2,"len":1,"sha256":"%s"}'
        % wire.sha256_hex(b"\xff"),
        '{"event":"closed","conn":1,"peer":"127.0.0.1:2","messages":2}',
        '{"event":"error","error":"accept failed"}',
        '{"event":"error","peer":"127.0.0.1:3","error":"datagram truncated"}',
        "",
    ]


def test_text_keeps_each_hello_with_its_message():
    # The same sequence as the Rust server's output test.
    calls = [
        ("listening", ("127.0.0.1:8099", "raw")),
        ("connected", (1, "127.0.0.1:1001", "127.0.0.1:8099")),
        ("connected", (2, "127.0.0.1:1002", "127.0.0.1:8099")),
        ("message", (2, "127.0.0.1:1002", 1, b"second")),
        ("message", (1, "127.0.0.1:1001", 1, b"first\nline")),
        ("closed", (1, "127.0.0.1:1001", 1)),
        ("closed", (2, "127.0.0.1:1002", 1)),
        ("connected", (3, "127.0.0.1:1003", "127.0.0.1:8099")),
        ("error", (3, "127.0.0.1:1003", "truncated")),
    ]
    out, err = printed("text", calls)
    assert out == (
        b"listening on 127.0.0.1:8099\n"
        b"Hello: 127.0.0.1:1002\nsecond\n"
        b"Hello: 127.0.0.1:1001\nfirst\nline\n"
        b"Hello: 127.0.0.1:1003\n"
    )
    assert err == b"error: 127.0.0.1:1003: truncated\n"


def test_addresses():
    assert wire.addr_string(("127.0.0.1", 80)) == "127.0.0.1:80"
    assert wire.addr_string(("::1", 80, 0, 0)) == "[::1]:80"
    assert wire.addr_string(("::ffff:10.0.0.1", 80, 0, 0)) == "10.0.0.1:80"
    assert wire.addr_string(("2001:db8:0:0:1:0:0:1", 80, 0, 0)) == "[2001:db8::1:0:0:1]:80"
    assert wire.addr_string(("2001:db8:0:1:1:1:1:1", 80, 0, 0)) == "[2001:db8:0:1:1:1:1:1]:80"


def test_replies():
    assert wire.ack_text(1, b"abc") == (
        b"ACK 1 3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert wire.err_text("too-large", "4294967295 > 16777216") == b"ERR too-large 4294967295 > 16777216"
    assert wire.frame(b"abc") == b"\x00\x00\x00\x03abc"
    assert wire.describe(ConnectionResetError(104, "Connection reset by peer")) == (
        "Connection reset by peer (os error 104)"
    )
