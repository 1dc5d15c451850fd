// Command interop-server accepts connections forever and logs every message it receives
// (docs/PROTOCOL.md §5).
package main

import (
	"os"
	"os/signal"
	"syscall"

	"interop/go-server/internal/cli"
)

func main() {
	// A stdout whose reader has gone must surface as EPIPE from Write (then the server answers
	// ERR output and exits 3), not kill the process with SIGPIPE.
	signal.Ignore(syscall.SIGPIPE)
	// Before anything is bound: whoever reads the `listening on` line may send SIGTERM at once.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr, signals))
}
