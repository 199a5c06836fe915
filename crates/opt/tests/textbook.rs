//! Textbook stochastic programmes with published answers, solved through the library's
//! stochastic LP layer on every compiled solver.

use gigawatt_lp::{all_solvers, Sense, SolverSettings};
use gigawatt_model::inverse_normal_cdf;
use gigawatt_opt::decompose::{DecomposeSettings, Phase};
use gigawatt_opt::{Ref, Risk, RowDef, RowKind, ScenarioDef, TwoStage, VarDef};

const INF: f64 = f64::INFINITY;

fn row(name: &str, lower: f64, upper: f64, terms: Vec<(Ref, f64)>) -> RowDef {
    RowDef {
        name: name.into(),
        kind: RowKind::Other,
        lower,
        upper,
        terms,
        limit: false,
    }
}

/// Birge & Louveaux, Introduction to Stochastic Programming, section 1.1: the farmer.
fn farmer() -> TwoStage {
    let yields = [[3.0, 3.6, 24.0], [2.5, 3.0, 20.0], [2.0, 2.4, 16.0]];
    let first = vec![
        VarDef::new("wheat", 0.0, INF),
        VarDef::new("corn", 0.0, INF),
        VarDef::new("beets", 0.0, INF),
    ];
    let first_rows = vec![row(
        "land",
        -INF,
        500.0,
        vec![
            (Ref::First(0), 1.0),
            (Ref::First(1), 1.0),
            (Ref::First(2), 1.0),
        ],
    )];
    let scenarios = yields
        .iter()
        .map(|y| {
            // buy wheat, sell wheat, buy corn, sell corn, sell beets at 36, sell beets at 10
            let vars = [
                "buy_w",
                "sell_w",
                "buy_c",
                "sell_c",
                "sell_b_hi",
                "sell_b_lo",
            ]
            .iter()
            .map(|n| VarDef::new(*n, 0.0, INF))
            .collect();
            let rows = vec![
                row(
                    "wheat",
                    200.0,
                    INF,
                    vec![
                        (Ref::First(0), y[0]),
                        (Ref::Own(0), 1.0),
                        (Ref::Own(1), -1.0),
                    ],
                ),
                row(
                    "corn",
                    240.0,
                    INF,
                    vec![
                        (Ref::First(1), y[1]),
                        (Ref::Own(2), 1.0),
                        (Ref::Own(3), -1.0),
                    ],
                ),
                row(
                    "beets",
                    0.0,
                    INF,
                    vec![
                        (Ref::First(2), y[2]),
                        (Ref::Own(4), -1.0),
                        (Ref::Own(5), -1.0),
                    ],
                ),
                row("quota", -INF, 6000.0, vec![(Ref::Own(4), 1.0)]),
            ];
            let obj = vec![
                (Ref::First(0), -150.0),
                (Ref::First(1), -230.0),
                (Ref::First(2), -260.0),
                (Ref::Own(0), -238.0),
                (Ref::Own(1), 170.0),
                (Ref::Own(2), -210.0),
                (Ref::Own(3), 150.0),
                (Ref::Own(4), 36.0),
                (Ref::Own(5), 10.0),
            ];
            ScenarioDef {
                prob: 1.0 / 3.0,
                vars,
                rows,
                obj,
                constant: 0.0,
            }
        })
        .collect();
    TwoStage {
        sense: Sense::Maximize,
        first,
        first_rows,
        shared: Vec::new(),
        scenarios,
    }
}

#[test]
fn farmer_problem_matches_birge_louveaux() {
    for s in all_solvers() {
        let set = SolverSettings::default();
        let rp = farmer()
            .solve(s.as_ref(), &set, Risk::Neutral, None)
            .unwrap();
        assert!(
            (rp.expected - 108_390.0).abs() < 0.01,
            "{}: {}",
            s.name(),
            rp.expected
        );
        for (got, want) in rp.first.iter().zip([170.0, 80.0, 250.0]) {
            assert!((got - want).abs() < 1e-6, "{}: {:?}", s.name(), rp.first);
        }
        let v = farmer()
            .value_of_information(s.as_ref(), &set)
            .unwrap()
            .unwrap();
        assert!((v.ev - 118_600.0).abs() < 0.01, "EV {}", v.ev);
        assert!((v.eev - 107_240.0).abs() < 0.01, "EEV {}", v.eev);
        assert!((v.ws - 115_405.555_555).abs() < 0.01, "WS {}", v.ws);
        assert!((v.vss - 1_150.0).abs() < 0.01, "VSS {}", v.vss);
        assert!((v.evpi - 7_015.555_555).abs() < 0.01, "EVPI {}", v.evpi);
    }
}

