//! The capacity programme against known answers and against the simulator.

use gigawatt_io::plan_toml;
use gigawatt_lp::{MicroLp, SolverSettings};
use gigawatt_model::{Dist, ValidScenario};
use gigawatt_opt::capacity::{build, CapacitySettings, Objective};
use gigawatt_opt::diagnose::{diagnose, Diagnosis};
use gigawatt_opt::Risk;
use gigawatt_sim::{Draws, Engine, PathOutcome, Scratch};

fn scenario(src: &str) -> ValidScenario {
    let (sc, d) = gigawatt_io::read_str(src, "t.toml");
    assert!(
        sc.is_some(),
        "{}",
        d.iter().map(|d| d.render()).collect::<String>()
    );
    sc.unwrap()
}

/// One month: reserve capacity at 0.6 per H100e-month or burst at 1.0; demand lognormal with
/// median 100 and p90 130; revenue 10 per unit so all demand is served.
const RESERVED: &str = r#"
format_version = 1
horizon = { start = "2026-01", end = "2026-01" }
discount_rate_per_year = 0.0
simulation = { sampling = "latin_hypercube" }
[[segments]]
name = "d"
start_units_per_month = { dist = "lognormal", median = 100.0, p90 = 130.0 }
h100e_months_per_unit = 1.0
price_usd_per_unit = 10.0
growth = { process = "log" }
[power]
availability_pu = 1.0
[[options]]
name = "reserved"
kind = "lease"
term_months = 1
price_usd_per_h100e_month = 0.6
[[options]]
name = "on_demand"
kind = "burst"
price_usd_per_h100e_month = 1.0
cap_h100e = 1000.0
"#;

#[test]
fn reserved_versus_on_demand_is_the_critical_fractile() {
    let sc = scenario(RESERVED);
    let paths = 400;
    let engine = Engine::new(&sc, paths, 3, &[]).unwrap();
    let model = build(&sc, &engine, &CapacitySettings::new(paths, 3)).unwrap();
    let solved = model
        .solve(&MicroLp, &SolverSettings::default(), Risk::Neutral, None)
        .unwrap();
    let r = solved.first[0];
    // r* = F⁻¹(1 − c_r / c_o) = F⁻¹(0.4) of the lognormal.
    let d = Dist::LognormalMedianP90 {
        median: 100.0,
        p90: 130.0,
    };
    let r_star = d.quantile(0.4);
    assert!((r_star - 94.95).abs() < 0.01, "{r_star}");
    // Latin hypercube puts one path in each 1/400 stratum: the sample 0.4-quantile is within
    // a stratum's width (about 0.1 here) of the true one.
    assert!(
        (r - r_star).abs() < 0.3,
        "reserve {r}, closed form {r_star}"
    );
}

/// Two years, a lease and a build option, one segment, no feedback loops.
const EQUIV: &str = r#"
format_version = 1
horizon = { start = "2026-01", end = "2027-12" }
discount_rate_per_year = 0.1
[[segments]]
name = "d"
start_units_per_month = { dist = "lognormal", median = 100.0, p90 = 140.0 }
h100e_months_per_unit = 1.0
price_usd_per_unit = 50.0
growth = { process = "log", drift_per_year = 0.4, volatility_per_month = 0.05 }
[[generations]]
name = "g"
h100e_per_unit = 2.0
kw_per_unit = 1.0
price_usd_per_unit = 100.0
[[fleet]]
generation = "g"
units = 30.0
[power]
availability_pu = 0.9
power_price_usd_per_mwh = 50.0
[[options]]
name = "cloud"
kind = "lease"
block_h100e = 10.0
lead_time_months = { dist = "triangular", min = 1.0, mode = 2.0, max = 4.0 }
term_months = 12
price_usd_per_h100e_month = 20.0
[[options]]
name = "campus"
kind = "build"
generation = "g"
block_mw = 0.05
lead_time_months = { dist = "uniform", min = 3.0, max = 8.0 }
capex_usd_per_mw = 100000.0
capex_schedule_pu = [0.5, 0.5]
opex_usd_per_mw_year = 1000.0
pue = 1.25
[[options]]
name = "spot"
kind = "burst"
price_usd_per_h100e_month = 40.0
cap_h100e = 20.0
[finance]
non_compute_opex_usd_per_month = 500.0
"#;

