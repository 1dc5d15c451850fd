package interop.server;

import java.util.concurrent.TimeUnit;

/**
 * The {@code busy} events of §5: connections turned away over {@code --max-connections} have no
 * events of their own; one {@code error} event without {@code conn} counts them, at most one a
 * second (the first at once).
 */
final class BusyReport {
    private static final long INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final EventLoop loop;
    private final Log log;
    private final long maxConnections;
    private long unreported;
    private boolean loggedBefore;
    private long lastLogged;
    private EventLoop.Timer timer;

    BusyReport(EventLoop loop, Log log, long maxConnections) {
        this.loop = loop;
        this.log = log;
        this.maxConnections = maxConnections;
    }

    /** One more connection was turned away. */
    void turnedAway() {
        unreported++;
        if (timer != null) {
            return;
        }
        long now = System.nanoTime();
        if (!loggedBefore || now - lastLogged >= INTERVAL_NANOS) {
            flush();
        } else {
            timer = loop.at(lastLogged + INTERVAL_NANOS, this::flush);
        }
    }

    /** Logs the connections turned away since the last event, if any. */
    void flush() {
        if (timer != null) {
            timer.cancel();
            timer = null;
        }
        if (unreported > 0) {
            log.error(null, null, "busy: turned away " + unreported
                    + " connection(s) over --max-connections " + maxConnections);
            unreported = 0;
            loggedBefore = true;
            lastLogged = System.nanoTime();
        }
    }

    /** Forgets what is not logged yet (the log is broken: nothing more is written). */
    void cancel() {
        if (timer != null) {
            timer.cancel();
            timer = null;
        }
        unreported = 0;
    }
}
