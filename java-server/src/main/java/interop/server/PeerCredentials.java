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

    /** {@code sun.nio.ch.SocketChannelImpl.getFD()}: a channel's file descriptor. */
    private static final Method GET_FD = lookUp("sun.nio.ch.SocketChannelImpl", "getFD");
    /** {@code sun.nio.ch.Net.getIntOption0(FileDescriptor, boolean, int, int)}. */
    private static final Method GET_INT_OPTION = lookUp("sun.nio.ch.Net", "getIntOption0",
            FileDescriptor.class, boolean.class, int.class, int.class);

    private PeerCredentials() {
    }

    private static Method lookUp(String className, String name, Class<?>... parameters) {
        try {
            Method method = Class.forName(className).getDeclaredMethod(name, parameters);
            method.setAccessible(true);
            return method;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null; // not opened to us (InaccessibleObjectException), or another JDK
        }
    }

    /** Whether peers can be named at all in this JVM. */
    static boolean available() {
        return GET_FD != null && GET_INT_OPTION != null;
    }

    /** {@code pid:<pid>} of the process that connected {@code channel}, or {@code pid:unknown}. */
    static String peerName(SocketChannel channel) {
        if (!available()) {
            return "pid:unknown";
        }
        try {
            FileDescriptor fd = (FileDescriptor) GET_FD.invoke(channel);
            int pid = (Integer) GET_INT_OPTION.invoke(null, fd, false, SOL_SOCKET, SO_PEERCRED);
            return pid > 0 ? "pid:" + pid : "pid:unknown";
        } catch (ReflectiveOperationException | RuntimeException e) {
            return "pid:unknown";
        }
    }
}
