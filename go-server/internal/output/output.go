// Package output is the server's log (docs/PROTOCOL.md §5, §8.1): every event becomes one record
// on stdout, written whole with a single write, so that the records of concurrent connections
// never interleave. In text format a connection's `Hello: <peer>` line is held back until its
// first message (or its end) and written with it, and errors go to stderr.
//
// A write that returns means the record is in the kernel's hands: nothing is buffered in the
// process, so a message whose Message call returned nil may be acknowledged. The first write that
// fails breaks the log for good: Failed is closed, every later record fails at once without being
// written, and nothing more is written to stderr either (the program's one last line says why).
package output

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"

	"interop/go-server/internal/wire"
)

// ListeningPrefix starts the first line of every server, in every format.
const ListeningPrefix = "listening on "

// Format is how events are written.
type Format int

const (
	// Text is the tutorial's output: `Hello: <peer>` and each message (§4); errors on stderr.
	Text Format = iota
	// JSON is one event object per line (§8.1).
	JSON
)

// Failure says why the log could not be written. Its text is what the server prints on stderr
// and sends in `ERR output`: `writing output: <reason>`.
type Failure struct {
	Err error
}

func (f *Failure) Error() string { return "writing output: " + wire.Describe(f.Err) }

func (f *Failure) Unwrap() error { return f.Err }

// Log writes events. It is safe for concurrent use.
type Log struct {
	format Format
	// helloEach prints `Hello: <peer>` before every message (UDP: every datagram stands alone).
	helloEach bool

	mu      sync.Mutex
	out     io.Writer
	err     io.Writer
	pending map[uint64]bool // text: connections whose Hello line is not written yet
	failure *Failure
	failed  chan struct{}
}

// New returns a log writing records to out and, in text format, errors to errw. With
// helloEach, text format prints the Hello line before every message.
func New(format Format, out, errw io.Writer, helloEach bool) *Log {
	return &Log{
		format: format, helloEach: helloEach, out: out, err: errw,
		pending: make(map[uint64]bool), failed: make(chan struct{}),
	}
}

// Failed is closed when the log breaks.
func (l *Log) Failed() <-chan struct{} { return l.failed }

// Failure is why the log broke, or nil.
func (l *Log) Failure() *Failure {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failure
}

// Listening writes the first line, `listening on <addr>`, and in JSON the listening event.
func (l *Log) Listening(addr, mode string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	rec := []byte(ListeningPrefix + addr + "\n")
	if l.format == JSON {
		rec = appendJSON(rec, struct {
			Event string `json:"event"`
			Addr  string `json:"addr"`
			Mode  string `json:"mode"`
		}{"listening", addr, mode})
	}
	return l.write(rec)
}

// Connected logs a new connection (text: holds its Hello line back).
func (l *Log) Connected(conn uint64, peer, local string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.format == Text {
		if l.failure != nil {
			return l.failure
		}
		l.pending[conn] = true
		return nil
	}
	return l.write(appendJSON(nil, struct {
		Event string `json:"event"`
		Conn  uint64 `json:"conn"`
		Peer  string `json:"peer"`
		Local string `json:"local"`
	}{"connected", conn, peer, local}))
}

// Message logs message seq of connection conn. Only when it returns nil is the record written:
// then, and only then, may the message be acknowledged.
func (l *Log) Message(conn uint64, peer string, seq uint64, v wire.View) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.format == Text {
		if l.helloEach {
			l.pending[conn] = true
		}
		rec := l.hello(nil, conn, peer)
		rec = append(rec, v.Line()...)
		return l.write(append(rec, '\n'))
	}
	var text *string
	if v.IsText {
		text = &v.Text
	}
	return l.write(appendJSON(nil, struct {
		Event  string  `json:"event"`
		Conn   uint64  `json:"conn"`
		Peer   string  `json:"peer"`
		Seq    uint64  `json:"seq"`
		Len    uint64  `json:"len"`
		SHA256 string  `json:"sha256"`
		Text   *string `json:"text,omitempty"`
	}{"message", conn, peer, seq, v.Len, v.SHA256, text}))
}

// Closed logs the normal end of a connection that carried messages messages.
func (l *Log) Closed(conn uint64, peer string, messages uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.format == Text {
		rec := l.hello(nil, conn, peer)
		if len(rec) == 0 {
			return l.failureErr()
		}
		return l.write(rec)
	}
	return l.write(appendJSON(nil, struct {
		Event    string `json:"event"`
		Conn     uint64 `json:"conn"`
		Peer     string `json:"peer"`
		Messages uint64 `json:"messages"`
	}{"closed", conn, peer, messages}))
}

// Error logs an error of connection conn, or with conn 0 of the server itself (or, with a
// peer, of a UDP peer). Text format writes it on stderr as `error: [<peer>: ]<text>`.
func (l *Log) Error(conn uint64, peer, text string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.format == JSON {
		return l.write(appendJSON(nil, struct {
			Event string `json:"event"`
			Conn  uint64 `json:"conn,omitempty"`
			Peer  string `json:"peer,omitempty"`
			Error string `json:"error"`
		}{"error", conn, peer, text}))
	}
	if l.failure != nil {
		return l.failure // stopping: the program's last line says why
	}
	line := "error: " + text + "\n"
	if peer != "" {
		line = "error: " + peer + ": " + text + "\n"
	}
	// stderr is not the log: a line that cannot be written there is lost, no more.
	_, _ = io.WriteString(l.err, line)
	if conn != 0 {
		if rec := l.hello(nil, conn, peer); len(rec) > 0 {
			return l.write(rec)
		}
	}
	return nil
}

// Forget drops the held-back Hello line of a connection that ends without an event.
func (l *Log) Forget(conn uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.pending, conn)
}

// hello appends the connection's Hello line to rec if it is still held back.
func (l *Log) hello(rec []byte, conn uint64, peer string) []byte {
	if !l.pending[conn] {
		return rec
	}
	delete(l.pending, conn)
	return append(append(append(rec, "Hello: "...), peer...), '\n')
}

func (l *Log) failureErr() error {
	if l.failure != nil {
		return l.failure
	}
	return nil
}

// write writes one record whole; the first failure breaks the log. Called with mu held.
func (l *Log) write(rec []byte) error {
	if l.failure != nil {
		return l.failure
	}
	n, err := l.out.Write(rec)
	if err == nil && n < len(rec) {
		err = io.ErrShortWrite
	}
	if err != nil {
		l.failure = &Failure{Err: err}
		close(l.failed)
		return l.failure
	}
	return nil
}

// appendJSON appends v as one line of compact JSON, without HTML escaping, as serde_json
// writes it.
func appendJSON(dst []byte, v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // cannot fail: strings and integers only; ends the line with '\n'
	return append(dst, b.Bytes()...)
}
