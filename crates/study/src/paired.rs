//! Two runs of the same paths compared metric by metric: per-path rows in, paired differences
//! out, and their table. Shared by `counterfactual` (with − without an event) and `compare`
//! (second file − first).

use std::fmt::Write as _;

use gigawatt_sim::{MetricId, DIFF_METRICS};

use crate::{SimulateRequest, StudyError};

/// One metric in two runs on the same paths.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedMetric {
    /// The metric.
    pub metric: MetricId,
    /// Mean in the first run.
    pub a: f64,
    /// Mean in the second run.
    pub b: f64,
    /// Mean of (b − a) over paths.
    pub difference: f64,
    /// Its standard error.
    pub se: f64,
}

impl PairedMetric {
    /// The 95 % confidence interval of the difference.
    pub fn ci95(&self) -> (f64, f64) {
        let h = crate::report::Z95 * self.se;
        (self.difference - h, self.difference + h)
    }
}

/// Mean and standard error of the mean (NaN with fewer than two values).
/// `count` bootstrap resamples of the indices 0..n (with replacement), from the stream that
/// starts at `mix(seed ^ stream)`: reproducible for a seed, the same on any thread count.
pub(crate) fn bootstrap_resamples(
    seed: u64,
    stream: u64,
    count: usize,
    n: usize,
) -> Vec<Vec<usize>> {
    use gigawatt_sim::sample::mix;
    let mut state = mix(seed ^ stream);
    (0..count)
        .map(|_| {
            (0..n)
                .map(|_| {
                    state = mix(state);
                    (state % n as u64) as usize
                })
                .collect()
        })
        .collect()
}

pub(crate) fn stats(xs: &[f64]) -> (f64, f64) {
    let m = gigawatt_risk::Moments::from_slice(xs);
    (m.mean(), crate::report::se_or_nan(&m))
}

/// One plan's metrics on every path, in path order.
pub(crate) type Rows = Vec<[f64; gigawatt_sim::NUM_METRICS]>;

/// The per-path metric rows of each plan of `plans` (a selection: empty is every plan of the
/// scenario; no baseline), all on the same paths, with the inputs of `held` held at values and
/// its drivers scaled; and the plans' names, in selection order.
pub(crate) fn per_plan_rows(
    sc: &gigawatt_model::ValidScenario,
    plans: &[String],
    paths: u64,
    seed: u64,
    held: Held,
) -> Result<(Vec<String>, Vec<Rows>), StudyError> {
    let run = SimulateRequest {
        plans: plans.to_vec(),
        baseline: false,
        per_path: true,
        overrides: held.overrides,
        scales: held.scales,
        ..SimulateRequest::new(paths, seed)
    };
    let r = crate::simulate(sc, &run, &crate::Quiet)?;
    let mut rows = vec![Vec::with_capacity(paths as usize); r.plans.len()];
    for p in &r.per_path {
        rows[p.plan].push(p.metrics);
    }
    Ok((r.plans.iter().map(|p| p.name.clone()).collect(), rows))
}

/// What a run of an analysis changes in the world: inputs held at a value, drivers scaled by a
/// factor (both by name, as [`SimulateRequest`] takes them).
#[derive(Debug, Clone, Default)]
pub(crate) struct Held {
    pub overrides: Vec<(String, f64)>,
    pub scales: Vec<(String, f64)>,
}

impl Held {
    /// Inputs held at values, nothing scaled.
    pub fn at(overrides: Vec<(String, f64)>) -> Held {
        Held {
            overrides,
            scales: Vec::new(),
        }
    }
}

/// The per-path metric rows of one plan (`plan`: a selection from [`crate::chosen_plan`]) with
/// `overrides` held, and the plan's name.
pub(crate) fn per_path_rows(
    sc: &gigawatt_model::ValidScenario,
    plan: &[String],
    paths: u64,
    seed: u64,
    overrides: Vec<(String, f64)>,
) -> Result<(String, Rows), StudyError> {
    let (mut names, mut rows) = per_plan_rows(sc, plan, paths, seed, Held::at(overrides))?;
    Ok((names.swap_remove(0), rows.swap_remove(0)))
}

/// Paired differences (b − a) of every metric of [`DIFF_METRICS`] (all but the first profitable
/// year, whose "never" has no difference) over rows of the same paths.
pub fn paired_metrics(
    a: &[[f64; gigawatt_sim::NUM_METRICS]],
    b: &[[f64; gigawatt_sim::NUM_METRICS]],
) -> Vec<PairedMetric> {
    metric_differences(a, b, true)
}

/// Unpaired differences (mean of b − mean of a, standard error √(se_a² + se_b²)) of every metric
/// of [`DIFF_METRICS`] over rows of independent runs.
pub fn unpaired_metrics(
    a: &[[f64; gigawatt_sim::NUM_METRICS]],
    b: &[[f64; gigawatt_sim::NUM_METRICS]],
) -> Vec<PairedMetric> {
    metric_differences(a, b, false)
}

/// Each metric's means in `a` and `b` and their difference b − a: path by path when `paired`
/// (its standard error from the per-path differences), else of the means (√(se_a² + se_b²)).
fn metric_differences(
    a: &[[f64; gigawatt_sim::NUM_METRICS]],
    b: &[[f64; gigawatt_sim::NUM_METRICS]],
    paired: bool,
) -> Vec<PairedMetric> {
    DIFF_METRICS
        .iter()
        .map(|id| {
            let i = id.index();
            let xa: Vec<f64> = a.iter().map(|r| r[i]).collect();
            let xb: Vec<f64> = b.iter().map(|r| r[i]).collect();
            let ((ma, sa), (mb, sb)) = (stats(&xa), stats(&xb));
            let (difference, se) = if paired {
                let d: Vec<f64> = xb.iter().zip(&xa).map(|(y, x)| y - x).collect();
                stats(&d)
            } else {
                (mb - ma, (sa * sa + sb * sb).sqrt())
            };
            PairedMetric {
                metric: *id,
                a: ma,
                b: mb,
                difference,
                se,
            }
        })
        .collect()
}

/// The table: metric, unit, the two means (under `head_a` and `head_b`) and the difference with
/// its 95 % interval (under `head_d`).
pub fn table(s: &mut String, heads: (&str, &str, &str), metrics: &[PairedMetric]) {
    let _ = writeln!(
        s,
        "  {:<24} {:>4} {:>12} {:>12} {:>26}",
        "metric", "unit", heads.0, heads.1, heads.2
    );
    for c in metrics {
        let (unit, label) = if c.metric.name().ends_with("_usd") {
            crate::render::row_money_unit(c.a.abs().max(c.b.abs()))
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
        let ci = if c.se.is_finite() {
            let (lo, hi) = c.ci95();
            format!("{} [{}, {}]", f(c.difference), f(lo), f(hi))
        } else {
            f(c.difference)
        };
        let _ = writeln!(
            s,
            "  {:<24} {:>4} {:>12} {:>12} {:>26}",
            c.metric.name(),
            label,
            f(c.a),
            f(c.b),
            ci
        );
    }
}
