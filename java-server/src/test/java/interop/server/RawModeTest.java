package interop.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Raw mode (§2), in JSON and text format, against the server process. */
@Timeout(60)
class RawModeTest {
    private static final String HELLO = "Hello SocketServer!!!";
    private static final String HELLO_SHA =
            "30836f56b786ee37cf464bfe65b7728a5853395d9225e2bfd76f06ae68bd5807";

    @Test
    void aMessageIsLoggedThenTheConnectionClosedInAnOrderlyWay() throws Exception {
        try (ServerProcess server = ServerProcess.start("--port", "0", "--format", "json")) {
            assertTrue(server.firstLine().matches("listening on 127\\.0\\.0\\.1:\\d+"));
            String local;
            try (Peer peer = Peer.connect(server.port())) {
                local = peer.local();
                peer.send(HELLO).shutdownOutput();
                assertEquals(Peer.End.EOF, peer.readToEnd()); // raw mode's acknowledgement
            }
            server.awaitEnd(1);
            String port = Integer.toString(server.port());
            assertEquals(List.of(
                    Map.of("event", "listening", "addr", "127.0.0.1:" + port, "mode", "raw"),
                    Map.of("event", "connected", "conn", 1L, "peer", local,
                            "local", "127.0.0.1:" + port),
                    Map.of("event", "message", "conn", 1L, "peer", local, "seq", 1L, "len", 21L,
                            "sha256", HELLO_SHA, "text", HELLO),
                    Map.of("event", "closed", "conn", 1L, "peer", local, "messages", 1L)),
                    server.events());
            assertEquals(0, server.stop());
            assertEquals("", server.stderr());
        }
    }

    @Test
    void emptyBinaryAndSlicedMessagesAreEachOneMessage() throws Exception {
        try (ServerProcess server = ServerProcess.start("--port", "0", "--format", "json")) {
            try (Peer peer = Peer.connect(server.port())) {
                peer.shutdownOutput(); // the empty message
                assertEquals(Peer.End.EOF, peer.readToEnd());
            }
            try (Peer peer = Peer.connect(server.port())) {
                peer.send(MessageTest.ALL_BYTES).shutdownOutput();
                assertEquals(Peer.End.EOF, peer.readToEnd());
            }
            byte[] utf8 = "你好，世界！🦀\nline two".getBytes(StandardCharsets.UTF_8);
            try (Peer peer = Peer.connect(server.port())) {
                for (byte b : utf8) { // one byte per write, splitting every character
                    peer.send(new byte[] {b});
                    Thread.sleep(2);
                }
                peer.shutdownOutput();
                assertEquals(Peer.End.EOF, peer.readToEnd());
            }
            server.awaitEnd(3);
            List<Map<String, Object>> messages = server.events().stream()
                    .filter(e -> "message".equals(e.get("event"))).toList();
            assertEquals(3, messages.size());
            assertEquals(0L, messages.get(0).get("len"));
            assertEquals("", messages.get(0).get("text"));
            assertEquals(256L, messages.get(1).get("len"));
            assertFalse(messages.get(1).containsKey("text"), "binary has no text");
            assertEquals(new String(utf8, StandardCharsets.UTF_8), messages.get(2).get("text"));
            assertEquals(0, server.stop());
        }
    }

    @Test
    void textFormatPrintsHelloAndTheMessageAndErrorsOnStderr() throws Exception {
        try (ServerProcess server = ServerProcess.start("--port", "0")) {
            String first;
            try (Peer peer = Peer.connect(server.port())) {
                first = peer.local();
                peer.send(HELLO).shutdownOutput();
                assertEquals(Peer.End.EOF, peer.readToEnd());
            }
            String second;
            try (Peer peer = Peer.connect(server.port())) {
                second = peer.local();
                peer.send(MessageTest.ALL_BYTES).shutdownOutput();
                assertEquals(Peer.End.EOF, peer.readToEnd());
            }
            String third;
            try (Peer peer = Peer.connect(server.port())) {
                third = peer.local();
                peer.send("cut short");
                Thread.sleep(200);
                peer.reset();
            }
            List<String> lines = server.awaitLines(5);
            assertEquals(List.of("Hello: " + first, HELLO, "Hello: " + second,
                    MessageTest.ALL_BYTES_LINE.strip(), "Hello: " + third), lines);
            assertEquals(0, server.stop());
            assertEquals("error: " + third + ": read failed after 9 bytes: Connection reset by "
                    + "peer (os error 104)\n", server.stderr());
        }
    }

