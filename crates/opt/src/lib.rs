//! gigawatt-opt: stochastic optimisation of capacity plans.
//!
//! - [`TwoStage`]: a stochastic programme (first stage, shared recourse for scenario-tree
//!   nodes, per-scenario recourse) written in extensive form, with Rockafellar–Uryasev CVaR rows
//!   and value-of-information (EV, EEV, WS, VSS, EVPI).
//! - [`capacity`]: the capacity-planning formulation built from a scenario and the simulator's
//!   own accounting, so the optimiser charges exactly what the simulator charges.
//! - [`diagnose`]: infeasibility diagnosis by an elastic programme that names the limits in
//!   conflict and how far each must move.

pub mod capacity;
pub mod diagnose;
mod two_stage;

pub use two_stage::{
    Layout, Ref, Risk, RowDef, ScenarioDef, Solved, TwoStage, ValueOfInformation, VarDef,
    DEFAULT_ALPHA,
};
