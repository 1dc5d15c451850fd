package main

// How the server stops (PROTOCOL.md §5): on SIGTERM or SIGINT, with connections open, and when
// its log (stdout) cannot be written.

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	epipeLine = "error: writing output: Broken pipe (os error 32)\n"
	errOutput = "ERR output writing output: Broken pipe (os error 32)"
)

func TestSignalWithNothingOpenExits0AtOnce(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		p := start(t, "--mode", "framed")
		c := p.dial()
		_, _ = c.Write(frame([]byte("before")))
		readReply(t, c)
		_ = c.Close()
		p.ended(local(c))
		code, took := p.stop(sig)
		if code != 0 || took > 2*time.Second {
			t.Errorf("%v: exit %d after %v", sig, code, took)
		}
		if p.stderrText() != "" {
			t.Errorf("%v: stderr %q", sig, p.stderrText())
		}
		evs := p.events()
		if last := evs[len(evs)-1]; last.Event != "closed" {
			t.Errorf("%v: last event %+v", sig, last)
		}
	}
}

func TestSigtermLetsAConnectionFinishDuringTheGracePeriod(t *testing.T) {
	t.Parallel()
	p := start(t)
	c := p.dial()
	_, _ = c.Write([]byte("begun before the signal, "))
	p.waitFor("connected", func(ev event) bool { return ev.Event == "connected" })
	began := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	// Not accepting any more: the listener is closed.
	if late, err := net.DialTimeout("tcp", p.addr, time.Second); err == nil {
		_ = late.Close()
		t.Error("a connection was accepted after SIGTERM")
	}
	sendRaw(t, c, []byte("finished after it"))
	if code := p.wait(10 * time.Second); code != 0 {
		t.Errorf("exit %d", code)
	}
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("exited %v after SIGTERM, with nothing left open", took)
	}
	ms := messages(p.of(local(c)))
	if len(ms) != 1 || *ms[0].Text != "begun before the signal, finished after it" {
		t.Errorf("messages %+v", ms)
	}
}

// Five clients stream frames stop-and-wait without a pause: the server serves them through the
// grace period, then cuts them off, each with its own event, and exits 0, without waiting for
// them to stop.
func TestSigtermCutsOffStreamingClientsAfterTheGracePeriod(t *testing.T) {
	t.Parallel()
	const clients = 5
	p := start(t, "--mode", "framed")
	type acked struct {
		seq uint64
		sha string
	}
	var mu sync.Mutex
	acks := make([][]acked, clients)
	var wg sync.WaitGroup
	peers := make([]string, clients)
	for i := 0; i < clients; i++ {
		c := p.dial()
		peers[i] = local(c)
		wg.Add(1)
		go func(i int, c net.Conn) {
			defer wg.Done()
			for seq := 1; ; seq++ {
				msg := []byte(strings.Repeat(fmt.Sprintf("client %d message %d ", i, seq), seq%5))
				if _, err := c.Write(frame(msg)); err != nil {
					return
				}
				reply, err := tryReply(c)
				if err != nil || reply != ack(seq, msg) {
					return
				}
				mu.Lock()
				acks[i] = append(acks[i], acked{uint64(seq), sha(msg)})
				mu.Unlock()
			}
		}(i, c)
	}
	for _, peer := range peers {
		p.waitFor("a message", func(ev event) bool { return ev.Event == "message" && ev.Peer == peer })
	}
	mu.Lock()
	atSignal := make([]int, clients)
	for i := range acks {
		atSignal[i] = len(acks[i])
	}
	mu.Unlock()
	code, took := p.stop(syscall.SIGTERM)
	t.Logf("exited %v after SIGTERM (grace 5 s)", took)
	wg.Wait()
	if code != 0 {
		t.Errorf("exit %d", code)
	}
	if took < 4900*time.Millisecond || took > 5*time.Second+time.Second {
		t.Errorf("exited %v after SIGTERM; want within a second of the 5 s grace period's end", took)
	}
	evs := p.events()
	logged := map[string]bool{}
	for _, m := range messages(evs) {
		logged[fmt.Sprint(m.Peer, m.Seq, m.SHA256)] = true
	}
	for i, peer := range peers {
		if len(acks[i]) <= atSignal[i] {
			t.Errorf("client %d was not served during the grace period (%d acks at the signal, %d in all)",
				i, atSignal[i], len(acks[i]))
		}
		mine := p.of(peer)
		last := mine[len(mine)-1]
		if last != (event{Event: "error", Conn: mine[0].Conn, Peer: peer,
			Error: "shutdown: cut off after the 5000 ms grace period"}) {
			t.Errorf("client %d ends with %+v", i, last)
		}
		ends := 0
		for _, ev := range mine {
			if ev.Event == "closed" || ev.Event == "error" {
				ends++
			}
		}
		if ends != 1 {
			t.Errorf("client %d has %d end events", i, ends)
		}
		// Every acknowledged message is in the log.
		for _, a := range acks[i] {
			if !logged[fmt.Sprint(peer, a.seq, a.sha)] {
				t.Errorf("client %d: acknowledged message %d is not in the log", i, a.seq)
			}
		}
	}
	if last := evs[len(evs)-1]; last != (event{Event: "error",
		Error: "shutdown: closed 5 connection(s) still open after 5000 ms"}) {
		t.Errorf("last event %+v", last)
	}
}

