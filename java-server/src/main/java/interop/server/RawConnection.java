package interop.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.Arrays;

/**
 * Raw mode (§2): the message is everything the peer sends until EOF. It is logged, then the
 * connection is closed in an orderly way, raw mode's only acknowledgement. Past the maximum size,
 * or when the log is broken, the connection is reset instead, so the client cannot take it for
 * delivered.
 */
final class RawConnection extends Connection {
    private final int max;
    private byte[] data = new byte[0];
    private int length;

    RawConnection(StreamServer server, long id, String peer, SocketChannel channel) {
        super(server, id, peer, channel);
        this.max = server.config().maxMessageBytes();
    }

    @Override
    protected void received(ByteBuffer bytes) {
        int n = bytes.remaining();
        if ((long) length + n > max) {
            fail("message too large: more than " + max + " bytes", true);
            return;
        }
        if (length + n > data.length) {
            long grown = Math.max((long) data.length * 2, (long) length + n);
            data = Arrays.copyOf(data, (int) Math.min(grown, max));
        }
        bytes.get(data, length, n);
        length += n;
        touch();
    }

    @Override
    protected void endOfStream() {
        byte[] bytes = length == data.length ? data : Arrays.copyOf(data, length);
        data = null;
        try {
            server.log().message(id, peer, 1, Message.of(bytes));
        } catch (OutputFailedException e) {
            hold(); // no orderly close: the server resets it
            return;
        }
        try {
            channel.shutdownOutput();
        } catch (IOException e) {
            // the peer is gone; it had its chance to see the close
        }
        finish(1);
    }

    @Override
    protected String readFailure(IOException e) {
        return "read failed after " + length + " bytes: " + Failures.describe(e);
    }

    @Override
    protected boolean closeAcknowledges() {
        return true;
    }

    @Override
    protected String idleFailure() {
        return "idle timeout: nothing completed for " + server.config().idleTimeoutMs() + " ms ("
                + length + " bytes pending)";
    }
}
