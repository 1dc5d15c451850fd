package interop.server;

import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * UDP (§10.3): one datagram per message, each acknowledged by one datagram.
 *
 * <p>Every datagram is received into a buffer of 65,508 bytes, one more than the largest IPv4
 * payload: one that fills it was truncated, and is an error, never a message, never acknowledged.
 * The first datagram from a new peer address gets a {@code connected} event and a connection
 * number; {@code seq} counts that peer's datagrams from 1 (the numbering of the least recently
 * seen peer is forgotten past {@code --max-connections} peers). UDP has no close, so there are no
 * {@code closed} events. Log, then acknowledge: a datagram whose record cannot be written gets no
 * {@code ACK}, and the server stops.
 */
final class UdpServer {
    /** The largest UDP payload over IPv4. */
    static final int MAX_PAYLOAD = 65_507;
    /** Datagrams handled per readiness event before timers and signals get a turn. */
    private static final int DATAGRAMS_PER_TURN = 64;

    private static final class Peer {
        final long conn;
        long seq;

        Peer(long conn) {
            this.conn = conn;
        }
    }

    private final EventLoop loop;
    private final DatagramChannel channel;
    private final String local;
    private final long maxMessageBytes;
    private final Log log;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(MAX_PAYLOAD + 1);
    private final Map<String, Peer> peers;
    private long nextConn = 1;

    UdpServer(EventLoop loop, DatagramChannel channel, String local, long maxMessageBytes,
              long maxPeers, Log log) {
        this.loop = loop;
        this.channel = channel;
        this.local = local;
        this.maxMessageBytes = maxMessageBytes;
        this.log = log;
        this.peers = new LinkedHashMap<>(16, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Peer> eldest) {
                return size() > maxPeers;
            }
        };
    }

    /** Serves until a stop is requested or the log breaks. */
    void run() throws IOException {
        channel.configureBlocking(false);
        channel.register(loop.selector(), SelectionKey.OP_READ,
                (EventLoop.Handler) key -> readable());
        while (!loop.stopRequested() && !log.failed()) {
            loop.turn();
        }
    }

    private void readable() {
        for (int i = 0; i < DATAGRAMS_PER_TURN && !log.failed(); i++) {
            buffer.clear();
            SocketAddress from;
            try {
                from = channel.receive(buffer);
            } catch (IOException e) {
                // E.g. an ICMP error of an earlier send: say so and wait for more.
                log.error(null, null, "receive failed: " + Failures.describe(e));
                return;
            }
            if (from == null) {
                return;
            }
            buffer.flip();
            try {
                datagram(from);
            } catch (RuntimeException | OutOfMemoryError e) {
                log.error(null, Addresses.format(from), "internal error: " + e);
            }
        }
    }

    private void datagram(SocketAddress from) {
        String peer = Addresses.format(from);
        int length = buffer.remaining();
        if (length > MAX_PAYLOAD) {
            log.error(null, peer, "datagram truncated: more than " + MAX_PAYLOAD
                    + " bytes (the UDP maximum)");
            return;
        }
        if (length > maxMessageBytes) {
            log.error(null, peer, "datagram too large: " + length + " bytes > maximum "
                    + maxMessageBytes);
            return;
        }
        byte[] bytes = new byte[length];
        buffer.get(bytes);
        Peer state = peers.get(peer);
        if (state == null) {
            state = new Peer(nextConn++);
            peers.put(peer, state);
            log.connected(state.conn, peer, local);
        }
        state.seq++;
        Message message = Message.of(bytes);
        try {
            log.message(state.conn, peer, state.seq, message);
        } catch (OutputFailedException e) {
            return; // not logged, so not acknowledged; the server stops
        }
        try {
            if (channel.send(ByteBuffer.wrap(message.ack(state.seq)), from) == 0) {
                log.error(null, peer, "sending ack " + state.seq
                        + " failed: the socket's send buffer is full");
            }
        } catch (IOException e) {
            log.error(null, peer, "sending ack " + state.seq + " failed: "
                    + Failures.describe(e));
        }
    }
}
