package interop.server;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The parsed command line (§5), the same as the Rust and Python servers take, with their error
 * texts. Build one with {@link #parse(String...)}.
 *
 * @param host            address to listen on (TCP, UDP)
 * @param port            port to listen on; 0 takes an ephemeral one
 * @param mode            raw or framed
 * @param format          text or json
 * @param maxMessageBytes largest message accepted, 0 to 4,294,967,295
 * @param maxConnections  most connections served at once, at least 1
 * @param idleTimeoutMs   how long a frame (raw: any byte) may take, at least 1
 * @param transport       tcp, unix or udp
 * @param path            the Unix socket's path, or {@code null}
 * @param help            {@code -h}/{@code --help}: print {@link #HELP} and exit 0
 * @param version         {@code -V}/{@code --version}: print the version and exit 0
 */
public record Options(
        String host,
        int port,
        Mode mode,
        OutputFormat format,
        long maxMessageBytes,
        long maxConnections,
        long idleTimeoutMs,
        Transport transport,
        String path,
        boolean help,
        boolean version) {

    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 8099;
    public static final long DEFAULT_MAX_MESSAGE_BYTES = 16L * 1024 * 1024;
    public static final long DEFAULT_MAX_CONNECTIONS = 1024;
    public static final long DEFAULT_IDLE_TIMEOUT_MS = 60_000;
    /** The longest Unix socket path Linux accepts, in bytes (§10.2). */
    public static final int MAX_UNIX_PATH_BYTES = 107;
    public static final String VERSION = "interop-server 1.0.0 (Java)\n";

    private static final long U16_MAX = 0xFFFFL;
    private static final long U32_MAX = 0xFFFF_FFFFL;
    private static final BigInteger U64_MAX = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);

    public static final String HELP = """
            Accepts connections forever and prints `Hello: <peer>` and every message it receives.

            The first line on stdout is always `listening on <ip>:<port>`, with the port actually bound.

            Usage: interop-server [OPTIONS]

            Options:
                  --host <HOST>
                      Address to listen on (loopback by default; `::1` and `0.0.0.0` work)

                      [default: 127.0.0.1]

                  --port <PORT>
                      Port to listen on; 0 takes an ephemeral port (see the `listening on` line)

                      [default: 8099]

                  --mode <MODE>
                      raw: one message per connection, ended by EOF. framed: length-prefixed, acknowledged

                      Possible values:
                      - raw:    One message per connection; the sender's EOF ends it; no reply
                      - framed: Length-prefixed frames, many per connection, each acknowledged

                      [default: raw]

                  --format <FORMAT>
                      text: the tutorial's `Hello: <peer>` and message. json: one event object per line

                      Possible values:
                      - text: `Hello: <peer>` and the message, as the tutorial prints them
                      - json: One JSON event per line (PROTOCOL.md §8.1)

                      [default: text]

                  --max-message-bytes <MAX_MESSAGE_BYTES>
                      Largest message accepted, in bytes; checked before anything is allocated

                      [default: 16777216]

                  --max-connections <MAX_CONNECTIONS>
                      Most connections served at once; more are turned away (framed: ERR busy; raw: a reset)

                      [default: 1024]

                  --idle-timeout-ms <IDLE_TIMEOUT_MS>
                      Close a connection that is silent (raw) or does not complete a frame (framed) for this long

                      [default: 60000]

                  --transport <TRANSPORT>
                      tcp, unix (a Unix domain stream socket at --path) or udp (one datagram per message)

                      Possible values:
                      - tcp:  TCP over IPv4 or IPv6
                      - unix: A Unix domain stream socket at --path; peers are printed as pid:<pid>
                      - udp:  One datagram per message, each acknowledged by one datagram

                      [default: tcp]

                  --path <PATH>
                      The Unix socket's path, with --transport unix (at most 107 bytes)

              -h, --help
                      Print help

              -V, --version
                      Print version
            """;

    /** The options that take a value, with the name of the value in error messages. */
    private static final Map<String, String> VALUE_NAMES = Map.of(
            "host", "HOST",
            "port", "PORT",
            "mode", "MODE",
            "format", "FORMAT",
            "max-message-bytes", "MAX_MESSAGE_BYTES",
            "max-connections", "MAX_CONNECTIONS",
            "idle-timeout-ms", "IDLE_TIMEOUT_MS",
            "transport", "TRANSPORT",
            "path", "PATH");

    /** The defaults: what {@code interop-server} with no arguments does. */
    public static Options defaults() {
        return new Options(DEFAULT_HOST, DEFAULT_PORT, Mode.RAW, OutputFormat.TEXT,
                DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_CONNECTIONS, DEFAULT_IDLE_TIMEOUT_MS,
                Transport.TCP, null, false, false);
    }

    /**
     * Parses {@code --name value} and {@code --name=value}, each option at most once.
     *
     * @throws UsageException on anything malformed, with the message clap would give
     */
    public static Options parse(String... args) throws UsageException {
        Map<String, String> values = new HashMap<>();
        int i = 0;
        while (i < args.length) {
            String arg = args[i++];
            if (arg.equals("-h") || arg.equals("--help")) {
                return withFlags(true, false);
            }
            if (arg.equals("-V") || arg.equals("--version")) {
                return withFlags(false, true);
            }
            if (!arg.startsWith("--") || arg.equals("--")) {
                throw new UsageException("unexpected argument '" + arg + "' found");
            }
            int eq = arg.indexOf('=');
            String name = eq < 0 ? arg.substring(2) : arg.substring(2, eq);
            String valueName = VALUE_NAMES.get(name);
            if (valueName == null) {
                throw new UsageException("unexpected argument '--" + name + "' found");
            }
            String shown = "--" + name + " <" + valueName + ">";
            String value;
            if (eq >= 0) {
                value = arg.substring(eq + 1);
            } else if (i < args.length && !(args[i].startsWith("-") && !args[i].equals("-"))) {
                value = args[i++];
            } else {
                throw new UsageException("a value is required for '" + shown
                        + "' but none was supplied");
            }
            if (values.putIfAbsent(name, value) != null) {
                throw new UsageException("the argument '" + shown
                        + "' cannot be used multiple times");
            }
        }
        return build(values);
    }

    private static Options withFlags(boolean help, boolean version) {
        Options d = defaults();
        return new Options(d.host, d.port, d.mode, d.format, d.maxMessageBytes, d.maxConnections,
                d.idleTimeoutMs, d.transport, d.path, help, version);
    }

    private static Options build(Map<String, String> values) throws UsageException {
        String host = values.getOrDefault("host", DEFAULT_HOST);
        int port = (int) number(values, "port", 0, U16_MAX, DEFAULT_PORT);
        Mode mode = choice(values, "mode", List.of("raw", "framed"), "raw")
                .equals("framed") ? Mode.FRAMED : Mode.RAW;
        OutputFormat format = choice(values, "format", List.of("text", "json"), "text")
                .equals("json") ? OutputFormat.JSON : OutputFormat.TEXT;
        long maxMessageBytes = number(values, "max-message-bytes", 0, U32_MAX,
                DEFAULT_MAX_MESSAGE_BYTES);
        long maxConnections = number(values, "max-connections", 1, U32_MAX,
                DEFAULT_MAX_CONNECTIONS);
        long idleTimeoutMs = number(values, "idle-timeout-ms", 1, -1, DEFAULT_IDLE_TIMEOUT_MS);
        Transport transport = switch (choice(values, "transport", List.of("tcp", "unix", "udp"),
                "tcp")) {
            case "unix" -> Transport.UNIX;
            case "udp" -> Transport.UDP;
            default -> Transport.TCP;
        };
        String path = values.get("path");
        if (transport == Transport.UNIX) {
            if (path == null) {
                throw new UsageException("--transport unix needs --path PATH");
            }
            int bytes = path.getBytes(StandardCharsets.UTF_8).length;
            if (bytes == 0) {
                throw new UsageException("unix socket path is empty");
            }
            if (bytes > MAX_UNIX_PATH_BYTES) {
                throw new UsageException("unix socket path too long: " + bytes
                        + " bytes, at most " + MAX_UNIX_PATH_BYTES);
            }
        } else if (path != null) {
            throw new UsageException("--path needs --transport unix");
        }
        return new Options(host, port, mode, format, maxMessageBytes, maxConnections,
                idleTimeoutMs, transport, path, false, false);
    }

    private static String choice(Map<String, String> values, String name, List<String> allowed,
                                 String fallback) throws UsageException {
        String value = values.get(name);
        if (value == null) {
            return fallback;
        }
        if (!allowed.contains(value)) {
            throw new UsageException("invalid value '" + value + "' for '--" + name + " <"
                    + VALUE_NAMES.get(name) + ">' [possible values: " + String.join(", ", allowed)
                    + "]");
        }
        return value;
    }

    /**
     * An unsigned decimal as Rust's {@code str::parse} reads one (an optional {@code +}, digits),
     * from {@code min} to {@code max}; {@code max} -1 means u64, saturated to {@link Long#MAX_VALUE}.
     */
    private static long number(Map<String, String> values, String name, long min, long max,
                               long fallback) throws UsageException {
        String text = values.get(name);
        if (text == null) {
            return fallback;
        }
        String shown = "'--" + name + " <" + VALUE_NAMES.get(name) + ">'";
        String problem = null;
        long value = 0;
        String digits = text.startsWith("+") ? text.substring(1) : text;
        if (text.isEmpty()) {
            problem = "cannot parse integer from empty string";
        } else if (digits.isEmpty() || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
            problem = "invalid digit found in string";
        } else {
            BigInteger big = new BigInteger(digits);
            BigInteger limit = max < 0 ? U64_MAX : BigInteger.valueOf(max);
            if (big.compareTo(limit) > 0) {
                problem = "number too large to fit in target type";
            } else {
                value = big.min(BigInteger.valueOf(Long.MAX_VALUE)).longValue();
                if (value < min) {
                    problem = value + " is not in " + min + "..=" + limit;
                }
            }
        }
        if (problem != null) {
            throw new UsageException("invalid value '" + text + "' for " + shown + ": " + problem);
        }
        return value;
    }
}
