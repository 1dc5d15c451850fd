package main

// Transports (PROTOCOL.md §10): IPv6, Unix domain stream sockets, UDP.

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func needIPv6(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skip("cannot bind ::1:", err)
	}
	_ = ln.Close()
}

func TestIPv6AddressesInBrackets(t *testing.T) {
	t.Parallel()
	needIPv6(t)
	p := start(t, "--host", "::1", "--mode", "framed")
	if !strings.HasPrefix(p.addr, "[::1]:") {
		t.Fatalf("listening on %s", p.addr)
	}
	c := p.dial()
	_, _ = c.Write(frame([]byte("over IPv6")))
	if reply := readReply(t, c); reply != ack(1, []byte("over IPv6")) {
		t.Errorf("reply %q", reply)
	}
	_ = c.Close()
	peer := local(c)
	if !strings.HasPrefix(peer, "[::1]:") {
		t.Fatalf("local %s", peer)
	}
	p.ended(peer)
	evs := p.of(peer)
	if evs[0] != (event{Event: "connected", Conn: 1, Peer: peer, Local: p.addr}) {
		t.Errorf("connected %+v", evs[0])
	}
}

func TestDualStackListenerPrintsIPv4MappedPeersAsIPv4(t *testing.T) {
	t.Parallel()
	needIPv6(t)
	p := start(t, "--host", "::")
	port := p.addr[strings.LastIndex(p.addr, ":")+1:]
	if p.addr != "[::]:"+port {
		t.Fatalf("listening on %s", p.addr)
	}
	c, err := net.Dial("tcp4", "127.0.0.1:"+port)
	if err != nil {
		t.Skip("no dual-stack sockets here:", err)
	}
	sendRaw(t, c, []byte("mapped"))
	p.ended(local(c))
	if evs := p.of(local(c)); evs[0].Local != "127.0.0.1:"+port {
		t.Errorf("connected %+v", evs[0])
	}
}

func TestIPv4WildcardIsNotWidened(t *testing.T) {
	t.Parallel()
	p := start(t, "--host", "0.0.0.0")
	if !strings.HasPrefix(p.addr, "0.0.0.0:") {
		t.Errorf("listening on %s", p.addr)
	}
}

// sockDir is a directory with a short path: a Unix socket path holds at most 107 bytes.
func sockDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "gsrv")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func TestUnixFramedAndRawWithPidPeers(t *testing.T) {
	t.Parallel()
	path := filepath.Join(sockDir(t), "s.sock")
	p := start(t, "--transport", "unix", "--path", path, "--mode", "framed")
	if p.addr != "unix:"+path {
		t.Fatalf("listening on %s", p.addr)
	}
	c := p.dial()
	msgs := [][]byte{[]byte("over unix"), {}, allBytes()}
	for i, m := range msgs {
		_, _ = c.Write(frame(m))
		if reply := readReply(t, c); reply != ack(i+1, m) {
			t.Errorf("reply %q", reply)
		}
	}
	closeWrite(t, c)
	if rest, err := readToEnd(c); err != nil || len(rest) != 0 {
		t.Errorf("after the acks: %q, %v", rest, err)
	}
	peer := fmt.Sprintf("pid:%d", os.Getpid())
	end := p.ended(peer)
	evs := p.of(peer)
	if evs[0] != (event{Event: "connected", Conn: 1, Peer: peer, Local: "unix:" + path}) || len(messages(evs)) != 3 ||
		end != (event{Event: "closed", Conn: 1, Peer: peer, Messages: 3}) {
		t.Errorf("events %+v", evs)
	}
	if code, _ := p.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d", code)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("the socket file is still there after exit: %v", err)
	}

	raw := start(t, "--transport", "unix", "--path", path)
	c = raw.dial()
	sendRaw(t, c, []byte("raw over unix"))
	raw.ended(peer)
	if ms := messages(raw.of(peer)); len(ms) != 1 || *ms[0].Text != "raw over unix" {
		t.Errorf("messages %+v", ms)
	}
}

func TestUnixStaleSocketIsReplaced(t *testing.T) {
	t.Parallel()
	path := filepath.Join(sockDir(t), "stale.sock")
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	_ = stale.Close() // the file stays, nobody listens: connecting is refused
	if _, err := os.Lstat(path); err != nil {
		t.Fatal(err)
	}
	p := start(t, "--transport", "unix", "--path", path, "--mode", "framed")
	c := p.dial()
	_, _ = c.Write(frame([]byte("after stale")))
	if reply := readReply(t, c); reply != ack(1, []byte("after stale")) {
		t.Errorf("reply %q", reply)
	}
}

