"""How the server stops (PROTOCOL.md §5): when its log (stdout) cannot be written, and on SIGTERM
with clients streaming frames."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Dict, Iterator, List, Tuple

import pytest

from serverproc import (
    WAIT,
    Server,
    ack,
    connect_expecting_reset,
    env,
    frame,
    messages,
    read_frame,
    read_line,
    read_to_eof,
    recv_until_reset,
    sha,
    spawn,
)

EPIPE_LINE = b"error: writing output: Broken pipe (os error 32)\n"
ERR_OUTPUT = b"ERR output writing output: Broken pipe (os error 32)"


@contextlib.contextmanager
def running(*args: str) -> Iterator[subprocess.Popen]:
    """The server started with ``args``, killed on the way out if it is still running."""
    proc = spawn(*args)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _address(listening: bytes) -> Tuple[str, int]:
    assert listening.startswith(b"listening on "), listening
    host, port = listening[len(b"listening on ") :].decode().strip().rsplit(":", 1)
    return host.strip("[]"), int(port)


def _wait_exit(proc: subprocess.Popen, since: float, what: str) -> Tuple[int, bytes]:
    """Waits for the server to exit; prints how long after ``since`` it did; returns its exit
    code and its whole stderr."""
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("server did not exit within 30 s of %s" % what)
    elapsed = time.monotonic() - since
    print("server exited %.3f s after %s" % (elapsed, what))
    # Generous: the contract says a second; this only says that nothing waits for a client.
    assert elapsed < 10, elapsed
    assert proc.stderr is not None
    return code, proc.stderr.read()


def _connect(addr: Tuple[str, int]) -> socket.socket:
    return socket.create_connection(addr, timeout=WAIT)


# -- stdout that cannot be written at start-up ------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("args", [[], ["--transport", "udp"], ["--help"]])
def test_stdout_dev_full_exits_3_with_one_line(args):
    with open("/dev/full", "wb") as full:
        result = subprocess.run(
            [sys.executable, "-m", "interop_server", "--port", "0", *args],
            env=env(),
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=30,
        )
    assert result.returncode == 3, result
    # Fails at the listening line (or the help text): one line, no traceback.
    assert result.stderr == b"error: writing output: No space left on device (os error 28)\n"


@pytest.mark.parametrize("args", ["", "--mode framed --format json", "--help"])
def test_stdout_closed_at_start_exits_3_with_one_line(args):
    script = 'exec "$0" -m interop_server --port 0 %s >&-' % args
    result = subprocess.run(
        ["sh", "-c", script, sys.executable],
        env=env(),
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=30,
    )
    assert result.returncode == 3, result
    assert result.stderr == b"error: writing output: Bad file descriptor (os error 9)\n"


# -- stdout that breaks while serving ----------------------------------------------------------


def test_framed_message_that_cannot_be_logged_gets_err_output_and_so_does_an_idle_connection():
    # Text format: connecting prints nothing (Hello waits for the first message), so the first
    # write to fail is the record of the frame sent after the reader went away.
    with running("--port", "0", "--mode", "framed") as proc:
        addr = _address(read_line(proc.stdout))
        idle = _connect(addr)
        idle.sendall(frame(b"idle one"))  # one round trip: the server has accepted it
        assert read_frame(idle) == ack(1, b"idle one")
        busy = _connect(addr)
        busy.sendall(frame(b"first"))
        assert read_frame(busy) == ack(1, b"first")
        assert read_line(proc.stdout).startswith(b"Hello: ")
        assert read_line(proc.stdout) == b"idle one\n"
        assert read_line(proc.stdout).startswith(b"Hello: ")
        assert read_line(proc.stdout) == b"first\n"
        proc.stdout.close()  # the reader goes away: the next record fails with EPIPE

        failed_at = time.monotonic()
        busy.sendall(frame(b"second"))
        # In place of "ACK 2 ...": the message is not in the log, so it is not acknowledged.
        assert read_frame(busy) == ERR_OUTPUT
        assert read_frame(idle) == ERR_OUTPUT
        # Then the server shuts down its side (EOF, not a reset before the reply was read).
        assert read_to_eof(busy) == b""
        assert read_to_eof(idle) == b""
        code, stderr = _wait_exit(proc, failed_at, "the frame whose record failed")
        assert code == 3
        assert stderr == EPIPE_LINE
        busy.close()
        idle.close()


def test_json_connected_event_that_cannot_be_logged_gets_err_output_before_any_frame():
    with running("--port", "0", "--mode", "framed", "--format", "json") as proc:
        addr = _address(read_line(proc.stdout))
        assert read_line(proc.stdout).startswith(b'{"event":"listening"')
        proc.stdout.close()
        failed_at = time.monotonic()
        sock = _connect(addr)  # its "connected" event is the record that fails
        assert read_frame(sock) == ERR_OUTPUT
        assert read_to_eof(sock) == b""
        code, stderr = _wait_exit(proc, failed_at, "the connection whose event failed")
        assert code == 3
        assert stderr == EPIPE_LINE
        sock.close()


def test_raw_message_that_cannot_be_logged_is_answered_with_a_reset():
    with running("--port", "0") as proc:
        addr = _address(read_line(proc.stdout))
        proc.stdout.close()
        sock = _connect(addr)
        failed_at = time.monotonic()
        sock.sendall(b"never recorded")
        sock.shutdown(socket.SHUT_WR)
        assert recv_until_reset(sock) == b""
        code, stderr = _wait_exit(proc, failed_at, "the raw message whose record failed")
        assert code == 3
        assert stderr == EPIPE_LINE
        sock.close()


def test_raw_connections_open_when_output_fails_are_reset():
    with running("--port", "0", "--format", "json") as proc:
        addr = _address(read_line(proc.stdout))
        read_line(proc.stdout)  # the listening event
        waiting = _connect(addr)
        waiting.sendall(b"half a message")
        assert b'"event":"connected"' in read_line(proc.stdout)
        proc.stdout.close()
        failed_at = time.monotonic()
        connect_expecting_reset(*addr)  # its "connected" event fails
        assert recv_until_reset(waiting) == b""
        code, stderr = _wait_exit(proc, failed_at, "the connection whose event failed")
        assert code == 3
        assert stderr == EPIPE_LINE
        waiting.close()


def test_udp_datagram_that_cannot_be_logged_is_not_acknowledged():
    with running("--port", "0", "--transport", "udp") as proc:
        addr = _address(read_line(proc.stdout))
        proc.stdout.close()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect(addr)
        failed_at = time.monotonic()
        sock.send(b"never recorded")
        code, stderr = _wait_exit(proc, failed_at, "the datagram whose record failed")
        assert code == 3
        assert stderr == EPIPE_LINE
        # Any ACK would have been sent before the exit, and loopback delivers at once.
        sock.setblocking(False)
        with pytest.raises((BlockingIOError, ConnectionRefusedError)):
            sock.recv(65536)
        sock.close()


# -- SIGTERM ----------------------------------------------------------------------------------


def test_sigterm_cuts_off_streaming_stop_and_wait_clients_on_time():
    """Five clients stream frames stop-and-wait without a pause: the server must serve them
    through the 5 s grace period, then cut them off and exit, not wait for them to stop."""
    clients = 5
    acked: Dict[int, List[Tuple[int, str]]] = {i: [] for i in range(clients)}
    endings: Dict[int, object] = {}

    def stream(i: int, sock: socket.socket) -> None:
        seq = 0
        try:
            while True:
                seq += 1
                payload = ("client %d message %d " % (i, seq)).encode() * (seq % 5)
                sock.sendall(frame(payload))
                reply = read_frame(sock)
                if reply != ack(seq, payload):
                    endings[i] = reply
                    return
                acked[i].append((seq, sha(payload)))
        except (OSError, EOFError, AssertionError) as exc:
            endings[i] = exc

    with Server("--mode", "framed") as server:
        socks = [server.connect() for _ in range(clients)]
        peers = ["127.0.0.1:%d" % s.getsockname()[1] for s in socks]
        threads = [
            threading.Thread(target=stream, args=(i, s), daemon=True) for i, s in enumerate(socks)
        ]
        for t in threads:
            t.start()
        for conn in range(1, clients + 1):
            server.wait_for(lambda e: e["event"] == "message" and e["conn"] == conn)
        at_signal = [len(acked[i]) for i in range(clients)]
        started = time.monotonic()
        code = server.stop(signal.SIGTERM, timeout=30)
        elapsed = time.monotonic() - started
        print("server exited %.2f s after SIGTERM (grace 5 s)" % elapsed)
        for t in threads:
            t.join(WAIT)
        for s in socks:
            s.close()
        assert code == 0
        assert elapsed < 5 + 10
        assert sorted(endings) == list(range(clients)), endings
        # Served during the grace period, not stopped at the signal.
        in_all = [len(acked[i]) for i in range(clients)]
        print("acks per client at SIGTERM %s, in all %s" % (at_signal, in_all))
        assert all(len(acked[i]) > at_signal[i] for i in range(clients))

        events = server.events
        conns = {e["peer"]: e["conn"] for e in events if e["event"] == "connected"}
        assert sorted(conns) == sorted(peers)
        for conn in conns.values():
            mine = [e for e in events if e.get("conn") == conn]
            ends = [e for e in mine if e["event"] in ("closed", "error")]
            assert ends == [
                {
                    "event": "error",
                    "conn": conn,
                    "peer": mine[0]["peer"],
                    "error": "shutdown: cut off after the 5000 ms grace period",
                }
            ]
            assert mine[-1] is ends[0]  # nothing of this connection after its end
        assert events[-1] == {
            "event": "error",
            "error": "shutdown: closed %d connection(s) still open after 5000 ms" % clients,
        }
        # Every acknowledged message is in the log.
        logged = {(e["peer"], e["seq"], e["sha256"]) for e in messages(events)}
        for i in range(clients):
            missing = [(seq, h) for seq, h in acked[i] if (peers[i], seq, h) not in logged]
            assert missing == []


def test_sigterm_cut_off_in_text_format_goes_to_stderr():
    with Server("--mode", "framed", fmt="text") as server:
        sock = server.connect()
        sock.sendall(frame(b"first"))
        assert read_frame(sock) == ack(1, b"first")  # accepted and served
        sock.sendall(b"\x00\x00\x00\x10never finished")
        peer = "127.0.0.1:%d" % sock.getsockname()[1]
        assert server.stop(timeout=30) == 0
        assert server.stderr() == (
            "error: {p}: shutdown: cut off after the 5000 ms grace period\n"
            "error: shutdown: closed 1 connection(s) still open after 5000 ms\n".format(p=peer)
        ).encode()
        assert b"".join(server.out) == (
            "listening on %s\nHello: %s\nfirst\n" % (server.addr, peer)
        ).encode()
        # Cut off with a reset.
        with pytest.raises(ConnectionResetError):
            sock.recv(1)
        sock.close()
