package interop.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
