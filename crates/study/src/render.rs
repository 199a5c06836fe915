//! Renderers: a typed report as a terminal table, JSON or CSV. One function per format; none of
//! them computes a statistic.
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
//!     "name": str, "automatic_baseline": bool,
//!     "metrics": {METRIC: {"mean","se","p5","p10","p50","p90","p95","cvar95",
//!                          "quantiles_exact","cvar_exact"}},   (year: also "never_share")
//!     "shortfall_probability_by_year": {"2026": p, ...},
//!     "backstop_probability": p,
//!     "capacity_peak_h100e_mean": x, "capacity_end_h100e_mean": x,
//!     "training_runs": [{"name","mean_delay_months","se","late_probability"}],
//!     "rule_commitments_mean": {OPTION: amount}, "rule_commitments_unit": {OPTION: "MW"|"H100e"},
//!     "paired_differences_vs": str,
//!     "paired_differences": {METRIC: {"mean","se","ci95_low","ci95_high"}}
//!   }],
//!   with a precision target: "target_npv_se_usd", "target_reached", "npv_se_achieved_usd", "max_paths"
//! }
//! ```
//!
//! Quantiles are exact up to 100,000 paths (`quantiles_exact`), beyond that within the sketch's
//! relative error (2⁻⁸) and inside the observed range; means are exact, CVaR exact up to 20
//! million paths (`cvar_exact`). `first_profitable_year` is over the paths that become
//! profitable inside the horizon (`never_share` is the rest; `cvar95` is null).
//! Every number is finite: non-finite values are written as null.

use std::fmt::Write;

use serde_json::{json, Map, Value};

use crate::report::{PlanResult, SimulationReport, QUANTILES};
use gigawatt_sim::{MetricId, METRICS};

