"""UDP (§10.3) end to end: one datagram per message, each acknowledged by one datagram."""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from servers import UdpServer, closed_udp_port, ipv6_available, run_client


def udp_args(port, *args):
    return ("--transport", "udp", "--port", str(port)) + args


def test_acknowledged_json():
    messages = ["one", "", "ünï ✓"]
    with UdpServer() as server:
        result = run_client(*udp_args(server.port, "--format", "json", *messages))
        assert result.returncode == 0, result.stderr
        assert server.messages() == [m.encode() for m in messages]
        peers = server.peers()
        assert len(set(peers)) == 1  # one socket for every message
        records = [json.loads(line) for line in result.stdout.decode().splitlines()]
        assert [r["seq"] for r in records] == [1, 2, 3]
        for record, message in zip(records, messages):
            assert record == {
                "seq": record["seq"],
                "local": peers[0],
                "peer": server.addr,
                "mode": "raw",
                "len": len(message.encode()),
                "sha256": hashlib.sha256(message.encode()).hexdigest(),
                "ack": "verified",
                "transport": "udp",
            }


def test_text_output_and_mode_is_ignored():
    with UdpServer() as server:
        result = run_client(*udp_args(server.port, "--mode", "framed", "a", "b"))
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"a\nb\n"
        assert server.messages() == [b"a", b"b"]


def test_default_message():
    with UdpServer() as server:
        result = run_client(*udp_args(server.port))
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"Hello SocketServer!!!\n"
        assert server.messages() == [b"Hello SocketServer!!!"]


def test_largest_datagram(tmp_path):
    path = tmp_path / "max.bin"
    data = bytes(range(256)) * 255 + bytes(range(227))
    assert len(data) == 65507
    path.write_bytes(data)
    with UdpServer() as server:
        result = run_client(*udp_args(server.port, "--format", "json", "--file", str(path)))
        assert result.returncode == 0, result.stderr
        assert server.messages() == [data]
        assert json.loads(result.stdout)["len"] == 65507


def test_oversized_exits_2_and_sends_nothing(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(b"z" * 65508)
    with UdpServer() as server:
        result = run_client(*udp_args(server.port, "--file", str(path), "small"))
        assert server.messages_so_far() == []
    assert result.returncode == 2, result.stderr
    assert result.stdout == b""
    assert result.stderr == b"error: message 1 is 65508 bytes; a UDP datagram carries at most 65507\n"


def test_oversized_later_message_sends_nothing(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(b"z" * 70000)
    with UdpServer() as server:
        result = run_client(*udp_args(server.port, "first", "--file", str(path)))
        assert server.messages_so_far() == []
    assert result.returncode == 2
    assert result.stderr == b"error: message 1 is 70000 bytes; a UDP datagram carries at most 65507\n"


def test_no_reply_exits_4():
    with UdpServer("silent") as server:
        start = time.monotonic()
        result = run_client(*udp_args(server.port, "--timeout-ms", "300", "lost?"))
        ended = time.monotonic()
        assert server.messages_so_far() == [b"lost?"]  # sent once, not retried
    assert result.returncode == 4, result.stderr
    assert result.stdout == b""
    assert result.stderr.startswith(b"error: ")
    assert ended - start >= 0.3
    # At its own limit, not the default 10 s. Timed from the datagram's arrival: the
    # interpreter's start-up alone can take seconds on a busy machine.
    assert ended - server.received_at[0] < 0.3 + 5


@pytest.mark.parametrize(
    "behaviour", ["wrong-seq", "wrong-len", "wrong-hash", "malformed", "long-reply", "err"]
)
def test_wrong_ack_exits_5(behaviour):
    with UdpServer(behaviour) as server:
        result = run_client(*udp_args(server.port, "abc", "def"))
    assert result.returncode == 5, (behaviour, result.stderr)
    assert result.stdout == b""
    if behaviour == "err":  # §3.3's line, as in framed mode
        assert result.stderr == b"error: server rejected message 1: ERR rejected testing\n"
    else:
        assert result.stderr.startswith(b"error: message 1: ")
    assert result.stderr.count(b"\n") == 1


def test_wrong_ack_for_second_message_after_first_is_printed():
    with UdpServer("bad-second") as server:
        result = run_client(*udp_args(server.port, "one", "two", "three"))
        assert server.messages() == [b"one", b"two"]
    assert result.returncode == 5
    assert result.stdout == b"one\n"
    assert b"message 2" in result.stderr


def test_port_unreachable_exits_3():
    port = closed_udp_port()
    start = time.monotonic()
    result = run_client(*udp_args(port, "--timeout-ms", "60000", "anyone?"))
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith(b"error: ")
    # At once, not after the 60 s limit; seconds are left for start-up on a busy machine.
    assert time.monotonic() - start < 20


def test_ipv6():
    if not ipv6_available():
        pytest.skip("cannot bind ::1")
    with UdpServer(host="::1") as server:
        result = run_client(*udp_args(server.port, "--host", "::1", "--format", "json", "v6"))
        assert result.returncode == 0, result.stderr
        record = json.loads(result.stdout)
        assert record["peer"] == "[::1]:%d" % server.port == server.addr
        assert record["local"] == server.peers()[0]
        assert record["local"].startswith("[::1]:")


@pytest.mark.parametrize("flag", ["--pipeline", "--half-close"])
def test_pipelining_over_udp_exits_2(flag):
    with UdpServer() as server:
        result = run_client(*udp_args(server.port, "--mode", "framed", flag, "x"))
        assert server.messages_so_far() == []
    assert result.returncode == 2
    assert result.stderr.startswith(b"error: ")
