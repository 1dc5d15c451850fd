"""Raw mode (§2) end to end: the client as a subprocess against test servers."""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from servers import Server, ipv6_available, refusing_port, run_client

HELLO = b"Hello SocketServer!!!"
HELLO_SHA = "30836f56b786ee37cf464bfe65b7728a5853395d9225e2bfd76f06ae68bd5807"


def test_default_message():
    with Server("raw") as server:
        result = run_client("--port", str(server.port))
        assert result.returncode == 0, result.stderr
        assert result.stdout == HELLO + b"\n"
        assert result.stderr == b""
        assert server.messages() == [HELLO]


def test_several_messages_each_on_its_own_connection():
    messages = ["first", "second message", "", "ünïcödé ✓", "last"]
    with Server("raw") as server:
        result = run_client("--port=%d" % server.port, *messages)
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"".join(m.encode() + b"\n" for m in messages)
        server.wait_closed(len(messages))
        assert len(server.connections) == len(messages)
        assert [c.messages for c in server.connections] == [[m.encode()] for m in messages]
        assert len({c.peer for c in server.connections}) == len(messages)


def test_json_lines():
    messages = ["one", "two", ""]
    with Server("raw") as server:
        result = run_client("--port", str(server.port), "--format", "json", *messages)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.decode("utf-8").splitlines()
        assert len(lines) == len(messages)
        for line, message, conn in zip(lines, messages, server.connections):
            record = json.loads(line)
            assert record["seq"] == 1
            assert record["mode"] == "raw"
            assert record["ack"] == "none"
            assert record["transport"] == "tcp"
            assert record["len"] == len(message.encode())
            assert record["sha256"] == hashlib.sha256(message.encode()).hexdigest()
            assert record["peer"] == server.addr
            assert record["local"] == conn.peer
        assert b" " not in result.stdout  # compact separators


def test_empty_message():
    with Server("raw") as server:
        result = run_client("--port", str(server.port), "")
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"\n"
        assert server.messages() == [b""]


def test_binary_file_and_order(tmp_path):
    binary = tmp_path / "all.bin"
    binary.write_bytes(bytes(range(256)))
    text = tmp_path / "text.txt"
    text.write_bytes(b"from a file")
    with Server("raw") as server:
        result = run_client(
            "--port", str(server.port), "arg1", "--file", str(binary), "arg2", "--file", str(text)
        )
        assert result.returncode == 0, result.stderr
        assert server.messages() == [bytes(range(256)), b"from a file", b"arg1", b"arg2"]
        lines = result.stdout.split(b"\n")
        assert lines[0] == (
            b"[binary message: 256 bytes, sha256 "
            b"40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880, starts "
            b'"\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\t\\n\\x0b\\x0c\\r\\x0e\\x0f'
            b'\\x10\\x11\\x12\\x13\\x14\\x15\\x16\\x17\\x18\\x19\\x1a\\x1b\\x1c\\x1d\\x1e\\x1f"...]'
        )
        assert lines[1:] == [b"from a file", b"arg1", b"arg2", b""]


def test_large_message(tmp_path):
    data = bytes(range(256)) * 8192  # 2 MiB
    path = tmp_path / "large.bin"
    path.write_bytes(data)
    with Server("raw") as server:
        result = run_client("--port", str(server.port), "--format", "json", "--file", str(path))
        assert result.returncode == 0, result.stderr
        assert server.messages() == [data]
        record = json.loads(result.stdout)
        assert record["len"] == len(data)
        assert record["sha256"] == hashlib.sha256(data).hexdigest()


def test_options_after_double_dash_are_messages():
    with Server("raw") as server:
        result = run_client("--port", str(server.port), "--", "--port", "-x", "--")
        assert result.returncode == 0, result.stderr
        assert server.messages() == [b"--port", b"-x", b"--"]


def test_refused_port_exits_3_promptly():
    holder, port = refusing_port()
    try:
        start = time.monotonic()
        result = run_client("--port", str(port), "--timeout-ms", "60000")
        elapsed = time.monotonic() - start
    finally:
        holder.close()
    assert result.returncode == 3
    assert result.stdout == b""
    assert result.stderr.startswith(b"error: ")
    assert result.stderr.count(b"\n") == 1
    # At once, not after the 60 s limit; seconds are left for start-up on a busy machine.
    assert elapsed < 20


def test_refused_after_first_message_keeps_printed_output():
    with Server("raw") as server:
        port = server.port
        result = run_client("--port", str(port), "one")
        assert result.returncode == 0
    # The listener is closed now: a second run is refused and prints nothing.
    result = run_client("--port", str(port), "two")
    assert result.returncode == 3
    assert result.stdout == b""


def test_server_never_closes_exits_4():
    with Server("raw", "hang") as server:
        start = time.monotonic()
        result = run_client("--port", str(server.port), "--timeout-ms", "300", "hi")
        ended = time.monotonic()
    assert result.returncode == 4, result.stderr
    assert result.stdout == b""
    assert result.stderr.startswith(b"error: ")
    assert ended - start >= 0.3
    # At its own limit, not the default 10 s. Timed from the connection as the server saw it:
    # the interpreter's start-up alone can take seconds on a busy machine.
    assert ended - server.connections[0].accepted_at < 0.3 + 5


def test_reset_by_server_exits_1():
    with Server("raw", "reset") as server:
        result = run_client("--port", str(server.port), "hi")
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert result.stdout == b""
    assert result.stderr.startswith(b"error: ")


def test_ipv6():
    if not ipv6_available():
        pytest.skip("cannot bind ::1")
    with Server("raw", host="::1") as server:
        result = run_client("--host", "::1", "--port", str(server.port), "--format", "json", "v6")
        assert result.returncode == 0, result.stderr
        record = json.loads(result.stdout)
        assert record["peer"] == "[::1]:%d" % server.port == server.addr
        assert record["local"].startswith("[::1]:")
        assert record["local"] == server.connections[0].peer
        assert server.messages() == [b"v6"]


def test_ipv6_refused():
    if not ipv6_available():
        pytest.skip("cannot bind ::1")
    holder, port = refusing_port("::1")
    try:
        result = run_client("--host", "::1", "--port", str(port))
    finally:
        holder.close()
    assert result.returncode == 3
    assert b"[::1]:%d" % port in result.stderr


def test_write_timeout_exits_4(tmp_path):
    # The server never reads, so a message larger than the socket buffers cannot be written.
    path = tmp_path / "big.bin"
    path.write_bytes(b"y" * (32 * 1024 * 1024))
    with Server("raw", "hang") as server:
        start = time.monotonic()
        result = run_client("--port", str(server.port), "--timeout-ms", "500", "--file", str(path))
        ended = time.monotonic()
    assert result.returncode == 4, result.stderr
    assert result.stderr.startswith(b"error: ")
    assert ended - start >= 0.5
    # At its own limit, not the default 10 s. Timed from the connection as the server saw it:
    # the interpreter's start-up alone can take seconds on a busy machine.
    assert ended - server.connections[0].accepted_at < 0.5 + 5
