"""The accept loop and the two per-connection protocols over stream sockets (PROTOCOL.md §2, §3, §5,
§10.2, §11), on asyncio.

Invariants, as in the Rust server:

- A connection permit is taken *before* ``accept``, so at most ``max_connections`` are served and
  the rest wait in the kernel's backlog.
- A frame's length is checked against the maximum before its payload is read; a raw message stops
  at the maximum. Memory is bounded by ``max_connections x max_message_bytes``.
- A connection's events are: ``connected``, its ``message`` events, then exactly one of ``closed``
  or ``error``. Nothing is logged for a partial message.
- Framed: a message is logged before its ACK is written, so an acknowledged message is in the log.
- Any exception on a connection becomes that connection's ``error`` event; the server goes on.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Optional, Set

from . import wire
from .output import Printer

READ_CHUNK = 64 * 1024
SHUTDOWN_GRACE = 5.0
ERR_DRAIN_SECONDS = 1.0
CLOSE_SECONDS = 1.0


class Config:
    """How the server behaves; see ``--help``."""

    def __init__(
        self,
        mode: str = "raw",
        max_message_bytes: int = wire.DEFAULT_MAX_MESSAGE_BYTES,
        max_connections: int = 1024,
        idle_timeout_ms: int = 60000,
        shutdown_grace: float = SHUTDOWN_GRACE,
    ) -> None:
        self.mode = mode
        self.max_message_bytes = max_message_bytes
        self.max_connections = max_connections
        self.idle_timeout_ms = idle_timeout_ms
        self.shutdown_grace = shutdown_grace

    @property
    def idle_timeout(self) -> float:
        return self.idle_timeout_ms / 1000.0


class ConnectionFailed(Exception):
    """Ends a connection with an ``error`` event carrying this text; ``reset`` closes it with a
    TCP reset, the only way raw mode has to tell the client that its message was refused."""

    def __init__(self, text: str, reset: bool = False) -> None:
        super().__init__(text)
        self.reset = reset


class _TooLarge(Exception):
    """A length prefix over the maximum (answered with ``ERR too-large``)."""

    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.length = length


def peer_of(sock: socket.socket, sockaddr: object) -> str:
    """How a connection's peer is printed: ``ip:port``, ``[ip]:port`` or ``pid:<pid>`` (§10.2)."""
    if sock.family == socket.AF_UNIX:
        try:
            creds = sock.getsockopt(
                socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")  # type: ignore[attr-defined]
            )
            pid = struct.unpack("3i", creds)[0]
            return "pid:%d" % pid
        except (OSError, AttributeError, struct.error):
            return "pid:unknown"
    return wire.addr_string(sockaddr)


