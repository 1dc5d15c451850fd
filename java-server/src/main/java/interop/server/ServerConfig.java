package interop.server;

/**
 * How a stream server behaves.
 *
 * @param mode            raw or framed
 * @param maxMessageBytes largest message accepted: {@code --max-message-bytes}, but at most
 *                        {@link #MAX_ARRAY_BYTES}, the largest array a JVM allocates
 * @param maxConnections  most connections served at once
 * @param idleTimeoutMs   how long a frame (raw: the next byte) may take
 * @param graceMs         how long open connections are served after SIGINT or SIGTERM
 */
public record ServerConfig(Mode mode, int maxMessageBytes, long maxConnections, long idleTimeoutMs,
                           long graceMs) {
    /** The largest byte array HotSpot allocates: a message cannot be longer. */
    public static final int MAX_ARRAY_BYTES = Integer.MAX_VALUE - 8;

    /** The shutdown grace period of §5. */
    public static final long GRACE_MS = 5000;

    /** The configuration the command line asks for. */
    public static ServerConfig of(Options options) {
        return new ServerConfig(options.mode(),
                (int) Math.min(options.maxMessageBytes(), MAX_ARRAY_BYTES),
                options.maxConnections(), options.idleTimeoutMs(), GRACE_MS);
    }
}
