package wire

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
)

// FormatAddrPort writes an address as §1 does: `ip:port`, `[ipv6]:port`, and an IPv4-mapped
// IPv6 address (a dual-stack socket's IPv4 peer) as plain IPv4.
func FormatAddrPort(ap netip.AddrPort) string {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
}

// FormatAddr is FormatAddrPort for a TCP or UDP net.Addr; any other address is written as it is.
func FormatAddr(addr net.Addr) string {
	switch a := addr.(type) {
	case *net.TCPAddr:
		return FormatAddrPort(a.AddrPort())
	case *net.UDPAddr:
		return FormatAddrPort(a.AddrPort())
	case nil:
		return ""
	default:
		return addr.String()
	}
}

// PidPeer is how a Unix socket's peer is printed (§10.2): `pid:<pid>`.
func PidPeer(pid int32) string {
	return "pid:" + strconv.Itoa(int(pid))
}

// Describe words an error as the other servers do: for an operating-system error its
// description and number, `Broken pipe (os error 32)`; a deadline as `timed out`; anything else
// as Go writes it.
func Describe(err error) string {
	var errno syscall.Errno
	switch {
	case err == nil:
		return ""
	case errors.As(err, &errno):
		text := errno.Error()
		if text != "" && text[0] >= 'a' && text[0] <= 'z' {
			text = string(text[0]-'a'+'A') + text[1:]
		}
		return text + " (os error " + strconv.Itoa(int(errno)) + ")"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timed out"
	case errors.Is(err, net.ErrClosed):
		return "connection closed"
	default:
		return err.Error()
	}
}
