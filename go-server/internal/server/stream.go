package server

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"interop/go-server/internal/output"
	"interop/go-server/internal/wire"
)

// Stream serves a listening TCP or Unix stream socket.
type Stream struct {
	cfg Config
	log *output.Log
	ln  net.Listener
	// unixLocal is the printed address of a Unix listener (`unix:PATH`); empty for TCP, whose
	// connections print their own local address.
	unixLocal string

	quit    chan struct{} // closed when accepting stops
	reserve chan struct{} // one token per connection being accepted or turned away
	busy    *busyReport
	wg      sync.WaitGroup // served connections' goroutines
	cut     atomic.Int64   // connections cut off at the end of the grace period

	stopOnce sync.Once
	stopAt   time.Time // the output stop's deadline (set once, by stopDeadline)

	mu    sync.Mutex            // guards what follows
	conns map[*conn]struct{}    // served connections not yet finished
	used  int                   // slots in use (connections whose end is not logged)
	next  uint64                // the next connection number
	away  map[net.Conn]struct{} // turned-away connections still open
}

// NewStream returns a server for ln. unixLocal is `unix:PATH` for a Unix listener, empty for
// TCP.
func NewStream(ln net.Listener, unixLocal string, cfg Config, log *output.Log) *Stream {
	if cfg.Grace == 0 {
		cfg.Grace = DefaultGrace
	}
	return &Stream{
		cfg: cfg, log: log, ln: ln, unixLocal: unixLocal,
		quit:    make(chan struct{}),
		reserve: make(chan struct{}, MaxTurningAway),
		conns:   make(map[*conn]struct{}),
		away:    make(map[net.Conn]struct{}),
		next:    1,
		busy:    newBusyReport(log, cfg.MaxConnections),
	}
}

// Serve accepts and serves until stop is closed or the log breaks. After stop it serves the
// open connections for the grace period, cuts off the rest (each with its own error event,
// then one event that counts them) and returns nil. When the log breaks (also during the grace
// period) it ends every connection within a second (framed: ERR output; raw: a reset) and
// returns the *output.Failure. Either way the listener is closed.
func (s *Stream) Serve(stop <-chan struct{}) error {
	accepting := make(chan struct{})
	go func() {
		defer close(accepting)
		s.acceptLoop()
	}()
	failed := false
	select {
	case <-stop:
	case <-s.log.Failed():
		failed = true
	}
	close(s.quit)
	_ = s.ln.Close()
	<-accepting
	// Nothing is added to wg any more.
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	if !failed {
		grace := time.NewTimer(s.cfg.Grace)
		select {
		case <-done:
		case <-grace.C:
		case <-s.log.Failed():
			failed = true
		}
		grace.Stop()
	}
	if failed {
		s.stopForOutput(done)
	} else {
		s.cutOff(done)
	}
	s.closeTurnedAway()
	s.busy.stop()
	if f := s.log.Failure(); f != nil {
		return f
	}
	return nil
}

// stopDeadline is when connections ended for a broken log are cut: outputStop after the first
// call.
func (s *Stream) stopDeadline() time.Time {
	s.stopOnce.Do(func() { s.stopAt = time.Now().Add(outputStop) })
	return s.stopAt
}

// open is a snapshot of the served connections.
func (s *Stream) open() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	return conns
}

// stopForOutput: every connection answers ERR output (framed) or is reset (raw), each in its
// own goroutine; what is left at the deadline is reset.
func (s *Stream) stopForOutput(done <-chan struct{}) {
	deadline := s.stopDeadline()
	for _, c := range s.open() {
		c.interrupt(endOutput)
	}
	t := time.NewTimer(time.Until(deadline) + 50*time.Millisecond)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		for _, c := range s.open() {
			reset(c.nc)
		}
	}
}

// cutOff: the grace period is over; every connection still open is reset, each with its own
// error event, then one event without conn counts them.
func (s *Stream) cutOff(done <-chan struct{}) {
	select {
	case <-done:
		return
	default:
	}
	for _, c := range s.open() {
		c.interrupt(endShutdown)
	}
	t := time.NewTimer(cutWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		// Still not ended (its goroutine is stuck somewhere): end it here.
		for _, c := range s.open() {
			s.report(c, s.cutText(), 0)
			reset(c.nc)
		}
	}
	if n := s.cut.Load(); n > 0 {
		_ = s.log.Error(0, "", fmt.Sprintf("shutdown: closed %d connection(s) still open after %d ms",
			n, s.cfg.Grace.Milliseconds()))
	}
}

func (s *Stream) cutText() string {
	return fmt.Sprintf("shutdown: cut off after the %d ms grace period", s.cfg.Grace.Milliseconds())
}

// acceptLoop accepts until the listener is closed.
func (s *Stream) acceptLoop() {
	backoff := time.Second
	for {
		// A token first: while MaxTurningAway connections are being turned away, nothing
		// is accepted and the rest wait in the backlog.
		select {
		case s.reserve <- struct{}{}:
		case <-s.quit:
			return
		}
		nc, err := s.ln.Accept()
		if err != nil {
			<-s.reserve
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: say so, then back off rather than spin.
			_ = s.log.Error(0, "", "accept failed: "+wire.Describe(err))
			select {
			case <-time.After(backoff):
			case <-s.quit:
				return
			}
			backoff = min(2*backoff, 64*time.Second)
			continue
		}
		backoff = time.Second
		s.mu.Lock()
		if s.used >= s.cfg.MaxConnections {
			s.away[nc] = struct{}{}
			s.mu.Unlock()
			go s.turnAway(nc)
			s.busy.add()
			continue
		}
		c := &conn{id: s.next, nc: nc, holdsSlot: true}
		s.next++
		s.used++
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		<-s.reserve
		go s.serve(c)
	}
}

