#!/usr/bin/env bash
# Regenerates docs/figures/report-frontier-lab.png, the screenshot in the README: the top of
# the HTML report of the frontier-lab example, rendered by headless Chromium
# (apt-get install -y chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
work="$(mktemp -d)"
target/release/gigawatt report examples/frontier-lab.toml --paths 10000 -q --out "$work/report.html"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --host-resolver-rules="MAP * ~NOTFOUND" --user-data-dir="$work/profile" \
  --window-size=1000,1400 --hide-scrollbars \
  --screenshot="$PWD/docs/figures/report-frontier-lab.png" "file://$work/report.html" 2>/dev/null
rm -rf "$work"
echo "wrote docs/figures/report-frontier-lab.png"
