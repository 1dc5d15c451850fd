package interop.client;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The parsed command line (§6). Build one with {@link #parse(String...)}.
 *
 * @param host      server host name or IP literal
 * @param port      server port, 1-65535
 * @param mode      raw or framed
 * @param format    text or json
 * @param timeoutMs limit for connecting and for each read or write, in milliseconds
 * @param transport tcp, unix or udp (§10)
 * @param path      the Unix socket's path ({@code --path}), or {@code null} when not given
 * @param pipeline  framed mode: write all frames at once, then read the acknowledgements (§11)
 * @param halfClose like {@code pipeline}, shutting down the write side before reading (§11)
 * @param files     paths given with {@code --file}, in order
 * @param messages  positional MESSAGE arguments, in order
 * @param help      {@code -h}/{@code --help} was given
 */
public record Options(
        String host,
        int port,
        Mode mode,
        OutputFormat format,
        int timeoutMs,
        Transport transport,
        String path,
        boolean pipeline,
        boolean halfClose,
        List<String> files,
        List<String> messages,
        boolean help) {

    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 8099;
    public static final int DEFAULT_TIMEOUT_MS = 10_000;
    public static final String DEFAULT_MESSAGE = "Hello SocketServer!!!";
    /** The longest Unix socket path Linux accepts, in bytes (§10.2). */
    public static final int MAX_UNIX_PATH_BYTES = 107;

    public static final String USAGE = """
            usage: interop-client [--host H] [--port P] [--mode raw|framed] [--format text|json]
                                  [--timeout-ms N] [--transport tcp|unix|udp] [--path PATH]
                                  [--pipeline] [--half-close] [--file PATH]... [MESSAGE ...]

            Send messages to an interop server (see docs/PROTOCOL.md).

            options:
              --host H          server host name or IP, IPv6 without brackets (default 127.0.0.1)
              --port P          server port, 1-65535 (default 8099)
              --mode M          raw (one message per connection) or framed (default raw)
              --format F        text or json output (default text)
              --timeout-ms N    limit in ms for connecting and each read or write (default 10000)
              --transport T     tcp, unix (with --path) or udp (default tcp); over udp each
                                message is one acknowledged datagram and --mode is ignored
              --path PATH       the Unix socket's path, with --transport unix (at most 107 bytes)
              --pipeline        framed mode over tcp or unix: write all frames at once, then read
                                and verify the acknowledgements
              --half-close      like --pipeline, and shut down the write side before reading
              --file PATH       send the file's bytes as one message; may be repeated
              -h, --help        print this help and exit
              --                end of options

            Messages are sent in this order: every --file, then every MESSAGE.
            With neither, the message "Hello SocketServer!!!" is sent.

            exit codes: 0 ok, 1 other failure, 2 usage error, 3 could not connect,
                        4 timeout, 5 protocol error
            """;

    public Options {
        files = List.copyOf(files);
        messages = List.copyOf(messages);
    }

    /** Options that only ask for help. */
    static Options helpOnly() {
        return new Options(DEFAULT_HOST, DEFAULT_PORT, Mode.RAW, OutputFormat.TEXT,
                DEFAULT_TIMEOUT_MS, Transport.TCP, null, false, false, List.of(), List.of(), true);
    }

    /**
     * Parses the arguments left to right. {@code -h}/{@code --help} stops parsing and yields
     * options with {@link #help()} set.
     *
     * @throws ClientException with {@link ExitCode#USAGE} on anything malformed
     */
    public static Options parse(String... args) throws ClientException {
        String host = DEFAULT_HOST;
        int port = DEFAULT_PORT;
        Mode mode = Mode.RAW;
        OutputFormat format = OutputFormat.TEXT;
        int timeoutMs = DEFAULT_TIMEOUT_MS;
        Transport transport = Transport.TCP;
        String path = null;
        boolean pipeline = false;
        boolean halfClose = false;
        List<String> files = new ArrayList<>();
        List<String> messages = new ArrayList<>();

        boolean optionsEnded = false;
        int i = 0;
        while (i < args.length) {
            String arg = args[i++];
            if (optionsEnded || !arg.startsWith("-") || arg.equals("-")) {
                messages.add(arg);
                continue;
            }
            if (arg.equals("--")) {
                optionsEnded = true;
                continue;
            }
            if (arg.equals("-h") || arg.equals("--help")) {
                return helpOnly();
            }
            if (!arg.startsWith("--")) {
                throw ClientException.usage("unknown option: " + arg);
            }

            int eq = arg.indexOf('=');
            String name = eq < 0 ? arg : arg.substring(0, eq);
            String inline = eq < 0 ? null : arg.substring(eq + 1);
            if (isFlag(name)) {
                if (inline != null) {
                    throw ClientException.usage("option " + name + " does not take a value");
                }
                switch (name) {
                    case "--pipeline" -> pipeline = true;
                    case "--half-close" -> halfClose = true;
                    default -> throw new AssertionError(name);
                }
                continue;
            }
            if (name.equals("--help")) {
                throw ClientException.usage("option --help does not take a value");
            }
            if (!takesValue(name)) {
                throw ClientException.usage("unknown option: " + name);
            }
            String value;
            if (inline != null) {
                value = inline;
            } else if (i < args.length) {
                value = args[i++];
            } else {
                throw ClientException.usage("option " + name + " requires a value");
            }

            switch (name) {
                case "--host" -> host = parseHost(value);
                case "--port" -> port = parsePort(value);
                case "--mode" -> mode = parseMode(value);
                case "--format" -> format = parseFormat(value);
                case "--timeout-ms" -> timeoutMs = parseTimeout(value);
                case "--transport" -> transport = parseTransport(value);
                case "--path" -> path = requireNonEmpty(name, value);
                case "--file" -> files.add(requireNonEmpty(name, value));
                default -> throw new AssertionError(name);
            }
        }
        checkCombination(transport, path, mode, pipeline, halfClose);
        return new Options(host, port, mode, format, timeoutMs, transport, path, pipeline,
                halfClose, files, messages, false);
    }

    /** The combinations §7 calls usage errors, and a Unix socket path that cannot fit. */
    private static void checkCombination(Transport transport, String path, Mode mode,
                                         boolean pipeline, boolean halfClose)
            throws ClientException {
        if (transport == Transport.UNIX) {
            if (path == null) {
                throw ClientException.usage("--transport unix requires --path");
            }
            int bytes = path.getBytes(StandardCharsets.UTF_8).length;
            if (bytes > MAX_UNIX_PATH_BYTES) {
                throw ClientException.refused("unix socket path too long: " + bytes
                        + " bytes, at most " + MAX_UNIX_PATH_BYTES);
            }
        }
        if (pipeline || halfClose) {
            String option = halfClose ? "--half-close" : "--pipeline";
            if (transport == Transport.UDP) {
                throw ClientException.usage(option
                        + " needs a stream transport (tcp or unix), not udp");
            }
            if (mode != Mode.FRAMED) {
                throw ClientException.usage(option + " requires --mode framed");
            }
        }
    }

    /** Whether {@code name} is an option without a value. */
    private static boolean isFlag(String name) {
        return name.equals("--pipeline") || name.equals("--half-close");
    }

    private static boolean takesValue(String name) {
        return switch (name) {
            case "--host", "--port", "--mode", "--format", "--timeout-ms", "--transport",
                 "--path", "--file" -> true;
            default -> false;
        };
    }

    /** Whether frames are written all at once before any acknowledgement is read (§11). */
    public boolean pipelined() {
        return pipeline || halfClose;
    }

    private static String requireNonEmpty(String option, String value) throws ClientException {
        if (value.isEmpty()) {
            throw ClientException.usage("option " + option + " requires a non-empty value");
        }
        return value;
    }

    private static String parseHost(String value) throws ClientException {
        String host = requireNonEmpty("--host", value);
        // Tolerate a bracketed IPv6 literal ("[::1]") although §6 asks for none.
        if (host.length() > 2 && host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return host;
    }

    private static int parsePort(String value) throws ClientException {
        long port = parseDecimal("--port", value);
        if (port < 1 || port > 65_535) {
            throw ClientException.usage("invalid value for --port: '" + value
                    + "' (expected an integer from 1 to 65535)");
        }
        return (int) port;
    }

    private static int parseTimeout(String value) throws ClientException {
        long ms = parseDecimal("--timeout-ms", value);
        if (ms < 1 || ms > Integer.MAX_VALUE) {
            throw ClientException.usage("invalid value for --timeout-ms: '" + value
                    + "' (expected a positive integer up to " + Integer.MAX_VALUE + ")");
        }
        return (int) ms;
    }

    /** Parses ASCII decimal digits only (no sign, no spaces); saturates instead of overflowing. */
    private static long parseDecimal(String option, String value) throws ClientException {
        if (value.isEmpty()) {
            throw ClientException.usage("option " + option + " requires a non-empty value");
        }
        long result = 0;
        for (int k = 0; k < value.length(); k++) {
            char c = value.charAt(k);
            if (c < '0' || c > '9') {
                throw ClientException.usage("invalid value for " + option + ": '" + value
                        + "' (expected a decimal integer)");
            }
            result = Math.min(Long.MAX_VALUE / 10, result * 10 + (c - '0'));
        }
        return result;
    }

    private static Mode parseMode(String value) throws ClientException {
        return switch (value) {
            case "raw" -> Mode.RAW;
            case "framed" -> Mode.FRAMED;
            default -> throw ClientException.usage("invalid value for --mode: '" + value
                    + "' (expected raw or framed)");
        };
    }

    private static Transport parseTransport(String value) throws ClientException {
        return switch (value) {
            case "tcp" -> Transport.TCP;
            case "unix" -> Transport.UNIX;
            case "udp" -> Transport.UDP;
            default -> throw ClientException.usage("invalid value for --transport: '" + value
                    + "' (expected tcp, unix or udp)");
        };
    }

    private static OutputFormat parseFormat(String value) throws ClientException {
        return switch (value) {
            case "text" -> OutputFormat.TEXT;
            case "json" -> OutputFormat.JSON;
            default -> throw ClientException.usage("invalid value for --format: '" + value
                    + "' (expected text or json)");
        };
    }
}
