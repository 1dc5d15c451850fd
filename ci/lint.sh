#!/usr/bin/env bash
# Formatting and lints: the same checks a reviewer would run.
set -euo pipefail
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
