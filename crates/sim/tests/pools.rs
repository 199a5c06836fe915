//! Capacity pools dispatched by cost, against cases worked out by hand.

mod common;

use common::series;
use gigawatt_sim::{yl, PathOutcome};

/// One year, no discounting, everything available. Two segments: `api` (60 H100e, $10 per
/// H100e-month) and `chat` (50 H100e, $5), and a research floor of 20 H100e. Two leased pools of
/// 100 H100e each: `asic` ($1 per H100e-month, may serve `api` only) and `gpu` ($2, serves
/// everything); `asic_fee` and `gpu_fee` are their use fees per H100e-hour.
fn two_pools(asic_fee: f64, gpu_fee: f64) -> String {
    format!(
        r#"
format_version = 1
horizon = {{ start = "2026-01", end = "2026-12" }}
discount_rate_per_year = 0.0
[[segments]]
name = "api"
start_units_per_month = 60.0
h100e_months_per_unit = 1.0
price_usd_per_unit = 10.0
growth = {{ process = "log" }}
[[segments]]
name = "chat"
start_units_per_month = 50.0
h100e_months_per_unit = 1.0
price_usd_per_unit = 5.0
growth = {{ process = "log" }}
[research]
floor_h100e = 20.0
[power]
availability_pu = 1.0
[[pools]]
name = "asic"
serves = ["api"]
use_fee_usd_per_h100e_hour = {asic_fee}
[[pools]]
name = "gpu"
use_fee_usd_per_h100e_hour = {gpu_fee}
[[options]]
name = "asic-cloud"
kind = "lease"
pool = "asic"
term_months = 12
price_usd_per_h100e_month = 1.0
[[options]]
name = "gpu-cloud"
kind = "lease"
pool = "gpu"
term_months = 12
price_usd_per_h100e_month = 2.0
[[plans]]
name = "both"
commitments = [
  {{ option = "asic-cloud", month = "2026-01", h100e = 100.0 }},
  {{ option = "gpu-cloud", month = "2026-01", h100e = 100.0 }},
]
"#
    )
}

fn run(src: &str) -> PathOutcome {
    common::run_path(&common::scenario(src), 0)
}

fn served(o: &PathOutcome, seg: usize) -> f64 {
    o.segment_served_h100e[seg * 12]
}

/// Equal to a relative 1e-9 (demand passes through exp and log).
fn close(a: f64, b: f64) {
    assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} != {b}");
}

#[test]
fn each_step_draws_from_the_pools_that_may_run_it_cheapest_first() {
    // Fees of $0.01 and $0.02 per H100e-hour: $7.30 and $14.60 per H100e-month used, so `asic`
    // comes first. The floor can only run on `gpu` (80 left); `api` takes 60 from `asic`;
    // `chat` may only use `gpu` and takes 50 (30 left). Idle: 40 + 30 = 70.
    let o = run(&two_pools(0.01, 0.02));
    close(served(&o, 0), 60.0);
    close(served(&o, 1), 50.0);
    close(series(&o, "research_h100e")[0], 20.0);
    close(series(&o, "idle_h100e")[0], 70.0);
    // Fees: 60 × 7.30 + 70 × 14.60 = $1,460 a month; leases $300; revenue 600 + 250 = $850.
    let y = &o.yearly[0];
    close(y[yl::USAGE_FEES], 12.0 * 1460.0);
    close(y[yl::LEASES], 3600.0);
    close(y[yl::REVENUE], 12.0 * 850.0);
    close(o.npv_usd, 12.0 * (850.0 - 300.0 - 1460.0));
    assert!(o.unserved_share < 1e-12);
}

#[test]
fn merit_order_within_a_step_follows_the_cost_even_when_a_later_step_then_falls_short() {
    // `gpu` now costs less per use ($7.30 against $14.60): the floor takes 20 of it, `api`
    // (first in priority) the other 80's first 60, and `chat`, which cannot run on `asic`, gets
    // the 20 left: 30 H100e unserved although 100 of `asic` sit idle.
    let o = run(&two_pools(0.02, 0.01));
    close(served(&o, 0), 60.0);
    close(served(&o, 1), 20.0);
    close(series(&o, "unserved_h100e")[0], 30.0);
    close(series(&o, "idle_h100e")[0], 100.0);
    // Fees: 100 × 7.30 on `gpu`, nothing on `asic`.
    close(o.yearly[0][yl::USAGE_FEES], 12.0 * 730.0);
    close(o.unserved_share, 30.0 / 110.0);
}

