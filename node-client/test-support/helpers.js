// Shared by the tests: run the client as a real child process, and small in-test servers.
// (Outside test/, so that node --test does not take it for a test file.)

import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../bin/interop-client.js', import.meta.url));

export const sha256 = (data) => createHash('sha256').update(data).digest('hex');
export const ackFor = (seq, payload) => `ACK ${seq} ${payload.length} ${sha256(payload)}`;

export function frame(payload) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(data.length, 0);
  return Buffer.concat([header, data]);
}

/**
 * Runs `command args` (by default the client under the current node) and collects its output.
 * Resolves to { code, signal, stdout (Buffer), stderr (string), elapsedMs, exitedAt, pid };
 * `exitedAt` is performance.now() when it ended, to measure from a moment a test server saw.
 * `onSpawn(child)` is called with the child process as soon as it is started.
 */
export function run(args, { command = process.execPath, prefix = [BIN], limitMs = 30000, onSpawn } = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, [...prefix, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    onSpawn?.(child);
    const out = [];
    const err = [];
    child.stdout.on('data', (chunk) => out.push(chunk));
    child.stderr.on('data', (chunk) => err.push(chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString('utf8'),
        elapsedMs: performance.now() - started,
        exitedAt: performance.now(),
        pid: child.pid,
      });
    });
  });
}

export const runClient = (args, options) => run(args, options);

/** The stdout lines (without the last newline). */
export const lines = (result) => {
  const text = result.stdout.toString('utf8');
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
};

export const jsonLines = (result) => lines(result).map((line) => JSON.parse(line));

/** A fresh temporary directory, removed by `cleanup()`. */
export function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'interop-node-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

function listen(server, where) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(where, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Address as the protocol prints it. */
export function printed(ip, port) {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const host = mapped ? mapped[1] : ip;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * A stream server (TCP on `host`, or Unix on `path`). `onConnection(socket, record)` serves each
 * connection; `record` is pushed to `connections` with the client's printed address (`peer`).
 */
export async function streamServer(onConnection, { host = '127.0.0.1', path: socketPath } = {}) {
  const connections = [];
  const sockets = new Set();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const record = {
      connectedAt: performance.now(),
      peer: socketPath ? null : printed(socket.remoteAddress, socket.remotePort),
      chunks: [],
      messages: [],
      eof: false,
    };
    connections.push(record);
    onConnection(socket, record);
  });
  await listen(server, socketPath ? { path: socketPath } : { host, port: 0 });
  const address = server.address();
  return {
    server,
    connections,
    port: socketPath ? undefined : address.port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Raw mode (§2): everything until EOF is the message; then the server closes. */
export function rawServer(options) {
  return streamServer((socket, record) => {
    socket.on('data', (chunk) => record.chunks.push(chunk));
    socket.on('end', () => {
      record.eof = true;
      record.messages.push(Buffer.concat(record.chunks));
      socket.end();
    });
  }, options);
}

/**
 * Framed mode (§3): splits frames and answers each with `reply(seq, payload, record)`, which returns
 * the reply payload (string or Buffer) to frame, a raw Buffer under `{ raw }`, or null for none;
 * with `close: true` it then closes the connection at once.
 * Closes after the client's EOF. `waitFor` (number of frames) holds every reply until that many
 * frames arrived; `afterEof` holds every reply until the client's EOF.
 */
export function framedServer({ reply = (seq, payload) => ackFor(seq, payload), waitFor, afterEof, ...options } = {}) {
  return streamServer((socket, record) => {
    let pending = Buffer.alloc(0);
    const held = [];
    record.chunkSizes = [];
    const send = (answer) => {
      if (answer === null || answer === undefined) return;
      if (answer.raw) socket.write(answer.raw);
      else socket.write(frame(answer));
    };
    const release = () => {
      for (const answer of held.splice(0)) send(answer);
    };
    socket.on('data', (chunk) => {
      record.chunkSizes.push(chunk.length);
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
        const length = pending.readUInt32BE(0);
        const payload = pending.subarray(4, 4 + length);
        pending = pending.subarray(4 + length);
        record.messages.push(Buffer.from(payload));
        const answer = reply(record.messages.length, payload, record);
        if (answer && answer.close) {
          // Reply (e.g. ERR), then close at once: data still arriving is answered by a reset.
          const data = answer.raw ?? (answer.before ? frame(answer.before) : null);
          if (data) socket.write(data, () => socket.destroy());
          else socket.destroy();
          return;
        }
        if (waitFor || afterEof) held.push(answer);
        else send(answer);
      }
      if (waitFor && record.messages.length >= waitFor && !afterEof) release();
    });
    socket.on('end', () => {
      record.eof = true;
      record.eofAfterMessages = record.messages.length;
      release();
      socket.end();
    });
  }, options);
}

/** A UDP server answering each datagram with `reply(seq, payload, rinfo)` (null: no answer). */
export async function udpServer({ reply = (seq, payload) => ackFor(seq, payload), type = 'udp4', host = '127.0.0.1' } = {}) {
  const socket = dgram.createSocket(type);
  const datagrams = [];
  const seqs = new Map();
  socket.on('message', (payload, rinfo) => {
    const peer = printed(rinfo.address, rinfo.port);
    const seq = (seqs.get(peer) ?? 0) + 1;
    seqs.set(peer, seq);
    datagrams.push({ peer, seq, payload, receivedAt: performance.now() });
    const answer = reply(seq, payload, rinfo);
    if (answer !== null && answer !== undefined) socket.send(Buffer.from(answer), rinfo.port, rinfo.address);
  });
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, resolve);
  });
  return {
    port: socket.address().port,
    datagrams,
    close: () => new Promise((resolve) => socket.close(resolve)),
  };
}

