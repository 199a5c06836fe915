//! The same small problems on every compiled solver, with answers worked out by hand.

use super::*;

/// Objective tolerance for the small textbook problems.
const OBJ_TOL: f64 = 1e-6;

fn lp_basic() -> Problem {
    // max 3x + 2y  s.t.  x + y <= 4,  x + 3y <= 6,  x <= 3  ->  x = 3, y = 1, objective 11.
    let mut p = Problem::new(Sense::Maximize);
    let x = p.add_col("x", 3.0, 0.0, 3.0, false);
    let y = p.add_col("y", 2.0, 0.0, f64::INFINITY, false);
    let r1 = p.add_row("r1", f64::NEG_INFINITY, 4.0);
    p.set(r1, x, 1.0);
    p.set(r1, y, 1.0);
    let r2 = p.add_row("r2", f64::NEG_INFINITY, 6.0);
    p.set(r2, x, 1.0);
    p.set(r2, y, 3.0);
    p
}

fn knapsack() -> Problem {
    // max 5a + 4b + 3c  s.t. 2a + 3b + c <= 5, 4a + b + 2c <= 11, 3a + 4b + 2c <= 8, integers >= 0:
    // optimum a = 2, b = 0, c = 1 with value 13 (Chvátal's example, integral).
    let mut p = Problem::new(Sense::Maximize);
    let a = p.add_col("a", 5.0, 0.0, 10.0, true);
    let b = p.add_col("b", 4.0, 0.0, 10.0, true);
    let c = p.add_col("c", 3.0, 0.0, 10.0, true);
    for (name, k, rhs) in [
        ("r1", [2.0, 3.0, 1.0], 5.0),
        ("r2", [4.0, 1.0, 2.0], 11.0),
        ("r3", [3.0, 4.0, 2.0], 8.0),
    ] {
        let r = p.add_row(name, f64::NEG_INFINITY, rhs);
        p.set(r, a, k[0]);
        p.set(r, b, k[1]);
        p.set(r, c, k[2]);
    }
    p
}

fn mip_fractional() -> Problem {
    // max x + y  s.t. 2x + 2y <= 3, x, y integer in [0, 5]: LP gives 1.5, MIP gives 1.
    let mut p = Problem::new(Sense::Maximize);
    let x = p.add_col("x", 1.0, 0.0, 5.0, true);
    let y = p.add_col("y", 1.0, 0.0, 5.0, true);
    let r = p.add_row("r", f64::NEG_INFINITY, 3.0);
    p.set(r, x, 2.0);
    p.set(r, y, 2.0);
    p
}

#[test]
fn every_solver_agrees_on_small_lps_and_mips() {
    for s in all_solvers() {
        let set = SolverSettings::default();
        let sol = s.solve(&lp_basic(), &set).unwrap();
        assert_eq!(sol.status, SolveStatus::Optimal, "{}", s.name());
        assert!(
            (sol.objective - 11.0).abs() < OBJ_TOL,
            "{}: {}",
            s.name(),
            sol.objective
        );
        assert!((sol.x[0] - 3.0).abs() < 1e-6 && (sol.x[1] - 1.0).abs() < 1e-6);
        assert!(lp_basic().max_violation(&sol.x) < 1e-9);
        let sol = s.solve(&knapsack(), &set).unwrap();
        assert!(
            (sol.objective - 13.0).abs() < OBJ_TOL,
            "{}: {}",
            s.name(),
            sol.objective
        );
        let sol = s.solve(&mip_fractional(), &set).unwrap();
        assert!(
            (sol.objective - 1.0).abs() < OBJ_TOL,
            "{}: {}",
            s.name(),
            sol.objective
        );
    }
}

#[test]
fn infeasible_and_unbounded_are_statuses() {
    for s in all_solvers() {
        let mut p = lp_basic();
        let r = p.add_row("impossible", 10.0, f64::INFINITY);
        p.set(r, Col(0), 1.0);
        let sol = s.solve(&p, &SolverSettings::default()).unwrap();
        assert_eq!(sol.status, SolveStatus::Infeasible, "{}", s.name());
        let mut p = Problem::new(Sense::Maximize);
        let x = p.add_col("x", 1.0, 0.0, f64::INFINITY, false);
        let y = p.add_col("y", 0.0, 0.0, f64::INFINITY, false);
        let r = p.add_row("r", f64::NEG_INFINITY, 1.0);
        p.set(r, x, 1.0);
        p.set(r, y, -1.0);
        let sol = s.solve(&p, &SolverSettings::default()).unwrap();
        assert_eq!(sol.status, SolveStatus::Unbounded, "{}", s.name());
    }
}

