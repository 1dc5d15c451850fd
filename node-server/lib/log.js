// The server's log: every event goes through one Log, in order, to stdout (and in text format a
// connection's errors to stderr).
//
// Log, then acknowledge (PROTOCOL.md §5). When stdout is a pipe, `process.stdout.write` is
// asynchronous in Node: libuv writes what the pipe takes at once and queues the rest, and the
// write's callback runs once libuv has handed every byte of it to the kernel. So a record is in
// the log exactly when its callback reports success, and `Log.message` returns a promise that
// resolves only then: the caller sends the ACK (or closes the raw connection) in its `then`. A file
// or a character device (`/dev/full`) gets Node's synchronous SyncWriteStream and a terminal a
// blocking tty stream; the callback means the same for them. The other way, `fs.writeSync(1, …)`,
// would block the whole event loop (every connection, the signal handlers, the shutdown timers)
// whenever the reader of the pipe is slow, and would have to spin on EAGAIN, since libuv may have
// made the pipe non-blocking. Records of several connections written while one is in flight are
// written together (the stream's writev), as §5 allows; no ACK goes out before its own callback.
//
// When the log falls behind (more than BEHIND_BYTES handed to the stream and not yet written), it
// says so (`behind`, `onFlow`): connections then stop reading until it has caught up.
//
// Once a write fails (EPIPE, ENOSPC, EBADF, …) the log is broken for good: `failure` holds the
// reason (`Broken pipe (os error 32)`), every pending and later `message` rejects with
// OutputFailed, nothing more is written (neither stdout nor, in text format, stderr), and the
// `onFailure` listeners are told, once.

import { describe } from './wire.js';

/** More than this many bytes waiting for stdout: connections pause their reading. */
export const BEHIND_BYTES = 1024 * 1024;
/** ... until no more than this many are left. */
export const CAUGHT_UP_BYTES = 256 * 1024;

/** A record could not be written to stdout: its message must not be acknowledged. */
export class OutputFailed extends Error {
  constructor(reason) {
    super(`writing output: ${reason}`);
    this.name = 'OutputFailed';
    this.reason = reason;
  }
}

export class Log {
  /**
   * `printer` formats the events (output.js); `out` and `err` are the streams (by default
   * process.stdout and process.stderr).
   */
  constructor(printer, { out = process.stdout, err = process.stderr } = {}) {
    this.printer = printer;
    this.out = out;
    this.err = err;
    /** Why stdout could not be written (`No space left on device (os error 28)`), or null. */
    this.failure = null;
    /** True while stdout is behind (see BEHIND_BYTES). */
    this.behind = false;
    this.pendingBytes = 0;
    this.inFlight = 0; // writes to stdout and stderr whose callback has not run
    this.waiting = new Set(); // the reject functions of records not yet written
    this.failureListeners = [];
    this.flowListeners = new Set();
    this.idleWaiters = [];
    // Without a listener an 'error' event would throw: a broken stdout is handled, not fatal.
    out.on('error', (error) => this.#fail(error));
    err.on('error', () => {}); // stderr is not the log: a line lost there is lost, no more
  }

  // ---------------------------------------------------------------------------------- events

  /** The first line(s); resolves once written, rejects with OutputFailed if they are not. */
  listening(addr, mode) {
    return this.#record(this.printer.listening(addr, mode));
  }

  connected(conn, peer, local) {
    this.#emit(this.printer.connected(conn, peer, local));
  }

  /**
   * Logs a message (`view`: its MessageView). Resolves once its record is written; rejects with
   * OutputFailed if it was not, and then the message must not be acknowledged.
   */
  message(conn, peer, seq, view) {
    if (this.failure !== null) return Promise.reject(new OutputFailed(this.failure));
    return this.#record(this.printer.message(conn, peer, seq, view));
  }

  closed(conn, peer, messages) {
    this.#emit(this.printer.closed(conn, peer, messages));
  }

  /** An error event; `conn` and `peer` may be null (an error of the server itself). */
  error(conn, peer, text) {
    this.#emit(this.printer.error(conn ?? null, peer ?? null, text));
  }

  /** Drops the held-back `Hello:` of a connection that ends without an event. */
  forget(conn) {
    this.printer.forget(conn);
  }

  // ------------------------------------------------------------------------------ listeners

  /** `listener(reason)` is called once, on the next tick after stdout first fails (or has). */
  onFailure(listener) {
    if (this.failure !== null) {
      const reason = this.failure;
      process.nextTick(() => listener(reason));
      return;
    }
    this.failureListeners.push(listener);
  }

  /** `listener()` is called whenever `behind` changes. Returns a function that unsubscribes. */
  onFlow(listener) {
    this.flowListeners.add(listener);
    return () => this.flowListeners.delete(listener);
  }

  /**
   * Resolves to true once every write so far (stdout and stderr) has completed, or to false if
   * that takes more than `timeoutMs`. Resolves at once when stdout has failed (what is left will
   * never be written).
   */
  drained(timeoutMs) {
    if (this.inFlight === 0 || this.failure !== null) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(done);
    });
  }

  /**
   * Writes one last line on stderr, even after stdout has failed (the `error: writing output`
   * line), and resolves once it is written or after `timeoutMs`.
   */
  finalLine(line, timeoutMs) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      try {
        this.err.write(line, done);
      } catch {
        done();
      }
    });
  }

  // -------------------------------------------------------------------------------- writing

  #emit({ out, err }) {
    if (this.failure !== null) return;
    if (err) this.#writeErr(err);
    if (out) this.#record({ out }).catch(() => {});
  }

  /** Writes `out` (if any); resolves once it is written. */
  #record({ out, err }) {
    if (this.failure !== null) return Promise.reject(new OutputFailed(this.failure));
    if (err) this.#writeErr(err);
    if (!out) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiting.add(reject);
      this.#begin(out.length);
      let called = false;
      const written = (error) => {
        if (called) return;
        called = true;
        this.waiting.delete(reject);
        if (error) this.#fail(error);
        this.#end(out.length);
        if (this.failure !== null) reject(new OutputFailed(this.failure));
        else resolve();
      };
      try {
        this.out.write(out, written);
      } catch (error) {
        written(error);
      }
    });
  }

  #writeErr(line) {
    this.#begin(0);
    let called = false;
    const written = () => {
      if (called) return;
      called = true;
      this.#end(0);
    };
    try {
      this.err.write(line, written);
    } catch {
      written();
    }
  }

  #begin(bytes) {
    this.inFlight += 1;
    this.pendingBytes += bytes;
    if (!this.behind && this.pendingBytes > BEHIND_BYTES) this.#setBehind(true);
  }

  #end(bytes) {
    this.inFlight -= 1;
    this.pendingBytes -= bytes;
    if (this.behind && this.pendingBytes <= CAUGHT_UP_BYTES) this.#setBehind(false);
    if (this.inFlight === 0) this.#wakeIdle();
  }

  #setBehind(behind) {
    this.behind = behind;
    for (const listener of [...this.flowListeners]) listener();
  }

  #wakeIdle() {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const waiter of waiters) waiter();
  }

  #fail(error) {
    if (this.failure !== null) return;
    this.failure = describe(error);
    // Records still in the stream will never count as written, whatever it does with them.
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const reject of waiting) reject(new OutputFailed(this.failure));
    this.#wakeIdle();
    if (this.behind) this.#setBehind(false);
    const reason = this.failure;
    process.nextTick(() => {
      for (const listener of this.failureListeners) listener(reason);
    });
  }
}
