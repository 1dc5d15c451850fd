"""The interop protocol's server (docs/PROTOCOL.md §2, §3, §5, §10, §11), standard library only.

- :mod:`interop_server.cli`: the command line, identical to the Rust ``interop-server``.
- :mod:`interop_server.server`: TCP and Unix stream connections (raw and framed) on asyncio.
- :mod:`interop_server.udp`: one datagram per message (§10.3).
- :mod:`interop_server.output`: the text and JSON records on stdout (§4, §5, §8.1).
- :mod:`interop_server.wire`: frames, replies, digests and addresses.
"""

__version__ = "0.1.0"
