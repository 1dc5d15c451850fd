package interop.client;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The server side of §10.3 for the tests: a UDP socket on an ephemeral loopback port that records
 * every datagram and its sender and answers it with what a {@link TestServer.Replier} computes
 * ({@code seq} counting each sender's datagrams from 1), or stays silent.
 */
final class UdpTestServer implements AutoCloseable {
    /** One byte more than a datagram may carry, as §10.3 asks of a server. */
    private static final int BUFFER_BYTES = 65_508;

    private final DatagramSocket socket;
    private final TestServer.Replier replier;
    private final List<byte[]> messages = Collections.synchronizedList(new ArrayList<>());
    private final List<String> peers = new CopyOnWriteArrayList<>();
    private final Map<SocketAddress, Integer> seqs = new ConcurrentHashMap<>();

    private UdpTestServer(TestServer.Replier replier) throws IOException {
        this.replier = replier;
        this.socket = new DatagramSocket(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Thread thread = new Thread(this::serve, "udp-test-server");
        thread.setDaemon(true);
        thread.start();
    }

    /** Answers every datagram with {@code replier}'s payload. */
    static UdpTestServer start(TestServer.Replier replier) throws IOException {
        return new UdpTestServer(replier);
    }

    /** Acknowledges every datagram correctly. */
    static UdpTestServer acking() throws IOException {
        return start(TestServer::ack);
    }

    /** Receives and records, never answers. */
    static UdpTestServer silent() throws IOException {
        return start(null);
    }

    int port() {
        return socket.getLocalPort();
    }

    /** Datagrams received so far, in order. */
    List<byte[]> messages() {
        synchronized (messages) {
            return List.copyOf(messages);
        }
    }

    /** The sender of each datagram, formatted per §1. */
    List<String> peers() {
        return List.copyOf(peers);
    }

    private void serve() {
        byte[] buffer = new byte[BUFFER_BYTES];
        while (!socket.isClosed()) {
            DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
            try {
                socket.receive(packet);
            } catch (IOException e) {
                return;
            }
            byte[] payload = Arrays.copyOf(packet.getData(), packet.getLength());
            messages.add(payload);
            InetSocketAddress sender = (InetSocketAddress) packet.getSocketAddress();
            peers.add(Addresses.format(sender));
            int seq = seqs.merge(sender, 1, Integer::sum);
            if (replier == null) {
                continue;
            }
            byte[] reply = replier.reply(seq, payload).getBytes(StandardCharsets.ISO_8859_1);
            try {
                socket.send(new DatagramPacket(reply, reply.length, sender));
            } catch (IOException e) {
                return;
            }
        }
    }

    @Override
    public void close() {
        socket.close();
    }
}
