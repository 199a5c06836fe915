//! Simulation results as a terminal table, JSON and CSV.
//!
//! # JSON format (`gigawatt-simulation`, format_version 2)
//!
//! ```text
//! {
//!   "format": "gigawatt-simulation", "format_version": 2,
//!   "scenario": str, "paths": int, "seed": int, "sampling": str, "horizon": {"start","end","months"},
//!   "cvar_alpha": 0.95,
//!   "correlations": [{"a","b","requested","achieved"}],
//!   "plans": [{
//!     "name": str,
//!     "metrics": {METRIC: {"mean","se","p5","p10","p50","p90","p95","cvar95",
//!                          "quantiles_exact","cvar_exact"}},   (year: also "never_share")
//!     "shortfall_probability_by_year": {"2026": p, ...},
//!     "backstop_probability": p,
//!     "training_runs": [{"name","mean_delay_months","se","late_probability"}],
//!     "rule_commitments_mean": {OPTION: amount}, "rule_commitments_unit": {OPTION: "MW"|"H100e"},
//!     "paired_differences_vs": str,
//!     "paired_differences": {METRIC: {"mean","se","ci95_low","ci95_high"}}
//!   }]
//! }
//! ```
//!
//! `cvar95` is the mean of the worst 5 % of paths in the metric's bad direction (lowest for
//! NPV, revenue, cash, research, utilisation; highest for gap, unserved, idle cost, year).
//! Quantiles are exact up to 100,000 paths (`quantiles_exact`), beyond that within the sketch's
//! relative error (2⁻⁸) and inside the observed range; means are exact, CVaR exact up to 20
//! million paths (`cvar_exact`). `first_profitable_year` is over the paths that become
//! profitable inside the horizon (`never_share` is the rest; `cvar95` is null).
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
    /// Mean (NaN when no path has a value, e.g. no path ever becomes profitable).
    pub mean: f64,
    /// Monte Carlo standard error of the mean (NaN with fewer than two paths).
    pub se: f64,
    /// p5, p10, p50, p90, p95.
    pub q: [f64; 5],
    /// CVaR_0.95 of the bad tail (NaN for the first profitable year).
    pub cvar: f64,
    /// True when the quantiles are exact (every value kept).
    pub quantiles_exact: bool,
    /// True when the CVaR is exact (the worst share kept).
    pub cvar_exact: bool,
    /// Share of paths never profitable inside the horizon (the year metric only).
    pub never_share: Option<f64>,
}

