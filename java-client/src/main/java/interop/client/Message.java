package interop.client;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * One message to send: its bytes and their SHA-256.
 *
 * @param bytes  the payload (not copied; do not modify)
 * @param sha256 SHA-256 of {@code bytes}, 64 lowercase hex digits
 */
public record Message(byte[] bytes, String sha256) {

    public Message {
        Objects.requireNonNull(bytes);
        Objects.requireNonNull(sha256);
    }

    /** A message carrying {@code bytes}. */
    public static Message of(byte[] bytes) {
        return new Message(bytes, Digests.sha256Hex(bytes));
    }

    /** A message carrying the UTF-8 encoding of {@code text}. */
    public static Message ofText(String text) {
        return of(text.getBytes(StandardCharsets.UTF_8));
    }

    public int length() {
        return bytes.length;
    }
}
