package interop.client;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/** Maps I/O failures to {@link ClientException}s with the §7 exit codes. */
final class Failures {
    private Failures() {
    }

    /**
     * A failure during an exchange with the server: a timeout is exit code 4, anything else
     * (reset, broken pipe, ...) exit code 1.
     *
     * @param doing what was being done, e.g. "sending message 2 to 127.0.0.1:8099"
     */
    static ClientException io(String doing, IOException e, int timeoutMs) {
        if (e instanceof SocketTimeoutException) {
            return new ClientException(ExitCode.TIMEOUT,
                    "timed out after " + timeoutMs + " ms " + doing, e);
        }
        return new ClientException(ExitCode.FAILURE, doing + ": " + describe(e), e);
    }

    /** A short human description of an exception. */
    static String describe(Throwable e) {
        if (e instanceof NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        String message = e.getMessage();
        return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
    }
}
