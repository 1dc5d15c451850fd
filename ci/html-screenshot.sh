#!/usr/bin/env bash
# html-screenshot.sh: screenshot an HTML report with headless Chromium, to look at it as a person would.
#
# Usage: html-screenshot.sh REPORT.html OUT.png [FRAGMENT]
#   REPORT.html  the page (any path; it is opened as file://ABS_PATH)
#   OUT.png      where the screenshot goes (overwritten)
#   FRAGMENT     optional, e.g. cell-rust-server.java.utf8 to open that cell's detail (#FRAGMENT)
# Environment: WINDOW_SIZE (default 1400,2000), e.g. WINDOW_SIZE=420,900 for a narrow window.
#
# Installs Debian's chromium when it is missing (apt-get, as root). Exits non-zero when the PNG was
# not produced. Nothing is fetched from the network by the browser: it runs with a fresh, throw-away
# profile and background networking, component updates and sync disabled.
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
report=$1
out=$2
fragment=${3:-}
[[ -f $report ]] || { echo "html-screenshot: no such file: $report" >&2; exit 2; }

browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $browser ]]; then
    echo "html-screenshot: installing chromium (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
    browser=$(command -v chromium)
fi

abs_report=$(realpath "$report")
abs_out=$(realpath -m "$out")
url="file://$abs_report${fragment:+#$fragment}"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
rm -f "$abs_out"

# Chromium writes the screenshot relative to its working directory unless the path is absolute.
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --window-size="${WINDOW_SIZE:-1400,2000}" \
    --hide-scrollbars --screenshot="$abs_out" "$url" >"$profile/log" 2>&1 || true

if [[ ! -s $abs_out ]] || [[ $(head -c 8 "$abs_out" | od -An -tx1 | tr -d ' \n') != 89504e470d0a1a0a ]]; then
    echo "html-screenshot: no PNG produced at $abs_out; chromium said:" >&2
    grep -v dbus "$profile/log" | tail -n 20 >&2
    exit 1
fi
echo "$abs_out"
