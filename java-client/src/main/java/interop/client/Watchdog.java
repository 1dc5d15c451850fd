package interop.client;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * One daemon thread that runs deadlines: a blocking operation that Java cannot time out itself (a
 * socket write, a Unix socket connect) schedules an alarm that closes its socket, and cancels it
 * when the operation completes.
 */
final class Watchdog {
    private static final ScheduledThreadPoolExecutor EXECUTOR = create();

    private Watchdog() {
    }

    private static ScheduledThreadPoolExecutor create() {
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, task -> {
            Thread thread = new Thread(task, "interop-watchdog");
            thread.setDaemon(true);
            return thread;
        });
        executor.setRemoveOnCancelPolicy(true);
        return executor;
    }

    /** Runs {@code alarm} after {@code timeoutMs} unless the returned future is cancelled first. */
    static ScheduledFuture<?> schedule(Runnable alarm, int timeoutMs) {
        return EXECUTOR.schedule(alarm, timeoutMs, TimeUnit.MILLISECONDS);
    }
}
