package wire

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// SHA256Hex is the SHA-256 of data as 64 lowercase hex digits.
func SHA256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// ExpectedAck is the reply that acknowledges message number seq carrying payload (§3.3).
func ExpectedAck(seq uint64, payload []byte) []byte {
	return []byte("ACK " + strconv.FormatUint(seq, 10) + " " + strconv.Itoa(len(payload)) + " " + SHA256Hex(payload))
}

// ReplyError is a reply that is not the expected acknowledgement: an ERR reply (Rejected), or a
// malformed or mismatched one.
type ReplyError struct {
	Seq      uint64 // the message the reply answered
	Reply    []byte // the reply's payload
	Rejected bool   // an ERR reply
	Reason   string // what is wrong, for humans
}

// Error is the client's error line after `error: `; for an ERR reply, as §3.3 words it: a
// phrase for the code, then the reply as received.
func (e *ReplyError) Error() string {
	if !e.Rejected {
		return fmt.Sprintf("reply to message %d: %s", e.Seq, e.Reason)
	}
	switch ErrCode(e.Reply) {
	case "busy":
		return "server is busy: " + Printable(e.Reply)
	case "output":
		return fmt.Sprintf("server could not log message %d: %s", e.Seq, Printable(e.Reply))
	default:
		return fmt.Sprintf("server rejected message %d: %s", e.Seq, Printable(e.Reply))
	}
}

// IsErrReply reports whether a reply payload is an ERR reply (`ERR <code> [<detail>]`).
func IsErrReply(reply []byte) bool {
	return bytes.Equal(reply, []byte("ERR")) || bytes.HasPrefix(reply, []byte("ERR "))
}

// ErrCode is the code of an ERR reply ("" for a bare `ERR`, or for a reply that is not one).
func ErrCode(reply []byte) string {
	rest, ok := bytes.CutPrefix(reply, []byte("ERR "))
	if !ok {
		return ""
	}
	code, _, _ := bytes.Cut(rest, []byte(" "))
	return string(code)
}

// Printable is data with printable ASCII as it is and every other byte as `\xNN`: a reply as
// received, on one line.
func Printable(data []byte) string {
	var b strings.Builder
	for _, c := range data {
		if c >= 0x20 && c <= 0x7e {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	return b.String()
}

// CheckAck requires reply to be exactly `ACK seq len(payload) sha256(payload)` (§3.4); anything
// else is a *ReplyError.
func CheckAck(reply []byte, seq uint64, payload []byte) error {
	want := ExpectedAck(seq, payload)
	if bytes.Equal(reply, want) {
		return nil
	}
	if IsErrReply(reply) {
		return &ReplyError{Seq: seq, Reply: reply, Rejected: true}
	}
	got := bytes.Split(reply, []byte(" "))
	if len(got) != 4 || string(got[0]) != "ACK" {
		return &ReplyError{Seq: seq, Reply: reply, Reason: fmt.Sprintf("malformed reply \"%s\"", Escape(reply))}
	}
	fields := bytes.Split(want, []byte(" "))
	for i, name := range []string{"", "sequence number", "length", "sha256"} {
		if i > 0 && !bytes.Equal(got[i], fields[i]) {
			return &ReplyError{Seq: seq, Reply: reply, Reason: fmt.Sprintf(
				"acknowledgement has the wrong %s: got \"%s\", expected \"%s\"", name, Escape(got[i]), fields[i])}
		}
	}
	return &ReplyError{Seq: seq, Reply: reply, Reason: fmt.Sprintf("malformed reply \"%s\"", Escape(reply))}
}
