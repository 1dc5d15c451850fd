package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"interop/go-client/internal/wire"
)

type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

func run(args ...string) result {
	var out, errOut bytes.Buffer
	start := time.Now()
	code := Run(args, &out, &errOut)
	return result{code, out.String(), errOut.String(), time.Since(start)}
}

// expect checks the exit code, and that a failure printed exactly one `error: ` line.
func expect(t *testing.T, r result, code int, stderrHas string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	if code == 0 {
		if r.stderr != "" {
			t.Errorf("stderr on success: %q", r.stderr)
		}
		return
	}
	if !strings.HasPrefix(r.stderr, "error: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr is not one `error: ` line: %q", r.stderr)
	}
	if !strings.Contains(r.stderr, stderrHas) {
		t.Errorf("stderr %q does not contain %q", r.stderr, stderrHas)
	}
}

func jsonLines(t *testing.T, stdout string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		lines = append(lines, m)
	}
	return lines
}

func payloadsOf(msgs []received) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.payload))
	}
	return out
}

// writeFile writes data to a fresh temporary file and returns its path.
func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "msg")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		r := run("--port", "1", arg)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: interop-client") || r.stderr != "" {
			t.Errorf("%s: %+v", arg, r)
		}
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	port, rec := tcpServer(t, "127.0.0.1", rawHandler)
	for _, args := range [][]string{
		{"--port", "abc"}, {"--port", "0"}, {"--mode", "udp"}, {"--format", "xml"},
		{"--timeout-ms", "0"}, {"--bogus"}, {"--host"}, {"--transport", "unix"},
		{"--pipeline"}, {"--half-close", "--mode", "raw"}, {"--pipeline", "--mode", "framed", "--transport", "udp"},
		{"-x", "msg"}, {"--pipeline=1", "--mode=framed"},
	} {
		r := run(append([]string{"--port", port}, args...)...)
		expect(t, r, 2, "")
		if r.stdout != "" {
			t.Errorf("%q: stdout %q", args, r.stdout)
		}
	}
	if _, conns := rec.snapshot(); conns != 0 {
		t.Errorf("a usage error connected %d times", conns)
	}
}

func TestRawDelivery(t *testing.T) {
	port, rec := tcpServer(t, "127.0.0.1", rawHandler)
	r := run("--port", port, "a", "", "--timeout-ms", "5000", "Hello SocketServer!!!", "é")
	expect(t, r, 0, "")
	if r.stdout != "a\n\nHello SocketServer!!!\né\n" {
		t.Errorf("stdout %q", r.stdout)
	}
	msgs, conns := rec.snapshot()
	if got := payloadsOf(msgs); !reflect.DeepEqual(got, []string{"a", "", "Hello SocketServer!!!", "é"}) || conns != 4 {
		t.Errorf("server got %q on %d connections", got, conns)
	}
}

func TestDefaultMessage(t *testing.T) {
	for _, mode := range []string{"raw", "framed"} {
		port, rec := tcpServer(t, "127.0.0.1", map[string]func(net.Conn, *recorder){"raw": rawHandler, "framed": framedHandler(nil)}[mode])
		r := run("--port="+port, "--mode="+mode)
		expect(t, r, 0, "")
		msgs, _ := rec.snapshot()
		if r.stdout != "Hello SocketServer!!!\n" || !reflect.DeepEqual(payloadsOf(msgs), []string{"Hello SocketServer!!!"}) {
			t.Errorf("%s: stdout %q, server %q", mode, r.stdout, payloadsOf(msgs))
		}
	}
}

