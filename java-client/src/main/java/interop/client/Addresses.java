package interop.client;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * Formats addresses as §1 requires: {@code ip:port} for IPv4, {@code [ip]:port} for IPv6, the IP in
 * its shortest standard text form (RFC 5952), without any {@code %scope}.
 */
public final class Addresses {
    private Addresses() {
    }

    /** {@code 127.0.0.1:8099} or {@code [::1]:8099}. */
    public static String format(InetAddress address, int port) {
        String ip = formatIp(address);
        return (address instanceof Inet6Address ? "[" + ip + "]" : ip) + ":" + port;
    }

    public static String format(InetSocketAddress address) {
        return format(address.getAddress(), address.getPort());
    }

    /** The IP alone, IPv6 compressed per RFC 5952 and without brackets or scope. */
    public static String formatIp(InetAddress address) {
        if (address instanceof Inet4Address) {
            return address.getHostAddress();
        }
        return formatIpv6(address.getAddress());
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
            int length = g - start;
            if (length > bestLength) { // strict: the leftmost run wins a tie
                bestStart = start;
                bestLength = length;
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
