//go:build !linux

package server

import "net"

// unixPeer names a Unix socket's peer by its process id (§10.2); only Linux (SO_PEERCRED) is
// supported.
func unixPeer(net.Conn) string {
	return "pid:unknown"
}
