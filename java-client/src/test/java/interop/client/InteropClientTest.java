package interop.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** End-to-end tests of {@link InteropClient#run} against in-process test servers. */
@Timeout(60)
class InteropClientTest {
    private static final String HELLO = "Hello SocketServer!!!";
    private static final String HELLO_SHA =
            "30836f56b786ee37cf464bfe65b7728a5853395d9225e2bfd76f06ae68bd5807";
    private static final String ALL_BYTES_LINE = "[binary message: 256 bytes, sha256 "
            + "40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880, starts "
            + "\"\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\t\\n\\x0b\\x0c\\r\\x0e\\x0f"
            + "\\x10\\x11\\x12\\x13\\x14\\x15\\x16\\x17\\x18\\x19\\x1a\\x1b\\x1c\\x1d\\x1e\\x1f\""
            + "...]";

    @TempDir
    Path tmp;

    // ---------------------------------------------------------------- raw mode

    @Test
    void rawDeliversOneMessageAndPrintsIt() throws IOException {
        try (TestServer server = TestServer.start(TestServer::raw)) {
            ClientRun run = ClientRun.against(server.port(), "héllo wörld");
            assertEquals(0, run.exitCode(), run::toString);
            assertEquals("héllo wörld\n", run.stdout());
            assertEquals("", run.stderr());
            assertEquals(1, server.messages().size());
            assertArrayEquals("héllo wörld".getBytes(StandardCharsets.UTF_8),
                    server.messages().get(0));
        }
    }

    @Test
    void rawSendsEachMessageOnItsOwnConnectionInOrder() throws IOException {
        try (TestServer server = TestServer.start(TestServer::raw)) {
            ClientRun run = ClientRun.against(server.port(), "--mode", "raw", "one", "two",
                    "three");
            assertEquals(0, run.exitCode(), run::toString);
            assertEquals("one\ntwo\nthree\n", run.stdout());
            assertEquals(3, server.connections());
            assertEquals(List.of("one", "two", "three"), texts(server.messages()));
        }
    }

    @Test
    void defaultMessageIsHelloSocketServer() throws IOException {
        try (TestServer server = TestServer.start(TestServer::raw)) {
            ClientRun run = ClientRun.against(server.port());
            assertEquals(0, run.exitCode(), run::toString);
            assertEquals(HELLO + "\n", run.stdout());
            assertEquals(List.of(HELLO), texts(server.messages()));
        }
    }

    @Test
    void rawEmptyMessage() throws IOException {
        try (TestServer server = TestServer.start(TestServer::raw)) {
            ClientRun run = ClientRun.against(server.port(), "");
            assertEquals(0, run.exitCode(), run::toString);
            assertEquals("\n", run.stdout());
            assertEquals(1, server.messages().size());
            assertEquals(0, server.messages().get(0).length);
        }
    }

    @Test
    void rawFileWithAllByteValues() throws IOException {
        Path file = tmp.resolve("all-bytes.bin");
        Files.write(file, allBytes());
        try (TestServer server = TestServer.start(TestServer::raw)) {
            ClientRun run = ClientRun.against(server.port(), "--file", file.toString());
            assertEquals(0, run.exitCode(), run::toString);
            assertArrayEquals(allBytes(), server.messages().get(0));
            assertEquals(ALL_BYTES_LINE + "\n", run.stdout()); // the exact example of §4
        }
    }

    @Test
    void filesAreSentBeforeMessagesInTheOrderGiven() throws IOException {
        Path a = Files.writeString(tmp.resolve("a.txt"), "file A");
        Path b = Files.writeString(tmp.resolve("b.txt"), "file B");
        try (TestServer server = TestServer.start(TestServer::raw)) {
            ClientRun run = ClientRun.against(server.port(), "msg 1", "--file=" + a, "msg 2",
                    "--file", b.toString());
            assertEquals(0, run.exitCode(), run::toString);
            assertEquals(List.of("file A", "file B", "msg 1", "msg 2"), texts(server.messages()));
        }
    }

    @Test
    void doubleDashEndsOptions() throws IOException {
        try (TestServer server = TestServer.start(TestServer::raw)) {
            ClientRun run = ClientRun.of("--port=" + server.port(), "--", "--port", "-h", "-");
            assertEquals(0, run.exitCode(), run::toString);
            assertEquals(List.of("--port", "-h", "-"), texts(server.messages()));
        }
    }

    @Test
    void rawJsonLine() throws IOException {
        try (TestServer server = TestServer.start(TestServer::raw)) {
            ClientRun run = ClientRun.against(server.port(), "--format", "json", HELLO);
            assertEquals(0, run.exitCode(), run::toString);
            List<String> lines = run.stdoutLines();
            assertEquals(1, lines.size(), run::toString);
            Map<String, String> json = parseFlatJson(lines.get(0));
            assertEquals(Map.of(
                    "seq", "1",
                    "local", server.peers().get(0),
                    "peer", "127.0.0.1:" + server.port(),
                    "mode", "raw",
                    "len", "21",
                    "sha256", HELLO_SHA,
                    "ack", "none",
                    "transport", "tcp"), json);
        }
    }

    @Test
    void rawServerThatNeverClosesTimesOut() throws IOException {
        try (TestServer server = TestServer.start(TestServer::readButNeverClose)) {
            long start = System.nanoTime();
            ClientRun run = ClientRun.against(server.port(), "--timeout-ms", "300", "hi");
            assertEquals(4, run.exitCode(), run::toString);
            assertErrorLine(run);
            assertEquals("", run.stdout());
            assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() < 10_000);
        }
    }

    @Test
    void rawResetIsExitCode1() throws IOException {
        Path big = tmp.resolve("big.bin");
        Files.write(big, new byte[8 * 1024 * 1024]);
        try (TestServer server = TestServer.start(TestServer::reset)) {
            ClientRun run = ClientRun.against(server.port(), "--file", big.toString());
            assertEquals(1, run.exitCode(), run::toString);
            assertErrorLine(run);
        }
    }

    // ---------------------------------------------------------------- framed mode

    @Test
    void framedCorrectAcksWithJsonLines() throws IOException {
        try (TestServer server = TestServer.start(TestServer::framed)) {
            ClientRun run = ClientRun.against(server.port(), "--mode=framed", "--format=json",
                    HELLO, "", "third");
            assertEquals(0, run.exitCode(), run::toString);
            assertEquals(1, server.connections());
            assertEquals(List.of(HELLO, "", "third"), texts(server.messages()));
            List<String> lines = run.stdoutLines();
            assertEquals(3, lines.size());
            for (int i = 0; i < 3; i++) {
                Map<String, String> json = parseFlatJson(lines.get(i));
                assertEquals(Integer.toString(i + 1), json.get("seq"));
                assertEquals(server.peers().get(0), json.get("local"));
                assertEquals("127.0.0.1:" + server.port(), json.get("peer"));
                assertEquals("framed", json.get("mode"));
                assertEquals("verified", json.get("ack"));
                byte[] sent = server.messages().get(i);
                assertEquals(Integer.toString(sent.length), json.get("len"));
                assertEquals(Digests.sha256Hex(sent), json.get("sha256"));
            }
        }
    }

    @Test
    void framedTextOutputAndEmptyMessage() throws IOException {
        try (TestServer server = TestServer.start(TestServer::framed)) {
            ClientRun run = ClientRun.against(server.port(), "--mode", "framed", "");
            assertEquals(0, run.exitCode(), run::toString);
            assertEquals("\n", run.stdout());
            assertEquals(0, server.messages().get(0).length);
        }
    }

    @Test
    void framedFileWithAllByteValues() throws IOException {
        Path file = tmp.resolve("all-bytes.bin");
        Files.write(file, allBytes());
        try (TestServer server = TestServer.start(TestServer::framed)) {
            ClientRun run = ClientRun.against(server.port(), "--mode", "framed", "--file",
                    file.toString());
            assertEquals(0, run.exitCode(), run::toString);
            assertArrayEquals(allBytes(), server.messages().get(0));
            assertEquals(ALL_BYTES_LINE + "\n", run.stdout());
        }
    }

    @Test
    void twoHundredMessagesOnOneConnection() throws IOException {
        List<String> args = new ArrayList<>(List.of("--mode", "framed"));
        List<String> sent = IntStream.rangeClosed(1, 200).mapToObj(i -> "message " + i)
                .collect(Collectors.toList());
        args.addAll(sent);
        try (TestServer server = TestServer.start(TestServer::framed)) {
            ClientRun run = ClientRun.against(server.port(), args.toArray(String[]::new));
            assertEquals(0, run.exitCode(), run::toString);
            assertEquals(1, server.connections());
            assertEquals(sent, texts(server.messages()));
            assertEquals(sent, run.stdoutLines());
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"wrong-seq", "wrong-length", "wrong-hash", "uppercase-hash",
        "leading-zero", "trailing-newline", "malformed", "empty"})
    void framedWrongAckIsProtocolError(String variant) throws IOException {
        TestServer.Replier replier = (seq, payload) -> {
            String sha = Digests.sha256Hex(payload);
            return switch (variant) {
                case "wrong-seq" -> "ACK " + (seq + 1) + " " + payload.length + " " + sha;
                case "wrong-length" -> "ACK " + seq + " " + (payload.length + 1) + " " + sha;
                case "wrong-hash" -> "ACK " + seq + " " + payload.length + " "
                        + Digests.sha256Hex(new byte[1]);
                case "uppercase-hash" -> "ACK " + seq + " " + payload.length + " "
                        + sha.toUpperCase();
                case "leading-zero" -> "ACK 0" + seq + " " + payload.length + " " + sha;
                case "trailing-newline" -> TestServer.ack(seq, payload) + "\n";
                case "malformed" -> "OK";
                case "empty" -> "";
                default -> throw new AssertionError(variant);
            };
        };
        try (TestServer server = TestServer.start(TestServer.framedWith(1 << 24, replier))) {
            ClientRun run = ClientRun.against(server.port(), "--mode", "framed", "abc");
            assertEquals(5, run.exitCode(), run::toString);
            assertErrorLine(run);
            assertEquals("", run.stdout());
        }
    }

    @Test
    void secondAckWrongStillPrintsTheFirst() throws IOException {
        TestServer.Replier replier = (seq, payload) ->
                seq == 1 ? TestServer.ack(seq, payload) : TestServer.ack(seq + 5, payload);
        try (TestServer server = TestServer.start(TestServer.framedWith(1 << 24, replier))) {
            ClientRun run = ClientRun.against(server.port(), "--mode", "framed", "one", "two");
            assertEquals(5, run.exitCode(), run::toString);
            assertEquals("one\n", run.stdout());
        }
    }

    @Test
    void framedErrReplyIsProtocolError() throws IOException {
        TestServer.Replier replier = (seq, payload) -> "ERR busy try again later";
        try (TestServer server = TestServer.start(TestServer.framedWith(1 << 24, replier))) {
            ClientRun run = ClientRun.against(server.port(), "--mode", "framed", "abc");
            assertEquals(5, run.exitCode(), run::toString);
            assertErrorLine(run);
            assertTrue(run.stderr().contains("ERR busy try again later"), run::toString);
        }
    }

    @Test
    void framedTooLargeIsReportedFromTheErrReply() throws IOException {
        Path big = tmp.resolve("big.bin");
        Files.write(big, new byte[32 * 1024 * 1024]);
        TestServer.Handler handler = TestServer.framedWith(1024 * 1024, TestServer::ack);
        try (TestServer server = TestServer.startWithSmallReceiveBuffer(handler)) {
            ClientRun run = ClientRun.against(server.port(), "--mode", "framed", "--file",
                    big.toString());
            assertEquals(5, run.exitCode(), run::toString);
            assertErrorLine(run);
            assertTrue(run.stderr().contains("ERR too-large 33554432 > 1048576"), run::toString);
        }
    }

    @Test
    void framedServerClosingBeforeAckIsProtocolError() throws IOException {
        TestServer.Handler closeAfterReading = (socket, server) -> {
            socket.getInputStream().readNBytes(7);
            socket.shutdownOutput();
            TestServer.readToEof(socket.getInputStream());
        };
        try (TestServer server = TestServer.start(closeAfterReading)) {
            ClientRun run = ClientRun.against(server.port(), "--mode", "framed", "abc");
            assertEquals(5, run.exitCode(), run::toString);
            assertErrorLine(run);
        }
    }

    @Test
    void framedTruncatedOrOverlongReplyIsProtocolError() throws IOException {
        TestServer.Handler truncated = (socket, server) -> {
            socket.getInputStream().readNBytes(7);
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            out.writeInt(72);
            out.writeBytes("ACK 1 3 ba78");
            out.flush();
        };
        TestServer.Handler overlong = (socket, server) -> {
            socket.getInputStream().readNBytes(7);
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            TestServer.writeRawFrame(out, new byte[1025]);
            TestServer.readToEof(socket.getInputStream());
        };
        for (TestServer.Handler handler : List.of(truncated, overlong)) {
            try (TestServer server = TestServer.start(handler)) {
                ClientRun run = ClientRun.against(server.port(), "--mode", "framed", "abc");
                assertEquals(5, run.exitCode(), run::toString);
                assertErrorLine(run);
            }
        }
    }

    @Test
    void framedServerThatNeverRepliesTimesOut() throws IOException {
        try (TestServer server = TestServer.start(TestServer::silent)) {
            long start = System.nanoTime();
            ClientRun run = ClientRun.against(server.port(), "--mode", "framed",
                    "--timeout-ms", "300", "abc");
            assertEquals(4, run.exitCode(), run::toString);
            assertErrorLine(run);
            assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() < 10_000);
        }
    }

    @Test
    void framedWriteToServerThatNeverReadsTimesOut() throws IOException {
        Path big = tmp.resolve("big.bin");
        Files.write(big, new byte[32 * 1024 * 1024]);
        try (TestServer server = TestServer.startWithSmallReceiveBuffer(TestServer::silent)) {
            long start = System.nanoTime();
            ClientRun run = ClientRun.against(server.port(), "--mode", "framed",
                    "--timeout-ms", "500", "--file", big.toString());
            assertEquals(4, run.exitCode(), run::toString);
            assertErrorLine(run);
            assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() < 10_000);
        }
    }

    @Test
    void framedResetWhileWaitingForAckIsExitCode1() throws IOException {
        TestServer.Handler resetAfterReading = (socket, server) -> {
            socket.getInputStream().readNBytes(7);
            TestServer.reset(socket, server);
        };
        try (TestServer server = TestServer.start(resetAfterReading)) {
            ClientRun run = ClientRun.against(server.port(), "--mode", "framed", "abc");
            assertEquals(1, run.exitCode(), run::toString);
            assertErrorLine(run);
        }
    }

    // ---------------------------------------------------------------- connecting

    @Test
    void refusedPortIsExitCode3() throws IOException {
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        for (String mode : List.of("raw", "framed")) {
            long start = System.nanoTime();
            ClientRun run = ClientRun.against(port, "--mode", mode, "hi");
            assertEquals(3, run.exitCode(), run::toString);
            assertErrorLine(run);
            assertEquals("", run.stdout());
            assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() < 5_000);
        }
    }

    @Test
    void unresolvableHostIsExitCode3() {
        ClientRun run = ClientRun.of("--host", "no-such-host.invalid", "hi");
        assertEquals(3, run.exitCode(), run::toString);
        assertErrorLine(run);
    }

    @Test
    void ipv6AddressesAreBracketedAndShort() throws IOException {
        InetAddress loopback6;
        try {
            loopback6 = InetAddress.getByName("::1");
            new ServerSocket(0, 1, loopback6).close();
        } catch (IOException e) {
            loopback6 = null;
        }
        assumeTrue(loopback6 instanceof Inet6Address, "IPv6 loopback not available");
        try (TestServer server = TestServer.start(loopback6, TestServer::framed)) {
            ClientRun run = ClientRun.against(server.port(), "--host", "::1", "--mode", "framed",
                    "--format", "json", "v6");
            assertEquals(0, run.exitCode(), run::toString);
            Map<String, String> json = parseFlatJson(run.stdoutLines().get(0));
            assertEquals("[::1]:" + server.port(), json.get("peer"));
            assertTrue(json.get("local").matches("\\[::1]:\\d+"), json::toString);
            assertEquals(server.peers().get(0), json.get("local"));
        }
    }

    // ---------------------------------------------------------------- command line

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"--port abc", "--port 0", "--port 65536", "--port -1", "--port= 1",
        "--port", "--mode udp", "--mode=", "--format xml", "--timeout-ms 0",
        "--timeout-ms -5", "--timeout-ms 1.5", "--timeout-ms 99999999999", "--bogus", "-x",
        "--help=yes", "--host=", "--file", "--file=", "--transport", "--transport=sctp",
        "--transport UDP", "--path=", "--transport unix", "--pipeline=yes", "--half-close=1",
        "--pipeline", "--half-close", "--mode raw --pipeline", "--mode=raw --half-close",
        "--transport udp --mode framed --pipeline", "--transport=udp --half-close",
        "--transport unix --path /tmp/x.sock --pipeline"})
    void usageErrorsExit2(String args) {
        ClientRun run = ClientRun.of(args.split(" "));
        assertEquals(2, run.exitCode(), run::toString);
        assertErrorLine(run);
        assertEquals("", run.stdout());
    }

    @ParameterizedTest
    @ValueSource(strings = {"-h", "--help"})
    void helpPrintsUsageAndExits0(String flag) {
        ClientRun run = ClientRun.of("--port", "1", flag, "--bogus");
        assertEquals(0, run.exitCode(), run::toString);
        assertTrue(run.stdout().startsWith("usage:"), run::toString);
        assertEquals("", run.stderr());
    }

    @Test
    void unreadableFileIsExitCode1BeforeConnecting() throws IOException {
        try (TestServer server = TestServer.start(TestServer::raw)) {
            ClientRun run = ClientRun.against(server.port(), "--file",
                    tmp.resolve("missing").toString(), "hi");
            assertEquals(1, run.exitCode(), run::toString);
            assertErrorLine(run);
            assertEquals(0, server.connections());
        }
    }

    // ---------------------------------------------------------------- helpers

    static byte[] allBytes() {
        byte[] bytes = new byte[256];
        for (int i = 0; i < 256; i++) {
            bytes[i] = (byte) i;
        }
        return bytes;
    }

    static List<String> texts(List<byte[]> messages) {
        return messages.stream().map(m -> new String(m, StandardCharsets.UTF_8))
                .collect(Collectors.toList());
    }

    static void assertErrorLine(ClientRun run) {
        assertTrue(run.stderr().startsWith("error: "), run::toString);
        assertTrue(run.stderr().endsWith("\n"), run::toString);
        assertEquals(1, run.stderr().split("\n", -1).length - 1, run::toString);
    }

    private static final Pattern MEMBER = Pattern.compile(
            "\"([a-z0-9]+)\":(\"((?:[^\"\\\\]|\\\\.)*)\"|-?[0-9]+)");

    /** Parses a flat JSON object with string and integer values (enough for §8.2). */
    static Map<String, String> parseFlatJson(String line) {
        assertTrue(line.startsWith("{") && line.endsWith("}"), line);
        Map<String, String> members = new java.util.LinkedHashMap<>();
        String body = line.substring(1, line.length() - 1);
        Matcher m = MEMBER.matcher(body);
        int at = 0;
        while (m.find() && m.start() == at) {
            members.put(m.group(1), m.group(3) != null ? m.group(3) : m.group(2));
            at = m.end();
            if (at < body.length()) {
                assertEquals(',', body.charAt(at), line);
                at++;
            }
        }
        assertEquals(body.length(), at, "unparsed JSON: " + line);
        return members;
    }
}