/// One period: capacity x at cost `c`, demand d_s, sales min(x, d_s) at price `p`.
fn newsvendor(demands: &[f64], price: f64, cost: f64) -> TwoStage {
    let n = demands.len() as f64;
    let scenarios = demands
        .iter()
        .map(|d| ScenarioDef {
            prob: 1.0 / n,
            vars: vec![VarDef::new("sales", 0.0, d.max(0.0))],
            rows: vec![row(
                "cap",
                -INF,
                0.0,
                vec![(Ref::Own(0), 1.0), (Ref::First(0), -1.0)],
            )],
            obj: vec![(Ref::First(0), -cost), (Ref::Own(0), price)],
            constant: 0.0,
        })
        .collect();
    TwoStage {
        sense: Sense::Maximize,
        first: vec![VarDef::new("capacity", 0.0, INF)],
        first_rows: Vec::new(),
        shared: Vec::new(),
        scenarios,
    }
}

#[test]
fn newsvendor_optimum_is_the_critical_fractile() {
    // Demand ~ Normal(50, 20), price 7, cost 5, no salvage: x* = 50 + 20 Φ⁻¹(2/7) ≈ 38.68.
    let n = 1500;
    let demands: Vec<f64> = (0..n)
        .map(|i| 50.0 + 20.0 * inverse_normal_cdf(gigawatt_sim::sample::uniform(42, 7, i)))
        .collect();
    let x_star = 50.0 + 20.0 * inverse_normal_cdf(2.0 / 7.0);
    assert!((x_star - 38.68).abs() < 0.01);
    // Standard error of the sample 2/7-quantile: sqrt(q(1-q)/n) / f(x*).
    let q: f64 = 2.0 / 7.0;
    let density = (-0.5 * ((x_star - 50.0) / 20.0f64).powi(2)).exp()
        / (20.0 * (2.0 * std::f64::consts::PI).sqrt());
    let se = (q * (1.0 - q) / n as f64).sqrt() / density;
    for s in all_solvers() {
        let sol = newsvendor(&demands, 7.0, 5.0)
            .solve(s.as_ref(), &SolverSettings::default(), Risk::Neutral, None)
            .unwrap();
        let x = sol.first[0];
        assert!(
            (x - x_star).abs() < 4.0 * se,
            "{}: x = {x}, x* = {x_star}, se = {se}",
            s.name()
        );
    }
}

#[test]
fn cvar_rows_match_a_hand_computation_and_vanish_as_alpha_goes_to_zero() {
    // Newsvendor on five equally likely demands; fix capacity 30 and check CVaR of loss by hand.
    let demands = [10.0, 20.0, 30.0, 40.0, 50.0];
    let prob = newsvendor(&demands, 7.0, 5.0);
    let set = SolverSettings::default();
    for s in all_solvers() {
        let fixed = prob
            .solve(
                s.as_ref(),
                &set,
                Risk::Cvar {
                    alpha: 0.6,
                    lambda: 1.0,
                },
                Some(&[30.0]),
            )
            .unwrap();
        // Profits: 7 min(30, d) - 150 = -80, -10, 60, 60, 60. Worst 40 %: mean(-80, -10) = -45 -> CVaR loss 45.
        assert!((fixed.cvar_loss - 45.0).abs() < 1e-6, "{}", fixed.cvar_loss);
        // The objective is E[profit] - λ CVaR = 18 - 45.
        assert!(
            (fixed.solution.objective - (18.0 - 45.0)).abs() < 1e-6,
            "{}: {}",
            s.name(),
            fixed.solution.objective
        );
        // alpha -> 0: CVaR of loss is minus the mean, so the risk-averse optimum is the risk-neutral one.
        let neutral = prob.solve(s.as_ref(), &set, Risk::Neutral, None).unwrap();
        let tiny = prob
            .solve(
                s.as_ref(),
                &set,
                Risk::Cvar {
                    alpha: 1e-9,
                    lambda: 0.5,
                },
                None,
            )
            .unwrap();
        assert!(
            (neutral.first[0] - tiny.first[0]).abs() < 1e-6,
            "{} vs {}",
            neutral.first[0],
            tiny.first[0]
        );
        // A strongly risk-averse newsvendor buys less.
        let averse = prob
            .solve(
                s.as_ref(),
                &set,
                Risk::Cvar {
                    alpha: 0.8,
                    lambda: 5.0,
                },
                None,
            )
            .unwrap();
        assert!(averse.first[0] <= neutral.first[0] + 1e-9);
    }
}

