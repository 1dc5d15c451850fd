// Delivering messages: raw mode (PROTOCOL.md §2) and framed mode (§3) over TCP or a Unix socket,
// pipelining and half-close (§11), and UDP datagrams (§10.3). Every wait is bounded by
// --timeout-ms and every failure becomes a ClientError carrying its exit code (§7).

import { Buffer } from 'node:buffer';
import net from 'node:net';
import { getSystemErrorMap } from 'node:util';
import {
  ClientError,
  connectError,
  ioError,
  protocolError,
  timeoutError,
} from './errors.js';
import {
  MAX_REPLY_BYTES,
  checkAck,
  encodeFrame,
  errReplyError,
  formatAddress,
  isErrReply,
} from './wire.js';

// dns (a host that is not an IP literal) and dgram (UDP) are imported when first needed: loading
// them costs every start ~2 ms of CPU, and most runs need neither (node-client/README.md).

/** After a failed write (framed), how long to look for an ERR reply that explains it (§3.4). */
export const ERR_REPLY_GRACE_MS = 1000;
const MAX_TIMER_MS = 2 ** 31 - 1; // setTimeout's limit; longer waits are re-armed in slices

// ------------------------------------------------------------------------------------- helpers

/**
 * Calls `fn` once `ms` milliseconds have passed (any `ms`, even beyond setTimeout's limit), and
 * returns a function that cancels it.
 *
 * The event loop runs due timers before it polls for I/O, so after the process was held up
 * longer than `ms` (a busy machine) a timer would fire before the reply that arrived in time
 * is even read. So `fn` runs from setImmediate, after one more poll for I/O: whatever already
 * arrived is handled first, and a waiter that it satisfied has cancelled `fn`.
 */
function startTimer(ms, fn) {
  const end = performance.now() + ms;
  let timer;
  let immediate;
  const arm = (delay) => {
    timer = setTimeout(() => {
      const left = end - performance.now();
      if (left > 0) arm(left);
      else immediate = setImmediate(fn);
    }, Math.min(Math.max(delay, 0), MAX_TIMER_MS));
  };
  arm(ms);
  return () => {
    clearTimeout(timer);
    clearImmediate(immediate);
  };
}

let errorMap;

/** A system error as one short line: "connection refused (ECONNREFUSED)". */
export function reason(err) {
  if (err instanceof ClientError) return err.message;
  if (typeof err?.errno === 'number') {
    errorMap ??= getSystemErrorMap();
    const known = errorMap.get(err.errno);
    if (known && known[0] === err.code) return `${known[1]} (${known[0]})`;
  }
  if (err?.code && typeof err.code === 'string' && !String(err.message).includes(err.code)) {
    return `${err.message} (${err.code})`;
  }
  return String(err?.message ?? err);
}

/** An error met on an open connection: a timeout stays 4, a reset or anything else is 1. */
function exchangeError(what, err) {
  if (err instanceof ClientError) return err;
  if (err?.code === 'ETIMEDOUT') return timeoutError(`${what}: ${reason(err)}`);
  return ioError(`${what}: ${reason(err)}`);
}

/** EOF arrived before the bytes a read needed. */
class EofError extends Error {
  constructor(expected, received) {
    super(`connection closed after ${received} of ${expected} bytes`);
    this.expected = expected;
    this.received = received;
  }
}

/** A reply frame whose length prefix is over the limit. */
class ReplyTooLong extends Error {}

/**
 * Something whose events can be awaited one condition at a time: `until(check, ms, onTimeout)`
 * calls `check` now and after every event; it resolves with the first value `check` returns
 * other than undefined, rejects with what `check` throws, or with `onTimeout()` after `ms`.
 */
class Waitable {
  constructor() {
    this.waiter = null;
  }

  wake() {
    if (this.waiter) this.waiter();
  }

