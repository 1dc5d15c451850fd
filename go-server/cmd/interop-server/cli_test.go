package main

// The command line (PROTOCOL.md §5): usage errors, help, start-up failures, text output,
// restarting on the same port.

import (
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestUsageErrorsExit2WithOneLine(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--port", "abc"}, {"--mode", "udp"}, {"--bogus"}, {"--transport", "unix"}} {
		code, stderr := exitOf(t, args...)
		if code != 2 || !strings.HasPrefix(stderr, "error: ") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q", args, code, stderr)
		}
	}
}

func TestHelpExits0(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"--help", "-h", "--version"} {
		out, err := exec.Command(binaryPath, arg).Output()
		if err != nil || !strings.HasPrefix(string(out), "usage: interop-server") && arg != "--version" ||
			arg == "--version" && !strings.HasPrefix(string(out), "interop-server ") {
			t.Errorf("%s: %v, stdout %q", arg, err, out)
		}
	}
}

func TestCannotListenExits1(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	code, stderr := exitOf(t, "--port", itoa(port))
	if code != 1 || !strings.HasPrefix(stderr, "error: cannot listen on 127.0.0.1:"+itoa(port)+": Address already in use") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	code, stderr = exitOf(t, "--host", "192.0.2.1", "--port", "0")
	if code != 1 || !strings.HasPrefix(stderr, "error: cannot listen on 192.0.2.1:0: ") {
		t.Errorf("no such address: exit %d, stderr %q", code, stderr)
	}
}

func TestTextFormatHoldsHelloBackUntilTheFirstMessage(t *testing.T) {
	t.Parallel()
	p := start(t, "--mode", "framed", "--format", "text")
	if p.first != "listening on "+p.addr {
		t.Fatalf("first line %q", p.first)
	}
	a, b := p.dial(), p.dial()
	_, _ = b.Write(frame([]byte("from b")))
	readReply(t, b)
	_, _ = a.Write(frame(allBytes()))
	readReply(t, a)
	_, _ = a.Write(frame([]byte("a again\nwith a newline")))
	readReply(t, a)
	_ = a.Close()
	_ = b.Close()
	empty := p.dial() // closes without a message: its Hello alone
	_ = empty.Close()
	want := []string{
		"Hello: " + local(b), "from b",
		"Hello: " + local(a), `[binary message: 256 bytes, sha256 40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880, starts "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"...]`,
		"a again", "with a newline",
		"Hello: " + local(empty),
	}
	if got := p.lines(len(want)); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stdout\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if code, _ := p.stop(syscall.SIGTERM); code != 0 || p.stderrText() != "" {
		t.Errorf("exit %d, stderr %q", code, p.stderrText())
	}
}

func TestTextFormatErrorsGoToStderr(t *testing.T) {
	t.Parallel()
	p := start(t, "--mode", "framed", "--format", "text", "--max-message-bytes", "4")
	c := p.dial()
	_, _ = c.Write(frame([]byte("12345")))
	if reply := readReply(t, c); reply != "ERR too-large 5 > 4" {
		t.Errorf("reply %q", reply)
	}
	_ = c.Close()
	if code, _ := p.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d", code)
	}
	if want := "error: " + local(c) + ": frame 1 too large: 5 bytes > maximum 4\n"; p.stderrText() != want {
		t.Errorf("stderr %q, want %q", p.stderrText(), want)
	}
	if out := p.output(); strings.Join(out, "\n") != "Hello: "+local(c) {
		t.Errorf("stdout %q", out)
	}
}

func TestRestartOnTheSamePortAtOnce(t *testing.T) {
	t.Parallel()
	first := start(t)
	held := first.dial()
	_, _ = held.Write([]byte("unfinished"))
	first.waitFor("connected", func(ev event) bool { return ev.Event == "connected" })
	_ = first.cmd.Process.Kill()
	first.wait(10 * time.Second)
	_ = held.Close()
	port := first.addr[strings.LastIndex(first.addr, ":")+1:]
	second := start(t, "--port", port)
	c := second.dial()
	sendRaw(t, c, []byte("served by the second"))
	if ms := messages(second.ofAtLeast(local(c), 2)); len(ms) != 1 {
		t.Errorf("messages %+v", ms)
	}
}
