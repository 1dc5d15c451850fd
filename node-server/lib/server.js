// The stream server: the accept loop and the raw and framed protocols over TCP and Unix sockets
// (PROTOCOL.md §2, §3, §5, §10.2, §11).
//
// Invariants:
// - At most `maxConnections` connections are served. Every connection is accepted; one over the
//   limit is turned away at once without reading a frame from it (framed: `ERR busy`, then
//   drained for at most a second; raw: a reset), holds no slot and has no events; a `busy` error
//   event counts them, at most one a second. At most MAX_TURNING_AWAY of them are open at a time.
// - A frame's length is checked before its payload is buffered; a raw message stops at the
//   maximum. A connection reads nothing while its record is being written, while its peer does
//   not read its ACKs, or while stdout is behind (Log.behind), so memory is bounded by about
//   `maxConnections × (maxMessageBytes + 64 KiB)`.
// - A connection's events are `connected`, its `message`s, then exactly one of `closed` or
//   `error` (also when it is cut off at shutdown). Nothing is logged for a partial message.
// - Log, then acknowledge: the ACK is written (raw: the orderly close made) only in the `then` of
//   the record's write (log.js). When stdout fails, nothing more is acknowledged: every open
//   framed connection gets `ERR output`, every raw one a reset, and the server stops.
// - A raw connection whose message is not recorded is never closed in an orderly way (its FIN
//   would tell the client "recorded", §2): every raw failure is a reset.

import { Buffer } from 'node:buffer';
import { OutputFailed } from './log.js';
import { MessageView } from './output.js';
import { after, sleep } from './timers.js';
import {
  ERR_BUSY,
  ERR_OUTPUT,
  ERR_TOO_LARGE,
  HEADER_BYTES,
  ackText,
  describe,
  encodeFrame,
  errText,
  formatAddress,
} from './wire.js';

export const SHUTDOWN_GRACE_MS = 5000;
/** After an `ERR` reply: how long the client's input is read (and dropped) before closing. */
export const REFUSAL_DRAIN_MS = 1000;
/** An orderly close: how long the peer gets to close its side before the socket is destroyed. */
export const CLOSE_MS = 1000;
/** After stdout failed: how long connections get to read their `ERR output` before the cut. */
export const OUTPUT_STOP_MS = 500;
/** Most turned-away (`ERR busy`) connections open at a time. */
export const MAX_TURNING_AWAY = 64;
/** At most one `busy` event per this many milliseconds. */
export const BUSY_LOG_MS = 1000;
/** After a failed accept, the first quiet period; it doubles up to ACCEPT_BACKOFF_MAX_MS. */
export const ACCEPT_BACKOFF_MS = 1000;
export const ACCEPT_BACKOFF_MAX_MS = 64000;

/** Closes a socket at once with a reset (TCP: SO_LINGER 0), never with an orderly FIN. */
export function resetSocket(socket) {
  try {
    // A Unix socket has no reset (resetAndDestroy throws for it); closing one with unread input
    // resets its peer anyway.
    if (typeof socket.resetAndDestroy === 'function' && socket._handle?.reset) socket.resetAndDestroy();
    else socket.destroy();
  } catch {
    socket.destroy();
  }
}

const now = () => performance.now();

/** Serves a listening net.Server (TCP or Unix) until stopped. */
export class StreamServer {
  /**
   * `listener`: a listening net.Server created with `allowHalfOpen: true`. `local`: our address
   * as printed (`ip:port` or `unix:PATH`). `config`: `{ mode, maxMessageBytes, maxConnections,
   * idleTimeoutMs, shutdownGraceMs }`. `log`: the Log. `unix`: true for a Unix socket.
   */
  constructor(listener, { local, config, log, unix = false }) {
    this.listener = listener;
    this.local = local;
    this.config = { shutdownGraceMs: SHUTDOWN_GRACE_MS, ...config };
    this.log = log;
    this.unix = unix;
    /** Served connections whose `closed`/`error` event is not yet logged, by number. */
    this.conns = new Map();
    this.slotsUsed = 0;
    this.nextConn = 1;
    this.turningAway = new Set();
    /** Sockets whose connection has ended, closing in an orderly way (our FIN is out or queued). */
    this.closing = new Set();
    this.stopping = false;
    this.outputDeadline = 0;
    this.busyUnlogged = 0;
    this.busyLoggedAt = null;
    this.busyTimer = null;
    this.acceptBackoff = ACCEPT_BACKOFF_MS;
    this.acceptQuietUntil = 0;
    this.acceptUnlogged = 0;
    this.idleWaiters = [];
  }

