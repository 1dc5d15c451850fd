// ERR busy and ERR output (§3.3, §3.4, §5, §11): exit 5 and exactly the error line §3.3 gives,
// however the server's close meets the client's write; and a raw connection turned away with a
// reset (§2): exit 1.

import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ackFor, frame, framedServer, runClient, streamServer, tempDir } from '../test-support/helpers.js';

const BUSY = 'ERR busy 2 connections open, the most this server serves (--max-connections)';
const BUSY_LINE = `error: server is busy: ${BUSY}\n`;
const OUTPUT = 'ERR output writing output: No space left on device (os error 28)';
const FRAMED_WAYS = [
  ['--mode', 'framed'],
  ['--mode', 'framed', '--pipeline'],
  ['--mode', 'framed', '--half-close'],
];
const unixSkip = process.platform === 'win32' ? 'no Unix sockets' : false;

/** Runs the client and checks its exit code, stdout and stderr all at once. */
async function expectRun(args, code, stdout, stderr) {
  const result = await runClient(args);
  assert.deepEqual(
    { args, code: result.code, stdout: result.stdout.toString(), stderr: result.stderr },
    { args, code, stdout, stderr },
  );
}

describe('ERR busy and ERR output', () => {
  let tmp;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.cleanup());

  /** Client arguments for a server over TCP and over a Unix socket. */
  const targets = (tcp, unix) => [['--port', String(tcp.port)], ['--transport', 'unix', '--path', unix.path]];

  async function bothTransports(name, onConnection) {
    const path = `${tmp.dir}/${name}.sock`;
    const tcp = await streamServer(onConnection);
    const unix = await streamServer(onConnection, { path });
    unix.path = path;
    return { tcp, unix, close: () => Promise.all([tcp.close(), unix.close()]) };
  }

  it('reports ERR busy in every framed way', { skip: unixSkip }, async () => {
    // §5: ERR busy at once, without reading; the write side shut down; closed once the client
    // has closed (allowHalfOpen: Node closes when both sides have ended).
    const servers = await bothTransports('busy', (socket) => {
      socket.on('data', () => {});
      socket.end(frame(BUSY));
    });
    try {
      for (const target of targets(servers.tcp, servers.unix)) {
        for (const way of FRAMED_WAYS) await expectRun([...target, ...way, 'one', 'two'], 5, '', BUSY_LINE);
      }
    } finally {
      await servers.close();
    }
  });

  it('reports ERR output with the number of the message it answers', async () => {
    const server = await framedServer({
      reply: (seq, payload) => (payload.toString() === 'one' || seq === 2 ? OUTPUT : ackFor(seq, payload)),
    });
    const port = ['--port', String(server.port)];
    try {
      for (const way of FRAMED_WAYS) {
        await expectRun([...port, ...way, 'one', 'two'], 5, '', `error: server could not log message 1: ${OUTPUT}\n`);
      }
      const second = `error: server could not log message 2: ${OUTPUT}\n`;
      await expectRun([...port, '--mode', 'framed', 'first', 'second'], 5, 'first\n', second);
    } finally {
      await server.close();
    }
  });

  // The server sends ERR busy and closes without reading: at once, or once the client's data has
  // arrived (over TCP with a reset). The client's write may break either way (over a Unix socket,
  // at once: EPIPE), but the ERR is already in its receive buffer and must be what it reports. A
  // 4 MiB message is still being written when the close lands. Rounds of every way.
  for (const waitForData of [false, true]) {
    const when = waitForData ? 'once data has arrived' : 'at once';
    it(`reports ERR busy from a server that closes ${when}, though the write may break`, { skip: unixSkip }, async () => {
      const large = `${tmp.dir}/large.bin`;
      fs.writeFileSync(large, Buffer.alloc(4 * 1024 * 1024, 7));
      const servers = await bothTransports(`close-${waitForData}`, (socket) => {
        const close = () => (socket.remotePort ? socket.resetAndDestroy() : socket.destroy());
        if (waitForData) {
          socket.write(frame(BUSY));
          socket.once('data', close);
        } else {
          socket.write(frame(BUSY), () => socket.destroy());
        }
      });
      try {
        for (let round = 0; round < 2; round += 1) {
          for (const target of targets(servers.tcp, servers.unix)) {
            for (const way of FRAMED_WAYS) {
              for (const message of [['small'], ['--file', large]]) {
                await expectRun([...target, ...way, ...message], 5, '', BUSY_LINE);
              }
            }
          }
        }
      } finally {
        await servers.close();
      }
    });
  }

  it('exits 1 when a raw connection is turned away with a reset at once', async () => {
    const server = await streamServer((socket) => socket.resetAndDestroy());
    try {
      for (let i = 0; i < 5; i += 1) {
        const result = await runClient(['--port', String(server.port), 'hi']);
        assert.equal(result.code, 1, result.stderr);
        assert.equal(result.stdout.length, 0);
        assert.match(result.stderr, /^error: [^\n]*(ECONNRESET|EPIPE)[^\n]*\n$/);
      }
    } finally {
      await server.close();
    }
  });
});
