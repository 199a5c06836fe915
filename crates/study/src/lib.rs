//! gigawatt-study: gigawatt's workflows as library calls.
//!
//! Each workflow takes a scenario and a typed request and returns a typed report; progress and
//! cancellation come in through [`Progress`], never printed here. The [`render`] module turns a
//! report into text, JSON or CSV. The command-line tool is a thin caller: parse flags, build a
//! request, call, render. A Python binding, a web page or an HTML report would call the same.
//!
//! - [`simulate`]: every plan of a scenario over sampled paths → [`SimulationReport`];
//! - [`simulate_cases`]: every plan on the scenario's named cases → [`CasesReport`];
//! - [`plan()`]: the stochastic programme, its plan and the simulation check → [`PlanOutcome`] (its typed [`PlanReport`]);
//! - [`sensitivity::tornado`]: which inputs drive a metric → [`sensitivity::TornadoReport`];
//! - [`rank::rank`]: which projects to drop or add first → [`rank::RankReport`];
//! - [`counterfactual::counterfactual`]: what an event did, on the same paths → [`counterfactual::CounterfactualReport`];
//! - [`compare::compare`]: how two scenario files differ for a plan, on the same paths → [`compare::CompareReport`].
//!
//! ```
//! let src = r#"
//! format_version = 1
//! horizon = { start = "2026-01", end = "2026-12" }
//! [[segments]]
//! name = "chat"
//! start_units_per_month = 100.0
//! h100e_months_per_unit = 1.0
//! price_usd_per_unit = 2.0
//! growth = { process = "log", drift_per_year = 0.5, volatility_per_month = 0.1 }
//! [[generations]]
//! name = "h100"
//! h100e_per_unit = 1.0
//! kw_per_unit = 1.0
//! price_usd_per_unit = 25000.0
//! [[fleet]]
//! generation = "h100"
//! units = 120.0
//! "#;
//! let (sc, _) = gigawatt_io::read_str(src, "mini.toml");
//! let req = gigawatt_study::SimulateRequest::new(2000, 1);
//! let report = gigawatt_study::simulate(&sc.unwrap(), &req, &gigawatt_study::Quiet).unwrap();
//! let unserved = report.plans[0].metric(gigawatt_sim::MetricId::UnservedShare);
//! assert!(unserved.mean > 0.0 && unserved.mean < 0.5);
//! let table = gigawatt_study::render::text(&report);
//! assert!(table.contains("unserved_share"));
//! ```
//!
//! And the plan that serves that demand best, checked by simulation (a lease at $100 per
//! H100e-month pays for itself: each H100e-month served earns $2,000):
//!
//! ```
//! # let src = r#"
//! # format_version = 1
//! # horizon = { start = "2026-01", end = "2026-12" }
//! # [[segments]]
//! # name = "chat"
//! # start_units_per_month = 100.0
//! # h100e_months_per_unit = 1.0
//! # price_usd_per_unit = 2000.0
//! # growth = { process = "log", drift_per_year = 0.5, volatility_per_month = 0.1 }
//! # [[generations]]
//! # name = "h100"
//! # h100e_per_unit = 1.0
//! # kw_per_unit = 1.0
//! # price_usd_per_unit = 25000.0
//! # [[fleet]]
//! # generation = "h100"
//! # units = 100.0
//! # [[options]]
//! # name = "cloud"
//! # kind = "lease"
//! # term_months = 12
//! # price_usd_per_h100e_month = 100.0
//! # max_h100e = 1000.0
//! # "#;
//! let sc = gigawatt_io::read_str(src, "mini.toml").0.unwrap();
//! let mut req = gigawatt_study::PlanRequest::new(8);
//! req.oos_paths = 200;
//! let solver = gigawatt_lp::MicroLp;
//! let out = gigawatt_study::plan(&sc, &req, &solver, &gigawatt_study::Quiet, None).unwrap();
//! let found = out.report.outcome.as_ref().expect("a plan");
//! // It leases something in the first month and beats committing nothing, out of sample.
//! assert!(found.commitments.iter().any(|c| c.option == "cloud" && c.month == "2026-01"));
//! assert_eq!(found.best, Some(0));
//! ```

