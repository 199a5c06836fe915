//! Variance-based sensitivity (Sobol indices): how much of a metric's variance each uncertain
//! input explains alone (first order) and with all its interactions (total order).
//!
//! Two independent samples of N paths, A (paths 0..N) and B (paths N..2N), are drawn as the
//! simulator draws them. For each factor i, the matrix AB_i takes factor i from B and every
//! other factor from A. The factors are the scenario's uncertain inputs (one column of a path's
//! uniforms each) and one more, "noise and events": everything a path draws by its index rather
//! than through an input (month-by-month growth noise, regime switches, launch and funding
//! events, delivery delays), swapped by evaluating A's inputs on B's path index. With these
//! factors every source of randomness is in exactly one factor.
//!
//! Estimators (Saltelli et al. 2010, first order; Jansen 1999, total order), with f the metric
//! and V the variance of f over A and B together:
//!
//! - S_i = mean_p( (f(B_p) − f̄) · (f(AB_i,p) − f(A_p)) ) / V, with f(B) centred on the
//!   sample mean f̄ (the same expectation, a smaller variance)
//! - ST_i = mean_p( (f(A_p) − f(AB_i,p))² ) / (2 V)
//!
//! 95 % intervals come from a bootstrap over paths (resampling the N path triples with
//! replacement, 200 resamples by default, keyed by the seed so they are reproducible; the
//! percentile interval). The cost is N × (k + 2) plan evaluations for k factors.
//!
//! Inputs correlated in the scenario are sampled independently here: Sobol indices are defined
//! for independent factors (the report says so when the scenario has correlations).

use std::fmt::Write as _;

use gigawatt_model::ValidScenario;
use gigawatt_sim::{
    metric_values, Draws, Engine, LaneScratch, MetricId, PathOutcome, Recording, Scratch, BLOCK,
    LANES,
};
use rayon::prelude::*;
use serde_json::{json, Value};

use crate::render::{csv_field, csv_num, num};
use crate::{Progress, StudyError};

/// The factor that holds every path-indexed source of randomness.
pub const NOISE_FACTOR: &str = "noise and events";

/// What [`sobol`] is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct SobolRequest {
    /// Paths per sample (N): the run evaluates N × (factors + 2) plan-paths.
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// The plan (None: the scenario's first plan).
    pub plan: Option<String>,
    /// The metric.
    pub metric: MetricId,
    /// Bootstrap resamples for the intervals.
    pub bootstrap: usize,
    /// Groups of inputs that count as one factor: (group name, inputs by `id` or field path).
    /// Every other input is its own factor. Empty: the scenario's `[[groups]]`.
    pub groups: Vec<(String, Vec<String>)>,
}

/// One factor's indices.
#[derive(Debug, Clone, PartialEq)]
pub struct SobolIndex {
    /// The input (its `id` or field path), or [`NOISE_FACTOR`].
    pub factor: String,
    /// First-order index and its 95 % bootstrap interval.
    pub first: f64,
    /// See `first`.
    pub first_ci95: (f64, f64),
    /// Total-order index and its 95 % bootstrap interval.
    pub total: f64,
    /// See `total`.
    pub total_ci95: (f64, f64),
}

/// The Sobol indices of one metric of one plan.
#[derive(Debug, Clone, PartialEq)]
pub struct SobolReport {
    /// Scenario name.
    pub scenario: String,
    /// Plan.
    pub plan: String,
    /// Metric.
    pub metric: MetricId,
    /// Paths per sample.
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// Mean and variance of the metric over A and B.
    pub mean: f64,
    /// See `mean`.
    pub variance: f64,
    /// Per factor, largest total index first.
    pub indices: Vec<SobolIndex>,
    /// True when the scenario correlates inputs (sampled independently here).
    pub correlated_inputs: bool,
}

/// XOR-ed into the seed for the bootstrap's resampling stream.
const BOOTSTRAP_STREAM: u64 = 0x50B0_1B00_7357_0001;

/// Paths at most per sample (memory and time grow with paths × factors).
pub const MAX_SOBOL_PATHS: u64 = 1_000_000;

/// Buffers reused by every evaluation of a block of paths.
#[derive(Default)]
struct Buffers {
    draws: [Draws; LANES],
    lanes: LaneScratch,
    scratch: Scratch,
    outs: [PathOutcome; LANES],
}

/// The metric of the engine's first plan on each (path index, input uniforms) of `jobs`, in
/// order: `LANES` at a time through the engine's lanes (each as it would be alone).
fn evaluate(e: &Engine, jobs: &[(u64, Vec<f64>)], metric: MetricId, b: &mut Buffers) -> Vec<f64> {
    let mut f = Vec::with_capacity(jobs.len());
    for group in jobs.chunks(LANES) {
        let paths = group.iter().map(|(path, row)| (*path, &row[..]));
        e.draw_many(paths, &[], &[], &mut b.draws);
        if group.len() == LANES {
            let (d, out) = (b.draws.each_ref(), b.outs.each_mut());
            e.run_plan_lanes(0, d, &mut b.lanes, Recording::default(), out, None);
        } else {
            for (d, o) in b.draws.iter().zip(&mut b.outs).take(group.len()) {
                e.run_plan(0, d, &mut b.scratch, false, o);
            }
        }
        f.extend(
            b.outs[..group.len()]
                .iter()
                .map(|o| metric_values(o)[metric.index()]),
        );
    }
    f
}

