package interop.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** A test's end of a TCP connection to the server, speaking raw bytes. */
final class Peer implements AutoCloseable {
    /** How a connection ended, as the client sees it. */
    enum End { EOF, RESET, TIMEOUT }

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    private Peer(Socket socket) throws IOException {
        this.socket = socket;
        socket.setSoTimeout((int) ServerProcess.WAIT.toMillis());
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    static Peer connect(String host, int port) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress(InetAddress.getByName(host), port), 10_000);
        return new Peer(socket);
    }

    static Peer connect(int port) throws IOException {
        return connect("127.0.0.1", port);
    }

    /** Our address, as the server prints its peer. */
    String local() {
        return Addresses.format(socket.getLocalSocketAddress());
    }

    Socket socket() {
        return socket;
    }

    Peer send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        return this;
    }

    Peer send(String text) throws IOException {
        return send(text.getBytes(StandardCharsets.UTF_8));
    }

    Peer sendFrame(byte[] payload) throws IOException {
        return send(frame(payload));
    }

    Peer sendFrame(String text) throws IOException {
        return sendFrame(text.getBytes(StandardCharsets.UTF_8));
    }

    Peer shutdownOutput() throws IOException {
        socket.shutdownOutput();
        return this;
    }

    /** Reads one reply frame (§3.3) as text. */
    String readReply() throws IOException {
        DataInputStream data = new DataInputStream(in);
        int length = data.readInt();
        if (length < 0 || length > 1024) {
            throw new IOException("reply length " + Integer.toUnsignedString(length));
        }
        byte[] payload = new byte[length];
        data.readFully(payload);
        return new String(payload, StandardCharsets.UTF_8);
    }

    /** Reads until the connection ends; says how, after discarding what came before. */
    End readToEnd() throws IOException {
        byte[] buffer = new byte[64 * 1024];
        try {
            while (in.read(buffer) != -1) {
                // discard
            }
            return End.EOF;
        } catch (SocketTimeoutException e) {
            return End.TIMEOUT;
        } catch (SocketException e) {
            return End.RESET; // "Connection reset"
        }
    }

    /** Reads until EOF; what arrived. */
    byte[] readAll() throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        in.transferTo(all);
        return all.toByteArray();
    }

    /** Asserts that the next reply is {@code ACK seq len sha256} of {@code payload}. */
    void expectAck(long seq, byte[] payload) throws IOException {
        assertEquals(ack(seq, payload), readReply());
    }

    void expectAck(long seq, String text) throws IOException {
        expectAck(seq, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Closes with a reset (SO_LINGER 0). */
    void reset() throws IOException {
        socket.setSoLinger(true, 0);
        socket.close();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    static byte[] frame(byte[] payload) {
        return ByteBuffer.allocate(4 + payload.length).putInt(payload.length).put(payload).array();
    }

    static String ack(long seq, byte[] payload) {
        return "ACK " + seq + " " + payload.length + " " + Message.sha256Hex(payload);
    }
}
