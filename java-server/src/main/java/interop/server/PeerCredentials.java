package interop.server;

import java.io.FileDescriptor;
import java.lang.reflect.Method;
import java.nio.channels.SocketChannel;

/**
 * The process id of a Unix socket's peer (§10.2 prints a client as {@code pid:<pid>}), read with
 * {@code getsockopt(SO_PEERCRED)}.
 *
 * <p>The JDK exposes {@code SO_PEERCRED} only as {@code jdk.net.ExtendedSocketOptions.SO_PEERCRED},
 * a {@code UnixDomainPrincipal} of user and group: it drops the pid. So this reads it through the
 * JDK's own native {@code sun.nio.ch.Net.getIntOption0}, which calls {@code getsockopt} with room
 * for one {@code int}: Linux then copies the first field of {@code struct ucred}, the pid. That
 * needs {@code --add-opens java.base/sun.nio.ch=ALL-UNNAMED} (or the jar's {@code Add-Opens}
 * manifest entry); without it, or on a JDK without that method, the peer is {@code pid:unknown}.
 */
final class PeerCredentials {
    private static final int SOL_SOCKET = 1; // Linux
    private static final int SO_PEERCRED = 17; // Linux

    private static final Method GET_INT_OPTION = lookUp();

    private PeerCredentials() {
    }

    private static Method lookUp() {
        try {
            Class<?> net = Class.forName("sun.nio.ch.Net");
            Method method = net.getDeclaredMethod("getIntOption0", FileDescriptor.class,
                    boolean.class, int.class, int.class);
            method.setAccessible(true);
            return method;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null; // not opened to us (InaccessibleObjectException), or another JDK
        }
    }

    /** Whether peers can be named at all in this JVM. */
    static boolean available() {
        return GET_INT_OPTION != null;
    }

    /** {@code pid:<pid>} of the process that connected {@code channel}, or {@code pid:unknown}. */
    static String peerName(SocketChannel channel) {
        if (GET_INT_OPTION == null) {
            return "pid:unknown";
        }
        try {
            Method getFd = channel.getClass().getMethod("getFD");
            getFd.setAccessible(true);
            FileDescriptor fd = (FileDescriptor) getFd.invoke(channel);
            int pid = (Integer) GET_INT_OPTION.invoke(null, fd, false, SOL_SOCKET, SO_PEERCRED);
            return pid > 0 ? "pid:" + pid : "pid:unknown";
        } catch (ReflectiveOperationException | RuntimeException e) {
            return "pid:unknown";
        }
    }
}
