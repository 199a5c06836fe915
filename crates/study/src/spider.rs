//! The spider table: a metric's expectation against each uncertain input's percentile
//! (p5, p25, p50, p75, p95), the input held at that percentile on every path while everything
//! else stays random on common random numbers (the tornado's method at more points). A flat row
//! is an input that does not matter; a steep or bent one shows how, and where, it does. Each
//! `[[groups]]` entry gets a row too, its inputs moved to the same percentile together.

use std::fmt::Write as _;

use gigawatt_model::ValidScenario;
use gigawatt_sim::MetricId;
use serde_json::{json, Value};

use crate::paired::{per_path_rows, stats};
use crate::render::{csv_field, csv_num, num};
use crate::{Progress, StudyError};

/// The percentiles of the table.
pub const SPIDER_PERCENTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// What [`spider`] is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct SpiderRequest {
    /// Paths per point (every point uses the same paths).
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// The plan (None: the scenario's first plan).
    pub plan: Option<String>,
    /// The metric.
    pub metric: MetricId,
}

/// One input's row.
#[derive(Debug, Clone, PartialEq)]
pub struct SpiderRow {
    /// The input (its `id` or field path).
    pub input: String,
    /// Its value at each of [`SPIDER_PERCENTILES`].
    pub values: Vec<f64>,
    /// The metric's mean with the input held there, and its standard error.
    pub means: Vec<(f64, f64)>,
    /// Mean at p95 less mean at p5.
    pub range: f64,
}

/// The spider table of one metric of one plan.
#[derive(Debug, Clone, PartialEq)]
pub struct SpiderReport {
    /// Scenario name.
    pub scenario: String,
    /// Plan.
    pub plan: String,
    /// Metric.
    pub metric: MetricId,
    /// Paths per point.
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// One row per uncertain input and per `[[groups]]` entry (`group NAME`, its inputs at the
    /// same percentile together, the values shown its first input's), widest range first.
    pub rows: Vec<SpiderRow>,
}

/// The spider table: every uncertain input at each of [`SPIDER_PERCENTILES`] in turn.
pub fn spider(
    sc: &ValidScenario,
    req: &SpiderRequest,
    progress: &dyn Progress,
) -> Result<SpiderReport, StudyError> {
    crate::require_mean_metric(req.metric)?;
    let (plan, selection, engine) =
        crate::plan_engine(sc, req.plan.as_deref(), req.paths, req.seed)?;
    let factors = crate::sensitivity::factors(sc, &engine);
    let mut rows = Vec::with_capacity(factors.len());
    for (k, (name, members)) in factors.iter().enumerate() {
        progress.note(&format!("factor {} of {}: {name}", k + 1, factors.len()));
        // Every member at the same percentile; a group's row shows its first input's values.
        let at = |u: f64| crate::sensitivity::held_at(&engine, members, u);
        let values: Vec<f64> = SPIDER_PERCENTILES
            .iter()
            .map(|u| at(*u).first().map_or(f64::NAN, |x| x.1))
            .collect();
        let mut means = Vec::with_capacity(values.len());
        for u in SPIDER_PERCENTILES {
            let (_, r) = per_path_rows(sc, &selection, req.paths, req.seed, at(u))?;
            let x: Vec<f64> = r.iter().map(|m| m[req.metric.index()]).collect();
            means.push(stats(&x));
        }
        let range = means[means.len() - 1].0 - means[0].0;
        rows.push(SpiderRow {
            input: name.clone(),
            values,
            means,
            range,
        });
        progress.paths_done(k as u64 + 1, factors.len() as u64);
    }
    rows.sort_by(|a, b| b.range.abs().total_cmp(&a.range.abs()));
    Ok(SpiderReport {
        scenario: sc.name.clone(),
        plan,
        metric: req.metric,
        paths: req.paths,
        seed: req.seed,
        rows,
    })
}

fn label(u: f64) -> String {
    format!("p{:.0}", u * 100.0)
}

/// JSON (`gigawatt-spider` v1).
pub fn json(r: &SpiderReport) -> Value {
    json!({
        "format": "gigawatt-spider",
        "format_version": 1,
        "scenario": r.scenario,
        "plan": r.plan,
        "metric": r.metric.name(),
        "paths": r.paths,
        "seed": r.seed,
        "percentiles": SPIDER_PERCENTILES,
        "rows": r.rows.iter().map(|row| json!({
            "input": row.input,
            "values": row.values.iter().map(|v| num(*v)).collect::<Vec<_>>(),
            "means": row.means.iter().map(|m| num(m.0)).collect::<Vec<_>>(),
            "ses": row.means.iter().map(|m| num(m.1)).collect::<Vec<_>>(),
            "range": num(row.range),
        })).collect::<Vec<_>>(),
    })
}

/// CSV (long): input, percentile, value, mean, se.
pub fn csv(r: &SpiderReport) -> String {
    let mut s = String::from("input,percentile,value,mean,se\n");
    for row in &r.rows {
        for ((u, v), (m, se)) in SPIDER_PERCENTILES.iter().zip(&row.values).zip(&row.means) {
            let _ = writeln!(
                s,
                "{},{},{},{},{}",
                csv_field(&row.input),
                csv_num(*u),
                csv_num(*v),
                csv_num(*m),
                csv_num(*se)
            );
        }
    }
    s
}

/// The terminal table.
pub fn text(r: &SpiderReport) -> String {
    let money = r.metric.name().ends_with("_usd");
    let largest = r
        .rows
        .iter()
        .flat_map(|row| row.means.iter().map(|m| m.0.abs()))
        .filter(|x| x.is_finite())
        .fold(0.0, f64::max);
    let (unit, unit_label) = if money {
        crate::render::row_money_unit(largest)
    } else {
        (0.01, "%")
    };
    let mut s = format!(
        "spider of {} ({unit_label}) for plan `{}` of `{}`: each input held at each percentile, the others random; {} paths per point, seed {}, the same paths throughout\n\n",
        r.metric.name(),
        r.plan,
        r.scenario,
        r.paths,
        r.seed
    );
    let _ = write!(s, "  {:<36}", "input");
    for u in SPIDER_PERCENTILES {
        let _ = write!(s, " {:>10}", label(u));
    }
    s.push('\n');
    for row in &r.rows {
        let _ = write!(s, "  {:<36}", row.input);
        for (m, _) in &row.means {
            let _ = write!(s, " {:>10.2}", m / unit + 0.0);
        }
        s.push('\n');
    }
    s
}
