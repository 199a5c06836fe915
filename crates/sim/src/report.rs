//! Simulation results as a terminal table, JSON and CSV.
//!
//! # JSON format (`gigawatt-simulation`, format_version 1)
//!
//! ```text
//! {
//!   "format": "gigawatt-simulation", "format_version": 1,
//!   "scenario": str, "paths": int, "seed": int, "sampling": str, "horizon": {"start","end","months"},
//!   "cvar_alpha": 0.95,
//!   "correlations": [{"a","b","requested","achieved"}],
//!   "plans": [{
//!     "name": str,
//!     "metrics": {METRIC: {"mean","se","p5","p10","p50","p90","p95","cvar95"}},
//!     "shortfall_probability_by_year": {"2026": p, ...},
//!     "backstop_probability": p,
//!     "training_runs": [{"name","mean_delay_months","se","late_probability"}],
//!     "rule_commitments_mean": {OPTION: amount},
//!     "paired_differences_vs": str,
//!     "paired_differences": {METRIC: {"mean","se","ci95_low","ci95_high"}}
//!   }]
//! }
//! ```
//!
//! `cvar95` is the mean of the worst 5 % of paths in the metric's bad direction (lowest for
//! NPV, revenue, cash, research, utilisation; highest for gap, unserved, idle cost, year).
//! Quantiles carry the sketch's relative error (0.5 %); means and CVaR are exact.
//! Every number is finite: non-finite values are written as null.

use std::fmt::Write;

use gigawatt_model::Scenario;
use serde_json::{json, Map, Value};

use crate::engine::{Engine, REPORTED_SERIES, SERIES};
use crate::run::{metric_values, PlanAcc, RunResult, ALPHA, DIFF_METRICS, METRICS, YEAR_METRIC};

/// z for a two-sided 95 % interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Quantiles reported for every metric.
pub const QUANTILES: [(f64, &str); 5] = [
    (0.05, "p5"),
    (0.10, "p10"),
    (0.50, "p50"),
    (0.90, "p90"),
    (0.95, "p95"),
];

fn num(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

/// One metric's summary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricSummary {
    /// Mean.
    pub mean: f64,
    /// Monte Carlo standard error of the mean.
    pub se: f64,
    /// p5, p10, p50, p90, p95.
    pub q: [f64; 5],
    /// CVaR_0.95 of the bad tail.
    pub cvar: f64,
}

/// Summary of one metric of one plan.
/// `start_year` is added back to the year metric, which is accumulated as years after the start.
pub fn metric_summary(acc: &mut PlanAcc, mi: usize, start_year: i32) -> MetricSummary {
    let offset = if mi == YEAR_METRIC {
        start_year as f64
    } else {
        0.0
    };
    let m = &mut acc.metrics[mi];
    let mut q = [0.0; 5];
    for (i, (p, _)) in QUANTILES.iter().enumerate() {
        q[i] = m.sketch.quantile(*p) + offset;
    }
    MetricSummary {
        mean: m.moments.mean() + offset,
        se: m.moments.se(),
        q,
        cvar: m.cvar(ALPHA) + offset,
    }
}

