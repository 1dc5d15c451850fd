package server

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"interop/go-server/internal/output"
	"interop/go-server/internal/wire"
)

// UDP serves datagrams (§10.3): each is one message, logged, then acknowledged to its sender.
// The first datagram from a new peer address gets a connected event and a connection number;
// seq counts that peer's datagrams from 1. There is no close, so no closed events.
type UDP struct {
	cfg   Config
	log   *output.Log
	pc    *net.UDPConn
	local string
	// peers numbers the peers. Bounded: when a new peer would make it hold more than
	// MaxConnections, it is cleared (those peers' next datagrams start anew).
	peers map[netip.AddrPort]*udpPeer
	next  uint64
}

type udpPeer struct {
	conn uint64
	seq  uint64
}

// NewUDP returns a server for the bound socket pc.
func NewUDP(pc *net.UDPConn, cfg Config, log *output.Log) *UDP {
	return &UDP{
		cfg: cfg, log: log, pc: pc, local: wire.FormatAddr(pc.LocalAddr()),
		peers: make(map[netip.AddrPort]*udpPeer), next: 1,
	}
}

// Local is the bound address, as printed.
func (u *UDP) Local() string { return u.local }

// Serve receives until stop is closed (nil) or the log breaks (the *output.Failure). It closes
// the socket.
func (u *UDP) Serve(stop <-chan struct{}) error {
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-stop:
		case <-u.log.Failed():
		case <-stopped:
		}
		_ = u.pc.Close()
	}()
	buf := make([]byte, wire.UDPBuffer)
	for {
		n, from, err := u.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				break
			}
			// E.g. an ICMP error queued by an earlier send: say so, go on (not too fast).
			if u.log.Error(0, "", "receive failed: "+wire.Describe(err)) != nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if u.datagram(buf[:n], from) != nil {
			break // not logged, so not acknowledged; nothing more will be
		}
	}
	_ = u.pc.Close()
	if f := u.log.Failure(); f != nil {
		return f
	}
	return nil
}

// datagram handles one datagram; an error means the log is broken.
func (u *UDP) datagram(data []byte, from netip.AddrPort) (err error) {
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	peer := wire.FormatAddrPort(from)
	// A bug in handling one datagram is that datagram's error, not the server's end.
	defer func() {
		if r := recover(); r != nil {
			err = u.log.Error(0, peer, fmt.Sprintf("internal error: %v", r))
		}
	}()
	if len(data) >= wire.UDPBuffer {
		return u.log.Error(0, peer, fmt.Sprintf(
			"datagram truncated: more than %d bytes (the UDP maximum); not logged", wire.MaxUDPPayload))
	}
	if uint64(len(data)) > uint64(u.cfg.MaxMessageBytes) {
		return u.log.Error(0, peer, fmt.Sprintf(
			"datagram too large: %d bytes > maximum %d; not logged", len(data), u.cfg.MaxMessageBytes))
	}
	p := u.peers[from]
	if p == nil {
		if len(u.peers) >= u.cfg.MaxConnections {
			clear(u.peers)
		}
		p = &udpPeer{conn: u.next}
		u.next++
		u.peers[from] = p
		if err := u.log.Connected(p.conn, peer, u.local); err != nil {
			return err
		}
	}
	p.seq++
	v := wire.ViewOf(data)
	// Log, then acknowledge.
	if err := u.log.Message(p.conn, peer, p.seq, v); err != nil {
		return err
	}
	if _, err := u.pc.WriteToUDPAddrPort(wire.Ack(p.seq, v), from); err != nil {
		return u.log.Error(0, peer, fmt.Sprintf("sending ack %d failed: %s", p.seq, wire.Describe(err)))
	}
	return nil
}