#[test]
fn r7_an_infeasible_mean_value_plan_says_on_how_many_scenarios() {
    // min x + 2·y_s  s.t.  x + y_s >= d_s,  0 <= y_s <= 4,  d = {0, 10} with probability 1/2.
    // EV (d = 5): x = 5, y = 0. With x = 5 the scenario d = 10 needs y = 5 > 4: infeasible there,
    // feasible at d = 0, so EEV is undefined on exactly 1 of 2 scenarios. RP: x = 6 (6 + 4 = 10),
    // y = 0 or 4: cost 6 + 0.5·2·4 = 10.
    let scenario = |d: f64| ScenarioDef {
        prob: 0.5,
        vars: vec![VarDef::new("y", 0.0, 4.0)],
        rows: vec![RowDef {
            name: "demand".into(),
            kind: RowKind::Other,
            lower: d,
            upper: f64::INFINITY,
            terms: vec![(Ref::First(0), 1.0), (Ref::Own(0), 1.0)],
            limit: false,
        }],
        obj: vec![(Ref::First(0), 1.0), (Ref::Own(0), 2.0)],
        constant: 0.0,
    };
    let prog = TwoStage {
        sense: Sense::Minimize,
        first: vec![VarDef::new("x", 0.0, f64::INFINITY)],
        first_rows: vec![],
        shared: vec![],
        scenarios: vec![scenario(0.0), scenario(10.0)],
    };
    let v = prog
        .value_of_information(&gigawatt_lp::MicroLp, &SolverSettings::default())
        .unwrap()
        .unwrap();
    assert!((v.rp - 10.0).abs() < 1e-6, "RP {}", v.rp);
    assert!((v.ev - 5.0).abs() < 1e-6, "EV {}", v.ev);
    assert!(v.eev.is_infinite(), "EEV {}", v.eev);
    assert_eq!(v.eev_infeasible_scenarios, 1);
}

/// Stopping gap of the decomposition tests: tight, so both methods meet at the same optimum.
const EXACT: DecomposeSettings = DecomposeSettings {
    gap: 1e-7,
    max_iterations: 300,
    level: 0.3,
    box_bound: 1e9,
    cut_age: 20,
    warm_start: 8,
    penalty: 0.0,
    groups: 0,
    warm_sessions: gigawatt_opt::decompose::DEFAULT_WARM_SESSIONS,
    direct: true,
};

