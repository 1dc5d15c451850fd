// Transports (§10): IPv6, Unix domain stream sockets, UDP.

import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Server, ackFor, frame, hasIpv6, sendRaw, sha256, tempDir } from '../test-support/helpers.js';

describe('IPv6', async () => {
  const skip = (await hasIpv6()) ? false : 'no ::1 on this machine';

  test('raw over ::1: addresses print as [::1]:port', { skip }, async () => {
    const server = await Server.start(['--host', '::1']);
    try {
      assert.match(server.addr, /^\[::1\]:\d+$/);
      const { local, how } = await sendRaw(server, Buffer.from('over ipv6'));
      assert.equal(how, 'eof');
      assert.match(local, /^\[::1\]:\d+$/);
      const events = await server.peerEvents(local);
      assert.equal(events[0].local, server.addr);
      assert.equal(events[1].text, 'over ipv6');
    } finally {
      await server.kill();
    }
  });

  test('framed over ::1', { skip }, async () => {
    const server = await Server.start(['--host', '::1', '--mode', 'framed']);
    try {
      const peer = await server.connect();
      peer.write(frame(Buffer.from('v6')));
      assert.equal(await peer.readFrame(), ackFor(1, Buffer.from('v6')));
      peer.end();
      assert.equal(await peer.ended(), 'eof');
    } finally {
      await server.kill();
    }
  });
});

/** Leaves a stale socket file at `sock`: a process listened there and was killed. */
async function staleSocket(sock) {
  const script = `require('net').createServer().listen(${JSON.stringify(sock)}, () => console.log('up'))`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout.once('data', resolve));
  const gone = new Promise((resolve) => child.once('close', resolve));
  child.kill('SIGKILL');
  await gone;
}

describe('Unix domain sockets', () => {
  let dir;
  before(() => {
    dir = tempDir();
  });
  after(() => dir.cleanup());

  test('raw: a stale socket file is replaced; the peer is pid:unknown; the file goes at exit', async () => {
    const sock = path.join(dir.dir, 'raw.sock');
    await staleSocket(sock);
    assert.ok(fs.lstatSync(sock).isSocket());

    const server = await Server.start(['--transport', 'unix', '--path', sock], { port: false });
    try {
      assert.equal(server.addr, `unix:${sock}`);
      const { how } = await sendRaw(server, Buffer.from('over a unix socket'));
      assert.equal(how, 'eof');
      const message = await server.waitEvent((e) => e.event === 'message');
      assert.equal(message.peer, 'pid:unknown');
      assert.equal(message.text, 'over a unix socket');
      const connected = server.events.find((e) => e.event === 'connected');
      assert.equal(connected.local, `unix:${sock}`);
      assert.deepEqual(await server.stop(), { code: 0, signal: null });
      assert.equal(fs.existsSync(sock), false, 'the socket file is removed at exit');
    } finally {
      await server.kill();
    }
  });

  test('framed over a Unix socket, text output', async () => {
    const sock = path.join(dir.dir, 'framed.sock');
    const server = await Server.start(['--transport', 'unix', '--path', sock, '--mode', 'framed'], {
      port: false,
      format: 'text',
    });
    try {
      const peer = await server.connect();
      for (const [i, text] of ['one', '', 'three'].entries()) {
        peer.write(frame(Buffer.from(text)));
        assert.equal(await peer.readFrame(), ackFor(i + 1, Buffer.from(text)));
      }
      peer.end();
      assert.equal(await peer.ended(), 'eof');
      await server.stop();
      assert.deepEqual(server.lines, [`listening on unix:${sock}`, 'Hello: pid:unknown', 'one', '', 'three']);
    } finally {
      await server.kill();
    }
  });
});

