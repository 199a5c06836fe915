//! `plan` as a library call: build the stochastic programme, solve it, diagnose it when it has
//! no solution, turn the solution into a plan a simulator can run (trying two fixed versions when
//! later decisions differ by path), and check that plan on the same and on fresh paths next to
//! the scenario's own plans and the "nothing new" baseline.
//!
//! The result is a typed [`PlanReport`] (`report.rs`), rendered as the `gigawatt-plan` JSON
//! document (docs/reference/output-formats.md) and as text and CSV (`text.rs`).

use gigawatt_io::plan_toml;
use gigawatt_lp::{Problem, SolveStatus, Solver, SolverSettings};
use gigawatt_model::{Plan, Scenario, ValidScenario};
use gigawatt_opt::capacity::{build, CapacityModel, CapacitySettings, Objective};
use gigawatt_opt::decompose::{DecomposeSettings, Iteration, Phase};
use gigawatt_opt::diagnose::{diagnose, Diagnosis};
use gigawatt_opt::{Risk, Solved};
use gigawatt_sim::{Draws, Engine, MetricId};
use serde_json::Value;

mod report;
mod text;

pub use report::{
    Agreement, Candidates, Checked, CommitmentRow, ComparisonRow, Continuation,
    DecompositionReport, Difference, Found, FrontierPoint, LimitMove, ModelSize, NoPlan,
    OptimalityGap, PlanReport, ProgrammeValue, Replication, RuleRow, CHECKED_METRICS,
};

pub use gigawatt_opt::decompose::DEFAULT_WARM_SESSIONS;

use crate::{Progress, SimulateRequest, SimulationReport, StudyError};

/// A request error, formatted.
macro_rules! request_error {
    ($($t:tt)*) => { StudyError::Request(format!($($t)*)) };
}

/// The continuation re-solve uses at most this many of the in-sample paths.
const CONTINUATION_MAX_PATHS: u64 = 200;

/// Replication r of `replications` samples its paths from seed + r × this step.
const REPLICATION_SEED_STEP: u64 = 7919;

/// Why `--replications` needs a solution that carries over to fresh paths.
const REPLICATIONS_NEED: &str = "--replications carries the solution found out on fresh paths, which a scenario tree's later decisions (--branching) and named cases (--cases) do not reach; use linear decision rules (the default), --clairvoyant-recourse, --no-recourse or --fixed-schedule with it";

/// XOR-ed into the seed for the out-of-sample paths, so they are fresh but reproducible.
const OUT_OF_SAMPLE_SEED_TAG: u64 = 0x00F5_E5ED_0000_0001;

/// What [`plan`] is asked to do (the `gigawatt plan` flags of the same names).
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRequest {
    /// Scenarios (sampled paths) in the programme.
    pub paths: u64,
    /// Seed of the in-sample paths (None: the scenario's seed).
    pub seed: Option<u64>,
    /// Name of the plan found.
    pub name: String,
    /// Commitments in the first this-many months are the same on every path.
    pub window_months: i32,
    /// Commitments can be made every this-many months.
    pub period_months: i32,
    /// No commitments after the window.
    pub no_recourse: bool,
    /// One fixed schedule for the whole horizon.
    pub fixed_schedule: bool,
    /// Later commitments at their mean over paths, without the continuation re-solve.
    pub mean_recourse: bool,
    /// Later commitments per path with the path's future in view (an upper bound) instead of
    /// linear decision rules.
    pub clairvoyant_recourse: bool,
    /// Model churn exactly in the programme.
    pub churn: bool,
    /// Multistage branching per stage.
    pub branching: Option<usize>,
    /// Months per stage of the scenario tree.
    pub stage_months: i32,
    /// `npv` or `cost`.
    pub objective: String,
    /// CVaR confidence level.
    pub alpha: f64,
    /// CVaR weight λ.
    pub lambda: f64,
    /// With the cost objective: least share of demand served.
    pub service_level: f64,
    /// Most capex in any calendar year, USD.
    pub budget_usd_per_year: Option<f64>,
    /// Most the backstop may lend on any path, USD.
    pub max_funding_gap_usd: Option<f64>,
    /// Fresh paths for the out-of-sample check.
    pub oos_paths: u64,
    /// Optimise over the named cases.
    pub cases: bool,
    /// Independent re-solves for the optimality gap.
    pub replications: u32,
    /// Paths in each replication (None: `paths`). Fewer keep the estimate valid (an
    /// optimum over fewer paths is, in expectation, further from the true optimum in the
    /// optimistic direction, so the gap is overstated, never understated) at a fraction of
    /// the solve time.
    pub replication_paths: Option<u64>,
    /// EV, EEV, WS, VSS and EVPI.
    pub value_of_information: bool,
    /// Frontier λ values.
    pub frontier: Option<Vec<f64>>,
    /// Solver time limit, seconds (None: none; results then do not depend on the machine).
    pub time_limit: Option<f64>,
    /// Relative MIP gap.
    pub mip_gap: f64,
    /// Solver threads (0: its default).
    pub threads: usize,
    /// Solve by the L-shaped method over paths instead of the extensive form. Also chosen
    /// without asking for a programme with linear decision rules over more than
    /// [`AUTO_DECOMPOSE_ABOVE`] paths, unless [`PlanRequest::extensive_form`].
    pub decompose: bool,
    /// Solve the extensive form even where the decomposition would be chosen without asking.
    pub extensive_form: bool,
    /// The decomposition's relative stopping gap (None: [`DEFAULT_DECOMPOSE_GAP`] with
    /// `decompose`; when the decomposition is chosen without asking, `mip_gap`, at least that
    /// default, the gap the extensive form would have stopped at).
    pub decompose_gap: Option<f64>,
    /// The decomposition's cut groups (0: one per path; None: one per path up to
    /// [`AUTO_GROUPS_ABOVE`] paths, [`AUTO_GROUPS`] groups beyond).
    pub decompose_groups: Option<usize>,
    /// Paths up to which the decomposition keeps each path's subproblem as a live solver
    /// session (None: [`gigawatt_opt::decompose::DEFAULT_WARM_SESSIONS`]); beyond, each path
    /// keeps only its last basis.
    pub decompose_sessions: Option<usize>,
    /// Solve every path's subproblem with the LP solver, even where its structure lets the
    /// decomposition solve it directly (for comparison; the same optimum).
    pub decompose_solver_subproblems: bool,
    /// Refuse a programme whose estimated memory exceeds this many GB (None: 80 % of the
    /// machine's memory).
    pub max_memory_gb: Option<f64>,
}

impl PlanRequest {
    /// A request with `gigawatt plan`'s defaults: two-stage over `paths` paths, the first year
    /// as the window, quarterly commitments, risk-neutral NPV, 2,000 fresh paths for the check.
    pub fn new(paths: u64) -> PlanRequest {
        PlanRequest {
            paths,
            seed: None,
            name: "optimised".into(),
            window_months: 12,
            period_months: 3,
            no_recourse: false,
            fixed_schedule: false,
            mean_recourse: false,
            clairvoyant_recourse: false,
            churn: false,
            branching: None,
            stage_months: 12,
            objective: "npv".into(),
            alpha: 0.95,
            lambda: 0.0,
            service_level: 0.99,
            budget_usd_per_year: None,
            max_funding_gap_usd: None,
            oos_paths: 2000,
            cases: false,
            replications: 0,
            replication_paths: None,
            value_of_information: false,
            frontier: None,
            time_limit: None,
            mip_gap: 0.01,
            threads: 0,
            decompose: false,
            extensive_form: false,
            decompose_gap: None,
            decompose_groups: None,
            decompose_sessions: None,
            decompose_solver_subproblems: false,
            max_memory_gb: None,
        }
    }

