"""IPv6, Unix domain sockets and UDP (PROTOCOL.md §10)."""

from __future__ import annotations

import os
import socket
import tempfile

import pytest

from serverproc import Server, ack, frame, messages, read_frame, read_to_eof, run_server, sha


def _ipv6_available() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


needs_ipv6 = pytest.mark.skipif(not _ipv6_available(), reason="cannot bind ::1")


@needs_ipv6
def test_ipv6_peer_and_local_addresses_in_brackets():
    with Server("--host", "::1", "--mode", "framed") as server:
        assert server.addr == "[::1]:%d" % server.port
        sock = socket.create_connection(("::1", server.port), timeout=10)
        sock.sendall(frame(b"over IPv6"))
        assert read_frame(sock) == ack(1, b"over IPv6")
        local = "[::1]:%d" % sock.getsockname()[1]
        sock.close()
        events = server.conn_events(1)
        assert events[0] == {"event": "connected", "conn": 1, "peer": local, "local": server.addr}
        assert messages(events)[0]["peer"] == local


@needs_ipv6
def test_dual_stack_listener_prints_ipv4_mapped_peers_as_ipv4():
    with Server("--host", "::") as server:
        try:
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        except OSError:
            pytest.skip("no dual-stack sockets here")
        sock.sendall(b"mapped")
        sock.shutdown(socket.SHUT_WR)
        read_to_eof(sock)
        local = "127.0.0.1:%d" % sock.getsockname()[1]
        sock.close()
        events = server.conn_events(1)
        assert events[0]["peer"] == local
        assert events[0]["local"] == "127.0.0.1:%d" % server.port


# -- Unix domain sockets ---------------------------------------------------------------------


@pytest.fixture
def sock_dir():
    # Short paths: pytest's tmp_path can exceed the 107-byte limit.
    with tempfile.TemporaryDirectory(prefix="isrv") as path:
        yield path


def unix(path: str, *args: str) -> Server:
    return Server("--transport", "unix", "--path", path, *args, port=False)


def test_unix_framed_and_raw_with_pid_peers(sock_dir):
    path = os.path.join(sock_dir, "s.sock")
    with unix(path, "--mode", "framed") as server:
        assert server.addr == "unix:" + path
        sock = server.connect()
        for i, payload in enumerate([b"over unix", b"", bytes(range(256))], start=1):
            sock.sendall(frame(payload))
            assert read_frame(sock) == ack(i, payload)
        sock.shutdown(socket.SHUT_WR)
        assert read_to_eof(sock) == b""
        sock.close()
        events = server.conn_events(1)
        peer = "pid:%d" % os.getpid()
        assert events[0] == {"event": "connected", "conn": 1, "peer": peer, "local": "unix:" + path}
        assert [m["peer"] for m in messages(events)] == [peer] * 3
        assert events[-1] == {"event": "closed", "conn": 1, "peer": peer, "messages": 3}
        assert server.stop() == 0
    assert not os.path.exists(path), "the socket file is removed at exit"

    with unix(path) as server:
        sock = server.connect()
        sock.sendall(b"raw over unix")
        sock.shutdown(socket.SHUT_WR)
        assert read_to_eof(sock) == b""
        sock.close()
        assert messages(server.conn_events(1))[0]["text"] == "raw over unix"
        assert server.stop() == 0


