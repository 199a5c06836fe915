//! Report-level tests: what `simulate` reports, checked against values known independently
//! (constant series, single paths, scenarios that are never or always profitable, capacity that
//! retires), and the robustness of the whole workflow on mangled examples.

use gigawatt_model::ValidScenario;
use gigawatt_study::{render, Quiet, SimulateRequest};

fn scenario(src: &str) -> ValidScenario {
    let (sc, d) = gigawatt_io::read_str(src, "test.toml");
    assert!(
        sc.is_some(),
        "{}",
        d.iter().map(|d| d.render()).collect::<String>()
    );
    sc.unwrap()
}

#[test]
fn valid_mangled_scenarios_simulate_with_finite_results() {
    for src in [
        include_str!("../../../examples/startup.toml"),
        include_str!("../../../examples/launch-spike.toml"),
        include_str!("../../../examples/frontier-lab.toml"),
        include_str!("../../../examples/capacity-expansion.toml"),
    ] {
        mangled_scenarios_simulate(src);
    }
}

fn mangled_scenarios_simulate(src: &str) {
    let junk = [
        "0",
        "1",
        "0.5",
        "1e-9",
        "1e12",
        "24",
        "-1",
        "4000000000",
        "1e300",
    ];
    let mut failures = Vec::new();
    let mut simulated = 0;
    for v in gigawatt_io::mangle::variants(src, &junk) {
        let (sc, _) = gigawatt_io::read_str(&v.source, "m.toml");
        let Some(sc) = sc else { continue };
        simulated += 1;
        let result = std::panic::catch_unwind(|| {
            let (doc, _) = run_doc(&sc, 16, 1, true);
            // Non-finite statistics are written as null, so every figure must be a number,
            // except the first profitable year when no path becomes profitable.
            doc["plans"].as_array().unwrap().iter().all(|plan| {
                plan["metrics"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .all(|(name, m)| {
                        let numbers = ["mean", "p10", "p50", "p90"]
                            .iter()
                            .all(|k| m[*k].is_number());
                        numbers
                            || (name.starts_with("first_")
                                && name.ends_with("_year")
                                && m["never_share"].as_f64() == Some(1.0))
                    })
            })
        });
        if !matches!(result, Ok(true)) {
            failures.push(format!("line {}: `{}`", v.line, v.text));
        }
    }
    assert!(
        simulated > 50,
        "only {simulated} mangled scenarios were valid"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn year_quantiles_are_whole_years_inside_the_horizon() {
    // Regression: a relative-error sketch on raw years (about 2030) blurred a decade together.
    let sc = scenario(include_str!("../../../examples/frontier-lab.toml"));
    let (doc, _) = run_doc(&sc, 2048, 3, false);
    for plan in doc["plans"].as_array().unwrap() {
        let m = &plan["metrics"]["first_profitable_year"];
        // Quantiles are over the paths that become profitable: whole years inside the horizon
        // (never is reported as a share, not as the year after the end).
        for q in ["p5", "p10", "p50", "p90", "p95"] {
            let y = m[q].as_f64().unwrap();
            assert!((2026.0..=2033.0).contains(&y), "{q} = {y}");
            assert_eq!(y, y.round(), "{q} = {y} is not a whole year");
        }
        assert!(m["cvar95"].is_null());
        let never = m["never_share"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&never));
        let (p10, p90) = (m["p10"].as_f64().unwrap(), m["p90"].as_f64().unwrap());
        let mean = m["mean"].as_f64().unwrap();
        assert!(
            p10 - 0.1 <= mean && mean <= p90 + 0.1,
            "mean {mean} outside [{p10}, {p90}]"
        );
    }
}

/// The JSON document and monthly CSV of a run without the automatic baseline.
fn run_doc(
    sc: &ValidScenario,
    paths: u64,
    seed: u64,
    monthly: bool,
) -> (serde_json::Value, String) {
    let req = SimulateRequest {
        baseline: false,
        monthly,
        ..SimulateRequest::new(paths, seed)
    };
    let report = gigawatt_study::simulate(sc, &req, &Quiet).unwrap();
    (render::json(&report), render::monthly_csv(&report))
}

#[test]
fn r8_quantiles_are_exact_and_inside_the_observed_range() {
    // Constant capacity 3,800 x availability 1 on every path and month: every monthly
    // percentile of capacity must be exactly 3,800 (the sketch used to print 3,808.75).
    let src = r#"
format_version = 1
horizon = { start = "2026-01", end = "2026-12" }
[[segments]]
name = "d"
start_units_per_month = 1000.0
h100e_months_per_unit = 1.0
price_usd_per_unit = 5.0
growth = { process = "log", drift_per_year = 0.5, volatility_per_month = 0.1 }
[[generations]]
name = "g"
h100e_per_unit = 1.0
kw_per_unit = 1.0
price_usd_per_unit = 1.0
[[fleet]]
generation = "g"
units = 3800.0
[power]
availability_pu = 1.0
"#;
    let sc = scenario(src);
    let (_, csv) = run_doc(&sc, 3000, 9, true);
    let mut rows = 0;
    for line in csv.lines().filter(|l| l.contains(",capacity_h100e,")) {
        let cells: Vec<&str> = line.split(',').collect();
        for c in &cells[3..] {
            assert_eq!(c.parse::<f64>().unwrap(), 3800.0, "{line}");
        }
        rows += 1;
    }
    assert_eq!(rows, 12);
    // One path: every quantile is that path's value, equal to the mean.
    let (doc, _) = run_doc(&sc, 1, 9, false);
    let m = &doc["plans"][0]["metrics"]["npv_usd"];
    for q in ["p5", "p10", "p50", "p90", "p95", "cvar95"] {
        assert_eq!(m[q], m["mean"], "{q}");
    }
    assert!(m["se"].is_null(), "one path has no standard error");
    assert_eq!(m["quantiles_exact"], true);
}

#[test]
fn r8_never_profitable_is_a_share_not_a_year() {
    // Free product and a running cost: no path is ever profitable.
    let src = r#"
format_version = 1
horizon = { start = "2026-01", end = "2030-12" }
[[segments]]
name = "d"
start_units_per_month = 10.0
h100e_months_per_unit = 1.0
price_usd_per_unit = 0.0
growth = { process = "log" }
[[generations]]
name = "g"
h100e_per_unit = 1.0
kw_per_unit = 1.0
price_usd_per_unit = 0.0
[[fleet]]
generation = "g"
units = 100.0
[power]
power_price_usd_per_mwh = 0.0
[finance]
non_compute_opex_usd_per_month = 123.0
"#;
    let sc = scenario(src);
    let (doc, _) = run_doc(&sc, 50, 9, false);
    let m = &doc["plans"][0]["metrics"]["first_profitable_year"];
    assert_eq!(m["never_share"].as_f64(), Some(1.0));
    assert!(m["mean"].is_null() && m["p50"].is_null(), "{m}");
    // Paid product and no costs: profitable in the first year on every path.
    let sc = scenario(
        &src.replace("price_usd_per_unit = 0.0", "price_usd_per_unit = 50.0")
            .replace("= 123.0", "= 0.0"),
    );
    let (doc, _) = run_doc(&sc, 50, 9, false);
    let m = &doc["plans"][0]["metrics"]["first_profitable_year"];
    assert_eq!(m["never_share"].as_f64(), Some(0.0));
    assert_eq!(m["mean"].as_f64(), Some(2026.0));
    assert_eq!(m["p90"].as_f64(), Some(2026.0));
}

#[test]
fn r8_capacity_that_retires_to_zero_is_said() {
    // RETIRE's capacity peaks at 6,300 H100e (t2, t3) and is gone by t14.
    let sc = scenario(include_str!("../../sim/tests/data/retire.toml"));
    let (doc, _) = run_doc(&sc, 20, 9, false);
    let plan = &doc["plans"][0];
    assert_eq!(plan["capacity_peak_h100e_mean"].as_f64(), Some(6300.0));
    assert_eq!(plan["capacity_end_h100e_mean"].as_f64(), Some(0.0));
    let report = gigawatt_study::simulate(
        &sc,
        &SimulateRequest {
            baseline: false,
            ..SimulateRequest::new(20, 9)
        },
        &Quiet,
    )
    .unwrap();
    let text = render::text(&report);
    assert!(text.contains("capacity falls to zero by 2027"), "{text}");
}

#[test]
fn an_input_held_at_a_value_is_that_value_on_every_path() {
    // Uncertain drift, no volatility: held at 0.12 a year, demand is 100 · e^(0.01 t) on every
    // path (ln D(t) = ln D(0) + t · 0.12/12), so every monthly percentile equals that.
    let sc = scenario(
        r#"
format_version = 1
horizon = { start = "2026-01", end = "2026-12" }
[[segments]]
name = "d"
start_units_per_month = 100.0
h100e_months_per_unit = 1.0
price_usd_per_unit = 1.0
growth = { process = "log", drift_per_year = { dist = "normal", mean = 0.5, sd = 0.3, id = "drift" } }
"#,
    );
    let req = SimulateRequest {
        baseline: false,
        monthly: true,
        overrides: vec![("drift".into(), 0.12)],
        ..SimulateRequest::new(500, 4)
    };
    let report = gigawatt_study::simulate(&sc, &req, &Quiet).unwrap();
    let rows: Vec<_> = report
        .monthly
        .iter()
        .filter(|r| r.series == "demand_h100e")
        .collect();
    assert_eq!(rows.len(), 12);
    for (t, r) in rows.iter().enumerate() {
        let want = 100.0 * (0.01 * t as f64).exp();
        for x in std::iter::once(r.mean).chain(r.quantiles) {
            assert!((x - want).abs() <= 1e-9 * want, "month {t}: {x} vs {want}");
        }
    }
    // The same input named by its field path; an unknown name is a clear error.
    let by_path = SimulateRequest {
        overrides: vec![("segments[0].growth.drift_per_year".into(), 0.12)],
        ..req.clone()
    };
    // (Compared as JSON: a report with no profitable path holds NaN, which is not equal to itself.)
    assert_eq!(
        render::json(&gigawatt_study::simulate(&sc, &by_path, &Quiet).unwrap()),
        render::json(&report)
    );
    let unknown = SimulateRequest {
        overrides: vec![("drfit".into(), 0.12)],
        ..req
    };
    let err = gigawatt_study::simulate(&sc, &unknown, &Quiet).unwrap_err();
    assert!(
        err.to_string()
            .contains("no uncertain input is named `drfit`"),
        "{err}"
    );
}

#[test]
fn yearly_revenue_adds_up_to_the_horizons_revenue() {
    // The mean of a sum is the sum of the means: the yearly revenue means add up to the mean
    // cumulative revenue, and every year's closing cash is the next year's opening cash.
    use gigawatt_sim::{yl, MetricId};
    let sc = scenario(include_str!("../../../examples/startup.toml"));
    let req = SimulateRequest {
        yearly: true,
        ..SimulateRequest::new(400, 5)
    };
    let r = gigawatt_study::simulate(&sc, &req, &Quiet).unwrap();
    for p in &r.plans {
        assert_eq!(p.yearly.len(), 5, "2026 to 2030");
        let sum: f64 = p.yearly.iter().map(|y| y.lines[yl::REVENUE].mean).sum();
        let cum = p.metric(MetricId::CumRevenue).mean;
        assert!((sum - cum).abs() <= 1e-9 * cum.abs(), "{sum} vs {cum}");
        // The segments' revenue adds up to the revenue line's mean in every year.
        for y in &p.yearly {
            assert_eq!(y.segment_revenue.len(), sc.segments.len());
            let segs: f64 = y.segment_revenue.iter().map(|(_, l)| l.mean).sum();
            let rev = y.lines[yl::REVENUE].mean;
            assert!(
                (segs - rev).abs() <= 1e-9 * rev.abs().max(1.0),
                "{segs} vs {rev}"
            );
        }
        for w in p.yearly.windows(2) {
            let (a, b) = (
                w[0].lines[yl::CASH_END].mean,
                w[1].lines[yl::CASH_START].mean,
            );
            assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0), "{a} vs {b}");
        }
    }
    let csv = render::yearly_csv(&r);
    assert_eq!(
        csv.lines().count(),
        1 + r.plans.len() * 5 * (gigawatt_sim::YEARLY_LINES.len() + sc.segments.len())
    );
}

