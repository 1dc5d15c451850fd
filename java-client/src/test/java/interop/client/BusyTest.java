package interop.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ERR busy} and {@code ERR output} (§3.3, §3.4, §5, §11): exit code 5 and exactly the
 * error line §3.3 gives, however the server's close meets the client's write; and a raw
 * connection turned away with a reset (§2): exit code 1.
 */
@Timeout(120)
class BusyTest {
    private static final String BUSY =
            "ERR busy 2 connections open, the most this server serves (--max-connections)";
    private static final String BUSY_LINE = "error: server is busy: " + BUSY + "\n";
    private static final String OUTPUT =
            "ERR output writing output: No space left on device (os error 28)";
    /** Stop-and-wait, pipelined, half-closed. */
    private static final List<List<String>> FRAMED_WAYS = List.of(
            List.of("--mode", "framed"),
            List.of("--mode", "framed", "--pipeline"),
            List.of("--mode", "framed", "--half-close"));

    @TempDir
    Path tmp;

    private static ClientRun run(List<String> target, List<String> way, String... rest) {
        List<String> all = new ArrayList<>(target);
        all.addAll(way);
        all.addAll(List.of(rest));
        return ClientRun.of(all.toArray(String[]::new));
    }

    private static void assertRun(int code, String stdout, String stderr, ClientRun run) {
        assertEquals(code + " " + stdout + " " + stderr,
                run.exitCode() + " " + run.stdout() + " " + run.stderr());
    }

    private static void writeReply(OutputStream out, String reply) throws IOException {
        TestServer.writeReply(new DataOutputStream(out), reply);
    }

    private Path socketPath() {
        return tmp.resolve("s.sock");
    }

    private List<String> unixTarget() {
        return List.of("--transport", "unix", "--path", socketPath().toString());
    }

    private static List<String> tcpTarget(TestServer server) {
        return List.of("--port", Integer.toString(server.port()));
    }

    @Test
    void errBusyInEveryFramedWay() throws IOException {
        // §5: ERR busy at once, without reading; the write side shut down (TCP); closed once
        // the client has closed.
        TestServer.Handler tcp = (socket, server) -> {
            writeReply(socket.getOutputStream(), BUSY);
            socket.shutdownOutput();
            TestServer.readToEof(socket.getInputStream());
        };
        TestServer.StreamHandler unix = (in, out, server) -> {
            writeReply(out, BUSY);
            TestServer.readToEof(in);
        };
        try (TestServer overTcp = TestServer.start(tcp);
             TestServer overUnix = TestServer.startUnix(socketPath(), unix)) {
            for (List<String> target : List.of(tcpTarget(overTcp), unixTarget())) {
                for (List<String> way : FRAMED_WAYS) {
                    assertRun(5, "", BUSY_LINE, run(target, way, "one", "two"));
                }
            }
        }
    }

    @Test
    void errOutputNamesTheMessageItAnswers() throws IOException {
        TestServer.Replier replier = (seq, payload) ->
                new String(payload, StandardCharsets.UTF_8).equals("one") || seq == 2
                        ? OUTPUT : TestServer.ack(seq, payload);
        try (TestServer server = TestServer.start(TestServer.framedWith(1 << 24, replier))) {
            for (List<String> way : FRAMED_WAYS) {
                assertRun(5, "", "error: server could not log message 1: " + OUTPUT + "\n",
                        run(tcpTarget(server), way, "one", "two"));
            }
            assertRun(5, "first\n", "error: server could not log message 2: " + OUTPUT + "\n",
                    run(tcpTarget(server), FRAMED_WAYS.get(0), "first", "second"));
        }
    }

    /**
     * The server sends ERR busy and closes without reading: at once, or once the client's data
     * has arrived (it reads one byte and leaves the rest unread, so the close is a reset). The
     * client's write may break either way (over a Unix socket, at once), but the ERR is already
     * in its receive buffer and must be what it reports. A 4 MiB message is still being written
     * when the close lands. Rounds of every way.
     */
    @Test
    void errBusyFromAServerThatClosesAtOnce() throws IOException {
        Path large = Files.write(tmp.resolve("large.bin"), new byte[4 * 1024 * 1024]);
        for (boolean waitForData : List.of(false, true)) {
            TestServer.StreamHandler handler = (in, out, server) -> {
                writeReply(out, BUSY);
                if (waitForData) {
                    in.read();
                }
            };
            Files.deleteIfExists(socketPath());
            try (TestServer overTcp = TestServer.start(handler);
                 TestServer overUnix = TestServer.startUnix(socketPath(), handler)) {
                for (int round = 0; round < 2; round++) {
                    for (List<String> target : List.of(tcpTarget(overTcp), unixTarget())) {
                        for (List<String> way : FRAMED_WAYS) {
                            assertRun(5, "", BUSY_LINE, run(target, way, "small"));
                            assertRun(5, "", BUSY_LINE,
                                    run(target, way, "--file", large.toString()));
                        }
                    }
                }
            }
        }
    }

    @Test
    void rawConnectionTurnedAwayWithAResetIsExitCode1() throws IOException {
        try (TestServer server = TestServer.start(TestServer::reset)) {
            for (int i = 0; i < 5; i++) {
                ClientRun run = ClientRun.against(server.port(), "hi");
                assertEquals(1, run.exitCode(), run::toString);
                assertEquals("", run.stdout());
                InteropClientTest.assertErrorLine(run);
            }
        }
    }
}
