"""Unix domain stream sockets (§10.2) end to end: raw and framed mode, path length, errors."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time

import pytest

from servers import Server, ShortTempDir, run_client

pytestmark = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets")


@pytest.fixture
def sock_path():
    with ShortTempDir() as directory:
        yield os.path.join(directory, "s.sock")


def unix_args(path, *args):
    return ("--transport", "unix", "--path", path) + args


def test_raw_default_message(sock_path):
    with Server("raw", path=sock_path) as server:
        result = run_client(*unix_args(sock_path))
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"Hello SocketServer!!!\n"
        assert result.stderr == b""
        assert server.messages() == [b"Hello SocketServer!!!"]


def test_raw_json_one_connection_per_message(sock_path):
    messages = ["one", "", "ünï ✓"]
    with Server("raw", path=sock_path) as server:
        result = run_client(*unix_args(sock_path, "--format", "json", *messages))
        assert result.returncode == 0, result.stderr
        server.wait_closed(len(messages))
        assert [c.messages for c in server.connections] == [[m.encode()] for m in messages]
        records = [json.loads(line) for line in result.stdout.decode().splitlines()]
        assert len(records) == len(messages)
        for record, message, conn in zip(records, messages, server.connections):
            assert record == {
                "seq": 1,
                "local": conn.peer,  # pid:<client pid>, as the server reads it (SO_PEERCRED)
                "peer": "unix:" + sock_path,
                "mode": "raw",
                "len": len(message.encode()),
                "sha256": hashlib.sha256(message.encode()).hexdigest(),
                "ack": "none",
                "transport": "unix",
            }
            assert record["local"].startswith("pid:")


def test_framed_json_and_binary_file(sock_path, tmp_path):
    binary = tmp_path / "all.bin"
    binary.write_bytes(bytes(range(256)))
    with Server("framed", path=sock_path) as server:
        args = unix_args(sock_path, "--mode", "framed", "--format", "json", "--file", str(binary))
        result = run_client(*(args + ("a", "", "b")))
        assert result.returncode == 0, result.stderr
        server.wait_closed(1)
        assert len(server.connections) == 1
        conn = server.connections[0]
        assert conn.error is None
        assert conn.messages == [bytes(range(256)), b"a", b"", b"b"]
        records = [json.loads(line) for line in result.stdout.splitlines()]
        assert [r["seq"] for r in records] == [1, 2, 3, 4]
        for record, payload in zip(records, conn.messages):
            assert record["local"] == conn.peer
            assert record["peer"] == server.addr == "unix:" + sock_path
            assert record["mode"] == "framed"
            assert record["ack"] == "verified"
            assert record["transport"] == "unix"
            assert record["sha256"] == hashlib.sha256(payload).hexdigest()


def test_framed_text_output(sock_path):
    with Server("framed", path=sock_path) as server:
        result = run_client(*unix_args(sock_path, "--mode", "framed", "x", "y"))
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"x\ny\n"
        assert server.messages() == [b"x", b"y"]


def test_framed_bad_ack_exits_5(sock_path):
    with Server("framed", "bad-second", path=sock_path):
        result = run_client(*unix_args(sock_path, "--mode", "framed", "one", "two"))
    assert result.returncode == 5, result.stderr
    assert result.stdout == b"one\n"


@pytest.mark.parametrize(
    "path, size",
    [("/tmp/" + "x" * 103, 108), ("/tmp/" + "x" * 125, 130), ("/tmp/" + "é" * 52, 109)],
)
def test_path_too_long_exits_2(path, size, tmp_path):
    # Checked before anything else: even an unreadable --file is not reached.
    missing = str(tmp_path / "missing.bin")
    result = run_client(*unix_args(path, "--file", missing))
    assert result.returncode == 2, result.stderr
    assert result.stdout == b""
    assert result.stderr == b"error: unix socket path too long: %d bytes, at most 107\n" % size


def test_path_of_107_bytes_works():
    with ShortTempDir() as directory:
        path = os.path.join(directory, "")
        path += "s" * (107 - len(path.encode()))
        assert len(path.encode()) == 107
        with Server("raw", path=path) as server:
            result = run_client(*unix_args(path, "--format", "json", "max"))
            assert result.returncode == 0, result.stderr
            assert json.loads(result.stdout)["peer"] == "unix:" + path
            assert server.messages() == [b"max"]


@pytest.mark.parametrize("mode", ["raw", "framed"])
def test_missing_path_exits_3(sock_path, mode):
    start = time.monotonic()
    result = run_client(*unix_args(sock_path, "--mode", mode, "--timeout-ms", "60000"))
    assert result.returncode == 3, result.stderr
    assert result.stdout == b""
    assert result.stderr.startswith(b"error: ")
    assert sock_path.encode() in result.stderr
    assert result.stderr.count(b"\n") == 1
    # At once, not after the 60 s limit; seconds are left for start-up on a busy machine.
    assert time.monotonic() - start < 20


def test_stale_socket_exits_3(sock_path):
    # A socket file that nobody listens on: the connection is refused.
    holder = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    holder.bind(sock_path)
    try:
        result = run_client(*unix_args(sock_path))
    finally:
        holder.close()
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith(b"error: ")


def test_not_a_socket_exits_3(sock_path):
    with open(sock_path, "wb") as handle:
        handle.write(b"not a socket")
    result = run_client(*unix_args(sock_path))
    assert result.returncode == 3, result.stderr
    with open(sock_path, "rb") as handle:
        assert handle.read() == b"not a socket"  # the client never touches it


@pytest.mark.parametrize("mode", ["raw", "framed"])
def test_silent_server_exits_4(sock_path, mode):
    with Server(mode, "hang", path=sock_path) as server:
        start = time.monotonic()
        result = run_client(*unix_args(sock_path, "--mode", mode, "--timeout-ms", "300", "hi"))
        ended = time.monotonic()
    assert result.returncode == 4, result.stderr
    assert result.stdout == b""
    assert result.stderr.startswith(b"error: ")
    assert ended - start >= 0.3
    # At its own limit, not the default 10 s. Timed from the connection as the server saw it:
    # the interpreter's start-up alone can take seconds on a busy machine.
    assert ended - server.connections[0].accepted_at < 0.3 + 5
