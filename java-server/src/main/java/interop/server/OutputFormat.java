package interop.server;

/** What the server prints (§5): the tutorial's text, or one JSON event per line (§8.1). */
public enum OutputFormat {
    /** {@code Hello: <peer>} and the message; errors on stderr. */
    TEXT,
    /** One JSON object per event, on stdout. */
    JSON
}
