package main

// Framed mode (PROTOCOL.md §3, §3.5, §11): frames, acknowledgements, bad input.

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFramedAcksEveryFrameWithTheDocumentedVectors(t *testing.T) {
	t.Parallel()
	p := start(t, "--mode", "framed")
	c := p.dial()
	// §9: abc is acknowledged as message 1 by 00 00 00 48 "ACK 1 3 ba78…".
	if _, err := c.Write([]byte{0, 0, 0, 3, 'a', 'b', 'c'}); err != nil {
		t.Fatal(err)
	}
	want := append([]byte{0, 0, 0, 0x48}, "ACK 1 3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"...)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("reply %q, %v; want %q", got, err, want)
	}
	msgs := [][]byte{{}, []byte("Hello SocketServer!!!"), allBytes(), {}, bytes.Repeat([]byte("é"), 3000)}
	for i, msg := range msgs {
		if _, err := c.Write(frame(msg)); err != nil {
			t.Fatal(err)
		}
		if reply := readReply(t, c); reply != ack(i+2, msg) {
			t.Errorf("reply %q, want %q", reply, ack(i+2, msg))
		}
	}
	closeWrite(t, c)
	if rest, err := readToEnd(c); err != nil || len(rest) != 0 {
		t.Errorf("after the last ack: %q, %v", rest, err)
	}
	end := p.ended(local(c))
	if end.Event != "closed" || end.Messages != 6 {
		t.Errorf("end %+v", end)
	}
	ms := messages(p.of(local(c)))
	for i, m := range ms {
		if m.Seq != uint64(i+1) {
			t.Errorf("message %d has seq %d", i+1, m.Seq)
		}
	}
	if len(ms) != 6 || *ms[0].Text != "abc" || *ms[1].Text != "" || ms[3].Text != nil || ms[5].Text != nil ||
		ms[3].SHA256 != sha(allBytes()) || ms[5].Len != 6000 {
		t.Errorf("messages %+v", ms)
	}
}

