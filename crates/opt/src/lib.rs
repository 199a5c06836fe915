//! gigawatt-opt: stochastic optimisation of capacity plans.
//!
//! - [`TwoStage`]: a stochastic programme (first stage, shared recourse for scenario-tree
//!   nodes, per-scenario recourse) written in extensive form, with Rockafellar–Uryasev CVaR rows
//!   and value-of-information (EV, EEV, WS, VSS, EVPI).
//! - [`capacity`]: the capacity-planning formulation built from a scenario and the simulator's
//!   own accounting, so the optimiser charges exactly what the simulator charges.
//! - [`decompose`]: the L-shaped method over scenarios (multi-cut, level-regularised), for
//!   programmes too large for the extensive form.
//! - [`diagnose`]: infeasibility diagnosis by an elastic programme that names the limits in
//!   conflict and how far each must move.
//!
//! Reserve capacity for one month at 0.6 per H100e-month, or buy it on demand at 1.0, against
//! lognormal demand (median 100, p90 130): the optimal reserve is the 0.4-quantile of demand,
//! about 94.95 H100e, and 400 Latin-hypercube paths land within a stratum of it.
//!
//! ```
//! use gigawatt_lp::{MicroLp, SolverSettings};
//! use gigawatt_opt::capacity::{build, CapacitySettings};
//! use gigawatt_opt::Risk;
//! use gigawatt_sim::Engine;
//!
//! let src = r#"
//! format_version = 1
//! horizon = { start = "2026-01", end = "2026-01" }
//! discount_rate_per_year = 0.0
//! simulation = { sampling = "latin_hypercube" }
//! [[segments]]
//! name = "d"
//! start_units_per_month = { dist = "lognormal", median = 100.0, p90 = 130.0 }
//! h100e_months_per_unit = 1.0
//! price_usd_per_unit = 10.0
//! growth = { process = "log" }
//! [power]
//! availability_pu = 1.0
//! [[options]]
//! name = "reserved"
//! kind = "lease"
//! term_months = 1
//! price_usd_per_h100e_month = 0.6
//! [[options]]
//! name = "on_demand"
//! kind = "burst"
//! price_usd_per_h100e_month = 1.0
//! cap_h100e = 1000.0
//! "#;
//! let (scenario, diagnostics) = gigawatt_io::read_str(src, "example.toml");
//! let scenario = scenario.expect("valid scenario");
//! assert!(diagnostics.is_empty());
//! let paths = 400;
//! let engine = Engine::new(&scenario, paths, 3, &[]).unwrap();
//! let model = build(&scenario, &engine, &CapacitySettings::new(paths, 3)).unwrap();
//! let solved = model
//!     .solve(&MicroLp, &SolverSettings::default(), Risk::Neutral, None)
//!     .unwrap();
//! let reserve_h100e = solved.first[0];
//! assert!((reserve_h100e - 94.95).abs() < 0.3, "{reserve_h100e}");
//! // The plan `simulate` can run, as a TOML fragment to append to the scenario file.
//! let (plan, _) = model.plan("optimised", &solved.solution.x, &solved.layout);
//! assert_eq!(plan.commitments[0].option, "reserved");
//! ```

pub mod capacity;
pub mod decompose;
pub mod diagnose;
mod separable;
mod two_stage;

pub use two_stage::{
    Layout, Ref, Risk, RowDef, RowKind, ScenarioDef, Solved, TwoStage, ValueOfInformation, VarDef,
    DEFAULT_ALPHA,
};
