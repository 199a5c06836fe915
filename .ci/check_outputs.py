"""Reads every CSV gigawatt writes with the clients users have (pandas and DuckDB) and checks
that they agree on the rows and that numeric columns are typed as numbers.

Run by .ci/run after the release build: python3 .ci/check_outputs.py DIR
where DIR holds the outputs of simulate --out --per-path, rank --out, sensitivity --out and plan --out
--frontier --replications."""
import sys

import duckdb
import pandas as pd

out = sys.argv[1]
numeric = {
    "monthly": ["mean", "p5", "p10", "p25", "p50", "p75", "p90", "p95"],
    "yearly": ["year", "mean", "p10", "p50", "p90"],
    "paths": ["npv_usd", "unserved_share", "first_profitable_year", "first_positive_fcf_year"],
    "paths_yearly": ["year", "revenue_usd", "capex_chips_usd", "free_cash_flow_usd", "cash_end_usd"],
    "rank": ["commitments", "d_npv_usd_mean", "d_npv_usd_se", "npv_cvar95_usd"],
    "tornado": ["value_low", "value_high", "swing", "swing_se"],
    "evppi": ["evppi", "se", "bias_subtracted"],
    "spider": ["percentile", "value", "mean", "se"],
    "sobol": ["first_order", "first_order_ci95_low", "total_order", "total_order_ci95_high"],
    "commitments": ["amount", "capex_usd_estimate"],
    "frontier": ["lambda", "alpha", "expected_value_usd", "cvar_loss_usd"],
    "replications": ["replication", "seed", "paths", "optimum_usd", "candidate_usd", "gap_usd"],
}
for name, cols in numeric.items():
    path = f"{out}/{name}.csv"
    df = pd.read_csv(path)
    rows = duckdb.connect().execute(f"select count(*) from read_csv_auto('{path}')").fetchone()[0]
    assert rows == len(df) > 0, f"{name}: pandas {len(df)} rows, DuckDB {rows}"
    for c in cols:
        assert pd.api.types.is_numeric_dtype(df[c]), f"{name}.{c} is {df[c].dtype}, not a number"
    print(f"{name}.csv: {len(df)} rows, read alike by pandas and DuckDB")
