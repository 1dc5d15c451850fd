"""Framed mode (PROTOCOL.md §3) and pipelining / half-close (§11)."""

from __future__ import annotations

import os
import socket
import struct
import threading
import time

import pytest

from serverproc import WAIT, Server, ack, frame, messages, position, read_frame, read_to_eof, sha


def framed(*args: str) -> Server:
    return Server("--mode", "framed", *args)


def test_acks_empty_frames_and_protocol_md_vectors():
    with framed() as server:
        sock = server.connect()
        sock.sendall(b"\x00\x00\x00\x03abc")
        reply = read_frame(sock)
        assert reply == b"ACK 1 3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        assert len(reply) == 0x48
        sock.sendall(b"\x00\x00\x00\x00")
        assert read_frame(sock) == ack(2, b"")
        sock.sendall(frame(b"Hello SocketServer!!!"))
        assert read_frame(sock) == (
            b"ACK 3 21 30836f56b786ee37cf464bfe65b7728a5853395d9225e2bfd76f06ae68bd5807"
        )
        sock.shutdown(socket.SHUT_WR)
        assert read_to_eof(sock) == b""
        sock.close()
        events = server.conn_events(1)
        assert [e["event"] for e in events] == ["connected"] + ["message"] * 3 + ["closed"]
        assert [(m["seq"], m["len"], m["text"]) for m in messages(events)] == [
            (1, 3, "abc"),
            (2, 0, ""),
            (3, 21, "Hello SocketServer!!!"),
        ]
        assert events[-1]["messages"] == 3


def test_three_frames_in_one_write_and_a_frame_split_everywhere():
    payloads = [b"one", b"", b"three"]
    with framed() as server:
        sock = server.connect()
        sock.sendall(b"".join(frame(p) for p in payloads))
        assert [read_frame(sock) for _ in payloads] == [ack(i + 1, p) for i, p in enumerate(payloads)]
        for byte in frame(b"split"):
            sock.sendall(bytes([byte]))
            time.sleep(0.01)
        assert read_frame(sock) == ack(4, b"split")
        sock.close()
        events = server.conn_events(1)
        assert [m["text"] for m in messages(events)] == ["one", "", "three", "split"]
        assert events[-1] == {"event": "closed", "conn": 1, "peer": events[0]["peer"], "messages": 4}


