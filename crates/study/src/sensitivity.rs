//! Which inputs drive a metric: the tornado.
//!
//! For each uncertain input, the metric's expectation is estimated twice on the same paths
//! (common random numbers): once with the input held at its 10th percentile and once at its
//! 90th, while every other input stays random. The swing is the difference of the two means;
//! its standard error comes from the per-path differences, which common random numbers make
//! small. Inputs are sorted by the size of the swing. This is the "others random" tornado.
//!
//! The classic variant ([`TornadoRequest::others_at_median`]) evaluates the plan once on the
//! median case (every input at its median, no month-by-month noise: the scenario's named-case
//! evaluation) with one input moved to its low and high percentile: a deterministic number, so
//! its standard errors are zero. It answers "what if only this input were off", while the
//! default answers "what does fixing this input do to the expectation".

use std::fmt::Write as _;

use gigawatt_model::ValidScenario;
use gigawatt_sim::MetricId;
use serde_json::{json, Value};

use crate::render::num;

use crate::paired::{per_plan_rows, stats, Held};
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
    /// The classic variant: every other input at its median and no noise (one evaluation per
    /// bar end) instead of random on common random numbers.
    pub others_at_median: bool,
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
    /// True for the classic variant (others at their median, no noise).
    pub others_at_median: bool,
    /// The metric's mean with every input random.
    pub base_mean: f64,
    /// Its standard error.
    pub base_se: f64,
    /// One bar per uncertain input, largest swing first.
    pub bars: Vec<Bar>,
}

/// The per-path values of the requested metric for each plan of `selection` (all on the same
/// paths) over a run with `overrides`.
fn per_path(
    sc: &ValidScenario,
    req: &TornadoRequest,
    selection: &[String],
    overrides: Vec<(String, f64)>,
) -> Result<Vec<Vec<f64>>, StudyError> {
    let (_, rows) = per_plan_rows(sc, selection, req.paths, req.seed, Held::at(overrides))?;
    let m = req.metric.index();
    Ok(rows
        .iter()
        .map(|plan| plan.iter().map(|r| r[m]).collect())
        .collect())
}

/// The metric of each of the engine's plans on the median case (every input at its median, no
/// noise) with `overrides` applied.
fn median_case(
    engine: &gigawatt_sim::Engine,
    overrides: &[(String, f64)],
    metric: MetricId,
) -> Result<Vec<Vec<f64>>, StudyError> {
    let mut d = gigawatt_sim::Draws::default();
    engine
        .draw_case(0, overrides, &mut d)
        .map_err(StudyError::Scenario)?;
    let mut scratch = gigawatt_sim::Scratch::default();
    (0..engine.plans.len())
        .map(|p| {
            let mut o = gigawatt_sim::PathOutcome::default();
            engine.run_plan(p, &d, &mut scratch, false, &mut o);
            Ok(vec![gigawatt_sim::metric_values(&o)[metric.index()]])
        })
        .collect()
}

/// A factor of an analysis: its name and its inputs (name, engine index), moved together.
pub(crate) type Factor = (String, Vec<(String, usize)>);

/// A factor's inputs held at their `u`-quantile, as overrides by name.
pub(crate) fn held_at(
    engine: &gigawatt_sim::Engine,
    members: &[(String, usize)],
    u: f64,
) -> Vec<(String, f64)> {
    members
        .iter()
        .map(|(m, i)| (m.clone(), engine.input_quantile(*i, u)))
        .collect()
}

/// The factors of a tornado or spider: one per uncertain input, then one per `[[groups]]` entry
/// (named `group NAME`, its inputs moved together).
pub(crate) fn factors(sc: &ValidScenario, engine: &gigawatt_sim::Engine) -> Vec<Factor> {
    let mut factors: Vec<Factor> = engine
        .uncertain_inputs()
        .into_iter()
        .map(|(name, i)| (name.clone(), vec![(name, i)]))
        .collect();
    for g in &sc.groups {
        let members = crate::group_members(sc, engine, &g.name).unwrap_or_default();
        factors.push((format!("group {}", g.name), members));
    }
    factors
}