/// A JSON number, or null when not finite (so no NaN or infinity reaches an output).
pub(crate) fn num(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

fn plan_json(p: &PlanResult) -> Value {
    let mut metrics = Map::new();
    for m in &p.metrics {
        let mut o = Map::new();
        o.insert("mean".into(), num(m.mean));
        o.insert("se".into(), num(m.se));
        for (i, (_, label)) in QUANTILES.iter().enumerate() {
            o.insert((*label).into(), num(m.quantiles[i]));
        }
        o.insert("cvar95".into(), num(m.cvar95));
        o.insert("quantiles_exact".into(), json!(m.quantiles_exact));
        o.insert("cvar_exact".into(), json!(m.cvar_exact));
        if let Some(never) = m.never_share {
            o.insert("never_share".into(), num(never));
        }
        metrics.insert(m.id.name().into(), Value::Object(o));
    }
    let mut short = Map::new();
    for (year, p) in &p.shortfall_probability_by_year {
        short.insert(year.to_string(), num(*p));
    }
    let runs: Vec<Value> = p
        .training_runs
        .iter()
        .map(|r| json!({"name": r.name, "mean_delay_months": num(r.mean_delay_months), "se": num(r.se), "late_probability": num(r.late_probability)}))
        .collect();
    let mut rules = Map::new();
    let mut rule_units = Map::new();
    for r in &p.rule_commitments {
        rules.insert(r.option.clone(), num(r.mean));
        rule_units.insert(r.option.clone(), json!(r.unit));
    }
    let mut diffs = Map::new();
    for d in &p.paired {
        diffs.insert(
            d.id.name().into(),
            json!({"mean": num(d.mean), "se": num(d.se), "ci95_low": num(d.ci95_low()), "ci95_high": num(d.ci95_high())}),
        );
    }
    let mut doc = json!({
        "name": p.name,
        "automatic_baseline": p.automatic_baseline,
        "metrics": metrics,
        "shortfall_probability_by_year": short,
        "backstop_probability": num(p.backstop_probability),
        "capacity_peak_h100e_mean": num(p.capacity_peak_h100e_mean),
        "capacity_end_h100e_mean": num(p.capacity_end_h100e_mean),
        "training_runs": runs,
        "rule_commitments_mean": rules,
        "rule_commitments_unit": rule_units,
        "paired_differences_vs": p.paired_vs.as_ref().map_or(Value::Null, |v| Value::String(v.clone())),
        "paired_differences": diffs,
    });
    if !p.yearly.is_empty() {
        doc["yearly"] = Value::Array(
            p.yearly
                .iter()
                .map(|y| {
                    let mut o = Map::new();
                    o.insert("year".into(), json!(y.year));
                    let stats = |l: &crate::report::LineStats| json!({"mean": num(l.mean), "p10": num(l.p10), "p50": num(l.p50), "p90": num(l.p90)});
                    for (name, l) in gigawatt_sim::YEARLY_LINES.iter().zip(&y.lines) {
                        o.insert((*name).into(), stats(l));
                    }
                    let by_segment: Map<String, Value> = y
                        .segment_revenue
                        .iter()
                        .map(|(name, l)| (name.clone(), stats(l)))
                        .collect();
                    o.insert("revenue_by_segment_usd".into(), Value::Object(by_segment));
                    Value::Object(o)
                })
                .collect(),
        );
    }
    doc
}

/// The JSON document of a simulation (format `gigawatt-simulation` v2, above).
pub fn json(r: &SimulationReport) -> Value {
    let corr: Vec<Value> = r
        .correlations
        .iter()
        .map(|c| json!({"a": c.a, "b": c.b, "requested": num(c.requested), "achieved": num(c.achieved)}))
        .collect();
    let mut doc = json!({
        "format": "gigawatt-simulation",
        "format_version": 2,
        "scenario": r.scenario,
        "paths": r.paths,
        "seed": r.seed,
        "sampling": r.sampling,
        "horizon": {"start": r.horizon.0, "end": r.horizon.1, "months": r.horizon.2},
        "cvar_alpha": r.cvar_alpha,
        "correlations": corr,
        "plans": r.plans.iter().map(plan_json).collect::<Vec<_>>(),
    });
    if let Some(p) = &r.precision {
        doc["target_npv_se_usd"] = json!(p.target_npv_se_usd);
        doc["target_reached"] = json!(p.reached);
        doc["npv_se_achieved_usd"] = json!(p.npv_se_achieved_usd);
        doc["max_paths"] = json!(p.max_paths);
    }
    if r.cancelled {
        doc["cancelled"] = json!(true);
    }
    doc
}

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
fn row_unit(id: MetricId, figures: &[f64]) -> (f64, &'static str) {
    if id.name().ends_with("_usd") {
        let largest = figures
            .iter()
            .filter(|x| x.is_finite())
            .fold(0.0f64, |m, x| m.max(x.abs()));
        row_money_unit(largest)
    } else if id.is_year() {
        (1.0, "year")
    } else {
        (0.01, "%")
    }
}

fn fmt_metric(id: MetricId, x: f64, unit: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    // Adding 0.0 turns a negative zero into zero, so tables never print "-0.0".
    let x = x + 0.0;
    if id.is_year() {
        format!("{x:.0}")
    } else {
        format!("{:.1}", x / unit + 0.0)
    }
}

/// A number scaled to its SI-style suffix: (3.5, "M") for 3.5e6; T, B, M, k or none.
pub fn si_scale(x: f64) -> (f64, &'static str) {
    let a = x.abs();
    if a >= 1e12 {
        (x / 1e12, "T")
    } else if a >= 1e9 {
        (x / 1e9, "B")
    } else if a >= 1e6 {
        (x / 1e6, "M")
    } else if a >= 1e3 {
        (x / 1e3, "k")
    } else {
        (x, "")
    }
}

/// An amount at its scale: 3,502,000 → "3.50 million".
pub fn fmt_amount(x: f64) -> String {
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

fn plan_text(s: &mut String, p: &PlanResult, end_year: i32, drop_warning_pu: f64) {
    let baseline = if p.automatic_baseline {
        " (automatic baseline: the existing fleet, nothing new committed; --no-baseline skips it)"
    } else {
        ""
    };
    let _ = writeln!(s, "plan `{}`{baseline}", p.name);
    let _ = writeln!(
        s,
        "  {:<24} {:>4} {:>18} {:>9} {:>9} {:>9} {:>9}",
        "metric", "unit", "mean ± se", "p10", "p50", "p90", "CVaR95"
    );
    for m in &p.metrics {
        let id = m.id;
        let figures = [
            m.mean,
            m.quantiles[1],
            m.quantiles[2],
            m.quantiles[3],
            m.cvar95,
        ];
        let (unit, label) = row_unit(id, &figures);
        let f = |x: f64| fmt_metric(id, x, unit);
        let se = if id.is_year() && m.se.is_finite() {
            format!("{:.1}", m.se)
        } else {
            f(m.se)
        };
        let cvar = if id.is_year() {
            "-".to_string()
        } else {
            f(m.cvar95)
        };
        let _ = writeln!(
            s,
            "  {:<24} {:>4} {:>18} {:>9} {:>9} {:>9} {:>9}",
            id.name(),
            label,
            format!("{} ± {}", f(m.mean), se),
            f(m.quantiles[1]),
            f(m.quantiles[2]),
            f(m.quantiles[3]),
            cvar
        );
    }
    for (id, what) in [
        (MetricId::FirstProfitableYear, "profitable"),
        (MetricId::FirstPositiveFcfYear, "a positive free cash flow"),
    ] {
        let never = p.metric(id).never_share.unwrap_or(0.0);
        if never >= 1.0 {
            let _ = writeln!(s, "  never {what} by {end_year} on any path");
        } else if never > 0.0 {
            let _ = writeln!(
                s,
                "  never {what} by {end_year} on {:.1}% of paths; {}'s figures are over the other paths",
                never * 100.0,
                id.name()
            );
        }
    }
    let (peak, end) = (p.capacity_peak_h100e_mean, p.capacity_end_h100e_mean);
    if peak > 0.0 && end <= 0.0 {
        let _ = writeln!(
            s,
            "  WARNING: capacity falls to zero by {end_year} (peak {} H100e): the fleet and commitments retire with nothing to replace them",
            fmt_amount(peak)
        );
    } else if peak > 0.0 && end < (1.0 - drop_warning_pu) * peak {
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
        p.backstop_probability * 100.0
    );
    yearly_text(s, p);
    let years: Vec<String> = p
        .shortfall_probability_by_year
        .iter()
        .map(|(y, q)| format!("{y} {:.0}%", q * 100.0))
        .collect();
    let _ = writeln!(s, "  P(any shortfall): {}", years.join(", "));
    for run in &p.training_runs {
        let _ = writeln!(
            s,
            "  run {:<20} late on {:.0}% of paths, mean delay {:.1} months",
            run.name,
            run.late_probability * 100.0,
            run.mean_delay_months
        );
    }
    for r in &p.rule_commitments {
        let _ = writeln!(
            s,
            "  rules committed {} {} of `{}` per path over the horizon, on average",
            fmt_amount(r.mean),
            r.unit,
            r.option
        );
    }
    if let Some(vs) = &p.paired_vs {
        let _ = writeln!(s, "  paired difference vs `{vs}` (mean, 95% CI):");
        // Alphabetical, as in the JSON.
        let mut diffs: Vec<_> = p.paired.iter().collect();
        diffs.sort_by_key(|d| d.id.name());
        for d in diffs {
            let figures = [d.mean, d.ci95_low(), d.ci95_high()];
            let (unit, label) = row_unit(d.id, &figures);
            let f = |x: f64| fmt_metric(d.id, x, unit);
            let ci = if d.se.is_finite() {
                format!("[{}, {}]", f(d.ci95_low()), f(d.ci95_high()))
            } else {
                "[n/a: one path]".to_string()
            };
            let _ = writeln!(
                s,
                "    {:<22} {:>4} {:>9} {ci}",
                d.id.name(),
                label,
                f(d.mean)
            );
        }
    }
    s.push('\n');
}

/// The terminal summary of a simulation.
pub fn text(r: &SimulationReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {} paths, seed {}, {} ({} to {})",
        r.scenario, r.paths, r.seed, r.sampling, r.horizon.0, r.horizon.1
    );
    let _ = writeln!(
        s,
        "CVaR95 = mean of the worst 5 % of paths; ± is one Monte Carlo standard error (n/a: too few paths)\n"
    );
    let end_year = r.end_year();
    for p in &r.plans {
        plan_text(&mut s, p, end_year, r.capacity_drop_warning_pu);
    }
    if r.plans.len() > 1 {
        let mut ranked: Vec<(&str, f64)> = r
            .plans
            .iter()
            .map(|p| (p.name.as_str(), p.metric(MetricId::Npv).mean))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let (unit, label) = row_money_unit(ranked.iter().map(|r| r.1.abs()).fold(0.0, f64::max));
        let list: Vec<String> = ranked
            .iter()
            .map(|(n, m)| format!("`{n}` {:.1}", m / unit + 0.0))
            .collect();
        let _ = writeln!(s, "by expected NPV ({label}): {}", list.join(" > "));
        let _ = writeln!(
            s,
            "(each plan's paired difference above says whether a gap is beyond Monte Carlo noise)\n"
        );
    }
    if r.plans
        .iter()
        .any(|p| p.metrics.iter().any(|m| !m.quantiles_exact))
    {
        let _ = writeln!(
            s,
            "quantiles of large runs come from a sketch: within {:.2} % of the exact value (relative), inside the observed range",
            gigawatt_risk::SKETCH_RELATIVE_ACCURACY * 100.0
        );
    }
    for c in &r.correlations {
        let _ = writeln!(
            s,
            "correlation {} ~ {}: requested {:.3}, achieved {:.3}",
            c.a, c.b, c.requested, c.achieved
        );
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

/// `monthly.csv`: plan, month, series, mean, p5, p10, p25, p50, p75, p90, p95.
pub fn monthly_csv(r: &SimulationReport) -> String {
    let mut s = String::from("plan,month,series,mean,p5,p10,p25,p50,p75,p90,p95\n");
    for row in &r.monthly {
        let _ = write!(
            s,
            "{},{},{},{}",
            csv_field(&r.plans[row.plan].name),
            row.month,
            row.series,
            csv_num(row.mean)
        );
        for q in row.quantiles {
            let _ = write!(s, ",{}", csv_num(q));
        }
        s.push('\n');
    }
    s
}

/// `yearly.csv`: plan, year, line, mean, p10, p50, p90; the lines are [`gigawatt_sim::YEARLY_LINES`]
/// then `revenue_usd[SEGMENT]` for each segment.
pub fn yearly_csv(r: &SimulationReport) -> String {
    let mut s = String::from("plan,year,line,mean,p10,p50,p90\n");
    for p in &r.plans {
        for y in &p.yearly {
            let segments = y
                .segment_revenue
                .iter()
                .map(|(name, l)| (format!("revenue_usd[{name}]"), l));
            let lines = gigawatt_sim::YEARLY_LINES
                .iter()
                .map(|n| n.to_string())
                .zip(&y.lines)
                .chain(segments);
            for (name, l) in lines {
                let _ = writeln!(
                    s,
                    "{},{},{},{},{},{},{}",
                    csv_field(&p.name),
                    y.year,
                    csv_field(&name),
                    csv_num(l.mean),
                    csv_num(l.p10),
                    csv_num(l.p50),
                    csv_num(l.p90)
                );
            }
        }
    }
    s
}

/// The yearly statements' main lines (means) as a terminal section.
fn yearly_text(s: &mut String, p: &PlanResult) {
    use gigawatt_sim::yl;
    if p.yearly.is_empty() {
        return;
    }
    let largest = p
        .yearly
        .iter()
        .flat_map(|y| y.lines.iter().map(|l| l.mean.abs()))
        .filter(|x| x.is_finite())
        .fold(0.0, f64::max);
    let (unit, label) = row_money_unit(largest);
    let _ = writeln!(
        s,
        "  yearly statement ({label}, means over paths; yearly.csv has every line with p10/p50/p90):"
    );
    let _ = writeln!(
        s,
        "    {:>6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "year", "revenue", "op. income", "capex", "FCF", "funding", "cash end"
    );
    for y in &p.yearly {
        let m = |i: usize| y.lines[i].mean;
        let funding = m(yl::ROUNDS) + m(yl::CREDIT_DRAWN) + m(yl::BACKSTOP_DRAWN);
        let f = |x: f64| format!("{:.1}", x / unit + 0.0);
        let _ = writeln!(
            s,
            "    {:>6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
            y.year,
            f(m(yl::REVENUE)),
            f(m(yl::OPERATING_INCOME)),
            f(m(yl::CAPEX)),
            f(m(yl::FCF)),
            f(funding),
            f(m(yl::CASH_END))
        );
    }
}

/// `paths_yearly.csv`: one row per (path, plan, calendar year): the path's yearly statement
/// ([`gigawatt_sim::YEARLY_LINES`], then `revenue_usd[SEGMENT]` per segment). `segments` are the
/// scenario's segment names. Empty (header only) when the run kept no yearly statements.
pub fn per_path_yearly_csv(r: &SimulationReport, segments: &[String]) -> String {
    let mut s = String::from("path,plan,year");
    for name in gigawatt_sim::YEARLY_LINES {
        let _ = write!(s, ",{name}");
    }
    for seg in segments {
        let _ = write!(s, ",{}", csv_field(&format!("revenue_usd[{seg}]")));
    }
    s.push('\n');
    let first_year: i32 = r.horizon.0[..4].parse().unwrap_or(0);
    let ns = segments.len();
    for row in &r.per_path {
        for (y, lines) in row.yearly.iter().enumerate() {
            let _ = write!(
                s,
                "{},{},{}",
                row.path,
                csv_field(&r.plans[row.plan].name),
                first_year + y as i32
            );
            for x in lines {
                let _ = write!(s, ",{}", csv_num(*x));
            }
            for x in row.yearly_segment_revenue.iter().skip(y * ns).take(ns) {
                let _ = write!(s, ",{}", csv_num(*x));
            }
            s.push('\n');
        }
    }
    s
}

/// `paths.csv`: one row per (path, plan).
pub fn per_path_csv(r: &SimulationReport) -> String {
    let mut s = String::from("path,plan");
    for (name, _) in METRICS {
        let _ = write!(s, ",{name}");
    }
    s.push_str(",shortfall_years_mask\n");
    for row in &r.per_path {
        let _ = write!(s, "{},{}", row.path, csv_field(&r.plans[row.plan].name));
        for x in row.metrics {
            let _ = write!(s, ",{}", csv_num(x));
        }
        let _ = writeln!(s, ",{}", row.shortfall_years_mask);
    }
    s
}
