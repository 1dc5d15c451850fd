package interop.server;

import java.util.Map;

/**
 * Words an exception as the Rust server words I/O errors: {@code <strerror> (os error <n>)}. The
 * JDK's messages are the C library's {@code strerror} texts without the number; the errors a
 * server meets are known here by text (Linux numbering) and get it back.
 */
public final class Failures {
    private static final Map<String, Integer> ERRNO = Map.ofEntries(
            Map.entry("Operation not permitted", 1),
            Map.entry("No such file or directory", 2),
            Map.entry("Input/output error", 5),
            Map.entry("Bad file descriptor", 9),
            Map.entry("Permission denied", 13),
            Map.entry("Invalid argument", 22),
            Map.entry("Too many open files in system", 23),
            Map.entry("Too many open files", 24),
            Map.entry("File too large", 27),
            Map.entry("No space left on device", 28),
            Map.entry("Broken pipe", 32),
            Map.entry("Address family not supported by protocol", 97),
            Map.entry("Address already in use", 98),
            Map.entry("Cannot assign requested address", 99),
            Map.entry("Network is unreachable", 101),
            Map.entry("Connection reset by peer", 104),
            Map.entry("No buffer space available", 105),
            Map.entry("Transport endpoint is not connected", 107),
            Map.entry("Connection timed out", 110),
            Map.entry("Connection refused", 111),
            Map.entry("Disk quota exceeded", 122));

    private Failures() {
    }

    /** {@code Broken pipe (os error 32)}, or the exception's own message, or its class name. */
    public static String describe(Throwable e) {
        String message = e.getMessage();
        if (message == null || message.isBlank()) {
            return e.getClass().getSimpleName();
        }
        // Older JDKs add the call that failed: "Broken pipe (Write failed)".
        String bare = message.replaceFirst(" \\((Write|Read) failed\\)$", "");
        Integer errno = ERRNO.get(bare);
        if (errno == null && bare.equals("Connection reset")) {
            errno = 104;
            bare = "Connection reset by peer";
        }
        return errno == null ? message : bare + " (os error " + errno + ")";
    }
}
