//! gigawatt-model: the planning problem as plain values.
//!
//! A [`Scenario`] describes one planning problem: the horizon, demand segments, research,
//! accelerator generations, the existing fleet, capacity options, finance, named plans and
//! named discrete cases. Every number that may be uncertain is an [`Uncertain`], a distribution
//! *specification*; sampling lives in `gigawatt-sim`.
//!
//! This crate knows nothing about files, random number generators or solvers.
//! [`validate`] checks a scenario and returns every problem at once as a [`Diagnostic`] with
//! a field path such as `options[2].lead_time_months`.
//!
//! ```
//! use gigawatt_model::{Month, Dist};
//! let m = Month::parse("2027-03").unwrap();
//! assert_eq!(m.to_string(), "2027-03");
//! assert_eq!(Dist::Uniform { min: 1.0, max: 3.0 }.mean(), 2.0);
//! ```

mod diag;
mod dist;
mod month;
mod scenario;
mod valid;
mod validate;

pub use diag::{Diagnostic, Severity};
pub use dist::{inverse_normal_cdf, normal_cdf, Dist, PreparedDist, Uncertain, Z90};
pub use month::Month;
pub use scenario::*;
pub use valid::{errors_to_string, ValidScenario};
pub use validate::{
    correlation_matrix, jacobi_eigen, nearest_psd_correlation, validate, MAX_MONTHS, MAX_YEARS,
};
