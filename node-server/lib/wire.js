// The wire format and its words (PROTOCOL.md §1, §3, §10): frames, replies, digests, how addresses
// are written, and how a system error is described.

import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import util from 'node:util';

export const DEFAULT_PORT = 8099;
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
export const HEADER_BYTES = 4;
/** §10.3: the largest payload of one UDP datagram (the IPv4 limit). */
export const MAX_UDP_PAYLOAD = 65507;
/** §10.2: the longest Unix socket path on Linux, in bytes. */
export const UNIX_PATH_MAX = 107;

export const ERR_TOO_LARGE = 'too-large';
export const ERR_BUSY = 'busy';
export const ERR_OUTPUT = 'output';

/** SHA-256 as 64 lowercase hex digits. */
export function sha256Hex(data) {
  return createHash('sha256').update(data).digest('hex');
}

/** One frame: the 4-byte big-endian length, then the payload (a Buffer or ASCII/UTF-8 text). */
export function encodeFrame(payload) {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

/** `ACK <seq> <length> <sha256>` (§3.3). */
export function ackText(seq, length, sha256) {
  return `ACK ${seq} ${length} ${sha256}`;
}

/** `ERR <code> <detail>` (§3.3), or `ERR <code>` when there is no detail. */
export function errText(code, detail) {
  return detail ? `ERR ${code} ${detail}` : `ERR ${code}`;
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

// -------------------------------------------------------------------------------------- errors

const systemErrors = util.getSystemErrorMap();

/**
 * An error as the other servers word I/O errors: `<reason> (os error <n>)`, e.g.
 * `Connection reset by peer (os error 104)`. libuv's descriptions are C's strerror texts in lower
 * case; the first letter is raised to match them. Anything else: its message.
 */
export function describe(err) {
  if (err && typeof err.errno === 'number' && err.errno < 0) {
    const known = systemErrors.get(err.errno);
    if (known) {
      const [, text] = known;
      return `${text.charAt(0).toUpperCase()}${text.slice(1)} (os error ${-err.errno})`;
    }
  }
  if (err && typeof err.code === 'string' && err.code.startsWith('ERR_')) {
    return err.message;
  }
  const text = err?.message ?? String(err);
  return text || 'unknown error';
}
