//! Events on drivers other than demand, each against a case worked out by hand: an efficiency
//! breakthrough, a price war, a supply shock, a power delay and a funding freeze.

mod common;

use common::series;
use gigawatt_model::ValidScenario;
use gigawatt_sim::{Draws, Engine, PathOutcome, Scratch};

/// One segment of 100 units a month at $10 and 1 H100e-month per unit, a free fleet of 1,000
/// H100e (everything is served), no costs, no discounting, 12 months: revenue $1,000 a month.
/// `{EXTRA}` is replaced by options, finance and events.
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
[[segments]]
name = "other"
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
price_usd_per_unit = 0.0
[[generations]]
name = "h"
h100e_per_unit = 1.0
kw_per_unit = 1.0
price_usd_per_unit = 0.0
[[fleet]]
generation = "g"
units = 1000.0
[power]
availability_pu = 1.0
power_price_usd_per_mwh = 0.0
existing_powered_mw = 100.0
{EXTRA}
"#;

fn scenario(extra: &str) -> ValidScenario {
    common::scenario(&BASE.replace("{EXTRA}", extra))
}

/// Plan `pi` on path 0, with monthly series.
fn run(sc: &ValidScenario, pi: usize) -> PathOutcome {
    common::run_path(sc, pi)
}

/// Asserts two series agree to a relative 1e-12 (growth is computed through exp and ln).
fn assert_close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (t, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-12 * w.abs().max(1.0),
            "[{t}] {g} vs {w}"
        );
    }
}

/// Six months at `a`, then six at `b`.
fn halves(a: f64, b: f64) -> Vec<f64> {
    [vec![a; 6], vec![b; 6]].concat()
}

#[test]
fn an_efficiency_breakthrough_halves_compute_per_unit_and_keeps_revenue() {
    // From July, segment `d` needs 0.5 H100e-months per unit: its demand falls from 100 to 50
    // H100e, the other segment's stays at 100, and revenue (units × price) does not move.
    let sc = scenario(
        r#"[[events]]
name = "distillation"
kind = "efficiency"
window_start = "2026-07"
window_end = "2026-07"
share_pu = 0.5
segments = ["d"]"#,
    );
    let o = run(&sc, 0);
    assert_close(&series(&o, "demand_h100e"), &halves(200.0, 150.0));
    assert_close(&series(&o, "revenue_usd"), &[2000.0; 12]);
    assert_close(&[o.cum_revenue_usd], &[24_000.0]);
}

#[test]
fn a_price_war_cuts_the_price_of_the_segments_it_hits() {
    // From July both segments' prices fall by a quarter: revenue $2,000 a month, then $1,500.
    let sc = scenario(
        r#"[[events]]
name = "price-war"
kind = "price_war"
window_start = "2026-07"
window_end = "2026-07"
share_pu = 0.25"#,
    );
    let o = run(&sc, 0);
    assert_close(&series(&o, "revenue_usd"), &halves(2000.0, 1500.0));
    assert_close(&[o.cum_revenue_usd], &[6.0 * 2000.0 + 6.0 * 1500.0]);
    assert_close(&series(&o, "demand_h100e"), &[200.0; 12]);
}

/// A buy of 50 H100e of generation `gen` committed in March with a two-month lead time (due
/// in May), and a build of 1 MW (1,000 H100e at 1 kW and PUE 1) committed in March with the
/// same lead time; `{EVENT}` is replaced by the event.
fn deliveries(event: &str) -> ValidScenario {
    scenario(&format!(
        r#"[[options]]
name = "chips"
kind = "buy"
generation = "h"
lead_time_months = 2
[[options]]
name = "site"
kind = "build"
generation = "g"
lead_time_months = 2
capex_usd_per_mw = 0.0
pue = 1.0
[[plans]]
name = "p"
commitments = [
  {{ option = "chips", month = "2026-03", h100e = 50.0 }},
  {{ option = "site", month = "2026-03", mw = 1.0 }},
]
{event}"#
    ))
}

/// Months from which capacity exceeds the fleet's 1,000 H100e, and by how much at the end.
fn capacity_steps(o: &PathOutcome) -> Vec<(usize, f64)> {
    let cap = series(o, "capacity_h100e");
    let mut steps = Vec::new();
    let mut prev = 1000.0;
    for (t, c) in cap.iter().enumerate() {
        if *c != prev {
            steps.push((t, c - prev));
            prev = *c;
        }
    }
    steps
}

