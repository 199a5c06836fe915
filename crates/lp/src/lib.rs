//! gigawatt-lp: a small solver-agnostic LP/MIP layer.
//!
//! A [`Problem`] holds columns (objective, bounds, integrality), rows (bounds) and the sparse
//! matrix as (row, column, value) entries, built directly in memory. A [`Solver`] solves it:
//! [`MicroLp`] is pure Rust and always available; `Highs` (cargo feature `highs`) is the
//! production solver. An infeasible or unbounded problem is a [`SolveStatus`], not an error;
//! `Err` means the solver could not run. [`Problem::to_mps`] writes free-format MPS for
//! inspection in any other solver.
//!
//! ```
//! use gigawatt_lp::{MicroLp, Problem, Sense, Solver, SolverSettings, SolveStatus};
//! // max 3x + 2y  s.t.  x + y <= 4,  x + 3y <= 6,  0 <= x <= 3,  y >= 0
//! let mut p = Problem::new(Sense::Maximize);
//! let x = p.add_col("x", 3.0, 0.0, 3.0, false);
//! let y = p.add_col("y", 2.0, 0.0, f64::INFINITY, false);
//! let r1 = p.add_row("r1", f64::NEG_INFINITY, 4.0);
//! p.set(r1, x, 1.0);
//! p.set(r1, y, 1.0);
//! let r2 = p.add_row("r2", f64::NEG_INFINITY, 6.0);
//! p.set(r2, x, 1.0);
//! p.set(r2, y, 3.0);
//! let sol = MicroLp.solve(&p, &SolverSettings::default()).unwrap();
//! assert_eq!(sol.status, SolveStatus::Optimal);
//! assert!((sol.objective - 11.0).abs() < 1e-9);
//! ```

mod microlp_backend;
mod mps;

#[cfg(feature = "highs")]
mod highs_backend;
#[cfg(feature = "highs")]
mod highs_ffi;

#[cfg(feature = "highs")]
pub use highs_backend::Highs;
pub use microlp_backend::MicroLp;

/// Optimisation direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sense {
    /// Minimise the objective.
    Minimize,
    /// Maximise the objective.
    Maximize,
}

/// Index of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Col(pub u32);

/// Index of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Row(pub u32);

/// An LP or MIP: min or max c·x + offset subject to row_lower ≤ A x ≤ row_upper and
/// col_lower ≤ x ≤ col_upper, with some x integer.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Direction.
    pub sense: Sense,
    /// Constant added to the objective.
    pub obj_offset: f64,
    /// Objective coefficients.
    pub obj: Vec<f64>,
    /// Column lower bounds (may be −∞).
    pub col_lower: Vec<f64>,
    /// Column upper bounds (may be +∞).
    pub col_upper: Vec<f64>,
    /// Integrality of each column.
    pub integer: Vec<bool>,
    /// Column names (for MPS and diagnostics).
    pub col_names: Vec<String>,
    /// Row lower bounds (may be −∞).
    pub row_lower: Vec<f64>,
    /// Row upper bounds (may be +∞).
    pub row_upper: Vec<f64>,
    /// Row names.
    pub row_names: Vec<String>,
    /// Matrix entries (row, column, value); a repeated (row, column) adds up.
    pub entries: Vec<(u32, u32, f64)>,
}

impl Problem {
    /// An empty problem.
    pub fn new(sense: Sense) -> Problem {
        Problem {
            sense,
            obj_offset: 0.0,
            obj: Vec::new(),
            col_lower: Vec::new(),
            col_upper: Vec::new(),
            integer: Vec::new(),
            col_names: Vec::new(),
            row_lower: Vec::new(),
            row_upper: Vec::new(),
            row_names: Vec::new(),
            entries: Vec::new(),
        }
    }

    /// Adds a column.
    pub fn add_col(
        &mut self,
        name: impl Into<String>,
        obj: f64,
        lower: f64,
        upper: f64,
        integer: bool,
    ) -> Col {
        self.obj.push(obj);
        self.col_lower.push(lower);
        self.col_upper.push(upper);
        self.integer.push(integer);
        self.col_names.push(name.into());
        Col(self.obj.len() as u32 - 1)
    }

