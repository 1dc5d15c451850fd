package server

import (
	"fmt"
	"io"
	"time"

	"interop/go-server/internal/wire"
)

// raw serves raw mode (§2): the message is everything up to EOF; it is logged, then the write
// side is shut down (the orderly close is raw mode's only acknowledgement). On any failure,
// past the maximum size included, nothing is logged and the connection is reset (see serve).
func (s *Stream) raw(c *conn) (uint64, error) {
	m := wire.NewMessage()
	// Waiting for the first bytes takes a small buffer; once they come, a pooled one.
	buf := make([]byte, firstRead)
	var bp *[]byte
	defer func() {
		if bp != nil {
			bufPool.Put(bp)
		}
	}()
	limit := uint64(s.cfg.MaxMessageBytes)
	for {
		// No byte for the idle timeout ends the connection.
		if err := c.deadline(true, time.Now().Add(s.cfg.IdleTimeout)); err != nil {
			return 0, err
		}
		n, err := c.nc.Read(buf)
		if n > 0 {
			if m.Len()+uint64(n) > limit {
				return 0, failf("message too large: more than %d bytes", limit)
			}
			_, _ = m.Write(buf[:n])
			if bp == nil {
				bp = bufPool.Get().(*[]byte)
				buf = *bp
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, s.readError(err, fmt.Sprintf("read failed after %d bytes", m.Len()), int(m.Len()))
		}
	}
	if err := s.message(c, 1, m.View()); err != nil {
		return 0, err
	}
	closeWrite(c.nc)
	return 1, nil
}