def test_unix_stale_socket_is_removed(sock_dir):
    path = os.path.join(sock_dir, "stale.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()  # the file stays, nobody listens: connecting is refused
    assert os.path.exists(path)
    with unix(path, "--mode", "framed") as server:
        sock = server.connect()
        sock.sendall(frame(b"after stale"))
        assert read_frame(sock) == ack(1, b"after stale")
        sock.close()
        assert server.stop() == 0
    assert not os.path.exists(path)


def test_unix_socket_in_use_is_an_error(sock_dir):
    path = os.path.join(sock_dir, "busy.sock")
    with unix(path) as server:
        result = run_server("--transport", "unix", "--path", path)
        assert result.returncode == 1
        assert result.stdout == b""
        assert result.stderr == b"error: cannot listen on unix:%s: address in use\n" % path.encode()
        # The first server is undisturbed.
        sock = server.connect()
        sock.sendall(b"still served")
        sock.shutdown(socket.SHUT_WR)
        read_to_eof(sock)
        sock.close()
        # Connection 1 was the second server's probe: an empty raw message, nothing more.
        assert [m.get("text") for m in messages(server.conn_events(2))] == ["still served"]


def test_unix_refuses_to_delete_a_regular_file(sock_dir):
    path = os.path.join(sock_dir, "precious.txt")
    with open(path, "wb") as handle:
        handle.write(b"do not delete")
    result = run_server("--transport", "unix", "--path", path)
    assert result.returncode == 1
    assert result.stdout == b""
    assert result.stderr.startswith(b"error: ")
    assert b"not a socket" in result.stderr
    assert result.stderr.count(b"\n") == 1
    with open(path, "rb") as handle:
        assert handle.read() == b"do not delete"


def test_unix_path_too_long_exits_2(sock_dir):
    path = os.path.join(sock_dir, "x" * (130 - len(sock_dir) - 1))
    assert len(path) == 130
    result = run_server("--transport", "unix", "--path", path)
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr == b"error: unix socket path too long: 130 bytes, at most 107\n"
    assert not os.path.exists(path)
    ok = os.path.join(sock_dir, "y" * (107 - len(sock_dir) - 1))
    with unix(ok) as server:
        assert server.addr == "unix:" + ok


# -- UDP -------------------------------------------------------------------------------------


def udp(*args: str) -> Server:
    return Server("--transport", "udp", *args)


def udp_client(server: Server) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", server.port))
    return sock


def test_udp_ack_and_largest_datagram():
    with udp() as server:
        assert server.addr.startswith("127.0.0.1:")
        sock = udp_client(server)
        biggest = bytes(i % 256 for i in range(65507))
        for i, payload in enumerate([b"datagram", b"", biggest], start=1):
            sock.send(payload)
            assert sock.recv(2048) == ack(i, payload)
        local = "127.0.0.1:%d" % sock.getsockname()[1]
        server.wait_for(lambda e: e["event"] == "message" and e["seq"] == 3)
        events = server.events[1:]  # after the listening event
        assert events[0] == {"event": "connected", "conn": 1, "peer": local, "local": server.addr}
        assert [(m["seq"], m["len"], m["sha256"]) for m in messages(events)] == [
            (1, 8, sha(b"datagram")),
            (2, 0, sha(b"")),
            (3, 65507, sha(biggest)),
        ]
        assert server.stop() == 0
        assert not [e for e in server.events if e["event"] == "closed"]
        sock.close()


@needs_ipv6
def test_udp_oversized_datagram_is_an_error_never_logged_nor_acked():
    # 65508 bytes do not fit an IPv4 datagram at all, but over IPv6 loopback they do.
    with udp("--host", "::1") as server:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        sock.settimeout(10)
        sock.connect(("::1", server.port))
        local = "[::1]:%d" % sock.getsockname()[1]
        for size in (65508, 65527):
            sock.send(b"a" * size)
            error = server.wait_for(lambda e: e["event"] == "error")
            assert error == {
                "event": "error",
                "peer": local,
                "error": "datagram truncated: more than 65507 bytes (the UDP maximum)",
            }
            server.events.remove(error)
        sock.send(b"b" * 65507)
        assert sock.recv(2048) == ack(1, b"b" * 65507)
        sock.send(b"after")
        assert sock.recv(2048) == ack(2, b"after")
        server.wait_for(lambda e: e["event"] == "message" and e["seq"] == 2)
        assert [m["len"] for m in messages(server.events)] == [65507, 5]
        assert server.stop() == 0
        sock.close()


def test_udp_ipv4_datagram_over_the_limit_cannot_even_be_sent():
    with udp() as server:
        sock = udp_client(server)
        with pytest.raises(OSError):
            sock.send(b"a" * 65508)
        sock.close()


def test_udp_sequence_numbers_per_peer():
    with udp() as server:
        a, b = udp_client(server), udp_client(server)
        for payload, sock, seq in [(b"a1", a, 1), (b"b1", b, 1), (b"a2", a, 2), (b"a3", a, 3), (b"b2", b, 2)]:
            sock.send(payload)
            assert sock.recv(2048) == ack(seq, payload)
        server.wait_for(lambda e: e.get("text") == "b2")
        got = [(m["conn"], m["seq"], m["text"]) for m in messages(server.events)]
        assert got == [(1, 1, "a1"), (2, 1, "b1"), (1, 2, "a2"), (1, 3, "a3"), (2, 2, "b2")]
        assert [e["conn"] for e in server.events if e["event"] == "connected"] == [1, 2]
        a.close()
        b.close()


def test_udp_text_format_prints_hello_for_every_datagram():
    with Server("--transport", "udp", fmt="text") as server:
        sock = udp_client(server)
        for i, payload in enumerate([b"one", b"two"], start=1):
            sock.send(payload)
            assert sock.recv(2048) == ack(i, payload)
        local = "127.0.0.1:%d" % sock.getsockname()[1]
        assert server.stop() == 0
        text = b"".join(server.out)
        assert text == b"listening on %s\nHello: %s\none\nHello: %s\ntwo\n" % (
            server.addr.encode(),
            local.encode(),
            local.encode(),
        )
        sock.close()


@needs_ipv6
def test_udp_over_ipv6():
    with udp("--host", "::1") as server:
        assert server.addr == "[::1]:%d" % server.port
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        sock.settimeout(10)
        sock.connect(("::1", server.port))
        sock.send(b"v6")
        assert sock.recv(2048) == ack(1, b"v6")
        event = server.wait_for(lambda e: e["event"] == "message")
        assert event["peer"] == "[::1]:%d" % sock.getsockname()[1]
        sock.close()
