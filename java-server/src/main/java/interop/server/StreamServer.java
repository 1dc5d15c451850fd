package interop.server;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Serves a listening TCP or Unix stream socket (§2, §3, §5, §10.2, §11) on one thread, with one
 * {@link java.nio.channels.Selector}: every connection is a small state machine
 * ({@link RawConnection}, {@link FramedConnection}) that reacts to readiness and timers, so an
 * idle connection costs a few hundred bytes and no thread, and a slow or broken peer never blocks
 * the others.
 *
 * <p>Invariants:
 * <ul>
 * <li>At most {@code maxConnections} connections are served. Every connection is accepted; one
 * over the limit is turned away at once (framed: {@code ERR busy}, raw: a reset), holds no slot
 * and has no events; a {@code busy} event counts them, at most one a second. At most
 * {@value #MAX_TURNING_AWAY} turned-away connections are open at a time; while that many are,
 * nothing is accepted and the rest wait in the backlog.</li>
 * <li>A connection's slot is free as soon as its {@code closed} or {@code error} event is
 * logged, so a client that saw it may connect again at once.</li>
 * <li>Log, then acknowledge: a message's record is written before its {@code ACK} is queued (raw:
 * before the orderly close). When the log breaks, the server stops: it stops accepting, every
 * open framed connection gets {@code ERR output} in place of its next {@code ACK}, every raw one a
 * reset, and within a second everything is closed and {@link #run} returns.</li>
 * <li>On SIGINT or SIGTERM it stops accepting, serves the open connections for the grace period,
 * then cuts off what is left, each with its own {@code error} event, and logs one event that
 * counts them.</li>
 * </ul>
 */
final class StreamServer {
    /** Bytes read at a time; one buffer, shared by every connection (the loop has one thread). */
    static final int READ_CHUNK = 64 * 1024;
    /** Most turned-away ({@code ERR busy}) connections open at a time. */
    static final int MAX_TURNING_AWAY = 64;
    /** Connections accepted per readiness event of the listener. */
    private static final int ACCEPTS_PER_TURN = 64;
    /** After the log broke: how long framed connections get to read their {@code ERR output}. */
    private static final long OUTPUT_FAREWELL_MILLIS = 500;
    /** After the log broke: when whatever is still open is reset and the server returns. */
    private static final long OUTPUT_STOP_MILLIS = 700;
    private static final long FIRST_BACKOFF_MILLIS = 1000;
    private static final long MAX_BACKOFF_MILLIS = 64_000;

    private enum Phase { SERVING, GRACE, OUTPUT_STOP, DONE }

    private final EventLoop loop;
    private final ServerSocketChannel listener;
    /** {@code unix:PATH} for a Unix socket (every connection's {@code local}); null for TCP. */
    private final String unixLocal;
    private final ServerConfig config;
    private final Log log;
    private final ByteBuffer scratch = ByteBuffer.allocateDirect(READ_CHUNK);
    private final Map<Long, Connection> open = new LinkedHashMap<>();
    private final Set<TurnedAway> turningAway = new HashSet<>();
    private final BusyReport busy;
    private SelectionKey listenerKey;
    private Phase phase = Phase.SERVING;
    private long slotsUsed;
    private long nextConn = 1;
    private long backoffMillis = FIRST_BACKOFF_MILLIS;
    private EventLoop.Timer acceptRetry;
    private EventLoop.Timer phaseTimer;

    /**
     * @param unixLocal how the listener's address prints ({@code unix:PATH}), or null for TCP
     */
    StreamServer(EventLoop loop, ServerSocketChannel listener, String unixLocal, ServerConfig config,
                 Log log) {
        this.loop = loop;
        this.listener = listener;
        this.unixLocal = unixLocal;
        this.config = config;
        this.log = log;
        this.busy = new BusyReport(loop, log, config.maxConnections());
    }

    EventLoop loop() {
        return loop;
    }

    ServerConfig config() {
        return config;
    }

    Log log() {
        return log;
    }

    /** The loop's read buffer, for the connections to read into. */
    ByteBuffer scratch() {
        return scratch;
    }

    /**
     * Serves until a stop is requested (then for the grace period) or the log breaks (then for
     * well under a second more). The caller tells the two apart with {@link Log#failed()}.
     */
    void run() throws IOException {
        listener.configureBlocking(false);
        listenerKey = listener.register(loop.selector(), SelectionKey.OP_ACCEPT,
                (EventLoop.Handler) key -> acceptReady());
        check();
        while (phase != Phase.DONE) {
            loop.turn();
            check();
        }
    }

    /** Moves to the next phase when it is time: after every turn of the loop. */
    private void check() {
        if (log.failed()) {
            if (phase == Phase.SERVING || phase == Phase.GRACE) {
                stopForOutput();
            }
            if (phase == Phase.OUTPUT_STOP && open.isEmpty() && turningAway.isEmpty()) {
                done();
            }
            return;
        }
        if (phase == Phase.SERVING && loop.stopRequested()) {
            phase = Phase.GRACE;
            stopAccepting();
            phaseTimer = loop.after(config.graceMs(), this::cutOff);
        }
        if (phase == Phase.GRACE && open.isEmpty()) {
            busy.flush();
            done();
        }
    }

    // -- accepting ------------------------------------------------------------------------------

    private void acceptReady() {
        for (int i = 0; i < ACCEPTS_PER_TURN && accepting(); i++) {
            SocketChannel channel;
            try {
                channel = listener.accept();
            } catch (IOException e) {
                acceptFailed(e);
                return;
            }
            if (channel == null) {
                break;
            }
            backoffMillis = FIRST_BACKOFF_MILLIS;
            accepted(channel);
        }
        updateAccepting();
    }

    private boolean accepting() {
        return phase == Phase.SERVING && acceptRetry == null
                && turningAway.size() < MAX_TURNING_AWAY && !log.failed();
    }

    private void updateAccepting() {
        if (listenerKey != null && listenerKey.isValid()) {
            listenerKey.interestOps(accepting() ? SelectionKey.OP_ACCEPT : 0);
        }
    }

    /** Out of file descriptors and the like: say so, then back off rather than spin (§5). */
    private void acceptFailed(IOException e) {
        log.error(null, null, "accept failed: " + Failures.describe(e));
        acceptRetry = loop.after(backoffMillis, () -> {
            acceptRetry = null;
            updateAccepting();
        });
        backoffMillis = Math.min(backoffMillis * 2, MAX_BACKOFF_MILLIS);
        updateAccepting();
    }

    private void accepted(SocketChannel channel) {
        String peer;
        String local;
        try {
            channel.configureBlocking(false);
            if (unixLocal != null) {
                peer = PeerCredentials.peerName(channel);
                local = unixLocal;
            } else {
                peer = Addresses.format(channel.getRemoteAddress());
                local = Addresses.format(channel.getLocalAddress());
                // Acks are small writes answered by the client's next frame: no Nagle delay.
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            }
        } catch (IOException e) {
            Sockets.closeQuietly(channel); // gone before it could be served
            return;
        }
        if (slotsUsed >= config.maxConnections()) {
            turnAway(channel);
            return;
        }
        long id = nextConn++;
        Connection connection = config.mode() == Mode.FRAMED
                ? new FramedConnection(this, id, peer, channel)
                : new RawConnection(this, id, peer, channel);
        open.put(id, connection);
        slotsUsed++;
        log.connected(id, peer, local);
        try {
            connection.start();
        } catch (IOException e) {
            connection.fail("cannot serve: " + Failures.describe(e), true);
        }
    }

    private void turnAway(SocketChannel channel) {
        busy.turnedAway();
        if (config.mode() == Mode.RAW) {
            Sockets.reset(channel); // raw mode's only "no"
            return;
        }
        TurnedAway refused = new TurnedAway(this, channel, Frames.err(Frames.ERR_BUSY,
                config.maxConnections()
                        + " connections open, the most this server serves (--max-connections)"));
        turningAway.add(refused);
        try {
            refused.start();
        } catch (IOException e) {
            refused.close();
        }
    }

    void turnedAwayClosed(TurnedAway refused) {
        turningAway.remove(refused);
        updateAccepting();
    }

    private void stopAccepting() {
        if (acceptRetry != null) {
            acceptRetry.cancel();
            acceptRetry = null;
        }
        if (listenerKey != null) {
            listenerKey.cancel();
        }
        Sockets.closeQuietly(listener);
    }

    // -- connections ending ---------------------------------------------------------------------

    /** A connection's event is logged (or it ends without one): its slot is free. */
    void ended(Connection connection) {
        if (connection.holdsSlot()) {
            connection.releaseSlot();
            slotsUsed--;
        }
    }

    /** A connection is closed. */
    void removed(Connection connection) {
        ended(connection);
        open.remove(connection.id());
    }

    // -- stopping -------------------------------------------------------------------------------

    /** The grace period is over: every connection still open is cut off, with its event. */
    private void cutOff() {
        if (phase != Phase.GRACE) {
            return;
        }
        String error = "shutdown: cut off after the " + config.graceMs() + " ms grace period";
        int cut = 0;
        for (Connection connection : new ArrayList<>(open.values())) {
            if (!connection.reported()) {
                cut++;
                connection.cutOff(error);
            } else {
                connection.abort();
            }
        }
        if (cut > 0) {
            log.error(null, null, "shutdown: closed " + cut + " connection(s) still open after "
                    + config.graceMs() + " ms");
        }
        busy.flush();
        done();
    }

    /** The log is broken (§5): stop, answer every open connection, return within a second. */
    private void stopForOutput() {
        phase = Phase.OUTPUT_STOP;
        stopAccepting();
        busy.cancel();
        if (phaseTimer != null) {
            phaseTimer.cancel();
        }
        long now = System.nanoTime();
        long farewellEnd = now + TimeUnit.MILLISECONDS.toNanos(OUTPUT_FAREWELL_MILLIS);
        byte[] reply = Frames.err(Frames.ERR_OUTPUT, "writing output: " + log.failure());
        for (Connection connection : new ArrayList<>(open.values())) {
            connection.endForOutput(reply, farewellEnd, config.mode() == Mode.FRAMED);
        }
        phaseTimer = loop.at(now + TimeUnit.MILLISECONDS.toNanos(OUTPUT_STOP_MILLIS), this::done);
    }

    /** Closes whatever is left and ends {@link #run}. */
    private void done() {
        if (phase == Phase.DONE) {
            return;
        }
        phase = Phase.DONE;
        stopAccepting();
        if (phaseTimer != null) {
            phaseTimer.cancel();
        }
        for (Connection connection : new ArrayList<>(open.values())) {
            connection.abort();
        }
        for (TurnedAway refused : new ArrayList<>(turningAway)) {
            refused.close();
        }
    }
}
