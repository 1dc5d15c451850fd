package interop.server;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.PriorityQueue;
import java.util.concurrent.TimeUnit;

/**
 * One thread's {@link Selector}, the timers due on that thread, and the stop request a signal
 * sets. Everything the server does happens on the thread that calls {@link #turn()}, so no state
 * is shared and nothing is locked; only {@link #requestStop()} comes from another thread.
 */
public final class EventLoop implements Closeable {
    /** What a channel's selection key is attached to: called when the channel is ready. */
    public interface Handler {
        void ready(SelectionKey key);
    }

    /** An action due at a {@link System#nanoTime()} instant; cancelled timers never run. */
    public static final class Timer {
        private final long at;
        private final Runnable action;
        private boolean cancelled;

        private Timer(long at, Runnable action) {
            this.at = at;
            this.action = action;
        }

        public long at() {
            return at;
        }

        public void cancel() {
            cancelled = true;
        }
    }

    private final Selector selector;
    // nanoTime instants compare by their difference (they may wrap).
    private final PriorityQueue<Timer> timers = new PriorityQueue<>((a, b) -> Long.signum(a.at - b.at));
    private volatile boolean stopRequested;

    public EventLoop() throws IOException {
        this.selector = Selector.open();
    }

    public Selector selector() {
        return selector;
    }

    /** Runs {@code action} on the loop's thread once {@code at} (nanoTime) has passed. */
    public Timer at(long at, Runnable action) {
        Timer timer = new Timer(at, action);
        timers.add(timer);
        return timer;
    }

    /** Runs {@code action} on the loop's thread in {@code millis} milliseconds. */
    public Timer after(long millis, Runnable action) {
        return at(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis), action);
    }

    /** Asks the loop to stop (SIGINT, SIGTERM); safe from any thread. */
    public void requestStop() {
        stopRequested = true;
        selector.wakeup();
    }

    public boolean stopRequested() {
        return stopRequested;
    }

    /**
     * Waits until a channel is ready, a timer is due or {@link #requestStop()} is called, and
     * handles what is ready and due.
     *
     * <p>Ready channels are handled before due timers, and a timer runs only if it was due when
     * the channels were polled: input that arrived while the thread was busy (one peer's burst,
     * a loaded machine) is read before its connection's idle timeout is judged, so a peer is never
     * timed out for the server's own delay.
     */
    public void turn() throws IOException {
        Timer next = nextTimer();
        long polled = System.nanoTime();
        // A stop requested since the caller last looked needs no special case: wakeup() makes
        // this select return at once, even when it was called before the select began.
        int ready;
        if (next == null) {
            ready = selector.select(this::dispatch, 0); // 0: no timeout
        } else {
            long wait = next.at - polled;
            if (wait <= 0) {
                ready = selector.selectNow(this::dispatch);
            } else {
                ready = selector.select(this::dispatch, Math.max(1, TimeUnit.NANOSECONDS.toMillis(
                        wait + TimeUnit.MILLISECONDS.toNanos(1) - 1)));
            }
        }
        // Nothing was ready: the wait ended at its timer, or at once. Otherwise only what was
        // due at the poll runs now; the rest gets its channels polled first, on the next turn.
        runDue(ready == 0 ? System.nanoTime() : polled);
    }

    private void dispatch(SelectionKey key) {
        try {
            if (key.isValid()) {
                ((Handler) key.attachment()).ready(key);
            }
        } catch (CancelledKeyException e) {
            // closed while being handled: nothing left to do
        }
    }

    private Timer nextTimer() {
        Timer next = timers.peek();
        while (next != null && next.cancelled) {
            timers.poll();
            next = timers.peek();
        }
        return next;
    }

    private void runDue(long now) {
        for (Timer next = nextTimer(); next != null && next.at - now <= 0; next = nextTimer()) {
            timers.poll();
            next.action.run();
        }
    }

    @Override
    public void close() throws IOException {
        selector.close();
    }
}
