package interop.client;

import java.util.Locale;

/** Output format of the client (§6): text per §4 or JSON lines per §8.2. */
public enum OutputFormat {
    TEXT,
    JSON;

    /** The name used on the command line. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
