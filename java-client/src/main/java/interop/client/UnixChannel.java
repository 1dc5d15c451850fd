package interop.client;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.Objects;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A connected Unix domain stream socket (§10.2) with read and write timeouts. A Unix
 * {@link SocketChannel} has no socket adapter (so no {@code SO_TIMEOUT}), so the channel is
 * non-blocking and every read, and every write of up to {@value #CHUNK_BYTES} bytes, waits on a
 * {@link Selector} until its deadline; running out of time is a {@link SocketTimeoutException}.
 * Connecting (which blocks only while the server's backlog is full) is guarded by the
 * {@link Watchdog}.
 */
final class UnixChannel {
    /** Largest write guarded by one deadline, as for TCP ({@link TimedOutputStream}). */
    static final int CHUNK_BYTES = TimedOutputStream.CHUNK_BYTES;

    private final SocketChannel channel;
    private final Selector selector;
    private final SelectionKey key;
    private final long timeoutNanos;

    private UnixChannel(SocketChannel channel, Selector selector, SelectionKey key,
                        int timeoutMs) {
        this.channel = channel;
        this.selector = selector;
        this.key = key;
        this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    }

    /**
     * Connects to {@code address} within {@code timeoutMs}.
     *
     * @throws SocketTimeoutException when that took too long
     * @throws IOException            when it failed (no such file, connection refused, ...)
     */
    static UnixChannel connect(UnixDomainSocketAddress address, int timeoutMs)
            throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        AtomicBoolean timedOut = new AtomicBoolean();
        ScheduledFuture<?> alarm = Watchdog.schedule(() -> {
            timedOut.set(true);
            closeQuietly(channel);
        }, timeoutMs);
        try {
            channel.connect(address);
        } catch (IOException e) {
            closeQuietly(channel);
            if (timedOut.get()) {
                throw timeout("connect timed out", e);
            }
            throw e;
        } finally {
            alarm.cancel(false);
        }
        if (timedOut.get()) { // the alarm won the race with a successful connect
            closeQuietly(channel);
            throw timeout("connect timed out", null);
        }
        Selector selector = null;
        try {
            channel.configureBlocking(false);
            selector = Selector.open();
            SelectionKey key = channel.register(selector, 0);
            return new UnixChannel(channel, selector, key, timeoutMs);
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel);
            if (selector != null) {
                closeQuietly(selector);
            }
            throw e;
        }
    }

    /** Reads from the socket; each read waits at most the timeout for data. */
    InputStream input() {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                int n = read(one, 0, 1);
                return n < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return UnixChannel.this.read(b, off, len);
            }
        };
    }

    /** Writes to the socket; each write of up to {@value #CHUNK_BYTES} bytes is timed. */
    OutputStream output() {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                UnixChannel.this.write(b, off, len);
            }
        };
    }

    private int read(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        if (len == 0) {
            return 0;
        }
        ByteBuffer buffer = ByteBuffer.wrap(b, off, len);
        long deadline = System.nanoTime() + timeoutNanos;
        while (true) {
            int n = channel.read(buffer);
            if (n != 0) {
                return n; // bytes read, or -1 at EOF
            }
            await(SelectionKey.OP_READ, deadline, "read timed out");
        }
    }

    private void write(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        while (len > 0) {
            int n = Math.min(len, CHUNK_BYTES);
            ByteBuffer buffer = ByteBuffer.wrap(b, off, n);
            long deadline = System.nanoTime() + timeoutNanos;
            while (buffer.hasRemaining()) {
                if (channel.write(buffer) == 0) {
                    await(SelectionKey.OP_WRITE, deadline, "write timed out");
                }
            }
            off += n;
            len -= n;
        }
    }

    /** Waits until the channel is ready for {@code op}, or throws once {@code deadline} passed. */
    private void await(int op, long deadline, String what) throws IOException {
        long remaining = deadline - System.nanoTime();
        if (remaining <= 0) {
            throw timeout(what, null);
        }
        key.interestOps(op);
        // Round up: select(0) would wait forever.
        selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(remaining + 999_999)));
        selector.selectedKeys().clear();
    }

    /** Half-closes: the server reads EOF. */
    void shutdownOutput() throws IOException {
        channel.shutdownOutput();
    }

    /** Closes the socket (the selector too, which releases the descriptor at once). */
    void close() {
        closeQuietly(channel);
        closeQuietly(selector);
    }

    private static SocketTimeoutException timeout(String what, IOException cause) {
        SocketTimeoutException e = new SocketTimeoutException(what);
        if (cause != null) {
            e.initCause(cause);
        }
        return e;
    }

    private static void closeQuietly(java.io.Closeable closeable) {
        try {
            closeable.close();
        } catch (IOException ignored) {
            // nothing useful to do
        }
    }
}
