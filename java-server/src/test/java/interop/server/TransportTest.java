package interop.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** IPv6, Unix domain sockets and UDP (§10), against the server process. */
@Timeout(60)
class TransportTest {
    @TempDir
    Path tmp;

    static boolean ipv6Loopback() {
        try (ServerSocketChannel probe = ServerSocketChannel.open(StandardProtocolFamily.INET6)) {
            probe.bind(new InetSocketAddress(InetAddress.getByName("::1"), 0));
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    // ---------------------------------------------------------------- IPv6

    @Test
    void ipv6AddressesPrintInBrackets() throws Exception {
        assumeTrue(ipv6Loopback(), "no ::1 here");
        try (ServerProcess server = ServerProcess.start("--host", "::1", "--port", "0",
                "--mode", "framed", "--format", "json")) {
            assertTrue(server.firstLine().matches("listening on \\[::1]:\\d+"), server.firstLine());
            String local;
            try (Peer peer = Peer.connect("::1", server.port())) {
                local = peer.local();
                assertTrue(local.startsWith("[::1]:"), local);
                peer.sendFrame("over IPv6");
                peer.expectAck(1, "over IPv6");
            }
            Map<String, Object> connected =
                    server.awaitEvent(e -> "connected".equals(e.get("event")));
            assertEquals(local, connected.get("peer"));
            assertEquals("[::1]:" + server.port(), connected.get("local"));
            server.awaitEnd(1);
            assertEquals(0, server.stop());
        }
    }

    // ---------------------------------------------------------------- Unix sockets

    private static SocketChannel unixConnect(Path path) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(path));
        return channel;
    }