func TestFileAllBytesAndOrder(t *testing.T) {
	port, rec := tcpServer(t, "127.0.0.1", rawHandler)
	all := writeFile(t, allBytes())
	second := writeFile(t, []byte("second"))
	r := run("last", "--port", port, "--file", all, "--file="+second)
	expect(t, r, 0, "")
	want := `[binary message: 256 bytes, sha256 40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880, starts "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"...]` + "\nsecond\nlast\n"
	if r.stdout != want {
		t.Errorf("stdout\n%s\nwant\n%s", r.stdout, want)
	}
	msgs, _ := rec.snapshot()
	if len(msgs) != 3 || !bytes.Equal(msgs[0].payload, allBytes()) || string(msgs[1].payload) != "second" || string(msgs[2].payload) != "last" {
		t.Errorf("server got %q", payloadsOf(msgs))
	}
}

func TestUnreadableFileSendsNothing(t *testing.T) {
	port, rec := tcpServer(t, "127.0.0.1", rawHandler)
	r := run("--port", port, "first", "--file", filepath.Join(t.TempDir(), "missing"))
	expect(t, r, 1, "cannot read --file")
	if _, conns := rec.snapshot(); conns != 0 || r.stdout != "" {
		t.Errorf("sent something: %d connections, stdout %q", conns, r.stdout)
	}
}

func TestJSONFields(t *testing.T) {
	for _, mode := range []string{"raw", "framed"} {
		handler := rawHandler
		if mode == "framed" {
			handler = framedHandler(nil)
		}
		port, rec := tcpServer(t, "127.0.0.1", handler)
		r := run("--port", port, "--mode", mode, "--format", "json", "abc", "")
		expect(t, r, 0, "")
		lines := jsonLines(t, r.stdout)
		msgs, _ := rec.snapshot()
		if len(lines) != 2 || len(msgs) != 2 {
			t.Fatalf("%s: %d lines, %d messages", mode, len(lines), len(msgs))
		}
		for i, line := range lines {
			seq, ack := 1, "none"
			if mode == "framed" {
				seq, ack = i+1, "verified"
			}
			payload := msgs[i].payload
			want := map[string]any{
				"seq": float64(seq), "local": msgs[i].peer, "peer": "127.0.0.1:" + port, "mode": mode,
				"len": float64(len(payload)), "sha256": wire.SHA256Hex(payload), "ack": ack, "transport": "tcp",
			}
			if !reflect.DeepEqual(line, want) {
				t.Errorf("%s line %d:\n got %v\nwant %v", mode, i, line, want)
			}
		}
		if mode == "raw" && lines[0]["local"] == lines[1]["local"] {
			t.Errorf("raw messages shared a connection")
		}
	}
}

func TestFramedManyMessagesOneConnection(t *testing.T) {
	port, rec := tcpServer(t, "127.0.0.1", framedHandler(nil))
	args := []string{"--port", port, "--mode", "framed", "--format", "json"}
	var want []string
	for i := 0; i < 200; i++ {
		want = append(want, fmt.Sprintf("message %d", i))
	}
	want[7] = ""
	r := run(append(args, append([]string{"--"}, want...)...)...)
	expect(t, r, 0, "")
	msgs, conns := rec.snapshot()
	if !reflect.DeepEqual(payloadsOf(msgs), want) || conns != 1 {
		t.Errorf("server got %d messages on %d connections", len(msgs), conns)
	}
	lines := jsonLines(t, r.stdout)
	if len(lines) != 200 || lines[199]["seq"] != float64(200) || lines[199]["ack"] != "verified" {
		t.Errorf("lines: %d, last %v", len(lines), lines[len(lines)-1])
	}
}

// A small frame leaves in one write: the server's first read holds prefix and payload.
func TestFramedPrefixAndPayloadInOneWrite(t *testing.T) {
	firstRead := make(chan int, 1)
	port, _ := tcpServer(t, "127.0.0.1", func(conn net.Conn, rec *recorder) {
		buf := make([]byte, 4096)
		n, _ := conn.Read(buf)
		firstRead <- n
		payloads, _ := splitFrames(buf[:n])
		_ = ackAll(conn, payloads)
		_, _ = io.Copy(io.Discard, conn)
	})
	r := run("--port", port, "--mode", "framed", "Hello SocketServer!!!")
	expect(t, r, 0, "")
	if n := <-firstRead; n != 25 {
		t.Errorf("first read got %d bytes, want 25", n)
	}
}