class StreamServer:
    """Serves a listening TCP or Unix stream socket until :meth:`stop` is called."""

    def __init__(self, listener: socket.socket, local: str, config: Config, printer: Printer):
        self.listener = listener
        self.local = local  # the printed address of our end: ip:port or unix:PATH
        self.config = config
        self.printer = printer
        self.tasks: Set["asyncio.Task[None]"] = set()
        self.next_conn = 1

    async def run(self, stop: asyncio.Event) -> None:
        """Accepts until ``stop`` is set, then lets connections finish for the grace period."""
        permits = asyncio.Semaphore(self.config.max_connections)
        accepting = asyncio.ensure_future(self._accept_loop(permits))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait([accepting, stopping], return_when=asyncio.FIRST_COMPLETED)
        for task in (accepting, stopping):
            task.cancel()
        done = await asyncio.gather(accepting, stopping, return_exceptions=True)
        if isinstance(done[0], Exception):  # a bug: say so, then shut down as for a signal
            self.printer.error(None, None, "accept loop failed: %s" % wire.describe(done[0]))
        try:
            self.listener.close()
        except OSError:
            pass
        await self._drain_connections()

    async def _drain_connections(self) -> None:
        if not self.tasks:
            return
        _, pending = await asyncio.wait(set(self.tasks), timeout=self.config.shutdown_grace)
        if pending:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            self.printer.error(
                None,
                None,
                "shutdown: closed %d connection(s) still open after %d ms"
                % (len(pending), int(self.config.shutdown_grace * 1000)),
            )

    async def _accept_loop(self, permits: asyncio.Semaphore) -> None:
        loop = asyncio.get_running_loop()
        backoff = 1.0
        while True:
            await permits.acquire()
            try:
                sock, sockaddr = await loop.sock_accept(self.listener)
            except (asyncio.CancelledError, KeyboardInterrupt):
                permits.release()
                raise
            except OSError as exc:
                permits.release()
                # Out of file descriptors and the like: say so, then back off rather than spin.
                self.printer.error(None, None, "accept failed: %s" % wire.describe(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 64.0)
                continue
            backoff = 1.0
            conn = self.next_conn
            self.next_conn += 1
            task = asyncio.ensure_future(self._serve(sock, sockaddr, conn, permits))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _serve(
        self, sock: socket.socket, sockaddr: object, conn: int, permits: asyncio.Semaphore
    ) -> None:
        """Runs one connection to its end, reports how it ended, and closes it."""
        writer: Optional[asyncio.StreamWriter] = None
        peer = "?"
        try:
            try:
                peer = peer_of(sock, sockaddr)
                if sock.family == socket.AF_UNIX:
                    local = self.local
                else:
                    local = wire.addr_string(sock.getsockname())
                    # Acks are small writes answered by the client's next frame: no Nagle delay.
                    try:
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    except OSError:
                        pass
                self.printer.connected(conn, peer, local)
                if sock.family == socket.AF_UNIX:
                    reader, writer = await asyncio.open_unix_connection(
                        sock=sock, limit=READ_CHUNK
                    )
                else:
                    reader, writer = await asyncio.open_connection(sock=sock, limit=READ_CHUNK)
                if self.config.mode == "framed":
                    messages = await self._framed(reader, writer, conn, peer)
                else:
                    messages = await self._raw(reader, writer, conn, peer)
            except ConnectionFailed as exc:
                self.printer.error(conn, peer, str(exc))
                if exc.reset and writer is not None:
                    _reset(sock, writer)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never let one connection take the server down
                self.printer.error(conn, peer, "internal error: %s" % wire.describe(exc))
            else:
                self.printer.closed(conn, peer, messages)
            await _close(writer, sock)
        except asyncio.CancelledError:
            # Shutdown grace expired: the connection is cut off (reported once, by run()).
            self.printer.forget(conn)
            if writer is not None:
                writer.transport.abort()
            else:
                _close_quietly(sock)
            raise
        finally:
            permits.release()

    # -- raw mode (§2) ---------------------------------------------------------------------

    async def _raw(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: int, peer: str
    ) -> int:
        """The message is everything up to EOF. Returns the number of messages (always 1)."""
        limit = self.config.max_message_bytes
        message = bytearray()
        while True:
            try:
                chunk = await asyncio.wait_for(reader.read(READ_CHUNK), self.config.idle_timeout)
            except asyncio.TimeoutError:
                raise ConnectionFailed(self._idle_error(len(message)))
            except (OSError, EOFError) as exc:
                raise ConnectionFailed(
                    "read failed after %d bytes: %s" % (len(message), wire.describe(exc))
                )
            if not chunk:
                break
            if len(message) + len(chunk) > limit:
                raise ConnectionFailed("message too large: more than %d bytes" % limit, reset=True)
            message += chunk
        self.printer.message(conn, peer, 1, bytes(message))
        # Closing is the only answer raw mode has; shut down the write side politely first.
        _write_eof(writer)
        return 1

    # -- framed mode (§3, §11) -------------------------------------------------------------

    async def _framed(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: int, peer: str
    ) -> int:
        """Reads frames until EOF between frames, logging then acknowledging each."""
        seq = 0
        while True:
            try:
                payload = await asyncio.wait_for(
                    self._read_frame(reader, seq + 1), self.config.idle_timeout
                )
            except asyncio.TimeoutError:
                raise ConnectionFailed(self._idle_error(0))
            except _TooLarge as exc:
                await self._refuse(reader, writer, exc.length)
                raise ConnectionFailed(
                    "frame %d too large: %d bytes > maximum %d"
                    % (seq + 1, exc.length, self.config.max_message_bytes)
                )
            if payload is None:
                return seq
            seq += 1
            self.printer.message(conn, peer, seq, payload)
            try:
                writer.write(wire.frame(wire.ack_text(seq, payload)))
                # A peer that never reads its acks is stalled just like one that never writes.
                await asyncio.wait_for(writer.drain(), self.config.idle_timeout)
            except asyncio.TimeoutError:
                raise ConnectionFailed(
                    "writing ack %d failed: timed out after %d ms"
                    % (seq, self.config.idle_timeout_ms)
                )
            except (OSError, EOFError) as exc:
                raise ConnectionFailed("writing ack %d failed: %s" % (seq, wire.describe(exc)))

    async def _read_frame(self, reader: asyncio.StreamReader, number: int) -> Optional[bytes]:
        """The next frame's payload, or None at EOF exactly between frames."""
        try:
            header = await reader.readexactly(wire.HEADER_LEN)
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                return None
            raise ConnectionFailed(
                "frame %d: truncated frame: expected %d length-prefix bytes, got %d"
                % (number, wire.HEADER_LEN, len(exc.partial))
            )
        except (OSError, EOFError) as exc:
            raise ConnectionFailed("frame %d: %s" % (number, wire.describe(exc)))
        length = wire.frame_length(header)
        if length > self.config.max_message_bytes:
            raise _TooLarge(length)
        try:
            return await reader.readexactly(length)
        except asyncio.IncompleteReadError as exc:
            raise ConnectionFailed(
                "frame %d: truncated frame: expected %d payload bytes, got %d"
                % (number, length, len(exc.partial))
            )
        except (OSError, EOFError) as exc:
            raise ConnectionFailed("frame %d: %s" % (number, wire.describe(exc)))

    async def _refuse(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, length: int
    ) -> None:
        """Sends ``ERR too-large``, shuts down our side, and drains input for up to a second so
        that closing does not reset the connection and destroy the reply before it is read."""
        reply = wire.err_text(wire.ERR_TOO_LARGE, "%d > %d" % (length, self.config.max_message_bytes))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ERR_DRAIN_SECONDS
        try:
            writer.write(wire.frame(reply))
            _write_eof(writer)
            await asyncio.wait_for(writer.drain(), ERR_DRAIN_SECONDS)
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                data = await asyncio.wait_for(reader.read(READ_CHUNK), remaining)
                if not data:
                    break
        except (asyncio.TimeoutError, OSError, EOFError):
            pass

    def _idle_error(self, pending: int) -> str:
        return "idle timeout: nothing completed for %d ms (%d bytes pending)" % (
            self.config.idle_timeout_ms,
            pending,
        )


def _write_eof(writer: asyncio.StreamWriter) -> None:
    try:
        if writer.can_write_eof() and not writer.transport.is_closing():
            writer.write_eof()
    except (OSError, RuntimeError):
        pass


def _reset(sock: socket.socket, writer: asyncio.StreamWriter) -> None:
    """Closes at once with a reset (SO_LINGER 0) instead of an orderly FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()


def _close_quietly(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass


async def _close(writer: Optional[asyncio.StreamWriter], sock: socket.socket) -> None:
    """Closes a connection, giving buffered output a moment to leave, then cutting it off."""
    if writer is None:
        _close_quietly(sock)
        return
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), CLOSE_SECONDS)
    except asyncio.CancelledError:
        writer.transport.abort()
        raise
    except Exception:
        writer.transport.abort()
