package main

// The connection limit (PROTOCOL.md §5): over --max-connections a connection is turned away at
// once, holds no slot and has no events of its own.

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

const busy2 = "ERR busy 2 connections open, the most this server serves (--max-connections)"

// hold opens n connections and waits until the server has logged each as connected.
func hold(p *proc, n int) []string {
	var peers []string
	for i := 0; i < n; i++ {
		c := p.dial()
		peers = append(peers, local(c))
		p.waitFor("connected", func(ev event) bool { return ev.Event == "connected" && ev.Peer == local(c) })
	}
	return peers
}

func TestBusyFramedConnectionIsTurnedAwayWithErrBusy(t *testing.T) {
	t.Parallel()
	p := start(t, "--mode", "framed", "--max-connections", "2")
	holders := []string{}
	conns := map[string]net.Conn{}
	for i := 0; i < 2; i++ {
		c := p.dial()
		holders = append(holders, local(c))
		conns[local(c)] = c
		p.waitFor("connected", func(ev event) bool { return ev.Event == "connected" && ev.Peer == local(c) })
	}
	third := p.dial()
	// At once, before any frame: the reply, then the server's EOF.
	if reply := readReply(t, third); reply != busy2 {
		t.Errorf("reply %q", reply)
	}
	if rest, err := readToEnd(third); err != nil || len(rest) != 0 {
		t.Errorf("after ERR busy: %q, %v", rest, err)
	}
	_ = third.Close()
	busy := p.waitFor("busy", func(ev event) bool { return ev.Event == "error" && ev.Conn == 0 })
	if busy != (event{Event: "error", Error: "busy: turned away 1 connection(s) over --max-connections 2"}) {
		t.Errorf("busy event %+v", busy)
	}
	// A client that writes its frame at once reads the same reply.
	fourth := p.dial()
	_, _ = fourth.Write(frame([]byte("too many")))
	if reply := readReply(t, fourth); reply != busy2 {
		t.Errorf("reply %q", reply)
	}
	_ = fourth.Close()
	// Once a holder has ended, the next client is served.
	_ = conns[holders[0]].Close()
	p.ended(holders[0])
	fifth := p.dial()
	_, _ = fifth.Write(frame([]byte("served")))
	if reply := readReply(t, fifth); reply != ack(1, []byte("served")) {
		t.Errorf("reply %q", reply)
	}
	for _, ev := range p.events() {
		if ev.Peer == local(third) || ev.Peer == local(fourth) || (ev.Conn > 3) {
			t.Errorf("an event of a turned-away connection: %+v", ev)
		}
	}
}

func TestBusyRawConnectionIsReset(t *testing.T) {
	t.Parallel()
	p := start(t, "--mode", "raw", "--max-connections", "1")
	hold(p, 1)
	c, err := net.Dial("tcp", p.addr)
	if err == nil { // (the reset may even come before Dial returns)
		defer c.Close()
		time.Sleep(50 * time.Millisecond) // let the reset arrive first, as it may
		err = tryRaw(c, []byte("turned away"))
	}
	if !isReset(err) {
		t.Errorf("the client saw %v, want a reset (an orderly close would say recorded)", err)
	}
	p.waitFor("busy", func(ev event) bool {
		return ev.Event == "error" && ev.Conn == 0 && strings.HasPrefix(ev.Error, "busy: turned away 1 ")
	})
	if ms := messages(p.events()); len(ms) != 0 {
		t.Errorf("messages %+v", ms)
	}
}

func openFDs(t *testing.T, pid int) int {
	entries, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Skip("needs /proc:", err)
	}
	return len(entries)
}

func TestBusyFloodIsTurnedAwayWithAtMost64Open(t *testing.T) {
	t.Parallel()
	const flood = 100
	p := start(t, "--mode", "framed", "--max-connections", "1")
	holder := p.dial()
	p.waitFor("connected", func(ev event) bool { return ev.Event == "connected" && ev.Peer == local(holder) })
	before := openFDs(t, p.cmd.Process.Pid)
	var socks []net.Conn
	for i := 0; i < flood; i++ {
		socks = append(socks, p.dial())
	}
	busy1 := strings.Replace(busy2, "2", "1", 1)
	// The first 64 are answered at once; the server then holds them open (until they close,
	// at most 1 s) and accepts nothing more, so at no time does it hold more than 64.
	for _, c := range socks[:64] {
		if reply := readReply(t, c); reply != busy1 {
			t.Fatalf("reply %q", reply)
		}
	}
	if n := openFDs(t, p.cmd.Process.Pid); n > before+64 {
		t.Errorf("%d descriptors open, %d before the flood", n, before)
	}
	// The rest are answered as room frees up.
	for _, c := range socks[64:] {
		if reply := readReply(t, c); reply != busy1 {
			t.Fatalf("reply %q", reply)
		}
	}
	for _, c := range socks {
		_ = c.Close()
	}
	// The busy events (at most one a second) count every connection turned away.
	deadline := time.Now().Add(15 * time.Second)
	for counted := 0; counted != flood; {
		if time.Now().After(deadline) {
			t.Fatalf("busy events count %d connections, want %d: %v", counted, flood, p.output())
		}
		time.Sleep(50 * time.Millisecond)
		counted = 0
		for _, ev := range p.events() {
			if ev.Event == "error" && strings.HasPrefix(ev.Error, "busy: turned away ") {
				n, _ := strconv.Atoi(strings.Fields(ev.Error)[3])
				counted += n
			}
		}
	}
	for _, ev := range p.events() {
		if ev.Conn > 1 {
			t.Errorf("an event of a turned-away connection: %+v", ev)
		}
	}
	_, _ = holder.Write(frame([]byte("the holder")))
	if reply := readReply(t, holder); reply != ack(1, []byte("the holder")) {
		t.Errorf("holder: %q", reply)
	}
}
