package interop.client;

/**
 * A message that was delivered (raw: the server closed the connection; framed and UDP: its
 * acknowledgement checked out).
 *
 * @param seq       the message's number on its connection (UDP: socket), from 1 (always 1 in raw
 *                  mode)
 * @param local     the client socket's own address, formatted per §1 ({@code pid:<pid>} over a
 *                  Unix socket, §10.2)
 * @param peer      the server address the client connected to, formatted per §1
 *                  ({@code unix:PATH} over a Unix socket)
 * @param mode      the transfer mode (over UDP: the {@code --mode} given, which does not apply)
 * @param message   what was sent
 * @param verified  true when an acknowledgement was checked (framed mode, UDP)
 * @param transport what carried the message
 */
public record Delivery(int seq, String local, String peer, Mode mode, Message message,
                       boolean verified, Transport transport) {

    /** A delivery over TCP. */
    public Delivery(int seq, String local, String peer, Mode mode, Message message,
                    boolean verified) {
        this(seq, local, peer, mode, message, verified, Transport.TCP);
    }
}
