//! The HTML report and the XLSX workbook: structure a reader relies on (every section, every
//! chart with a title and a text alternative, nothing fetched, no NaN), figures known by hand,
//! and the workbook's container.

use gigawatt_model::{Dist, ValidScenario};
use gigawatt_study::html::{self, money, ReportRequest};
use gigawatt_study::Quiet;

fn scenario(src: &str) -> ValidScenario {
    gigawatt_io::read_str(src, "test.toml").0.expect("valid")
}

fn request(paths: u64) -> ReportRequest {
    ReportRequest {
        paths,
        seed: 3,
        plans: Vec::new(),
        sensitivity: false,
        sensitivity_paths: 100,
        rank: false,
        sobol: false,
        plan_results: None,
    }
}

#[test]
fn money_is_written_with_its_unit() {
    assert_eq!(money(1.5e12), "$1.50T");
    assert_eq!(money(-3.64e11), "−$364B");
    assert_eq!(money(82.4e9), "$82.4B");
    assert_eq!(money(2_500_000.0), "$2.50M");
    assert_eq!(money(0.0), "$0.00");
    assert_eq!(money(f64::NAN), "–");
}

#[test]
fn distributions_are_described_with_their_percentiles() {
    // Triangular(10, 14, 24): the median lies right of the mode, 24 − √(0.5 · 14 · 10).
    let d = Dist::Triangular {
        min: 10.0,
        mode: 14.0,
        max: 24.0,
    };
    let text = html::describe(&d);
    assert!(
        text.starts_with("triangular, min 10, mode 14, max 24"),
        "{text}"
    );
    let median = 24.0 - (0.5f64 * 14.0 * 10.0).sqrt();
    assert!(text.contains(&format!("p50 {median:.4}")), "{text}");
    assert_eq!(html::describe(&Dist::Fixed(3.0)), "fixed at 3");
}

#[test]
fn the_report_has_every_section_and_accessible_self_contained_charts() {
    let src = include_str!("../../../examples/startup.toml");
    let sc = scenario(src);
    let mut req = request(300);
    req.sensitivity = true;
    req.rank = true;
    req.sobol = true;
    let r = html::report(&sc, src, "examples/startup.toml", &req, &Quiet).unwrap();
    let page = &r.html;
    for id in [
        "summary",
        "fans",
        "cdfs",
        "yearly",
        "allocation",
        "shortfall",
        "sensitivity",
        "ranking",
        "sobol",
        "assumptions",
    ] {
        assert!(
            page.contains(&format!("id=\"{id}\"")),
            "section {id} missing"
        );
    }
    // Every plan, the baseline included, has its fan charts and yearly table.
    for p in &r.simulation.plans {
        assert!(page.contains(&format!("<h3>{}</h3>", p.name)), "{}", p.name);
    }
    let charts: Vec<&str> = page.split("<svg").skip(1).collect();
    assert!(charts.len() >= 3 * r.simulation.plans.len() + 3);
    for c in &charts {
        let title = c
            .split("<title")
            .nth(1)
            .and_then(|t| t.split("</title>").next());
        let desc = c
            .split("<desc")
            .nth(1)
            .and_then(|t| t.split("</desc>").next());
        for part in [title, desc] {
            let text = part
                .and_then(|t| t.split_once('>'))
                .map(|(_, t)| t)
                .unwrap_or("");
            assert!(
                !text.trim().is_empty(),
                "a chart without a title or description"
            );
        }
    }
    assert!(!page.contains("<script"));
    assert!(!page.contains("src=") && !page.contains("href=") && !page.contains("url("));
    assert!(!page.contains("NaN") && !page.contains("inf "));
    // Every uncertain input is listed with its line in the file.
    let notes = gigawatt_io::source_notes(src);
    let mut listed = 0;
    sc.visit_uncertain(&mut |field, u| {
        if !u.is_fixed() {
            let path = field.path();
            assert!(page.contains(&path), "{path} not in the assumptions");
            let line = notes[&path].0;
            assert!(page.contains(&format!("<td>{line}</td>")));
            listed += 1;
        }
    });
    assert!(listed > 0);
}

#[test]
fn a_scenario_that_never_needs_funding_says_so() {
    // Revenue far above costs, cash never short: no plan ever draws the backstop.
    let src = r#"
format_version = 1
horizon = { start = "2026-01", end = "2027-12" }
[[segments]]
name = "chat"
start_units_per_month = 100.0
h100e_months_per_unit = 1.0
price_usd_per_unit = 5000.0
growth = { process = "log", drift_per_year = 0.1, volatility_per_month = 0.05 }
[[generations]]
name = "h100"
h100e_per_unit = 1.0
kw_per_unit = 1.0
price_usd_per_unit = 25000.0
[[fleet]]
generation = "h100"
units = 150.0
[finance]
starting_cash_usd = 1.0e6
"#;
    let sc = scenario(src);
    let r = html::report(&sc, src, "t.toml", &request(200), &Quiet).unwrap();
    assert!(r
        .simulation
        .plans
        .iter()
        .all(|p| p.backstop_probability == 0.0));
    assert!(r.html.contains("It never needs a funding backstop."));
    let book =
        gigawatt_study::xlsx::workbook(&sc, &r.simulation, &Default::default(), true).unwrap();
    // An XLSX file is a zip archive.
    assert_eq!(&book[..2], b"PK");
}

#[test]
fn a_plan_result_shows_its_commitments_and_frontier() {
    let src = include_str!("../../../examples/startup.toml");
    let sc = scenario(src);
    let doc = serde_json::json!({
        "format": "gigawatt-plan", "solver": "microlp", "scenarios": 4, "status": "optimal",
        "in_sample": {"expected_value": -1.5e8},
        "simulated_out_of_sample": {"npv_usd": {"mean": -1.0e8}},
        "commitments": [{"option": "lease", "month": "2026-03", "amount": 250.0, "unit": "h100e",
                          "stage": "first", "capex_usd_estimate": 0.0}],
        "frontier": [
            {"lambda": 0.0, "expected_value_usd": -1.0e8, "cvar_loss_usd": 3.0e8},
            {"lambda": 1.0, "expected_value_usd": -1.2e8, "cvar_loss_usd": 2.0e8}
        ]
    });
    let mut req = request(100);
    req.plan_results = Some(doc);
    let page = html::report(&sc, src, "startup.toml", &req, &Quiet)
        .unwrap()
        .html;
    assert!(page.contains("id=\"plan\""));
    assert!(page.contains("<td>lease</td><td>2026-03</td><td>250.0</td>"));
    assert!(page.contains("Expected NPV in the programme −$150M; simulated out of sample −$100M"));
    assert!(page.contains("Efficient frontier over λ: λ 0 CVaR loss $300M expected NPV −$100M"));
}
