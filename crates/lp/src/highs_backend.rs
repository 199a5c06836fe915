//! The production backend: HiGHS (LP and MIP), through the `highs` crate.

use std::time::Instant;

use highs::{ColProblem, HighsModelStatus, Sense as HSense};

use crate::{
    check_finite, Error, Problem, Sense, Solution, SolveStatus, Solver, SolverSettings, Start,
};

/// HiGHS, built from source by the `highs` feature.
#[derive(Debug, Clone, Copy, Default)]
pub struct Highs;

fn build(p: &Problem) -> ColProblem {
    let mut hp = ColProblem::default();
    let rows: Vec<highs::Row> = (0..p.num_rows())
        .map(|i| hp.add_row(p.row_lower[i]..=p.row_upper[i]))
        .collect();
    let (start, idx, val) = p.csc();
    for j in 0..p.num_cols() {
        let factors: Vec<(highs::Row, f64)> = (start[j]..start[j + 1])
            .map(|k| (rows[idx[k] as usize], val[k]))
            .collect();
        hp.add_column_with_integrality(
            p.obj[j],
            p.col_lower[j]..=p.col_upper[j],
            factors,
            p.integer[j],
        );
    }
    // The objective's constant as a column fixed at 1 (the `highs` crate passes no offset), so
    // that HiGHS's objective, and the relative MIP gap it stops at, are the problem's own.
    if p.obj_offset != 0.0 {
        hp.add_column(p.obj_offset, 1.0..=1.0, Vec::<(highs::Row, f64)>::new());
    }
    hp
}

/// The options `settings` asks for.
fn apply(model: &mut highs::Model, settings: &SolverSettings) {
    if settings.time_limit_s.is_finite() {
        model.set_option("time_limit", settings.time_limit_s);
    }
    model.set_option("mip_rel_gap", settings.mip_gap);
    if settings.threads > 0 {
        model.set_option("threads", settings.threads as i32);
    }
}

/// Solves `p` once (from `start`'s basis when it has one of `p`'s shape: HiGHS then skips
/// presolve); HiGHS refusing the problem is an error, not a panic.
fn run(
    p: &Problem,
    settings: &SolverSettings,
    presolve: bool,
    start: &Start,
) -> Result<highs::SolvedModel, Error> {
    let sense = match p.sense {
        Sense::Minimize => HSense::Minimise,
        Sense::Maximize => HSense::Maximise,
    };
    let refused = |e| refused(p, e);
    let mut model = build(p).try_optimise(sense).map_err(refused)?;
    model.make_quiet();
    apply(&mut model, settings);
    // The feasibility-jump heuristic spends a third of the solve on the capacity programmes
    // (few integers, an LP-like root that is nearly integral) and finds nothing the root
    // does not: frontier-lab at 200 paths solves in 3.2 s without it against 4.8 s.
    model.set_option("mip_heuristic_run_feasibility_jump", false);
    if !presolve {
        model.set_option("presolve", "off");
    }
    // A basis HiGHS refuses (it checks the shape and the statuses) leaves a solve from
    // scratch, which gives the same optimum.
    if !start.is_empty() {
        crate::highs_ffi::set(&mut model, &start.status, start.cols);
    }
    match model.try_solve() {
        // HiGHS refuses a `threads` option other than the count its scheduler on this thread
        // started with (a thread that solved a problem with the default count first, such as
        // a master solved on a pool's thread before that thread's subproblems): solve with the
        // scheduler's own count, which changes no LP's answer.
        Err(_) if settings.threads > 0 => {
            let default_threads = SolverSettings {
                threads: 0,
                ..*settings
            };
            run(p, &default_threads, presolve, start)
        }
        // HiGHS's MIP solver stops with an error when its postsolve leaves a violation above
        // its tolerance (seen on frontier-lab's elastic cost programme before its service
        // row was scaled: presolve reduced it to empty, and the restored point broke a row
        // by 3·10⁻⁵): solve once more without presolve, which has no postsolve.
        Err(_) if presolve => run(p, settings, false, start),
        solved => solved.map_err(refused),
    }
}

/// The basis `solved` ends at, as a start for a later solve (empty when it has none).
fn start_of(solved: &highs::SolvedModel) -> Start {
    match crate::highs_ffi::get(solved) {
        Some((status, cols)) => Start { status, cols },
        None => Start::default(),
    }
}

impl Solver for Highs {
    fn name(&self) -> &'static str {
        "highs"
    }

    fn solve(&self, p: &Problem, settings: &SolverSettings) -> Result<Solution, Error> {
        solve_keeping(p, settings, &Start::default()).map(|(s, _)| s)
    }

    fn solve_with_duals(
        &self,
        p: &Problem,
        settings: &SolverSettings,
    ) -> Result<(Solution, Vec<f64>), Error> {
        self.solve_with_duals_from(p, settings, &mut Start::default())
    }

    fn solve_with_duals_from(
        &self,
        p: &Problem,
        settings: &SolverSettings,
        start: &mut Start,
    ) -> Result<(Solution, Vec<f64>), Error> {
        let relaxed;
        let p = if p.is_mip() {
            relaxed = p.relaxation();
            &relaxed
        } else {
            p
        };
        let (sol, solved) = solve_keeping(p, settings, start)?;
        *start = match &solved {
            Some(m) if sol.status == SolveStatus::Optimal => start_of(m),
            _ => Start::default(),
        };
        if sol.status != SolveStatus::Optimal {
            return Ok((sol, Vec::new()));
        }
        let duals = match solved {
            // HiGHS reports a row's dual as the objective's rate per unit of its bound in the
            // minimisation it solves internally; a maximisation's comes out with that sign too.
            Some(m) => m.get_solution().dual_rows().to_vec(),
            None => vec![0.0; p.num_rows()],
        };
        Ok((sol, duals))
    }
}

