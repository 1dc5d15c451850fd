"""Small test servers implementing the server side of docs/PROTOCOL.md (§2, §3), with faults.

Each server listens on an ephemeral loopback port, serves connections on threads, and records
what it received so tests can compare it with what the client says it sent.
"""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from typing import List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")

MAX_DEFAULT = 16 * 1024 * 1024


def fmt_addr(sockaddr) -> str:
    if len(sockaddr) >= 4:
        return "[%s]:%d" % (sockaddr[0], sockaddr[1])
    return "%s:%d" % (sockaddr[0], sockaddr[1])


def recv_exact(conn: socket.socket, count: int) -> Optional[bytes]:
    """Exactly ``count`` bytes, or None on EOF (b"" if count is 0)."""
    chunks = []
    got = 0
    while got < count:
        chunk = conn.recv(min(65536, count - got))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


class Connection:
    def __init__(self, peer: str, local: str) -> None:
        self.peer = peer
        self.local = local
        self.messages: List[bytes] = []
        self.error: Optional[str] = None
        self.done = threading.Event()


class Server:
    """A test server.

    mode: "raw" or "framed".
    behaviour:
      raw:    "ok" (read to EOF, close), "hang" (accept, never read or close),
              "reset" (read to EOF, then close with a TCP reset)
      framed: "ok", "wrong-seq", "wrong-len", "wrong-hash", "bad-second" (wrong hash for
              message 2), "malformed", "long-reply" (1025-byte reply), "err" (always reply ERR),
              "close" (read the frame, close without replying), "hang" (read, never reply),
              "hang-second" (acknowledge message 1, never reply to message 2)
      Framed servers also answer a length over ``max_bytes`` with ERR too-large and close,
      without reading the payload.
    """

    def __init__(
        self,
        mode: str = "raw",
        behaviour: str = "ok",
        host: str = "127.0.0.1",
        max_bytes: int = MAX_DEFAULT,
    ) -> None:
        self.mode = mode
        self.behaviour = behaviour
        self.max_bytes = max_bytes
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
        self.listener.listen(64)
        self.listener.settimeout(0.1)
        self.host = host
        self.port = self.listener.getsockname()[1]
        self.addr = fmt_addr(self.listener.getsockname())
        self.connections: List[Connection] = []
        self._socks: List[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()
        with self._lock:
            socks = list(self._socks)
        for sock in socks:
            try:
                sock.close()
            except OSError:
                pass

    def messages(self) -> List[bytes]:
        with self._lock:
            return [m for c in self.connections for m in c.messages]

    def wait_closed(self, count: int, timeout: float = 5.0) -> None:
        """Wait until ``count`` connections have finished on the server side."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                conns = list(self.connections)
            if len(conns) >= count and all(c.done.is_set() for c in conns[:count]):
                return
            time.sleep(0.01)
        raise AssertionError("server connections did not finish")

    # -- serving -------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, peer = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            sock.settimeout(None)
            conn = Connection(fmt_addr(peer), fmt_addr(sock.getsockname()))
            with self._lock:
                self.connections.append(conn)
                self._socks.append(sock)
            handler = self._serve_raw if self.mode == "raw" else self._serve_framed
            threading.Thread(target=self._run, args=(handler, sock, conn), daemon=True).start()

    def _run(self, handler, sock: socket.socket, conn: Connection) -> None:
        try:
            handler(sock, conn)
        except OSError as exc:
            conn.error = "%s: %s" % (type(exc).__name__, exc)
        finally:
            conn.done.set()

    def _serve_raw(self, sock: socket.socket, conn: Connection) -> None:
        if self.behaviour == "hang":
            self._stop.wait(60)
            return
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
        with self._lock:
            conn.messages.append(b"".join(chunks))
        if self.behaviour == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()

    def _serve_framed(self, sock: socket.socket, conn: Connection) -> None:
        seq = 0
        while True:
            header = recv_exact(sock, 4)
            if header is None:
                break  # EOF between frames: the normal end (or a truncated header)
            (length,) = struct.unpack(">I", header)
            if length > self.max_bytes:
                sock.sendall(frame(b"ERR too-large %d > %d" % (length, self.max_bytes)))
                conn.error = "too-large"
                break
            payload = recv_exact(sock, length)
            if payload is None:
                conn.error = "truncated frame"
                break
            seq += 1
            with self._lock:
                conn.messages.append(payload)
            reply = self._reply(seq, payload)
            if reply is None:
                if self.behaviour.startswith("hang"):
                    self._stop.wait(60)
                break
            sock.sendall(frame(reply))
            if reply.startswith(b"ERR"):
                break
        sock.close()

    def _reply(self, seq: int, payload: bytes) -> Optional[bytes]:
        digest = hashlib.sha256(payload).hexdigest().encode()
        length = len(payload)
        b = self.behaviour
        if b in ("close", "hang") or (b == "hang-second" and seq == 2):
            return None
        if b == "wrong-seq":
            seq += 1
        if b == "wrong-len":
            length += 1
        if b == "wrong-hash" or (b == "bad-second" and seq == 2):
            digest = hashlib.sha256(payload + b"x").hexdigest().encode()
        if b == "malformed":
            return b"ACK %d %d" % (seq, length)
        if b == "long-reply":
            return b"ACK %d %d %s " % (seq, length, digest) + b"x" * 1024
        if b == "err":
            return b"ERR rejected testing"
        return b"ACK %d %d %s" % (seq, length, digest)


def refusing_port(host: str = "127.0.0.1"):
    """A bound socket that does not listen, and its port: connecting to it is refused."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind((host, 0))
    return sock, sock.getsockname()[1]


def ipv6_available() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            sock.bind(("::1", 0))
        finally:
            sock.close()
    except OSError:
        return False
    return True


def run_client(*args: str, timeout: float = 60, cwd: Optional[str] = None):
    """Run ``python -m interop_client ARGS`` with src/ on PYTHONPATH (no installation)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTHONIOENCODING", None)
    return subprocess.run(
        [sys.executable, "-m", "interop_client"] + list(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=timeout,
        env=env,
        cwd=cwd,
    )
