//! Project ranking against a case worked out by hand.

use gigawatt_sim::MetricId;
use gigawatt_study::rank::{rank, RankRequest};
use gigawatt_study::Quiet;

/// No demand is served for money (price 0), so every lease is a pure cost: 100 H100e of `big`
/// at $10 for the 12-month term cost $12,000, 50 of `small` at $10 cost $6,000 (no discounting,
/// the terms end with the horizon). Dropping `big` raises NPV by exactly 12,000 on every path,
/// `small` by 6,000; adding the candidate `extra` (20 H100e at $10) lowers it by 2,400.
const LEASES: &str = r#"
format_version = 1
horizon = { start = "2026-01", end = "2026-12" }
discount_rate_per_year = 0.0
[[segments]]
name = "d"
start_units_per_month = { dist = "uniform", min = 10.0, max = 20.0 }
h100e_months_per_unit = 1.0
price_usd_per_unit = 0.0
growth = { process = "log" }
[[options]]
name = "big"
kind = "lease"
term_months = 12
price_usd_per_h100e_month = 10.0
[[options]]
name = "small"
kind = "lease"
term_months = 12
price_usd_per_h100e_month = 10.0
[[options]]
name = "extra"
kind = "lease"
term_months = 12
price_usd_per_h100e_month = 10.0
[[plans]]
name = "p"
commitments = [
  { option = "small", month = "2026-01", h100e = 50.0 },
  { option = "big", month = "2026-01", h100e = 100.0 },
]
[[plans]]
name = "candidates"
commitments = [{ option = "extra", month = "2026-01", h100e = 20.0 }]
"#;

#[test]
fn dropping_a_pure_cost_gains_exactly_its_cost_and_ranks_first() {
    let (sc, d) = gigawatt_io::read_str(LEASES, "leases.toml");
    let sc = sc.unwrap_or_else(|| panic!("{d:?}"));
    let req = RankRequest {
        paths: 100,
        seed: 1,
        plan: Some("p".into()),
        add_from: Some("candidates".into()),
    };
    let r = rank(&sc, &req, &Quiet).unwrap();
    let got: Vec<(&str, bool, f64, f64)> = r
        .effects
        .iter()
        .map(|e| {
            let (m, se) = e.diff(MetricId::Npv);
            (e.project.as_str(), e.added, m, se)
        })
        .collect();
    assert_eq!(got.len(), 3);
    assert_eq!((got[0].0, got[0].1), ("big", false), "{got:?}");
    assert_eq!((got[1].0, got[1].1), ("small", false), "{got:?}");
    assert_eq!((got[2].0, got[2].1), ("extra", true), "{got:?}");
    for ((_, _, m, se), want) in got.iter().zip([12_000.0, 6_000.0, -2_400.0]) {
        assert!((m - want).abs() < 1e-6, "{m} vs {want}");
        assert!(*se < 1e-9, "the same difference on every path: se {se}");
    }
    let text = gigawatt_study::rank::text(&r);
    assert!(
        text.contains("drop first (dropping each raises expected NPV): big, small"),
        "{text}"
    );
}
