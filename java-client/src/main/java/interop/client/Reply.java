package interop.client;

import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A server reply frame in framed mode (§3.3): {@code ACK ...} or {@code ERR ...}. */
public sealed interface Reply permits Reply.Ack, Reply.Err {

    /** Longest reply payload the client accepts (§3.4). */
    int MAX_REPLY_BYTES = 1024;

    /** Reply payloads are ASCII; this is what a valid one is made of. */
    Pattern ACK = Pattern.compile("ACK (0|[1-9][0-9]{0,18}) (0|[1-9][0-9]{0,18}) ([0-9a-f]{64})");
    Pattern ERR = Pattern.compile("ERR ([\\x21-\\x7e]+)(?: ([\\x20-\\x7e]*))?");

    /** {@code ACK <seq> <length> <sha256>}. */
    record Ack(long seq, long length, String sha256) implements Reply {
        /** The canonical payload text of this acknowledgement. */
        public String text() {
            return "ACK " + seq + " " + length + " " + sha256;
        }

        /** The acknowledgement a correct server sends for message number {@code seq}. */
        public static Ack expected(int seq, Message message) {
            return new Ack(seq, message.length(), message.sha256());
        }
    }

    /** {@code ERR <code> <detail>}. */
    record Err(String code, String detail) implements Reply {
        public String text() {
            return detail.isEmpty() ? "ERR " + code : "ERR " + code + " " + detail;
        }
    }

    /**
     * Parses a reply payload.
     *
     * @throws ClientException with {@link ExitCode#PROTOCOL} when it is neither form
     */
    static Reply parse(byte[] payload) throws ClientException {
        String text = new String(payload, StandardCharsets.ISO_8859_1); // 1 char per byte
        Matcher ack = ACK.matcher(text);
        if (ack.matches()) {
            try {
                return new Ack(Long.parseLong(ack.group(1)), Long.parseLong(ack.group(2)),
                        ack.group(3));
            } catch (NumberFormatException e) {
                // a 19-digit number above Long.MAX_VALUE: fall through to "malformed"
            }
        }
        Matcher err = ERR.matcher(text);
        if (err.matches()) {
            return new Err(err.group(1), err.group(2) == null ? "" : err.group(2));
        }
        throw ClientException.protocol("malformed reply \"" + describe(payload) + "\"");
    }

    /** A printable, escaped rendering of a reply payload for error messages. */
    static String describe(byte[] payload) {
        return Printer.escapeBytes(payload, payload.length);
    }
}
