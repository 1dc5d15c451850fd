// Package wire holds the pieces of the interop protocol (docs/PROTOCOL.md) that do not touch a
// socket's life cycle: frames (§3.1), replies (§3.3), how a message is printed (§4), addresses
// (§1) and how I/O errors are worded.
package wire
