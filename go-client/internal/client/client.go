// Package client delivers messages to an interop server (docs/PROTOCOL.md): raw mode (§2),
// framed mode (§3), pipelined or half-closed framed mode (§11), over TCP, Unix stream sockets or
// UDP (§10). Every wait is bounded by the configured timeout and every failure is an *Error
// carrying its exit code (§7).
package client

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"interop/go-client/internal/wire"
)

// Transports and modes, as named on the command line and in JSON.
const (
	TCP    = "tcp"
	Unix   = "unix"
	UDP    = "udp"
	Raw    = "raw"
	Framed = "framed"
)

// MaxUDPPayload is the largest message one UDP datagram carries (§10.3).
const MaxUDPPayload = 65507

// MaxUnixPath is the longest Unix socket path Linux accepts, in bytes (§10.2).
const MaxUnixPath = 107

// smallFrame is the largest payload copied next to its prefix to go out in one write; a larger
// one is written with writev, prefix and payload still in one system call where possible.
const smallFrame = 64 << 10

// errReplyGrace bounds the look for an ERR reply after a failed write (§3.4).
const errReplyGrace = time.Second

// Config says where and how to send.
type Config struct {
	Host      string
	Port      int
	Transport string // TCP, Unix or UDP
	Path      string // the Unix socket, with Unix
	Mode      string // Raw or Framed (ignored over UDP)
	Timeout   time.Duration
	Pipeline  bool // framed: write every frame, then read the acknowledgements
	HalfClose bool // like Pipeline, and shut down the write side before reading
}

// Delivery is one message that arrived: raw, after the server closed the connection; framed
// and over UDP, after its acknowledgement checked out (Verified).
type Delivery struct {
	Seq      uint64 // number on its connection (or UDP socket), from 1
	Local    string // the client's end, as §8.2 prints it
	Peer     string // the server's end
	Payload  []byte
	Verified bool
}

// Send delivers payloads in order and calls delivered for each as soon as it is delivered; an
// error from delivered stops the run and is returned as it is. Other failures are *Error.
func Send(cfg Config, payloads [][]byte, delivered func(Delivery) error) error {
	s := &sender{cfg: cfg, delivered: delivered}
	switch {
	case cfg.Transport == UDP:
		return s.sendUDP(payloads)
	case cfg.Mode == Framed:
		return s.sendFramed(payloads)
	default:
		for _, p := range payloads {
			if err := s.sendRaw(p); err != nil {
				return err
			}
		}
		return nil
	}
}

type sender struct {
	cfg       Config
	delivered func(Delivery) error
}

// ms prints a duration as whole milliseconds, the unit of --timeout-ms.
type ms time.Duration

func (d ms) String() string { return strconv.FormatInt(time.Duration(d).Milliseconds(), 10) + " ms" }

func (s *sender) timeout() ms { return ms(s.cfg.Timeout) }

func (s *sender) deadline() time.Time { return time.Now().Add(s.cfg.Timeout) }

// target names the server in messages.
func (s *sender) target() string {
	if s.cfg.Transport == Unix {
		return "unix:" + s.cfg.Path
	}
	return wire.HostPort(s.cfg.Host, s.cfg.Port)
}

func (s *sender) dialer() *net.Dialer {
	// FallbackDelay < 0: try the resolved addresses strictly in order, one at a time (§6).
	return &net.Dialer{Timeout: s.cfg.Timeout, FallbackDelay: -1}
}

// stream is a connected stream socket and how §8.2 names its ends.
type stream struct {
	conn        net.Conn
	local, peer string
}

func (s *sender) dialStream() (*stream, error) {
	if s.cfg.Transport == Unix {
		conn, err := s.dialer().Dial("unix", s.cfg.Path)
		if err != nil {
			return nil, connectError(s.target(), s.timeout(), err)
		}
		return &stream{conn, "pid:" + strconv.Itoa(os.Getpid()), "unix:" + s.cfg.Path}, nil
	}
	d := s.dialer()
	spare := &spareFD{fd: -1}
	if s.cfg.Mode == Framed {
		d.Control = spare.keep
	}
	conn, err := d.Dial("tcp", s.target())
	defer spare.close()
	if err != nil {
		// The server was there and broke the connection at once; it may have said why first
		// (ERR busy), and that reply is still in the receive buffer (§3.4).
		if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
			if explained := spare.errReply(); explained != nil {
				return nil, explained
			}
		}
		return nil, connectError(s.target(), s.timeout(), err)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetNoDelay(true) // Go's default, stated: small frames must not wait for Nagle
	}
	return &stream{conn, wire.FormatAddr(conn.LocalAddr()), wire.FormatAddr(conn.RemoteAddr())}, nil
}

// spareFD is a second descriptor of the socket being connected, kept for when connecting
// reports a reset: the dialer closes its socket then, but what the server sent before it broke
// the connection is still in the receive buffer.
type spareFD struct{ fd int } // -1: none