/// The JSON document of a run.
pub fn to_json(sc: &Scenario, e: &Engine, r: &mut RunResult, seed: u64) -> Value {
    let mut plans = Vec::new();
    for (pi, acc) in r.plans.iter_mut().enumerate() {
        let mut metrics = Map::new();
        for (mi, (name, _)) in METRICS.iter().enumerate() {
            let s = metric_summary(acc, mi, e.start_year);
            let mut o = Map::new();
            o.insert("mean".into(), num(s.mean));
            o.insert("se".into(), num(s.se));
            for (i, (_, qn)) in QUANTILES.iter().enumerate() {
                o.insert((*qn).into(), num(s.q[i]));
            }
            o.insert("cvar95".into(), num(s.cvar));
            metrics.insert((*name).into(), Value::Object(o));
        }
        let n = r.paths as f64;
        let mut short = Map::new();
        for (y, c) in acc.shortfall.iter().enumerate() {
            let year = e.start_year + y as i32;
            if y * 12 < e.months + 12
                && year <= e.start_year + (e.months as i32 - 1 + month0(sc)) / 12
            {
                short.insert(year.to_string(), num(*c as f64 / n));
            }
        }
        let runs: Vec<Value> = e
            .run_names
            .iter()
            .enumerate()
            .map(|(ri, name)| json!({"name": name, "mean_delay_months": num(acc.run_delay[ri].mean()), "se": num(acc.run_delay[ri].se()), "late_probability": num(acc.run_late[ri] as f64 / n)}))
            .collect();
        let mut rules = Map::new();
        for (oi, m) in acc.rule_committed.iter().enumerate() {
            if m.mean() > 0.0 {
                rules.insert(e.option_names[oi].clone(), num(m.mean()));
            }
        }
        let mut diffs = Map::new();
        if pi > 0 {
            for (k, &mi) in DIFF_METRICS.iter().enumerate() {
                let d = &acc.diffs[k];
                diffs.insert(
                    METRICS[mi].0.into(),
                    json!({"mean": num(d.mean()), "se": num(d.se()), "ci95_low": num(d.mean() - Z95 * d.se()), "ci95_high": num(d.mean() + Z95 * d.se())}),
                );
            }
        }
        plans.push(json!({
            "name": e.plans[pi].name,
            "metrics": metrics,
            "shortfall_probability_by_year": short,
            "backstop_probability": num(acc.backstop as f64 / n),
            "training_runs": runs,
            "rule_commitments_mean": rules,
            "paired_differences_vs": if pi > 0 { Value::String(e.plans[0].name.clone()) } else { Value::Null },
            "paired_differences": diffs,
        }));
    }
    let mut corr = Vec::new();
    if let (Some(rep), Some(ach)) = (e.correlation_report(), &r.achieved_correlation) {
        for a in 0..rep.names.len() {
            for b in a + 1..rep.names.len() {
                if sc.correlations.iter().any(|c| {
                    (c.a == rep.names[a] && c.b == rep.names[b])
                        || (c.b == rep.names[a] && c.a == rep.names[b])
                }) {
                    corr.push(json!({"a": rep.names[a], "b": rep.names[b], "requested": num(rep.requested[a][b]), "achieved": num(ach[a][b])}));
                }
            }
        }
    }
    json!({
        "format": "gigawatt-simulation",
        "format_version": 1,
        "scenario": sc.name,
        "paths": r.paths,
        "seed": seed,
        "sampling": sc.simulation.sampling.as_str(),
        "horizon": {"start": sc.horizon.start.to_string(), "end": sc.horizon.end.to_string(), "months": sc.horizon.months()},
        "cvar_alpha": ALPHA,
        "correlations": corr,
        "plans": plans,
    })
}

fn month0(sc: &Scenario) -> i32 {
    sc.horizon.start.month() as i32 - 1
}

/// Money in $B with sign, or plain numbers for shares and years.
/// Unit for money in tables: $B for large scenarios, $M for small ones.
pub fn money_unit(largest_usd: f64) -> (f64, &'static str) {
    if largest_usd.abs() >= 1e10 {
        (1e9, "$B")
    } else {
        (1e6, "$M")
    }
}

fn fmt_metric(name: &str, x: f64, unit: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    // Adding 0.0 turns a negative zero into zero, so tables never print "-0.0".
    let x = x + 0.0;
    if name.ends_with("_usd") {
        format!("{:.1}", x / unit)
    } else if name == "first_profitable_year" {
        format!("{x:.0}")
    } else {
        format!("{:.1}%", x * 100.0)
    }
}