func TestSigtermCutOffInTextFormatGoesToStderr(t *testing.T) {
	t.Parallel()
	p := start(t, "--mode", "framed", "--format", "text")
	c := p.dial()
	_, _ = c.Write(frame([]byte("first")))
	readReply(t, c)
	_, _ = c.Write([]byte("\x00\x00\x00\x10never finished"))
	if code, _ := p.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d", code)
	}
	peer := local(c)
	wantErr := "error: " + peer + ": shutdown: cut off after the 5000 ms grace period\n" +
		"error: shutdown: closed 1 connection(s) still open after 5000 ms\n"
	if p.stderrText() != wantErr {
		t.Errorf("stderr %q, want %q", p.stderrText(), wantErr)
	}
	if out := p.output(); strings.Join(out, "\n") != "Hello: "+peer+"\nfirst" {
		t.Errorf("stdout %q", out)
	}
	// Cut off with a reset.
	if _, err := readToEnd(c); !isReset(err) {
		t.Errorf("read %v, want a reset", err)
	}
}

func TestStdoutFullAtStartExits3WithOneLine(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--port", "0"}, {"--port", "0", "--transport", "udp"}, {"--help"}} {
		full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
		if err != nil {
			t.Skip("no /dev/full")
		}
		cmd := exec.Command(binaryPath, args...)
		cmd.Stdout = full
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		_ = full.Close()
		line, _ := bufio.NewReader(stderr).ReadString(0)
		err = cmd.Wait()
		if cmd.ProcessState.ExitCode() != 3 || line != "error: writing output: No space left on device (os error 28)\n" {
			t.Errorf("%q: %v, stderr %q", args, err, line)
		}
	}
}

