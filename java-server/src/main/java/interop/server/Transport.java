package interop.server;

/** What carries the messages (§10). */
public enum Transport {
    /** TCP over IPv4 or IPv6. */
    TCP,
    /** A Unix domain stream socket at {@code --path}. */
    UNIX,
    /** One datagram per message, each acknowledged by one datagram. */
    UDP
}
