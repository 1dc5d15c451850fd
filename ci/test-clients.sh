#!/usr/bin/env bash
# Each foreign implementation's own test suite, with its own language's tools.
set -euo pipefail
(cd python-client && python3 -m pytest -q)
# The Python server's suite also drives it with the Rust client: build that first, so that those
# tests run instead of being skipped.
cargo build --quiet -p interop-client
(cd python-server && python3 -m pytest -q)
(cd java-client && mvn -q -B test)
(cd java-server && mvn -q -B test)
(cd go-client && test -z "$(gofmt -l .)" && go vet ./... && go test ./...)
(cd go-server && test -z "$(gofmt -l .)" && go vet ./... && go test ./...)
(cd node-client && npm test --silent)
(cd node-server && npm test --silent)