    /// Adds a row with bounds `lower ≤ a·x ≤ upper`.
    pub fn add_row(&mut self, name: impl Into<String>, lower: f64, upper: f64) -> Row {
        self.row_lower.push(lower);
        self.row_upper.push(upper);
        self.row_names.push(name.into());
        Row(self.row_lower.len() as u32 - 1)
    }

    /// Adds `v` to the coefficient of column `c` in row `r` (zeros are skipped).
    pub fn set(&mut self, r: Row, c: Col, v: f64) {
        if v != 0.0 {
            self.entries.push((r.0, c.0, v));
        }
    }

    /// Number of columns.
    pub fn num_cols(&self) -> usize {
        self.obj.len()
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.row_lower.len()
    }

    /// Number of stored non-zeros (before merging duplicates).
    pub fn num_nonzeros(&self) -> usize {
        self.entries.len()
    }

    /// True if any column is integer.
    pub fn is_mip(&self) -> bool {
        self.integer.iter().any(|i| *i)
    }

    /// The LP relaxation: this problem with every column continuous.
    pub fn relaxation(&self) -> Problem {
        let mut lp = self.clone();
        lp.integer.iter_mut().for_each(|i| *i = false);
        lp
    }

    /// The matrix in compressed sparse column form: (column starts, row indices, values),
    /// duplicates summed, rows sorted within each column.
    pub fn csc(&self) -> (Vec<usize>, Vec<u32>, Vec<f64>) {
        let mut e = self.entries.clone();
        e.sort_unstable_by_key(|(r, c, _)| (*c, *r));
        let mut start = vec![0usize; self.num_cols() + 1];
        let mut rows: Vec<u32> = Vec::with_capacity(e.len());
        let mut vals: Vec<f64> = Vec::with_capacity(e.len());
        let mut last: Option<(u32, u32)> = None;
        for (r, c, v) in e {
            if last == Some((r, c)) {
                *vals.last_mut().expect("entry") += v;
                continue;
            }
            rows.push(r);
            vals.push(v);
            start[c as usize + 1] += 1;
            last = Some((r, c));
        }
        for i in 0..self.num_cols() {
            start[i + 1] += start[i];
        }
        (start, rows, vals)
    }

    /// Row activities A·x.
    pub fn activities(&self, x: &[f64]) -> Vec<f64> {
        let mut a = vec![0.0; self.num_rows()];
        for (r, c, v) in &self.entries {
            a[*r as usize] += v * x[*c as usize];
        }
        a
    }

    /// Objective value c·x + offset.
    pub fn objective_value(&self, x: &[f64]) -> f64 {
        self.obj_offset + self.obj.iter().zip(x).map(|(c, v)| c * v).sum::<f64>()
    }

    /// Largest violation of a row or bound by `x`, relative to max(1, |bound|).
    pub fn max_violation(&self, x: &[f64]) -> f64 {
        let mut worst: f64 = 0.0;
        let rel = |viol: f64, b: f64| viol / b.abs().max(1.0);
        for (i, a) in self.activities(x).iter().enumerate() {
            worst = worst
                .max(rel(self.row_lower[i] - a, self.row_lower[i]))
                .max(rel(a - self.row_upper[i], self.row_upper[i]));
        }
        for (j, v) in x.iter().enumerate() {
            worst = worst
                .max(rel(self.col_lower[j] - v, self.col_lower[j]))
                .max(rel(v - self.col_upper[j], self.col_upper[j]));
        }
        worst
    }

    /// The problem in free-format MPS.
    pub fn to_mps(&self, name: &str) -> String {
        mps::write(self, name)
    }
}

