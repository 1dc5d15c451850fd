// Pipelining and half-close (§11): every frame in one write, then the acknowledgements.

import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ackFor, frame, framedServer, jsonLines, lines, runClient, streamServer, tempDir } from '../test-support/helpers.js';

const messages = Array.from({ length: 50 }, (_, i) => `pipelined ${i + 1}`);

describe('--pipeline and --half-close', () => {
  let tmp;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.cleanup());

  it('stop-and-wait cannot get past a server that answers only once it has every frame', async () => {
    const server = await framedServer({ waitFor: 3 });
    try {
      const result = await runClient(['--port', String(server.port), '--mode', 'framed', '--timeout-ms', '300', 'a', 'b', 'c']);
      assert.equal(result.code, 4, result.stderr);
    } finally {
      await server.close();
    }
  });

  it('--pipeline writes every frame before reading, then verifies the ACKs in order', async () => {
    const server = await framedServer({ waitFor: messages.length });
    try {
      const result = await runClient(['--port', String(server.port), '--mode', 'framed', '--pipeline', '--format', 'json', ...messages]);
      assert.equal(result.code, 0, result.stderr);
      const records = jsonLines(result);
      assert.deepEqual(records.map((r) => r.seq), messages.map((_, i) => i + 1));
      assert.ok(records.every((r) => r.ack === 'verified' && r.transport === 'tcp' && r.mode === 'framed'));
      const [conn] = server.connections;
      assert.deepEqual(conn.messages.map(String), messages);
      assert.equal(conn.eof, true);
    } finally {
      await server.close();
    }
  });

  it('--half-close shuts down the write side before reading any ACK', async () => {
    const server = await framedServer({ afterEof: true });
    try {
      const result = await runClient(['--port', String(server.port), '--mode', 'framed', '--half-close', ...messages]);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(lines(result), messages);
      const [conn] = server.connections;
      assert.equal(conn.eofAfterMessages, messages.length);
    } finally {
      await server.close();
    }
  });

  it('works over a Unix socket too', { skip: process.platform === 'win32' }, async () => {
    const pipelined = await framedServer({ path: `${tmp.dir}/pipe.sock`, waitFor: 3 });
    const halfClosed = await framedServer({ path: `${tmp.dir}/half.sock`, afterEof: true });
    try {
      for (const [flag, server, path] of [
        ['--pipeline', pipelined, `${tmp.dir}/pipe.sock`],
        ['--half-close', halfClosed, `${tmp.dir}/half.sock`],
      ]) {
        const result = await runClient(['--transport', 'unix', '--path', path, '--mode', 'framed', flag, 'u1', '', 'u3']);
        assert.equal(result.code, 0, `${flag}: ${result.stderr}`);
        assert.deepEqual(lines(result), ['u1', '', 'u3']);
        assert.deepEqual(server.connections[0].messages.map(String), ['u1', '', 'u3']);
      }
      assert.equal(halfClosed.connections[0].eofAfterMessages, 3);
    } finally {
      await pipelined.close();
      await halfClosed.close();
    }
  });

  it('exits 5 on an ERR for a later frame, after printing the acknowledged ones', async () => {
    const server = await framedServer({
      reply: (seq, payload) => (seq === 2 ? { before: 'ERR too-large 2 > 1', close: true } : ackFor(seq, payload)),
    });
    try {
      for (const flag of ['--pipeline', '--half-close']) {
        const result = await runClient(['--port', String(server.port), '--mode', 'framed', flag, 'one', 'two', 'three']);
        assert.equal(result.code, 5, `${flag}: ${result.stderr}`);
        assert.deepEqual(lines(result), ['one']);
        assert.match(result.stderr, /^error: server rejected message 2: ERR too-large 2 > 1\n$/);
      }
    } finally {
      await server.close();
    }
  });

  it('exits 5 on an ERR for a large later frame, after printing the acknowledged ones, though the write broke', async () => {
    // The server acknowledges message 1, rejects message 2 from its length and closes without
    // reading it, so the client's write of 32 MiB fails with a reset: the ACK and the ERR are
    // still in its receive buffer, and count as if the write had not failed (§11).
    const server = await streamServer((socket) => {
      let pending = Buffer.alloc(0);
      const onData = (chunk) => {
        pending = Buffer.concat([pending, chunk]);
        if (pending.length < 4 || pending.length < 4 + pending.readUInt32BE(0) + 4) return;
        socket.off('data', onData);
        const first = pending.subarray(4, 4 + pending.readUInt32BE(0));
        const length = pending.readUInt32BE(4 + first.length);
        const replies = Buffer.concat([frame(ackFor(1, first)), frame(`ERR too-large ${length} > 1000`)]);
        socket.write(replies, () => socket.resetAndDestroy());
      };
      socket.on('data', onData);
    });
    const small = `${tmp.dir}/small.txt`;
    const big = `${tmp.dir}/big.bin`;
    fs.writeFileSync(small, 'ok');
    fs.writeFileSync(big, Buffer.alloc(32 * 1024 * 1024, 2));
    try {
      const result = await runClient(['--port', String(server.port), '--mode', 'framed', '--pipeline', '--file', small, '--file', big]);
      assert.equal(result.code, 5, result.stderr);
      assert.deepEqual(lines(result), ['ok']);
      assert.match(result.stderr, /^error: server rejected message 2: ERR too-large 33554432 > 1000\n$/);
    } finally {
      await server.close();
    }
  });

  it('exits 5 on a wrong ACK', async () => {
    const server = await framedServer({ reply: (seq, payload) => ackFor(seq === 3 ? 4 : seq, payload) });
    try {
      const result = await runClient(['--port', String(server.port), '--mode', 'framed', '--pipeline', 'a', 'b', 'c']);
      assert.equal(result.code, 5, result.stderr);
      assert.deepEqual(lines(result), ['a', 'b']);
    } finally {
      await server.close();
    }
  });

  it('is a usage error without framed mode or over UDP', async () => {
    for (const args of [['--pipeline'], ['--half-close', '--mode', 'raw'], ['--transport', 'udp', '--mode', 'framed', '--half-close']]) {
      const result = await runClient(args);
      assert.equal(result.code, 2, `${args}`);
    }
  });
});
