package interop.client;

import static interop.client.InteropClientTest.allBytes;
import static interop.client.InteropClientTest.assertErrorLine;
import static interop.client.InteropClientTest.parseFlatJson;
import static interop.client.InteropClientTest.texts;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** End-to-end tests of §10 (Unix sockets, UDP) and §11 (pipelining, half-close). */
@Timeout(60)
class TransportTest {
    private static final String PID = "pid:" + ProcessHandle.current().pid();

    @TempDir
    Path tmp;

    // ---------------------------------------------------------------- Unix domain sockets

    private Path socketPath() {
        Path path = tmp.resolve("s.sock");
        // JUnit's temporary directories are short, but make sure the test means what it says.
        assertTrue(path.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length
                <= 107, path::toString);
        return path;
    }

    private static ClientRun unix(Path path, String... args) {
        List<String> all = new ArrayList<>(List.of("--transport", "unix", "--path",
                path.toString()));
        all.addAll(Arrays.asList(args));
        return ClientRun.of(all.toArray(String[]::new));
    }

    @Test
    void unixRawOneConnectionPerMessage() throws IOException {
        Path path = socketPath();
        try (TestServer server = TestServer.startUnix(path, TestServer::rawStream)) {
            ClientRun run = unix(path, "--format", "json", "one", "", "three");
            assertEquals(0, run.exitCode(), run::toString);
            assertEquals(List.of("one", "", "three"), texts(server.messages()));
            assertEquals(3, server.connections());
            List<String> lines = run.stdoutLines();
            assertEquals(3, lines.size(), run::toString);
            for (int i = 0; i < 3; i++) {
                byte[] sent = server.messages().get(i);
                assertEquals(Map.of(
                        "seq", "1",
                        "local", PID,
                        "peer", "unix:" + path,
                        "mode", "raw",
                        "len", Integer.toString(sent.length),
                        "sha256", Digests.sha256Hex(sent),
                        "ack", "none",
                        "transport", "unix"), parseFlatJson(lines.get(i)));
            }
        }
    }

    @Test
    void unixFramedVerifiesEveryAck() throws IOException {
        Path path = socketPath();
        Path file = Files.write(tmp.resolve("all.bin"), allBytes());
        try (TestServer server = TestServer.startUnix(path, TestServer::framedStream)) {
            ClientRun run = unix(path, "--mode", "framed", "--format", "json", "--file",
                    file.toString(), "Hello SocketServer!!!", "");
            assertEquals(0, run.exitCode(), run::toString);
            assertEquals(1, server.connections());
            assertEquals(3, server.messages().size());
            assertArrayEquals(allBytes(), server.messages().get(0));
            List<String> lines = run.stdoutLines();
            assertEquals(3, lines.size(), run::toString);
            for (int i = 0; i < 3; i++) {
                Map<String, String> json = parseFlatJson(lines.get(i));
                assertEquals(Integer.toString(i + 1), json.get("seq"));
                assertEquals(PID, json.get("local"));
                assertEquals("unix:" + path, json.get("peer"));
                assertEquals("framed", json.get("mode"));
                assertEquals("verified", json.get("ack"));
                assertEquals("unix", json.get("transport"));
                assertEquals(Digests.sha256Hex(server.messages().get(i)), json.get("sha256"));
            }
        }
    }

    @Test
    void unixFramedTextOutputAndBadAck() throws IOException {
        Path path = socketPath();
        TestServer.Replier wrong = (seq, payload) -> TestServer.ack(seq + 1, payload);
        try (TestServer server = TestServer.startUnix(path, TestServer::framedStream)) {
            ClientRun run = unix(path, "--mode", "framed", "héllo");
            assertEquals(0, run.exitCode(), run::toString);
            assertEquals("héllo\n", run.stdout());
            assertEquals(List.of("héllo"), texts(server.messages()));
        }
        try (TestServer server = TestServer.startUnix(path,
                TestServer.framedStreamWith(1 << 24, wrong))) {
            ClientRun run = unix(path, "--mode", "framed", "abc");
            assertEquals(5, run.exitCode(), run::toString);
            assertErrorLine(run);
            assertEquals(List.of("abc"), texts(server.messages()));
        }
    }

