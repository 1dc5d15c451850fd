package interop.client;

/**
 * A message that was delivered (raw: the server closed the connection; framed: its
 * acknowledgement checked out).
 *
 * @param seq      the message's number on its connection, from 1 (always 1 in raw mode)
 * @param local    the client socket's own address, formatted per §1
 * @param peer     the server address the client connected to, formatted per §1
 * @param mode     the transfer mode
 * @param message  what was sent
 * @param verified true when an acknowledgement was checked (framed mode)
 */
public record Delivery(int seq, String local, String peer, Mode mode, Message message,
                       boolean verified) {
}
