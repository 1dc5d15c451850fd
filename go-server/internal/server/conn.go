package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"interop/go-server/internal/wire"
)

// ending says why the server ends a connection.
type ending int

const (
	running     ending = iota
	endShutdown        // the grace period is over
	endOutput          // the log is broken
)

// aLongTimeAgo is a deadline in the past: every pending and later wait fails at once.
var aLongTimeAgo = time.Unix(1, 0)

// errInterrupted is returned by a wait the server interrupted (conn.why says why).
var errInterrupted = errors.New("interrupted by the server")

// errOutput says that a record could not be written: the message must not be acknowledged.
var errOutput = errors.New("the log cannot be written")

// connError ends a connection with an error event carrying its text.
type connError struct {
	text string
}

func (e *connError) Error() string { return e.text }

func failf(format string, args ...any) error {
	return &connError{text: fmt.Sprintf(format, args...)}
}

// conn is one served stream connection.
type conn struct {
	id          uint64
	nc          net.Conn
	peer, local string

	mu        sync.Mutex // guards why and the deadlines the goroutine sets
	why       ending
	holdsSlot bool // counts against --max-connections (guarded by the server's mu)

	// evMu orders the connection's events: no message after its end event.
	evMu     sync.Mutex
	reported bool
}

// deadline sets the read (or write) deadline to d, unless the server has interrupted the
// connection: then it returns errInterrupted, and the deadline stays in the past.
func (c *conn) deadline(read bool, d time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.why != running {
		return errInterrupted
	}
	if read {
		return c.nc.SetReadDeadline(d)
	}
	return c.nc.SetWriteDeadline(d)
}

// interrupt makes every wait of the connection return at once, and says why. A connection
// already ending (interrupted before, or ending itself: see mark) is left alone: its goroutine
// sets its own deadlines from then on, and a deadline in the past would cut its last reply.
func (c *conn) interrupt(why ending) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.why != running {
		return
	}
	c.why = why
	_ = c.nc.SetDeadline(aLongTimeAgo)
}

// mark says why the connection ends, when its own goroutine ends it, without interrupting it.
func (c *conn) mark(why ending) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.why == running {
		c.why = why
	}
}

// reason is why the server ends the connection (running: it does not).
func (c *conn) reason() ending {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.why
}

// reset closes nc with a reset (TCP: SO_LINGER 0) instead of an orderly close. A Unix socket
// has no such thing: closed with unread input it resets its peer anyway.
func reset(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = nc.Close()
}

// closeWrite shuts down the write side: the peer reads EOF.
func closeWrite(nc net.Conn) {
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// refuse sends reply as a frame, shuts down the write side, then reads and drops whatever the
// peer sends until it closes or deadline passes, so that closing does not reset the connection
// and destroy the reply before the client reads it. The caller closes nc.
func refuse(nc net.Conn, reply []byte, deadline time.Time) {
	_ = nc.SetDeadline(deadline)
	if _, err := nc.Write(wire.Frame(reply)); err != nil {
		return
	}
	closeWrite(nc)
	_, _ = io.Copy(io.Discard, nc)
}
