"""The command line of ``interop-server`` (PROTOCOL.md §5, §10), identical to the Rust server's.

Usage errors print one ``error: ...`` line on stderr and exit 2; failing to listen exits 1; a
SIGINT or SIGTERM stops accepting, lets in-flight connections finish for up to 5 s, cuts off the
rest and exits 0; a stdout that cannot be written (closed, full, a pipe nobody reads), at start-up
or later, prints ``error: writing output: <reason>`` and exits 3 within a second.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import stat
import sys
from typing import Any, Callable, Coroutine, Dict, List, Optional, Sequence, Tuple

from . import __version__, wire
from .output import FdWriter, Printer
from .server import Config, StreamServer
from .udp import UdpServer

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_OUTPUT = 3

HELP = """\
Accepts connections forever and prints `Hello: <peer>` and every message it receives.

The first line on stdout is always `listening on <ip>:<port>`, with the port actually bound.

Usage: interop-server [OPTIONS]

Options:
      --host <HOST>
          Address to listen on (loopback by default; `::1` and `0.0.0.0` work)
          
          [default: 127.0.0.1]

      --port <PORT>
          Port to listen on; 0 takes an ephemeral port (see the `listening on` line)
          
          [default: 8099]

      --mode <MODE>
          raw: one message per connection, ended by EOF. framed: length-prefixed, acknowledged

          Possible values:
          - raw:    One message per connection; the sender's EOF ends it; no reply
          - framed: Length-prefixed frames, many per connection, each acknowledged
          
          [default: raw]

      --format <FORMAT>
          text: the tutorial's `Hello: <peer>` and message. json: one event object per line

          Possible values:
          - text: `Hello: <peer>` and the message, as the tutorial prints them
          - json: One JSON event per line (PROTOCOL.md §8.1)
          
          [default: text]

      --max-message-bytes <MAX_MESSAGE_BYTES>
          Largest message accepted, in bytes; checked before anything is allocated
          
          [default: 16777216]

      --max-connections <MAX_CONNECTIONS>
          Most connections served at once; more are turned away (framed: ERR busy; raw: a reset)
          
          [default: 1024]

      --idle-timeout-ms <IDLE_TIMEOUT_MS>
          Close a connection that is silent (raw) or does not complete a frame (framed) for this long
          
          [default: 60000]

      --transport <TRANSPORT>
          tcp, unix (a Unix domain stream socket at --path) or udp (one datagram per message)

          Possible values:
          - tcp:  TCP over IPv4 or IPv6
          - unix: A Unix domain stream socket at --path; peers are printed as pid:<pid>
          - udp:  One datagram per message, each acknowledged by one datagram
          
          [default: tcp]

      --path <PATH>
          The Unix socket's path, with --transport unix (at most 107 bytes)

  -h, --help
          Print help (see a summary with '-h')

  -V, --version
          Print version
"""

U16_MAX = 0xFFFF
U32_MAX = 0xFFFFFFFF
U64_MAX = 0xFFFFFFFFFFFFFFFF


class UsageError(Exception):
    """A malformed command line: one line on stderr, exit 2."""


class StartError(Exception):
    """The server cannot start (e.g. cannot listen): one line on stderr, exit 1."""


def _integer(text: str, maximum: int) -> int:
    """Parses like Rust's ``str::parse`` for an unsigned integer, with its error texts."""
    digits = text[1:] if text.startswith("+") else text
    if text == "":
        raise ValueError("cannot parse integer from empty string")
    if not digits or not all("0" <= c <= "9" for c in digits):
        raise ValueError("invalid digit found in string")
    value = int(digits)
    if value > maximum:
        raise ValueError("number too large to fit in target type")
    return value


def _number(maximum: int, minimum: int = 0) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = _integer(text, maximum)
        if value < minimum:
            raise ValueError("%d is not in %d..=%d" % (value, minimum, maximum))
        return value

    return parse