pub mod cases;
pub mod compare;
pub mod counterfactual;
pub mod evppi;
pub mod html;
pub mod paired;
pub mod plan;
pub mod rank;
pub mod render;
pub mod report;
pub mod sensitivity;
pub mod sobol;
pub mod spider;
pub mod xlsx;

pub use cases::{simulate_cases, CasesReport};
pub use plan::{plan, PlanOutcome, PlanReport, PlanRequest};
pub use report::{MetricResult, PlanResult, PrecisionOutcome, SimulationReport};

use gigawatt_model::{errors_to_string, Scenario, ValidScenario};
use gigawatt_sim::{Engine, MetricId, RunConfig};

/// Could not run: the request or the scenario does not allow it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StudyError {
    /// The request is not valid (what to change is in the message).
    #[error("{0}")]
    Request(String),
    /// The scenario cannot be compiled for this request (an unknown plan name, say).
    #[error("{0}")]
    Scenario(String),
    /// The solver could not run.
    #[error(transparent)]
    Solver(#[from] gigawatt_lp::Error),
}

/// How a long run reports progress and learns it should stop. Both have do-nothing defaults.
pub trait Progress: Sync {
    /// `done` of `total` paths are finished.
    fn paths_done(&self, done: u64, total: u64) {
        let _ = (done, total);
    }
    /// Asked between chunks of paths; true stops the run with what it has.
    fn cancelled(&self) -> bool {
        false
    }
    /// A step of a long workflow has started, or something worth saying happened.
    fn note(&self, msg: &str) {
        let _ = msg;
    }
}

/// A [`Progress`] that reports nothing and never cancels.
pub struct Quiet;

impl Progress for Quiet {}

/// What [`simulate`] is asked to do. No `Default`: paths and seed are the caller's choice.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulateRequest {
    /// Paths to simulate (the most, with a precision target).
    pub paths: u64,
    /// Seed of every random stream.
    pub seed: u64,
    /// Plans to simulate by name (empty: every plan of the scenario).
    pub plans: Vec<String>,
    /// Add the "no-new-commitments" baseline plan (unless a plan already commits nothing).
    pub baseline: bool,
    /// Keep per-month percentiles (for `monthly.csv` and charts; costs run time).
    pub monthly: bool,
    /// Keep every path's outcomes (memory grows with paths).
    pub per_path: bool,
    /// Stop once every plan's NPV standard error is at most this, USD.
    pub target_npv_se_usd: Option<f64>,
    /// Inputs held at a value on every path, by `id` or field path; all other draws are those
    /// of the run without them (the analyses hold one input at its p10 or p90 this way).
    pub overrides: Vec<(String, f64)>,
    /// Keep yearly financial statements per plan.
    pub yearly: bool,
    /// Drivers multiplied by a factor on every path (after any held value): a `[[groups]]`
    /// name, an input's `id` or field path, or a field-path prefix (`segments[0].growth`)
    /// taking every input under it; all other draws unchanged.
    pub scales: Vec<(String, f64)>,
}

/// Most paths a run that keeps every path's outcomes may have (per-path output and the
/// analyses built on it: about 200 bytes a path and plan, so a few GB at most).
pub const MAX_PER_PATH_PATHS: u64 = 5_000_000;

impl SimulateRequest {
    /// Every plan plus the baseline over `paths` paths from `seed`; no monthly or per-path
    /// output and no precision target.
    pub fn new(paths: u64, seed: u64) -> SimulateRequest {
        SimulateRequest {
            paths,
            seed,
            plans: Vec::new(),
            baseline: true,
            monthly: false,
            per_path: false,
            target_npv_se_usd: None,
            overrides: Vec::new(),
            scales: Vec::new(),
            yearly: false,
        }
    }

