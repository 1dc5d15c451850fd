package interop.client;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.util.List;
import java.util.Optional;

/**
 * Framed mode (§3): every message on one connection, each acknowledgement verified (§3.4). By
 * default stop-and-wait; with {@code --pipeline} all frames are written at once before any
 * acknowledgement is read, and with {@code --half-close} the write side is shut down after them
 * (§11).
 */
final class FramedTransfer implements Transfer {
    /** Pipelined frames up to this many bytes in all are written with a single write. */
    static final int SINGLE_WRITE_LIMIT = 16 * 1024 * 1024;

    private final Connector connector;
    private final Transport transport;
    private final int timeoutMs;
    private final boolean pipeline;
    private final boolean halfClose;

    FramedTransfer(Connector connector, Transport transport, int timeoutMs, boolean pipeline,
                   boolean halfClose) {
        this.connector = connector;
        this.transport = transport;
        this.timeoutMs = timeoutMs;
        this.pipeline = pipeline || halfClose;
        this.halfClose = halfClose;
    }

    @Override
    public void send(List<Message> messages, Reporter reporter) throws ClientException {
        try (Connection connection = connector.open()) {
            if (pipeline) {
                sendPipelined(connection, messages, reporter);
            } else {
                sendStopAndWait(connection, messages, reporter);
            }
        }
    }

    private void sendStopAndWait(Connection connection, List<Message> messages,
                                 Reporter reporter) throws ClientException {
        int seq = 0;
        for (Message message : messages) {
            seq++;
            writeFrame(connection, seq, message);
            Reply reply = Reply.parse(readReply(connection, seq));
            verify(reply, seq, message);
            report(reporter, connection, seq, message);
        }
        try {
            connection.shutdownOutput();
        } catch (IOException e) {
            // Every message is acknowledged already; the server may have closed first.
        }
    }

    /**
     * §11: all frames back to back (one write where they fit {@link #SINGLE_WRITE_LIMIT}), with
     * {@code --half-close} then the write side shut down, and only then every acknowledgement
     * read and verified in order.
     */
    private void sendPipelined(Connection connection, List<Message> messages, Reporter reporter)
            throws ClientException {
        IOException writeFailure = null;
        try {
            writeAllFrames(connection, messages);
            if (halfClose) {
                connection.shutdownOutput();
            }
        } catch (IOException e) {
            if (e instanceof SocketTimeoutException) {
                throw Failures.io("sending " + describeBatch(messages) + " to "
                        + connection.peer(), e, timeoutMs);
            }
            // The server may have acknowledged some frames and rejected one (ERR too-large)
            // before closing: read what it sent, then report the write failure.
            writeFailure = e;
        }

        int seq = 0;
        for (Message message : messages) {
            seq++;
            Reply reply;
            if (writeFailure == null) {
                reply = Reply.parse(readReply(connection, seq));
            } else {
                Optional<Reply> salvaged = tryReadReply(connection);
                if (salvaged.isEmpty()) {
                    throw Failures.io("sending " + describeBatch(messages) + " to "
                            + connection.peer(), writeFailure, timeoutMs);
                }
                reply = salvaged.get();
            }
            verify(reply, seq, message);
            report(reporter, connection, seq, message);
        }

        if (halfClose) {
            // "reads every acknowledgement, then EOF"; everything is delivered already, so
            // nothing after the last acknowledgement is a failure (§3.2).
            try {
                connection.drainToEof();
            } catch (IOException e) {
                // ignored
            }
        } else {
            try {
                connection.shutdownOutput();
            } catch (IOException e) {
                // Every message is acknowledged already; the server may have closed first.
            }
        }
    }

    /** Writes every frame without reading in between, then flushes. */
    private static void writeAllFrames(Connection connection, List<Message> messages)
            throws IOException {
        long total = 0;
        for (Message message : messages) {
            total += Framing.HEADER_BYTES + (long) message.length();
        }
        if (total <= SINGLE_WRITE_LIMIT) {
            byte[] batch = new byte[(int) total];
            int at = 0;
            for (Message message : messages) {
                int length = message.length();
                batch[at] = (byte) (length >>> 24);
                batch[at + 1] = (byte) (length >>> 16);
                batch[at + 2] = (byte) (length >>> 8);
                batch[at + 3] = (byte) length;
                System.arraycopy(message.bytes(), 0, batch, at + Framing.HEADER_BYTES, length);
                at += Framing.HEADER_BYTES + length;
            }
            connection.out().write(batch);
        } else {
            for (Message message : messages) {
                connection.out().writeInt(message.length());
                connection.out().write(message.bytes());
            }
        }
        connection.out().flush();
    }

    private static String describeBatch(List<Message> messages) {
        long bytes = 0;
        for (Message message : messages) {
            bytes += message.length();
        }
        return messages.size() + (messages.size() == 1 ? " message (" : " messages (") + bytes
                + " bytes in all)";
    }

    private void report(Reporter reporter, Connection connection, int seq, Message message)
            throws ClientException {
        Transfer.report(reporter, new Delivery(seq, connection.local(), connection.peer(),
                Mode.FRAMED, message, true, transport));
    }

    private void writeFrame(Connection connection, int seq, Message message)
            throws ClientException {
        try {
            Framing.writeFrame(connection.out(), message.bytes());
        } catch (IOException e) {
            if (!(e instanceof SocketTimeoutException)) {
                // The server may have rejected the frame (ERR too-large ...) and closed.
                Optional<Reply> reply = tryReadReply(connection);
                if (reply.isPresent() && reply.get() instanceof Reply.Err err) {
                    throw rejected(seq, err);
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

    /**
     * Checks that {@code reply} is exactly the acknowledgement of message number {@code seq}
     * (§3.4; over UDP, §10.3).
     *
     * @throws ClientException {@link ExitCode#PROTOCOL} for an {@code ERR} or a mismatch
     */
    static void verify(Reply reply, int seq, Message message) throws ClientException {
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

    /**
     * An {@code ERR} reply to message {@code seq}, reported as §3.3 words it: a phrase for the
     * code, then the reply as received.
     */
    static ClientException rejected(int seq, Reply.Err err) {
        String what = switch (err.code()) {
            case "busy" -> "server is busy";
            case "output" -> "server could not log message " + seq;
            default -> "server rejected message " + seq;
        };
        return ClientException.protocol(what + ": " + err.text());
    }

    /** After a failed write: the next reply frame the server sent before closing, if any. */
    private static Optional<Reply> tryReadReply(Connection connection) {
        try {
            Optional<byte[]> frame = Framing.readFrame(connection.in(), Reply.MAX_REPLY_BYTES);
            if (frame.isPresent()) {
                return Optional.of(Reply.parse(frame.get()));
            }
        } catch (IOException | ClientException e) {
            // nothing readable: report the write failure instead
        }
        return Optional.empty();
    }
}
