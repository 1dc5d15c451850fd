"""Small test servers implementing the server side of docs/PROTOCOL.md (§2, §3, §10), with faults.

Each server listens on an ephemeral loopback port (or a Unix socket path, or a UDP port), serves
connections on threads, and records what it received so tests can compare it with what the client
says it sent.
"""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import subprocess
import shutil
import sys
import tempfile
import threading
import time
from typing import List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")

MAX_DEFAULT = 16 * 1024 * 1024
# §3.3: what a server at its connection limit, or one that cannot log, sends.
BUSY = b"ERR busy 2 connections open, the most this server serves (--max-connections)"
OUTPUT = b"ERR output writing output: No space left on device (os error 28)"


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
        # time.monotonic() when the server accepted it: tests time a client from here, not
        # from its start-up, which can take seconds on a busy machine.
        self.accepted_at = time.monotonic()
        self.messages: List[bytes] = []
        self.error: Optional[str] = None
        # Deferred acknowledgements (``defer``): whether EOF had been read before the first
        # acknowledgement was sent (None: the server never got that far).
        self.eof_before_acks: Optional[bool] = None
        self.done = threading.Event()


class Server:
    """A test server.

    mode: "raw" or "framed".
    behaviour:
      raw:    "ok" (read to EOF, close), "hang" (accept, never read or close),
              "reset" (read to EOF, then close with a TCP reset), "turn-away" (a server over
              its connection limit, §2: reset at once, unread)
      framed: "ok", "wrong-seq", "wrong-len", "wrong-hash", "bad-second" (wrong hash for
              message 2), "malformed", "long-reply" (1025-byte reply), "err" (always reply ERR),
              "close" (read the frame, close without replying), "hang" (read, never reply),
              "hang-second" (acknowledge message 1, never reply to message 2),
              "output" (ERR output for message 1), "output-second" (for message 2),
              "busy" (a server over its connection limit, §5: ERR busy at once, unread, then
              shut down the write side and close once the client has), "busy-close" (ERR
              busy, then close at once, unread), "busy-reset" (ERR busy, then close unread
              once the client's data has arrived, which resets the connection), "busy-abort"
              (ERR busy, then a reset at once, often before the client sees it connected)
      Framed servers also answer a length over ``max_bytes`` with ERR too-large and close,
      without reading the payload.
    path: listen on this Unix domain stream socket instead of TCP; peers are ``pid:<pid>``
      (SO_PEERCRED), the address is ``unix:<path>``.
    defer: framed mode, send no acknowledgement before ``defer`` frames have arrived; then check
      (for up to ``eof_wait`` seconds) whether the client has already shut down its write side,
      record that as ``eof_before_acks``, and send the deferred acknowledgements at once. A
      stop-and-wait client never gets its first acknowledgement from such a server.
    """

    def __init__(
        self,
        mode: str = "raw",
        behaviour: str = "ok",
        host: str = "127.0.0.1",
        max_bytes: int = MAX_DEFAULT,
        path: Optional[str] = None,
        defer: int = 0,
        eof_wait: float = 0.5,
    ) -> None:
        self.mode = mode
        self.behaviour = behaviour
        self.max_bytes = max_bytes
        self.path = path
        self.defer = defer
        self.eof_wait = eof_wait
        if path is not None:
            self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.listener.bind(path)
        else:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            self.listener = socket.socket(family, socket.SOCK_STREAM)
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.listener.bind((host, 0))
        self.listener.listen(64)
        self.listener.settimeout(0.1)
        self.host = host
        if path is not None:
            self.port = 0
            self.addr = "unix:" + path
        else:
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
        if self.path is not None:
            try:
                os.unlink(self.path)
            except OSError:
                pass
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

    def wait_closed(self, count: int, timeout: float = 10.0) -> None:
        """Wait until ``count`` connections have finished on the server side."""

        def finished() -> bool:
            with self._lock:
                conns = list(self.connections)
            return len(conns) >= count and all(c.done.is_set() for c in conns[:count])

        wait_until(finished, "server connections to finish", timeout)

    def wait_messages(self, count: int, timeout: float = 10.0) -> List[bytes]:
        """Wait until the server has received ``count`` messages in all; return them."""
        wait_until(lambda: len(self.messages()) >= count, "%d messages" % count, timeout)
        return self.messages()

    def connections_so_far(self) -> List[Connection]:
        """The connections accepted from everyone else so far.

        A listener accepts in order, so once a probe connection made now has been accepted,
        every connection made before it (say by a client that has exited) has been too. The
        probe is left out. Unlike a sleep, this holds however slow the machine is.
        """
        if self.path is not None:
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            probe.connect(self.path)
            me = "pid:%d" % os.getpid()
        else:
            probe = socket.create_connection((self.host, self.port), timeout=10)
            me = fmt_addr(probe.getsockname())
        try:
            wait_until(
                lambda: any(c.peer == me for c in list(self.connections)), "the probe connection"
            )
        finally:
            probe.close()
        with self._lock:
            index = next(i for i, c in enumerate(self.connections) if c.peer == me)
            del self.connections[index]
            return self.connections[:index]

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
            if self.path is not None:
                creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
                pid = struct.unpack("3i", creds)[0]
                conn = Connection("pid:%d" % pid, self.addr)
            else:
                # Replies leave at once: with Nagle, an ERR written right after an ACK can still
                # be held back when close() (unread data left) resets the connection, and a
                # pipelining client would never see it.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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
        if self.behaviour == "turn-away":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            return
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

    def _peek_eof(self, sock: socket.socket) -> bool:
        """True if the peer has shut down its write side (EOF is next), within ``eof_wait``."""
        sock.settimeout(self.eof_wait)
        try:
            return sock.recv(1, socket.MSG_PEEK) == b""
        except socket.timeout:
            return False
        finally:
            sock.settimeout(None)

    def _turn_away(self, sock: socket.socket, conn: Connection) -> None:
        sock.sendall(frame(BUSY))
        if self.behaviour == "busy":
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
        elif self.behaviour == "busy-reset":
            sock.recv(1, socket.MSG_PEEK)  # the client's data is there: closing resets
        elif self.behaviour == "busy-abort":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()

    def _serve_framed(self, sock: socket.socket, conn: Connection) -> None:
        if self.behaviour.startswith("busy"):
            self._turn_away(sock, conn)
            return
        seq = 0
        deferred: List[bytes] = []
        while True:
            header = recv_exact(sock, 4)
            if header is None:
                break  # EOF between frames: the normal end (or a truncated header)
            (length,) = struct.unpack(">I", header)
            if length > self.max_bytes:
                sock.sendall(
                    b"".join(deferred) + frame(b"ERR too-large %d > %d" % (length, self.max_bytes))
                )
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
            if seq <= self.defer:
                deferred.append(frame(reply))
                if seq < self.defer and not reply.startswith(b"ERR"):
                    continue
                conn.eof_before_acks = self._peek_eof(sock)
                sock.sendall(b"".join(deferred))
                deferred = []
            else:
                sock.sendall(frame(reply))
            if reply.startswith(b"ERR"):
                break
        sock.close()

    def _reply(self, seq: int, payload: bytes) -> Optional[bytes]:
        return reply_for(self.behaviour, seq, payload)


