// What goes on the wire and what is printed: addresses (§1), frames (§3.1), acknowledgements
// (§3.3, §3.4), the printed form of a message (§4) and the client's JSON line (§8.2).

import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { protocolError } from './errors.js';

export const MAX_FRAME_LENGTH = 0xffffffff;
/** §3.4: a reply frame whose length prefix exceeds this is rejected unread. */
export const MAX_REPLY_BYTES = 1024;
/** §10.3: the largest message one UDP datagram carries (the IPv4 limit). */
export const MAX_UDP_PAYLOAD = 65507;
/** §4: a message longer than this is summarised even when it is UTF-8. */
export const MAX_TEXT_BYTES = 4096;
export const PREVIEW_BYTES = 32;

export function sha256Hex(data) {
  return createHash('sha256').update(data).digest('hex');
}

// ------------------------------------------------------------------------------------ printing

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

/** True if `data` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
export function isUtf8(data) {
  try {
    strictUtf8.decode(data);
    return true;
  } catch {
    return false;
  }
}

/** The one-line summary of a binary or long message (§4), without the newline. */
export function summaryLine(data) {
  const kind = isUtf8(data) ? 'long' : 'binary';
  const more = data.length > PREVIEW_BYTES ? '...' : '';
  const preview = escapeBytes(data.subarray(0, PREVIEW_BYTES));
  return `[${kind} message: ${data.length} bytes, sha256 ${sha256Hex(data)}, starts "${preview}"${more}]`;
}

/** The exact bytes printed for a message (§4), newline included. Never fails. */
export function formatMessage(data) {
  if (data.length <= MAX_TEXT_BYTES && isUtf8(data)) {
    return Buffer.concat([data, Buffer.from('\n')]);
  }
  return Buffer.from(`${summaryLine(data)}\n`, 'ascii');
}

// ----------------------------------------------------------------------------------- addresses

/** An IP as printed: IPv4-mapped IPv6 (`::ffff:127.0.0.1`) as the IPv4 it is. */
export function normalizeIp(ip) {
  const mapped = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i.exec(ip);
  return mapped ? mapped[1] : ip;
}

/** `ip:port` for IPv4, `[ip]:port` for IPv6 (§1). */
export function formatAddress(ip, port) {
  const host = normalizeIp(String(ip));
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

// -------------------------------------------------------------------------------------- frames

/** One frame: 4-byte big-endian length, then the payload. */
export function encodeFrame(payload) {
  if (payload.length > MAX_FRAME_LENGTH) {
    throw new RangeError(`message of ${payload.length} bytes is too long for a frame`);
  }
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.length, 0);
  return Buffer.concat([header, payload]);
}

/** The reply that acknowledges message number `seq` carrying `payload` (§3.3). */
export function expectedAck(seq, payload) {
  return `ACK ${seq} ${payload.length} ${sha256Hex(payload)}`;
}

/** A reply payload as printable one-line text. */
export function describeReply(reply) {
  return escapeBytes(reply);
}

/** True if the reply frame is an `ERR` reply. */
export function isErrReply(reply) {
  return reply.length >= 3 && reply.subarray(0, 3).toString('latin1') === 'ERR' && (reply.length === 3 || reply[3] === 0x20);
}

/** Printable ASCII as it is, every other byte as `\xNN`: a reply as received, on one line. */
export function printable(data) {
  let out = '';
  for (const byte of data) {
    out += byte >= 0x20 && byte <= 0x7e ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/**
 * The protocol error (exit 5) for an `ERR` reply to message `seq`, as §3.3 words it: a phrase
 * for the code, then the reply as received.
 */
export function errReplyError(reply, seq) {
  const code = reply.subarray(4).toString('latin1').split(' ')[0];
  const phrases = { busy: 'server is busy', output: `server could not log message ${seq}` };
  const what = Object.hasOwn(phrases, code) ? phrases[code] : `server rejected message ${seq}`;
  return protocolError(`${what}: ${printable(reply)}`);
}

/**
 * Requires `reply` (a Buffer) to be exactly `ACK seq len(payload) sha256(payload)` (§3.4); throws
 * a protocol error (exit 5) saying what differs otherwise. `what` names the message.
 */
export function checkAck(reply, seq, payload, what = `message ${seq}`) {
  const expected = expectedAck(seq, payload);
  if (reply.equals(Buffer.from(expected, 'ascii'))) return;
  if (isErrReply(reply)) throw errReplyError(reply, seq);
  const text = describeReply(reply);
  const fields = reply.toString('latin1').split(' ');
  if (fields[0] !== 'ACK' || fields.length !== 4) {
    throw protocolError(`malformed reply to ${what}: "${text}"`);
  }
  const want = expected.split(' ');
  const names = ['', 'sequence number', 'length', 'sha256'];
  for (const index of [1, 2, 3]) {
    if (fields[index] !== want[index]) {
      throw protocolError(
        `acknowledgement of ${what} has the wrong ${names[index]}: got "${escapeBytes(Buffer.from(fields[index], 'latin1'))}", expected "${want[index]}"`,
      );
    }
  }
  throw protocolError(`malformed reply to ${what}: "${text}"`); // unreachable
}

// ---------------------------------------------------------------------------------------- JSON

/** One §8.2 line, newline included, as UTF-8 bytes. */
export function jsonLine({ seq, local, peer, mode, payload, ack, transport }) {
  const record = {
    seq,
    local,
    peer,
    mode,
    len: payload.length,
    sha256: sha256Hex(payload),
    ack,
    transport,
  };
  return Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');
}
