package interop.client;

import java.util.Objects;

/**
 * A failure that ends the client: carries the exit code (§7) and the text printed after
 * {@code error: } on stderr.
 */
public final class ClientException extends Exception {
    private static final long serialVersionUID = 1L;

    private final ExitCode exitCode;

    public ClientException(ExitCode exitCode, String message) {
        super(message);
        this.exitCode = Objects.requireNonNull(exitCode);
    }

    public ClientException(ExitCode exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = Objects.requireNonNull(exitCode);
    }

    public ExitCode exitCode() {
        return exitCode;
    }

    static ClientException usage(String message) {
        return new ClientException(ExitCode.USAGE, message);
    }

    static ClientException protocol(String message) {
        return new ClientException(ExitCode.PROTOCOL, message);
    }
}
