package interop.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The connection limit of §5: {@code ERR busy}, resets, the busy events, the 64 bound. */
@Timeout(60)
class BusyTest {
    private static final String BUSY_2 =
            "ERR busy 2 connections open, the most this server serves (--max-connections)";

    private static void awaitConnected(ServerProcess server, int count) {
        server.awaitEvent(e -> Long.valueOf(count).equals(e.get("conn"))
                && "connected".equals(e.get("event")));
    }

    @Test
    void aFramedConnectionOverTheLimitGetsErrBusyAndNoEvents() throws Exception {
        try (ServerProcess server = ServerProcess.start("--port", "0", "--mode", "framed",
                "--format", "json", "--max-connections", "2")) {
            String turnedAway;
            try (Peer first = Peer.connect(server.port());
                 Peer second = Peer.connect(server.port())) {
                awaitConnected(server, 2);
                try (Peer third = Peer.connect(server.port())) {
                    turnedAway = third.local();
                    // At once, before any frame: the reply to message 1.
                    assertEquals(BUSY_2, third.readReply());
                    assertEquals(Peer.End.EOF, third.readToEnd());
                }
                assertEquals(Map.of("event", "error", "error",
                        "busy: turned away 1 connection(s) over --max-connections 2"),
                        server.awaitEvent(e -> "error".equals(e.get("event"))));
                first.sendFrame("still served");
                first.expectAck(1, "still served");
            }
            server.awaitEnd(1);
            server.awaitEnd(2);
            // A slot is free as soon as its connection's event is logged.
            try (Peer again = Peer.connect(server.port())) {
                again.sendFrame("room again");
                again.expectAck(1, "room again");
            }
            server.awaitEnd(3);
            assertFalse(server.lines().stream().anyMatch(l -> l.contains(turnedAway)),
                    "a turned-away connection has no events of its own");
            assertEquals(0, server.stop());
        }
    }

    @Test
    void aRawConnectionOverTheLimitIsReset() throws Exception {
        try (ServerProcess server = ServerProcess.start("--port", "0", "--format", "json",
                "--max-connections", "1")) {
            try (Peer held = Peer.connect(server.port())) {
                awaitConnected(server, 1);
                try (Peer over = Peer.connect(server.port())) {
                    Peer.End end;
                    try {
                        over.send("not recorded").shutdownOutput();
                        end = over.readToEnd();
                    } catch (IOException e) {
                        end = Peer.End.RESET; // the reset landed during the write
                    }
                    assertEquals(Peer.End.RESET, end, "never the orderly close of 'recorded'");
                }
                server.awaitEvent(e -> "error".equals(e.get("event")));
                held.send("recorded").shutdownOutput();
                assertEquals(Peer.End.EOF, held.readToEnd());
            }
            server.awaitEnd(1);
            assertEquals(1, RawModeTest.countMessages(server));
            assertEquals(0, server.stop());
        }
    }

    @Test
    void aFloodIsCountedAtMostOnceASecondAndCostsAtMost64OpenConnections() throws Exception {
        try (ServerProcess server = ServerProcess.start("--port", "0", "--mode", "framed",
                "--format", "json", "--max-connections", "1")) {
            List<Peer> flood = new ArrayList<>();
            try (Peer held = Peer.connect(server.port())) {
                awaitConnected(server, 1);
                // 100 connections that never close: each is held for up to a second, at most 64
                // at a time; the others wait in the backlog and are answered after.
                for (int i = 0; i < 100; i++) {
                    flood.add(Peer.connect(server.port()));
                }
                for (Peer peer : flood) {
                    assertEquals(BUSY_2.replace("2 connections", "1 connections"),
                            peer.readReply());
                }
                long counted = 0;
                long deadline = System.nanoTime() + ServerProcess.WAIT.toNanos();
                List<Map<String, Object>> busy = List.of();
                while (counted < 100 && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                    busy = server.events().stream()
                            .filter(e -> "error".equals(e.get("event")) && !e.containsKey("conn"))
                            .toList();
                    counted = busy.stream().mapToLong(e -> Long.parseLong(((String) e.get("error"))
                            .replaceAll("busy: turned away (\\d+) connection.*", "$1"))).sum();
                }
                assertEquals(100, counted, busy.toString());
                assertTrue(busy.size() >= 2, "64 at once, then the rest after a second: " + busy);
                held.sendFrame("served throughout");
                held.expectAck(1, "served throughout");
            } finally {
                for (Peer peer : flood) {
                    peer.close();
                }
            }
            assertEquals(0, server.stop());
        }
    }
}