def _choice(*names: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in names:
            raise _BadChoice(names)
        return text

    return parse


class _BadChoice(ValueError):
    def __init__(self, names: Tuple[str, ...]) -> None:
        super().__init__(names)
        self.names = names


def _text(text: str) -> str:
    return text


# name -> (metavar, parser, default)
OPTIONS: Dict[str, Tuple[str, Callable[[str], object], object]] = {
    "host": ("HOST", _text, "127.0.0.1"),
    "port": ("PORT", _number(U16_MAX), wire.DEFAULT_PORT),
    "mode": ("MODE", _choice("raw", "framed"), "raw"),
    "format": ("FORMAT", _choice("text", "json"), "text"),
    "max-message-bytes": ("MAX_MESSAGE_BYTES", _number(U32_MAX), wire.DEFAULT_MAX_MESSAGE_BYTES),
    "max-connections": ("MAX_CONNECTIONS", _number(U32_MAX, 1), 1024),
    "idle-timeout-ms": ("IDLE_TIMEOUT_MS", _number(U64_MAX, 1), 60000),
    "transport": ("TRANSPORT", _choice("tcp", "unix", "udp"), "tcp"),
    "path": ("PATH", _text, None),
}


class Options:
    """The parsed command line."""

    def __init__(self, values: Dict[str, object]) -> None:
        self.host = str(values["host"])
        self.port = int(values["port"])  # type: ignore[arg-type]
        self.mode = str(values["mode"])
        self.format = str(values["format"])
        self.max_message_bytes = int(values["max-message-bytes"])  # type: ignore[arg-type]
        self.max_connections = int(values["max-connections"])  # type: ignore[arg-type]
        self.idle_timeout_ms = int(values["idle-timeout-ms"])  # type: ignore[arg-type]
        self.transport = str(values["transport"])
        path = values["path"]
        self.path: Optional[str] = None if path is None else str(path)

    def config(self) -> Config:
        return Config(
            mode=self.mode,
            max_message_bytes=self.max_message_bytes,
            max_connections=self.max_connections,
            idle_timeout_ms=self.idle_timeout_ms,
        )


class _Exit(Exception):
    """-h / -V: print ``text`` on stdout, exit 0."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def parse_args(argv: Sequence[str]) -> Options:
    """Parses ``--name value`` and ``--name=value``, with clap's error texts."""
    values: Dict[str, object] = {}
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg in ("-h", "--help"):
            raise _Exit(HELP)
        if arg in ("-V", "--version"):
            raise _Exit("interop-server %s\n" % __version__)
        if not arg.startswith("--") or arg == "--":
            raise UsageError("unexpected argument '%s' found" % arg)
        name, eq, value = arg[2:].partition("=")
        if name not in OPTIONS:
            raise UsageError("unexpected argument '--%s' found" % name)
        metavar, parse, _ = OPTIONS[name]
        shown = "--%s <%s>" % (name, metavar)
        if not eq:
            if i >= len(args) or (args[i].startswith("-") and args[i] != "-"):
                raise UsageError("a value is required for '%s' but none was supplied" % shown)
            value = args[i]
            i += 1
        if name in values:
            raise UsageError("the argument '%s' cannot be used multiple times" % shown)
        try:
            values[name] = parse(value)
        except _BadChoice as exc:
            raise UsageError(
                "invalid value '%s' for '%s' [possible values: %s]"
                % (value, shown, ", ".join(exc.names))
            )
        except ValueError as exc:
            raise UsageError("invalid value '%s' for '%s': %s" % (value, shown, exc))
    for name, (_, _, default) in OPTIONS.items():
        values.setdefault(name, default)
    options = Options(values)
    if options.transport == "unix":
        if options.path is None:
            raise UsageError("--transport unix needs --path PATH")
        size = len(os.fsencode(options.path))
        if size == 0:
            raise UsageError("unix socket path is empty")
        if size > wire.UNIX_PATH_MAX:
            raise UsageError(
                "unix socket path too long: %d bytes, at most %d" % (size, wire.UNIX_PATH_MAX)
            )
    elif options.path is not None:
        raise UsageError("--path needs --transport unix")
    return options


# -- listening -----------------------------------------------------------------------------


def _resolve(host: str, port: int, kind: int) -> List[Tuple[int, int, int, object]]:
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, kind, 0, socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartError(
            "cannot listen on %s:%d: failed to lookup address information: %s"
            % (host, port, exc.strerror or exc)
        )
    return [(family, socktype, proto, sockaddr) for family, socktype, proto, _, sockaddr in infos]


def _bind_inet(host: str, port: int, kind: int) -> socket.socket:
    """Binds (and for TCP listens on) the first address of ``host`` that works."""
    last: Optional[OSError] = None
    for family, socktype, proto, sockaddr in _resolve(host, port, kind):
        sock = socket.socket(family, socktype, proto)
        try:
            if kind == socket.SOCK_STREAM:
                # So that a server killed with connections open can be started again at once.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(sockaddr)
            if kind == socket.SOCK_STREAM:
                sock.listen(1024)
            sock.setblocking(False)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    reason = wire.describe(last) if last is not None else "no addresses to bind"
    raise StartError("cannot listen on %s:%d: %s" % (host, port, reason))


def _remove_stale_unix_socket(path: str) -> None:
    """Removes ``path`` if it is a socket nobody listens on; refuses anything else (§10.2)."""
    where = "unix:%s" % path
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StartError("cannot listen on %s: %s" % (where, wire.describe(exc)))
    if not stat.S_ISSOCK(info.st_mode):
        raise StartError("cannot listen on %s: %s exists and is not a socket" % (where, path))
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StartError(
                "cannot listen on %s: cannot remove stale socket: %s" % (where, wire.describe(exc))
            )
        return
    except FileNotFoundError:
        return
    except socket.timeout:
        raise StartError("cannot listen on %s: address in use" % where)
    except OSError as exc:
        raise StartError("cannot listen on %s: %s" % (where, wire.describe(exc)))
    finally:
        probe.close()
    raise StartError("cannot listen on %s: address in use" % where)


def _bind_unix(path: str) -> Tuple[socket.socket, Callable[[], None]]:
    """Binds and listens on ``path``; returns the socket and what removes the file at exit."""
    _remove_stale_unix_socket(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        sock.listen(1024)
        sock.setblocking(False)
        info = os.lstat(path)
    except OSError as exc:
        sock.close()
        if isinstance(exc, OSError) and exc.errno == 98:  # EADDRINUSE: lost a race
            raise StartError("cannot listen on unix:%s: address in use" % path)
        raise StartError("cannot listen on unix:%s: %s" % (path, wire.describe(exc)))
    identity = (info.st_dev, info.st_ino)

    def remove() -> None:
        try:
            now = os.lstat(path)
            if (now.st_dev, now.st_ino) == identity:
                os.unlink(path)
        except OSError:
            pass

    return sock, remove


# -- running -------------------------------------------------------------------------------


async def _serve(options: Options, sock: socket.socket, printer: Printer) -> None:
    loop = asyncio.get_running_loop()
    # Errors inside asyncio's transports surface as connection errors; don't print them twice.
    loop.set_exception_handler(lambda _loop, _context: None)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if options.transport == "unix":
        local = "unix:%s" % options.path
    else:
        local = wire.addr_string(sock.getsockname())
    # Only now, with the signal handlers in place, does anyone learn that we are listening.
    if printer.listening(local, options.mode):
        if options.transport == "udp":
            await UdpServer(sock, local, options.max_message_bytes, printer).run(stop)
        else:
            await StreamServer(sock, local, options.config(), printer).run(stop)
    # Already stopping: a further signal must not kill the process with the default action
    # (exit status -15) while it flushes and exits. asyncio would restore SIG_DFL on close.
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(signum)
        signal.signal(signum, signal.SIG_IGN)
    sock.close()


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    """Like ``asyncio.run``, except that tasks left at the end get a bounded moment to unwind
    instead of being waited for without limit (a task whose cancel was lost would hang it)."""
    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(coroutine)
    finally:
        try:
            left = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in left:
                task.cancel()
            if left:
                loop.run_until_complete(asyncio.wait(left, timeout=0.2))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _error(message: str) -> None:
    try:
        sys.stderr.write("error: %s\n" % message.replace("\n", " "))
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # AttributeError: stderr closed (None)
        pass


def _stdout_failure() -> Optional[str]:
    """Why fd 1 cannot be our log (closed: ``Bad file descriptor (os error 9)``), or None. Checked
    before anything is opened, so that no socket can take the number of a closed stdout."""
    try:
        os.fstat(1)
    except OSError as exc:
        return wire.describe(exc)
    return None


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the server; returns the exit code."""
    try:
        options = parse_args(sys.argv[1:] if argv is None else argv)
    except _Exit as done:
        try:
            FdWriter(1).write(done.text.encode("utf-8"))
        except OSError as exc:
            _error("writing output: %s" % wire.describe(exc))
            return EXIT_OUTPUT
        return EXIT_OK
    except UsageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    logging.getLogger("asyncio").setLevel(logging.CRITICAL + 1)
    failure = _stdout_failure()
    if failure is not None:
        _error("writing output: %s" % failure)
        return EXIT_OUTPUT

    cleanup: Callable[[], None] = lambda: None
    try:
        if options.transport == "unix":
            assert options.path is not None
            sock, cleanup = _bind_unix(options.path)
        elif options.transport == "udp":
            sock = _bind_inet(options.host, options.port, socket.SOCK_DGRAM)
        else:
            sock = _bind_inet(options.host, options.port, socket.SOCK_STREAM)
    except StartError as exc:
        _error(str(exc))
        return EXIT_FAILURE

    printer = Printer(options.format, hello_every_message=options.transport == "udp")
    try:
        _run(_serve(options, sock, printer))
    except KeyboardInterrupt:
        pass
    finally:
        cleanup()
    if printer.failure is not None:
        _error("writing output: %s" % printer.failure)
        return EXIT_OUTPUT
    return EXIT_OK
