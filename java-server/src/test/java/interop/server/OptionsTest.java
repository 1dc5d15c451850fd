package interop.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The command line of §5, with clap's error texts (as the Rust and Python servers). */
class OptionsTest {
    @Test
    void defaultsAreTheTutorials() throws UsageException {
        Options options = Options.parse();
        assertEquals(Options.defaults(), options);
        assertEquals("127.0.0.1", options.host());
        assertEquals(8099, options.port());
        assertEquals(Mode.RAW, options.mode());
        assertEquals(OutputFormat.TEXT, options.format());
        assertEquals(16 * 1024 * 1024, options.maxMessageBytes());
        assertEquals(1024, options.maxConnections());
        assertEquals(60_000, options.idleTimeoutMs());
        assertEquals(Transport.TCP, options.transport());
    }

    @Test
    void valuesSeparateOrAfterAnEqualsSign() throws UsageException {
        Options options = Options.parse("--host", "::1", "--port=0", "--mode", "framed",
                "--format=json", "--max-message-bytes", "4294967295", "--max-connections", "+2",
                "--idle-timeout-ms", "18446744073709551615", "--transport", "udp");
        assertEquals("::1", options.host());
        assertEquals(0, options.port());
        assertEquals(Mode.FRAMED, options.mode());
        assertEquals(OutputFormat.JSON, options.format());
        assertEquals(4294967295L, options.maxMessageBytes());
        assertEquals(2, options.maxConnections());
        assertEquals(Long.MAX_VALUE, options.idleTimeoutMs()); // a u64, saturated
        assertEquals(Transport.UDP, options.transport());
    }

    @Test
    void helpAndVersion() throws UsageException {
        assertTrue(Options.parse("--port", "1", "--help").help());
        assertTrue(Options.parse("-h").help());
        assertTrue(Options.parse("-V").version());
    }

    @Test
    void usageErrorsSayWhatIsWrong() {
        assertError("invalid value 'abc' for '--port <PORT>': invalid digit found in string",
                "--port", "abc");
        assertError("invalid value '65536' for '--port <PORT>': number too large to fit in "
                + "target type", "--port", "65536");
        assertError("invalid value '' for '--port <PORT>': cannot parse integer from empty "
                + "string", "--port=");
        assertError("invalid value 'udp' for '--mode <MODE>' [possible values: raw, framed]",
                "--mode", "udp");
        assertError("invalid value '0' for '--max-connections <MAX_CONNECTIONS>': 0 is not in "
                + "1..=4294967295", "--max-connections", "0");
        assertError("a value is required for '--port <PORT>' but none was supplied", "--port");
        assertError("a value is required for '--port <PORT>' but none was supplied",
                "--port", "--mode");
        assertError("unexpected argument '--bogus' found", "--bogus");
        assertError("unexpected argument 'hello' found", "hello");
        assertError("the argument '--mode <MODE>' cannot be used multiple times",
                "--mode", "raw", "--mode=framed");
    }

    @Test
    void unixNeedsAPathThatFits() throws UsageException {
        assertError("--transport unix needs --path PATH", "--transport", "unix");
        assertError("--path needs --transport unix", "--path", "/tmp/s.sock");
        String longPath = "/tmp/" + "x".repeat(120);
        assertError("unix socket path too long: 125 bytes, at most 107",
                "--transport", "unix", "--path", longPath);
        // Counted in bytes: 36 three-byte characters are 108 bytes.
        assertError("unix socket path too long: 108 bytes, at most 107",
                "--transport", "unix", "--path", "好".repeat(36));
        assertEquals("/tmp/s.sock",
                Options.parse("--transport", "unix", "--path", "/tmp/s.sock").path());
    }

    private static void assertError(String expected, String... args) {
        UsageException e = assertThrows(UsageException.class, () -> Options.parse(args));
        assertEquals(expected, e.getMessage());
    }
}
