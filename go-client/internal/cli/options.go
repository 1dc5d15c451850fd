// Package cli is the client's command line (docs/PROTOCOL.md §6): parsing, output (§4, §8.2)
// and exit codes (§7). Run is the whole program; cmd/interop-client only calls it.
package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"interop/go-client/internal/client"
)

// Usage is what -h and --help print.
const Usage = `usage: interop-client [--host H] [--port P] [--mode raw|framed] [--format text|json]
                      [--timeout-ms N] [--transport tcp|unix|udp] [--path PATH]
                      [--pipeline] [--half-close] [--file PATH]... [MESSAGE ...]

Send messages to an interop server (docs/PROTOCOL.md).

options:
  --host H            server host name or IP, IPv6 without brackets (default 127.0.0.1)
  --port P            server port, 1-65535 (default 8099)
  --mode M            raw: one message per connection; framed: length-prefixed, each
                      acknowledged and verified (default raw)
  --format F          text: each message as the server prints it; json: one JSON object
                      per delivered message (default text)
  --timeout-ms N      limit in ms for each wait: connecting, writing one message, reading
                      one reply, waiting for EOF (default 10000)
  --transport T       tcp, unix (with --path) or udp: one acknowledged datagram per
                      message (default tcp)
  --path PATH         the Unix socket's path, with --transport unix
  --pipeline          framed: write all frames at once, then read the acknowledgements
  --half-close        like --pipeline, shutting down the write side before reading
  --file PATH         send the file's bytes as one message; may be repeated
  MESSAGE             send the argument's bytes as one message ("" sends the empty one)
  -h, --help          print this help and exit

Options may come before or after messages, as --opt value or --opt=value; -- ends them.
Every --file is sent first, in order, then every MESSAGE; with neither, the single message
"Hello SocketServer!!!" is sent.

exit codes:
  0  every message delivered (and, framed or udp, acknowledged correctly)
  1  other failure: unreadable --file, connection reset or broken, other I/O error
  2  usage error
  3  could not connect: refused, unreachable, or host name not resolved
  4  timeout (--timeout-ms) connecting, writing, or waiting for a reply or EOF
  5  protocol error: ERR reply, bad acknowledgement, server closed before acknowledging
`

// DefaultMessage is sent when neither --file nor MESSAGE is given.
const DefaultMessage = "Hello SocketServer!!!"

// maxTimeout keeps deadlines (now + timeout) far from overflowing.
const maxTimeout = 100 * 365 * 24 * time.Hour

// Options is a parsed command line.
type Options struct {
	Host      string
	Port      int
	Mode      string
	Format    string
	TimeoutMS uint64
	Transport string
	Path      string
	Pipeline  bool
	HalfClose bool
	Files     []string
	Messages  []string
}

// Config is what the client package needs of the options.
func (o *Options) Config() client.Config {
	timeout := maxTimeout
	if o.TimeoutMS < uint64(maxTimeout/time.Millisecond) {
		timeout = time.Duration(o.TimeoutMS) * time.Millisecond
	}
	return client.Config{
		Host: o.Host, Port: o.Port, Transport: o.Transport, Path: o.Path, Mode: o.Mode,
		Timeout: timeout, Pipeline: o.Pipeline, HalfClose: o.HalfClose,
	}
}

// ErrHelp is returned by Parse for -h and --help.
var ErrHelp = errors.New("help requested")

// UsageError is a bad command line (exit code 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// Options that take a value, and flags that take none.
var (
	valueOptions = map[string]bool{
		"host": true, "port": true, "mode": true, "format": true, "timeout-ms": true,
		"transport": true, "path": true, "file": true,
	}
	flagOptions = map[string]bool{"pipeline": true, "half-close": true, "help": true}
)

// Parse reads a command line (without the program name). It returns ErrHelp for -h/--help and
// a *UsageError for anything malformed.
func Parse(args []string) (*Options, error) {
	o := &Options{
		Host: "127.0.0.1", Port: 8099, Mode: client.Raw, Format: "text", TimeoutMS: 10000,
		Transport: client.TCP,
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			o.Messages = append(o.Messages, args[i+1:]...)
			return o, o.check()
		case arg == "-h":
			return nil, ErrHelp
		case strings.HasPrefix(arg, "--"):
			name, value, inline := strings.Cut(arg[2:], "=")
			switch {
			case flagOptions[name]:
				if inline {
					return nil, usagef("option --%s takes no value", name)
				}
				if err := o.setFlag(name); err != nil {
					return nil, err
				}
			case valueOptions[name]:
				if !inline {
					if i+1 >= len(args) {
						return nil, usagef("option --%s needs a value", name)
					}
					i++
					value = args[i]
				}
				if err := o.set(name, value); err != nil {
					return nil, err
				}
			default:
				return nil, usagef("unknown option --%s", name)
			}
		case len(arg) > 1 && arg[0] == '-':
			return nil, usagef("unknown option %s", arg)
		default:
			o.Messages = append(o.Messages, arg)
		}
	}
	return o, o.check()
}

func (o *Options) setFlag(name string) error {
	switch name {
	case "help":
		return ErrHelp
	case "pipeline":
		o.Pipeline = true
	case "half-close":
		o.HalfClose = true
	}
	return nil
}

func oneOf(name, value string, allowed ...string) (string, error) {
	for _, a := range allowed {
		if value == a {
			return value, nil
		}
	}
	return "", usagef("invalid --%s %q (expected %s)", name, value, strings.Join(allowed, " or "))
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (o *Options) set(name, value string) error {
	var err error
	switch name {
	case "host":
		if value == "" {
			return usagef("invalid --host \"\" (expected a host name or IP)")
		}
		o.Host = value
	case "port":
		port, perr := strconv.Atoi(value)
		if !digits(value) || perr != nil || port < 1 || port > 65535 {
			return usagef("invalid --port %q (expected 1-65535)", value)
		}
		o.Port = port
	case "mode":
		o.Mode, err = oneOf(name, value, client.Raw, client.Framed)
	case "format":
		o.Format, err = oneOf(name, value, "text", "json")
	case "transport":
		o.Transport, err = oneOf(name, value, client.TCP, client.Unix, client.UDP)
	case "timeout-ms":
		ms, perr := strconv.ParseUint(value, 10, 64)
		if !digits(value) || perr != nil || ms < 1 {
			return usagef("invalid --timeout-ms %q (expected a positive integer of milliseconds)", value)
		}
		o.TimeoutMS = ms
	case "path":
		if value == "" {
			return usagef("invalid --path \"\" (expected the Unix socket's path)")
		}
		o.Path = value
	case "file":
		o.Files = append(o.Files, value)
	}
	return err
}

// check rejects combinations that make no sense.
func (o *Options) check() error {
	switch {
	case o.Transport == client.Unix && o.Path == "":
		return usagef("--transport unix needs --path")
	case o.Transport != client.Unix && o.Path != "":
		return usagef("--path needs --transport unix")
	case o.Transport == client.Unix && len(o.Path) > client.MaxUnixPath:
		return usagef("unix socket path too long: %d bytes, at most %d", len(o.Path), client.MaxUnixPath)
	}
	for _, opt := range []struct {
		name string
		on   bool
	}{{"--pipeline", o.Pipeline}, {"--half-close", o.HalfClose}} {
		switch {
		case !opt.on:
		case o.Transport == client.UDP:
			return usagef("%s needs a stream transport (tcp or unix), not udp", opt.name)
		case o.Mode != client.Framed:
			return usagef("%s needs --mode framed", opt.name)
		}
	}
	return nil
}
