package interop.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class FramingTest {
    private static final HexFormat HEX = HexFormat.of();

    private static byte[] frame(byte[] payload) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Framing.writeFrame(new DataOutputStream(bytes), payload);
        return bytes.toByteArray();
    }

    private static DataInputStream input(String hex) {
        return new DataInputStream(new ByteArrayInputStream(HEX.parseHex(hex)));
    }

    @Test
    void encodesTheTestVectors() throws IOException {
        assertEquals("00000000", HEX.formatHex(frame(new byte[0])));
        assertEquals("00000003616263", HEX.formatHex(frame("abc".getBytes(StandardCharsets.US_ASCII))));
        assertEquals("00000015" + HEX.formatHex("Hello SocketServer!!!".getBytes(
                StandardCharsets.US_ASCII)),
                HEX.formatHex(frame("Hello SocketServer!!!".getBytes(StandardCharsets.US_ASCII))));
    }

    @Test
    void decodesTheAckOfSection9() throws IOException {
        String ack = "ACK 1 3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        DataInputStream in = input("00000048"
                + HEX.formatHex(ack.getBytes(StandardCharsets.US_ASCII)) + "00000000");
        assertArrayEquals(ack.getBytes(StandardCharsets.US_ASCII),
                Framing.readFrame(in, 1024).orElseThrow());
        assertArrayEquals(new byte[0], Framing.readFrame(in, 1024).orElseThrow());
        assertTrue(Framing.readFrame(in, 1024).isEmpty()); // EOF between frames
    }

    @Test
    void rejectsTruncatedFrames() {
        assertThrows(Framing.FrameException.class, () -> Framing.readFrame(input("0000"), 1024));
        assertThrows(Framing.FrameException.class,
                () -> Framing.readFrame(input("000000056162"), 1024));
    }

    @Test
    void checksTheLengthBeforeReadingThePayload() {
        Framing.FrameException e = assertThrows(Framing.FrameException.class,
                () -> Framing.readFrame(input("ffffffff"), 1024));
        assertTrue(e.getMessage().contains("4294967295"), e.getMessage());
        assertThrows(Framing.FrameException.class,
                () -> Framing.readFrame(input("00000401"), 1024));
    }
}
