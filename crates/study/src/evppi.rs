//! Value of information per input (EVPPI): what it would be worth to learn an input before
//! choosing between the scenario's plans.
//!
//! EVPPI(x) = E_x[ max_plan E(metric | x) ] − max_plan E(metric): the expected metric of choosing
//! the plan after seeing x, less that of choosing now. All plans run on the same paths (common
//! random numbers). The conditional expectations come from the one-level binning estimator: the
//! paths are sorted by the input's value and cut into `bins` groups of equal size, and each
//! group's plan means stand for E(metric | x) there.
//!
//! The maximum of noisy group means is biased upward (even an irrelevant input gets a positive
//! value). The bias is estimated by the bootstrap (100 resamples of the paths, keyed by the
//! seed: the mean of the resampled estimates less the estimate) and subtracted, which adapts to
//! how much noise is left within each group; the same resamples give the standard error.
//! The expected value of perfect information on everything (EVPI) is the mean over paths of the
//! best plan's metric less the best plan's mean, with its exact standard error.

use std::fmt::Write as _;

use gigawatt_model::ValidScenario;
use gigawatt_sim::{MetricId, BLOCK};
use serde_json::{json, Value};

use crate::render::{csv_field, csv_num, num};
use crate::{Progress, SimulateRequest, StudyError};

/// What [`evppi`] is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct EvppiRequest {
    /// Paths (every plan on the same paths).
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// Inputs (by `id` or field path); empty: every uncertain input.
    pub inputs: Vec<String>,
    /// The metric the choice maximises.
    pub metric: MetricId,
    /// Groups of paths per input (equal counts).
    pub bins: usize,
}

/// One input's value of information.
#[derive(Debug, Clone, PartialEq)]
pub struct EvppiRow {
    /// The input.
    pub input: String,
    /// EVPPI after the bias correction, and its bootstrap standard error.
    pub evppi: f64,
    /// See `evppi`.
    pub se: f64,
    /// The bias subtracted (the estimate on random groups).
    pub bias: f64,
}

/// The value of information per input for the choice between the scenario's plans.
#[derive(Debug, Clone, PartialEq)]
pub struct EvppiReport {
    /// Scenario name.
    pub scenario: String,
    /// Metric.
    pub metric: MetricId,
    /// Paths and seed.
    pub paths: u64,
    /// See `paths`.
    pub seed: u64,
    /// The plans chosen between, with their means.
    pub plans: Vec<(String, f64)>,
    /// The plan with the highest mean.
    pub best: String,
    /// EVPI on all uncertainty and its standard error.
    pub evpi: (f64, f64),
    /// Per input, largest first.
    pub rows: Vec<EvppiRow>,
}

/// Bootstrap resamples for the bias and the standard error.
const BOOTSTRAP: usize = 100;
/// XOR-ed into the seed for the permutation and bootstrap streams.
const EVPPI_STREAM: u64 = 0xE7_991D_0000_0001;

/// Σ_groups (size/N) · max_plan mean_group − max_plan mean, for paths listed in `order`
/// (grouped in `bins` consecutive runs of equal size). `v[plan][path]`.
fn binned(v: &[Vec<f64>], order: &[usize], bins: usize) -> f64 {
    let n = order.len();
    let overall = v
        .iter()
        .map(|p| order.iter().map(|&i| p[i]).sum::<f64>() / n as f64)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut total = 0.0;
    for b in 0..bins {
        let (lo, hi) = (b * n / bins, (b + 1) * n / bins);
        if hi <= lo {
            continue;
        }
        let best = v
            .iter()
            .map(|p| order[lo..hi].iter().map(|&i| p[i]).sum::<f64>() / (hi - lo) as f64)
            .fold(f64::NEG_INFINITY, f64::max);
        total += best * (hi - lo) as f64 / n as f64;
    }
    total - overall
}

