//! The typed result of `plan` ([`PlanReport`]) and its `gigawatt-plan` JSON rendering
//! (docs/reference/output-formats.md). The text and CSV renderings are in `text.rs`.

use gigawatt_lp::SolveStatus;
use gigawatt_model::Plan;
use gigawatt_opt::decompose::{Iteration, Phase};
use gigawatt_opt::ValueOfInformation;
use gigawatt_sim::MetricId;
use serde_json::{json, Value};

use crate::render::num;

/// The metrics the simulation check reports for the plan found, in order.
pub const CHECKED_METRICS: [MetricId; 4] = [
    MetricId::Npv,
    MetricId::FundingGap,
    MetricId::UnservedShare,
    MetricId::CumRevenue,
];

/// The size of the programme as solved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelSize {
    /// Columns (variables).
    pub columns: usize,
    /// Rows (constraints).
    pub rows: usize,
    /// Non-zero coefficients.
    pub nonzeros: usize,
    /// Integer columns.
    pub integer_columns: usize,
}

/// A limit of an infeasible programme that must move (or that holds at its bound and forces
/// the others), in the limit's own unit.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitMove {
    /// The limit's row name, e.g. `budget[2027]`.
    pub limit: String,
    /// Its bound.
    pub bound: f64,
    /// The largest move needed on any path.
    pub move_by: f64,
    /// Paths on which it must move (or sits at its bound).
    pub paths: usize,
    /// Unit of `bound` and `move_by`.
    pub unit: &'static str,
    /// What the limit is, in words.
    pub meaning: &'static str,
    /// True for a limit held at its bound rather than moved.
    pub held_at_bound: bool,
}

/// Why no plan was found.
#[derive(Debug, Clone, PartialEq)]
pub enum NoPlan {
    /// Infeasible; relaxing these limits (empty: none, the verdict is numerical) makes it
    /// feasible.
    Limits(Vec<LimitMove>),
    /// Infeasible even with every limit relaxed.
    NotLimits,
    /// Unbounded.
    Unbounded,
    /// The solver stopped before finding a feasible plan.
    Stopped,
}

/// The programme's value at its solution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProgrammeValue {
    /// Expected objective (NPV, or cost), USD.
    pub expected_value: f64,
    /// CVaR of loss, USD.
    pub cvar_loss: f64,
}

/// The best fixed schedule after the first stage, as solved and simulated.
#[derive(Debug, Clone, PartialEq)]
pub struct Continuation {
    /// Solver status of its programme.
    pub status: SolveStatus,
    /// Scenarios in its programme.
    pub scenarios: usize,
    /// Its programme's value.
    pub programme: ProgrammeValue,
    /// Solve time, seconds.
    pub solve_seconds: f64,
    /// Mean NPV simulated on the in-sample paths.
    pub simulated_npv_mean_usd: f64,
}

/// How the plan handed over was chosen when later commitments differ by path.
#[derive(Debug, Clone, PartialEq)]
pub enum Candidates {
    /// The continuation was not solved (why).
    Skipped(String),
    /// The continuation's programme had no solution.
    NotFound {
        /// Its solver status.
        status: SolveStatus,
        /// The user's time limit, if any.
        time_limit_s: Option<f64>,
    },
    /// Both fixed versions simulated on the in-sample paths.
    Compared {
        /// Mean NPV of later commitments at their mean over paths.
        mean_npv_usd: f64,
        /// The continuation.
        continuation: Continuation,
    },
}

impl Candidates {
    /// True when the continuation was chosen.
    pub fn continued(&self) -> bool {
        matches!(self, Candidates::Compared { mean_npv_usd, continuation } if continuation.simulated_npv_mean_usd > *mean_npv_usd)
    }
}

/// One commitment of the plan found.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitmentRow {
    /// Option name.
    pub option: String,
    /// Month, `YYYY-MM`.
    pub month: String,
    /// Amount in the option's unit.
    pub amount: f64,
    /// `MW` or `H100e`.
    pub unit: &'static str,
    /// `first`, `recourse_mean` or `continuation`.
    pub stage: &'static str,
    /// Up-front capex at median prices, from the engine's accounting.
    pub capex_usd_estimate: f64,
}

