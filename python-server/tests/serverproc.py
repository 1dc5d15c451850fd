"""Runs the server as a subprocess and talks raw bytes to it."""

from __future__ import annotations

import hashlib
import json
import os
import queue
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
WAIT = 10.0


def env() -> Dict[str, str]:
    result = dict(os.environ)
    result["PYTHONPATH"] = SRC + os.pathsep + result.get("PYTHONPATH", "")
    result["PYTHONUNBUFFERED"] = "0"
    return result


def run_server(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
    """Runs the server to completion (for arguments that make it exit at once)."""
    return subprocess.run(
        [sys.executable, "-m", "interop_server", *args],
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=timeout,
    )


def spawn(*args: str, **popen: Any) -> subprocess.Popen:
    """``python -m interop_server ARGS`` with stdout and stderr pipes unless ``popen`` says
    otherwise; the caller reads them (see :func:`read_line`)."""
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([sys.executable, "-m", "interop_server", *args], env=env(), **popen)


def read_line(stream: Any, timeout: float = WAIT) -> bytes:
    """One line from a pipe, byte by byte (nothing is read ahead, so the caller can close the
    pipe right after it), waiting at most ``timeout`` seconds."""
    fd = stream.fileno()
    line = b""
    deadline = time.monotonic() + timeout
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(remaining, 0))
        assert ready, "no complete line within %s s; so far %r" % (timeout, line)
        byte = os.read(fd, 1)
        if not byte:
            return line
        line += byte
    return line


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def ack(seq: int, payload: bytes) -> bytes:
    return ("ACK %d %d %s" % (seq, len(payload), sha(payload))).encode()


def recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("EOF after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def read_frame(sock: socket.socket) -> bytes:
    (length,) = struct.unpack(">I", recv_exact(sock, 4))
    assert length <= 1024, length
    return recv_exact(sock, length)


def read_to_eof(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def recv_until_reset(sock: socket.socket) -> bytes:
    """Reads until the connection is reset; an orderly EOF fails the test (in raw mode it would
    tell the client that its message was recorded)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        assert chunk, "orderly EOF, not a reset, after %r" % data
        data += chunk


def connect_expecting_reset(host: str, port: int) -> str:
    """Connects to a server that resets the connection at once; returns the client's address.

    The reset can come so soon that ``connect()`` itself reports it (a client descheduled between
    the handshake and reading the connect's result), so that counts as the reset too.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((host, 0))  # known before connecting, whatever happens then
        local = "%s:%d" % (host, sock.getsockname()[1])
        sock.settimeout(WAIT)
        try:
            sock.connect((host, port))
        except ConnectionResetError:
            return local
        assert recv_until_reset(sock) == b""
        return local
    finally:
        sock.close()


class Server:
    """``python -m interop_server --port 0 --format json ARGS``, its output read line by line."""

    def __init__(self, *args: str, fmt: str = "json", port: bool = True) -> None:
        cmd = [sys.executable, "-m", "interop_server", "--format", fmt]
        if port:
            cmd += ["--port", "0"]
        cmd += list(args)
        self.proc = subprocess.Popen(
            cmd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.lines: "queue.Queue[Optional[bytes]]" = queue.Queue()
        self.out: List[bytes] = []
        self.err = b""
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=self._pump_err, daemon=True).start()
        first = self.next_line()
        assert first is not None and first.startswith(b"listening on "), (first, self.stderr())
        self.addr = first[len(b"listening on ") :].decode().rstrip("\n")
        self.port = 0 if self.addr.startswith("unix:") else int(self.addr.rsplit(":", 1)[1])
        self.events: List[Dict[str, Any]] = []
        if fmt == "json":
            listening = self.next_event()
            assert listening["event"] == "listening", listening

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.out.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def _pump_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.err += line

    def stderr(self) -> bytes:
        return self.err

    def next_line(self, timeout: float = WAIT) -> Optional[bytes]:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no output within %s s; so far %r" % (timeout, self.out))

    def next_event(self, timeout: float = WAIT) -> Dict[str, Any]:
        line = self.next_line(timeout)
        assert line is not None, "server output ended; stderr %r" % self.err
        event = json.loads(line)
        self.events.append(event)
        return event

    def wait_for(self, pred: Callable[[Dict[str, Any]], bool], timeout: float = WAIT) -> Dict[str, Any]:
        for event in self.events:
            if pred(event):
                return event
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no matching event; got %r" % self.events)
            event = self.next_event(remaining)
            if pred(event):
                return event

    def conn_events(self, conn: int, timeout: float = WAIT) -> List[Dict[str, Any]]:
        """All events of connection ``conn``, once it has ended (closed or error)."""
        self.wait_for(
            lambda e: e.get("conn") == conn and e["event"] in ("closed", "error"), timeout
        )
        return [e for e in self.events if e.get("conn") == conn]

    def connect(self, timeout: float = WAIT) -> socket.socket:
        if self.addr.startswith("unix:"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(self.addr[len("unix:") :])
            return sock
        host = self.addr.rsplit(":", 1)[0].strip("[]")
        sock = socket.create_connection((host, self.port), timeout=timeout)
        return sock

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("server did not exit within %s s" % timeout)
        # Let the pumps see EOF.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            if line is None:
                break
            if line.startswith(b"{"):
                self.events.append(json.loads(line))
        time.sleep(0.05)
        return code

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


def messages(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [e for e in events if e["event"] == "message"]


def position(events: List[Dict[str, Any]], conn: int, event: str) -> int:
    """Where connection ``conn``'s ``event`` is in the server's output."""
    return next(i for i, e in enumerate(events) if e.get("conn") == conn and e["event"] == event)
