#!/usr/bin/env bash
# The Rust crates' tests, then the README's test command: the whole interop matrix.
set -euo pipefail
cargo test --workspace --exclude interop
cargo test -p interop