func TestLargeFramedMessage(t *testing.T) {
	port, rec := tcpServer(t, "127.0.0.1", framedHandler(nil))
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB, UTF-8: a "long message"
	r := run("--port", port, "--mode", "framed", "--file", writeFile(t, big), "tail")
	expect(t, r, 0, "")
	msgs, _ := rec.snapshot()
	if len(msgs) != 2 || !bytes.Equal(msgs[0].payload, big) || !strings.HasPrefix(r.stdout, "[long message: 1048576 bytes") {
		t.Errorf("stdout %q", r.stdout)
	}
}

func TestFramedBadReplies(t *testing.T) {
	long := bytes.Repeat([]byte("A"), 1025)
	for _, tc := range []struct {
		name  string
		reply func(seq int, p []byte) []byte
		has   string
	}{
		{"wrong hash", func(seq int, p []byte) []byte {
			q := append([]byte(nil), p...)
			q[0] ^= 1 // same length, other hash
			return wire.ExpectedAck(uint64(seq), q)
		}, "wrong sha256"},
		{"wrong seq", func(seq int, p []byte) []byte { return wire.ExpectedAck(uint64(seq+1), p) }, "wrong sequence number"},
		{"wrong length", func(seq int, p []byte) []byte {
			return []byte(fmt.Sprintf("ACK %d %d %s", seq, len(p)+1, wire.SHA256Hex(p)))
		}, "wrong length"},
		{"malformed", func(int, []byte) []byte { return []byte("OK") }, `malformed reply "OK"`},
		{"ERR", func(int, []byte) []byte { return []byte("ERR too-large 5 > 4") }, "server rejected message 2: ERR too-large 5 > 4"},
		{"reply too long", func(int, []byte) []byte { return long }, "exceeds the limit of 1024"},
		{"closed", func(int, []byte) []byte { return []byte("close") }, "closed the connection before acknowledging message 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port, _ := tcpServer(t, "127.0.0.1", framedHandler(func(seq int, p []byte) []byte {
				if seq == 1 {
					return nil
				}
				return tc.reply(seq, p)
			}))
			r := run("--port", port, "--mode", "framed", "one", "two", "three")
			expect(t, r, 5, tc.has)
			if r.stdout != "one\n" {
				t.Errorf("stdout %q: only the first message was delivered", r.stdout)
			}
		})
	}
}

// The server rejects a frame from its length alone and closes without reading the payload:
// the client's write breaks, and it reports the ERR reply (§3.4).
func TestErrReplyAfterFailedWrite(t *testing.T) {
	port, _ := tcpServer(t, "127.0.0.1", func(conn net.Conn, _ *recorder) {
		var h [4]byte
		if _, err := io.ReadFull(conn, h[:]); err != nil {
			return
		}
		frame, _ := wire.EncodeFrame([]byte("ERR too-large 33554432 > 1024"))
		_, _ = conn.Write(frame)
	})
	big := make([]byte, 32<<20)
	r := run("--port", port, "--mode", "framed", "--file", writeFile(t, big))
	expect(t, r, 5, "ERR too-large 33554432 > 1024")
}

// The same while pipelining, after acknowledging message 1: whether the write broke or not,
// message 1 is delivered (printed) and the ERR for message 2 reported. (Before, a broken write
// skipped the ACK, so what was printed depended on when the reset landed.)
func TestErrReplyAfterFailedPipelinedWrite(t *testing.T) {
	port, _ := tcpServer(t, "127.0.0.1", func(conn net.Conn, _ *recorder) {
		first, err := wire.ReadFrame(conn, 1024)
		if err != nil {
			return
		}
		var h [4]byte
		if _, err := io.ReadFull(conn, h[:]); err != nil {
			return
		}
		out, _ := wire.AppendFrame(nil, wire.ExpectedAck(1, first))
		out, _ = wire.AppendFrame(out, []byte("ERR too-large 33554432 > 1024"))
		_, _ = conn.Write(out)
	})
	big := make([]byte, 32<<20)
	r := run("--port", port, "--mode", "framed", "--pipeline", "--file", writeFile(t, []byte("ok")), "--file", writeFile(t, big))
	expect(t, r, 5, "server rejected message 2: ERR too-large 33554432 > 1024")
	if r.stdout != "ok\n" {
		t.Errorf("stdout %q, want the acknowledged message", r.stdout)
	}
}