/// Per path: f(A), f(B), then f(AB_i) for each factor (its columns of the uniforms taken from
/// B), then noise and events.
fn evaluations(e: &Engine, n: u64, factors: &[Vec<usize>], metric: MetricId) -> Vec<Vec<f64>> {
    let blocks: Vec<u64> = (0..n.div_ceil(BLOCK)).collect();
    blocks
        .par_iter()
        .flat_map_iter(|&b| {
            let first = b * BLOCK;
            let len = BLOCK.min(n - first) as usize;
            let (ua, _) = e.block_uniforms(first, len);
            let (ub, _) = e.block_uniforms(n + first, len);
            let mut s = Buffers::default();
            let mut out = Vec::with_capacity(len);
            for (j, (a, bb)) in ua.iter().zip(&ub).enumerate() {
                let (pa, pb) = (first + j as u64, n + first + j as u64);
                let mut jobs = Vec::with_capacity(factors.len() + 3);
                jobs.push((pa, a.clone()));
                jobs.push((pb, bb.clone()));
                for cols in factors {
                    let mut row = a.clone();
                    for &i in cols {
                        row[i] = bb[i];
                    }
                    jobs.push((pa, row));
                }
                // Noise and events: A's inputs on B's path index.
                jobs.push((pb, a.clone()));
                out.push(evaluate(e, &jobs, metric, &mut s));
            }
            out
        })
        .collect()
}

/// First- and total-order indices from the evaluations of the paths in `idx` (factor k's
/// AB values are column k + 2).
fn indices(f: &[Vec<f64>], idx: &[usize], k: usize) -> (f64, f64, f64, f64) {
    let n = idx.len() as f64;
    let (mut sum, mut sq) = (0.0, 0.0);
    for &p in idx {
        for x in [f[p][0], f[p][1]] {
            sum += x;
            sq += x * x;
        }
    }
    let mean = sum / (2.0 * n);
    let var = (sq / (2.0 * n) - mean * mean).max(0.0) * (2.0 * n) / (2.0 * n - 1.0).max(1.0);
    let (mut s1, mut st) = (0.0, 0.0);
    for &p in idx {
        let (a, b, ab) = (f[p][0], f[p][1], f[p][k + 2]);
        // f(B) centred on the sample mean: the same expectation (f(AB_i) − f(A) has mean
        // zero), a far smaller variance when the mean is large against the spread.
        s1 += (b - mean) * (ab - a);
        st += (a - ab) * (a - ab);
    }
    if var <= 0.0 {
        return (0.0, 0.0, mean, var);
    }
    (s1 / n / var, st / n / (2.0 * var), mean, var)
}

/// The 2.5 % and 97.5 % points of sorted bootstrap values.
fn interval(mut v: Vec<f64>) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((q * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)];
    (at(0.025), at(0.975))
}

/// The factors: each group (its inputs' columns together), then every input in no group.
fn factors(
    engine: &Engine,
    groups: &[(String, Vec<String>)],
) -> Result<(Vec<String>, Vec<Vec<usize>>), StudyError> {
    let mut names = Vec::new();
    let mut columns: Vec<Vec<usize>> = Vec::new();
    let mut grouped = std::collections::BTreeSet::new();
    for (group, members) in groups {
        if members.is_empty() {
            return Err(StudyError::Request(format!(
                "group `{group}` names no input"
            )));
        }
        let mut cols = Vec::new();
        for m in members {
            let i = engine.input_named(m).ok_or_else(|| {
                StudyError::Request(format!(
                    "group `{group}`: no uncertain input is named `{m}` (give an `id` or a field path)"
                ))
            })?;
            if !grouped.insert(i) {
                return Err(StudyError::Request(format!(
                    "input `{m}` is in more than one group; each input belongs to one factor"
                )));
            }
            cols.push(i);
        }
        names.push(group.clone());
        columns.push(cols);
    }
    for (name, i) in engine.uncertain_inputs() {
        if !grouped.contains(&i) {
            names.push(name);
            columns.push(vec![i]);
        }
    }
    Ok((names, columns))
}

