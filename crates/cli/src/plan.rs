//! `gigawatt plan`: flags → `gigawatt_study::PlanRequest` → `gigawatt_study::plan` → print and
//! write files. The workflow (programme, solve, diagnosis, candidates, simulation checks) is in
//! the library; the JSON format is documented in docs/reference/output-formats.md.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use gigawatt_lp::Solver;
use gigawatt_study::PlanRequest;

use crate::common;

/// Exit code when the optimisation problem is infeasible (a diagnosis is printed).
pub const EXIT_INFEASIBLE: u8 = 3;

/// Arguments of `gigawatt plan`.
#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    /// Scenario file (TOML).
    pub file: PathBuf,
    /// Scenarios (sampled paths) in the programme.
    #[arg(long, default_value_t = 50)]
    pub paths: u64,
    /// Seed of the in-sample paths (default: the scenario's seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Name of the plan found.
    #[arg(long, default_value = "optimised")]
    pub name: String,
    /// Commitments in the first this-many months are the same on every path.
    #[arg(long, default_value_t = 12)]
    pub window_months: i32,
    /// Commitments can be made every this-many months.
    #[arg(long, default_value_t = 3)]
    pub period_months: i32,
    /// No commitments after the window (first stage only).
    #[arg(long)]
    pub no_recourse: bool,
    /// Optimise one fixed schedule for the whole horizon (first stage everywhere, no recourse):
    /// the same kind of plan `simulate` then runs, so in-sample and simulated values agree best.
    #[arg(long, conflicts_with_all = ["no_recourse", "window_months", "branching"])]
    pub fixed_schedule: bool,
    /// With --clairvoyant-recourse: simulate later commitments at their mean over paths instead
    /// of re-optimising them as the best fixed schedule after the first stage (skips a solve).
    #[arg(long, conflicts_with_all = ["no_recourse", "fixed_schedule"])]
    pub mean_recourse: bool,
    /// Later commitments chosen per path with that path's whole future in view (two-stage
    /// recourse): an upper bound no plan can reach, then two fixed versions simulated. By
    /// default later commitments are linear decision rules in the demand observed, a policy
    /// `simulate` runs exactly, so the programme's value is what the plan is worth in sample.
    #[arg(long, conflicts_with_all = ["no_recourse", "fixed_schedule"])]
    pub clairvoyant_recourse: bool,
    /// Model churn exactly in the programme (unserved demand shrinks later demand, as in the
    /// simulator). The plan then weighs customers lost, but the programme solves many times
    /// slower (frontier-lab, 50 paths: 21 s instead of 0.9 s with HiGHS).
    #[arg(long)]
    pub churn: bool,
    /// Multistage: split the paths into this many branches at each stage boundary
    /// (recourse decisions are shared within a node of the tree).
    #[arg(long)]
    pub branching: Option<usize>,
    /// Months per stage of the scenario tree.
    #[arg(long, default_value_t = 12)]
    pub stage_months: i32,
    /// `npv`: maximise expected NPV − λ·CVaR; `cost`: minimise expected cost subject to --service-level.
    #[arg(long, default_value = "npv", value_parser = ["npv", "cost"])]
    pub objective: String,
    /// CVaR confidence level (0.95 = worst 5 %).
    #[arg(long, default_value_t = 0.95)]
    pub alpha: f64,
    /// Weight λ of CVaR in the objective (0 = risk-neutral).
    #[arg(long, default_value_t = 0.0)]
    pub lambda: f64,
    /// With --objective cost: least share of demand served on every path.
    #[arg(long, default_value_t = 0.99)]
    pub service_level: f64,
    /// Most capex in any calendar year, USD.
    #[arg(long)]
    pub budget_usd_per_year: Option<f64>,
    /// Most the backstop may lend on any path, USD (cash before interest never falls below
    /// min cash − credit limit − this).
    #[arg(long)]
    pub max_funding_gap_usd: Option<f64>,
    /// Fresh paths for the out-of-sample check.
    #[arg(long, default_value_t = 2000)]
    pub oos_paths: u64,
    /// Optimise over the scenario's named `[[cases]]` (with their probabilities) instead of
    /// sampled paths; the plan is still checked on sampled paths.
    #[arg(long, conflicts_with = "replications")]
    pub cases: bool,
    /// Estimate the solution's optimality gap: R ≥ 2 replications each solve the programme over
    /// fresh paths and carry the solution out on them (multiple-replication procedure); prints
    /// the mean gap and its one-sided 95 % limit. Costs R more solves.
    #[arg(long, default_value_t = 0)]
    pub replications: u32,
    /// With --replications: paths in each replication [default: --paths]. Fewer keep the
    /// estimate valid (the gap is overstated, never understated) at a fraction of the solve
    /// time: a plan from 10,000 paths checked by replications of 1,000, say.
    #[arg(long, value_name = "PATHS", requires = "replications")]
    pub replication_paths: Option<u64>,
    /// Also compute EV, EEV, WS, VSS and EVPI (solves one problem per path).
    #[arg(long)]
    pub value_of_information: bool,
    /// Efficient frontier: expected NPV against CVaR over these λ values (comma-separated).
    #[arg(long, num_args = 0..=1, default_missing_value = "0,0.1,0.25,0.5,1,2", value_delimiter = ',')]
    pub frontier: Option<Vec<f64>>,
    /// Write the model to this MPS file for inspection in another solver.
    #[arg(long)]
    pub write_mps: Option<PathBuf>,
    /// Solver time limit, seconds.
    #[arg(long)]
    pub time_limit: Option<f64>,
    /// Relative MIP gap at which to stop.
    #[arg(long, default_value_t = 0.01)]
    pub mip_gap: f64,
    /// Solver threads (HiGHS; 0 = its default).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Solve by the L-shaped method over paths (Benders, multi-cut, level-regularised)
    /// instead of one extensive-form programme: less memory and, with many paths, less time.
    /// Prints lower and upper bounds as it converges. Chosen without this flag over 200 paths
    /// with linear decision rules (the default recourse).
    #[arg(long, conflicts_with = "extensive_form")]
    pub decompose: bool,
    /// Solve the extensive form (every path's rows in one programme) even over more than 200
    /// paths with linear decision rules, where `plan` otherwise decomposes (frontier-lab at
    /// 1,000 paths: over 10 minutes whole, 8 s by decomposition to a 1 % gap).
    #[arg(long)]
    pub extensive_form: bool,
    /// With --decompose: stop when the bounds are within this share of the value.
    /// [default: 0.001 with --decompose; when `plan` decomposes without being asked, the
    /// --mip-gap (at least 0.001), the gap the extensive form would stop at]
    #[arg(long)]
    pub decompose_gap: Option<f64>,
    /// With --decompose: split the paths into this many groups of consecutive paths, each with
    /// one cut per iteration (0: one per path, multi-cut). Fewer groups keep the master small
    /// on thousands of paths; ignored with CVaR (--lambda > 0), which needs every path's value.
    /// [default: one per path up to 200 paths, 100 groups beyond]
    #[arg(long)]
    pub decompose_groups: Option<usize>,
    /// With --decompose and HiGHS: keep each path's subproblem as a live solver session, re-solved
    /// in place each round, up to this many paths (the fastest, about 2.6 MB a path on
    /// frontier-lab); beyond, each path keeps only the basis its last solve ended at and its
    /// subproblem is rebuilt from it (about 1.25 times the time, 0.43 times the memory at 1,000
    /// paths). The answer is the same within the gap either way.
    #[arg(long, value_name = "PATHS", default_value_t = gigawatt_study::plan::DEFAULT_WARM_SESSIONS)]
    pub decompose_sessions: usize,
    /// With --decompose: solve every path's subproblem with the LP solver, even where its
    /// structure (states fixed by the plan, then one-row blocks of served demand and burst)
    /// lets it be solved directly (tens of times faster a subproblem). The same optimum; for
    /// comparison.
    #[arg(long)]
    pub decompose_solver_subproblems: bool,
    /// Solver: `highs` (needs the `highs` feature) or `microlp` (pure Rust).
    #[arg(long)]
    pub solver: Option<String>,
    /// Print the result as JSON (format `gigawatt-plan` v1).
    #[arg(long)]
    pub json: bool,
    /// Write plan.toml, commitments.csv, frontier.csv (with --frontier), replications.csv (with
    /// --replications) and result.json here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Treat scenario warnings as errors.
    #[arg(long)]
    pub strict: bool,
    /// Refuse to build a programme whose estimated memory exceeds this many GB (default: 80 %
    /// of the machine's memory). The estimate extrapolates the size of small builds, at the
    /// memory per column measured for the extensive form or, with --decompose, for the
    /// decomposition (live HiGHS subproblems up to --decompose-sessions paths, subproblems rebuilt
    /// from their last basis beyond).
    #[arg(long)]
    pub max_memory_gb: Option<f64>,
    /// Switch this launch or event off (repeatable), every other draw unchanged: the analysis of the
    /// world without it.
    #[arg(long, value_name = "EVENT")]
    pub without_event: Vec<String>,
    /// No progress notes on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