/// The tornado: every uncertain input held at its low and high percentile in turn.
pub fn tornado(
    sc: &ValidScenario,
    req: &TornadoRequest,
    progress: &dyn Progress,
) -> Result<TornadoReport, StudyError> {
    let mut all = tornadoes(sc, req, &[], progress)?;
    Ok(all.remove(0))
}

/// Tornadoes of several plans at once (`plans`; empty: `req.plan` alone), every plan on the
/// same runs: one simulation per bar end evaluates them all, so the plans' bars are paired.
pub fn tornadoes(
    sc: &ValidScenario,
    req: &TornadoRequest,
    plans: &[String],
    progress: &dyn Progress,
) -> Result<Vec<TornadoReport>, StudyError> {
    let (lo, hi) = req.low_high;
    if !(0.0 < lo && lo < hi && hi < 1.0) {
        return Err(StudyError::Request(format!(
            "the low and high percentiles must satisfy 0 < low < high < 1 (got {lo} and {hi})"
        )));
    }
    crate::require_mean_metric(req.metric)?;
    let (names, selection) = if plans.is_empty() {
        let (name, selection) = crate::chosen_plan(sc, req.plan.as_deref());
        (vec![name], selection)
    } else {
        let mut seen = std::collections::HashSet::new();
        if let Some(p) = plans.iter().find(|p| !seen.insert(p.as_str())) {
            return Err(StudyError::Request(format!(
                "plan `{p}` is asked for twice"
            )));
        }
        (plans.to_vec(), plans.to_vec())
    };
    let probe = SimulateRequest {
        plans: selection.clone(),
        baseline: false,
        ..SimulateRequest::new(req.paths, req.seed)
    };
    let (_, engine) = crate::engine_for(sc, &probe)?;
    // Per bar end and plan: the metric on every path (others random), or on the median case.
    let run = |overrides: Vec<(String, f64)>| -> Result<Vec<Vec<f64>>, StudyError> {
        if req.others_at_median {
            median_case(&engine, &overrides, req.metric)
        } else {
            per_path(sc, req, &selection, overrides)
        }
    };
    let base = run(Vec::new())?;
    let factors = factors(sc, &engine);
    let mut bars: Vec<Vec<Bar>> = vec![Vec::with_capacity(factors.len()); names.len()];
    for (k, (name, members)) in factors.iter().enumerate() {
        progress.note(&format!("factor {} of {}: {name}", k + 1, factors.len()));
        let at = |u: f64| held_at(&engine, members, u);
        // A group's bar shows its first input's values.
        let first = |v: Vec<(String, f64)>| v.first().map_or(f64::NAN, |x| x.1);
        let (value_low, value_high) = (first(at(lo)), first(at(hi)));
        let low = run(at(lo))?;
        let high = run(at(hi))?;
        for (p, plan_bars) in bars.iter_mut().enumerate() {
            let diff: Vec<f64> = high[p].iter().zip(&low[p]).map(|(h, l)| h - l).collect();
            let (swing, swing_se) = if req.others_at_median {
                (diff[0], 0.0)
            } else {
                stats(&diff)
            };
            plan_bars.push(Bar {
                input: name.clone(),
                value_low,
                value_high,
                mean_low: stats(&low[p]).0,
                mean_high: stats(&high[p]).0,
                swing,
                swing_se,
            });
        }
        progress.paths_done(k as u64 + 1, factors.len() as u64);
    }
    Ok(names
        .into_iter()
        .zip(bars)
        .zip(base)
        .map(|((plan, mut bars), base)| {
            bars.sort_by(|a, b| b.swing.abs().total_cmp(&a.swing.abs()));
            let (base_mean, base_se) = if req.others_at_median {
                (base[0], 0.0)
            } else {
                stats(&base)
            };
            TornadoReport {
                others_at_median: req.others_at_median,
                scenario: sc.name.clone(),
                plan,
                metric: req.metric,
                paths: req.paths,
                seed: req.seed,
                low_high: req.low_high,
                base_mean,
                base_se,
                bars,
            }
        })
        .collect())
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
        "method": if r.others_at_median { "others_at_median" } else { "others_random" },
        "base": {"mean": num(r.base_mean), "se": num(r.base_se)},
        "bars": r.bars.iter().map(|b| json!({
            "input": b.input, "value_low": num(b.value_low), "value_high": num(b.value_high),
            "mean_low": num(b.mean_low), "mean_high": num(b.mean_high),
            "swing": num(b.swing), "swing_se": num(b.swing_se),
        })).collect::<Vec<_>>(),
    })
}