func TestRefusedExit3(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	for _, mode := range []string{"raw", "framed"} {
		r := run("--port", port, "--mode", mode, "--timeout-ms", "60000")
		expect(t, r, 3, "connection refused")
		// At once, not after the 60 s limit; the bound leaves room for a busy machine.
		if r.took > 10*time.Second {
			t.Errorf("took %v", r.took)
		}
	}
}

func TestUnresolvableHostExit3(t *testing.T) {
	r := run("--host", "no-such-host.invalid", "--timeout-ms", "5000")
	expect(t, r, 3, "no-such-host.invalid")
}

func TestTimeoutExit4(t *testing.T) {
	done := make(chan struct{})
	defer close(done)
	for _, tc := range []struct {
		mode    string
		handler func(net.Conn, *recorder)
	}{
		{"raw", silentHandler(done)},
		{"framed", framedHandler(func(int, []byte) []byte { return []byte("hang") })},
	} {
		port, _ := tcpServer(t, "127.0.0.1", tc.handler)
		r := run("--port", port, "--mode", tc.mode, "--timeout-ms", "300")
		expect(t, r, 4, "timed out after 300 ms")
		// At its own limit, not the default 10 s; the margin leaves room for a busy machine.
		if r.took < 300*time.Millisecond || r.took > 300*time.Millisecond+5*time.Second {
			t.Errorf("%s: took %v for a 300 ms timeout", tc.mode, r.took)
		}
		if r.stdout != "" {
			t.Errorf("%s: printed %q for an undelivered message", tc.mode, r.stdout)
		}
	}
}

// Also how a raw connection over a server's connection limit is turned away (§2): reset at
// once, unread. Rounds of it, since the reset can land anywhere in the exchange.
func TestResetExit1(t *testing.T) {
	port, _ := tcpServer(t, "127.0.0.1", func(conn net.Conn, _ *recorder) {
		_ = conn.(*net.TCPConn).SetLinger(0) // close with RST
	})
	for i := 0; i < 5; i++ {
		r := run("--port", port, "--timeout-ms", "5000", "msg")
		expect(t, r, 1, "")
	}
}

func TestIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	ln.Close()
	for _, mode := range []string{"raw", "framed"} {
		handler := rawHandler
		if mode == "framed" {
			handler = framedHandler(nil)
		}
		port, rec := tcpServer(t, "::1", handler)
		r := run("--host", "::1", "--port", port, "--mode", mode, "--format", "json", "v6")
		expect(t, r, 0, "")
		line := jsonLines(t, r.stdout)[0]
		msgs, _ := rec.snapshot()
		if line["peer"] != "[::1]:"+port || line["local"] != msgs[0].peer || !strings.HasPrefix(msgs[0].peer, "[::1]:") {
			t.Errorf("%s: %v, server saw %s", mode, line, msgs[0].peer)
		}
	}
}

