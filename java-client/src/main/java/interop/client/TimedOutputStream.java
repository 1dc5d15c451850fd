package interop.client;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.Objects;
import java.util.concurrent.ScheduledFuture;

/**
 * A socket output stream whose writes time out. {@link Socket#setSoTimeout} only limits reads, so
 * each write (of at most {@value #CHUNK_BYTES} bytes) is guarded by a watchdog that closes the
 * socket when the write has not completed in time; the write then fails with a
 * {@link SocketTimeoutException}.
 */
final class TimedOutputStream extends OutputStream {
    /** Largest single write guarded by one deadline. */
    static final int CHUNK_BYTES = 64 * 1024;

    private final Socket socket;
    private final OutputStream out;
    private final int timeoutMs;
    private volatile boolean timedOut;

    TimedOutputStream(Socket socket, int timeoutMs) throws IOException {
        this.socket = Objects.requireNonNull(socket);
        this.out = socket.getOutputStream();
        this.timeoutMs = timeoutMs;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        while (len > 0) {
            int n = Math.min(len, CHUNK_BYTES);
            writeChunk(b, off, n);
            off += n;
            len -= n;
        }
    }

    private void writeChunk(byte[] b, int off, int len) throws IOException {
        if (timedOut) {
            throw timeout(null);
        }
        ScheduledFuture<?> alarm = Watchdog.schedule(this::expire, timeoutMs);
        try {
            out.write(b, off, len);
        } catch (IOException e) {
            if (timedOut) {
                throw timeout(e);
            }
            throw e;
        } finally {
            alarm.cancel(false);
        }
        if (timedOut) {
            throw timeout(null);
        }
    }

    private void expire() {
        timedOut = true;
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing is all we can do
        }
    }

    private SocketTimeoutException timeout(IOException cause) {
        SocketTimeoutException e = new SocketTimeoutException("write timed out");
        if (cause != null) {
            e.initCause(cause);
        }
        return e;
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
