//! Which projects to keep, add or drop first.
//!
//! A project is a group of commitments: by default all of a plan's commitments of one option
//! (one deal, one campus programme). The plan and one variant per project, the plan without that
//! project (or, for candidates, with it added), are simulated in one run, so every variant sees
//! the same paths (common random numbers) and each difference comes with a paired standard error.
//! The "drop first" order sorts the plan's own projects by what dropping each gains in expected
//! NPV.

use std::fmt::Write as _;

use gigawatt_model::{Commitment, Plan, Scenario, ValidScenario};
use gigawatt_sim::MetricId;
use serde_json::{json, Value};

use crate::render::num;

use crate::report::PlanResult;
use crate::{Progress, SimulateRequest, StudyError};

/// What [`rank`] is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct RankRequest {
    /// Paths.
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// The plan whose projects are ranked (None: the scenario's first plan).
    pub plan: Option<String>,
    /// Candidate projects to try adding: the commitments of this plan, grouped by option.
    pub add_from: Option<String>,
    /// Weight of risk in the ranking score: ΔNPV − λ · Δ(CVaR95 of NPV loss).
    pub lambda: f64,
    /// Also the sequential "drop first" order: drop the project whose removal raises the score
    /// most, re-rank the rest on the same paths, repeat while a removal helps.
    pub greedy: bool,
}

/// One step of the sequential drop-first order.
#[derive(Debug, Clone, PartialEq)]
pub struct DropStep {
    /// The project dropped at this step.
    pub project: String,
    /// Its score at this step (ΔNPV − λ · ΔCVaR loss, USD) and ΔNPV's standard error.
    pub score: f64,
    /// See `score`.
    pub npv_change_se: f64,
    /// The plan's mean NPV and CVaR95 of NPV after the drop.
    pub npv_mean: f64,
    /// See `npv_mean`.
    pub npv_cvar95: f64,
}

/// The effect of dropping or adding one project, against the plan as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectEffect {
    /// The project: its option's name.
    pub project: String,
    /// True for a candidate added; false for one of the plan's own projects dropped.
    pub added: bool,
    /// How many commitments it groups.
    pub commitments: usize,
    /// Paired differences (variant − plan) of the metrics in [`RANK_METRICS`]: (mean, se).
    pub diffs: Vec<(MetricId, f64, f64)>,
    /// CVaR_0.95 of NPV of the variant, and of the plan.
    pub npv_cvar95: (f64, f64),
}

/// The metrics a ranking reports differences in.
pub const RANK_METRICS: [MetricId; 5] = [
    MetricId::Npv,
    MetricId::FundingGap,
    MetricId::UnservedShare,
    MetricId::ResearchDelivered,
    MetricId::CumRevenue,
];

/// A ranking of a plan's projects (and candidates).
#[derive(Debug, Clone, PartialEq)]
pub struct RankReport {
    /// Scenario name.
    pub scenario: String,
    /// The plan.
    pub plan: String,
    /// Paths and seed.
    pub paths: u64,
    /// See `paths`.
    pub seed: u64,
    /// The plan's own projects, drop-first order (highest score from dropping first), then
    /// the candidates, highest score from adding first.
    pub effects: Vec<ProjectEffect>,
    /// Risk weight λ of the score.
    pub lambda: f64,
    /// The plan's mean NPV and CVaR95 of NPV as it is.
    pub plan_npv: (f64, f64),
    /// With `greedy`: the sequential drop-first order (empty when no removal helps).
    pub drop_order: Vec<DropStep>,
}

impl ProjectEffect {
    /// The ranking score: ΔNPV − λ · Δ(CVaR95 of NPV loss), where the loss is −NPV.
    pub fn score(&self, lambda: f64) -> f64 {
        let loss_change = self.npv_cvar95.1 - self.npv_cvar95.0;
        self.diff(MetricId::Npv).0 - lambda * loss_change
    }

    /// The paired difference in `id`: (mean, se).
    pub fn diff(&self, id: MetricId) -> (f64, f64) {
        self.diffs
            .iter()
            .find(|d| d.0 == id)
            .map_or((f64::NAN, f64::NAN), |d| (d.1, d.2))
    }
}

