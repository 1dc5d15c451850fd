package interop.server;

/** The protocol mode (§2, §3). */
public enum Mode {
    /** One message per connection, ended by the client's EOF; no reply. */
    RAW,
    /** Length-prefixed frames, many per connection, each acknowledged. */
    FRAMED;

    /** The name used on the command line and in the {@code listening} event. */
    public String wireName() {
        return this == RAW ? "raw" : "framed";
    }
}