/// A later commitment as a linear decision rule of the plan found (`kind = "affine"`).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleRow {
    /// Option name.
    pub option: String,
    /// Decision month, `YYYY-MM`.
    pub month: String,
    /// `mw` or `h100e`: the unit of `intercept` and `slope`.
    pub unit: &'static str,
    /// What it commits when the demand observed is `centre_h100e`.
    pub intercept: f64,
    /// Extra commitment per unit of ln(D / centre).
    pub slope: f64,
    /// The demand it is centred on, H100e.
    pub centre_h100e: f64,
}

/// A metric's summary in the simulation check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Checked {
    /// Mean.
    pub mean: f64,
    /// Standard error of the mean.
    pub se: f64,
    /// 10th percentile.
    pub p10: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Mean of the worst 5 %.
    pub cvar95: f64,
}

/// A paired difference with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Difference {
    /// Mean difference.
    pub mean: f64,
    /// Its standard error.
    pub se: f64,
    /// 95 % interval.
    pub ci95: (f64, f64),
}

/// One plan out of sample, next to the plan found.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonRow {
    /// Plan name.
    pub plan: String,
    /// Mean NPV and its standard error, USD.
    pub npv_mean_usd: f64,
    pub npv_se_usd: f64,
    /// Mean funding gap, USD.
    pub funding_gap_mean_usd: f64,
    /// Mean unserved share.
    pub unserved_share_mean: f64,
    /// NPV of this plan less the plan found, on common random numbers (None for the plan
    /// found itself).
    pub npv_vs_optimised: Option<Difference>,
    /// The automatic "nothing new" baseline.
    pub automatic_baseline: bool,
}

/// The optimality gap of the programme's solution, estimated by the multiple-replication
/// procedure (Mak, Morton and Wood, 1999): each replication solves the programme over fresh
/// paths and carries the solution found out on the same paths; the difference is at least the
/// replication's share of the gap, so its mean over replications bounds the gap from above in
/// expectation.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimalityGap {
    /// Replications, each over `paths_per_replication` fresh paths.
    pub replications: usize,
    /// See `replications`.
    pub paths_per_replication: u64,
    /// Each replication.
    pub per_replication: Vec<Replication>,
    /// Mean and standard error over replications of the optima (optimistic: a sampled
    /// programme fits its own paths).
    pub optima_mean_usd: f64,
    /// See `optima_mean_usd`.
    pub optima_se_usd: f64,
    /// Mean and standard error of the solution's value on the replications' paths (an
    /// unbiased estimate of its value in the programme's model).
    pub candidate_mean_usd: f64,
    /// See `candidate_mean_usd`.
    pub candidate_se_usd: f64,
    /// Mean gap (optimum less the solution's value, in the direction of the objective) and its
    /// standard error.
    pub gap_usd: f64,
    /// See `gap_usd`.
    pub gap_se_usd: f64,
    /// One-sided 95 % upper confidence limit of the gap: mean + t(0.95, R − 1) · se.
    pub gap_ci95_upper_usd: f64,
    /// Mean over replications of [`Replication::stopping_gap_usd`].
    pub stopping_gap_mean_usd: f64,
}

impl OptimalityGap {
    /// Rule commitments cut below the rule on the replications' paths, in all: there the
    /// plan's policy is richer than the programme's, and a replication's difference can come
    /// out below zero.
    pub fn rules_cut(&self) -> usize {
        self.per_replication.iter().map(|r| r.rules_cut).sum()
    }
}

/// One replication of the optimality-gap estimate, USD, in the programme's objective.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Replication {
    /// Seed of its fresh paths.
    pub seed: u64,
    /// Its programme's optimum, or the solver's bound on it.
    pub optimum_usd: f64,
    /// The solution found, carried out on its paths.
    pub candidate_usd: f64,
    /// The optimum less the solution's value, in the direction of the objective (≥ 0 unless
    /// rules were cut).
    pub gap_usd: f64,
    /// Rule commitments on its paths cut below the rule (at zero, or to the room left).
    pub rules_cut: usize,
    /// The bound less the best solution its solve found, in the direction of the objective
    /// (0 when the solve was exact): the part of `gap_usd` that may be the replication's own
    /// stopping gap (`--mip-gap`, `--decompose-gap`) rather than the sample's.
    pub stopping_gap_usd: f64,
}

