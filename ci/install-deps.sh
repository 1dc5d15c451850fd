#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks to build and test every implementation:
# a JDK 17 with Maven, Python 3 with pytest, Go, Node.js. Rust (cargo with rustfmt and clippy) must already be
# there: the harness is a Cargo workspace and Debian's own cargo is too old for edition 2024.
set -euo pipefail

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }

have java && have javac || need_apt+=(openjdk-17-jdk-headless)
have mvn || need_apt+=(maven)
have python3 || need_apt+=(python3 python3-pip)
have go || need_apt+=(golang-go)
have node || need_apt+=(nodejs npm)

if ((${#need_apt[@]})); then
  echo "ci: installing ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

if ! python3 -m pytest --version >/dev/null 2>&1; then
  echo "ci: installing pytest"
  python3 -m pip install --quiet pytest || python3 -m pip install --quiet --break-system-packages pytest
fi

if ! have cargo; then
  echo "ci: cargo not found; install Rust with rustup (https://rustup.rs)" >&2
  exit 1
fi
for component in fmt clippy; do
  if ! cargo "$component" --version >/dev/null 2>&1; then
    echo "ci: installing the $component component"
    rustup component add "$( [ "$component" = fmt ] && echo rustfmt || echo clippy )"
  fi
done

# The first line of a command's version output, without piping it into head: under pipefail, head exits
# after one line and the command dies of SIGPIPE while still writing, failing the script at random.
first_line() {
  local out
  out=$("$@" 2>&1)
  printf '%s\n' "${out%%$'\n'*}"
}

cargo --version
first_line java -version
first_line mvn -B --version
python3 --version
go version
node --version
