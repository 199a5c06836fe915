//! What an event did: the same paths with and without it.
//!
//! A launch's occurrence and month have random streams of their own, keyed by its name, so
//! switching it off (probability 0) leaves every other draw of every path unchanged. The two runs
//! are then compared path by path: the effect of the event on each metric is the mean of
//! (with − without) over paths, with its paired standard error.

use std::fmt::Write as _;

use gigawatt_model::{Scenario, ValidScenario};
use gigawatt_sim::MetricId;
use serde_json::{json, Value};

use crate::{Progress, SimulateRequest, StudyError};

/// What [`counterfactual`] is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterfactualRequest {
    /// Paths.
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// The launch event switched off, by name.
    pub event: String,
    /// The plan (None: the scenario's first plan).
    pub plan: Option<String>,
}

/// The metrics a counterfactual reports.
pub const COUNTERFACTUAL_METRICS: [MetricId; 8] = [
    MetricId::Npv,
    MetricId::CumRevenue,
    MetricId::MinCash,
    MetricId::FundingGap,
    MetricId::UnservedShare,
    MetricId::ResearchDelivered,
    MetricId::Utilisation,
    MetricId::IdleCost,
];

/// One metric with and without the event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventEffect {
    /// The metric.
    pub metric: MetricId,
    /// Mean with the event as the scenario has it.
    pub with: f64,
    /// Mean with the event switched off.
    pub without: f64,
    /// Mean of (with − without) over paths: the event's effect.
    pub effect: f64,
    /// Its standard error.
    pub se: f64,
}

/// What an event did to a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterfactualReport {
    /// Scenario name.
    pub scenario: String,
    /// The plan.
    pub plan: String,
    /// The event and its probability in the scenario.
    pub event: String,
    /// See `event`.
    pub probability: f64,
    /// Paths and seed.
    pub paths: u64,
    /// See `paths`.
    pub seed: u64,
    /// Share of paths whose outcome the event changed (on the others it did not happen, or
    /// changed nothing).
    pub changed_share: f64,
    /// Per metric.
    pub effects: Vec<EventEffect>,
}

fn stats(xs: &[f64]) -> (f64, f64) {
    let m = gigawatt_risk::Moments::from_slice(xs);
    (m.mean(), if m.n > 1 { m.se() } else { f64::NAN })
}

/// Per-path metrics of one plan (rows of `metrics` in [`MetricId::ALL`] order).
fn per_path(
    sc: &ValidScenario,
    req: &CounterfactualRequest,
    plan: &[String],
) -> Result<Vec<[f64; 9]>, StudyError> {
    let run = SimulateRequest {
        plans: plan.to_vec(),
        baseline: false,
        per_path: true,
        ..SimulateRequest::new(req.paths, req.seed)
    };
    let r = crate::simulate(sc, &run, &crate::Quiet)?;
    Ok(r.per_path
        .iter()
        .filter(|p| p.plan == 0)
        .map(|p| p.metrics)
        .collect())
}

/// Simulates the plan with and without the launch `req.event` on the same paths.
pub fn counterfactual(
    sc: &ValidScenario,
    req: &CounterfactualRequest,
    progress: &dyn Progress,
) -> Result<CounterfactualReport, StudyError> {
    let mut without = Scenario::clone(sc);
    let mut probability = None;
    for seg in &mut without.segments {
        for l in &mut seg.launches {
            if l.name == req.event {
                probability = Some(l.probability_pu);
                l.probability_pu = 0.0;
            }
        }
    }
    let Some(probability) = probability else {
        let names: Vec<&str> = sc
            .segments
            .iter()
            .flat_map(|s| s.launches.iter().map(|l| l.name.as_str()))
            .collect();
        return Err(StudyError::Request(format!(
            "no launch is named `{}`; the scenario's launches: {}",
            req.event,
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )));
    };
    let without = crate::revalidate(without)?;
    let plan = req.plan.clone().unwrap_or_else(|| {
        sc.plans
            .first()
            .map_or(gigawatt_sim::DEFAULT_PLAN.to_string(), |p| p.name.clone())
    });
    let selection = if sc.plans.is_empty() && req.plan.is_none() {
        Vec::new()
    } else {
        vec![plan.clone()]
    };
    progress.note(&format!(
        "simulating `{plan}` with and without `{}` on the same {} paths...",
        req.event, req.paths
    ));
    let with_rows = per_path(sc, req, &selection)?;
    let without_rows = per_path(&without, req, &selection)?;
    // Where the event happened, the two paths differ in demand; elsewhere they are identical.
    let changed = with_rows
        .iter()
        .zip(&without_rows)
        .filter(|(a, b)| a != b)
        .count();
    let effects = COUNTERFACTUAL_METRICS
        .iter()
        .map(|id| {
            let i = id.index();
            let w: Vec<f64> = with_rows.iter().map(|r| r[i]).collect();
            let o: Vec<f64> = without_rows.iter().map(|r| r[i]).collect();
            let d: Vec<f64> = w.iter().zip(&o).map(|(a, b)| a - b).collect();
            let (effect, se) = stats(&d);
            EventEffect {
                metric: *id,
                with: stats(&w).0,
                without: stats(&o).0,
                effect,
                se,
            }
        })
        .collect();
    Ok(CounterfactualReport {
        scenario: sc.name.clone(),
        plan,
        event: req.event.clone(),
        probability,
        paths: req.paths,
        seed: req.seed,
        changed_share: changed as f64 / with_rows.len().max(1) as f64,
        effects,
    })
}

fn num(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

/// JSON (`gigawatt-counterfactual` v1).
pub fn json(r: &CounterfactualReport) -> Value {
    let mut m = serde_json::Map::new();
    for e in &r.effects {
        m.insert(
            e.metric.name().into(),
            json!({"with": num(e.with), "without": num(e.without), "effect": num(e.effect), "se": num(e.se),
                   "ci95_low": num(e.effect - crate::report::Z95 * e.se), "ci95_high": num(e.effect + crate::report::Z95 * e.se)}),
        );
    }
    json!({
        "format": "gigawatt-counterfactual",
        "format_version": 1,
        "scenario": r.scenario,
        "plan": r.plan,
        "event": r.event,
        "probability": r.probability,
        "paths": r.paths,
        "seed": r.seed,
        "changed_share": num(r.changed_share),
        "metrics": m,
    })
}

/// The terminal table.
pub fn text(r: &CounterfactualReport) -> String {
    let mut s = format!(
        "what `{}` did to plan `{}` ({}): the same {} paths with and without it; it changed the outcome on {:.1}% of them (probability {})\n\n",
        r.event,
        r.plan,
        r.scenario,
        r.paths,
        r.changed_share * 100.0,
        r.probability
    );
    let _ = writeln!(
        s,
        "  {:<24} {:>4} {:>12} {:>12} {:>26}",
        "metric", "unit", "with", "without", "effect [95% CI]"
    );
    for e in &r.effects {
        let money = e.metric.name().ends_with("_usd");
        let (unit, label) = if money {
            crate::render::row_money_unit(e.with.abs().max(e.without.abs()))
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
        let ci = if e.se.is_finite() {
            format!(
                "{} [{}, {}]",
                f(e.effect),
                f(e.effect - crate::report::Z95 * e.se),
                f(e.effect + crate::report::Z95 * e.se)
            )
        } else {
            f(e.effect)
        };
        let _ = writeln!(
            s,
            "  {:<24} {:>4} {:>12} {:>12} {:>26}",
            e.metric.name(),
            label,
            f(e.with),
            f(e.without),
            ci
        );
    }
    s
}