func TestUnixSocket(t *testing.T) {
	for _, mode := range []string{"raw", "framed"} {
		handler := rawHandler
		if mode == "framed" {
			handler = framedHandler(nil)
		}
		path, rec := unixServer(t, handler)
		r := run("--transport", "unix", "--path", path, "--mode", mode, "--format", "json", "x", "")
		expect(t, r, 0, "")
		lines := jsonLines(t, r.stdout)
		msgs, _ := rec.snapshot()
		if !reflect.DeepEqual(payloadsOf(msgs), []string{"x", ""}) || len(lines) != 2 {
			t.Fatalf("%s: server got %q, lines %v", mode, payloadsOf(msgs), lines)
		}
		want := map[string]any{"local": "pid:" + strconv.Itoa(os.Getpid()), "peer": "unix:" + path, "transport": "unix", "mode": mode}
		for k, v := range want {
			if lines[1][k] != v {
				t.Errorf("%s: %s = %v, want %v", mode, k, lines[1][k], v)
			}
		}
	}
}

func TestUnixErrors(t *testing.T) {
	long := "/tmp/" + strings.Repeat("s", 125)
	r := run("--transport", "unix", "--path", long)
	expect(t, r, 2, "")
	if r.stderr != "error: unix socket path too long: 130 bytes, at most 107\n" {
		t.Errorf("stderr %q", r.stderr)
	}
	expect(t, run("--transport", "unix", "--path", filepath.Join(t.TempDir(), "missing.sock")), 3, "no such file")
	// A socket file nobody listens on: refused.
	path := filepath.Join(t.TempDir(), "stale.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	expect(t, run("--transport", "unix", "--path", path), 3, "connection refused")
}

func TestUDP(t *testing.T) {
	port, rec := udpServer(t, nil)
	max := bytes.Repeat([]byte("u"), 65507)
	r := run("--transport", "udp", "--port", port, "--format", "json", "--mode", "framed", "--file", writeFile(t, max), "a", "")
	expect(t, r, 0, "")
	msgs, _ := rec.snapshot()
	if len(msgs) != 3 || !bytes.Equal(msgs[0].payload, max) || string(msgs[1].payload) != "a" || len(msgs[2].payload) != 0 {
		t.Fatalf("server got %d messages", len(msgs))
	}
	for i, line := range jsonLines(t, r.stdout) {
		if line["seq"] != float64(i+1) || line["ack"] != "verified" || line["transport"] != "udp" ||
			line["local"] != msgs[i].peer || line["peer"] != "127.0.0.1:"+port {
			t.Errorf("line %d: %v", i, line)
		}
	}
}

func TestUDPOversizedSendsNothing(t *testing.T) {
	port, rec := udpServer(t, nil)
	r := run("--transport", "udp", "--port", port, "small", "--file", writeFile(t, make([]byte, 65508)))
	expect(t, r, 2, "")
	if r.stderr != "error: message 1 is 65508 bytes; a UDP datagram carries at most 65507\n" {
		t.Errorf("stderr %q", r.stderr)
	}
	time.Sleep(100 * time.Millisecond)
	if msgs, _ := rec.snapshot(); len(msgs) != 0 || r.stdout != "" {
		t.Errorf("sent %d datagrams", len(msgs))
	}
}

func TestUDPFailures(t *testing.T) {
	t.Run("no reply", func(t *testing.T) {
		port, _ := udpServer(t, func(int, []byte) []byte { return []byte("none") })
		r := run("--transport", "udp", "--port", port, "--timeout-ms", "300")
		expect(t, r, 4, "timed out after 300 ms")
		// At its own limit, not the default 10 s; the margin leaves room for a busy machine.
		if r.took > 300*time.Millisecond+5*time.Second {
			t.Errorf("took %v", r.took)
		}
	})
	t.Run("wrong ack", func(t *testing.T) {
		port, _ := udpServer(t, func(seq int, p []byte) []byte {
			if seq == 1 {
				return nil
			}
			return wire.ExpectedAck(1, p)
		})
		r := run("--transport", "udp", "--port", port, "one", "two")
		expect(t, r, 5, "wrong sequence number")
		if r.stdout != "one\n" {
			t.Errorf("stdout %q", r.stdout)
		}
	})
	t.Run("refused", func(t *testing.T) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
		pc.Close()
		expect(t, run("--transport", "udp", "--port", port, "--timeout-ms", "5000"), 3, "connection refused")
	})
}