/// Solves `prob` by the extensive form and by decomposition (plain L-shaped, level
/// regularised, penalised recourse, cuts summed over two groups of paths, and subproblems
/// rebuilt each round from their last basis instead of kept as sessions) on every solver;
/// asserts one optimum and returns the decomposition's first stage (from the last solver) and
/// iteration count.
fn decomposition_agrees(prob: &TwoStage, risk: Risk) -> (Vec<f64>, usize) {
    let set = SolverSettings::default();
    let mut out = (Vec::new(), 0);
    for s in all_solvers() {
        let ef = prob.solve(s.as_ref(), &set, risk, None).unwrap();
        let sessions = EXACT.warm_sessions;
        for (level, penalty, groups, warm_sessions, direct) in [
            (0.0, 0.0, 0, sessions, true),
            (0.0, 0.0, 0, sessions, false),
            (0.3, 0.0, 0, sessions, true),
            (0.3, 0.0, 0, sessions, false),
            (0.3, 1e3, 0, sessions, true),
            (0.3, 0.0, 2, sessions, true),
            (0.3, 0.0, 0, 0, false),
        ] {
            let d = prob
                .solve_decomposed(
                    s.as_ref(),
                    &set,
                    risk,
                    &DecomposeSettings {
                        level,
                        penalty,
                        groups,
                        warm_sessions,
                        direct,
                        ..EXACT
                    },
                    &mut |_| {},
                )
                .unwrap();
            assert!(
                d.converged,
                "{} level {level} direct {direct}: {:?}",
                s.name(),
                d.iterations.last()
            );
            let (a, b) = (ef.solution.objective, d.solved.solution.objective);
            assert!(
                (a - b).abs() <= 1e-6 * a.abs().max(1.0),
                "{} level {level} direct {direct}: extensive {a}, decomposed {b}",
                s.name()
            );
            let last = d.iterations.last().unwrap();
            assert!(
                last.lower <= b + 1e-6 * b.abs().max(1.0)
                    && b <= last.upper + 1e-6 * b.abs().max(1.0)
            );
            // The point is one the extensive form accepts, with the values it reports.
            let (p, _) = prob.extensive_form(risk, None);
            let mut x = d.solved.solution.x.clone();
            x.resize(p.num_cols(), 0.0);
            let fixed = prob
                .solve(s.as_ref(), &set, risk, Some(&d.solved.first))
                .unwrap();
            assert!((fixed.solution.objective - b).abs() <= 1e-6 * b.abs().max(1.0));
            let values = prob.scenario_values(&d.solved.layout, &d.solved.solution.x);
            for (v, w) in values.iter().zip(&d.solved.values) {
                assert!((v - w).abs() <= 1e-6 * w.abs().max(1.0));
            }
            out = (d.solved.first.clone(), d.iterations.len());
        }
    }
    out
}

#[test]
fn decomposition_solves_the_farmer_to_birge_louveaux() {
    let (first, iterations) = decomposition_agrees(&farmer(), Risk::Neutral);
    for (got, want) in first.iter().zip([170.0, 80.0, 250.0]) {
        assert!((got - want).abs() < 1e-4, "{first:?}");
    }
    assert!(iterations < 50, "{iterations}");
    // With CVaR rows in the master too.
    decomposition_agrees(
        &farmer(),
        Risk::Cvar {
            alpha: 0.7,
            lambda: 0.5,
        },
    );
}

#[test]
fn decomposition_solves_the_newsvendor_family() {
    // Forty equally likely demands; for price p and cost c the optimum is the sample quantile
    // at 1 − c/p (critical fractile), here the 12th, 20th and 32nd smallest demand.
    let demands: Vec<f64> = (0..40)
        .map(|i| 50.0 + 20.0 * inverse_normal_cdf(gigawatt_sim::sample::uniform(7, 3, i)))
        .collect();
    let mut sorted = demands.clone();
    sorted.sort_by(f64::total_cmp);
    for (price, cost, rank) in [(10.0, 7.1, 12), (10.0, 5.1, 20), (10.0, 2.1, 32)] {
        let (first, _) = decomposition_agrees(&newsvendor(&demands, price, cost), Risk::Neutral);
        assert!(
            (first[0] - sorted[rank - 1]).abs() < 1e-6,
            "p {price} c {cost}: {} vs {}",
            first[0],
            sorted[rank - 1]
        );
    }
    decomposition_agrees(
        &newsvendor(&demands, 10.0, 5.1),
        Risk::Cvar {
            alpha: 0.9,
            lambda: 1.0,
        },
    );
}

#[test]
fn decomposition_keeps_integer_first_stages_integer() {
    // Capacity in whole units against fractional demands: the MIP master finds the integer
    // optimum the extensive form finds.
    let demands = [3.3, 7.7, 12.2, 15.9, 21.4];
    let mut prob = newsvendor(&demands, 7.0, 3.0);
    prob.first[0].integer = true;
    let (first, _) = decomposition_agrees(&prob, Risk::Neutral);
    assert_eq!(first[0].fract(), 0.0, "{first:?}");
}

