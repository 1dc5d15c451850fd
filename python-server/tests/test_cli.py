"""The command line (PROTOCOL.md §5), text output, signals, and the Rust client against us."""

from __future__ import annotations

import ast
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from serverproc import SRC, Server, ack, env, frame, read_frame, read_to_eof, run_server

REPO_ROOT = os.path.dirname(os.path.dirname(SRC))  # /work/main when run in the repository


@pytest.mark.parametrize(
    "args, error",
    [
        (["--port", "abc"], "invalid value 'abc' for '--port <PORT>': invalid digit found in string"),
        (["--port", "65536"], "invalid value '65536' for '--port <PORT>': number too large to fit in target type"),
        (["--port", ""], "invalid value '' for '--port <PORT>': cannot parse integer from empty string"),
        (["--port"], "a value is required for '--port <PORT>' but none was supplied"),
        (["--mode", "udp"], "invalid value 'udp' for '--mode <MODE>' [possible values: raw, framed]"),
        (["--format=xml"], "invalid value 'xml' for '--format <FORMAT>' [possible values: text, json]"),
        (["--transport", "sctp"], "invalid value 'sctp' for '--transport <TRANSPORT>' [possible values: tcp, unix, udp]"),
        (["--max-connections", "0"], "invalid value '0' for '--max-connections <MAX_CONNECTIONS>': 0 is not in 1..=4294967295"),
        (["--idle-timeout-ms", "0"], "invalid value '0' for '--idle-timeout-ms <IDLE_TIMEOUT_MS>': 0 is not in 1..=18446744073709551615"),
        (["--max-message-bytes", "4294967296"], "invalid value '4294967296' for '--max-message-bytes <MAX_MESSAGE_BYTES>': number too large to fit in target type"),
        (["--bogus"], "unexpected argument '--bogus' found"),
        (["extra"], "unexpected argument 'extra' found"),
        (["--port", "1", "--port", "2"], "the argument '--port <PORT>' cannot be used multiple times"),
        (["--transport", "unix"], "--transport unix needs --path PATH"),
        (["--path", "/tmp/x.sock"], "--path needs --transport unix"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args, error):
    result = run_server(*args)
    assert result.returncode == 2, result
    assert result.stdout == b""
    assert result.stderr == ("error: %s\n" % error).encode()


def test_help_and_version():
    for flag in ("-h", "--help"):
        result = run_server(flag)
        assert result.returncode == 0
        assert result.stderr == b""
        for option in (b"--host", b"--port", b"--mode", b"--format", b"--max-message-bytes",
                       b"--max-connections", b"--idle-timeout-ms", b"--transport", b"--path"):
            assert option in result.stdout
    result = run_server("--version")
    assert (result.returncode, result.stdout) == (0, b"interop-server 0.1.0\n")


def test_cannot_listen_exits_1():
    with Server() as server:
        result = run_server("--port", str(server.port))
        assert result.returncode == 1
        assert result.stdout == b""
        assert result.stderr.startswith(b"error: cannot listen on 127.0.0.1:%d: " % server.port)
        assert result.stderr.count(b"\n") == 1


def test_options_take_the_equals_form_and_defaults_apply():
    with Server("--mode=framed", "--max-message-bytes=5", "--host=127.0.0.1") as server:
        sock = server.connect()
        sock.sendall(frame(b"123456"))
        assert read_frame(sock) == b"ERR too-large 6 > 5"
        sock.close()


def test_text_format_holds_hello_back_until_the_first_message():
    with Server(fmt="text") as server:
        first = server.connect()
        second = server.connect()
        first.sendall(b"from first")
        second.sendall(b"second\nline")
        second.shutdown(socket.SHUT_WR)
        read_to_eof(second)
        second_peer = "127.0.0.1:%d" % second.getsockname()[1]
        assert server.next_line() == ("Hello: %s\n" % second_peer).encode()
        assert server.next_line() == b"second\n"
        assert server.next_line() == b"line\n"
        first.shutdown(socket.SHUT_WR)
        read_to_eof(first)
        first_peer = "127.0.0.1:%d" % first.getsockname()[1]
        assert server.next_line() == ("Hello: %s\n" % first_peer).encode()
        assert server.next_line() == b"from first\n"

        binary = server.connect()
        binary.sendall(bytes(range(256)))
        binary.shutdown(socket.SHUT_WR)
        read_to_eof(binary)
        assert server.next_line().startswith(b"Hello: 127.0.0.1:")
        assert server.next_line() == (
            b'[binary message: 256 bytes, sha256 40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880,'
            b' starts "\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\t\\n\\x0b\\x0c\\r\\x0e\\x0f\\x10\\x11'
            b'\\x12\\x13\\x14\\x15\\x16\\x17\\x18\\x19\\x1a\\x1b\\x1c\\x1d\\x1e\\x1f"...]\n'
        )
        for sock in (first, second, binary):
            sock.close()


def test_text_format_framed_errors_go_to_stderr():
    with Server("--mode", "framed", fmt="text") as server:
        sock = server.connect()
        sock.sendall(frame(b"one") + frame(b"two"))
        assert read_frame(sock) == ack(1, b"one")
        assert read_frame(sock) == ack(2, b"two")
        peer = "127.0.0.1:%d" % sock.getsockname()[1]
        sock.sendall(b"\x00\x00")
        sock.shutdown(socket.SHUT_WR)
        read_to_eof(sock)
        sock.close()
        # A connection that ends without any message still gets its Hello line.
        quiet = server.connect()
        quiet_peer = "127.0.0.1:%d" % quiet.getsockname()[1]
        quiet.shutdown(socket.SHUT_WR)
        assert read_to_eof(quiet) == b""
        quiet.close()
        assert server.stop() == 0
        assert b"".join(server.out) == (
            "listening on {addr}\nHello: {p}\none\ntwo\nHello: {q}\n".format(
                addr=server.addr, p=peer, q=quiet_peer
            ).encode()
        )
        assert server.stderr() == (
            "error: %s: frame 3: truncated frame: expected 4 length-prefix bytes, got 2\n" % peer
        ).encode()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_exits_0_with_output_flushed(sig):
    with Server("--mode", "framed") as server:
        sock = server.connect()
        sock.sendall(frame(b"before the signal"))
        assert read_frame(sock) == ack(1, b"before the signal")
        sock.close()
        server.conn_events(1)
        assert server.stop(sig) == 0
        assert server.events[-1]["event"] == "closed"
        assert b"".join(server.out).endswith(b'"messages":1}\n')
        assert server.stderr() == b""


def wait_until_refused(port: int, timeout: float = 10.0) -> None:
    """Wait until connecting to ``port`` is refused: the server has closed its listener.

    Instead of sleeping for a while after the signal: a connection made before the server got
    to it is served like any other (and closed here at once, so it ends quickly).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            probe = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        except ConnectionRefusedError:
            return
        probe.close()
        assert time.monotonic() < deadline, "still accepting %s s after SIGTERM" % timeout
        time.sleep(0.05)


def test_sigterm_lets_in_flight_connections_finish():
    with Server() as server:
        sock = server.connect()
        me = "127.0.0.1:%d" % sock.getsockname()[1]
        sock.sendall(b"in flight")
        server.wait_for(lambda e: e["event"] == "connected")
        server.proc.send_signal(signal.SIGTERM)
        # Not accepting any more ...
        wait_until_refused(server.port)
        # ... but the open connection is still served.
        sock.sendall(b", finished")
        sock.shutdown(socket.SHUT_WR)
        assert read_to_eof(sock) == b""
        sock.close()
        assert server.stop() == 0
        texts = [e.get("text") for e in server.events if e["event"] == "message" and e["peer"] == me]
        assert texts == ["in flight, finished"]


def test_sigterm_cuts_off_connections_after_the_grace_period():
    with Server() as server:
        sock = server.connect()
        server.wait_for(lambda e: e["event"] == "connected")
        started = time.monotonic()
        assert server.stop(timeout=30) == 0
        # Cut off after the 5 s grace period, not before; the upper bound only says it did not
        # wait for the connection, with room for a busy machine.
        assert 4.5 < time.monotonic() - started < 5 + 15
        # Its own end, as every connection has one, then the count.
        assert server.events[-2:] == [
            {
                "event": "error",
                "conn": 1,
                "peer": "127.0.0.1:%d" % sock.getsockname()[1],
                "error": "shutdown: cut off after the 5000 ms grace period",
            },
            {"event": "error", "error": "shutdown: closed 1 connection(s) still open after 5000 ms"},
        ]
        sock.close()


def test_restart_on_the_same_port_at_once():
    with Server("--mode", "framed") as server:
        port = server.port
        sock = server.connect()
        sock.sendall(frame(b"x"))
        read_frame(sock)
        server.proc.kill()  # killed with the connection open
        server.proc.wait()
        sock.close()
    with Server("--mode", "framed", "--port", str(port), port=False) as again:
        assert again.port == port
        sock = again.connect()
        sock.sendall(frame(b"y"))
        assert read_frame(sock) == ack(1, b"y")
        sock.close()


def test_runs_without_installation_from_the_repository_root():
    variables = dict(os.environ)
    variables["PYTHONPATH"] = os.path.relpath(SRC, REPO_ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "interop_server", "--help"],
        cwd=REPO_ROOT,
        env=variables,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=30,
    )
    assert result.returncode == 0
    assert b"Usage: interop-server" in result.stdout


def test_sources_parse_as_python_3_8():
    package = os.path.join(SRC, "interop_server")
    tests = os.path.dirname(os.path.abspath(__file__))
    for directory in (package, tests):
        for name in sorted(os.listdir(directory)):
            if name.endswith(".py"):
                with open(os.path.join(directory, name), encoding="utf-8") as handle:
                    ast.parse(handle.read(), name, feature_version=(3, 8))


RUST_CLIENT = os.path.join(REPO_ROOT, "target", "debug", "interop-client")


@pytest.mark.skipif(not os.access(RUST_CLIENT, os.X_OK), reason="Rust client not built")
@pytest.mark.parametrize("mode", ["raw", "framed"])
def test_rust_client_against_this_server(mode):
    with Server("--mode", mode) as server:
        result = subprocess.run(
            [RUST_CLIENT, "--port", str(server.port), "--mode", mode, "--format", "json",
             "a", "", "Hello SocketServer!!!"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        reports = [json.loads(line) for line in result.stdout.splitlines()]
        assert len(reports) == 3
        conns = 3 if mode == "raw" else 1
        for conn in range(1, conns + 1):
            server.conn_events(conn)
        got = [e for e in server.events if e["event"] == "message"]
        assert [(r["local"], r["seq"], r["len"], r["sha256"]) for r in reports] == [
            (e["peer"], e["seq"], e["len"], e["sha256"]) for e in got
        ]