/// A point of the efficient frontier.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontierPoint {
    /// CVaR weight.
    pub lambda: f64,
    /// Expected value and CVaR of loss, USD.
    pub expected_value_usd: f64,
    pub cvar_loss_usd: f64,
    /// Solver status.
    pub status: SolveStatus,
}

/// The programme's value against the simulated value of the plan it hands over, and what
/// explains the difference: each effect the programme leaves out, switched off in turn in the
/// simulation on the programme's own paths.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    /// The programme's expected NPV and its standard error over its paths, USD.
    pub programme_usd: f64,
    pub programme_se_usd: f64,
    /// The plan simulated out of sample: mean NPV and standard error, USD.
    pub out_of_sample_usd: f64,
    pub out_of_sample_se_usd: f64,
    /// |programme − out of sample| within max(5 % of the programme's value, 3 combined se).
    pub within: bool,
    /// In sample (the programme's paths), the plan's simulated NPV as each effect is switched
    /// off in turn: (effect, simulated NPV with it and every earlier one off, USD).
    pub steps: Vec<(String, f64)>,
    /// The plan simulated on the programme's paths with every effect on, USD (NaN over named
    /// cases, which the simulation does not run).
    pub in_sample_usd: f64,
}

impl Agreement {
    /// What the effects switched off leave unexplained: the programme's value less the plan's
    /// simulated value with every effect off (zero below a relative 1e-9: rounding).
    pub fn unexplained_usd(&self) -> f64 {
        let last = self.steps.last().map_or(self.in_sample_usd, |s| s.1);
        let x = self.programme_usd - last;
        if x.abs() <= 1e-9 * self.programme_usd.abs().max(1.0) {
            0.0
        } else {
            x
        }
    }
}

/// What the programme found and how the plan did in simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Objective, bound and relative gap reported by the solver.
    pub objective: f64,
    pub bound: f64,
    pub gap: f64,
    /// The programme's own value.
    pub in_sample: ProgrammeValue,
    /// How the plan was chosen when later decisions differ by path.
    pub candidates: Option<Candidates>,
    /// Programme against simulation, with the effects that explain the difference (NPV
    /// objective only).
    pub agreement: Option<Agreement>,
    /// How later commitments were valued: `affine_rules` (linear decision rules, the plan's
    /// own policy), `clairvoyant_recourse` (per path, an upper bound), `scenario_tree`, or
    /// `none` (no later commitments).
    pub policy: &'static str,
    /// The plan found.
    pub plan: Plan,
    /// Its commitments.
    pub commitments: Vec<CommitmentRow>,
    /// Its linear decision rules.
    pub rules: Vec<RuleRow>,
    /// The plan as a `[[plans]]` entry.
    pub plan_toml: String,
    /// The plan simulated on the in-sample paths ([`CHECKED_METRICS`] order).
    pub simulated_in_sample: Vec<Checked>,
    /// The plan simulated on fresh paths ([`CHECKED_METRICS`] order).
    pub simulated_out_of_sample: Vec<Checked>,
    /// Seed of the fresh paths.
    pub out_of_sample_seed: u64,
    /// The plan found (first) and every other plan out of sample.
    pub comparison: Vec<ComparisonRow>,
    /// Index into `comparison` of the plan with the highest mean NPV.
    pub best: Option<usize>,
    /// With replications: the estimate, or why there is none.
    pub optimality_gap: Option<Result<OptimalityGap, String>>,
    /// With `--value-of-information`: the values and the scenario count.
    pub value_of_information: Option<(ValueOfInformation, usize)>,
    /// With `--frontier`.
    pub frontier: Option<Vec<FrontierPoint>>,
}

impl Found {
    /// The out-of-sample summary of `id`.
    pub fn out_of_sample(&self, id: MetricId) -> Checked {
        self.simulated_out_of_sample[metric_slot(id)]
    }

