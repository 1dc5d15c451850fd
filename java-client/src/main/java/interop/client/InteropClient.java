package interop.client;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The interop client (docs/PROTOCOL.md §6): sends messages to an interop server in raw or framed
 * mode, over TCP, a Unix domain socket or UDP (§10), and prints each delivered message.
 */
public final class InteropClient {
    private InteropClient() {
    }

    public static void main(String[] args) {
        // Bytes straight to file descriptor 1: UTF-8 whatever the platform default, and write
        // errors (a closed pipe) are reported instead of swallowed as PrintStream would.
        OutputStream stdout = new FileOutputStream(FileDescriptor.out);
        PrintStream stderr = new PrintStream(new FileOutputStream(FileDescriptor.err), true,
                StandardCharsets.UTF_8);
        System.exit(run(NativeArgs.recover(args), stdout, stderr));
    }

    /**
     * Runs the client. Never calls {@link System#exit}.
     *
     * @param stdout receives the output entries (flushed after each one)
     * @param stderr receives at most one {@code error: } line
     * @return the process exit code (§7)
     */
    public static int run(String[] args, OutputStream stdout, PrintStream stderr) {
        try {
            Options options = Options.parse(args);
            if (options.help()) {
                printUsage(stdout);
                return ExitCode.OK.code();
            }
            List<Message> messages = loadMessages(options);
            if (options.transport() == Transport.UDP) {
                UdpTransfer.checkSizes(messages); // before resolving or sending anything
            }
            List<InetAddress> addresses = options.transport() == Transport.UNIX
                    ? List.of() : resolve(options.host());
            Reporter reporter = Reporter.create(options.format(), stdout);
            Transfer.create(options, addresses).send(messages, reporter);
            return ExitCode.OK.code();
        } catch (ClientException e) {
            String hint = e.usageHint() ? " (see --help)" : "";
            stderr.println("error: " + e.getMessage() + hint);
            stderr.flush();
            return e.exitCode().code();
        } catch (RuntimeException | OutOfMemoryError e) {
            stderr.println("error: internal error: " + e);
            stderr.flush();
            return ExitCode.FAILURE.code();
        }
    }

    private static void printUsage(OutputStream stdout) throws ClientException {
        try {
            stdout.write(Options.USAGE.getBytes(StandardCharsets.UTF_8));
            stdout.flush();
        } catch (IOException e) {
            throw new ClientException(ExitCode.FAILURE,
                    "cannot write to stdout: " + Failures.describe(e), e);
        }
    }

    /**
     * The messages in sending order: every {@code --file}, then every MESSAGE; the default message
     * when there are neither. All files are read before anything is sent.
     */
    static List<Message> loadMessages(Options options) throws ClientException {
        List<Message> messages = new ArrayList<>();
        for (String file : options.files()) {
            messages.add(Message.of(readFile(file)));
        }
        for (String text : options.messages()) {
            messages.add(Message.ofText(text));
        }
        if (messages.isEmpty()) {
            messages.add(Message.ofText(Options.DEFAULT_MESSAGE));
        }
        return messages;
    }

    private static byte[] readFile(String file) throws ClientException {
        try {
            return Files.readAllBytes(Path.of(file));
        } catch (IOException | InvalidPathException e) {
            throw new ClientException(ExitCode.FAILURE,
                    "cannot read file '" + file + "': " + Failures.describe(e), e);
        } catch (OutOfMemoryError e) {
            throw new ClientException(ExitCode.FAILURE,
                    "cannot read file '" + file + "': too large", e);
        }
    }

    private static List<InetAddress> resolve(String host) throws ClientException {
        try {
            return List.of(InetAddress.getAllByName(host));
        } catch (UnknownHostException e) {
            throw new ClientException(ExitCode.CONNECT, "cannot resolve host '" + host + "'", e);
        } catch (SecurityException e) {
            throw new ClientException(ExitCode.CONNECT,
                    "cannot resolve host '" + host + "': " + e.getMessage(), e);
        }
    }
}
