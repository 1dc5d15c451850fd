package interop.client;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small server for the tests: listens on an ephemeral loopback port (or on a Unix domain socket
 * path) and runs a handler for each connection on its own thread, recording the messages and peers
 * it saw.
 */
final class TestServer implements AutoCloseable {

    /** Serves one TCP connection. */
    @FunctionalInterface
    interface Handler {
        void handle(Socket socket, TestServer server) throws IOException;
    }

    /** Serves one connection of any stream transport (TCP or Unix) through its streams. */
    @FunctionalInterface
    interface StreamHandler {
        void handle(InputStream in, OutputStream out, TestServer server) throws IOException;
    }

    private final Closeable listener;
    private final int port;
    private final Path unixPath;
    private final Thread acceptor;
    private final List<Closeable> connectionsOpen = new CopyOnWriteArrayList<>();
    private final List<byte[]> messages = Collections.synchronizedList(new ArrayList<>());
    private final List<String> peers = new CopyOnWriteArrayList<>();
    private final AtomicInteger connections = new AtomicInteger();
    private final List<Throwable> failures = new CopyOnWriteArrayList<>();
    private volatile Boolean eofBeforeAcks;

    /** A TCP server. */
    private TestServer(InetAddress bindAddress, int receiveBuffer, Handler handler)
            throws IOException {
        ServerSocket socket = new ServerSocket();
        if (receiveBuffer > 0) {
            socket.setReceiveBufferSize(receiveBuffer); // inherited by accepted sockets
        }
        socket.bind(new InetSocketAddress(bindAddress, 0));
        this.listener = socket;
        this.port = socket.getLocalPort();
        this.unixPath = null;
        this.acceptor = new Thread(() -> acceptTcp(socket, handler), "test-server-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** A Unix domain stream socket server. */
    private TestServer(Path path, StreamHandler handler) throws IOException {
        ServerSocketChannel channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        channel.bind(UnixDomainSocketAddress.of(path));
        this.listener = channel;
        this.port = -1;
        this.unixPath = path;
        this.acceptor = new Thread(() -> acceptUnix(channel, handler), "test-server-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    static TestServer start(Handler handler) throws IOException {
        return new TestServer(InetAddress.getLoopbackAddress(), 0, handler);
    }

    static TestServer start(StreamHandler handler) throws IOException {
        return start(onSocket(handler));
    }

    static TestServer start(InetAddress bindAddress, Handler handler) throws IOException {
        return new TestServer(bindAddress, 0, handler);
    }

    static TestServer startWithSmallReceiveBuffer(Handler handler) throws IOException {
        return new TestServer(InetAddress.getLoopbackAddress(), 4096, handler);
    }

    /** Listens on the Unix domain socket {@code path}; the file is removed on close. */
    static TestServer startUnix(Path path, StreamHandler handler) throws IOException {
        return new TestServer(path, handler);
    }

    /** A TCP handler that serves the socket's streams with {@code handler}. */
    static Handler onSocket(StreamHandler handler) {
        return (socket, server) -> handler.handle(socket.getInputStream(),
                socket.getOutputStream(), server);
    }

    int port() {
        if (port < 0) {
            throw new IllegalStateException("a Unix socket server has no port");
        }
        return port;
    }

    /** Messages recorded so far, in order. */
    List<byte[]> messages() {
        synchronized (messages) {
            return List.copyOf(messages);
        }
    }

    /** Peer addresses of the TCP connections, formatted per §1, in accept order. */
    List<String> peers() {
        return List.copyOf(peers);
    }

    int connections() {
        return connections.get();
    }

    List<Throwable> failures() {
        return List.copyOf(failures);
    }

    void record(byte[] message) {
        messages.add(message);
    }

    /** What a {@link #batch} handler saw: whether EOF came before it sent the acks. */
    Boolean eofBeforeAcks() {
        return eofBeforeAcks;
    }

    private void acceptTcp(ServerSocket socket, Handler handler) {
        while (!socket.isClosed()) {
            Socket connection;
            try {
                connection = socket.accept();
            } catch (IOException e) {
                return;
            }
            connections.incrementAndGet();
            connectionsOpen.add(connection);
            peers.add(Addresses.format(connection.getInetAddress(), connection.getPort()));
            serve(connection, () -> handler.handle(connection, this));
        }
    }

    private void acceptUnix(ServerSocketChannel channel, StreamHandler handler) {
        while (channel.isOpen()) {
            SocketChannel connection;
            try {
                connection = channel.accept();
            } catch (IOException e) {
                return;
            }
            connections.incrementAndGet();
            connectionsOpen.add(connection);
            serve(connection, () -> handler.handle(input(connection), output(connection), this));
        }
    }

    @FunctionalInterface
    private interface Work {
        void run() throws IOException;
    }

    private void serve(Closeable connection, Work work) {
        Thread worker = new Thread(() -> {
            try (connection) {
                work.run();
            } catch (IOException e) {
                failures.add(e);
            }
        }, "test-server-conn");
        worker.setDaemon(true);
        worker.start();
    }

    /*
     * Streams straight over the channel: Channels.newInputStream/newOutputStream take the channel's
     * blocking lock, so a read pending in one thread would block a write in another.
     */
    private static InputStream input(SocketChannel channel) {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                int n = read(one, 0, 1);
                return n < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                Objects.checkFromIndexSize(off, len, b.length);
                return len == 0 ? 0 : channel.read(ByteBuffer.wrap(b, off, len));
            }
        };
    }

    private static OutputStream output(SocketChannel channel) {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                ByteBuffer buffer = ByteBuffer.wrap(b, off, len);
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
            }
        };
    }

    @Override
    public void close() throws IOException {
        listener.close();
        for (Closeable connection : connectionsOpen) {
            connection.close();
        }
        if (unixPath != null) {
            Files.deleteIfExists(unixPath);
        }
    }

    // ---- handlers implementing the server side of the protocol (and broken variants) ----

    /** §2: read until EOF, record, close. */
    static void raw(Socket socket, TestServer server) throws IOException {
        rawStream(socket.getInputStream(), socket.getOutputStream(), server);
    }

    /** §2 on any stream transport. */
    static void rawStream(InputStream in, OutputStream out, TestServer server) throws IOException {
        server.record(readToEof(in));
    }

    /** §3: correct acknowledgements, default maximum. */
    static void framed(Socket socket, TestServer server) throws IOException {
        framedWith(16 * 1024 * 1024, TestServer::ack).handle(socket, server);
    }

    /** §3 on any stream transport. */
    static void framedStream(InputStream in, OutputStream out, TestServer server)
            throws IOException {
        framedStreamWith(16 * 1024 * 1024, TestServer::ack).handle(in, out, server);
    }

    /** Computes the reply payload for message {@code seq}. */
    @FunctionalInterface
    interface Replier {
        String reply(int seq, byte[] payload);
    }

    /** {@link #framedStreamWith} on a TCP socket. */
    static Handler framedWith(long max, Replier replier) {
        return onSocket(framedStreamWith(max, replier));
    }

    /**
     * A framed server with maximum {@code max} that answers each frame with {@code replier}; an
     * over-long length gets {@code ERR too-large} and the connection is closed without reading.
     */
    static StreamHandler framedStreamWith(long max, Replier replier) {
        return (input, output, server) -> {
            DataInputStream in = new DataInputStream(input);
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(output));
            for (int seq = 1; ; seq++) {
                int first = in.read();
                if (first < 0) {
                    return; // EOF between frames
                }
                long length = ((long) first << 24) | ((long) in.readUnsignedByte() << 16)
                        | ((long) in.readUnsignedByte() << 8) | in.readUnsignedByte();
                if (length > max) {
                    writeReply(out, "ERR too-large " + length + " > " + max);
                    return;
                }
                byte[] payload = readPayload(in, length);
                server.record(payload);
                writeReply(out, replier.reply(seq, payload));
            }
        };
    }

    /**
     * A framed server for §11: it reads {@code expected} frames before it sends any
     * acknowledgement (a stop-and-wait client would time out), then waits up to
     * {@code eofProbeMs} for EOF and records whether it came ({@link #eofBeforeAcks()}), then
     * sends all the acknowledgements at once and, unless EOF came already, reads until EOF.
     */
    static StreamHandler batch(int expected, int eofProbeMs) {
        return (input, output, server) -> {
            DataInputStream in = new DataInputStream(input);
            List<byte[]> payloads = new ArrayList<>();
            for (int seq = 1; seq <= expected; seq++) {
                payloads.add(readPayload(in, in.readInt() & 0xffffffffL));
                server.record(payloads.get(payloads.size() - 1));
            }
            CompletableFuture<Integer> next = CompletableFuture.supplyAsync(() -> {
                try {
                    return in.read();
                } catch (IOException e) {
                    return -2;
                }
            });
            Integer probe;
            try {
                probe = next.get(eofProbeMs, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                probe = null;
            } catch (InterruptedException | ExecutionException e) {
                throw new IOException(e);
            }
            if (probe != null && probe != -1) {
                throw new IOException("expected EOF or nothing after the batch, got " + probe);
            }
            server.eofBeforeAcks = probe != null;
            ByteArrayOutputStream acks = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(acks);
            for (int seq = 1; seq <= payloads.size(); seq++) {
                writeReply(out, ack(seq, payloads.get(seq - 1)));
            }
            output.write(acks.toByteArray());
            output.flush();
            if (probe == null) {
                try {
                    Integer after = next.get(10, TimeUnit.SECONDS);
                    if (after != -1) {
                        throw new IOException("expected EOF after the acks, got " + after);
                    }
                } catch (InterruptedException | ExecutionException | TimeoutException e) {
                    throw new IOException(e);
                }
            }
        };
    }

    private static byte[] readPayload(DataInputStream in, long length) throws IOException {
        byte[] payload = in.readNBytes((int) length);
        if (payload.length != length) {
            throw new IOException("truncated frame");
        }
        return payload;
    }

    static String ack(int seq, byte[] payload) {
        return "ACK " + seq + " " + payload.length + " " + Digests.sha256Hex(payload);
    }

    static void writeReply(DataOutputStream out, String reply) throws IOException {
        writeRawFrame(out, reply.getBytes(StandardCharsets.US_ASCII));
    }

    static void writeRawFrame(DataOutputStream out, byte[] payload) throws IOException {
        out.writeInt(payload.length);
        out.write(payload);
        out.flush();
    }

    /** Accepts and then neither reads, replies nor closes until the test closes the server. */
    static void silent(Socket socket, TestServer server) throws IOException {
        silentStream(socket.getInputStream(), socket.getOutputStream(), server);
    }

    /** {@link #silent} on any stream transport. */
    static void silentStream(InputStream in, OutputStream out, TestServer server) {
        try {
            Thread.sleep(60_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Reads the whole stream without closing, then waits (raw server that never closes). */
    static void readButNeverClose(Socket socket, TestServer server) throws IOException {
        readButNeverCloseStream(socket.getInputStream(), socket.getOutputStream(), server);
    }

    /** {@link #readButNeverClose} on any stream transport. */
    static void readButNeverCloseStream(InputStream in, OutputStream out, TestServer server)
            throws IOException {
        server.record(readToEof(in));
        silentStream(in, out, server);
    }

    /** Closes at once with a reset (SO_LINGER 0). */
    static void reset(Socket socket, TestServer server) throws IOException {
        socket.setSoLinger(true, 0);
        socket.close();
    }

    static byte[] readToEof(InputStream in) throws IOException {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        in.transferTo(buffer);
        return buffer.toByteArray();
    }
}