    /// The in-sample summary of `id`.
    pub fn in_sample_sim(&self, id: MetricId) -> Checked {
        self.simulated_in_sample[metric_slot(id)]
    }
}

fn metric_slot(id: MetricId) -> usize {
    CHECKED_METRICS
        .iter()
        .position(|m| *m == id)
        .expect("a checked metric")
}

/// What `plan` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanReport {
    /// Scenario name.
    pub scenario: String,
    /// Solver name.
    pub solver: String,
    /// Status of the main solve.
    pub status: SolveStatus,
    /// `--paths`.
    pub paths: u64,
    /// Optimised over the named cases.
    pub cases: bool,
    /// Scenarios in the programme.
    pub scenarios: usize,
    /// Seed of the in-sample paths.
    pub seed: u64,
    /// `npv` or `cost`.
    pub objective_kind: String,
    /// CVaR level and weight.
    pub alpha: f64,
    pub lambda: f64,
    /// Size of the programme.
    pub model_size: ModelSize,
    /// Later commitments chosen per path.
    pub recourse: bool,
    /// Churn modelled in the programme; present in the scenario.
    pub churn_modelled: bool,
    pub scenario_has_churn: bool,
    /// Seconds to build and to solve.
    pub build_seconds: f64,
    pub solve_seconds: f64,
    /// How the decomposition converged, when `--decompose` solved the programme.
    pub decomposition: Option<DecompositionReport>,
    /// The plan, or why there is none.
    pub outcome: Result<Box<Found>, NoPlan>,
}

/// The L-shaped method's run: bounds per iteration (USD) and how it stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct DecompositionReport {
    /// The gap closed within the iteration limit.
    pub converged: bool,
    /// The relative gap asked for.
    pub gap_target: f64,
    /// How the paths' subproblems were kept between rounds: `sessions` (live HiGHS sessions),
    /// `bases` (rebuilt each round from each path's last HiGHS basis) or `rebuilt` (rebuilt and
    /// solved from scratch, by a solver without starts).
    pub subproblems: &'static str,
    /// Master variables that ended on the box.
    pub on_box: Vec<String>,
    /// Bounds per iteration, in USD.
    pub iterations: Vec<Iteration>,
}

const CANDIDATES_NOTE: &str = "recourse_mean: later commitments at their mean over paths; continuation: the first stage held, then one fixed schedule optimised for every path. The plan with the higher simulated in-sample NPV is reported.";

const OPTIMALITY_GAP_NOTE: &str = "the programme's solution against the programme's optimum, both in the programme's model: each replication solves the programme over fresh paths and carries the solution found out on the same paths; gap_ci95_upper_usd bounds the optimality gap with 95 % confidence. Where rules_cut > 0 the plan's rules were cut at zero or to the room left on some paths, so its policy is richer than the programme's and a difference can be negative. How the programme's model and the simulation differ is in `agreement`";

impl PlanReport {
    /// The `gigawatt-plan` JSON document (format version 1).
    pub fn to_json(&self) -> Value {
        let m = &self.model_size;
        let mut doc = json!({
            "format": "gigawatt-plan",
            "format_version": 1,
            "scenario": self.scenario,
            "solver": self.solver,
            "status": self.status.as_str(),
            "paths": self.paths,
            "scenario_set": if self.cases { "cases" } else { "sampled" },
            "scenarios": self.scenarios,
            "seed": self.seed,
            "objective_kind": self.objective_kind,
            "risk": {"alpha": self.alpha, "lambda": self.lambda},
            "model_size": {"columns": m.columns, "rows": m.rows, "nonzeros": m.nonzeros, "integer_columns": m.integer_columns},
            "recourse": self.recourse,
            "churn_modelled": self.churn_modelled,
            "scenario_has_churn": self.scenario_has_churn,
            "build_seconds": self.build_seconds,
            "solve_seconds": self.solve_seconds,
        });
        if let Some(d) = &self.decomposition {
            doc["decomposition"] = json!({
                "method": "L-shaped, multi-cut, level-regularised",
                "converged": d.converged,
                "gap_target": d.gap_target,
                "subproblems": d.subproblems,
                "on_box": d.on_box,
                "iterations": d.iterations.iter().map(|it| json!({"iteration": it.iteration, "lower_usd": num(it.lower), "upper_usd": num(it.upper), "gap": num(it.gap), "relaxed": it.phase == Phase::Relaxation, "phase": it.phase.as_str(), "cuts": it.cuts, "infeasible_subproblems": it.infeasible_subproblems, "seconds": it.seconds})).collect::<Vec<_>>(),
            });
        }
        match &self.outcome {
            Err(NoPlan::Limits(moves)) => doc["diagnosis"] = diagnosis_json(moves),
            Err(_) => {}
            Ok(found) => found_json(found, &mut doc),
        }
        doc
    }
}