// --pipeline: the server reads every frame before it acknowledges any; a stop-and-wait client
// would wait forever.
func TestPipeline(t *testing.T) {
	msgs := []string{"p1", "", "p3", "p4"}
	total := 0
	for _, m := range msgs {
		total += 4 + len(m)
	}
	port, rec := tcpServer(t, "127.0.0.1", func(conn net.Conn, rec *recorder) {
		buf := make([]byte, total)
		if _, err := io.ReadFull(conn, buf); err != nil {
			return
		}
		payloads, _ := splitFrames(buf)
		for i, p := range payloads {
			rec.add(received{peerOf(conn), i + 1, p})
		}
		_ = ackAll(conn, payloads)
		_, _ = io.Copy(io.Discard, conn)
	})
	r := run(append([]string{"--port", port, "--mode", "framed", "--pipeline", "--timeout-ms", "3000"}, msgs...)...)
	expect(t, r, 0, "")
	got, _ := rec.snapshot()
	if !reflect.DeepEqual(payloadsOf(got), []string{"p1", "", "p3", "p4"}) || r.stdout != "p1\n\np3\np4\n" {
		t.Errorf("server got %q, stdout %q", payloadsOf(got), r.stdout)
	}
}

// --half-close: the server reads to EOF before it acknowledges anything.
func TestHalfClose(t *testing.T) {
	halfClose := func(conn net.Conn, rec *recorder) {
		data, err := io.ReadAll(conn) // returns at the client's CloseWrite
		if err != nil {
			return
		}
		payloads, ok := splitFrames(data)
		if !ok {
			return
		}
		for i, p := range payloads {
			rec.add(received{peerOf(conn), i + 1, p})
		}
		_ = ackAll(conn, payloads)
	}
	port, rec := tcpServer(t, "127.0.0.1", halfClose)
	r := run("--port", port, "--mode", "framed", "--half-close", "--format", "json", "h1", "h2", "")
	expect(t, r, 0, "")
	got, conns := rec.snapshot()
	if !reflect.DeepEqual(payloadsOf(got), []string{"h1", "h2", ""}) || conns != 1 || len(jsonLines(t, r.stdout)) != 3 {
		t.Errorf("server got %q on %d connections; stdout %q", payloadsOf(got), conns, r.stdout)
	}
	// Over a Unix socket too.
	path, rec := unixServer(t, halfClose)
	expect(t, run("--transport", "unix", "--path", path, "--mode", "framed", "--half-close", "u1", "u2"), 0, "")
	if got, _ := rec.snapshot(); !reflect.DeepEqual(payloadsOf(got), []string{"u1", "u2"}) {
		t.Errorf("unix: server got %q", payloadsOf(got))
	}
	// --pipeline alone does not shut down the write side: against this server it times out.
	port, _ = tcpServer(t, "127.0.0.1", halfClose)
	expect(t, run("--port", port, "--mode", "framed", "--pipeline", "--timeout-ms", "300", "x"), 4, "")
}

// A wrong ACK in a pipelined batch: messages before it were delivered, then exit 5.
func TestPipelineWrongAck(t *testing.T) {
	port, _ := tcpServer(t, "127.0.0.1", func(conn net.Conn, _ *recorder) {
		data, _ := io.ReadAll(conn)
		payloads, _ := splitFrames(data)
		if len(payloads) != 2 {
			return
		}
		out, _ := wire.AppendFrame(nil, wire.ExpectedAck(1, payloads[0]))
		out, _ = wire.AppendFrame(out, wire.ExpectedAck(2, []byte("something else")))
		_, _ = conn.Write(out)
	})
	r := run("--port", port, "--mode", "framed", "--half-close", "ok", "bad")
	expect(t, r, 5, "message 2")
	if r.stdout != "ok\n" {
		t.Errorf("stdout %q", r.stdout)
	}
}
