package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"interop/go-client/internal/client"
	"interop/go-client/internal/wire"
)

// Run is the whole client: it parses args (without the program name), sends, writes one entry
// per delivered message to stdout and at most one `error: ` line to stderr, and returns the
// exit code (§7).
func Run(args []string, stdout, stderr io.Writer) int {
	opts, err := Parse(args)
	if errors.Is(err, ErrHelp) {
		_, _ = io.WriteString(stdout, Usage)
		return client.ExitOK
	}
	if err != nil {
		return fail(stderr, client.ExitUsage, err)
	}
	payloads, err := opts.payloads()
	if err != nil {
		return fail(stderr, client.ExitFailure, err)
	}
	out := &output{w: stdout, opts: opts}
	if err := client.Send(opts.Config(), payloads, out.print); err != nil {
		var cerr *client.Error
		if errors.As(err, &cerr) {
			return fail(stderr, cerr.Code, cerr)
		}
		return fail(stderr, client.ExitFailure, err)
	}
	return client.ExitOK
}

// fail writes the one error line and returns code.
func fail(stderr io.Writer, code int, err error) int {
	msg := strings.NewReplacer("\r", " ", "\n", " ").Replace(err.Error())
	_, _ = fmt.Fprintf(stderr, "error: %s\n", msg)
	return code
}

// payloads are the messages in sending order: every --file, then every MESSAGE, or the
// default message. Every file is read before anything is sent.
func (o *Options) payloads() ([][]byte, error) {
	var payloads [][]byte
	for _, path := range o.Files {
		data, err := os.ReadFile(path)
		if err != nil {
			var perr *os.PathError
			if errors.As(err, &perr) {
				err = perr.Err
			}
			return nil, fmt.Errorf("cannot read --file %s: %v", path, err)
		}
		payloads = append(payloads, data)
	}
	for _, m := range o.Messages {
		payloads = append(payloads, []byte(m)) // the bytes the OS passed, unchanged
	}
	if len(payloads) == 0 {
		payloads = append(payloads, []byte(DefaultMessage))
	}
	return payloads, nil
}

// output writes one entry per delivered message, each line in one write (so it is flushed
// with the message, unbuffered).
type output struct {
	w      io.Writer
	opts   *Options
	broken bool // stdout's reader went away: keep delivering, stop printing
}

func (o *output) print(d client.Delivery) error {
	if o.broken {
		return nil
	}
	var line []byte
	if o.opts.Format == "json" {
		ack := "none"
		if d.Verified {
			ack = "verified"
		}
		line = wire.Report{
			Seq: d.Seq, Local: d.Local, Peer: d.Peer, Mode: o.opts.Mode, Len: len(d.Payload),
			SHA256: wire.SHA256Hex(d.Payload), Ack: ack, Transport: o.opts.Transport,
		}.AppendJSON(nil)
	} else {
		line = wire.AppendMessage(nil, d.Payload)
	}
	if _, err := o.w.Write(line); err != nil {
		if errors.Is(err, syscall.EPIPE) {
			o.broken = true
			return nil
		}
		return client.Errorf(client.ExitFailure, "writing output: %v", err)
	}
	return nil
}