/// Our status of a solved model; `Err` for a status that means the solver failed.
fn status_of(solved: &highs::SolvedModel) -> Result<SolveStatus, Error> {
    Ok(match solved.status() {
        HighsModelStatus::Optimal | HighsModelStatus::ModelEmpty => SolveStatus::Optimal,
        HighsModelStatus::Infeasible => SolveStatus::Infeasible,
        HighsModelStatus::Unbounded => SolveStatus::Unbounded,
        HighsModelStatus::UnboundedOrInfeasible => SolveStatus::Infeasible,
        HighsModelStatus::ReachedTimeLimit
        | HighsModelStatus::ReachedIterationLimit
        | HighsModelStatus::ReachedSolutionLimit => {
            if solved.primal_solution_status() == highs::HighsSolutionStatus::Feasible {
                SolveStatus::Feasible
            } else {
                SolveStatus::NoSolution
            }
        }
        other => {
            return Err(Error::SolverFailed {
                solver: "highs",
                message: format!("model status {other:?}"),
            })
        }
    })
}

/// A HiGHS model kept between solves, so that a re-solve starts from the last basis.
pub(crate) struct HighsSession {
    model: Option<highs::Model>,
    cols: Vec<highs::Col>,
    sense: Sense,
    obj: Vec<f64>,
    offset: f64,
    mip: bool,
}

fn failed(e: impl std::fmt::Debug) -> Error {
    Error::SolverFailed {
        solver: "highs",
        message: format!("{e:?}"),
    }
}

/// HiGHS refusing problem `p` (or an option set for it) with status `e`.
fn refused(p: &Problem, e: highs::HighsStatus) -> Error {
    Error::SolverFailed {
        solver: "highs",
        message: format!(
            "HiGHS returned {e:?} on a problem of {} columns and {} rows (a problem or an option it refuses)",
            p.num_cols(),
            p.num_rows()
        ),
    }
}

/// A session whose model was lost with a failed solve.
fn lost() -> Error {
    Error::SolverFailed {
        solver: "highs",
        message: "a session whose last solve failed".to_string(),
    }
}

impl HighsSession {
    pub(crate) fn new(p: &Problem) -> Result<HighsSession, Error> {
        check_finite(p)?;
        let sense = match p.sense {
            Sense::Minimize => HSense::Minimise,
            Sense::Maximize => HSense::Maximise,
        };
        let mut cp = ColProblem::default();
        let rows: Vec<highs::Row> = (0..p.num_rows())
            .map(|i| cp.add_row(p.row_lower[i]..=p.row_upper[i]))
            .collect();
        let mut model = cp.try_optimise(sense).map_err(failed)?;
        model.make_quiet();
        model.set_option("mip_heuristic_run_feasibility_jump", false);
        // Presolve would rebuild the reduced problem each time and lose the basis.
        model.set_option("presolve", "off");
        let (start, idx, val) = p.csc();
        let mut cols = Vec::with_capacity(p.num_cols());
        for j in 0..p.num_cols() {
            let factors: Vec<(highs::Row, f64)> = (start[j]..start[j + 1])
                .map(|k| (rows[idx[k] as usize], val[k]))
                .collect();
            cols.push(
                model
                    .try_add_column_with_integrality(
                        p.obj[j],
                        p.col_lower[j]..=p.col_upper[j],
                        factors,
                        p.integer[j],
                    )
                    .map_err(failed)?,
            );
        }
        Ok(HighsSession {
            model: Some(model),
            cols,
            sense: p.sense,
            obj: p.obj.clone(),
            offset: p.obj_offset,
            mip: p.is_mip(),
        })
    }

    /// The model between solves; an error after a solve that failed and lost it.
    fn model(&mut self) -> Result<&mut highs::Model, Error> {
        self.model.as_mut().ok_or_else(lost)
    }
}

impl crate::Session for HighsSession {
    fn add_row(&mut self, lower: f64, upper: f64, terms: &[(u32, f64)]) -> Result<(), Error> {
        let factors: Vec<(highs::Col, f64)> = terms
            .iter()
            .map(|(c, v)| (self.cols[*c as usize], *v))
            .collect();
        self.model()?
            .try_add_row(lower..=upper, factors)
            .map_err(failed)?;
        Ok(())
    }

