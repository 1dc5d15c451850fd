package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
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
		if got := SHA256Hex(tc.msg); got != tc.want {
			t.Errorf("sha256 of %d bytes = %s, want %s", len(tc.msg), got, tc.want)
		}
	}
}

func TestFrames(t *testing.T) {
	for _, tc := range []struct {
		payload string
		want    []byte
	}{
		{"", []byte{0, 0, 0, 0}},
		{"abc", []byte{0, 0, 0, 3, 'a', 'b', 'c'}},
	} {
		got, err := EncodeFrame([]byte(tc.payload))
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("EncodeFrame(%q) = % x, %v; want % x", tc.payload, got, err, tc.want)
		}
		back, err := ReadFrame(bytes.NewReader(got), 16)
		if err != nil || string(back) != tc.payload {
			t.Errorf("ReadFrame = %q, %v", back, err)
		}
	}
	// §3.3's example reply frame.
	reply := "ACK 1 21 30836f56b786ee37cf464bfe65b7728a5853395d9225e2bfd76f06ae68bd5807"
	frame, _ := EncodeFrame([]byte(reply))
	if !bytes.Equal(frame[:4], []byte{0, 0, 0, 0x49}) {
		t.Errorf("prefix % x", frame[:4])
	}
}

func TestReadFrameErrors(t *testing.T) {
	if _, err := ReadFrame(bytes.NewReader(nil), 10); err != io.EOF {
		t.Errorf("empty stream: %v, want io.EOF", err)
	}
	var trunc *TruncatedError
	if _, err := ReadFrame(bytes.NewReader([]byte{0, 0}), 10); !errors.As(err, &trunc) || !trunc.InHeader {
		t.Errorf("half a prefix: %v", err)
	}
	if _, err := ReadFrame(bytes.NewReader([]byte{0, 0, 0, 5, 'a'}), 10); !errors.As(err, &trunc) || trunc.Got != 1 {
		t.Errorf("short payload: %v", err)
	}
	var long *TooLongError
	if _, err := ReadFrame(bytes.NewReader([]byte{0, 0, 4, 1}), MaxReplyLen); !errors.As(err, &long) || long.Len != 1025 {
		t.Errorf("1025-byte reply: %v", err)
	}
	if _, err := ReadFrame(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff}), MaxReplyLen); !errors.As(err, &long) {
		t.Errorf("ff ff ff ff: %v", err)
	}
}

func TestCheckAck(t *testing.T) {
	abc := []byte("abc")
	good := "ACK 1 3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" // §9
	if string(ExpectedAck(1, abc)) != good {
		t.Fatalf("ExpectedAck = %s", ExpectedAck(1, abc))
	}
	if err := CheckAck([]byte(good), 1, abc); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		reply    string
		seq      uint64
		payload  string
		rejected bool
		contains string
	}{
		{good, 2, "abc", false, "sequence number"},
		{good, 1, "abd", false, "sha256"},
		{good, 1, "ab", false, "length"},
		{"ACK 01 3 " + good[8:], 1, "abc", false, "sequence number"},
		{good + " ", 1, "abc", false, "malformed"},
		{"nonsense\n", 1, "abc", false, `malformed reply "nonsense\n"`},
		{"", 1, "abc", false, "malformed"},
		{"ERR too-large 5 > 4", 1, "abc", true, "server rejected message 1: ERR too-large 5 > 4"},
		{"ERR", 1, "abc", true, "rejected"},
		{"ERR busy 2 connections open", 3, "abc", true, "server is busy: ERR busy 2 connections open"},
		{"ERR output writing output: full", 3, "abc", true, "server could not log message 3: ERR output writing output: full"},
		{"ERR odd \"a\\b\"\n\xff", 3, "abc", true, `server rejected message 3: ERR odd "a\b"\x0a\xff`},
	} {
		err := CheckAck([]byte(tc.reply), tc.seq, []byte(tc.payload))
		var re *ReplyError
		if !errors.As(err, &re) || re.Rejected != tc.rejected || !strings.Contains(err.Error(), tc.contains) {
			t.Errorf("CheckAck(%q, %d, %q) = %v; want rejected=%v containing %q", tc.reply, tc.seq, tc.payload, err, tc.rejected, tc.contains)
		}
	}
}

