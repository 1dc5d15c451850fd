package interop.client;

import java.io.IOException;
import java.net.InetAddress;
import java.util.List;

/** Sends messages to the server in one of the two modes, reporting each delivered one. */
interface Transfer {

    /**
     * Sends {@code messages} in order, calling {@code reporter} once per delivered message.
     *
     * @throws ClientException at the first failure
     */
    void send(List<Message> messages, Reporter reporter) throws ClientException;

    static Transfer create(Mode mode, List<InetAddress> addresses, int port, int timeoutMs) {
        return switch (mode) {
            case RAW -> new RawTransfer(addresses, port, timeoutMs);
            case FRAMED -> new FramedTransfer(addresses, port, timeoutMs);
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
