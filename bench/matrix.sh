#!/usr/bin/env bash
# Benchmark: wall time of the full matrix, warm, run by the harness at -j1 and -j2, against the
# same client commands run bare from a shell script (`interop script`: start each server, read its
# port, run the clients, stop it; nothing checked). Median of RUNS runs each (default 5).
#
#   bash bench/matrix.sh            # prints the medians and the ratios
#
# The cells: SELECT (default: the Rust server with every client, on the cases a plain script can run
# too; faults, a silent server and a restart need the harness and are left out of both sides).
#
# Targets (issue 3): harness -j1 within 1.15x of the bare script; -j2 at most 0.6x of -j1.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
cases="hello utf8 empty empty-frames multiline binary large many concurrent refused ipv6 ipv6-framed"
cases+=" unix unix-framed udp half-close back-to-back"
read -r -a select <<< "${SELECT:---server rust-server $(printf -- '--case %s ' $cases)}"

cargo build -q -p interop
interop=target/debug/interop
$interop build > /dev/null            # warm: every implementation built, stamps fresh
bare=$(mktemp)
trap 'rm -f "$bare"' EXIT
$interop script "${select[@]}" > "$bare"

# median SECONDS... : the middle value
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# timed CMD...: wall seconds of one run
timed() {
  local start end
  start=$(date +%s.%N)
  "$@" > /dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

declare -a bare_t j1_t j2_t
for ((i = 0; i < runs; i++)); do
  bare_t+=("$(timed bash "$bare")")
  j1_t+=("$(timed $interop run -j1 "${select[@]}")")
  j2_t+=("$(timed $interop run -j2 "${select[@]}")")
done
b=$(median "${bare_t[@]}"); one=$(median "${j1_t[@]}"); two=$(median "${j2_t[@]}")
printf "cells: %s, runs: %s, cores: %s\n" "$(grep -c "^# [^ ]*/[^ ]*/" "$bare")" "$runs" "$(nproc)"
printf 'bare script      %6.2f s\n' "$b"
printf 'harness -j1      %6.2f s   (%.2fx the bare script; target <= 1.15x)\n' "$one" "$(echo "$one / $b" | bc -l)"
printf 'harness -j2      %6.2f s   (%.2fx -j1; target <= 0.60x)\n' "$two" "$(echo "$two / $one" | bc -l)"
