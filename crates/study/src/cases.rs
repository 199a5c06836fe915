//! Every plan on the scenario's named cases: one deterministic path per case, weighted by the
//! case's probability.
//!
//! JSON format `gigawatt-simulation-cases` v1: `cases` [{name, probability}], `cvar_alpha`, and
//! per plan `by_case` [{case, probability, metrics}], `expected` (probability-weighted metrics)
//! and `npv_cvar95_usd`.

use std::fmt::Write;

use gigawatt_model::Scenario;
use gigawatt_sim::{Draws, Engine, MetricId, PathOutcome, Scratch, ALPHA};
use serde_json::{json, Map, Value};

use crate::render::num;

use crate::StudyError;

/// The metrics reported per case.
pub const CASE_METRICS: [MetricId; 6] = [
    MetricId::Npv,
    MetricId::CumRevenue,
    MetricId::MinCash,
    MetricId::FundingGap,
    MetricId::UnservedShare,
    MetricId::FirstProfitableYear,
];

/// One plan on every case.
#[derive(Debug, Clone, PartialEq)]
pub struct CasePlan {
    /// Plan name.
    pub name: String,
    /// Per case, [`CASE_METRICS`] in order.
    pub by_case: Vec<[f64; 6]>,
    /// Probability-weighted mean of each metric.
    pub expected: [f64; 6],
    /// CVaR_0.95 of NPV over the cases (by probability).
    pub npv_cvar95_usd: f64,
}

/// What [`simulate_cases`] produced.
#[derive(Debug, Clone, PartialEq)]
pub struct CasesReport {
    /// Scenario name.
    pub scenario: String,
    /// (case name, probability).
    pub cases: Vec<(String, f64)>,
    /// Per plan.
    pub plans: Vec<CasePlan>,
}

fn value(o: &PathOutcome, id: MetricId) -> f64 {
    gigawatt_sim::metric_values(o)[id.index()]
}

/// Evaluates every plan of `engine` (compiled from `sc`) on each named case.
pub fn simulate_cases(sc: &Scenario, engine: &Engine) -> Result<CasesReport, StudyError> {
    if sc.cases.is_empty() {
        return Err(StudyError::Request("the scenario has no [[cases]]; add named cases with probabilities, or simulate sampled paths without --cases".into()));
    }
    let probs: Vec<f64> = sc.cases.iter().map(|c| c.probability_pu).collect();
    let mut d = Draws::default();
    let mut s = Scratch::default();
    let mut outcomes: Vec<Vec<PathOutcome>> = vec![Vec::new(); engine.plans.len()];
    for (i, case) in sc.cases.iter().enumerate() {
        engine
            .draw_case(i as u64, &case.values, &mut d)
            .map_err(StudyError::Scenario)?;
        for (pi, out) in outcomes.iter_mut().enumerate() {
            let mut o = PathOutcome::default();
            engine.run_plan(pi, &d, &mut s, false, &mut o);
            out.push(o);
        }
    }
    let plans = outcomes
        .iter()
        .enumerate()
        .map(|(pi, outs)| {
            let by_case = outs
                .iter()
                .map(|o| CASE_METRICS.map(|id| value(o, id)))
                .collect();
            let expected = CASE_METRICS.map(|id| {
                let v: Vec<f64> = outs.iter().map(|o| value(o, id)).collect();
                gigawatt_risk::mean(&v, &probs)
            });
            let npv: Vec<f64> = outs.iter().map(|o| o.npv_usd).collect();
            CasePlan {
                name: engine.plans[pi].name.clone(),
                by_case,
                expected,
                npv_cvar95_usd: gigawatt_risk::cvar_lower(&npv, &probs, ALPHA),
            }
        })
        .collect();
    Ok(CasesReport {
        scenario: sc.name.clone(),
        cases: sc
            .cases
            .iter()
            .map(|c| (c.name.clone(), c.probability_pu))
            .collect(),
        plans,
    })
}

fn metrics_json(values: &[f64; 6]) -> Map<String, Value> {
    let mut m = Map::new();
    for (id, v) in CASE_METRICS.iter().zip(values) {
        m.insert(id.name().into(), num(*v));
    }
    m
}

/// The JSON document (format `gigawatt-simulation-cases` v1).
pub fn json(r: &CasesReport) -> Value {
    let plans: Vec<Value> = r
        .plans
        .iter()
        .map(|p| {
            let by_case: Vec<Value> = p
                .by_case
                .iter()
                .zip(&r.cases)
                .map(|(v, (case, prob))| json!({"case": case, "probability": prob, "metrics": metrics_json(v)}))
                .collect();
            json!({"name": p.name, "by_case": by_case, "expected": metrics_json(&p.expected), "npv_cvar95_usd": num(p.npv_cvar95_usd)})
        })
        .collect();
    json!({
        "format": "gigawatt-simulation-cases",
        "format_version": 1,
        "scenario": r.scenario,
        "cases": r.cases.iter().map(|(n, p)| json!({"name": n, "probability": p})).collect::<Vec<_>>(),
        "cvar_alpha": ALPHA,
        "plans": plans,
    })
}

/// The terminal table: one row per case and plan, then the expectation.
pub fn text(r: &CasesReport) -> String {
    let largest = r
        .plans
        .iter()
        .flat_map(|p| p.by_case.iter())
        .map(|v| v[0].abs().max(v[1].abs()))
        .fold(0.0, f64::max);
    let (unit, unit_name) = crate::render::money_unit(largest);
    let mut text = format!(
        "{}: {} named cases ({})\n\n",
        r.scenario,
        r.cases.len(),
        r.cases
            .iter()
            .map(|(n, p)| format!("{n} {:.0}%", p * 100.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for p in &r.plans {
        let _ = write!(
            text,
            "plan `{}`\n  {:<12} {:>6} {:>12} {:>12} {:>12} {:>12} {:>9} {:>8}\n",
            p.name,
            "case",
            "prob",
            format!("NPV {unit_name}"),
            format!("revenue {unit_name}"),
            format!("min cash {unit_name}"),
            format!("gap {unit_name}"),
            "unserved",
            "profit"
        );
        for (v, (case, prob)) in p.by_case.iter().zip(&r.cases) {
            let _ = writeln!(
                text,
                "  {:<12} {:>5.0}% {:>12.1} {:>12.1} {:>12.1} {:>12.1} {:>8.1}% {:>8.0}",
                case,
                prob * 100.0,
                v[0] / unit,
                v[1] / unit,
                v[2] / unit,
                v[3] / unit,
                v[4] * 100.0,
                v[5]
            );
        }
        let _ = write!(
            text,
            "  {:<12} {:>6} {:>12.1}   (probability-weighted); NPV CVaR95 {:.1}\n\n",
            "expected",
            "",
            p.expected[0] / unit,
            p.npv_cvar95_usd / unit
        );
    }
    text
}