    fn add_rows(&mut self, rows: &[crate::RowRef]) -> Result<(), Error> {
        // HiGHS's column indices are the session's: its columns were added in order from none.
        if crate::highs_ffi::add_rows(self.model()?, rows) {
            Ok(())
        } else {
            Err(failed("HiGHS refused rows added together"))
        }
    }

    fn set_col(&mut self, col: u32, cost: f64, lower: f64, upper: f64) -> Result<(), Error> {
        self.obj[col as usize] = cost;
        let c = self.cols[col as usize];
        let m = self.model()?;
        m.change_column_cost(c, cost);
        m.change_column_bounds(c, lower..=upper);
        Ok(())
    }

    fn solve(&mut self, settings: &SolverSettings) -> Result<Solution, Error> {
        self.solve_keeping_duals(settings, false).map(|(s, _)| s)
    }

    fn solve_with_duals(
        &mut self,
        settings: &SolverSettings,
    ) -> Result<(Solution, Vec<f64>), Error> {
        self.solve_keeping_duals(settings, true)
    }
}

impl HighsSession {
    /// Solves from the last basis; with `duals`, the row duals of an optimal LP too.
    fn solve_keeping_duals(
        &mut self,
        settings: &SolverSettings,
        duals: bool,
    ) -> Result<(Solution, Vec<f64>), Error> {
        let started = Instant::now();
        let mut model = self.model.take().ok_or_else(lost)?;
        apply(&mut model, settings);
        let solved = model.try_solve().map_err(failed)?;
        let secs = started.elapsed().as_secs_f64();
        let out = status_of(&solved).map(|status| {
            let sol = point(
                &solved,
                self.cols.len(),
                status,
                secs,
                self.sense,
                self.mip,
                |x| self.offset + self.obj.iter().zip(x).map(|(c, v)| c * v).sum::<f64>(),
            );
            let d = if duals && !self.mip && sol.status == SolveStatus::Optimal {
                solved.get_solution().dual_rows().to_vec()
            } else {
                Vec::new()
            };
            (sol, d)
        });
        self.model = Some(highs::Model::from(solved));
        out
    }
}

/// Solves `p`, keeping the solved model for its duals.
fn solve_keeping(
    p: &Problem,
    settings: &SolverSettings,
    start: &Start,
) -> Result<(Solution, Option<highs::SolvedModel>), Error> {
    check_finite(p)?;
    let started = Instant::now();
    let mut solved = run(p, settings, true, start)?;
    if solved.status() == HighsModelStatus::UnboundedOrInfeasible {
        solved = run(p, settings, false, &Start::default())?;
    }
    let secs = started.elapsed().as_secs_f64();
    let status = status_of(&solved)?;
    if !status.has_solution() {
        return Ok((Solution::without_point(status, secs), None));
    }
    let sol = point(
        &solved,
        p.num_cols(),
        status,
        secs,
        p.sense,
        p.is_mip(),
        |x| p.objective_value(x),
    );
    Ok((sol, Some(solved)))
}

/// The solution of a solved model: its point (if `status` has one), `objective` of it, and the
/// MIP gap and bound HiGHS reports (0 and the objective for an LP); `ncols` columns are the
/// problem's (HiGHS may hold one more, for the objective's constant).
fn point(
    solved: &highs::SolvedModel,
    ncols: usize,
    status: SolveStatus,
    secs: f64,
    sense: Sense,
    mip: bool,
    objective: impl Fn(&[f64]) -> f64,
) -> Solution {
    if !status.has_solution() {
        return Solution::without_point(status, secs);
    }
    let mut x = solved.get_solution().columns().to_vec();
    // Without the constant's column, if any.
    x.truncate(ncols);
    let objective = objective(&x);
    let (bound, gap) = if mip {
        mip_bound(solved, sense, objective)
    } else {
        (objective, 0.0)
    };
    Solution {
        status,
        objective,
        bound,
        gap,
        x,
        solve_seconds: secs,
    }
}

/// A MIP's bound and relative gap around `objective` (ours, with the problem's constant).
/// HiGHS's own objective has no constant and its relative gap is relative to that objective,
/// so the bound is HiGHS's dual bound moved by the constant, and the gap is recomputed
/// relative to `objective`; from the gap alone the bound would be off by the constant's share.
fn mip_bound(solved: &highs::SolvedModel, sense: Sense, objective: f64) -> (f64, f64) {
    let offset = objective - solved.objective_value();
    let dual = solved
        .double_info_value(c"mip_dual_bound")
        .ok()
        .filter(|d| d.is_finite() && offset.is_finite());
    let Some(dual) = dual else {
        let gap = solved.mip_gap().max(0.0);
        let gap = if gap.is_finite() { gap } else { 1.0 };
        return (Solution::bound_from_gap(sense, objective, gap), gap);
    };
    // Never on the wrong side of the plan found (solver tolerances).
    let bound = match sense {
        Sense::Maximize => (dual + offset).max(objective),
        Sense::Minimize => (dual + offset).min(objective),
    };
    let gap = if bound == objective {
        0.0
    } else if objective != 0.0 {
        ((bound - objective) / objective).abs()
    } else {
        1.0
    };
    (bound, gap)
}
