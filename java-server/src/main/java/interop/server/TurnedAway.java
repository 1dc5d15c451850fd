package interop.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * A framed connection over {@code --max-connections} (§5): it gets {@code ERR busy} at once,
 * without a frame being read from it, then a {@link Farewell} of at most a second. It holds no
 * slot and has no events.
 */
final class TurnedAway implements EventLoop.Handler {
    private static final long DRAIN_MILLIS = TimeUnit.SECONDS.toMillis(1);

    private final StreamServer server;
    private final SocketChannel channel;
    private final Farewell farewell;
    private SelectionKey key;
    private EventLoop.Timer timer;
    private boolean closed;

    TurnedAway(StreamServer server, SocketChannel channel, byte[] reply) {
        this.server = server;
        this.channel = channel;
        ArrayDeque<ByteBuffer> replies = new ArrayDeque<>();
        replies.add(Frames.frame(reply));
        this.farewell = new Farewell(channel, replies);
    }

    void start() throws IOException {
        key = channel.register(server.loop().selector(), SelectionKey.OP_WRITE, this);
        timer = server.loop().after(DRAIN_MILLIS, this::close);
        ready(key);
    }

    @Override
    public void ready(SelectionKey ready) {
        if (closed) {
            return;
        }
        int ops = farewell.advance(server.scratch());
        if (ops == 0) {
            close();
        } else {
            key.interestOps(ops);
        }
    }

    /** Closes it now (its farewell is over, or the server stops). */
    void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (timer != null) {
            timer.cancel();
        }
        if (key != null) {
            key.cancel();
        }
        Sockets.closeQuietly(channel);
        server.turnedAwayClosed(this);
    }
}
