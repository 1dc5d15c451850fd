package interop.client;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The outcome of one in-process client run. */
record ClientRun(int exitCode, byte[] stdoutBytes, String stderr) {

    static ClientRun of(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = InteropClient.run(args, out,
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new ClientRun(code, out.toByteArray(), err.toString(StandardCharsets.UTF_8));
    }

    /** Runs against {@code port} on 127.0.0.1 with extra arguments. */
    static ClientRun against(int port, String... args) {
        List<String> all = new ArrayList<>(List.of("--port", Integer.toString(port)));
        all.addAll(Arrays.asList(args));
        return of(all.toArray(String[]::new));
    }

    String stdout() {
        return new String(stdoutBytes, StandardCharsets.UTF_8);
    }

    /** The stdout lines, without their terminating newlines. */
    List<String> stdoutLines() {
        List<String> lines = new ArrayList<>(List.of(stdout().split("\n", -1)));
        lines.remove(lines.size() - 1); // after the last newline (empty when output ends in one)
        return lines;
    }

    @Override
    public String toString() {
        return "exit " + exitCode + ", stdout=" + stdout() + ", stderr=" + stderr;
    }
}
