//! Linear decision rules (`kind = "affine"`), against a case worked out by hand.

mod common;

use gigawatt_sim::yl;

/// Demand is a steady 10 H100e and nothing earns money; a 12-month lease costs $10 per
/// H100e-month and arrives at once.
fn src(intercept: f64, slope: f64, centre: f64) -> String {
    format!(
        r#"
format_version = 1
horizon = {{ start = "2026-01", end = "2026-12" }}
discount_rate_per_year = 0.0
[[segments]]
name = "d"
start_units_per_month = 10.0
h100e_months_per_unit = 1.0
price_usd_per_unit = 0.0
growth = {{ process = "log" }}
[power]
availability_pu = 1.0
[[options]]
name = "cloud"
kind = "lease"
block_h100e = 100.0
term_months = 12
price_usd_per_h100e_month = 10.0
[[plans]]
name = "ldr"
rules = [{{ option = "cloud", kind = "affine", from = "2026-03", until = "2026-03", intercept = {intercept}, slope = {slope}, centre_h100e = {centre} }}]
"#
    )
}

#[test]
fn an_affine_rule_commits_intercept_plus_slope_times_the_log_demand_ratio() {
    // In March the rule sees February's demand, 10 H100e: 50 + 100 × ln(10 / 5) = 119.31 H100e,
    // not rounded to the option's blocks of 100. Leases: that × $10 for March to December, and
    // the two months still owed after the horizon (January, February) count against the NPV.
    let o = common::run_path(&common::scenario(&src(50.0, 100.0, 5.0)), 0);
    assert_eq!(o.rule_commitments.len(), 1);
    let (opt, month, amount) = o.rule_commitments[0];
    assert_eq!((opt, month), (0, 2));
    let want = 50.0 + 100.0 * 2f64.ln();
    assert!((amount - want).abs() < 1e-9, "{amount}");
    assert!((o.yearly[0][yl::LEASES] - want * 100.0).abs() < 1e-6);
    assert!((o.npv_usd + want * 120.0).abs() < 1e-6);
}

#[test]
fn an_affine_rule_below_zero_commits_nothing() {
    // −30 + 100 × ln(10 / 8) = −7.7: nothing.
    let o = common::run_path(&common::scenario(&src(-30.0, 100.0, 8.0)), 0);
    assert!(o.rule_commitments.is_empty());
    assert_eq!(o.yearly[0][yl::LEASES], 0.0);
}