func TestUnixStartErrors(t *testing.T) {
	t.Parallel()
	dir := sockDir(t)
	// Somebody listens: address in use, exit 1, and the first server serves on.
	inUse := filepath.Join(dir, "in-use.sock")
	first := start(t, "--transport", "unix", "--path", inUse)
	code, stderr := exitOf(t, "--transport", "unix", "--path", inUse)
	if code != 1 || !strings.HasPrefix(stderr, "error: cannot listen on unix:"+inUse+": address in use") {
		t.Errorf("in use: exit %d, stderr %q", code, stderr)
	}
	c := first.dial()
	sendRaw(t, c, []byte("still served"))
	// Not a socket: exit 1, never deleted.
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stderr = exitOf(t, "--transport", "unix", "--path", regular)
	if code != 1 || !strings.Contains(stderr, "exists and is not a socket") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("regular file: exit %d, stderr %q", code, stderr)
	}
	if b, err := os.ReadFile(regular); err != nil || string(b) != "keep me" {
		t.Errorf("the regular file: %q, %v", b, err)
	}
	// Too long: a usage error before anything else.
	long := "/tmp/" + strings.Repeat("x", 125)
	code, stderr = exitOf(t, "--transport", "unix", "--path", long)
	if code != 2 || stderr != "error: unix socket path too long: 130 bytes, at most 107\n" {
		t.Errorf("long path: exit %d, stderr %q", code, stderr)
	}
}

// udp sends each payload from one socket connected to the server and returns the replies
// (an empty string where none came within wait).
func udp(t *testing.T, addr string, wait time.Duration, payloads ...[]byte) (net.Conn, []string) {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	var replies []string
	buf := make([]byte, 2048)
	for _, p := range payloads {
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(wait))
		n, err := c.Read(buf)
		if err != nil {
			replies = append(replies, "")
			continue
		}
		replies = append(replies, string(buf[:n]))
	}
	return c, replies
}

func TestUDPAcksEveryDatagramUpToTheLargest(t *testing.T) {
	t.Parallel()
	p := start(t, "--transport", "udp")
	largest := bytes.Repeat([]byte{'u'}, 65507)
	msgs := [][]byte{[]byte("one datagram"), {}, allBytes(), largest}
	c, replies := udp(t, p.addr, 10*time.Second, msgs...)
	for i, m := range msgs {
		if replies[i] != ack(i+1, m) {
			t.Errorf("reply %d: %.80q", i+1, replies[i])
		}
	}
	peer := c.LocalAddr().String()
	// Another socket is another peer, with its own numbering.
	c2, replies2 := udp(t, p.addr, 10*time.Second, []byte("second socket"))
	if replies2[0] != ack(1, []byte("second socket")) {
		t.Errorf("second socket: %q", replies2[0])
	}
	evs := p.ofAtLeast(peer, 5)
	if len(evs) != 5 || evs[0] != (event{Event: "connected", Conn: 1, Peer: peer, Local: p.addr}) {
		t.Fatalf("events %+v", evs)
	}
	for i, m := range messages(evs) {
		if m.Seq != uint64(i+1) || m.Len != uint64(len(msgs[i])) || m.SHA256 != sha(msgs[i]) {
			t.Errorf("message %+v", m)
		}
	}
	if evs := p.ofAtLeast(c2.LocalAddr().String(), 2); len(evs) != 2 || evs[1].Conn != 2 || evs[1].Seq != 1 {
		t.Errorf("second socket's events %+v", evs)
	}
	if code, _ := p.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d", code)
	}
	for _, ev := range p.events() {
		if ev.Event == "closed" {
			t.Errorf("UDP has no close: %+v", ev)
		}
	}
}

func TestUDPDatagramsOverTheMaximumAreNeitherLoggedNorAcknowledged(t *testing.T) {
	t.Parallel()
	p := start(t, "--transport", "udp", "--max-message-bytes", "10")
	c, replies := udp(t, p.addr, 500*time.Millisecond, []byte("0123456789A"), []byte("0123456789"))
	if replies[0] != "" || replies[1] != ack(1, []byte("0123456789")) {
		t.Errorf("replies %q", replies)
	}
	evs := p.ofAtLeast(c.LocalAddr().String(), 3)
	if evs[0].Event != "error" || evs[0].Conn != 0 || !strings.Contains(evs[0].Error, "datagram too large: 11 bytes > maximum 10") {
		t.Errorf("events %+v", evs)
	}
	if ms := messages(evs); len(ms) != 1 {
		t.Errorf("messages %+v", ms)
	}
}

func TestUDPTruncatedDatagramIsAnError(t *testing.T) {
	t.Parallel()
	needIPv6(t) // over IPv6 a datagram of 65,508 bytes can be sent
	p := start(t, "--transport", "udp", "--host", "::1")
	over := bytes.Repeat([]byte{'o'}, 65508)
	c, replies := udp(t, p.addr, 500*time.Millisecond, over, []byte("fine"))
	if replies[0] != "" || replies[1] != ack(1, []byte("fine")) {
		t.Errorf("replies %.80q", replies)
	}
	evs := p.ofAtLeast(c.LocalAddr().String(), 3)
	if evs[0].Event != "error" || !strings.Contains(evs[0].Error, "datagram truncated: more than 65507 bytes") {
		t.Errorf("events %+v", evs)
	}
	if !strings.HasPrefix(evs[0].Peer, "[::1]:") {
		t.Errorf("peer %q", evs[0].Peer)
	}
}

func TestUDPTextFormatPrintsHelloForEveryDatagram(t *testing.T) {
	t.Parallel()
	p := start(t, "--transport", "udp", "--format", "text")
	c, _ := udp(t, p.addr, 10*time.Second, []byte("first"), []byte("second\nline"))
	peer := c.LocalAddr().String()
	want := []string{"Hello: " + peer, "first", "Hello: " + peer, "second", "line"}
	if got := p.lines(len(want)); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stdout %q, want %q", got, want)
	}
}
