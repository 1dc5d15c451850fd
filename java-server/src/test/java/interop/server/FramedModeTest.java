package interop.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Framed mode (§3), bad input (§3.5), pipelining and half-close (§11), against the process. */
@Timeout(60)
class FramedModeTest {
    private static ServerProcess framed(String... more) throws Exception {
        List<String> all = new ArrayList<>(List.of("--port", "0", "--mode", "framed",
                "--format", "json"));
        all.addAll(List.of(more));
        return ServerProcess.start(all.toArray(String[]::new));
    }

    @Test
    void everyFrameIsLoggedThenAcknowledgedInOrder() throws Exception {
        try (ServerProcess server = framed()) {
            assertEquals(Map.of("event", "listening", "addr",
                    "127.0.0.1:" + server.port(), "mode", "framed"), server.awaitLines(1).stream()
                    .map(Json::parse).findFirst().orElseThrow());
            String local;
            try (Peer peer = Peer.connect(server.port())) {
                local = peer.local();
                peer.sendFrame("Hello SocketServer!!!");
                assertEquals("ACK 1 21 30836f56b786ee37cf464bfe65b7728a5853395d9225e2bfd76f06ae68"
                        + "bd5807", peer.readReply());
                peer.sendFrame("");
                peer.expectAck(2, "");
                peer.sendFrame(MessageTest.ALL_BYTES);
                peer.expectAck(3, MessageTest.ALL_BYTES);
                peer.shutdownOutput();
                assertEquals(0, peer.readAll().length);
            }
            assertEquals(Map.of("event", "closed", "conn", 1L, "peer", local, "messages", 3L),
                    server.awaitEnd(1));
            List<Map<String, Object>> messages = server.events().stream()
                    .filter(e -> "message".equals(e.get("event"))).toList();
            assertEquals(List.of(1L, 2L, 3L), messages.stream().map(e -> e.get("seq")).toList());
            assertEquals(0, server.stop());
        }
    }

    @Test
    void framesSplitAnywhereOrSentTogetherAreSplitExactly() throws Exception {
        try (ServerProcess server = framed()) {
            ByteArrayOutputStream batch = new ByteArrayOutputStream();
            for (int i = 1; i <= 5; i++) {
                batch.writeBytes(Peer.frame(("frame " + i).getBytes(StandardCharsets.UTF_8)));
            }
            batch.writeBytes(Peer.frame(new byte[0]));
            byte[] bytes = batch.toByteArray();
            try (Peer peer = Peer.connect(server.port())) {
                peer.send(bytes); // §11 --pipeline: all at once
                for (int i = 1; i <= 5; i++) {
                    peer.expectAck(i, "frame " + i);
                }
                peer.expectAck(6, "");
            }
            try (Peer peer = Peer.connect(server.port())) {
                for (byte b : bytes) { // one byte at a time: prefixes split too
                    peer.send(new byte[] {b});
                }
                for (int i = 1; i <= 5; i++) {
                    peer.expectAck(i, "frame " + i);
                }
                peer.expectAck(6, "");
            }
            assertEquals(6L, server.awaitEnd(2).get("messages"));
            assertEquals(0, server.stop());
        }
    }

    @Test
    void afterAHalfCloseEveryAcknowledgementStillComes() throws Exception {
        try (ServerProcess server = framed()) {
            try (Peer peer = Peer.connect(server.port())) {
                peer.send(concat(Peer.frame(bytes("one")), Peer.frame(bytes("two")),
                        Peer.frame(bytes("three"))));
                peer.shutdownOutput(); // §11 --half-close
                peer.expectAck(1, "one");
                peer.expectAck(2, "two");
                peer.expectAck(3, "three");
                assertEquals(0, peer.readAll().length);
            }
            assertEquals(3L, server.awaitEnd(1).get("messages"));
            assertEquals(0, server.stop());
        }
    }

    @Test
    void eightMebibytesInOneFrame() throws Exception {
        byte[] large = new byte[8 * 1024 * 1024];
        new Random(7).nextBytes(large);
        try (ServerProcess server = framed()) {
            try (Peer peer = Peer.connect(server.port())) {
                peer.sendFrame(large);
                peer.expectAck(1, large);
            }
            server.awaitEnd(1);
            Map<String, Object> message = server.awaitEvent(e -> "message".equals(e.get("event")));
            assertEquals((long) large.length, message.get("len"));
            assertEquals(Message.sha256Hex(large), message.get("sha256"));
            assertEquals(0, server.stop());
        }
    }