/// Outcome of a solve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolveStatus {
    /// Proven optimal (within the MIP gap for MIPs).
    Optimal,
    /// A feasible solution, stopped by a limit before proving optimality.
    Feasible,
    /// No feasible solution exists.
    Infeasible,
    /// The objective can improve without bound.
    Unbounded,
    /// A limit stopped the solve before any feasible solution was found.
    NoSolution,
}

impl SolveStatus {
    /// Lowercase name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            SolveStatus::Optimal => "optimal",
            SolveStatus::Feasible => "feasible",
            SolveStatus::Infeasible => "infeasible",
            SolveStatus::Unbounded => "unbounded",
            SolveStatus::NoSolution => "no_solution",
        }
    }

    /// True if the solution vector holds a usable point.
    pub fn has_solution(self) -> bool {
        matches!(self, SolveStatus::Optimal | SolveStatus::Feasible)
    }
}

/// A solve's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// Status.
    pub status: SolveStatus,
    /// Objective value (including the offset) when there is a solution.
    pub objective: f64,
    /// Best bound for MIPs (the objective for LPs).
    pub bound: f64,
    /// Relative MIP gap (0 for LPs).
    pub gap: f64,
    /// Column values (empty without a solution).
    pub x: Vec<f64>,
    /// Wall time of the solve, seconds.
    pub solve_seconds: f64,
}

impl Solution {
    /// The bound implied by a relative gap around an objective value.
    pub fn bound_from_gap(sense: Sense, objective: f64, gap: f64) -> f64 {
        match sense {
            Sense::Maximize => objective + gap * objective.abs(),
            Sense::Minimize => objective - gap * objective.abs(),
        }
    }

    /// A result with no point.
    pub fn without_point(status: SolveStatus, seconds: f64) -> Solution {
        Solution {
            status,
            objective: f64::NAN,
            bound: f64::NAN,
            gap: f64::NAN,
            x: Vec::new(),
            solve_seconds: seconds,
        }
    }
}

/// Knobs with well-known defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolverSettings {
    /// Relative MIP gap at which to stop (default 1e-4).
    pub mip_gap: f64,
    /// Time limit in seconds (default: none).
    pub time_limit_s: f64,
    /// Threads the solver may use (0 = its default).
    pub threads: usize,
}

impl Default for SolverSettings {
    fn default() -> Self {
        SolverSettings {
            mip_gap: 1e-4,
            time_limit_s: f64::INFINITY,
            threads: 0,
        }
    }
}

/// The solver could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The problem holds a number the solver cannot take (NaN, infinite coefficient).
    #[error("invalid problem: {0}")]
    InvalidProblem(String),
    /// The solver failed internally.
    #[error("{solver} failed: {message}")]
    SolverFailed {
        /// Which solver.
        solver: &'static str,
        /// What it said.
        message: String,
    },
}

/// A backend that solves [`Problem`]s.
pub trait Solver {
    /// Short name for reports.
    fn name(&self) -> &'static str;
    /// Solves `p`. Infeasible and unbounded problems are statuses, not errors.
    fn solve(&self, p: &Problem, settings: &SolverSettings) -> Result<Solution, Error>;

    /// [`Solver::solve_with_duals`] from `start`, where an earlier solve of a problem of the
    /// same shape ended (see [`Start`]), leaving in it where this one ends. A start of another
    /// shape, or an empty one, is a solve from scratch; the answer is the problem's optimum
    /// either way. The default cannot use a start and leaves it empty.
    fn solve_with_duals_from(
        &self,
        p: &Problem,
        settings: &SolverSettings,
        start: &mut Start,
    ) -> Result<(Solution, Vec<f64>), Error> {
        *start = Start::default();
        self.solve_with_duals(p, settings)
    }

