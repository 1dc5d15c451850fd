package interop.server;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;

/**
 * What the server prints (§4, §5, §8.1): the tutorial's text, or one JSON event per line.
 *
 * <p>Every record is written whole with one {@code write} and flushed, from the server's one
 * thread, so records of different connections never interleave. {@code out} should be unbuffered
 * ({@code new FileOutputStream(FileDescriptor.out)}): a record is then in the kernel's hands when
 * {@link #message} returns, which is what log-then-acknowledge needs, and a write that fails
 * throws, where {@code System.out} would swallow the error.
 *
 * <p>The first write to stdout that fails is remembered ({@link #failure()}); from then on
 * nothing more is written, to stdout nor (text format) to stderr: the server stops, and its one
 * last line on stderr says why. In text format a connection's {@code Hello: <peer>} line is held
 * back until its first message (or its end) and printed in the same record.
 */
public final class Log {
    public static final String LISTENING_PREFIX = "listening on ";

    private final OutputFormat format;
    private final OutputStream out;
    private final OutputStream err;
    private final boolean helloEveryMessage;
    private final Set<Long> helloPending = new HashSet<>();
    private String failure;

    /**
     * @param helloEveryMessage print {@code Hello: <peer>} before every message, not once per
     *                          connection (UDP, where every datagram stands alone)
     */
    public Log(OutputFormat format, OutputStream out, OutputStream err, boolean helloEveryMessage) {
        this.format = format;
        this.out = out;
        this.err = err;
        this.helloEveryMessage = helloEveryMessage;
    }

    /** Why stdout could not be written ({@code Broken pipe (os error 32)}), or {@code null}. */
    public String failure() {
        return failure;
    }

    public boolean failed() {
        return failure != null;
    }

    /** The first line(s): {@code listening on <addr>}; false if they could not be written. */
    public boolean listening(String addr, Mode mode) {
        byte[] line = (LISTENING_PREFIX + addr + "\n").getBytes(StandardCharsets.UTF_8);
        if (format == OutputFormat.JSON) {
            byte[] event = new JsonLine().field("event", "listening").field("addr", addr)
                    .field("mode", mode.wireName()).toBytes();
            line = concat(line, event);
        }
        return write(line);
    }

    public void connected(long conn, String peer, String local) {
        if (format == OutputFormat.JSON) {
            write(new JsonLine().field("event", "connected").field("conn", conn)
                    .field("peer", peer).field("local", local).toBytes());
        } else {
            helloPending.add(conn);
        }
    }

    /**
     * Logs message {@code seq} of connection {@code conn}; returns only once its record is
     * written.
     *
     * @throws OutputFailedException if it was not (now or since an earlier failure): the message
     *                               must then not be acknowledged
     */
    public void message(long conn, String peer, long seq, Message message)
            throws OutputFailedException {
        byte[] record;
        if (format == OutputFormat.JSON) {
            JsonLine json = new JsonLine().field("event", "message").field("conn", conn)
                    .field("peer", peer).field("seq", seq).field("len", message.length())
                    .field("sha256", message.sha256Hex());
            if (message.isText()) {
                json.utf8Field("text", message.bytes());
            }
            record = json.toBytes();
        } else {
            if (helloEveryMessage) {
                helloPending.add(conn);
            }
            record = concat(hello(conn, peer), message.line());
        }
        if (!write(record)) {
            throw new OutputFailedException(failure);
        }
    }

    public void closed(long conn, String peer, long messages) {
        if (format == OutputFormat.JSON) {
            write(new JsonLine().field("event", "closed").field("conn", conn)
                    .field("peer", peer).field("messages", messages).toBytes());
        } else {
            byte[] hello = hello(conn, peer);
            if (hello.length > 0) {
                write(hello);
            }
        }
    }

    /**
     * An error of connection {@code conn}, or with {@code conn} {@code null} of the server (and,
     * with a {@code peer}, of a UDP peer). Text format: {@code error: <peer>: <reason>} on stderr.
     */
    public void error(Long conn, String peer, String error) {
        if (format == OutputFormat.JSON) {
            JsonLine json = new JsonLine().field("event", "error");
            if (conn != null) {
                json.field("conn", conn);
            }
            if (peer != null) {
                json.field("peer", peer);
            }
            write(json.field("error", error).toBytes());
            return;
        }
        if (failure != null) {
            return; // stopping: the last line on stderr says why
        }
        byte[] hello = conn != null && peer != null ? hello(conn, peer) : new byte[0];
        String line = peer != null ? "error: " + peer + ": " + error + "\n" : "error: " + error + "\n";
        try {
            err.write(line.getBytes(StandardCharsets.UTF_8));
            err.flush();
        } catch (IOException e) {
            // stderr is gone: the error line is lost, nothing else is.
        }
        if (hello.length > 0) {
            write(hello);
        }
    }

    /** Drops the held-back {@code Hello} of a connection that ends without an event. */
    public void forget(long conn) {
        helloPending.remove(conn);
    }

    private byte[] hello(long conn, String peer) {
        if (helloPending.remove(conn)) {
            return ("Hello: " + peer + "\n").getBytes(StandardCharsets.UTF_8);
        }
        return new byte[0];
    }

    /** Writes and flushes one record; false if it was not (now or since an earlier failure). */
    private boolean write(byte[] record) {
        if (failure != null) {
            return false;
        }
        try {
            out.write(record);
            out.flush();
            return true;
        } catch (IOException e) {
            failure = Failures.describe(e);
            return false;
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        if (a.length == 0) {
            return b;
        }
        byte[] both = new byte[a.length + b.length];
        System.arraycopy(a, 0, both, 0, a.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }
}
