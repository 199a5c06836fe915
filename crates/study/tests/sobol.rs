//! Sobol indices against a model whose variance decomposition is known by hand.

use gigawatt_sim::MetricId;
use gigawatt_study::sobol::{sobol, SobolRequest, NOISE_FACTOR};
use gigawatt_study::Quiet;

/// Two segments of 100 H100e-months a month each, capacity to spare, nothing costs anything and
/// no discounting: NPV = 12 · 100 · (a + b), with a ~ U(1, 3) (variance 1/3) and b ~ U(0, 1)
/// (variance 1/12). Additive, so S_a = ST_a = 0.8, S_b = ST_b = 0.2, and the path-indexed
/// noise explains nothing.
const ADDITIVE: &str = r#"
format_version = 1
horizon = { start = "2026-01", end = "2026-12" }
discount_rate_per_year = 0.0
[[segments]]
name = "one"
start_units_per_month = 100.0
h100e_months_per_unit = 1.0
price_usd_per_unit = { dist = "uniform", min = 1.0, max = 3.0, id = "a" }
growth = { process = "log" }
[[segments]]
name = "two"
start_units_per_month = 100.0
h100e_months_per_unit = 1.0
price_usd_per_unit = { dist = "uniform", min = 0.0, max = 1.0, id = "b" }
growth = { process = "log" }
[[generations]]
name = "g"
h100e_per_unit = 1.0
kw_per_unit = 1.0
price_usd_per_unit = 0.0
[[fleet]]
generation = "g"
units = 1000.0
[power]
availability_pu = 1.0
power_price_usd_per_mwh = 0.0
"#;

#[test]
fn indices_of_an_additive_model_match_its_variance_shares() {
    let sc = gigawatt_io::read_str(ADDITIVE, "additive.toml").0.unwrap();
    let req = SobolRequest {
        paths: 4000,
        seed: 11,
        plan: None,
        metric: MetricId::Npv,
        bootstrap: 200,
        groups: Vec::new(),
    };
    let r = sobol(&sc, &req, &Quiet).unwrap();
    // Mean 12 · 100 · (2 + 0.5) = 3,000; variance 1,200² · (1/3 + 1/12) = 600,000.
    assert!((r.mean - 3000.0).abs() < 30.0, "mean {}", r.mean);
    assert!(
        (r.variance / 600_000.0 - 1.0).abs() < 0.08,
        "variance {}",
        r.variance
    );
    let get = |name: &str| r.indices.iter().find(|i| i.factor == name).unwrap();
    for (name, want) in [("a", 0.8), ("b", 0.2), (NOISE_FACTOR, 0.0)] {
        let i = get(name);
        assert!((i.first - want).abs() < 0.06, "{name}: S = {}", i.first);
        assert!((i.total - want).abs() < 0.06, "{name}: ST = {}", i.total);
        assert!(i.first_ci95.0 <= i.first && i.first <= i.first_ci95.1);
        assert!(
            i.total_ci95.0 - 0.02 <= want && want <= i.total_ci95.1 + 0.02,
            "{name}: {:?}",
            i.total_ci95
        );
    }
    // Exactly zero where a factor cannot move the metric: A and AB are the same path.
    assert_eq!(get(NOISE_FACTOR).total, 0.0);
    assert_eq!(r.indices[0].factor, "a");
    // Deterministic for a seed, on any thread count.
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    assert_eq!(one.install(|| sobol(&sc, &req, &Quiet).unwrap()), r);
}

#[test]
fn year_metrics_and_bad_sizes_are_refused() {
    let sc = gigawatt_io::read_str(ADDITIVE, "additive.toml").0.unwrap();
    let mut req = SobolRequest {
        paths: 10,
        seed: 1,
        plan: None,
        metric: MetricId::FirstProfitableYear,
        bootstrap: 10,
        groups: Vec::new(),
    };
    assert!(sobol(&sc, &req, &Quiet).is_err());
    req.metric = MetricId::Npv;
    req.paths = 1;
    assert!(sobol(&sc, &req, &Quiet).is_err());
}

