//! Lease cancellation by a rule, against a case worked out by hand.

mod common;

use gigawatt_sim::{yl, PathOutcome};

/// Demand is a steady 10 H100e and nothing earns money. A 12-month lease of 100 H100e at $10
/// per H100e-month starts in January; it can be cancelled with two months' notice for half of
/// the payments cancelled.
const SRC: &str = r#"
format_version = 1
horizon = { start = "2026-01", end = "2026-12" }
discount_rate_per_year = 0.0
[[segments]]
name = "d"
start_units_per_month = 10.0
h100e_months_per_unit = 1.0
price_usd_per_unit = 0.0
growth = { process = "log" }
[power]
availability_pu = 1.0
[[options]]
name = "cloud"
kind = "lease"
lead_time_months = 0
term_months = 12
price_usd_per_h100e_month = 10.0
cancel_notice_months = 2
cancel_fee_pu = 0.5
[[plans]]
name = "keep"
commitments = [{ option = "cloud", month = "2026-01", h100e = 100.0 }]
[[plans]]
name = "cancel"
commitments = [{ option = "cloud", month = "2026-01", h100e = 100.0 }]
rules = [{ option = "cloud", kind = "cancel", every_months = 1, from = "2026-02" }]
"#;

fn run(pi: usize) -> PathOutcome {
    common::run_path(&common::scenario(SRC), pi)
}

#[test]
fn a_cancel_rule_cuts_the_surplus_lease_and_pays_the_fee() {
    // Kept: 12 × 100 × $10 = $12,000.
    let keep = run(0);
    assert_eq!(keep.yearly[0][yl::LEASES], 12_000.0);
    assert!(keep.lease_cancellations.is_empty());
    // In February (month 1) the forecast need is 10 H100e against 100 planned for April (after
    // the notice): 90 are cancelled from April. Nine months of 90 × $10 are cancelled, and half
    // of that, $4,050, is the fee. Leases cost 3 × $1,000 + ($100 + $4,050) + 8 × $100 =
    // $7,950; capacity is 100 H100e to March and 10 after.
    let c = run(1);
    assert_eq!(c.lease_cancellations, vec![(0, 1, 90.0, 4050.0)]);
    assert_eq!(c.yearly[0][yl::LEASES], 7950.0);
    let cap = &c.monthly[1];
    assert_eq!(cap, &[vec![100.0; 3], vec![10.0; 9]].concat());
    assert_eq!(c.npv_usd, -7950.0);
}
