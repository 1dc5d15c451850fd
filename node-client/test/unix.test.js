// Unix domain stream sockets (§10.2).

import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { framedServer, jsonLines, lines, rawServer, runClient, tempDir } from '../test-support/helpers.js';

const skip = process.platform === 'win32' ? 'no Unix sockets' : false;

describe('unix transport', { skip }, () => {
  let tmp;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.cleanup());

  it('sends raw messages and names the ends pid:<pid> and unix:PATH', async () => {
    const path = `${tmp.dir}/raw.sock`;
    const server = await rawServer({ path });
    try {
      const result = await runClient(['--transport', 'unix', '--path', path, '--format', 'json', 'a', '']);
      assert.equal(result.code, 0, result.stderr);
      const records = jsonLines(result);
      assert.equal(records.length, 2);
      for (const record of records) {
        assert.equal(record.local, `pid:${result.pid}`);
        assert.equal(record.peer, `unix:${path}`);
        assert.equal(record.transport, 'unix');
        assert.equal(record.mode, 'raw');
        assert.equal(record.ack, 'none');
        assert.equal(record.seq, 1);
      }
      assert.deepEqual(server.connections.map((c) => c.messages[0]), [Buffer.from('a'), Buffer.alloc(0)]);
    } finally {
      await server.close();
    }
  });

  it('sends framed messages, verified, ignoring --host and --port', async () => {
    const path = `${tmp.dir}/framed.sock`;
    const server = await framedServer({ path });
    try {
      const result = await runClient(
        ['--host', 'no-such-host.invalid', '--port', '1', '--transport=unix', `--path=${path}`, '--mode', 'framed', 'x', 'y'],
      );
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(lines(result), ['x', 'y']);
      assert.deepEqual(server.connections[0].messages.map(String), ['x', 'y']);
    } finally {
      await server.close();
    }
  });

  it('exits 2 for a path over 107 bytes, before trying to connect', async () => {
    const path = `${tmp.dir}/${'p'.repeat(120)}`;
    const result = await runClient(['--transport', 'unix', '--path', path]);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, `error: unix socket path too long: ${Buffer.byteLength(path)} bytes, at most 107\n`);
  });

  it('exits 3 when there is no socket file, or nobody listens on it', async () => {
    const missing = await runClient(['--transport', 'unix', '--path', `${tmp.dir}/missing.sock`]);
    assert.equal(missing.code, 3, missing.stderr);
    assert.match(missing.stderr, /^error: cannot connect to unix:.*missing\.sock: .*ENOENT/);
    const notSocket = `${tmp.dir}/plain-file`;
    fs.writeFileSync(notSocket, '');
    const refused = await runClient(['--transport', 'unix', '--path', notSocket]);
    assert.equal(refused.code, 3, refused.stderr);
  });
});
