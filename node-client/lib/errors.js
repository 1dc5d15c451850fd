// Exit codes (PROTOCOL.md §7) and the error that carries one.

export const EXIT_OK = 0; // every message delivered (and, framed or UDP, acknowledged correctly)
export const EXIT_FAILURE = 1; // unreadable --file, connection reset or broken, other I/O errors
export const EXIT_USAGE = 2; // bad command line, Unix path too long, message too large for UDP
export const EXIT_CONNECT = 3; // refused, unreachable, no such socket file, name not resolved
export const EXIT_TIMEOUT = 4; // connecting, writing or waiting took longer than --timeout-ms
export const EXIT_PROTOCOL = 5; // ERR reply, bad acknowledgement, closed before acknowledging

/** A failure that ends the client: `message` is the reason (one line), `exitCode` the exit code. */
export class ClientError extends Error {
  constructor(exitCode, message) {
    super(message);
    this.name = 'ClientError';
    this.exitCode = exitCode;
  }
}

export const usageError = (message) => new ClientError(EXIT_USAGE, message);
export const ioError = (message) => new ClientError(EXIT_FAILURE, message);
export const connectError = (message) => new ClientError(EXIT_CONNECT, message);
export const timeoutError = (message) => new ClientError(EXIT_TIMEOUT, message);
export const protocolError = (message) => new ClientError(EXIT_PROTOCOL, message);
