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
//!
//! A group of inputs (a `[[groups]]` entry, or inputs joined by `+`) is learnt together; binning
//! does not extend to several dimensions, so a group's E(metric | inputs) comes from the
//! regression method of Strong and Oakley with a full quadratic in the standardised inputs
//! (each input, its square and every product of two) fitted per plan by least squares over the
//! paths. The same bootstrap corrects its upward bias and gives its standard error.

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
    /// Inputs (by `id` or field path), `[[groups]]` names, or inputs joined by `+` (learnt
    /// together); empty: every uncertain input and every group of the scenario.
    pub inputs: Vec<String>,
    /// The metric the choice maximises.
    pub metric: MetricId,
    /// Groups of paths per input (equal counts).
    pub bins: usize,
}

/// One input's value of information.
#[derive(Debug, Clone, PartialEq)]
pub struct EvppiRow {
    /// The input, or the group (`group NAME` or `A+B`).
    pub input: String,
    /// The inputs learnt (one, or a group's members).
    pub members: Vec<String>,
    /// How E(metric | inputs) was estimated: `binning` (one input) or `regression` (a group).
    pub method: &'static str,
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

/// An EVPPI estimate over a list of paths (all of them, or a bootstrap resample).
type Estimator<'a> = Box<dyn Fn(&[usize]) -> f64 + 'a>;

/// Most inputs in a group learnt together (a full quadratic in 8 inputs has 45 terms).
pub const MAX_GROUP_INPUTS: usize = 8;

/// The factors asked for: (name, [(input, engine index)]). Empty `asked`: every uncertain input,
/// then every `[[groups]]` entry.
fn chosen_factors(
    sc: &ValidScenario,
    engine: &gigawatt_sim::Engine,
    asked: &[String],
) -> Result<Vec<crate::sensitivity::Factor>, StudyError> {
    if asked.is_empty() {
        return Ok(crate::sensitivity::factors(sc, engine));
    }
    let input = |name: &str| {
        engine
            .input_named(name)
            .map(|i| (name.to_string(), i))
            .ok_or_else(|| {
                StudyError::Request(format!(
                    "no uncertain input or group is named `{name}`: give an input's `id` or field path, a [[groups]] name, or inputs joined by +"
                ))
            })
    };
    asked
        .iter()
        .map(|name| {
            let name = name.trim();
            let group = name.strip_prefix("group ").unwrap_or(name);
            if let Some(members) = crate::group_members(sc, engine, group) {
                Ok((format!("group {group}"), members))
            } else if name.contains('+') {
                let members = name
                    .split('+')
                    .map(|m| input(m.trim()))
                    .collect::<Result<_, _>>()?;
                Ok((name.to_string(), members))
            } else {
                Ok((name.to_string(), vec![input(name)?]))
            }
        })
        .map(|f: Result<crate::sensitivity::Factor, StudyError>| {
            let f = f?;
            if f.1.len() > MAX_GROUP_INPUTS {
                return Err(StudyError::Request(format!(
                    "`{}` has {} inputs; a group learnt together may have at most {MAX_GROUP_INPUTS} (its regression has a term for every pair)",
                    f.0,
                    f.1.len()
                )));
            }
            Ok(f)
        })
        .collect()
}

/// The full quadratic basis of a group's inputs on every path: 1, each standardised input, its
/// square and each product of two. A constant input adds nothing and is left out.
fn quadratic_basis(x: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = x.first().map_or(0, Vec::len);
    let z: Vec<Vec<f64>> = x
        .iter()
        .filter_map(|col| {
            let m = gigawatt_risk::Moments::from_slice(col);
            let sd = m.sd();
            (sd > 0.0 && sd.is_finite()).then(|| col.iter().map(|v| (v - m.mean()) / sd).collect())
        })
        .collect();
    let mut basis = vec![vec![1.0; n]];
    for (j, zj) in z.iter().enumerate() {
        basis.push(zj.clone());
        for zl in &z[j..] {
            basis.push(zj.iter().zip(zl).map(|(a, b)| a * b).collect());
        }
    }
    basis
}

/// The regression estimate over the paths listed: per plan, the least-squares fit of the metric
/// on `basis` (terms × paths) over those paths; the mean over them of the best fitted plan less
/// the best plan's mean.
fn regressed(v: &[Vec<f64>], basis: &[Vec<f64>], paths: &[usize]) -> f64 {
    let k = basis.len();
    let n = paths.len() as f64;
    let mut xtx = vec![0.0; k * k];
    for a in 0..k {
        for b in a..k {
            let s: f64 = paths.iter().map(|&i| basis[a][i] * basis[b][i]).sum();
            xtx[a * k + b] = s;
            xtx[b * k + a] = s;
        }
    }
    // A small ridge keeps the solve stable when terms are nearly collinear on a resample.
    let ridge = 1e-10 * (0..k).map(|a| xtx[a * k + a]).sum::<f64>() / k as f64;
    for a in 0..k {
        xtx[a * k + a] += ridge;
    }
    let Some(l) = cholesky(&xtx, k) else {
        return f64::NAN;
    };
    let mut fitted = vec![vec![0.0; paths.len()]; v.len()];
    let mut overall = f64::NEG_INFINITY;
    for (p, y) in v.iter().enumerate() {
        let xty: Vec<f64> = (0..k)
            .map(|a| paths.iter().map(|&i| basis[a][i] * y[i]).sum())
            .collect();
        let beta = cholesky_solve(&l, k, &xty);
        for (f, &i) in fitted[p].iter_mut().zip(paths) {
            *f = (0..k).map(|a| beta[a] * basis[a][i]).sum();
        }
        overall = overall.max(paths.iter().map(|&i| y[i]).sum::<f64>() / n);
    }
    let best: f64 = (0..paths.len())
        .map(|j| {
            fitted
                .iter()
                .map(|f| f[j])
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .sum::<f64>()
        / n;
    best - overall
}

/// The lower-triangular Cholesky factor of the symmetric `k × k` matrix `a` (row-major), or None
/// when it is not positive definite.
fn cholesky(a: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..=i {
            let s = a[i * k + j] - (0..j).map(|m| l[i * k + m] * l[j * k + m]).sum::<f64>();
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * k + i] = s.sqrt();
            } else {
                l[i * k + j] = s / l[j * k + j];
            }
        }
    }
    Some(l)
}

