package interop.server;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The real server, started as a process of its own (java, from the compiled classes) as the
 * harness starts it: its first line read, then every line of stdout followed, SIGTERM to stop.
 */
final class ServerProcess implements AutoCloseable {
    static final Duration WAIT = Duration.ofSeconds(20);

    static {
        // A test JVM stopped from outside (SIGTERM, Ctrl-C to Maven) leaves no server behind:
        // the servers are its children, killed as it exits.
        Runtime.getRuntime().addShutdownHook(new Thread(
                () -> ProcessHandle.current().descendants().forEach(ProcessHandle::destroyForcibly),
                "kill-servers"));
    }

    private final Process process;
    private final String firstLine;
    /** Lines a failure message shows; the rest are counted. */
    private static final int SHOWN_LINES = 5;

    private final List<String> lines = new ArrayList<>();
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    private final Thread stdoutReader;
    private final Thread stderrReader;
    private boolean stdoutEnded;

    private ServerProcess(Process process, String firstLine, BufferedReader stdout) {
        this.process = process;
        this.firstLine = firstLine;
        this.stdoutReader = stdout == null ? null : daemon(() -> follow(stdout));
        this.stderrReader = daemon(() -> copy(process.getErrorStream()));
    }

    /** The command that runs the server with {@code args}. */
    static List<String> command(String... args) {
        String classes = System.getProperty("interop.server.classes",
                Path.of("target", "classes").toAbsolutePath().toString());
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-XX:+UseSerialGC",
                "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
                "-cp", classes, "interop.server.InteropServer"));
        command.addAll(List.of(args));
        return command;
    }

    /** Starts the server and waits for its {@code listening on} line. */
    static ServerProcess start(String... args) throws IOException {
        Process process = new ProcessBuilder(command(args)).start();
        process.getOutputStream().close();
        BufferedReader stdout = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        String first = stdout.readLine();
        if (first == null || !first.startsWith("listening on ")) {
            ServerProcess failed = new ServerProcess(process, first, null);
            failed.kill();
            fail("server did not start: first line " + first + ", stderr: " + failed.stderr());
        }
        return new ServerProcess(process, first, stdout);
    }

    /** A started server whose stdout the test does not read (its first line only). */
    static ServerProcess startUnread(String... args) throws IOException {
        Process process = new ProcessBuilder(command(args)).start();
        process.getOutputStream().close();
        InputStream out = process.getInputStream();
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b = out.read(); b != -1 && b != '\n'; b = out.read()) {
            line.write(b);
        }
        return new ServerProcess(process, line.toString(StandardCharsets.UTF_8), null);
    }

    /** The process's stdout, for a test that closes it (the reader goes away). */
    InputStream stdoutStream() {
        return process.getInputStream();
    }

    String firstLine() {
        return firstLine;
    }

    /** The port of {@code listening on <ip>:<port>}. */
    int port() {
        return Integer.parseInt(firstLine.substring(firstLine.lastIndexOf(':') + 1));
    }

    long pid() {
        return process.pid();
    }

    /** Every line after the first, so far. */
    synchronized List<String> lines() {
        return new ArrayList<>(lines);
    }

    /** Every line after the first, so far, as JSON events. */
    synchronized List<Map<String, Object>> events() {
        List<Map<String, Object>> events = new ArrayList<>();
        for (String line : lines) {
            events.add(Json.parse(line));
        }
        return events;
    }

    /**
     * Waits for an event that {@code wanted} accepts, and returns it. Each line is parsed once, as
     * it arrives: a server that logs tens of thousands of events would otherwise have them all
     * parsed again at every new line, under this object's lock, and the reader could not keep up.
     */
    Map<String, Object> awaitEvent(Predicate<Map<String, Object>> wanted) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        int looked = 0;
        synchronized (this) {
            while (true) {
                for (; looked < lines.size(); looked++) {
                    Map<String, Object> event = Json.parse(lines.get(looked));
                    if (wanted.test(event)) {
                        return event;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0 || stdoutEnded) {
                    fail("no such event among " + shown() + "; stderr: " + stderr());
                }
                try {
                    wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    fail("interrupted");
                }
            }
        }
    }

    /** Waits for the {@code closed} or {@code error} event of connection {@code conn}. */
    Map<String, Object> awaitEnd(long conn) {
        return awaitEvent(e -> Long.valueOf(conn).equals(e.get("conn"))
                && ("closed".equals(e.get("event")) || "error".equals(e.get("event"))));
    }

    /** The lines so far for a failure message: how many, and the first few. */
    private String shown() {
        int first = Math.min(SHOWN_LINES, lines.size());
        String more = lines.size() > first ? " and " + (lines.size() - first) + " more" : "";
        return lines.size() + " lines: " + lines.subList(0, first) + more;
    }

    /** Waits for {@code count} lines after the first. */
    List<String> awaitLines(int count) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        synchronized (this) {
            while (lines.size() < count) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || stdoutEnded) {
                    fail("expected " + count + " lines, got " + shown() + "; stderr: " + stderr());
                }
                try {
                    wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    fail("interrupted");
                }
            }
            return new ArrayList<>(lines);
        }
    }

    /** Sends SIGTERM and waits for the exit code. */
    int stop() throws InterruptedException {
        // SIGTERM. Not Process.destroy(): on Linux that also closes our ends of the server's
        // stdout and stderr, and the server's last lines (and its log) would be lost.
        process.toHandle().destroy();
        return awaitExit();
    }

    /** Sends SIGTERM, and returns at once. */
    void signal() {
        process.toHandle().destroy();
    }

    /** Waits for the process to exit by itself; its exit code. */
    int awaitExit() throws InterruptedException {
        assertTrue(process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS), "server still running");
        if (stdoutReader != null) {
            stdoutReader.join(WAIT.toMillis());
        }
        stderrReader.join(WAIT.toMillis());
        return process.exitValue();
    }

    /** Everything on stderr so far. */
    String stderr() {
        synchronized (stderr) {
            return stderr.toString(StandardCharsets.UTF_8);
        }
    }

    void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            kill();
        }
    }

    private void follow(BufferedReader stdout) {
        try {
            for (String line = stdout.readLine(); line != null; line = stdout.readLine()) {
                synchronized (this) {
                    lines.add(line);
                    notifyAll();
                }
            }
        } catch (IOException e) {
            // the test closed it
        }
        synchronized (this) {
            stdoutEnded = true;
            notifyAll();
        }
    }

    private void copy(InputStream in) {
        byte[] buffer = new byte[4096];
        try {
            for (int n = in.read(buffer); n != -1; n = in.read(buffer)) {
                synchronized (stderr) {
                    stderr.write(buffer, 0, n);
                }
            }
        } catch (IOException e) {
            // gone
        }
    }

    private static Thread daemon(Runnable body) {
        Thread thread = new Thread(body, "server-output");
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    /** Runs the server to its end with stdout going to {@code stdout} (a file, /dev/full). */
    static Finished runTo(File stdout, String... args) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command(args))
                .redirectOutput(ProcessBuilder.Redirect.to(stdout)).start();
        process.getOutputStream().close();
        String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS), "server still running");
        return new Finished(process.exitValue(), err);
    }

    /** Runs {@code sh -c script} with the server command as "$@" to its end. */
    static Finished runInShell(String script, String... args)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("sh", "-c", script, "sh"));
        command.addAll(command(args));
        Process process = new ProcessBuilder(command).start();
        process.getOutputStream().close();
        String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS), "server still running");
        return new Finished(process.exitValue(), err);
    }

    /** How a server that ran to its end ended. */
    record Finished(int exitCode, String stderr) {
    }
}