/** A UDP client socket connected to the server; `exchange(payload)` resolves to the reply. */
async function udpClient(server, type = 'udp4') {
  const socket = dgram.createSocket(type);
  await new Promise((resolve) => socket.connect(server.port, server.host, resolve));
  const replies = [];
  const waiters = [];
  socket.on('message', (msg) => {
    const waiter = waiters.shift();
    if (waiter) waiter(msg.toString('latin1'));
    else replies.push(msg.toString('latin1'));
  });
  return {
    socket,
    local: `${socket.address().address}:${socket.address().port}`,
    exchange(payload, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no reply datagram')), timeoutMs);
        waiters.push((reply) => {
          clearTimeout(timer);
          resolve(reply);
        });
        socket.send(payload);
      });
    },
    close: () => socket.close(),
  };
}

describe('UDP', () => {
  let server;
  before(async () => {
    server = await Server.start(['--transport', 'udp', '--max-message-bytes', '70000']);
  });
  after(() => server.kill());

  test('each datagram is logged, then acknowledged; seq counts per peer', async () => {
    assert.match(server.addr, /^127\.0\.0\.1:\d+$/);
    const client = await udpClient(server);
    try {
      const maximum = Buffer.alloc(65507, 0x5a);
      const payloads = [Buffer.from('datagram one'), Buffer.alloc(0), Buffer.from([0, 255]), maximum];
      for (const [i, payload] of payloads.entries()) {
        assert.equal(await client.exchange(payload), ackFor(i + 1, payload));
        // Logged before it was acknowledged, but this test reads the log through a pipe, which may
        // deliver it after the socket delivered the ACK: wait for it.
        await server.waitEvent((e) => e.event === 'message' && e.peer === client.local && e.seq === i + 1);
      }
      const events = server.events.filter((e) => e.peer === client.local);
      assert.deepEqual(
        events.map((e) => e.event),
        ['connected', 'message', 'message', 'message', 'message'],
      );
      assert.equal(events[0].local, server.addr);
      assert.equal(events[4].len, 65507);
      assert.equal(events[4].sha256, sha256(maximum));
    } finally {
      client.close();
    }
  });

  test('another peer is another connection, from seq 1', async () => {
    const a = await udpClient(server);
    const b = await udpClient(server);
    try {
      assert.equal(await a.exchange(Buffer.from('a1')), ackFor(1, Buffer.from('a1')));
      assert.equal(await b.exchange(Buffer.from('b1')), ackFor(1, Buffer.from('b1')));
      assert.equal(await a.exchange(Buffer.from('a2')), ackFor(2, Buffer.from('a2')));
      const conns = new Set(server.messages().filter((e) => [a.local, b.local].includes(e.peer)).map((e) => e.conn));
      assert.equal(conns.size, 2);
    } finally {
      a.close();
      b.close();
    }
  });

  test('SIGTERM stops a UDP server at once (exit 0)', async () => {
    const other = await Server.start(['--transport', 'udp']);
    const started = performance.now();
    assert.deepEqual(await other.stop(), { code: 0, signal: null });
    assert.ok(performance.now() - started < 3000);
  });
});

describe('UDP, limits and text output', () => {
  test('a datagram over --max-message-bytes: an error, no message, no ACK', async () => {
    const server = await Server.start(['--transport', 'udp', '--max-message-bytes', '4']);
    const client = await udpClient(server);
    try {
      await assert.rejects(client.exchange(Buffer.from('too long'), 500), /no reply/);
      const error = await server.waitEvent((e) => e.event === 'error');
      assert.deepEqual(error, { event: 'error', peer: client.local, error: 'datagram too large: 8 bytes > maximum 4' });
      assert.equal(server.messages().length, 0);
    } finally {
      client.close();
      await server.kill();
    }
  });

  test('text: Hello before every datagram', async () => {
    const server = await Server.start(['--transport', 'udp'], { format: 'text' });
    const client = await udpClient(server);
    try {
      await client.exchange(Buffer.from('first'));
      await client.exchange(Buffer.from('second'));
      await server.stop();
      assert.deepEqual(server.lines, [
        `listening on ${server.addr}`,
        `Hello: ${client.local}`,
        'first',
        `Hello: ${client.local}`,
        'second',
      ]);
    } finally {
      client.close();
      await server.kill();
    }
  });
});