#[test]
fn each_paths_yearly_statements_add_up_to_its_outcomes() {
    // Per path: the years' revenue sums to the path's cumulative revenue, and the last year's
    // closing cash follows from the first year's opening cash and the flows in between.
    let sc = scenario(include_str!("../../../examples/startup.toml"));
    let req = SimulateRequest {
        yearly: true,
        per_path: true,
        ..SimulateRequest::new(50, 9)
    };
    let r = gigawatt_study::simulate(&sc, &req, &Quiet).unwrap();
    use gigawatt_sim::{yl, MetricId};
    assert_eq!(r.per_path.len(), 50 * r.plans.len());
    for row in &r.per_path {
        assert_eq!(row.yearly.len(), 5);
        let revenue: f64 = row.yearly.iter().map(|y| y[yl::REVENUE]).sum();
        let cum = row.metrics[MetricId::CumRevenue.index()];
        assert!((revenue - cum).abs() <= 1e-9 * cum.abs().max(1.0));
    }
    let segments: Vec<String> = sc.segments.iter().map(|g| g.name.clone()).collect();
    let csv = render::per_path_yearly_csv(&r, &segments);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        header.len(),
        3 + gigawatt_sim::YEARLY_LINES.len() + segments.len()
    );
    assert_eq!(lines.count(), 50 * r.plans.len() * 5);
}