def reply_for(behaviour: str, seq: int, payload: bytes) -> Optional[bytes]:
    """The reply payload a server with this behaviour sends for a message (None: no reply)."""
    digest = hashlib.sha256(payload).hexdigest().encode()
    length = len(payload)
    b = behaviour
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
    if (b == "output" and seq == 1) or (b == "output-second" and seq == 2):
        return OUTPUT
    return b"ACK %d %d %s" % (seq, length, digest)


class UdpServer:
    """A UDP test server (§10.3): acknowledges each datagram with one datagram.

    behaviour: "ok", "silent" (never replies), or one of the framed reply faults of
    :class:`Server` ("wrong-seq", "wrong-len", "wrong-hash", "bad-second", "malformed",
    "long-reply", "err"). ``seq`` counts each peer address's datagrams from 1.
    """

    def __init__(self, behaviour: str = "ok", host: str = "127.0.0.1") -> None:
        self.behaviour = behaviour
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.addr = fmt_addr(self.sock.getsockname())
        self.datagrams: List[tuple] = []  # (peer address, payload)
        self.received_at: List[float] = []  # time.monotonic() of each datagram
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def __enter__(self) -> "UdpServer":
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def messages(self) -> List[bytes]:
        with self._lock:
            return [payload for _, payload in self.datagrams]

    def peers(self) -> List[str]:
        with self._lock:
            return [peer for peer, _ in self.datagrams]

    def wait_messages(self, count: int, timeout: float = 10.0) -> List[bytes]:
        """Wait until ``count`` datagrams have arrived; return every payload so far."""
        wait_until(lambda: len(self.messages()) >= count, "%d datagrams" % count, timeout)
        return self.messages()

    def messages_so_far(self) -> List[bytes]:
        """The payloads received from everyone else so far: a probe datagram sent now arrives
        after every datagram sent before it (one receive queue, in order); it is left out."""
        probe = socket.socket(self.sock.family, socket.SOCK_DGRAM)
        try:
            probe.connect(self.sock.getsockname()[:2])
            me = fmt_addr(probe.getsockname())
            probe.send(b"probe")
            wait_until(lambda: me in self.peers(), "the probe datagram")
        finally:
            probe.close()
        with self._lock:
            index = next(i for i, (peer, _) in enumerate(self.datagrams) if peer == me)
            del self.datagrams[index]
            del self.received_at[index]
            return [payload for _, payload in self.datagrams[:index]]

    def _loop(self) -> None:
        seqs = {}
        while not self._stop.is_set():
            try:
                payload, peer = self.sock.recvfrom(65508)
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.datagrams.append((fmt_addr(peer), payload))
                self.received_at.append(time.monotonic())
            seqs[peer] = seqs.get(peer, 0) + 1
            if self.behaviour == "silent":
                continue
            reply = reply_for(self.behaviour, seqs[peer], payload)
            if reply is not None:
                self.sock.sendto(reply, peer)


def wait_until(condition, what: str, timeout: float = 10.0) -> None:
    """Wait for ``condition()`` (something another thread or process does), up to ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %s s" % (what, timeout))
        time.sleep(0.01)


def closed_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port that was just free: datagrams to it draw ICMP port unreachable."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class ShortTempDir:
    """A temporary directory with a short path (Unix socket paths hold at most 107 bytes)."""

    def __enter__(self) -> str:
        self.path = tempfile.mkdtemp(prefix="ic-", dir="/tmp" if os.path.isdir("/tmp") else None)
        return self.path

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


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
