// Against a real interop server, when INTEROP_SERVER names its binary, e.g. from the repo root:
//   cargo build -q -p interop-server
//   (cd node-client && INTEROP_SERVER=../target/debug/interop-server npm test)
// Skipped otherwise, so that `npm test` needs nothing but Node.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { ALL_BYTES, eventually, jsonLines, runClient, tempDir } from '../test-support/helpers.js';

const SERVER = process.env.INTEROP_SERVER;

/** Starts the server; resolves to { address, events (parsed JSON lines), stop() }. */
function startServer(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(SERVER, [...args, '--format', 'json'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const events = [];
    let address;
    child.on('error', reject);
    child.on('close', (code) => {
      if (address === undefined) reject(new Error(`${SERVER} exited with ${code} before listening`));
    });
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      if (address === undefined) {
        address = line.replace(/^listening on /, '');
        resolve({
          address,
          events,
          stop: () =>
            new Promise((done) => {
              child.on('close', done);
              child.kill('SIGTERM');
            }),
        });
      } else {
        events.push(JSON.parse(line));
      }
    });
  });
}

const messageEvents = (events) => events.filter((e) => e.event === 'message');

/** Every client line has its server `message` event: same peer, seq, len and sha256. */
function assertMatches(records, events) {
  const messages = messageEvents(events);
  assert.equal(messages.length, records.length);
  for (const record of records) {
    const event = messages.find((e) => e.peer === record.local && e.seq === record.seq && e.sha256 === record.sha256);
    assert.ok(event, `no server event for ${JSON.stringify(record)}`);
    assert.equal(event.len, record.len);
  }
}

describe('against the real server (INTEROP_SERVER)', { skip: SERVER ? false : 'INTEROP_SERVER is not set' }, () => {
  let tmp;
  let binFile;
  before(() => {
    tmp = tempDir();
    binFile = `${tmp.dir}/all.bin`;
    fs.writeFileSync(binFile, ALL_BYTES);
  });
  after(() => tmp.cleanup());

  for (const mode of ['raw', 'framed']) {
    it(`delivers ${mode} messages over TCP`, async () => {
      const server = await startServer(['--port', '0', '--mode', mode]);
      try {
        const port = server.address.split(':').pop();
        const result = await runClient(['--port', port, '--mode', mode, '--format', 'json', '--file', binFile, 'héllo', '']);
        assert.equal(result.code, 0, result.stderr);
        const records = jsonLines(result);
        await eventually(() => messageEvents(server.events).length >= records.length, 'the server\'s message events');
        assertMatches(records, server.events);
      } finally {
        await server.stop();
      }
    });
  }

  it('reports the server\'s ERR for a frame over its maximum (exit 5)', async () => {
    const server = await startServer(['--port', '0', '--mode', 'framed', '--max-message-bytes', '1000']);
    const big = `${tmp.dir}/big.bin`;
    fs.writeFileSync(big, Buffer.alloc(4 * 1024 * 1024, 7));
    try {
      const port = server.address.split(':').pop();
      const result = await runClient(['--port', port, '--mode', 'framed', 'small', '--file', big]);
      assert.equal(result.code, 5, result.stderr);
      assert.match(result.stderr, /^error: server rejected message 1: ERR too-large 4194304 > 1000\n$/);
    } finally {
      await server.stop();
    }
  });

  it('pipelines and half-closes', async () => {
    const server = await startServer(['--port', '0', '--mode', 'framed']);
    try {
      const port = server.address.split(':').pop();
      const records = [];
      for (const flag of ['--pipeline', '--half-close']) {
        const result = await runClient(['--port', port, '--mode', 'framed', flag, '--format', 'json', 'p1', 'p2', 'p3']);
        assert.equal(result.code, 0, result.stderr);
        records.push(...jsonLines(result));
      }
      await eventually(() => messageEvents(server.events).length >= records.length, 'the server\'s message events');
      assertMatches(records, server.events);
    } finally {
      await server.stop();
    }
  });

  it('delivers over a Unix socket and over UDP, if the server has them', async (t) => {
    const path = `${tmp.dir}/real.sock`;
    const unix = await startServer(['--transport', 'unix', '--path', path, '--mode', 'framed']).catch(() => null);
    const udp = await startServer(['--transport', 'udp', '--port', '0']).catch(() => null);
    try {
      if (!unix?.address.startsWith('unix:') || !udp) {
        t.skip('this server has no unix or udp transport');
        return;
      }
      const viaUnix = await runClient(['--transport', 'unix', '--path', path, '--mode', 'framed', '--format', 'json', 'u1', 'u2']);
      assert.equal(viaUnix.code, 0, viaUnix.stderr);
      const viaUdp = await runClient(['--transport', 'udp', '--port', udp.address.split(':').pop(), '--format', 'json', 'd1', 'd2']);
      assert.equal(viaUdp.code, 0, viaUdp.stderr);
      const [unixRecords, udpRecords] = [jsonLines(viaUnix), jsonLines(viaUdp)];
      await eventually(() => messageEvents(unix.events).length >= unixRecords.length, 'the unix server\'s message events');
      await eventually(() => messageEvents(udp.events).length >= udpRecords.length, 'the udp server\'s message events');
      assertMatches(unixRecords, unix.events);
      assertMatches(udpRecords, udp.events);
    } finally {
      await unix?.stop();
      await udp?.stop();
    }
  });
});
