package interop.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** §4 printing, §9 test vectors and the acknowledgement text of §3.3. */
class MessageTest {
    static final byte[] ALL_BYTES = allBytes();
    static final String ALL_BYTES_LINE = "[binary message: 256 bytes, sha256 "
            + "40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880, starts "
            + "\"\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\t\\n\\x0b\\x0c\\r\\x0e\\x0f"
            + "\\x10\\x11\\x12\\x13\\x14\\x15\\x16\\x17\\x18\\x19\\x1a\\x1b\\x1c\\x1d\\x1e\\x1f\""
            + "...]\n";

    static byte[] allBytes() {
        byte[] all = new byte[256];
        for (int i = 0; i < 256; i++) {
            all[i] = (byte) i;
        }
        return all;
    }

    private static byte[] bytes(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (byte) values[i];
        }
        return out;
    }

    @Test
    void testVectorsOfSection9() {
        assertEquals("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                Message.of(new byte[0]).sha256Hex());
        assertEquals("30836f56b786ee37cf464bfe65b7728a5853395d9225e2bfd76f06ae68bd5807",
                Message.of("Hello SocketServer!!!".getBytes(StandardCharsets.UTF_8)).sha256Hex());
        assertEquals("40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880",
                Message.of(ALL_BYTES).sha256Hex());
        assertEquals("ACK 1 3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                new String(Message.of("abc".getBytes(StandardCharsets.UTF_8)).ack(1),
                        StandardCharsets.US_ASCII));
    }

    @Test
    void textIsPrintedAsItselfWithANewline() {
        byte[] text = "你好 🦀\r\n\ttab".getBytes(StandardCharsets.UTF_8);
        Message message = Message.of(text);
        assertTrue(message.isText());
        assertEquals("你好 🦀\r\n\ttab\n", new String(message.line(), StandardCharsets.UTF_8));
        assertEquals("\n", new String(Message.of(new byte[0]).line(), StandardCharsets.UTF_8));
    }

    @Test
    void binaryIsSummarisedWithAnEscapedPreview() {
        assertEquals(ALL_BYTES_LINE, new String(Message.of(ALL_BYTES).line(),
                StandardCharsets.US_ASCII));
        assertFalse(Message.of(ALL_BYTES).isText());
        // Quote and backslash escaped; exactly 32 bytes: no "...".
        byte[] short32 = "\"\\abcdefghijklmnopqrstuvwxyz0123".getBytes(StandardCharsets.US_ASCII);
        byte[] binary = Arrays.copyOf(short32, 33);
        binary[32] = (byte) 0xff;
        assertEquals("starts \"\\\"\\\\abcdefghijklmnopqrstuvwxyz0123\"...]\n",
                tail(Message.of(binary).line()));
        assertEquals("starts \"\\xff\"]\n", tail(Message.of(bytes(0xff)).line()));
    }

    @Test
    void utf8LongerThan4096BytesIsALongMessage() {
        byte[] exact = new byte[4096];
        Arrays.fill(exact, (byte) 'a');
        assertTrue(Message.of(exact).isText());
        byte[] longer = Arrays.copyOf(exact, 4097);
        longer[4096] = 'a';
        String line = new String(Message.of(longer).line(), StandardCharsets.US_ASCII);
        assertTrue(line.startsWith("[long message: 4097 bytes, sha256 "), line);
        assertTrue(line.endsWith(", starts \"" + "a".repeat(32) + "\"...]\n"), line);
    }

    @Test
    void utf8IsCheckedStrictly() {
        assertTrue(Message.isValidUtf8(bytes(0xf0, 0x9f, 0xa6, 0x80))); // 🦀
        assertTrue(Message.isValidUtf8(bytes(0xf4, 0x8f, 0xbf, 0xbf))); // U+10FFFF
        assertTrue(Message.isValidUtf8(bytes(0xed, 0x9f, 0xbf))); // U+D7FF
        assertFalse(Message.isValidUtf8(bytes(0xc0, 0x80))); // overlong NUL
        assertFalse(Message.isValidUtf8(bytes(0xe0, 0x80, 0x80))); // overlong
        assertFalse(Message.isValidUtf8(bytes(0xed, 0xa0, 0x80))); // surrogate
        assertFalse(Message.isValidUtf8(bytes(0xf4, 0x90, 0x80, 0x80))); // above U+10FFFF
        assertFalse(Message.isValidUtf8(bytes(0xf0, 0x9f, 0xa6))); // truncated
        assertFalse(Message.isValidUtf8(bytes(0x80))); // lone continuation
        assertFalse(Message.isValidUtf8(bytes(0xe4, 0xbd, 0x41))); // bad continuation
    }

    private static String tail(byte[] line) {
        String text = new String(line, StandardCharsets.US_ASCII);
        return text.substring(text.indexOf("starts "));
    }
}