    /// Paths in each replication of the optimality-gap estimate.
    pub fn paths_per_replication(&self) -> u64 {
        self.replication_paths.unwrap_or(self.paths)
    }

    /// Paths up to which the decomposition keeps live subproblem sessions.
    pub fn warm_sessions(&self) -> usize {
        self.decompose_sessions
            .unwrap_or(gigawatt_opt::decompose::DEFAULT_WARM_SESSIONS)
    }
}

/// Called with the programme before it is solved (to write it to an MPS file, say).
pub type WriteModel<'a> = dyn Fn(&gigawatt_lp::Problem) -> Result<(), String> + 'a;

/// What [`plan`] produced.
#[derive(Debug, Clone)]
pub struct PlanOutcome {
    /// The typed report.
    pub report: PlanReport,
    /// The `gigawatt-plan` JSON document.
    pub doc: Value,
    /// The terminal report (the diagnosis when no plan was found).
    pub text: String,
    /// False when the programme has no solution (infeasible, unbounded, stopped).
    pub found: bool,
    /// The plan as a `[[plans]]` entry (when found).
    pub plan_toml: Option<String>,
    /// `commitments.csv` (when found).
    pub commitments_csv: Option<String>,
    /// `frontier.csv` (when a frontier was asked for).
    pub frontier_csv: Option<String>,
    /// `replications.csv` (with `--replications`).
    pub replications_csv: Option<String>,
}

/// Bytes of peak memory per programme column, measured with HiGHS on frontier-lab (3.19 GB at
/// 1,444,028 columns, 703 MB at 288,828; BENCHMARKS.md), rounded up.
const BYTES_PER_COLUMN: f64 = 2_500.0;

/// The same for `--decompose` with warm HiGHS subproblems (one solver session per path):
/// 2.62 GB at 1,444,420 columns (frontier-lab, 1,000 paths; BENCHMARKS.md), rounded up.
const BYTES_PER_COLUMN_DECOMPOSED_WARM: f64 = 2_000.0;

/// The same for `--decompose` with subproblems rebuilt each round from each path's last basis
/// (beyond `--decompose-sessions` paths, or without HiGHS), as a fixed part plus a part per
/// column: frontier-lab took 1.12 GB at 1,444,420 columns (1,000 paths) and 6.2 GB at
/// 14,440,420 (10,000 paths; BENCHMARKS.md), so about 390 bytes a column on 0.56 GB; both
/// rounded up.
const BYTES_PER_COLUMN_DECOMPOSED_BASES: f64 = 450.0;

/// The fixed part of the estimate above, in GB.
const DECOMPOSED_BASES_FIXED_GB: f64 = 0.6;

/// The memory a programme may need, in GB: `--max-memory-gb`, or 80 % of the machine's.
fn memory_limit_gb(a: &PlanRequest) -> f64 {
    a.max_memory_gb.unwrap_or(0.8 * machine_memory_gb())
}

/// The machine's memory in GB (Linux /proc/meminfo; 16 GB when it cannot be read).
fn machine_memory_gb() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(16.0, |kb| kb / 1024.0 / 1024.0)
}

/// Columns of the programme over `paths` paths, extrapolated from builds over 2 and 4 paths
/// (every path adds the same blocks of columns, so the size is affine in paths).
fn estimated_columns(
    sc: &ValidScenario,
    settings: &CapacitySettings,
    paths: u64,
) -> Result<f64, StudyError> {
    let mut cols = [0.0; 2];
    for (i, n) in [2u64, 4].into_iter().enumerate() {
        let small = CapacitySettings {
            paths: n,
            ..settings.clone()
        };
        let engine = Engine::new(sc, n, small.seed, &[]).map_err(StudyError::Scenario)?;
        let model = build(sc, &engine, &small).map_err(StudyError::Scenario)?;
        let (problem, _) = model.program.extensive_form(Risk::Neutral, None);
        cols[i] = problem.num_cols() as f64;
    }
    let per_path = (cols[1] - cols[0]) / 2.0;
    Ok(cols[0] + per_path * (paths as f64 - 2.0))
}

/// Simulates `plans` (before the scenario's own, and the "nothing new" baseline, which the
/// found plan must always beat) on `paths` paths from `seed`.
fn evaluate(
    sc: &ValidScenario,
    plans: &[Plan],
    paths: u64,
    seed: u64,
) -> Result<SimulationReport, StudyError> {
    let mut s = Scenario::clone(sc);
    s.plans = plans.to_vec();
    s.plans.extend(sc.plans.iter().cloned());
    let s = crate::revalidate(s)?;
    crate::simulate(&s, &SimulateRequest::new(paths, seed), &crate::Quiet)
}

/// Columns above which the pure-Rust solver is warned to be slow on linear decision rules.
const MICROLP_RULES_COLUMNS: usize = 30_000;

/// Mean NPV of plan `p` in a report.
fn npv_mean(r: &SimulationReport, p: usize) -> f64 {
    r.plans[p].metric(MetricId::Npv).mean
}