// keep is a net.Dialer Control function: it duplicates the socket of each attempt.
func (s *spareFD) keep(_, _ string, c syscall.RawConn) error {
	s.close()
	return c.Control(func(fd uintptr) {
		if dup, err := syscall.Dup(int(fd)); err == nil {
			syscall.CloseOnExec(dup)
			s.fd = dup
		}
	})
}

func (s *spareFD) close() {
	if s.fd >= 0 {
		_ = syscall.Close(s.fd)
		s.fd = -1
	}
}

// errReply reads one reply frame from the spare descriptor, for up to a second (§3.4): an ERR
// reply (to message 1, the one about to be sent) is returned as a protocol error, anything else
// as nil.
func (s *spareFD) errReply() error {
	if s.fd < 0 {
		return nil
	}
	f := os.NewFile(uintptr(s.fd), "spare socket")
	s.fd = -1 // f owns it now
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil
	}
	defer conn.Close()
	if conn.SetReadDeadline(time.Now().Add(errReplyGrace)) != nil {
		return nil
	}
	reply, err := wire.ReadFrame(conn, wire.MaxReplyLen)
	if err != nil || !wire.IsErrReply(reply) {
		return nil
	}
	return Errorf(ExitProtocol, "%v", &wire.ReplyError{Seq: 1, Reply: reply, Rejected: true})
}

func closeWrite(conn net.Conn) error {
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("cannot shut down the write side of this connection")
}

// drain reads and discards until EOF, under one deadline.
func (s *sender) drain(conn net.Conn) error {
	if err := conn.SetReadDeadline(s.deadline()); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, conn)
	return err
}

// sendRaw delivers one message on its own connection (§2): write, shut down the write side,
// wait for the server's EOF.
func (s *sender) sendRaw(payload []byte) error {
	st, err := s.dialStream()
	if err != nil {
		return err
	}
	defer st.conn.Close()
	what := "sending a raw message to " + s.target()
	if err := st.conn.SetWriteDeadline(s.deadline()); err != nil {
		return ioError(what, s.timeout(), err)
	}
	if len(payload) > 0 {
		if _, err := st.conn.Write(payload); err != nil {
			return ioError(what, s.timeout(), err)
		}
	}
	if err := closeWrite(st.conn); err != nil {
		return ioError(what, s.timeout(), err)
	}
	if err := s.drain(st.conn); err != nil {
		return ioError("waiting for "+s.target()+" to close the connection", s.timeout(), err)
	}
	return s.delivered(Delivery{Seq: 1, Local: st.local, Peer: st.peer, Payload: payload})
}

// writeFrames writes the frames of payloads in one write: copied into one buffer, or, for a
// single large payload, prefix and payload together with writev (no copy).
func writeFrames(conn net.Conn, payloads [][]byte) error {
	if len(payloads) == 1 && len(payloads[0]) > smallFrame {
		h, err := wire.Header(len(payloads[0]))
		if err != nil {
			return err
		}
		bufs := net.Buffers{h[:], payloads[0]}
		_, err = bufs.WriteTo(conn)
		return err
	}
	total := 0
	for _, p := range payloads {
		total += wire.HeaderLen + len(p)
	}
	buf := make([]byte, 0, total)
	for _, p := range payloads {
		var err error
		if buf, err = wire.AppendFrame(buf, p); err != nil {
			return err
		}
	}
	_, err := conn.Write(buf)
	return err
}

// sendFramed delivers every message on one connection (§3), stop-and-wait, or pipelined (§11).
func (s *sender) sendFramed(payloads [][]byte) error {
	st, err := s.dialStream()
	if err != nil {
		return err
	}
	defer st.conn.Close()
	pipelined := s.cfg.Pipeline || s.cfg.HalfClose
	for i := 0; i < len(payloads); {
		batch := payloads[i : i+1]
		if pipelined {
			batch = payloads
		}
		first := uint64(i) + 1
		if err := s.writeBatch(st, first, batch); err != nil {
			return err
		}
		if s.cfg.HalfClose {
			if err := closeWrite(st.conn); err != nil {
				// Like a failed write: the server may have sent ERR (busy, say) and closed.
				if explained := s.lookForErrReply(st, first, batch, min(s.cfg.Timeout, errReplyGrace)); explained != nil {
					return explained
				}
				return ioError("shutting down the write side", s.timeout(), err)
			}
		}
		for k, p := range batch {
			if err := s.readAck(st, first+uint64(k), p); err != nil {
				return err
			}
		}
		i += len(batch)
	}
	// Everything is acknowledged: end the connection. Nothing that happens now is a failure.
	if !s.cfg.HalfClose {
		_ = closeWrite(st.conn)
	}
	_ = s.drain(st.conn)
	return nil
}

