// Framed mode (§3, §11): frames, ACKs, bad input (§3.5), pipelining and half-close.

import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { after, before, describe, test } from 'node:test';
import { Server, ackFor, frame, sha256, sleep } from '../test-support/helpers.js';

describe('framed mode', () => {
  let server;
  before(async () => {
    server = await Server.start(['--mode', 'framed', '--max-message-bytes', '1000000']);
  });
  after(() => server.kill());

  test('each frame is logged, then acknowledged; EOF between frames ends the connection', async () => {
    const peer = await server.connect();
    const payloads = [Buffer.from('Hello SocketServer!!!'), Buffer.alloc(0), Buffer.from([0, 1, 2, 255]), Buffer.from('é')];
    for (const [i, payload] of payloads.entries()) {
      peer.write(frame(payload));
      assert.equal(await peer.readFrame(), ackFor(i + 1, payload));
      // Logged before it was acknowledged, but this test reads the log through a pipe, which may
      // deliver it after the socket delivered the ACK: wait for it.
      await server.waitEvent((e) => e.event === 'message' && e.peer === peer.local && e.seq === i + 1);
    }
    peer.end();
    assert.equal(await peer.ended(), 'eof');
    const events = await server.peerEvents(peer.local);
    assert.deepEqual(
      events.map((e) => [e.event, e.seq, e.len]),
      [['connected', undefined, undefined], ['message', 1, 21], ['message', 2, 0], ['message', 3, 4], ['message', 4, 2], ['closed', undefined, undefined]],
    );
    assert.equal(events[3].text, undefined);
    assert.equal(events[4].text, 'é');
    assert.equal(events.at(-1).messages, 4);
  });

  test('§9: the ACK frame for abc', async () => {
    const peer = await server.connect();
    peer.write(Buffer.from([0, 0, 0, 3, 0x61, 0x62, 0x63]));
    await sleep(0);
    const ack = 'ACK 1 3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    assert.equal(await peer.readFrame(), ack);
    assert.deepEqual(peer.received.subarray(0, 4), Buffer.from([0, 0, 0, 0x48]));
    peer.end();
    await peer.ended();
  });

  test('a frame cut into 1-byte writes, and a large frame', async () => {
    const peer = await server.connect();
    const small = frame(Buffer.from('sliced'));
    for (const byte of small) {
      peer.write(Buffer.from([byte]));
      await sleep(2);
    }
    assert.equal(await peer.readFrame(), ackFor(1, Buffer.from('sliced')));
    const large = Buffer.alloc(1000000);
    for (let i = 0; i < large.length; i += 1) large[i] = (i * 31) % 251;
    peer.write(frame(large));
    assert.equal(await peer.readFrame(), ackFor(2, large));
    peer.end();
    await peer.ended();
  });

  test('--pipeline: frames back to back in one write are split exactly', async () => {
    const peer = await server.connect();
    const payloads = ['one', '', 'three', 'four', 'five'].map((s) => Buffer.from(s));
    peer.write(Buffer.concat(payloads.map(frame)));
    for (const [i, payload] of payloads.entries()) assert.equal(await peer.readFrame(), ackFor(i + 1, payload));
    peer.end();
    assert.equal(await peer.ended(), 'eof');
  });

  test('--half-close: EOF right after the frames; every ACK still comes, then EOF', async () => {
    const peer = await server.connect();
    const payloads = ['a', 'b', 'c'].map((s) => Buffer.from(s));
    peer.write(Buffer.concat(payloads.map(frame)));
    peer.end();
    for (const [i, payload] of payloads.entries()) assert.equal(await peer.readFrame(), ackFor(i + 1, payload));
    assert.equal(await peer.ended(), 'eof');
    const events = await server.peerEvents(peer.local);
    assert.equal(events.at(-1).event, 'closed');
    assert.equal(events.at(-1).messages, 3);
  });

  for (const [name, header] of [
    ['FF FF FF FF', Buffer.from([0xff, 0xff, 0xff, 0xff])],
    ['garbage read as a length', Buffer.from('GET / HTTP/1.1\r\n\r\n')],
    ['one byte over the maximum', Buffer.from([0x00, 0x0f, 0x42, 0x41])],
  ]) {
    test(`too large (${name}): ERR too-large, nothing logged, the connection closed`, async () => {
      const peer = await server.connect();
      peer.write(header);
      const length = header.readUInt32BE(0);
      assert.equal(await peer.readFrame(), `ERR too-large ${length} > 1000000`);
      peer.end();
      assert.equal(await peer.ended(), 'eof');
      const events = await server.peerEvents(peer.local);
      assert.deepEqual(
        events.map((e) => e.event),
        ['connected', 'error'],
      );
      assert.equal(events[1].error, `frame 1 too large: ${length} bytes > maximum 1000000`);
    });
  }

  test('too large after good frames: those stay logged, the bad one gets ERR', async () => {
    const peer = await server.connect();
    peer.write(frame(Buffer.from('fine')));
    assert.equal(await peer.readFrame(), ackFor(1, Buffer.from('fine')));
    // The announced payload is never sent: the server must not wait for it.
    peer.write(Buffer.from([0x7f, 0, 0, 0]));
    assert.equal(await peer.readFrame(), 'ERR too-large 2130706432 > 1000000');
    const events = await server.peerEvents(peer.local);
    assert.equal(events.filter((e) => e.event === 'message').length, 1);
    assert.equal(events.at(-1).error, 'frame 2 too large: 2130706432 bytes > maximum 1000000');
    peer.destroy();
  });

  for (const [name, bytes, error] of [
    ['inside the length prefix', Buffer.from([0, 0]), 'frame 1: truncated frame: expected 4 length-prefix bytes, got 2'],
    ['inside the payload', Buffer.concat([Buffer.from([0, 0, 0, 10]), Buffer.from('abc')]), 'frame 1: truncated frame: expected 10 payload bytes, got 3'],
  ]) {
    test(`EOF ${name}: an error, nothing logged for the partial frame`, async () => {
      const peer = await server.connect();
      peer.write(bytes);
      peer.end();
      await peer.ended();
      const events = await server.peerEvents(peer.local);
      assert.deepEqual(
        events.map((e) => e.event),
        ['connected', 'error'],
      );
      assert.equal(events[1].error, error);
    });
  }

  test('reset by the client mid-frame: an error; acknowledged messages stay logged', async () => {
    const peer = await server.connect();
    const { local } = peer;
    peer.write(frame(Buffer.from('kept')));
    assert.equal(await peer.readFrame(), ackFor(1, Buffer.from('kept')));
    peer.write(Buffer.from([0, 0, 0, 9, 0x41]));
    await sleep(50);
    peer.reset();
    const events = await server.peerEvents(local);
    assert.deepEqual(
      events.map((e) => e.event),
      ['connected', 'message', 'error'],
    );
    assert.equal(events[2].error, 'frame 2: Connection reset by peer (os error 104)');
  });

  test('garbage of every kind never takes the server down', async () => {
    const junk = [
      Buffer.from([0, 0, 0]),
      Buffer.from('\x00\x00\x00\x05\xff\xfe'),
      Buffer.from('\r\n\r\n'),
      Buffer.alloc(64, 0xff),
    ];
    for (const bytes of junk) {
      const peer = await server.connect();
      peer.write(bytes);
      peer.end();
      await peer.ended();
    }
    const peer = await server.connect();
    peer.write(frame(Buffer.from('after the garbage')));
    assert.equal(await peer.readFrame(), ackFor(1, Buffer.from('after the garbage')));
    peer.end();
  });
});

