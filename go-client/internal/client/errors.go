package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
)

// Exit codes, the same in every client (PROTOCOL.md §7).
const (
	ExitOK       = 0 // every message delivered (and, framed or UDP, acknowledged)
	ExitFailure  = 1 // unreadable --file, reset or broken connection, other I/O errors
	ExitUsage    = 2 // bad command line, Unix path too long, message too large for UDP
	ExitConnect  = 3 // refused, unreachable, or host name not resolved
	ExitTimeout  = 4 // a wait took longer than --timeout-ms
	ExitProtocol = 5 // ERR reply, bad or mismatched acknowledgement, close before it
)

// Error is a failure that ends the client: Msg is the reason (one line), Code the exit code.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Errorf returns an *Error with the given exit code.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// IsTimeout reports whether err is a deadline or timeout.
func IsTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, syscall.ETIMEDOUT) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ioError classifies an error met on an open connection: a timeout is exit 4, a refusal
// (an ICMP "port unreachable" on a UDP socket) exit 3, anything else (reset, broken pipe) 1.
func ioError(what string, timeout fmt.Stringer, err error) *Error {
	switch {
	case IsTimeout(err):
		return Errorf(ExitTimeout, "%s: timed out after %s", what, timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return Errorf(ExitConnect, "%s: %s", what, reason(err))
	default:
		return Errorf(ExitFailure, "%s: %s", what, reason(err))
	}
}

// connectError classifies a failed connect: timeout 4, a reset that raced the handshake 1 (the
// server was there), everything else (refused, unreachable, unresolved, no such socket) 3.
func connectError(target string, timeout fmt.Stringer, err error) *Error {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		IsTimeout(err) && !errors.As(err, &dnsErr): // a resolver's own time-out: not resolved
		return Errorf(ExitTimeout, "timed out connecting to %s after %s", target, timeout)
	case errors.Is(err, syscall.ECONNRESET):
		return Errorf(ExitFailure, "connection to %s was reset: %s", target, reason(err))
	default:
		return Errorf(ExitConnect, "cannot connect to %s: %s", target, reason(err))
	}
}

// reason is the innermost, most specific text of an error (e.g. "connection refused").
func reason(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.Error()
	}
	return err.Error()
}