/** A port on which nothing listens (bound, then released). */
export async function freePort(host = '127.0.0.1') {
  const server = net.createServer();
  await listen(server, { host, port: 0 });
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Whether this machine can listen on ::1. */
export async function hasIpv6Loopback() {
  const server = net.createServer();
  try {
    await listen(server, { host: '::1', port: 0 });
    await new Promise((resolve) => server.close(resolve));
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `condition()` holds, checking every 10 ms; fails after `limitMs`. */
export async function eventually(condition, what, limitMs = 10000) {
  const end = performance.now() + limitMs;
  while (!condition()) {
    if (performance.now() > end) throw new Error(`${what}: not within ${limitMs} ms`);
    await sleep(10);
  }
}

/**
 * The connections a stream server has accepted from everyone else so far. A listener accepts
 * in order, so once the server has seen a probe connection made now, it has seen every
 * connection made before (say by a client that has exited); the probe is left out.
 */
export async function connectionsSoFar(server) {
  const probe = net.connect({ host: '127.0.0.1', port: server.port });
  await new Promise((resolve, reject) => {
    probe.once('connect', resolve);
    probe.once('error', reject);
  });
  const me = printed(probe.localAddress, probe.localPort);
  try {
    await eventually(() => server.connections.some((c) => c.peer === me), 'the probe connection');
  } finally {
    probe.destroy();
  }
  const index = server.connections.findIndex((c) => c.peer === me);
  server.connections.splice(index, 1);
  return server.connections.slice(0, index);
}

/** The same for a UDP server: the datagrams it has received from everyone else so far. */
export async function datagramsSoFar(server) {
  const probe = dgram.createSocket('udp4');
  await new Promise((resolve) => probe.bind(0, '127.0.0.1', resolve));
  const me = printed('127.0.0.1', probe.address().port);
  try {
    probe.send(Buffer.from('probe'), server.port, '127.0.0.1');
    await eventually(() => server.datagrams.some((d) => d.peer === me), 'the probe datagram');
  } finally {
    probe.close();
  }
  const index = server.datagrams.findIndex((d) => d.peer === me);
  server.datagrams.splice(index, 1);
  return server.datagrams.slice(0, index);
}

/** The 256-byte message of all byte values, 00 to ff. */
export const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
