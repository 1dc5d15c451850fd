package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"interop/go-server/internal/output"
	"interop/go-server/internal/server"
	"interop/go-server/internal/wire"
)

// Exit codes of a server (PROTOCOL.md §5).
const (
	ExitOK     = 0 // stopped by SIGINT or SIGTERM
	ExitStart  = 1 // could not start: cannot listen, other start-up failures
	ExitUsage  = 2 // usage error
	ExitOutput = 3 // the log could not be written
)

// Run is the whole server: it parses args (without the program name), binds, writes the
// `listening on` line and then every event to stdout (text-format errors to stderr), serves
// until the first value on signals (SIGINT, SIGTERM) or until stdout fails, and returns the
// exit code. Whatever ends it with a failure is said in one `error: ` line on stderr.
func Run(args []string, stdout, stderr io.Writer, signals <-chan os.Signal) int {
	opts, err := Parse(args)
	switch {
	case errors.Is(err, ErrHelp):
		return info(stdout, stderr, Usage)
	case errors.Is(err, ErrVersion):
		return info(stdout, stderr, "interop-server "+Version+" (go)\n")
	case err != nil:
		return fail(stderr, ExitUsage, err)
	}

	log := output.New(opts.Format, stdout, stderr, opts.Transport == UDP)
	var (
		serve func(stop <-chan struct{}) error
		local string
		end   func() error
	)
	switch opts.Transport {
	case UDP:
		pc, err := server.ListenUDP(opts.Host, opts.Port)
		if err != nil {
			return fail(stderr, ExitStart, err)
		}
		u := server.NewUDP(pc, opts.Config(), log)
		serve, local, end = u.Serve, u.Local(), pc.Close
	case Unix:
		ln, err := server.ListenUnix(opts.Path)
		if err != nil {
			return fail(stderr, ExitStart, err)
		}
		// Closing the listener removes its socket file.
		local = "unix:" + opts.Path
		serve, end = server.NewStream(ln, local, opts.Config(), log).Serve, ln.Close
	default:
		ln, err := server.ListenTCP(opts.Host, opts.Port)
		if err != nil {
			return fail(stderr, ExitStart, err)
		}
		local = wire.FormatAddr(ln.Addr())
		serve, end = server.NewStream(ln, "", opts.Config(), log).Serve, ln.Close
	}
	defer func() { _ = end() }()

	// The signal handlers are in place (main installs them first), so whoever reads this line
	// may send SIGTERM at once.
	if err := log.Listening(local, opts.Mode); err != nil {
		return fail(stderr, ExitOutput, err)
	}
	stop := make(chan struct{})
	go func() {
		<-signals
		close(stop)
	}()
	err = serve(stop)
	var failure *output.Failure
	switch {
	case errors.As(err, &failure):
		return fail(stderr, ExitOutput, failure)
	case err != nil:
		return fail(stderr, ExitStart, err)
	}
	return ExitOK
}

// info prints text for -h or -V on stdout; if that fails, it is an output failure.
func info(stdout, stderr io.Writer, text string) int {
	if _, err := io.WriteString(stdout, text); err != nil {
		return fail(stderr, ExitOutput, &output.Failure{Err: err})
	}
	return ExitOK
}

// fail writes the one error line and returns code.
func fail(stderr io.Writer, code int, err error) int {
	msg := strings.NewReplacer("\r", " ", "\n", " ").Replace(err.Error())
	_, _ = fmt.Fprintf(stderr, "error: %s\n", msg)
	return code
}
