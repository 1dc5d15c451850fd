package wire

import (
	"bytes"
	"encoding/json"
	"net"
	"net/netip"
	"strconv"
)

// FormatAddr writes a socket address as §1 does: `ip:port`, `[ipv6]:port`, an IPv4-mapped IPv6
// address as plain IPv4. Addresses that are not IP (Unix sockets) are written as they are.
func FormatAddr(addr net.Addr) string {
	var ap netip.AddrPort
	switch a := addr.(type) {
	case *net.TCPAddr:
		ap = a.AddrPort()
	case *net.UDPAddr:
		ap = a.AddrPort()
	default:
		if addr == nil {
			return ""
		}
		return addr.String()
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
}

// HostPort joins a host as given on the command line with a port (IPv6 in brackets).
func HostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// Report is one line of a client's `--format json` output (§8.2): one delivered message.
type Report struct {
	Seq       uint64 `json:"seq"`
	Local     string `json:"local"`
	Peer      string `json:"peer"`
	Mode      string `json:"mode"`
	Len       int    `json:"len"`
	SHA256    string `json:"sha256"`
	Ack       string `json:"ack"`
	Transport string `json:"transport"`
}

// AppendJSON appends the report as one JSON object and a newline.
func (r Report) AppendJSON(dst []byte) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil { // cannot fail: only strings and integers
		panic(err)
	}
	return append(dst, b.Bytes()...) // Encode ends the object with '\n'
}
