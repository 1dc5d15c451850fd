package interop.client;

/** Client exit codes, PROTOCOL.md §7. */
public enum ExitCode {
    /** Every message delivered (and, framed, acknowledged correctly). */
    OK(0),
    /** Unreadable --file, connection reset or broken, other I/O errors. */
    FAILURE(1),
    /** Unknown option, missing or malformed value. */
    USAGE(2),
    /** Connection refused, host unreachable, host name not resolved. */
    CONNECT(3),
    /** Connecting, writing, or waiting for a reply or EOF took too long. */
    TIMEOUT(4),
    /** ERR reply, bad acknowledgement, or the server closed before acknowledging. */
    PROTOCOL(5);

    private final int code;

    ExitCode(int code) {
        this.code = code;
    }

    /** The numeric process exit status. */
    public int code() {
        return code;
    }
}
