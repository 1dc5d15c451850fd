package server

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"interop/go-server/internal/wire"
)

// framed serves framed mode (§3, §3.5, §11): frames until EOF between frames, each logged,
// then acknowledged. It returns how many messages the connection carried.
func (s *Stream) framed(c *conn) (uint64, error) {
	var seq uint64
	var hdr [wire.HeaderLen]byte
	maxLen := s.cfg.MaxMessageBytes
	for {
		// The whole frame must arrive within the idle timeout of starting to wait for it.
		if err := c.deadline(true, time.Now().Add(s.cfg.IdleTimeout)); err != nil {
			return seq, err
		}
		n, err := io.ReadFull(c.nc, hdr[:])
		switch {
		case err == io.EOF:
			return seq, nil // between frames: the normal end
		case err == io.ErrUnexpectedEOF:
			return seq, failf("frame %d: truncated frame: expected %d length-prefix bytes, got %d",
				seq+1, wire.HeaderLen, n)
		case err != nil:
			return seq, s.readError(err, fmt.Sprintf("frame %d", seq+1), n)
		}
		length := wire.Length(hdr)
		if length > maxLen {
			// Checked before anything is read or allocated for the payload.
			reply := wire.Err(wire.ErrTooLarge, fmt.Sprintf("%d > %d", length, maxLen))
			refuse(c.nc, reply, time.Now().Add(refuseDrain))
			return seq, failf("frame %d too large: %d bytes > maximum %d", seq+1, length, maxLen)
		}
		m, err := s.payload(c, length, seq+1)
		if err != nil {
			return seq, err
		}
		seq++
		v := m.View()
		// Log, then acknowledge.
		if err := s.message(c, seq, v); err != nil {
			return seq - 1, err
		}
		// A peer that never reads its acks is stalled just like one that never writes.
		if err := c.deadline(false, time.Now().Add(s.cfg.IdleTimeout)); err != nil {
			return seq, err
		}
		if _, err := c.nc.Write(wire.Frame(wire.Ack(seq, v))); err != nil {
			return seq, failf("writing ack %d failed: %s", seq, wire.Describe(err))
		}
	}
}

// payload reads a frame's payload of length bytes into a Message, through a pooled buffer.
func (s *Stream) payload(c *conn, length uint32, number uint64) (*wire.Message, error) {
	m := wire.NewMessage()
	if length == 0 {
		return m, nil
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for remaining := length; remaining > 0; {
		n, err := c.nc.Read(buf[:min(uint32(len(buf)), remaining)])
		_, _ = m.Write(buf[:n])
		remaining -= uint32(n)
		if err != nil && remaining > 0 {
			if err == io.EOF {
				return nil, failf("frame %d: truncated frame: expected %d payload bytes, got %d",
					number, length, length-remaining)
			}
			return nil, s.readError(err, fmt.Sprintf("frame %d", number), int(length-remaining))
		}
	}
	return m, nil
}

// readError words a failed read: an idle timeout, or what failed with the given prefix. (An
// interruption is told apart by the caller, from conn.why.)
func (s *Stream) readError(err error, what string, pending int) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return failf("idle timeout: nothing completed for %d ms (%d bytes pending)",
			s.cfg.IdleTimeout.Milliseconds(), pending)
	}
	return failf("%s: %s", what, wire.Describe(err))
}
