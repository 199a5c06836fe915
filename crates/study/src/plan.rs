//! `plan` as a library call: build the stochastic programme, solve it, diagnose it when it has
//! no solution, turn the solution into a plan a simulator can run (trying two fixed versions when
//! later decisions differ by path), and check that plan on the same and on fresh paths next to
//! the scenario's own plans and the "nothing new" baseline.
//!
//! The report is still the `gigawatt-plan` JSON document (documented in
//! docs/reference/output-formats.md) and its text rendering; a typed plan report is the next step.

use std::fmt::Write as _;

use gigawatt_io::plan_toml;
use gigawatt_lp::{Solver, SolverSettings};
use gigawatt_model::{OptionKind, Plan, Scenario, ValidScenario};
use gigawatt_opt::capacity::{build, CapacitySettings, Objective};
use gigawatt_opt::diagnose::{diagnose, Diagnosis};
use gigawatt_opt::Risk;
use gigawatt_sim::{Engine, MetricId};
use serde_json::{json, Value};

use crate::render::{csv_num, num};

use crate::{Progress, SimulateRequest, SimulationReport, StudyError};

/// A request error, formatted.
macro_rules! request_error {
    ($($t:tt)*) => { StudyError::Request(format!($($t)*)) };
}

/// The continuation re-solve uses at most this many of the in-sample paths.
const CONTINUATION_MAX_PATHS: u64 = 200;

/// Replication r of `replications` samples its paths from seed + r × this step.
const REPLICATION_SEED_STEP: u64 = 7919;

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
    /// Refuse a programme whose estimated memory exceeds this many GB (None: 80 % of the
    /// machine's memory).
    pub max_memory_gb: Option<f64>,
}

/// Called with the programme before it is solved (to write it to an MPS file, say).
pub type WriteModel<'a> = dyn Fn(&gigawatt_lp::Problem) -> Result<(), String> + 'a;

/// What [`plan`] produced.
#[derive(Debug, Clone)]
pub struct PlanOutcome {
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
}

/// Bytes of peak memory per programme column, measured with HiGHS on frontier-lab (3.19 GB at
/// 1,444,028 columns, 703 MB at 288,828; BENCHMARKS.md), rounded up.
const BYTES_PER_COLUMN: f64 = 2_500.0;

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

/// Mean NPV of plan `p` in a report.
fn npv_mean(r: &SimulationReport, p: usize) -> f64 {
    r.plans[p].metric(MetricId::Npv).mean
}

