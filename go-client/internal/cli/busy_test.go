package cli

// ERR busy and ERR output (PROTOCOL.md §3.3, §3.4, §5, §11): exit 5 and exactly the error line
// §3.3 gives, however the server's close meets the client's write.

import (
	"io"
	"net"
	"testing"

	"interop/go-client/internal/wire"
)

const (
	busyReply   = "ERR busy 2 connections open, the most this server serves (--max-connections)"
	busyLine    = "error: server is busy: " + busyReply + "\n"
	outputReply = "ERR output writing output: No space left on device (os error 28)"
)

// framedWays are the ways of sending in framed mode: stop-and-wait, pipelined, half-closed.
var framedWays = [][]string{
	{"--mode", "framed"},
	{"--mode", "framed", "--pipeline"},
	{"--mode", "framed", "--half-close"},
}

func args(parts ...[]string) []string {
	var all []string
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

// exactly checks the exit code, stdout and stderr.
func exactly(t *testing.T, r result, code int, stdout, stderr string, what []string) {
	t.Helper()
	if r.code != code || r.stdout != stdout || r.stderr != stderr {
		t.Fatalf("%q: exit %d, stdout %q, stderr %q; want %d, %q, %q", what, r.code, r.stdout, r.stderr, code, stdout, stderr)
	}
}

func writeReply(conn net.Conn, reply string) error {
	frame, _ := wire.EncodeFrame([]byte(reply))
	_, err := conn.Write(frame)
	return err
}

// busyHandler is a server over its connection limit (§5): ERR busy at once, without reading,
// then its write side shut down; it closes once the client has.
func busyHandler(conn net.Conn, _ *recorder) {
	if writeReply(conn, busyReply) != nil {
		return
	}
	_ = conn.(interface{ CloseWrite() error }).CloseWrite()
	_, _ = io.Copy(io.Discard, conn)
}

func TestErrBusy(t *testing.T) {
	port, _ := tcpServer(t, "127.0.0.1", busyHandler)
	path, _ := unixServer(t, busyHandler)
	for _, target := range [][]string{{"--port", port}, {"--transport", "unix", "--path", path}} {
		for _, way := range framedWays {
			a := args(target, way, []string{"one", "two"})
			exactly(t, run(a...), 5, "", busyLine, a)
		}
	}
}

func TestErrOutput(t *testing.T) {
	// ERR output in place of the ACK of message 1 ("one"), or of message 2 ("first", "second").
	port, _ := tcpServer(t, "127.0.0.1", framedHandler(func(seq int, p []byte) []byte {
		if string(p) == "one" || seq == 2 {
			return []byte(outputReply)
		}
		return nil
	}))
	for _, way := range framedWays {
		a := args([]string{"--port", port}, way, []string{"one", "two"})
		exactly(t, run(a...), 5, "", "error: server could not log message 1: "+outputReply+"\n", a)
	}
	a := []string{"--port", port, "--mode", "framed", "first", "second"}
	exactly(t, run(a...), 5, "first\n", "error: server could not log message 2: "+outputReply+"\n", a)
}

// The server sends ERR busy and closes without reading: at once, or once the client's data has
// arrived (it reads one byte and leaves the rest unread, so the close is a reset). The client's
// write may break either way (over a Unix socket, at once: EPIPE), but the ERR is already in its
// receive buffer and must be what it reports. A 4 MiB message is still being written when the
// close lands. Rounds of every way.
func TestErrBusyFromAServerThatClosesAtOnce(t *testing.T) {
	large := writeFile(t, make([]byte, 4<<20))
	for _, waitForData := range []bool{false, true} {
		handler := func(conn net.Conn, _ *recorder) {
			if writeReply(conn, busyReply) == nil && waitForData {
				_, _ = conn.Read(make([]byte, 1))
			}
		}
		port, _ := tcpServer(t, "127.0.0.1", handler)
		path, _ := unixServer(t, handler)
		for round := 0; round < 2; round++ {
			for _, target := range [][]string{{"--port", port}, {"--transport", "unix", "--path", path}} {
				for _, way := range framedWays {
					for _, message := range [][]string{{"small"}, {"--file", large}} {
						a := args(target, way, message)
						exactly(t, run(a...), 5, "", busyLine, a)
					}
				}
			}
		}
	}
}

// A server that resets right after ERR busy can reset the connection before the client has seen
// it connected: connecting then reports the reset, but the ERR is in the receive buffer.
func TestErrBusyFromAServerThatResetsAtOnce(t *testing.T) {
	port, _ := tcpServer(t, "127.0.0.1", func(conn net.Conn, _ *recorder) {
		if writeReply(conn, busyReply) == nil {
			_ = conn.(*net.TCPConn).SetLinger(0) // the close is a reset
		}
	})
	for round := 0; round < 3; round++ {
		for _, way := range framedWays {
			a := args([]string{"--port", port}, way, []string{"x"})
			exactly(t, run(a...), 5, "", busyLine, a)
		}
	}
}
