#!/usr/bin/env bash
# Cross-check of `interop bench` from outside the project: bench/crosscheck (a load generator in Go,
# standard library only, sharing no code with the harness) runs the `small` and `raw` loads against
# the Rust, Java, Python and Go servers, each started here as interop.toml runs it (the Rust
# server's release build, as `interop bench` runs it), with its log going to a file.
#
#   bash bench/crosscheck.sh            # SECS (default 3) per measurement, ROUNDS (default 3)
#
# It prints each figure's median and its ratio to rust-server, to set beside `interop bench`'s.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECS:-3}
rounds=${ROUNDS:-3}
logs=target/interop/crosscheck
mkdir -p "$logs"

cargo build -q --release -p interop-server
cargo run -q -p interop -- build > /dev/null
(cd bench/crosscheck && go build -o "../../$logs/crosscheck" .)

out=target/interop/build
declare -A command=(
  [rust-server]="target/release/interop-server"
  [java-server]="java -XX:+UseSerialGC --add-opens java.base/sun.nio.ch=ALL-UNNAMED -cp $out/java-server/classes interop.server.InteropServer"
  [python-server]="env PYTHONPATH=python-server/src python3 -m interop_server"
  [go-server]="$out/go-server/interop-server"
)
order=(rust-server java-server python-server go-server)
pids=()
# Each server in a process group of its own (setsid), killed whole: a version manager's shim may
# stand between the pid and the server.
stop_all() {
  for pid in "${pids[@]}"; do
    kill -- "-$pid" 2> /dev/null || true
  done
  wait 2> /dev/null || true
}
trap stop_all EXIT

# start NAME MODE: starts the server, waits for its `listening on` line, sets $addr to its address.
start() {
  local log="$logs/$1-$2.log"
  : > "$log"
  # shellcheck disable=SC2086  # the command is a word list
  setsid ${command[$1]} --host 127.0.0.1 --port 0 --mode "$2" --format json --max-connections 12000 > "$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do
    local first=""
    # A whole first line only (read fails on a line without its newline yet); no pipe.
    if read -r first < "$log" && [[ $first == "listening on "* ]]; then
      addr=${first#listening on }
      return
    fi
    sleep 0.05
  done
  echo "error: $1 ($2) did not listen; see $log" >&2
  exit 1
}

args=()
for name in "${order[@]}"; do
  start "$name" framed
  framed=$addr
  start "$name" raw
  args+=("$name=$framed,$addr")
done
"$logs/crosscheck" -secs "$secs" -rounds "$rounds" "${args[@]}"
