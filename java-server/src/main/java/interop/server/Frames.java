package interop.server;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Frames and replies of framed mode (§3). */
public final class Frames {
    /** Length of a frame's prefix: 4 bytes, unsigned, big-endian. */
    public static final int HEADER_BYTES = 4;

    public static final String ERR_TOO_LARGE = "too-large";
    public static final String ERR_BUSY = "busy";
    public static final String ERR_OUTPUT = "output";

    private Frames() {
    }

    /** One frame: the 4-byte big-endian length, then the payload; ready to be written. */
    public static ByteBuffer frame(byte[] payload) {
        ByteBuffer frame = ByteBuffer.allocate(HEADER_BYTES + payload.length);
        frame.putInt(payload.length).put(payload).flip();
        return frame;
    }

    /** The reply {@code ERR <code> <detail>}. */
    public static byte[] err(String code, String detail) {
        return ("ERR " + code + " " + detail).getBytes(StandardCharsets.UTF_8);
    }
}