fn diagnosis_json(moves: &[LimitMove]) -> Value {
    json!(moves
        .iter()
        .map(|c| json!({"limit": c.limit, "bound": c.bound, "move_by": c.move_by, "paths": c.paths, "unit": c.unit, "meaning": c.meaning, "held_at_bound": c.held_at_bound}))
        .collect::<Vec<_>>())
}

fn found_json(f: &Found, doc: &mut Value) {
    doc["objective"] = json!(f.objective);
    doc["bound"] = json!(f.bound);
    doc["gap"] = json!(f.gap);
    doc["in_sample"] =
        json!({"expected_value": f.in_sample.expected_value, "cvar_loss": f.in_sample.cvar_loss});
    if let Some(c) = &f.candidates {
        doc["candidates"] = candidates_json(c);
    }
    doc["commitments"] = json!(f
        .commitments
        .iter()
        .map(|c| json!({"option": c.option, "month": c.month, "amount": c.amount, "unit": c.unit, "stage": c.stage, "capex_usd_estimate": c.capex_usd_estimate}))
        .collect::<Vec<_>>());
    doc["rules"] = json!(f
        .rules
        .iter()
        .map(|r| json!({"option": r.option, "kind": "affine", "month": r.month, "unit": r.unit, "intercept": r.intercept, "slope": r.slope, "centre_h100e": r.centre_h100e}))
        .collect::<Vec<_>>());
    doc["policy"] = json!(f.policy);
    if let Some(g) = &f.agreement {
        doc["agreement"] = json!({
            "programme_usd": num(g.programme_usd),
            "programme_se_usd": num(g.programme_se_usd),
            "out_of_sample_usd": num(g.out_of_sample_usd),
            "out_of_sample_se_usd": num(g.out_of_sample_se_usd),
            "within_5pct_or_3se": g.within,
            "in_sample_usd": num(g.in_sample_usd),
            "unexplained_usd": num(g.unexplained_usd()),
            "effects_switched_off_in_sample": g.steps.iter().map(|(e, v)| json!({"effect": e, "simulated_npv_usd": num(*v)})).collect::<Vec<_>>(),
        });
    }
    doc["plan_toml"] = json!(f.plan_toml);
    let side = |xs: &[Checked]| -> Value {
        let mut m = serde_json::Map::new();
        for (id, x) in CHECKED_METRICS.iter().zip(xs) {
            m.insert(id.name().into(), json!({"mean": num(x.mean), "se": num(x.se), "p10": num(x.p10), "p90": num(x.p90), "cvar95": num(x.cvar95)}));
        }
        Value::Object(m)
    };
    doc["simulated_in_sample"] = side(&f.simulated_in_sample);
    doc["simulated_out_of_sample"] = side(&f.simulated_out_of_sample);
    doc["out_of_sample_seed"] = json!(f.out_of_sample_seed);
    doc["in_vs_out_of_sample_npv_gap_usd"] =
        num(f.in_sample_sim(MetricId::Npv).mean - f.out_of_sample(MetricId::Npv).mean);
    doc["out_of_sample_comparison"] =
        json!(f.comparison.iter().map(comparison_json).collect::<Vec<_>>());
    if let Some(i) = f.best {
        doc["best_out_of_sample"] = json!(f.comparison[i].plan);
        doc["found_plan_is_best_out_of_sample"] = json!(i == 0);
    }
    match &f.optimality_gap {
        Some(Ok(g)) => {
            doc["optimality_gap"] = json!({
                "method": "multiple_replication",
                "replications": g.replications,
                "paths_per_replication": g.paths_per_replication,
                "optima_mean_usd": g.optima_mean_usd,
                "optima_se_usd": g.optima_se_usd,
                "candidate_mean_usd": g.candidate_mean_usd,
                "candidate_se_usd": g.candidate_se_usd,
                "gap_usd": g.gap_usd,
                "gap_se_usd": g.gap_se_usd,
                "gap_ci95_upper_usd": g.gap_ci95_upper_usd,
                "stopping_gap_mean_usd": g.stopping_gap_mean_usd,
                "rules_cut": g.rules_cut(),
                "per_replication": g.per_replication.iter().map(|r| json!({"seed": r.seed, "optimum_usd": r.optimum_usd, "candidate_usd": r.candidate_usd, "gap_usd": r.gap_usd, "rules_cut": r.rules_cut, "stopping_gap_usd": r.stopping_gap_usd})).collect::<Vec<_>>(),
                "note": OPTIMALITY_GAP_NOTE,
            });
        }
        Some(Err(why)) => doc["optimality_gap"] = json!({ "not_estimated": why }),
        None => {}
    }
    if let Some((v, scenarios)) = &f.value_of_information {
        doc["value_of_information"] = json!({"rp": v.rp, "ev": v.ev, "eev": v.eev, "ws": v.ws, "vss": v.vss, "evpi": v.evpi, "eev_infeasible_scenarios": v.eev_infeasible_scenarios});
        if let Some(note) = voi_note(v, *scenarios) {
            doc["value_of_information"]["note"] = json!(note);
        }
    }
    if let Some(points) = &f.frontier {
        doc["frontier"] = json!(points
            .iter()
            .map(|p| json!({"lambda": p.lambda, "expected_value_usd": num(p.expected_value_usd), "cvar_loss_usd": num(p.cvar_loss_usd), "status": p.status.as_str()}))
            .collect::<Vec<_>>());
    }
}

