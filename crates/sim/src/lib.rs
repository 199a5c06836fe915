//! gigawatt-sim: the Monte Carlo engine.
//!
//! [`Engine::new`] compiles a validated [`gigawatt_model::Scenario`] into flat arrays;
//! [`run`] simulates every selected plan on the same paths (common random numbers) in
//! fixed blocks merged in block order, so results are bit-identical for any thread count;
//! the `gigawatt-study` crate turns the result into typed reports and renders them.
//!
//! The monthly equations, in the order they run, are in `docs/explanation/simulation.md`.
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
//! let sc = sc.unwrap();
//! let engine = gigawatt_sim::Engine::new(&sc, 2000, 1, &[]).unwrap();
//! let cfg = gigawatt_sim::RunConfig {
//!     paths: 2000,
//!     monthly: false,
//!     per_path: false,
//!     overrides: vec![],
//!     scales: vec![],
//!     yearly: false,
//! };
//! let result = gigawatt_sim::run(&engine, &cfg, &|_| {});
//! let unserved = result.plans[0].metrics[4].moments.mean();
//! assert!(unserved > 0.0 && unserved < 0.5);
//! ```

mod engine;
mod fastexp;
mod run;
pub mod sample;

pub use engine::{
    affine_signal, yl, CorrelationReport, Draws, Engine, LaneColumns, LaneScratch, OptionInfo,
    PathOutcome, PathView, PlanC, PoolInfo, Recording, Scratch, UnitEffect, DEFAULT_PLAN,
    HOURS_PER_MONTH, LANES, MAX_PATHS, REPORTED_SERIES, SERIES, SHORTFALL_TOL, YEARLY_LINES,
};
pub use run::{
    metric_values, monthly_exact_cap, run, run_block, run_to_precision, run_with,
    yearly_cells_per_year, BlockAcc, CellMeans, Merger, MetricId, PlanAcc, RunConfig, RunResult,
    ALPHA, BLOCK, DIFF_METRICS, METRICS, NUM_METRICS, PRECISION_CHECK_BLOCKS,
};

/// Name of the automatic comparison plan that commits nothing new.
pub const BASELINE_PLAN: &str = "no-new-commitments";

/// Adds the "no new commitments" baseline (the fleet alone, no commitments, no rules) to the
/// scenario's plans, unless a plan that commits nothing is already there. Returns its name, or
/// `None` when an existing plan already plays that part.
pub fn add_baseline(sc: &mut gigawatt_model::Scenario) -> Option<String> {
    if !sc.plans.is_empty()
        && sc
            .plans
            .iter()
            .any(|p| p.commitments.is_empty() && p.rules.is_empty())
    {
        return None;
    }
    if sc.plans.is_empty() {
        // The engine's default plan is already the baseline.
        return None;
    }
    let mut name = BASELINE_PLAN.to_string();
    while sc.plans.iter().any(|p| p.name == name) {
        name.push('_');
    }
    sc.plans.push(gigawatt_model::Plan {
        name: name.clone(),
        description: "automatic comparison: the existing fleet, nothing new committed".into(),
        commitments: Vec::new(),
        rules: Vec::new(),
    });
    Some(name)
}
