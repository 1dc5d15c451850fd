package interop.server;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * One flat JSON object on one line, as UTF-8 bytes, written as serde_json (the Rust server) writes
 * it: no spaces; in strings only the quote, the backslash and control characters are escaped
 * (backslash-n, -r, -t, -b, -f, else backslash-u00xx); everything else, non-ASCII included, as
 * is.
 */
public final class JsonLine {
    private static final char[] HEX_DIGITS = "0123456789abcdef".toCharArray();

    private final ByteArrayOutputStream out = new ByteArrayOutputStream(160);
    private boolean first = true;

    public JsonLine() {
        out.write('{');
    }

    public JsonLine field(String name, String value) {
        key(name);
        string(value.getBytes(StandardCharsets.UTF_8));
        return this;
    }

    public JsonLine field(String name, long value) {
        key(name);
        ascii(Long.toString(value));
        return this;
    }

    /** A string field from bytes that are valid UTF-8 (a message's text). */
    public JsonLine utf8Field(String name, byte[] utf8) {
        key(name);
        string(utf8);
        return this;
    }

    /** The object, closed, with its newline. */
    public byte[] toBytes() {
        ByteArrayOutputStream copy = new ByteArrayOutputStream(out.size() + 2);
        copy.writeBytes(out.toByteArray());
        copy.write('}');
        copy.write('\n');
        return copy.toByteArray();
    }

    private void key(String name) {
        if (!first) {
            out.write(',');
        }
        first = false;
        string(name.getBytes(StandardCharsets.UTF_8));
        out.write(':');
    }

    private void ascii(String text) {
        out.writeBytes(text.getBytes(StandardCharsets.US_ASCII));
    }

    private void string(byte[] utf8) {
        out.write('"');
        for (byte value : utf8) {
            int b = value & 0xff;
            switch (b) {
                case '"' -> ascii("\\\"");
                case '\\' -> ascii("\\\\");
                case '\n' -> ascii("\\n");
                case '\r' -> ascii("\\r");
                case '\t' -> ascii("\\t");
                case '\b' -> ascii("\\b");
                case '\f' -> ascii("\\f");
                default -> {
                    if (b < 0x20) {
                        ascii("\\u00");
                        out.write(HEX_DIGITS[b >>> 4]);
                        out.write(HEX_DIGITS[b & 0xf]);
                    } else {
                        out.write(b);
                    }
                }
            }
        }
        out.write('"');
    }
}