def test_two_hundred_frames_stop_and_wait():
    with framed() as server:
        sock = server.connect()
        rounds = []
        for i in range(1, 201):
            payload = ("message %d " % i).encode() * (i % 7)
            started = time.monotonic()
            sock.sendall(frame(payload))
            assert read_frame(sock) == ack(i, payload)
            rounds.append(time.monotonic() - started)
        sock.close()
        events = server.conn_events(1)
        assert [m["seq"] for m in messages(events)] == list(range(1, 201))
        assert events[-1]["messages"] == 200
        # No Nagle / delayed-ACK stalls: one of those costs 40 ms in every round, while a round
        # takes well under 1 ms. The median ignores the rounds a busy machine holds up (a bound
        # on the total, as before, both missed 200 stalls of 40 ms and failed on a slow run).
        median = sorted(rounds)[len(rounds) // 2]
        assert median < 0.02, "median round trip %.1f ms" % (median * 1000)


def _refused(server: Server, data: bytes, length: int, conn: int) -> None:
    sock = server.connect()
    sock.sendall(data)
    reply = read_frame(sock)
    assert reply == b"ERR too-large %d > %d" % (length, 16777216)
    assert read_to_eof(sock) == b""
    sock.close()
    events = server.conn_events(conn)
    assert [e["event"] for e in events] == ["connected", "error"]
    assert events[1]["error"] == "frame 1 too large: %d bytes > maximum 16777216" % length


def test_garbage_and_a_4_gib_prefix_get_err_too_large_and_the_server_goes_on():
    http = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
    with framed() as server:
        _refused(server, http, struct.unpack(">I", b"GET ")[0], 1)
        _refused(server, b"\xff\xff\xff\xff", 4294967295, 2)
        # A client that keeps writing after the bad prefix still reads the ERR.
        _refused(server, b"\x7f\x00\x00\x00" + b"z" * 200000, 0x7F000000, 3)
        sock = server.connect()
        sock.sendall(frame(b"still here"))
        assert read_frame(sock) == ack(1, b"still here")
        sock.close()
        assert messages(server.conn_events(4))[0]["text"] == "still here"


def test_custom_maximum_is_inclusive():
    with framed("--max-message-bytes", "10") as server:
        sock = server.connect()
        sock.sendall(frame(b"0123456789"))
        assert read_frame(sock) == ack(1, b"0123456789")
        sock.sendall(frame(b"0123456789A"))
        assert read_frame(sock) == b"ERR too-large 11 > 10"
        sock.close()
        events = server.conn_events(1)
        assert [e["event"] for e in events] == ["connected", "message", "error"]


def test_eof_inside_a_frame_logs_nothing_for_the_partial_message():
    cases = [
        (b"\x00\x00", "frame 1: truncated frame: expected 4 length-prefix bytes, got 2"),
        (b"\x00\x00\x00\x0axyz", "frame 1: truncated frame: expected 10 payload bytes, got 3"),
        (frame(b"whole") + b"\x00\x00\x00\x05ab", "frame 2: truncated frame: expected 5 payload bytes, got 2"),
    ]
    with framed() as server:
        for conn, (data, error) in enumerate(cases, start=1):
            sock = server.connect()
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            read_to_eof(sock)
            sock.close()
            events = server.conn_events(conn)
            assert events[-1]["event"] == "error"
            assert events[-1]["error"] == error
            texts = [m["text"] for m in messages(events)]
            assert texts == (["whole"] if conn == 3 else [])


def test_a_stalled_peer_does_not_block_others_and_times_out():
    # 5 s: long enough that 20 round trips never take longer, however busy the machine (the
    # other connection must be served while the stalled one still waits).
    with framed("--idle-timeout-ms", "5000") as server:
        stalled = server.connect()
        stalled.sendall(b"\x00\x00\x00\x10half")
        server.wait_for(lambda e: e["event"] == "connected" and e["conn"] == 1)
        other = server.connect()
        for i in range(20):
            other.sendall(frame(b"m%d" % i))
            assert read_frame(other) == ack(i + 1, b"m%d" % i)
        other.close()
        server.conn_events(2)
        events = server.conn_events(1, timeout=5 + WAIT)
        assert events[-1]["error"] == "idle timeout: nothing completed for 5000 ms (0 bytes pending)"
        # Served while the stalled peer was still waiting for its timeout: the server's own
        # output puts the other connection's end before the stalled peer's.
        assert position(server.events, 2, "closed") < position(server.events, 1, "error")
        assert messages(events) == []
        stalled.close()


def test_sixteen_clients_at_once():
    failures = []

    def client(i: int, server: Server) -> None:
        try:
            sock = server.connect()
            for seq in range(1, 21):
                payload = ("client %d message %d " % (i, seq)).encode() * seq
                sock.sendall(frame(payload))
                assert read_frame(sock) == ack(seq, payload)
            sock.close()
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append((i, exc))

    with framed() as server:
        threads = [threading.Thread(target=client, args=(i, server)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert failures == []
        for conn in range(1, 17):
            events = server.conn_events(conn)
            assert [m["seq"] for m in messages(events)] == list(range(1, 21))


def test_half_close_client_still_reads_every_ack():
    payloads = [b"first", b"", bytes(range(256)), b"x" * 5000]
    with framed() as server:
        sock = server.connect()
        sock.sendall(b"".join(frame(p) for p in payloads))
        sock.shutdown(socket.SHUT_WR)
        replies = [read_frame(sock) for _ in payloads]
        assert replies == [ack(i + 1, p) for i, p in enumerate(payloads)]
        assert read_to_eof(sock) == b""
        sock.close()
        events = server.conn_events(1)
        assert [(m["len"], m["sha256"]) for m in messages(events)] == [(len(p), sha(p)) for p in payloads]
        assert events[-1]["event"] == "closed"


def test_pipelined_client_that_reads_nothing_until_the_end():
    payloads = [("p%d" % i).encode() * 50 for i in range(300)]
    with framed() as server:
        sock = server.connect()
        sock.sendall(b"".join(frame(p) for p in payloads))
        for i, p in enumerate(payloads, start=1):
            assert read_frame(sock) == ack(i, p)
        sock.close()
        assert server.conn_events(1)[-1]["messages"] == 300


def test_reset_keeps_acknowledged_messages():
    with framed() as server:
        sock = server.connect()
        sock.sendall(frame(b"kept"))
        assert read_frame(sock) == ack(1, b"kept")
        sock.sendall(b"\x00\x00\x00\x09par")
        time.sleep(0.2)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        events = server.conn_events(1)
        assert [m["text"] for m in messages(events)] == ["kept"]
        assert events[-1]["event"] == "error"
        assert "frame 2" in events[-1]["error"]


BUSY_1 = b"ERR busy 1 connections open, the most this server serves (--max-connections)"
BUSY_2 = b"ERR busy 2 connections open, the most this server serves (--max-connections)"


def test_max_connections_turns_a_framed_connection_away_with_err_busy():
    with framed("--max-connections", "2") as server:
        holders = []
        for conn in (1, 2):
            holders.append(server.connect())
            server.wait_for(lambda e: e["event"] == "connected" and e["conn"] == conn)
        third = server.connect()
        third_peer = "127.0.0.1:%d" % third.getsockname()[1]
        # At once, before any frame: the reply, then the server's EOF.
        assert read_frame(third) == BUSY_2
        assert read_to_eof(third) == b""
        third.close()
        busy = server.wait_for(lambda e: e["event"] == "error" and "conn" not in e)
        assert busy == {
            "event": "error",
            "error": "busy: turned away 1 connection(s) over --max-connections 2",
        }
        # A client that writes its frame at once reads the same reply.
        fourth = server.connect()
        fourth.sendall(frame(b"too many"))
        assert read_frame(fourth) == BUSY_2
        fourth.close()
        # Once a holder has ended, the next client is served.
        holders[0].close()
        assert server.conn_events(1)[-1]["event"] == "closed"
        fifth = server.connect()
        fifth.sendall(frame(b"served"))
        assert read_frame(fifth) == ack(1, b"served")
        fifth.close()
        assert messages(server.conn_events(3))[0]["text"] == "served"
        holders[1].sendall(frame(b"still served"))
        assert read_frame(holders[1]) == ack(1, b"still served")
        holders[1].close()
        server.conn_events(2)
        assert not any(e.get("peer") == third_peer for e in server.events)
        assert [e["conn"] for e in server.events if e["event"] == "connected"] == [1, 2, 3]


def _open_fds(pid: int) -> int:
    return len(os.listdir("/proc/%d/fd" % pid))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_a_flood_over_the_limit_is_turned_away_with_at_most_64_open():
    flood = 100
    with framed("--max-connections", "1") as server:
        holder = server.connect()
        server.wait_for(lambda e: e["event"] == "connected" and e["conn"] == 1)
        before = _open_fds(server.proc.pid)
        socks = [server.connect() for _ in range(flood)]
        # The first 64 are answered at once; the server then holds them open (until they close,
        # at most 1 s) and accepts nothing more, so at no time does it hold more than 64.
        for sock in socks[:64]:
            assert read_frame(sock) == BUSY_1
        assert _open_fds(server.proc.pid) <= before + 64
        # The rest are answered as room frees up: every one of them gets its reply.
        for sock in socks[64:]:
            assert read_frame(sock) == BUSY_1
        for sock in socks:
            sock.close()
        # The busy events (at most one a second) count every connection turned away.
        counted = []

        def busy(event):
            if event["event"] == "error" and event["error"].startswith("busy: turned away "):
                counted.append(int(event["error"].split()[3]))
            return sum(counted) >= flood

        server.wait_for(busy, timeout=WAIT)
        assert sum(counted) == flood
        assert all(e.get("conn") in (None, 1) for e in server.events)
        holder.sendall(frame(b"the holder"))
        assert read_frame(holder) == ack(1, b"the holder")
        holder.close()