/// The terminal summary (from the JSON document, so both always agree).
pub fn to_text(doc: &Value) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {} paths, seed {}, {} ({} to {})",
        doc["scenario"].as_str().unwrap_or(""),
        doc["paths"],
        doc["seed"],
        doc["sampling"].as_str().unwrap_or(""),
        doc["horizon"]["start"].as_str().unwrap_or(""),
        doc["horizon"]["end"].as_str().unwrap_or("")
    );
    let largest = doc["plans"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| {
            ["npv_usd", "cum_revenue_usd", "funding_gap_usd"]
                .map(|m| p["metrics"][m]["mean"].as_f64().unwrap_or(0.0).abs())
        })
        .fold(0.0, f64::max);
    let (unit, unit_name) = money_unit(largest);
    let _ = writeln!(s, "money in {unit_name}; CVaR95 = mean of the worst 5 % of paths; ± is one Monte Carlo standard error\n");
    for plan in doc["plans"].as_array().into_iter().flatten() {
        let _ = writeln!(s, "plan `{}`", plan["name"].as_str().unwrap_or(""));
        let _ = writeln!(
            s,
            "  {:<24} {:>18} {:>9} {:>9} {:>9} {:>9}",
            "metric", "mean ± se", "p10", "p50", "p90", "CVaR95"
        );
        for (name, _) in METRICS {
            let m = &plan["metrics"][name];
            let f = |k: &str| fmt_metric(name, m[k].as_f64().unwrap_or(f64::NAN), unit);
            let _ = writeln!(
                s,
                "  {:<24} {:>18} {:>9} {:>9} {:>9} {:>9}",
                name,
                format!("{} ± {}", f("mean"), f("se")),
                f("p10"),
                f("p50"),
                f("p90"),
                f("cvar95")
            );
        }
        let _ = writeln!(
            s,
            "  backstop needed: {:.1}% of paths",
            plan["backstop_probability"].as_f64().unwrap_or(0.0) * 100.0
        );
        let years: Vec<String> = plan["shortfall_probability_by_year"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(y, p)| format!("{y} {:.0}%", p.as_f64().unwrap_or(0.0) * 100.0))
            .collect();
        let _ = writeln!(s, "  P(any shortfall): {}", years.join(", "));
        for run in plan["training_runs"].as_array().into_iter().flatten() {
            let _ = writeln!(
                s,
                "  run {:<20} late on {:.0}% of paths, mean delay {:.1} months",
                run["name"].as_str().unwrap_or(""),
                run["late_probability"].as_f64().unwrap_or(0.0) * 100.0,
                run["mean_delay_months"].as_f64().unwrap_or(0.0)
            );
        }
        for (opt, amount) in plan["rule_commitments_mean"]
            .as_object()
            .into_iter()
            .flatten()
        {
            let _ = writeln!(
                s,
                "  rules committed {:.3e} of `{opt}` on average",
                amount.as_f64().unwrap_or(0.0)
            );
        }
        if let Some(vs) = plan["paired_differences_vs"].as_str() {
            let _ = writeln!(s, "  paired difference vs `{vs}` (mean, 95% CI):");
            for (name, d) in plan["paired_differences"].as_object().into_iter().flatten() {
                let f = |k: &str| fmt_metric(name, d[k].as_f64().unwrap_or(f64::NAN), unit);
                let _ = writeln!(
                    s,
                    "    {:<22} {:>9} [{}, {}]",
                    name,
                    f("mean"),
                    f("ci95_low"),
                    f("ci95_high")
                );
            }
        }
        s.push('\n');
    }
    for c in doc["correlations"].as_array().into_iter().flatten() {
        let _ = writeln!(
            s,
            "correlation {} ~ {}: requested {:.3}, achieved {:.3}",
            c["a"].as_str().unwrap_or(""),
            c["b"].as_str().unwrap_or(""),
            c["requested"].as_f64().unwrap_or(0.0),
            c["achieved"].as_f64().unwrap_or(0.0)
        );
    }
    s
}

/// CSV of per-month statistics: plan, month, series, mean, p5, p10, p50, p90, p95.
pub fn monthly_csv(sc: &Scenario, e: &Engine, r: &RunResult) -> String {
    let mut s = String::from("plan,month,series,mean,p5,p10,p50,p90,p95\n");
    for (pi, acc) in r.plans.iter().enumerate() {
        if acc.monthly.is_empty() {
            continue;
        }
        for t in 0..e.months {
            let month = sc.horizon.start.plus(t as i32);
            for (si, name) in SERIES.iter().take(REPORTED_SERIES).enumerate() {
                let (sk, mo) = &acc.monthly[si * e.months + t];
                let _ = write!(
                    s,
                    "{},{month},{name},{}",
                    csv_field(&e.plans[pi].name),
                    csv_num(mo.mean())
                );
                for (q, _) in QUANTILES {
                    let _ = write!(s, ",{}", csv_num(sk.quantile(q)));
                }
                s.push('\n');
            }
        }
    }
    s
}

/// CSV of per-path outcomes: one row per (path, plan).
pub fn per_path_csv(e: &Engine, r: &RunResult) -> String {
    let mut s = String::from("path,plan");
    for (name, _) in METRICS {
        let _ = write!(s, ",{name}");
    }
    s.push_str(",shortfall_years_mask\n");
    for (path, pi, o) in &r.per_path {
        let v = metric_values(o);
        let _ = write!(s, "{path},{}", csv_field(&e.plans[*pi].name));
        for x in v {
            let _ = write!(s, ",{}", csv_num(x));
        }
        let _ = writeln!(s, ",{}", o.shortfall_years);
    }
    s
}

fn csv_num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
