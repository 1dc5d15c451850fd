package interop.client;

import java.io.IOException;
import java.util.List;

/** Raw mode (§2): one message per connection, ended by EOF, one connection after the other. */
final class RawTransfer implements Transfer {
    private final Connector connector;
    private final Transport transport;
    private final int timeoutMs;

    RawTransfer(Connector connector, Transport transport, int timeoutMs) {
        this.connector = connector;
        this.transport = transport;
        this.timeoutMs = timeoutMs;
    }

    @Override
    public void send(List<Message> messages, Reporter reporter) throws ClientException {
        int number = 0;
        for (Message message : messages) {
            number++;
            Delivery delivery = sendOne(message, number);
            Transfer.report(reporter, delivery);
        }
    }

    private Delivery sendOne(Message message, int number) throws ClientException {
        try (Connection connection = connector.open()) {
            String what = "message " + number + " (" + message.length() + " bytes)";
            try {
                connection.out().write(message.bytes());
                connection.shutdownOutput();
            } catch (IOException e) {
                throw Failures.io("sending " + what + " to " + connection.peer(), e, timeoutMs);
            }
            try {
                connection.drainToEof();
            } catch (IOException e) {
                throw Failures.io("waiting for " + connection.peer()
                        + " to close the connection after " + what, e, timeoutMs);
            }
            return new Delivery(1, connection.local(), connection.peer(), Mode.RAW, message, false,
                    transport);
        }
    }
}
