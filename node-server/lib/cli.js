// The command line (PROTOCOL.md §5, §10), with the Rust server's options, defaults and error texts
// (clap's wording), so that every server can be started with the same arguments.

import { Buffer } from 'node:buffer';
import { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_PORT, UNIX_PATH_MAX } from './wire.js';

export const VERSION = '0.1.0';

export const HELP = `Accepts connections forever and prints \`Hello: <peer>\` and every message it receives.

The first line on stdout is always \`listening on <ip>:<port>\`, with the port actually bound.

Usage: interop-server [OPTIONS]

Options:
      --host <HOST>
          Address to listen on (loopback by default; \`::1\` and \`0.0.0.0\` work)

          [default: 127.0.0.1]

      --port <PORT>
          Port to listen on; 0 takes an ephemeral port (see the \`listening on\` line)

          [default: 8099]

      --mode <MODE>
          raw: one message per connection, ended by EOF. framed: length-prefixed, acknowledged

          Possible values:
          - raw:    One message per connection; the sender's EOF ends it; no reply
          - framed: Length-prefixed frames, many per connection, each acknowledged

          [default: raw]

      --format <FORMAT>
          text: the tutorial's \`Hello: <peer>\` and message. json: one event object per line

          Possible values:
          - text: \`Hello: <peer>\` and the message, as the tutorial prints them
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
          - unix: A Unix domain stream socket at --path (a stale socket file there is replaced)
          - udp:  One datagram per message, each acknowledged by one datagram

          [default: tcp]

      --path <PATH>
          The Unix socket's path, with --transport unix (at most ${UNIX_PATH_MAX} bytes)

  -h, --help
          Print help

  -V, --version
          Print version
`;

/** A malformed command line: one `error: …` line on stderr, exit 2. */
export class UsageError extends Error {
  constructor(message) {
    super(message);
    this.name = 'UsageError';
  }
}

const U16_MAX = 0xffffn;
const U32_MAX = 0xffffffffn;
const U64_MAX = 0xffffffffffffffffn;

/** Parses an unsigned integer as Rust's `str::parse` does, with its error texts. */
function integer(text, maximum) {
  if (text === '') throw new Error('cannot parse integer from empty string');
  const digits = text.startsWith('+') ? text.slice(1) : text;
  if (digits === '' || !/^[0-9]+$/.test(digits)) throw new Error('invalid digit found in string');
  const value = BigInt(digits);
  if (value > maximum) throw new Error('number too large to fit in target type');
  return value;
}

const number = (maximum, minimum = 0n) => (text) => {
  const value = integer(text, maximum);
  if (value < minimum) throw new Error(`${value} is not in ${minimum}..=${maximum}`);
  return Number(value);
};

class BadChoice extends Error {
  constructor(names) {
    super(names.join(', '));
    this.names = names;
  }
}

const choice = (...names) => (text) => {
  if (!names.includes(text)) throw new BadChoice(names);
  return text;
};

const text = (value) => value;

// name -> [metavar, parse, default]
const OPTIONS = {
  host: ['HOST', text, '127.0.0.1'],
  port: ['PORT', number(U16_MAX), DEFAULT_PORT],
  mode: ['MODE', choice('raw', 'framed'), 'raw'],
  format: ['FORMAT', choice('text', 'json'), 'text'],
  'max-message-bytes': ['MAX_MESSAGE_BYTES', number(U32_MAX), DEFAULT_MAX_MESSAGE_BYTES],
  'max-connections': ['MAX_CONNECTIONS', number(U32_MAX, 1n), 1024],
  'idle-timeout-ms': ['IDLE_TIMEOUT_MS', number(U64_MAX, 1n), 60000],
  transport: ['TRANSPORT', choice('tcp', 'unix', 'udp'), 'tcp'],
  path: ['PATH', text, null],
};

/**
 * Parses the arguments (after the program name): `--name value` and `--name=value`. Returns
 * `{ help: true }`, `{ version: true }`, or the options: `{ host, port, mode, format,
 * maxMessageBytes, maxConnections, idleTimeoutMs, transport, path }`. Throws UsageError.
 */
export function parseArgs(argv) {
  const values = {};
  for (let i = 0; i < argv.length; ) {
    const arg = argv[i];
    i += 1;
    if (arg === '-h' || arg === '--help') return { help: true };
    if (arg === '-V' || arg === '--version') return { version: true };
    if (!arg.startsWith('--') || arg === '--') throw new UsageError(`unexpected argument '${arg}' found`);
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (!Object.hasOwn(OPTIONS, name)) throw new UsageError(`unexpected argument '--${name}' found`);
    const [metavar, parse] = OPTIONS[name];
    const shown = `--${name} <${metavar}>`;
    let value;
    if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      if (i >= argv.length || (argv[i].startsWith('-') && argv[i] !== '-')) {
        throw new UsageError(`a value is required for '${shown}' but none was supplied`);
      }
      value = argv[i];
      i += 1;
    }
    if (Object.hasOwn(values, name)) throw new UsageError(`the argument '${shown}' cannot be used multiple times`);
    try {
      values[name] = parse(value);
    } catch (err) {
      if (err instanceof BadChoice) {
        throw new UsageError(`invalid value '${value}' for '${shown}' [possible values: ${err.names.join(', ')}]`);
      }
      throw new UsageError(`invalid value '${value}' for '${shown}': ${err.message}`);
    }
  }
  for (const [name, [, , fallback]] of Object.entries(OPTIONS)) {
    if (!Object.hasOwn(values, name)) values[name] = fallback;
  }
  const opts = {
    host: values.host,
    port: values.port,
    mode: values.mode,
    format: values.format,
    maxMessageBytes: values['max-message-bytes'],
    maxConnections: values['max-connections'],
    idleTimeoutMs: values['idle-timeout-ms'],
    transport: values.transport,
    path: values.path,
  };
  if (opts.transport === 'unix') {
    if (opts.path === null) throw new UsageError('--transport unix needs --path PATH');
    const size = Buffer.byteLength(opts.path, 'utf8');
    if (size === 0) throw new UsageError('unix socket path is empty');
    if (size > UNIX_PATH_MAX) {
      throw new UsageError(`unix socket path too long: ${size} bytes, at most ${UNIX_PATH_MAX}`);
    }
  } else if (opts.path !== null) {
    throw new UsageError('--path needs --transport unix');
  }
  return opts;
}
