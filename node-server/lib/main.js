// The program: parse the command line, bind, print `listening on`, serve until SIGINT/SIGTERM or
// until stdout fails, and exit with the code of PROTOCOL.md §5:
//   0 stopped by a signal, 1 could not start, 2 usage error, 3 the log could not be written.

import dgram from 'node:dgram';
import dns from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';
import { HELP, UsageError, VERSION, parseArgs } from './cli.js';
import { Log, OutputFailed } from './log.js';
import { Printer } from './output.js';
import { StreamServer } from './server.js';
import { UdpServer } from './udp.js';
import { describe, formatAddress } from './wire.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_OUTPUT = 3;

/** How long the last records (and stderr lines) get to be written before the process exits. */
const FINAL_FLUSH_MS = 1000;
/** After stdout failed: how long the one `error: writing output` line gets. */
const FINAL_LINE_MS = 300;

/** The server cannot start (e.g. cannot listen): one line on stderr, exit 1. */
class StartError extends Error {}

// ------------------------------------------------------------------------------------ binding

function listenOn(server, options) {
  return new Promise((resolve, reject) => {
    const failed = (err) => {
      server.off('listening', listening);
      reject(err);
    };
    const listening = () => {
      server.off('error', failed);
      resolve();
    };
    server.once('error', failed);
    server.once('listening', listening);
    server.listen(options);
  });
}

/** Every address of `host`, in order (an IP literal is its own). */
async function resolve(host, port) {
  if (net.isIP(host)) return [{ address: host, family: net.isIP(host) }];
  try {
    return await dns.promises.lookup(host, { all: true, verbatim: true });
  } catch (err) {
    throw new StartError(`cannot listen on ${host}:${port}: failed to lookup address information: ${describe(err)}`);
  }
}

/**
 * A listening TCP server on the first address of `host` that works. libuv sets SO_REUSEADDR
 * before binding a TCP socket (§5: a server killed with connections open can start again at once).
 */
async function listenTcp(host, port) {
  let last = null;
  for (const { address } of await resolve(host, port)) {
    const server = net.createServer({ allowHalfOpen: true });
    try {
      await listenOn(server, { host: address, port, backlog: 1024 });
      return server;
    } catch (err) {
      server.close();
      last = err;
    }
  }
  throw new StartError(`cannot listen on ${host}:${port}: ${last ? describe(last) : 'no addresses to bind'}`);
}

/** Connects to `path`: true if someone listens there, false if nobody does (refused). */
function probeUnix(path) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(true); // accepts nothing, refuses nothing: taken to be alive
    }, 1000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(false);
      else reject(err);
    });
  });
}

/**
 * Listens on the Unix socket `path` (§10.2): a stale socket file (nobody listens) is removed
 * first; a live one, or anything that is not a socket, is an error and is left alone.
 */
async function listenUnix(path) {
  const where = `unix:${path}`;
  let info = null;
  try {
    info = fs.lstatSync(path);
  } catch (err) {
    if (err.code !== 'ENOENT') throw new StartError(`cannot listen on ${where}: ${describe(err)}`);
  }
  if (info !== null) {
    if (!info.isSocket()) throw new StartError(`cannot listen on ${where}: ${path} exists and is not a socket`);
    let live;
    try {
      live = await probeUnix(path);
    } catch (err) {
      throw new StartError(`cannot listen on ${where}: ${describe(err)}`);
    }
    if (live) throw new StartError(`cannot listen on ${where}: address in use`);
    try {
      fs.unlinkSync(path);
    } catch (err) {
      if (err.code !== 'ENOENT') {
        throw new StartError(`cannot listen on ${where}: cannot remove stale socket: ${describe(err)}`);
      }
    }
  }
  const server = net.createServer({ allowHalfOpen: true });
  try {
    await listenOn(server, { path, backlog: 1024 });
  } catch (err) {
    server.close();
    const reason = err.code === 'EADDRINUSE' ? 'address in use' : describe(err);
    throw new StartError(`cannot listen on ${where}: ${reason}`);
  }
  return server;
}

/** A UDP socket bound to the first address of `host` that works. */
async function bindUdp(host, port) {
  let last = null;
  for (const { address, family } of await resolve(host, port)) {
    const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    try {
      await new Promise((ok, fail) => {
        socket.once('error', fail);
        socket.bind({ address, port }, () => {
          socket.off('error', fail);
          ok();
        });
      });
      return socket;
    } catch (err) {
      try {
        socket.close();
      } catch {
        // never bound
      }
      last = err;
    }
  }
  throw new StartError(`cannot bind udp ${host}:${port}: ${last ? describe(last) : 'no addresses to bind'}`);
}