/// Summary of one metric of one plan.
/// `start_year` is added back to the year metric, which is accumulated as years after the
/// start over the paths that become profitable; its quantiles are whole years.
pub fn metric_summary(acc: &mut PlanAcc, mi: usize, start_year: i32) -> MetricSummary {
    let is_year = mi == YEAR_METRIC;
    let offset = if is_year { start_year as f64 } else { 0.0 };
    let never = acc.never_profitable;
    let m = &mut acc.metrics[mi];
    let n = m.moments.n;
    let mut q = [f64::NAN; 5];
    if n > 0 {
        for (i, (p, _)) in QUANTILES.iter().enumerate() {
            let v = m.quantiles.quantile(*p);
            q[i] = if is_year { v.round() } else { v } + offset;
        }
    }
    MetricSummary {
        mean: if n > 0 {
            m.moments.mean() + offset
        } else {
            f64::NAN
        },
        se: if n > 1 { m.moments.se() } else { f64::NAN },
        q,
        cvar: if is_year || n == 0 {
            f64::NAN
        } else {
            m.cvar(ALPHA) + offset
        },
        quantiles_exact: m.quantiles.is_exact(),
        cvar_exact: m.cvar_is_exact(),
        never_share: is_year.then(|| never as f64 / (n + never).max(1) as f64),
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
            o.insert("quantiles_exact".into(), json!(s.quantiles_exact));
            o.insert("cvar_exact".into(), json!(s.cvar_exact));
            if let Some(never) = s.never_share {
                o.insert("never_share".into(), num(never));
            }
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
        let mut rule_units = Map::new();
        for (oi, m) in acc.rule_committed.iter().enumerate() {
            if m.mean() > 0.0 {
                rules.insert(e.option_names[oi].clone(), num(m.mean()));
                rule_units.insert(e.option_names[oi].clone(), json!(e.option_units[oi]));
            }
        }
        let mut diffs = Map::new();
        if pi > 0 {
            for (k, &mi) in DIFF_METRICS.iter().enumerate() {
                let d = &acc.diffs[k];
                // With one path there is no standard error, so no interval either.
                let se = if d.n > 1 { d.se() } else { f64::NAN };
                diffs.insert(
                    METRICS[mi].0.into(),
                    json!({"mean": num(d.mean()), "se": num(se), "ci95_low": num(d.mean() - Z95 * se), "ci95_high": num(d.mean() + Z95 * se)}),
                );
            }
        }
        let baseline = e.plans[pi].name.trim_end_matches('_') == crate::BASELINE_PLAN
            && e.plans[pi].commits_nothing();
        plans.push(json!({
            "name": e.plans[pi].name,
            "automatic_baseline": baseline,
            "metrics": metrics,
            "shortfall_probability_by_year": short,
            "backstop_probability": num(acc.backstop as f64 / n),
            "capacity_peak_h100e_mean": num(acc.capacity_peak.mean()),
            "capacity_end_h100e_mean": num(acc.capacity_end.mean()),
            "training_runs": runs,
            "rule_commitments_mean": rules,
            "rule_commitments_unit": rule_units,
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
        "format_version": 2,
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

/// Scale and label for one row of money figures: $B, $M or $k, from the row's largest figure,
/// so a small plan's figures are not rounded to zero by a large plan's unit.
pub fn row_money_unit(largest_usd: f64) -> (f64, &'static str) {
    let a = largest_usd.abs();
    if a >= 1e9 {
        (1e9, "$B")
    } else if a >= 1e6 {
        (1e6, "$M")
    } else {
        (1e3, "$k")
    }
}

/// Unit label and scale of a metric's row, from the figures it will print.
fn row_unit(name: &str, figures: &[f64]) -> (f64, &'static str) {
    if name.ends_with("_usd") {
        let largest = figures
            .iter()
            .filter(|x| x.is_finite())
            .fold(0.0f64, |m, x| m.max(x.abs()));
        row_money_unit(largest)
    } else if name == "first_profitable_year" {
        (1.0, "year")
    } else {
        (0.01, "%")
    }
}

fn fmt_metric(name: &str, x: f64, unit: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    // Adding 0.0 turns a negative zero into zero, so tables never print "-0.0".
    let x = x + 0.0;
    if name == "first_profitable_year" {
        format!("{x:.0}")
    } else {
        format!("{:.1}", x / unit + 0.0)
    }
}

fn f64_at(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or(f64::NAN)
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
    let _ = writeln!(
        s,
        "CVaR95 = mean of the worst 5 % of paths; ± is one Monte Carlo standard error (n/a: too few paths)\n"
    );
    let end_year = doc["horizon"]["end"]
        .as_str()
        .and_then(|e| e.get(..4))
        .unwrap_or("the horizon end");
    let mut sketched = false;
    for plan in doc["plans"].as_array().into_iter().flatten() {
        let baseline = if plan["automatic_baseline"] == true {
            " (automatic baseline: the existing fleet, nothing new committed; --no-baseline skips it)"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "plan `{}`{baseline}",
            plan["name"].as_str().unwrap_or("")
        );
        let _ = writeln!(
            s,
            "  {:<24} {:>4} {:>18} {:>9} {:>9} {:>9} {:>9}",
            "metric", "unit", "mean ± se", "p10", "p50", "p90", "CVaR95"
        );
        for (name, _) in METRICS {
            let m = &plan["metrics"][name];
            sketched |= m["quantiles_exact"].as_bool() == Some(false);
            let keys = ["mean", "p10", "p50", "p90", "cvar95"];
            let figures: Vec<f64> = keys.iter().map(|k| f64_at(m, k)).collect();
            let (unit, label) = row_unit(name, &figures);
            let f = |k: &str| fmt_metric(name, f64_at(m, k), unit);
            let se = f64_at(m, "se");
            let se = if name == "first_profitable_year" && se.is_finite() {
                format!("{se:.1}")
            } else {
                fmt_metric(name, se, unit)
            };
            let cvar = if name == "first_profitable_year" {
                "-".to_string()
            } else {
                f("cvar95")
            };
            let _ = writeln!(
                s,
                "  {:<24} {:>4} {:>18} {:>9} {:>9} {:>9} {:>9}",
                name,
                label,
                format!("{} ± {}", f("mean"), se),
                f("p10"),
                f("p50"),
                f("p90"),
                cvar
            );
        }
        let never = f64_at(&plan["metrics"]["first_profitable_year"], "never_share");
        if never >= 1.0 {
            let _ = writeln!(s, "  never profitable by {end_year} on any path");
        } else if never > 0.0 {
            let _ = writeln!(
                s,
                "  never profitable by {end_year} on {:.1}% of paths; the year's figures are over the other paths",
                never * 100.0
            );
        }
        let (peak, end) = (
            f64_at(plan, "capacity_peak_h100e_mean"),
            f64_at(plan, "capacity_end_h100e_mean"),
        );
        if peak > 0.0 && end <= 0.0 {
            let _ = writeln!(
                s,
                "  WARNING: capacity falls to zero by {end_year} (peak {} H100e): the fleet and commitments retire with nothing to replace them",
                fmt_amount(peak)
            );
        } else if peak > 0.0 && end < 0.5 * peak {
            let _ = writeln!(
                s,
                "  WARNING: capacity falls from a peak of {} to {} H100e by {end_year} (means over paths): retirements are not replaced",
                fmt_amount(peak),
                fmt_amount(end)
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
        let units = &plan["rule_commitments_unit"];
        for (opt, amount) in plan["rule_commitments_mean"]
            .as_object()
            .into_iter()
            .flatten()
        {
            let _ = writeln!(
                s,
                "  rules committed {} {} of `{opt}` per path over the horizon, on average",
                fmt_amount(amount.as_f64().unwrap_or(0.0)),
                units[opt].as_str().unwrap_or("")
            );
        }
        if let Some(vs) = plan["paired_differences_vs"].as_str() {
            let _ = writeln!(s, "  paired difference vs `{vs}` (mean, 95% CI):");
            for (name, d) in plan["paired_differences"].as_object().into_iter().flatten() {
                let figures = [
                    f64_at(d, "mean"),
                    f64_at(d, "ci95_low"),
                    f64_at(d, "ci95_high"),
                ];
                let (unit, label) = row_unit(name, &figures);
                let f = |k: &str| fmt_metric(name, f64_at(d, k), unit);
                let ci = if f64_at(d, "se").is_finite() {
                    format!("[{}, {}]", f("ci95_low"), f("ci95_high"))
                } else {
                    "[n/a: one path]".to_string()
                };
                let _ = writeln!(s, "    {:<22} {:>4} {:>9} {ci}", name, label, f("mean"));
            }
        }
        s.push('\n');
    }
    let mut ranked: Vec<(&str, f64, f64)> = doc["plans"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let m = &p["metrics"]["npv_usd"];
            (
                p["name"].as_str().unwrap_or(""),
                f64_at(m, "mean"),
                f64_at(m, "se"),
            )
        })
        .collect();
    if ranked.len() > 1 {
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let (unit, label) = row_money_unit(ranked.iter().map(|r| r.1.abs()).fold(0.0, f64::max));
        let list: Vec<String> = ranked
            .iter()
            .map(|(n, m, _)| format!("`{n}` {:.1}", m / unit + 0.0))
            .collect();
        let _ = writeln!(s, "by expected NPV ({label}): {}", list.join(" > "));
        let _ = writeln!(
            s,
            "(each plan's paired difference above says whether a gap is beyond Monte Carlo noise)\n"
        );
    }
    if sketched {
        let _ = writeln!(
            s,
            "quantiles of large runs come from a sketch: within {:.2} % of the exact value (relative), inside the observed range",
            gigawatt_risk::SKETCH_RELATIVE_ACCURACY * 100.0
        );
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

/// An amount with thousands separators at its scale: 3,502,000 → "3.50 million".
fn fmt_amount(x: f64) -> String {
    let a = x.abs();
    if a >= 1e9 {
        format!("{:.2} billion", x / 1e9)
    } else if a >= 1e6 {
        format!("{:.2} million", x / 1e6)
    } else if a >= 1e4 {
        format!("{:.1} thousand", x / 1e3)
    } else {
        format!("{x:.1}")
    }
}

/// CSV of per-month statistics: plan, month, series, mean, p5, p10, p50, p90, p95.
pub fn monthly_csv(sc: &Scenario, e: &Engine, r: &mut RunResult) -> String {
    let mut s = String::from("plan,month,series,mean,p5,p10,p50,p90,p95\n");
    for (pi, acc) in r.plans.iter_mut().enumerate() {
        if acc.monthly.is_empty() {
            continue;
        }
        for t in 0..e.months {
            let month = sc.horizon.start.plus(t as i32);
            for (si, name) in SERIES.iter().take(REPORTED_SERIES).enumerate() {
                let (sk, mo) = &mut acc.monthly[si * e.months + t];
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
        let mut v = metric_values(o);
        if v[YEAR_METRIC] > e.end_year as f64 {
            // Never profitable inside the horizon: an empty cell (NaN in pandas), not a year.
            v[YEAR_METRIC] = f64::NAN;
        }
        let _ = write!(s, "{path},{}", csv_field(&e.plans[*pi].name));
        for x in v {
            let _ = write!(s, ",{}", csv_num(x));
        }
        let _ = writeln!(s, ",{}", o.shortfall_years);
    }
    s
}

/// A float as CSV: always with a decimal point or exponent (`1.0`, not `1`), so pandas and
/// DuckDB infer a float column on every run; empty when not finite.
pub fn csv_num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:?}")
    } else {
        String::new()
    }
}

/// A CSV field, quoted (with doubled quotes) when it holds a comma, quote or line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
