//! Infeasibility diagnosis: which limits conflict, and how far each must move.
//!
//! The elastic programme adds a non-negative slack to every row marked as a limit (budget,
//! power, service level, research floor, option totals), drops the objective, and minimises
//! the total slack, each scaled by its bound so that limits in dollars and in H100e weigh
//! alike. Limits with slack at the optimum are the ones in conflict; the slack is how far
//! each must move. If the elastic programme is itself infeasible, the conflict is not in the
//! limits (for example, a fixed first stage that breaks a physical row).

use std::collections::BTreeMap;

use gigawatt_lp::{Problem, Sense, SolveStatus, Solver, SolverSettings};

use crate::two_stage::{Layout, Risk, TwoStage};

/// A limit that must move.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// The limit (row name without the scenario prefix), e.g. `budget[2027]`.
    pub limit: String,
    /// Its bound.
    pub bound: f64,
    /// Largest move needed on any path (in the limit's unit).
    pub move_by: f64,
    /// Paths on which it must move (or, when `held`, on which it is at its bound).
    pub paths: usize,
    /// True for a limit that does not move but sits at its bound in the relaxed solution: one
    /// of the limits that force the moves of the others.
    pub held: bool,
}

/// Diagnosis of an infeasible programme.
#[derive(Debug, Clone, PartialEq)]
pub enum Diagnosis {
    /// Relaxing these limits by these amounts makes the programme feasible.
    Limits(Vec<Conflict>),
    /// Even with every limit relaxed the programme is infeasible.
    NotLimits,
}

fn strip_scenario(name: &str) -> &str {
    match name.split_once('_') {
        Some((pre, rest))
            if pre.starts_with('s')
                && pre[1..].chars().all(|c| c.is_ascii_digit())
                && pre.len() > 1 =>
        {
            rest
        }
        _ => name,
    }
}

/// The elastic form of `p`: limit rows get slacks, and the objective is their scaled sum.
pub fn elastic(p: &Problem, lay: &Layout) -> (Problem, Vec<(u32, gigawatt_lp::Col, f64)>) {
    let mut e = p.clone();
    e.sense = Sense::Minimize;
    e.obj_offset = 0.0;
    for c in e.obj.iter_mut() {
        *c = 0.0;
    }
    let mut slacks = Vec::new();
    for &r in &lay.limit_rows {
        let (lo, hi) = (p.row_lower[r as usize], p.row_upper[r as usize]);
        // One slack loosens the binding side: +s for an upper limit, −s for a lower one.
        let (sign, bound) = if hi.is_finite() {
            (-1.0, hi)
        } else {
            (1.0, lo)
        };
        let scale = bound.abs().max(1.0);
        let c = e.add_col(
            format!("slack_{}", p.row_names[r as usize]),
            1.0 / scale,
            0.0,
            f64::INFINITY,
            false,
        );
        e.set(gigawatt_lp::Row(r), c, sign);
        slacks.push((r, c, sign));
    }
    (e, slacks)
}

