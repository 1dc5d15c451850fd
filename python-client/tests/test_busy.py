"""ERR busy and ERR output (§3.3, §3.4, §5, §11): exit 5 and the error line §3.3 gives, however
the server's close meets the client's write; and a raw connection turned away (§2): exit 1."""

from __future__ import annotations

import os

import pytest

from servers import BUSY, OUTPUT, Server, ShortTempDir, run_client

BUSY_LINE = b"error: server is busy: " + BUSY + b"\n"
FRAMED = (
    ["--mode", "framed"],
    ["--mode", "framed", "--pipeline"],
    ["--mode", "framed", "--half-close"],
)


@pytest.fixture(params=["tcp", "unix"])
def stream(request):
    """(server keyword arguments, client arguments) for each stream transport."""
    if request.param == "tcp":
        yield {}, lambda server: ["--port", str(server.port)]
        return
    with ShortTempDir() as directory:
        path = os.path.join(directory, "s.sock")
        yield {"path": path}, lambda server: ["--transport", "unix", "--path", path]


@pytest.mark.parametrize("way", FRAMED, ids=["stop-and-wait", "pipeline", "half-close"])
def test_busy(stream, way):
    server_kw, client_args = stream
    with Server("framed", "busy", **server_kw) as server:
        result = run_client(*(client_args(server) + way + ["one", "two"]))
    assert (result.returncode, result.stdout, result.stderr) == (5, b"", BUSY_LINE)


@pytest.mark.parametrize("way", FRAMED, ids=["stop-and-wait", "pipeline", "half-close"])
def test_output_for_the_first_message(way):
    with Server("framed", "output") as server:
        result = run_client(*(["--port", str(server.port)] + way + ["one", "two"]))
    line = b"error: server could not log message 1: " + OUTPUT + b"\n"
    assert (result.returncode, result.stdout, result.stderr) == (5, b"", line)


def test_output_for_the_second_message():
    with Server("framed", "output-second") as server:
        result = run_client("--port", str(server.port), "--mode", "framed", "one", "two")
    line = b"error: server could not log message 2: " + OUTPUT + b"\n"
    assert (result.returncode, result.stdout, result.stderr) == (5, b"one\n", line)


@pytest.mark.parametrize("behaviour", ["busy-close", "busy-reset"])
def test_busy_and_closed_at_once_while_the_client_writes(stream, behaviour, tmp_path):
    # The server sends ERR busy and closes unread, at once or once data has arrived (a reset):
    # the client's write may break, but the ERR is already in its receive buffer (§3.4, §11).
    # A 4 MiB message is still being written when the close lands. Rounds of every way.
    server_kw, client_args = stream
    large = tmp_path / "large.bin"
    large.write_bytes(b"x" * (4 * 1024 * 1024))
    with Server("framed", behaviour, **server_kw) as server:
        for _ in range(2):
            for way in FRAMED:
                for message in (["small"], ["--file", str(large)]):
                    args = client_args(server) + way + message
                    result = run_client(*args)
                    outcome = (result.returncode, result.stdout, result.stderr)
                    assert outcome == (5, b"", BUSY_LINE), args


def test_busy_and_reset_at_once_while_the_client_connects():
    # A server that resets right after ERR busy can reset the connection before the client has
    # seen it connected: connect() reports the reset, but the ERR is in the receive buffer.
    with Server("framed", "busy-abort") as server:
        for _ in range(2):
            for way in FRAMED:
                args = ["--port", str(server.port)] + way + ["x"]
                result = run_client(*args)
                outcome = (result.returncode, result.stdout, result.stderr)
                assert outcome == (5, b"", BUSY_LINE), args


def test_raw_connection_turned_away_is_a_reset_exit_1():
    with Server("raw", "turn-away") as server:
        for _ in range(4):
            result = run_client("--port", str(server.port), "hi")
            assert result.returncode == 1, result.stderr
            assert result.stdout == b""
            assert result.stderr.startswith(b"error: ") and result.stderr.count(b"\n") == 1
