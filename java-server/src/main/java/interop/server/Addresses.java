package interop.server;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;

/**
 * Formats addresses as §1 requires: {@code ip:port} for IPv4, {@code [ip]:port} for IPv6, the IP in
 * its shortest standard text form (RFC 5952), without a {@code %scope}; an IPv4-mapped IPv6
 * address as the IPv4 address it maps (as the Rust server does).
 */
public final class Addresses {
    private Addresses() {
    }

    /** {@code 127.0.0.1:8099}, {@code [::1]:8099}, or {@code unix:PATH} for a named Unix socket. */
    public static String format(SocketAddress address) {
        if (address instanceof InetSocketAddress inet) {
            return format(inet.getAddress(), inet.getPort());
        }
        if (address instanceof UnixDomainSocketAddress unix) {
            return "unix:" + unix.getPath();
        }
        return String.valueOf(address);
    }

    /** {@code 127.0.0.1:8099} or {@code [::1]:8099}. */
    public static String format(InetAddress address, int port) {
        if (address instanceof Inet6Address v6) {
            byte[] b = v6.getAddress();
            if (isIpv4Mapped(b)) {
                return (b[12] & 0xff) + "." + (b[13] & 0xff) + "." + (b[14] & 0xff) + "."
                        + (b[15] & 0xff) + ":" + port;
            }
            return "[" + formatIpv6(b) + "]:" + port;
        }
        if (address instanceof Inet4Address) {
            return address.getHostAddress() + ":" + port;
        }
        return address + ":" + port;
    }

    private static boolean isIpv4Mapped(byte[] b) {
        for (int i = 0; i < 10; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return b[10] == (byte) 0xff && b[11] == (byte) 0xff;
    }

    /**
     * RFC 5952 text of a 16-byte IPv6 address: lowercase hex groups without leading zeros, the
     * longest run of two or more zero groups (the leftmost on a tie) replaced by {@code ::}.
     */
    static String formatIpv6(byte[] bytes) {
        if (bytes.length != 16) {
            throw new IllegalArgumentException("an IPv6 address has 16 bytes, got " + bytes.length);
        }
        int[] groups = new int[8];
        for (int g = 0; g < 8; g++) {
            groups[g] = ((bytes[2 * g] & 0xff) << 8) | (bytes[2 * g + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLength = 0;
        for (int g = 0; g < 8; ) {
            if (groups[g] != 0) {
                g++;
                continue;
            }
            int start = g;
            while (g < 8 && groups[g] == 0) {
                g++;
            }
            if (g - start > bestLength) { // strict: the leftmost run wins a tie
                bestStart = start;
                bestLength = g - start;
            }
        }
        if (bestLength < 2) {
            bestStart = -1;
        }
        StringBuilder sb = new StringBuilder(39);
        for (int g = 0; g < 8; g++) {
            if (g == bestStart) {
                sb.append("::");
                g += bestLength - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(groups[g]));
        }
        return sb.toString();
    }
}