// turnAway answers a connection over the limit (§5): framed, ERR busy; raw, a reset.
func (s *Stream) turnAway(nc net.Conn) {
	defer func() {
		s.mu.Lock()
		delete(s.away, nc)
		s.mu.Unlock()
		<-s.reserve
	}()
	if s.cfg.Mode != Framed {
		reset(nc)
		return
	}
	detail := fmt.Sprintf("%d connections open, the most this server serves (--max-connections)",
		s.cfg.MaxConnections)
	refuse(nc, wire.Err(wire.ErrBusy, detail), time.Now().Add(refuseDrain))
	_ = nc.Close()
}

func (s *Stream) closeTurnedAway() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for nc := range s.away {
		_ = nc.Close()
	}
}

// release frees the connection's slot, if it still holds one.
func (s *Stream) release(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.holdsSlot {
		c.holdsSlot = false
		s.used--
	}
}

// serve runs one connection to its end, logs how it ended, and closes it.
func (s *Stream) serve(c *conn) {
	defer s.wg.Done()
	defer func() {
		s.release(c)
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	// As net/http does: a bug in serving one connection ends that connection, not the server.
	defer func() {
		if r := recover(); r != nil {
			s.report(c, fmt.Sprintf("internal error: %v", r), 0)
			reset(c.nc)
		}
	}()
	c.peer, c.local = s.ends(c.nc)
	if err := s.log.Connected(c.id, c.peer, c.local); err != nil {
		s.endForOutput(c)
		return
	}
	var messages uint64
	var err error
	if s.cfg.Mode == Framed {
		messages, err = s.framed(c)
	} else {
		messages, err = s.raw(c)
	}
	why := c.reason()
	var cerr *connError
	switch {
	case err == nil:
		s.report(c, "", messages)
		_ = c.nc.Close()
	case errors.Is(err, errOutput) || why == endOutput:
		s.endForOutput(c)
	case why == endShutdown:
		s.report(c, s.cutText(), messages)
		reset(c.nc)
	case errors.As(err, &cerr):
		s.report(c, cerr.text, messages)
		if s.cfg.Mode == Framed {
			// The client knows by the ACKs it did not get.
			_ = c.nc.Close()
		} else {
			// Raw mode: an orderly close would tell the client "recorded" (§2).
			reset(c.nc)
		}
	default:
		s.report(c, "internal error: "+wire.Describe(err), messages)
		reset(c.nc)
	}
}

// ends are the connection's peer and local addresses, as printed.
func (s *Stream) ends(nc net.Conn) (peer, local string) {
	if s.unixLocal != "" {
		return unixPeer(nc), s.unixLocal
	}
	return wire.FormatAddr(nc.RemoteAddr()), wire.FormatAddr(nc.LocalAddr())
}

// report logs the connection's one closed (errText empty) or error event; later calls do
// nothing. The slot is freed first: a client that reads the event may connect again at once.
func (s *Stream) report(c *conn, errText string, messages uint64) {
	c.evMu.Lock()
	defer c.evMu.Unlock()
	if c.reported {
		return
	}
	c.reported = true
	s.release(c)
	if errText == "" {
		_ = s.log.Closed(c.id, c.peer, messages)
		return
	}
	if c.reason() == endShutdown {
		s.cut.Add(1)
	}
	_ = s.log.Error(c.id, c.peer, errText)
}

// message logs message seq of the connection; errOutput if the record was not written.
func (s *Stream) message(c *conn, seq uint64, v wire.View) error {
	c.evMu.Lock()
	defer c.evMu.Unlock()
	if c.reported {
		return errInterrupted
	}
	if s.log.Message(c.id, c.peer, seq, v) != nil {
		return errOutput
	}
	return nil
}

// endForOutput ends a connection once the log is broken, without events: framed, ERR output in
// place of the ACK it would have had; raw, a reset (an orderly close would say "recorded").
func (s *Stream) endForOutput(c *conn) {
	c.mark(endOutput) // from now on the server does not interrupt it: it is answering
	c.evMu.Lock()
	c.reported = true
	c.evMu.Unlock()
	s.log.Forget(c.id)
	if s.cfg.Mode != Framed {
		reset(c.nc)
		return
	}
	reason := "writing output"
	if f := s.log.Failure(); f != nil {
		reason = f.Error()
	}
	refuse(c.nc, wire.Err(wire.ErrOutput, reason), s.stopDeadline())
	_ = c.nc.Close()
}

// busyReport logs the connections turned away over the limit: at most one event a second,
// counting those since the last one.
type busyReport struct {
	log *output.Log
	max int

	mu      sync.Mutex
	count   int
	last    time.Time
	timer   *time.Timer
	stopped bool
}

func newBusyReport(log *output.Log, max int) *busyReport {
	return &busyReport{log: log, max: max}
}

func (b *busyReport) add() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.count++
	switch wait := busyEvery - time.Since(b.last); {
	case b.last.IsZero() || wait <= 0:
		b.flush()
	case b.timer == nil && !b.stopped:
		b.timer = time.AfterFunc(wait, func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.timer = nil
			if !b.stopped {
				b.flush()
			}
		})
	}
}

// stop logs what is not logged yet; nothing is logged after it.
func (b *busyReport) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	b.flush()
	b.stopped = true
}

// flush is called with mu held.
func (b *busyReport) flush() {
	if b.count == 0 || b.stopped {
		return
	}
	_ = b.log.Error(0, "", fmt.Sprintf("busy: turned away %d connection(s) over --max-connections %d",
		b.count, b.max))
	b.count = 0
	b.last = time.Now()
}
