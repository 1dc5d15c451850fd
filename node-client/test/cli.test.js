// The command line (§6) and usage errors (exit 2, §7).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseArgs } from '../lib/cli.js';
import { connectionsSoFar, freePort, rawServer, runClient, tempDir } from '../test-support/helpers.js';

describe('parseArgs', () => {
  it('has the documented defaults', () => {
    const opts = parseArgs([]);
    assert.equal(opts.host, '127.0.0.1');
    assert.equal(opts.port, 8099);
    assert.equal(opts.mode, 'raw');
    assert.equal(opts.format, 'text');
    assert.equal(opts.timeoutMs, 10000);
    assert.equal(opts.transport, 'tcp');
    assert.equal(opts.pipeline, false);
    assert.equal(opts.halfClose, false);
    assert.deepEqual(opts.files, []);
    assert.deepEqual(opts.messages, []);
  });

  it('takes --opt value and --opt=value, before or after messages', () => {
    const argv = ['a', '--port=1234', 'b', '--mode', 'framed', '--timeout-ms=5', '--format', 'json', 'c'];
    const opts = parseArgs(argv);
    assert.equal(opts.port, 1234);
    assert.equal(opts.mode, 'framed');
    assert.equal(opts.timeoutMs, 5);
    assert.equal(opts.format, 'json');
    assert.deepEqual(opts.messages.map((i) => argv[i]), ['a', 'b', 'c']);
  });

  it('ends the options at --, and keeps "-" and "" as messages', () => {
    const argv = ['x', '', '-', '--', '--port', '-h', '--'];
    const opts = parseArgs(argv);
    assert.equal(opts.port, 8099);
    assert.equal(opts.help, false);
    assert.deepEqual(opts.messages.map((i) => argv[i]), ['x', '', '-', '--port', '-h', '--']);
  });

  it('collects repeated --file in order, and values that start with one dash', () => {
    const opts = parseArgs(['--file', 'a', '--file=b', '--file', '-c', '--host', '::1']);
    assert.deepEqual(opts.files, ['a', 'b', '-c']);
    assert.equal(opts.host, '::1');
  });

  it('accepts the transports and their options', () => {
    const unix = parseArgs(['--transport', 'unix', '--path', '/tmp/s.sock', '--mode', 'framed', '--half-close']);
    assert.equal(unix.transport, 'unix');
    assert.equal(unix.path, '/tmp/s.sock');
    assert.equal(unix.halfClose, true);
    const udp = parseArgs(['--transport=udp', '--mode', 'framed']);
    assert.equal(udp.transport, 'udp');
    assert.equal(parseArgs(['--mode', 'framed', '--pipeline']).pipeline, true);
  });

  it('sees --help even next to bad options', () => {
    assert.equal(parseArgs(['--port', 'abc', '--help']).help, true);
    assert.equal(parseArgs(['-h']).help, true);
  });

  const bad = [
    [['--bogus'], /unknown option "--bogus"/],
    [['-x'], /unknown option "-x"/],
    [['--port', 'abc'], /--port/],
    [['--port', '0'], /--port/],
    [['--port', '65536'], /--port/],
    [['--port', '-1'], /--port/],
    [['--port'], /--port needs a value/],
    [['--host', '--port', '1'], /--host needs a value/],
    [['--mode', 'udp'], /--mode/],
    [['--format', 'xml'], /--format/],
    [['--transport', 'sctp'], /--transport/],
    [['--timeout-ms', '0'], /--timeout-ms/],
    [['--timeout-ms', '1.5'], /--timeout-ms/],
    [['--timeout-ms', '99999999999999999999'], /--timeout-ms/],
    [['--pipeline=yes', '--mode', 'framed'], /takes no value/],
    [['--transport', 'unix'], /needs --path/],
    [['--path', '/tmp/x'], /--path applies only to --transport unix/],
    [['--pipeline'], /--pipeline needs --mode framed/],
    [['--half-close', '--mode', 'raw'], /--half-close needs --mode framed/],
    [['--pipeline', '--mode', 'framed', '--transport', 'udp'], /stream transport/],
    [['--transport', 'unix', '--path', `/tmp/${'x'.repeat(125)}`], /^unix socket path too long: 130 bytes, at most 107$/],
  ];
  for (const [argv, message] of bad) {
    it(`rejects ${JSON.stringify(argv)}`, () => {
      assert.throws(() => parseArgs(argv), (err) => err.exitCode === 2 && message.test(err.message));
    });
  }

  it('accepts a Unix path of exactly 107 bytes', () => {
    const p = `/tmp/${'y'.repeat(102)}`;
    assert.equal(Buffer.byteLength(p), 107);
    assert.equal(parseArgs(['--transport', 'unix', '--path', p]).path, p);
  });
});

describe('the program', () => {
  it('prints usage to stdout and exits 0 on -h and --help', async () => {
    for (const flag of ['-h', '--help']) {
      const result = await runClient([flag, '--port', 'nonsense']);
      assert.equal(result.code, 0);
      assert.match(result.stdout.toString(), /^Usage: interop-client/);
      assert.match(result.stdout.toString(), /--half-close/);
      assert.equal(result.stderr, '');
    }
  });

  it('exits 2 with exactly one "error: " line for usage errors, and connects to nothing', async () => {
    const server = await rawServer();
    try {
      const cases = [
        ['--bogus'],
        ['--port', 'abc'],
        ['--port=0'],
        ['--mode', 'udp'],
        ['--timeout-ms', '0'],
        ['--port'],
        ['--transport', 'unix'],
        ['--pipeline'],
        ['--mode', 'raw', '--half-close'],
        ['--transport', 'udp', '--mode', 'framed', '--pipeline'],
        ['--transport', 'unix', '--path', `/nonexistent/${'z'.repeat(120)}`],
      ];
      const results = await Promise.all(
        cases.map((args) => runClient([...args.slice(0, 1), ...args.slice(1), '--host', '127.0.0.1', 'msg'])),
      );
      for (const [i, result] of results.entries()) {
        assert.equal(result.code, 2, `${cases[i]}: ${result.stderr}`);
        assert.match(result.stderr, /^error: [^\n]+\n$/, `${cases[i]}`);
        assert.equal(result.stdout.length, 0);
      }
      // Options are parsed before anything: a usage error behind a good --port connects nowhere.
      const late = await runClient(['--port', String(server.port), 'hi', '--mode', 'bogus']);
      assert.equal(late.code, 2);
      assert.deepEqual(await connectionsSoFar(server), []);
    } finally {
      await server.close();
    }
  });

  it('says how long a too-long Unix path is', async () => {
    const result = await runClient(['--transport', 'unix', '--path', `/tmp/${'x'.repeat(125)}`]);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, 'error: unix socket path too long: 130 bytes, at most 107\n');
  });

  it('exits 1, sending nothing, when a --file cannot be read', async () => {
    const server = await rawServer();
    const { dir, cleanup } = tempDir();
    try {
      const result = await runClient(['--port', String(server.port), 'first', '--file', `${dir}/missing`]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^error: .*missing.*\n$/);
      const directory = await runClient(['--port', String(server.port), '--file', dir]);
      assert.equal(directory.code, 1);
      assert.deepEqual(await connectionsSoFar(server), []);
    } finally {
      cleanup();
      await server.close();
    }
  });

  it('exits 3 for a host name that does not resolve', async () => {
    const result = await runClient(['--host', 'no-such-host.invalid', '--port', String(await freePort())]);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /^error: cannot resolve host no-such-host\.invalid/);
  });
});
