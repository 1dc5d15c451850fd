package main

// The tests of this directory build the real interop-server binary once and drive it as a
// harness would: started with arguments, its stdout and stderr read, clients speaking raw bytes,
// signals sent. Helpers live here; the tests by theme in the other files.

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binaryPath is the server built by TestMain.
var binaryPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "interop-server-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binaryPath = filepath.Join(dir, "interop-server")
	build := exec.Command(goTool(), "build", "-o", binaryPath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "cannot build interop-server:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// goTool is the go command that runs these tests.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// event is one JSON line of the server (§8.1).
type event struct {
	Event    string  `json:"event"`
	Addr     string  `json:"addr"`
	Mode     string  `json:"mode"`
	Conn     uint64  `json:"conn"`
	Peer     string  `json:"peer"`
	Local    string  `json:"local"`
	Seq      uint64  `json:"seq"`
	Len      uint64  `json:"len"`
	SHA256   string  `json:"sha256"`
	Text     *string `json:"text"`
	Messages uint64  `json:"messages"`
	Error    string  `json:"error"`
}

// proc is a running server.
type proc struct {
	t     *testing.T
	cmd   *exec.Cmd
	addr  string // from `listening on <addr>`
	first string // the first line

	mu      sync.Mutex
	stdout  []string // stdout after the first line
	parseMu sync.Mutex
	parsed  []event // stdout's first lines, parsed
	changed chan struct{}
	stderr  bytes.Buffer // written by exec's copier until exit

	exited   chan struct{}
	status   error
	readDone chan struct{} // stdout read to its end
}

// start runs the server with args and reads its `listening on` line. Unless args say
// otherwise, it listens on an ephemeral port and writes JSON.
func start(t *testing.T, args ...string) *proc {
	t.Helper()
	p := startWith(t, nil, defaults(args)...)
	return p
}

// defaults adds --port 0 and --format json unless given.
func defaults(args []string) []string {
	joined := " " + strings.Join(args, " ")
	if !strings.Contains(joined, " --port") && !strings.Contains(joined, "unix") {
		args = append(args, "--port", "0")
	}
	if !strings.Contains(joined, " --format") {
		args = append(args, "--format", "json")
	}
	return args
}

// startWith runs the server with args; its stdout is a pipe the test reads, unless stdout is
// given (then the caller handles it, and addr is not known).
func startWith(t *testing.T, stdout *os.File, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, changed: make(chan struct{}, 1), exited: make(chan struct{}), readDone: make(chan struct{})}
	p.cmd = exec.Command(binaryPath, args...)
	p.cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	var r *os.File
	if stdout != nil {
		p.cmd.Stdout = stdout
		close(p.readDone)
	} else {
		var w *os.File
		var err error
		if r, w, err = os.Pipe(); err != nil {
			t.Fatal(err)
		}
		p.cmd.Stdout = w
		defer w.Close() // the child has its own copy
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.status = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	if r == nil {
		return p
	}
	first := make(chan string, 1)
	go p.read(r, first)
	select {
	case line, ok := <-first:
		if !ok {
			<-p.exited
			t.Fatalf("server printed nothing (%v); stderr: %s", p.status, p.stderrText())
		}
		p.first = line
		p.addr = strings.TrimPrefix(line, "listening on ")
		if p.addr == line {
			t.Fatalf("first line %q", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no listening line within 10 s")
	}
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// read sends the first line on first, then keeps every other line.
func (p *proc) read(r *os.File, first chan<- string) {
	defer close(p.readDone)
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		if n == 0 {
			first <- sc.Text()
		} else {
			p.mu.Lock()
			p.stdout = append(p.stdout, sc.Text())
			p.mu.Unlock()
			select {
			case p.changed <- struct{}{}:
			default:
			}
		}
		n++
	}
	if n == 0 {
		close(first)
	}
}

// output is stdout after the first line, so far.
func (p *proc) output() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.stdout...)
}

// lines waits until stdout has at least n lines after the first, and returns them all.
func (p *proc) lines(n int) []string {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out := p.output()
		if len(out) >= n {
			return out
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("stdout has %d lines after 15 s, want %d: %q", len(out), n, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *proc) stderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// events parses every line after the first (the listening event included). Lines are parsed
// once, as they come.
func (p *proc) events() []event {
	p.t.Helper()
	out := p.output()
	p.parseMu.Lock()
	defer p.parseMu.Unlock()
	for _, line := range out[len(p.parsed):] {
		var ev event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			p.t.Fatalf("not a JSON event: %q: %v", line, err)
		}
		p.parsed = append(p.parsed, ev)
	}
	// Only ever appended to: the caller may keep this view.
	return p.parsed[:len(p.parsed):len(p.parsed)]
}

// waitFor waits until some event satisfies ok, and returns it.
func (p *proc) waitFor(what string, ok func(event) bool) event {
	p.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		for _, ev := range p.events() {
			if ok(ev) {
				return ev
			}
		}
		select {
		case <-p.changed:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			p.t.Fatalf("no %s event within 15 s; events %v; stderr %q", what, p.output(), p.stderrText())
		}
	}
}

// ended waits for the end event (closed or error) of the connection from peer.
func (p *proc) ended(peer string) event {
	p.t.Helper()
	return p.waitFor("end of "+peer, func(ev event) bool {
		return ev.Peer == peer && ev.Conn != 0 && (ev.Event == "closed" || ev.Event == "error")
	})
}

// ofAtLeast waits until the connection from peer has at least n events, and returns them.
func (p *proc) ofAtLeast(peer string, n int) []event {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("%d events of %s", n, peer), func(event) bool { return len(p.of(peer)) >= n })
	return p.of(peer)
}