// writeBatch writes the frames of messages first, first+1, ... under one write deadline. When
// the write fails, the server may have rejected a frame with an ERR reply and closed: that
// reply, if it comes within a second, is the better explanation (§3.4).
func (s *sender) writeBatch(st *stream, first uint64, batch [][]byte) error {
	conn := st.conn
	what := fmt.Sprintf("sending message %d", first)
	if len(batch) > 1 {
		what = fmt.Sprintf("sending messages %d to %d", first, first+uint64(len(batch))-1)
	}
	if err := conn.SetWriteDeadline(s.deadline()); err != nil {
		return ioError(what, s.timeout(), err)
	}
	err := writeFrames(conn, batch)
	if err == nil {
		return nil
	}
	if errors.Is(err, wire.ErrFrameTooLong) {
		return Errorf(ExitFailure, "%s: %v", what, err)
	}
	if !IsTimeout(err) {
		if explained := s.lookForErrReply(st, first, batch, min(s.cfg.Timeout, errReplyGrace)); explained != nil {
			return explained
		}
	}
	return ioError(what, s.timeout(), err)
}

// lookForErrReply reads the replies to batch (messages first, first+1, ...) for at most grace,
// in order: each correct ACK delivers its message, as it would have if the write had not
// broken, and an ERR is returned as a protocol error. It returns nil when no ERR explains the
// broken write, and a delivery's own error as it is.
func (s *sender) lookForErrReply(st *stream, first uint64, batch [][]byte, grace time.Duration) error {
	if st.conn.SetReadDeadline(time.Now().Add(grace)) != nil {
		return nil
	}
	for k, p := range batch {
		seq := first + uint64(k)
		reply, err := wire.ReadFrame(st.conn, wire.MaxReplyLen)
		if err != nil {
			return nil
		}
		if wire.IsErrReply(reply) {
			return Errorf(ExitProtocol, "%v", &wire.ReplyError{Seq: seq, Reply: reply, Rejected: true})
		}
		if wire.CheckAck(reply, seq, p) != nil {
			return nil
		}
		if err := s.delivered(Delivery{Seq: seq, Local: st.local, Peer: st.peer, Payload: p, Verified: true}); err != nil {
			return err
		}
	}
	return nil
}

// readAck reads the reply to message seq, checks it, and reports the delivery.
func (s *sender) readAck(st *stream, seq uint64, payload []byte) error {
	what := fmt.Sprintf("waiting for the acknowledgement of message %d", seq)
	if err := st.conn.SetReadDeadline(s.deadline()); err != nil {
		return ioError(what, s.timeout(), err)
	}
	reply, err := wire.ReadFrame(st.conn, wire.MaxReplyLen)
	if err != nil {
		var truncated *wire.TruncatedError
		var tooLong *wire.TooLongError
		switch {
		case err == io.EOF:
			return Errorf(ExitProtocol, "server closed the connection before acknowledging message %d", seq)
		case errors.As(err, &truncated), errors.As(err, &tooLong):
			return Errorf(ExitProtocol, "reply to message %d: %v", seq, err)
		default:
			return ioError(what, s.timeout(), err)
		}
	}
	if err := wire.CheckAck(reply, seq, payload); err != nil {
		return Errorf(ExitProtocol, "%v", err)
	}
	return s.delivered(Delivery{Seq: seq, Local: st.local, Peer: st.peer, Payload: payload, Verified: true})
}

// sendUDP sends one datagram per message on one connected socket and waits for each ACK
// datagram (§10.3).
func (s *sender) sendUDP(payloads [][]byte) error {
	for i, p := range payloads {
		if len(p) > MaxUDPPayload {
			return Errorf(ExitUsage, "message %d is %d bytes; a UDP datagram carries at most %d", i+1, len(p), MaxUDPPayload)
		}
	}
	conn, err := s.dialer().Dial("udp", s.target())
	if err != nil {
		return connectError("udp "+s.target(), s.timeout(), err)
	}
	defer conn.Close()
	local, peer := wire.FormatAddr(conn.LocalAddr()), wire.FormatAddr(conn.RemoteAddr())
	buf := make([]byte, 64<<10)
	for i, p := range payloads {
		seq := uint64(i) + 1
		what := fmt.Sprintf("sending message %d to udp %s", seq, s.target())
		if err := conn.SetWriteDeadline(s.deadline()); err != nil {
			return ioError(what, s.timeout(), err)
		}
		if _, err := conn.Write(p); err != nil {
			return ioError(what, s.timeout(), err)
		}
		what = fmt.Sprintf("waiting for the acknowledgement of message %d from udp %s", seq, s.target())
		if err := conn.SetReadDeadline(s.deadline()); err != nil {
			return ioError(what, s.timeout(), err)
		}
		n, err := conn.Read(buf)
		if err != nil {
			return ioError(what, s.timeout(), err)
		}
		if n > wire.MaxReplyLen {
			return Errorf(ExitProtocol, "reply to message %d: datagram of %d bytes exceeds the limit of %d", seq, n, wire.MaxReplyLen)
		}
		if err := wire.CheckAck(buf[:n], seq, p); err != nil {
			return Errorf(ExitProtocol, "%v", err)
		}
		if err := s.delivered(Delivery{Seq: seq, Local: local, Peer: peer, Payload: p, Verified: true}); err != nil {
			return err
		}
	}
	return nil
}