// A stdout closed at start cannot be told from /dev/null in Go: the runtime opens /dev/null in
// its place before main runs (PROTOCOL.md §5). The server serves, its records discarded.
func TestStdoutClosedAtStartIsDevNull(t *testing.T) {
	t.Parallel()
	path := sockDir(t) + "/s.sock"
	cmd := exec.Command("sh", "-c", `exec "$0" --transport unix --path "$1" --mode framed >&-`, binaryPath, path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var c net.Conn
	for deadline := time.Now().Add(10 * time.Second); ; {
		var err error
		if c, err = net.Dial("unix", path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, _ = c.Write(frame([]byte("discarded")))
	if reply, err := tryReply(c); err != nil || reply != ack(1, []byte("discarded")) {
		t.Errorf("reply %q, %v", reply, err)
	}
	_ = c.Close()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
}

// startBroken starts the server with stdout a pipe, reads the listening line, and returns the
// server and what makes stdout fail (closing the pipe's reading end: the next write gets EPIPE).
func startBroken(t *testing.T, args ...string) (*proc, func()) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := startWith(t, w, defaults(args)...)
	_ = w.Close()
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "listening on ") {
		t.Fatalf("first line %q, %v", line, err)
	}
	p.addr = strings.TrimSuffix(strings.TrimPrefix(line, "listening on "), "\n")
	return p, func() { _ = r.Close() }
}

// exitsWithOneLine checks that the server exits 3 within a second or so of since, with exactly
// the one line on stderr.
func exitsWithOneLine(t *testing.T, p *proc, since time.Time) {
	t.Helper()
	code := p.wait(10 * time.Second)
	took := time.Since(since)
	t.Logf("exited %v after its log broke", took)
	if code != 3 || p.stderrText() != epipeLine {
		t.Errorf("exit %d, stderr %q; want 3, %q", code, p.stderrText(), epipeLine)
	}
	if took > 2*time.Second {
		t.Errorf("exited %v after its log broke; want within a second", took)
	}
}

func TestFramedMessageThatCannotBeLoggedGetsErrOutputAndSoDoesAnIdleConnection(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"text", "json"} {
		p, breakStdout := startBroken(t, "--mode", "framed", "--format", format)
		idle := p.dial()
		if format == "text" {
			// One round trip: accepted and served (text format writes a record per message).
			_, _ = idle.Write(frame([]byte("idle one")))
			if reply := readReply(t, idle); reply != ack(1, []byte("idle one")) {
				t.Fatalf("reply %q", reply)
			}
		} else {
			time.Sleep(200 * time.Millisecond) // its connected event is written
		}
		breakStdout()
		c := p.dial()
		broke := time.Now()
		_, _ = c.Write(frame([]byte("cannot be logged")))
		if reply, err := tryReply(c); reply != errOutput {
			t.Errorf("%s: reply %q, %v; want %q", format, reply, err, errOutput)
		}
		// The idle connection gets it in place of the ACK of its next frame.
		_, _ = idle.Write(frame([]byte("idle two")))
		if reply, err := tryReply(idle); reply != errOutput {
			t.Errorf("%s: idle connection: reply %q, %v; want %q", format, reply, err, errOutput)
		}
		exitsWithOneLine(t, p, broke)
	}
}

func TestRawConnectionsAreResetWhenTheLogBreaks(t *testing.T) {
	t.Parallel()
	p, breakStdout := startBroken(t, "--mode", "raw", "--format", "text")
	open := p.dial()
	_, _ = open.Write([]byte("not finished"))
	time.Sleep(100 * time.Millisecond)
	breakStdout()
	c := p.dial()
	broke := time.Now()
	if err := tryRaw(c, []byte("cannot be logged")); !isReset(err) {
		t.Errorf("the client saw %v, want a reset: an orderly close would say recorded", err)
	}
	if _, err := readToEnd(open); !isReset(err) {
		t.Errorf("the open connection saw %v, want a reset", err)
	}
	exitsWithOneLine(t, p, broke)
}

func TestUDPDatagramThatCannotBeLoggedIsNotAcknowledged(t *testing.T) {
	t.Parallel()
	p, breakStdout := startBroken(t, "--transport", "udp")
	breakStdout()
	broke := time.Now()
	_, replies := udp(t, p.addr, 300*time.Millisecond, []byte("cannot be logged"))
	if replies[0] != "" {
		t.Errorf("reply %q", replies[0])
	}
	exitsWithOneLine(t, p, broke)
}

func TestLogBreakingDuringTheGracePeriodExits3(t *testing.T) {
	t.Parallel()
	p, breakStdout := startBroken(t, "--mode", "framed")
	c := p.dial()
	time.Sleep(200 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	breakStdout()
	broke := time.Now()
	_, _ = c.Write(frame([]byte("during the grace period")))
	if reply, err := tryReply(c); reply != errOutput {
		t.Errorf("reply %q, %v", reply, err)
	}
	exitsWithOneLine(t, p, broke)
}