#[test]
fn objective_offset_and_minimisation() {
    // min 2x + 3 s.t. x >= 1.5 -> 6.
    for s in all_solvers() {
        let mut p = Problem::new(Sense::Minimize);
        p.obj_offset = 3.0;
        let x = p.add_col("x", 2.0, f64::NEG_INFINITY, f64::INFINITY, false);
        let r = p.add_row("r", 1.5, f64::INFINITY);
        p.set(r, x, 1.0);
        let sol = s.solve(&p, &SolverSettings::default()).unwrap();
        assert!((sol.objective - 6.0).abs() < OBJ_TOL, "{}", s.name());
    }
}

#[test]
fn nan_is_an_error_not_a_panic() {
    let mut p = lp_basic();
    p.obj[0] = f64::NAN;
    let e = MicroLp.solve(&p, &SolverSettings::default()).unwrap_err();
    assert!(e.to_string().contains("objective coefficient of `x`"));
}

#[test]
fn mps_has_every_section_and_marks_integers() {
    let mut p = knapsack();
    p.row_lower[0] = 1.0;
    let m = p.to_mps("knap");
    for section in [
        "NAME knap",
        "OBJSENSE",
        "ROWS",
        "COLUMNS",
        "RHS",
        "RANGES",
        "BOUNDS",
        "ENDATA",
        "'INTORG'",
        "'INTEND'",
    ] {
        assert!(m.contains(section), "{section} missing:\n{m}");
    }
    assert!(m.contains(" L  r2"));
    // Marker lines as readers expect them: the second field is the quoted keyword 'MARKER'
    // (HiGHS read an unquoted one as a row name and dropped the integrality).
    let markers: Vec<Vec<&str>> = m
        .lines()
        .filter(|l| l.contains("MARKER"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        markers,
        [
            ["MARKER", "'MARKER'", "'INTORG'"],
            ["MARKER", "'MARKER'", "'INTEND'"]
        ]
    );
    assert!(m.contains("    a r1 2e0"));
    assert!(m.contains(" UP BND c 1e1"));
}

#[test]
fn csc_sums_duplicates() {
    let mut p = Problem::new(Sense::Minimize);
    let x = p.add_col("x", 0.0, 0.0, 1.0, false);
    let r = p.add_row("r", 0.0, 1.0);
    p.set(r, x, 1.0);
    p.set(r, x, 2.0);
    let (start, rows, vals) = p.csc();
    assert_eq!((start, rows, vals), (vec![0, 1], vec![0], vec![3.0]));
}

#[test]
fn row_duals_are_the_objectives_rate_per_unit_of_row_bound() {
    // min x + 3y + z  s.t.  x + y >= 4,  x − z = 1,  y + z <= 10,  0 <= x <= 2,  y, z >= 0.
    // Optimum x = 2, y = 2, z = 1, cost 9. Raising the first row's bound by δ makes y = 2 + δ
    // (+3δ); raising the second's makes z = 1 − δ (−δ); the third is slack (0).
    let mut p = Problem::new(Sense::Minimize);
    let x = p.add_col("x", 1.0, 0.0, 2.0, false);
    let y = p.add_col("y", 3.0, 0.0, f64::INFINITY, false);
    let z = p.add_col("z", 1.0, 0.0, f64::INFINITY, false);
    for (name, lo, hi, terms) in [
        ("cover", 4.0, f64::INFINITY, [(x, 1.0), (y, 1.0)]),
        ("link", 1.0, 1.0, [(x, 1.0), (z, -1.0)]),
        ("cap", f64::NEG_INFINITY, 10.0, [(y, 1.0), (z, 1.0)]),
    ] {
        let r = p.add_row(name, lo, hi);
        for (c, v) in terms {
            p.set(r, c, v);
        }
    }
    // max 3x + 2y  s.t.  x + y <= 4,  x + 3y <= 6,  0 <= x <= 3.5: x = 3.5, y = 0.5, value 11.5;
    // one more unit of the first row's bound is one more y (+2); the second is slack.
    let mut q = Problem::new(Sense::Maximize);
    let x = q.add_col("x", 3.0, 0.0, 3.5, false);
    let y = q.add_col("y", 2.0, 0.0, f64::INFINITY, false);
    let r1 = q.add_row("r1", f64::NEG_INFINITY, 4.0);
    q.set(r1, x, 1.0);
    q.set(r1, y, 1.0);
    let r2 = q.add_row("r2", f64::NEG_INFINITY, 6.0);
    q.set(r2, x, 1.0);
    q.set(r2, y, 3.0);
    for s in all_solvers() {
        for (prob, value, want) in [(&p, 9.0, vec![3.0, -1.0, 0.0]), (&q, 11.5, vec![2.0, 0.0])] {
            let (sol, duals) = s
                .solve_with_duals(prob, &SolverSettings::default())
                .unwrap();
            assert_eq!(sol.status, SolveStatus::Optimal, "{}", s.name());
            assert!((sol.objective - value).abs() < OBJ_TOL, "{}", s.name());
            assert_eq!(duals.len(), want.len());
            for (d, w) in duals.iter().zip(&want) {
                assert!(
                    (d - w).abs() < 1e-6,
                    "{}: duals {duals:?}, want {want:?}",
                    s.name()
                );
            }
        }
    }
}

#[test]
fn duals_of_an_infeasible_lp_are_empty() {
    let mut p = Problem::new(Sense::Minimize);
    let x = p.add_col("x", 1.0, 0.0, 1.0, false);
    let r = p.add_row("r", 2.0, f64::INFINITY);
    p.set(r, x, 1.0);
    for s in all_solvers() {
        let (sol, duals) = s.solve_with_duals(&p, &SolverSettings::default()).unwrap();
        assert_eq!(sol.status, SolveStatus::Infeasible, "{}", s.name());
        assert!(duals.is_empty());
    }
}

#[test]
fn a_session_re_solves_after_new_rows_and_moved_columns_as_a_fresh_solve_would() {
    // max 3x + 2y s.t. x + y <= 4, x + 3y <= 6, x <= 3: 11 at (3, 1). Add the cut x − y <= 1:
    // it meets x + 3y = 6 at (2.25, 1.25), 9.25. Then cap y at 1 by its bounds: x <= 2 by the
    // cut, 8 at (2, 1).
    for s in all_solvers() {
        let mut sess = session(s.as_ref(), lp_basic());
        let set = SolverSettings::default();
        assert!((sess.solve(&set).unwrap().objective - 11.0).abs() < OBJ_TOL);
        sess.add_row(f64::NEG_INFINITY, 1.0, &[(0, 1.0), (1, -1.0)])
            .unwrap();
        let sol = sess.solve(&set).unwrap();
        assert!(
            (sol.objective - 9.25).abs() < OBJ_TOL,
            "{}: {sol:?}",
            s.name()
        );
        sess.set_col(1, 2.0, 0.0, 1.0).unwrap();
        let sol = sess.solve(&set).unwrap();
        assert!(
            (sol.objective - 8.0).abs() < OBJ_TOL,
            "{}: {sol:?}",
            s.name()
        );
        assert!((sol.x[0] - 2.0).abs() < 1e-7 && (sol.x[1] - 1.0).abs() < 1e-7);
        // Rows added in one call: x <= 1.5 and y <= 0.5 give 4.5 + 1 = 5.5 at (1.5, 0.5); then
        // x + y >= 3.5 cannot hold with x + y <= 2, and nothing to add adds nothing.
        sess.add_rows(&[
            (f64::NEG_INFINITY, 1.5, &[(0, 1.0)][..]),
            (f64::NEG_INFINITY, 0.5, &[(1, 1.0)][..]),
        ])
        .unwrap();
        let sol = sess.solve(&set).unwrap();
        assert!(
            (sol.objective - 5.5).abs() < OBJ_TOL,
            "{}: {sol:?}",
            s.name()
        );
        sess.add_rows(&[]).unwrap();
        sess.add_rows(&[(3.5, f64::INFINITY, &[(0, 1.0), (1, 1.0)][..])])
            .unwrap();
        let sol = sess.solve(&set).unwrap();
        assert_eq!(sol.status, SolveStatus::Infeasible, "{}", s.name());
    }
}

#[test]
fn a_mip_bound_holds_the_optimum_when_the_objective_has_a_constant() {
    // A 0/1 knapsack of 40 items with whole weights, its optimum by dynamic programming, and a
    // constant that takes nearly all of the value away (the objective is then near 1). A
    // solver stopped at a loose gap must still report a bound at or above the optimum; HiGHS
    // reports its gap relative to its own objective, without the constant.
    let n = 40;
    let w: Vec<usize> = (0..n).map(|i| 10 + (i * 37 + 11) % 53).collect();
    let v: Vec<f64> = (0..n).map(|i| (12 + (i * 29 + 7) % 61) as f64).collect();
    let cap = w.iter().sum::<usize>() / 2;
    let mut table = vec![0.0f64; cap + 1];
    for i in 0..n {
        for c in (w[i]..=cap).rev() {
            table[c] = table[c].max(table[c - w[i]] + v[i]);
        }
    }
    let constant = 1.0 - table[cap];
    let optimum = table[cap] + constant;
    let mut p = Problem::new(Sense::Maximize);
    p.obj_offset = constant;
    let row = p.add_row("weight", f64::NEG_INFINITY, cap as f64);
    for i in 0..n {
        let c = p.add_col(format!("take{i}"), v[i], 0.0, 1.0, true);
        p.set(row, c, w[i] as f64);
    }
    for s in all_solvers() {
        for gap in [0.0, 0.05, 0.3] {
            let set = SolverSettings {
                mip_gap: gap,
                ..SolverSettings::default()
            };
            let sol = s.solve(&p, &set).unwrap();
            assert!(sol.status.has_solution(), "{}", s.name());
            assert!(
                sol.objective <= optimum + OBJ_TOL,
                "{}: {}",
                s.name(),
                sol.objective
            );
            assert!(
                sol.bound >= optimum - OBJ_TOL,
                "{} at gap {gap}: bound {} below the optimum {optimum} (objective {})",
                s.name(),
                sol.bound,
                sol.objective
            );
            assert!(sol.bound.is_finite() && sol.gap.is_finite());
            if gap == 0.0 {
                assert!((sol.objective - optimum).abs() < OBJ_TOL, "{}", s.name());
            }
        }
    }
}

#[test]
fn a_solve_from_an_earlier_start_finds_the_moved_problems_optimum_and_duals() {
    // lp_basic ends at (3, 1) with both rows at their upper bounds. Move x + 3y <= 6 to 4.5:
    // x stays at its bound 3 and y = (4.5 − 3)/3 = 0.5, so the objective is 9 + 1 = 10 (15 with
    // a constant of 5); the moved row's dual is 2/3 (y's 2 per unit, a third of a unit of y per
    // unit of bound) and the slack row's 0.
    for s in all_solvers() {
        let set = SolverSettings::default();
        let mut start = Start::default();
        let mut first = lp_basic();
        first.obj_offset = 5.0;
        let (sol, _) = s.solve_with_duals_from(&first, &set, &mut start).unwrap();
        assert!(
            (sol.objective - 16.0).abs() < OBJ_TOL,
            "{}: {sol:?}",
            s.name()
        );
        // HiGHS keeps a status per column and row; a backend without starts keeps none.
        assert_eq!(start.is_empty(), s.name() != "highs", "{}", s.name());
        let mut moved = first.clone();
        moved.row_upper[1] = 4.5;
        let (sol, duals) = s.solve_with_duals_from(&moved, &set, &mut start).unwrap();
        assert_eq!(sol.status, SolveStatus::Optimal, "{}", s.name());
        assert!(
            (sol.objective - 15.0).abs() < OBJ_TOL,
            "{}: {sol:?}",
            s.name()
        );
        assert!((sol.x[1] - 0.5).abs() < 1e-7, "{}: {sol:?}", s.name());
        assert!((duals[0]).abs() < 1e-7 && (duals[1] - 2.0 / 3.0).abs() < 1e-7);
        // A start of another shape (the constant's column is gone) is no start: the same
        // answer as from scratch.
        let (sol, _) = s
            .solve_with_duals_from(&lp_basic(), &set, &mut start)
            .unwrap();
        assert!(
            (sol.objective - 11.0).abs() < OBJ_TOL,
            "{}: {sol:?}",
            s.name()
        );
        // An infeasible problem leaves no start.
        let mut infeasible = lp_basic();
        let r = infeasible.add_row("x_at_least_5", 5.0, f64::INFINITY);
        infeasible.set(r, Col(0), 1.0);
        let (sol, _) = s
            .solve_with_duals_from(&infeasible, &set, &mut start)
            .unwrap();
        assert_eq!(sol.status, SolveStatus::Infeasible, "{}", s.name());
        assert!(start.is_empty(), "{}", s.name());
    }
}

#[cfg(feature = "highs")]
#[test]
fn highs_refuses_rows_naming_a_column_it_does_not_have() {
    // Column 2 of a two-column session: an error, nothing added, and the session still solves.
    let mut sess = highs_backend::HighsSession::new(&lp_basic()).unwrap();
    let set = SolverSettings::default();
    let bad = [(0, 1.0), (2, 1.0)];
    assert!(sess
        .add_rows(&[(f64::NEG_INFINITY, 1.0, &bad[..])])
        .is_err());
    let sol = sess.solve(&set).unwrap();
    assert!((sol.objective - 11.0).abs() < OBJ_TOL, "{sol:?}");
}

#[cfg(feature = "highs")]
#[test]
fn highs_solves_on_a_thread_whose_scheduler_started_with_another_thread_count() {
    // HiGHS's scheduler on a thread keeps the thread count of its first solve and refuses a
    // later `threads` option that differs: the solve goes ahead with the scheduler's count.
    // On a fresh thread, so this test's first solve sets the count.
    std::thread::spawn(|| {
        let default = SolverSettings::default();
        let one = SolverSettings {
            threads: 1,
            ..SolverSettings::default()
        };
        let many = SolverSettings {
            threads: 3,
            ..SolverSettings::default()
        };
        for set in [&default, &one, &many] {
            let (sol, duals) = Highs.solve_with_duals(&lp_basic(), set).unwrap();
            assert!((sol.objective - 11.0).abs() < OBJ_TOL, "{sol:?}");
            assert_eq!(duals.len(), 2);
        }
    })
    .join()
    .unwrap();
}
