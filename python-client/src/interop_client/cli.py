"""The client command line (PROTOCOL.md §6, §10, §11), output (§4, §8.2) and exit codes (§7)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

from . import client
from .errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, ClientError, UsageError
from .printing import format_message
from .wire import sha256_hex

# typing for type checkers only (they take TYPE_CHECKING as true): no annotation is evaluated, and
# importing typing would cost every start ~4 ms (see python-client/README.md, Start-up).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, NoReturn, Optional, Sequence

PROG = "interop-client"
USAGE = (
    "%(prog)s [--host H] [--port P] [--mode raw|framed] [--format text|json]\n"
    "                      [--timeout-ms N] [--transport tcp|unix|udp] [--path PATH]\n"
    "                      [--pipeline] [--half-close] [--file PATH]... [MESSAGE ...]"
)
EPILOG = """\
Messages are sent in this order: every --file in the order given, then every MESSAGE.
With neither, the single message "Hello SocketServer!!!" is sent. Raw mode opens one
connection per message; framed mode sends them all on one connection and verifies each
acknowledgement.

transports: tcp (default; IPv6 with --host ::1), unix (a Unix domain stream socket at
--path, at most 107 bytes; raw and framed as over TCP), udp (one datagram per message,
at most 65507 bytes, each acknowledged by an ACK datagram; --mode is ignored).
--pipeline and --half-close need --mode framed over tcp or unix; they write all frames
at once, so keep such batches small (well under 64 KiB in all).

exit codes:
  0  every message delivered (and, framed, acknowledged correctly)
  1  other failure: unreadable --file, connection reset or broken, other I/O error
  2  usage error, senseless combination, Unix socket path or UDP message too long
  3  could not connect: refused, unreachable, or host name not resolved
  4  timeout (--timeout-ms) connecting, writing, or waiting for a reply or EOF
  5  protocol error: ERR reply, bad acknowledgement, server closed before acknowledging
"""

_DIGITS = re.compile(r"[0-9]+\Z")


def _port(value: str) -> int:
    if not _DIGITS.match(value) or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError("invalid port %r (expected 1-65535)" % value)
    return int(value)


def _timeout_ms(value: str) -> int:
    if not _DIGITS.match(value) or int(value) < 1:
        raise argparse.ArgumentTypeError(
            "invalid timeout %r (expected a positive integer of milliseconds)" % value
        )
    return int(value)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """Usage errors: one line on stderr starting with ``error: ``, exit 2."""
        self.exit(EXIT_USAGE, "error: %s (try --help)\n" % message.replace("\n", " "))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        usage=USAGE,
        description="Send messages to an interop server (docs/PROTOCOL.md).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument(
        "--host",
        default=client.DEFAULT_HOST,
        metavar="H",
        help="server host name or IP, IPv6 without brackets (default: %(default)s)",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=client.DEFAULT_PORT,
        metavar="P",
        help="server port, 1-65535 (default: %(default)s)",
    )
    parser.add_argument(
        "--mode",
        choices=("raw", "framed"),
        default="raw",
        help="raw: one message per connection; framed: length-prefixed, acknowledged "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="output: messages as text, or one JSON object per message (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout-ms",
        type=_timeout_ms,
        default=client.DEFAULT_TIMEOUT_MS,
        metavar="N",
        help="limit in ms for connecting and for each read or write (default: %(default)s)",
    )
    parser.add_argument(
        "--transport",
        choices=client.TRANSPORTS,
        default="tcp",
        help="tcp, unix (with --path) or udp (default: %(default)s)",
    )
    parser.add_argument(
        "--path",
        metavar="PATH",
        help="the Unix socket's path, with --transport unix",
    )
    parser.add_argument(
        "--pipeline",
        action="store_true",
        help="framed mode: write all frames at once, then read the acknowledgements",
    )
    parser.add_argument(
        "--half-close",
        action="store_true",
        help="framed mode: like --pipeline, shutting down the write side before reading",
    )
    parser.add_argument(
        "--file",
        action="append",
        default=[],
        metavar="PATH",
        dest="files",
        help="send the file's bytes as one message; may be repeated",
    )
    parser.add_argument(
        "messages",
        nargs="*",
        metavar="MESSAGE",
        help='send the argument\'s UTF-8 bytes as one message ("" sends the empty message)',
    )
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse options and messages in any order; ``--`` ends the options."""
    argv = list(argv)
    # parse_intermixed_args mishandles "--" (it still parses options after it), so split it
    # off here: everything after the first "--" is a MESSAGE.
    after: List[str] = []
    if "--" in argv:
        index = argv.index("--")
        argv, after = argv[:index], argv[index + 1 :]
    args = build_parser().parse_intermixed_args(argv)
    args.messages = list(args.messages) + after
    return args