  /**
   * Serves until `stop` (a promise) resolves or stdout fails. Resolves to `'signal'` once the
   * grace period is over (or every connection has ended), or to `'output'` once every connection
   * has been answered after stdout failed.
   */
  async run(stop) {
    const failed = new Promise((resolve) => {
      this.log.onFailure(resolve);
    });
    this.listener.on('connection', (socket) => this.#accept(socket));
    this.listener.on('error', (err) => this.#acceptFailed(err));
    const first = await Promise.race([stop.then(() => 'signal'), failed.then(() => 'output')]);
    this.#stopAccepting();
    if (first === 'signal' && this.log.failure === null) {
      const grace = this.config.shutdownGraceMs;
      let cancel;
      const graceOver = new Promise((resolve) => {
        cancel = after(grace, () => resolve('grace'));
      });
      const done = this.#allEnded().then(() => this.#allClosed());
      const how = await Promise.race([done.then(() => 'done'), graceOver, failed.then(() => 'output')]);
      cancel();
      if (how !== 'output' && this.log.failure === null) {
        if (how === 'grace') this.#cutOff(grace);
        this.#logBusy();
        this.#closeTurnedAway();
        return 'signal';
      }
    }
    await this.#stopForOutput();
    return 'output';
  }

  // ----------------------------------------------------------------------------- stopping

  #stopAccepting() {
    this.stopping = true;
    try {
      // Closing the listener also removes a Unix socket's file (libuv unlinks it).
      this.listener.close();
    } catch {
      // already closed
    }
  }

  /** Resolves once no served connection is left (every one has logged its end). */
  #allEnded() {
    if (this.conns.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Resolves once every ended connection's socket has closed too, so that ACKs still queued in
   * them are not lost when the process exits (each closes within CLOSE_MS).
   */
  async #allClosed() {
    while (this.closing.size > 0) {
      await new Promise((resolve) => [...this.closing][0].once('close', resolve));
    }
  }

  /** The grace period is over: every connection still open gets its `error` event and a reset. */
  #cutOff(grace) {
    const conns = [...this.conns.values()];
    if (conns.length === 0) return;
    for (const c of conns) c.cutOff(`shutdown: cut off after the ${grace} ms grace period`);
    this.log.error(null, null, `shutdown: closed ${conns.length} connection(s) still open after ${grace} ms`);
  }

  /** stdout failed: framed connections get `ERR output`, raw ones a reset; the rest is cut. */
  async #stopForOutput() {
    this.outputDeadline = now() + OUTPUT_STOP_MS;
    this.#closeTurnedAway();
    for (const c of [...this.conns.values()]) c.endForOutput();
    await Promise.race([this.#allEnded(), sleep(OUTPUT_STOP_MS + 50)]);
    for (const c of [...this.conns.values()]) c.kill();
  }

  #closeTurnedAway() {
    if (this.busyTimer !== null) {
      clearTimeout(this.busyTimer);
      this.busyTimer = null;
    }
    for (const socket of this.turningAway) socket.destroy();
    this.turningAway.clear();
  }

  // ---------------------------------------------------------------------------- accepting

