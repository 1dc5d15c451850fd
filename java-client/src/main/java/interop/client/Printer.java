package interop.client;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** Renders a message the way every program prints it (§4). Never fails on any input. */
public final class Printer {
    /** Longest message printed as text. */
    public static final int MAX_TEXT_BYTES = 4096;
    /** Number of leading bytes shown in a summary line's preview. */
    public static final int PREVIEW_BYTES = 32;

    private static final char[] HEX_DIGITS = "0123456789abcdef".toCharArray();

    private Printer() {
    }

    /**
     * The bytes to print for {@code message}, including the trailing newline: the message itself
     * when it is valid UTF-8 of at most 4096 bytes, else a summary line.
     */
    public static byte[] render(byte[] message) {
        if (isPrintableText(message)) {
            byte[] line = new byte[message.length + 1];
            System.arraycopy(message, 0, line, 0, message.length);
            line[message.length] = '\n';
            return line;
        }
        return (summary(message, Digests.sha256Hex(message)) + "\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    /** True when §4 prints the message as its text. */
    public static boolean isPrintableText(byte[] message) {
        return message.length <= MAX_TEXT_BYTES && isValidUtf8(message);
    }

    /** Strict UTF-8 validity (no overlong forms, no surrogates, nothing above U+10FFFF). */
    public static boolean isValidUtf8(byte[] data) {
        try {
            StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(data));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    /**
     * The summary line without newline, e.g.
     * {@code [binary message: 256 bytes, sha256 40af..., starts "\x00\x01..."...]}.
     */
    public static String summary(byte[] message, String sha256Hex) {
        String kind = isValidUtf8(message) ? "long" : "binary";
        StringBuilder sb = new StringBuilder(200);
        sb.append('[').append(kind).append(" message: ").append(message.length)
                .append(" bytes, sha256 ").append(sha256Hex).append(", starts \"");
        appendEscaped(sb, message, Math.min(message.length, PREVIEW_BYTES));
        sb.append('"');
        if (message.length > PREVIEW_BYTES) {
            sb.append("...");
        }
        return sb.append(']').toString();
    }

    /** The first {@code count} bytes of {@code data}, escaped byte by byte as in §4 previews. */
    public static String escapeBytes(byte[] data, int count) {
        StringBuilder sb = new StringBuilder(count * 2);
        appendEscaped(sb, data, count);
        return sb.toString();
    }

    private static void appendEscaped(StringBuilder sb, byte[] data, int count) {
        for (int i = 0; i < count; i++) {
            int b = data[i] & 0xff;
            switch (b) {
                case '\\' -> sb.append("\\\\");
                case '"' -> sb.append("\\\"");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (b >= 0x20 && b <= 0x7e) {
                        sb.append((char) b);
                    } else {
                        sb.append("\\x").append(HEX_DIGITS[b >>> 4]).append(HEX_DIGITS[b & 0xf]);
                    }
                }
            }
        }
    }
}
