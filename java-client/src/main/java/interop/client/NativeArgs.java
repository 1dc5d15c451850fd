package interop.client;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Recovers the command-line arguments as UTF-8 when the JVM decoded them with a non-UTF-8 locale
 * charset (e.g. {@code LANG=C}: every non-ASCII byte becomes U+FFFD). §6 sends a MESSAGE as "the
 * argument's UTF-8 bytes", so on Linux the original bytes are re-read from
 * {@code /proc/self/cmdline}. They are used only when they provably are the same arguments (the
 * last {@code args.length} entries, decoded like the JVM did, equal {@code args}) and are valid
 * UTF-8; otherwise the JVM's strings are kept.
 */
final class NativeArgs {
    private static final Path CMDLINE = Path.of("/proc/self/cmdline");

    private NativeArgs() {
    }

    /** {@code args}, re-decoded as UTF-8 from the process's raw command line where needed. */
    static String[] recover(String[] args) {
        Charset jvmCharset;
        try {
            jvmCharset = Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
        } catch (IllegalArgumentException e) {
            return args;
        }
        if (jvmCharset.equals(StandardCharsets.UTF_8) || !Files.isReadable(CMDLINE)) {
            return args;
        }
        try {
            return recover(args, Files.readAllBytes(CMDLINE), jvmCharset);
        } catch (IOException | RuntimeException e) {
            return args;
        }
    }

    /**
     * The pure part of {@link #recover(String[])}.
     *
     * @param cmdline    NUL-terminated arguments of the whole process (JVM options included)
     * @param jvmCharset the charset the JVM used to decode them
     */
    static String[] recover(String[] args, byte[] cmdline, Charset jvmCharset) {
        List<byte[]> entries = splitNulTerminated(cmdline);
        if (entries.size() < args.length) {
            return args;
        }
        List<byte[]> tail = entries.subList(entries.size() - args.length, entries.size());
        String[] result = args.clone();
        for (int i = 0; i < args.length; i++) {
            byte[] raw = tail.get(i);
            if (!new String(raw, jvmCharset).equals(args[i])) {
                return args; // not the same arguments: leave everything alone
            }
            if (Printer.isValidUtf8(raw)) {
                result[i] = new String(raw, StandardCharsets.UTF_8);
            }
        }
        return result;
    }

    private static List<byte[]> splitNulTerminated(byte[] data) {
        List<byte[]> entries = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < data.length; i++) {
            if (data[i] == 0) {
                entries.add(Arrays.copyOfRange(data, start, i));
                start = i + 1;
            }
        }
        if (start < data.length) {
            entries.add(Arrays.copyOfRange(data, start, data.length));
        }
        return entries;
    }
}
