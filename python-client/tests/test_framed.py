"""Framed mode (§3) end to end: the client as a subprocess against test servers."""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from servers import Server, ipv6_available, refusing_port, run_client


def test_default_message_acknowledged():
    with Server("framed") as server:
        result = run_client("--mode", "framed", "--port", str(server.port))
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"Hello SocketServer!!!\n"
        assert result.stderr == b""
        server.wait_closed(1)
        assert server.messages() == [b"Hello SocketServer!!!"]
        assert server.connections[0].error is None  # ended cleanly between frames


def test_200_messages_on_one_connection():
    messages = ["message %d" % i for i in range(1, 201)]
    with Server("framed") as server:
        result = run_client("--mode=framed", "--port", str(server.port), "--format=json", *messages)
        assert result.returncode == 0, result.stderr
        server.wait_closed(1)
        assert len(server.connections) == 1
        conn = server.connections[0]
        assert conn.messages == [m.encode() for m in messages]
        assert conn.error is None
        records = [json.loads(line) for line in result.stdout.decode().splitlines()]
        assert [r["seq"] for r in records] == list(range(1, 201))
        for record, message in zip(records, messages):
            assert record["mode"] == "framed"
            assert record["ack"] == "verified"
            assert record["local"] == conn.peer
            assert record["peer"] == server.addr
            assert record["len"] == len(message)
            assert record["sha256"] == hashlib.sha256(message.encode()).hexdigest()


def test_text_output_and_files(tmp_path):
    binary = tmp_path / "all.bin"
    binary.write_bytes(bytes(range(256)))
    with Server("framed") as server:
        result = run_client("--mode", "framed", "--port", str(server.port), "", "--file", str(binary))
        assert result.returncode == 0, result.stderr
        assert server.messages() == [bytes(range(256)), b""]
        lines = result.stdout.split(b"\n")
        assert lines[0].startswith(b"[binary message: 256 bytes, sha256 40aff2e9")
        assert lines[1:] == [b"", b""]


def test_empty_message_json():
    with Server("framed") as server:
        result = run_client("--mode", "framed", "--port", str(server.port), "--format", "json", "")
        assert result.returncode == 0, result.stderr
        record = json.loads(result.stdout)
        assert record == {
            "seq": 1,
            "local": server.connections[0].peer,
            "peer": server.addr,
            "mode": "framed",
            "len": 0,
            "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "ack": "verified",
            "transport": "tcp",
        }
        assert server.messages() == [b""]


@pytest.mark.parametrize(
    "behaviour", ["wrong-seq", "wrong-len", "wrong-hash", "malformed", "long-reply", "close", "err"]
)
def test_bad_reply_exits_5(behaviour):
    with Server("framed", behaviour) as server:
        result = run_client("--mode", "framed", "--port", str(server.port), "abc", "def")
    assert result.returncode == 5, (behaviour, result.stderr)
    assert result.stdout == b""
    assert result.stderr.startswith(b"error: ")
    assert result.stderr.count(b"\n") == 1


def test_wrong_ack_for_second_message_after_first_is_printed():
    with Server("framed", "bad-second") as server:
        result = run_client("--mode", "framed", "--port", str(server.port), "one", "two", "three")
    assert result.returncode == 5
    assert result.stdout == b"one\n"
    assert b"message 2" in result.stderr


def test_err_too_large_small_frame():
    # The frame fits in the socket buffers: the write succeeds, then the ERR reply is read.
    with Server("framed", max_bytes=4) as server:
        result = run_client("--mode", "framed", "--port", str(server.port), "ok", "too long")
    assert result.returncode == 5, result.stderr
    assert result.stdout == b"ok\n"
    assert b"ERR too-large 8 > 4" in result.stderr


def test_err_too_large_while_writing(tmp_path):
    # The server answers the length prefix with ERR and closes without reading the payload, so
    # the client's write fails; it must still report the ERR reply and exit 5.
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * (8 * 1024 * 1024))
    with Server("framed", max_bytes=1024) as server:
        result = run_client("--mode", "framed", "--port", str(server.port), "--file", str(path))
    assert result.returncode == 5, result.stderr
    assert result.stdout == b""
    assert b"ERR too-large 8388608 > 1024" in result.stderr


def test_server_never_replies_exits_4():
    with Server("framed", "hang") as server:
        start = time.monotonic()
        result = run_client("--mode", "framed", "--port", str(server.port), "--timeout-ms", "300")
        ended = time.monotonic()
    assert result.returncode == 4, result.stderr
    assert result.stdout == b""
    assert result.stderr.startswith(b"error: ")
    assert ended - start >= 0.3
    # At its own limit, not the default 10 s. Timed from the connection as the server saw it:
    # the interpreter's start-up alone can take seconds on a busy machine.
    assert ended - server.connections[0].accepted_at < 0.3 + 5


def test_refused_exits_3():
    holder, port = refusing_port()
    try:
        start = time.monotonic()
        result = run_client("--mode", "framed", "--port", str(port), "--timeout-ms", "60000")
        elapsed = time.monotonic() - start
    finally:
        holder.close()
    assert result.returncode == 3
    assert result.stderr.startswith(b"error: ")
    # At once, not after the 60 s limit; seconds are left for start-up on a busy machine.
    assert elapsed < 20


def test_ipv6():
    if not ipv6_available():
        pytest.skip("cannot bind ::1")
    with Server("framed", host="::1") as server:
        args = ["--host", "::1", "--port", str(server.port), "--mode", "framed", "--format", "json"]
        result = run_client(*(args + ["a", "b"]))
        assert result.returncode == 0, result.stderr
        records = [json.loads(line) for line in result.stdout.splitlines()]
        assert [r["seq"] for r in records] == [1, 2]
        for record in records:
            assert record["peer"] == "[::1]:%d" % server.port
            assert record["local"] == server.connections[0].peer
            assert record["local"].startswith("[::1]:")


def test_each_line_is_flushed_before_the_next_reply():
    import os
    import subprocess
    import sys

    from servers import SRC

    with Server("framed", "hang-second") as server:
        proc = subprocess.Popen(
            [sys.executable, "-m", "interop_client", "--mode", "framed", "--port",
             str(server.port), "--timeout-ms", "2000", "first", "second"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(os.environ, PYTHONPATH=SRC),
        )
        try:
            line = proc.stdout.readline()
            still_running = proc.poll() is None
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert line == b"first\n"
    assert still_running  # the line came through the pipe while the client was waiting
    assert proc.returncode == 4, err
