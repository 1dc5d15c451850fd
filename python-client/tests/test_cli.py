"""Command line (§6), usage errors and other exit codes (§7)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from interop_client import cli
from servers import SRC, Server, run_client

REPO_ROOT = os.path.dirname(os.path.dirname(SRC))


@pytest.mark.parametrize(
    "args",
    [
        ["--port", "abc"],
        ["--port", "0"],
        ["--port", "65536"],
        ["--port", "-1"],
        ["--port", "80.5"],
        ["--port", "1_000"],
        ["--port"],
        ["--mode", "udp"],
        ["--format", "xml"],
        ["--timeout-ms", "0"],
        ["--timeout-ms", "-5"],
        ["--timeout-ms", "abc"],
        ["--timeout-ms", "1.5"],
        ["--bogus"],
        ["--po", "8099"],
        ["-x"],
        ["--file"],
        ["--host"],
        ["--transport", "sctp"],
        ["--transport"],
        ["--transport", "unix"],
        ["--transport", "unix", "--path", ""],
        ["--path", "/tmp/interop.sock"],
        ["--transport", "udp", "--path", "/tmp/interop.sock"],
        ["--path"],
        ["--pipeline"],
        ["--half-close"],
        ["--mode", "raw", "--pipeline"],
        ["--transport", "unix", "--path", "/tmp/interop.sock", "--half-close"],
        ["--transport", "udp", "--pipeline"],
        ["--transport", "udp", "--mode", "framed", "--pipeline"],
        ["--transport", "udp", "--mode", "framed", "--half-close"],
        ["--pipeline=yes", "--mode", "framed"],
    ],
)
def test_usage_errors_exit_2(args):
    result = run_client(*args)
    assert result.returncode == 2, (args, result.stderr)
    assert result.stdout == b""
    assert result.stderr.startswith(b"error: ")
    assert result.stderr.count(b"\n") == 1


def test_help_exits_0_on_stdout():
    for flag in ("-h", "--help"):
        result = run_client(flag)
        assert result.returncode == 0
        assert result.stdout.startswith(b"usage: interop-client")
        for option in (b"--timeout-ms", b"--transport", b"--path", b"--pipeline", b"--half-close"):
            assert option in result.stdout
        assert result.stderr == b""


def test_unreadable_file_exits_1(tmp_path):
    with Server("raw") as server:
        missing = str(tmp_path / "missing.bin")
        result = run_client("--port", str(server.port), "--file", missing, "after")
        assert result.returncode == 1
        assert result.stdout == b""
        assert result.stderr.startswith(b"error: ")
        assert missing.encode() in result.stderr
        directory = run_client("--port", str(server.port), "--file", str(tmp_path))
        assert directory.returncode == 1
        assert server.messages() == []


def test_runs_without_installation_from_repo_root():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join("python-client", "src")
    result = subprocess.run(
        [sys.executable, "-m", "interop_client", "--help"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"usage: interop-client")


def test_text_output_is_utf8_whatever_the_locale():
    with Server("raw") as server:
        env = dict(os.environ, PYTHONPATH=SRC, LC_ALL="C", LANG="C", PYTHONIOENCODING="ascii")
        result = subprocess.run(
            [sys.executable, "-m", "interop_client", "--port", str(server.port), "ünï ✓"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == "ünï ✓\n".encode("utf-8")
        assert server.messages() == ["ünï ✓".encode("utf-8")]


def test_parse_args_defaults_and_order():
    args = cli.parse_args(["a", "--port", "9000", "b", "--file", "f", "--", "--mode", "-x"])
    assert args.port == 9000
    assert args.host == "127.0.0.1"
    assert args.mode == "raw"
    assert args.format == "text"
    assert args.timeout_ms == 10000
    assert args.files == ["f"]
    assert args.messages == ["a", "b", "--mode", "-x"]
    assert args.transport == "tcp"
    assert args.path is None
    assert args.pipeline is False
    assert args.half_close is False


def test_usage_error_comes_before_reading_files(tmp_path):
    # A senseless combination is reported (exit 2) even when a --file is unreadable (exit 1).
    missing = str(tmp_path / "missing.bin")
    result = run_client("--pipeline", "--file", missing)
    assert result.returncode == 2, result.stderr
    assert b"--pipeline" in result.stderr


def test_unresolvable_host_exits_3(monkeypatch, capsys):
    # No DNS traffic: make resolution fail the way getaddrinfo does.
    def fail(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    code = cli.main(["--host", "no-such-host.invalid", "--port", "9"])
    assert code == 3
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no-such-host.invalid" in err


def test_names_the_idna_codec_rejects_exit_3(monkeypatch, capsys):
    # An ASCII name reaches getaddrinfo as bytes, past the idna codec that rejects an empty or
    # over-long label; a non-ASCII name the codec cannot encode is unresolved too, not a crash.
    seen = []

    def fail(host, *args, **kwargs):
        seen.append(host)
        if isinstance(host, str):
            host.encode("idna")  # as the real getaddrinfo does with a str
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    for host in ["a..b", "a" * 70, "\u00fc" * 70]:
        assert cli.main(["--host", host, "--port", "9"]) == 3
        assert capsys.readouterr().err.startswith("error: cannot resolve host ")
    assert seen == [b"a..b", b"a" * 70, "\u00fc" * 70]


def test_unreachable_exits_3(monkeypatch, capsys):
    import errno

    def fail(*args, **kwargs):
        raise OSError(errno.EHOSTUNREACH, os.strerror(errno.EHOSTUNREACH))

    monkeypatch.setattr(socket.socket, "connect", fail)
    assert cli.main(["--port", "9"]) == 3
    assert capsys.readouterr().err.startswith("error: ")


def test_connect_timeout_exits_4(monkeypatch, capsys):
    def fail(*args, **kwargs):
        raise socket.timeout("timed out")

    monkeypatch.setattr(socket.socket, "connect", fail)
    assert cli.main(["--port", "9", "--timeout-ms", "50"]) == 4
    assert capsys.readouterr().err.startswith("error: timed out connecting")


def test_in_process_main_prints_to_stdout(capsysbinary):
    with Server("framed") as server:
        code = cli.main(["--mode", "framed", "--port", str(server.port), "x", "\udcff"])
    assert code == 0
    out = capsysbinary.readouterr().out
    assert out.startswith(b"x\n[binary message: 1 bytes, sha256 ")
    assert server.messages() == [b"x", b"\xff"]
