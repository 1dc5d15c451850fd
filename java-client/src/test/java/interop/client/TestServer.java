package interop.client;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small server for the tests: listens on an ephemeral loopback port and runs a {@link Handler}
 * for each connection on its own thread, recording the messages and peers it saw.
 */
final class TestServer implements AutoCloseable {

    /** Serves one connection. */
    @FunctionalInterface
    interface Handler {
        void handle(Socket socket, TestServer server) throws IOException;
    }

    private final ServerSocket listener;
    private final Handler handler;
    private final Thread acceptor;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final List<byte[]> messages = Collections.synchronizedList(new ArrayList<>());
    private final List<String> peers = new CopyOnWriteArrayList<>();
    private final AtomicInteger connections = new AtomicInteger();
    private final List<Throwable> failures = new CopyOnWriteArrayList<>();

    private TestServer(InetAddress bindAddress, int receiveBuffer, Handler handler)
            throws IOException {
        this.handler = handler;
        this.listener = new ServerSocket();
        if (receiveBuffer > 0) {
            listener.setReceiveBufferSize(receiveBuffer); // inherited by accepted sockets
        }
        listener.bind(new InetSocketAddress(bindAddress, 0));
        this.acceptor = new Thread(this::acceptLoop, "test-server-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    static TestServer start(Handler handler) throws IOException {
        return new TestServer(InetAddress.getLoopbackAddress(), 0, handler);
    }

    static TestServer start(InetAddress bindAddress, Handler handler) throws IOException {
        return new TestServer(bindAddress, 0, handler);
    }

    static TestServer startWithSmallReceiveBuffer(Handler handler) throws IOException {
        return new TestServer(InetAddress.getLoopbackAddress(), 4096, handler);
    }

    int port() {
        return listener.getLocalPort();
    }

    /** Messages recorded so far, in order. */
    List<byte[]> messages() {
        synchronized (messages) {
            return List.copyOf(messages);
        }
    }

    /** Peer addresses of the connections, formatted per §1, in accept order. */
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

    private void acceptLoop() {
        while (!listener.isClosed()) {
            Socket socket;
            try {
                socket = listener.accept();
            } catch (IOException e) {
                return;
            }
            connections.incrementAndGet();
            sockets.add(socket);
            peers.add(Addresses.format(socket.getInetAddress(), socket.getPort()));
            Thread worker = new Thread(() -> {
                try (socket) {
                    handler.handle(socket, this);
                } catch (IOException e) {
                    failures.add(e);
                }
            }, "test-server-conn");
            worker.setDaemon(true);
            worker.start();
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        for (Socket socket : sockets) {
            socket.close();
        }
    }

    // ---- handlers implementing the server side of the protocol (and broken variants) ----

    /** §2: read until EOF, record, close. */
    static void raw(Socket socket, TestServer server) throws IOException {
        server.record(readToEof(socket.getInputStream()));
    }

    /** §3: correct acknowledgements, default maximum. */
    static void framed(Socket socket, TestServer server) throws IOException {
        framedWith(16 * 1024 * 1024, (seq, payload) -> ack(seq, payload)).handle(socket, server);
    }

    /** Computes the reply payload for message {@code seq}. */
    @FunctionalInterface
    interface Replier {
        String reply(int seq, byte[] payload);
    }

    /**
     * A framed server with maximum {@code max} that answers each frame with {@code replier}; an
     * over-long length gets {@code ERR too-large} and the connection is closed without reading.
     */
    static Handler framedWith(long max, Replier replier) {
        return (socket, server) -> {
            DataInputStream in = new DataInputStream(socket.getInputStream());
            DataOutputStream out = new DataOutputStream(
                    new BufferedOutputStream(socket.getOutputStream()));
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
                byte[] payload = in.readNBytes((int) length);
                if (payload.length != length) {
                    throw new IOException("truncated frame");
                }
                server.record(payload);
                writeReply(out, replier.reply(seq, payload));
            }
        };
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
        try {
            Thread.sleep(60_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Reads the whole stream without closing, then waits (raw server that never closes). */
    static void readButNeverClose(Socket socket, TestServer server) throws IOException {
        server.record(readToEof(socket.getInputStream()));
        silent(socket, server);
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
