#!/usr/bin/env python3
"""Puts examples/frontier-lab.toml's yearly revenue, burn and compute split beside the reported
projections (shared reference public-figures.md, rows cited in examples/README.md).

Usage: python3 examples/calibration.py OUT_DIR [PLAN]
where OUT_DIR holds `gigawatt simulate examples/frontier-lab.toml --out OUT_DIR`'s files.
Prints a Markdown table: per year, the plan's revenue and burn (p10 / p50 / p90, $B; burn is
minus free cash flow) and product's share of the compute used in December (p50 of served over
served + research), beside the reported figures.
"""
import csv
import sys

# Reported projections, $B (row 1c: revenue projections Sept 2025 and the >$280B 2030 reset of
# row 0.3; cash-burn forecasts, Q1-2026 set), and inference overtaking training by 2030 (row 1d).
REVENUE = {2026: "~30", 2027: "~60 (interpolated)", 2028: "~100", 2029: "~145", 2030: "~200 (>280 reset)"}
BURN = {2026: "25", 2027: "57", 2028: "85", 2029: "51", 2030: "-39 (cash positive)"}
SPLIT = {2030: "inference > training (>50 %)"}


def main():
    out = sys.argv[1]
    plan = sys.argv[2] if len(sys.argv) > 2 else "announced"
    yearly = {}
    with open(f"{out}/yearly.csv", newline="") as f:
        for r in csv.DictReader(f):
            if r["plan"] == plan:
                yearly[(int(r["year"]), r["line"])] = r
    monthly = {}
    with open(f"{out}/monthly.csv", newline="") as f:
        for r in csv.DictReader(f):
            if r["plan"] == plan and r["month"].endswith("-12"):
                monthly[(int(r["month"][:4]), r["series"])] = float(r["p50"])
    b = 1e9
    print(f"| year | revenue p10 / p50 / p90 ($B) | reported | burn p10 / p50 / p90 ($B) | reported | product share of compute used, Dec (p50) | reported |")
    print("|---|---|---|---|---|---|---|")
    for y in sorted({k[0] for k in yearly}):
        rev = yearly[(y, "revenue_usd")]
        fcf = yearly[(y, "free_cash_flow_usd")]
        served = monthly.get((y, "served_h100e"), 0.0)
        research = monthly.get((y, "research_h100e"), 0.0)
        share = served / (served + research) if served + research > 0 else 0.0
        # Burn is minus free cash flow: its p10 is minus FCF's p90.
        print(
            f"| {y} | {float(rev['p10'])/b:.0f} / {float(rev['p50'])/b:.0f} / {float(rev['p90'])/b:.0f} | {REVENUE.get(y, '')} "
            f"| {-float(fcf['p90'])/b:.0f} / {-float(fcf['p50'])/b:.0f} / {-float(fcf['p10'])/b:.0f} | {BURN.get(y, '')} "
            f"| {100*share:.0f} % | {SPLIT.get(y, '')} |"
        )


if __name__ == "__main__":
    main()
