"""The accept loop and the two per-connection protocols over stream sockets (PROTOCOL.md §2, §3, §5,
§10.2, §11), on asyncio.

Invariants:

- At most ``max_connections`` connections are served. Every connection is accepted; one over the
  limit is turned away at once without reading a message from it (framed: ``ERR busy``, raw: a
  reset), holds no slot and has no events; the server logs a ``busy`` error event at most once a
  second. At most :data:`MAX_TURNING_AWAY` turned-away connections are open at a time; while that
  many are, nothing is accepted.
- A frame's length is checked against the maximum before its payload is read; a raw message stops
  at the maximum. Memory is bounded by ``max_connections x max_message_bytes``.
- A connection's events are: ``connected``, its ``message`` events, then exactly one of ``closed``
  or ``error`` (also when it is cut off at shutdown). Nothing is logged for a partial message.
- Log, then acknowledge: a message's record is written and flushed before its ACK is written (or,
  raw, before the orderly close). When the record cannot be written, the message gets no ACK: every
  open framed connection gets ``ERR output``, every raw one a reset, and the server stops (the
  command line then exits 3).
- Any exception on a connection becomes that connection's ``error`` event; the server goes on.

The server never relies on cancelling a connection's task to end it: with Python 3.11's
``asyncio.wait_for``, a cancel that races a completed read is lost. Every wait of a connection goes
through :meth:`StreamServer._io`, which also wakes on the connection's ``interrupted`` future; at
the end of the shutdown grace period the server resolves it and resets the socket, so the task
ends at its next wait whatever it was doing.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any, Awaitable, Dict, List, Optional, Set, TypeVar

from . import wire
from .output import OutputFailed, Printer

READ_CHUNK = 64 * 1024
SHUTDOWN_GRACE = 5.0
ERR_DRAIN_SECONDS = 1.0
CLOSE_SECONDS = 1.0
#: After stdout failed: how long connections get to read their ``ERR output`` (and we to drain
#: their input) before everything is cut off. The whole stop must take less than a second.
OUTPUT_STOP_SECONDS = 0.5
#: After the grace period (or the output stop): how long the cut connections' tasks get to end.
CUT_SECONDS = 0.3
#: Most turned-away (``ERR busy``) connections open at a time.
MAX_TURNING_AWAY = 64
#: At most one ``busy`` event per this many seconds.
BUSY_LOG_SECONDS = 1.0

#: Why the server ends a connection (:class:`Interrupted`).
SHUTDOWN = "shutdown"
OUTPUT = "output"

T = TypeVar("T")


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



class Interrupted(Exception):
    """The server ends this connection: ``reason`` is :data:`SHUTDOWN` (the grace period is over)
    or :data:`OUTPUT` (stdout cannot be written)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Conn:
    """One served connection: its socket, its streams once open, and how the server ends it."""

    def __init__(self, conn: int, sock: socket.socket, sockaddr: object) -> None:
        self.conn = conn
        self.sock = sock
        self.sockaddr = sockaddr
        self.peer = "?"
        self.reader: Optional[asyncio.StreamReader] = None
        self.writer: Optional[asyncio.StreamWriter] = None
        self.task: Optional["asyncio.Task[None]"] = None
        #: Its ``closed`` or ``error`` event has been logged (there is exactly one).
        self.reported = False
        #: Counts against --max-connections (until its end is logged or it is gone).
        self.holds_slot = True
        #: Resolved, with the reason, when the server ends the connection.
        self.interrupted: "asyncio.Future[str]" = asyncio.get_running_loop().create_future()

    def interrupt(self, reason: str) -> None:
        if not self.interrupted.done():
            self.interrupted.set_result(reason)

    def reset(self) -> None:
        """Closes at once with a reset (SO_LINGER 0), never with an orderly FIN."""
        _set_linger_zero(self.sock)
        if self.writer is not None:
            self.writer.transport.abort()
        else:
            _close_quietly(self.sock)