#[test]
fn programme_value_equals_the_simulators_npv_on_the_same_paths() {
    programme_equals_simulator(EQUIV);
}

#[test]
fn programme_with_churn_equals_the_simulators_npv_on_the_same_paths() {
    // Churn is linear in the demand multiplier, so the programme models it exactly. The check
    // must see churn bite: on some path demand goes unserved and the multiplier falls.
    let src = EQUIV.replace(
        "price_usd_per_unit = 50.0",
        "price_usd_per_unit = 50.0\nchurn_share_pu = 0.4",
    );
    let unserved = programme_equals_simulator(&src);
    assert!(
        unserved > 0.0,
        "no demand went unserved: the test would not see churn"
    );
}

#[test]
fn programme_with_events_equals_the_simulators_npv_on_the_same_paths() {
    // Efficiency and price events change demand and revenue per H100e, a supply shock and a
    // power delay slip the build's deliveries: the programme sees each path's draws through the
    // engine, so its value must still equal the simulator's NPV path by path.
    let src = format!(
        "{EQUIV}
[[events]]
name = \"distillation\"
kind = \"efficiency\"
window_start = \"2026-06\"
window_end = \"2027-06\"
probability_pu = 0.5
share_pu = {{ dist = \"uniform\", min = 0.1, max = 0.4 }}
[[events]]
name = \"war\"
kind = \"price_war\"
window_start = \"2026-03\"
window_end = \"2027-09\"
probability_pu = 0.5
share_pu = 0.3
[[events]]
name = \"shortage\"
kind = \"supply_shock\"
window_start = \"2026-02\"
window_end = \"2026-10\"
probability_pu = 0.6
delay_months = {{ dist = \"uniform\", min = 1.0, max = 6.0 }}
duration_months = 6
[[events]]
name = \"grid\"
kind = \"power_delay\"
window_start = \"2026-04\"
window_end = \"2026-12\"
probability_pu = 0.5
delay_months = 3
duration_months = 9
"
    );
    programme_equals_simulator(&src);
}

#[test]
fn programme_with_deal_structures_equals_the_simulators_npv_on_the_same_paths() {
    // A cloud contract with a spend ramp, chips paid by milestones and partly financed by the
    // vendor, and a revenue share: the programme charges each exactly as the simulator does.
    let src = EQUIV
        .replace(
            "term_months = 12",
            "term_months = 12\nramp_pu = [0.5, 1.0]",
        )
        .replace(
            "capex_schedule_pu = [0.5, 0.5]",
            "capex_schedule_pu = [0.5, 0.5]\nchip_schedule_pu = [0.3, 0.7]\nfinanced_share_pu = 0.4\nfinancing_rate_per_year = 0.1\nfinancing_term_months = 18",
        )
        + "[[finance.revenue_shares]]\npartner = \"p\"\nshare_pu = 0.2\nfrom = \"2026-07\"\n";
    assert!(
        src.contains("ramp_pu")
            && src.contains("financed_share_pu")
            && src.contains("revenue_shares")
    );
    programme_equals_simulator(&src);
}

/// Solves the fixed-schedule programme, simulates the plan it finds on the same paths, and
/// asserts each path's programme value equals its simulated NPV. Returns the total unserved
/// H100e-months the simulator saw.
#[test]
fn programme_with_pools_equals_the_simulators_npv_on_the_same_paths() {
    // Two pools: `gpu` (the fleet and the campus, drawing 40 % of their power when idle) runs
    // everything, the research floor included; `cloud` (the lease, $0.005 per H100e-hour used)
    // serves the segment only. The simulator serves the floor, then the segment from the pool
    // cheapest per use, then burst; the programme dispatches by cost with the same
    // compatibility: priorities and costs agree, so the values must agree path by path.
    let src = EQUIV
        .replace("pue = 1.25", "pue = 1.3\npool = \"gpu\"")
        .replace("term_months = 12\n", "term_months = 12\npool = \"cloud\"\n")
        + "[research]\nfloor_h100e = 5.0\n\
           [[pools]]\nname = \"gpu\"\nidle_power_share_pu = 0.4\n\
           [[pools]]\nname = \"cloud\"\nserves = [\"d\"]\nuse_fee_usd_per_h100e_hour = 0.005\n";
    assert_eq!(src.matches("pool = ").count(), 2);
    programme_equals_simulator(&src);
}

#[test]
fn a_pool_that_saves_idle_power_needs_one_power_rate_for_the_programme() {
    // The campus at PUE 1.25 draws less per H100e than the fleet in the site's 1.3 space.
    let src = EQUIV.to_string() + "[[pools]]\nname = \"gpu\"\nidle_power_share_pu = 0.4\n";
    let sc = scenario(&src);
    let engine = Engine::new(&sc, 4, 9, &[]).unwrap();
    let err = build(&sc, &engine, &CapacitySettings::new(4, 9)).unwrap_err();
    assert!(
        err.contains("pool `gpu`") && err.contains("split it"),
        "{err}"
    );
}

#[test]
fn affine_recourse_is_a_policy_the_simulator_runs_to_the_programmes_value_path_by_path() {
    // Two-stage with recourse: the first six months' commitments are shared, later ones are
    // linear decision rules in the demand observed the month before. The plan found carries
    // them as `kind = "affine"` rules, and simulating it on the programme's own paths gives the
    // programme's value on every path: the policy valued is the policy run.
    let sc = scenario(EQUIV);
    let paths = 12;
    let engine = Engine::new(&sc, paths, 9, &[]).unwrap();
    let mut set = CapacitySettings::new(paths, 9);
    set.window_months = 6;
    set.period_months = 6;
    assert!(set.affine && set.recourse);
    let model = build(&sc, &engine, &set).unwrap();
    assert_eq!(model.affine.len(), 6, "months 6, 12 and 18 of two options");
    let solved = model
        .solve(&MicroLp, &SolverSettings::default(), Risk::Neutral, None)
        .unwrap();
    assert!(solved.solution.status.has_solution());
    let (plan, _) = model.plan("ldr", &solved.solution.x, &solved.layout);
    assert!(
        plan.rules
            .iter()
            .all(|r| r.kind == gigawatt_model::RuleKind::Affine),
        "{plan:?}"
    );
    assert!(!plan.rules.is_empty(), "the optimum uses a rule");
    let (_, committed_by_rules) = simulates_to_the_programme(EQUIV, sc, plan, &solved.values);
    assert!(committed_by_rules > 0);
}

#[test]
fn a_solution_carried_out_on_fresh_paths_is_what_the_simulator_runs_there() {
    // The optimality gap's replications carry the solution found over some paths out on
    // others. On this scenario the programme and the simulator are the same model, so the
    // programme's value of the solution on fresh paths must be the simulator's NPV of the plan
    // on those paths, path by path: the rules recentred on the programme's own demand centre,
    // cut at zero, and everything else optimised as the simulator serves.
    let sc = scenario(EQUIV);
    let paths = 12;
    let settings = SolverSettings::default();
    let model_at = |seed: u64| {
        let engine = Engine::new(&sc, paths, seed, &[]).unwrap();
        let mut set = CapacitySettings::new(paths, seed);
        set.window_months = 6;
        set.period_months = 6;
        build(&sc, &engine, &set).unwrap()
    };
    let found = model_at(9);
    let solved = found
        .solve(&MicroLp, &settings, Risk::Neutral, None)
        .unwrap();
    let candidate = found
        .candidate(&solved.solution.x, &solved.layout)
        .expect("rules carry over");
    // On its own paths the solution is worth the programme's optimum.
    let own = found
        .evaluate_candidate(&candidate, &MicroLp, &settings, Risk::Neutral)
        .unwrap();
    let optimum = solved.solution.objective;
    assert!(
        (own.objective_usd.unwrap() - optimum).abs() <= 1e-6 * optimum.abs(),
        "{own:?} against {optimum}"
    );
    // On fresh paths, centred elsewhere.
    let fresh = model_at(31);
    assert_ne!(fresh.affine[0].centre_h100e, found.affine[0].centre_h100e);
    let there = fresh
        .evaluate_candidate(&candidate, &MicroLp, &settings, Risk::Neutral)
        .unwrap();
    assert_eq!(there.infeasible, 0);
    let (plan, _) = found.plan("ldr", &solved.solution.x, &solved.layout);
    let (_, by_rules) = simulates_to_the_programme_from(EQUIV, sc.clone(), plan, &there.values, 31);
    assert!(by_rules > 0, "the rules commit on the fresh paths");
    let mean = there.values.iter().sum::<f64>() / paths as f64;
    assert!((there.objective_usd.unwrap() - mean).abs() <= 1e-9 * mean.abs());
}

/// Simulates `plan` (found for `sc`, read from `src`) on the programme's paths and asserts its
/// NPV equals the programme's `values` path by path; the plan's TOML must read back to it.
/// Returns the unserved H100e-months and the rule commitments made over all paths.
fn simulates_to_the_programme(
    src: &str,
    sc: ValidScenario,
    plan: gigawatt_model::Plan,
    values: &[f64],
) -> (f64, usize) {
    simulates_to_the_programme_from(src, sc, plan, values, 9)
}

/// [`simulates_to_the_programme`] on the paths of `seed`.
fn simulates_to_the_programme_from(
    src: &str,
    sc: ValidScenario,
    plan: gigawatt_model::Plan,
    values: &[f64],
    seed: u64,
) -> (f64, usize) {
    let text = format!("{}\n{}", src, plan_toml(&sc, &plan));
    assert_eq!(scenario(&text).plans[0], plan);
    // The scenario's plans replaced by the one found (the same scenario otherwise).
    let mut with_plan = sc.into_inner();
    with_plan.plans = vec![plan];
    let sc = ValidScenario::new(with_plan).unwrap();
    let paths = values.len();
    let sim = Engine::new(&sc, paths as u64, seed, &[]).unwrap();
    let (u, _) = sim.block_uniforms(0, paths);
    let mut d = Draws::default();
    let mut s = Scratch::default();
    let mut out = PathOutcome::default();
    let (mut unserved, mut by_rules) = (0.0, 0);
    for (i, row) in u.iter().enumerate() {
        sim.draw(i as u64, row, &mut d);
        sim.run_plan(0, &d, &mut s, true, &mut out);
        let lp = values[i];
        assert!(
            (lp - out.npv_usd).abs() <= 1e-6 * lp.abs().max(1.0),
            "path {i}: programme {lp}, simulator {}",
            out.npv_usd
        );
        unserved += out.monthly[3].iter().sum::<f64>();
        by_rules += out.rule_commitments.len();
    }
    (unserved, by_rules)
}

fn programme_equals_simulator(src: &str) -> f64 {
    let sc = scenario(src);
    let churn = sc.segments.iter().any(|s| s.churn_share_pu > 0.0);
    let paths = 12;
    let engine = Engine::new(&sc, paths, 9, &[]).unwrap();
    let mut set = CapacitySettings::new(paths, 9);
    set.recourse = false;
    set.churn = churn;
    set.window_months = 24;
    set.period_months = 6;
    let model = build(&sc, &engine, &set).unwrap();
    let solved = model
        .solve(&MicroLp, &SolverSettings::default(), Risk::Neutral, None)
        .unwrap();
    assert!(solved.solution.status.has_solution());
    let (plan, first) = model.plan("optimised", &solved.solution.x, &solved.layout);
    assert!(first.iter().all(|f| *f));
    assert!(
        !plan.commitments.is_empty(),
        "the optimum commits something"
    );
    simulates_to_the_programme(src, sc, plan, &solved.values).0
}

#[test]
fn infeasible_limits_are_diagnosed() {
    // Serve 99 % of demand with no way to add capacity beyond a budget of zero.
    let sc = scenario(EQUIV);
    let paths = 3;
    let engine = Engine::new(&sc, paths, 1, &[]).unwrap();
    let mut set = CapacitySettings::new(paths, 1);
    set.objective = Objective::Cost {
        service_level: 0.99,
        risk: Risk::Neutral,
    };
    set.budget_usd_per_year = Some(0.0);
    set.recourse = false;
    set.window_months = 24;
    set.period_months = 12;
    let model = build(&sc, &engine, &set).unwrap();
    let solved = model
        .solve(&MicroLp, &SolverSettings::default(), Risk::Neutral, None)
        .unwrap();
    assert_eq!(solved.solution.status, gigawatt_lp::SolveStatus::Infeasible);
    let Diagnosis::Limits(c) = diagnose(
        &model.program,
        Risk::Neutral,
        None,
        &MicroLp,
        &SolverSettings::default(),
    )
    .unwrap() else {
        panic!("expected limit conflicts")
    };
    let names: Vec<&str> = c.iter().map(|c| c.limit.as_str()).collect();
    assert!(
        names
            .iter()
            .any(|n| *n == "service_level" || n.starts_with("budget[")),
        "{names:?}"
    );
    // Moved limits have a positive move; limits held at their bound have none. The zero
    // budget is one of the two sides of the conflict whichever way the diagnosis moves.
    assert!(c
        .iter()
        .all(|c| (c.held || c.move_by > 0.0) && c.paths >= 1));
    assert!(c
        .iter()
        .any(|c| c.limit.starts_with("budget[") || c.limit == "service_level"));
    assert!(c.iter().any(|c| !c.held));
}

#[test]
fn multistage_lies_between_no_recourse_and_full_recourse() {
    // Non-anticipativity restricts recourse, so: first stage only <= tree <= one recourse per
    // path; and linear decision rules, a restriction of full recourse that contains the fixed
    // first stage, lie between the same two.
    let sc = scenario(EQUIV);
    let paths = 8;
    let engine = Engine::new(&sc, paths, 4, &[]).unwrap();
    let solve = |recourse: bool, branching: Option<usize>| {
        let mut set = CapacitySettings::new(paths, 4);
        set.window_months = 6;
        set.period_months = 6;
        set.stage_months = 6;
        set.recourse = recourse;
        set.branching = branching;
        // Full recourse: per path, with the path's future in view.
        set.affine = false;
        let model = build(&sc, &engine, &set).unwrap();
        let solved = model
            .solve(&MicroLp, &SolverSettings::default(), Risk::Neutral, None)
            .unwrap();
        assert!(solved.solution.status.has_solution());
        (model, solved)
    };
    let (_, none) = solve(false, None);
    let (tree_model, tree) = solve(true, Some(2));
    let (_, full) = solve(true, None);
    let mut set = CapacitySettings::new(paths, 4);
    set.window_months = 6;
    set.period_months = 6;
    let ldr = build(&sc, &engine, &set)
        .unwrap()
        .solve(&MicroLp, &SolverSettings::default(), Risk::Neutral, None)
        .unwrap();
    assert!(none.expected <= ldr.expected + 1e-6 && ldr.expected <= full.expected + 1e-6);
    assert!(
        none.expected <= tree.expected + 1e-6,
        "{} > {}",
        none.expected,
        tree.expected
    );
    assert!(
        tree.expected <= full.expected + 1e-6,
        "{} > {}",
        tree.expected,
        full.expected
    );
    // Stage boundaries at months 6, 12, 18 with two branches each: 2 + 4 + 8 nodes, each with
    // one decision per option and decision month of its stage.
    assert!(!tree_model.shared.is_empty());
    assert!(tree_model
        .program
        .shared
        .iter()
        .any(|v| v.name.contains("node")));
}

#[test]
fn funding_limit_matches_the_simulators_cash_and_binds() {
    // The programme's cash state tracks the simulator's cash before financing; a limit of zero
    // backstop must lower the optimum, and the plan it gives needs no backstop when simulated.
    // Leases cost nearly what they earn, so the optimum builds, and builds need cash up front.
    let mut src = EQUIV
        .replace("non_compute_opex_usd_per_month = 500.0", "non_compute_opex_usd_per_month = 500.0\nstarting_cash_usd = 20500.0\nmin_cash_usd = 20000.0\nbackstop_rate_per_year = 0.0")
        .replace("price_usd_per_h100e_month = 20.0", "price_usd_per_h100e_month = 45.0");
    src.push('\n');
    let sc = scenario(&src);
    let paths = 6;
    let engine = Engine::new(&sc, paths, 2, &[]).unwrap();
    let solve = |gap: Option<f64>| {
        let mut set = CapacitySettings::new(paths, 2);
        set.recourse = false;
        set.window_months = 24;
        set.period_months = 6;
        set.max_funding_gap_usd = gap;
        let model = build(&sc, &engine, &set).unwrap();
        model
            .solve(&MicroLp, &SolverSettings::default(), Risk::Neutral, None)
            .unwrap()
    };
    let free = solve(None);
    let loose = solve(Some(1e12));
    assert!((free.expected - loose.expected).abs() < 1e-6 * free.expected.abs().max(1.0));
    let tight = solve(Some(0.0));
    assert!(tight.solution.status.has_solution());
    assert!(
        tight.expected < free.expected - 1.0,
        "the limit binds: {} vs {}",
        tight.expected,
        free.expected
    );
    // Every path of the tight solution, simulated, needs no backstop beyond rounding.
    let (plan, _) = {
        let mut set = CapacitySettings::new(paths, 2);
        set.recourse = false;
        set.window_months = 24;
        set.period_months = 6;
        set.max_funding_gap_usd = Some(0.0);
        let model = build(&sc, &engine, &set).unwrap();
        let s = model
            .solve(&MicroLp, &SolverSettings::default(), Risk::Neutral, None)
            .unwrap();
        model.plan("tight", &s.solution.x, &s.layout)
    };
    let mut with_plan = sc.clone().into_inner();
    with_plan.plans = vec![plan];
    let with_plan = ValidScenario::new(with_plan).unwrap();
    let sim = Engine::new(&with_plan, paths, 2, &[]).unwrap();
    let (u, _) = sim.block_uniforms(0, paths as usize);
    let mut d = Draws::default();
    let mut s = Scratch::default();
    let mut out = PathOutcome::default();
    for row_i in 0..paths as usize {
        sim.draw(row_i as u64, &u[row_i], &mut d);
        sim.run_plan(0, &d, &mut s, false, &mut out);
        assert!(
            out.funding_gap_usd < 1e-6,
            "path {row_i} needs {} from the backstop",
            out.funding_gap_usd
        );
    }
}

#[test]
fn named_cases_are_a_scenario_set_with_their_probabilities() {
    // Demand 80, 100 or 130 with probabilities 0.3, 0.5, 0.2: the reserve is the smallest
    // demand whose cumulative probability reaches 1 - 0.6/1.0 = 0.4, which is 100.
    let src = RESERVED.replace(
        "start_units_per_month = { dist = \"lognormal\", median = 100.0, p90 = 130.0 }",
        "start_units_per_month = { dist = \"lognormal\", median = 100.0, p90 = 130.0, id = \"demand\" }",
    ) + r#"
[[cases]]
name = "low"
probability_pu = 0.3
values = { demand = 80.0 }
[[cases]]
name = "mid"
probability_pu = 0.5
values = { demand = 100.0 }
[[cases]]
name = "high"
probability_pu = 0.2
values = { demand = 130.0 }
"#;
    let sc = scenario(&src);
    let engine = Engine::new(&sc, 1, 3, &[]).unwrap();
    let mut set = CapacitySettings::new(1, 3);
    set.cases = true;
    let model = build(&sc, &engine, &set).unwrap();
    assert_eq!(model.program.scenarios.len(), 3);
    let probs: Vec<f64> = model.program.scenarios.iter().map(|s| s.prob).collect();
    assert_eq!(probs, [0.3, 0.5, 0.2]);
    let solved = model
        .solve(&MicroLp, &SolverSettings::default(), Risk::Neutral, None)
        .unwrap();
    assert!(
        (solved.first[0] - 100.0).abs() < 1e-6,
        "{}",
        solved.first[0]
    );
    // Expected profit by hand: revenue 10 x E[d] = 10 x 100; reserve 0.6 x 100; burst 0.2 x 30.
    assert!(
        (solved.expected - (1000.0 - 60.0 - 6.0)).abs() < 1e-6,
        "{}",
        solved.expected
    );
}

/// Any scenario that passes validation builds a programme whose every coefficient and bound
/// is finite, or a clear error; never a panic. Every `key = value` line of the startup example
/// in turn gets each of a set of awkward values.
#[test]
fn valid_mangled_scenarios_build_finite_programmes() {
    let src = include_str!("../../../examples/startup.toml");
    let junk = ["0", "1", "0.5", "1e-9", "1e12", "24", "-1", "1e300"];
    let mut failures = Vec::new();
    let mut built = 0;
    for v in gigawatt_io::mangle::variants(src, &junk) {
        let (sc, _) = gigawatt_io::read_str(&v.source, "m.toml");
        let Some(sc) = sc else { continue };
        built += 1;
        let result = std::panic::catch_unwind(|| {
            let engine = Engine::new(&sc, 3, 1, &[]).unwrap();
            match build(&sc, &engine, &CapacitySettings::new(3, 1)) {
                Ok(model) => {
                    let (p, _) = model.program.extensive_form(Risk::Neutral, None);
                    gigawatt_lp::check_finite(&p).map_err(|e| e.to_string())
                }
                Err(e) => {
                    assert!(!e.is_empty());
                    Ok(())
                }
            }
        });
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("line {}: `{}`: {e}", v.line, v.text)),
            Err(_) => failures.push(format!("line {}: `{}`: panicked", v.line, v.text)),
        }
    }
    assert!(built > 100, "only {built} mangled scenarios were valid");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn decomposition_finds_the_extensive_forms_capacity_plan_and_the_simulator_agrees() {
    // The affine-recourse programme of the test above, solved by the L-shaped method: the same
    // optimum as the extensive form, a lower bound below and an upper bound above it, and a
    // plan whose simulation on the programme's paths gives the decomposition's values.
    let sc = scenario(EQUIV);
    let paths = 12;
    let engine = Engine::new(&sc, paths, 9, &[]).unwrap();
    let mut set = CapacitySettings::new(paths, 9);
    set.window_months = 6;
    set.period_months = 6;
    let model = build(&sc, &engine, &set).unwrap();
    let ss = SolverSettings::default();
    let ef = model.solve(&MicroLp, &ss, Risk::Neutral, None).unwrap();
    let dset = gigawatt_opt::decompose::DecomposeSettings {
        gap: 1e-6,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let d = model
        .solve_decomposed(&MicroLp, &ss, Risk::Neutral, &dset, &mut |it| {
            seen.push(*it)
        })
        .unwrap();
    assert!(d.converged, "{:?}", d.iterations.last());
    assert!(d.on_box.is_empty(), "{:?}", d.on_box);
    let (a, b) = (ef.solution.objective, d.solved.solution.objective);
    assert!(
        (a - b).abs() <= 1e-6 * a.abs(),
        "extensive {a}, decomposed {b}"
    );
    let last = d.iterations.last().unwrap();
    assert!(
        last.lower <= b * (1.0 + 1e-9) && last.upper >= b * (1.0 - 1e-6),
        "{last:?}"
    );
    // Bounds improve within each phase (the relaxation's, then the whole blocks').
    assert!(d
        .iterations
        .windows(2)
        .all(|w| w[1].phase != w[0].phase || w[1].lower >= w[0].lower));
    assert!(
        d.iterations.last().unwrap().phase != gigawatt_opt::decompose::Phase::Relaxation,
        "ends on the integer master"
    );
    assert_eq!(seen, d.iterations, "progress hears every iteration");
    // Cuts summed over three groups of four paths: the same optimum.
    let grouped = model
        .solve_decomposed(
            &MicroLp,
            &ss,
            Risk::Neutral,
            &gigawatt_opt::decompose::DecomposeSettings { groups: 3, ..dset },
            &mut |_| {},
        )
        .unwrap();
    assert!(grouped.converged, "{:?}", grouped.iterations.last());
    let g = grouped.solved.solution.objective;
    assert!(
        (a - g).abs() <= 1e-6 * a.abs(),
        "extensive {a}, grouped {g}"
    );
    let (plan, _) = model.plan("ldr", &d.solved.solution.x, &d.solved.layout);
    simulates_to_the_programme(EQUIV, sc, plan, &d.solved.values);
}

/// The master point (first-stage then shared values) of a solved programme.
fn master_point(solved: &gigawatt_opt::Solved) -> Vec<f64> {
    let lay = &solved.layout;
    lay.first
        .iter()
        .chain(&lay.shared)
        .map(|c| solved.solution.x[c.0 as usize])
        .collect()
}

#[test]
fn subproblems_solved_directly_match_the_solver_and_give_valid_cuts() {
    // Each example's NPV programme (linear decision rules, 6 paths), at its own optimum and at
    // points moved off it: every path's subproblem is solved directly (its structure is
    // states and one-row blocks), its value equals the LP solver's, and its gradient is a
    // supergradient of the path's value as the solver computes it, V(x') ≤ V(x̂) + g·(x' − x̂),
    // at points up to a few per cent away in every direction tried.
    for (name, src) in [
        ("startup", include_str!("../../../examples/startup.toml")),
        (
            "launch-spike",
            include_str!("../../../examples/launch-spike.toml"),
        ),
        (
            "frontier-lab",
            include_str!("../../../examples/frontier-lab.toml"),
        ),
    ] {
        let sc = scenario(src);
        let paths = 6;
        let engine = Engine::new(&sc, paths, 5, &[]).unwrap();
        let set = CapacitySettings::new(paths, 5);
        let model = build(&sc, &engine, &set).unwrap();
        // Whole blocks relaxed: the subproblems do not depend on integrality.
        let mut prog = model.program.clone();
        prog.first.iter_mut().for_each(|v| v.integer = false);
        prog.shared.iter_mut().for_each(|v| v.integer = false);
        let solved = prog
            .solve(&MicroLp, &SolverSettings::default(), Risk::Neutral, None)
            .unwrap();
        let x0 = master_point(&solved);
        let at = |x: &[f64]| prog.direct_and_solved(&MicroLp, x).unwrap();
        let base = at(&x0);
        let mut direct = 0;
        for (s, (d, l)) in base.iter().enumerate() {
            let lv = l.as_ref().expect("the optimum is feasible on every path");
            let (dv, _) = d
                .as_ref()
                .unwrap_or_else(|| panic!("{name}: path {s} not direct"));
            assert!(
                (dv - lv).abs() <= 1e-7 * lv.abs().max(1.0),
                "{name} path {s}: direct {dv}, solver {lv}"
            );
            direct += 1;
        }
        assert_eq!(direct, paths as usize);
        // Points moved off the optimum, a deterministic spread of directions: each first-stage
        // commitment scaled by its own factor in [0.85, 1.05], the rules' coefficients by one
        // factor (so that a rule's commitment keeps its sign on every path).
        let nf = solved.layout.first.len();
        let mut checked = 0;
        for k in 1..=6u32 {
            let f = [0.8, 0.9, 0.95, 1.03, 1.1, 1.2][k as usize - 1];
            let x1: Vec<f64> = x0
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    if i >= nf {
                        return v * f;
                    }
                    let u = ((i as u32 + 1).wrapping_mul(2654435761u32.wrapping_mul(k)) >> 16)
                        as f64
                        / 65536.0;
                    v * (0.85 + 0.2 * u)
                })
                .collect();
            let moved = at(&x1);
            for (s, ((d0, _), (d1, l1))) in base.iter().zip(&moved).enumerate() {
                let (v0, g0) = d0.as_ref().unwrap();
                let Some(v1) = l1 else { continue };
                if let Some((dv1, _)) = d1 {
                    assert!(
                        (dv1 - v1).abs() <= 1e-7 * v1.abs().max(1.0),
                        "{name} path {s}, point {k}: direct {dv1}, solver {v1}"
                    );
                }
                let step: f64 = g0
                    .iter()
                    .zip(x1.iter().zip(&x0))
                    .map(|(g, (a, b))| g * (a - b))
                    .sum();
                assert!(
                    *v1 <= v0 + step + 1e-7 * v0.abs().max(1.0),
                    "{name} path {s}, point {k}: V(x') = {v1} above the cut {}",
                    v0 + step
                );
                checked += 1;
            }
        }
        assert!(
            checked >= paths as usize,
            "{name}: {checked} moved points checked"
        );
    }
}

#[test]
fn paths_built_alike_hold_one_copy_of_their_names() {
    // Every path of frontier-lab's programme has the same layout, so every later path's
    // variable and row names are the first path's, shared rather than copied.
    let sc = scenario(include_str!("../../../examples/frontier-lab.toml"));
    let engine = Engine::new(&sc, 3, 5, &[]).unwrap();
    let model = build(&sc, &engine, &CapacitySettings::new(3, 5)).unwrap();
    let s = &model.program.scenarios;
    for later in &s[1..] {
        assert_eq!(later.vars.len(), s[0].vars.len());
        assert_eq!(later.rows.len(), s[0].rows.len());
        for (v, t) in later.vars.iter().zip(&s[0].vars) {
            assert!(std::sync::Arc::ptr_eq(&v.name, &t.name), "{}", v.name);
        }
        for (r, t) in later.rows.iter().zip(&s[0].rows) {
            assert!(std::sync::Arc::ptr_eq(&r.name, &t.name), "{}", r.name);
        }
    }
}

#[test]
fn the_programme_is_the_same_built_on_any_thread_count() {
    // Paths with linear decision rules are built in parallel; each path's rows depend only on
    // its draws, so one and three threads give the same programme, names shared alike.
    let sc = scenario(include_str!("../../../examples/startup.toml"));
    let engine = Engine::new(&sc, 9, 3, &[]).unwrap();
    let set = CapacitySettings::new(9, 3);
    let on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| build(&sc, &engine, &set).unwrap().program)
    };
    assert_eq!(on(1), on(3));
}
