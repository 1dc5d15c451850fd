package interop.client;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.util.Arrays;
import java.util.List;

/**
 * UDP (§10.3): one connected socket, one datagram per message, each answered by one
 * {@code ACK <seq> <length> <sha256>} datagram that is verified like a framed acknowledgement,
 * {@code seq} counting this socket's messages from 1. Nothing is retried.
 */
final class UdpTransfer implements Transfer {
    /** The largest message one datagram carries (the IPv4 limit, 65,535 - 8 - 20). */
    static final int MAX_DATAGRAM_BYTES = 65_507;

    private final List<InetAddress> addresses;
    private final int port;
    private final int timeoutMs;
    private final Mode mode;

    UdpTransfer(List<InetAddress> addresses, int port, int timeoutMs, Mode mode) {
        this.addresses = List.copyOf(addresses);
        this.port = port;
        this.timeoutMs = timeoutMs;
        this.mode = mode;
    }

    /**
     * Refuses, before anything is sent, a message that does not fit one datagram.
     *
     * @throws ClientException {@link ExitCode#USAGE}
     */
    static void checkSizes(List<Message> messages) throws ClientException {
        int number = 0;
        for (Message message : messages) {
            number++;
            if (message.length() > MAX_DATAGRAM_BYTES) {
                throw ClientException.refused("message " + number + " is " + message.length()
                        + " bytes; a UDP datagram carries at most " + MAX_DATAGRAM_BYTES);
            }
        }
    }

    @Override
    public void send(List<Message> messages, Reporter reporter) throws ClientException {
        checkSizes(messages);
        try (DatagramSocket socket = open()) {
            String local = Addresses.format(socket.getLocalAddress(), socket.getLocalPort());
            String peer = Addresses.format(socket.getInetAddress(), socket.getPort());
            // One byte more than the longest acceptable reply, to tell a too-long one.
            byte[] buffer = new byte[Reply.MAX_REPLY_BYTES + 1];
            int seq = 0;
            for (Message message : messages) {
                seq++;
                String what = "message " + seq + " (" + message.length() + " bytes)";
                try {
                    sendDatagram(socket, message);
                } catch (IOException e) {
                    throw failure("sending " + what + " to " + peer, e);
                }
                DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
                try {
                    socket.receive(packet);
                } catch (IOException e) {
                    throw failure("waiting for the acknowledgement of " + what + " from " + peer,
                            e);
                }
                if (packet.getLength() > Reply.MAX_REPLY_BYTES) {
                    throw ClientException.protocol("bad reply to message " + seq + " from "
                            + peer + ": datagram longer than " + Reply.MAX_REPLY_BYTES
                            + " bytes");
                }
                byte[] payload = Arrays.copyOfRange(packet.getData(), packet.getOffset(),
                        packet.getOffset() + packet.getLength());
                FramedTransfer.verify(Reply.parse(payload), seq, message);
                Transfer.report(reporter,
                        new Delivery(seq, local, peer, mode, message, true, Transport.UDP));
            }
        }
    }

    /** A UDP socket connected to the first address that takes it, reads limited by the timeout. */
    private DatagramSocket open() throws ClientException {
        if (addresses.isEmpty()) {
            throw new ClientException(ExitCode.CONNECT, "no address to connect to");
        }
        IOException last = null;
        InetAddress lastAddress = null;
        for (InetAddress address : addresses) {
            DatagramSocket socket = null;
            try {
                socket = new DatagramSocket(null);
                socket.setReuseAddress(true); // see sendDatagram
                socket.bind(null);
                socket.connect(new InetSocketAddress(address, port));
                socket.setSoTimeout(timeoutMs);
                return socket;
            } catch (IOException e) {
                if (socket != null) {
                    socket.close();
                }
                last = e;
                lastAddress = address;
            }
        }
        throw new ClientException(ExitCode.CONNECT, "could not connect to "
                + Addresses.format(lastAddress, port) + ": " + Failures.describe(last), last);
    }

    /**
     * Sends {@code message} as one datagram from the socket's address. The JDK sends nothing at
     * all for an empty buffer on a connected socket (its write path returns 0 early), so the empty
     * message goes out through a short-lived unconnected twin socket bound to the same local
     * address and port ({@code SO_REUSEADDR} on both): the server sees the same peer, and its
     * reply, or an ICMP error, still reaches the connected socket, the best match for it.
     */
    private static void sendDatagram(DatagramSocket socket, Message message) throws IOException {
        if (message.length() > 0) {
            socket.send(new DatagramPacket(message.bytes(), message.length()));
            return;
        }
        try (DatagramSocket twin = new DatagramSocket(null)) {
            twin.setReuseAddress(true);
            twin.bind(new InetSocketAddress(socket.getLocalAddress(), socket.getLocalPort()));
            twin.send(new DatagramPacket(message.bytes(), 0, socket.getRemoteSocketAddress()));
        }
    }

    /**
     * ICMP port unreachable (reported as "connection refused") is exit code 3, a timeout 4,
     * anything else 1.
     */
    private ClientException failure(String doing, IOException e) {
        if (e instanceof PortUnreachableException) {
            return new ClientException(ExitCode.CONNECT, doing + ": port unreachable"
                    + " (nothing listens there)", e);
        }
        if (e instanceof SocketTimeoutException) {
            return new ClientException(ExitCode.TIMEOUT, "timed out after " + timeoutMs
                    + " ms " + doing + " (a lost datagram is not retried)", e);
        }
        return Failures.io(doing, e, timeoutMs);
    }
}