func TestFramedSplitsFramesOutOfTheStreamHoweverTheyArrive(t *testing.T) {
	t.Parallel()
	p := start(t, "--mode", "framed")
	msgs := [][]byte{[]byte("one"), {}, []byte("three"), allBytes(), []byte("five")}
	var all []byte
	for _, m := range msgs {
		all = append(all, frame(m)...)
	}
	// Back to back in one write (--pipeline), then every frame split into single bytes.
	together := p.dial()
	if _, err := together.Write(all); err != nil {
		t.Fatal(err)
	}
	split := p.dial()
	for i := range all {
		if _, err := split.Write(all[i : i+1]); err != nil {
			t.Fatal(err)
		}
		if i%7 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	for _, c := range []net.Conn{together, split} {
		for i, m := range msgs {
			if reply := readReply(t, c); reply != ack(i+1, m) {
				t.Errorf("reply %q, want %q", reply, ack(i+1, m))
			}
		}
		_ = c.Close()
		if end := p.ended(local(c)); end.Event != "closed" || end.Messages != 5 {
			t.Errorf("end %+v", end)
		}
	}
}

func TestFramedHalfCloseStillGetsEveryAck(t *testing.T) {
	t.Parallel()
	p := start(t, "--mode", "framed")
	c := p.dial()
	msgs := [][]byte{[]byte("a"), []byte("b"), []byte("c")}
	for _, m := range msgs {
		_, _ = c.Write(frame(m))
	}
	closeWrite(t, c) // before reading any acknowledgement
	for i, m := range msgs {
		if reply := readReply(t, c); reply != ack(i+1, m) {
			t.Errorf("reply %q", reply)
		}
	}
	if rest, err := readToEnd(c); err != nil || len(rest) != 0 {
		t.Errorf("after the acks: %q, %v", rest, err)
	}
	if end := p.ended(local(c)); end.Event != "closed" || end.Messages != 3 {
		t.Errorf("end %+v", end)
	}
}

func TestFramedTooLargeAndGarbageGetErrTooLargeAndTheServerGoesOn(t *testing.T) {
	t.Parallel()
	p := start(t, "--mode", "framed", "--max-message-bytes", "10")
	for _, tc := range []struct {
		name  string
		bytes []byte
		reply string
	}{
		{"4 GiB prefix", []byte{0xff, 0xff, 0xff, 0xff}, "ERR too-large 4294967295 > 10"},
		{"text read as a length", []byte("GET / HTTP/1.1\r\n\r\n"), "ERR too-large 1195725856 > 10"},
		{"one over the maximum", frame([]byte("0123456789A")), "ERR too-large 11 > 10"},
	} {
		c := p.dial()
		// An acknowledged frame first: it stays recorded.
		_, _ = c.Write(frame([]byte("fine")))
		if reply := readReply(t, c); reply != ack(1, []byte("fine")) {
			t.Fatalf("%s: %q", tc.name, reply)
		}
		_, _ = c.Write(tc.bytes)
		if reply := readReply(t, c); reply != tc.reply {
			t.Errorf("%s: reply %q, want %q", tc.name, reply, tc.reply)
		}
		// The server shut down its side after the reply, and closes once we do.
		if rest, err := readToEnd(c); err != nil || len(rest) != 0 {
			t.Errorf("%s: after the reply: %q, %v", tc.name, rest, err)
		}
		_ = c.Close()
		end := p.ended(local(c))
		if end.Event != "error" || !strings.Contains(end.Error, "frame 2 too large") {
			t.Errorf("%s: end %+v", tc.name, end)
		}
		if ms := messages(p.of(local(c))); len(ms) != 1 {
			t.Errorf("%s: messages %+v", tc.name, ms)
		}
	}
	// The maximum itself is accepted.
	c := p.dial()
	_, _ = c.Write(frame([]byte("0123456789")))
	if reply := readReply(t, c); reply != ack(1, []byte("0123456789")) {
		t.Errorf("10 bytes: %q", reply)
	}
}

func TestFramedEOFInsideAFrameLogsNothingForIt(t *testing.T) {
	t.Parallel()
	p := start(t, "--mode", "framed")
	for _, tc := range []struct {
		bytes []byte
		error string
	}{
		{[]byte{0, 0}, "frame 2: truncated frame: expected 4 length-prefix bytes, got 2"},
		{[]byte{0, 0, 0, 10, 'a', 'b', 'c'}, "frame 2: truncated frame: expected 10 payload bytes, got 3"},
	} {
		c := p.dial()
		_, _ = c.Write(frame([]byte("kept")))
		readReply(t, c)
		_, _ = c.Write(tc.bytes)
		closeWrite(t, c)
		end := p.ended(local(c))
		if end.Event != "error" || end.Error != tc.error {
			t.Errorf("end %+v, want error %q", end, tc.error)
		}
		if ms := messages(p.of(local(c))); len(ms) != 1 || *ms[0].Text != "kept" {
			t.Errorf("messages %+v", ms)
		}
	}
}

func TestFramedResetKeepsAcknowledgedMessages(t *testing.T) {
	t.Parallel()
	p := start(t, "--mode", "framed")
	c := p.dial()
	_, _ = c.Write(frame([]byte("acknowledged")))
	readReply(t, c)
	_, _ = c.Write([]byte{0, 0, 0, 100, 'x'})
	time.Sleep(50 * time.Millisecond)
	peer := local(c)
	reset(t, c)
	if end := p.ended(peer); end.Event != "error" {
		t.Errorf("end %+v", end)
	}
	if ms := messages(p.of(peer)); len(ms) != 1 || *ms[0].Text != "acknowledged" {
		t.Errorf("messages %+v", ms)
	}
}

func TestFramedStalledPeersTimeOutWithoutBlockingOthers(t *testing.T) {
	t.Parallel()
	p := start(t, "--mode", "framed", "--idle-timeout-ms", "700")
	silent := p.dial()    // never sends a byte
	halfFrame := p.dial() // starts a frame and stalls
	_, _ = halfFrame.Write([]byte{0, 0, 0, 9, 'x'})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := p.dial()
			msg := []byte(fmt.Sprint("busy ", i))
			for seq := 1; seq <= 20; seq++ {
				_, _ = c.Write(frame(msg))
				if reply := readReply(t, c); reply != ack(seq, msg) {
					t.Errorf("reply %q", reply)
					return
				}
			}
			_ = c.Close()
		}(i)
	}
	wg.Wait()
	for _, c := range []net.Conn{silent, halfFrame} {
		end := p.ended(local(c))
		if end.Event != "error" || !strings.HasPrefix(end.Error, "idle timeout: nothing completed for 700 ms") {
			t.Errorf("end %+v", end)
		}
	}
}

func TestFramedSixteenClientsAtOnce(t *testing.T) {
	t.Parallel()
	p := start(t, "--mode", "framed")
	var wg sync.WaitGroup
	peers := make([]string, 16)
	for i := range peers {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := p.dial()
			peers[i] = local(c)
			for seq := 1; seq <= 10; seq++ {
				msg := []byte(fmt.Sprintf("client %d message %d", i, seq))
				_, _ = c.Write(frame(msg))
				if reply := readReply(t, c); reply != ack(seq, msg) {
					t.Errorf("reply %q", reply)
				}
			}
			_ = c.Close()
		}(i)
	}
	wg.Wait()
	for i, peer := range peers {
		if end := p.ended(peer); end.Messages != 10 {
			t.Errorf("client %d: %+v", i, end)
		}
		for j, m := range messages(p.of(peer)) {
			if want := fmt.Sprintf("client %d message %d", i, j+1); *m.Text != want {
				t.Errorf("got %q, want %q", *m.Text, want)
			}
		}
	}
}