    /// Solves the LP `p` (integrality ignored) and, when it is optimal, returns its row duals:
    /// `duals[i]` is the rate at which the optimal objective (in `p`'s own sense, offset
    /// included) changes when both bounds of row `i` move up together. Any subgradient is
    /// returned where the rate is not unique. Empty unless the status is optimal.
    ///
    /// The default solves the primal, then the dual LP written out by [`dual_problem`]; a
    /// backend with native duals overrides it.
    fn solve_with_duals(
        &self,
        p: &Problem,
        settings: &SolverSettings,
    ) -> Result<(Solution, Vec<f64>), Error> {
        let lp = p.relaxation();
        let sol = self.solve(&lp, settings)?;
        if sol.status != SolveStatus::Optimal {
            return Ok((sol, Vec::new()));
        }
        let mut dual = dual_problem(&lp);
        let mut ds = self.solve(&dual.problem, settings)?;
        // Strong duality, to the pure-Rust simplex's accuracy (about 1e-5 of the value): a
        // gross mismatch means the dual's answer is not an optimal dual.
        let agrees = |ds: &Solution| {
            ds.status == SolveStatus::Optimal
                && (dual.sign * ds.objective - sol.objective).abs()
                    <= 1e-3 * (1.0 + sol.objective.abs())
        };
        if !agrees(&ds) {
            // A simplex can call the dual of an optimal LP unbounded at its tolerances. Any
            // optimal dual is bounded, so solve it again with every dual column capped far
            // above the data's scale, and keep the answer if it meets the primal's value.
            let scale = lp
                .obj
                .iter()
                .chain(lp.entries.iter().map(|(_, _, v)| v))
                .fold(1.0f64, |m, v| m.max(v.abs()));
            let cap = 1e6 * scale;
            dual.problem.col_upper.iter_mut().for_each(|u| *u = cap);
            ds = self.solve(&dual.problem, settings)?;
        }
        if !agrees(&ds) {
            return Err(Error::SolverFailed {
                solver: self.name(),
                message: format!(
                    "the dual of an optimal LP came out {} (value {} against the primal's {})",
                    ds.status.as_str(),
                    dual.sign * ds.objective,
                    sol.objective
                ),
            });
        }
        Ok((sol, dual.row_duals(&ds.x)))
    }
}

/// Where an earlier solve of a problem ended, kept by the solver for a later solve of a problem
/// of the same shape whose bounds have moved (a subproblem at a new master point): HiGHS keeps
/// the optimal basis (a status per column and row, a few bytes each) and starts the next solve
/// from it, so that solve takes a few dual simplex steps from the last optimum and, where the
/// problem is degenerate, its duals stay those of the neighbouring basis. It costs kilobytes,
/// not the megabytes of a live [`Session`]. A backend that cannot use it leaves it empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Start {
    /// The solver's status per column, then per row.
    status: Vec<i8>,
    /// How many of `status` are columns'.
    cols: usize,
}

impl Start {
    /// Whether it holds nothing to start from.
    pub fn is_empty(&self) -> bool {
        self.status.is_empty()
    }
}

/// A row to append to a [`Session`]: lower bound, upper bound, (column, value) terms.
pub type RowRef<'a> = (f64, f64, &'a [(u32, f64)]);

/// An LP kept between solves: rows (cuts) added and column costs and bounds changed in place,
/// then solved again. A backend that can keeps its last basis, so a re-solve after a few new
/// rows starts where the last one ended. A bound that must move on a row is written as a
/// column fixed by its bounds (a parameter column) and moved with [`Session::set_col`].
pub trait Session {
    /// Appends a row `lower ≤ Σ v·x_c ≤ upper`.
    fn add_row(&mut self, lower: f64, upper: f64, terms: &[(u32, f64)]) -> Result<(), Error>;
    /// Appends rows (lower, upper, terms) in order, as [`Session::add_row`] one by one would;
    /// a backend that stores its matrix by column adds them in one pass.
    fn add_rows(&mut self, rows: &[RowRef]) -> Result<(), Error> {
        for (lo, hi, terms) in rows {
            self.add_row(*lo, *hi, terms)?;
        }
        Ok(())
    }
    /// New cost and bounds for column `col`.
    fn set_col(&mut self, col: u32, cost: f64, lower: f64, upper: f64) -> Result<(), Error>;
    /// Solves the problem as it now stands.
    fn solve(&mut self, settings: &SolverSettings) -> Result<Solution, Error>;
    /// Solves the problem as it now stands, an LP, with its row duals as
    /// [`Solver::solve_with_duals`] gives them (empty unless optimal).
    fn solve_with_duals(
        &mut self,
        settings: &SolverSettings,
    ) -> Result<(Solution, Vec<f64>), Error>;
}

