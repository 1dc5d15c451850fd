package interop.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class NativeArgsTest {

    private static byte[] cmdline(byte[]... entries) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] entry : entries) {
            out.writeBytes(entry);
            out.write(0);
        }
        return out.toByteArray();
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void recoversUtf8ArgumentsMangledByAnAsciiLocale() {
        byte[] hello = "héllo".getBytes(StandardCharsets.UTF_8);
        byte[] line = cmdline(ascii("java"), ascii("-cp"), ascii("x"), ascii("Main"),
                ascii("--port"), ascii("1"), hello, new byte[0]);
        String[] mangled = {"--port", "1", new String(hello, StandardCharsets.US_ASCII), ""};
        assertArrayEquals(new String[] {"--port", "1", "héllo", ""},
                NativeArgs.recover(mangled, line, StandardCharsets.US_ASCII));
    }

    @Test
    void keepsArgumentsWhenTheCommandLineDoesNotMatch() {
        byte[] line = cmdline(ascii("java"), ascii("other"));
        String[] args = {"h\uFFFD\uFFFDllo"};
        assertArrayEquals(args, NativeArgs.recover(args, line, StandardCharsets.US_ASCII));
        assertArrayEquals(args, NativeArgs.recover(args, new byte[0], StandardCharsets.US_ASCII));
    }

    @Test
    void keepsInvalidUtf8AsTheJvmDecodedIt() {
        byte[] bad = {'a', (byte) 0xff, 'b'};
        String[] args = {new String(bad, StandardCharsets.US_ASCII)};
        assertArrayEquals(args,
                NativeArgs.recover(args, cmdline(ascii("java"), bad), StandardCharsets.US_ASCII));
    }
}
