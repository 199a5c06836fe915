//! Which inputs drive a metric: the tornado.
//!
//! For each uncertain input, the metric's expectation is estimated twice on the same paths
//! (common random numbers): once with the input held at its 10th percentile and once at its
//! 90th, while every other input stays random. The swing is the difference of the two means;
//! its standard error comes from the per-path differences, which common random numbers make
//! small. Inputs are sorted by the size of the swing. (This is the "others random" tornado; the
//! classic variant with the others at their medians is not offered yet.)

use std::fmt::Write as _;

use gigawatt_model::ValidScenario;
use gigawatt_sim::MetricId;
use serde_json::{json, Value};

use crate::{Progress, SimulateRequest, StudyError};

/// What [`tornado`] is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct TornadoRequest {
    /// Paths per run (every run uses the same paths).
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// The plan whose metric is explained (None: the scenario's first plan).
    pub plan: Option<String>,
    /// The metric.
    pub metric: MetricId,
    /// Low and high percentiles the inputs are held at (0.1 and 0.9 for p10 and p90).
    pub low_high: (f64, f64),
}

/// One input's bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// The input (its `id`, or its field path).
    pub input: String,
    /// The input's value at the low and the high percentile.
    pub value_low: f64,
    /// See `value_low`.
    pub value_high: f64,
    /// The metric's mean with the input held low, and high.
    pub mean_low: f64,
    /// See `mean_low`.
    pub mean_high: f64,
    /// mean_high − mean_low.
    pub swing: f64,
    /// Standard error of the swing (from the paired per-path differences).
    pub swing_se: f64,
}

/// The tornado of one metric of one plan.
#[derive(Debug, Clone, PartialEq)]
pub struct TornadoReport {
    /// Scenario name.
    pub scenario: String,
    /// Plan.
    pub plan: String,
    /// Metric.
    pub metric: MetricId,
    /// Paths per run and seed.
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// Percentiles the inputs were held at.
    pub low_high: (f64, f64),
    /// The metric's mean with every input random.
    pub base_mean: f64,
    /// Its standard error.
    pub base_se: f64,
    /// One bar per uncertain input, largest swing first.
    pub bars: Vec<Bar>,
}

/// The per-path values of `metric` for plan `plan` over a run with `overrides`.
fn per_path(
    sc: &ValidScenario,
    req: &TornadoRequest,
    plan: &str,
    overrides: Vec<(String, f64)>,
) -> Result<Vec<f64>, StudyError> {
    let run = SimulateRequest {
        plans: selection(sc, plan),
        baseline: false,
        per_path: true,
        overrides,
        ..SimulateRequest::new(req.paths, req.seed)
    };
    let report = crate::simulate(sc, &run, &crate::Quiet)?;
    Ok(report
        .per_path
        .iter()
        .filter(|r| r.plan == 0)
        .map(|r| r.metrics[req.metric.index()])
        .collect())
}