/// Optimises commitments for the scenario and checks the plan found by simulation.
pub fn plan(
    sc: &ValidScenario,
    a: &PlanRequest,
    solver: &(dyn Solver + Sync),
    progress: &dyn Progress,
    write_mps: Option<&WriteModel<'_>>,
) -> Result<PlanOutcome, StudyError> {
    check_request(a)?;
    let seed = a.seed.unwrap_or(sc.simulation.seed);
    let risk = if a.lambda > 0.0 {
        Risk::Cvar {
            alpha: a.alpha,
            lambda: a.lambda,
        }
    } else {
        Risk::Neutral
    };
    let settings = capacity_settings(sc, a, seed, risk);
    // Beyond a few hundred paths the extensive form with linear decision rules is slow (frontier-
    // lab at 1,000 paths: over 10 minutes with HiGHS) where the decomposition takes seconds
    // (8 s to a 1 % gap): choose it unless asked for the extensive form.
    let auto = !a.decompose
        && !a.extensive_form
        && !a.cases
        && a.paths > AUTO_DECOMPOSE_ABOVE
        && settings.affine
        && settings.recourse
        && settings.branching.is_none();
    let decomposed;
    let a = if auto {
        let gap = a
            .decompose_gap
            .unwrap_or(a.mip_gap.clamp(DEFAULT_DECOMPOSE_GAP, 0.5));
        progress.note(&format!(
            "note: over {} paths with linear decision rules the programme is solved by decomposition to a gap of {} (--extensive-form solves it whole, which takes far longer at this size; --decompose-gap sets the gap)",
            a.paths, gap
        ));
        decomposed = PlanRequest {
            decompose: true,
            decompose_gap: Some(gap),
            ..a.clone()
        };
        &decomposed
    } else {
        a
    };
    let solver_settings = SolverSettings {
        mip_gap: a.mip_gap,
        time_limit_s: a.time_limit.unwrap_or(f64::INFINITY),
        threads: a.threads,
    };
    if !a.cases && a.paths > 4 {
        check_memory(sc, a, &settings, solver.name())?;
    }
    let engine = Engine::new(sc, a.paths, seed, &[]).map_err(StudyError::Scenario)?;
    progress.note(&if a.cases {
        format!(
            "building the programme over {} named cases...",
            sc.cases.len()
        )
    } else {
        format!("building the programme over {} paths...", a.paths)
    });
    let model = build(sc, &engine, &settings).map_err(StudyError::Scenario)?;
    let p = Planner {
        sc,
        a,
        solver,
        solver_settings,
        progress,
        settings,
        risk,
        seed,
        engine,
        model,
    };
    let (solved, size, decomposition) = p.solve(write_mps)?;
    let status = solved.solution.status;
    let mut report = PlanReport {
        scenario: sc.name.clone(),
        solver: solver.name().to_string(),
        status,
        paths: a.paths,
        cases: a.cases,
        scenarios: p.model.program.scenarios.len(),
        seed,
        objective_kind: a.objective.clone(),
        alpha: a.alpha,
        lambda: a.lambda,
        model_size: size,
        recourse: p.settings.recourse,
        churn_modelled: p.settings.churn,
        scenario_has_churn: sc.segments.iter().any(|g| g.churn_share_pu > 0.0),
        build_seconds: p.model.build_seconds,
        solve_seconds: solved.solution.solve_seconds,
        decomposition,
        outcome: Err(NoPlan::Stopped),
    };
    report.outcome = if status.has_solution() {
        Ok(Box::new(p.found(&solved)?))
    } else {
        Err(p.no_plan(status)?)
    };
    let (plan_toml, commitments_csv, frontier_csv, replications_csv) = match &report.outcome {
        Ok(f) => (
            Some(f.plan_toml.clone()),
            Some(text::commitments_csv(f)),
            f.frontier
                .as_ref()
                .map(|points| text::frontier_csv(a.alpha, points)),
            f.optimality_gap
                .as_ref()
                .and_then(|g| g.as_ref().ok())
                .map(text::replications_csv),
        ),
        Err(_) => (None, None, None, None),
    };
    Ok(PlanOutcome {
        doc: report.to_json(),
        text: text::text(&report),
        found: report.outcome.is_ok(),
        report,
        plan_toml,
        commitments_csv,
        frontier_csv,
        replications_csv,
    })
}

/// Rejects request values no programme can use, naming the flag.
fn check_request(a: &PlanRequest) -> Result<(), StudyError> {
    if a.paths == 0 || a.oos_paths == 0 {
        return Err(request_error!("--paths and --oos-paths must be at least 1"));
    }
    if a.oos_paths > gigawatt_sim::MAX_PATHS {
        return Err(request_error!(
            "--oos-paths {} is more than a run may have (at most {})",
            a.oos_paths,
            gigawatt_sim::MAX_PATHS
        ));
    }
    let non_negative = |x: f64| x.is_finite() && x >= 0.0;
    if !(0.0..1.0).contains(&a.alpha)
        || !non_negative(a.lambda)
        || !(0.0..=1.0).contains(&a.service_level)
    {
        return Err(request_error!(
            "--alpha must be in [0, 1), --lambda >= 0 and --service-level in [0, 1]"
        ));
    }
    if let Some(bad) = a.frontier.iter().flatten().find(|l| !non_negative(**l)) {
        return Err(request_error!(
            "--frontier takes λ values >= 0, separated by commas (got {bad})"
        ));
    }
    if a.replications > 0 && (a.branching.is_some_and(|b| b >= 1) || a.cases) {
        return Err(request_error!("{REPLICATIONS_NEED}"));
    }
    if let Some(n) = a.replication_paths {
        if a.replications == 0 {
            return Err(request_error!(
                "--replication-paths sets the paths of each --replications solve; add --replications R (5 to 10 is usual)"
            ));
        }
        if n == 0 || n > a.paths {
            return Err(request_error!(
                "--replication-paths must be between 1 and --paths ({}): fewer paths per replication keep the gap's estimate valid (it is overstated, never understated) at less solve time (got {n})",
                a.paths
            ));
        }
    }
    if a.replications == 1 {
        return Err(request_error!(
            "--replications needs at least 2 replications to estimate the gap's spread (5 to 10 is usual)"
        ));
    }
    if a.decompose_gap.is_some_and(|g| !(g > 0.0 && g < 1.0)) {
        return Err(request_error!(
            "--decompose-gap must be in (0, 1) (0.001 stops within 0.1 % of the bound)"
        ));
    }
    if !non_negative(a.mip_gap) {
        return Err(request_error!(
            "--mip-gap must be a number >= 0 (0.01 stops within 1 % of the bound)"
        ));
    }
    if a.time_limit.is_some_and(|t| t.is_nan() || t <= 0.0) {
        return Err(request_error!(
            "--time-limit must be a positive number of seconds"
        ));
    }
    for (flag, v) in [
        ("--budget-usd-per-year", a.budget_usd_per_year),
        ("--max-funding-gap-usd", a.max_funding_gap_usd),
    ] {
        if v.is_some_and(|x| !non_negative(x)) {
            return Err(request_error!("{flag} must be a number of dollars >= 0"));
        }
    }
    if a.max_memory_gb.is_some_and(|g| !(g.is_finite() && g > 0.0)) {
        return Err(request_error!(
            "--max-memory-gb must be a positive number of gigabytes"
        ));
    }
    Ok(())
}

/// The programme's settings from the request.
fn capacity_settings(
    sc: &ValidScenario,
    a: &PlanRequest,
    seed: u64,
    risk: Risk,
) -> CapacitySettings {
    CapacitySettings {
        window_months: if a.fixed_schedule {
            sc.horizon.months() as i32
        } else {
            a.window_months.max(1)
        },
        period_months: a.period_months.max(1),
        recourse: !a.no_recourse && !a.fixed_schedule,
        branching: a.branching.filter(|b| *b >= 1),
        stage_months: a.stage_months.max(1),
        objective: if a.objective == "cost" {
            Objective::Cost {
                service_level: a.service_level,
                risk,
            }
        } else {
            Objective::Npv(risk)
        },
        budget_usd_per_year: a.budget_usd_per_year,
        max_funding_gap_usd: a.max_funding_gap_usd,
        cases: a.cases,
        churn: a.churn,
        affine: !a.clairvoyant_recourse,
        ..CapacitySettings::new(a.paths, seed)
    }
}

/// Iterations after which `--decompose`, with paths still lacking a feasible recourse, suggests
/// the extensive form when it fits (startup with `--objective cost` at 30 paths: 270 such
/// iterations before every path had a recourse; BENCHMARKS.md).
const SLOW_FEASIBILITY_ITERATIONS: usize = 50;

/// Paths beyond which `--decompose` groups the cuts by default: one cut per path piles 1,000
/// dense rows a round into the masters at 1,000 paths (BENCHMARKS.md).
pub const AUTO_GROUPS_ABOVE: u64 = 200;

/// The decomposition's stopping gap when `--decompose` asks for it without `--decompose-gap`.
pub const DEFAULT_DECOMPOSE_GAP: f64 = 1e-3;

/// Paths beyond which a programme with linear decision rules is solved by decomposition
/// unless the extensive form is asked for.
pub const AUTO_DECOMPOSE_ABOVE: u64 = 200;

/// Cut groups by default beyond [`AUTO_GROUPS_ABOVE`] paths.
pub const AUTO_GROUPS: usize = 100;

