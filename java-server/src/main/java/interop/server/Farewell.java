package interop.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;

/**
 * How a connection is refused (§3.4, §3.5, §5): its last replies (acknowledgements still due, then
 * an {@code ERR}) are written, the write side is shut down, and what the peer still sends is read
 * and dropped until it closes. Closing at once, with the peer's bytes unread, would reset the
 * connection, and a reset can destroy the reply before the peer has read it. The owner bounds the
 * whole farewell with a deadline.
 */
final class Farewell {
    /** Reads per readiness event, so that a peer that streams fast cannot hold the thread. */
    private static final int READS_PER_TURN = 16;

    private final SocketChannel channel;
    private final ArrayDeque<ByteBuffer> replies;
    private boolean shut;

    /** @param replies the frames still to send, in order (taken over, not copied) */
    Farewell(SocketChannel channel, ArrayDeque<ByteBuffer> replies) {
        this.channel = channel;
        this.replies = replies;
    }

    /**
     * Does what can be done without blocking.
     *
     * @param scratch a buffer for the bytes read and dropped
     * @return the interest ops to wait for ({@link SelectionKey#OP_WRITE} or
     *         {@link SelectionKey#OP_READ}), or 0 when the farewell is over: the peer closed, or
     *         the connection failed
     */
    int advance(ByteBuffer scratch) {
        try {
            while (!replies.isEmpty()) {
                ByteBuffer reply = replies.peek();
                channel.write(reply);
                if (reply.hasRemaining()) {
                    return SelectionKey.OP_WRITE;
                }
                replies.poll();
            }
            if (!shut) {
                shut = true;
                channel.shutdownOutput();
            }
            for (int i = 0; i < READS_PER_TURN; i++) {
                scratch.clear();
                int n = channel.read(scratch);
                if (n < 0) {
                    return 0;
                }
                if (n == 0) {
                    return SelectionKey.OP_READ;
                }
            }
            return SelectionKey.OP_READ;
        } catch (IOException e) {
            return 0;
        }
    }
}
