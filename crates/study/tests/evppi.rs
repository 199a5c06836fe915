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

#[test]
fn a_group_learnt_together_is_worth_what_its_inputs_decide_by_hand() {
    // The lease's price L ~ U(0.5, 1.5) is uncertain too: NPV(lease) − NPV(none) =
    // 1,200 · (P − L), equal in expectation. Learning P alone is worth
    // 1,200 · E[(P − 1)+] = 300; L alone 1,200 · E[(1 − L)+] = 150; both together (all the
    // uncertainty, so the EVPI) 1,200 · E[(P − L)+] = 1,200 · ∫ (2 − l)²/4 dl over [0.5, 1.5]
    // = 1,200 · 3.25/12 = 325.
    let src = CHOICE.replace(
        "price_usd_per_h100e_month = 1.0",
        "price_usd_per_h100e_month = { dist = \"uniform\", min = 0.5, max = 1.5, id = \"lease_price\" }",
    ) + "[[groups]]\nname = \"prices\"\ninputs = [\"price\", \"lease_price\"]\n";
    let sc = gigawatt_io::read_str(&src, "choice2.toml").0.unwrap();
    let req = EvppiRequest {
        paths: 4000,
        seed: 11,
        inputs: Vec::new(),
        metric: MetricId::Npv,
        bins: 20,
    };
    let r = evppi(&sc, &req, &Quiet).unwrap();
    let row = |name: &str| r.rows.iter().find(|x| x.input == name).unwrap().clone();
    assert!(
        (r.evpi.0 - 325.0).abs() < 3.0 * r.evpi.1 + 5.0,
        "EVPI {:?}",
        r.evpi
    );
    let both = row("group prices");
    assert_eq!(both.method, "regression");
    assert_eq!(both.members, ["price", "lease_price"]);
    // The fit is exact (both plans are linear in P and L), so before the bias correction the
    // group's value is the EVPI's estimate on the same paths, and after it within its error.
    assert!(
        (both.evppi + both.bias - r.evpi.0).abs() < 1e-6,
        "{} + {} vs {}",
        both.evppi,
        both.bias,
        r.evpi.0
    );
    assert!(
        (both.evppi - 325.0).abs() < 3.0 * both.se + 5.0,
        "{} ± {}",
        both.evppi,
        both.se
    );
    let p = row("price");
    assert!(
        (p.evppi - 300.0).abs() < 3.0 * p.se + 10.0,
        "{} ± {}",
        p.evppi,
        p.se
    );
    let l = row("lease_price");
    assert!(
        (l.evppi - 150.0).abs() < 3.0 * l.se + 10.0,
        "{} ± {}",
        l.evppi,
        l.se
    );
    // Named ad hoc with +, the same group gives the same value; an irrelevant pair is worth 0.
    let adhoc = EvppiRequest {
        inputs: vec!["price+lease_price".into(), "round+lease_price".into()],
        ..req.clone()
    };
    let r2 = evppi(&sc, &adhoc, &Quiet).unwrap();
    let same = r2
        .rows
        .iter()
        .find(|x| x.input == "price+lease_price")
        .unwrap();
    assert!((same.evppi - both.evppi).abs() < 1e-9);
    let other = r2
        .rows
        .iter()
        .find(|x| x.input == "round+lease_price")
        .unwrap();
    assert!(
        (other.evppi - 150.0).abs() < 3.0 * other.se + 10.0,
        "learning the round adds nothing to L: {} ± {}",
        other.evppi,
        other.se
    );
    let bad = EvppiRequest {
        inputs: vec!["price+nothing".into()],
        ..req
    };
    assert!(evppi(&sc, &bad, &Quiet).is_err());
}