/// Diagnoses an infeasible programme.
pub fn diagnose(
    prog: &TwoStage,
    risk: Risk,
    fix_first: Option<&[f64]>,
    solver: &dyn Solver,
    settings: &SolverSettings,
) -> Result<Diagnosis, gigawatt_lp::Error> {
    let (p, lay) = prog.extensive_form(risk, fix_first);
    let (e, slacks) = elastic(&p, &lay);
    let mut relaxed = SolverSettings { ..*settings };
    relaxed.mip_gap = relaxed.mip_gap.max(1e-6);
    // The relaxation first: when its optimum is integral it is the elastic programme's, and
    // HiGHS's MIP presolve has been seen to return a far worse "optimum" on badly scaled
    // programmes (frontier-lab: total slack 1.98 where the integral relaxation has 0.28).
    let first = solver.solve(&e.relaxation(), &relaxed)?;
    let integral = first.status == SolveStatus::Optimal
        && e.integer
            .iter()
            .zip(&first.x)
            .all(|(int, v)| !int || (v - v.round()).abs() <= 1e-9);
    let sol = if integral || !e.is_mip() {
        first
    } else {
        solver.solve(&e, &relaxed)?
    };
    if !sol.status.has_solution() {
        return Ok(Diagnosis::NotLimits);
    }
    // Row activities of the original rows at the relaxed solution (slack columns excluded).
    let mut activity = vec![0.0; p.num_rows()];
    for &(r, c, v) in &p.entries {
        activity[r as usize] += v * sol.x[c as usize];
    }
    let mut by_limit: BTreeMap<String, Conflict> = BTreeMap::new();
    let mut held: BTreeMap<String, Conflict> = BTreeMap::new();
    for (r, c, _) in slacks {
        let s = sol.x[c.0 as usize];
        let name = &p.row_names[r as usize];
        let bound = if p.row_upper[r as usize].is_finite() {
            p.row_upper[r as usize]
        } else {
            p.row_lower[r as usize]
        };
        let tol = 1e-6 * bound.abs().max(1.0);
        let key = strip_scenario(name).to_string();
        if s > tol {
            let entry = by_limit.entry(key.clone()).or_insert(Conflict {
                limit: key,
                bound,
                move_by: 0.0,
                paths: 0,
                held: false,
            });
            entry.move_by = entry.move_by.max(s);
            entry.paths += 1;
        } else if (activity[r as usize] - bound).abs() <= tol {
            let entry = held.entry(key.clone()).or_insert(Conflict {
                limit: key,
                bound,
                move_by: 0.0,
                paths: 0,
                held: true,
            });
            entry.paths += 1;
        }
    }
    if by_limit.is_empty() {
        return Ok(Diagnosis::Limits(Vec::new()));
    }
    // Moved limits first, then the ones held at their bound that force those moves.
    let mut out: Vec<Conflict> = by_limit.into_values().collect();
    let held: Vec<Conflict> = held
        .into_values()
        .filter(|h| !out.iter().any(|m| m.limit == h.limit))
        .collect();
    out.extend(held);
    Ok(Diagnosis::Limits(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::two_stage::{Ref, RowDef, RowKind, ScenarioDef, VarDef};
    use gigawatt_lp::MicroLp;

    #[test]
    fn names_the_conflicting_limits_and_the_move() {
        // Buy x at cost 1; a service limit needs x >= 10 on every path, a budget allows x <= 6.
        let sc = ScenarioDef {
            prob: 1.0,
            vars: vec![],
            rows: vec![RowDef {
                name: "service_level".into(),
                kind: RowKind::Other,
                lower: 10.0,
                upper: f64::INFINITY,
                terms: vec![(Ref::First(0), 1.0)],
                limit: true,
            }],
            obj: vec![(Ref::First(0), 1.0)],
            constant: 0.0,
        };
        let prog = TwoStage {
            sense: Sense::Minimize,
            first: vec![VarDef::new("x", 0.0, f64::INFINITY)],
            first_rows: vec![RowDef {
                name: "budget[2027]".into(),
                kind: RowKind::Other,
                lower: f64::NEG_INFINITY,
                upper: 6.0,
                terms: vec![(Ref::First(0), 1.0)],
                limit: true,
            }],
            shared: vec![],
            scenarios: vec![sc],
        };
        let sol = prog
            .solve(&MicroLp, &SolverSettings::default(), Risk::Neutral, None)
            .unwrap();
        assert_eq!(sol.solution.status, gigawatt_lp::SolveStatus::Infeasible);
        let d = diagnose(
            &prog,
            Risk::Neutral,
            None,
            &MicroLp,
            &SolverSettings::default(),
        )
        .unwrap();
        let Diagnosis::Limits(c) = d else {
            panic!("expected limits")
        };
        // Scaled costs: moving the budget costs 4/6, moving the service level 4/10: the service
        // level moves by 4, and the budget, held at its bound of 6, is what forces it.
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0].limit, "service_level");
        assert!((c[0].move_by - 4.0).abs() < 1e-6);
        assert!(!c[0].held);
        assert_eq!(c[1].limit, "budget[2027]");
        assert!(c[1].held && c[1].bound == 6.0 && c[1].move_by == 0.0);
        assert_eq!(strip_scenario("s12_budget[2027]"), "budget[2027]");
        assert_eq!(strip_scenario("state[2026-01]"), "state[2026-01]");
    }
}
