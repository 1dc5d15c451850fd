// Package wire holds the pieces of the interop protocol (docs/PROTOCOL.md) that do not touch a
// socket's life cycle: frames (§3.1), acknowledgements (§3.3, §3.4), how a message is printed
// (§4), addresses (§1) and the client's JSON lines (§8.2).
package wire