    fn check(&self) -> Result<(), StudyError> {
        if self.paths == 0 {
            return Err(StudyError::Request("--paths must be at least 1".into()));
        }
        if self.paths > gigawatt_sim::MAX_PATHS {
            return Err(StudyError::Request(format!(
                "--paths {} is more than a run may have (at most {}): use fewer paths",
                self.paths,
                gigawatt_sim::MAX_PATHS
            )));
        }
        if self.per_path && self.paths > MAX_PER_PATH_PATHS {
            return Err(StudyError::Request(format!(
                "{} paths is more than a run that keeps every path's outcomes allows ({MAX_PER_PATH_PATHS}; \
                 each path's record is held in memory): use fewer --paths, or a summary without per-path output",
                self.paths
            )));
        }
        if let Some((name, k)) = self
            .scales
            .iter()
            .find(|(_, k)| !(k.is_finite() && *k >= 0.0))
        {
            return Err(StudyError::Request(format!(
                "the factor on `{name}` must be a finite number at least 0 (got {k})"
            )));
        }
        if self
            .target_npv_se_usd
            .is_some_and(|x| !(x.is_finite() && x > 0.0))
        {
            return Err(StudyError::Request(
                "--target-npv-se-usd must be a positive number of dollars, such as 1e8".into(),
            ));
        }
        Ok(())
    }
}

/// The plan a workflow studies and the plan selection for its runs: `plan` when named, else the
/// scenario's first plan, else the engine's default plan (the fleet alone), which a run gets by
/// selecting nothing.
pub(crate) fn chosen_plan(sc: &ValidScenario, plan: Option<&str>) -> (String, Vec<String>) {
    let name = plan
        .map(str::to_string)
        .or_else(|| sc.plans.first().map(|p| p.name.clone()))
        .unwrap_or_else(|| gigawatt_sim::DEFAULT_PLAN.to_string());
    let selection = if sc.plans.is_empty() && name == gigawatt_sim::DEFAULT_PLAN {
        Vec::new()
    } else {
        vec![name.clone()]
    };
    (name, selection)
}

/// Refuses a year metric for an analysis of means: a year has no value on paths where its
/// event never happens.
pub(crate) fn require_mean_metric(metric: gigawatt_sim::MetricId) -> Result<(), StudyError> {
    if metric.is_year() {
        return Err(StudyError::Request(format!(
            "{} has no value on paths where its event never happens, so no mean; choose another metric",
            metric.name()
        )));
    }
    Ok(())
}

/// The engine of one plan alone (a selection from [`chosen_plan`]), with no baseline, for the
/// analyses that evaluate a plan under changed inputs. Returns the plan's name, its selection
/// and the engine (the plan is its plan 0).
pub(crate) fn plan_engine(
    sc: &ValidScenario,
    plan: Option<&str>,
    paths: u64,
    seed: u64,
) -> Result<(String, Vec<String>, Engine), StudyError> {
    let (name, selection) = chosen_plan(sc, plan);
    let probe = SimulateRequest {
        plans: selection.clone(),
        baseline: false,
        ..SimulateRequest::new(paths, seed)
    };
    let (_, engine) = engine_for(sc, &probe)?;
    Ok((name, selection, engine))
}

/// The inputs of the scenario's `[[groups]]` entry `name`, by name and engine index (validation
/// made every member an input), or None when there is no such group.
pub(crate) fn group_members(
    sc: &ValidScenario,
    engine: &Engine,
    name: &str,
) -> Option<Vec<(String, usize)>> {
    sc.groups.iter().find(|g| g.name == name).map(|g| {
        g.inputs
            .iter()
            .filter_map(|m| engine.input_named(m).map(|i| (m.clone(), i)))
            .collect()
    })
}

/// The inputs a driver names, by name and engine index: the members of a `[[groups]]` entry of
/// that name, else the input with that `id` or field path, else every input under that
/// field-path prefix (fixed numbers included: a driver scaled as a whole).
pub fn driver_inputs(
    sc: &ValidScenario,
    engine: &Engine,
    driver: &str,
) -> Result<Vec<(String, usize)>, StudyError> {
    if let Some(members) = group_members(sc, engine, driver) {
        return Ok(members);
    }
    let names = engine.input_names();
    if let Some(i) = engine.input_named(driver) {
        return Ok(vec![(names[i].clone(), i)]);
    }
    let under = engine.inputs_under(driver);
    if under.is_empty() {
        let groups: Vec<&str> = sc.groups.iter().map(|g| g.name.as_str()).collect();
        return Err(StudyError::Request(format!(
            "`{driver}` is neither a group ({}), an input's `id` or field path, nor a field-path prefix such as segments[0].growth",
            if groups.is_empty() { "the scenario has none".to_string() } else { groups.join(", ") }
        )));
    }
    Ok(under.into_iter().map(|i| (names[i].clone(), i)).collect())
}

