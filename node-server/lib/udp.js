// UDP: one datagram per message, each acknowledged by one datagram (PROTOCOL.md §10.3).
//
// Node hands over each datagram whole (libuv receives into 64 KiB), so one longer than 65,507
// bytes (possible over IPv6) is the "truncated" case of §10.3: an error, never a message, never
// acknowledged. The first datagram from a new peer address gets a `connected` event and a
// connection number; `seq` counts that peer's datagrams from 1. There is no close, so no `closed`.
//
// Log, then acknowledge: the ACK is sent in the `then` of the record's write. A datagram whose
// record cannot be written gets no ACK, and the server stops (exit 3). Node's dgram sockets cannot
// pause receiving: while MAX_PENDING records are waiting for stdout, further datagrams are
// dropped, as the kernel drops them when a server does not read (the client times out).

import { Buffer } from 'node:buffer';
import { MessageView } from './output.js';
import { sleep } from './timers.js';
import { MAX_UDP_PAYLOAD, ackText, describe, formatAddress } from './wire.js';

/** Most datagrams whose records are waiting for stdout. */
export const MAX_PENDING = 1024;
/** On SIGTERM: how long the datagrams already received get to be logged and acknowledged. */
export const FINISH_MS = 1000;

export class UdpServer {
  /** `socket`: a bound dgram socket. `config`: `{ maxMessageBytes, maxConnections }`. */
  constructor(socket, { local, config, log }) {
    this.socket = socket;
    this.local = local;
    this.config = config;
    this.log = log;
    /** Per peer address: its connection number and datagrams so far (oldest first). */
    this.peers = new Map();
    this.nextConn = 1;
    this.pending = 0;
    this.stopped = false;
    this.closed = false;
    this.idleWaiters = [];
  }

  /** Serves until `stop` resolves (resolves to 'signal') or stdout fails (to 'output'). */
  async run(stop) {
    const failed = new Promise((resolve) => {
      this.log.onFailure(resolve);
    });
    this.socket.on('message', (data, rinfo) => this.#datagram(data, rinfo));
    // An ICMP error queued by an earlier send, and the like: report it, go on receiving.
    this.socket.on('error', (err) => this.log.error(null, null, `receive failed: ${describe(err)}`));
    const how = await Promise.race([stop.then(() => 'signal'), failed.then(() => 'output')]);
    this.stopped = true;
    if (how === 'signal' && this.pending > 0) {
      // What was received before the signal is logged and acknowledged, briefly.
      await Promise.race([new Promise((resolve) => this.idleWaiters.push(resolve)), sleep(FINISH_MS), failed]);
    }
    this.#close();
    return this.log.failure === null ? 'signal' : 'output';
  }

  #close() {
    if (this.closed) return;
    this.closed = true;
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }

  #datagram(data, rinfo) {
    if (this.stopped || this.log.failure !== null) return; // nothing more is logged, so acknowledged
    const peer = formatAddress(rinfo.address, rinfo.port);
    if (data.length > MAX_UDP_PAYLOAD) {
      this.log.error(null, peer, `datagram truncated: more than ${MAX_UDP_PAYLOAD} bytes (the UDP maximum)`);
      return;
    }
    const max = this.config.maxMessageBytes;
    if (data.length > max) {
      this.log.error(null, peer, `datagram too large: ${data.length} bytes > maximum ${max}`);
      return;
    }
    if (this.pending >= MAX_PENDING) return; // stdout is far behind: dropped, as by the kernel
    let state = this.peers.get(peer);
    if (state === undefined) {
      // Bounded: past --max-connections peers, the oldest numbering is forgotten.
      if (this.peers.size >= this.config.maxConnections) this.peers.delete(this.peers.keys().next().value);
      state = { conn: this.nextConn, seq: 0 };
      this.nextConn += 1;
      this.peers.set(peer, state);
      this.log.connected(state.conn, peer, this.local);
    }
    state.seq += 1;
    const { conn, seq } = state;
    const view = new MessageView(data);
    this.pending += 1;
    this.log.message(conn, peer, seq, view).then(
      () => {
        this.#settled();
        if (this.closed || this.log.failure !== null) return;
        const ack = Buffer.from(ackText(seq, view.length, view.sha256), 'ascii');
        this.socket.send(ack, rinfo.port, rinfo.address, (err) => {
          if (err) this.log.error(conn, peer, `sending ack ${seq} failed: ${describe(err)}`);
        });
      },
      () => this.#settled(), // not logged, so not acknowledged
    );
  }

  #settled() {
    this.pending -= 1;
    if (this.pending === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