/// A [`Session`] that keeps the [`Problem`] and solves it from scratch each time: any backend.
pub struct Rebuild<'a> {
    solver: &'a dyn Solver,
    /// The problem as it now stands.
    pub problem: Problem,
}

impl<'a> Rebuild<'a> {
    /// A session over `problem` solved by `solver`.
    pub fn new(solver: &'a dyn Solver, problem: Problem) -> Rebuild<'a> {
        Rebuild { solver, problem }
    }
}

impl Session for Rebuild<'_> {
    fn add_row(&mut self, lower: f64, upper: f64, terms: &[(u32, f64)]) -> Result<(), Error> {
        let r = self.problem.add_row("", lower, upper);
        for (c, v) in terms {
            self.problem.set(r, Col(*c), *v);
        }
        Ok(())
    }

    fn set_col(&mut self, col: u32, cost: f64, lower: f64, upper: f64) -> Result<(), Error> {
        let j = col as usize;
        self.problem.obj[j] = cost;
        self.problem.col_lower[j] = lower;
        self.problem.col_upper[j] = upper;
        Ok(())
    }

    fn solve(&mut self, settings: &SolverSettings) -> Result<Solution, Error> {
        self.solver.solve(&self.problem, settings)
    }

    fn solve_with_duals(
        &mut self,
        settings: &SolverSettings,
    ) -> Result<(Solution, Vec<f64>), Error> {
        self.solver.solve_with_duals(&self.problem, settings)
    }
}

/// A session for `problem` on `solver`: HiGHS's own, warm-started, when the solver is HiGHS;
/// otherwise one that solves from scratch.
pub fn session<'a>(solver: &'a dyn Solver, problem: Problem) -> Box<dyn Session + 'a> {
    #[cfg(feature = "highs")]
    if solver.name() == "highs" {
        if let Ok(s) = highs_backend::HighsSession::new(&problem) {
            return Box::new(s);
        }
    }
    Box::new(Rebuild::new(solver, problem))
}

/// The dual LP of a problem, with the map back to the primal's row duals.
#[derive(Debug, Clone)]
pub struct DualProblem {
    /// The dual, a maximisation.
    pub problem: Problem,
    /// Per primal row: the dual columns for its lower and upper bound (when finite).
    rows: Vec<(Option<u32>, Option<u32>)>,
    /// +1 for a minimisation primal, −1 for a maximisation one.
    sign: f64,
}

impl DualProblem {
    /// The primal's row duals (see [`Solver::solve_with_duals`]) from the dual's solution.
    pub fn row_duals(&self, y: &[f64]) -> Vec<f64> {
        self.rows
            .iter()
            .map(|(lo, hi)| {
                let a = lo.map_or(0.0, |c| y[c as usize]);
                let b = hi.map_or(0.0, |c| y[c as usize]);
                self.sign * (a - b)
            })
            .collect()
    }
}

