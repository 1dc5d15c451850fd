package interop.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class PrinterTest {

    private static String rendered(byte[] message) {
        return new String(Printer.render(message), StandardCharsets.UTF_8);
    }

    @Test
    void allByteValuesMatchTheExampleOfSection4() {
        assertEquals("[binary message: 256 bytes, sha256 "
                + "40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880, starts "
                + "\"\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\t\\n\\x0b\\x0c\\r\\x0e\\x0f"
                + "\\x10\\x11\\x12\\x13\\x14\\x15\\x16\\x17\\x18\\x19\\x1a\\x1b\\x1c\\x1d\\x1e"
                + "\\x1f\"...]\n", rendered(InteropClientTest.allBytes()));
    }

    @Test
    void textIsPrintedAsIsWithNewline() {
        byte[] text = "grüße, 世界 😀\ttab \"q\" \\".getBytes(StandardCharsets.UTF_8);
        byte[] expected = Arrays.copyOf(text, text.length + 1);
        expected[text.length] = '\n';
        assertArrayEquals(expected, Printer.render(text));
        assertEquals("\n", rendered(new byte[0]));
    }

    @Test
    void exactly4096BytesIsTextAnd4097IsLong() {
        byte[] limit = new byte[4096];
        Arrays.fill(limit, (byte) 'a');
        assertEquals("a".repeat(4096) + "\n", rendered(limit));

        byte[] over = new byte[4097];
        Arrays.fill(over, (byte) 'a');
        assertEquals("[long message: 4097 bytes, sha256 " + Digests.sha256Hex(over)
                + ", starts \"" + "a".repeat(32) + "\"...]\n", rendered(over));
    }

    @Test
    void shortBinaryHasNoEllipsisAndEscapesQuoteAndBackslash() {
        byte[] message = {'"', '\\', 'A', (byte) 0xff, 0x7f, ' ', '~'};
        assertEquals("[binary message: 7 bytes, sha256 " + Digests.sha256Hex(message)
                + ", starts \"\\\"\\\\A\\xff\\x7f ~\"]\n", rendered(message));
    }

    @Test
    void previewOfExactly32BytesHasNoEllipsis() {
        byte[] message = new byte[32];
        message[0] = (byte) 0x80; // invalid UTF-8
        String line = rendered(message);
        assertTrue(line.endsWith("\"]\n"), line);
        assertEquals(1 + 31, line.split("\\\\x", -1).length - 1);
    }

    @Test
    void longUtf8PreviewEscapesNonAsciiBytes() {
        byte[] message = "é".repeat(3000).getBytes(StandardCharsets.UTF_8); // 6000 bytes
        assertEquals("[long message: 6000 bytes, sha256 " + Digests.sha256Hex(message)
                + ", starts \"" + "\\xc3\\xa9".repeat(16) + "\"...]\n", rendered(message));
    }

    @Test
    void utf8ValidityIsStrict() {
        assertTrue(Printer.isValidUtf8("ok €".getBytes(StandardCharsets.UTF_8)));
        assertFalse(Printer.isValidUtf8(new byte[] {(byte) 0xc0, (byte) 0x80})); // overlong NUL
        assertFalse(Printer.isValidUtf8(new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80}));
        assertFalse(Printer.isValidUtf8(new byte[] {(byte) 0xf4, (byte) 0x90, (byte) 0x80,
            (byte) 0x80})); // above U+10FFFF
        assertFalse(Printer.isValidUtf8(new byte[] {(byte) 0xe2, (byte) 0x82})); // truncated
    }
}
