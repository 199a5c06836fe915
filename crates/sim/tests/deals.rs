//! Deal structures against cases worked out by hand: deposits and milestones, vendor financing,
//! a cloud contract's spend ramp, a revenue share and vendor investment with warrants.

mod common;

use gigawatt_sim::{yl, PathOutcome};

/// One segment earning $1,000 a month (100 units at $10, 1 H100e-month each) on a free fleet
/// of 1,000 H100e, 12 months, no discounting, nothing else costs anything. `{EXTRA}` adds
/// options, plans and finance.
const BASE: &str = r#"
format_version = 1
horizon = { start = "2026-01", end = "2026-12" }
discount_rate_per_year = 0.0
[[segments]]
name = "d"
start_units_per_month = 100.0
h100e_months_per_unit = 1.0
price_usd_per_unit = 10.0
growth = { process = "log" }
[research]
extra_cap_share_pu = 0.0
[[generations]]
name = "g"
h100e_per_unit = 1.0
kw_per_unit = 1.0
price_usd_per_unit = 10.0
[[fleet]]
generation = "g"
units = 1000.0
lease_usd_per_unit_month = 0.0
lease_end = "2026-12"
[power]
availability_pu = 1.0
power_price_usd_per_mwh = 0.0
existing_powered_mw = 10.0
{EXTRA}
"#;

fn run(extra: &str, pi: usize) -> PathOutcome {
    common::run_path(&common::scenario(&BASE.replace("{EXTRA}", extra)), pi)
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} vs {b}");
}

/// 100 H100e of chips ($1,000) bought in January, arriving in May (month 4), kept at full
/// value at the end (residual 1): a deposit of 20 % in January, 30 % in March and the rest
/// on delivery, with half the price financed by the vendor at 1 % a month over 10 months.
const FINANCED_BUY: &str = r#"
[[options]]
name = "chips"
kind = "buy"
generation = "g"
lead_time_months = 4
residual_value_pu = 1.0
chip_schedule_pu = [0.2, 0.3, 0.5]
financed_share_pu = 0.5
financing_rate_per_year = 0.12
financing_term_months = 10
[[plans]]
name = "p"
commitments = [{ option = "chips", month = "2026-01", h100e = 100.0 }]
"#;

#[test]
fn deposits_milestones_and_vendor_financing_are_paid_when_due() {
    let o = run(FINANCED_BUY, 0);
    let fcf = &o.monthly[10];
    // The up-front half ($500): $100 in January, $150 in March, $250 in May.
    close(fcf[0], 1000.0 - 100.0);
    close(fcf[2], 1000.0 - 150.0);
    close(fcf[4], 1000.0 - 250.0);
    // The financed $500: P = 500 · 0.01 / (1 − 1.01^−10) from June (month 5), seven months
    // inside the horizon, three owed after it.
    let p = 500.0 * 0.01 / (1.0 - 1.01f64.powi(-10));
    for t in 5..12 {
        close(fcf[t], 1000.0 - p);
    }
    let y = &o.yearly[0];
    close(y[yl::CAPEX], 500.0);
    close(y[yl::CAPEX_CHIPS], 500.0);
    close(y[yl::VENDOR_FINANCING], 7.0 * p);
    // NPV: revenue $12,000, payments $500 + 7P, and at the end the chips ($1,000) less the
    // three payments still owed: 12,000 + 500 − 10 P, i.e. the revenue less the interest.
    close(o.npv_usd, 12_000.0 + 500.0 - 10.0 * p);
}

#[test]
fn at_no_interest_financing_is_a_deferred_payment_that_costs_nothing() {
    let o = run(
        &FINANCED_BUY.replace(
            "financing_rate_per_year = 0.12",
            "financing_rate_per_year = 0.0",
        ),
        0,
    );
    close(o.yearly[0][yl::VENDOR_FINANCING], 7.0 * 50.0);
    close(o.npv_usd, 12_000.0);
}

#[test]
fn a_cloud_contract_ramps_its_capacity_and_spend_year_by_year() {
    // 100 H100e for 24 months at $10, ramping 50 % then 100 %: 50 H100e and $500 a month in
    // the horizon, and $1,000 a month for the 12 months after it, owed at its end.
    let o = run(
        r#"
[[options]]
name = "cloud"
kind = "lease"
term_months = 24
price_usd_per_h100e_month = 10.0
ramp_pu = [0.5, 1.0]
[[plans]]
name = "p"
commitments = [{ option = "cloud", month = "2026-01", h100e = 100.0 }]
"#,
        0,
    );
    assert_eq!(o.monthly[1], vec![1050.0; 12]);
    close(o.yearly[0][yl::LEASES], 6000.0);
    close(o.npv_usd, 12_000.0 - 6000.0 - 12_000.0);
}

#[test]
fn a_revenue_share_is_an_operating_cost_in_its_own_line() {
    // A quarter of the revenue from July: 6 × $250.
    let o = run(
        r#"
[finance]
[[finance.revenue_shares]]
partner = "cloud partner"
share_pu = 0.25
from = "2026-07"
"#,
        0,
    );
    let y = &o.yearly[0];
    close(y[yl::REVENUE], 12_000.0);
    close(y[yl::REVENUE_SHARE], 1500.0);
    close(y[yl::OPERATING_INCOME], 10_500.0);
    close(o.npv_usd, 10_500.0);
}

#[test]
fn vendor_investment_arrives_with_the_capacity_up_to_its_limit() {
    // $5 per H100e delivered, at most $300: the 100 H100e arriving in May bring $300 (not
    // $500), and $2 per H100e of warrants vest then; neither is in NPV.
    let extra = format!(
        "{}\n[finance]\n[[finance.vendor_investments]]\nvendor = \"chipmaker\"\noptions = [\"chips\"]\nusd_per_h100e = 5.0\nmax_usd = 300.0\nwarrants_usd_per_h100e = 2.0\n",
        FINANCED_BUY
    );
    let with = run(&extra, 0);
    let without = run(FINANCED_BUY, 0);
    let y = &with.yearly[0];
    close(y[yl::VENDOR_INVESTMENT], 300.0);
    close(y[yl::WARRANTS], 200.0);
    assert_eq!(with.npv_usd, without.npv_usd);
    close(with.monthly[7][4] - without.monthly[7][4], 300.0);
}

#[test]
fn a_financed_build_pays_the_unfinanced_part_of_facility_and_chips_up_front() {
    // 1 MW at PUE 1 holds 1,000 chips ($10,000) in a $2,000 facility, delivered at once. Half
    // is financed at 0 % over four months: $6,000 up front in January, then $1,500 a month
    // from February to May.
    let o = run(
        r#"
[[options]]
name = "site"
kind = "build"
generation = "g"
capex_usd_per_mw = 2000.0
pue = 1.0
residual_value_pu = 1.0
financed_share_pu = 0.5
financing_term_months = 4
[[plans]]
name = "p"
commitments = [{ option = "site", month = "2026-01", mw = 1.0 }]
"#,
        0,
    );
    let y = &o.yearly[0];
    close(y[yl::CAPEX], 6000.0);
    close(y[yl::CAPEX_CHIPS], 5000.0);
    close(y[yl::CAPEX_FACILITIES], 1000.0);
    close(y[yl::VENDOR_FINANCING], 6000.0);
    let fcf = &o.monthly[10];
    close(fcf[0], 1000.0 - 6000.0);
    for t in 1..5 {
        close(fcf[t], 1000.0 - 1500.0);
    }
    close(fcf[5], 1000.0);
}