    @Test
    void aMessageOverTheMaximumIsResetAndNotLogged() throws Exception {
        try (ServerProcess server = ServerProcess.start("--port", "0", "--format", "json",
                "--max-message-bytes", "10")) {
            try (Peer peer = Peer.connect(server.port())) {
                peer.send("0123456789").shutdownOutput(); // exactly the maximum
                assertEquals(Peer.End.EOF, peer.readToEnd());
            }
            try (Peer peer = Peer.connect(server.port())) {
                peer.send("0123456789+");
                assertEquals(Peer.End.RESET, peer.readToEnd()); // never "recorded"
            }
            Map<String, Object> error = server.awaitEnd(2);
            assertEquals("message too large: more than 10 bytes", error.get("error"));
            assertEquals(1, countMessages(server));
            assertEquals(0, server.stop());
        }
    }

    @Test
    void aResetBeforeEofIsAnErrorAndNoMessage() throws Exception {
        try (ServerProcess server = ServerProcess.start("--port", "0", "--format", "json")) {
            try (Peer peer = Peer.connect(server.port())) {
                peer.send("partial");
                server.awaitEvent(e -> "connected".equals(e.get("event")));
                Thread.sleep(100);
                peer.reset();
            }
            Map<String, Object> error = server.awaitEnd(1);
            assertEquals("read failed after 7 bytes: Connection reset by peer (os error 104)",
                    error.get("error"));
            assertEquals(0, countMessages(server));
            // ... and the server serves on.
            try (Peer peer = Peer.connect(server.port())) {
                peer.send("next").shutdownOutput();
                assertEquals(Peer.End.EOF, peer.readToEnd());
            }
            assertEquals("closed", server.awaitEnd(2).get("event"));
            assertEquals(0, server.stop());
        }
    }

    @Test
    void aSilentPeerTimesOutWithoutHoldingUpTheOthers() throws Exception {
        try (ServerProcess server = ServerProcess.start("--port", "0", "--format", "json",
                "--idle-timeout-ms", "1500")) {
            try (Peer silent = Peer.connect(server.port())) {
                silent.send("no EOF follows");
                server.awaitEvent(e -> "connected".equals(e.get("event")));
                try (Peer other = Peer.connect(server.port())) {
                    other.send("meanwhile").shutdownOutput();
                    assertEquals(Peer.End.EOF, other.readToEnd());
                }
                assertEquals("closed", server.awaitEnd(2).get("event"));
                Map<String, Object> error = server.awaitEnd(1);
                assertEquals("idle timeout: nothing completed for 1500 ms (14 bytes pending)",
                        error.get("error"));
                // A reset, never an orderly close: that would say "recorded" (§2).
                assertEquals(Peer.End.RESET, silent.readToEnd());
            }
            assertEquals(1, countMessages(server));
            assertEquals(0, server.stop());
        }
    }

    @Test
    void concurrentClientsAreEachAttributedTheirOwnMessage() throws Exception {
        try (ServerProcess server = ServerProcess.start("--port", "0", "--format", "json")) {
            ExecutorService pool = Executors.newFixedThreadPool(16);
            try {
                List<Future<String>> sent = new ArrayList<>();
                for (int i = 0; i < 16; i++) {
                    String text = "client " + i;
                    sent.add(pool.submit(() -> {
                        try (Peer peer = Peer.connect(server.port())) {
                            peer.send(text).shutdownOutput();
                            assertEquals(Peer.End.EOF, peer.readToEnd());
                            return peer.local() + " " + text;
                        }
                    }));
                }
                List<String> expected = new ArrayList<>();
                for (Future<String> f : sent) {
                    expected.add(f.get());
                }
                for (int conn = 1; conn <= 16; conn++) {
                    server.awaitEnd(conn);
                }
                List<String> logged = server.events().stream()
                        .filter(e -> "message".equals(e.get("event")))
                        .map(e -> e.get("peer") + " " + e.get("text")).sorted().toList();
                assertEquals(expected.stream().sorted().toList(), logged);
            } finally {
                pool.shutdownNow();
            }
            assertEquals(0, server.stop());
        }
    }

    static long countMessages(ServerProcess server) {
        return server.events().stream().filter(e -> "message".equals(e.get("event"))).count();
    }
}