/// The plan selection for a run: the named plan, or none (the engine's default plan) when no
/// plan was named and the scenario has none.
fn selection(sc: &ValidScenario, plan: &str) -> Vec<String> {
    if sc.plans.is_empty() && plan == gigawatt_sim::DEFAULT_PLAN {
        Vec::new()
    } else {
        vec![plan.to_string()]
    }
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

/// Standard error of the mean of `xs` (NaN with fewer than two values).
fn se(xs: &[f64]) -> f64 {
    let m = gigawatt_risk::Moments::from_slice(xs);
    if m.n > 1 {
        m.se()
    } else {
        f64::NAN
    }
}

/// The tornado: every uncertain input held at its low and high percentile in turn.
pub fn tornado(
    sc: &ValidScenario,
    req: &TornadoRequest,
    progress: &dyn Progress,
) -> Result<TornadoReport, StudyError> {
    let (lo, hi) = req.low_high;
    if !(0.0 < lo && lo < hi && hi < 1.0) {
        return Err(StudyError::Request(format!(
            "the low and high percentiles must satisfy 0 < low < high < 1 (got {lo} and {hi})"
        )));
    }
    if req.metric == MetricId::FirstProfitableYear {
        return Err(StudyError::Request(
            "the first profitable year has no mean when a path is never profitable; choose another metric".into(),
        ));
    }
    let plan = match &req.plan {
        Some(p) => p.clone(),
        None => sc
            .plans
            .first()
            .map(|p| p.name.clone())
            .unwrap_or_else(|| gigawatt_sim::DEFAULT_PLAN.into()),
    };
    let probe = SimulateRequest {
        plans: selection(sc, &plan),
        baseline: false,
        ..SimulateRequest::new(req.paths, req.seed)
    };
    let (_, engine) = crate::engine_for(sc, &probe)?;
    let inputs = engine.uncertain_inputs();
    let base = per_path(sc, req, &plan, Vec::new())?;
    let mut bars = Vec::with_capacity(inputs.len());
    for (k, (name, i)) in inputs.iter().enumerate() {
        progress.note(&format!("input {} of {}: {name}", k + 1, inputs.len()));
        let (value_low, value_high) =
            (engine.input_quantile(*i, lo), engine.input_quantile(*i, hi));
        let low = per_path(sc, req, &plan, vec![(name.clone(), value_low)])?;
        let high = per_path(sc, req, &plan, vec![(name.clone(), value_high)])?;
        let diff: Vec<f64> = high.iter().zip(&low).map(|(h, l)| h - l).collect();
        bars.push(Bar {
            input: name.clone(),
            value_low,
            value_high,
            mean_low: mean(&low),
            mean_high: mean(&high),
            swing: mean(&diff),
            swing_se: se(&diff),
        });
        progress.paths_done(k as u64 + 1, inputs.len() as u64);
    }
    bars.sort_by(|a, b| b.swing.abs().total_cmp(&a.swing.abs()));
    Ok(TornadoReport {
        scenario: sc.name.clone(),
        plan,
        metric: req.metric,
        paths: req.paths,
        seed: req.seed,
        low_high: req.low_high,
        base_mean: mean(&base),
        base_se: se(&base),
        bars,
    })
}

fn num(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

/// JSON (`gigawatt-tornado` v1): scenario, plan, metric, paths, seed, percentiles
/// {low, high}, base {mean, se}, and bars [{input, value_low, value_high, mean_low, mean_high,
/// swing, swing_se}], largest swing first.
pub fn json(r: &TornadoReport) -> Value {
    json!({
        "format": "gigawatt-tornado",
        "format_version": 1,
        "scenario": r.scenario,
        "plan": r.plan,
        "metric": r.metric.name(),
        "paths": r.paths,
        "seed": r.seed,
        "percentiles": {"low": r.low_high.0, "high": r.low_high.1},
        "base": {"mean": num(r.base_mean), "se": num(r.base_se)},
        "bars": r.bars.iter().map(|b| json!({
            "input": b.input, "value_low": num(b.value_low), "value_high": num(b.value_high),
            "mean_low": num(b.mean_low), "mean_high": num(b.mean_high),
            "swing": num(b.swing), "swing_se": num(b.swing_se),
        })).collect::<Vec<_>>(),
    })
}

/// CSV: one row per input, largest swing first.
pub fn csv(r: &TornadoReport) -> String {
    use crate::render::{csv_field, csv_num};
    let mut s = String::from("input,value_low,value_high,mean_low,mean_high,swing,swing_se\n");
    for b in &r.bars {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{}",
            csv_field(&b.input),
            csv_num(b.value_low),
            csv_num(b.value_high),
            csv_num(b.mean_low),
            csv_num(b.mean_high),
            csv_num(b.swing),
            csv_num(b.swing_se)
        );
    }
    s
}

/// The terminal table, with a bar drawn to scale for each input.
pub fn text(r: &TornadoReport) -> String {
    let name = r.metric.name();
    let money = name.ends_with("_usd");
    let largest = r
        .bars
        .iter()
        .flat_map(|b| [b.mean_low, b.mean_high, r.base_mean])
        .filter(|x| x.is_finite())
        .fold(0.0f64, |m, x| m.max(x.abs()));
    let (unit, label) = if money {
        crate::render::row_money_unit(largest)
    } else {
        (0.01, "%")
    };
    let f = |x: f64| {
        if x.is_finite() {
            format!("{:.2}", x / unit + 0.0)
        } else {
            "n/a".into()
        }
    };
    let mut s = format!(
        "tornado of {name} ({label}) for plan `{}` of `{}`: each input held at its p{:.0} and p{:.0}, the others random; {} paths, seed {}, the same paths in every run\n",
        r.plan,
        r.scenario,
        r.low_high.0 * 100.0,
        r.low_high.1 * 100.0,
        r.paths,
        r.seed
    );
    let _ = writeln!(
        s,
        "all inputs random: {} ± {}\n",
        f(r.base_mean),
        f(r.base_se)
    );
    let width = r
        .bars
        .iter()
        .map(|b| b.input.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(
        s,
        "  {:<width$} {:>10} {:>10} {:>16}  bar (|swing|)",
        "input", "at low", "at high", "swing ± se"
    );
    let top = r.bars.first().map_or(0.0, |b| b.swing.abs());
    for b in &r.bars {
        let len = if top > 0.0 {
            ((b.swing.abs() / top) * 30.0).round() as usize
        } else {
            0
        };
        let _ = writeln!(
            s,
            "  {:<width$} {:>10} {:>10} {:>16}  {}",
            b.input,
            f(b.mean_low),
            f(b.mean_high),
            format!("{} ± {}", f(b.swing), f(b.swing_se)),
            "#".repeat(len)
        );
    }
    s
}