  until(check, ms, onTimeout) {
    return new Promise((resolve, reject) => {
      let stopTimer = () => {};
      let settled = false;
      const finish = (settle, value) => {
        if (settled) return;
        settled = true;
        stopTimer();
        this.waiter = null;
        settle(value);
      };
      const poll = () => {
        let result;
        try {
          result = check();
        } catch (err) {
          finish(reject, err);
          return;
        }
        if (result !== undefined) finish(resolve, result);
      };
      this.waiter = poll;
      poll();
      if (this.waiter === poll) stopTimer = startTimer(ms, () => finish(reject, onTimeout()));
    });
  }
}

const timedOut = (what, ms) => () => timeoutError(`${what}: timed out after ${ms} ms`);

// ------------------------------------------------------------------------- stream connections

/**
 * A socket that keeps reading after a failed write.
 *
 * Node destroys a socket as soon as a write to it fails, which closes it with whatever the peer
 * sent still unread in the kernel. That is exactly the reply §3.4 says to look for: a server
 * that rejects a frame sends `ERR too-large …` and closes without reading the rest, so the
 * client's write fails with a reset, and the ERR, which arrived before the reset, is still
 * waiting in the receive buffer. libuv retries a partly written buffer at once, without polling
 * for input in between, so this happens whenever the reset lands while a large frame is being
 * written. Here a failed write is recorded in `writeError` instead of failing the stream; the
 * socket stays open and readable until its owner destroys it, and the owner reports the error.
 */
class ReplyKeepingSocket extends net.Socket {
  /** The first error a write met, or null. */
  writeError = null;

