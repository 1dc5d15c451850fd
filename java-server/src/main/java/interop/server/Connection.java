package interop.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * One served stream connection (TCP or Unix), driven by the {@link EventLoop}: what raw and framed
 * mode share. The subclasses say what the bytes mean ({@link #received}, {@link #endOfStream}).
 *
 * <p>A connection's events are {@code connected} (logged by the server when it accepts it), its
 * {@code message}s, then exactly one {@code closed} or {@code error} ({@link #finish},
 * {@link #fail}), after which its slot is free. When the log breaks, a connection ends without an
 * event ({@link #endForOutput}).
 *
 * <p>One deadline per connection, with at most one timer queued for it: the idle timeout while
 * reading (raw: since the last byte; framed: since the current frame was first waited for) or
 * while an acknowledgement waits to be written, then the end of a refusal's farewell.
 */
abstract class Connection implements EventLoop.Handler {
    /** Most reads per readiness event, so that one fast peer cannot hold the thread. */
    private static final int READS_PER_TURN = 16;
    private static final long MAX_TIMEOUT_NANOS = TimeUnit.DAYS.toNanos(36_500);

    enum State {
        /** Serving: reading, and (framed) writing acknowledgements. */
        READING,
        /** Sending a last reply and draining the peer's input ({@link Farewell}). */
        REFUSING,
        /** Its message could not be logged: waiting for the server to stop for output. */
        HELD,
        /** Closed; nothing more happens. */
        CLOSED
    }

    protected final StreamServer server;
    protected final long id;
    protected final String peer;
    protected final SocketChannel channel;
    protected State state = State.READING;

    private SelectionKey key;
    private final ArrayDeque<ByteBuffer> outbound = new ArrayDeque<>();
    private Farewell farewell;
    /** The error event to log when the farewell is over ({@code null}: none). */
    private String errorAfterFarewell;
    private long deadline;
    private EventLoop.Timer timer;
    /** Its {@code closed} or {@code error} event is logged (or it ended without one). */
    private boolean reported;
    private boolean holdsSlot = true;

    Connection(StreamServer server, long id, String peer, SocketChannel channel) {
        this.server = server;
        this.id = id;
        this.peer = peer;
        this.channel = channel;
    }

    // -- what the modes define ------------------------------------------------------------------

    /** Bytes arrived (the buffer is the loop's, valid only during the call). */
    protected abstract void received(ByteBuffer bytes);

    /** The peer shut down its write side. */
    protected abstract void endOfStream();

    /** The error event for a read that failed. */
    protected abstract String readFailure(IOException e);

    /** The error event for an idle timeout. */
    protected abstract String idleFailure();

    /**
     * Whether this mode's orderly close says "recorded" (raw mode, §2): then every failure
     * closes with a reset instead.
     */
    protected boolean closeAcknowledges() {
        return false;
    }

    /** The error event for an acknowledgement that could not be written. */
    protected String writeFailure(String reason) {
        return "writing failed: " + reason;
    }

    // -- life -----------------------------------------------------------------------------------

    /** Registers with the loop and starts waiting for bytes. */
    final void start() throws IOException {
        key = channel.register(server.loop().selector(), SelectionKey.OP_READ, this);
        touch();
    }

    final long id() {
        return id;
    }

    final boolean reported() {
        return reported;
    }

    final boolean holdsSlot() {
        return holdsSlot;
    }

    final void releaseSlot() {
        holdsSlot = false;
    }

    @Override
    public final void ready(SelectionKey ready) {
        try {
            switch (state) {
                case READING -> {
                    if (ready.isWritable() && !flush()) {
                        break;
                    }
                    if (ready.isReadable() || outbound.isEmpty()) {
                        read();
                    }
                }
                case REFUSING -> advanceFarewell();
                default -> {
                }
            }
        } catch (RuntimeException | OutOfMemoryError e) {
            // Never let one connection take the server down.
            fail("internal error: " + e, true);
        }
        updateInterest();
    }

    private void read() {
        ByteBuffer buffer = server.scratch();
        for (int i = 0; i < READS_PER_TURN && state == State.READING && outbound.isEmpty(); i++) {
            buffer.clear();
            int n;
            try {
                n = channel.read(buffer);
            } catch (IOException e) {
                fail(readFailure(e), closeAcknowledges());
                return;
            }
            if (n == 0) {
                return;
            }
            if (n < 0) {
                endOfStream();
                return;
            }
            buffer.flip();
            received(buffer);
            if (state == State.READING && !outbound.isEmpty()) {
                flush();
            }
        }
    }

    /** Queues a reply frame; it goes out once the frames before it have. */
    protected final void send(ByteBuffer frame) {
        outbound.add(frame);
    }

    /**
     * Writes what it can of the queued replies.
     *
     * @return true when everything is written; false when the socket is full (and the rest waits
     *         for it) or the write failed (and the connection failed with it)
     */
    private boolean flush() {
        try {
            while (!outbound.isEmpty()) {
                ByteBuffer frame = outbound.peek();
                channel.write(frame);
                if (frame.hasRemaining()) {
                    return false;
                }
                outbound.poll();
            }
            touch(); // the next frame is waited for from now
            return true;
        } catch (IOException e) {
            fail(writeFailure(Failures.describe(e)), true);
            return false;
        }
    }

    private void updateInterest() {
        if (state == State.CLOSED || key == null || !key.isValid()) {
            return;
        }
        int ops = switch (state) {
            case READING -> outbound.isEmpty() ? SelectionKey.OP_READ : SelectionKey.OP_WRITE;
            case REFUSING -> key.interestOps(); // set by the farewell
            default -> 0;
        };
        key.interestOps(ops);
    }

    // -- deadlines ------------------------------------------------------------------------------

    /** The idle timeout starts (again) now. */
    protected final void touch() {
        // At most a century (--idle-timeout-ms is a u64): the instant must not wrap around.
        long nanos = Math.min(TimeUnit.MILLISECONDS.toNanos(server.config().idleTimeoutMs()),
                MAX_TIMEOUT_NANOS);
        setDeadline(System.nanoTime() + nanos);
    }

    private void setDeadline(long at) {
        deadline = at;
        if (timer == null || at - timer.at() < 0) {
            if (timer != null) {
                timer.cancel();
            }
            timer = server.loop().at(at, this::timerDue);
        }
    }

    private void timerDue() {
        timer = null;
        if (state == State.CLOSED || state == State.HELD) {
            return;
        }
        if (System.nanoTime() - deadline < 0) {
            timer = server.loop().at(deadline, this::timerDue);
            return;
        }
        if (state == State.REFUSING) {
            endFarewell();
        } else if (!outbound.isEmpty()) {
            fail(writeFailure("timed out after " + server.config().idleTimeoutMs() + " ms"), true);
        } else {
            fail(idleFailure(), closeAcknowledges());
        }
        updateInterest();
    }

    // -- endings --------------------------------------------------------------------------------

    /**
     * Refuses the connection: the replies still queued, then {@code reply}, then a farewell
     * (§3.5, §5) until {@code until} (nanoTime); then {@code error} is logged, if not null, and
     * the connection closed.
     */
    protected final void refuse(byte[] reply, long until, String error) {
        outbound.add(Frames.frame(reply));
        state = State.REFUSING;
        errorAfterFarewell = error;
        farewell = new Farewell(channel, outbound);
        setDeadline(until);
        advanceFarewell();
    }

    private void advanceFarewell() {
        int ops = farewell.advance(server.scratch());
        if (ops == 0) {
            endFarewell();
        } else if (key.isValid()) {
            key.interestOps(ops);
        }
    }

    private void endFarewell() {
        if (errorAfterFarewell != null) {
            report(errorAfterFarewell);
        }
        close(false);
    }

    /** Its message could not be logged: wait, unacknowledged, for the server's stop (§5). */
    protected final void hold() {
        state = State.HELD;
    }

    /** Ends normally: logs {@code closed} and closes. */
    protected final void finish(long messages) {
        if (!reported) {
            reported = true;
            server.ended(this);
            server.log().closed(id, peer, messages);
        }
        close(false);
    }

    /** Ends with {@code error} logged; {@code reset}: with a reset instead of an orderly close. */
    protected final void fail(String error, boolean reset) {
        report(error);
        close(reset);
    }

    private void report(String error) {
        if (!reported) {
            reported = true;
            server.ended(this);
            server.log().error(id, peer, error);
        }
    }

    /** The shutdown grace period is over: ends with {@code error} logged, and a reset. */
    final void cutOff(String error) {
        fail(error, true);
    }

    /**
     * The log is broken (§5): framed, {@code ERR output} in place of the next acknowledgement and
     * a farewell until {@code until}; raw, a reset (its orderly close would say "recorded"). No
     * event: nothing more reaches the log.
     */
    final void endForOutput(byte[] reply, long until, boolean framed) {
        if (state == State.CLOSED) {
            return;
        }
        reported = true;
        server.ended(this);
        server.log().forget(id);
        if (state == State.REFUSING) {
            errorAfterFarewell = null;
            if (until - deadline < 0) {
                setDeadline(until);
            }
        } else if (framed) {
            refuse(reply, until, null);
        } else {
            close(true);
        }
        updateInterest();
    }

    /** Closes at once, with a reset, without an event (the last resort when stopping). */
    final void abort() {
        reported = true;
        close(true);
    }

    private void close(boolean reset) {
        if (state == State.CLOSED) {
            return;
        }
        state = State.CLOSED;
        if (timer != null) {
            timer.cancel();
            timer = null;
        }
        if (reset) {
            Sockets.setResetOnClose(channel);
        }
        if (key != null) {
            key.cancel();
        }
        Sockets.closeQuietly(channel);
        outbound.clear();
        server.removed(this);
    }
}