    @Test
    void aLengthOverTheMaximumIsRefusedBeforeAnythingIsRead() throws Exception {
        try (ServerProcess server = framed()) {
            try (Peer peer = Peer.connect(server.port())) {
                peer.sendFrame("fine");
                peer.expectAck(1, "fine");
                peer.send(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 1, 2});
                assertEquals("ERR too-large 4294967295 > 16777216", peer.readReply());
                assertEquals(Peer.End.EOF, peer.readToEnd());
            }
            assertEquals("frame 2 too large: 4294967295 bytes > maximum 16777216",
                    server.awaitEnd(1).get("error"));
            assertEquals(1, RawModeTest.countMessages(server));
            assertEquals(0, server.stop());
        }
    }

    @Test
    void garbageIsReadAsALengthAndRefused() throws Exception {
        try (ServerProcess server = framed("--max-message-bytes", "1000")) {
            try (Peer peer = Peer.connect(server.port())) {
                peer.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
                // "GET " = 0x47455420 = 1195725856
                assertEquals("ERR too-large 1195725856 > 1000", peer.readReply());
            }
            assertEquals("frame 1 too large: 1195725856 bytes > maximum 1000",
                    server.awaitEnd(1).get("error"));
            try (Peer peer = Peer.connect(server.port())) { // serving on
                peer.sendFrame("after");
                peer.expectAck(1, "after");
            }
            server.awaitEnd(2);
            assertEquals(1, RawModeTest.countMessages(server));
            assertEquals(0, server.stop());
        }
    }

    @Test
    void eofInsideAFrameIsATruncatedFrameAndLogsNothingForIt() throws Exception {
        try (ServerProcess server = framed()) {
            try (Peer peer = Peer.connect(server.port())) {
                peer.send(new byte[] {0, 0}).shutdownOutput();
                assertEquals(Peer.End.EOF, peer.readToEnd());
            }
            assertEquals("frame 1: truncated frame: expected 4 length-prefix bytes, got 2",
                    server.awaitEnd(1).get("error"));
            try (Peer peer = Peer.connect(server.port())) {
                peer.sendFrame("kept");
                peer.expectAck(1, "kept");
                peer.send(new byte[] {0, 0, 0, 10, 'a', 'b', 'c'}).shutdownOutput();
                assertEquals(Peer.End.EOF, peer.readToEnd());
            }
            assertEquals("frame 2: truncated frame: expected 10 payload bytes, got 3",
                    server.awaitEnd(2).get("error"));
            assertEquals(1, RawModeTest.countMessages(server));
            assertEquals(0, server.stop());
        }
    }

    @Test
    void aResetKeepsWhatWasAcknowledged() throws Exception {
        try (ServerProcess server = framed()) {
            try (Peer peer = Peer.connect(server.port())) {
                peer.sendFrame("acknowledged");
                peer.expectAck(1, "acknowledged");
                peer.send(new byte[] {0, 0, 0, 9, 'x'});
                Thread.sleep(100);
                peer.reset();
            }
            String error = (String) server.awaitEnd(1).get("error");
            assertTrue(error.startsWith("frame 2: Connection reset by peer"), error);
            assertEquals(1, RawModeTest.countMessages(server));
            assertEquals(0, server.stop());
        }
    }

    @Test
    void aFrameNotCompleteInTheIdleTimeoutIsAnError() throws Exception {
        try (ServerProcess server = framed("--idle-timeout-ms", "1000")) {
            try (Peer peer = Peer.connect(server.port())) {
                peer.sendFrame("quick");
                peer.expectAck(1, "quick");
                peer.send(new byte[] {0, 0, 0, 100, 'x'}); // and nothing more
                assertEquals(Peer.End.EOF, peer.readToEnd());
            }
            assertEquals("idle timeout: nothing completed for 1000 ms (5 bytes pending)",
                    server.awaitEnd(1).get("error"));
            assertEquals(0, server.stop());
        }
    }

    @Test
    void aPeerThatNeverReadsItsAcknowledgementsStallsOnlyItself() throws Exception {
        // 2 s: the other peer's frame must arrive within it however loaded the machine is.
        try (ServerProcess server = framed("--idle-timeout-ms", "2000");
             Peer stalled = Peer.connect(server.port())) {
            // Empty frames, written and never acknowledged-read: the acknowledgements (19 times
            // the bytes) fill both socket buffers, the server stops reading, and so does not
            // buffer without limit; our writes block in turn. Written from a thread of its own.
            byte[] frames = new byte[4 * 1024 * 1024];
            Thread writer = new Thread(() -> {
                try {
                    stalled.send(frames);
                } catch (Exception e) {
                    // cut off by the server: expected
                }
            });
            writer.setDaemon(true);
            writer.start();
            try (Peer other = Peer.connect(server.port())) { // the others are served meanwhile
                other.sendFrame("unaffected");
                other.expectAck(1, "unaffected");
            }
            String error = (String) server.awaitEnd(1).get("error");
            assertTrue(error.matches("writing ack \\d+ failed: timed out after 2000 ms"), error);
            writer.join(ServerProcess.WAIT.toMillis());
            assertEquals(0, server.stop());
        }
    }

    @Test
    void textFormatPrintsHelloOnceThenEveryMessage() throws Exception {
        try (ServerProcess server = ServerProcess.start("--port", "0", "--mode", "framed")) {
            String local;
            try (Peer peer = Peer.connect(server.port())) {
                local = peer.local();
                peer.sendFrame("first");
                peer.expectAck(1, "first");
                peer.sendFrame("second");
                peer.expectAck(2, "second");
            }
            assertEquals(List.of("Hello: " + local, "first", "second"), server.awaitLines(3));
            assertEquals(0, server.stop());
            assertEquals("", server.stderr());
        }
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }
}