/// An owned fleet of 100 H100e drawing 0.1 MW ($7,300 a month at $100 per MWh, PUE 1) in pool
/// `gpu`, which draws a quarter of its power when idle; a leased `asic` pool of 100 H100e at
/// `asic_fee` per H100e-hour serves `api` (60 H100e). The research floor is 20 H100e.
fn idle_power(asic_fee: f64, min_cluster: f64) -> String {
    format!(
        r#"
format_version = 1
horizon = {{ start = "2026-01", end = "2026-12" }}
discount_rate_per_year = 0.0
[[segments]]
name = "api"
start_units_per_month = 60.0
h100e_months_per_unit = 1.0
price_usd_per_unit = 10.0
growth = {{ process = "log" }}
[research]
floor_h100e = 20.0
[[research.runs]]
name = "big"
size_h100e_months = 60.0
earliest_start = "2026-01"
deadline = "2026-06"
min_cluster_h100e = {min_cluster}
[[generations]]
name = "h100"
h100e_per_unit = 1.0
kw_per_unit = 1.0
price_usd_per_unit = 0.0
[[fleet]]
generation = "h100"
units = 100
pool = "gpu"
[power]
availability_pu = 1.0
pue = 1.0
power_price_usd_per_mwh = 100.0
[[pools]]
name = "gpu"
idle_power_share_pu = 0.25
[[pools]]
name = "asic"
serves = ["api"]
use_fee_usd_per_h100e_hour = {asic_fee}
[[options]]
name = "asic-cloud"
kind = "lease"
pool = "asic"
term_months = 12
price_usd_per_h100e_month = 0.0
[[plans]]
name = "asic"
commitments = [{{ option = "asic-cloud", month = "2026-01", h100e = 100.0 }}]
"#
    )
}

#[test]
fn idle_capacity_draws_only_its_idle_share_of_power() {
    // `gpu` costs 0.75 × $7,300 / 100 = $54.75 per H100e-month used; `asic` at $0.1 per hour
    // costs $73, so `api` runs on `gpu` too. The run (10 H100e a month over six months, any
    // cluster) takes 10 more. `gpu` uses 20 + 60 + 10 = 90 of 100: power paid is
    // 0.25 × 7,300 + 0.75 × 7,300 × 0.9 = $6,752.50 a month for six months, then $6,205 at
    // 80 used.
    let o = run(&idle_power(0.1, 0.0));
    let y = &o.yearly[0];
    close(y[yl::POWER], 6.0 * 6752.5 + 6.0 * 6205.0);
    close(y[yl::USAGE_FEES], 0.0);
    assert_eq!(o.run_delay_months, vec![0.0]);
    // At $0.05 an hour ($36.50 a month) `asic` is cheaper: `api` moves there and pays
    // 60 × 36.50 = $2,190 a month; `gpu` runs the floor and the run, 30 then 20 used:
    // 1,825 + 0.75 × 7,300 × 0.3 = $3,467.50, then $2,920.
    let o = run(&idle_power(0.05, 0.0));
    let y = &o.yearly[0];
    close(y[yl::USAGE_FEES], 12.0 * 2190.0);
    close(y[yl::POWER], 6.0 * 3467.5 + 6.0 * 2920.0);
    // Idle cost counts the power actually paid.
    assert!(o.idle_cost_usd > 0.0);
}

#[test]
fn a_training_run_needs_a_pool_with_its_minimum_cluster_online() {
    // No pool that runs research has 150 H100e: the run never starts, finishing (censored) at
    // the horizon end, 12 months, 6 after its deadline in June (month 5).
    let o = run(&idle_power(0.1, 150.0));
    assert_eq!(o.run_delay_months, vec![7.0]);
    close(series(&o, "research_h100e")[0], 20.0);
    // 100 is enough: it runs on `gpu`.
    let o = run(&idle_power(0.1, 100.0));
    assert_eq!(o.run_delay_months, vec![0.0]);
    close(series(&o, "research_h100e")[0], 30.0);
}