    @Test
    void unixLargeFramedMessage() throws IOException {
        Path path = socketPath();
        byte[] big = new byte[3 * 1024 * 1024 + 17];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) (i * 31);
        }
        Path file = Files.write(tmp.resolve("big.bin"), big);
        try (TestServer server = TestServer.startUnix(path, TestServer::framedStream)) {
            ClientRun run = unix(path, "--mode", "framed", "--file", file.toString(), "--file",
                    file.toString());
            assertEquals(0, run.exitCode(), run::toString);
            assertEquals(2, server.messages().size());
            assertArrayEquals(big, server.messages().get(1));
        }
    }

    @Test
    void unixPathTooLongIsExitCode2BeforeAnythingElse() throws IOException {
        // 108 bytes; the file does not exist, and a missing --file would be exit code 1: the
        // path is checked first.
        String tooLong = "/" + "p".repeat(107);
        ClientRun run = ClientRun.of("--transport", "unix", "--path", tooLong, "--file",
                tmp.resolve("missing").toString());
        assertEquals(2, run.exitCode(), run::toString);
        assertEquals("error: unix socket path too long: 108 bytes, at most 107\n", run.stderr());
        assertEquals("", run.stdout());

        String multibyte = tmp + "/" + "é".repeat(60);
        run = ClientRun.of("--transport", "unix", "--path", multibyte);
        assertEquals(2, run.exitCode(), run::toString);
        assertTrue(run.stderr().startsWith("error: unix socket path too long: "), run::toString);

        // 107 bytes is allowed: it gets as far as connecting (nothing there: exit code 3).
        String longest = "/" + "p".repeat(106);
        run = ClientRun.of("--transport", "unix", "--path", longest);
        assertEquals(3, run.exitCode(), run::toString);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"raw", "framed"})
    void unixMissingOrNotListeningIsExitCode3(String mode) throws IOException {
        long start = System.nanoTime();
        ClientRun run = unix(tmp.resolve("missing.sock"), "--mode", mode, "hi");
        assertEquals(3, run.exitCode(), run::toString);
        assertErrorLine(run);
        assertEquals("", run.stdout());

        // A regular file is no socket: connection refused.
        Path file = Files.writeString(tmp.resolve("plain-file"), "x");
        run = unix(file, "--mode", mode, "hi");
        assertEquals(3, run.exitCode(), run::toString);
        assertErrorLine(run);
        assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() < 5_000);
        assertEquals("x", Files.readString(file));
    }

    @Test
    void unixSilentServerTimesOut() throws IOException {
        Path path = socketPath();
        try (TestServer server = TestServer.startUnix(path, TestServer::silentStream)) {
            long start = System.nanoTime();
            ClientRun run = unix(path, "--mode", "framed", "--timeout-ms", "300", "abc");
            assertEquals(4, run.exitCode(), run::toString);
            assertErrorLine(run);
            assertEquals("", run.stdout());
            long ms = Duration.ofNanos(System.nanoTime() - start).toMillis();
            assertTrue(ms >= 250 && ms < 10_000, () -> ms + " ms");
            assertEquals(List.of(), server.messages());
        }
    }

    @Test
    void unixConnectToAFullBacklogTimesOut() throws IOException {
        assumeTrue(System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT)
                .contains("linux"), "relies on Linux blocking connect() on a full backlog");
        Path path = socketPath();
        List<SocketChannel> fill = new ArrayList<>();
        try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            listener.bind(UnixDomainSocketAddress.of(path), 1); // never accepts
            for (int i = 0; i < 4; i++) {
                SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
                fill.add(channel);
                channel.configureBlocking(false);
                try {
                    channel.connect(UnixDomainSocketAddress.of(path));
                } catch (IOException e) {
                    break; // the backlog is full
                }
            }
            long start = System.nanoTime();
            ClientRun run = unix(path, "--timeout-ms", "300", "hi");
            assertEquals(4, run.exitCode(), run::toString);
            assertErrorLine(run);
            long ms = Duration.ofNanos(System.nanoTime() - start).toMillis();
            assertTrue(ms >= 250 && ms < 10_000, () -> ms + " ms");
        } finally {
            for (SocketChannel channel : fill) {
                channel.close();
            }
            Files.deleteIfExists(path);
        }
    }

    @Test
    void unixRawServerThatNeverClosesTimesOut() throws IOException {
        Path path = socketPath();
        try (TestServer server = TestServer.startUnix(path, TestServer::readButNeverCloseStream)) {
            ClientRun run = unix(path, "--timeout-ms", "300", "hi");
            assertEquals(4, run.exitCode(), run::toString);
            assertErrorLine(run);
            assertEquals("", run.stdout());
            eventually(() -> server.messages().size() == 1); // it did read the message
            assertEquals(List.of("hi"), texts(server.messages()));
        }
    }

    @Test
    void unixWriteToServerThatNeverReadsTimesOut() throws IOException {
        Path path = socketPath();
        Path big = Files.write(tmp.resolve("big.bin"), new byte[32 * 1024 * 1024]);
        try (TestServer server = TestServer.startUnix(path, TestServer::silentStream)) {
            long start = System.nanoTime();
            ClientRun run = unix(path, "--mode", "framed", "--timeout-ms", "500", "--file",
                    big.toString());
            assertEquals(4, run.exitCode(), run::toString);
            assertErrorLine(run);
            assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() < 10_000);
            assertEquals(List.of(), server.messages());
        }
    }

    // ---------------------------------------------------------------- UDP

    private static ClientRun udp(int port, String... args) {
        List<String> all = new ArrayList<>(List.of("--transport", "udp", "--port",
                Integer.toString(port)));
        all.addAll(Arrays.asList(args));
        return ClientRun.of(all.toArray(String[]::new));
    }

    @Test
    void udpAcksAreVerified() throws IOException {
        Path file = Files.write(tmp.resolve("all.bin"), allBytes());
        Path largest = Files.write(tmp.resolve("largest.bin"), new byte[65_507]);
        try (UdpTestServer server = UdpTestServer.acking()) {
            ClientRun run = udp(server.port(), "--format", "json", "--file", file.toString(),
                    "--file", largest.toString(), "Hello SocketServer!!!", "");
            assertEquals(0, run.exitCode(), run::toString);
            assertEquals(4, server.messages().size());
            assertArrayEquals(allBytes(), server.messages().get(0));
            assertEquals(65_507, server.messages().get(1).length);
            assertEquals(0, server.messages().get(3).length);
            List<String> lines = run.stdoutLines();
            assertEquals(4, lines.size(), run::toString);
            for (int i = 0; i < 4; i++) {
                byte[] sent = server.messages().get(i);
                assertEquals(Map.of(
                        "seq", Integer.toString(i + 1),
                        "local", server.peers().get(i), // one socket, seen by the server
                        "peer", "127.0.0.1:" + server.port(),
                        "mode", "raw",
                        "len", Integer.toString(sent.length),
                        "sha256", Digests.sha256Hex(sent),
                        "ack", "verified",
                        "transport", "udp"), parseFlatJson(lines.get(i)));
            }
        }
    }

    @Test
    void udpIgnoresModeAndPrintsText() throws IOException {
        try (UdpTestServer server = UdpTestServer.acking()) {
            ClientRun run = udp(server.port(), "--mode", "framed", "a", "b");
            assertEquals(0, run.exitCode(), run::toString);
            assertEquals("a\nb\n", run.stdout());
            assertEquals(List.of("a", "b"), texts(server.messages()));
        }
    }

    @Test
    void udpOversizedMessageIsExitCode2AndNothingIsSent() throws IOException,
            InterruptedException {
        Path big = Files.write(tmp.resolve("big.bin"), new byte[65_508]);
        try (UdpTestServer server = UdpTestServer.acking()) {
            ClientRun run = udp(server.port(), "small first", "--file", big.toString());
            assertEquals(2, run.exitCode(), run::toString);
            assertEquals("error: message 1 is 65508 bytes; a UDP datagram carries at most "
                    + "65507\n", run.stderr());
            assertEquals("", run.stdout());
            Thread.sleep(200);
            assertEquals(List.of(), server.messages());
        }
    }

    @Test
    void udpNoReplyTimesOut() throws IOException {
        try (UdpTestServer server = UdpTestServer.silent()) {
            long start = System.nanoTime();
            ClientRun run = udp(server.port(), "--timeout-ms", "300", "hello?", "never sent");
            assertEquals(4, run.exitCode(), run::toString);
            assertErrorLine(run);
            assertEquals("", run.stdout());
            // The server's thread may not have run yet when the client gives up.
            eventually(() -> !server.messages().isEmpty());
            assertEquals(List.of("hello?"), texts(server.messages())); // no retry
            long ms = Duration.ofNanos(System.nanoTime() - start).toMillis();
            assertTrue(ms >= 250 && ms < 10_000, () -> ms + " ms");
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"wrong-seq", "wrong-length", "wrong-hash", "malformed", "err",
        "empty", "trailing-newline", "too-long"})
    void udpWrongAckIsExitCode5(String variant) throws IOException {
        TestServer.Replier replier = (seq, payload) -> {
            String sha = Digests.sha256Hex(payload);
            return switch (variant) {
                case "wrong-seq" -> "ACK " + (seq + 1) + " " + payload.length + " " + sha;
                case "wrong-length" -> "ACK " + seq + " " + (payload.length + 1) + " " + sha;
                case "wrong-hash" -> "ACK " + seq + " " + payload.length + " "
                        + Digests.sha256Hex(new byte[1]);
                case "malformed" -> "OK";
                case "err" -> "ERR nope";
                case "empty" -> "";
                case "trailing-newline" -> TestServer.ack(seq, payload) + "\n";
                case "too-long" -> TestServer.ack(seq, payload) + " ".repeat(2000);
                default -> throw new AssertionError(variant);
            };
        };
        try (UdpTestServer server = UdpTestServer.start(replier)) {
            ClientRun run = udp(server.port(), "abc");
            assertEquals(5, run.exitCode(), run::toString);
            assertErrorLine(run);
            assertEquals("", run.stdout());
        }
    }

    @Test
    void udpSecondAckWrongStillPrintsTheFirst() throws IOException {
        TestServer.Replier replier = (seq, payload) ->
                TestServer.ack(1, payload); // every reply claims to be the first
        try (UdpTestServer server = UdpTestServer.start(replier)) {
            ClientRun run = udp(server.port(), "one", "two");
            assertEquals(5, run.exitCode(), run::toString);
            assertEquals("one\n", run.stdout());
        }
    }

    @ParameterizedTest(name = "first message \"{0}\"")
    @ValueSource(strings = {"hi", ""})
    void udpPortUnreachableIsExitCode3(String message) throws IOException {
        int port;
        try (DatagramSocket probe = new DatagramSocket(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            port = probe.getLocalPort();
        }
        long start = System.nanoTime();
        ClientRun run = udp(port, message);
        assertEquals(3, run.exitCode(), run::toString);
        assertErrorLine(run);
        assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() < 5_000);
    }

    // ---------------------------------------------------------------- pipelining, half-close

    /**
     * How long a batch server looks for an EOF that must not come (--pipeline): it waits all of
     * it, then acknowledges, well within the client's 10 s.
     */
    private static final int EOF_PROBE_MS = 1500;

    /**
     * How long it looks for the EOF of a client that half-closes: the EOF comes at once, so this
     * only bounds a busy machine holding the client up between its last frame and the shutdown.
     */
    private static final int HALF_CLOSE_EOF_PROBE_MS = 8000;

    /** Starts a §11 batch server for {@code expected} frames over {@code transport}. */
    private TestServer batchServer(String transport, int expected) throws IOException {
        return batchServer(transport, expected, EOF_PROBE_MS);
    }

    private TestServer batchServer(String transport, int expected, int eofProbeMs)
            throws IOException {
        TestServer.StreamHandler handler = TestServer.batch(expected, eofProbeMs);
        return transport.equals("unix") ? TestServer.startUnix(socketPath(), handler)
                : TestServer.start(handler);
    }

    private ClientRun stream(String transport, TestServer server, String... args) {
        List<String> all = new ArrayList<>(transport.equals("unix")
                ? List.of("--transport", "unix", "--path", socketPath().toString())
                : List.of("--port", Integer.toString(server.port())));
        all.addAll(Arrays.asList(args));
        return ClientRun.of(all.toArray(String[]::new));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tcp", "unix"})
    void pipelineWritesEverythingBeforeReadingAcks(String transport) throws IOException {
        try (TestServer server = batchServer(transport, 3)) {
            ClientRun run = stream(transport, server, "--mode", "framed", "--pipeline",
                    "--format", "json", "one", "", "three");
            assertEquals(0, run.exitCode(), run::toString);
            assertEquals(List.of("one", "", "three"), texts(server.messages()));
            assertEquals(Boolean.FALSE, server.eofBeforeAcks(), "pipeline must not half-close");
            List<String> lines = run.stdoutLines();
            assertEquals(3, lines.size(), run::toString);
            for (int i = 0; i < 3; i++) {
                Map<String, String> json = parseFlatJson(lines.get(i));
                assertEquals(Integer.toString(i + 1), json.get("seq"));
                assertEquals("verified", json.get("ack"));
                assertEquals(transport, json.get("transport"));
            }
            assertEquals(List.of(), server.failures());
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tcp", "unix"})
    void halfCloseShutsDownBeforeReadingAcks(String transport) throws IOException {
        try (TestServer server = batchServer(transport, 3, HALF_CLOSE_EOF_PROBE_MS)) {
            ClientRun run = stream(transport, server, "--mode=framed", "--half-close", "one",
                    "two", "");
            assertEquals(0, run.exitCode(), run::toString);
            assertEquals("one\ntwo\n\n", run.stdout());
            assertEquals(List.of("one", "two", ""), texts(server.messages()));
            // The EOF came before the server gave up looking for it, and before any ack. (This
            // used to time the whole run against the probe as well: a busy machine failed it.)
            assertEquals(Boolean.TRUE, server.eofBeforeAcks(), "half-close must send EOF first");
            assertEquals(List.of(), server.failures());
        }
    }

    @Test
    void halfCloseWithPipelineAndAStandardServer() throws IOException {
        List<String> sent = new ArrayList<>();
        for (int i = 1; i <= 100; i++) {
            sent.add("message " + i);
        }
        for (String option : List.of("--pipeline", "--half-close")) {
            try (TestServer server = TestServer.start(TestServer::framed)) {
                List<String> args = new ArrayList<>(List.of("--mode", "framed", option));
                args.addAll(sent);
                ClientRun run = ClientRun.against(server.port(), args.toArray(String[]::new));
                assertEquals(0, run.exitCode(), run::toString);
                assertEquals(sent, texts(server.messages()));
                assertEquals(sent, run.stdoutLines());
            }
        }
    }

    @Test
    void stopAndWaitAgainstABatchServerTimesOut() throws IOException {
        // The batch server really requires pipelining: without it the first ack never comes.
        try (TestServer server = batchServer("tcp", 2)) {
            ClientRun run = stream("tcp", server, "--mode", "framed", "--timeout-ms", "300",
                    "a", "b");
            assertEquals(4, run.exitCode(), run::toString);
        }
    }

    @Test
    void pipelineWrongAckIsExitCode5AfterTheGoodOnes() throws IOException {
        TestServer.Replier replier = (seq, payload) ->
                seq == 2 ? "ERR busy" : TestServer.ack(seq, payload);
        try (TestServer server = TestServer.start(TestServer.framedWith(1 << 24, replier))) {
            ClientRun run = ClientRun.against(server.port(), "--mode", "framed", "--half-close",
                    "one", "two", "three");
            assertEquals(5, run.exitCode(), run::toString);
            assertEquals("one\n", run.stdout());
            assertTrue(run.stderr().contains("ERR busy"), run::toString);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"--pipeline", "--half-close"})
    void pipelineWithRawModeOrUdpIsExitCode2(String option) throws IOException {
        try (TestServer server = TestServer.start(TestServer::raw)) {
            for (List<String> args : List.of(List.of(option), List.of("--mode", "raw", option),
                    List.of("--transport", "udp", "--mode", "framed", option))) {
                List<String> all = new ArrayList<>(args);
                all.add("hi");
                ClientRun run = ClientRun.against(server.port(), all.toArray(String[]::new));
                assertEquals(2, run.exitCode(), run::toString);
                assertErrorLine(run);
            }
            assertEquals(0, server.connections());
        }
    }

    /** Waits up to 10 s for {@code condition} (something a server thread does). */
    private static void eventually(java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "condition not met in time");
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    @Test
    void usageTextMentionsTheNewOptions() {
        ClientRun run = ClientRun.of("--help");
        assertEquals(0, run.exitCode());
        for (String option : List.of("--transport", "--path", "--pipeline", "--half-close")) {
            assertTrue(run.stdout().contains(option), option);
        }
        assertFalse(run.stdout().contains("(see --help)"));
    }
}
