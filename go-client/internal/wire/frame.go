package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

const (
	// HeaderLen is the size of a frame's length prefix: 4 bytes, unsigned, big-endian.
	HeaderLen = 4
	// MaxFrameLen is the largest payload the length prefix can describe.
	MaxFrameLen = math.MaxUint32
	// MaxReplyLen is the longest reply frame a client accepts (§3.4).
	MaxReplyLen = 1024
)

// ErrFrameTooLong is returned by EncodeFrame for a payload the prefix cannot describe.
var ErrFrameTooLong = errors.New("message too long for a frame")

// Header returns the 4-byte length prefix of a payload of n bytes.
func Header(n int) ([HeaderLen]byte, error) {
	var h [HeaderLen]byte
	if n < 0 || uint64(n) > MaxFrameLen {
		return h, fmt.Errorf("%w: %d bytes", ErrFrameTooLong, n)
	}
	binary.BigEndian.PutUint32(h[:], uint32(n))
	return h, nil
}

// AppendFrame appends the frame carrying payload (prefix, then payload) to dst.
func AppendFrame(dst, payload []byte) ([]byte, error) {
	h, err := Header(len(payload))
	if err != nil {
		return dst, err
	}
	dst = append(dst, h[:]...)
	return append(dst, payload...), nil
}

// EncodeFrame returns the frame carrying payload.
func EncodeFrame(payload []byte) ([]byte, error) {
	return AppendFrame(make([]byte, 0, HeaderLen+len(payload)), payload)
}

// TruncatedError says that the stream ended inside a frame (or before it began).
type TruncatedError struct {
	Want, Got int  // bytes expected and received of the part being read
	InHeader  bool // whether the length prefix was incomplete
}

func (e *TruncatedError) Error() string {
	part := "payload"
	if e.InHeader {
		part = "length prefix"
	}
	return fmt.Sprintf("connection closed inside a reply frame (%d of %d %s bytes)", e.Got, e.Want, part)
}

// TooLongError says that a frame's length prefix is over the reader's limit.
type TooLongError struct {
	Len, Limit uint32
}

func (e *TooLongError) Error() string {
	return fmt.Sprintf("reply frame of %d bytes exceeds the limit of %d", e.Len, e.Limit)
}

// ReadFrame reads one frame from r and returns its payload. A length prefix over limit is
// rejected before anything more is read. An early end of stream is a *TruncatedError (io.EOF
// itself only when the stream ends exactly before the frame); other read errors pass unchanged.
func ReadFrame(r io.Reader, limit uint32) ([]byte, error) {
	var h [HeaderLen]byte
	if n, err := io.ReadFull(r, h[:]); err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		if err == io.ErrUnexpectedEOF {
			return nil, &TruncatedError{Want: HeaderLen, Got: n, InHeader: true}
		}
		return nil, err
	}
	length := binary.BigEndian.Uint32(h[:])
	if length > limit {
		return nil, &TooLongError{Len: length, Limit: limit}
	}
	payload := make([]byte, length)
	if n, err := io.ReadFull(r, payload); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, &TruncatedError{Want: int(length), Got: n}
		}
		return nil, err
	}
	return payload, nil
}
