//! The counterfactual against a case worked out by hand.

use gigawatt_sim::MetricId;
use gigawatt_study::counterfactual::{counterfactual, CounterfactualRequest};
use gigawatt_study::Quiet;

/// Demand 100 H100e a month against a fleet of 100; a launch doubles demand for good from
/// 2026-07. Without it nothing is unserved; with it, 100 of 200 is unserved in each of the last
/// six months: unserved share 600 / (600 + 1,200) = 1/3. Served compute, and so revenue, is
/// the same either way. The drift is uncertain, so paths differ, but it is zero-width enough
/// that demand stays at 100 (the fleet covers it) on every path.
const SPIKE: &str = r#"
format_version = 1
horizon = { start = "2026-01", end = "2026-12" }
[[segments]]
name = "d"
start_units_per_month = { dist = "uniform", min = 100.0, max = 100.000001 }
h100e_months_per_unit = 1.0
price_usd_per_unit = 1.0
growth = { process = "log" }
[[segments.launches]]
name = "spike"
window_start = "2026-07"
window_end = "2026-07"
jump_pu = 1.0
[[generations]]
name = "g"
h100e_per_unit = 1.0
kw_per_unit = 1.0
price_usd_per_unit = 0.0
[[fleet]]
generation = "g"
units = 100.000001
[power]
availability_pu = 1.0
"#;

#[test]
fn a_launch_beyond_capacity_leaves_a_third_unserved_and_revenue_unchanged() {
    let (sc, d) = gigawatt_io::read_str(SPIKE, "spike.toml");
    let sc = sc.unwrap_or_else(|| panic!("{d:?}"));
    let req = CounterfactualRequest {
        paths: 64,
        seed: 2,
        event: "spike".into(),
        plan: None,
    };
    let r = counterfactual(&sc, &req, &Quiet).unwrap();
    assert_eq!(r.changed_share, 1.0);
    let get = |id: MetricId| r.effects.iter().find(|e| e.metric == id).unwrap();
    let unserved = get(MetricId::UnservedShare);
    assert!(
        unserved.a.abs() < 1e-12,
        "without the launch: {}",
        unserved.a
    );
    assert!(
        (unserved.difference - 1.0 / 3.0).abs() < 1e-6,
        "{}",
        unserved.difference
    );
    let revenue = get(MetricId::CumRevenue);
    assert!(revenue.difference.abs() < 1e-3, "{}", revenue.difference);
}

#[test]
fn switching_off_a_price_war_gives_back_the_revenue_it_took() {
    // The same segment at $1 a unit, served in full; a price war halves the price from July:
    // it costs 6 months × 100 units × $0.5 = $300 of revenue on every path, and nothing else
    // that is served changes.
    let src = format!(
        "{SPIKE}\n[[events]]\nname = \"war\"\nkind = \"price_war\"\nwindow_start = \"2026-07\"\nwindow_end = \"2026-07\"\nshare_pu = 0.5\n"
    )
    .replace("jump_pu = 1.0", "jump_pu = 0.0");
    let sc = gigawatt_io::read_str(&src, "war.toml").0.unwrap();
    let req = CounterfactualRequest {
        paths: 32,
        seed: 2,
        event: "war".into(),
        plan: None,
    };
    let r = counterfactual(&sc, &req, &Quiet).unwrap();
    assert_eq!(r.changed_share, 1.0);
    let get = |id: MetricId| r.effects.iter().find(|e| e.metric == id).unwrap();
    let revenue = get(MetricId::CumRevenue);
    assert!(
        (revenue.difference + 300.0).abs() < 1e-5,
        "{}",
        revenue.difference
    );
    assert!(revenue.se < 1e-5);
    assert!(get(MetricId::UnservedShare).difference.abs() < 1e-12);
}
