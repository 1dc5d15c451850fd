// What is printed (§4, §8.1) and how the log waits for stdout (log.js), without a process.

import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { Log, OutputFailed } from '../lib/log.js';
import { MessageView, Printer, escapeBytes } from '../lib/output.js';
import { ackText, describe as describeError, encodeFrame, errText, formatAddress } from '../lib/wire.js';

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe('§4 and §9: printing a message', () => {
  test('test vectors', () => {
    assert.equal(new MessageView(Buffer.alloc(0)).sha256, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(
      new MessageView(Buffer.from('Hello SocketServer!!!')).sha256,
      '30836f56b786ee37cf464bfe65b7728a5853395d9225e2bfd76f06ae68bd5807',
    );
    assert.equal(
      ackText(3, 3, new MessageView(Buffer.from('abc')).sha256),
      'ACK 3 3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    assert.deepEqual(encodeFrame(Buffer.from('abc')), Buffer.from([0, 0, 0, 3, 0x61, 0x62, 0x63]));
    assert.deepEqual(encodeFrame(Buffer.alloc(0)), Buffer.from([0, 0, 0, 0]));
  });

  test('the 256-byte message of all byte values', () => {
    const view = new MessageView(ALL_BYTES);
    assert.equal(view.text, null);
    assert.equal(
      view.line().toString('ascii'),
      '[binary message: 256 bytes, sha256 40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880, starts "\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\t\\n\\x0b\\x0c\\r\\x0e\\x0f\\x10\\x11\\x12\\x13\\x14\\x15\\x16\\x17\\x18\\x19\\x1a\\x1b\\x1c\\x1d\\x1e\\x1f"...]',
    );
  });

  test('UTF-8 up to 4096 bytes is printed as itself; longer is summarised as long', () => {
    const text = 'é'.repeat(2048); // 4096 bytes
    assert.equal(new MessageView(Buffer.from(text)).text, text);
    const long = new MessageView(Buffer.from(`${text}x`));
    assert.equal(long.text, null);
    assert.match(long.line().toString(), /^\[long message: 4097 bytes, sha256 [0-9a-f]{64}, starts "\\xc3\\xa9.*"\.\.\.\]$/);
  });

  test('short binary has no ellipsis; quotes and backslashes are escaped', () => {
    const line = new MessageView(Buffer.from([0xff, 0x22, 0x5c, 0x41])).line().toString();
    assert.match(line, /starts "\\xff\\"\\\\A"\]$/);
  });

  test('overlong encodings and surrogates are not UTF-8', () => {
    assert.equal(new MessageView(Buffer.from([0xc0, 0xaf])).text, null);
    assert.equal(new MessageView(Buffer.from([0xed, 0xa0, 0x80])).text, null);
    assert.equal(escapeBytes(Buffer.from('a\tb')), 'a\\tb');
  });
});

describe('wire', () => {
  test('addresses', () => {
    assert.equal(formatAddress('::ffff:127.0.0.1', 80), '127.0.0.1:80');
    assert.equal(formatAddress('::1', 8099), '[::1]:8099');
    assert.equal(formatAddress('10.0.0.1', 1), '10.0.0.1:1');
  });

  test('ERR replies and error texts', () => {
    assert.equal(errText('too-large', '4294967295 > 16777216'), 'ERR too-large 4294967295 > 16777216');
    assert.equal(errText('busy', ''), 'ERR busy');
    assert.equal(describeError({ errno: -104, code: 'ECONNRESET' }), 'Connection reset by peer (os error 104)');
    assert.equal(describeError({ errno: -28, code: 'ENOSPC' }), 'No space left on device (os error 28)');
  });
});

describe('§5 and §8.1: the records', () => {
  const view = (text) => new MessageView(Buffer.from(text));

  test('text: Hello is held until the first message, then printed with it', () => {
    const p = new Printer('text');
    assert.equal(p.connected(1, '127.0.0.1:1001', '127.0.0.1:8099').out, null);
    assert.equal(p.connected(2, '127.0.0.1:1002', '127.0.0.1:8099').out, null);
    assert.equal(p.message(2, '127.0.0.1:1002', 1, view('second')).out.toString(), 'Hello: 127.0.0.1:1002\nsecond\n');
    assert.equal(p.message(2, '127.0.0.1:1002', 2, view('more')).out.toString(), 'more\n');
    assert.equal(p.closed(2, '127.0.0.1:1002', 2).out, null);
    const error = p.error(1, '127.0.0.1:1001', 'truncated');
    assert.equal(error.out.toString(), 'Hello: 127.0.0.1:1001\n');
    assert.equal(error.err.toString(), 'error: 127.0.0.1:1001: truncated\n');
    assert.equal(p.error(null, null, 'busy: x').err.toString(), 'error: busy: x\n');
  });

  test('text over UDP: Hello before every datagram', () => {
    const p = new Printer('text', { helloEachMessage: true });
    p.connected(1, '127.0.0.1:5', '127.0.0.1:8099');
    assert.equal(p.message(1, '127.0.0.1:5', 1, view('a')).out.toString(), 'Hello: 127.0.0.1:5\na\n');
    assert.equal(p.message(1, '127.0.0.1:5', 2, view('b')).out.toString(), 'Hello: 127.0.0.1:5\nb\n');
  });

  test('json: listening line, then one compact object per line', () => {
    const p = new Printer('json');
    assert.equal(
      p.listening('127.0.0.1:8099', 'framed').out.toString(),
      'listening on 127.0.0.1:8099\n{"event":"listening","addr":"127.0.0.1:8099","mode":"framed"}\n',
    );
    assert.equal(
      p.message(1, 'p', 1, view('héllo\n')).out.toString(),
      `{"event":"message","conn":1,"peer":"p","seq":1,"len":7,"sha256":"${view('héllo\n').sha256}","text":"héllo\\n"}\n`,
    );
    assert.equal(JSON.parse(p.message(1, 'p', 2, new MessageView(ALL_BYTES)).out).text, undefined);
    assert.deepEqual(JSON.parse(p.error(null, null, 'x').out), { event: 'error', error: 'x' });
    assert.equal(p.error(3, 'p', 'x').err, null);
  });
});

/** A stdout whose writes complete only when the test says so (or fail). */
class HeldStream extends Writable {
  constructor() {
    super({ highWaterMark: 1 });
    this.held = [];
    this.written = [];
    this.error = undefined; // once released: null (writes complete at once) or the error
  }

  _write(chunk, _encoding, callback) {
    this.held.push({ chunk, callback });
    if (this.error !== undefined) this.release(this.error);
  }

  /** Completes every write so far, and from now on every write at once (with `error`). */
  release(error = null) {
    this.error = error;
    for (const { chunk, callback } of this.held.splice(0)) {
      if (!error) this.written.push(chunk.toString());
      callback(error);
    }
  }
}

describe('the log waits for stdout', () => {
  test('a message resolves only once its write has completed', async () => {
    const out = new HeldStream();
    const log = new Log(new Printer('json'), { out, err: new HeldStream() });
    let done = false;
    const written = log.message(1, 'p', 1, new MessageView(Buffer.from('x'))).then(() => {
      done = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(done, false, 'resolved before the write completed');
    out.release();
    await written;
    assert.equal(done, true);
    assert.equal(out.written.length, 1);
  });

  test('a failed write rejects the record, breaks the log for good and tells the listeners', async () => {
    const out = new HeldStream();
    out.on('error', () => {});
    const log = new Log(new Printer('json'), { out, err: new HeldStream() });
    const reasons = [];
    log.onFailure((reason) => reasons.push(reason));
    const first = log.message(1, 'p', 1, new MessageView(Buffer.from('x')));
    const error = Object.assign(new Error('write EPIPE'), { errno: -32, code: 'EPIPE' });
    out.release(error);
    await assert.rejects(first, (err) => err instanceof OutputFailed && err.reason === 'Broken pipe (os error 32)');
    await assert.rejects(log.message(1, 'p', 2, new MessageView(Buffer.from('y'))), OutputFailed);
    await new Promise((resolve) => process.nextTick(resolve));
    assert.deepEqual(reasons, ['Broken pipe (os error 32)']);
    assert.equal(log.failure, 'Broken pipe (os error 32)');
  });

  test('behind: more than a MiB waiting pauses readers until it has drained', async () => {
    const out = new HeldStream();
    const log = new Log(new Printer('text'), { out, err: new HeldStream() });
    const flips = [];
    log.onFlow(() => flips.push(log.behind));
    const line = new MessageView(Buffer.from('a'.repeat(4096)));
    const pending = [];
    for (let i = 0; i < 300; i += 1) pending.push(log.message(1, 'p', i + 1, line));
    assert.equal(log.behind, true);
    out.release();
    await Promise.all(pending);
    assert.equal(log.behind, false);
    assert.deepEqual(flips, [true, false]);
  });
});
