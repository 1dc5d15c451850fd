"""Raw mode (PROTOCOL.md §2): one message per connection, ended by EOF."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest

from serverproc import (
    WAIT,
    Server,
    connect_expecting_reset,
    messages,
    position,
    read_to_eof,
    recv_until_reset,
    sha,
)

HELLO = b"Hello SocketServer!!!"


def send_raw(server: Server, payload: bytes, pieces: int = 1) -> socket.socket:
    sock = server.connect()
    step = max(1, len(payload) // pieces) if payload else 1
    for i in range(0, len(payload), step):
        sock.sendall(payload[i : i + step])
        if pieces > 1:
            time.sleep(0.05)
    sock.shutdown(socket.SHUT_WR)
    return sock


def test_messages_are_delivered_whole_and_the_server_closes():
    all_bytes = bytes(range(256))
    with Server() as server:
        for conn, payload in enumerate([HELLO, b"", all_bytes], start=1):
            sock = send_raw(server, payload)
            assert read_to_eof(sock) == b""  # the server sends nothing, then closes
            local = "127.0.0.1:%d" % sock.getsockname()[1]
            sock.close()
            events = server.conn_events(conn)
            assert [e["event"] for e in events] == ["connected", "message", "closed"]
            connected, message, closed = events
            assert connected["peer"] == local
            assert connected["local"] == server.addr
            assert message == {
                "event": "message",
                "conn": conn,
                "peer": local,
                "seq": 1,
                "len": len(payload),
                "sha256": sha(payload),
                **({"text": payload.decode()} if payload is not all_bytes else {}),
            }
            assert closed == {"event": "closed", "conn": conn, "peer": local, "messages": 1}


def test_a_message_written_in_pieces_is_one_message():
    payload = "first line\nsecond line, ünïcødé 🦀\n".encode() * 10
    with Server() as server:
        sock = send_raw(server, payload, pieces=7)
        read_to_eof(sock)
        sock.close()
        (message,) = messages(server.conn_events(1))
        assert message["len"] == len(payload)
        assert message["text"] == payload.decode()


def test_large_message_and_the_maximum():
    big = bytes(i % 251 for i in range(3 * 1024 * 1024 + 17))
    with Server("--max-message-bytes", str(len(big))) as server:
        sock = send_raw(server, big)
        read_to_eof(sock)
        sock.close()
        (message,) = messages(server.conn_events(1))
        assert (message["len"], message["sha256"]) == (len(big), sha(big))
        assert "text" not in message

        sock = server.connect()
        # Raw mode's only way to say "refused": the server resets the connection.
        with pytest.raises(ConnectionResetError):
            sock.sendall(big + b"x")
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
        sock.close()
        events = server.conn_events(2)
        assert [e["event"] for e in events] == ["connected", "error"]
        assert "too large" in events[1]["error"]


def test_idle_timeout_and_a_stalled_peer_does_not_block_others():
    # 5 s: long enough that serving three small messages never takes longer, however busy the
    # machine (the other connections must be served while the stalled one still waits).
    with Server("--idle-timeout-ms", "5000") as server:
        stalled = server.connect()
        stalled.sendall(b"partial")  # and never ends the message
        server.wait_for(lambda e: e["event"] == "connected" and e["conn"] == 1)
        for conn in range(2, 5):
            sock = send_raw(server, b"quick %d" % conn)
            read_to_eof(sock)
            sock.close()
            assert messages(server.conn_events(conn))[0]["text"] == "quick %d" % conn
        events = server.conn_events(1, timeout=5 + WAIT)
        assert [e["event"] for e in events] == ["connected", "error"]
        assert events[1]["error"].startswith("idle timeout: nothing completed for 5000 ms")
        # Served while the stalled peer was still waiting for its timeout: the server's own
        # output puts their ends before the stalled peer's.
        assert position(server.events, 4, "closed") < position(server.events, 1, "error")
        # A reset, never an orderly close: that would say "recorded" (§2).
        assert recv_until_reset(stalled) == b""
        stalled.close()


def test_sixteen_clients_at_once():
    results = {}

    def client(i: int, server: Server) -> None:
        sock = server.connect()
        payload = ("client %d " % i).encode() * (1000 + i)
        for k in range(0, len(payload), 997):
            sock.sendall(payload[k : k + 997])
        sock.shutdown(socket.SHUT_WR)
        read_to_eof(sock)
        results["127.0.0.1:%d" % sock.getsockname()[1]] = payload
        sock.close()

    with Server() as server:
        threads = [threading.Thread(target=client, args=(i, server)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(results) == 16
        for conn in range(1, 17):
            server.conn_events(conn)
        got = {e["peer"]: e for e in messages(server.events)}
        assert set(got) == set(results)
        for peer, payload in results.items():
            assert (got[peer]["len"], got[peer]["sha256"]) == (len(payload), sha(payload))


def test_max_connections_turns_a_raw_connection_away_with_a_reset():
    with Server("--max-connections", "2") as server:
        holders = []
        for conn in (1, 2):
            sock = server.connect()
            sock.sendall(b"held %d" % conn)
            server.wait_for(lambda e: e["event"] == "connected" and e["conn"] == conn)
            holders.append(sock)
        # Turned away at once, with a reset: never the orderly close that means "recorded".
        third_peer = connect_expecting_reset("127.0.0.1", server.port)
        busy = server.wait_for(lambda e: e["event"] == "error" and "conn" not in e)
        assert busy == {
            "event": "error",
            "error": "busy: turned away 1 connection(s) over --max-connections 2",
        }
        # One of the two ends: its slot is free for the next connection.
        holders[0].shutdown(socket.SHUT_WR)
        assert read_to_eof(holders[0]) == b""
        assert messages(server.conn_events(1))[0]["text"] == "held 1"
        sock = send_raw(server, b"next")
        assert read_to_eof(sock) == b""
        sock.close()
        # The turned-away connection held no slot and has no events (not even a number).
        assert messages(server.conn_events(3))[0]["text"] == "next"
        assert not any(e.get("peer") == third_peer for e in server.events)
        for sock in holders:
            sock.close()


def test_reset_before_eof_is_an_error_and_the_server_goes_on():
    with Server() as server:
        sock = server.connect()
        sock.sendall(b"half a message")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # RST
        events = server.conn_events(1)
        assert [e["event"] for e in events] == ["connected", "error"]
        sock = send_raw(server, b"next")
        read_to_eof(sock)
        sock.close()
        assert messages(server.conn_events(2))[0]["text"] == "next"
