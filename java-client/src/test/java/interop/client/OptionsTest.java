package interop.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class OptionsTest {

    @Test
    void defaults() throws ClientException {
        Options o = Options.parse();
        assertEquals("127.0.0.1", o.host());
        assertEquals(8099, o.port());
        assertEquals(Mode.RAW, o.mode());
        assertEquals(OutputFormat.TEXT, o.format());
        assertEquals(10_000, o.timeoutMs());
        assertEquals(List.of(), o.files());
        assertEquals(List.of(), o.messages());
        assertEquals(Transport.TCP, o.transport());
        assertNull(o.path());
        assertFalse(o.pipeline());
        assertFalse(o.halfClose());
        assertFalse(o.pipelined());
    }

    @Test
    void transportsAndStreamOptions() throws ClientException {
        Options unix = Options.parse("--transport", "unix", "--path=/tmp/s.sock", "--mode",
                "framed", "--half-close", "m");
        assertEquals(Transport.UNIX, unix.transport());
        assertEquals("/tmp/s.sock", unix.path());
        assertTrue(unix.halfClose());
        assertFalse(unix.pipeline());
        assertTrue(unix.pipelined());
        assertEquals(List.of("m"), unix.messages());

        Options tcp = Options.parse("--pipeline", "--mode=framed");
        assertTrue(tcp.pipeline());
        assertTrue(tcp.pipelined());

        Options udp = Options.parse("--transport=udp", "--mode", "framed");
        assertEquals(Transport.UDP, udp.transport());
        assertEquals(Mode.FRAMED, udp.mode()); // accepted and ignored (§10.3)
    }

    @Test
    void unixPathLengthCountsUtf8Bytes() throws ClientException {
        String ok = "/" + "x".repeat(106); // 107 bytes
        assertEquals(ok, Options.parse("--transport", "unix", "--path", ok).path());
        for (String tooLong : List.of("/" + "x".repeat(107), "/tmp/" + "\u00e9".repeat(52))) {
            ClientException e = assertThrows(ClientException.class,
                    () -> Options.parse("--transport", "unix", "--path", tooLong));
            assertEquals(ExitCode.USAGE, e.exitCode());
            int bytes = tooLong.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            assertEquals("unix socket path too long: " + bytes + " bytes, at most 107",
                    e.getMessage());
        }
        // Not a Unix socket: the path is not used, so its length does not matter.
        assertEquals(Transport.TCP, Options.parse("--path", "/" + "x".repeat(200)).transport());
    }

    @Test
    void bothValueSpellings() throws ClientException {
        Options o = Options.parse("--host", "::1", "--port=9000", "--mode=framed", "--format",
                "json", "--timeout-ms=250", "--file", "a", "--file=b=c", "m1", "m2");
        assertEquals("::1", o.host());
        assertEquals(9000, o.port());
        assertEquals(Mode.FRAMED, o.mode());
        assertEquals(OutputFormat.JSON, o.format());
        assertEquals(250, o.timeoutMs());
        assertEquals(List.of("a", "b=c"), o.files());
        assertEquals(List.of("m1", "m2"), o.messages());
    }

    @Test
    void doubleDashEndsOptionsAndEmptyMessageIsKept() throws ClientException {
        Options o = Options.parse("", "--", "--port", "-h", "");
        assertEquals(List.of("", "--port", "-h", ""), o.messages());
        assertEquals(8099, o.port());
    }

    @Test
    void helpWins() throws ClientException {
        assertTrue(Options.parse("-h").help());
        assertTrue(Options.parse("m", "--help", "--nonsense").help());
    }

    @Test
    void lastValueWinsAndPortBoundsAreInclusive() throws ClientException {
        assertEquals(65535, Options.parse("--port", "1", "--port", "65535").port());
        assertEquals(1, Options.parse("--port=1").port());
    }

    @Test
    void malformedIsUsageError() {
        for (String[] args : List.of(new String[] {"--port", "8o99"},
                new String[] {"--mode", "RAW"}, new String[] {"--timeout-ms"},
                new String[] {"--unknown=1"})) {
            ClientException e = assertThrows(ClientException.class, () -> Options.parse(args));
            assertEquals(ExitCode.USAGE, e.exitCode());
        }
    }
}