/// min 2x + E[5 (backup)] with backup ≥ d_s − x and at most 3 of it: x = 0 leaves demands above
/// 3 with no feasible recourse. At x ≥ 9 every backup is (d_s − x)+, and a unit of x saves
/// 5·P(d > x): 2.5 on [9, 10), 1.25 on [10, 12) against its cost 2. With d = 2, 6, 10, 12 the
/// optimum is x = 10, cost 20 + 5·2/4 = 22.5. `split` writes the backup as two variables (at
/// most 1 and 2), so that no single row of the scenario implies x ≥ d_s − 3.
fn no_recourse_at_zero(split: bool) -> TwoStage {
    let demands = [2.0, 6.0, 10.0, 12.0];
    let scenarios = demands
        .iter()
        .map(|d| {
            let (vars, mut terms, obj) = if split {
                (
                    vec![
                        VarDef::new("backup_a", 0.0, 1.0),
                        VarDef::new("backup_b", 0.0, 2.0),
                    ],
                    vec![(Ref::Own(0), 1.0), (Ref::Own(1), 1.0)],
                    vec![(Ref::First(0), 2.0), (Ref::Own(0), 5.0), (Ref::Own(1), 5.0)],
                )
            } else {
                (
                    vec![VarDef::new("backup", 0.0, 3.0)],
                    vec![(Ref::Own(0), 1.0)],
                    vec![(Ref::First(0), 2.0), (Ref::Own(0), 5.0)],
                )
            };
            terms.push((Ref::First(0), 1.0));
            ScenarioDef {
                prob: 0.25,
                vars,
                rows: vec![row("cover", *d, INF, terms)],
                obj,
                constant: 0.0,
            }
        })
        .collect();
    TwoStage {
        sense: Sense::Minimize,
        first: vec![VarDef::new("capacity", 0.0, INF)],
        first_rows: Vec::new(),
        shared: Vec::new(),
        scenarios,
    }
}

/// The decomposition of `prob` from x = 0 (no warm start that already covers the demands).
fn from_zero(prob: &TwoStage) -> gigawatt_opt::decompose::Decomposed {
    prob.solve_decomposed(
        &gigawatt_lp::MicroLp,
        &SolverSettings::default(),
        Risk::Neutral,
        &DecomposeSettings {
            warm_start: 0,
            ..EXACT
        },
        &mut |_| {},
    )
    .unwrap()
}

#[test]
fn decomposition_cuts_off_first_stages_with_no_recourse() {
    // Nothing in one row implies x ≥ 9: the method must cut its way there by feasibility cuts.
    let prob = no_recourse_at_zero(true);
    let (first, _) = decomposition_agrees(&prob, Risk::Neutral);
    assert!((first[0] - 10.0).abs() < 1e-6, "{first:?}");
    let d = from_zero(&prob);
    assert!(
        d.iterations[0].infeasible_subproblems == 3,
        "{:?}",
        d.iterations[0]
    );
    assert!((d.solved.solution.objective - 22.5).abs() < 1e-6);
}

#[test]
fn decomposition_starts_within_the_rows_the_paths_imply() {
    // backup ≤ 3 with backup ≥ d_s − x implies x ≥ d_s − 3 on every path: the first point is
    // moved from x = 0 to the nearest point that satisfies those rows (x = 9), so no path is
    // without recourse there.
    let prob = no_recourse_at_zero(false);
    let (first, _) = decomposition_agrees(&prob, Risk::Neutral);
    assert!((first[0] - 10.0).abs() < 1e-6, "{first:?}");
    let d = from_zero(&prob);
    assert_eq!(
        d.iterations[0].infeasible_subproblems, 0,
        "{:?}",
        d.iterations[0]
    );
    assert!((d.solved.solution.objective - 22.5).abs() < 1e-6);
}

#[test]
fn decomposition_is_bit_identical_across_thread_counts() {
    let demands: Vec<f64> = (0..40)
        .map(|i| 50.0 + 20.0 * inverse_normal_cdf(gigawatt_sim::sample::uniform(7, 3, i)))
        .collect();
    let prob = newsvendor(&demands, 10.0, 5.1);
    // On every solver: with HiGHS each path's subproblem is a warm session owned by one of
    // `threads` workers, or (no sessions) rebuilt each round from the path's last basis.
    let sessions = [0, DecomposeSettings::default().warm_sessions];
    for (solver, warm_sessions) in all_solvers().iter().flat_map(|s| sessions.map(|w| (s, w))) {
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let d = prob
                    .solve_decomposed(
                        solver.as_ref(),
                        &SolverSettings::default(),
                        Risk::Neutral,
                        &DecomposeSettings {
                            warm_sessions,
                            ..DecomposeSettings::default()
                        },
                        &mut |_| {},
                    )
                    .unwrap();
                (d.solved.solution.x, d.iterations.len())
            })
        };
        let (a, b, c) = (run(1), run(2), run(3));
        assert_eq!((a.1, a.1), (b.1, c.1), "{} {warm_sessions}", solver.name());
        for other in [&b.0, &c.0] {
            assert!(
                a.0.iter()
                    .zip(other)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "{}",
                solver.name()
            );
        }
    }
}

