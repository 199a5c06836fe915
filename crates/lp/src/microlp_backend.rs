//! The pure-Rust backend: microlp (sparse revised simplex with branch and bound).

use std::time::{Duration, Instant};

use microlp::{ComparisonOp, LinearExpr, OptimizationDirection};

use crate::{check_finite, Error, Problem, Sense, Solution, SolveStatus, Solver, SolverSettings};

/// The pure-Rust solver, available in every build.
#[derive(Debug, Clone, Copy, Default)]
pub struct MicroLp;

impl Solver for MicroLp {
    fn name(&self) -> &'static str {
        "microlp"
    }

    fn solve(&self, p: &Problem, settings: &SolverSettings) -> Result<Solution, Error> {
        check_finite(p)?;
        let started = Instant::now();
        let dir = match p.sense {
            Sense::Minimize => OptimizationDirection::Minimize,
            Sense::Maximize => OptimizationDirection::Maximize,
        };
        let mut m = microlp::Problem::new(dir);
        if settings.time_limit_s.is_finite() && settings.time_limit_s > 0.0 {
            m.set_time_limit(Duration::from_secs_f64(settings.time_limit_s));
        }
        let vars: Vec<microlp::Variable> = (0..p.num_cols())
            .map(|j| {
                if p.integer[j] {
                    let lo = if p.col_lower[j].is_finite() {
                        p.col_lower[j].ceil().max(i32::MIN as f64) as i32
                    } else {
                        i32::MIN
                    };
                    let hi = if p.col_upper[j].is_finite() {
                        p.col_upper[j].floor().min(i32::MAX as f64) as i32
                    } else {
                        i32::MAX
                    };
                    m.add_integer_var(p.obj[j], (lo, hi))
                } else {
                    m.add_var(p.obj[j], (p.col_lower[j], p.col_upper[j]))
                }
            })
            .collect();
        let mut rows: Vec<Vec<(usize, f64)>> = vec![Vec::new(); p.num_rows()];
        let (start, idx, val) = p.csc();
        for c in 0..p.num_cols() {
            for k in start[c]..start[c + 1] {
                rows[idx[k] as usize].push((c, val[k]));
            }
        }
        for (i, terms) in rows.iter().enumerate() {
            let (lo, hi) = (p.row_lower[i], p.row_upper[i]);
            let expr = || {
                let mut e = LinearExpr::empty();
                for (c, v) in terms {
                    e.add(vars[*c], *v);
                }
                e
            };
            if terms.is_empty() {
                if lo > 1e-9 || hi < -1e-9 {
                    return Ok(Solution::without_point(
                        SolveStatus::Infeasible,
                        started.elapsed().as_secs_f64(),
                    ));
                }
                continue;
            }
            if lo == hi {
                m.add_constraint(expr(), ComparisonOp::Eq, lo);
            } else {
                if lo.is_finite() {
                    m.add_constraint(expr(), ComparisonOp::Ge, lo);
                }
                if hi.is_finite() {
                    m.add_constraint(expr(), ComparisonOp::Le, hi);
                }
            }
        }
        let outcome = m.solve();
        let secs = started.elapsed().as_secs_f64();
        match outcome {
            Ok(microlp::SolveOutcome::Solution(sol)) => {
                let x: Vec<f64> = vars.iter().map(|v| sol.var_value(*v)).collect();
                let objective = p.objective_value(&x);
                let gap = sol.gap().unwrap_or(0.0);
                let status = if gap <= settings.mip_gap.max(1e-9) || !p.is_mip() {
                    SolveStatus::Optimal
                } else {
                    SolveStatus::Feasible
                };
                let bound = Solution::bound_from_gap(p.sense, objective, gap);
                Ok(Solution {
                    status,
                    objective,
                    bound,
                    gap,
                    x,
                    solve_seconds: secs,
                })
            }
            Ok(microlp::SolveOutcome::Interrupted(_)) => {
                Ok(Solution::without_point(SolveStatus::NoSolution, secs))
            }
            Err(microlp::Error::Infeasible) => {
                Ok(Solution::without_point(SolveStatus::Infeasible, secs))
            }
            Err(microlp::Error::Unbounded) => {
                Ok(Solution::without_point(SolveStatus::Unbounded, secs))
            }
            Err(e) => Err(Error::SolverFailed {
                solver: "microlp",
                message: e.to_string(),
            }),
        }
    }
}
