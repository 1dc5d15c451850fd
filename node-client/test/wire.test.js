// Frames, acknowledgements, printing (§4), addresses (§1) and JSON lines (§8.2), without sockets.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import {
  checkAck,
  encodeFrame,
  escapeBytes,
  expectedAck,
  formatAddress,
  formatMessage,
  isUtf8,
  jsonLine,
  sha256Hex,
  summaryLine,
} from '../lib/wire.js';
import { ALL_BYTES } from '../test-support/helpers.js';

// PROTOCOL.md §4, verbatim.
const ALL_BYTES_LINE =
  '[binary message: 256 bytes, sha256 40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880, starts "\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\t\\n\\x0b\\x0c\\r\\x0e\\x0f\\x10\\x11\\x12\\x13\\x14\\x15\\x16\\x17\\x18\\x19\\x1a\\x1b\\x1c\\x1d\\x1e\\x1f"...]';

describe('test vectors (§9)', () => {
  it('hashes as documented', () => {
    assert.equal(sha256Hex(Buffer.alloc(0)), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(
      sha256Hex(Buffer.from('Hello SocketServer!!!')),
      '30836f56b786ee37cf464bfe65b7728a5853395d9225e2bfd76f06ae68bd5807',
    );
    assert.equal(sha256Hex(ALL_BYTES), '40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880');
  });

  it('frames and acknowledges as documented', () => {
    assert.deepEqual(encodeFrame(Buffer.alloc(0)), Buffer.from([0, 0, 0, 0]));
    assert.deepEqual(encodeFrame(Buffer.from('abc')), Buffer.from([0, 0, 0, 3, 0x61, 0x62, 0x63]));
    const ack = expectedAck(1, Buffer.from('abc'));
    assert.equal(ack, 'ACK 1 3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(ack.length, 0x48);
    const hello = expectedAck(1, Buffer.from('Hello SocketServer!!!'));
    assert.equal(hello, 'ACK 1 21 30836f56b786ee37cf464bfe65b7728a5853395d9225e2bfd76f06ae68bd5807');
    assert.equal(hello.length, 0x49);
  });
});

describe('checkAck (§3.4)', () => {
  const payload = Buffer.from('abc');
  const good = expectedAck(2, payload);

  it('accepts exactly the expected reply', () => {
    checkAck(Buffer.from(good), 2, payload);
  });

  const wrong = [
    ['wrong sequence number', `ACK 1 3 ${sha256Hex(payload)}`, /sequence number/],
    ['wrong length', `ACK 2 4 ${sha256Hex(payload)}`, /length/],
    ['wrong hash', `ACK 2 3 ${sha256Hex(Buffer.from('abd'))}`, /sha256/],
    ['uppercase hash', `ACK 2 3 ${sha256Hex(payload).toUpperCase()}`, /sha256/],
    ['leading zero', `ACK 02 3 ${sha256Hex(payload)}`, /sequence number/],
    ['trailing newline', `${good}\n`, /sha256/],
    ['extra field', `${good} x`, /malformed/],
    ['empty reply', '', /malformed/],
    ['nonsense', 'nonsense', /malformed/],
    ['ERR reply', 'ERR too-large 5 > 4', /server rejected message 2: ERR too-large 5 > 4/],
    ['bare ERR', 'ERR', /server rejected/],
    ['ERR busy', 'ERR busy 2 connections open', /^server is busy: ERR busy 2 connections open$/],
    ['bare ERR busy', 'ERR busy', /^server is busy: ERR busy$/],
    ['ERR output', 'ERR output writing output: full', /^server could not log message 2: ERR output writing output: full$/],
    ['ERR with odd bytes', 'ERR odd "a\\b"\n\x7f', /^server rejected message 2: ERR odd "a\\b"\\x0a\\x7f$/],
    ['ERR toString', 'ERR toString', /^server rejected message 2: ERR toString$/],
  ];
  for (const [name, reply, message] of wrong) {
    it(`rejects a ${name} with exit code 5`, () => {
      assert.throws(
        () => checkAck(Buffer.from(reply), 2, payload),
        (err) => err.exitCode === 5 && message.test(err.message) && !err.message.includes('\n'),
      );
    });
  }
});

describe('printing (§4)', () => {
  it('prints the 256-byte message exactly as PROTOCOL.md §4 shows', () => {
    assert.equal(summaryLine(ALL_BYTES), ALL_BYTES_LINE);
    assert.deepEqual(formatMessage(ALL_BYTES), Buffer.from(`${ALL_BYTES_LINE}\n`));
    const doc = new URL('../../docs/PROTOCOL.md', import.meta.url);
    if (fs.existsSync(doc)) assert.ok(fs.readFileSync(doc, 'utf8').includes(ALL_BYTES_LINE));
  });

  it('prints UTF-8 text of at most 4096 bytes as itself', () => {
    for (const text of ['', 'Hello SocketServer!!!', 'héllo wörld ✓ 😀', 'tab\tand "quotes"\r\n', 'é'.repeat(2048)]) {
      const data = Buffer.from(text);
      assert.deepEqual(formatMessage(data), Buffer.concat([data, Buffer.from('\n')]));
    }
  });

  it('summarises UTF-8 longer than 4096 bytes as a long message', () => {
    const data = Buffer.from('a'.repeat(4097));
    assert.equal(
      formatMessage(data).toString(),
      `[long message: 4097 bytes, sha256 ${sha256Hex(data)}, starts "${'a'.repeat(32)}"...]\n`,
    );
  });

  it('summarises invalid UTF-8 as binary', () => {
    const invalid = [
      [0xff],
      [0xc0, 0x80], // overlong NUL
      [0xe0, 0x80, 0x80], // overlong
      [0xed, 0xa0, 0x80], // UTF-16 surrogate
      [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
      [0xe2, 0x82], // truncated
      [0x61, 0x80], // stray continuation byte
    ];
    for (const bytes of invalid) {
      const data = Buffer.from(bytes);
      assert.equal(isUtf8(data), false, `${bytes}`);
      assert.match(formatMessage(data).toString(), /^\[binary message: /);
    }
    assert.equal(isUtf8(Buffer.from([0xef, 0xbb, 0xbf, 0x61])), true); // a BOM is still text
    assert.equal(isUtf8(Buffer.from([0xf4, 0x8f, 0xbf, 0xbf])), true); // U+10FFFF
  });

  it('escapes the preview byte by byte and adds ... only past 32 bytes', () => {
    assert.equal(escapeBytes(Buffer.from('a"b\\c\n\r\t\x7f\x1b~ ')), 'a\\"b\\\\c\\n\\r\\t\\x7f\\x1b~ ');
    const exactly32 = Buffer.concat([Buffer.from([0xff]), Buffer.from('x'.repeat(31))]);
    assert.match(summaryLine(exactly32), /starts "\\xffx{31}"\]$/);
    const shorter = Buffer.from([0x00, 0xe9]);
    assert.equal(
      summaryLine(shorter),
      `[binary message: 2 bytes, sha256 ${sha256Hex(shorter)}, starts "\\x00\\xe9"]`,
    );
    const longer = Buffer.concat([exactly32, Buffer.from('y')]);
    assert.match(summaryLine(longer), /^\[binary message: 33 bytes, .*starts "\\xffx{31}"\.\.\.\]$/);
  });
});

describe('addresses (§1)', () => {
  it('prints IPv4, bracketed IPv6 and IPv4-mapped IPv6 as IPv4', () => {
    assert.equal(formatAddress('127.0.0.1', 8099), '127.0.0.1:8099');
    assert.equal(formatAddress('::1', 8099), '[::1]:8099');
    assert.equal(formatAddress('fe80::1', 1), '[fe80::1]:1');
    assert.equal(formatAddress('::ffff:127.0.0.1', 5), '127.0.0.1:5');
    assert.equal(formatAddress('::FFFF:10.1.2.3', 5), '10.1.2.3:5');
  });
});

describe('JSON lines (§8.2)', () => {
  it('has every field, one object per line', () => {
    const line = jsonLine({
      seq: 3,
      local: '127.0.0.1:5',
      peer: '127.0.0.1:6',
      mode: 'framed',
      payload: Buffer.from('abc'),
      ack: 'verified',
      transport: 'tcp',
    }).toString();
    assert.ok(line.endsWith('}\n') && !line.slice(0, -1).includes('\n'));
    assert.deepEqual(JSON.parse(line), {
      seq: 3,
      local: '127.0.0.1:5',
      peer: '127.0.0.1:6',
      mode: 'framed',
      len: 3,
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      ack: 'verified',
      transport: 'tcp',
    });
  });
});
