package interop.client;

import java.io.IOException;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.util.List;
import java.util.Optional;

/**
 * Framed mode (§3): every message on one connection, stop-and-wait, each acknowledgement verified
 * (§3.4).
 */
final class FramedTransfer implements Transfer {
    private final List<InetAddress> addresses;
    private final int port;
    private final int timeoutMs;

    FramedTransfer(List<InetAddress> addresses, int port, int timeoutMs) {
        this.addresses = List.copyOf(addresses);
        this.port = port;
        this.timeoutMs = timeoutMs;
    }

    @Override
    public void send(List<Message> messages, Reporter reporter) throws ClientException {
        try (Connection connection = Connection.open(addresses, port, timeoutMs)) {
            int seq = 0;
            for (Message message : messages) {
                seq++;
                writeFrame(connection, seq, message);
                Reply reply = Reply.parse(readReply(connection, seq));
                verify(reply, seq, message);
                Transfer.report(reporter,
                        new Delivery(seq, connection.local(), connection.peer(), Mode.FRAMED,
                                message, true));
            }
            try {
                connection.shutdownOutput();
            } catch (IOException e) {
                // Every message is acknowledged already; the server may have closed first.
            }
        }
    }

    private void writeFrame(Connection connection, int seq, Message message)
            throws ClientException {
        try {
            Framing.writeFrame(connection.out(), message.bytes());
        } catch (IOException e) {
            if (!(e instanceof SocketTimeoutException)) {
                // The server may have rejected the frame (ERR too-large ...) and closed.
                Optional<Reply.Err> err = tryReadErr(connection);
                if (err.isPresent()) {
                    throw rejected(seq, err.get());
                }
            }
            throw Failures.io("sending message " + seq + " (" + message.length() + " bytes) to "
                    + connection.peer(), e, timeoutMs);
        }
    }

    private byte[] readReply(Connection connection, int seq) throws ClientException {
        Optional<byte[]> frame;
        try {
            frame = Framing.readFrame(connection.in(), Reply.MAX_REPLY_BYTES);
        } catch (Framing.FrameException e) {
            throw ClientException.protocol("bad reply to message " + seq + " from "
                    + connection.peer() + ": " + e.getMessage());
        } catch (IOException e) {
            throw Failures.io("waiting for the acknowledgement of message " + seq + " from "
                    + connection.peer(), e, timeoutMs);
        }
        return frame.orElseThrow(() -> ClientException.protocol("server " + connection.peer()
                + " closed the connection before acknowledging message " + seq));
    }

    private static void verify(Reply reply, int seq, Message message) throws ClientException {
        Reply.Ack expected = Reply.Ack.expected(seq, message);
        if (reply instanceof Reply.Err err) {
            throw rejected(seq, err);
        }
        Reply.Ack ack = (Reply.Ack) reply;
        if (!ack.equals(expected)) {
            throw ClientException.protocol("acknowledgement mismatch for message " + seq
                    + ": expected \"" + expected.text() + "\", got \"" + ack.text() + "\"");
        }
    }

    private static ClientException rejected(int seq, Reply.Err err) {
        return ClientException.protocol("server rejected message " + seq + ": " + err.text());
    }

    /** After a failed write: the reply frame the server may have sent before closing, if ERR. */
    private static Optional<Reply.Err> tryReadErr(Connection connection) {
        try {
            Optional<byte[]> frame = Framing.readFrame(connection.in(), Reply.MAX_REPLY_BYTES);
            if (frame.isPresent() && Reply.parse(frame.get()) instanceof Reply.Err err) {
                return Optional.of(err);
            }
        } catch (IOException | ClientException e) {
            // nothing readable: report the write failure instead
        }
        return Optional.empty();
    }
}
