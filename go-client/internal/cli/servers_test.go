package cli

// In-test servers: the server side of PROTOCOL.md §2, §3, §10, just enough to drive the client.

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"interop/go-client/internal/wire"
)

// received is what a server saw: one entry per message, with the client's address.
type received struct {
	peer    string
	seq     int
	payload []byte
}

// recorder collects messages from server goroutines.
type recorder struct {
	mu    sync.Mutex
	msgs  []received
	conns int
}

func (r *recorder) add(m received) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
}

func (r *recorder) connected() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conns++
}

func (r *recorder) snapshot() ([]received, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.msgs...), r.conns
}

// serve accepts connections on ln until the test ends and runs handle for each.
func serve(t *testing.T, ln net.Listener, rec *recorder, handle func(net.Conn, *recorder)) {
	t.Helper()
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			rec.connected()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				handle(conn, rec)
			}()
		}
	}()
}

// tcpServer listens on host (127.0.0.1 or ::1) and returns the port.
func tcpServer(t *testing.T, host string, handle func(net.Conn, *recorder)) (string, *recorder) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	serve(t, ln, rec, handle)
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), rec
}

// unixServer listens on a fresh socket path and returns it.
func unixServer(t *testing.T, handle func(net.Conn, *recorder)) (string, *recorder) {
	t.Helper()
	dir, err := os.MkdirTemp("", "igc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "s.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	serve(t, ln, rec, handle)
	return path, rec
}

func peerOf(conn net.Conn) string { return wire.FormatAddr(conn.RemoteAddr()) }

// rawHandler is §2: read to EOF, record, close.
func rawHandler(conn net.Conn, rec *recorder) {
	data, err := io.ReadAll(conn)
	if err == nil {
		rec.add(received{peerOf(conn), 1, data})
	}
}

// silentHandler reads to EOF and then never closes (until the test ends).
func silentHandler(done <-chan struct{}) func(net.Conn, *recorder) {
	return func(conn net.Conn, _ *recorder) {
		_, _ = io.ReadAll(conn)
		<-done
	}
}

// framedHandler is §3 with a hook: reply(seq, payload) gives the reply payload (nil: the right
// ACK); a reply of "close" closes instead, "hang" stops replying.
func framedHandler(reply func(seq int, payload []byte) []byte) func(net.Conn, *recorder) {
	return func(conn net.Conn, rec *recorder) {
		for seq := 1; ; seq++ {
			payload, err := wire.ReadFrame(conn, 1<<30)
			if err != nil {
				return
			}
			rec.add(received{peerOf(conn), seq, payload})
			answer := wire.ExpectedAck(uint64(seq), payload)
			if reply != nil {
				if r := reply(seq, payload); r != nil {
					answer = r
				}
			}
			switch string(answer) {
			case "close":
				return
			case "hang":
				_, _ = io.Copy(io.Discard, conn)
				return
			}
			frame, _ := wire.EncodeFrame(answer)
			if _, err := conn.Write(frame); err != nil {
				return
			}
		}
	}
}

// splitFrames cuts a byte stream into frames; ok is false if it does not end on a boundary.
func splitFrames(data []byte) (payloads [][]byte, ok bool) {
	r := bytes.NewReader(data)
	for {
		p, err := wire.ReadFrame(r, 1<<30)
		if errors.Is(err, io.EOF) {
			return payloads, true
		}
		if err != nil {
			return payloads, false
		}
		payloads = append(payloads, p)
	}
}

// ackAll writes the right ACK for each payload, in one write.
func ackAll(conn net.Conn, payloads [][]byte) error {
	var out []byte
	for i, p := range payloads {
		out, _ = wire.AppendFrame(out, wire.ExpectedAck(uint64(i+1), p))
	}
	_, err := conn.Write(out)
	return err
}

// udpServer answers each datagram with reply(seq, payload) (nil: the right ACK; "none": no
// reply) and records it.
func udpServer(t *testing.T, reply func(seq int, payload []byte) []byte) (string, *recorder) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	done := make(chan struct{})
	t.Cleanup(func() {
		pc.Close()
		<-done
	})
	go func() {
		defer close(done)
		seqs := map[string]int{}
		buf := make([]byte, 65508)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n == len(buf) {
				continue // truncated: too large, never a message
			}
			peer := wire.FormatAddr(addr)
			seqs[peer]++
			payload := append([]byte(nil), buf[:n]...)
			rec.add(received{peer, seqs[peer], payload})
			answer := wire.ExpectedAck(uint64(seqs[peer]), payload)
			if reply != nil {
				if r := reply(seqs[peer], payload); r != nil {
					answer = r
				}
			}
			if string(answer) != "none" {
				_, _ = pc.WriteTo(answer, addr)
			}
		}
	}()
	return strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port), rec
}
