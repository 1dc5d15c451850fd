package interop.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The records of §5 and §8.1, and what happens once stdout cannot be written. */
class LogTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private static Message text(String text) {
        return Message.of(text.getBytes(StandardCharsets.UTF_8));
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void jsonEventsOnePerLine() throws OutputFailedException {
        Log log = new Log(OutputFormat.JSON, out, err, false);
        assertTrue(log.listening("127.0.0.1:40123", Mode.FRAMED));
        log.connected(1, "127.0.0.1:51234", "127.0.0.1:40123");
        log.message(1, "127.0.0.1:51234", 1, text("Hello SocketServer!!!"));
        log.message(1, "127.0.0.1:51234", 2, Message.of(MessageTest.ALL_BYTES));
        log.closed(1, "127.0.0.1:51234", 2);
        log.error(2L, "[::1]:5", "truncated frame: expected 10 payload bytes, got 3");
        log.error(null, null, "busy: turned away 1 connection(s) over --max-connections 2");
        assertEquals("""
                listening on 127.0.0.1:40123
                {"event":"listening","addr":"127.0.0.1:40123","mode":"framed"}
                {"event":"connected","conn":1,"peer":"127.0.0.1:51234","local":"127.0.0.1:40123"}
                {"event":"message","conn":1,"peer":"127.0.0.1:51234","seq":1,"len":21,\
                "sha256":"30836f56b786ee37cf464bfe65b7728a5853395d9225e2bfd76f06ae68bd5807",\
                "text":"Hello SocketServer!!!"}
                {"event":"message","conn":1,"peer":"127.0.0.1:51234","seq":2,"len":256,\
                "sha256":"40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880"}
                {"event":"closed","conn":1,"peer":"127.0.0.1:51234","messages":2}
                {"event":"error","conn":2,"peer":"[::1]:5","error":"truncated frame: expected \
                10 payload bytes, got 3"}
                {"event":"error","error":"busy: turned away 1 connection(s) over --max-connections 2"}
                """, out());
        assertEquals("", err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void textHoldsHelloBackUntilTheFirstMessageOrTheEnd() throws OutputFailedException {
        Log log = new Log(OutputFormat.TEXT, out, err, false);
        log.listening("127.0.0.1:8099", Mode.RAW);
        log.connected(1, "127.0.0.1:1", "127.0.0.1:8099");
        log.connected(2, "127.0.0.1:2", "127.0.0.1:8099");
        log.connected(3, "127.0.0.1:3", "127.0.0.1:8099");
        log.message(2, "127.0.0.1:2", 1, text("second"));
        log.message(2, "127.0.0.1:2", 2, text("again"));
        log.closed(2, "127.0.0.1:2", 2);
        log.closed(1, "127.0.0.1:1", 0);
        log.error(3L, "127.0.0.1:3", "read failed");
        log.error(null, null, "busy: turned away 1 connection(s)");
        assertEquals("""
                listening on 127.0.0.1:8099
                Hello: 127.0.0.1:2
                second
                again
                Hello: 127.0.0.1:1
                Hello: 127.0.0.1:3
                """, out());
        assertEquals("error: 127.0.0.1:3: read failed\nerror: busy: turned away 1 connection(s)\n",
                err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void udpPrintsHelloBeforeEveryDatagram() throws OutputFailedException {
        Log log = new Log(OutputFormat.TEXT, out, err, true);
        log.connected(1, "127.0.0.1:9", "127.0.0.1:8099");
        log.message(1, "127.0.0.1:9", 1, text("a"));
        log.message(1, "127.0.0.1:9", 2, text("b"));
        assertEquals("Hello: 127.0.0.1:9\na\nHello: 127.0.0.1:9\nb\n", out());
    }

    @Test
    void aFailedWriteIsRememberedAndNothingMoreIsWritten() {
        OutputStream full = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("No space left on device");
            }
        };
        Log log = new Log(OutputFormat.TEXT, full, err, false);
        assertFalse(log.failed());
        log.connected(1, "127.0.0.1:1", "127.0.0.1:8099");
        OutputFailedException e = assertThrows(OutputFailedException.class,
                () -> log.message(1, "127.0.0.1:1", 1, text("lost")));
        assertEquals("No space left on device (os error 28)", e.getMessage());
        assertEquals("No space left on device (os error 28)", log.failure());
        assertThrows(OutputFailedException.class,
                () -> log.message(1, "127.0.0.1:1", 2, text("lost too")));
        log.error(1L, "127.0.0.1:1", "not printed: the server stops, and says why once");
        assertEquals("", err.toString(StandardCharsets.UTF_8));
    }
}