/// Why EEV and VSS are undefined, when the mean-value plan fails on some scenarios.
pub fn voi_note(v: &ValueOfInformation, scenarios: usize) -> Option<String> {
    (v.eev_infeasible_scenarios > 0).then(|| format!(
        "EEV and VSS are undefined: the mean-value plan's first stage has no feasible continuation on {} of {scenarios} scenarios (the stochastic solution is worth more than any finite amount there)",
        v.eev_infeasible_scenarios
    ))
}

fn candidates_json(c: &Candidates) -> Value {
    match c {
        Candidates::Skipped(note) => json!({"chosen": "recourse_mean", "note": note}),
        Candidates::NotFound {
            status,
            time_limit_s,
        } => {
            json!({"chosen": "recourse_mean", "continuation": {"status": status.as_str(), "time_limit_s": time_limit_s}})
        }
        Candidates::Compared {
            mean_npv_usd,
            continuation: k,
        } => json!({
            "chosen": if c.continued() { "continuation" } else { "recourse_mean" },
            "recourse_mean": {"programme_expected_value": Value::Null, "simulated_in_sample_npv_mean": num(*mean_npv_usd)},
            "continuation": {"status": k.status.as_str(), "programme_scenarios": k.scenarios, "programme_expected_value": num(k.programme.expected_value), "programme_cvar_loss": num(k.programme.cvar_loss), "solve_seconds": k.solve_seconds, "simulated_in_sample_npv_mean": num(k.simulated_npv_mean_usd)},
            "note": CANDIDATES_NOTE
        }),
    }
}

fn comparison_json(p: &ComparisonRow) -> Value {
    let diff = p.npv_vs_optimised.map_or(Value::Null, |d| {
        json!({"mean": num(d.mean), "se": num(d.se), "ci95_low": num(d.ci95.0), "ci95_high": num(d.ci95.1)})
    });
    json!({
        "plan": p.plan, "npv_mean_usd": num(p.npv_mean_usd), "npv_se_usd": num(p.npv_se_usd),
        "funding_gap_mean_usd": num(p.funding_gap_mean_usd), "unserved_share_mean": num(p.unserved_share_mean),
        "paired_npv_difference_vs_optimised": diff,
        "automatic_baseline": p.automatic_baseline,
    })
}
