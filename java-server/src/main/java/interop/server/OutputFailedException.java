package interop.server;

/**
 * A record could not be written to stdout. The message it was for must not be acknowledged, and
 * the server stops (§5: {@code ERR output}, exit code 3).
 */
public final class OutputFailedException extends Exception {
    private static final long serialVersionUID = 1L;

    /** @param reason why stdout could not be written, e.g. {@code Broken pipe (os error 32)} */
    public OutputFailedException(String reason) {
        super(reason);
    }
}
