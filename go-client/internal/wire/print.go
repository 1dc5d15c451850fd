package wire

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

const (
	// MaxTextLen is the longest message printed as itself (§4).
	MaxTextLen = 4096
	// PreviewLen is how many leading bytes a summary line shows.
	PreviewLen = 32
)

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

// IsText reports whether a message is printed as itself: valid UTF-8, at most 4096 bytes.
func IsText(data []byte) bool {
	return len(data) <= MaxTextLen && utf8.Valid(data)
}

// SummaryLine is the one-line summary of a binary or long message, without the newline.
func SummaryLine(data []byte) string {
	kind := "binary"
	if utf8.Valid(data) {
		kind = "long"
	}
	preview, more := data, ""
	if len(data) > PreviewLen {
		preview, more = data[:PreviewLen], "..."
	}
	return fmt.Sprintf("[%s message: %d bytes, sha256 %s, starts \"%s\"%s]",
		kind, len(data), SHA256Hex(data), Escape(preview), more)
}

// AppendMessage appends the exact bytes printed for a message, newline included (§4).
func AppendMessage(dst, data []byte) []byte {
	if IsText(data) {
		dst = append(dst, data...)
	} else {
		dst = append(dst, SummaryLine(data)...)
	}
	return append(dst, '\n')
}
