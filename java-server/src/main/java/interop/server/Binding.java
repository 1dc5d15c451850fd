package interop.server;

import java.io.IOException;
import java.net.ConnectException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProtocolFamily;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;

/** Binds what the server listens on (§5, §10): every failure is a {@link StartException}. */
final class Binding {
    private static final int BACKLOG = 1024;
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    private Binding() {
    }

    /** A listening Unix socket, and what removes its file at exit. */
    record UnixListener(ServerSocketChannel channel, Path path, Object fileKey) {
        /** Removes the socket file, if it is still the one this server bound. */
        void removeFile() {
            try {
                Object now = Files.readAttributes(path, BasicFileAttributes.class,
                        LinkOption.NOFOLLOW_LINKS).fileKey();
                if (Objects.equals(now, fileKey)) {
                    Files.deleteIfExists(path);
                }
            } catch (IOException e) {
                // gone already, or not ours to remove
            }
        }
    }

    /** Listens on the first address of {@code host} that works, with {@code SO_REUSEADDR}. */
    static ServerSocketChannel tcp(String host, int port) throws StartException {
        String where = host + ":" + port;
        IOException last = null;
        for (InetAddress address : resolve(host, where)) {
            ServerSocketChannel channel = null;
            try {
                channel = ServerSocketChannel.open(family(address));
                // So that a server killed with connections open can be started again at once.
                channel.setOption(StandardSocketOptions.SO_REUSEADDR, true);
                channel.bind(new InetSocketAddress(address, port), BACKLOG);
                return channel;
            } catch (IOException e) {
                last = e;
                if (channel != null) {
                    Sockets.closeQuietly(channel);
                }
            }
        }
        throw new StartException("cannot listen on " + where + ": " + describe(last));
    }

    /** Binds a UDP socket on the first address of {@code host} that works. */
    static DatagramChannel udp(String host, int port) throws StartException {
        String where = host + ":" + port;
        IOException last = null;
        for (InetAddress address : resolve(host, where)) {
            DatagramChannel channel = null;
            try {
                channel = DatagramChannel.open(family(address));
                channel.bind(new InetSocketAddress(address, port));
                return channel;
            } catch (IOException e) {
                last = e;
                if (channel != null) {
                    Sockets.closeQuietly(channel);
                }
            }
        }
        throw new StartException("cannot bind udp " + where + ": " + describe(last));
    }

    /**
     * Listens on a Unix socket at {@code path} (§10.2): a socket file there that nobody listens
     * on is a stale one from an earlier run and is removed first; one that someone listens on is
     * "address in use"; anything that is not a socket is an error and is never deleted.
     */
    static UnixListener unix(String path) throws StartException {
        String where = "unix:" + path;
        Path file = Path.of(path);
        removeStaleSocket(file, where);
        ServerSocketChannel channel = null;
        try {
            channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            channel.bind(UnixDomainSocketAddress.of(file), BACKLOG);
            Object fileKey = Files.readAttributes(file, BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS).fileKey();
            return new UnixListener(channel, file, fileKey);
        } catch (IOException e) {
            if (channel != null) {
                Sockets.closeQuietly(channel);
            }
            String reason = "Address already in use".equals(e.getMessage())
                    ? "address in use" : Failures.describe(e);
            throw new StartException("cannot listen on " + where + ": " + reason, e);
        }
    }

    private static void removeStaleSocket(Path file, String where) throws StartException {
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return;
        } catch (IOException e) {
            throw new StartException("cannot listen on " + where + ": " + Failures.describe(e), e);
        }
        if (!isSocket(file, attributes)) {
            throw new StartException("cannot listen on " + where + ": " + file
                    + " exists and is not a socket");
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            // Non-blocking: a live server with a full backlog must not hold us up.
            probe.configureBlocking(false);
            probe.connect(UnixDomainSocketAddress.of(file));
        } catch (ConnectException e) {
            // Nobody listens: a stale file from an earlier run.
            try {
                Files.deleteIfExists(file);
            } catch (IOException removing) {
                throw new StartException("cannot listen on " + where
                        + ": cannot remove stale socket: " + Failures.describe(removing), removing);
            }
            return;
        } catch (IOException e) {
            throw new StartException("cannot listen on " + where + ": " + Failures.describe(e), e);
        }
        throw new StartException("cannot listen on " + where + ": address in use");
    }

    private static boolean isSocket(Path file, BasicFileAttributes attributes) {
        try {
            Object mode = Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            return ((Integer) mode & S_IFMT) == S_IFSOCK;
        } catch (IOException | RuntimeException e) {
            return attributes.isOther(); // no "unix" view: a socket, fifo or device
        }
    }

    private static InetAddress[] resolve(String host, String where) throws StartException {
        try {
            return InetAddress.getAllByName(host);
        } catch (UnknownHostException e) {
            throw new StartException("cannot listen on " + where
                    + ": failed to lookup address information: Name or service not known", e);
        }
    }

    private static ProtocolFamily family(InetAddress address) {
        return address instanceof Inet6Address ? StandardProtocolFamily.INET6
                : StandardProtocolFamily.INET;
    }

    private static String describe(IOException e) {
        return e == null ? "no addresses to bind" : Failures.describe(e);
    }
}
