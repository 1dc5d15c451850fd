// Shared by the tests: the real server as a child process, and raw sockets to talk to it.
// (Outside test/, so that node --test does not take it for a test file.)

import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../bin/interop-server.js', import.meta.url));
export const WAIT_MS = 10000;

export const sha256 = (data) => createHash('sha256').update(data).digest('hex');
export const ackFor = (seq, payload) => `ACK ${seq} ${payload.length} ${sha256(payload)}`;
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function frame(payload) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(data.length, 0);
  return Buffer.concat([header, data]);
}

/** Runs the server to completion (arguments that make it exit at once). */
export function runServer(args, { stdio = ['ignore', 'pipe', 'pipe'], limitMs = 30000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio });
    const out = [];
    const err = [];
    child.stdout?.on('data', (chunk) => out.push(chunk));
    child.stderr?.on('data', (chunk) => err.push(chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** Waits until `predicate()` is true, checking after every `wake` event of `emitter`. */
function until(emitter, predicate, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const check = () => {
      let value;
      try {
        value = predicate();
      } catch (err) {
        cleanup();
        reject(err);
        return;
      }
      if (value) {
        cleanup();
        resolve(value);
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      emitter.off('wake', check);
    };
    emitter.on('wake', check);
    check();
  });
}

/**
 * The server, started with `--port 0 --format FORMAT ARGS` (no --port with `port: false`), its
 * stdout read line by line: `lines` (text), `events` (JSON, after the listening event), `stderr`.
 */
export class Server {
  static async start(args = [], { format = 'json', port = true, env } = {}) {
    const server = new Server([...(port ? ['--port', '0'] : []), '--format', format, ...args], env);
    await server.ready;
    return server;
  }

  constructor(args, env) {
    this.child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.lines = [];
    this.events = [];
    this.stderr = '';
    this.exit = null;
    this.partial = '';
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (text) => {
      const parts = (this.partial + text).split('\n');
      this.partial = parts.pop();
      for (const line of parts) {
        this.lines.push(line);
        if (line.startsWith('{')) this.events.push(JSON.parse(line));
      }
      this.child.emit('wake');
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text) => {
      this.stderr += text;
      this.child.emit('wake');
    });
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.exit = { code, signal };
        this.child.emit('wake');
        resolve(this.exit);
      });
    });
    this.ready = this.waitLine((line) => line.startsWith('listening on ')).then((line) => {
      this.addr = line.slice('listening on '.length);
      if (this.addr.startsWith('unix:')) {
        this.path = this.addr.slice('unix:'.length);
      } else {
        const at = this.addr.lastIndexOf(':');
        this.host = this.addr.slice(0, at).replace(/^\[|\]$/g, '');
        this.port = Number(this.addr.slice(at + 1));
      }
    });
  }

  /** Resolves to the first line that satisfies `predicate`. */
  waitLine(predicate, timeoutMs = WAIT_MS) {
    return until(
      this.child,
      () => {
        const line = this.lines.find(predicate);
        if (line !== undefined) return line;
        if (this.exit) throw new Error(`server exited (${JSON.stringify(this.exit)}): ${this.stderr}`);
        return undefined;
      },
      timeoutMs,
      () => `a line; so far ${JSON.stringify(this.lines)}, stderr ${JSON.stringify(this.stderr)}`,
    );
  }

  /** Resolves to the first event that satisfies `predicate`. */
  waitEvent(predicate, timeoutMs = WAIT_MS) {
    return until(
      this.child,
      () => this.events.find(predicate),
      timeoutMs,
      () => `an event; so far ${JSON.stringify(this.events)}, stderr ${JSON.stringify(this.stderr)}`,
    );
  }

  /** Resolves once stderr contains `text`. */
  waitStderr(text, timeoutMs = WAIT_MS) {
    return until(this.child, () => this.stderr.includes(text), timeoutMs, () => `stderr ${JSON.stringify(text)}; got ${JSON.stringify(this.stderr)}`);
  }

  /** Every event of connection `conn`, once its `closed` or `error` event is in. */
  async connEvents(conn, timeoutMs = WAIT_MS) {
    await this.waitEvent((e) => e.conn === conn && (e.event === 'closed' || e.event === 'error'), timeoutMs);
    return this.events.filter((e) => e.conn === conn);
  }

  /** The events of the connection whose peer is `peer`, once it has ended. */
  async peerEvents(peer, timeoutMs = WAIT_MS) {
    const end = await this.waitEvent(
      (e) => e.peer === peer && e.conn !== undefined && (e.event === 'closed' || e.event === 'error'),
      timeoutMs,
    );
    return this.events.filter((e) => e.conn === end.conn);
  }

  messages() {
    return this.events.filter((e) => e.event === 'message');
  }

  /** A new TCP (or Unix) connection to the server. */
  connect() {
    return connectTo(this.path ? { path: this.path } : { host: this.host, port: this.port });
  }

  /** Sends `signal` and resolves to `{ code, signal }` once it has exited (killed after a limit). */
  async stop(signal = 'SIGTERM', limitMs = 15000) {
    if (this.exit === null) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), limitMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** For `after` hooks: whatever happened, the process is gone. */
  async kill() {
    if (this.exit === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

// ----------------------------------------------------------------------------------- sockets

/**
 * A connected socket wrapped for tests: everything it receives is collected (`received`), and
 * `readFrame`, `readToEnd`, `ended` wait on it.
 */
export class Peer {
  constructor(socket) {
    this.socket = socket;
    this.chunks = [];
    this.eof = false;
    this.error = null;
    this.closed = false;
    socket.on('data', (chunk) => {
      this.chunks.push(chunk);
      socket.emit('wake');
    });
    socket.on('end', () => {
      this.eof = true;
      socket.emit('wake');
    });
    socket.on('error', (err) => {
      this.error = err;
      socket.emit('wake');
    });
    socket.on('close', () => {
      this.closed = true;
      socket.emit('wake');
    });
  }

  get received() {
    return Buffer.concat(this.chunks);
  }

  get local() {
    return this.socket.localAddress
      ? formatAddress(this.socket.localAddress, this.socket.localPort)
      : this.localCached;
  }

  write(data) {
    this.socket.write(data);
  }

  /** The next reply frame's payload, as text (asserts that one arrives whole). */
  async readFrame(timeoutMs = WAIT_MS) {
    this.offset ??= 0;
    const reply = await until(
      this.socket,
      () => {
        const data = this.received.subarray(this.offset);
        if (data.length >= 4) {
          const length = data.readUInt32BE(0);
          assert.ok(length <= 1024, `reply length ${length}`);
          if (data.length >= 4 + length) return data.subarray(4, 4 + length);
        }
        if (this.eof || this.closed) throw new Error(`connection ended before a whole reply frame: ${JSON.stringify(data.toString('latin1'))} (${this.error?.code ?? 'EOF'})`);
        return undefined;
      },
      timeoutMs,
      () => 'a reply frame',
    );
    this.offset += 4 + reply.length;
    return reply.toString('latin1');
  }

  /** Resolves once the server has closed: `'eof'` (orderly) or the error code (`ECONNRESET`). */
  ended(timeoutMs = WAIT_MS) {
    return until(
      this.socket,
      () => {
        if (this.error) return this.error.code ?? String(this.error);
        if (this.eof) return 'eof';
        if (this.closed) return 'closed';
        return undefined;
      },
      timeoutMs,
      () => 'the server to close the connection',
    );
  }

  /** Shuts down our write side (raw mode: the end of the message). */
  end() {
    this.socket.end();
  }

  destroy() {
    this.socket.destroy();
  }

  /** Closes with a reset. */
  reset() {
    if (typeof this.socket.resetAndDestroy === 'function' && !this.socket.destroyed && this.socket._handle?.reset) {
      this.socket.resetAndDestroy();
    } else {
      this.socket.destroy();
    }
  }
}

export function formatAddress(ip, port) {
  const host = String(ip).replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Connects (`{ host, port }` or `{ path }`); resolves to a Peer. */
export function connectTo(where) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ ...where, allowHalfOpen: true });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      const peer = new Peer(socket);
      peer.localCached = socket.localAddress ? formatAddress(socket.localAddress, socket.localPort) : undefined;
      resolve(peer);
    });
  });
}

/** Sends one raw-mode message (write, then shut down our side) and waits for the server's close. */
export async function sendRaw(server, payload) {
  const peer = await server.connect();
  const local = peer.local;
  peer.write(payload);
  peer.end();
  const how = await peer.ended();
  return { peer, local, how };
}

/** A fresh temporary directory, removed by `cleanup()`. */
export function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'interop-node-server-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** True if this machine can listen on ::1. */
export async function hasIpv6() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '::1', port: 0 }, () => server.close(() => resolve(true)));
  });
}
