// The client command line, the same in every language (PROTOCOL.md §6).
//
// Hand-written rather than util.parseArgs: the contract wants exit code 2 with one `error: ` line
// for every usage problem, `--opt value` and `--opt=value`, options after messages, `--`, and
// values that parseArgs would call ambiguous (`--file -x`).

import { Buffer } from 'node:buffer';
import { usageError } from './errors.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8099;
export const DEFAULT_TIMEOUT_MS = 10000;
export const DEFAULT_MESSAGE = 'Hello SocketServer!!!';
/** The longest Unix socket path Linux accepts, in bytes (`sun_path` is 108 with the NUL). */
export const MAX_UNIX_PATH = 107;

export const USAGE = `Usage: interop-client [--host H] [--port P] [--mode raw|framed] [--format text|json]
                      [--timeout-ms N] [--transport tcp|unix|udp] [--path PATH]
                      [--pipeline] [--half-close] [--file PATH]... [MESSAGE ...]

Sends messages to an interop server (docs/PROTOCOL.md).

Options (--opt value or --opt=value, before or after messages; -- ends the options):
  --host H             server host name or IP, IPv6 without brackets (default: 127.0.0.1)
  --port P             server port, 1-65535 (default: 8099)
  --mode M             raw: one message per connection, ended by EOF;
                       framed: all on one connection, length-prefixed, each acknowledged
                       (default: raw)
  --format F           text: each delivered message as the server prints it;
                       json: one JSON object per delivered message (default: text)
  --timeout-ms N       limit in ms for each wait: connecting, writing one message or frame,
                       reading one reply, waiting for EOF (default: 10000)
  --transport T        tcp, unix (with --path) or udp (one acknowledged datagram per
                       message; --mode is ignored) (default: tcp)
  --path PATH          the Unix socket's path, with --transport unix (at most 107 bytes)
  --pipeline           framed, tcp or unix: write all frames at once, then read the acks
  --half-close         like --pipeline, shutting down the write side before reading
  --file PATH          send the file's bytes as one message; may be repeated
  MESSAGE              send the argument's bytes as one message ("" sends the empty message)
  -h, --help           print this help and exit

Messages are sent in this order: every --file in the order given, then every MESSAGE.
With neither, the single message "Hello SocketServer!!!" is sent.

Exit codes:
  0  every message delivered (and, framed or UDP, acknowledged correctly)
  1  other failure: unreadable --file, connection reset or broken, other I/O error
  2  usage error (also: Unix socket path too long, message too large for a UDP datagram)
  3  could not connect: refused, unreachable, no such socket, host name not resolved
  4  timeout (--timeout-ms) connecting, writing, or waiting for a reply or EOF
  5  protocol error: ERR reply, bad acknowledgement, server closed before acknowledging
`;

const VALUE_OPTIONS = new Set(['host', 'port', 'mode', 'format', 'timeout-ms', 'transport', 'path', 'file']);
const FLAG_OPTIONS = new Set(['pipeline', 'half-close', 'help']);
const CHOICES = {
  mode: ['raw', 'framed'],
  format: ['text', 'json'],
  transport: ['tcp', 'unix', 'udp'],
};

function quote(value) {
  return JSON.stringify(value);
}

function parsePort(value) {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    throw usageError(`invalid value ${quote(value)} for --port: expected 1-65535`);
  }
  return Number(value);
}

function parseTimeout(value) {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw usageError(
      `invalid value ${quote(value)} for --timeout-ms: expected a positive integer of milliseconds`,
    );
  }
  return Number(value);
}

function parseChoice(name, value) {
  if (!CHOICES[name].includes(value)) {
    throw usageError(`invalid value ${quote(value)} for --${name}: expected ${CHOICES[name].join(' or ')}`);
  }
  return value;
}

/**
 * Parses the arguments (without the program name). Returns the options; `messages` holds the
 * indexes in `argv` of the MESSAGE arguments, so that the caller can send their original bytes.
 * Throws a ClientError with exit code 2 on any usage problem. `help` is true when -h/--help was
 * given before `--` (the caller then prints USAGE and exits 0, whatever else is wrong).
 */
export function parseArgs(argv) {
  const opts = {
    host: DEFAULT_HOST,
    port: DEFAULT_PORT,
    mode: 'raw',
    format: 'text',
    timeoutMs: DEFAULT_TIMEOUT_MS,
    transport: 'tcp',
    path: undefined,
    pipeline: false,
    halfClose: false,
    files: [],
    messages: [],
    help: false,
  };
  const seen = new Set();
  let firstError = null;
  let endOfOptions = false;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (endOfOptions || arg === '-' || !arg.startsWith('-')) {
      opts.messages.push(i);
      continue;
    }
    if (arg === '--') {
      endOfOptions = true;
      continue;
    }
    try {
      if (arg === '-h') {
        opts.help = true;
        continue;
      }
      if (!arg.startsWith('--')) {
        throw usageError(`unknown option ${quote(arg)}`);
      }
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const inline = eq < 0 ? undefined : arg.slice(eq + 1);
      if (FLAG_OPTIONS.has(name)) {
        if (inline !== undefined) throw usageError(`option --${name} takes no value`);
        if (name === 'help') opts.help = true;
        else if (name === 'pipeline') opts.pipeline = true;
        else opts.halfClose = true;
        continue;
      }
      if (!VALUE_OPTIONS.has(name)) {
        throw usageError(`unknown option ${quote(eq < 0 ? arg : `--${name}`)}`);
      }
      let value = inline;
      if (value === undefined) {
        // `--host --port 1` is a missing value, not the host "--port". A value that starts with
        // "--" can still be given as --opt=--value.
        if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) {
          throw usageError(`option --${name} needs a value`);
        }
        i += 1;
        value = argv[i];
      }
      seen.add(name);
      switch (name) {
        case 'host':
          if (value === '') throw usageError('invalid value "" for --host: expected a host name or IP');
          opts.host = value;
          break;
        case 'port':
          opts.port = parsePort(value);
          break;
        case 'timeout-ms':
          opts.timeoutMs = parseTimeout(value);
          break;
        case 'mode':
        case 'format':
        case 'transport':
          opts[name] = parseChoice(name, value);
          break;
        case 'path':
          if (value === '') throw usageError('invalid value "" for --path: expected a file path');
          opts.path = value;
          break;
        case 'file':
          if (value === '') throw usageError('invalid value "" for --file: expected a file path');
          opts.files.push(value);
          break;
        default:
          throw usageError(`unknown option --${name}`);
      }
    } catch (err) {
      firstError = firstError ?? err;
    }
  }
  if (opts.help) return opts;
  if (firstError) throw firstError;
  checkCombinations(opts, seen);
  return opts;
}

function checkCombinations(opts, seen) {
  if (opts.transport === 'unix') {
    if (opts.path === undefined) throw usageError('--transport unix needs --path PATH');
    const bytes = Buffer.byteLength(opts.path, 'utf8');
    if (bytes > MAX_UNIX_PATH) {
      throw usageError(`unix socket path too long: ${bytes} bytes, at most ${MAX_UNIX_PATH}`);
    }
  } else if (seen.has('path')) {
    throw usageError(`--path applies only to --transport unix (the transport is ${opts.transport})`);
  }
  for (const [flag, on] of [['--pipeline', opts.pipeline], ['--half-close', opts.halfClose]]) {
    if (!on) continue;
    if (opts.transport === 'udp') {
      throw usageError(`${flag} needs a stream transport (tcp or unix), not udp`);
    }
    if (opts.mode !== 'framed') throw usageError(`${flag} needs --mode framed`);
  }
}
