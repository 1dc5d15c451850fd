// The command line (§5): help, usage errors (exit 2), start-up failures (exit 1).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UsageError, parseArgs } from '../lib/cli.js';
import { Server, runServer, tempDir } from '../test-support/helpers.js';

describe('parseArgs', () => {
  test('defaults', () => {
    assert.deepEqual(parseArgs([]), {
      host: '127.0.0.1',
      port: 8099,
      mode: 'raw',
      format: 'text',
      maxMessageBytes: 16777216,
      maxConnections: 1024,
      idleTimeoutMs: 60000,
      transport: 'tcp',
      path: null,
    });
  });

  test('--opt value and --opt=value', () => {
    const opts = parseArgs(['--port=0', '--mode', 'framed', '--format=json', '--max-connections', '+2']);
    assert.equal(opts.port, 0);
    assert.equal(opts.mode, 'framed');
    assert.equal(opts.format, 'json');
    assert.equal(opts.maxConnections, 2);
  });

  const errors = [
    [['--port', 'abc'], "invalid value 'abc' for '--port <PORT>': invalid digit found in string"],
    [['--port', '65536'], "invalid value '65536' for '--port <PORT>': number too large to fit in target type"],
    [['--port='], "invalid value '' for '--port <PORT>': cannot parse integer from empty string"],
    [['--mode', 'udp'], "invalid value 'udp' for '--mode <MODE>' [possible values: raw, framed]"],
    [['--max-connections', '0'], "invalid value '0' for '--max-connections <MAX_CONNECTIONS>': 0 is not in 1..=4294967295"],
    [['--port'], "a value is required for '--port <PORT>' but none was supplied"],
    [['--port', '--mode'], "a value is required for '--port <PORT>' but none was supplied"],
    [['--bogus'], "unexpected argument '--bogus' found"],
    [['hello'], "unexpected argument 'hello' found"],
    [['--port', '1', '--port', '2'], "the argument '--port <PORT>' cannot be used multiple times"],
    [['--transport', 'unix'], '--transport unix needs --path PATH'],
    [['--path', '/tmp/x'], '--path needs --transport unix'],
    [['--transport', 'unix', '--path', 'x'.repeat(108)], 'unix socket path too long: 108 bytes, at most 107'],
  ];
  for (const [args, message] of errors) {
    test(`usage error: ${args.join(' ')}`, () => {
      assert.throws(() => parseArgs(args), (err) => err instanceof UsageError && err.message === message);
    });
  }

  test('a 107-byte Unix path is accepted', () => {
    assert.equal(parseArgs(['--transport', 'unix', '--path', 'x'.repeat(107)]).path.length, 107);
  });
});

describe('the program', () => {
  test('--help prints usage on stdout and exits 0', async () => {
    const result = await runServer(['--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^Accepts connections forever/);
    assert.match(result.stdout, /--max-connections <MAX_CONNECTIONS>/);
    assert.equal(result.stderr, '');
  });

  test('--version', async () => {
    const result = await runServer(['-V']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^interop-server \d+\.\d+\.\d+\n$/);
  });

  test('a usage error is one line on stderr and exit 2', async () => {
    const result = await runServer(['--port', 'abc']);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, "error: invalid value 'abc' for '--port <PORT>': invalid digit found in string\n");
  });

  test('a Unix path over 107 bytes is a usage error (exit 2) before anything happens', async () => {
    const long = `/tmp/${'x'.repeat(125)}`;
    const result = await runServer(['--transport', 'unix', '--path', long]);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, 'error: unix socket path too long: 130 bytes, at most 107\n');
    assert.equal(fs.existsSync(long), false);
  });

  describe('cannot listen: exit 1', () => {
    let dir;
    before(() => {
      dir = tempDir();
    });
    after(() => dir.cleanup());

    test('a port in use', async () => {
      const taken = net.createServer();
      await new Promise((resolve) => taken.listen({ host: '127.0.0.1', port: 0 }, resolve));
      try {
        const result = await runServer(['--port', String(taken.address().port)]);
        assert.equal(result.code, 1);
        assert.match(result.stderr, /^error: cannot listen on 127\.0\.0\.1:\d+: Address already in use \(os error 98\)\n$/);
        assert.equal(result.stdout, '');
      } finally {
        taken.close();
      }
    });

    test('an address that is not ours', async () => {
      const result = await runServer(['--host', '192.0.2.1', '--port', '0']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^error: cannot listen on 192\.0\.2\.1:0: /);
    });

    test('a Unix path that is a regular file: refused, and the file is left alone', async () => {
      const file = path.join(dir.dir, 'not-a-socket');
      fs.writeFileSync(file, 'keep me');
      const result = await runServer(['--transport', 'unix', '--path', file]);
      assert.equal(result.code, 1);
      assert.equal(result.stderr, `error: cannot listen on unix:${file}: ${file} exists and is not a socket\n`);
      assert.equal(fs.readFileSync(file, 'utf8'), 'keep me');
    });

    test('a Unix socket someone listens on', async () => {
      const file = path.join(dir.dir, 'live.sock');
      const live = net.createServer();
      await new Promise((resolve) => live.listen(file, resolve));
      try {
        const result = await runServer(['--transport', 'unix', '--path', file]);
        assert.equal(result.code, 1);
        assert.equal(result.stderr, `error: cannot listen on unix:${file}: address in use\n`);
      } finally {
        live.close();
      }
    });
  });

  test('the first line is `listening on` in text format too, and SIGINT stops it (exit 0)', async () => {
    const server = await Server.start([], { format: 'text' });
    assert.match(server.lines[0], /^listening on 127\.0\.0\.1:\d+$/);
    assert.deepEqual(await server.stop('SIGINT'), { code: 0, signal: null });
    assert.equal(server.stderr, '');
  });
});