  _write(data, encoding, callback) {
    super._write(data, encoding, this.#recordFailure(callback));
  }

  _writev(chunks, callback) {
    super._writev(chunks, this.#recordFailure(callback));
  }

  #recordFailure(callback) {
    return (err) => {
      if (err) this.writeError ??= err;
      callback();
    };
  }
}

/** A TCP or Unix stream socket, read into a buffer as data arrives (so nothing is lost). */
class StreamConn extends Waitable {
  constructor(socket) {
    super();
    this.socket = socket;
    this.chunks = [];
    this.buffered = 0;
    this.connected = false;
    this.eof = false;
    this.closed = false;
    this.error = null;
    this.discard = false;
    socket.on('connect', () => {
      this.connected = true;
      this.wake();
    });
    socket.on('data', (chunk) => {
      if (!this.discard) {
        this.chunks.push(chunk);
        this.buffered += chunk.length;
      }
      this.wake();
    });
    socket.on('end', () => {
      this.eof = true;
      this.wake();
    });
    socket.on('error', (err) => {
      this.error ??= err;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  waitConnected(ms, what) {
    return this.until(
      () => {
        if (this.connected) return true;
        if (this.error) throw this.error;
        if (this.closed) throw new Error('connection closed');
        return undefined;
      },
      ms,
      timedOut(what, ms),
    );
  }

  take(count) {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const rest = all.subarray(count);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return all.subarray(0, count);
  }

  /** Reads exactly `count` bytes (already buffered ones first); EOF before: EofError. */
  readExact(count, ms, what) {
    return this.until(
      () => {
        if (this.buffered >= count) return this.take(count);
        if (this.error) throw this.error;
        if (this.eof || this.closed) throw new EofError(count, this.buffered);
        return undefined;
      },
      ms,
      timedOut(what, ms),
    );
  }

  /**
   * Reads one frame, all of it within `ms`, and returns its payload; a length over `limit` is
   * rejected unread.
   */
  async readFrame(limit, ms, what) {
    const end = performance.now() + ms;
    const header = await this.readExact(4, ms, what);
    const length = header.readUInt32BE(0);
    if (length > limit) throw new ReplyTooLong(`reply frame of ${length} bytes exceeds the limit of ${limit}`);
    const left = Math.max(1, end - performance.now());
    return this.readExact(length, left, what).catch((err) => {
      // Say the whole limit in the message, not what was left of it.
      if (err instanceof ClientError) throw timedOut(what, ms)();
      throw err;
    });
  }

  /** Reads and discards everything until the peer's EOF. */
  drainToEof(ms, what) {
    this.discard = true;
    this.chunks = [];
    this.buffered = 0;
    return this.until(
      () => {
        if (this.eof) return true;
        if (this.error) throw this.error;
        if (this.closed) return true;
        return undefined;
      },
      ms,
      timedOut(what, ms),
    );
  }

  /**
   * Writes `data` completely (into the kernel); with `end`, then shuts down the write side.
   * A failed write rejects, and the connection stays readable: replies the server sent before
   * it broke the connection can still be read (§3.4).
   */
  write(data, { end = false } = {}, ms, what) {
    let done = false;
    let failed = null;
    const callback = (err) => {
      failed = err ?? this.socket.writeError;
      done = true;
      this.wake();
    };
    if (this.error) return Promise.reject(this.error);
    if (this.socket.writeError) return Promise.reject(this.socket.writeError);
    if (end) {
      if (data.length) this.socket.end(data, callback);
      else this.socket.end(callback);
    } else {
      this.socket.write(data, callback);
    }
    return this.until(
      () => {
        if (failed) throw this.error ?? failed;
        if (done) return true;
        if (this.error) throw this.error;
        if (this.closed) throw new Error('connection closed while writing');
        return undefined;
      },
      ms,
      timedOut(what, ms),
    );
  }

  destroy() {
    this.socket.destroy();
  }
}

/** The addresses `host` stands for, in order (an IP literal stands for itself). */
async function resolveHost(host, ms) {
  const family = net.isIP(host);
  if (family) return [{ address: host, family }];
  let stopTimer = () => {};
  const timer = new Promise((_, reject) => {
    stopTimer = startTimer(ms, () => reject(timeoutError(`resolving host ${host}: timed out after ${ms} ms`)));
  });
  try {
    const { lookup } = await import('node:dns/promises');
    const found = await Promise.race([lookup(host, { all: true }), timer]);
    if (!found.length) throw connectError(`cannot resolve host ${host}: no addresses`);
    return found;
  } catch (err) {
    if (err instanceof ClientError) throw err;
    throw connectError(`cannot resolve host ${host}: ${reason(err)}`);
  } finally {
    stopTimer();
  }
}

/** Connects one socket; refused, unreachable or missing -> 3, timeout -> 4, reset -> 1. */
async function connectSocket(connectOptions, target, ms) {
  const socket = new ReplyKeepingSocket({ allowHalfOpen: true }).connect(connectOptions);
  const conn = new StreamConn(socket);
  try {
    await conn.waitConnected(ms, `connecting to ${target}`);
  } catch (err) {
    conn.destroy();
    if (err instanceof ClientError) throw err;
    // A reset that races the handshake's completion means the server was there and broke the
    // connection: exit 1 like any reset, not "cannot connect".
    if (err?.code === 'ECONNRESET') throw ioError(`connection to ${target} was reset: ${reason(err)}`);
    if (err?.code === 'ETIMEDOUT') throw timeoutError(`connecting to ${target}: ${reason(err)}`);
    throw connectError(`cannot connect to ${target}: ${reason(err)}`);
  }
  socket.setNoDelay(true); // small frames, stop-and-wait: Nagle would only add latency
  return conn;
}

/**
 * Opens the stream connection the options name. Returns { conn, local, peer } with the addresses
 * as printed (§1, §10.2). TCP tries every address of the host in order until one connects.
 */
export async function connectStream(opts) {
  const ms = opts.timeoutMs;
  if (opts.transport === 'unix') {
    const target = `unix:${opts.path}`;
    const conn = await connectSocket({ path: opts.path }, target, ms);
    return { conn, local: `pid:${process.pid}`, peer: target };
  }
  const addresses = await resolveHost(opts.host, ms);
  let lastError;
  for (const { address, family } of addresses) {
    const target = formatAddress(address, opts.port);
    try {
      const conn = await connectSocket({ host: address, port: opts.port, family }, target, ms);
      const { socket } = conn;
      return {
        conn,
        local: formatAddress(socket.localAddress, socket.localPort),
        peer: formatAddress(socket.remoteAddress, socket.remotePort),
      };
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

// ------------------------------------------------------------------------------------ raw mode

/** Raw mode: one connection per message, in order; each ends when the server closes (§2). */
export async function sendRaw(opts, payloads, deliver) {
  const ms = opts.timeoutMs;
  for (const [index, payload] of payloads.entries()) {
    const what = `message ${index + 1}`;
    const { conn, local, peer } = await connectStream(opts);
    try {
      await conn.write(payload, { end: true }, ms, `sending ${what}`);
      // Anything the server sends is ignored; its EOF says it has finished with us.
      await conn.drainToEof(ms, `waiting for the server to close after ${what}`);
    } catch (err) {
      throw exchangeError(`${what} to ${peer}`, err);
    } finally {
      conn.destroy();
    }
    deliver({ seq: 1, local, peer, payload, ack: 'none' });
  }
}

// --------------------------------------------------------------------------------- framed mode

/** Reads the reply to message `seq` and requires the right ACK (§3.4). */
async function readAck(conn, seq, payload, ms) {
  let reply;
  try {
    reply = await conn.readFrame(MAX_REPLY_BYTES, ms, `waiting for the acknowledgement of message ${seq}`);
  } catch (err) {
    if (err instanceof EofError) {
      throw protocolError(
        `server closed the connection before acknowledging message ${seq} (${err.received} of ${err.expected} reply bytes)`,
      );
    }
    if (err instanceof ReplyTooLong) throw protocolError(`reply to message ${seq}: ${err.message}`);
    throw exchangeError(`reading the acknowledgement of message ${seq}`, err);
  }
  checkAck(reply, seq, payload);
}

/**
 * A write failed (broken pipe, reset): the server may have rejected a frame with `ERR …` and
 * closed. Read the replies already sent, for up to a second: acknowledged messages are delivered,
 * an ERR is reported (exit 5); otherwise the write's own error stands.
 */
async function explainFailedWrite(conn, payloads, fromSeq, toSeq, writeError, deliverSeq) {
  const end = performance.now() + ERR_REPLY_GRACE_MS;
  for (let seq = fromSeq; seq <= toSeq; seq += 1) {
    let reply;
    try {
      const left = Math.max(1, end - performance.now());
      reply = await conn.readFrame(MAX_REPLY_BYTES, left, 'looking for an ERR reply');
    } catch {
      throw writeError;
    }
    if (isErrReply(reply)) throw errReplyError(reply, seq);
    try {
      checkAck(reply, seq, payloads[seq - 1]);
    } catch {
      throw writeError;
    }
    deliverSeq(seq);
  }
}

/** After the last acknowledgement: end the connection; nothing that happens now is a failure. */
async function finishFramed(conn, ms, writeSideOpen) {
  try {
    if (writeSideOpen) await conn.write(Buffer.alloc(0), { end: true }, ms, 'closing');
    await conn.drainToEof(ms, 'waiting for the server to close');
  } catch {
    // Everything is delivered and acknowledged already.
  } finally {
    conn.destroy();
  }
}

/**
 * Framed mode: every message on one connection (§3). Stop-and-wait by default; with --pipeline
 * every frame in one write, then the acknowledgements; with --half-close the same with the write
 * side shut down before reading (§11).
 */
export async function sendFramed(opts, payloads, deliver) {
  const ms = opts.timeoutMs;
  const { conn, local, peer } = await connectStream(opts);
  const deliverSeq = (seq) => deliver({ seq, local, peer, payload: payloads[seq - 1], ack: 'verified' });
  const frames = payloads.map((payload, index) => {
    try {
      return encodeFrame(payload);
    } catch (err) {
      throw ioError(`message ${index + 1}: ${err.message}`);
    }
  });
  try {
    if (opts.pipeline || opts.halfClose) {
      const what = `sending ${frames.length} frames`;
      try {
        await conn.write(Buffer.concat(frames), { end: opts.halfClose }, ms, what);
      } catch (err) {
        const failure = exchangeError(what, err);
        if (failure.exitCode !== 1) throw failure;
        await explainFailedWrite(conn, payloads, 1, payloads.length, failure, deliverSeq);
        return;
      }
      for (const [index, payload] of payloads.entries()) {
        await readAck(conn, index + 1, payload, ms);
        deliverSeq(index + 1);
      }
    } else {
      for (const [index, payload] of payloads.entries()) {
        const seq = index + 1;
        const what = `sending message ${seq}`;
        try {
          await conn.write(frames[index], {}, ms, what);
        } catch (err) {
          const failure = exchangeError(what, err);
          if (failure.exitCode !== 1) throw failure;
          await explainFailedWrite(conn, payloads, seq, seq, failure, deliverSeq);
          continue;
        }
        await readAck(conn, seq, payload, ms);
        deliverSeq(seq);
      }
    }
  } catch (err) {
    conn.destroy();
    throw err;
  }
  await finishFramed(conn, ms, !opts.halfClose);
}

// ----------------------------------------------------------------------------------------- UDP

/** A connected UDP socket; datagrams are queued as they arrive. */
class UdpConn extends Waitable {
  constructor(socket) {
    super();
    this.socket = socket;
    this.queue = [];
    this.error = null;
    socket.on('message', (datagram) => {
      this.queue.push(datagram);
      this.wake();
    });
    socket.on('error', (err) => {
      this.error ??= err;
      this.wake();
    });
  }

  /** Runs `start(callback)` and waits for the callback, or for an error on the socket. */
  call(start, ms, what) {
    let done = false;
    let failed = null;
    start((err) => {
      if (err) failed = err;
      done = true;
      this.wake();
    });
    return this.until(
      () => {
        if (failed) throw failed;
        if (done) return true;
        if (this.error) throw this.error;
        return undefined;
      },
      ms,
      timedOut(what, ms),
    );
  }

  receive(ms, what) {
    return this.until(
      () => {
        if (this.queue.length) return this.queue.shift();
        if (this.error) throw this.error;
        return undefined;
      },
      ms,
      timedOut(what, ms),
    );
  }

  close() {
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

function udpError(what, err) {
  if (err instanceof ClientError) return err;
  if (UNREACHABLE.has(err?.code)) return connectError(`${what}: ${reason(err)}`);
  return exchangeError(what, err);
}

/**
 * UDP (§10.3): one connected socket; each message is one datagram, answered by one ACK datagram
 * within the timeout. No reply: 4 (never retried); port unreachable: 3; wrong reply: 5.
 * The caller has already refused messages too large for a datagram.
 */
export async function sendUdp(opts, payloads, deliver) {
  const ms = opts.timeoutMs;
  const [{ address, family }] = await resolveHost(opts.host, ms);
  const target = formatAddress(address, opts.port);
  const { createSocket } = await import('node:dgram');
  const conn = new UdpConn(createSocket({ type: family === 6 ? 'udp6' : 'udp4' }));
  try {
    try {
      await conn.call((cb) => conn.socket.connect(opts.port, address, cb), ms, `connecting to ${target}`);
    } catch (err) {
      throw udpError(`cannot connect to ${target}`, err);
    }
    const local = conn.socket.address();
    const remote = conn.socket.remoteAddress();
    const addrs = {
      local: formatAddress(local.address, local.port),
      peer: formatAddress(remote.address, remote.port),
    };
    for (const [index, payload] of payloads.entries()) {
      const seq = index + 1;
      let reply;
      try {
        await conn.call((cb) => conn.socket.send(payload, cb), ms, `sending message ${seq}`);
        reply = await conn.receive(ms, `waiting for the acknowledgement of message ${seq}`);
      } catch (err) {
        throw udpError(`message ${seq} to ${addrs.peer}`, err);
      }
      checkAck(reply, seq, payload);
      deliver({ seq, ...addrs, payload, ack: 'verified' });
    }
  } finally {
    conn.close();
  }
}

/** Sends every payload as the options say; `deliver` is called once per delivered message. */
export async function send(opts, payloads, deliver) {
  if (opts.transport === 'udp') return sendUdp(opts, payloads, deliver);
  if (opts.mode === 'framed') return sendFramed(opts, payloads, deliver);
  return sendRaw(opts, payloads, deliver);
}
