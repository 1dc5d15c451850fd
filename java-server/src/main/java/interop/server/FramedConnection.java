package interop.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * Framed mode (§3): frames in, one reply frame out for each. A frame's length is checked before
 * anything is allocated for it, and its buffer grows with the bytes that actually arrive, so a
 * peer that announces 16 MiB and sends nothing costs nothing. A whole frame is logged, then its
 * {@code ACK} is queued; reading pauses while acknowledgements wait to be written (a peer that
 * does not read them is stalled, and times out like one that does not write). Every frame of a
 * read is handled, so pipelined frames (§11) are split exactly; EOF between frames ends the
 * connection normally, also after the peer's half-close.
 */
final class FramedConnection extends Connection {
    private static final int FIRST_BUFFER_BYTES = 64 * 1024;
    private static final long REFUSAL_DRAIN_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final int max;
    private final ByteBuffer header = ByteBuffer.allocate(Frames.HEADER_BYTES);
    /** The current frame's length once its header is read, else -1. */
    private int expected = -1;
    private byte[] payload;
    private int filled;
    private long seq;

    FramedConnection(StreamServer server, long id, String peer, SocketChannel channel) {
        super(server, id, peer, channel);
        this.max = server.config().maxMessageBytes();
    }

    @Override
    protected void received(ByteBuffer bytes) {
        while (state == State.READING) {
            if (expected < 0) {
                while (header.hasRemaining() && bytes.hasRemaining()) {
                    header.put(bytes.get());
                }
                if (header.hasRemaining()) {
                    return;
                }
                long length = Integer.toUnsignedLong(header.getInt(0));
                if (length > max) {
                    tooLarge(length);
                    return;
                }
                expected = (int) length;
                filled = 0;
                payload = new byte[Math.min(expected, FIRST_BUFFER_BYTES)];
            }
            int take = Math.min(bytes.remaining(), expected - filled);
            if (filled + take > payload.length) {
                long grown = Math.max((long) payload.length * 2, (long) filled + take);
                payload = Arrays.copyOf(payload, (int) Math.min(grown, expected));
            }
            bytes.get(payload, filled, take);
            filled += take;
            if (filled < expected) {
                return;
            }
            byte[] whole = payload;
            expected = -1;
            payload = null;
            header.clear();
            complete(whole);
        }
    }

    /** Log, then acknowledge (§5). */
    private void complete(byte[] bytes) {
        seq++;
        Message message = Message.of(bytes);
        try {
            server.log().message(id, peer, seq, message);
        } catch (OutputFailedException e) {
            hold(); // no ACK: the server answers ERR output in its place
            return;
        }
        send(Frames.frame(message.ack(seq)));
        touch();
    }

    private void tooLarge(long length) {
        long number = seq + 1;
        refuse(Frames.err(Frames.ERR_TOO_LARGE, length + " > " + max),
                System.nanoTime() + REFUSAL_DRAIN_NANOS,
                "frame " + number + " too large: " + length + " bytes > maximum " + max);
    }

    @Override
    protected void endOfStream() {
        long number = seq + 1;
        if (expected >= 0) {
            fail("frame " + number + ": truncated frame: expected " + expected
                    + " payload bytes, got " + filled, false);
        } else if (header.position() > 0) {
            fail("frame " + number + ": truncated frame: expected " + Frames.HEADER_BYTES
                    + " length-prefix bytes, got " + header.position(), false);
        } else {
            finish(seq); // every acknowledgement is written: reading waits for that
        }
    }

    @Override
    protected String readFailure(IOException e) {
        return "frame " + (seq + 1) + ": " + Failures.describe(e);
    }

    @Override
    protected String idleFailure() {
        int pending = expected >= 0 ? Frames.HEADER_BYTES + filled : header.position();
        return "idle timeout: nothing completed for " + server.config().idleTimeoutMs() + " ms ("
                + pending + " bytes pending)";
    }

    @Override
    protected String writeFailure(String reason) {
        return "writing ack " + seq + " failed: " + reason;
    }
}
