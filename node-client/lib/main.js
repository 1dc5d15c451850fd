// The program: parse the command line, read the messages, send them, print one entry per
// delivered message (§4 or §8.2), and exit with the code of §7.
//
// Output is written with fs.writeSync, so every line is out (even into a pipe) before the next
// step, and nothing is pending when process.exit runs.

import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import { DEFAULT_MESSAGE, USAGE, parseArgs } from './cli.js';
import { reason, send } from './client.js';
import { ClientError, EXIT_FAILURE, EXIT_OK, ioError, usageError } from './errors.js';
import { MAX_UDP_PAYLOAD, formatMessage, jsonLine } from './wire.js';

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `data` to a file descriptor, waiting out EAGAIN on a non-blocking pipe. */
export function writeAll(fd, data) {
  let offset = 0;
  while (offset < data.length) {
    try {
      offset += fs.writeSync(fd, data, offset, data.length - offset);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

let stdoutGone = false;

function writeStdout(data) {
  if (stdoutGone) return;
  try {
    writeAll(1, data);
  } catch (err) {
    // Nobody reads our output any more: delivery still goes on (like the Rust client).
    if (err.code === 'EPIPE') {
      stdoutGone = true;
      return;
    }
    throw ioError(`cannot write to standard output: ${reason(err)}`);
  }
}

function writeError(message) {
  try {
    writeAll(2, Buffer.from(`error: ${String(message).replace(/[\r\n]+/g, ' ')}\n`));
  } catch {
    // stderr is gone too; the exit code still tells.
  }
}

/**
 * The bytes of each argument as the operating system passed them. Node decodes argv as UTF-8
 * (invalid bytes become U+FFFD); on Linux /proc/self/cmdline still has the original bytes. Each
 * argument whose original bytes decode to the string Node gave is sent as those bytes; any other
 * as the string's UTF-8.
 */
export function argvBytes(argv) {
  const fallback = argv.map((arg) => Buffer.from(arg, 'utf8'));
  let raw;
  try {
    raw = fs.readFileSync('/proc/self/cmdline');
  } catch {
    return fallback;
  }
  const parts = [];
  let start = 0;
  for (let i = 0; i < raw.length; i += 1) {
    if (raw[i] === 0) {
      parts.push(raw.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < raw.length) parts.push(raw.subarray(start));
  if (parts.length < argv.length) return fallback;
  const tail = parts.slice(parts.length - argv.length);
  return argv.map((arg, i) => (tail[i].toString('utf8') === arg ? Buffer.from(tail[i]) : fallback[i]));
}

/** Every --file in order (read now, before connecting), then every MESSAGE; or the default. */
export function loadPayloads(opts, argv) {
  const payloads = [];
  for (const path of opts.files) {
    try {
      payloads.push(fs.readFileSync(path));
    } catch (err) {
      throw ioError(`cannot read --file ${path}: ${reason(err)}`);
    }
  }
  if (opts.messages.length) {
    const bytes = argvBytes(argv);
    for (const index of opts.messages) payloads.push(bytes[index]);
  }
  if (!payloads.length) payloads.push(Buffer.from(DEFAULT_MESSAGE, 'utf8'));
  return payloads;
}

/** Runs the client with `argv` (the arguments after the program name); resolves to the exit code. */
export async function run(argv) {
  try {
    const opts = parseArgs(argv);
    if (opts.help) {
      writeStdout(Buffer.from(USAGE));
      return EXIT_OK;
    }
    const payloads = loadPayloads(opts, argv);
    if (opts.transport === 'udp') {
      payloads.forEach((payload, index) => {
        if (payload.length > MAX_UDP_PAYLOAD) {
          throw usageError(
            `message ${index + 1} is ${payload.length} bytes; a UDP datagram carries at most ${MAX_UDP_PAYLOAD}`,
          );
        }
      });
    }
    await send(opts, payloads, (delivery) => {
      // Over UDP --mode is ignored (§10.3); the line still carries the mode given.
      const entry = { ...delivery, mode: opts.mode, transport: opts.transport };
      writeStdout(opts.format === 'json' ? jsonLine(entry) : formatMessage(delivery.payload));
    });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof ClientError) {
      writeError(err.message);
      return err.exitCode;
    }
    writeError(`unexpected failure: ${err?.message ?? err}`);
    return EXIT_FAILURE;
  }
}

/** The program's entry point: runs, then exits at once (all output is already written). */
export async function main(argv) {
  const code = await run(argv);
  process.exit(code);
}