/// Refuses, before building it, a programme whose estimated memory exceeds the limit, naming
/// the largest `--paths` that fits.
fn check_memory(
    sc: &ValidScenario,
    a: &PlanRequest,
    settings: &CapacitySettings,
    solver: &str,
) -> Result<(), StudyError> {
    let limit_gb = memory_limit_gb(a);
    let cols = estimated_columns(sc, settings, a.paths)?;
    let sessions = DecomposeSettings {
        warm_sessions: a.warm_sessions(),
        ..DecomposeSettings::default()
    };
    let warm = sessions.keeps_sessions(solver, usize::try_from(a.paths).unwrap_or(usize::MAX));
    let bases_gb = DECOMPOSED_BASES_FIXED_GB + cols * BYTES_PER_COLUMN_DECOMPOSED_BASES / 1e9;
    let decomposed_gb = if warm {
        cols * BYTES_PER_COLUMN_DECOMPOSED_WARM / 1e9
    } else {
        bases_gb
    };
    let (need_gb, how) = if a.decompose {
        (decomposed_gb, "by decomposition")
    } else {
        (cols * BYTES_PER_COLUMN / 1e9, "as one extensive form")
    };
    if need_gb > limit_gb {
        // The estimate is a fixed part plus a part in proportion to the paths.
        let fixed_gb = if a.decompose && !warm {
            DECOMPOSED_BASES_FIXED_GB
        } else {
            0.0
        };
        let per_path_gb = (need_gb - fixed_gb) / a.paths as f64;
        let fit = ((limit_gb - fixed_gb) / per_path_gb).floor().max(1.0);
        let hint = if a.decompose && warm && bases_gb <= limit_gb {
            format!(
                ", or --decompose-sessions {} or fewer (each path's subproblem rebuilt from its \
                 last basis: about {bases_gb:.1} GB by the same estimate)",
                a.paths - 1
            )
        } else if a.decompose {
            String::new()
        } else {
            format!(", or --decompose (about {decomposed_gb:.1} GB by the same estimate)")
        };
        return Err(request_error!(
            "the programme over {} paths would have about {cols:.3e} columns and need about {need_gb:.1} GB \
             to solve {how} (estimate), more than the {limit_gb:.1} GB allowed; use --paths {fit:.0} or fewer{hint}, \
             or raise --max-memory-gb if the machine has the memory",
            a.paths
        ));
    }
    Ok(())
}

fn model_size(problem: &Problem) -> ModelSize {
    ModelSize {
        columns: problem.num_cols(),
        rows: problem.num_rows(),
        nonzeros: problem.num_nonzeros(),
        integer_columns: problem.integer.iter().filter(|i| **i).count(),
    }
}

/// One `plan` run: the request, the programme built for it and what solves it.
struct Planner<'a> {
    sc: &'a ValidScenario,
    a: &'a PlanRequest,
    solver: &'a (dyn Solver + Sync),
    solver_settings: SolverSettings,
    progress: &'a dyn Progress,
    settings: CapacitySettings,
    risk: Risk,
    seed: u64,
    engine: Engine,
    model: CapacityModel,
}

