// Raw (§2) and framed (§3) mode over TCP, against in-test servers, with the client as a child
// process so that exit codes (§7) and stdout are the real ones.

import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { summaryLine } from '../lib/wire.js';
import {
  ALL_BYTES,
  BIN,
  ackFor,
  frame,
  framedServer,
  freePort,
  hasIpv6Loopback,
  jsonLines,
  lines,
  rawServer,
  run,
  runClient,
  sha256,
  streamServer,
  tempDir,
} from '../test-support/helpers.js';

let tmp;
before(() => {
  tmp = tempDir();
});
after(() => tmp.cleanup());

function writeFile(name, data) {
  const file = `${tmp.dir}/${name}`;
  fs.writeFileSync(file, data);
  return file;
}

describe('raw mode', () => {
  it('sends the default message and prints it', async () => {
    const server = await rawServer();
    try {
      const result = await runClient(['--port', String(server.port)]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.toString(), 'Hello SocketServer!!!\n');
      assert.equal(server.connections.length, 1);
      assert.deepEqual(server.connections[0].messages, [Buffer.from('Hello SocketServer!!!')]);
    } finally {
      await server.close();
    }
  });

  it('opens one connection per message, in order, files first, the empty message included', async () => {
    const server = await rawServer();
    const file = writeFile('one.txt', 'from a file');
    try {
      const result = await runClient(['one', '--port', String(server.port), '', '--file', file, '--', '--three']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(lines(result), ['from a file', 'one', '', '--three']);
      assert.deepEqual(
        server.connections.map((c) => c.messages[0].toString()),
        ['from a file', 'one', '', '--three'],
      );
      assert.ok(server.connections.every((c) => c.eof && c.messages.length === 1));
    } finally {
      await server.close();
    }
  });

  it('sends a --file of all 256 byte values exactly and prints the §4 summary', async () => {
    const server = await rawServer();
    const file = writeFile('all.bin', ALL_BYTES);
    try {
      const result = await runClient(['--port', String(server.port), '--file', file]);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(server.connections[0].messages[0], ALL_BYTES);
      assert.equal(result.stdout.toString(), `${summaryLine(ALL_BYTES)}\n`);
      assert.match(result.stdout.toString(), /^\[binary message: 256 bytes, sha256 40aff2e9/);
    } finally {
      await server.close();
    }
  });

  it('sends a large message whole (8 MiB)', async () => {
    const server = await rawServer();
    const big = Buffer.alloc(8 * 1024 * 1024, 0x41);
    big[123456] = 0xfe;
    const file = writeFile('big.bin', big);
    try {
      const result = await runClient(['--port', String(server.port), '--file', file, '--format', 'json']);
      assert.equal(result.code, 0, result.stderr);
      assert.ok(server.connections[0].messages[0].equals(big));
      assert.equal(jsonLines(result)[0].sha256, sha256(big));
    } finally {
      await server.close();
    }
  });

  it('prints JSON lines with the real addresses', async () => {
    const server = await rawServer();
    try {
      const result = await runClient(['--port', String(server.port), '--format=json', 'a', '']);
      assert.equal(result.code, 0, result.stderr);
      const records = jsonLines(result);
      assert.equal(records.length, 2);
      for (const [i, record] of records.entries()) {
        assert.deepEqual(Object.keys(record).sort(), ['ack', 'len', 'local', 'mode', 'peer', 'seq', 'sha256', 'transport']);
        assert.equal(record.seq, 1);
        assert.equal(record.mode, 'raw');
        assert.equal(record.ack, 'none');
        assert.equal(record.transport, 'tcp');
        assert.equal(record.peer, `127.0.0.1:${server.port}`);
        assert.equal(record.local, server.connections[i].peer);
      }
      assert.equal(records[0].len, 1);
      assert.equal(records[1].len, 0);
      assert.equal(records[1].sha256, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    } finally {
      await server.close();
    }
  });

  it('sends the bytes the OS passed, even when they are not UTF-8', { skip: process.platform !== 'linux' }, async () => {
    const server = await rawServer();
    try {
      // The shell builds an argument holding the byte 0xff, which Node itself would turn into U+FFFD.
      const script = 'exec "$0" "$1" --port "$2" "$(printf "\\377a")" "ok"';
      const result = await run([process.execPath, BIN, String(server.port)], {
        command: '/bin/sh',
        prefix: ['-c', script],
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(server.connections[0].messages[0], Buffer.from([0xff, 0x61]));
      assert.deepEqual(server.connections[1].messages[0], Buffer.from('ok'));
    } finally {
      await server.close();
    }
  });

  it('exits 4 when the server never closes', async () => {
    const server = await streamServer(() => {}); // reads nothing, never closes
    try {
      const result = await runClient(['--port', String(server.port), '--timeout-ms', '400', 'x']);
      assert.equal(result.code, 4, result.stderr);
      assert.match(result.stderr, /^error: .*timed out after 400 ms\n$/);
      // It stopped at its own limit, not the default 10 s. Counted from the connection as the
      // server saw it: Node's start-up alone can take seconds on a busy machine.
      const waited = result.exitedAt - server.connections[0].connectedAt;
      assert.ok(waited < 400 + 5000, `${waited} ms after connecting`);
      assert.equal(result.stdout.length, 0);
    } finally {
      await server.close();
    }
  });

  it('exits 1 when the server resets the connection, after printing what was delivered', async () => {
    let count = 0;
    const server = await streamServer((socket, record) => {
      count += 1;
      if (count === 1) {
        socket.on('data', () => {});
        socket.on('end', () => socket.end());
      } else {
        socket.resetAndDestroy();
      }
      record.n = count;
    });
    try {
      const result = await runClient(['--port', String(server.port), 'first', 'second']);
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stdout.toString(), 'first\n');
      assert.match(result.stderr, /^error: .*(ECONNRESET|EPIPE)/);
    } finally {
      await server.close();
    }
  });
});

describe('connecting', () => {
  it('exits 3 at once when nothing listens', async () => {
    const port = await freePort();
    for (const mode of ['raw', 'framed']) {
      const result = await runClient(['--port', String(port), '--mode', mode, '--timeout-ms', '60000']);
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, /^error: cannot connect to 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
      // Nothing to measure from but the start: the bound leaves seconds for Node's start-up on a
      // busy machine and still fails a client that waits out its 60 s limit or keeps retrying.
      assert.ok(result.elapsedMs < 20000, `${result.elapsedMs} ms`);
    }
  });

  it('tries every address of a host name in order (localhost)', async () => {
    const server = await rawServer();
    try {
      const result = await runClient(['--host', 'localhost', '--port', String(server.port), '--format', 'json']);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(jsonLines(result)[0].peer, `127.0.0.1:${server.port}`);
    } finally {
      await server.close();
    }
  });

  it('speaks IPv6 and prints bracketed addresses', async (t) => {
    if (!(await hasIpv6Loopback())) {
      t.skip('::1 is not available');
      return;
    }
    const raw = await rawServer({ host: '::1' });
    const framed = await framedServer({ host: '::1' });
    try {
      for (const [server, mode] of [[raw, 'raw'], [framed, 'framed']]) {
        const result = await runClient(['--host', '::1', '--port', String(server.port), '--mode', mode, '--format', 'json', 'v6']);
        assert.equal(result.code, 0, result.stderr);
        const [record] = jsonLines(result);
        assert.equal(record.peer, `[::1]:${server.port}`);
        assert.match(record.local, /^\[::1\]:\d+$/);
        assert.equal(record.local, server.connections[0].peer);
      }
    } finally {
      await raw.close();
      await framed.close();
    }
  });

  it('prints the IPv4 address when a dual-stack server sees an IPv4-mapped peer', async (t) => {
    if (!(await hasIpv6Loopback())) {
      t.skip('IPv6 is not available');
      return;
    }
    const server = await rawServer({ host: '::' });
    try {
      const result = await runClient(['--port', String(server.port), '--format', 'json']);
      assert.equal(result.code, 0, result.stderr);
      const [record] = jsonLines(result);
      assert.equal(record.peer, `127.0.0.1:${server.port}`);
      assert.equal(record.local, server.connections[0].peer); // the server's ::ffff:127.0.0.1, as IPv4
    } finally {
      await server.close();
    }
  });
});

describe('framed mode', () => {
  it('sends every message on one connection and verifies each ACK', async () => {
    const server = await framedServer();
    const file = writeFile('all2.bin', ALL_BYTES);
    try {
      const result = await runClient(['--port', String(server.port), '--mode', 'framed', '--file', file, 'a', '', 'é']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(lines(result), [summaryLine(ALL_BYTES), 'a', '', 'é']);
      assert.equal(server.connections.length, 1);
      assert.deepEqual(server.connections[0].messages, [ALL_BYTES, Buffer.from('a'), Buffer.alloc(0), Buffer.from('é')]);
      assert.equal(server.connections[0].eof, true);
    } finally {
      await server.close();
    }
  });

  it('prints JSON lines with seq from 1 and ack "verified"', async () => {
    const server = await framedServer();
    try {
      const result = await runClient(['--port', String(server.port), '--mode', 'framed', '--format', 'json', 'x', 'yy']);
      assert.equal(result.code, 0, result.stderr);
      const records = jsonLines(result);
      assert.deepEqual(records.map((r) => r.seq), [1, 2]);
      assert.deepEqual(records.map((r) => r.len), [1, 2]);
      assert.deepEqual(records.map((r) => r.sha256), [sha256('x'), sha256('yy')]);
      for (const record of records) {
        assert.equal(record.mode, 'framed');
        assert.equal(record.ack, 'verified');
        assert.equal(record.transport, 'tcp');
        assert.equal(record.local, server.connections[0].peer);
        assert.equal(record.peer, `127.0.0.1:${server.port}`);
      }
    } finally {
      await server.close();
    }
  });

  it('sends 200 messages stop-and-wait, printing each as it is acknowledged', async () => {
    const server = await framedServer();
    const messages = Array.from({ length: 200 }, (_, i) => `message number ${i + 1} ${'.'.repeat(i)}`);
    try {
      const result = await runClient(['--port', String(server.port), '--mode', 'framed', ...messages]);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(lines(result), messages);
      assert.deepEqual(server.connections[0].messages.map(String), messages);
    } finally {
      await server.close();
    }
  });

  it('writes output bigger than a pipe buffer completely before exiting', async () => {
    const server = await framedServer();
    const text = 't'.repeat(4096);
    const count = 60; // ~245 KB of output
    try {
      const result = await runClient(['--port', String(server.port), '--mode', 'framed', ...Array(count).fill(text)]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.length, count * 4097);
    } finally {
      await server.close();
    }
  });

  const bad = [
    ['a wrong sequence number', (seq, p) => ackFor(seq + 1, p), /sequence number/],
    ['a wrong length', (seq, p) => `ACK ${seq} ${p.length + 1} ${sha256(p)}`, /length/],
    ['a wrong hash', (seq) => `ACK ${seq} 1 ${sha256('other')}`, /sha256/],
    ['a malformed reply', () => 'OK', /malformed/],
    ['an ERR reply', () => 'ERR too-large 99 > 1', /server rejected message 3: ERR too-large 99 > 1/],
    ['a reply frame over 1024 bytes', () => `ACK ${'9'.repeat(1100)}`, /exceeds the limit of 1024/],
    ['a close before the reply', () => ({ close: true }), /closed the connection before acknowledging message 3/],
    ['a close inside the reply', () => ({ raw: Buffer.from([0, 0, 0, 72, 0x41]), close: true }), /before acknowledging/],
  ];
  for (const [name, wrong, message] of bad) {
    it(`exits 5 on ${name} after printing the messages acknowledged before`, async () => {
      const server = await framedServer({
        reply: (seq, payload) => {
          if (seq < 3) return ackFor(seq, payload);
          return wrong(seq, payload);
        },
      });
      try {
        const result = await runClient(['--port', String(server.port), '--mode', 'framed', 'a', 'b', 'c', 'd']);
        assert.equal(result.code, 5, result.stderr);
        assert.deepEqual(lines(result), ['a', 'b']);
        assert.match(result.stderr, message);
        assert.match(result.stderr, /^error: [^\n]*\n$/);
      } finally {
        await server.close();
      }
    });
  }

  it('exits 5 with the server\'s ERR when the server rejects a frame and closes while it is written', async () => {
    // Like a real server with a small --max-message-bytes: it reads the length, replies ERR and
    // closes without reading the payload, so the client's write fails (reset or broken pipe).
    const server = await streamServer((socket) => {
      socket.once('data', (chunk) => {
        const length = chunk.readUInt32BE(0);
        const reply = Buffer.from(`ERR too-large ${length} > 1000`);
        const header = Buffer.alloc(4);
        header.writeUInt32BE(reply.length, 0);
        socket.write(Buffer.concat([header, reply]), () => socket.resetAndDestroy());
      });
    });
    const file = writeFile('huge.bin', Buffer.alloc(32 * 1024 * 1024, 1));
    try {
      const result = await runClient(['--port', String(server.port), '--mode', 'framed', '--file', file]);
      assert.equal(result.code, 5, result.stderr);
      assert.match(result.stderr, /^error: server rejected message 1: ERR too-large 33554432 > 1000\n$/);
    } finally {
      await server.close();
    }
  });

  it('uses a reply that arrived in time even if the client could not run until after its timeout', async () => {
    // A busy machine can hold the client up past its timeout while the reply waits in the
    // kernel: the reply counts, it arrived in time. Stopping the client (SIGSTOP) for longer
    // than its timeout while the server answers makes that happen on every run. The limit is
    // 3 s so that this process, busy too, surely stops the client before it runs out. (A client
    // that lets the timer win fails only when the stop lands outside its poll for input; one
    // stopped while waiting in the poll sees the reply first anyway.)
    let child;
    const server = await streamServer((socket) => {
      socket.once('data', (chunk) => {
        child.kill('SIGSTOP');
        socket.write(frame(ackFor(1, chunk.subarray(4))), () => {
          socket.end();
          setTimeout(() => child.kill('SIGCONT'), 3500);
        });
      });
    });
    try {
      const result = await runClient(['--port', String(server.port), '--mode', 'framed', '--timeout-ms', '3000', 'x'], {
        onSpawn: (spawned) => {
          child = spawned;
        },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.toString(), 'x\n');
    } finally {
      await server.close();
    }
  });

  it('exits 4 when the server accepts but never replies', async () => {
    const server = await streamServer((socket) => socket.on('data', () => {}));
    try {
      const result = await runClient(['--port', String(server.port), '--mode', 'framed', '--timeout-ms', '500', 'x']);
      assert.equal(result.code, 4, result.stderr);
      assert.match(result.stderr, /^error: waiting for the acknowledgement of message 1: timed out after 500 ms\n$/);
      assert.ok(result.elapsedMs >= 450, `${result.elapsedMs} ms`);
      // At its own limit, not the default 10 s; counted from the connection (see above).
      const waited = result.exitedAt - server.connections[0].connectedAt;
      assert.ok(waited < 500 + 5000, `${waited} ms after connecting`);
    } finally {
      await server.close();
    }
  });

  it('exits 1 when the server resets while the client waits for an ACK', async () => {
    const server = await streamServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
    try {
      const result = await runClient(['--port', String(server.port), '--mode', 'framed', 'x']);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /ECONNRESET/);
    } finally {
      await server.close();
    }
  });

  it('does not fail for what happens after the last ACK', async () => {
    // Acknowledges, then neither reads nor closes: the client still succeeds (after the timeout).
    // The limit also bounds the wait for the ACK, which this process has to send: 2 s, not less,
    // so that a busy machine holding this process up cannot make the client miss it.
    const server = await streamServer((socket) => {
      socket.once('data', (chunk) => socket.write(Buffer.concat([Buffer.from([0, 0, 0, 72]), Buffer.from(ackFor(1, chunk.subarray(4)))])));
    });
    try {
      const result = await runClient(['--port', String(server.port), '--mode', 'framed', '--timeout-ms', '2000', 'x']);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.toString(), 'x\n');
    } finally {
      await server.close();
    }
  });
});
