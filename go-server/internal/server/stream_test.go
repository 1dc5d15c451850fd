package server

// In-process tests of how connections end: many at once, racing the server's own stop.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"interop/go-server/internal/output"
)

// brokenAfter is a stdout whose writes fail (EPIPE) after the first n; written is closed when
// those n have been written.
type brokenAfter struct {
	mu      sync.Mutex
	n       int
	written chan struct{}
}

func newBrokenAfter(n int) *brokenAfter {
	return &brokenAfter{n: n, written: make(chan struct{})}
}

func (b *brokenAfter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n == 0 {
		return 0, syscall.EPIPE
	}
	b.n--
	if b.n == 0 {
		close(b.written)
	}
	return len(p), nil
}

func serveTCP(t *testing.T, cfg Config, log *output.Log) (string, chan error, chan struct{}) {
	t.Helper()
	ln, err := ListenTCP("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	served := make(chan error, 1)
	go func() { served <- NewStream(ln, "", cfg, log).Serve(stop) }()
	return ln.Addr().String(), served, stop
}

func reply(c net.Conn) (string, error) {
	var h [4]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return "", err
	}
	b := make([]byte, binary.BigEndian.Uint32(h[:]))
	_, err := io.ReadFull(c, b)
	return string(b), err
}

// However the log's failure meets the connections (their own record failing, or the server
// ending them first), every framed connection gets ERR output, never an ACK, and Serve returns
// the failure within a second.
func TestEveryFramedConnectionGetsErrOutputWhenTheLogBreaks(t *testing.T) {
	const clients = 16
	for round := 0; round < 20; round++ {
		// The clients' connected events are written, then every record fails.
		stdout := newBrokenAfter(clients)
		log := output.New(output.JSON, stdout, io.Discard, false)
		cfg := Config{Mode: Framed, MaxMessageBytes: 1 << 20, MaxConnections: 100, IdleTimeout: time.Minute}
		addr, served, _ := serveTCP(t, cfg, log)
		var conns []net.Conn
		for i := 0; i < clients; i++ {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			conns = append(conns, c)
		}
		<-stdout.written // every connection is accepted
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Add(1)
			go func(c net.Conn) {
				defer wg.Done()
				_, _ = c.Write(append([]byte{0, 0, 0, 5}, "hello"...))
				if r, err := reply(c); r != "ERR output writing output: Broken pipe (os error 32)" {
					t.Errorf("round %d: reply %q, %v", round, r, err)
				}
				_ = c.Close()
			}(c)
		}
		wg.Wait()
		select {
		case err := <-served:
			var f *output.Failure
			if !errors.As(err, &f) {
				t.Errorf("Serve returned %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Serve did not return within 2 s of the failure")
		}
	}
}

// At the end of the grace period every open connection is cut, each with its own error event,
// then one event counts them; a connection turned away over the limit has no events.
func TestGracePeriodCutsEveryOpenConnection(t *testing.T) {
	var out bytes.Buffer
	var mu sync.Mutex
	log := output.New(output.JSON, writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return out.Write(p)
	}), io.Discard, false)
	cfg := Config{Mode: Raw, MaxMessageBytes: 1 << 20, MaxConnections: 3, IdleTimeout: time.Minute,
		Grace: 200 * time.Millisecond}
	addr, served, stop := serveTCP(t, cfg, log)
	var conns []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = c.Write([]byte("never finished"))
		conns = append(conns, c)
	}
	time.Sleep(100 * time.Millisecond)
	// One over the limit: reset at once (perhaps before Dial returns).
	if c, err := net.Dial("tcp", addr); err == nil {
		defer c.Close()
	}
	time.Sleep(100 * time.Millisecond)
	began := time.Now()
	close(stop)
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < 200*time.Millisecond || took > time.Second {
		t.Errorf("Serve returned %v after stop", took)
	}
	mu.Lock()
	text := out.String()
	mu.Unlock()
	if n := strings.Count(text, `"error":"shutdown: cut off after the 200 ms grace period"`); n != 3 {
		t.Errorf("%d cut-off events:\n%s", n, text)
	}
	if !strings.Contains(text, `{"event":"error","error":"busy: turned away 1 connection(s) over --max-connections 3"}`) ||
		!strings.HasSuffix(text, `{"event":"error","error":"shutdown: closed 3 connection(s) still open after 200 ms"}`+"\n") {
		t.Errorf("log:\n%s", text)
	}
	for _, c := range conns {
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if _, err := io.ReadAll(c); !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("read %v, want a reset", err)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