impl Planner<'_> {
    /// Solves the programme, built once: its size is reported and it is what the solver gets;
    /// or, with `--decompose`, by the L-shaped method (no extensive form is built unless MPS
    /// output asks for it).
    fn solve(
        &self,
        write_mps: Option<&WriteModel<'_>>,
    ) -> Result<(Solved, ModelSize, Option<DecompositionReport>), StudyError> {
        if self.a.decompose {
            if let Some(write) = write_mps {
                let (problem, _) = self.model.program.extensive_form(self.risk, None);
                write(&problem).map_err(StudyError::Request)?;
            }
            return self.solve_decomposed();
        }
        let (problem, layout) = self.model.program.extensive_form(self.risk, None);
        let size = model_size(&problem);
        if let Some(write) = write_mps {
            write(&problem).map_err(StudyError::Request)?;
        }
        self.progress.note(&format!(
            "solving with {} ({} columns, {} rows)...",
            self.solver.name(),
            size.columns,
            size.rows
        ));
        if self.solver.name() == "microlp" && size.columns > 150_000 {
            self.progress.note("warning: this programme is large for the pure-Rust solver; build with `--features highs` and use --solver highs, or use fewer --paths");
        } else if self.solver.name() == "microlp"
            && !self.model.affine.is_empty()
            && size.columns > MICROLP_RULES_COLUMNS
        {
            // Measured: frontier-lab at 50 paths (73k columns) ran over 12 minutes with the rules
            // against about a minute with per-path recourse (BENCHMARKS.md).
            self.progress.note("warning: linear decision rules couple every path's later decisions, which the pure-Rust solver handles slowly at this size (frontier-lab at 50 paths: over 12 minutes); use --solver highs (`--features highs`), fewer --paths, --decompose, or --clairvoyant-recourse for the faster upper bound");
        } else if !self.model.affine.is_empty() && self.a.paths > AUTO_DECOMPOSE_ABOVE {
            // Only with --extensive-form. Measured with HiGHS on frontier-lab: the extensive
            // form with the rules took 282 s at 200 paths and did not solve in 10 minutes at
            // 1,000; the decomposition takes 8 s to a 1 % gap there (BENCHMARKS.md).
            self.progress.note(&format!(
                "note: with linear decision rules the extensive form over {} paths can take a long time (frontier-lab at 1,000 paths: over 10 minutes); without --extensive-form the decomposition solves the same programme to a stated gap (frontier-lab at 1,000 paths: 8 s to 1 %, about 3 minutes to 0.1 %)",
                self.a.paths
            ));
        }
        let solved = self.model.solve_built(
            &problem,
            layout,
            self.solver,
            &self.solver_settings,
            self.risk,
        )?;
        // No second copy of the extensive form stays alive after the solve.
        drop(problem);
        Ok((solved, size, None))
    }

    /// The decomposition's settings from the request, for a programme over `paths` paths.
    fn decompose_settings(&self, paths: u64) -> DecomposeSettings {
        DecomposeSettings {
            gap: self.a.decompose_gap.unwrap_or(DEFAULT_DECOMPOSE_GAP),
            groups: self
                .a
                .decompose_groups
                .unwrap_or(if paths > AUTO_GROUPS_ABOVE {
                    AUTO_GROUPS
                } else {
                    0
                }),
            warm_sessions: self.a.warm_sessions(),
            direct: !self.a.decompose_solver_subproblems,
            ..DecomposeSettings::default()
        }
    }

    /// The L-shaped method over the paths, with its bounds noted as it converges.
    fn solve_decomposed(
        &self,
    ) -> Result<(Solved, ModelSize, Option<DecompositionReport>), StudyError> {
        let (columns, rows, nonzeros, integer_columns) = self.model.program.size(self.risk);
        let size = ModelSize {
            columns,
            rows,
            nonzeros,
            integer_columns,
        };
        self.progress.note(&format!(
            "solving with {} by decomposition over {} subproblems (the extensive form would have {} columns, {} rows)...",
            self.solver.name(),
            self.model.program.scenarios.len(),
            size.columns,
            size.rows
        ));
        if self.solver.name() == "microlp" {
            self.progress.note("note: the pure-Rust solver has no row duals of its own: a path's subproblem that is not solved directly (a cash, service-level or churn row, pools, or no feasible recourse at the point) has its dual LP solved too, and its accuracy can stop the decomposition there. Use --solver highs (`--features highs`) for such programmes");
        }
        let cvar = matches!(self.risk, Risk::Cvar { lambda, .. } if lambda > 0.0);
        if cvar && self.a.decompose_groups.is_some_and(|g| g > 0) {
            self.progress.note("note: --decompose-groups is ignored with CVaR (--lambda > 0), which needs every path's value in the master: one cut per path");
        }
        let dset = self.decompose_settings(self.a.paths);
        let unit = if self.a.objective == "cost" {
            "cost"
        } else {
            "NPV"
        };
        // Paths that still have no recourse after many iterations mean the method is finding,
        // one feasibility cut at a time, the plans every path can carry out (slow on cost
        // programmes, whose service-level rows hold several of a path's own variables); when
        // the extensive form fits, say so once.
        let ef_gb = size.columns as f64 * BYTES_PER_COLUMN / 1e9;
        let ef_fits = ef_gb <= memory_limit_gb(self.a);
        let mut hinted = false;
        let mut note = |it: &Iteration| {
            let shown = |v: f64| {
                if v.is_finite() {
                    let (scale, label) = crate::render::row_money_unit(v);
                    format!("{:.4} {label}", v / scale)
                } else {
                    "unknown".to_string()
                }
            };
            let gap = if it.gap.is_finite() {
                format!("{:.3}%", it.gap * 100.0)
            } else {
                "-".to_string()
            };
            let infeasible = if it.infeasible_subproblems > 0 {
                format!(
                    ", {} paths with no feasible recourse",
                    it.infeasible_subproblems
                )
            } else {
                String::new()
            };
            let relaxed = match it.phase {
                Phase::Relaxation => " (whole blocks relaxed)",
                Phase::Rounded => " (whole blocks rounded from the relaxation)",
                Phase::Exact => "",
            };
            self.progress.note(&format!(
                "  iteration {:>3}: {unit}{relaxed} between {} and {}, gap {gap}, {} cuts{infeasible}, {:.1} s",
                it.iteration,
                shown(it.lower),
                shown(it.upper),
                it.cuts,
                it.seconds
            ));
            if it.iteration >= SLOW_FEASIBILITY_ITERATIONS
                && it.infeasible_subproblems > 0
                && ef_fits
                && !hinted
            {
                hinted = true;
                let memory = if ef_gb >= 1.0 {
                    format!("{ef_gb:.1} GB")
                } else {
                    format!("{:.0} MB", ef_gb * 1e3)
                };
                self.progress.note(&format!(
                    "note: after {} iterations {} paths still have no feasible recourse: the decomposition finds the plans every path can carry out one cut at a time. The extensive form ({} columns, about {memory}) fits this machine and solves it directly: use --extensive-form instead of --decompose",
                    it.iteration, it.infeasible_subproblems, size.columns
                ));
            }
        };
        let d = self
            .model
            .solve_decomposed(
                self.solver,
                &self.solver_settings,
                self.risk,
                &dset,
                &mut note,
            )
            .map_err(|e| {
                if self.solver.name() == "microlp" {
                    // On startup, a subproblem's dual from the pure-Rust simplex is off by 4 % of
                    // its value (docs/explanation/optimisation.md, limitations).
                    StudyError::Scenario(format!(
                        "{e}\nThe pure-Rust solver's accuracy stopped the decomposition. Use --solver highs (a build with `--features highs`), or the extensive form (--extensive-form instead of --decompose), which solves the same programme, more slowly at this size."
                    ))
                } else {
                    StudyError::Solver(e)
                }
            })?;
        if !d.converged && d.solved.solution.status.has_solution() {
            self.progress.note(&format!(
                "warning: the decomposition stopped before the gap closed (its iteration limit, {}, or the master's numerical tolerance); the plan is the best found, with the bounds printed",
                dset.max_iterations
            ));
        }
        if !d.on_box.is_empty() {
            self.progress.note(&format!(
                "warning: {} ended on the decomposition's box (|x| <= {:e}); the plan is optimal within the box only",
                d.on_box.join(", "),
                dset.box_bound
            ));
        }
        let paths = self.model.program.scenarios.len();
        let report = DecompositionReport {
            converged: d.converged,
            gap_target: dset.gap,
            subproblems: if dset.keeps_sessions(self.solver.name(), paths) {
                "sessions"
            } else if self.solver.name() == "highs" {
                "bases"
            } else {
                "rebuilt"
            },
            on_box: d.on_box,
            iterations: d.iterations,
        };
        Ok((d.solved, size, Some(report)))
    }

    /// Why there is no plan: for an infeasible programme, the limits that conflict.
    fn no_plan(&self, status: SolveStatus) -> Result<NoPlan, StudyError> {
        self.progress.note(&format!(
            "the programme is {}; diagnosing...",
            status.as_str()
        ));
        match status {
            SolveStatus::Infeasible => {
                let d = diagnose(
                    &self.model.program,
                    self.risk,
                    None,
                    self.solver,
                    &self.solver_settings,
                )?;
                Ok(match d {
                    Diagnosis::NotLimits => NoPlan::NotLimits,
                    Diagnosis::Limits(c) => NoPlan::Limits(
                        c.into_iter()
                            .map(|c| {
                                let u = gigawatt_opt::capacity::limit_unit_usd(&c.limit);
                                let (unit, meaning) =
                                    gigawatt_opt::capacity::limit_unit_label(&c.limit);
                                LimitMove {
                                    bound: c.bound * u,
                                    move_by: c.move_by * u,
                                    paths: c.paths,
                                    unit,
                                    meaning,
                                    held_at_bound: c.held,
                                    limit: c.limit,
                                }
                            })
                            .collect(),
                    ),
                })
            }
            SolveStatus::Unbounded => Ok(NoPlan::Unbounded),
            _ => Ok(NoPlan::Stopped),
        }
    }

    /// The programme's value against the plan's simulated value and, on the programme's own
    /// paths, what explains the difference ([`Self::effects_switched_off`]). NPV objective only.
    fn agreement(
        &self,
        solved: &Solved,
        plan: &Plan,
        ins: &SimulationReport,
        oos: &SimulationReport,
    ) -> Result<Option<Agreement>, StudyError> {
        if self.a.objective == "cost" {
            return Ok(None);
        }
        let probs: Vec<f64> = self
            .model
            .program
            .scenarios
            .iter()
            .map(|s| s.prob)
            .collect();
        let mean = solved.expected;
        let var: f64 = solved
            .values
            .iter()
            .zip(&probs)
            .map(|(v, p)| p * (v - mean) * (v - mean))
            .sum();
        let programme_se = (var / probs.len().max(1) as f64).sqrt();
        let o = oos.plans[0].metric(MetricId::Npv);
        let combined = (programme_se * programme_se + o.se * o.se).sqrt();
        // Over named cases, which the simulation does not run, there are no own paths to
        // switch effects off on.
        let (steps, in_sample_usd) = if self.a.cases {
            (Vec::new(), f64::NAN)
        } else {
            (self.effects_switched_off(plan)?, npv_mean(ins, 0))
        };
        Ok(Some(Agreement {
            programme_usd: mean,
            programme_se_usd: programme_se,
            out_of_sample_usd: o.mean,
            out_of_sample_se_usd: o.se,
            within: (mean - o.mean).abs() <= (0.05 * mean.abs()).max(3.0 * combined),
            steps,
            in_sample_usd,
        }))
    }

    /// The plan simulated on the programme's own paths as the effects the programme leaves out
    /// are switched off one after another: churn (unless the programme models it), quality
    /// feedback, training runs and extra research, and the priority order (segments served by
    /// value instead, as the programme serves scarce capacity). Returns (effect, simulated NPV
    /// with it and every earlier one off), for the effects the scenario has.
    fn effects_switched_off(&self, plan: &Plan) -> Result<Vec<(String, f64)>, StudyError> {
        let sc = self.sc;
        let by_value = self.segments_by_value();
        let in_order = self.engine.segment_order();
        let reorder = |s: &mut Scenario| {
            if s.allocation.order.is_empty() {
                for (rank, &si) in by_value.iter().enumerate() {
                    s.segments[si].priority = rank as i64;
                }
            } else {
                let mut next = by_value.iter();
                for st in &mut s.allocation.order {
                    if let gigawatt_model::AllocationStep::Segment(n) = st {
                        if let Some(&si) = next.next() {
                            *n = sc.segments[si].name.clone();
                        }
                    }
                }
            }
        };
        type Switch<'a> = &'a dyn Fn(&mut Scenario);
        let effects: [(&str, bool, Switch); 4] = [
            (
                "churn",
                sc.segments.iter().any(|s| s.churn_share_pu > 0.0) && !self.settings.churn,
                &|s| s.segments.iter_mut().for_each(|g| g.churn_share_pu = 0.0),
            ),
            // Inputs draw by name, so fixing this one leaves every other draw as it was.
            (
                "quality feedback",
                sc.research.quality_elasticity != gigawatt_model::Uncertain::fixed(0.0),
                &|s| s.research.quality_elasticity = gigawatt_model::Uncertain::fixed(0.0),
            ),
            (
                "training runs and extra research",
                !sc.research.runs.is_empty() || sc.research.extra_cap_share_pu > 0.0,
                &|s| {
                    s.research.runs.clear();
                    s.research.extra_cap_share_pu = 0.0;
                },
            ),
            (
                "priority order (segments served by value instead)",
                by_value.len() == in_order.len() && by_value != in_order,
                &reorder,
            ),
        ];
        let mut variant = Scenario::clone(sc);
        let mut steps = Vec::new();
        for (effect, present, switch_off) in effects {
            if !present {
                continue;
            }
            switch_off(&mut variant);
            let mut v = variant.clone();
            v.plans = vec![plan.clone()];
            let v = crate::revalidate(v)?;
            let r = crate::simulate(
                &v,
                &SimulateRequest::new(self.a.paths, self.seed),
                &crate::Quiet,
            )?;
            steps.push((effect.to_string(), npv_mean(&r, 0)));
        }
        Ok(steps)
    }

    /// Segment indices by revenue per H100e-month (averaged over the horizon) on the median
    /// path, highest first; empty when the median path cannot be drawn.
    fn segments_by_value(&self) -> Vec<usize> {
        let mut median = Draws::default();
        if self.engine.draw_case(0, &[], &mut median).is_err() {
            return Vec::new();
        }
        let view = self
            .engine
            .path_view(&median, &mut gigawatt_sim::Scratch::default());
        let mut value: Vec<(f64, usize)> = view
            .revenue_per_h100e
            .iter()
            .enumerate()
            .map(|(i, r)| (r.iter().sum::<f64>() / r.len().max(1) as f64, i))
            .collect();
        value.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        value.into_iter().map(|(_, i)| i).collect()
    }

    /// The plan from a solution, checked by simulation, with the analyses asked for.
    fn found(&self, solved: &Solved) -> Result<Found, StudyError> {
        let (plan, stages, candidates) = self.choose_plan(solved)?;
        let commitments = self.commitment_rows(&plan, &stages);
        let rules = plan
            .rules
            .iter()
            .filter(|r| r.kind == gigawatt_model::RuleKind::Affine)
            .map(|r| RuleRow {
                option: r.option.clone(),
                month: r.from.to_string(),
                unit: self
                    .sc
                    .option(&r.option)
                    .map_or("h100e", |o| o.kind.size_unit()),
                intercept: r.intercept,
                slope: r.slope,
                centre_h100e: r.centre_h100e,
            })
            .collect();
        // The implementable plan, simulated in sample (same paths) and out of sample (fresh
        // paths), next to the scenario's own plans on common random numbers.
        self.progress
            .note("simulating the plan in sample and out of sample...");
        let (a, seed) = (self.a, self.seed);
        let ins = evaluate(self.sc, std::slice::from_ref(&plan), a.paths, seed)?;
        let oos_seed = seed ^ OUT_OF_SAMPLE_SEED_TAG;
        let oos = evaluate(self.sc, std::slice::from_ref(&plan), a.oos_paths, oos_seed)?;
        let comparison = comparison_rows(&oos);
        let agreement = self.agreement(solved, &plan, &ins, &oos)?;
        // Which plan is best out of sample, on common random numbers: the found plan is not
        // called best when another plan has a higher mean NPV (ties go to the earlier plan).
        // Minimising cost at a service level, a plan that serves less than it is no rival.
        let serves_enough = |i: usize| {
            a.objective != "cost"
                || i == 0
                || comparison[i].unserved_share_mean <= 1.0 - a.service_level + 1e-9
        };
        let best = (0..comparison.len())
            .filter(|&i| serves_enough(i))
            .max_by(|&i, &j| {
                comparison[i]
                    .npv_mean_usd
                    .total_cmp(&comparison[j].npv_mean_usd)
                    .then(j.cmp(&i))
            });
        // The gap is an analysis of the plan found: when it cannot be estimated (a replication
        // without a solution, a solution that cannot be carried out on fresh paths), the plan
        // stands and the report says why.
        let optimality_gap = if a.replications > 0 {
            Some(self.optimality_gap(solved).map_err(|e| {
                let why = e.to_string();
                self.progress.note(&format!("warning: {why}"));
                why
            }))
        } else {
            None
        };
        let value_of_information = if a.value_of_information {
            self.progress
                .note("value of information (one solve per path)...");
            self.model
                .value_of_information(self.solver, &self.solver_settings)?
                .map(|v| (v, self.model.program.scenarios.len()))
        } else {
            None
        };
        let frontier = match &a.frontier {
            Some(lambdas) => Some(self.frontier(lambdas)?),
            None => None,
        };
        Ok(Found {
            objective: solved.solution.objective,
            bound: solved.solution.bound,
            gap: solved.solution.gap,
            in_sample: ProgrammeValue {
                expected_value: solved.expected,
                cvar_loss: solved.cvar_loss,
            },
            candidates,
            policy: if !self.model.affine.is_empty() {
                "affine_rules"
            } else if !self.settings.recourse {
                "none"
            } else if self.settings.branching.is_some() {
                "scenario_tree"
            } else {
                "clairvoyant_recourse"
            },
            plan_toml: plan_toml(self.sc, &plan),
            plan,
            commitments,
            rules,
            simulated_in_sample: checked(&ins),
            simulated_out_of_sample: checked(&oos),
            agreement,
            out_of_sample_seed: oos_seed,
            comparison,
            best,
            optimality_gap,
            value_of_information,
            frontier,
        })
    }

    /// The plan handed over and the stage of each commitment: the programme's first stage with
    /// later commitments at their mean over paths, or (when it simulates better) the first
    /// stage with the best fixed schedule after it.
    fn choose_plan(
        &self,
        solved: &Solved,
    ) -> Result<(Plan, Vec<&'static str>, Option<Candidates>), StudyError> {
        let (a, sc, settings) = (self.a, self.sc, &self.settings);
        let (mut plan, first_stage) = self.model.plan(&a.name, &solved.solution.x, &solved.layout);
        if a.fixed_schedule {
            plan.description =
                "found by gigawatt plan --fixed-schedule: one schedule for the whole horizon, the same on every path".into();
        } else if a.no_recourse {
            plan.description =
                "found by gigawatt plan --no-recourse: the commitments of the window, nothing later"
                    .into();
        }
        let stages: Vec<&'static str> = first_stage
            .iter()
            .map(|f| if *f { "first" } else { "recourse_mean" })
            .collect();
        // The continuation re-solves the later decisions as one fixed schedule: pointless when
        // the window covers the horizon (there are none), and bounded to
        // CONTINUATION_MAX_PATHS scenarios, which a set of named cases cannot be cut down to.
        let later_decisions = settings.window_months < sc.horizon.months() as i32;
        // Linear decision rules are a plan as they stand: nothing to choose between.
        let rules = !self.model.affine.is_empty();
        if !settings.recourse || a.mean_recourse || !later_decisions || rules {
            return Ok((plan, stages, None));
        }
        if a.cases && sc.cases.len() as u64 > CONTINUATION_MAX_PATHS {
            let note = format!(
                "the fixed continuation was not solved: its programme is capped at {CONTINUATION_MAX_PATHS} scenarios and the scenario set has {} named cases",
                sc.cases.len()
            );
            return Ok((plan, stages, Some(Candidates::Skipped(note))));
        }
        let (candidates, better) = self.fixed_continuation(solved, &plan)?;
        let Some(better) = better else {
            return Ok((plan, stages, Some(candidates)));
        };
        let stages = better
            .commitments
            .iter()
            .map(|c| {
                if c.month.since(sc.horizon.start) < settings.window_months {
                    "first"
                } else {
                    "continuation"
                }
            })
            .collect();
        Ok((better, stages, Some(candidates)))
    }

    /// Path-wise recourse cannot be simulated as one plan. Of two fixed versions, later
    /// commitments at their mean over paths (`mean_plan`) and the first stage held with the
    /// best fixed schedule after it (solved here), both simulated on the in-sample paths with
    /// common random numbers, keeps the better; the out-of-sample check then sees only the one
    /// chosen. Returns the record of both and, when the continuation wins, its plan.
    fn fixed_continuation(
        &self,
        solved: &Solved,
        mean_plan: &Plan,
    ) -> Result<(Candidates, Option<Plan>), StudyError> {
        let (a, sc, settings) = (self.a, self.sc, &self.settings);
        self.progress
            .note("first stage fixed: optimising the best fixed schedule after it...");
        // A candidate, judged by simulation on every in-sample path below: its programme uses
        // at most CONTINUATION_MAX_PATHS of them, which keeps its solve short at any --paths.
        let cont_settings = CapacitySettings {
            paths: settings.paths.min(CONTINUATION_MAX_PATHS),
            window_months: sc.horizon.months() as i32,
            recourse: false,
            branching: None,
            pinned: self
                .model
                .first_stage_pins(&solved.solution.x, &solved.layout),
            // Later commitments continuous (rounded to blocks in the plan), as in the
            // two-stage programme: a MIP over every later block would dwarf the first solve.
            integer_until_month: settings.window_months,
            ..settings.clone()
        };
        let cont = build(sc, &self.engine, &cont_settings).map_err(StudyError::Scenario)?;
        // No limit derived from how long the first solve took: a wall-clock limit would make
        // the plan reported depend on the machine's speed. Only the user's --time-limit applies
        // (an explicit choice); the programme's size is bounded by CONTINUATION_MAX_PATHS.
        let limit_s = self.solver_settings.time_limit_s;
        let cs = cont.solve(self.solver, &self.solver_settings, self.risk, None)?;
        if !cs.solution.status.has_solution() {
            self.progress.note(&format!(
                "note: the best fixed schedule after the first stage was not found ({}{}); later commitments are simulated at their mean over paths",
                cs.solution.status.as_str(),
                if limit_s.is_finite() {
                    format!(" within --time-limit {limit_s} s")
                } else {
                    String::new()
                }
            ));
            let c = Candidates::NotFound {
                status: cs.solution.status,
                time_limit_s: limit_s.is_finite().then_some(limit_s),
            };
            return Ok((c, None));
        }
        let (mut cont_plan, _) = cont.plan(&a.name, &cs.solution.x, &cs.layout);
        cont_plan.description = "found by gigawatt plan: the two-stage programme's first stage, then the best fixed schedule given it".into();
        let mut pair = [mean_plan.clone(), cont_plan.clone()];
        pair[0].name = format!("{}__mean_recourse", a.name);
        pair[1].name = format!("{}__continuation", a.name);
        let cmp = evaluate(sc, &pair, a.paths, self.seed)?;
        let c = Candidates::Compared {
            mean_npv_usd: npv_mean(&cmp, 0),
            continuation: Continuation {
                status: cs.solution.status,
                scenarios: cont.program.scenarios.len(),
                programme: ProgrammeValue {
                    expected_value: cs.expected,
                    cvar_loss: cs.cvar_loss,
                },
                solve_seconds: cs.solution.solve_seconds,
                simulated_npv_mean_usd: npv_mean(&cmp, 1),
            },
        };
        let continued = c.continued();
        Ok((c, continued.then_some(cont_plan)))
    }

    /// The plan's commitments with their stage and their capex at median prices (the
    /// engine's accounting on the scenario's median case).
    fn commitment_rows(&self, plan: &Plan, stages: &[&'static str]) -> Vec<CommitmentRow> {
        let mut median = Draws::default();
        let have_median = self.engine.draw_case(0, &[], &mut median).is_ok();
        plan.commitments
            .iter()
            .zip(stages)
            .map(|(c, stage)| {
                let o = self.sc.option(&c.option).expect("plan names known options");
                let oi = self.engine.option_names.iter().position(|n| *n == c.option);
                let capex = match oi {
                    Some(oi) if have_median => {
                        let (facilities, chips) = self.engine.capex_usd(oi, c.amount, &median);
                        facilities + chips
                    }
                    _ => f64::NAN,
                };
                CommitmentRow {
                    option: c.option.clone(),
                    month: c.month.to_string(),
                    amount: c.amount,
                    unit: o.kind.size_unit(),
                    stage,
                    capex_usd_estimate: capex,
                }
            })
            .collect()
    }

    /// The multiple-replication procedure (Mak, Morton and Wood, 1999), in the programme's own
    /// model: replication r solves the programme over fresh paths (seed + r × a step), giving
    /// its optimum v_r (the solver's or the decomposition's bound on it, so never too low), and
    /// carries the solution found out on the same paths, giving f_r. v_r − f_r (in the
    /// direction of the objective) is ≥ 0 when no rule is cut there, and its mean over
    /// replications is at least the solution's optimality gap in expectation: the gap's
    /// estimate, with a one-sided t interval.
    fn optimality_gap(&self, solved: &Solved) -> Result<OptimalityGap, StudyError> {
        let a = self.a;
        let candidate = self
            .model
            .candidate(&solved.solution.x, &solved.layout)
            .ok_or_else(|| request_error!("{REPLICATIONS_NEED}"))?;
        let sign = match self.model.program.sense {
            gigawatt_lp::Sense::Maximize => 1.0,
            gigawatt_lp::Sense::Minimize => -1.0,
        };
        let n = a.paths_per_replication();
        let mut per_replication = Vec::new();
        for r in 1..=a.replications {
            self.progress.note(&format!(
                "optimality gap: replication {r} of {} ({n} fresh paths)...",
                a.replications
            ));
            let seed_r = self.seed.wrapping_add(REPLICATION_SEED_STEP * r as u64);
            let e = Engine::new(self.sc, n, seed_r, &[]).map_err(StudyError::Scenario)?;
            let settings = CapacitySettings {
                seed: seed_r,
                paths: n,
                ..self.settings.clone()
            };
            let m = build(self.sc, &e, &settings).map_err(StudyError::Scenario)?;
            let optimum = if a.decompose {
                m.solve_decomposed(
                    self.solver,
                    &self.solver_settings,
                    self.risk,
                    &self.decompose_settings(n),
                    &mut |_| {},
                )?
                .solved
                .solution
            } else {
                m.solve(self.solver, &self.solver_settings, self.risk, None)?
                    .solution
            };
            if !optimum.status.has_solution() {
                return Err(StudyError::Scenario(format!(
                    "the optimality gap is not estimated: replication {r}'s programme (seed {seed_r}) is {} (with a time limit, raise --time-limit)",
                    optimum.status.as_str()
                )));
            }
            // The bound on the optimum keeps v_r − f_r from being too small when the solve
            // stopped at a gap.
            let v = if optimum.bound.is_finite() {
                optimum.bound
            } else {
                optimum.objective
            };
            let f =
                m.evaluate_candidate(&candidate, self.solver, &self.solver_settings, self.risk)?;
            let Some(f_usd) = f.objective_usd else {
                let which = if f.limits_broken.is_empty() {
                    "a limit it would break there".to_string()
                } else {
                    format!("it would break {} there", f.limits_broken.join(", "))
                };
                return Err(StudyError::Scenario(format!(
                    "the optimality gap is not estimated: the solution found cannot be carried out on {} of replication {r}'s {} paths as the programme models them ({which}); with more --paths the solution sees more of the range of demand",
                    f.infeasible, n
                )));
            };
            per_replication.push(Replication {
                seed: seed_r,
                optimum_usd: v,
                candidate_usd: f_usd,
                gap_usd: sign * (v - f_usd),
                rules_cut: f.rules_cut,
                stopping_gap_usd: if optimum.objective.is_finite() {
                    (sign * (v - optimum.objective)).max(0.0)
                } else {
                    0.0
                },
            });
        }
        // Mean and standard error over the replications of one of their figures.
        let over = |f: fn(&Replication) -> f64| {
            mean_se(&per_replication.iter().map(f).collect::<Vec<_>>())
        };
        let (optima_mean_usd, optima_se_usd) = over(|r| r.optimum_usd);
        let (candidate_mean_usd, candidate_se_usd) = over(|r| r.candidate_usd);
        let (gap_usd, gap_se_usd) = over(|r| r.gap_usd);
        let (stopping_gap_mean_usd, _) = over(|r| r.stopping_gap_usd);
        let t = student_t_95(per_replication.len() - 1);
        Ok(OptimalityGap {
            replications: per_replication.len(),
            paths_per_replication: n,
            per_replication,
            optima_mean_usd,
            optima_se_usd,
            candidate_mean_usd,
            candidate_se_usd,
            gap_usd,
            gap_se_usd,
            gap_ci95_upper_usd: gap_usd + t * gap_se_usd,
            stopping_gap_mean_usd,
        })
    }

    /// The efficient frontier: one solve per λ.
    fn frontier(&self, lambdas: &[f64]) -> Result<Vec<FrontierPoint>, StudyError> {
        self.progress.note(&format!(
            "frontier over {} values of lambda...",
            lambdas.len()
        ));
        let mut points = Vec::new();
        for &l in lambdas {
            let r = if l > 0.0 {
                Risk::Cvar {
                    alpha: self.a.alpha,
                    lambda: l,
                }
            } else {
                Risk::Neutral
            };
            let s = self
                .model
                .solve(self.solver, &self.solver_settings, r, None)?;
            points.push(FrontierPoint {
                lambda: l,
                expected_value_usd: s.expected,
                cvar_loss_usd: s.cvar_loss,
                status: s.solution.status,
            });
        }
        Ok(points)
    }
}

