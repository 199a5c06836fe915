//! Fleet refresh: a rule that replaces retiring chips, against a case worked out by hand.

mod common;

use gigawatt_sim::PathOutcome;

/// 100 H100e installed in July 2025 with a one-year life retire in July 2026 (month 6). Chips
/// of the same generation can be bought at $10 a unit with a two-month lead time. Plan
/// `refresh` decides every month; plan `none` does nothing.
const SRC: &str = r#"
format_version = 1
horizon = { start = "2026-01", end = "2026-12" }
discount_rate_per_year = 0.0
[[segments]]
name = "d"
start_units_per_month = 50.0
h100e_months_per_unit = 1.0
price_usd_per_unit = 1.0
growth = { process = "log" }
[[generations]]
name = "g"
h100e_per_unit = 1.0
kw_per_unit = 1.0
price_usd_per_unit = 10.0
life_years = 1.0
[[fleet]]
generation = "g"
units = 100.0
installed = "2025-07"
[power]
availability_pu = 1.0
power_price_usd_per_mwh = 0.0
existing_powered_mw = 1.0
pue = 1.0
[[options]]
name = "chips"
kind = "buy"
generation = "g"
lead_time_months = 2
[[plans]]
name = "none"
[[plans]]
name = "refresh"
rules = [{ option = "chips", kind = "refresh", every_months = 1 }]
"#;

fn run(pi: usize) -> PathOutcome {
    common::run_path(&common::scenario(SRC), pi)
}

fn capacity(o: &PathOutcome) -> Vec<f64> {
    common::series(o, "capacity_h100e")
}

#[test]
fn a_refresh_rule_replaces_retiring_chips_in_time() {
    // Without a refresh, capacity is 100 H100e for six months and then nothing.
    let none = run(0);
    assert_eq!(capacity(&none), [vec![100.0; 6], vec![0.0; 6]].concat());
    // In May (month 4) the chips retiring by the arrival two months later are the whole 100:
    // the rule buys 100 then, they arrive in July as the old ones retire, and capacity never
    // falls. Later months find nothing retiring by their arrival and buy nothing.
    let r = run(1);
    assert_eq!(r.rule_commitments, vec![(0, 4, 100.0)]);
    assert_eq!(capacity(&r), vec![100.0; 12]);
}

#[test]
fn check_warns_about_the_plan_whose_capacity_falls_but_not_the_one_that_refreshes() {
    let (_, d) = gigawatt_io::read_str(SRC, "refresh.toml");
    let warnings: Vec<_> = d.iter().filter(|d| !d.is_error()).collect();
    assert_eq!(warnings.len(), 1, "{d:?}");
    assert_eq!(warnings[0].diag.path, "plans[0].name");
    assert!(
        warnings[0]
            .diag
            .message
            .contains("falls from 1.0000e2 H100e (2026-01) to 0.0000e0 H100e"),
        "{}",
        warnings[0].diag.message
    );
    assert!(warnings[0].diag.message.contains("100 % down"));
}
