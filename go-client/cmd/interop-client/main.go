// Command interop-client sends messages to an interop server (docs/PROTOCOL.md §6).
package main

import (
	"os"
	"os/signal"
	"syscall"

	"interop/go-client/internal/cli"
)

func main() {
	// A closed stdout must surface as EPIPE from Write, not kill the process mid-delivery.
	signal.Ignore(syscall.SIGPIPE)
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
}