/// CSV: one row per plan and bar (plan, input, value_low, value_high, mean_low, mean_high,
/// swing, swing_se), each plan's largest swing first.
pub fn csv(r: &TornadoReport) -> String {
    csv_all(std::slice::from_ref(r))
}

/// [`csv`] of several plans' tornadoes in one table.
pub fn csv_all(reports: &[TornadoReport]) -> String {
    use crate::render::{csv_field, csv_num};
    let mut s = String::from("plan,input,value_low,value_high,mean_low,mean_high,swing,swing_se\n");
    for r in reports {
        for b in &r.bars {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{}",
                csv_field(&r.plan),
                csv_field(&b.input),
                csv_num(b.value_low),
                csv_num(b.value_high),
                csv_num(b.mean_low),
                csv_num(b.mean_high),
                csv_num(b.swing),
                csv_num(b.swing_se)
            );
        }
    }
    s
}

/// JSON of several plans' tornadoes: one plan's is [`json`]; several make a
/// `gigawatt-tornado-set` v1 whose `reports` are each plan's `gigawatt-tornado`.
pub fn json_all(reports: &[TornadoReport]) -> Value {
    match reports {
        [one] => json(one),
        _ => json!({
            "format": "gigawatt-tornado-set",
            "format_version": 1,
            "reports": reports.iter().map(json).collect::<Vec<_>>(),
        }),
    }
}