/// The per-input EVPPI for the choice between the scenario's plans.
pub fn evppi(
    sc: &ValidScenario,
    req: &EvppiRequest,
    progress: &dyn Progress,
) -> Result<EvppiReport, StudyError> {
    crate::require_mean_metric(req.metric)?;
    if sc.plans.len() < 2 {
        return Err(StudyError::Request(
            "value of information is about a choice: the scenario needs at least two [[plans]]"
                .into(),
        ));
    }
    if req.bins < 2 || req.paths < 2 * req.bins as u64 {
        return Err(StudyError::Request(format!(
            "need at least 2 groups and 2 paths per group (got {} groups for {} paths)",
            req.bins, req.paths
        )));
    }
    let run = SimulateRequest {
        baseline: false,
        per_path: true,
        ..SimulateRequest::new(req.paths, req.seed)
    };
    progress.note(&format!(
        "simulating {} plans on {} paths...",
        sc.plans.len(),
        req.paths
    ));
    let r = crate::simulate(sc, &run, &crate::Quiet)?;
    let (_, engine) = crate::engine_for(sc, &run)?;
    let n = req.paths as usize;
    let np = r.plans.len();
    let mut v = vec![vec![0.0; n]; np];
    for row in &r.per_path {
        v[row.plan][row.path as usize] = row.metrics[req.metric.index()];
    }
    if v.iter().flatten().any(|x| !x.is_finite()) {
        return Err(StudyError::Request(format!(
            "{} is not finite on some path",
            req.metric.name()
        )));
    }
    let means: Vec<f64> = v.iter().map(|p| p.iter().sum::<f64>() / n as f64).collect();
    let best = (0..np)
        .max_by(|&a, &b| means[a].total_cmp(&means[b]).then(b.cmp(&a)))
        .unwrap_or(0);
    // EVPI: per path, the best plan's metric less the plan best on average.
    let gains: Vec<f64> = (0..n)
        .map(|i| v.iter().map(|p| p[i]).fold(f64::NEG_INFINITY, f64::max) - v[best][i])
        .collect();
    let evpi = crate::paired::stats(&gains);
    // Each path's uniforms, as the simulation drew them, for the inputs' values.
    let inputs: Vec<(String, usize)> = if req.inputs.is_empty() {
        engine.uncertain_inputs()
    } else {
        req.inputs
            .iter()
            .map(|name| {
                engine.input_named(name).map(|i| (name.clone(), i)).ok_or_else(|| {
                    StudyError::Request(format!(
                        "no uncertain input is named `{name}`: give an input's `id` or its field path"
                    ))
                })
            })
            .collect::<Result<_, _>>()?
    };
    let mut uniforms = Vec::with_capacity(n);
    for b in 0..req.paths.div_ceil(BLOCK) {
        let first = b * BLOCK;
        let (u, _) = engine.block_uniforms(first, BLOCK.min(req.paths - first) as usize);
        uniforms.extend(u);
    }
    let boots = crate::paired::bootstrap_resamples(req.seed, EVPPI_STREAM, BOOTSTRAP, n);
    let mut rows = Vec::with_capacity(inputs.len());
    for (name, i) in &inputs {
        let x: Vec<f64> = uniforms
            .iter()
            .map(|u| engine.input_quantile(*i, u[*i]))
            .collect();
        let sorted = |paths: &[usize]| {
            let mut o = paths.to_vec();
            o.sort_by(|a, b| x[*a].total_cmp(&x[*b]).then(a.cmp(b)));
            o
        };
        let all: Vec<usize> = (0..n).collect();
        let raw = binned(&v, &sorted(&all), req.bins);
        let boot: Vec<f64> = boots
            .iter()
            .map(|b| binned(&v, &sorted(b), req.bins))
            .collect();
        let mean_boot = boot.iter().sum::<f64>() / boot.len() as f64;
        let se = (boot.iter().map(|e| (e - mean_boot).powi(2)).sum::<f64>()
            / (boot.len() - 1) as f64)
            .sqrt();
        let bias = mean_boot - raw;
        rows.push(EvppiRow {
            input: name.clone(),
            evppi: raw - bias,
            se,
            bias,
        });
    }
    rows.sort_by(|a, b| b.evppi.total_cmp(&a.evppi));
    Ok(EvppiReport {
        scenario: sc.name.clone(),
        metric: req.metric,
        paths: req.paths,
        seed: req.seed,
        plans: r
            .plans
            .iter()
            .zip(&means)
            .map(|(p, m)| (p.name.clone(), *m))
            .collect(),
        best: r.plans[best].name.clone(),
        evpi,
        rows,
    })
}

/// JSON (`gigawatt-evppi` v1).
pub fn json(r: &EvppiReport) -> Value {
    json!({
        "format": "gigawatt-evppi",
        "format_version": 1,
        "scenario": r.scenario,
        "metric": r.metric.name(),
        "paths": r.paths,
        "seed": r.seed,
        "plans": r.plans.iter().map(|(p, m)| json!({"plan": p, "mean": num(*m)})).collect::<Vec<_>>(),
        "best_plan": r.best,
        "evpi": {"value": num(r.evpi.0), "se": num(r.evpi.1)},
        "estimator": "one-level binning of paths by the input's value; bootstrap bias correction and standard error",
        "inputs": r.rows.iter().map(|row| json!({
            "input": row.input, "evppi": num(row.evppi), "se": num(row.se), "bias_subtracted": num(row.bias),
        })).collect::<Vec<_>>(),
    })
}

/// CSV: input, evppi, se, bias_subtracted.
pub fn csv(r: &EvppiReport) -> String {
    let mut s = String::from("input,evppi,se,bias_subtracted\n");
    for row in &r.rows {
        let _ = writeln!(
            s,
            "{},{},{},{}",
            csv_field(&row.input),
            csv_num(row.evppi),
            csv_num(row.se),
            csv_num(row.bias)
        );
    }
    s
}

/// The terminal table.
pub fn text(r: &EvppiReport) -> String {
    let money = r.metric.name().ends_with("_usd");
    let largest = r
        .plans
        .iter()
        .map(|p| p.1.abs())
        .chain([r.evpi.0.abs()])
        .filter(|x| x.is_finite())
        .fold(0.0, f64::max);
    let (unit, label) = if money {
        crate::render::row_money_unit(largest)
    } else {
        (0.01, "%")
    };
    let f = |x: f64| format!("{:.3}", x / unit + 0.0);
    let mut s = format!(
        "value of information on {} ({label}) for the choice between {} plans of `{}`; {} paths, seed {}\n",
        r.metric.name(),
        r.plans.len(),
        r.scenario,
        r.paths,
        r.seed
    );
    for (p, m) in &r.plans {
        let _ = writeln!(s, "  {p:<24} mean {}", f(*m));
    }
    let _ = writeln!(
        s,
        "best now: `{}`; knowing everything first (EVPI) is worth {} ± {}\n",
        r.best,
        f(r.evpi.0),
        f(r.evpi.1)
    );
    let _ = writeln!(
        s,
        "  {:<36} {:>12} {:>10}",
        "input (learnt first)", "EVPPI", "± se"
    );
    for row in &r.rows {
        let _ = writeln!(
            s,
            "  {:<36} {:>12} {:>10}",
            row.input,
            f(row.evppi),
            f(row.se)
        );
    }
    s.push_str("\nEVPPI: the expected gain of choosing the plan after learning the input; bias-corrected binning estimator (docs/explanation/sensitivity.md).\n");
    s
}
