#!/usr/bin/env bash
# Regenerates every figure the docs quote, into docs/figures/*.txt (checked in), so no number
# in the docs is retyped by hand. Run from the repository root:
#   bash docs/figures.sh            # default build (pure-Rust solver), about 12 minutes
#   HIGHS=1 bash docs/figures.sh    # also frontier-lab's programme with exact churn (--features highs)
# Seeds are fixed by the scenarios and flags below, so a rerun on the same version gives the same
# numbers (timings aside, which the files do not record).
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/figures
mkdir -p "$out"
features=()
if [ "${HIGHS:-0}" = 1 ]; then features=(--features highs); fi
cargo build --release -q -p gigawatt-cli "${features[@]}"
gw=${CARGO_TARGET_DIR:-target}/release/gigawatt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { # name, then the gigawatt arguments
  local name=$1; shift
  echo "\$ gigawatt ${*//$tmp\//}" > "$out/$name.txt"
  "$gw" "$@" >> "$out/$name.txt" 2>/dev/null
  echo "wrote $out/$name.txt"
}

"$gw" init "$tmp/lab" > /dev/null 2>&1
cp "$tmp/lab/scenario.toml" "$tmp/starter.toml"
run starter-simulate simulate "$tmp/starter.toml" --paths 2000 -q
run startup-simulate simulate examples/startup.toml --paths 10000 -q
run frontier-lab-simulate simulate examples/frontier-lab.toml --paths 10000 -q
run launch-spike-simulate simulate examples/launch-spike.toml --paths 10000 -q
run startup-sensitivity sensitivity examples/startup.toml --plan buy-own --paths 2000 -q
run frontier-lab-rank rank examples/frontier-lab.toml --plan announced --paths 2000 -q
run launch-spike-counterfactual counterfactual examples/launch-spike.toml --without image-generator --plan as-is --paths 5000 -q
run startup-tornado-median sensitivity examples/startup.toml --plan buy-own --others-at-median -q
run startup-spider sensitivity examples/startup.toml --plan buy-own --spider --paths 1000 -q
run frontier-lab-sobol sensitivity examples/frontier-lab.toml --plan announced --sobol --paths 20000 -q
run startup-evppi sensitivity examples/startup.toml --evppi --paths 10000 -q
run frontier-lab-evppi sensitivity examples/frontier-lab.toml --evppi --paths 10000 -q
run startup-tornado-plans sensitivity examples/startup.toml --plan buy-own --plan lease-heavy --paths 2000 -q
run frontier-lab-break-even-scale sensitivity examples/frontier-lab.toml --plan announced --break-even api-demand --scale --paths 2000 -q
run frontier-lab-rank-greedy rank examples/frontier-lab.toml --plan announced --paths 2000 --greedy -q
run startup-plan plan examples/startup.toml --paths 20 -q
run startup-plan-fixed plan examples/startup.toml --paths 20 --fixed-schedule -q
run startup-frontier-recourse plan examples/startup.toml --paths 30 --frontier 0,1,10,100 -q
run startup-frontier-fixed plan examples/startup.toml --paths 30 --fixed-schedule --frontier 0,1,10,100 -q
# frontier-lab's programmes: with the pure-Rust solver about 8 minutes for --fixed-schedule (192
# integer columns); seconds with HiGHS. The plan found is the same to the MIP gap; the solve
# times printed in the files differ from run to run.
run frontier-lab-plan-fixed plan examples/frontier-lab.toml --paths 50 --fixed-schedule -q
if [ "${HIGHS:-0}" = 1 ]; then
  # Linear decision rules couple every path's later decisions: about 12 s with HiGHS, more than
  # 12 minutes with the pure-Rust solver. HiGHS only.
  run frontier-lab-plan plan examples/frontier-lab.toml --paths 50 --solver highs -q
  # Exact churn makes the programme far harder: HiGHS only.
  run frontier-lab-plan-fixed-churn plan examples/frontier-lab.toml --paths 50 --solver highs --fixed-schedule --churn -q
fi