// of is the events of the connection from peer.
func (p *proc) of(peer string) []event {
	var evs []event
	for _, ev := range p.events() {
		if ev.Peer == peer {
			evs = append(evs, ev)
		}
	}
	return evs
}

// wait waits (at most limit) for the server to exit and returns its exit code.
func (p *proc) wait(limit time.Duration) int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(limit):
		p.t.Fatalf("server still running after %v; stderr %q", limit, p.stderrText())
	}
	select {
	case <-p.readDone:
	case <-time.After(5 * time.Second):
		p.t.Fatal("stdout still open 5 s after the server exited")
	}
	var ee *exec.ExitError
	if errors.As(p.status, &ee) {
		return ee.ExitCode()
	}
	if p.status != nil {
		p.t.Fatal(p.status)
	}
	return 0
}

// stop sends sig and returns the exit code and how long the server took to exit.
func (p *proc) stop(sig syscall.Signal) (int, time.Duration) {
	p.t.Helper()
	began := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	code := p.wait(15 * time.Second)
	return code, time.Since(began)
}

// dial connects to the server over TCP (or to a unix:PATH address).
func (p *proc) dial() net.Conn {
	p.t.Helper()
	network, addr := "tcp", p.addr
	if path, ok := strings.CutPrefix(p.addr, "unix:"); ok {
		network, addr = "unix", path
	}
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	return c
}

// local is how the server names the client end of c.
func local(c net.Conn) string {
	if _, ok := c.(*net.UnixConn); ok {
		return fmt.Sprintf("pid:%d", os.Getpid())
	}
	return c.LocalAddr().String()
}

func frame(payload []byte) []byte {
	f := make([]byte, 4, 4+len(payload))
	binary.BigEndian.PutUint32(f, uint32(len(payload)))
	return append(f, payload...)
}

// readReply reads one reply frame.
func readReply(t *testing.T, c net.Conn) string {
	t.Helper()
	var h [4]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		t.Fatalf("reading a reply: %v", err)
	}
	n := binary.BigEndian.Uint32(h[:])
	if n > 1024 {
		t.Fatalf("reply of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("reading a reply: %v", err)
	}
	return string(b)
}

// tryReply reads one reply frame, or says why it could not.
func tryReply(c net.Conn) (string, error) {
	var h [4]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return "", err
	}
	n := binary.BigEndian.Uint32(h[:])
	if n > 1024 {
		return "", fmt.Errorf("reply of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		return "", err
	}
	return string(b), nil
}

// ack is the ACK expected for message seq carrying payload.
func ack(seq int, payload []byte) string {
	return fmt.Sprintf("ACK %d %d %s", seq, len(payload), sha(payload))
}

func sha(payload []byte) string {
	return fmt.Sprintf("%x", sha256.Sum256(payload))
}

// closeWrite shuts down the write side of c.
func closeWrite(t *testing.T, c net.Conn) {
	t.Helper()
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
}

// readToEnd reads until EOF (nil) or an error (a reset, say).
func readToEnd(c net.Conn) ([]byte, error) {
	return io.ReadAll(c)
}

// sendRaw delivers one raw-mode message: write, shut down, read to the server's EOF.
func sendRaw(t *testing.T, c net.Conn, payload []byte) {
	t.Helper()
	if _, err := c.Write(payload); err != nil {
		t.Fatal(err)
	}
	closeWrite(t, c)
	if rest, err := readToEnd(c); err != nil || len(rest) != 0 {
		t.Fatalf("after the message: %q, %v; want the server's EOF", rest, err)
	}
}

// tryRaw sends a raw-mode message as a client does and returns the first failure: nil when the
// server closed in an orderly way (the message is recorded).
func tryRaw(c net.Conn, payload []byte) error {
	if _, err := c.Write(payload); err != nil {
		return err
	}
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		return err
	}
	_, err := readToEnd(c)
	return err
}

// isReset says whether err is a connection reset: ECONNRESET, or its twins EPIPE (writing) and
// ENOTCONN (shutting down a connection already reset).
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ENOTCONN)
}

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func itoa(n int) string { return fmt.Sprint(n) }

// messages is the message events among evs.
func messages(evs []event) []event {
	var ms []event
	for _, ev := range evs {
		if ev.Event == "message" {
			ms = append(ms, ev)
		}
	}
	return ms
}

// reset closes c with a reset (SO_LINGER 0).
func reset(t *testing.T, c net.Conn) {
	t.Helper()
	if err := c.(*net.TCPConn).SetLinger(0); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
}

// exitOf runs the server to its end (it must exit by itself) and returns its exit code and
// stderr.
func exitOf(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binaryPath, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), stderr.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, stderr.String()
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("%q still running after 10 s", args)
		return 0, ""
	}
}