#[test]
fn a_supply_shock_delays_the_deliveries_due_in_its_span() {
    // Without the shock the buy (generation h) arrives in May (month 4) and the build in May.
    let plain = run(&deliveries(""), 0);
    assert_eq!(capacity_steps(&plain), [(4, 1050.0)]);
    // A shock on generation h from April for three months (April to June): the buy, due in
    // May, arrives three months later, in August (month 7); the build (generation g) is not hit.
    let sc = deliveries(
        r#"[[events]]
name = "h-shortage"
kind = "supply_shock"
window_start = "2026-04"
window_end = "2026-04"
generations = ["h"]
delay_months = 3
duration_months = 3"#,
    );
    assert_eq!(capacity_steps(&run(&sc, 0)), [(4, 1000.0), (7, 50.0)]);
    // The programme sees the same arrival: it asks the engine for a unit's effect.
    let e = Engine::new(&sc, 1, 1, &[]).unwrap();
    let (u, _) = e.block_uniforms(0, 1);
    let mut d = Draws::default();
    e.draw(0, &u[0], &mut d);
    let eff = e.unit_effect(0, 2, e.commitment_key(0, 2, 0), &d, &mut Scratch::default());
    assert_eq!(eff.arrival, 7);
    // A shock whose span ends before the delivery is due changes nothing.
    let early = deliveries(
        r#"[[events]]
name = "h-shortage"
kind = "supply_shock"
window_start = "2026-01"
window_end = "2026-01"
generations = ["h"]
delay_months = 3
duration_months = 4"#,
    );
    assert_eq!(capacity_steps(&run(&early, 0)), [(4, 1050.0)]);
}

#[test]
fn a_power_delay_slips_the_builds_at_its_sites_only() {
    // Builds due in May slip by two months to July; the buy is not a build.
    let sc = deliveries(
        r#"[[events]]
name = "grid"
kind = "power_delay"
window_start = "2026-05"
window_end = "2026-05"
options = ["site"]
delay_months = 2
duration_months = 1"#,
    );
    assert_eq!(capacity_steps(&run(&sc, 0)), [(4, 50.0), (6, 1000.0)]);
}

#[test]
fn a_funding_freeze_fails_the_round_and_closes_the_credit_line() {
    // No revenue (price 0), $100 a month of other costs, no cash. Credit of up to $1M at 0 %
    // covers the shortfalls, and a $1,000 round arrives in February. A freeze from January for
    // three months: the round fails and January to March draw $100 each on the backstop
    // (funding gap $300); from April the credit line lends again.
    let finance = r#"[finance]
starting_cash_usd = 0.0
min_cash_usd = 0.0
credit_limit_usd = 1000000.0
credit_rate_per_year = 0.0
backstop_rate_per_year = 0.0
non_compute_opex_usd_per_month = 100.0
[[finance.rounds]]
month = "2026-02"
amount_usd = 1000.0"#;
    let free = |src: &str| src.replace("price_usd_per_unit = 10.0", "price_usd_per_unit = 0.0");
    let plain = {
        let src = BASE
            .replace("{EXTRA}", finance)
            .replace("price_usd_per_unit = 10.0", "price_usd_per_unit = 0.0");
        gigawatt_io::read_str(&src, "x.toml").0.unwrap()
    };
    let o = run(&plain, 0);
    assert_eq!(o.funding_gap_usd, 0.0);
    let frozen = format!(
        "{finance}\n[[events]]\nname = \"freeze\"\nkind = \"funding_freeze\"\nwindow_start = \"2026-01\"\nwindow_end = \"2026-01\"\nduration_months = 3\n"
    );
    let src = free(&BASE.replace("{EXTRA}", &frozen));
    let sc = gigawatt_io::read_str(&src, "x.toml").0.unwrap();
    let o = run(&sc, 0);
    assert_eq!(o.funding_gap_usd, 300.0);
    assert_eq!(series(&o, "funding_usd"), vec![0.0; 12]);
    // The backstop balance: $100 more each frozen month, then flat while credit lends.
    assert_eq!(
        series(&o, "backstop_drawn_usd"),
        [[100.0, 200.0].as_slice(), &[300.0; 10]].concat()
    );
    assert_eq!(series(&o, "debt_usd")[11], 300.0 + 9.0 * 100.0);
}

#[test]
fn an_event_that_does_not_happen_changes_nothing_and_others_keep_their_draws() {
    // Probability 0: the run is the run without the event, bit for bit.
    let with = scenario(
        r#"[[events]]
name = "maybe"
kind = "price_war"
window_start = "2026-03"
window_end = "2026-09"
probability_pu = 0.0
share_pu = { dist = "uniform", min = 0.1, max = 0.5 }"#,
    );
    let without = scenario("");
    assert_eq!(run(&with, 0), run(&without, 0));
}
