package cli

import (
	"errors"
	"strings"
	"testing"
	"time"

	"interop/go-server/internal/output"
)

func TestDefaultsAreTheTutorials(t *testing.T) {
	o, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Options{
		Host: "127.0.0.1", Port: 8099, Mode: "raw", Format: output.Text, MaxMessageBytes: 16 << 20,
		MaxConnections: 1024, IdleTimeout: 60 * time.Second, Transport: "tcp",
	}
	if *o != want {
		t.Errorf("%+v, want %+v", *o, want)
	}
}

func TestBothFormsOfOptions(t *testing.T) {
	o, err := Parse([]string{"--host", "::1", "--port=0", "--mode=framed", "--format", "json",
		"--max-message-bytes=4294967295", "--max-connections", "2", "--idle-timeout-ms=1500"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Host != "::1" || o.Port != 0 || o.Mode != "framed" || o.Format != output.JSON ||
		o.MaxMessageBytes != 4294967295 || o.MaxConnections != 2 || o.IdleTimeout != 1500*time.Millisecond {
		t.Errorf("%+v", *o)
	}
	o, err = Parse([]string{"--transport", "unix", "--path", "/tmp/s.sock"})
	if err != nil || o.Transport != "unix" || o.Path != "/tmp/s.sock" {
		t.Errorf("%+v, %v", o, err)
	}
	if o, err := Parse([]string{"--idle-timeout-ms", "18446744073709551615"}); err != nil || o.IdleTimeout <= 0 {
		t.Errorf("the largest idle timeout: %+v, %v", o, err)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--port", "abc"}, `invalid --port "abc"`},
		{[]string{"--port", "65536"}, `invalid --port "65536"`},
		{[]string{"--port", "-1"}, `invalid --port "-1"`},
		{[]string{"--port"}, "option --port needs a value"},
		{[]string{"--mode", "udp"}, `invalid --mode "udp" (expected raw or framed)`},
		{[]string{"--format", "xml"}, `invalid --format "xml"`},
		{[]string{"--max-connections", "0"}, `invalid --max-connections "0"`},
		{[]string{"--idle-timeout-ms", "0"}, `invalid --idle-timeout-ms "0"`},
		{[]string{"--max-message-bytes", "4294967296"}, `invalid --max-message-bytes "4294967296"`},
		{[]string{"--transport", "sctp"}, `invalid --transport "sctp"`},
		{[]string{"--transport", "unix"}, "--transport unix needs --path PATH"},
		{[]string{"--path", "/tmp/s"}, "--path needs --transport unix"},
		{[]string{"--transport", "unix", "--path", "/tmp/" + strings.Repeat("x", 125)}, "unix socket path too long: 130 bytes, at most 107"},
		{[]string{"--port", "1", "--port", "2"}, "option --port given twice"},
		{[]string{"--verbose"}, "unknown option --verbose"},
		{[]string{"message"}, `unexpected argument "message"`},
		{[]string{"--host", ""}, `invalid --host ""`},
	} {
		_, err := Parse(tc.args)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.HasPrefix(ue.Msg, tc.want) {
			t.Errorf("%q: %v, want a usage error starting %q", tc.args, err, tc.want)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"--port", "1", "--help"}} {
		if _, err := Parse(args); !errors.Is(err, ErrHelp) {
			t.Errorf("%q: %v", args, err)
		}
	}
	for _, args := range [][]string{{"-V"}, {"--version"}} {
		if _, err := Parse(args); !errors.Is(err, ErrVersion) {
			t.Errorf("%q: %v", args, err)
		}
	}
}
