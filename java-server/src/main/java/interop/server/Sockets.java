package interop.server;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.channels.NetworkChannel;

/** Small socket helpers. */
final class Sockets {
    private Sockets() {
    }

    /**
     * Makes the next close a reset (TCP: {@code SO_LINGER} on with a zero timeout), never the
     * orderly FIN that tells a raw client its message was recorded (§2). A Unix socket has no
     * {@code SO_LINGER}; closing one with unread input resets its peer anyway.
     */
    static void setResetOnClose(NetworkChannel channel) {
        try {
            if (channel.supportedOptions().contains(StandardSocketOptions.SO_LINGER)) {
                channel.setOption(StandardSocketOptions.SO_LINGER, 0);
            }
        } catch (IOException | RuntimeException e) {
            // closing is all that is left to do
        }
    }

    static void closeQuietly(AutoCloseable closeable) {
        try {
            closeable.close();
        } catch (Exception e) {
            // nothing to do about it
        }
    }

    /** Closes with a reset. */
    static void reset(NetworkChannel channel) {
        setResetOnClose(channel);
        closeQuietly(channel);
    }
}
