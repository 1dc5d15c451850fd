package server

import (
	"net"
	"syscall"

	"interop/go-server/internal/wire"
)

// unixPeer names a Unix socket's peer by its process id (§10.2), from SO_PEERCRED.
func unixPeer(nc net.Conn) string {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return "pid:unknown"
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return "pid:unknown"
	}
	var cred *syscall.Ucred
	var credErr error
	err = raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	})
	if err != nil || credErr != nil || cred == nil {
		return "pid:unknown"
	}
	return wire.PidPeer(cred.Pid)
}
