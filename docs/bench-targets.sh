#!/usr/bin/env bash
# The engine-speed targets of issue 13, measured for two builds side by side.
#
#   docs/bench-targets.sh BEFORE_BIN AFTER_BIN PEERS_DIR [ROUNDS]
#
# BEFORE_BIN and AFTER_BIN are two `gigawatt` binaries (build each commit with
# `cargo build --release` and copy target/release/gigawatt away); PEERS_DIR holds the NumPy
# peer (numpy_same_model.py and same_model.toml). Runs alternate between the builds, round
# after round, so a change in the machine's load falls on both; each line is the mean of
# `perf stat -r` runs (frontier-lab has three plans, counted in its M plan-path-months/s).
# Needs `perf` and python3 with numpy; a round takes about a minute.
# Run from the repository's root. Nothing here is a test: timings depend on the machine.
set -euo pipefail
if [ $# -lt 3 ]; then
  sed -n 2,11p "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
before=$(realpath "$1"); after=$(realpath "$2"); peers=$(realpath "$3"); rounds=${4:-3}
for f in "$before" "$after" "$peers/numpy_same_model.py" "$peers/same_model.toml" examples/frontier-lab.toml; do
  [ -e "$f" ] || { echo "bench-targets: $f not found (run from the repository's root)" >&2; exit 2; }
done
command -v perf >/dev/null || { echo "bench-targets: needs perf (linux-tools)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Mean wall seconds of `perf stat -r N` of a command.
wall() {
  local n=$1; shift
  perf stat -r "$n" "$@" 2>&1 >/dev/null | awk '/seconds time elapsed/ {print $1}'
}

export OPENBLAS_NUM_THREADS=1
fl=examples/frontier-lab.toml
for r in $(seq "$rounds"); do
  for b in before after; do
    bin=$before; [ $b = after ] && bin=$after
    p2=$(wall 3 "$bin" simulate $fl --paths 100000 --threads 2 -q)
    rm -rf "$out/o"; o2=$(wall 3 "$bin" simulate $fl --paths 100000 --threads 2 -q --out "$out/o")
    p1=$(wall 5 "$bin" simulate $fl --paths 30000 --threads 1 -q)
    rm -rf "$out/o"; o1=$(wall 5 "$bin" simulate $fl --paths 30000 --threads 1 -q --out "$out/o")
    s2=$(wall 5 "$bin" simulate "$peers/same_model.toml" --paths 100000 -q --no-baseline)
    s1=$(wall 5 "$bin" simulate "$peers/same_model.toml" --paths 100000 -q --no-baseline --threads 1)
    peer=$(cd "$peers" && wall 3 python3 numpy_same_model.py same_model.toml --paths 100000)
    echo "$r $b $p2 $o2 $p1 $o1 $s2 $s1 $peer"
  done
done | awk '
  BEGIN {
    print "round build  | frontier-lab 2 threads: plain, M plan-path-months/s, --out, over plain" \
          " | 1 thread 30,000: plain, --out, over plain | same-model: 2t, 1t, peer, 2t x, 1t x"
  }
  {
    printf "%-5s %-6s | %.3f s %5.1f M  %.3f s %+5.1f %% | %.3f s %.3f s %+5.1f %% | %.3f s %.3f s %.3f s %4.2fx %4.2fx\n",
      $1, $2, $3, 100000 * 96 * 3 / $3 / 1e6, $4, 100 * ($4 / $3 - 1),
      $5, $6, 100 * ($6 / $5 - 1), $7, $8, $9, $9 / $7, $9 / $8
  }
  END {
    print "targets: --out at most +30 %; frontier-lab at least 20 M; same-model at least 5x" \
          " (2 threads) and 2.5x (1 thread)"
  }'
