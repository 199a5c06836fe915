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

/// The per-path metric rows of one plan (`plan`: a selection from [`crate::chosen_plan`]) with
/// `overrides` held, and the plan's name.
pub(crate) fn per_path_rows(
    sc: &gigawatt_model::ValidScenario,
    plan: &[String],
    paths: u64,
    seed: u64,
    overrides: Vec<(String, f64)>,
) -> Result<(String, Vec<[f64; gigawatt_sim::NUM_METRICS]>), StudyError> {
    let run = SimulateRequest {
        plans: plan.to_vec(),
        baseline: false,
        per_path: true,
        overrides,
        ..SimulateRequest::new(paths, seed)
    };
    let r = crate::simulate(sc, &run, &crate::Quiet)?;
    let name = r.plans[0].name.clone();
    Ok((
        name,
        r.per_path
            .iter()
            .filter(|p| p.plan == 0)
            .map(|p| p.metrics)
            .collect(),
    ))
}

/// Paired differences (b − a) of every metric of [`DIFF_METRICS`] (all but the first profitable
/// year, whose "never" has no difference) over rows of the same paths.
pub fn paired_metrics(
    a: &[[f64; gigawatt_sim::NUM_METRICS]],
    b: &[[f64; gigawatt_sim::NUM_METRICS]],
) -> Vec<PairedMetric> {
    DIFF_METRICS
        .iter()
        .map(|id| {
            let i = id.index();
            let xa: Vec<f64> = a.iter().map(|r| r[i]).collect();
            let xb: Vec<f64> = b.iter().map(|r| r[i]).collect();
            let d: Vec<f64> = xb.iter().zip(&xa).map(|(y, x)| y - x).collect();
            let (difference, se) = stats(&d);
            PairedMetric {
                metric: *id,
                a: stats(&xa).0,
                b: stats(&xb).0,
                difference,
                se,
            }
        })
        .collect()
}

/// Unpaired differences (mean of b − mean of a, standard error √(se_a² + se_b²)) of every metric
/// of [`DIFF_METRICS`] over rows of independent runs.
pub fn unpaired_metrics(
    a: &[[f64; gigawatt_sim::NUM_METRICS]],
    b: &[[f64; gigawatt_sim::NUM_METRICS]],
) -> Vec<PairedMetric> {
    DIFF_METRICS
        .iter()
        .map(|id| {
            let i = id.index();
            let (ma, sa) = stats(&a.iter().map(|r| r[i]).collect::<Vec<_>>());
            let (mb, sb) = stats(&b.iter().map(|r| r[i]).collect::<Vec<_>>());
            PairedMetric {
                metric: *id,
                a: ma,
                b: mb,
                difference: mb - ma,
                se: (sa * sa + sb * sb).sqrt(),
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
