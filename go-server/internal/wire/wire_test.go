package wire

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"unicode/utf8"
)

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// The exact example of PROTOCOL.md §4.
const allBytesLine = `[binary message: 256 bytes, sha256 40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880, starts "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"...]`

func TestTestVectors(t *testing.T) { // §9
	for _, tc := range []struct {
		msg  []byte
		want string
	}{
		{nil, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{[]byte("Hello SocketServer!!!"), "30836f56b786ee37cf464bfe65b7728a5853395d9225e2bfd76f06ae68bd5807"},
		{allBytes(), "40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880"},
	} {
		if got := ViewOf(tc.msg).SHA256; got != tc.want {
			t.Errorf("sha256 of %d bytes = %s, want %s", len(tc.msg), got, tc.want)
		}
	}
}

func TestFramesAndReplies(t *testing.T) {
	// §9: abc is acknowledged as message 1 by the frame 00 00 00 48 "ACK 1 3 ba78…".
	ack := Frame(Ack(1, ViewOf([]byte("abc"))))
	want := append([]byte{0, 0, 0, 0x48}, "ACK 1 3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"...)
	if !bytes.Equal(ack, want) {
		t.Errorf("ack frame = %q, want %q", ack, want)
	}
	// §3.3's example.
	hello := Frame(Ack(1, ViewOf([]byte("Hello SocketServer!!!"))))
	if !bytes.Equal(hello[:4], []byte{0, 0, 0, 0x49}) {
		t.Errorf("prefix % x", hello[:4])
	}
	if got := Length([4]byte{0xff, 0xff, 0xff, 0xff}); got != 4294967295 {
		t.Errorf("Length = %d", got)
	}
	if got := string(Err(ErrTooLarge, "4294967295 > 16777216")); got != "ERR too-large 4294967295 > 16777216" {
		t.Errorf("Err = %q", got)
	}
	if got := string(Err(ErrBusy, "")); got != "ERR busy" {
		t.Errorf("Err without detail = %q", got)
	}
}

func TestLines(t *testing.T) { // §4
	long := bytes.Repeat([]byte("é"), 2049) // 4098 bytes of UTF-8
	for _, tc := range []struct {
		msg  []byte
		want string
	}{
		{[]byte("Hello SocketServer!!!"), "Hello SocketServer!!!"},
		{[]byte(""), ""},
		{[]byte("two\nlines"), "two\nlines"},
		{bytes.Repeat([]byte("a"), 4096), string(bytes.Repeat([]byte("a"), 4096))},
		{allBytes(), allBytesLine},
		{[]byte("\xff\"\\"), `[binary message: 3 bytes, sha256 ` + ViewOf([]byte("\xff\"\\")).SHA256 + `, starts "\xff\"\\"]`},
		{long, `[long message: 4098 bytes, sha256 ` + ViewOf(long).SHA256 + `, starts "` + Escape(long[:32]) + `"...]`},
	} {
		if got := ViewOf(tc.msg).Line(); got != tc.want {
			t.Errorf("Line(%.40q) = %.200q, want %.200q", tc.msg, got, tc.want)
		}
	}
	if v := ViewOf(bytes.Repeat([]byte("a"), 4097)); v.IsText || !v.UTF8 {
		t.Errorf("4097 bytes: IsText %v UTF8 %v", v.IsText, v.UTF8)
	}
	if got := Escape([]byte("\x00\x7f é")); got != `\x00\x7f \xc3\xa9` {
		t.Errorf("Escape = %s", got)
	}
}

// Written in pieces of every size, a message has the same view as written whole: the same
// hash, text and, across split characters, the same UTF-8 verdict.
func TestMessageInPieces(t *testing.T) {
	samples := [][]byte{
		[]byte("中文 accentué 😀 done"),
		[]byte("😀😀😀"),
		[]byte("a\xffb"),
		[]byte("\xe4\xb8"),          // a character cut short at the end
		[]byte("\xe4\xb8a\xad"),     // a character broken in the middle
		[]byte("\xf0\x9f\x98"),      // 4-byte character missing its last byte
		[]byte("\xed\xa0\x80"),      // a surrogate: not UTF-8
		[]byte("\xc0\xaf"),          // overlong
		[]byte("x\x80\x80\x80\x80"), // stray continuation bytes
		append(bytes.Repeat([]byte("é"), 2100), 0xff),
		bytes.Repeat([]byte("日本"), 1000),
		allBytes(),
	}
	for _, msg := range samples {
		whole := ViewOf(msg)
		if whole.UTF8 != utf8.Valid(msg) {
			t.Errorf("%.20q: UTF8 = %v", msg, whole.UTF8)
		}
		for size := 1; size <= 7; size++ {
			m := NewMessage()
			for i := 0; i < len(msg); i += size {
				m.Write(msg[i:min(i+size, len(msg))])
			}
			if got := m.View(); fmt.Sprint(got) != fmt.Sprint(whole) {
				t.Errorf("%.20q in pieces of %d: %+v, want %+v", msg, size, got, whole)
			}
		}
	}
}

func TestAddresses(t *testing.T) { // §1
	for _, tc := range []struct{ in, want string }{
		{"127.0.0.1:8099", "127.0.0.1:8099"},
		{"[::1]:8099", "[::1]:8099"},
		{"[::ffff:127.0.0.1]:51234", "127.0.0.1:51234"},
		{"[2001:db8:0:0:0:0:0:1]:1", "[2001:db8::1]:1"},
	} {
		ap := netip.MustParseAddrPort(tc.in)
		if got := FormatAddr(net.TCPAddrFromAddrPort(ap)); got != tc.want {
			t.Errorf("FormatAddr(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if got := PidPeer(4242); got != "pid:4242" {
		t.Errorf("PidPeer = %s", got)
	}
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&os.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.EPIPE}, "Broken pipe (os error 32)"},
		{&os.PathError{Op: "write", Path: "/dev/full", Err: syscall.ENOSPC}, "No space left on device (os error 28)"},
		{&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, "Connection reset by peer (os error 104)"},
		{os.ErrDeadlineExceeded, "timed out"},
		{errors.New("something else"), "something else"},
	} {
		if got := Describe(tc.err); got != tc.want {
			t.Errorf("Describe(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
