package interop.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A log that cannot be written (§5): stdout full, closed, or a pipe whose reader has gone, at
 * start-up or while serving. Nothing is acknowledged that is not in the log; the server says why
 * in one line on stderr and exits 3 within a second.
 */
@Timeout(60)
class OutputFailureTest {
    private static final String EPIPE_LINE = "error: writing output: Broken pipe (os error 32)\n";
    private static final String ERR_OUTPUT = "ERR output writing output: Broken pipe (os error 32)";

    @ParameterizedTest
    @ValueSource(strings = {"--port=0", "--port=0 --transport=udp", "--help"})
    void stdoutFullAtStartUpIsExitCode3WithOneLine(String args) throws Exception {
        File full = new File("/dev/full");
        assumeTrue(full.exists(), "no /dev/full");
        ServerProcess.Finished run = ServerProcess.runTo(full, args.split(" "));
        assertEquals(3, run.exitCode());
        assertEquals("error: writing output: No space left on device (os error 28)\n",
                run.stderr());
    }

    @ParameterizedTest
    @ValueSource(strings = {"--port=0", "--port=0 --mode=framed --format=json", "--help"})
    void stdoutClosedAtStartUpIsExitCode3WithOneLine(String args) throws Exception {
        ServerProcess.Finished run = ServerProcess.runInShell("exec \"$@\" >&-", args.split(" "));
        assertEquals(3, run.exitCode());
        assertEquals("error: writing output: Bad file descriptor (os error 9)\n", run.stderr());
    }

    @Test
    void aFrameThatCannotBeLoggedGetsErrOutputAndSoDoesAnIdleConnection() throws Exception {
        // Text format: connecting prints nothing, so the first write to fail is the record of
        // the frame sent after the reader went away.
        try (ServerProcess server = ServerProcess.startUnread("--port", "0", "--mode", "framed");
             Peer busy = Peer.connect(server.port());
             Peer idle = Peer.connect(server.port())) {
            busy.sendFrame("first");
            busy.expectAck(1, "first");
            idle.sendFrame("idle one");
            idle.expectAck(1, "idle one");
            server.stdoutStream().close(); // the reader goes away
            long failed = System.nanoTime();
            busy.sendFrame("second");
            assertEquals(ERR_OUTPUT, busy.readReply()); // in place of its ACK
            assertEquals(Peer.End.EOF, busy.readToEnd());
            assertEquals(ERR_OUTPUT, idle.readReply()); // without a frame of its own
            assertEquals(3, server.awaitExit());
            long millis = (System.nanoTime() - failed) / 1_000_000;
            assertTrue(millis < 2500, "exited " + millis + " ms after the failure");
            assertEquals(EPIPE_LINE, server.stderr());
        }
    }

    @Test
    void jsonFailsAtTheConnectedEventBeforeAnyFrame() throws Exception {
        try (ServerProcess server = ServerProcess.startUnread("--port", "0", "--mode", "framed",
                "--format", "json")) {
            server.stdoutStream().close();
            try (Peer peer = Peer.connect(server.port())) {
                peer.sendFrame("never acknowledged");
                assertEquals(ERR_OUTPUT, peer.readReply());
            }
            assertEquals(3, server.awaitExit());
            assertEquals(EPIPE_LINE, server.stderr());
        }
    }

    @Test
    void rawConnectionsAreResetNeverClosedInAnOrderlyWay() throws Exception {
        try (ServerProcess server = ServerProcess.startUnread("--port", "0");
             Peer pending = Peer.connect(server.port());
             Peer lost = Peer.connect(server.port())) {
            pending.send("no EOF yet");
            Thread.sleep(300); // both accepted (text format prints nothing for that)
            server.stdoutStream().close();
            lost.send("cannot be logged").shutdownOutput();
            assertEquals(Peer.End.RESET, lost.readToEnd());
            assertEquals(Peer.End.RESET, pending.readToEnd());
            assertEquals(3, server.awaitExit());
            assertEquals(EPIPE_LINE, server.stderr());
        }
    }

    @Test
    void aDatagramThatCannotBeLoggedIsNotAcknowledged() throws Exception {
        try (ServerProcess server = ServerProcess.startUnread("--transport", "udp", "--port", "0");
             DatagramSocket socket = new DatagramSocket()) {
            socket.setSoTimeout(1500);
            socket.connect(InetAddress.getLoopbackAddress(), server.port());
            server.stdoutStream().close();
            byte[] message = "unlogged".getBytes(StandardCharsets.UTF_8);
            socket.send(new DatagramPacket(message, message.length));
            assertThrows(SocketTimeoutException.class,
                    () -> socket.receive(new DatagramPacket(new byte[2048], 2048)));
            assertEquals(3, server.awaitExit());
            assertEquals(EPIPE_LINE, server.stderr());
        }
    }
}