describe('framed mode: limits in time', () => {
  test('a frame not complete within --idle-timeout-ms: an error and a close', async () => {
    const server = await Server.start(['--mode', 'framed', '--idle-timeout-ms', '300']);
    try {
      const peer = await server.connect();
      peer.write(frame(Buffer.from('first')));
      assert.equal(await peer.readFrame(), ackFor(1, Buffer.from('first')));
      peer.write(Buffer.from([0, 0, 0, 5, 0x61]));
      await peer.ended();
      const events = await server.peerEvents(peer.local);
      assert.equal(events.at(-1).error, 'idle timeout: nothing completed for 300 ms (1 bytes pending)');
    } finally {
      await server.kill();
    }
  });

  test('a peer that never reads its ACKs: reading stops, then an error after the idle timeout; others are served', async () => {
    const server = await Server.start(['--mode', 'framed', '--idle-timeout-ms', '300']);
    try {
      const stalled = await server.connect();
      stalled.socket.pause(); // never reads an ACK
      const tiny = frame(Buffer.from('a'));
      stalled.write(Buffer.concat(Array(300000).fill(tiny)));
      const end = await server.waitEvent((e) => e.peer === stalled.local && e.event === 'error', 20000);
      assert.match(end.error, /^writing ack \d+ failed: timed out after 300 ms$/);
      const acked = server.messages().filter((e) => e.peer === stalled.local).length;
      assert.ok(acked < 300000, 'it went on reading frames whose ACKs could not be sent');
      const other = await server.connect();
      other.write(frame(Buffer.from('meanwhile')));
      assert.equal(await other.readFrame(), ackFor(1, Buffer.from('meanwhile')));
      other.end();
      stalled.destroy();
    } finally {
      await server.kill();
    }
  });

  test('a slow sender (a byte every 20 ms) within the timeout is served', async () => {
    const server = await Server.start(['--mode', 'framed', '--idle-timeout-ms', '2000']);
    try {
      const peer = await server.connect();
      const payload = Buffer.from('slowly');
      for (const byte of frame(payload)) {
        peer.write(Buffer.from([byte]));
        await sleep(20);
      }
      assert.equal(await peer.readFrame(), ackFor(1, payload));
      peer.end();
      assert.equal(await peer.ended(), 'eof');
    } finally {
      await server.kill();
    }
  });
});

describe('framed mode, text output', () => {
  test('Hello once per connection, then each message', async () => {
    const server = await Server.start(['--mode', 'framed'], { format: 'text' });
    try {
      const peer = await server.connect();
      const binary = Buffer.from([0xfe, 0x00]);
      for (const [i, payload] of [Buffer.from('one'), binary, Buffer.from('three')].entries()) {
        peer.write(frame(payload));
        assert.equal(await peer.readFrame(), ackFor(i + 1, payload));
      }
      peer.end();
      await peer.ended();
      await server.stop();
      assert.deepEqual(server.lines, [
        `listening on ${server.addr}`,
        `Hello: ${peer.local}`,
        'one',
        `[binary message: 2 bytes, sha256 ${sha256(binary)}, starts "\\xfe\\x00"]`,
        'three',
      ]);
    } finally {
      await server.kill();
    }
  });
});
