"""UDP: one datagram per message, each acknowledged by one datagram (PROTOCOL.md §10.3).

A datagram is received into a buffer of 65,508 bytes, one more than the largest IPv4 payload: one
that fills it was truncated by the kernel, and is an error, never a message, never acknowledged.
The first datagram from a new peer address gets a ``connected`` event and a connection number;
``seq`` counts that peer's datagrams from 1. There is no close, so no ``closed`` events.

Log, then acknowledge: a datagram whose record cannot be written gets no ACK, and the server stops
(the command line then exits 3).
"""

from __future__ import annotations

import asyncio
import socket
from typing import Dict

from . import wire
from .output import OutputFailed, Printer

#: Datagrams handled per wake-up before other work gets a turn.
BATCH = 64


class _Peer:
    def __init__(self, conn: int) -> None:
        self.conn = conn
        self.seq = 0


class UdpServer:
    """Serves a bound UDP socket until ``stop`` is set."""

    def __init__(self, sock: socket.socket, local: str, max_message_bytes: int, printer: Printer):
        self.sock = sock
        self.local = local
        self.max_message_bytes = max_message_bytes
        self.printer = printer
        self.peers: Dict[str, _Peer] = {}
        self.next_conn = 1

    async def run(self, stop: asyncio.Event) -> None:
        """Serves until ``stop`` is set or stdout fails."""
        loop = asyncio.get_running_loop()
        failed = asyncio.Event()
        self.printer.on_failure = lambda _reason: failed.set()
        if self.printer.failure is not None:
            return
        self.sock.setblocking(False)
        loop.add_reader(self.sock.fileno(), self._readable)
        try:
            stopping = asyncio.ensure_future(stop.wait())
            failing = asyncio.ensure_future(failed.wait())
            await asyncio.wait([stopping, failing], return_when=asyncio.FIRST_COMPLETED)
            for task in (stopping, failing):
                task.cancel()
        finally:
            loop.remove_reader(self.sock.fileno())

    def _readable(self) -> None:
        for _ in range(BATCH):
            if self.printer.failure is not None:
                return  # stopping: nothing more is logged, so nothing more is acknowledged
            try:
                data, sockaddr = self.sock.recvfrom(wire.UDP_RECV_BUFFER)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # E.g. an ICMP error queued by an earlier send: report it and wait for more.
                self.printer.error(None, None, "receive failed: %s" % wire.describe(exc))
                return
            try:
                self._datagram(data, sockaddr)
            except OutputFailed:
                return  # not logged, so not acknowledged
            except Exception as exc:  # never let one datagram take the server down
                self.printer.error(
                    None, wire.addr_string(sockaddr), "internal error: %s" % wire.describe(exc)
                )

    def _datagram(self, data: bytes, sockaddr: object) -> None:
        peer = wire.addr_string(sockaddr)
        if len(data) >= wire.UDP_RECV_BUFFER:
            self.printer.error(
                None,
                peer,
                "datagram truncated: more than %d bytes (the UDP maximum)" % wire.UDP_MAX_PAYLOAD,
            )
            return
        if len(data) > self.max_message_bytes:
            self.printer.error(
                None,
                peer,
                "datagram too large: %d bytes > maximum %d" % (len(data), self.max_message_bytes),
            )
            return
        state = self.peers.get(peer)
        if state is None:
            state = _Peer(self.next_conn)
            self.next_conn += 1
            self.peers[peer] = state
            self.printer.connected(state.conn, peer, self.local)
        state.seq += 1
        # Log, then acknowledge: raises OutputFailed (and no ACK) if the record is not written.
        self.printer.message(state.conn, peer, state.seq, data)
        try:
            self.sock.sendto(wire.ack_text(state.seq, data), sockaddr)
        except OSError as exc:
            self.printer.error(
                None, peer, "sending ack %d failed: %s" % (state.seq, wire.describe(exc))
            )

