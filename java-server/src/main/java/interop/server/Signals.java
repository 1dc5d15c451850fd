package interop.server;

import java.util.List;

/**
 * SIGINT and SIGTERM start the graceful stop of §5.
 *
 * <p>They are caught with {@code sun.misc.Signal} (module {@code jdk.unsupported}, exported to
 * every program since JDK 9) rather than with a shutdown hook: a handler replaces the JVM's own,
 * so the signal does not begin the JVM's shutdown. The server then keeps serving for the whole
 * grace period, cuts off what is left with an event each, logs its summary and exits 0 when it
 * is done, with {@link System#exit}. A shutdown hook runs only once the JVM is already shutting
 * down: it may delay the exit but not decide its status (128 + 15 for SIGTERM) unless it ends
 * the process with {@link Runtime#halt}; that is the fallback, for a JVM that refuses the
 * handlers (started with {@code -Xrs}, say).
 */
final class Signals {
    private Signals() {
    }

    /**
     * Calls {@code stop} (on a signal-handling thread) on SIGINT or SIGTERM.
     *
     * @return false if the handlers could not be installed: the caller must then fall back on a
     *         shutdown hook
     */
    static boolean onStop(Runnable stop) {
        try {
            for (String name : List.of("TERM", "INT")) {
                sun.misc.Signal.handle(new sun.misc.Signal(name), signal -> stop.run());
            }
            return true;
        } catch (IllegalArgumentException | UnsupportedOperationException | LinkageError e) {
            return false;
        }
    }
}
