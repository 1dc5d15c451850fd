package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"unicode/utf8"
)

const (
	// MaxTextLen is the longest message printed as itself (§4).
	MaxTextLen = 4096
	// PreviewLen is how many leading bytes a summary line shows.
	PreviewLen = 32
)

// View is what the server keeps of a message: enough to log it in either format and to
// acknowledge it (§3.3, §4, §8.1), never the whole payload.
type View struct {
	Len    uint64
	SHA256 string // 64 lowercase hex digits
	// Text is the message itself when it is printed as itself (valid UTF-8, at most 4096
	// bytes); IsText says whether it is.
	Text   string
	IsText bool
	UTF8   bool   // the whole message is valid UTF-8
	Head   []byte // the first PreviewLen bytes (fewer if the message is shorter)
}

// Message builds a View from a payload written to it in pieces of any size, so that a message
// of many megabytes is never held in memory: it keeps the length, a running SHA-256, the first
// MaxTextLen bytes and whether the bytes so far are valid UTF-8 (a character split across two
// writes is carried over, at most 3 bytes).
type Message struct {
	n       uint64
	sum     hash.Hash
	head    []byte
	carry   [utf8.UTFMax]byte
	ncarry  int
	invalid bool
}

// NewMessage returns an empty message.
func NewMessage() *Message {
	return &Message{sum: sha256.New()}
}

// Len is the number of bytes written so far.
func (m *Message) Len() uint64 { return m.n }

// Write adds p to the message. It never fails.
func (m *Message) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	m.n += uint64(len(p))
	m.sum.Write(p)
	if room := MaxTextLen - len(m.head); room > 0 {
		if m.head == nil {
			m.head = make([]byte, 0, min(MaxTextLen, len(p)))
		}
		m.head = append(m.head, p[:min(room, len(p))]...)
	}
	if !m.invalid {
		m.checkUTF8(p)
	}
	return len(p), nil
}

// checkUTF8 validates p after the bytes carried over from the previous write, carrying over
// an incomplete character at its end.
func (m *Message) checkUTF8(p []byte) {
	if m.ncarry > 0 {
		// Complete the carried character from the front of p.
		var buf [2 * utf8.UTFMax]byte
		k := copy(buf[:], m.carry[:m.ncarry])
		k += copy(buf[k:], p[:min(len(p), utf8.UTFMax)])
		if !utf8.FullRune(buf[:k]) {
			// Still incomplete: p is 1 or 2 bytes, all of them part of the character.
			m.ncarry = copy(m.carry[:], buf[:k])
			return
		}
		r, size := utf8.DecodeRune(buf[:k])
		if r == utf8.RuneError && size <= 1 {
			m.invalid = true
			return
		}
		p = p[size-m.ncarry:]
		m.ncarry = 0
	}
	// An incomplete character at the end (a lead byte among the last 3, without its
	// continuation bytes) is carried over; everything before it must be valid now.
	cut := len(p)
	for i := len(p) - 1; i >= 0 && i >= len(p)-(utf8.UTFMax-1); i-- {
		if !utf8.RuneStart(p[i]) {
			continue
		}
		if !utf8.FullRune(p[i:]) {
			cut = i
		}
		break
	}
	if !utf8.Valid(p[:cut]) {
		m.invalid = true
		return
	}
	m.ncarry = copy(m.carry[:], p[cut:])
}

// View is the message as written so far, taken as complete.
func (m *Message) View() View {
	v := View{
		Len:    m.n,
		SHA256: hex.EncodeToString(m.sum.Sum(nil)),
		UTF8:   !m.invalid && m.ncarry == 0,
		Head:   m.head[:min(len(m.head), PreviewLen)],
	}
	if v.UTF8 && m.n <= MaxTextLen {
		v.Text, v.IsText = string(m.head), true
	}
	return v
}

// ViewOf is the View of a whole payload.
func ViewOf(p []byte) View {
	m := NewMessage()
	m.Write(p)
	return m.View()
}

// Line is the message as §4 prints it, without the newline: itself, or a summary line.
func (v View) Line() string {
	if v.IsText {
		return v.Text
	}
	kind := "binary"
	if v.UTF8 {
		kind = "long"
	}
	more := ""
	if v.Len > PreviewLen {
		more = "..."
	}
	return fmt.Sprintf("[%s message: %d bytes, sha256 %s, starts \"%s\"%s]",
		kind, v.Len, v.SHA256, Escape(v.Head), more)
}

// Escape writes bytes one by one as in the §4 preview; the result is printable ASCII.
func Escape(data []byte) string {
	var b strings.Builder
	for _, c := range data {
		switch c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c >= 0x20 && c <= 0x7e {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
		}
	}
	return b.String()
}