/// NPV = 12 · D · P with demand D ~ U(0, 200) units a month and price P ~ U(0, 4), independent:
/// V = E[D²]E[P²] − (E[D]E[P])² = 13,333.3 · 5.3333 − 40,000 = 31,111 (× 12²). First order
/// S_D = E[P]² Var(D) / V = 0.4286 = S_P; the interaction Var(D) Var(P) / V = 0.1429, so
/// ST_D = ST_P = 0.5714.
const PRODUCT: &str = r#"
format_version = 1
horizon = { start = "2026-01", end = "2026-12" }
discount_rate_per_year = 0.0
[[segments]]
name = "one"
start_units_per_month = { dist = "uniform", min = 0.0, max = 200.0, id = "d" }
h100e_months_per_unit = 1.0
price_usd_per_unit = { dist = "uniform", min = 0.0, max = 4.0, id = "p" }
growth = { process = "log" }
[[generations]]
name = "g"
h100e_per_unit = 1.0
kw_per_unit = 1.0
price_usd_per_unit = 0.0
[[fleet]]
generation = "g"
units = 1000.0
[power]
availability_pu = 1.0
power_price_usd_per_mwh = 0.0
"#;

#[test]
fn the_interaction_of_a_product_matches_its_closed_form() {
    let sc = gigawatt_io::read_str(PRODUCT, "product.toml").0.unwrap();
    let req = SobolRequest {
        paths: 8000,
        seed: 5,
        plan: None,
        metric: MetricId::Npv,
        bootstrap: 100,
        groups: Vec::new(),
    };
    let r = sobol(&sc, &req, &Quiet).unwrap();
    let v = 31_111.1 * 144.0;
    assert!(
        (r.variance / v - 1.0).abs() < 0.08,
        "variance {} vs {v}",
        r.variance
    );
    for name in ["d", "p"] {
        let i = r.indices.iter().find(|i| i.factor == name).unwrap();
        assert!((i.first - 0.4286).abs() < 0.06, "{name}: S = {}", i.first);
        assert!((i.total - 0.5714).abs() < 0.06, "{name}: ST = {}", i.total);
        assert!(
            ((i.total - i.first) - 0.1429).abs() < 0.06,
            "{name}: interaction {}",
            i.total - i.first
        );
    }
}

#[test]
fn a_group_of_inputs_is_one_factor() {
    // The two prices of the additive model as one group explain all of the variance.
    let sc = gigawatt_io::read_str(ADDITIVE, "additive.toml").0.unwrap();
    let req = SobolRequest {
        paths: 2000,
        seed: 3,
        plan: None,
        metric: MetricId::Npv,
        bootstrap: 50,
        groups: vec![("prices".into(), vec!["a".into(), "b".into()])],
    };
    let r = sobol(&sc, &req, &Quiet).unwrap();
    let g = r.indices.iter().find(|i| i.factor == "prices").unwrap();
    assert!(
        (g.first - 1.0).abs() < 0.05 && (g.total - 1.0).abs() < 0.05,
        "{g:?}"
    );
    assert!(r.indices.iter().all(|i| i.factor != "a" && i.factor != "b"));
    // An input in two groups, or an unknown one, is refused.
    let twice = SobolRequest {
        groups: vec![
            ("x".into(), vec!["a".into()]),
            ("y".into(), vec!["a".into()]),
        ],
        ..req.clone()
    };
    assert!(sobol(&sc, &twice, &Quiet).is_err());
    let unknown = SobolRequest {
        groups: vec![("x".into(), vec!["nope".into()])],
        ..req
    };
    assert!(sobol(&sc, &unknown, &Quiet)
        .unwrap_err()
        .to_string()
        .contains("nope"));
}

#[test]
fn groups_declared_in_the_scenario_are_used_and_checked() {
    let src = format!("{ADDITIVE}\n[[groups]]\nname = \"prices\"\ninputs = [\"a\", \"segments[1].price_usd_per_unit\"]\n");
    let sc = gigawatt_io::read_str(&src, "groups.toml").0.unwrap();
    let req = SobolRequest {
        paths: 1000,
        seed: 3,
        plan: None,
        metric: MetricId::Npv,
        bootstrap: 20,
        groups: Vec::new(),
    };
    let r = sobol(&sc, &req, &Quiet).unwrap();
    let g = r.indices.iter().find(|i| i.factor == "prices").unwrap();
    assert!((g.total - 1.0).abs() < 0.05, "{g:?}");
    // An unknown input in a group is a located error.
    let bad = format!("{ADDITIVE}\n[[groups]]\nname = \"x\"\ninputs = [\"nope\"]\n");
    let (sc, diags) = gigawatt_io::read_str(&bad, "bad.toml");
    assert!(sc.is_none());
    let d = diags
        .iter()
        .find(|d| d.render().contains("unknown input `nope`"))
        .unwrap();
    assert!(d.render().contains("groups[0].inputs[0]"), "{}", d.render());
}