  #accept(socket) {
    this.acceptBackoff = ACCEPT_BACKOFF_MS;
    if (this.stopping || this.log.failure !== null) {
      resetSocket(socket);
      return;
    }
    if (this.slotsUsed >= this.config.maxConnections) {
      this.#turnAway(socket);
      return;
    }
    let peer;
    let local;
    if (this.unix) {
      // Node has no getsockopt(SO_PEERCRED): the peer's process id cannot be read (README).
      peer = 'pid:unknown';
      local = this.local;
    } else {
      // Read now: once the peer has reset the connection, getpeername fails.
      peer = socket.remoteAddress ? formatAddress(socket.remoteAddress, socket.remotePort) : 'unknown';
      local = socket.localAddress ? formatAddress(socket.localAddress, socket.localPort) : this.local;
      // ACKs are small writes answered by the client's next frame: no Nagle delay.
      socket.setNoDelay(true);
    }
    const c = new Connection(this, socket, this.nextConn, peer);
    this.nextConn += 1;
    this.conns.set(c.id, c);
    this.slotsUsed += 1;
    c.start(local);
  }

  /** Called by a connection when its end is logged: its slot is free for the next client. */
  release(c) {
    if (!this.conns.delete(c.id)) return;
    this.slotsUsed -= 1;
    if (this.conns.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Accept failed (out of file descriptors, …): say so, then stay quiet for a while. */
  #acceptFailed(err) {
    // Node cannot pause accepting; libuv itself does not spin on EMFILE (it accepts and closes
    // with a reserved descriptor). What backs off here is the logging.
    if (now() < this.acceptQuietUntil) {
      this.acceptUnlogged += 1;
      return;
    }
    const more = this.acceptUnlogged ? ` (and ${this.acceptUnlogged} more since the last report)` : '';
    this.acceptUnlogged = 0;
    this.log.error(null, null, `accept failed: ${describe(err)}${more}`);
    this.acceptQuietUntil = now() + this.acceptBackoff;
    this.acceptBackoff = Math.min(this.acceptBackoff * 2, ACCEPT_BACKOFF_MAX_MS);
  }

  // ------------------------------------------------------------- turning away (§5, busy)

  #turnAway(socket) {
    socket.on('error', () => {});
    this.busyUnlogged += 1;
    if (this.busyTimer === null) {
      const due = this.busyLoggedAt === null ? 0 : this.busyLoggedAt + BUSY_LOG_MS;
      if (now() >= due) this.#logBusy();
      else this.busyTimer = setTimeout(() => this.#logBusy(), due - now());
    }
    if (this.config.mode !== 'framed' || this.turningAway.size >= MAX_TURNING_AWAY) {
      // Raw mode's only "no" is a reset; past the bound, so is framed mode's (Node cannot leave
      // connections waiting in the backlog: it accepts whatever arrives).
      resetSocket(socket);
      return;
    }
    this.turningAway.add(socket);
    const max = this.config.maxConnections;
    socket.write(
      encodeFrame(errText(ERR_BUSY, `${max} connections open, the most this server serves (--max-connections)`)),
    );
    socket.end();
    // Read and drop what the client sends until it closes, so that our close does not reset
    // the reply away before the client has read it.
    socket.resume();
    const timer = setTimeout(() => socket.destroy(), REFUSAL_DRAIN_MS);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      this.turningAway.delete(socket);
    };
    socket.once('end', done);
    socket.once('close', done);
  }

  /** One `busy` event counting the connections turned away since the last one. */
  #logBusy() {
    if (this.busyTimer !== null) clearTimeout(this.busyTimer);
    this.busyTimer = null;
    if (this.busyUnlogged === 0) return;
    const count = this.busyUnlogged;
    this.busyUnlogged = 0;
    this.busyLoggedAt = now();
    this.log.error(
      null,
      null,
      `busy: turned away ${count} connection(s) over --max-connections ${this.config.maxConnections}`,
    );
  }
}

/** One served connection (§2 raw, §3 framed). */
class Connection {
  constructor(server, socket, id, peer) {
    this.server = server;
    this.socket = socket;
    this.id = id;
    this.peer = peer;
    this.log = server.log;
    this.config = server.config;
    this.framed = this.config.mode === 'framed';
    this.chunks = [];
    this.buffered = 0;
    this.frameLength = null; // the payload length of the frame being read, once its prefix is in
    this.seq = 0; // messages logged
    this.eof = false; // the peer has shut down its write side
    this.awaiting = false; // a record is being written: read nothing more until it is
    this.ackBlocked = false; // the peer does not read its ACKs: read nothing more until it does
    this.discarding = false; // an ERR reply or our FIN has gone out: input is read and dropped
    this.ended = false; // its `closed`/`error` event is logged (or it ends without one)
    this.refused = null; // while refusing: what to do once the client has closed
    this.outputEnded = false; // answered for a broken stdout
    this.cancelTimer = null;
    this.unsubscribe = () => {};
  }

