// UDP (§10.3): one datagram per message, one ACK datagram each.

import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import dgram from 'node:dgram';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ALL_BYTES, ackFor, datagramsSoFar, jsonLines, lines, runClient, sha256, tempDir, udpServer } from '../test-support/helpers.js';

async function freeUdpPort() {
  const socket = dgram.createSocket('udp4');
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise((resolve) => socket.close(resolve));
  return port;
}

describe('udp transport', () => {
  let tmp;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.cleanup());

  it('sends one datagram per message and verifies each ACK', async () => {
    const server = await udpServer();
    const file = `${tmp.dir}/all.bin`;
    fs.writeFileSync(file, ALL_BYTES);
    try {
      const result = await runClient(['--transport', 'udp', '--port', String(server.port), '--format', 'json', '--file', file, 'a', '']);
      assert.equal(result.code, 0, result.stderr);
      const records = jsonLines(result);
      assert.deepEqual(records.map((r) => r.seq), [1, 2, 3]);
      assert.deepEqual(records.map((r) => r.len), [256, 1, 0]);
      assert.deepEqual(records.map((r) => r.sha256), [sha256(ALL_BYTES), sha256('a'), sha256('')]);
      for (const record of records) {
        assert.equal(record.ack, 'verified');
        assert.equal(record.transport, 'udp');
        assert.equal(record.mode, 'raw');
        assert.equal(record.peer, `127.0.0.1:${server.port}`);
        assert.equal(record.local, server.datagrams[0].peer);
      }
      assert.deepEqual(server.datagrams.map((d) => d.payload), [ALL_BYTES, Buffer.from('a'), Buffer.alloc(0)]);
      assert.deepEqual(server.datagrams.map((d) => d.seq), [1, 2, 3]);
    } finally {
      await server.close();
    }
  });

  it('accepts and ignores --mode framed; prints text like any client', async () => {
    const server = await udpServer();
    try {
      const result = await runClient(['--transport', 'udp', '--mode', 'framed', '--port', String(server.port), 'hello']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(lines(result), ['hello']);
      assert.deepEqual(server.datagrams.map((d) => d.payload.toString()), ['hello']);
    } finally {
      await server.close();
    }
  });

  it('sends a message of exactly 65507 bytes', async () => {
    const server = await udpServer();
    const file = `${tmp.dir}/max.bin`;
    fs.writeFileSync(file, Buffer.alloc(65507, 0x5a));
    try {
      const result = await runClient(['--transport', 'udp', '--port', String(server.port), '--file', file, '--format', 'json']);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(server.datagrams[0].payload.length, 65507);
    } finally {
      await server.close();
    }
  });

  it('refuses a message over 65507 bytes with exit 2, sending nothing', async () => {
    const server = await udpServer();
    const file = `${tmp.dir}/over.bin`;
    fs.writeFileSync(file, Buffer.alloc(65508, 0x5a));
    try {
      const result = await runClient(['--transport', 'udp', '--port', String(server.port), 'first', '--file', file]);
      assert.equal(result.code, 2);
      assert.equal(result.stderr, 'error: message 1 is 65508 bytes; a UDP datagram carries at most 65507\n');
      assert.equal(result.stdout.length, 0);
      assert.deepEqual(await datagramsSoFar(server), []);
    } finally {
      await server.close();
    }
  });

  it('exits 5 on a wrong ACK, after printing the messages acknowledged before', async () => {
    const server = await udpServer({ reply: (seq, payload) => (seq === 1 ? ackFor(1, payload) : ackFor(seq, Buffer.from('other'))) });
    try {
      const result = await runClient(['--transport', 'udp', '--port', String(server.port), 'ok', 'bad']);
      assert.equal(result.code, 5, result.stderr);
      assert.deepEqual(lines(result), ['ok']);
      assert.match(result.stderr, /^error: acknowledgement of message 2 has the wrong length/);
    } finally {
      await server.close();
    }
  });

  it('exits 4 when no ACK comes back in time, without resending', async () => {
    const server = await udpServer({ reply: () => null });
    try {
      const result = await runClient(['--transport', 'udp', '--port', String(server.port), '--timeout-ms', '400', 'lost']);
      assert.equal(result.code, 4, result.stderr);
      assert.match(result.stderr, /timed out after 400 ms/);
      // At its own limit, not the default 10 s. Counted from the datagram's arrival: Node's
      // start-up alone can take seconds on a busy machine.
      const waited = result.exitedAt - server.datagrams[0].receivedAt;
      assert.ok(waited < 400 + 5000, `${waited} ms after sending`);
      assert.equal(server.datagrams.length, 1);
    } finally {
      await server.close();
    }
  });

  it('exits 3 when the port is unreachable (ICMP, connection refused)', async () => {
    const port = await freeUdpPort();
    const result = await runClient(['--transport', 'udp', '--port', String(port), '--timeout-ms', '60000', 'x']);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /ECONNREFUSED/);
    // At once, not after the 60 s limit; seconds are left for Node's start-up on a busy machine.
    assert.ok(result.elapsedMs < 20000, `${result.elapsedMs} ms`);
  });
});
