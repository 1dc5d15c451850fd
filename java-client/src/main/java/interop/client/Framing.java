package interop.client;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Optional;

/**
 * Length-prefixed frames (§3.1): a 4-byte unsigned big-endian payload length, then the payload.
 */
public final class Framing {
    /** Size of the length prefix. */
    public static final int HEADER_BYTES = 4;
    /** The largest length the 4-byte prefix can carry. */
    public static final long MAX_ENCODABLE_LENGTH = 0xFFFF_FFFFL;

    private Framing() {
    }

    /** A frame that is truncated or longer than allowed. */
    public static final class FrameException extends IOException {
        private static final long serialVersionUID = 1L;

        public FrameException(String message) {
            super(message);
        }
    }

    /** Writes one frame carrying {@code payload} and flushes. */
    public static void writeFrame(DataOutputStream out, byte[] payload) throws IOException {
        // A Java array never exceeds MAX_ENCODABLE_LENGTH, so every payload is encodable.
        out.writeInt(payload.length); // big-endian; a length >= 2^31 cannot occur here
        out.write(payload);
        out.flush();
    }

    /**
     * Reads one frame. Checks the length against {@code maxLength} before reading the payload.
     *
     * @return the payload, or empty when the stream ended exactly at a frame boundary
     * @throws FrameException when the stream ends inside the frame or the length is too large
     */
    public static Optional<byte[]> readFrame(DataInputStream in, int maxLength)
            throws IOException {
        byte[] header = new byte[HEADER_BYTES];
        int got = readUpTo(in, header);
        if (got == 0) {
            return Optional.empty();
        }
        if (got < HEADER_BYTES) {
            throw new FrameException("truncated frame: connection closed after " + got
                    + " of " + HEADER_BYTES + " length bytes");
        }
        long length = ((header[0] & 0xffL) << 24) | ((header[1] & 0xffL) << 16)
                | ((header[2] & 0xffL) << 8) | (header[3] & 0xffL);
        if (length > maxLength) {
            throw new FrameException("frame too long: " + length + " bytes (limit "
                    + maxLength + ")");
        }
        byte[] payload = new byte[(int) length];
        got = readUpTo(in, payload);
        if (got < payload.length) {
            throw new FrameException("truncated frame: expected " + length
                    + " payload bytes, got " + got);
        }
        return Optional.of(payload);
    }

    /** Fills {@code buffer} unless EOF comes first; returns the number of bytes read. */
    private static int readUpTo(DataInputStream in, byte[] buffer) throws IOException {
        int total = 0;
        while (total < buffer.length) {
            int n = in.read(buffer, total, buffer.length - total);
            if (n < 0) {
                break;
            }
            total += n;
        }
        return total;
    }
}