/// The first plan's summary of each [`CHECKED_METRICS`] in a report.
fn checked(r: &SimulationReport) -> Vec<Checked> {
    CHECKED_METRICS
        .iter()
        .map(|id| {
            let x = r.plans[0].metric(*id);
            Checked {
                mean: x.mean,
                se: x.se,
                p10: x.quantiles[1],
                p90: x.quantiles[3],
                cvar95: x.cvar95,
            }
        })
        .collect()
}

/// Every plan of an out-of-sample report, with its NPV less the plan found's.
fn comparison_rows(oos: &SimulationReport) -> Vec<ComparisonRow> {
    oos.plans
        .iter()
        .map(|p| {
            let m = |id: MetricId| p.metric(id).mean;
            let npv_vs_optimised =
                p.paired
                    .iter()
                    .find(|d| d.id == MetricId::Npv)
                    .map(|d| Difference {
                        mean: d.mean,
                        se: d.se,
                        ci95: (d.ci95_low(), d.ci95_high()),
                    });
            ComparisonRow {
                plan: p.name.clone(),
                npv_mean_usd: m(MetricId::Npv),
                npv_se_usd: p.metric(MetricId::Npv).se,
                funding_gap_mean_usd: m(MetricId::FundingGap),
                unserved_share_mean: m(MetricId::UnservedShare),
                npv_vs_optimised,
                automatic_baseline: p.automatic_baseline,
            }
        })
        .collect()
}

/// Mean and standard error of the mean of `x` (at least two values).
fn mean_se(x: &[f64]) -> (f64, f64) {
    let m = gigawatt_risk::Moments::from_slice(x);
    (m.mean(), m.se())
}

/// The 95 % quantile of Student's t with `df` ≥ 1 degrees of freedom.
fn student_t_95(df: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    StudentsT::new(0.0, 1.0, df.max(1) as f64).map_or(1.645, |t| t.inverse_cdf(0.95))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        // Student's t, one-sided 95 %: 6.314 (1 df), 2.132 (4), 1.697 (30); the normal's 1.645
        // in the limit.
        for (df, t) in [
            (1, 6.313_752),
            (4, 2.131_847),
            (30, 1.697_261),
            (100_000, 1.644_87),
        ] {
            assert!(
                (student_t_95(df) - t).abs() < 1e-4,
                "{df}: {}",
                student_t_95(df)
            );
        }
    }

    #[test]
    fn gap_mean_and_standard_error_by_hand() {
        // 1..5: mean 3, sample variance 2.5, standard error √(2.5 / 5) = 0.7071.
        let (m, se) = mean_se(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(m, 3.0);
        assert!((se - 0.5f64.sqrt()).abs() < 1e-12);
    }
}