/// Commitments grouped by project (their `project`, or their option), in order of first
/// appearance.
fn projects(commitments: &[Commitment]) -> Vec<(String, Vec<Commitment>)> {
    let mut out: Vec<(String, Vec<Commitment>)> = Vec::new();
    for c in commitments {
        match out.iter_mut().find(|(p, _)| p == c.project_name()) {
            Some((_, v)) => v.push(c.clone()),
            None => out.push((c.project_name().to_string(), vec![c.clone()])),
        }
    }
    out
}

fn effect(
    variant: &PlanResult,
    base: &PlanResult,
    project: &str,
    added: bool,
    commitments: usize,
) -> ProjectEffect {
    ProjectEffect {
        project: project.to_string(),
        added,
        commitments,
        diffs: RANK_METRICS
            .iter()
            .map(|id| {
                variant
                    .paired
                    .iter()
                    .find(|d| d.id == *id)
                    .map_or((*id, f64::NAN, f64::NAN), |d| (*id, d.mean, d.se))
            })
            .collect(),
        npv_cvar95: (
            variant.metric(MetricId::Npv).cvar95,
            base.metric(MetricId::Npv).cvar95,
        ),
    }
}

/// Ranks the plan's projects by what dropping each changes, and candidates by what adding each
/// changes, all on the same paths.
pub fn rank(
    sc: &ValidScenario,
    req: &RankRequest,
    progress: &dyn Progress,
) -> Result<RankReport, StudyError> {
    let find = |name: &str| {
        sc.plans.iter().find(|p| p.name == name).ok_or_else(|| {
            StudyError::Request(format!(
                "no plan named `{name}`; the scenario has: {}",
                sc.plans
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    };
    let base = match &req.plan {
        Some(p) => find(p)?,
        None => sc
            .plans
            .first()
            .ok_or_else(|| StudyError::Request("the scenario has no plans to rank".into()))?,
    };
    if !base.rules.is_empty() {
        progress.note(
            "note: the plan's rules stay in every variant; only its fixed commitments are projects",
        );
    }
    let own = projects(&base.commitments);
    let candidates = match &req.add_from {
        Some(p) => projects(&find(p)?.commitments),
        None => Vec::new(),
    };
    if own.is_empty() && candidates.is_empty() {
        return Err(StudyError::Request(format!(
            "plan `{}` has no fixed commitments to rank; name candidates with --add-from PLAN",
            base.name
        )));
    }
    // The plan first (the paired differences are against it), then one variant per project.
    let mut plans = vec![base.clone()];
    for (k, (project, _)) in own.iter().enumerate() {
        plans.push(Plan {
            name: format!("{}__drop_{k}", base.name),
            description: format!("{} without {project}", base.name),
            commitments: base
                .commitments
                .iter()
                .filter(|c| c.project_name() != project)
                .cloned()
                .collect(),
            rules: base.rules.clone(),
        });
    }
    for (k, (option, cs)) in candidates.iter().enumerate() {
        let mut commitments = base.commitments.clone();
        commitments.extend(cs.iter().cloned());
        plans.push(Plan {
            name: format!("{}__add_{k}", base.name),
            description: format!("{} with {option}", base.name),
            commitments,
            rules: base.rules.clone(),
        });
    }
    let mut changed = Scenario::clone(sc);
    let names: Vec<String> = plans.iter().map(|p| p.name.clone()).collect();
    changed.plans = plans;
    let changed = crate::revalidate(changed)?;
    progress.note(&format!(
        "simulating the plan and {} variants on the same {} paths...",
        names.len() - 1,
        req.paths
    ));
    let run = SimulateRequest {
        plans: names,
        baseline: false,
        ..SimulateRequest::new(req.paths, req.seed)
    };
    let report = crate::simulate(&changed, &run, progress)?;
    let base_result = &report.plans[0];
    let mut dropped: Vec<ProjectEffect> = own
        .iter()
        .enumerate()
        .map(|(k, (option, cs))| effect(&report.plans[1 + k], base_result, option, false, cs.len()))
        .collect();
    let mut added: Vec<ProjectEffect> = candidates
        .iter()
        .enumerate()
        .map(|(k, (option, cs))| {
            effect(
                &report.plans[1 + own.len() + k],
                base_result,
                option,
                true,
                cs.len(),
            )
        })
        .collect();
    let by_score =
        |a: &ProjectEffect, b: &ProjectEffect| b.score(req.lambda).total_cmp(&a.score(req.lambda));
    dropped.sort_by(by_score);
    added.sort_by(by_score);
    dropped.extend(added);
    let plan_npv = (
        base_result.metric(MetricId::Npv).mean,
        base_result.metric(MetricId::Npv).cvar95,
    );
    let drop_order = if req.greedy {
        greedy_drops(sc, base, req, progress)?
    } else {
        Vec::new()
    };
    Ok(RankReport {
        scenario: sc.name.clone(),
        plan: base.name.clone(),
        paths: report.paths,
        seed: req.seed,
        effects: dropped,
        lambda: req.lambda,
        plan_npv,
        drop_order,
    })
}

/// The sequential drop-first order: at each step rank the remaining projects of the current
/// plan on the same paths, drop the one with the highest positive score, and go on while one
/// helps (at most one step per project).
fn greedy_drops(
    sc: &ValidScenario,
    base: &Plan,
    req: &RankRequest,
    progress: &dyn Progress,
) -> Result<Vec<DropStep>, StudyError> {
    let mut current = base.clone();
    let mut steps = Vec::new();
    while !current.commitments.is_empty() {
        let mut changed = Scenario::clone(sc);
        changed.plans = vec![current.clone()];
        let changed = crate::revalidate(changed)?;
        let step_req = RankRequest {
            plan: Some(current.name.clone()),
            add_from: None,
            greedy: false,
            ..req.clone()
        };
        progress.note(&format!("drop-first order, step {}...", steps.len() + 1));
        let r = rank(&changed, &step_req, &crate::Quiet)?;
        let Some(best) = r.effects.iter().find(|e| !e.added) else {
            break;
        };
        let score = best.score(req.lambda);
        if score <= 0.0 {
            break;
        }
        steps.push(DropStep {
            project: best.project.clone(),
            score,
            npv_change_se: best.diff(MetricId::Npv).1,
            npv_mean: r.plan_npv.0 + best.diff(MetricId::Npv).0,
            npv_cvar95: best.npv_cvar95.0,
        });
        let dropped = best.project.clone();
        current.commitments.retain(|c| c.project_name() != dropped);
    }
    Ok(steps)
}

/// JSON (`gigawatt-rank` v1).
pub fn json(r: &RankReport) -> Value {
    json!({
        "format": "gigawatt-rank",
        "format_version": 1,
        "scenario": r.scenario,
        "plan": r.plan,
        "paths": r.paths,
        "seed": r.seed,
        "lambda": r.lambda,
        "score": "change in mean NPV − λ · change in CVaR95 of NPV loss",
        "plan_npv_mean_usd": num(r.plan_npv.0),
        "plan_npv_cvar95_usd": num(r.plan_npv.1),
        "drop_order": r.drop_order.iter().map(|s| json!({
            "project": s.project, "score_usd": num(s.score), "npv_change_se_usd": num(s.npv_change_se),
            "npv_mean_after_usd": num(s.npv_mean), "npv_cvar95_after_usd": num(s.npv_cvar95),
        })).collect::<Vec<_>>(),
        "projects": r.effects.iter().map(|e| {
            let mut d = serde_json::Map::new();
            for (id, m, s) in &e.diffs {
                d.insert(id.name().into(), json!({"mean": num(*m), "se": num(*s), "ci95_low": num(m - crate::report::Z95 * s), "ci95_high": num(m + crate::report::Z95 * s)}));
            }
            json!({
                "project": e.project,
                "change": if e.added { "add" } else { "drop" },
                "commitments": e.commitments,
                "score_usd": num(e.score(r.lambda)),
                "differences_vs_plan": d,
                "npv_cvar95_usd": num(e.npv_cvar95.0),
                "plan_npv_cvar95_usd": num(e.npv_cvar95.1),
            })
        }).collect::<Vec<_>>(),
    })
}

/// CSV: one row per project.
pub fn csv(r: &RankReport) -> String {
    use crate::render::{csv_field, csv_num};
    let mut s = String::from("project,change,commitments");
    for id in RANK_METRICS {
        let _ = write!(s, ",d_{0}_mean,d_{0}_se", id.name());
    }
    s.push_str(",npv_cvar95_usd\n");
    for e in &r.effects {
        let _ = write!(
            s,
            "{},{},{}",
            csv_field(&e.project),
            if e.added { "add" } else { "drop" },
            e.commitments
        );
        for id in RANK_METRICS {
            let (m, se) = e.diff(id);
            let _ = write!(s, ",{},{}", csv_num(m), csv_num(se));
        }
        let _ = writeln!(s, ",{}", csv_num(e.npv_cvar95.0));
    }
    s
}

/// The terminal table.
pub fn text(r: &RankReport) -> String {
    let largest = r
        .effects
        .iter()
        .map(|e| e.diff(MetricId::Npv).0.abs().max(e.npv_cvar95.0.abs()))
        .filter(|x| x.is_finite())
        .fold(0.0f64, f64::max);
    let (unit, label) = crate::render::row_money_unit(largest);
    let f = |x: f64| {
        if x.is_finite() {
            format!("{:.1}", x / unit + 0.0)
        } else {
            "n/a".into()
        }
    };
    let pct = |x: f64| {
        if x.is_finite() {
            format!("{:+.2}", x * 100.0)
        } else {
            "n/a".into()
        }
    };
    let mut s = format!(
        "projects of plan `{}` ({}): what dropping (or adding) each changes, on the same {} paths; money in {label}, shares in points\n\n",
        r.plan, r.scenario, r.paths
    );
    let width = r
        .effects
        .iter()
        .map(|e| e.project.chars().count())
        .max()
        .unwrap_or(7)
        .max(7);
    let _ = writeln!(
        s,
        "  {:<4} {:<width$} {:>24} {:>10} {:>10} {:>10} {:>12}",
        "", "project", "Δ NPV [95% CI]", "Δ gap", "Δ unserved", "Δ research", "NPV CVaR95"
    );
    for e in &r.effects {
        let (m, se) = e.diff(MetricId::Npv);
        let ci = if se.is_finite() {
            format!(
                "{} [{}, {}]",
                f(m),
                f(m - crate::report::Z95 * se),
                f(m + crate::report::Z95 * se)
            )
        } else {
            f(m)
        };
        let _ = writeln!(
            s,
            "  {:<4} {:<width$} {:>24} {:>10} {:>10} {:>10} {:>12}",
            if e.added { "add" } else { "drop" },
            e.project,
            ci,
            f(e.diff(MetricId::FundingGap).0),
            pct(e.diff(MetricId::UnservedShare).0),
            pct(e.diff(MetricId::ResearchDelivered).0),
            f(e.npv_cvar95.0)
        );
    }
    let first: Vec<&str> = r
        .effects
        .iter()
        .filter(|e| !e.added && e.diff(MetricId::Npv).0 > 0.0)
        .map(|e| e.project.as_str())
        .collect();
    if first.is_empty() {
        let _ = writeln!(
            s,
            "\nno project of the plan raises expected NPV when dropped"
        );
    } else {
        let _ = writeln!(
            s,
            "\ndrop first (dropping each raises expected NPV): {}",
            first.join(", ")
        );
    }
    if r.lambda > 0.0 {
        let _ = writeln!(
            s,
            "ranked by score = change in expected NPV − {} × change in CVaR95 of NPV loss",
            r.lambda
        );
    }
    if !r.drop_order.is_empty() {
        let _ = writeln!(
            s,
            "\nsequential drop-first order (re-ranked on the same paths after each drop):"
        );
        for (k, st) in r.drop_order.iter().enumerate() {
            let _ = writeln!(
                s,
                "  {}. drop {:<24} score {} ± {}  → plan NPV {} (CVaR95 {})",
                k + 1,
                st.project,
                f(st.score),
                f(st.npv_change_se),
                f(st.npv_mean),
                f(st.npv_cvar95)
            );
        }
    }
    s
}
