// Package cli is the server's command line (docs/PROTOCOL.md §5, §10): parsing, binding,
// signals, and exit codes. Run is the whole program; cmd/interop-server only calls it.
package cli

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"interop/go-server/internal/output"
	"interop/go-server/internal/server"
	"interop/go-server/internal/wire"
)

// Version is what -V and --version print after the program's name.
const Version = "0.1.0"

// Usage is what -h and --help print.
const Usage = `usage: interop-server [--host 127.0.0.1] [--port 8099] [--mode raw|framed]
                      [--format text|json] [--max-message-bytes 16777216]
                      [--max-connections 1024] [--idle-timeout-ms 60000]
                      [--transport tcp|unix|udp] [--path PATH]

Accepts connections forever and prints ` + "`Hello: <peer>`" + ` and every message it receives
(docs/PROTOCOL.md). The first line on stdout is always ` + "`listening on <address>`" + `, with
the port actually bound.

options:
  --host HOST               address to listen on; ::1 and 0.0.0.0 work (default 127.0.0.1)
  --port PORT               port to listen on; 0 takes an ephemeral port (default 8099)
  --mode MODE               raw: one message per connection, ended by EOF; framed:
                            length-prefixed frames, each acknowledged (default raw)
  --format FORMAT           text: ` + "`Hello: <peer>`" + ` and the message, errors on stderr; json:
                            one JSON event per line (default text)
  --max-message-bytes N     largest message accepted, in bytes; checked before anything is
                            read (default 16777216)
  --max-connections N       most connections served at once; more are turned away
                            (framed: ERR busy; raw: a reset) (default 1024)
  --idle-timeout-ms N       close a connection that is silent (raw) or does not complete a
                            frame (framed) for this long (default 60000)
  --transport T             tcp, unix (a Unix stream socket at --path) or udp (one
                            acknowledged datagram per message) (default tcp)
  --path PATH               the Unix socket's path, with --transport unix (at most 107
                            bytes; a stale socket file there is replaced)
  -h, --help                print this help and exit
  -V, --version             print the version and exit

Options are written --opt value or --opt=value.

SIGINT or SIGTERM: stop accepting, serve the open connections for 5 s more, cut off the rest,
exit 0.

exit codes:
  0  stopped by SIGINT or SIGTERM
  1  could not start: cannot listen (address in use, no such address, a Unix path in use)
  2  usage error
  3  the log (stdout) could not be written
`

// Options is a parsed command line.
type Options struct {
	Host            string
	Port            int
	Mode            string
	Format          output.Format
	MaxMessageBytes uint32
	MaxConnections  int
	IdleTimeout     time.Duration
	Transport       string
	Path            string
}

// Transports, as named on the command line.
const (
	TCP  = "tcp"
	Unix = "unix"
	UDP  = "udp"
)

// Config is what the server package needs of the options.
func (o *Options) Config() server.Config {
	return server.Config{
		Mode: o.Mode, MaxMessageBytes: o.MaxMessageBytes, MaxConnections: o.MaxConnections,
		IdleTimeout: o.IdleTimeout, Grace: server.DefaultGrace,
	}
}

// Errors Parse returns for -h and -V.
var (
	ErrHelp    = errors.New("help requested")
	ErrVersion = errors.New("version requested")
)

// UsageError is a bad command line (exit code 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

var valueOptions = map[string]bool{
	"host": true, "port": true, "mode": true, "format": true, "max-message-bytes": true,
	"max-connections": true, "idle-timeout-ms": true, "transport": true, "path": true,
}

// maxIdle keeps deadlines (now + timeout) far from overflowing.
const maxIdle = 100 * 365 * 24 * time.Hour

// Parse reads a command line (without the program name). It returns ErrHelp or ErrVersion
// for -h/--help and -V/--version, and a *UsageError for anything malformed.
func Parse(args []string) (*Options, error) {
	o := &Options{
		Host: "127.0.0.1", Port: 8099, Mode: server.Raw, Format: output.Text,
		MaxMessageBytes: wire.DefaultMaxMessageBytes, MaxConnections: 1024,
		IdleTimeout: 60 * time.Second, Transport: TCP,
	}
	seen := map[string]bool{}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "-h" || arg == "--help":
			return nil, ErrHelp
		case arg == "-V" || arg == "--version":
			return nil, ErrVersion
		case strings.HasPrefix(arg, "--") && arg != "--":
			name, value, inline := strings.Cut(arg[2:], "=")
			if !valueOptions[name] {
				return nil, usagef("unknown option --%s", name)
			}
			if !inline {
				if i+1 >= len(args) {
					return nil, usagef("option --%s needs a value", name)
				}
				i++
				value = args[i]
			}
			if seen[name] {
				return nil, usagef("option --%s given twice", name)
			}
			seen[name] = true
			if err := o.set(name, value); err != nil {
				return nil, err
			}
		default:
			return nil, usagef("unexpected argument %q", arg)
		}
	}
	return o, o.check()
}

func oneOf(name, value string, allowed ...string) (string, error) {
	for _, a := range allowed {
		if value == a {
			return value, nil
		}
	}
	return "", usagef("invalid --%s %q (expected %s)", name, value, strings.Join(allowed, " or "))
}

// number parses a decimal integer in [lo, hi].
func number(name, value string, lo, hi uint64) (uint64, error) {
	ok := value != ""
	for _, c := range value {
		ok = ok && c >= '0' && c <= '9'
	}
	n, err := strconv.ParseUint(value, 10, 64)
	if !ok || err != nil || n < lo || n > hi {
		return 0, usagef("invalid --%s %q (expected an integer from %d to %d)", name, value, lo, hi)
	}
	return n, nil
}

func (o *Options) set(name, value string) error {
	var err error
	var n uint64
	switch name {
	case "host":
		if value == "" {
			return usagef("invalid --host \"\" (expected a host name or IP)")
		}
		o.Host = value
	case "port":
		n, err = number(name, value, 0, math.MaxUint16)
		o.Port = int(n)
	case "mode":
		o.Mode, err = oneOf(name, value, server.Raw, server.Framed)
	case "format":
		var f string
		f, err = oneOf(name, value, "text", "json")
		o.Format = output.Text
		if f == "json" {
			o.Format = output.JSON
		}
	case "max-message-bytes":
		n, err = number(name, value, 0, math.MaxUint32)
		o.MaxMessageBytes = uint32(n)
	case "max-connections":
		n, err = number(name, value, 1, math.MaxUint32)
		o.MaxConnections = int(min(n, math.MaxInt32))
	case "idle-timeout-ms":
		n, err = number(name, value, 1, math.MaxUint64)
		o.IdleTimeout = maxIdle
		if n < uint64(maxIdle/time.Millisecond) {
			o.IdleTimeout = time.Duration(n) * time.Millisecond
		}
	case "transport":
		o.Transport, err = oneOf(name, value, TCP, Unix, UDP)
	case "path":
		o.Path = value
	}
	return err
}

// check rejects combinations that make no sense.
func (o *Options) check() error {
	switch {
	case o.Transport == Unix && o.Path == "":
		return usagef("--transport unix needs --path PATH")
	case o.Transport != Unix && o.Path != "":
		return usagef("--path needs --transport unix")
	case o.Transport == Unix && len(o.Path) > wire.MaxUnixPath:
		return usagef("unix socket path too long: %d bytes, at most %d", len(o.Path), wire.MaxUnixPath)
	}
	return nil
}
