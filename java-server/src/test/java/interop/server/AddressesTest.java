package interop.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.api.Test;

/** Addresses as §1 prints them. */
class AddressesTest {
    private static String format(String ip, int port) throws UnknownHostException {
        return Addresses.format(new InetSocketAddress(InetAddress.getByName(ip), port));
    }

    @Test
    void ipv4AndIpv6InShortestForm() throws UnknownHostException {
        assertEquals("127.0.0.1:8099", format("127.0.0.1", 8099));
        assertEquals("[::1]:8099", format("::1", 8099));
        assertEquals("[::]:1", format("::", 1));
        assertEquals("[2001:db8::1:0:0:1]:80", format("2001:db8:0:0:1:0:0:1", 80));
        assertEquals("[2001:db8:0:1:1:1:1:1]:80", format("2001:db8:0:1:1:1:1:1", 80));
        assertEquals("[fe80::1]:5", format("fe80::1%1", 5));
    }

    @Test
    void ipv4MappedIsPrintedAsIpv4() throws UnknownHostException {
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        mapped[12] = 10;
        mapped[15] = 7;
        InetAddress address = java.net.Inet6Address.getByAddress(null, mapped, -1);
        assertEquals("10.0.0.7:9", Addresses.format(new InetSocketAddress(address, 9)));
    }

    @Test
    void unixSocketsAsUnixPath() {
        assertEquals("unix:/tmp/s.sock", Addresses.format(UnixDomainSocketAddress.of("/tmp/s.sock")));
    }
}