  start(local) {
    const { socket } = this;
    this.log.connected(this.id, this.peer, local);
    socket.on('data', (chunk) => this.#onData(chunk));
    socket.on('end', () => this.#onEnd());
    socket.on('error', (err) => this.#onError(err));
    socket.on('close', () => this.#onClose());
    socket.on('drain', () => this.#onDrain());
    this.unsubscribe = this.log.onFlow(() => this.#flow());
    this.#armIdle();
    this.#flow();
  }

  // ---------------------------------------------------------------------------- reading

  /** Reads while nothing holds the connection back; pauses otherwise. */
  #flow() {
    const { socket } = this;
    if (socket.destroyed) return;
    const read = this.discarding || (!this.awaiting && !this.ackBlocked && !this.log.behind);
    if (read && socket.isPaused()) socket.resume();
    else if (!read && !socket.isPaused()) socket.pause();
  }

  #onData(chunk) {
    if (this.discarding || this.ended) return;
    if (!this.framed) {
      const max = this.config.maxMessageBytes;
      if (this.buffered + chunk.length > max) {
        this.#fail(`message too large: more than ${max} bytes`, 'reset');
        return;
      }
      this.#push(chunk);
      this.#armIdle(); // raw: no byte for that long
      return;
    }
    this.#push(chunk);
    this.#pump();
  }

  #onEnd() {
    this.eof = true;
    if (this.refused) {
      this.refused();
      return;
    }
    if (this.discarding || this.ended) return;
    if (this.framed) {
      this.#pump();
      return;
    }
    // Raw: everything up to EOF is the message.
    this.#clearTimer();
    const payload = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    this.seq = 1;
    this.#record(1, payload, () => this.#close());
  }

  #onError(err) {
    if (this.refused) {
      this.refused();
      return;
    }
    if (this.ended) return;
    let error;
    if (!this.framed) error = `read failed after ${this.buffered} bytes: ${describe(err)}`;
    else if (err.syscall === 'write') error = `writing ack ${this.seq} failed: ${describe(err)}`;
    else error = `frame ${this.seq + 1}: ${describe(err)}`;
    // Node destroys the socket after an error; there is nothing left to close.
    this.#fail(error, 'none');
  }

  #onClose() {
    this.unsubscribe();
    this.#clearTimer();
    if (this.refused) this.refused();
    if (!this.ended) this.#finish('connection closed before it ended');
  }

  #onDrain() {
    if (!this.ackBlocked) return;
    this.ackBlocked = false;
    this.#clearTimer();
    this.#armIdle();
    this.#pump();
  }

  #push(chunk) {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next `n` buffered bytes (n <= buffered). */
  #take(n) {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0];
    if (first.length === n) {
      this.chunks.shift();
      this.buffered -= n;
      return first;
    }
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const chunk = this.chunks[0];
      const used = Math.min(chunk.length, n - at);
      chunk.copy(out, at, 0, used);
      at += used;
      if (used === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    this.buffered -= n;
    return out;
  }

  // ----------------------------------------------------------------------- framed (§3)

