package interop.client;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnixDomainSocketAddress;
import java.nio.file.InvalidPathException;
import java.util.List;

/**
 * One stream connection to the server (TCP, or a Unix domain socket, §10.2), with read and write
 * timeouts, and its local and peer addresses already formatted per §1 and §10.2.
 */
final class Connection implements Closeable {
    private static final int BUFFER_BYTES = 64 * 1024;

    /** What is under the streams: half-closing and closing. */
    private interface Endpoint {
        void shutdownOutput() throws IOException;

        void close();
    }

    private final Endpoint endpoint;
    private final DataInputStream in;
    private final DataOutputStream out;
    private final String local;
    private final String peer;

    private Connection(Endpoint endpoint, InputStream in, OutputStream out, String local,
                       String peer) {
        this.endpoint = endpoint;
        this.in = new DataInputStream(new BufferedInputStream(in, BUFFER_BYTES));
        this.out = new DataOutputStream(new BufferedOutputStream(out, BUFFER_BYTES));
        this.local = local;
        this.peer = peer;
    }

    private static Connection ofSocket(Socket socket, int timeoutMs) throws IOException {
        socket.setSoTimeout(timeoutMs);
        socket.setTcpNoDelay(true);
        Endpoint endpoint = new Endpoint() {
            @Override
            public void shutdownOutput() throws IOException {
                socket.shutdownOutput();
            }

            @Override
            public void close() {
                closeQuietly(socket);
            }
        };
        return new Connection(endpoint, socket.getInputStream(),
                new TimedOutputStream(socket, timeoutMs),
                Addresses.format(socket.getLocalAddress(), socket.getLocalPort()),
                Addresses.format(socket.getInetAddress(), socket.getPort()));
    }

    /**
     * Connects to the Unix domain stream socket at {@code path} (§10.2), limited to
     * {@code timeoutMs}. The local address is {@code pid:<this process id>}, the peer
     * {@code unix:PATH}.
     *
     * @throws ClientException {@link ExitCode#TIMEOUT} when connecting took too long,
     *                         {@link ExitCode#CONNECT} when there is no such socket or nobody
     *                         listens on it, {@link ExitCode#USAGE} for a path that cannot be one
     */
    static Connection openUnix(String path, int timeoutMs) throws ClientException {
        String peer = "unix:" + path;
        UnixDomainSocketAddress address;
        try {
            address = UnixDomainSocketAddress.of(path);
        } catch (InvalidPathException e) {
            throw ClientException.usage("invalid value for --path: '" + path + "' ("
                    + e.getReason() + ")");
        }
        UnixChannel channel;
        try {
            channel = UnixChannel.connect(address, timeoutMs);
        } catch (SocketTimeoutException e) {
            throw new ClientException(ExitCode.TIMEOUT,
                    "timed out after " + timeoutMs + " ms connecting to " + peer, e);
        } catch (IOException | UnsupportedOperationException e) {
            throw new ClientException(ExitCode.CONNECT,
                    "could not connect to " + peer + ": " + Failures.describe(e), e);
        }
        Endpoint endpoint = new Endpoint() {
            @Override
            public void shutdownOutput() throws IOException {
                channel.shutdownOutput();
            }

            @Override
            public void close() {
                channel.close();
            }
        };
        return new Connection(endpoint, channel.input(), channel.output(),
                "pid:" + ProcessHandle.current().pid(), peer);
    }

    /**
     * Connects to the first of {@code addresses} that accepts, each attempt limited to
     * {@code timeoutMs}. No retries.
     *
     * @throws ClientException {@link ExitCode#TIMEOUT} when the (last) attempt timed out,
     *                         {@link ExitCode#CONNECT} for any other connect failure
     */
    static Connection open(List<InetAddress> addresses, int port, int timeoutMs)
            throws ClientException {
        if (addresses.isEmpty()) {
            throw new ClientException(ExitCode.CONNECT, "no address to connect to");
        }
        IOException last = null;
        InetAddress lastAddress = null;
        for (InetAddress address : addresses) {
            Socket socket = new Socket();
            try {
                socket.connect(new InetSocketAddress(address, port), timeoutMs);
            } catch (IOException e) {
                closeQuietly(socket);
                last = e;
                lastAddress = address;
                continue;
            }
            // Connected: anything failing from here on (the peer already reset us, say) is a
            // broken connection, not a failure to connect.
            try {
                return ofSocket(socket, timeoutMs);
            } catch (IOException e) {
                closeQuietly(socket);
                throw new ClientException(ExitCode.FAILURE, "connection to "
                        + Addresses.format(address, port) + " broke at once: "
                        + Failures.describe(e), e);
            }
        }
        String target = Addresses.format(lastAddress, port);
        if (last instanceof SocketTimeoutException) {
            throw new ClientException(ExitCode.TIMEOUT,
                    "timed out after " + timeoutMs + " ms connecting to " + target, last);
        }
        if (isReset(last)) {
            // The handshake completed and the peer reset at once; connect() can report that
            // itself when the RST wins the race with it. The server was there: exit 1, not 3.
            throw new ClientException(ExitCode.FAILURE,
                    "connection to " + target + " was reset: " + Failures.describe(last), last);
        }
        throw new ClientException(ExitCode.CONNECT,
                "could not connect to " + target + ": " + Failures.describe(last), last);
    }

    private static boolean isReset(IOException e) {
        return !(e instanceof java.net.ConnectException) && e.getMessage() != null
                && e.getMessage().toLowerCase(java.util.Locale.ROOT).contains("connection reset");
    }

    DataInputStream in() {
        return in;
    }

    DataOutputStream out() {
        return out;
    }

    /** The client socket's own address, e.g. {@code 127.0.0.1:51234} or {@code pid:4242}. */
    String local() {
        return local;
    }

    /** The server address connected to, e.g. {@code [::1]:8099} or {@code unix:/tmp/s.sock}. */
    String peer() {
        return peer;
    }

    /** Half-closes: the server reads EOF. */
    void shutdownOutput() throws IOException {
        out.flush();
        endpoint.shutdownOutput();
    }

    /** Reads and discards everything until EOF (each read limited by the socket timeout). */
    void drainToEof() throws IOException {
        byte[] sink = new byte[8192];
        while (in.read(sink) >= 0) {
            // discard
        }
    }

    @Override
    public void close() {
        endpoint.close();
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing useful to do
        }
    }
}
