package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"

	"interop/go-server/internal/wire"
)

// StartError is a failure to start serving (exit code 1).
type StartError struct{ Msg string }

func (e *StartError) Error() string { return e.Msg }

func startf(format string, args ...any) error {
	return &StartError{Msg: fmt.Sprintf(format, args...)}
}

// addrs resolves host to the IP addresses to try, in order.
func addrs(host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err == nil && len(ips) == 0 {
		err = errors.New("no addresses")
	}
	return ips, err
}

// network is the network to bind ip with: "tcp4" (or "udp4") for IPv4, so that 0.0.0.0 is not
// widened into a dual-stack [::]; "tcp6" for IPv6, except the wildcard ::, which Go binds
// dual-stack (IPv6-only off, as the system's default gives C, Rust and Python), only with "tcp".
func network(kind string, ip netip.Addr) string {
	switch {
	case ip.Unmap().Is4():
		return kind + "4"
	case ip.IsUnspecified():
		return kind
	default:
		return kind + "6"
	}
}

// ListenTCP listens on the first address of host that works (Go sets SO_REUSEADDR on every
// TCP listener, so a server killed with connections open can bind again at once: §5).
func ListenTCP(host string, port int) (*net.TCPListener, error) {
	where := net.JoinHostPort(host, strconv.Itoa(port))
	ips, err := addrs(host)
	if err != nil {
		return nil, startf("cannot listen on %s: %s", where, wire.Describe(err))
	}
	for _, ip := range ips {
		var ln *net.TCPListener
		ap := netip.AddrPortFrom(ip.Unmap(), uint16(port))
		ln, err = net.ListenTCP(network("tcp", ip), net.TCPAddrFromAddrPort(ap))
		if err == nil {
			return ln, nil
		}
	}
	return nil, startf("cannot listen on %s: %s", where, wire.Describe(err))
}

// ListenUDP binds a UDP socket on the first address of host that works.
func ListenUDP(host string, port int) (*net.UDPConn, error) {
	where := net.JoinHostPort(host, strconv.Itoa(port))
	ips, err := addrs(host)
	if err != nil {
		return nil, startf("cannot bind udp %s: %s", where, wire.Describe(err))
	}
	for _, ip := range ips {
		var pc *net.UDPConn
		ap := netip.AddrPortFrom(ip.Unmap(), uint16(port))
		pc, err = net.ListenUDP(network("udp", ip), net.UDPAddrFromAddrPort(ap))
		if err == nil {
			return pc, nil
		}
	}
	return nil, startf("cannot bind udp %s: %s", where, wire.Describe(err))
}

// ListenUnix listens on a Unix stream socket at path (§10.2). A socket file that nobody
// listens on (connecting is refused) is stale, and removed first; one that somebody listens
// on, or anything that is not a socket, is an error, and is never removed. The listener
// removes its file when closed.
func ListenUnix(path string) (*net.UnixListener, error) {
	where := "unix:" + path
	info, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, startf("cannot listen on %s: %s", where, wire.Describe(err))
	case info.Mode()&os.ModeSocket == 0:
		return nil, startf("cannot listen on %s: %s exists and is not a socket; not removing it", where, path)
	default:
		probe, err := net.DialTimeout("unix", path, time.Second)
		switch {
		case err == nil:
			_ = probe.Close()
			return nil, startf("cannot listen on %s: address in use: a server listens on %s", where, path)
		case errors.Is(err, syscall.ECONNREFUSED):
			// A stale file from an earlier run.
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, startf("cannot listen on %s: cannot remove stale socket: %s", where, wire.Describe(err))
			}
		case errors.Is(err, os.ErrNotExist):
		case errors.Is(err, syscall.EAGAIN) || errors.Is(err, os.ErrDeadlineExceeded):
			// Its backlog is full: somebody listens, and is busy.
			return nil, startf("cannot listen on %s: address in use: a server listens on %s", where, path)
		default:
			return nil, startf("cannot listen on %s: %s", where, wire.Describe(err))
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, startf("cannot listen on %s: %s", where, wire.Describe(err))
	}
	return ln, nil
}
