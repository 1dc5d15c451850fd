package interop.server;

/** The server cannot start, e.g. cannot listen: one {@code error: } line on stderr, exit code 1. */
public final class StartException extends Exception {
    private static final long serialVersionUID = 1L;

    public StartException(String message) {
        super(message);
    }

    public StartException(String message, Throwable cause) {
        super(message, cause);
    }
}