/// The dual of the LP relaxation of `p`. Written for min c·y s.t. L ≤ Ay ≤ U, l ≤ y ≤ u (a
/// maximisation is negated first): max Σ L_i a_i − U_i b_i + Σ l_j d_j − u_j e_j subject to
/// Σ_i A_ij (a_i − b_i) + d_j − e_j = c_j and a, b, d, e ≥ 0, with a column only for each
/// finite bound. The row dual is a_i − b_i (negated back for a maximisation).
pub fn dual_problem(p: &Problem) -> DualProblem {
    let sign = match p.sense {
        Sense::Minimize => 1.0,
        Sense::Maximize => -1.0,
    };
    let mut d = Problem::new(Sense::Maximize);
    d.obj_offset = sign * p.obj_offset;
    let cons: Vec<Row> = (0..p.num_cols())
        .map(|j| {
            let c = sign * p.obj[j];
            d.add_row(format!("col_{}", p.col_names[j]), c, c)
        })
        .collect();
    let bound_col = |d: &mut Problem, name: String, b: f64, neg: bool| -> Option<u32> {
        b.is_finite().then(|| {
            d.add_col(name, if neg { -b } else { b }, 0.0, f64::INFINITY, false)
                .0
        })
    };
    let rows: Vec<(Option<u32>, Option<u32>)> = (0..p.num_rows())
        .map(|i| {
            let n = &p.row_names[i];
            (
                bound_col(&mut d, format!("lo_{n}"), p.row_lower[i], false),
                bound_col(&mut d, format!("up_{n}"), p.row_upper[i], true),
            )
        })
        .collect();
    for j in 0..p.num_cols() {
        let n = &p.col_names[j];
        if let Some(c) = bound_col(&mut d, format!("clo_{n}"), p.col_lower[j], false) {
            d.entries.push((cons[j].0, c, 1.0));
        }
        if let Some(c) = bound_col(&mut d, format!("cup_{n}"), p.col_upper[j], true) {
            d.entries.push((cons[j].0, c, -1.0));
        }
    }
    for &(r, c, v) in &p.entries {
        let (lo, hi) = rows[r as usize];
        if let Some(a) = lo {
            d.entries.push((cons[c as usize].0, a, v));
        }
        if let Some(b) = hi {
            d.entries.push((cons[c as usize].0, b, -v));
        }
    }
    DualProblem {
        problem: d,
        rows,
        sign,
    }
}

/// Checks every number in `p` is usable; infinite bounds are allowed on the open side.
pub fn check_finite(p: &Problem) -> Result<(), Error> {
    if let Some(j) = p.obj.iter().position(|c| !c.is_finite()) {
        return Err(Error::InvalidProblem(format!(
            "objective coefficient of `{}` is {}",
            p.col_names[j], p.obj[j]
        )));
    }
    if let Some((r, c, v)) = p.entries.iter().find(|(_, _, v)| !v.is_finite()) {
        return Err(Error::InvalidProblem(format!(
            "coefficient of `{}` in row `{}` is {v}",
            p.col_names[*c as usize], p.row_names[*r as usize]
        )));
    }
    let bad_bounds = |lo: &[f64], hi: &[f64]| {
        lo.iter().zip(hi).position(|(l, h)| {
            l.is_nan() || h.is_nan() || *l == f64::INFINITY || *h == f64::NEG_INFINITY
        })
    };
    if let Some(j) = bad_bounds(&p.col_lower, &p.col_upper) {
        return Err(Error::InvalidProblem(format!(
            "bounds of `{}` are [{}, {}]",
            p.col_names[j], p.col_lower[j], p.col_upper[j]
        )));
    }
    if let Some(i) = bad_bounds(&p.row_lower, &p.row_upper) {
        return Err(Error::InvalidProblem(format!(
            "bounds of row `{}` are [{}, {}]",
            p.row_names[i], p.row_lower[i], p.row_upper[i]
        )));
    }
    Ok(())
}

/// The default solver of this build: HiGHS with the `highs` feature, MicroLp otherwise.
pub fn default_solver() -> Box<dyn Solver + Send + Sync> {
    #[cfg(feature = "highs")]
    {
        Box::new(Highs)
    }
    #[cfg(not(feature = "highs"))]
    {
        Box::new(MicroLp)
    }
}

/// Every solver compiled into this build.
pub fn all_solvers() -> Vec<Box<dyn Solver + Send + Sync>> {
    #[allow(unused_mut)]
    let mut v: Vec<Box<dyn Solver + Send + Sync>> = vec![Box::new(MicroLp)];
    #[cfg(feature = "highs")]
    v.push(Box::new(Highs));
    v
}

#[cfg(test)]
mod tests;