func TestPrinting(t *testing.T) {
	if got := string(AppendMessage(nil, allBytes())); got != allBytesLine+"\n" {
		t.Errorf("got  %s\nwant %s", got, allBytesLine)
	}
	// The example is also the one in the document, when the repository is around.
	if doc, err := os.ReadFile("../../../docs/PROTOCOL.md"); err == nil && !bytes.Contains(doc, []byte(allBytesLine)) {
		t.Errorf("PROTOCOL.md §4 no longer shows %s", allBytesLine)
	}
	long := bytes.Repeat([]byte("é"), 2049) // 4098 bytes of UTF-8
	for _, tc := range []struct {
		msg  []byte
		want string
	}{
		{nil, "\n"},
		{[]byte("Hello SocketServer!!!"), "Hello SocketServer!!!\n"},
		{[]byte("a\nb"), "a\nb\n"},
		{bytes.Repeat([]byte("x"), 4096), strings.Repeat("x", 4096) + "\n"},
		{[]byte{0xff}, `[binary message: 1 bytes, sha256 a8100ae6aa1940d0b663bb31cd466142ebbdbd5187131b92d93818987832eb89, starts "\xff"]` + "\n"},
		{[]byte("\"\\\t\r\x7f ~"), "\"\\\t\r\x7f ~\n"},
		{append([]byte("\"\\\t\r\x7f ~"), 0x80), `[binary message: 8 bytes, sha256 ` + SHA256Hex(append([]byte("\"\\\t\r\x7f ~"), 0x80)) + `, starts "\"\\\t\r\x7f ~\x80"]` + "\n"},
		{long, `[long message: 4098 bytes, sha256 ` + SHA256Hex(long) + `, starts "` + strings.Repeat(`\xc3\xa9`, 16) + `"...]` + "\n"},
		{bytes.Repeat([]byte("x"), 4097), `[long message: 4097 bytes, sha256 ` + SHA256Hex(bytes.Repeat([]byte("x"), 4097)) + `, starts "` + strings.Repeat("x", 32) + `"...]` + "\n"},
	} {
		if got := string(AppendMessage(nil, tc.msg)); got != tc.want {
			t.Errorf("AppendMessage(%q):\n got %q\nwant %q", tc.msg, got, tc.want)
		}
	}
	// Exactly 32 bytes: no "...".
	if got := SummaryLine(append(bytes.Repeat([]byte("a"), 31), 0xff)); !strings.HasSuffix(got, `\xff"]`) {
		t.Errorf("32-byte preview: %s", got)
	}
}

func TestFormatAddr(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8099}, "127.0.0.1:8099"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.1"), Port: 1}, "127.0.0.1:1"},
		{&net.TCPAddr{IP: net.ParseIP("::1"), Port: 8099}, "[::1]:8099"},
		{&net.UDPAddr{IP: net.ParseIP("2001:db8:0:0::1"), Port: 5}, "[2001:db8::1]:5"},
		{&net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 5}, "10.0.0.1:5"},
	} {
		if got := FormatAddr(tc.addr); got != tc.want {
			t.Errorf("FormatAddr(%v) = %s, want %s", tc.addr, got, tc.want)
		}
	}
	if got := HostPort("::1", 8099); got != "[::1]:8099" {
		t.Errorf("HostPort = %s", got)
	}
}

func TestReportJSON(t *testing.T) {
	line := Report{Seq: 1, Local: "127.0.0.1:51234", Peer: "unix:/tmp/a&b", Mode: "raw", Len: 21,
		SHA256: "x", Ack: "none", Transport: "tcp"}.AppendJSON(nil)
	want := `{"seq":1,"local":"127.0.0.1:51234","peer":"unix:/tmp/a&b","mode":"raw","len":21,"sha256":"x","ack":"none","transport":"tcp"}` + "\n"
	if string(line) != want {
		t.Errorf("got  %s\nwant %s", line, want)
	}
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil || len(m) != 8 {
		t.Errorf("not one JSON object with 8 keys: %v %v", m, err)
	}
}