#[test]
fn decomposition_rounds_the_relaxation_when_that_closes_the_gap() {
    // Whole units against demands in the thousands, price 7, cost 3: profit
    // 7·E[min(x, d)] − 3x is concave and piecewise linear, rising at 7·3/5 − 3 = 1.2 a unit
    // below the third demand (1220.2) and falling at 7·2/5 − 3 = 0.2 above it, so the
    // relaxation's optimum is 7·(330.3 + 770.7 + 3·1220.2)/5 − 3·1220.2 = 3005.64. Rounding any
    // point costs at most 0.6, 0.02 % of it: with a 1 % gap the relaxation (run to half the gap)
    // rounded closes the gap, and the integer master is never needed.
    let demands = [330.3, 770.7, 1220.2, 1590.9, 2140.4];
    let profit = |x: f64| 7.0 * demands.iter().map(|d| x.min(*d)).sum::<f64>() / 5.0 - 3.0 * x;
    assert!((profit(1220.2) - 3005.64).abs() < 1e-9);
    let mut prob = newsvendor(&demands, 7.0, 3.0);
    prob.first[0].integer = true;
    for s in all_solvers() {
        let d = prob
            .solve_decomposed(
                s.as_ref(),
                &SolverSettings::default(),
                Risk::Neutral,
                &DecomposeSettings {
                    gap: 0.01,
                    ..DecomposeSettings::default()
                },
                &mut |_| {},
            )
            .unwrap();
        assert!(d.converged, "{}: {:?}", s.name(), d.iterations.last());
        let last = d.iterations.last().unwrap();
        assert_eq!(last.phase, Phase::Rounded, "{}: {last:?}", s.name());
        let x = d.solved.first[0];
        assert_eq!(x.fract(), 0.0, "{x}");
        let v = d.solved.solution.objective;
        assert!((v - profit(x)).abs() < 1e-6, "{}: {v} at {x}", s.name());
        // The bound is the relaxation's, at or above its optimum, and within the gap.
        assert!(last.upper >= 3005.64 - 1e-6, "{last:?}");
        assert!((last.upper - v) / v <= 0.01, "{last:?}");
        assert!(last.lower == v, "{last:?}");
        // Within 1 % of the integer optimum, 1221 (3005.48; 1220 gives 3005.40).
        assert!((profit(1221.0) - 3005.48).abs() < 1e-9);
        assert!((profit(1221.0) - v) / v <= 0.01);
    }
}

#[test]
fn the_farmers_and_newsvendors_subproblems_are_solved_directly_to_the_solvers_values() {
    // Both recourse problems are one-row blocks once the first stage is fixed (the farmer's
    // beet quota is a bound on one variable), so the decomposition solves them without an LP
    // solver; at the optimum and at a spread of other first stages, each scenario's direct
    // value equals the solver's.
    for (name, prob, points) in [
        (
            "farmer",
            farmer(),
            vec![
                vec![170.0, 80.0, 250.0],
                vec![100.0, 100.0, 300.0],
                vec![0.0, 0.0, 0.0],
                vec![400.0, 50.0, 50.0],
            ],
        ),
        (
            "newsvendor",
            newsvendor(&[40.0, 70.0, 100.0, 130.0], 3.0, 1.0),
            vec![vec![0.0], vec![55.0], vec![100.0], vec![500.0]],
        ),
    ] {
        for s in all_solvers() {
            for x in &points {
                for (k, (d, l)) in prob
                    .direct_and_solved(s.as_ref(), x)
                    .unwrap()
                    .into_iter()
                    .enumerate()
                {
                    let (dv, _) = d.unwrap_or_else(|| panic!("{name} scenario {k} not direct"));
                    let lv = l.unwrap();
                    assert!(
                        (dv - lv).abs() <= 1e-7 * lv.abs().max(1.0),
                        "{name} at {x:?}, scenario {k}: direct {dv}, {} {lv}",
                        s.name()
                    );
                }
            }
        }
    }
}
