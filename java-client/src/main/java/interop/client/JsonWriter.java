package interop.client;

/**
 * A tiny writer for one flat JSON object. Strings are escaped per RFC 8259: quote and backslash,
 * control characters (as backslash-n, -r, -t, -b, -f or a six-character backslash-u escape), and
 * everything outside printable ASCII as backslash-u escapes (surrogate pairs for supplementary
 * characters), so the output is plain ASCII and therefore valid UTF-8.
 */
public final class JsonWriter {
    private static final char[] HEX_DIGITS = "0123456789abcdef".toCharArray();

    private final StringBuilder sb = new StringBuilder(160).append('{');
    private boolean first = true;

    public JsonWriter field(String name, String value) {
        key(name);
        appendString(sb, value);
        return this;
    }

    public JsonWriter field(String name, long value) {
        key(name);
        sb.append(value);
        return this;
    }

    public JsonWriter field(String name, boolean value) {
        key(name);
        sb.append(value);
        return this;
    }

    /** The finished object, without newline. */
    @Override
    public String toString() {
        return sb + "}";
    }

    private void key(String name) {
        if (!first) {
            sb.append(',');
        }
        first = false;
        appendString(sb, name);
        sb.append(':');
    }

    /** The JSON string literal for {@code value}, quotes included. */
    public static String quote(String value) {
        StringBuilder out = new StringBuilder(value.length() + 2);
        appendString(out, value);
        return out.toString();
    }

    static void appendString(StringBuilder out, String value) {
        out.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c >= 0x20 && c < 0x7f) {
                        out.append(c);
                    } else {
                        // Control characters, DEL and all non-ASCII UTF-16 units (a supplementary
                        // character is already two units: the surrogate pair JSON expects).
                        out.append("\\u")
                                .append(HEX_DIGITS[(c >>> 12) & 0xf])
                                .append(HEX_DIGITS[(c >>> 8) & 0xf])
                                .append(HEX_DIGITS[(c >>> 4) & 0xf])
                                .append(HEX_DIGITS[c & 0xf]);
                    }
                }
            }
        }
        out.append('"');
    }
}
