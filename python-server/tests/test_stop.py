"""How the server stops (PROTOCOL.md §5) when its log (stdout) cannot be written."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from typing import Tuple

import pytest

from serverproc import env, read_line, spawn

EPIPE_LINE = b"error: writing output: Broken pipe (os error 32)\n"


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


def test_udp_datagram_that_cannot_be_logged_is_not_acknowledged():
    proc = spawn("--port", "0", "--transport", "udp")
    try:
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
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