impl PlanArgs {
    /// The library request these flags make.
    fn request(&self) -> PlanRequest {
        PlanRequest {
            paths: self.paths,
            seed: self.seed,
            name: self.name.clone(),
            window_months: self.window_months,
            period_months: self.period_months,
            no_recourse: self.no_recourse,
            fixed_schedule: self.fixed_schedule,
            mean_recourse: self.mean_recourse,
            clairvoyant_recourse: self.clairvoyant_recourse,
            churn: self.churn,
            branching: self.branching,
            stage_months: self.stage_months,
            objective: self.objective.clone(),
            alpha: self.alpha,
            lambda: self.lambda,
            service_level: self.service_level,
            budget_usd_per_year: self.budget_usd_per_year,
            max_funding_gap_usd: self.max_funding_gap_usd,
            oos_paths: self.oos_paths,
            cases: self.cases,
            replications: self.replications,
            replication_paths: self.replication_paths,
            value_of_information: self.value_of_information,
            frontier: self.frontier.clone(),
            time_limit: self.time_limit,
            mip_gap: self.mip_gap,
            threads: self.threads,
            decompose: self.decompose,
            extensive_form: self.extensive_form,
            decompose_gap: self.decompose_gap,
            decompose_groups: self.decompose_groups,
            decompose_sessions: Some(self.decompose_sessions),
            decompose_solver_subproblems: self.decompose_solver_subproblems,
            max_memory_gb: self.max_memory_gb,
        }
    }
}