class StreamServer:
    """Serves a listening TCP or Unix stream socket until ``stop`` is set or stdout fails."""

    def __init__(self, listener: socket.socket, local: str, config: Config, printer: Printer):
        self.listener = listener
        self.local = local  # the printed address of our end: ip:port or unix:PATH
        self.config = config
        self.printer = printer
        self.conns: Dict[int, _Conn] = {}
        #: Connections counting against --max-connections: served, their end not yet logged.
        self.slots_used = 0
        self.next_conn = 1
        # Turned-away connections still open (framed: reading until the client closes).
        self.turning_away: Dict["asyncio.Future[None]", socket.socket] = {}
        self._busy_unlogged = 0
        self._busy_logged_at: Optional[float] = None
        self._busy_timer: Optional[asyncio.TimerHandle] = None
        self._output_deadline = 0.0
        # Created in run(), on the running loop (Python 3.8's asyncio.Event binds a loop).
        self._output_failed: Optional[asyncio.Event] = None
        self._room: Optional[asyncio.Event] = None

    # -- the server's life -----------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Accepts until ``stop`` is set (then serves open connections for the grace period and
        cuts off the rest) or until stdout fails (then ends every connection within a second)."""
        loop = asyncio.get_running_loop()
        self._output_failed = asyncio.Event()
        self._room = asyncio.Event()
        self.printer.on_failure = self._on_output_failure
        if self.printer.failure is not None:
            self._on_output_failure(self.printer.failure)
        accepting = asyncio.ensure_future(self._accept_loop())
        stopping = asyncio.ensure_future(stop.wait())
        failing = asyncio.ensure_future(self._output_failed.wait())
        await asyncio.wait([accepting, stopping, failing], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        await self._stop_accepting(accepting)
        if not failing.done():
            await self._grace(failing, loop.time() + self.config.shutdown_grace)
        if failing.done():
            await self._stop_for_output()
        else:
            failing.cancel()
            self._log_busy()
            await self._cut_off()
        await self._close_turned_away()

    def _on_output_failure(self, _reason: str) -> None:
        """Called by the printer, at once, when a record cannot be written."""
        assert self._output_failed is not None
        if not self._output_failed.is_set():
            self._output_deadline = asyncio.get_running_loop().time() + OUTPUT_STOP_SECONDS
            self._output_failed.set()

    async def _stop_accepting(self, accepting: "asyncio.Future[None]") -> None:
        accepting.cancel()
        # The accept loop's waits are plain awaits (no wait_for): the cancel lands at once.
        await asyncio.wait([accepting], timeout=1.0)
        if accepting.done() and not accepting.cancelled() and accepting.exception() is not None:
            # A bug: say so, then shut down as for a signal.
            error = accepting.exception()
            assert error is not None
            self.printer.error(None, None, "accept loop failed: %s" % wire.describe(error))
        _close_quietly(self.listener)

    async def _grace(self, failing: "asyncio.Future[bool]", deadline: float) -> None:
        """Serves the open connections until they end, the deadline passes or stdout fails."""
        loop = asyncio.get_running_loop()
        while self.conns and not failing.done():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            waits: Set["asyncio.Future[Any]"] = {failing}
            waits.update(c.task for c in self.conns.values() if c.task is not None)
            await asyncio.wait(waits, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)

    async def _cut_off(self) -> None:
        """The grace period is over: resets every connection still open; each not yet ended gets
        its own ``error`` event, then one event without ``conn`` counts them."""
        conns = list(self.conns.values())
        if not conns:
            return
        grace_ms = int(self.config.shutdown_grace * 1000)
        cut = sum(1 for c in conns if not c.reported)
        for c in conns:
            c.interrupt(SHUTDOWN)
            if c.writer is not None:
                # Pending reads see the end, pending writes fail: the task ends at once. (Without
                # a writer, the task is opening its streams and sees the interruption next.)
                c.reset()
        await self._finish(conns, "shutdown: cut off after the %d ms grace period" % grace_ms)
        if cut:
            self.printer.error(
                None,
                None,
                "shutdown: closed %d connection(s) still open after %d ms" % (cut, grace_ms),
            )

    async def _stop_for_output(self) -> None:
        """stdout failed: framed connections get ``ERR output``, raw ones a reset (each task does
        its own, see :meth:`_end_for_output`); what is left after a moment is reset."""
        conns = list(self.conns.values())
        for c in conns:
            c.interrupt(OUTPUT)
        if conns:
            remaining = self._output_deadline - asyncio.get_running_loop().time()
            await asyncio.wait(
                [c.task for c in conns if c.task is not None], timeout=max(remaining, 0) + 0.05
            )
            for c in conns:
                if c.task is not None and not c.task.done():
                    c.reset()
            await self._finish(conns, None)

    async def _finish(self, conns: List[_Conn], cut_error: Optional[str]) -> None:
        """Waits a moment for the connections' tasks to end, then reports and resets what is
        left and cancels it, repeatedly, without waiting for more than :data:`CUT_SECONDS`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CUT_SECONDS
        while True:
            pending = [c for c in conns if c.task is not None and not c.task.done()]
            remaining = deadline - loop.time()
            if not pending or remaining <= 0:
                break
            await asyncio.wait([c.task for c in pending], timeout=min(remaining, 0.1))
            for c in pending:
                if c.task is not None and not c.task.done():
                    c.reset()
                    c.task.cancel()
        for c in conns:
            if cut_error is not None:
                self._end(c, error=cut_error)
            if c.task is not None and not c.task.done():
                c.reset()
            self._release(c)
            self.conns.pop(c.conn, None)

    # -- accepting -------------------------------------------------------------------------

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._room is not None
        backoff = 1.0
        while True:
            while len(self.turning_away) >= MAX_TURNING_AWAY:
                # Bounded cost under a flood: the rest wait in the backlog.
                self._room.clear()
                await self._room.wait()
            try:
                sock, sockaddr = await loop.sock_accept(self.listener)
            except OSError as exc:
                # Out of file descriptors and the like: say so, then back off rather than spin.
                self.printer.error(None, None, "accept failed: %s" % wire.describe(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 64.0)
                continue
            backoff = 1.0
            if self.slots_used >= self.config.max_connections:
                self._turn_away(sock)
                continue
            c = _Conn(self.next_conn, sock, sockaddr)
            self.next_conn += 1
            self.conns[c.conn] = c
            self.slots_used += 1
            c.task = asyncio.ensure_future(self._serve(c))

    # -- turning away over --max-connections (§5) ------------------------------------------

    def _turn_away(self, sock: socket.socket) -> None:
        self._busy_unlogged += 1
        if self._busy_timer is None:
            loop = asyncio.get_running_loop()
            due = 0.0 if self._busy_logged_at is None else self._busy_logged_at + BUSY_LOG_SECONDS
            if loop.time() >= due:
                self._log_busy()
            else:
                self._busy_timer = loop.call_at(due, self._log_busy)
        if self.config.mode != "framed":
            # Raw mode's only "no": a reset, never the orderly close that means "recorded".
            _set_linger_zero(sock)
            _close_quietly(sock)
            return
        task = asyncio.ensure_future(self._refuse_busy(sock))
        self.turning_away[task] = sock
        task.add_done_callback(self._turned_away)

    def _turned_away(self, task: "asyncio.Future[None]") -> None:
        sock = self.turning_away.pop(task, None)
        if sock is not None:
            _close_quietly(sock)
        if self._room is not None:
            self._room.set()

    async def _refuse_busy(self, sock: socket.socket) -> None:
        """``ERR busy``, shut down our side, then read (and discard) until the client closes,
        for at most a second, so that our close does not reset the reply away."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ERR_DRAIN_SECONDS
        reply = wire.err_text(
            wire.ERR_BUSY,
            "%d connections open, the most this server serves (--max-connections)"
            % self.config.max_connections,
        )
        try:
            await asyncio.wait_for(loop.sock_sendall(sock, wire.frame(reply)), ERR_DRAIN_SECONDS)
            sock.shutdown(socket.SHUT_WR)
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                data = await asyncio.wait_for(loop.sock_recv(sock, READ_CHUNK), remaining)
                if not data:
                    break
        except (asyncio.TimeoutError, OSError):
            pass

    def _log_busy(self) -> None:
        """One ``busy`` event counting the connections turned away since the last one."""
        self._busy_timer = None
        if self._busy_unlogged:
            count, self._busy_unlogged = self._busy_unlogged, 0
            self._busy_logged_at = asyncio.get_running_loop().time()
            self.printer.error(
                None,
                None,
                "busy: turned away %d connection(s) over --max-connections %d"
                % (count, self.config.max_connections),
            )

    async def _close_turned_away(self) -> None:
        if self._busy_timer is not None:
            self._busy_timer.cancel()
            self._busy_timer = None
        tasks = list(self.turning_away)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=0.1)
        for task, sock in list(self.turning_away.items()):
            _close_quietly(sock)
            self.turning_away.pop(task, None)

    # -- one connection --------------------------------------------------------------------

    async def _io(self, c: _Conn, awaitable: Awaitable[T], timeout: Optional[float]) -> T:
        """Awaits ``awaitable`` for at most ``timeout`` seconds (then raises
        ``asyncio.TimeoutError``), or until the server ends the connection (then raises
        :class:`Interrupted`), whichever comes first. Unlike ``asyncio.wait_for`` in Python
        3.11, an interruption is never lost to a read that completes at the same moment."""
        if c.interrupted.done():
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            raise Interrupted(c.interrupted.result())
        inner = asyncio.ensure_future(awaitable)
        try:
            await asyncio.wait(
                [inner, c.interrupted], timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        except BaseException:
            await _cancel(inner)
            raise
        if c.interrupted.done():
            await _cancel(inner)
            raise Interrupted(c.interrupted.result())
        if not inner.done():
            await _cancel(inner)
            raise asyncio.TimeoutError()
        return inner.result()

    def _end(self, c: _Conn, error: Optional[str] = None, messages: int = 0) -> None:
        """Logs the connection's one ``closed`` or ``error`` event (only the first call does)."""
        if c.reported:
            return
        c.reported = True
        # A client that reads this event may connect again at once and must find the slot free
        # (closing, at most CLOSE_SECONDS more, is bounded and needs no slot).
        self._release(c)
        if error is None:
            self.printer.closed(c.conn, c.peer, messages)
        else:
            self.printer.error(c.conn, c.peer, error)

    def _release(self, c: _Conn) -> None:
        if c.holds_slot:
            c.holds_slot = False
            self.slots_used -= 1

    async def _serve(self, c: _Conn) -> None:
        """Runs one connection to its end, reports how it ended, and closes it."""
        try:
            await self._serve_connection(c)
        except asyncio.CancelledError:
            # The last resort at the very end; the server has reported the connection.
            c.reset()
            raise
        finally:
            self._release(c)
            self.conns.pop(c.conn, None)

    async def _serve_connection(self, c: _Conn) -> None:
        sock = c.sock
        try:
            c.peer = peer_of(sock, c.sockaddr)
            if sock.family == socket.AF_UNIX:
                local = self.local
            else:
                local = wire.addr_string(sock.getsockname())
                # Acks are small writes answered by the client's next frame: no Nagle delay.
                try:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError:
                    pass
            self.printer.connected(c.conn, c.peer, local)
            if sock.family == socket.AF_UNIX:
                reader, writer = await asyncio.open_unix_connection(sock=sock, limit=READ_CHUNK)
            else:
                reader, writer = await asyncio.open_connection(sock=sock, limit=READ_CHUNK)
            c.reader, c.writer = reader, writer
            if self.config.mode == "framed":
                messages = await self._framed(c, reader, writer)
            else:
                messages = await self._raw(c, reader, writer)
        except OutputFailed:
            await self._end_for_output(c)
            return
        except Exception as exc:  # never let one connection take the server down
            if isinstance(exc, Interrupted) or c.interrupted.done():
                # Ended by the server (an error seen after it reset the socket counts as that).
                reason = exc.reason if isinstance(exc, Interrupted) else c.interrupted.result()
                if reason == OUTPUT:
                    await self._end_for_output(c)
                else:
                    grace_ms = int(self.config.shutdown_grace * 1000)
                    self._end(c, error="shutdown: cut off after the %d ms grace period" % grace_ms)
                    c.reset()
                return
            if isinstance(exc, ConnectionFailed):
                self._end(c, error=str(exc))
            else:
                self._end(c, error="internal error: %s" % wire.describe(exc))
            # Raw mode recorded nothing, and its orderly close would say it had (§2).
            if self.config.mode == "raw" or (isinstance(exc, ConnectionFailed) and exc.reset):
                c.reset()
        else:
            self._end(c, messages=messages)
        await _close(c)

    async def _end_for_output(self, c: _Conn) -> None:
        """stdout failed: no ACK for what we hold. Framed: ``ERR output`` and close as for
        ``too-large``, until the stop's deadline; raw: a reset (the message is not recorded)."""
        self.printer.forget(c.conn)
        writer = c.writer
        if writer is None or c.reader is None or self.config.mode != "framed":
            c.reset()
            return
        reply = wire.err_text(wire.ERR_OUTPUT, "writing output: %s" % self.printer.failure)
        await _refuse(c.reader, writer, reply, self._output_deadline)
        writer.transport.abort()

    # -- raw mode (§2) ---------------------------------------------------------------------

    async def _raw(
        self, c: _Conn, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> int:
        """The message is everything up to EOF. Returns the number of messages (always 1)."""
        limit = self.config.max_message_bytes
        message = bytearray()
        while True:
            try:
                chunk = await self._io(c, reader.read(READ_CHUNK), self.config.idle_timeout)
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
        # Raises OutputFailed if the record is not written: then there is no orderly close.
        self.printer.message(c.conn, c.peer, 1, bytes(message))
        # Closing is the only answer raw mode has; shut down the write side politely first.
        _write_eof(writer)
        return 1

    # -- framed mode (§3, §11) -------------------------------------------------------------

    async def _framed(
        self, c: _Conn, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> int:
        """Reads frames until EOF between frames, logging then acknowledging each."""
        seq = 0
        while True:
            try:
                payload = await self._io(
                    c, self._read_frame(reader, seq + 1), self.config.idle_timeout
                )
            except asyncio.TimeoutError:
                raise ConnectionFailed(self._idle_error(0))
            except _TooLarge as exc:
                reply = wire.err_text(
                    wire.ERR_TOO_LARGE, "%d > %d" % (exc.length, self.config.max_message_bytes)
                )
                deadline = asyncio.get_running_loop().time() + ERR_DRAIN_SECONDS
                await self._io(c, _refuse(reader, writer, reply, deadline), None)
                raise ConnectionFailed(
                    "frame %d too large: %d bytes > maximum %d"
                    % (seq + 1, exc.length, self.config.max_message_bytes)
                )
            if payload is None:
                return seq
            seq += 1
            # Log, then acknowledge: raises OutputFailed (no ACK) if the record is not written.
            self.printer.message(c.conn, c.peer, seq, payload)
            try:
                writer.write(wire.frame(wire.ack_text(seq, payload)))
                # A peer that never reads its acks is stalled just like one that never writes.
                await self._io(c, writer.drain(), self.config.idle_timeout)
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

    def _idle_error(self, pending: int) -> str:
        return "idle timeout: nothing completed for %d ms (%d bytes pending)" % (
            self.config.idle_timeout_ms,
            pending,
        )


async def _refuse(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, reply: bytes, deadline: float
) -> None:
    """Sends the ``ERR`` reply, shuts down our side, and drains input until the client closes or
    ``deadline`` passes, so that closing does not reset the connection and destroy the reply
    before it is read."""
    loop = asyncio.get_running_loop()
    try:
        writer.write(wire.frame(reply))
        _write_eof(writer)
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await asyncio.wait_for(writer.drain(), remaining)
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            data = await asyncio.wait_for(reader.read(READ_CHUNK), remaining)
            if not data:
                break
    except (asyncio.TimeoutError, OSError, EOFError, RuntimeError):
        pass


async def _cancel(task: "asyncio.Future[Any]") -> None:
    """Cancels an inner wait of :meth:`StreamServer._io` and lets it unwind (a stream allows one
    pending read at a time), without waiting long for it."""
    if not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=1.0)
    if task.done() and not task.cancelled():
        task.exception()  # retrieved: no "exception was never retrieved" at exit


def _write_eof(writer: asyncio.StreamWriter) -> None:
    try:
        if writer.can_write_eof() and not writer.transport.is_closing():
            writer.write_eof()
    except (OSError, RuntimeError):
        pass


def _set_linger_zero(sock: socket.socket) -> None:
    """Makes the next close a reset (SO_LINGER on, 0 s) instead of an orderly FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass


def _close_quietly(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass


async def _close(c: _Conn) -> None:
    """Closes a connection, giving buffered output a moment to leave, then cutting it off."""
    writer = c.writer
    if writer is None:
        _close_quietly(c.sock)
        return
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), CLOSE_SECONDS)
    except asyncio.CancelledError:
        writer.transport.abort()
        raise
    except Exception:
        writer.transport.abort()