#[test]
fn compute_served_by_segment_adds_up_to_served_each_month() {
    let sc = scenario(include_str!("../../../examples/launch-spike.toml"));
    let req = SimulateRequest {
        monthly: true,
        ..SimulateRequest::new(200, 4)
    };
    let r = gigawatt_study::simulate(&sc, &req, &Quiet).unwrap();
    for (pi, p) in r.plans.iter().enumerate() {
        assert_eq!(p.segment_served_h100e_mean.len(), sc.segments.len());
        let served: Vec<f64> = r
            .monthly
            .iter()
            .filter(|m| m.plan == pi && m.series == "served_h100e")
            .map(|m| m.mean)
            .collect();
        assert_eq!(served.len(), r.horizon.2);
        for (t, total) in served.iter().enumerate() {
            let sum: f64 = p.segment_served_h100e_mean.iter().map(|(_, v)| v[t]).sum();
            assert!(
                (sum - total).abs() <= 1e-9 * total.abs().max(1.0),
                "month {t}: {sum} vs {total}"
            );
        }
    }
}

#[test]
fn per_path_runs_are_bounded_with_a_clear_message() {
    let sc = scenario(include_str!("../../../examples/startup.toml"));
    let req = SimulateRequest {
        per_path: true,
        ..SimulateRequest::new(gigawatt_study::MAX_PER_PATH_PATHS + 1, 1)
    };
    let e = gigawatt_study::simulate(&sc, &req, &Quiet).unwrap_err();
    assert!(e.to_string().contains("use fewer --paths"), "{e}");
}
