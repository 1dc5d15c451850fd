package interop.server;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A whole message as the server logs and acknowledges it: its bytes, their SHA-256, and how §4
 * prints it. Printing never fails on any input.
 */
public final class Message {
    /** Longest message printed as its text (§4). */
    public static final int MAX_TEXT_BYTES = 4096;
    /** Number of leading bytes shown in a summary line's preview (§4). */
    public static final int PREVIEW_BYTES = 32;

    private static final HexFormat HEX = HexFormat.of(); // lowercase
    private static final char[] HEX_DIGITS = "0123456789abcdef".toCharArray();

    private final byte[] bytes;
    private final String sha256Hex;
    private final boolean utf8;

    private Message(byte[] bytes) {
        this.bytes = bytes;
        this.sha256Hex = sha256Hex(bytes);
        this.utf8 = isValidUtf8(bytes);
    }

    /** The message made of exactly {@code bytes} (not copied: the caller gives them up). */
    public static Message of(byte[] bytes) {
        return new Message(bytes);
    }

    public byte[] bytes() {
        return bytes;
    }

    public int length() {
        return bytes.length;
    }

    /** SHA-256 of the bytes, 64 lowercase hex digits. */
    public String sha256Hex() {
        return sha256Hex;
    }

    /** True when §4 prints the message as its text (and §8.1 gives it a {@code text} field). */
    public boolean isText() {
        return utf8 && bytes.length <= MAX_TEXT_BYTES;
    }

    /** The acknowledgement of this message as message number {@code seq}: {@code ACK <seq> <len> <sha256>}. */
    public byte[] ack(long seq) {
        return ("ACK " + seq + " " + bytes.length + " " + sha256Hex)
                .getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * The printed form (§4) with its newline: the text itself when it is valid UTF-8 of at most
     * 4096 bytes, else a {@code [binary message: ...]} or {@code [long message: ...]} summary.
     */
    public byte[] line() {
        if (isText()) {
            byte[] line = new byte[bytes.length + 1];
            System.arraycopy(bytes, 0, line, 0, bytes.length);
            line[bytes.length] = '\n';
            return line;
        }
        StringBuilder sb = new StringBuilder(200);
        sb.append('[').append(utf8 ? "long" : "binary").append(" message: ").append(bytes.length)
                .append(" bytes, sha256 ").append(sha256Hex).append(", starts \"");
        appendEscaped(sb, bytes, Math.min(bytes.length, PREVIEW_BYTES));
        sb.append('"');
        if (bytes.length > PREVIEW_BYTES) {
            sb.append("...");
        }
        sb.append("]\n");
        return sb.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** SHA-256 of {@code data} as 64 lowercase hex digits. */
    public static String sha256Hex(byte[] data) {
        try {
            return HEX.formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }

    /** The first {@code count} bytes escaped byte by byte as in §4's preview. */
    static String escape(byte[] data, int count) {
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

    /**
     * Strict UTF-8 (Unicode Table 3-7): no overlong forms, no surrogates, nothing above U+10FFFF,
     * no truncated sequence.
     */
    public static boolean isValidUtf8(byte[] data) {
        int i = 0;
        int end = data.length;
        while (i < end) {
            int c = data[i] & 0xff;
            if (c < 0x80) {
                i++;
                continue;
            }
            int need;
            int lo = 0x80;
            int hi = 0xbf;
            if (c >= 0xc2 && c <= 0xdf) {
                need = 1;
            } else if (c >= 0xe0 && c <= 0xef) {
                need = 2;
                if (c == 0xe0) {
                    lo = 0xa0; // overlong
                } else if (c == 0xed) {
                    hi = 0x9f; // surrogates
                }
            } else if (c >= 0xf0 && c <= 0xf4) {
                need = 3;
                if (c == 0xf0) {
                    lo = 0x90; // overlong
                } else if (c == 0xf4) {
                    hi = 0x8f; // above U+10FFFF
                }
            } else {
                return false;
            }
            if (end - i <= need) {
                return false;
            }
            int second = data[i + 1] & 0xff;
            if (second < lo || second > hi) {
                return false;
            }
            for (int k = 2; k <= need; k++) {
                int b = data[i + k] & 0xff;
                if (b < 0x80 || b > 0xbf) {
                    return false;
                }
            }
            i += need + 1;
        }
        return true;
    }
}