    private static void write(SocketChannel channel, byte[] bytes) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    private static String readReply(SocketChannel channel) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(4);
        while (header.hasRemaining()) {
            if (channel.read(header) < 0) {
                throw new IOException("EOF");
            }
        }
        ByteBuffer payload = ByteBuffer.allocate(header.getInt(0));
        while (payload.hasRemaining()) {
            if (channel.read(payload) < 0) {
                throw new IOException("EOF");
            }
        }
        return new String(payload.array(), StandardCharsets.UTF_8);
    }

    @Test
    void unixSocketPeersAreNamedByProcessIdAndTheFileGoesAtExit() throws Exception {
        Path path = tmp.resolve("framed.sock");
        String pid = "pid:" + ProcessHandle.current().pid();
        try (ServerProcess server = ServerProcess.start("--transport", "unix", "--path",
                path.toString(), "--mode", "framed", "--format", "json")) {
            assertEquals("listening on unix:" + path, server.firstLine());
            try (SocketChannel channel = unixConnect(path)) {
                write(channel, Peer.frame("over a Unix socket".getBytes(StandardCharsets.UTF_8)));
                assertEquals(Peer.ack(1, "over a Unix socket".getBytes(StandardCharsets.UTF_8)),
                        readReply(channel));
                write(channel, Peer.frame(new byte[0]));
                assertEquals(Peer.ack(2, new byte[0]), readReply(channel));
            }
            assertEquals(Map.of("event", "connected", "conn", 1L, "peer", pid,
                    "local", "unix:" + path),
                    server.awaitEvent(e -> "connected".equals(e.get("event"))));
            assertEquals(Map.of("event", "closed", "conn", 1L, "peer", pid, "messages", 2L),
                    server.awaitEnd(1));
            assertTrue(Files.exists(path));
            assertEquals(0, server.stop());
        }
        assertFalse(Files.exists(path), "the socket file is removed at exit");
    }

    @Test
    void unixRawModeReplacesAStaleSocketFile() throws Exception {
        Path path = tmp.resolve("stale.sock");
        try (ServerSocketChannel earlier = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            earlier.bind(UnixDomainSocketAddress.of(path)); // bound, then gone: a stale file
        }
        assertTrue(Files.exists(path));
        try (ServerProcess server = ServerProcess.start("--transport", "unix", "--path",
                path.toString(), "--format", "json")) {
            try (SocketChannel channel = unixConnect(path)) {
                write(channel, "raw over unix".getBytes(StandardCharsets.UTF_8));
                channel.shutdownOutput();
                assertEquals(-1, channel.read(ByteBuffer.allocate(16)));
            }
            assertEquals("closed", server.awaitEnd(1).get("event"));
            Map<String, Object> message = server.awaitEvent(e -> "message".equals(e.get("event")));
            assertEquals("raw over unix", message.get("text"));
            assertEquals("pid:" + ProcessHandle.current().pid(), message.get("peer"));
            assertEquals(0, server.stop());
        }
    }

    @Test
    void aPathThatIsNotASocketIsNeverDeleted() throws Exception {
        Path path = tmp.resolve("precious.txt");
        Files.writeString(path, "keep me");
        ServerProcess.Finished run = ServerProcess.runInShell("exec \"$@\"", "--transport", "unix",
                "--path", path.toString());
        assertEquals(1, run.exitCode());
        assertEquals("error: cannot listen on unix:" + path + ": " + path
                + " exists and is not a socket\n", run.stderr());
        assertEquals("keep me", Files.readString(path));
    }

    @Test
    void aSocketSomeoneListensOnIsInUse() throws Exception {
        Path path = tmp.resolve("live.sock");
        try (ServerSocketChannel live = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            live.bind(UnixDomainSocketAddress.of(path));
            ServerProcess.Finished run = ServerProcess.runInShell("exec \"$@\"", "--transport",
                    "unix", "--path", path.toString());
            assertEquals(1, run.exitCode());
            assertEquals("error: cannot listen on unix:" + path + ": address in use\n",
                    run.stderr());
            assertTrue(Files.exists(path));
        }
    }

    @Test
    void aPathTooLongIsAUsageError() throws Exception {
        String path = "/tmp/" + "x".repeat(145);
        ServerProcess.Finished run = ServerProcess.runInShell("exec \"$@\"", "--transport", "unix",
                "--path", path);
        assertEquals(2, run.exitCode());
        assertEquals("error: unix socket path too long: 150 bytes, at most 107\n", run.stderr());
    }

    // ---------------------------------------------------------------- UDP

    private static String exchange(DatagramSocket socket, byte[] message) throws IOException {
        socket.send(new DatagramPacket(message, message.length));
        DatagramPacket reply = new DatagramPacket(new byte[2048], 2048);
        socket.receive(reply);
        return new String(reply.getData(), 0, reply.getLength(), StandardCharsets.US_ASCII);
    }

    @Test
    void udpAcknowledgesEveryDatagramAndNumbersThemPerPeer() throws Exception {
        byte[] largest = new byte[UdpServer.MAX_PAYLOAD];
        new Random(3).nextBytes(largest);
        try (ServerProcess server = ServerProcess.start("--transport", "udp", "--port", "0",
                "--format", "json");
             DatagramSocket socket = new DatagramSocket();
             DatagramSocket other = new DatagramSocket()) {
            socket.setSoTimeout(10_000);
            other.setSoTimeout(10_000);
            socket.connect(InetAddress.getLoopbackAddress(), server.port());
            other.connect(InetAddress.getLoopbackAddress(), server.port());
            byte[] hello = "first".getBytes(StandardCharsets.UTF_8);
            assertEquals(Peer.ack(1, hello), exchange(socket, hello));
            assertEquals(Peer.ack(2, largest), exchange(socket, largest));
            assertEquals(Peer.ack(1, hello), exchange(other, hello));
            assertEquals(Peer.ack(3, hello), exchange(socket, hello));
            String peer = Addresses.format(socket.getLocalSocketAddress());
            // listening, two connected, four messages: seven lines. Every record was written
            // before its ACK, but this test reads the server's stdout on another thread.
            List<Map<String, Object>> events = server.awaitLines(7).stream().map(Json::parse)
                    .toList();
            assertEquals(Map.of("event", "connected", "conn", 1L, "peer", peer,
                    "local", "127.0.0.1:" + server.port()), events.get(1));
            assertEquals(List.of(1L, 2L, 1L, 3L), events.stream()
                    .filter(e -> "message".equals(e.get("event"))).map(e -> e.get("seq")).toList());
            assertEquals(0, server.stop());
        }
    }

    @Test
    void anEmptyDatagramIsTheEmptyMessage() throws Exception {
        try (ServerProcess server = ServerProcess.start("--transport", "udp", "--port", "0")) {
            // The JDK sends nothing for an empty buffer on a *connected* DatagramSocket.
            try (DatagramSocket socket = new DatagramSocket()) {
                socket.setSoTimeout(10_000);
                InetSocketAddress to = new InetSocketAddress(InetAddress.getLoopbackAddress(),
                        server.port());
                socket.send(new DatagramPacket(new byte[0], 0, to));
                DatagramPacket reply = new DatagramPacket(new byte[2048], 2048);
                socket.receive(reply);
                assertEquals(Peer.ack(1, new byte[0]), new String(reply.getData(), 0,
                        reply.getLength(), StandardCharsets.US_ASCII));
                socket.send(new DatagramPacket(new byte[] {'x'}, 1, to));
                socket.receive(reply);
                String peer = "127.0.0.1:" + socket.getLocalPort(); // bound to the wildcard
                // Text format: a Hello line before every datagram.
                assertEquals(List.of("Hello: " + peer, "", "Hello: " + peer, "x"),
                        server.awaitLines(4));
            }
            assertEquals(0, server.stop());
        }
    }

    @Test
    void aTruncatedDatagramIsAnErrorAndNotAcknowledged() throws Exception {
        assumeTrue(ipv6Loopback(), "no ::1 here (over IPv4 no datagram exceeds 65,507 bytes)");
        try (ServerProcess server = ServerProcess.start("--transport", "udp", "--host", "::1",
                "--port", "0", "--format", "json");
             DatagramSocket socket = new DatagramSocket(0, InetAddress.getByName("::1"))) {
            socket.setSoTimeout(1500);
            socket.connect(InetAddress.getByName("::1"), server.port());
            byte[] tooLarge = new byte[UdpServer.MAX_PAYLOAD + 1];
            socket.send(new DatagramPacket(tooLarge, tooLarge.length));
            assertThrows(SocketTimeoutException.class,
                    () -> socket.receive(new DatagramPacket(new byte[2048], 2048)));
            Map<String, Object> error = server.awaitEvent(e -> "error".equals(e.get("event")));
            assertEquals("datagram truncated: more than 65507 bytes (the UDP maximum)",
                    error.get("error"));
            assertEquals(0, RawModeTest.countMessages(server));
            byte[] fine = "fine".getBytes(StandardCharsets.UTF_8);
            assertEquals(Peer.ack(1, fine), exchange(socket, fine));
            assertEquals(0, server.stop());
        }
    }
}
