package interop.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AddressesTest {

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "0:0:0:0:0:0:0:1, ::1",
        "0:0:0:0:0:0:0:0, ::",
        "1:0:0:0:0:0:0:0, 1::",
        "2001:0db8:0000:0000:0000:0000:0000:0001, 2001:db8::1",
        "2001:DB8:0:0:0:0:0:ABCD, 2001:db8::abcd",
        // a single zero group is not compressed
        "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1",
        // the longest run wins
        "2001:0:0:1:0:0:0:1, 2001:0:0:1::1",
        // the leftmost of equally long runs wins
        "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
        "0:0:1:0:0:1:0:0, ::1:0:0:1:0:0",
        "1:0:0:2:3:4:0:0, 1::2:3:4:0:0",
        "fe80:0:0:0:0:0:0:1, fe80::1",
        "1:2:3:4:5:6:7:0, 1:2:3:4:5:6:7:0",
        "0:2:3:4:5:6:7:8, 0:2:3:4:5:6:7:8",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff, ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    })
    void ipv6IsCompressedPerRfc5952(String longForm, String expected) throws UnknownHostException {
        InetAddress address = InetAddress.getByName(longForm);
        assertEquals(expected, Addresses.formatIp(address));
        assertEquals("[" + expected + "]:8099", Addresses.format(address, 8099));
    }

    @Test
    void ipv4IsDottedWithoutBrackets() throws UnknownHostException {
        assertEquals("127.0.0.1:8099", Addresses.format(InetAddress.getByName("127.0.0.1"), 8099));
        assertEquals("10.1.2.3:1", Addresses.format(InetAddress.getByName("10.1.2.3"), 1));
    }

    @Test
    void loopbackIpv6() throws UnknownHostException {
        assertEquals("[::1]:8099", Addresses.format(InetAddress.getByName("::1"), 8099));
    }

    @Test
    void scopeIdIsStripped() throws UnknownHostException {
        byte[] bytes = InetAddress.getByName("fe80::1").getAddress();
        Inet6Address scoped = Inet6Address.getByAddress(null, bytes, 3);
        assertEquals("fe80::1", Addresses.formatIp(scoped));
        assertEquals("[fe80::1]:40000", Addresses.format(scoped, 40000));
    }
}