/// Sobol indices of `req.metric` for one plan.
pub fn sobol(
    sc: &ValidScenario,
    req: &SobolRequest,
    progress: &dyn Progress,
) -> Result<SobolReport, StudyError> {
    crate::require_mean_metric(req.metric)?;
    if req.paths < 2 || req.paths > MAX_SOBOL_PATHS {
        return Err(StudyError::Request(format!(
            "--paths must be between 2 and {MAX_SOBOL_PATHS} for Sobol indices (each path is evaluated once per factor and twice more)"
        )));
    }
    if req.bootstrap > 10_000 {
        return Err(StudyError::Request(
            "--bootstrap is at most 10000 resamples".into(),
        ));
    }
    let (plan, _, engine) = crate::plan_engine(sc, req.plan.as_deref(), req.paths, req.seed)?;
    // Groups from the request, else those the scenario declares.
    let groups: Vec<(String, Vec<String>)> = if req.groups.is_empty() {
        sc.groups
            .iter()
            .map(|g| (g.name.clone(), g.inputs.clone()))
            .collect()
    } else {
        req.groups.clone()
    };
    let (names, columns) = factors(&engine, &groups)?;
    let k = columns.len() + 1;
    progress.note(&format!(
        "Sobol indices: {} paths × {} factors (+2 samples) = {} plan evaluations...",
        req.paths,
        k,
        req.paths * (k as u64 + 2)
    ));
    let f = evaluations(&engine, req.paths, &columns, req.metric);
    if f.iter().flatten().any(|x| !x.is_finite()) {
        return Err(StudyError::Request(format!(
            "{} is not finite on some path; Sobol indices need a finite metric",
            req.metric.name()
        )));
    }
    let all: Vec<usize> = (0..f.len()).collect();
    let names: Vec<String> = names
        .into_iter()
        .chain(std::iter::once(NOISE_FACTOR.to_string()))
        .collect();
    let resamples =
        crate::paired::bootstrap_resamples(req.seed, BOOTSTRAP_STREAM, req.bootstrap, f.len());
    let (_, _, mean, variance) = indices(&f, &all, 0);
    let mut out: Vec<SobolIndex> = names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let (s1, st, _, _) = indices(&f, &all, j);
            let boot: Vec<(f64, f64)> = resamples
                .iter()
                .map(|idx| {
                    let (a, b, _, _) = indices(&f, idx, j);
                    (a, b)
                })
                .collect();
            SobolIndex {
                factor: name.clone(),
                first: s1,
                first_ci95: interval(boot.iter().map(|x| x.0).collect()),
                total: st,
                total_ci95: interval(boot.iter().map(|x| x.1).collect()),
            }
        })
        .collect();
    out.sort_by(|a, b| b.total.total_cmp(&a.total));
    Ok(SobolReport {
        scenario: sc.name.clone(),
        plan,
        metric: req.metric,
        paths: req.paths,
        seed: req.seed,
        mean,
        variance,
        indices: out,
        correlated_inputs: !sc.correlations.is_empty(),
    })
}

/// JSON (`gigawatt-sobol` v1).
pub fn json(r: &SobolReport) -> Value {
    json!({
        "format": "gigawatt-sobol",
        "format_version": 1,
        "scenario": r.scenario,
        "plan": r.plan,
        "metric": r.metric.name(),
        "paths": r.paths,
        "seed": r.seed,
        "mean": num(r.mean),
        "variance": num(r.variance),
        "estimators": {"first_order": "Saltelli 2010", "total_order": "Jansen 1999", "interval": "bootstrap percentile, 95 %"},
        "correlated_inputs_sampled_independently": r.correlated_inputs,
        "indices": r.indices.iter().map(|i| json!({
            "factor": i.factor,
            "first_order": num(i.first), "first_order_ci95": [num(i.first_ci95.0), num(i.first_ci95.1)],
            "total_order": num(i.total), "total_order_ci95": [num(i.total_ci95.0), num(i.total_ci95.1)],
        })).collect::<Vec<_>>(),
    })
}

/// CSV: one row per factor, largest total index first.
pub fn csv(r: &SobolReport) -> String {
    let mut s = String::from(
        "factor,first_order,first_order_ci95_low,first_order_ci95_high,total_order,total_order_ci95_low,total_order_ci95_high\n",
    );
    for i in &r.indices {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{}",
            csv_field(&i.factor),
            csv_num(i.first),
            csv_num(i.first_ci95.0),
            csv_num(i.first_ci95.1),
            csv_num(i.total),
            csv_num(i.total_ci95.0),
            csv_num(i.total_ci95.1)
        );
    }
    s
}

/// The terminal table.
pub fn text(r: &SobolReport) -> String {
    let mut s = format!(
        "Sobol indices of {} for plan `{}` of `{}`: {} paths per sample, seed {}; first order (alone) and total (with interactions), 95 % bootstrap intervals\n\n",
        r.metric.name(),
        r.plan,
        r.scenario,
        r.paths,
        r.seed
    );
    let _ = writeln!(
        s,
        "  {:<36} {:>22} {:>22}",
        "factor", "first order", "total order"
    );
    let f = |x: f64, ci: (f64, f64)| format!("{x:.3} [{:.3}, {:.3}]", ci.0, ci.1);
    for i in &r.indices {
        let _ = writeln!(
            s,
            "  {:<36} {:>22} {:>22}",
            i.factor,
            f(i.first, i.first_ci95),
            f(i.total, i.total_ci95)
        );
    }
    let sum: f64 = r.indices.iter().map(|i| i.first).sum();
    let _ = writeln!(
        s,
        "\nfirst-order indices sum to {sum:.3}; the rest of the variance comes from interactions."
    );
    if r.correlated_inputs {
        s.push_str("note: the scenario correlates some inputs; here they are sampled independently, as Sobol indices require.\n");
    }
    s
}
