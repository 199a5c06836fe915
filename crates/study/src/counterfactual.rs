//! What an event did: the same paths with and without it.
//!
//! A launch's occurrence and month have random streams of their own, keyed by its name, so
//! switching it off (probability 0) leaves every other draw of every path unchanged. The two runs
//! are then compared path by path: the effect of the event on each metric is the mean of
//! (with − without) over paths, with its paired standard error.

use gigawatt_model::{Scenario, ValidScenario};
use serde_json::{json, Value};

use crate::render::num;

use crate::paired::{self, paired_metrics, per_path_rows, PairedMetric};
use crate::{Progress, StudyError};

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
    /// Per metric: `a` without the event, `b` with it, `difference` its effect (with − without).
    pub effects: Vec<PairedMetric>,
}

/// The scenario with the launch or `[[events]]` entry named `event` switched off (its
/// probability set to zero, so every other draw stays the same), and its probability.
pub fn without_launch(sc: &ValidScenario, event: &str) -> Result<(ValidScenario, f64), StudyError> {
    let mut without = Scenario::clone(sc);
    let mut probability = None;
    for seg in &mut without.segments {
        for l in &mut seg.launches {
            if l.name == event {
                probability = Some(l.probability_pu);
                l.probability_pu = 0.0;
            }
        }
    }
    for e in &mut without.events {
        if e.name == event {
            probability = Some(e.probability_pu);
            e.probability_pu = 0.0;
        }
    }
    let Some(probability) = probability else {
        let names: Vec<&str> = sc
            .segments
            .iter()
            .flat_map(|s| s.launches.iter().map(|l| l.name.as_str()))
            .chain(sc.events.iter().map(|e| e.name.as_str()))
            .collect();
        return Err(StudyError::Request(format!(
            "no launch or event is named `{event}`; the scenario's launches and events: {}",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )));
    };
    Ok((crate::revalidate(without)?, probability))
}

/// Simulates the plan with and without the launch `req.event` on the same paths.
pub fn counterfactual(
    sc: &ValidScenario,
    req: &CounterfactualRequest,
    progress: &dyn Progress,
) -> Result<CounterfactualReport, StudyError> {
    let (without, probability) = without_launch(sc, &req.event)?;
    let (plan, selection) = crate::chosen_plan(sc, req.plan.as_deref());
    progress.note(&format!(
        "simulating `{plan}` with and without `{}` on the same {} paths...",
        req.event, req.paths
    ));
    let (_, with_rows) = per_path_rows(sc, &selection, req.paths, req.seed, Vec::new())?;
    let (_, without_rows) = per_path_rows(&without, &selection, req.paths, req.seed, Vec::new())?;
    // Where the event happened, the two paths differ; elsewhere they are identical bit for bit
    // (compared as bits, so a metric without a value on the path, NaN, equals itself).
    let changed = with_rows
        .iter()
        .zip(&without_rows)
        .filter(|(a, b)| {
            a.iter()
                .zip(b.iter())
                .any(|(x, y)| x.to_bits() != y.to_bits())
        })
        .count();
    let effects = paired_metrics(&without_rows, &with_rows);
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

/// JSON (`gigawatt-counterfactual` v1).
pub fn json(r: &CounterfactualReport) -> Value {
    let mut m = serde_json::Map::new();
    for e in &r.effects {
        let (lo, hi) = e.ci95();
        m.insert(
            e.metric.name().into(),
            json!({"with": num(e.b), "without": num(e.a), "effect": num(e.difference), "se": num(e.se),
                   "ci95_low": num(lo), "ci95_high": num(hi)}),
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
    paired::table(&mut s, ("without", "with", "effect [95% CI]"), &r.effects);
    s
}
