package interop.client;

import java.util.Objects;

/**
 * A failure that ends the client: carries the exit code (§7) and the text printed after
 * {@code error: } on stderr.
 */
public final class ClientException extends Exception {
    private static final long serialVersionUID = 1L;

    private final ExitCode exitCode;
    private final boolean usageHint;

    public ClientException(ExitCode exitCode, String message) {
        this(exitCode, message, null, false);
    }

    public ClientException(ExitCode exitCode, String message, Throwable cause) {
        this(exitCode, message, cause, false);
    }

    private ClientException(ExitCode exitCode, String message, Throwable cause,
                            boolean usageHint) {
        super(message, cause);
        this.exitCode = Objects.requireNonNull(exitCode);
        this.usageHint = usageHint;
    }

    public ExitCode exitCode() {
        return exitCode;
    }

    /** Whether the error line should point to {@code --help} (a malformed command line). */
    boolean usageHint() {
        return usageHint;
    }

    /** A malformed command line: exit code 2, and the error line points to {@code --help}. */
    static ClientException usage(String message) {
        return new ClientException(ExitCode.USAGE, message, null, true);
    }

    /**
     * A well-formed request the client refuses (a Unix socket path too long, a message too large
     * for a datagram): exit code 2, with the error line exactly as §10 words it.
     */
    static ClientException refused(String message) {
        return new ClientException(ExitCode.USAGE, message, null, false);
    }

    static ClientException protocol(String message) {
        return new ClientException(ExitCode.PROTOCOL, message);
    }
}
