package interop.server;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;

/**
 * The interop server (docs/PROTOCOL.md §5): accepts connections forever and logs every message it
 * receives, in raw or framed mode, over TCP, a Unix domain socket or UDP (§10), as the tutorial's
 * text or as JSON events (§8.1).
 *
 * <p>Exit codes: 0 after SIGINT/SIGTERM (or {@code --help}), 1 cannot start, 2 usage error, 3 the
 * log (stdout) could not be written, each failure with one {@code error: } line on stderr.
 */
public final class InteropServer {
    /** Set when the shutdown-hook fallback of {@link Signals} is in use. */
    private static final CountDownLatch FINISHED = new CountDownLatch(1);
    private static volatile int exitCode = ExitCode.OK.code();

    private InteropServer() {
    }

    public static void main(String[] args) {
        // Bytes straight to file descriptors 1 and 2, unbuffered: a record is in the kernel's
        // hands once written, and a write that fails (a full disk, a closed pipe) throws, where
        // System.out would swallow the error.
        OutputStream stdout = new FileOutputStream(FileDescriptor.out);
        OutputStream stderr = new FileOutputStream(FileDescriptor.err);
        exitCode = run(args, stdout, stderr, true);
        FINISHED.countDown();
        System.exit(exitCode);
    }

    /**
     * Runs the server until it is stopped. Never calls {@link System#exit}.
     *
     * @param signals install the SIGINT/SIGTERM handlers (a test in the same JVM may not want to)
     * @return the process exit code (§5)
     */
    public static int run(String[] args, OutputStream stdout, OutputStream stderr,
                          boolean signals) {
        Options options;
        try {
            options = Options.parse(args);
        } catch (UsageException e) {
            return fail(stderr, ExitCode.USAGE, e.getMessage());
        }
        if (options.help() || options.version()) {
            String text = options.help() ? Options.HELP : Options.VERSION;
            try {
                stdout.write(text.getBytes(StandardCharsets.UTF_8));
                stdout.flush();
                return ExitCode.OK.code();
            } catch (IOException e) {
                return fail(stderr, ExitCode.OUTPUT, "writing output: " + Failures.describe(e));
            }
        }
        Log log = new Log(options.format(), stdout, stderr, options.transport() == Transport.UDP);
        try (EventLoop loop = new EventLoop()) {
            // Before anything is bound, so before `listening on` is printed: whoever reads that
            // line may send SIGTERM at once, and it must find the handler, not the default.
            if (signals && !Signals.onStop(loop::requestStop)) {
                stopWithShutdownHook(loop);
            }
            serve(options, loop, log);
        } catch (StartException e) {
            return fail(stderr, ExitCode.FAILURE, e.getMessage());
        } catch (IOException | RuntimeException e) {
            if (log.failed()) {
                return fail(stderr, ExitCode.OUTPUT, "writing output: " + log.failure());
            }
            return fail(stderr, ExitCode.FAILURE, "internal error: " + Failures.describe(e));
        }
        if (log.failed()) {
            return fail(stderr, ExitCode.OUTPUT, "writing output: " + log.failure());
        }
        return ExitCode.OK.code();
    }

    private static void serve(Options options, EventLoop loop, Log log)
            throws StartException, IOException {
        ServerConfig config = ServerConfig.of(options);
        switch (options.transport()) {
            case TCP -> {
                try (ServerSocketChannel listener = Binding.tcp(options.host(), options.port())) {
                    if (log.listening(Addresses.format(listener.getLocalAddress()), options.mode())) {
                        new StreamServer(loop, listener, null, config, log).run();
                    }
                }
            }
            case UNIX -> {
                Binding.UnixListener unix = Binding.unix(options.path());
                try (ServerSocketChannel listener = unix.channel()) {
                    String local = "unix:" + options.path();
                    if (log.listening(local, options.mode())) {
                        new StreamServer(loop, listener, local, config, log).run();
                    }
                } finally {
                    unix.removeFile();
                }
            }
            case UDP -> {
                try (DatagramChannel channel = Binding.udp(options.host(), options.port())) {
                    String local = Addresses.format(channel.getLocalAddress());
                    if (log.listening(local, options.mode())) {
                        new UdpServer(loop, channel, local, options.maxMessageBytes(),
                                options.maxConnections(), log).run();
                    }
                }
            }
            default -> throw new IllegalStateException("unknown transport " + options.transport());
        }
        // Let the selector carry out the closes it deferred (the resets among them).
        loop.selector().selectNow();
    }

    /**
     * The fallback when the signal handlers cannot be installed: a shutdown hook (run on SIGTERM
     * and SIGINT as the JVM starts to shut down) asks the loop to stop, waits for the graceful
     * stop to finish, and ends the process with its exit code, which a hook cannot otherwise
     * decide.
     */
    private static void stopWithShutdownHook(EventLoop loop) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            loop.requestStop();
            try {
                FINISHED.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Runtime.getRuntime().halt(exitCode);
        }, "interop-server-stop"));
    }

    private static int fail(OutputStream stderr, ExitCode code, String message) {
        try {
            stderr.write(("error: " + message.replace('\n', ' ') + "\n")
                    .getBytes(StandardCharsets.UTF_8));
            stderr.flush();
        } catch (IOException e) {
            // nowhere left to say it
        }
        return code.code();
    }
}
