// Package server serves the interop protocol (docs/PROTOCOL.md §2, §3, §5, §10): raw and framed
// mode over TCP and Unix stream sockets (Stream), and datagrams over UDP (UDP).
//
// Invariants:
//   - Every connection is served by its own goroutine. At most MaxConnections are served at
//     once; one over the limit is still accepted and turned away at once, without reading a
//     frame from it (framed: ERR busy; raw: a reset). It holds no slot and has no events; an
//     error event without conn counts those, at most one a second. At most MaxTurningAway
//     turned-away connections are open at a time; while that many are, nothing is accepted.
//   - Memory per connection is small and bounded: an idle connection waits with a 4-byte
//     (framed) or 512-byte (raw) buffer; a message being received borrows a 64 KiB read buffer
//     from a pool and is kept only as a wire.Message (length, running SHA-256, first 4 KiB),
//     never whole, so that neither a large message nor a length prefix claiming one costs more.
//   - A connection's events are connected, its messages, then exactly one of closed or error
//     (also when the server cuts it off). Nothing is logged for a partial message.
//   - Log, then acknowledge: an ACK is written (raw: the orderly close happens) only after the
//     message's record was written to stdout. When the log cannot be written, no ACK follows:
//     the server stops accepting, every open framed connection gets ERR output, every raw one a
//     reset, and Serve returns the *output.Failure within a second.
//   - The server ends a connection by marking it (why) and setting its deadline in the past:
//     whatever the goroutine waits on returns at once, and the goroutine sees why. Every
//     deadline it sets itself is set under the same lock, after checking the mark, so an
//     interruption is never lost.
package server

import (
	"sync"
	"time"
)

// Modes, as named on the command line.
const (
	Raw    = "raw"
	Framed = "framed"
)

// Config says how the server behaves; see interop-server --help.
type Config struct {
	Mode            string // Raw or Framed
	MaxMessageBytes uint32
	MaxConnections  int
	IdleTimeout     time.Duration
	// Grace is how long open connections are served after SIGTERM (5 s: §5).
	Grace time.Duration
}

const (
	// DefaultGrace is the shutdown grace period of §5.
	DefaultGrace = 5 * time.Second
	// MaxTurningAway is the most turned-away connections open at a time (§5).
	MaxTurningAway = 64
	// refuseDrain is how long a refused connection (ERR busy, ERR too-large) is read, and its
	// input dropped, after the reply, so that closing does not reset the reply away before the
	// client reads it.
	refuseDrain = time.Second
	// outputStop is how long, after the log broke, connections get to read their ERR output
	// before everything is cut: the server must exit within a second (§5).
	outputStop = 500 * time.Millisecond
	// cutWait is how long connections cut at the end of the grace period get to log their own
	// error event before the server logs it for them.
	cutWait = 500 * time.Millisecond
	// busyEvery is the least time between two busy events.
	busyEvery = time.Second
	// readChunk is the size of the pooled read buffers.
	readChunk = 64 << 10
	// firstRead is the buffer a raw connection waits for its first bytes with.
	firstRead = 512
)

// bufPool holds the read buffers connections borrow while a message arrives.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, readChunk)
	return &b
}}
