"""--pipeline and --half-close (§11): all frames written before any acknowledgement is read."""

from __future__ import annotations

import json
import os
import time

import pytest

from servers import Server, ShortTempDir, run_client

MESSAGES = ["first", "", "third ✓"]


@pytest.fixture(params=["tcp", "unix"])
def stream(request):
    """(server keyword arguments, client arguments) for each stream transport."""
    if request.param == "tcp":
        yield request.param, {}, lambda server: ["--port", str(server.port)]
        return
    with ShortTempDir() as directory:
        path = os.path.join(directory, "s.sock")
        yield request.param, {"path": path}, lambda server: ["--transport", "unix", "--path", path]


def test_pipeline(stream):
    transport, server_kw, client_args = stream
    with Server("framed", defer=len(MESSAGES), **server_kw) as server:
        args = client_args(server) + ["--mode", "framed", "--pipeline", "--format", "json"]
        result = run_client(*(args + MESSAGES))
        assert result.returncode == 0, result.stderr
        server.wait_closed(1)
        conn = server.connections[0]
        assert conn.messages == [m.encode() for m in MESSAGES]
        assert conn.eof_before_acks is False  # pipelined, but the write side stayed open
        assert conn.error is None
        records = [json.loads(line) for line in result.stdout.splitlines()]
        assert [r["seq"] for r in records] == [1, 2, 3]
        assert {r["ack"] for r in records} == {"verified"}
        assert {r["transport"] for r in records} == {transport}
        assert {r["local"] for r in records} == {conn.peer}


# How long a deferring server looks for the EOF of a client that half-closes: it comes at once,
# so this only bounds a busy machine holding the client up between its last frame and shutdown.
HALF_CLOSE_EOF_WAIT = 10.0


def test_half_close(stream):
    transport, server_kw, client_args = stream
    with Server("framed", defer=len(MESSAGES), eof_wait=HALF_CLOSE_EOF_WAIT, **server_kw) as server:
        args = client_args(server) + ["--mode", "framed", "--half-close", "--format", "json"]
        result = run_client(*(args + MESSAGES))
        assert result.returncode == 0, result.stderr
        server.wait_closed(1)
        conn = server.connections[0]
        assert conn.messages == [m.encode() for m in MESSAGES]
        assert conn.eof_before_acks is True  # shut down before reading any acknowledgement
        assert conn.error is None
        records = [json.loads(line) for line in result.stdout.splitlines()]
        assert [r["seq"] for r in records] == [1, 2, 3]
        assert {r["transport"] for r in records} == {transport}


def test_half_close_text_output_with_pipeline_too(stream):
    _, server_kw, client_args = stream
    with Server("framed", defer=2, eof_wait=HALF_CLOSE_EOF_WAIT, **server_kw) as server:
        args = client_args(server) + ["--mode", "framed", "--pipeline", "--half-close", "a", "b"]
        result = run_client(*args)
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"a\nb\n"
        server.wait_closed(1)
        assert server.connections[0].eof_before_acks is True


def test_stop_and_wait_client_never_gets_deferred_acks(stream):
    # The deferring server really tells the difference: without the options the client waits
    # for the first acknowledgement, which never comes.
    _, server_kw, client_args = stream
    with Server("framed", defer=len(MESSAGES), **server_kw) as server:
        args = client_args(server) + ["--mode", "framed", "--timeout-ms", "500"]
        result = run_client(*(args + MESSAGES))
        assert result.returncode == 4, result.stderr
        assert server.wait_messages(1) == [b"first"]


@pytest.mark.parametrize("flag", ["--pipeline", "--half-close"])
def test_wrong_second_ack_exits_5_after_printing_the_first(stream, flag):
    _, server_kw, client_args = stream
    with Server("framed", "bad-second", defer=3, **server_kw) as server:
        result = run_client(*(client_args(server) + ["--mode", "framed", flag, "one", "two", "x"]))
    assert result.returncode == 5, result.stderr
    assert result.stdout == b"one\n"
    assert b"message 2" in result.stderr


@pytest.mark.parametrize("flag", ["--pipeline", "--half-close"])
def test_server_closes_without_acknowledging_exits_5(flag):
    # One message: the server has read everything, so it closes with EOF (not a reset).
    with Server("framed", "close") as server:
        result = run_client("--port", str(server.port), "--mode", "framed", flag, "a")
    assert result.returncode == 5, result.stderr
    assert result.stdout == b""


def test_half_close_no_acks_in_time_exits_4():
    with Server("framed", "hang") as server:
        start = time.monotonic()
        args = ["--port", str(server.port), "--mode", "framed", "--half-close", "--timeout-ms", "300"]
        result = run_client(*args)
        ended = time.monotonic()
    assert result.returncode == 4, result.stderr
    assert ended - start >= 0.3
    # At its own limit, not the default 10 s. Timed from the connection as the server saw it:
    # the interpreter's start-up alone can take seconds on a busy machine.
    assert ended - server.connections[0].accepted_at < 0.3 + 5


def test_err_too_large_while_pipelining(tmp_path):
    # Message 1 is acknowledged, message 2's length is rejected (ERR) and the server closes
    # without reading the rest: the write fails, yet the client reports the ack and the ERR.
    small = tmp_path / "small.txt"
    small.write_bytes(b"ok")
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (8 * 1024 * 1024))
    with Server("framed", max_bytes=1024) as server:
        args = ["--port", str(server.port), "--mode", "framed", "--pipeline"]
        result = run_client(*(args + ["--file", str(small), "--file", str(big)]))
    assert result.returncode == 5, result.stderr
    assert result.stdout == b"ok\n"
    assert b"message 2" in result.stderr
    assert b"ERR too-large 8388608 > 1024" in result.stderr


@pytest.mark.parametrize("flag", ["--pipeline", "--half-close"])
def test_pipelining_in_raw_mode_exits_2(flag):
    with Server("raw") as server:
        result = run_client("--port", str(server.port), flag, "x")
        assert server.connections_so_far() == []
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr.startswith(b"error: ") and flag.encode() in result.stderr
