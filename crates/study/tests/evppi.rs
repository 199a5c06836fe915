//! Value of information per input against a case computed by hand.

use gigawatt_sim::MetricId;
use gigawatt_study::evppi::{evppi, EvppiRequest};
use gigawatt_study::Quiet;

/// Demand 200 H100e a month at price P ~ U(0, 2) per H100e-month, a fleet of 100, no costs and
/// no discounting, 12 months. Plan `lease` adds 100 H100e for $1 per H100e-month, so
/// NPV(lease) − NPV(none) = 1,200 · (P − 1): equal in expectation, and worth leasing exactly
/// when P > 1. Knowing P first is worth E[max(0, 1,200 (P − 1))] = 1,200 · 1/4 = 300, and P is
/// the only uncertainty, so EVPI = EVPPI(P) = 300. A funding round's size does not enter NPV:
/// its EVPPI is 0.
const CHOICE: &str = r#"
format_version = 1
horizon = { start = "2026-01", end = "2026-12" }
discount_rate_per_year = 0.0
[[segments]]
name = "d"
start_units_per_month = 200.0
h100e_months_per_unit = 1.0
price_usd_per_unit = { dist = "uniform", min = 0.0, max = 2.0, id = "price" }
growth = { process = "log" }
[research]
extra_cap_share_pu = 0.0
[[generations]]
name = "g"
h100e_per_unit = 1.0
kw_per_unit = 1.0
price_usd_per_unit = 0.0
[[fleet]]
generation = "g"
units = 100.0
[power]
availability_pu = 1.0
power_price_usd_per_mwh = 0.0
[[options]]
name = "cloud"
kind = "lease"
term_months = 12
price_usd_per_h100e_month = 1.0
[finance]
[[finance.rounds]]
month = "2026-06"
amount_usd = { dist = "uniform", min = 1.0, max = 2.0, id = "round" }
[[plans]]
name = "none"
[[plans]]
name = "lease"
commitments = [{ option = "cloud", month = "2026-01", h100e = 100.0 }]
"#;

#[test]
fn evppi_of_the_deciding_input_is_the_evpi_and_of_an_irrelevant_one_zero() {
    let sc = gigawatt_io::read_str(CHOICE, "choice.toml").0.unwrap();
    let req = EvppiRequest {
        paths: 4000,
        seed: 7,
        inputs: Vec::new(),
        metric: MetricId::Npv,
        bins: 20,
    };
    let r = evppi(&sc, &req, &Quiet).unwrap();
    // Both plans have mean 1,200 · E[P] = 1,200 in expectation.
    for (_, m) in &r.plans {
        assert!((m - 1200.0).abs() < 40.0, "{m}");
    }
    assert!(
        (r.evpi.0 - 300.0).abs() < 3.0 * r.evpi.1 + 5.0,
        "EVPI {:?}",
        r.evpi
    );
    let price = r.rows.iter().find(|x| x.input == "price").unwrap();
    assert!(
        (price.evppi - r.evpi.0).abs() < 15.0,
        "EVPPI(price) {} vs EVPI {}",
        price.evppi,
        r.evpi.0
    );
    let round = r.rows.iter().find(|x| x.input == "round").unwrap();
    assert!(
        round.evppi.abs() < 3.0 * round.se + 2.0,
        "EVPPI(round) {} ± {}",
        round.evppi,
        round.se
    );
    assert!(round.bias > 0.0, "the uncorrected estimator is biased up");
}