/// The terminal tables of several plans' tornadoes, then (for more than one) the swings side by
/// side, factors in the first plan's order.
pub fn text_all(reports: &[TornadoReport]) -> String {
    let mut s = reports.iter().map(text).collect::<Vec<_>>().join("\n");
    let Some(first) = reports.first().filter(|_| reports.len() > 1) else {
        return s;
    };
    let money = first.metric.name().ends_with("_usd");
    let largest = reports
        .iter()
        .flat_map(|r| r.bars.iter().map(|b| b.swing.abs()))
        .filter(|x| x.is_finite())
        .fold(0.0, f64::max);
    let (unit, label) = if money {
        crate::render::row_money_unit(largest)
    } else {
        (0.01, "%")
    };
    let _ = writeln!(
        s,
        "\nswing of {} ({label}) by plan, ± standard error; the same paths for every plan\n",
        first.metric.name()
    );
    let width = first
        .bars
        .iter()
        .map(|b| b.input.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = write!(s, "  {:<width$}", "input");
    for r in reports {
        let _ = write!(s, " {:>22}", r.plan);
    }
    s.push('\n');
    for b in &first.bars {
        let _ = write!(s, "  {:<width$}", b.input);
        for r in reports {
            let cell = r.bars.iter().find(|x| x.input == b.input).map_or_else(
                || "n/a".to_string(),
                |x| {
                    format!(
                        "{:.2} ± {:.2}",
                        x.swing / unit + 0.0,
                        x.swing_se / unit + 0.0
                    )
                },
            );
            let _ = write!(s, " {cell:>22}");
        }
        s.push('\n');
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
    let mut s = if r.others_at_median {
        format!(
            "tornado of {name} ({label}) for plan `{}` of `{}`: each input at its p{:.0} and p{:.0}, every other input at its median and no noise (one evaluation each, exact)\n",
            r.plan,
            r.scenario,
            r.low_high.0 * 100.0,
            r.low_high.1 * 100.0,
        )
    } else {
        format!(
            "tornado of {name} ({label}) for plan `{}` of `{}`: each input held at its p{:.0} and p{:.0}, the others random; {} paths, seed {}, the same paths in every run\n",
            r.plan,
            r.scenario,
            r.low_high.0 * 100.0,
            r.low_high.1 * 100.0,
            r.paths,
            r.seed
        )
    };
    if r.others_at_median {
        let _ = writeln!(s, "every input at its median: {}\n", f(r.base_mean));
    } else {
        let _ = writeln!(
            s,
            "all inputs random: {} ± {}\n",
            f(r.base_mean),
            f(r.base_se)
        );
    }
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

/// What [`break_even`] is asked to find: the value of one input at which a plan's expected
/// metric equals a target (0 by default) or equals another plan's.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakEvenRequest {
    /// Paths per run (every run on the same paths).
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// The input searched over (its `id` or field path), or with `scale` the driver multiplied
    /// (a `[[groups]]` name, an input, or a field-path prefix: see [`crate::driver_inputs`]).
    pub input: String,
    /// Search over a factor k multiplying every input of the driver `input` (demand growth × k)
    /// instead of over the value of one input.
    pub scale: bool,
    /// The range searched (None: the input's p1 to p99, or factors 0.5 to 2 with `scale`).
    pub range: Option<(f64, f64)>,
    /// The plan (None: the scenario's first plan).
    pub plan: Option<String>,
    /// Compare with this plan instead of a fixed target: find where the two means are equal.
    pub versus: Option<String>,
    /// The metric.
    pub metric: MetricId,
    /// The value the plan's mean metric should reach (ignored with `versus`).
    pub target: f64,
    /// Stop when the bracket is narrower than this share of the searched range.
    pub tolerance_pu: f64,
}

/// Where the break-even lies.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakEven {
    /// The input, or the driver with `scale`.
    pub input: String,
    /// True when the search was over a factor on the driver's inputs (`members`).
    pub scale: bool,
    /// The inputs the factor multiplies (empty without `scale`).
    pub members: Vec<String>,
    /// The range searched: the input's p1 to p99 unless asked otherwise (factors with `scale`).
    pub range: (f64, f64),
    /// The gap (plan's mean − target, or − the other plan's mean) at both ends of the range.
    pub gap_at_ends: (f64, f64),
    /// The break-even value, when the gap changes sign inside the range.
    pub value: Option<f64>,
    /// The input's percentile at that value (its share of outcomes below it; None with
    /// `scale`).
    pub percentile: Option<f64>,
    /// 95 % interval of the break-even value from the Monte Carlo error: the gap's standard
    /// error at the final bracket over the gap's slope there (delta method).
    pub ci95: Option<(f64, f64)>,
    /// The bisection steps: (input value, gap, standard error of the gap).
    pub steps: Vec<(f64, f64, f64)>,
    /// Plan, the other plan (if any), metric and target.
    pub plan: String,
    /// See `plan`.
    pub versus: Option<String>,
    /// See `plan`.
    pub metric: MetricId,
    /// See `plan`.
    pub target: f64,
}

/// The gap at input value `x`: mean over paths of the plan's metric minus the target (or minus
/// the other plan's metric, path by path), with its standard error.
fn gap_at(
    sc: &ValidScenario,
    req: &BreakEvenRequest,
    selection: &[String],
    x: f64,
) -> Result<(f64, f64), StudyError> {
    let mut plans = selection.to_vec();
    if let Some(v) = &req.versus {
        plans.push(v.clone());
    }
    let at_x = vec![(req.input.clone(), x)];
    let held = if req.scale {
        Held {
            overrides: Vec::new(),
            scales: at_x,
        }
    } else {
        Held::at(at_x)
    };
    let (_, rows) = per_plan_rows(sc, &plans, req.paths, req.seed, held)?;
    let m = req.metric.index();
    let gaps: Vec<f64> = match rows.get(1) {
        Some(other) => rows[0]
            .iter()
            .zip(other)
            .map(|(a, b)| a[m] - b[m])
            .collect(),
        None => rows[0].iter().map(|a| a[m] - req.target).collect(),
    };
    if gaps.iter().any(|g| !g.is_finite()) {
        return Err(StudyError::Request(format!(
            "{} is not finite on some path at {} {x}: narrow the range searched",
            req.metric.name(),
            if req.scale { "factor" } else { "value" }
        )));
    }
    Ok(stats(&gaps))
}

/// The secant slope of the gap over the narrowest pair of evaluated points (x, gap, se) on either
/// side of `v` at least `min_width` apart.
fn local_slope(steps: &[(f64, f64, f64)], v: f64, min_width: f64) -> Option<f64> {
    let mut best: Option<(f64, f64)> = None;
    for l in steps.iter().filter(|s| s.0 <= v) {
        for r in steps.iter().filter(|s| s.0 >= v) {
            let width = r.0 - l.0;
            if width >= min_width && best.is_none_or(|(w, _)| width < w) {
                best = Some((width, (r.1 - l.1) / width));
            }
        }
    }
    best.map(|b| b.1)
}

/// Finds by bisection, on common random numbers, the value of one input between its p1 and p99
/// at which a plan's expected metric reaches a target or another plan's. The gap is assumed
/// monotone in the input; when it has the same sign at both ends there is no break-even in the
/// range, and the report says so.
pub fn break_even(
    sc: &ValidScenario,
    req: &BreakEvenRequest,
    progress: &dyn Progress,
) -> Result<BreakEven, StudyError> {
    crate::require_mean_metric(req.metric)?;
    if !(req.tolerance_pu > 0.0 && req.tolerance_pu < 1.0) {
        return Err(StudyError::Request(
            "the tolerance must be a share of the range between 0 and 1".into(),
        ));
    }
    let (plan, selection, engine) =
        crate::plan_engine(sc, req.plan.as_deref(), req.paths, req.seed)?;
    let (i, members) = if req.scale {
        let members = crate::driver_inputs(sc, &engine, &req.input)?;
        (None, members.into_iter().map(|m| m.0).collect())
    } else {
        let i = engine.input_named(&req.input).ok_or_else(|| {
            StudyError::Request(format!(
                "no uncertain input is named `{}`: give an input's `id` or its field path (or search a factor on a driver)",
                req.input
            ))
        })?;
        (Some(i), Vec::new())
    };
    let (lo, hi) = match (req.range, i) {
        (Some(r), _) => r,
        (None, Some(i)) => (
            engine.input_quantile(i, 0.01),
            engine.input_quantile(i, 0.99),
        ),
        (None, None) => (0.5, 2.0),
    };
    if !(lo.is_finite() && hi.is_finite())
        || hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater)
    {
        return Err(StudyError::Request(if req.range.is_some() {
            format!(
                "the range searched must be two finite numbers, low below high (got {lo} to {hi})"
            )
        } else {
            format!("input `{}` is fixed: there is nothing to search over (give a range, or search a factor on it)", req.input)
        }));
    }
    if req.scale && lo < 0.0 {
        return Err(StudyError::Request(format!(
            "a factor on a driver must be at least 0 (the range starts at {lo})"
        )));
    }
    let mut steps = Vec::new();
    let (g_lo, s_lo) = gap_at(sc, req, &selection, lo)?;
    let (g_hi, s_hi) = gap_at(sc, req, &selection, hi)?;
    steps.push((lo, g_lo, s_lo));
    steps.push((hi, g_hi, s_hi));
    let mut value = None;
    let mut ci95 = None;
    if g_lo == 0.0 {
        value = Some(lo);
    } else if g_hi == 0.0 {
        value = Some(hi);
    } else if (g_lo < 0.0) != (g_hi < 0.0) {
        let (mut a, mut b, mut ga) = (lo, hi, g_lo);
        while b - a > req.tolerance_pu * (hi - lo) {
            let mid = 0.5 * (a + b);
            let (g, s) = gap_at(sc, req, &selection, mid)?;
            progress.note(&format!("{} = {mid:.6e}: gap {g:.6e} ± {s:.2e}", req.input));
            steps.push((mid, g, s));
            if (g < 0.0) == (ga < 0.0) {
                a = mid;
                ga = g;
            } else {
                b = mid;
            }
        }
        // Linear interpolation inside the final bracket.
        let at = |x: f64| steps.iter().rev().find(|s| s.0 == x).copied();
        let gb = at(b).map_or(g_hi, |s| s.1);
        let v = if gb != ga {
            a + (b - a) * ga / (ga - gb)
        } else {
            0.5 * (a + b)
        };
        value = Some(v);
        // The gap's local slope and its standard error at the bracket's ends:
        // x* ± 1.96 · se / |slope|. The slope is the secant over the narrowest evaluated pair
        // around x* that spans at least 2 % of the range: local, so a gap that bends far away
        // (growth × 2 compounding) does not distort it, and wide enough that a step in the gap
        // (a discrete event switching on) does not make it vanish or explode.
        let slope = local_slope(&steps, v, 0.02 * (hi - lo)).unwrap_or((g_hi - g_lo) / (hi - lo));
        let se = at(a).map_or(s_lo, |s| s.2).max(at(b).map_or(s_hi, |s| s.2));
        if slope != 0.0 && se.is_finite() {
            let half = crate::report::Z95 * se / slope.abs();
            ci95 = Some(((v - half).max(lo), (v + half).min(hi)));
        }
    }
    let percentile = value.zip(i).map(|(v, i)| {
        // The input's percentile at v, by bisection on its quantile function.
        let (mut p, mut q) = (0.0, 1.0);
        for _ in 0..60 {
            let m = 0.5 * (p + q);
            if engine.input_quantile(i, m) < v {
                p = m;
            } else {
                q = m;
            }
        }
        0.5 * (p + q)
    });
    Ok(BreakEven {
        input: req.input.clone(),
        scale: req.scale,
        members,
        range: (lo, hi),
        gap_at_ends: (g_lo, g_hi),
        value,
        percentile,
        ci95,
        steps,
        plan,
        versus: req.versus.clone(),
        metric: req.metric,
        target: req.target,
    })
}

