// Raw mode (§2): one message per connection, ended by EOF; JSON and text output.

import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { after, before, describe, test } from 'node:test';
import { Server, sendRaw, sha256, sleep } from '../test-support/helpers.js';

describe('raw mode, JSON output', () => {
  let server;
  before(async () => {
    server = await Server.start(['--mode', 'raw', '--max-message-bytes', '100000']);
  });
  after(() => server.kill());

  test('listening event', () => {
    assert.deepEqual(server.events[0], { event: 'listening', addr: server.addr, mode: 'raw' });
  });

  test('a text message: connected, message with text, closed; the server closes in order', async () => {
    const payload = Buffer.from('Hello SocketServer!!!');
    const { local, how } = await sendRaw(server, payload);
    assert.equal(how, 'eof');
    const events = await server.peerEvents(local);
    assert.deepEqual(
      events.map((e) => e.event),
      ['connected', 'message', 'closed'],
    );
    const [connected, message, closed] = events;
    assert.equal(connected.local, server.addr);
    assert.deepEqual(message, {
      event: 'message',
      conn: connected.conn,
      peer: local,
      seq: 1,
      len: 21,
      sha256: '30836f56b786ee37cf464bfe65b7728a5853395d9225e2bfd76f06ae68bd5807',
      text: 'Hello SocketServer!!!',
    });
    assert.equal(closed.messages, 1);
  });

  test('the empty message is a message', async () => {
    const { local, how } = await sendRaw(server, Buffer.alloc(0));
    assert.equal(how, 'eof');
    const message = (await server.peerEvents(local)).find((e) => e.event === 'message');
    assert.equal(message.len, 0);
    assert.equal(message.text, '');
  });

  test('binary: no text; a message far past one read is whole', async () => {
    const payload = Buffer.alloc(90000);
    for (let i = 0; i < payload.length; i += 1) payload[i] = (i * 7 + 3) % 256;
    const { local } = await sendRaw(server, payload);
    const message = (await server.peerEvents(local)).find((e) => e.event === 'message');
    assert.equal(message.len, payload.length);
    assert.equal(message.sha256, sha256(payload));
    assert.equal('text' in message, false);
  });

  test('too large: a reset, an error event, no message', async () => {
    const { local, how } = await sendRaw(server, Buffer.alloc(100001, 0x61));
    assert.notEqual(how, 'eof', 'an orderly close would tell the client its message was recorded');
    const events = await server.peerEvents(local);
    assert.deepEqual(
      events.map((e) => e.event),
      ['connected', 'error'],
    );
    assert.equal(events[1].error, 'message too large: more than 100000 bytes');
  });

  test('reset by the client before EOF: an error, no message; the server serves on', async () => {
    const peer = await server.connect();
    const { local } = peer;
    peer.write('partial');
    await sleep(50);
    peer.reset();
    const events = await server.peerEvents(local);
    assert.deepEqual(
      events.map((e) => e.event),
      ['connected', 'error'],
    );
    assert.match(events[1].error, /^read failed after \d+ bytes: Connection reset by peer \(os error 104\)$/);
    const again = await sendRaw(server, Buffer.from('still here'));
    assert.equal(again.how, 'eof');
  });

  test('16 connections at once, each its own message', async () => {
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) => sendRaw(server, Buffer.from(`client ${i}`))),
    );
    for (const [i, { local }] of results.entries()) {
      const message = (await server.peerEvents(local)).find((e) => e.event === 'message');
      assert.equal(message.text, `client ${i}`);
    }
  });
});

describe('raw mode, idle timeout', () => {
  test('no byte for --idle-timeout-ms: an error event and a reset', async () => {
    const server = await Server.start(['--idle-timeout-ms', '300']);
    try {
      const peer = await server.connect();
      const { local } = peer;
      peer.write('abc');
      const how = await peer.ended();
      assert.notEqual(how, 'eof');
      const events = await server.peerEvents(local);
      assert.equal(events.at(-1).error, 'idle timeout: nothing completed for 300 ms (3 bytes pending)');
      assert.equal(server.messages().length, 0);
    } finally {
      await server.kill();
    }
  });
});

describe('raw mode, text output', () => {
  test('Hello: <peer>, then the message; a binary message as its summary line', async () => {
    const server = await Server.start([], { format: 'text' });
    try {
      const first = await sendRaw(server, Buffer.from('line one\nline two'));
      await server.waitLine((line) => line === 'line two');
      const binary = Buffer.from([0x00, 0xff, 0x41]);
      const second = await sendRaw(server, binary);
      await server.waitLine((line) => line.startsWith('[binary'));
      const empty = await sendRaw(server, Buffer.alloc(0));
      await server.waitLine((line) => line === `Hello: ${empty.local}`);
      assert.deepEqual(await server.stop(), { code: 0, signal: null });
      assert.deepEqual(server.lines, [
        `listening on ${server.addr}`,
        `Hello: ${first.local}`,
        'line one',
        'line two',
        `Hello: ${second.local}`,
        `[binary message: 3 bytes, sha256 ${sha256(binary)}, starts "\\x00\\xffA"]`,
        `Hello: ${empty.local}`,
        '',
      ]);
      assert.equal(server.stderr, '');
    } finally {
      await server.kill();
    }
  });

  test('errors go to stderr as `error: <peer>: <reason>`', async () => {
    const server = await Server.start(['--max-message-bytes', '2'], { format: 'text' });
    try {
      const { local } = await sendRaw(server, Buffer.from('abc'));
      await server.waitStderr(`error: ${local}: message too large: more than 2 bytes\n`);
      await server.waitLine((line) => line === `Hello: ${local}`);
    } finally {
      await server.kill();
    }
  });
});
