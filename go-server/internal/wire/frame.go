package wire

import (
	"encoding/binary"
	"strconv"
)

const (
	// HeaderLen is the size of a frame's length prefix: 4 bytes, unsigned, big-endian.
	HeaderLen = 4
	// DefaultMaxMessageBytes is the largest message a server accepts by default (16 MiB).
	DefaultMaxMessageBytes = 16 << 20
	// MaxUDPPayload is the largest message one UDP datagram carries over IPv4 (§10.3).
	MaxUDPPayload = 65507
	// UDPBuffer is the server's receive buffer: one byte more than MaxUDPPayload, so that a
	// datagram that fills it is known to have been truncated.
	UDPBuffer = MaxUDPPayload + 1
	// MaxUnixPath is the longest Unix socket path Linux accepts, in bytes (§10.2).
	MaxUnixPath = 107
)

// Reply error codes (§3.3).
const (
	ErrTooLarge = "too-large"
	ErrBusy     = "busy"
	ErrOutput   = "output"
)

// Length is the payload length a length prefix announces.
func Length(h [HeaderLen]byte) uint32 {
	return binary.BigEndian.Uint32(h[:])
}

// Frame returns the frame carrying payload: its 4-byte length, then the payload. It is only
// used for replies, which are short.
func Frame(payload []byte) []byte {
	f := make([]byte, HeaderLen, HeaderLen+len(payload))
	binary.BigEndian.PutUint32(f, uint32(len(payload)))
	return append(f, payload...)
}

// Ack is the reply acknowledging message number seq (§3.3): `ACK <seq> <length> <sha256>`.
func Ack(seq uint64, v View) []byte {
	b := make([]byte, 0, 96)
	b = append(b, "ACK "...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, v.Len, 10)
	b = append(b, ' ')
	return append(b, v.SHA256...)
}

// Err is an error reply (§3.3): `ERR <code> <detail>`, or `ERR <code>` without a detail.
func Err(code, detail string) []byte {
	if detail == "" {
		return []byte("ERR " + code)
	}
	return []byte("ERR " + code + " " + detail)
}