// ---------------------------------------------------------------------------------- running

/** Writes one `error: …` line on stderr and resolves once it is written (or soon after). */
function errorLine(message) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, FINAL_LINE_MS);
    process.stderr.on('error', () => {});
    try {
      process.stderr.write(`error: ${String(message).replace(/[\r\n]+/g, ' ')}\n`, () => {
        clearTimeout(timer);
        resolve();
      });
    } catch {
      resolve();
    }
  });
}

/** Writes `text` on stdout (help, version); resolves to the exit code. */
function printText(text) {
  return new Promise((resolve) => {
    let settled = false;
    const done = async (err) => {
      if (settled) return;
      settled = true;
      if (!err) {
        resolve(EXIT_OK);
        return;
      }
      await errorLine(`writing output: ${describe(err)}`);
      resolve(EXIT_OUTPUT);
    };
    process.stdout.on('error', done);
    process.stdout.write(text, done);
  });
}

/** Runs the server with `argv` (the arguments after the program name); resolves to the exit code. */
export async function run(argv) {
  let opts;
  try {
    opts = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    await errorLine(err.message);
    return EXIT_USAGE;
  }
  if (opts.help) return printText(HELP);
  if (opts.version) return printText(`interop-server ${VERSION}\n`);

  // Before anything is bound, so before `listening on` is printed: whoever reads that line may
  // send SIGTERM at once, and it must find the handler, not the default action. A second signal
  // while stopping is ignored.
  let requestStop;
  const stop = new Promise((resolve) => {
    requestStop = resolve;
  });
  process.on('SIGTERM', () => requestStop());
  process.on('SIGINT', () => requestStop());

  const printer = new Printer(opts.format, { helloEachMessage: opts.transport === 'udp' });
  const log = new Log(printer);
  // Never die of a bug while serving others: say so, and go on.
  process.on('uncaughtException', (err) => log.error(null, null, `internal error: ${describe(err)}`));
  process.on('unhandledRejection', (err) => log.error(null, null, `internal error: ${describe(err)}`));

  let listener;
  let local;
  try {
    if (opts.transport === 'unix') {
      listener = await listenUnix(opts.path);
      local = `unix:${opts.path}`;
    } else if (opts.transport === 'udp') {
      listener = await bindUdp(opts.host, opts.port);
      const { address, port } = listener.address();
      local = formatAddress(address, port);
    } else {
      listener = await listenTcp(opts.host, opts.port);
      const { address, port } = listener.address();
      local = formatAddress(address, port);
    }
  } catch (err) {
    if (!(err instanceof StartError)) throw err;
    await errorLine(err.message);
    return EXIT_FAILURE;
  }

  const config = {
    mode: opts.mode,
    maxMessageBytes: opts.maxMessageBytes,
    maxConnections: opts.maxConnections,
    idleTimeoutMs: opts.idleTimeoutMs,
  };
  let server = null;
  try {
    // Written before anything is accepted: a stdout that cannot be written stops the server
    // before it serves anyone.
    await log.listening(local, opts.mode);
    server =
      opts.transport === 'udp'
        ? new UdpServer(listener, { local, config, log })
        : new StreamServer(listener, { local, config, log, unix: opts.transport === 'unix' });
    await server.run(stop);
  } catch (err) {
    if (!(err instanceof OutputFailed)) throw err;
  } finally {
    // Stop listening (a Unix socket's file is removed with it).
    try {
      listener.close();
    } catch {
      // already closed
    }
  }
  if (log.failure === null) await log.drained(FINAL_FLUSH_MS);
  if (log.failure !== null) {
    await log.finalLine(`error: writing output: ${log.failure}\n`, FINAL_LINE_MS);
    return EXIT_OUTPUT;
  }
  return EXIT_OK;
}

/** The program's entry point: runs, then exits (every record has been written by then). */
export async function main(argv) {
  let code;
  try {
    code = await run(argv);
  } catch (err) {
    await errorLine(`unexpected failure: ${describe(err)}`);
    code = EXIT_FAILURE;
  }
  process.exit(code);
}
