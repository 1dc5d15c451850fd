package interop.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ConnectException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** SIGINT and SIGTERM (§5): stop accepting, a grace period, the cut-off, exit 0. */
@Timeout(60)
class StopTest {
    private static final String CUT = "shutdown: cut off after the 5000 ms grace period";

    @Test
    void withNothingOpenItExitsZeroAtOnce() throws Exception {
        try (ServerProcess server = ServerProcess.start("--port", "0", "--format", "json")) {
            long start = System.nanoTime();
            assertEquals(0, server.stop());
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(millis < 3000, "took " + millis + " ms");
            assertEquals("", server.stderr());
            assertEquals(List.of(), server.lines().subList(1, server.lines().size()));
        }
    }

    @Test
    void sigintStopsItToo() throws Exception {
        try (ServerProcess server = ServerProcess.start("--port", "0")) {
            Process kill = new ProcessBuilder("kill", "-INT", Long.toString(server.pid())).start();
            assertEquals(0, kill.waitFor());
            assertEquals(0, server.awaitExit());
        }
    }

    @Test
    void openConnectionsAreServedForTheGracePeriodThenCutOffEachWithItsEvent() throws Exception {
        try (ServerProcess server = ServerProcess.start("--port", "0", "--mode", "framed",
                "--format", "json")) {
            try (Peer streaming = Peer.connect(server.port());
                 Peer idle = Peer.connect(server.port())) {
                streaming.sendFrame("before");
                streaming.expectAck(1, "before");
                server.awaitEvent(e -> Long.valueOf(2).equals(e.get("conn")));
                long signalled = System.nanoTime();
                server.signal(); // SIGTERM
                Thread.sleep(300);
                // No longer accepting ...
                assertThrows(ConnectException.class, () -> Peer.connect(server.port()).close());
                // ... but still serving: frames sent during the grace period are acknowledged.
                for (int i = 2; i <= 5; i++) {
                    streaming.sendFrame("during " + i);
                    streaming.expectAck(i, "during " + i);
                    Thread.sleep(200);
                }
                // Cut off after the grace period: a reset, not an acknowledgement.
                assertNotEquals(Peer.End.TIMEOUT, streaming.readToEnd());
                assertNotEquals(Peer.End.TIMEOUT, idle.readToEnd());
                assertEquals(0, server.awaitExit());
                long millis = (System.nanoTime() - signalled) / 1_000_000;
                assertTrue(millis >= 4900 && millis < 7000, "exited " + millis + " ms after SIGTERM");
            }
            List<Map<String, Object>> events = server.events();
            Map<String, Object> last = events.get(events.size() - 1);
            assertEquals(Map.of("event", "error",
                    "error", "shutdown: closed 2 connection(s) still open after 5000 ms"), last);
            for (long conn = 1; conn <= 2; conn++) {
                Map<String, Object> end = server.awaitEnd(conn);
                assertEquals(CUT, end.get("error"));
            }
            assertEquals(5, RawModeTest.countMessages(server));
        }
    }

    @Test
    void itExitsAsSoonAsTheLastConnectionEnds() throws Exception {
        try (ServerProcess server = ServerProcess.start("--port", "0", "--format", "json")) {
            long signalled;
            try (Peer peer = Peer.connect(server.port())) {
                peer.send("begun before SIGTERM");
                server.awaitEvent(e -> "connected".equals(e.get("event")));
                signalled = System.nanoTime();
                server.signal();
                Thread.sleep(500);
                peer.send(", ended after").shutdownOutput();
                assertEquals(Peer.End.EOF, peer.readToEnd());
            }
            assertEquals(0, server.awaitExit());
            long millis = (System.nanoTime() - signalled) / 1_000_000;
            assertTrue(millis < 4000, "exited " + millis + " ms after SIGTERM");
            assertEquals("begun before SIGTERM, ended after", server.awaitEvent(
                    e -> "message".equals(e.get("event"))).get("text"));
        }
    }

    @Test
    void textFormatReportsTheCutOffOnStderr() throws Exception {
        try (ServerProcess server = ServerProcess.start("--port", "0")) {
            String local;
            try (Peer peer = Peer.connect(server.port())) {
                local = peer.local();
                peer.send("never finished");
                Thread.sleep(300);
                assertEquals(0, server.stop());
            }
            assertEquals("error: " + local + ": " + CUT + "\n"
                    + "error: shutdown: closed 1 connection(s) still open after 5000 ms\n",
                    server.stderr());
            assertEquals(List.of("Hello: " + local), server.lines());
        }
    }
}
