// What the server prints (PROTOCOL.md §4, §5, §8.1), as the Rust and Python servers print it.
//
// A Printer turns events into records: the bytes of one whole stdout record (and, in text format,
// a connection's errors as a line for stderr). It only formats; log.js writes. In text format a
// connection's `Hello: <peer>` is held back until its first message (or its end) and goes out in
// the same record, so that in raw mode every `Hello` line is directly followed by its message.

import { Buffer } from 'node:buffer';
import { sha256Hex } from './wire.js';

export const LISTENING_PREFIX = 'listening on ';
/** §4: a message longer than this is summarised even when it is UTF-8. */
export const PRINT_LIMIT = 4096;
export const PREVIEW_BYTES = 32;

const ESCAPES = Array.from({ length: 256 }, (_, byte) => {
  switch (byte) {
    case 0x5c:
      return '\\\\';
    case 0x22:
      return '\\"';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    default:
      return byte >= 0x20 && byte <= 0x7e
        ? String.fromCharCode(byte)
        : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
});

/** Escapes bytes one by one as in the §4 preview; the result is printable ASCII. */
export function escapeBytes(data) {
  let out = '';
  for (const byte of data) out += ESCAPES[byte];
  return out;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The message as a string if it is well-formed UTF-8, else null. */
function decodeUtf8(data) {
  try {
    return strictUtf8.decode(data);
  } catch {
    return null;
  }
}

/** What a received message is, computed once: its digest and, if it is printed as itself, text. */
export class MessageView {
  constructor(payload) {
    this.payload = payload;
    this.length = payload.length;
    this.sha256 = sha256Hex(payload);
    /** The message as text: only when it is valid UTF-8 and at most 4096 bytes (§4, §8.1). */
    this.text = payload.length <= PRINT_LIMIT ? decodeUtf8(payload) : null;
  }

  /** The printed form (§4), without its newline: the bytes themselves, or one summary line. */
  line() {
    if (this.text !== null) return this.payload;
    const kind = decodeUtf8(this.payload) === null ? 'binary' : 'long';
    const preview = escapeBytes(this.payload.subarray(0, PREVIEW_BYTES));
    const more = this.length > PREVIEW_BYTES ? '...' : '';
    return Buffer.from(
      `[${kind} message: ${this.length} bytes, sha256 ${this.sha256}, starts "${preview}"${more}]`,
      'ascii',
    );
  }
}

/** One JSON line (compact, UTF-8, non-ASCII as itself), newline included. */
export function jsonLine(record) {
  return Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');
}

const NEWLINE = Buffer.from('\n');

/**
 * Formats events for `format` (`text` or `json`). Every method returns `{ out, err }`: the record
 * for stdout and the line for stderr, each a Buffer or null.
 */
export class Printer {
  constructor(format, { helloEachMessage = false } = {}) {
    this.format = format;
    /** UDP has no connection: every datagram is printed with its own `Hello:` line. */
    this.helloEachMessage = helloEachMessage;
    this.helloPending = new Set();
  }

  /** The first line (`listening on <addr>`, identical in both formats), then the JSON event. */
  listening(addr, mode) {
    let out = Buffer.from(`${LISTENING_PREFIX}${addr}\n`, 'utf8');
    if (this.format === 'json') out = Buffer.concat([out, jsonLine({ event: 'listening', addr, mode })]);
    return { out, err: null };
  }

  connected(conn, peer, local) {
    if (this.format === 'json') return { out: jsonLine({ event: 'connected', conn, peer, local }), err: null };
    this.helloPending.add(conn);
    return { out: null, err: null };
  }

  /** `view` is the message's MessageView. */
  message(conn, peer, seq, view) {
    if (this.format === 'json') {
      const record = { event: 'message', conn, peer, seq, len: view.length, sha256: view.sha256 };
      if (view.text !== null) record.text = view.text;
      return { out: jsonLine(record), err: null };
    }
    if (this.helloEachMessage) this.helloPending.add(conn);
    return { out: Buffer.concat([this.#hello(conn, peer), view.line(), NEWLINE]), err: null };
  }

  closed(conn, peer, messages) {
    if (this.format === 'json') return { out: jsonLine({ event: 'closed', conn, peer, messages }), err: null };
    const hello = this.#hello(conn, peer);
    return { out: hello.length ? hello : null, err: null };
  }

  /** An error of connection `conn` (or, with `conn` null, of the server or of a UDP peer). */
  error(conn, peer, error) {
    if (this.format === 'json') {
      const record = { event: 'error' };
      if (conn !== null && conn !== undefined) record.conn = conn;
      if (peer !== null && peer !== undefined) record.peer = peer;
      record.error = error;
      return { out: jsonLine(record), err: null };
    }
    const hello = conn !== null && conn !== undefined && peer ? this.#hello(conn, peer) : Buffer.alloc(0);
    const line = peer ? `error: ${peer}: ${error}\n` : `error: ${error}\n`;
    return { out: hello.length ? hello : null, err: Buffer.from(line, 'utf8') };
  }

  /** Drops the held-back `Hello:` of a connection that ends without an event. */
  forget(conn) {
    this.helloPending.delete(conn);
  }

  #hello(conn, peer) {
    if (!this.helloPending.delete(conn)) return Buffer.alloc(0);
    return Buffer.from(`Hello: ${peer}\n`, 'utf8');
  }
}
