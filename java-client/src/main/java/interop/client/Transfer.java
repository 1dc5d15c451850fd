package interop.client;

import java.io.IOException;
import java.net.InetAddress;
import java.util.List;

/** Sends messages to the server over one transport and in one mode, reporting each delivery. */
interface Transfer {

    /**
     * Sends {@code messages} in order, calling {@code reporter} once per delivered message.
     *
     * @throws ClientException at the first failure
     */
    void send(List<Message> messages, Reporter reporter) throws ClientException;

    /** Opens a new stream connection to the server (TCP or Unix). */
    @FunctionalInterface
    interface Connector {
        Connection open() throws ClientException;
    }

    /**
     * The transfer {@code options} ask for.
     *
     * @param addresses the resolved {@code --host} (unused over a Unix socket)
     */
    static Transfer create(Options options, List<InetAddress> addresses) {
        int timeoutMs = options.timeoutMs();
        Transport transport = options.transport();
        if (transport == Transport.UDP) {
            return new UdpTransfer(addresses, options.port(), timeoutMs, options.mode());
        }
        Connector connector = transport == Transport.UNIX
                ? () -> Connection.openUnix(options.path(), timeoutMs)
                : () -> Connection.open(addresses, options.port(), timeoutMs);
        return switch (options.mode()) {
            case RAW -> new RawTransfer(connector, transport, timeoutMs);
            case FRAMED -> new FramedTransfer(connector, transport, timeoutMs,
                    options.pipelined(), options.halfClose());
        };
    }

    /** Reports a delivery; a failure to write stdout is exit code 1. */
    static void report(Reporter reporter, Delivery delivery) throws ClientException {
        try {
            reporter.delivered(delivery);
        } catch (IOException e) {
            throw new ClientException(ExitCode.FAILURE,
                    "cannot write to stdout: " + Failures.describe(e), e);
        }
    }
}
