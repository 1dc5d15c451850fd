package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"interop/go-client/internal/wire"
)

func TestErrorClassification(t *testing.T) {
	timeout := ms(300 * time.Millisecond)
	opErr := func(err error) error {
		return &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", err)}
	}
	for _, tc := range []struct {
		err  error
		code int
	}{
		{os.ErrDeadlineExceeded, ExitTimeout},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, ExitTimeout},
		{opErr(syscall.ECONNRESET), ExitFailure},
		{opErr(syscall.EPIPE), ExitFailure},
		{opErr(syscall.ECONNREFUSED), ExitConnect}, // UDP: ICMP port unreachable
		{errors.New("other"), ExitFailure},
	} {
		if got := ioError("x", timeout, tc.err); got.Code != tc.code {
			t.Errorf("ioError(%v) = %d, want %d", tc.err, got.Code, tc.code)
		}
	}
	for _, tc := range []struct {
		err  error
		code int
	}{
		{opErr(syscall.ECONNREFUSED), ExitConnect},
		{opErr(syscall.EHOSTUNREACH), ExitConnect},
		{opErr(syscall.ENOENT), ExitConnect},
		{&net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}, ExitConnect},
		{&net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}, ExitTimeout},
		{opErr(syscall.ECONNRESET), ExitFailure},
	} {
		if got := connectError("t", timeout, tc.err); got.Code != tc.code {
			t.Errorf("connectError(%v) = %d, want %d", tc.err, got.Code, tc.code)
		}
	}
	if got := ioError("reading", timeout, os.ErrDeadlineExceeded).Error(); got != "reading: timed out after 300 ms" {
		t.Errorf("message %q", got)
	}
}

// writeFrames produces exactly the frames, for small batches and for a large single payload.
func TestWriteFrames(t *testing.T) {
	big := bytes.Repeat([]byte{7}, smallFrame+1)
	for _, payloads := range [][][]byte{{[]byte("abc")}, {{}, []byte("x"), big}, {big}} {
		client, server := net.Pipe()
		var want []byte
		for _, p := range payloads {
			want, _ = wire.AppendFrame(want, p)
		}
		go func() {
			_ = writeFrames(client, payloads)
			client.Close()
		}()
		got, _ := io.ReadAll(server)
		if !bytes.Equal(got, want) {
			t.Errorf("%d payloads: wrote %d bytes, want %d", len(payloads), len(got), len(want))
		}
	}
}

// An error from the delivered callback stops the run and comes back unchanged.
func TestDeliveredErrorStops(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, conn)
			conn.Close()
		}
	}()
	stop := errors.New("stop")
	calls := 0
	cfg := Config{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Transport: TCP, Mode: Raw, Timeout: 5 * time.Second}
	err = Send(cfg, [][]byte{[]byte("a"), []byte("b")}, func(d Delivery) error {
		calls++
		if d.Seq != 1 || d.Verified || d.Peer != "127.0.0.1:"+strconv.Itoa(cfg.Port) {
			return fmt.Errorf("bad delivery %+v", d)
		}
		return stop
	})
	if err != stop || calls != 1 {
		t.Errorf("Send = %v after %d calls", err, calls)
	}
}
