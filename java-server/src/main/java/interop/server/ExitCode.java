package interop.server;

/** Server exit codes, PROTOCOL.md §5. */
public enum ExitCode {
    /** Stopped by SIGINT or SIGTERM (or {@code --help}). */
    OK(0),
    /** Could not start: cannot listen, or another start-up failure. */
    FAILURE(1),
    /** Usage error: unknown option, missing or malformed value, a Unix path too long. */
    USAGE(2),
    /** The log (stdout) could not be written. */
    OUTPUT(3);

    private final int code;

    ExitCode(int code) {
        this.code = code;
    }

    /** The numeric process exit status. */
    public int code() {
        return code;
    }
}