/// Solves L Lᵀ x = b for the factor from [`cholesky`].
fn cholesky_solve(l: &[f64], k: usize, b: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; k];
    for i in 0..k {
        y[i] = (b[i] - (0..i).map(|m| l[i * k + m] * y[m]).sum::<f64>()) / l[i * k + i];
    }
    let mut x = vec![0.0; k];
    for i in (0..k).rev() {
        x[i] = (y[i] - (i + 1..k).map(|m| l[m * k + i] * x[m]).sum::<f64>()) / l[i * k + i];
    }
    x
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
    let (names, rows) =
        crate::paired::per_plan_rows(sc, &[], req.paths, req.seed, crate::paired::Held::default())?;
    let (_, engine) = crate::engine_for(sc, &run)?;
    let n = req.paths as usize;
    let np = names.len();
    let m = req.metric.index();
    let v: Vec<Vec<f64>> = rows
        .iter()
        .map(|plan| plan.iter().map(|r| r[m]).collect())
        .collect();
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
    let factors = chosen_factors(sc, &engine, &req.inputs)?;
    let mut uniforms = Vec::with_capacity(n);
    for b in 0..req.paths.div_ceil(BLOCK) {
        let first = b * BLOCK;
        let (u, _) = engine.block_uniforms(first, BLOCK.min(req.paths - first) as usize);
        uniforms.extend(u);
    }
    let boots = crate::paired::bootstrap_resamples(req.seed, EVPPI_STREAM, BOOTSTRAP, n);
    let mut rows = Vec::with_capacity(factors.len());
    for (k, (name, members)) in factors.iter().enumerate() {
        progress.note(&format!("factor {} of {}: {name}", k + 1, factors.len()));
        // Each member's value on every path.
        let x: Vec<Vec<f64>> = members
            .iter()
            .map(|(_, i)| {
                uniforms
                    .iter()
                    .map(|u| engine.input_quantile(*i, u[*i]))
                    .collect()
            })
            .collect();
        let (method, estimate): (&'static str, Estimator) = if x.len() == 1 {
            let x = &x[0];
            let v = &v;
            let bins = req.bins;
            (
                "binning",
                Box::new(move |paths: &[usize]| {
                    let mut o = paths.to_vec();
                    o.sort_by(|a, b| x[*a].total_cmp(&x[*b]).then(a.cmp(b)));
                    binned(v, &o, bins)
                }),
            )
        } else {
            let basis = quadratic_basis(&x);
            let v = &v;
            (
                "regression",
                Box::new(move |paths: &[usize]| regressed(v, &basis, paths)),
            )
        };
        let all: Vec<usize> = (0..n).collect();
        let raw = estimate(&all);
        let boot: Vec<f64> = boots.iter().map(|b| estimate(b)).collect();
        let mean_boot = boot.iter().sum::<f64>() / boot.len() as f64;
        let se = (boot.iter().map(|e| (e - mean_boot).powi(2)).sum::<f64>()
            / (boot.len() - 1) as f64)
            .sqrt();
        let bias = mean_boot - raw;
        rows.push(EvppiRow {
            input: name.clone(),
            members: members.iter().map(|m| m.0.clone()).collect(),
            method,
            evppi: raw - bias,
            se,
            bias,
        });
        progress.paths_done(k as u64 + 1, factors.len() as u64);
    }
    rows.sort_by(|a, b| b.evppi.total_cmp(&a.evppi));
    Ok(EvppiReport {
        scenario: sc.name.clone(),
        metric: req.metric,
        paths: req.paths,
        seed: req.seed,
        best: names[best].clone(),
        plans: names.into_iter().zip(means).collect(),
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
        "estimator": "one input: one-level binning of paths by its value; a group: least-squares regression on a full quadratic in its inputs (Strong and Oakley); both: bootstrap bias correction and standard error",
        "inputs": r.rows.iter().map(|row| json!({
            "input": row.input, "members": row.members, "method": row.method, "evppi": num(row.evppi), "se": num(row.se), "bias_subtracted": num(row.bias),
        })).collect::<Vec<_>>(),
    })
}

/// CSV: input, method, evppi, se, bias_subtracted.
pub fn csv(r: &EvppiReport) -> String {
    let mut s = String::from("input,method,evppi,se,bias_subtracted\n");
    for row in &r.rows {
        let _ = writeln!(
            s,
            "{},{},{},{},{}",
            csv_field(&row.input),
            row.method,
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
    s.push_str("\nEVPPI: the expected gain of choosing the plan after learning the input; bias-corrected binning for one input, quadratic regression for a group (docs/explanation/sensitivity.md).\n");
    s
}