/// Optimises commitments for the scenario and checks the plan found by simulation.
pub fn plan(
    sc: &ValidScenario,
    a: &PlanRequest,
    solver: &dyn Solver,
    progress: &dyn Progress,
    write_mps: Option<&WriteModel<'_>>,
) -> Result<PlanOutcome, StudyError> {
    if a.paths == 0 || a.oos_paths == 0 {
        return Err(request_error!("--paths and --oos-paths must be at least 1"));
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
    let seed = a.seed.unwrap_or(sc.simulation.seed);
    let risk = if a.lambda > 0.0 {
        Risk::Cvar {
            alpha: a.alpha,
            lambda: a.lambda,
        }
    } else {
        Risk::Neutral
    };
    let settings = CapacitySettings {
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
        ..CapacitySettings::new(a.paths, seed)
    };
    let solver_settings = SolverSettings {
        mip_gap: a.mip_gap,
        time_limit_s: a.time_limit.unwrap_or(f64::INFINITY),
        threads: a.threads,
    };

    if !a.cases && a.paths > 4 {
        let limit_gb = a.max_memory_gb.unwrap_or(0.8 * machine_memory_gb());
        let cols = estimated_columns(sc, &settings, a.paths)?;
        let need_gb = cols * BYTES_PER_COLUMN / 1e9;
        if need_gb > limit_gb {
            let per_path_gb = need_gb / a.paths as f64;
            let fit = (limit_gb / per_path_gb).floor().max(1.0);
            return Err(request_error!(
                "the programme over {} paths would have about {cols:.3e} columns and need about {need_gb:.1} GB \
                 (estimate), more than the {limit_gb:.1} GB allowed; use --paths {fit:.0} or fewer, \
                 or raise --max-memory-gb if the machine has the memory",
                a.paths
            ));
        }
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
    // Built once: its size is reported and it is what the solver gets.
    let (problem, layout) = model.program.extensive_form(risk, None);
    let size = json!({"columns": problem.num_cols(), "rows": problem.num_rows(), "nonzeros": problem.num_nonzeros(), "integer_columns": problem.integer.iter().filter(|i| **i).count()});
    if let Some(write) = write_mps {
        write(&problem).map_err(StudyError::Request)?;
    }
    progress.note(&format!(
        "solving with {} ({} columns, {} rows)...",
        solver.name(),
        size["columns"],
        size["rows"]
    ));
    if solver.name() == "microlp" && size["columns"].as_u64().unwrap_or(0) > 150_000 {
        progress.note("warning: this programme is large for the pure-Rust solver; build with `--features highs` and use --solver highs, or use fewer --paths");
    }
    let solved = model.solve_built(&problem, layout, solver, &solver_settings, risk)?;
    // No second copy of the extensive form stays alive after the solve.
    drop(problem);
    let status = solved.solution.status;
    let mut doc = json!({
        "format": "gigawatt-plan",
        "format_version": 1,
        "scenario": sc.name,
        "solver": solver.name(),
        "status": status.as_str(),
        "paths": a.paths,
        "scenario_set": if a.cases { "cases" } else { "sampled" },
        "scenarios": model.program.scenarios.len(),
        "seed": seed,
        "objective_kind": a.objective,
        "risk": {"alpha": a.alpha, "lambda": a.lambda},
        "model_size": size,
        "recourse": settings.recourse,
        "churn_modelled": settings.churn,
        "scenario_has_churn": sc.segments.iter().any(|g| g.churn_share_pu > 0.0),
        "build_seconds": model.build_seconds,
        "solve_seconds": solved.solution.solve_seconds,
    });
    if !status.has_solution() {
        progress.note(&format!(
            "the programme is {}; diagnosing...",
            status.as_str()
        ));
        let diagnosis = if status == gigawatt_lp::SolveStatus::Infeasible {
            Some(diagnose(
                &model.program,
                risk,
                None,
                solver,
                &solver_settings,
            )?)
        } else {
            None
        };
        let mut text = format!("no plan: the programme is {}\n", status.as_str());
        match &diagnosis {
            Some(Diagnosis::Limits(c)) if c.is_empty() => {
                text.push_str("no limit needs to move: the elastic programme is feasible as it stands, so the verdict is numerical; try another --solver, fewer --paths or a looser --mip-gap\n");
                doc["diagnosis"] = json!([]);
            }
            Some(Diagnosis::Limits(c)) => {
                text.push_str("limits in conflict (each would have to move by at least this much, on this many paths):\n");
                let total = c.len();
                for (shown, c) in c.iter().enumerate().filter(|(_, c)| !c.held) {
                    if shown == 20 {
                        let _ = writeln!(text, "  ... and {} more", total - 20);
                        break;
                    }
                    let u = gigawatt_opt::capacity::limit_unit_usd(&c.limit);
                    let (unit, what) = gigawatt_opt::capacity::limit_unit_label(&c.limit);
                    let _ = writeln!(text, "  {:<36} bound {:>12.4e} {unit}, move by {:>12.4e} {unit} on {} path(s)", c.limit, c.bound * u, c.move_by * u, c.paths);
                    if !what.is_empty() {
                        let _ = writeln!(text, "    ({what})");
                    }
                }
                let held: Vec<&gigawatt_opt::diagnose::Conflict> = c.iter().filter(|c| c.held).collect();
                if !held.is_empty() {
                    text.push_str("held at their bound, these are the limits that force those moves:\n");
                    // One line per kind of limit (budget, floor, ...), naming the first.
                    let mut kinds: Vec<(&str, Vec<&gigawatt_opt::diagnose::Conflict>)> = Vec::new();
                    for c in &held {
                        let kind = c.limit.split('[').next().unwrap_or(&c.limit);
                        match kinds.iter_mut().find(|(k, _)| *k == kind) {
                            Some((_, v)) => v.push(c),
                            None => kinds.push((kind, vec![c])),
                        }
                    }
                    for (_, group) in kinds {
                        let c = group[0];
                        let u = gigawatt_opt::capacity::limit_unit_usd(&c.limit);
                        let (unit, what) = gigawatt_opt::capacity::limit_unit_label(&c.limit);
                        let more = if group.len() > 1 {
                            format!(" and {} more like it", group.len() - 1)
                        } else {
                            String::new()
                        };
                        let _ = writeln!(text, "  {}{more}: at {:.4e} {unit}{}", c.limit, c.bound * u, if what.is_empty() { String::new() } else { format!(" ({what})") });
                    }
                }
                text.push_str("The diagnosis moves the limits cheapest to move (each weighed by its bound); loosening the limits held at their bound is the other way out.\n");
                doc["diagnosis"] = json!(c
                    .iter()
                    .map(|c| {
                        let u = gigawatt_opt::capacity::limit_unit_usd(&c.limit);
                        let (unit, what) = gigawatt_opt::capacity::limit_unit_label(&c.limit);
                        json!({"limit": c.limit, "bound": c.bound * u, "move_by": c.move_by * u, "paths": c.paths, "unit": unit, "meaning": what, "held_at_bound": c.held})
                    })
                    .collect::<Vec<_>>());
            }
            Some(Diagnosis::NotLimits) => text.push_str("even with every limit relaxed it stays infeasible: check fixed first-stage values and option windows\n"),
            None if status == gigawatt_lp::SolveStatus::Unbounded => text.push_str("the programme is unbounded: some commitment earns more than it costs with nothing to cap it, so the objective grows without limit. Give the options a max_mw / max_h100e, set power.max_total_mw, or pass --budget-usd-per-year\n"),
            None => text.push_str("the solver stopped before finding a feasible plan: raise --time-limit or --mip-gap\n"),
        }
        return Ok(PlanOutcome {
            doc,
            text,
            found: false,
            plan_toml: None,
            commitments_csv: None,
            frontier_csv: None,
        });
    }
    let (mut plan, first_stage) = model.plan(&a.name, &solved.solution.x, &solved.layout);
    if a.fixed_schedule {
        plan.description =
            "found by gigawatt plan --fixed-schedule: one schedule for the whole horizon, the same on every path".into();
    } else if a.no_recourse {
        plan.description =
            "found by gigawatt plan --no-recourse: the commitments of the window, nothing later"
                .into();
    }
    let mut stages: Vec<&str> = first_stage
        .iter()
        .map(|f| if *f { "first" } else { "recourse_mean" })
        .collect();
    doc["objective"] = json!(solved.solution.objective);
    doc["bound"] = json!(solved.solution.bound);
    doc["gap"] = json!(solved.solution.gap);
    doc["in_sample"] = json!({"expected_value": solved.expected, "cvar_loss": solved.cvar_loss});
    // The continuation re-solves the later decisions as one fixed schedule: pointless when the
    // window covers the horizon (there are none), and bounded to CONTINUATION_MAX_PATHS
    // scenarios, which a set of named cases cannot be cut down to.
    let later_decisions = settings.window_months < sc.horizon.months() as i32;
    let too_many_cases = a.cases && sc.cases.len() as u64 > CONTINUATION_MAX_PATHS;
    if settings.recourse && !a.mean_recourse && too_many_cases && later_decisions {
        doc["candidates"] = json!({"chosen": "recourse_mean", "note": format!(
            "the fixed continuation was not solved: its programme is capped at {CONTINUATION_MAX_PATHS} scenarios and the scenario set has {} named cases",
            sc.cases.len()
        )});
    }
    if settings.recourse && !a.mean_recourse && later_decisions && !too_many_cases {
        let (record, better) = fixed_continuation(
            a,
            sc,
            &engine,
            &settings,
            &model,
            &solved,
            &plan,
            solver,
            &solver_settings,
            risk,
            seed,
            progress,
        )?;
        doc["candidates"] = record;
        if let Some(better) = better {
            plan = better;
            stages = plan
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
        }
    }
    let mut commitments = Vec::new();
    for (c, stage) in plan.commitments.iter().zip(&stages) {
        let o = sc.option(&c.option).expect("plan names known options");
        commitments.push(json!({"option": c.option, "month": c.month.to_string(), "amount": c.amount, "unit": o.kind.size_unit(), "stage": stage, "capex_usd_estimate": capex_estimate(sc, &c.option, c.amount)}));
    }
    doc["commitments"] = json!(commitments);
    doc["plan_toml"] = json!(plan_toml(sc, &plan));

    // The implementable plan, simulated in sample (same paths) and out of sample (fresh paths),
    // next to the scenario's own plans on common random numbers.
    progress.note("simulating the plan in sample and out of sample...");
    let ins = evaluate(sc, std::slice::from_ref(&plan), a.paths, seed)?;
    let oos_seed = seed ^ OUT_OF_SAMPLE_SEED_TAG;
    let oos = evaluate(sc, std::slice::from_ref(&plan), a.oos_paths, oos_seed)?;
    let side = |r: &SimulationReport| -> Value {
        let mut m = serde_json::Map::new();
        for id in [
            MetricId::Npv,
            MetricId::FundingGap,
            MetricId::UnservedShare,
            MetricId::CumRevenue,
        ] {
            let x = r.plans[0].metric(id);
            m.insert(id.name().into(), json!({"mean": num(x.mean), "se": num(x.se), "p10": num(x.quantiles[1]), "p90": num(x.quantiles[3]), "cvar95": num(x.cvar95)}));
        }
        Value::Object(m)
    };
    doc["simulated_in_sample"] = side(&ins);
    doc["simulated_out_of_sample"] = side(&oos);
    doc["out_of_sample_seed"] = json!(oos_seed);
    doc["in_vs_out_of_sample_npv_gap_usd"] = num(npv_mean(&ins, 0) - npv_mean(&oos, 0));
    doc["out_of_sample_comparison"] = json!(oos
        .plans
        .iter()
        .map(|p| {
            let m = |id: MetricId| num(p.metric(id).mean);
            let diff = p.paired.iter().find(|d| d.id == MetricId::Npv).map_or(
                Value::Null,
                |d| json!({"mean": num(d.mean), "se": num(d.se), "ci95_low": num(d.ci95_low()), "ci95_high": num(d.ci95_high())}),
            );
            json!({
                "plan": p.name, "npv_mean_usd": m(MetricId::Npv), "npv_se_usd": num(p.metric(MetricId::Npv).se),
                "funding_gap_mean_usd": m(MetricId::FundingGap), "unserved_share_mean": m(MetricId::UnservedShare),
                "paired_npv_difference_vs_optimised": diff,
                "automatic_baseline": p.automatic_baseline,
            })
        })
        .collect::<Vec<_>>());
    // Which plan is best out of sample, on common random numbers: the found plan is not called
    // best when another plan has a higher mean NPV (ties go to the earlier plan).
    let best = (0..oos.plans.len()).max_by(|&a, &b| {
        npv_mean(&oos, a)
            .total_cmp(&npv_mean(&oos, b))
            .then(b.cmp(&a))
    });
    if let Some(i) = best {
        doc["best_out_of_sample"] = json!(oos.plans[i].name);
        doc["found_plan_is_best_out_of_sample"] = json!(i == 0);
    }

    if a.replications > 0 {
        progress.note(&format!(
            "{} replications for the optimality gap...",
            a.replications
        ));
        let mut objs = Vec::new();
        for r in 1..=a.replications {
            let seed_r = seed.wrapping_add(REPLICATION_SEED_STEP * r as u64);
            let e = Engine::new(sc, a.paths, seed_r, &[]).map_err(StudyError::Scenario)?;
            let m = build(
                sc,
                &e,
                &CapacitySettings {
                    seed: seed_r,
                    ..settings.clone()
                },
            )
            .map_err(StudyError::Scenario)?;
            let s = m.solve(solver, &solver_settings, Risk::Neutral, None)?;
            if s.solution.status.has_solution() {
                objs.push(s.expected);
            }
        }
        let n = objs.len() as f64;
        let ub = objs.iter().sum::<f64>() / n;
        let ub_se = if n > 1.0 {
            (objs.iter().map(|x| (x - ub).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt()
        } else {
            f64::NAN
        };
        let lb = npv_mean(&oos, 0);
        let lb_se = oos.plans[0].metric(MetricId::Npv).se;
        let gap = ub - lb;
        let se = (ub_se.powi(2) + lb_se.powi(2)).sqrt();
        doc["optimality_gap"] = json!({"replications": objs.len(), "upper_bound_mean": ub, "upper_bound_se": ub_se, "lower_bound_mean": lb, "lower_bound_se": lb_se, "gap_usd": gap, "ci95_low": gap - 1.96 * se, "ci95_high": gap + 1.96 * se,
            "note": "upper bound: mean optimum of independent sampled programmes (biased up); lower bound: out-of-sample NPV of the implementable plan"});
    }
    if a.value_of_information {
        progress.note("value of information (one solve per path)...");
        if let Some(v) = model.value_of_information(solver, &solver_settings)? {
            doc["value_of_information"] = json!({"rp": v.rp, "ev": v.ev, "eev": v.eev, "ws": v.ws, "vss": v.vss, "evpi": v.evpi,
                "eev_infeasible_scenarios": v.eev_infeasible_scenarios});
            if v.eev_infeasible_scenarios > 0 {
                doc["value_of_information"]["note"] = json!(format!(
                    "EEV and VSS are undefined: the mean-value plan's first stage has no feasible continuation on {} of {} scenarios (the stochastic solution is worth more than any finite amount there)",
                    v.eev_infeasible_scenarios,
                    model.program.scenarios.len()
                ));
            }
        }
    }
    let mut frontier_csv = String::from("lambda,alpha,expected_value_usd,cvar_loss_usd,status\n");
    if let Some(lambdas) = &a.frontier {
        progress.note(&format!(
            "frontier over {} values of lambda...",
            lambdas.len()
        ));
        let mut rows = Vec::new();
        for &l in lambdas {
            let r = if l > 0.0 {
                Risk::Cvar {
                    alpha: a.alpha,
                    lambda: l,
                }
            } else {
                Risk::Neutral
            };
            let s = model.solve(solver, &solver_settings, r, None)?;
            let _ = writeln!(
                frontier_csv,
                "{},{},{},{},{}",
                csv_num(l),
                csv_num(a.alpha),
                csv_num(s.expected),
                csv_num(s.cvar_loss),
                s.solution.status.as_str()
            );
            rows.push(json!({"lambda": l, "expected_value_usd": num(s.expected), "cvar_loss_usd": num(s.cvar_loss), "status": s.solution.status.as_str()}));
        }
        doc["frontier"] = json!(rows);
    }
    let mut csv = String::from("option,month,amount,unit,stage,capex_usd_estimate\n");
    for c in &commitments {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{}",
            crate::render::csv_field(c["option"].as_str().unwrap_or("")),
            c["month"].as_str().unwrap_or(""),
            c["amount"],
            c["unit"].as_str().unwrap_or(""),
            c["stage"].as_str().unwrap_or(""),
            c["capex_usd_estimate"]
        );
    }
    let text = text_report(&doc);
    Ok(PlanOutcome {
        doc,
        text,
        found: true,
        plan_toml: Some(plan_toml(sc, &plan)),
        commitments_csv: Some(csv),
        frontier_csv: a.frontier.is_some().then_some(frontier_csv),
    })
}

/// Path-wise recourse cannot be simulated as one plan. Of two fixed versions, later
/// commitments at their mean over paths (`mean_plan`) and the first stage held with the best
/// fixed schedule after it (solved here), both simulated on the in-sample paths with common
/// random numbers, keeps the better; the out-of-sample check then sees only the one chosen.
/// Returns the record of both for the report and, when the continuation wins, its plan.
#[allow(clippy::too_many_arguments)]
fn fixed_continuation(
    a: &PlanRequest,
    sc: &ValidScenario,
    engine: &Engine,
    settings: &CapacitySettings,
    model: &gigawatt_opt::capacity::CapacityModel,
    solved: &gigawatt_opt::Solved,
    mean_plan: &Plan,
    solver: &dyn Solver,
    solver_settings: &SolverSettings,
    risk: Risk,
    seed: u64,
    progress: &dyn Progress,
) -> Result<(Value, Option<Plan>), StudyError> {
    progress.note("first stage fixed: optimising the best fixed schedule after it...");
    // A candidate, judged by simulation on every in-sample path below: its programme uses at
    // most CONTINUATION_MAX_PATHS of them, which keeps its solve short at any --paths.
    let cont_settings = CapacitySettings {
        paths: settings.paths.min(CONTINUATION_MAX_PATHS),
        window_months: sc.horizon.months() as i32,
        recourse: false,
        branching: None,
        pinned: model.first_stage_pins(&solved.solution.x, &solved.layout),
        // Later commitments continuous (rounded to blocks in the plan), as in the two-stage
        // programme: a MIP over every later block would dwarf the first solve.
        integer_until_month: settings.window_months,
        ..settings.clone()
    };
    let cont = build(sc, engine, &cont_settings).map_err(StudyError::Scenario)?;
    // No limit derived from how long the first solve took: a wall-clock limit would make the
    // plan reported depend on the machine's speed. Only the user's --time-limit applies (an
    // explicit choice); the programme's size is bounded by CONTINUATION_MAX_PATHS instead.
    let limit_s = solver_settings.time_limit_s;
    let cs = cont.solve(solver, solver_settings, risk, None)?;
    if !cs.solution.status.has_solution() {
        progress.note(&format!(
            "note: the best fixed schedule after the first stage was not found ({}{}); later commitments are simulated at their mean over paths",
            cs.solution.status.as_str(),
            if limit_s.is_finite() {
                format!(" within --time-limit {limit_s} s")
            } else {
                String::new()
            }
        ));
        let limit = if limit_s.is_finite() {
            json!(limit_s)
        } else {
            Value::Null
        };
        let record = json!({"chosen": "recourse_mean", "continuation": {"status": cs.solution.status.as_str(), "time_limit_s": limit}});
        return Ok((record, None));
    }
    let (mut cont_plan, _) = cont.plan(&a.name, &cs.solution.x, &cs.layout);
    cont_plan.description = "found by gigawatt plan: the two-stage programme's first stage, then the best fixed schedule given it".into();
    let mut pair = [mean_plan.clone(), cont_plan.clone()];
    pair[0].name = format!("{}__mean_recourse", a.name);
    pair[1].name = format!("{}__continuation", a.name);
    let cmp = evaluate(sc, &pair, a.paths, seed)?;
    let (mean_npv, cont_npv) = (npv_mean(&cmp, 0), npv_mean(&cmp, 1));
    let continued = cont_npv > mean_npv;
    let record = json!({
        "chosen": if continued { "continuation" } else { "recourse_mean" },
        "recourse_mean": {"programme_expected_value": Value::Null, "simulated_in_sample_npv_mean": num(mean_npv)},
        "continuation": {"status": cs.solution.status.as_str(), "programme_scenarios": cont.program.scenarios.len(), "programme_expected_value": num(cs.expected), "programme_cvar_loss": num(cs.cvar_loss), "solve_seconds": cs.solution.solve_seconds, "simulated_in_sample_npv_mean": num(cont_npv)},
        "note": "recourse_mean: later commitments at their mean over paths; continuation: the first stage held, then one fixed schedule optimised for every path. The plan with the higher simulated in-sample NPV is reported."
    });
    Ok((record, continued.then_some(cont_plan)))
}

/// Up-front capex a commitment implies at median prices (build: facility and chips; buy: chips).
fn capex_estimate(sc: &Scenario, option: &str, amount: f64) -> f64 {
    let Some(o) = sc.option(option) else {
        return 0.0;
    };
    let gen = o.generation.as_deref().and_then(|g| sc.generation(g));
    match (o.kind, gen) {
        (OptionKind::Build, Some(g)) => {
            let units = amount * 1000.0 / (g.kw_per_unit * o.pue);
            amount * o.capex_usd_per_mw.dist.quantile(0.5)
                + units * g.price_usd_per_unit.dist.quantile(0.5)
        }
        (OptionKind::Buy, Some(g)) => {
            amount / g.h100e_per_unit * g.price_usd_per_unit.dist.quantile(0.5)
        }
        _ => 0.0,
    }
}

fn text_report(d: &Value) -> String {
    let largest = d["simulated_out_of_sample"]["npv_usd"]["mean"]
        .as_f64()
        .unwrap_or(0.0)
        .abs()
        .max(d["objective"].as_f64().unwrap_or(0.0).abs());
    let (unit, unit_name) = crate::render::money_unit(largest);
    let b = |x: &Value| {
        x.as_f64()
            .map_or("-".to_string(), |v| format!("{:.3}", v / unit))
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "plan for `{}`: {} over {} {}, status {}, objective {} {unit_name} (bound {} {unit_name}, gap {:.2}%)",
        d["scenario"].as_str().unwrap_or(""),
        d["solver"].as_str().unwrap_or(""),
        d["scenarios"],
        if d["scenario_set"] == "cases" { "named cases" } else { "paths" },
        d["status"].as_str().unwrap_or(""),
        b(&d["objective"]),
        b(&d["bound"]),
        d["gap"].as_f64().unwrap_or(0.0) * 100.0
    );
    let _ = writeln!(
        s,
        "model: {} columns, {} rows, {} non-zeros, {} integer; build {:.2} s, solve {:.2} s\n",
        d["model_size"]["columns"],
        d["model_size"]["rows"],
        d["model_size"]["nonzeros"],
        d["model_size"]["integer_columns"],
        d["build_seconds"].as_f64().unwrap_or(0.0),
        d["solve_seconds"].as_f64().unwrap_or(0.0)
    );
    let _ = writeln!(
        s,
        "commitments:\n  {:<18} {:<8} {:>14} {:<6} {:<14} {:>14}",
        "option",
        "month",
        "amount",
        "unit",
        "stage",
        format!("capex {unit_name} (p50)")
    );
    for c in d["commitments"].as_array().into_iter().flatten() {
        let _ = writeln!(
            s,
            "  {:<18} {:<8} {:>14.1} {:<6} {:<14} {:>14}",
            c["option"].as_str().unwrap_or(""),
            c["month"].as_str().unwrap_or(""),
            c["amount"].as_f64().unwrap_or(0.0),
            c["unit"].as_str().unwrap_or(""),
            c["stage"].as_str().unwrap_or(""),
            b(&c["capex_usd_estimate"])
        );
    }
    let cand = &d["candidates"];
    let continued = cand["chosen"] == "continuation";
    let is_cost = d["objective_kind"] == "cost";
    if cand.is_object() && cand["continuation"]["simulated_in_sample_npv_mean"].is_null() {
        let _ = writeln!(
            s,
            "\nlater commitments: the programme chooses them path by path; the plan simulated fixes them at their mean over paths (the best fixed schedule after the first stage was not found in time: {}).",
            cand["continuation"]["status"].as_str().unwrap_or("")
        );
    } else if cand.is_object() {
        let _ = writeln!(
            s,
            "\nlater commitments: the programme chooses them path by path ({} {unit_name} {}, {} for one plan on these scenarios).\nTwo fixed versions simulated on the same paths (NPV): at their mean over paths {} {unit_name}; the best fixed schedule after the first stage {} {unit_name} (programme {} {unit_name} over {} scenarios). Reported: {}.",
            b(&d["in_sample"]["expected_value"]),
            if is_cost { "expected cost" } else { "expected NPV" },
            if is_cost { "a lower bound" } else { "an upper bound" },
            b(&cand["recourse_mean"]["simulated_in_sample_npv_mean"]),
            b(&cand["continuation"]["simulated_in_sample_npv_mean"]),
            b(&cand["continuation"]["programme_expected_value"]),
            cand["continuation"]["programme_scenarios"],
            if continued { "the fixed schedule" } else { "the mean" }
        );
    }
    let programme = if continued {
        json!({"expected_value": cand["continuation"]["programme_expected_value"], "cvar_loss": cand["continuation"]["programme_cvar_loss"]})
    } else {
        d["in_sample"].clone()
    };
    // A cost programme's values are costs, not NPV: said on their own line, not in the table.
    let programme = if is_cost {
        let _ = writeln!(
            s,
            "\nprogramme of the plan simulated: expected cost {} {unit_name}, CVaR95 of cost {} {unit_name}",
            b(&programme["expected_value"]),
            b(&programme["cvar_loss"])
        );
        json!({})
    } else {
        programme
    };
    let _ = writeln!(
        s,
        "\n{:<22} {:>14} {:>14} {:>14}",
        format!("{unit_name} (NPV unless noted)"),
        "programme",
        "sim in-sample",
        "sim out-of-sample"
    );
    let _ = writeln!(
        s,
        "{:<22} {:>14} {:>14} {:>14}",
        "expected NPV",
        b(&programme["expected_value"]),
        b(&d["simulated_in_sample"]["npv_usd"]["mean"]),
        b(&d["simulated_out_of_sample"]["npv_usd"]["mean"])
    );
    let _ = writeln!(
        s,
        "{:<22} {:>14} {:>14} {:>14}",
        "NPV standard error",
        "",
        b(&d["simulated_in_sample"]["npv_usd"]["se"]),
        b(&d["simulated_out_of_sample"]["npv_usd"]["se"])
    );
    let _ = writeln!(
        s,
        "{:<22} {:>14} {:>14} {:>14}",
        "CVaR95 of NPV loss",
        b(&programme["cvar_loss"]),
        b(&d["simulated_in_sample"]["npv_usd"]["cvar95"]
            .as_f64()
            .map(|x| json!(-x))
            .unwrap_or(Value::Null)),
        b(&d["simulated_out_of_sample"]["npv_usd"]["cvar95"]
            .as_f64()
            .map(|x| json!(-x))
            .unwrap_or(Value::Null))
    );
    let _ = writeln!(
        s,
        "{:<22} {:>14} {:>14} {:>14}",
        "funding gap (mean)",
        "",
        b(&d["simulated_in_sample"]["funding_gap_usd"]["mean"]),
        b(&d["simulated_out_of_sample"]["funding_gap_usd"]["mean"])
    );
    let pct = |x: &Value| {
        x.as_f64()
            .map_or("-".into(), |v| format!("{:.2}%", v * 100.0))
    };
    let _ = writeln!(
        s,
        "{:<22} {:>14} {:>14} {:>14}",
        "unserved share (mean)",
        "",
        pct(&d["simulated_in_sample"]["unserved_share"]["mean"]),
        pct(&d["simulated_out_of_sample"]["unserved_share"]["mean"])
    );
    if d["commitments"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["stage"] == "recourse_mean")
    {
        let _ = writeln!(s, "\nnote: later decisions differ by path in the programme; the plan simulated fixes them at their mean over paths. `--fixed-schedule` optimises that kind of fixed plan directly.");
    }
    if d["churn_modelled"] == false && d["scenario_has_churn"] == true {
        let _ = writeln!(s, "\nnote: the programme treats demand turned away as coming back; the simulator loses a share of it (churn). `--churn` models that exactly, at a longer solve.");
    }
    let _ = writeln!(s, "\nout of sample, common random numbers:");
    for p in d["out_of_sample_comparison"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let diff = &p["paired_npv_difference_vs_optimised"];
        let vs = if diff.is_object() {
            format!(
                "  NPV vs optimised {} [{}, {}]",
                b(&diff["mean"]),
                b(&diff["ci95_low"]),
                b(&diff["ci95_high"])
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "  {:<20} NPV {:>10} ± {:<8} gap {:>10}  unserved {:>7}{vs}",
            p["plan"].as_str().unwrap_or(""),
            b(&p["npv_mean_usd"]),
            b(&p["npv_se_usd"]),
            b(&p["funding_gap_mean_usd"]),
            pct(&p["unserved_share_mean"])
        );
    }
    if d["found_plan_is_best_out_of_sample"] == false {
        let best = d["best_out_of_sample"].as_str().unwrap_or("");
        let diff = d["out_of_sample_comparison"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["plan"] == best)
            .map(|p| p["paired_npv_difference_vs_optimised"].clone())
            .unwrap_or(Value::Null);
        let significant = diff["ci95_low"].as_f64().is_some_and(|l| l > 0.0);
        let _ = writeln!(
            s,
            "\nthe plan found by the programme is BEATEN out of sample: `{best}` has a higher expected NPV by {} {unit_name} [{}, {}]{}",
            b(&diff["mean"]),
            b(&diff["ci95_low"]),
            b(&diff["ci95_high"]),
            if significant {
                ", beyond Monte Carlo noise; prefer it, or re-plan with more --paths or --fixed-schedule"
            } else {
                " (within Monte Carlo noise)"
            }
        );
    } else if d["best_out_of_sample"].is_string() {
        let _ = writeln!(
            s,
            "\nthe plan found has the highest expected NPV out of sample among these plans"
        );
    }
    if let Some(g) = d.get("optimality_gap") {
        let _ = writeln!(
            s,
            "\noptimality gap ({} replications): {} {unit_name}, 95% CI [{}, {}]",
            g["replications"],
            b(&g["gap_usd"]),
            b(&g["ci95_low"]),
            b(&g["ci95_high"])
        );
    }
    if let Some(v) = d.get("value_of_information") {
        let _ = writeln!(
            s,
            "\nvalue of information ({unit_name}): RP {}  EV {}  EEV {}  WS {}  VSS {}  EVPI {}",
            b(&v["rp"]),
            b(&v["ev"]),
            b(&v["eev"]),
            b(&v["ws"]),
            b(&v["vss"]),
            b(&v["evpi"])
        );
        if let Some(n) = v["note"].as_str() {
            let _ = writeln!(s, "  {n}");
        }
    }
    if let Some(f) = d.get("frontier") {
        let _ = writeln!(
            s,
            "\nfrontier (alpha {}):\n  {:>8} {:>16} {:>16}",
            d["risk"]["alpha"],
            "lambda",
            format!("E[NPV] {unit_name}"),
            format!("CVaR loss {unit_name}")
        );
        for r in f.as_array().into_iter().flatten() {
            let _ = writeln!(
                s,
                "  {:>8} {:>16} {:>16}",
                // serde_json's Value ignores widths; a String honours them.
                r["lambda"].as_f64().map_or("-".into(), |l| l.to_string()),
                b(&r["expected_value_usd"]),
                b(&r["cvar_loss_usd"])
            );
        }
        let cvar: Vec<f64> = f
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["cvar_loss_usd"].as_f64())
            .collect();
        let (lo, hi) = cvar
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
                (a.min(*x), b.max(*x))
            });
        if cvar.len() > 1
            && hi - lo <= 1e-3 * hi.abs().max(lo.abs()).max(1.0)
            && d["recourse"] == true
        {
            let _ = writeln!(s, "note: the frontier is flat. Later commitments adapt to each path in the programme, so only the first stage trades expected NPV against the tail, and here it does not. `--fixed-schedule` or `--no-recourse` gives the frontier of fixed plans.");
        }
    }
    let _ = writeln!(
        s,
        "\nTOML for `simulate` (append to the scenario):\n{}",
        d["plan_toml"].as_str().unwrap_or("")
    );
    s
}