  /** Takes every complete frame there is, one at a time: each is logged, then acknowledged. */
  #pump() {
    const max = this.config.maxMessageBytes;
    while (!this.awaiting && !this.ackBlocked && !this.discarding && !this.ended) {
      if (this.frameLength === null) {
        if (this.buffered < HEADER_BYTES) break;
        const length = this.#take(HEADER_BYTES).readUInt32BE(0);
        if (length > max) {
          this.#tooLarge(length);
          return;
        }
        this.frameLength = length;
      }
      if (this.buffered < this.frameLength) break;
      const payload = this.#take(this.frameLength);
      this.frameLength = null;
      this.#clearTimer();
      this.seq += 1;
      const seq = this.seq;
      this.#record(seq, payload, (view) => this.#ack(seq, view));
    }
    if (!this.awaiting && !this.ackBlocked && !this.discarding && !this.ended && this.eof) {
      if (this.frameLength === null && this.buffered === 0) {
        this.#close(); // EOF exactly between frames: the normal end
        return;
      }
      const what =
        this.frameLength === null
          ? `expected ${HEADER_BYTES} length-prefix bytes, got ${this.buffered}`
          : `expected ${this.frameLength} payload bytes, got ${this.buffered}`;
      this.#fail(`frame ${this.seq + 1}: truncated frame: ${what}`, 'close');
      return;
    }
    this.#flow();
  }

  #ack(seq, view) {
    const ok = this.socket.write(encodeFrame(ackText(seq, view.length, view.sha256)));
    if (!ok) {
      // A peer that never reads its ACKs is stalled just like one that never writes. Reset: an
      // orderly close would wait behind the ACKs it does not read.
      this.ackBlocked = true;
      const ms = this.config.idleTimeoutMs;
      this.#setTimer(ms, () => this.#fail(`writing ack ${seq} failed: timed out after ${ms} ms`, 'reset'));
    } else {
      this.#armIdle();
    }
    this.#pump();
  }

  #tooLarge(length) {
    const max = this.config.maxMessageBytes;
    const frame = this.seq + 1;
    this.#refuse(errText(ERR_TOO_LARGE, `${length} > ${max}`), now() + REFUSAL_DRAIN_MS, () =>
      this.#finish(`frame ${frame} too large: ${length} bytes > maximum ${max}`),
    );
  }

  // -------------------------------------------------------------------------- logging

  /** Logs message `seq`, reading nothing meanwhile; then `then(view)`, unless it has ended. */
  #record(seq, payload, then) {
    const view = new MessageView(payload);
    this.awaiting = true;
    this.#flow();
    this.log
      .message(this.id, this.peer, seq, view)
      .then(
        () => {
          this.awaiting = false;
          if (this.ended || this.discarding) return;
          then(view);
        },
        (err) => {
          this.awaiting = false;
          if (!(err instanceof OutputFailed)) throw err;
          this.endForOutput();
        },
      )
      .catch((err) => {
        // A bug, not the peer's doing: this connection ends, the server goes on.
        this.#fail(`internal error: ${describe(err)}`, 'reset');
      });
  }

  // --------------------------------------------------------------------------- timers

  /** Raw: no byte for that long. Framed: the next frame not complete within that long. */
  #armIdle() {
    const ms = this.config.idleTimeoutMs;
    this.#setTimer(ms, () => {
      if (this.log.behind || this.awaiting) {
        this.#armIdle(); // held back by our own log, not by the peer
        return;
      }
      this.#fail(
        `idle timeout: nothing completed for ${ms} ms (${this.buffered} bytes pending)`,
        this.framed ? 'close' : 'reset',
      );
    });
  }

  #setTimer(ms, fn) {
    this.#clearTimer();
    this.cancelTimer = after(ms, () => {
      this.cancelTimer = null;
      fn();
    });
  }

  #clearTimer() {
    if (this.cancelTimer !== null) {
      this.cancelTimer();
      this.cancelTimer = null;
    }
  }

  // --------------------------------------------------------------------------- ending

  /** Logs the connection's one `closed` (error null) or `error` event and frees its slot. */
  #finish(error) {
    if (this.ended) return false;
    this.ended = true;
    this.#clearTimer();
    this.chunks = [];
    this.buffered = 0;
    // A client that reads this event may connect again at once and must find its slot free.
    this.server.release(this);
    if (error === null) this.log.closed(this.id, this.peer, this.seq);
    else this.log.error(this.id, this.peer, error);
    return true;
  }

  /** The normal end: `closed`, then our FIN; the socket goes once the peer has closed too. */
  #close() {
    if (!this.#finish(null)) return;
    this.#closeGently();
  }

  /** Ends with an `error` event; `how`: 'reset', 'close' (orderly) or 'none' (already gone). */
  #fail(error, how) {
    if (!this.#finish(error)) return;
    if (how === 'reset' || (how === 'close' && !this.framed)) this.kill();
    else if (how === 'close') this.#closeGently();
  }

  #closeGently() {
    const { socket } = this;
    this.discarding = true;
    if (socket.destroyed) return;
    socket.end();
    this.#flow(); // keep reading (and dropping) to see the peer's FIN
    const timer = setTimeout(() => socket.destroy(), CLOSE_MS);
    this.server.closing.add(socket);
    socket.once('close', () => {
      clearTimeout(timer);
      this.server.closing.delete(socket);
    });
  }

  /**
   * Sends the `ERR` reply, shuts down our side, then reads and drops the client's input until it
   * closes or `deadline` passes (so that our close does not reset the reply away), then `then()`
   * and the socket is destroyed.
   */
  #refuse(reply, deadline, then) {
    const { socket } = this;
    this.discarding = true;
    this.#clearTimer();
    this.chunks = [];
    this.buffered = 0;
    let timer = null;
    const done = () => {
      if (this.refused !== done) return;
      this.refused = null;
      clearTimeout(timer);
      then();
      socket.destroy();
    };
    this.refused = done;
    if (socket.destroyed) {
      done();
      return;
    }
    timer = setTimeout(done, Math.max(0, deadline - now()));
    socket.write(encodeFrame(reply));
    socket.end();
    if (this.eof) done();
    else this.#flow();
  }

  /** Closes at once with a reset (the connection's event, if any, is already logged). */
  kill() {
    this.ended = true;
    this.server.release(this);
    resetSocket(this.socket);
  }

  /** The grace period is over: an `error` event, then a reset. */
  cutOff(error) {
    this.refused = null;
    this.#finish(error);
    this.kill();
  }

  /** stdout failed: no ACK for what we hold. Framed: `ERR output`, raw: a reset. No event. */
  endForOutput() {
    if (this.outputEnded) return;
    this.outputEnded = true;
    this.log.forget(this.id);
    if (this.ended || this.discarding) return; // already ending its own way (cut at the stop's end)
    if (!this.framed || this.socket.destroyed) {
      this.kill();
      return;
    }
    const deadline = this.server.outputDeadline || now() + OUTPUT_STOP_MS;
    this.refused = null;
    this.#refuse(errText(ERR_OUTPUT, `writing output: ${this.log.failure}`), deadline, () => {
      this.ended = true;
      this.server.release(this);
    });
  }
}