fn solver_named(name: Option<&str>) -> anyhow::Result<Box<dyn Solver + Send + Sync>> {
    match name {
        None => Ok(gigawatt_lp::default_solver()),
        Some("microlp") => Ok(Box::new(gigawatt_lp::MicroLp)),
        #[cfg(feature = "highs")]
        Some("highs") => Ok(Box::new(gigawatt_lp::Highs)),
        #[cfg(not(feature = "highs"))]
        Some("highs") => bail!("this gigawatt was built without HiGHS; rebuild with `--features highs` (needs CMake and libclang) or use --solver microlp"),
        Some(other) => bail!("unknown solver `{other}`; use highs or microlp"),
    }
}

pub fn run(a: &PlanArgs) -> anyhow::Result<ExitCode> {
    let Some(sc) = common::load(&a.file, a.strict, a.quiet)? else {
        return Ok(ExitCode::from(1));
    };
    let sc = common::without_events(sc, &a.without_event)?;
    crate::check_threads(Some(a.threads))?;
    if let Some(dir) = &a.out {
        // Fail now, not after the solve.
        gigawatt_io::prepare_out_dir(dir)?;
    }
    let solver = solver_named(a.solver.as_deref())?;
    let notes = common::Notes { quiet: a.quiet };
    let write_mps = |p: &gigawatt_lp::Problem| -> Result<(), String> {
        if let Some(path) = &a.write_mps {
            gigawatt_io::write_atomic(path, p.to_mps(&sc.name).as_bytes())
                .map_err(|e| e.to_string())?;
            gigawatt_study::Progress::note(&notes, &format!("wrote {}", path.display()));
        }
        Ok(())
    };
    let out = gigawatt_study::plan(&sc, &a.request(), solver.as_ref(), &notes, Some(&write_mps))?;
    if let Some(dir) = &a.out {
        if let Some(toml) = &out.plan_toml {
            gigawatt_io::write_atomic(&dir.join("plan.toml"), toml.as_bytes())?;
        }
        common::write_json(&dir.join("result.json"), &out.doc)?;
        if let Some(csv) = &out.commitments_csv {
            gigawatt_io::write_atomic(&dir.join("commitments.csv"), csv.as_bytes())?;
        }
        if let Some(csv) = &out.frontier_csv {
            gigawatt_io::write_atomic(&dir.join("frontier.csv"), csv.as_bytes())?;
        }
        if let Some(csv) = &out.replications_csv {
            gigawatt_io::write_atomic(&dir.join("replications.csv"), csv.as_bytes())?;
        }
    }
    common::print_report(a.json, &out.doc, || out.text.clone())?;
    Ok(if out.found {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INFEASIBLE)
    })
}
