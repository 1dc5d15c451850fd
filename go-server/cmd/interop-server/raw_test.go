package main

// Raw mode (PROTOCOL.md §2): one message per connection, ended by EOF.

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRawMessagesAreLoggedWholeThenTheServerCloses(t *testing.T) {
	t.Parallel()
	p := start(t, "--mode", "raw")
	if evs := p.events(); len(evs) == 0 || evs[0] != (event{Event: "listening", Addr: p.addr, Mode: "raw"}) {
		t.Fatalf("first event %v", evs)
	}
	for _, msg := range [][]byte{
		[]byte("Hello SocketServer!!!"),
		{},
		allBytes(),
		[]byte("中文, accentué, 😀\r\n\tand no final newline"),
		bytes.Repeat([]byte{'x'}, 3<<20), // far past any single read
	} {
		c := p.dial()
		sendRaw(t, c, msg)
		peer := local(c)
		end := p.ended(peer)
		evs := p.of(peer)
		if len(evs) != 3 || evs[0].Event != "connected" || evs[0].Local != p.addr {
			t.Fatalf("events of %s: %+v", peer, evs)
		}
		m := evs[1]
		if m.Event != "message" || m.Seq != 1 || m.Len != uint64(len(msg)) || m.SHA256 != sha(msg) {
			t.Errorf("message event %+v", m)
		}
		if isText := len(msg) <= 4096 && !bytes.Equal(msg, allBytes()); isText != (m.Text != nil) ||
			(m.Text != nil && *m.Text != string(msg)) {
			t.Errorf("text of a %d-byte message: %v", len(msg), m.Text)
		}
		if end.Event != "closed" || end.Messages != 1 || end.Conn != evs[0].Conn {
			t.Errorf("end %+v", end)
		}
	}
}

func TestRawMessageWrittenInPiecesIsOneMessage(t *testing.T) {
	t.Parallel()
	p := start(t)
	c := p.dial()
	msg := []byte("中文 split across reads 😀")
	for i := range msg {
		if _, err := c.Write(msg[i : i+1]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	closeWrite(t, c)
	if _, err := readToEnd(c); err != nil {
		t.Fatal(err)
	}
	p.ended(local(c))
	ms := messages(p.of(local(c)))
	if len(ms) != 1 || ms[0].Text == nil || *ms[0].Text != string(msg) {
		t.Errorf("messages %+v", ms)
	}
}

func TestRawMaximumIsInclusiveAndPastItTheConnectionIsReset(t *testing.T) {
	t.Parallel()
	p := start(t, "--max-message-bytes", "10")
	ok := p.dial()
	sendRaw(t, ok, []byte("0123456789"))
	if end := p.ended(local(ok)); end.Event != "closed" {
		t.Errorf("10 bytes: %+v", end)
	}
	big := p.dial()
	if err := tryRaw(big, []byte("0123456789A")); !isReset(err) {
		t.Errorf("11 bytes: the client read %v, want a reset (never the orderly close of a recorded message)", err)
	}
	end := p.ended(local(big))
	if end.Event != "error" || !strings.Contains(end.Error, "message too large: more than 10 bytes") {
		t.Errorf("end %+v", end)
	}
	if ms := messages(p.of(local(big))); len(ms) != 0 {
		t.Errorf("logged %+v", ms)
	}
}

func TestRawResetBeforeEOFLogsNothingAndTheServerGoesOn(t *testing.T) {
	t.Parallel()
	p := start(t)
	c := p.dial()
	_, _ = c.Write([]byte("half a message"))
	time.Sleep(50 * time.Millisecond)
	peer := local(c)
	reset(t, c)
	if end := p.ended(peer); end.Event != "error" || !strings.Contains(end.Error, "read failed after") {
		t.Errorf("end %+v", end)
	}
	if ms := messages(p.of(peer)); len(ms) != 0 {
		t.Errorf("logged %+v", ms)
	}
	next := p.dial()
	sendRaw(t, next, []byte("next"))
	p.ended(local(next))
}

func TestRawIdleTimeoutAndAStalledPeerDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	p := start(t, "--idle-timeout-ms", "700")
	stalled := p.dial()
	_, _ = stalled.Write([]byte("never finished"))
	began := time.Now()
	// Others are served meanwhile.
	for i := 0; i < 3; i++ {
		c := p.dial()
		sendRaw(t, c, []byte(fmt.Sprint("other ", i)))
		p.ended(local(c))
	}
	end := p.ended(local(stalled))
	if end.Event != "error" || !strings.Contains(end.Error, "idle timeout: nothing completed for 700 ms") {
		t.Errorf("end %+v", end)
	}
	if took := time.Since(began); took < 600*time.Millisecond {
		t.Errorf("timed out after %v", took)
	}
	if _, err := readToEnd(stalled); !isReset(err) {
		t.Errorf("the stalled client read %v, want a reset: its message is not recorded", err)
	}
}

func TestRawSixteenClientsAtOnce(t *testing.T) {
	t.Parallel()
	p := start(t)
	var wg sync.WaitGroup
	peers := make([]string, 16)
	for i := range peers {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := p.dial()
			peers[i] = local(c)
			msg := bytes.Repeat([]byte(fmt.Sprintf("client %d ", i)), 1000)
			if _, err := c.Write(msg); err != nil {
				t.Error(err)
				return
			}
			closeWrite(t, c)
			if _, err := readToEnd(c); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	for i, peer := range peers {
		p.ended(peer)
		msg := bytes.Repeat([]byte(fmt.Sprintf("client %d ", i)), 1000)
		ms := messages(p.of(peer))
		if len(ms) != 1 || ms[0].SHA256 != sha(msg) {
			t.Errorf("client %d: %+v", i, ms)
		}
	}
}