/// Validates a scenario a workflow changed (plans added): a failure is a bug in the workflow
/// or an impossible request, reported as a scenario error.
pub(crate) fn revalidate(sc: Scenario) -> Result<ValidScenario, StudyError> {
    ValidScenario::new(sc).map_err(|e| StudyError::Scenario(errors_to_string(&e)))
}

/// The scenario with the baseline plan added (when asked) and the plan names to compile.
fn with_baseline(
    sc: &ValidScenario,
    req: &SimulateRequest,
) -> Result<(ValidScenario, Vec<String>), StudyError> {
    let mut selected = req.plans.clone();
    if !req.baseline {
        return Ok((sc.clone(), selected));
    }
    let mut changed = Scenario::clone(sc);
    if let Some(name) = gigawatt_sim::add_baseline(&mut changed) {
        if !selected.is_empty() {
            selected.push(name);
        }
    }
    Ok((revalidate(changed)?, selected))
}

/// Compiles the scenario for `req` (with the baseline added when asked).
pub fn engine_for(
    sc: &ValidScenario,
    req: &SimulateRequest,
) -> Result<(ValidScenario, Engine), StudyError> {
    req.check()?;
    let (sc, selected) = with_baseline(sc, req)?;
    let engine = Engine::new(&sc, req.paths, req.seed, &selected).map_err(StudyError::Scenario)?;
    Ok((sc, engine))
}

/// Simulates every requested plan on the same paths and reports what each yields and risks.
/// Runs on the current rayon pool; results do not depend on its size.
pub fn simulate(
    sc: &ValidScenario,
    req: &SimulateRequest,
    progress: &dyn Progress,
) -> Result<SimulationReport, StudyError> {
    let (sc, engine) = engine_for(sc, req)?;
    let overrides = req
        .overrides
        .iter()
        .map(|(name, v)| {
            let i = engine.input_named(name).ok_or_else(|| {
                StudyError::Request(format!(
                    "no uncertain input is named `{name}`: give an input's `id` or its field path, such as segments[0].growth.drift_per_year"
                ))
            })?;
            // A held value is one outcome of the input: it must be one the input can take.
            let dist = engine.input_dist(i);
            if !dist.admits(*v) {
                return Err(StudyError::Request(format!(
                    "{v} is outside what input `{name}` can take ({})",
                    dist.support_text()
                )));
            }
            Ok((i, *v))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut scales = Vec::new();
    for (name, k) in &req.scales {
        for (_, i) in driver_inputs(&sc, &engine, name)? {
            scales.push((i, *k));
        }
    }
    let cfg = RunConfig {
        paths: req.paths,
        monthly: req.monthly,
        per_path: req.per_path,
        overrides,
        scales,
        yearly: req.yearly,
    };
    let mut result = gigawatt_sim::run_with(
        &engine,
        &cfg,
        req.target_npv_se_usd,
        &|done| progress.paths_done(done, req.paths),
        &|| progress.cancelled(),
    );
    let mut report = report::build(&sc, &engine, &mut result, req.seed);
    report.cancelled = result.cancelled;
    if let Some(target) = req.target_npv_se_usd {
        // The largest NPV standard error over plans is the precision achieved.
        let achieved = report
            .plans
            .iter()
            .map(|p| p.metric(MetricId::Npv).se)
            .filter(|x| x.is_finite())
            .fold(0.0, f64::max);
        report.precision = Some(PrecisionOutcome {
            target_npv_se_usd: target,
            reached: report.paths > 1 && achieved <= target,
            npv_se_achieved_usd: achieved,
            max_paths: req.paths,
        });
    }
    Ok(report)
}
