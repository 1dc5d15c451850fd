package interop.client;

import java.util.Locale;

/** What carries the messages (§1, §10): TCP, a Unix domain stream socket, or UDP datagrams. */
public enum Transport {
    TCP,
    UNIX,
    UDP;

    /** The name used on the command line and in JSON lines. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
