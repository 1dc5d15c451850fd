package interop.client;

import java.util.Locale;

/** Transfer mode (§2 raw, §3 framed). */
public enum Mode {
    RAW,
    FRAMED;

    /** The name used on the command line and in JSON lines. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
