// The connection limit (§5): over --max-connections, framed gets `ERR busy`, raw a reset.

import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, test } from 'node:test';
import { Server, ackFor, connectTo, frame, sendRaw, sleep } from '../test-support/helpers.js';

const BUSY = 'ERR busy 2 connections open, the most this server serves (--max-connections)';

/** Two connections the server has accepted (it logged `connected` for both). */
async function holdTwo(server) {
  const held = [await server.connect(), await server.connect()];
  for (const peer of held) await server.waitEvent((e) => e.event === 'connected' && e.peer === peer.local);
  return held;
}

describe('--max-connections', () => {
  test('framed: ERR busy at once, no events of its own, one busy event; a freed slot serves again', async () => {
    const server = await Server.start(['--mode', 'framed', '--max-connections', '2']);
    try {
      const held = await holdTwo(server);
      const turned = await server.connect();
      // Before it has sent anything: the reply comes at once.
      assert.equal(await turned.readFrame(), BUSY);
      assert.equal(await turned.ended(), 'eof');
      const busy = await server.waitEvent((e) => e.event === 'error' && e.conn === undefined);
      assert.equal(busy.error, 'busy: turned away 1 connection(s) over --max-connections 2');
      assert.equal(server.events.some((e) => e.peer === turned.local), false);

      // The held connections are served normally.
      held[0].write(frame(Buffer.from('held')));
      assert.equal(await held[0].readFrame(), ackFor(1, Buffer.from('held')));
      held[0].end();
      await server.peerEvents(held[0].local);
      // Its end is logged: the slot is free, and the next client is served.
      const next = await server.connect();
      next.write(frame(Buffer.from('next')));
      assert.equal(await next.readFrame(), ackFor(1, Buffer.from('next')));
      next.end();
      held[1].end();
      await server.peerEvents(next.local);
    } finally {
      await server.kill();
    }
  });

  test('framed: a client that sent its frame already still reads ERR busy', async () => {
    const server = await Server.start(['--mode', 'framed', '--max-connections', '2']);
    try {
      await holdTwo(server);
      const turned = await server.connect();
      turned.write(frame(Buffer.from('hello?')));
      assert.equal(await turned.readFrame(), BUSY);
      assert.equal(server.messages().length, 0);
    } finally {
      await server.kill();
    }
  });

  test('raw: a reset, never an orderly close; nothing logged for it', async () => {
    const server = await Server.start(['--mode', 'raw', '--max-connections', '2']);
    try {
      await holdTwo(server);
      let local;
      let how;
      try {
        ({ local, how } = await sendRaw(server, Buffer.from('turned away')));
      } catch (err) {
        how = err.code; // the reset can come before connect() has returned
      }
      assert.notEqual(how, 'eof');
      await server.waitEvent((e) => e.event === 'error' && e.error.startsWith('busy: '));
      assert.equal(server.messages().length, 0);
      if (local) assert.equal(server.events.some((e) => e.peer === local), false);
    } finally {
      await server.kill();
    }
  });

  test('a flood of 150 over the limit: every one turned away, at most one busy event a second, the server serves on', async () => {
    const server = await Server.start(['--mode', 'framed', '--max-connections', '2']);
    try {
      const held = await holdTwo(server);
      const outcomes = await Promise.all(
        Array.from({ length: 150 }, async () => {
          try {
            const peer = await connectTo({ host: server.host, port: server.port });
            try {
              return await peer.readFrame(5000);
            } catch {
              return 'reset'; // past 64 being turned away at once: a reset
            } finally {
              peer.destroy();
            }
          } catch {
            return 'reset';
          }
        }),
      );
      for (const outcome of outcomes) assert.ok(outcome === BUSY || outcome === 'reset', outcome);
      assert.ok(outcomes.filter((o) => o === BUSY).length >= 64);
      await sleep(1200);
      const busy = server.events.filter((e) => e.event === 'error' && e.error.startsWith('busy: '));
      const counted = busy.reduce((sum, e) => sum + Number(/turned away (\d+)/.exec(e.error)[1]), 0);
      assert.equal(counted, 150);
      assert.ok(busy.length <= 3, `${busy.length} busy events`);
      held[0].write(frame(Buffer.from('still serving')));
      assert.equal(await held[0].readFrame(), ackFor(1, Buffer.from('still serving')));
    } finally {
      await server.kill();
    }
  });
});