/// JSON (`gigawatt-break-even` v2: the range's ends are `low` and `high`, since a range can be
/// asked for or be one of factors).
pub fn break_even_json(r: &BreakEven) -> Value {
    json!({
        "format": "gigawatt-break-even",
        "format_version": 2,
        "input": r.input,
        "search": if r.scale { "factor" } else { "value" },
        "members": r.members,
        "plan": r.plan,
        "versus": r.versus,
        "metric": r.metric.name(),
        "target": if r.versus.is_some() { Value::Null } else { num(r.target) },
        "range": {"low": num(r.range.0), "high": num(r.range.1)},
        "gap_at_ends": {"low": num(r.gap_at_ends.0), "high": num(r.gap_at_ends.1)},
        "break_even_value": r.value.map_or(Value::Null, num),
        "break_even_percentile": r.percentile.map_or(Value::Null, num),
        "break_even_ci95": r.ci95.map_or(Value::Null, |c| json!([num(c.0), num(c.1)])),
        "steps": r.steps.iter().map(|(x, g, s)| json!({"value": num(*x), "gap": num(*g), "se": num(*s)})).collect::<Vec<_>>(),
    })
}

/// The terminal summary of a break-even search.
pub fn break_even_text(r: &BreakEven) -> String {
    let what = match &r.versus {
        Some(v) => format!(
            "`{}` and `{v}` have the same expected {}",
            r.plan,
            r.metric.name()
        ),
        None => format!(
            "`{}` has an expected {} of {}",
            r.plan,
            r.metric.name(),
            r.target
        ),
    };
    let ci = r.ci95.map_or(String::new(), |c| {
        format!(", 95 % interval {:.6e} to {:.6e}", c.0, c.1)
    });
    let subject = if r.scale {
        format!("{} × k ({})", r.input, r.members.join(", "))
    } else {
        r.input.clone()
    };
    let var = if r.scale { "k" } else { r.input.as_str() };
    let mut s = match r.value {
        Some(v) => format!(
            "break-even: {what} when {var} = {v:.6e}{}{ci}; searched {:.6e} to {:.6e}\n",
            r.percentile
                .map_or(String::new(), |p| format!(" (its p{:.0})", p * 100.0)),
            r.range.0,
            r.range.1
        ),
        None => format!(
            "no break-even for {subject} between {:.6e} and {:.6e}: the gap is {:.6e} and {:.6e} at the two ends, the same sign; widen the range or choose another target\n",
            r.range.0, r.range.1, r.gap_at_ends.0, r.gap_at_ends.1
        ),
    };
    if r.scale && r.value.is_some() {
        let _ = writeln!(
            s,
            "  k multiplies every input of `{}`: {}",
            r.input,
            r.members.join(", ")
        );
    }
    let _ = writeln!(
        s,
        "  {:>14} {:>14} {:>12}",
        if r.scale { "factor" } else { "value" },
        // Metrics are per-unit shares unless their name ends in _usd.
        if r.metric.name().ends_with("_usd") {
            "gap, USD"
        } else {
            "gap, share"
        },
        "se"
    );
    let mut steps = r.steps.clone();
    steps.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (x, g, e) in steps {
        let _ = writeln!(s, "  {x:>14.6e} {g:>14.6e} {e:>12.3e}");
    }
    s
}