def check_combination(args: argparse.Namespace) -> None:
    """Usage errors that argparse cannot see (§7 exit 2), found before anything else happens."""
    if args.transport == "unix":
        if args.path is None:
            raise UsageError("--transport unix needs --path PATH (try --help)")
        if args.path == "":
            raise UsageError("--path must not be empty (try --help)")
        client.check_unix_path(args.path)
    elif args.path is not None:
        raise UsageError("--path needs --transport unix (try --help)")
    for flag, given in (("--pipeline", args.pipeline), ("--half-close", args.half_close)):
        if not given:
            continue
        if args.transport == "udp":
            raise UsageError("%s needs a stream transport (tcp or unix), not udp" % flag)
        if args.mode != "framed":
            raise UsageError("%s needs --mode framed" % flag)


def _arg_bytes(arg: str) -> bytes:
    # Undecodable argv bytes come back as surrogate escapes: send the original bytes.
    return arg.encode("utf-8", "surrogateescape")


def load_messages(args: argparse.Namespace) -> List[bytes]:
    """Every --file in order, then every MESSAGE; the default message if there are none."""
    messages: List[bytes] = []
    for path in args.files:
        try:
            with open(path, "rb") as handle:
                messages.append(handle.read())
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ClientError("cannot read --file %s: %s" % (path, reason), EXIT_FAILURE)
    messages.extend(_arg_bytes(arg) for arg in args.messages)
    if not messages:
        messages.append(client.DEFAULT_MESSAGE)
    return messages


def json_line(delivery: client.Delivery) -> bytes:
    """One §8.2 line, with its newline."""
    record = {
        "seq": delivery.seq,
        "local": delivery.local,
        "peer": delivery.peer,
        "mode": delivery.mode,
        "len": len(delivery.payload),
        "sha256": sha256_hex(delivery.payload),
        "ack": delivery.ack,
        "transport": delivery.transport,
    }
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    # A --path that is not UTF-8 comes back as surrogate escapes: print its original bytes.
    return text.encode("utf-8", "surrogateescape") + b"\n"


def _write_stdout(data: bytes) -> None:
    """Write bytes to stdout unchanged (UTF-8 whatever the locale) and flush at once."""
    stream = sys.stdout
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        stream.flush()
        buffer.write(data)
        buffer.flush()
    else:  # a replaced text-only stream (e.g. under a test harness)
        stream.write(data.decode("utf-8", "surrogateescape"))
        stream.flush()


def _error(message: str) -> None:
    line = "error: %s\n" % message.replace("\r", " ").replace("\n", " ")
    try:
        sys.stderr.write(line)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _silence_stdout() -> None:
    """After stdout broke, keep the interpreter's final flush from failing again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the client; return the exit code (the console script passes it to sys.exit)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)

    def on_delivered(delivery: client.Delivery) -> None:
        if args.format == "json":
            _write_stdout(json_line(delivery))
        else:
            _write_stdout(format_message(delivery.payload))

    try:
        check_combination(args)
        messages = load_messages(args)
        client.send(
            args.mode,
            args.host,
            args.port,
            messages,
            args.timeout_ms / 1000.0,
            on_delivered,
            transport=args.transport,
            path=args.path,
            pipeline=args.pipeline,
            half_close=args.half_close,
        )
    except ClientError as exc:
        _error(str(exc))
        return exc.code
    except BrokenPipeError:
        _silence_stdout()
        _error("cannot write to standard output: broken pipe")
        return EXIT_FAILURE
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_FAILURE
    return EXIT_OK
