package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"syscall"
	"testing"

	"interop/go-server/internal/wire"
)

// events writes the same events as the Rust server's printer tests.
func events(t *testing.T, l *Log) {
	t.Helper()
	for _, err := range []error{
		l.Listening("127.0.0.1:8099", "raw"),
		l.Connected(1, "127.0.0.1:1001", "127.0.0.1:8099"),
		l.Connected(2, "127.0.0.1:1002", "127.0.0.1:8099"),
		l.Message(2, "127.0.0.1:1002", 1, wire.ViewOf([]byte("second"))),
		l.Message(1, "127.0.0.1:1001", 1, wire.ViewOf([]byte("first\nline"))),
		l.Closed(1, "127.0.0.1:1001", 1),
		l.Closed(2, "127.0.0.1:1002", 1),
		l.Connected(3, "127.0.0.1:1003", "127.0.0.1:8099"),
		l.Error(3, "127.0.0.1:1003", "truncated"),
		l.Connected(4, "127.0.0.1:1004", "127.0.0.1:8099"),
		l.Closed(4, "127.0.0.1:1004", 0),
		l.Error(0, "", "busy: turned away 1 connection(s) over --max-connections 2"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestTextKeepsEachHelloWithItsMessage(t *testing.T) {
	var out, errw bytes.Buffer
	events(t, New(Text, &out, &errw, false))
	want := "listening on 127.0.0.1:8099\n" +
		"Hello: 127.0.0.1:1002\nsecond\n" +
		"Hello: 127.0.0.1:1001\nfirst\nline\n" +
		"Hello: 127.0.0.1:1003\n" +
		"Hello: 127.0.0.1:1004\n"
	if out.String() != want {
		t.Errorf("stdout %q, want %q", out.String(), want)
	}
	wantErr := "error: 127.0.0.1:1003: truncated\nerror: busy: turned away 1 connection(s) over --max-connections 2\n"
	if errw.String() != wantErr {
		t.Errorf("stderr %q, want %q", errw.String(), wantErr)
	}
}

func TestTextUDPPrintsHelloBeforeEveryMessage(t *testing.T) {
	var out, errw bytes.Buffer
	l := New(Text, &out, &errw, true)
	_ = l.Connected(1, "127.0.0.1:5", "127.0.0.1:8099")
	_ = l.Message(1, "127.0.0.1:5", 1, wire.ViewOf([]byte("a")))
	_ = l.Message(1, "127.0.0.1:5", 2, wire.ViewOf([]byte("\xffb")))
	want := "Hello: 127.0.0.1:5\na\nHello: 127.0.0.1:5\n" + wire.ViewOf([]byte("\xffb")).Line() + "\n"
	if out.String() != want {
		t.Errorf("stdout %q, want %q", out.String(), want)
	}
}

func TestJSONHasTheDocumentedShape(t *testing.T) {
	var out, errw bytes.Buffer
	events(t, New(JSON, &out, &errw, false))
	_ = New(JSON, &out, &errw, false).Message(5, "[::1]:7", 2, wire.ViewOf([]byte{0xff, '<', '>'}))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if lines[0] != "listening on 127.0.0.1:8099" {
		t.Fatalf("first line %q", lines[0])
	}
	want := []string{
		`{"event":"listening","addr":"127.0.0.1:8099","mode":"raw"}`,
		`{"event":"connected","conn":1,"peer":"127.0.0.1:1001","local":"127.0.0.1:8099"}`,
		`{"event":"connected","conn":2,"peer":"127.0.0.1:1002","local":"127.0.0.1:8099"}`,
		`{"event":"message","conn":2,"peer":"127.0.0.1:1002","seq":1,"len":6,"sha256":"` + wire.ViewOf([]byte("second")).SHA256 + `","text":"second"}`,
		`{"event":"message","conn":1,"peer":"127.0.0.1:1001","seq":1,"len":10,"sha256":"` + wire.ViewOf([]byte("first\nline")).SHA256 + `","text":"first\nline"}`,
		`{"event":"closed","conn":1,"peer":"127.0.0.1:1001","messages":1}`,
		`{"event":"closed","conn":2,"peer":"127.0.0.1:1002","messages":1}`,
		`{"event":"connected","conn":3,"peer":"127.0.0.1:1003","local":"127.0.0.1:8099"}`,
		`{"event":"error","conn":3,"peer":"127.0.0.1:1003","error":"truncated"}`,
		`{"event":"connected","conn":4,"peer":"127.0.0.1:1004","local":"127.0.0.1:8099"}`,
		`{"event":"closed","conn":4,"peer":"127.0.0.1:1004","messages":0}`,
		`{"event":"error","error":"busy: turned away 1 connection(s) over --max-connections 2"}`,
		// Not text: no "text" key.
		`{"event":"message","conn":5,"peer":"[::1]:7","seq":2,"len":3,"sha256":"` + wire.ViewOf([]byte{0xff, '<', '>'}).SHA256 + `"}`,
	}
	if got := lines[1:]; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, line := range lines[1:] {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Errorf("%s: %v", line, err)
		}
	}
	if errw.Len() != 0 {
		t.Errorf("stderr %q", errw.String())
	}
	// Control characters and non-ASCII text survive a round trip.
	out.Reset()
	text := "tab\there \"quoted\" \\ 中文 \x01"
	_ = New(JSON, &out, &errw, false).Message(1, "p", 1, wire.ViewOf([]byte(text)))
	var m struct{ Text string }
	if err := json.Unmarshal(out.Bytes(), &m); err != nil || m.Text != text {
		t.Errorf("round trip %q: %q, %v", out.String(), m.Text, err)
	}
}

// failing fails every write after the first ok ones.
type failing struct {
	ok     int
	writes []string
}

func (f *failing) Write(p []byte) (int, error) {
	if len(f.writes) >= f.ok {
		return 0, syscall.EPIPE
	}
	f.writes = append(f.writes, string(p))
	return len(p), nil
}

func TestAFailedWriteBreaksTheLogForGood(t *testing.T) {
	for _, format := range []Format{Text, JSON} {
		out := &failing{ok: 1}
		var errw bytes.Buffer
		l := New(format, out, &errw, false)
		if err := l.Listening("127.0.0.1:1", "framed"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-l.Failed():
			t.Fatal("failed before any failure")
		default:
		}
		_ = l.Connected(1, "p", "l")
		err := l.Message(1, "p", 1, wire.ViewOf([]byte("x")))
		var f *Failure
		if !errors.As(err, &f) || f.Error() != "writing output: Broken pipe (os error 32)" {
			t.Fatalf("Message: %v", err)
		}
		<-l.Failed() // closed
		if l.Failure() == nil || l.Message(1, "p", 2, wire.ViewOf(nil)) == nil {
			t.Error("later records must fail too")
		}
		// Nothing more reaches stderr either.
		_ = l.Error(1, "p", "later")
		if len(out.writes) != 1 || errw.Len() != 0 {
			t.Errorf("format %d: writes %q, stderr %q", format, out.writes, errw.String())
		}
	}
}
