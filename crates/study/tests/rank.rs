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
        lambda: 0.0,
        greedy: false,
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

/// Demand far above capacity at $1 per H100e-month, no fleet, no other costs or discounting:
/// three leases of 100 H100e for the 12 months at $0.5, $1.5 and $3 per H100e-month. Dropping
/// each changes NPV by −12·100·(1 − price): −600 for `cheap`, +600 for `dear`, +2,400 for
/// `dearest`. The drop-first order drops `dearest`, then `dear`, and stops (dropping `cheap`
/// would lose 600).
const THREE_LEASES: &str = r#"
format_version = 1
horizon = { start = "2026-01", end = "2026-12" }
discount_rate_per_year = 0.0
[[segments]]
name = "d"
start_units_per_month = 1000.0
h100e_months_per_unit = 1.0
price_usd_per_unit = 1.0
growth = { process = "log" }
[research]
extra_cap_share_pu = 0.0
[[generations]]
name = "g"
h100e_per_unit = 1.0
kw_per_unit = 1.0
price_usd_per_unit = 0.0
[power]
availability_pu = 1.0
power_price_usd_per_mwh = 0.0
[[options]]
name = "cheap"
kind = "lease"
term_months = 12
price_usd_per_h100e_month = 0.5
[[options]]
name = "dear"
kind = "lease"
term_months = 12
price_usd_per_h100e_month = 1.5
[[options]]
name = "dearest"
kind = "lease"
term_months = 12
price_usd_per_h100e_month = 3.0
[[plans]]
name = "all"
commitments = [
  { option = "cheap", month = "2026-01", h100e = 100.0 },
  { option = "dear", month = "2026-01", h100e = 100.0 },
  { option = "dearest", month = "2026-01", h100e = 100.0 },
]
"#;

#[test]
fn the_greedy_drop_order_of_independent_projects_is_known_by_hand() {
    let (sc, diags) = gigawatt_io::read_str(THREE_LEASES, "three.toml");
    let sc = sc.unwrap_or_else(|| panic!("{diags:?}"));
    let req = RankRequest {
        paths: 20,
        seed: 1,
        plan: None,
        add_from: None,
        lambda: 0.0,
        greedy: true,
    };
    let r = rank(&sc, &req, &Quiet).unwrap();
    let d = |name: &str| {
        r.effects
            .iter()
            .find(|e| e.project == name)
            .unwrap()
            .diff(MetricId::Npv)
            .0
    };
    assert!((d("cheap") + 600.0).abs() < 1e-6, "{}", d("cheap"));
    assert!((d("dear") - 600.0).abs() < 1e-6);
    assert!((d("dearest") - 2400.0).abs() < 1e-6);
    let order: Vec<&str> = r.drop_order.iter().map(|s| s.project.as_str()).collect();
    assert_eq!(order, ["dearest", "dear"]);
    // After both drops the plan earns what `cheap` brings alone: 12 · 100 · 0.5 = 600.
    assert!(
        (r.drop_order[1].npv_mean - 600.0).abs() < 1e-6,
        "{}",
        r.drop_order[1].npv_mean
    );
    assert!(
        (r.plan_npv.0 - (600.0 - 600.0 - 2400.0)).abs() < 1e-6,
        "{}",
        r.plan_npv.0
    );
}

#[test]
fn commitments_named_one_project_are_dropped_together() {
    // The two dear leases as one project `premium`: dropping it gains 600 + 2,400 = 3,000.
    let src = THREE_LEASES
        .replace(
            r#"{ option = "dear", month = "2026-01", h100e = 100.0 }"#,
            r#"{ option = "dear", month = "2026-01", h100e = 100.0, project = "premium" }"#,
        )
        .replace(
            r#"{ option = "dearest", month = "2026-01", h100e = 100.0 }"#,
            r#"{ option = "dearest", month = "2026-01", h100e = 100.0, project = "premium" }"#,
        );
    let (sc, diags) = gigawatt_io::read_str(&src, "projects.toml");
    let sc = sc.unwrap_or_else(|| panic!("{diags:?}"));
    // The project survives writing the scenario and reading it back.
    let again = gigawatt_io::read_str(&gigawatt_io::write_scenario(&sc), "again.toml")
        .0
        .unwrap();
    assert_eq!(again.plans[0].commitments, sc.plans[0].commitments);
    let req = RankRequest {
        paths: 10,
        seed: 1,
        plan: None,
        add_from: None,
        lambda: 0.0,
        greedy: false,
    };
    let r = rank(&sc, &req, &Quiet).unwrap();
    assert_eq!(r.effects.len(), 2);
    let premium = r.effects.iter().find(|e| e.project == "premium").unwrap();
    assert_eq!(premium.commitments, 2);
    assert!((premium.diff(MetricId::Npv).0 - 3000.0).abs() < 1e-6);
}
