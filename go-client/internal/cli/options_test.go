package cli

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseDefaults(t *testing.T) {
	o, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &Options{Host: "127.0.0.1", Port: 8099, Mode: "raw", Format: "text", TimeoutMS: 10000, Transport: "tcp"}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("got %+v", o)
	}
	if c := o.Config(); c.Timeout != 10*time.Second {
		t.Errorf("timeout %v", c.Timeout)
	}
	payloads, err := o.payloads()
	if err != nil || len(payloads) != 1 || string(payloads[0]) != DefaultMessage {
		t.Errorf("payloads %q %v", payloads, err)
	}
}

func TestParseForms(t *testing.T) {
	o, err := Parse([]string{"a", "--port=1", "--host", "::1", "", "--mode", "framed", "--file", "f1",
		"--format=json", "--file=f2", "--timeout-ms", "5", "--pipeline", "-", "--", "--half-close", "-h", "--port=x"})
	if err != nil {
		t.Fatal(err)
	}
	want := &Options{Host: "::1", Port: 1, Mode: "framed", Format: "json", TimeoutMS: 5, Transport: "tcp",
		Pipeline: true, Files: []string{"f1", "f2"}, Messages: []string{"a", "", "-", "--half-close", "-h", "--port=x"}}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("got  %+v\nwant %+v", o, want)
	}
	// A value may itself look like an option or be empty where that makes sense.
	o, err = Parse([]string{"--file", "--x", "--transport", "unix", "--path=/tmp/s", "--half-close", "--mode", "framed"})
	if err != nil || o.Files[0] != "--x" || o.Path != "/tmp/s" || !o.HalfClose {
		t.Errorf("got %+v, %v", o, err)
	}
	if o, err := Parse([]string{"--timeout-ms", "18446744073709551615"}); err != nil || o.Config().Timeout != maxTimeout {
		t.Errorf("huge timeout: %+v %v", o, err)
	}
}

func TestParseHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"msg", "--port", "1", "--help"}} {
		if _, err := Parse(args); !errors.Is(err, ErrHelp) {
			t.Errorf("%q: %v", args, err)
		}
	}
}

func TestParseUsageErrors(t *testing.T) {
	long := "/tmp/" + strings.Repeat("s", 125)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--port", "abc"}, "invalid --port"},
		{[]string{"--port", "0"}, "invalid --port"},
		{[]string{"--port", "65536"}, "invalid --port"},
		{[]string{"--port", "+80"}, "invalid --port"},
		{[]string{"--port"}, "--port needs a value"},
		{[]string{"--mode", "udp"}, "invalid --mode"},
		{[]string{"--format", "xml"}, "invalid --format"},
		{[]string{"--transport", "sctp"}, "invalid --transport"},
		{[]string{"--timeout-ms", "0"}, "invalid --timeout-ms"},
		{[]string{"--timeout-ms", "-1"}, "invalid --timeout-ms"},
		{[]string{"--timeout-ms", "1.5"}, "invalid --timeout-ms"},
		{[]string{"--timeout-ms", "99999999999999999999"}, "invalid --timeout-ms"},
		{[]string{"--host="}, "invalid --host"},
		{[]string{"--bogus"}, "unknown option --bogus"},
		{[]string{"-x"}, "unknown option -x"},
		{[]string{"--pipeline=yes", "--mode", "framed"}, "takes no value"},
		{[]string{"--transport", "unix"}, "needs --path"},
		{[]string{"--path", "/tmp/s"}, "--path needs --transport unix"},
		{[]string{"--transport", "unix", "--path", long}, "unix socket path too long: 130 bytes, at most 107"},
		{[]string{"--pipeline"}, "--pipeline needs --mode framed"},
		{[]string{"--half-close", "--mode", "raw"}, "--half-close needs --mode framed"},
		{[]string{"--pipeline", "--mode", "framed", "--transport", "udp"}, "not udp"},
		{[]string{"--half-close", "--transport", "udp"}, "not udp"},
	} {
		_, err := Parse(tc.args)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Parse(%q) = %v; want a usage error with %q", tc.args, err, tc.msg)
		}
	}
}
