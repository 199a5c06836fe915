//! Engine tests against independently known answers: a hand-computed deterministic case,
//! the closed-form lognormal shortfall probability, and properties that must always hold.

use gigawatt_model::{normal_cdf, Scenario, ValidScenario};
use gigawatt_sim::{
    run, Draws, Engine, LaneScratch, PathOutcome, Recording, RunConfig, Scratch, LANES, SERIES,
};
use proptest::prelude::*;

/// Absolute tolerance for hand-computed dollar figures.
const USD_TOL: f64 = 1e-6;

fn scenario(src: &str) -> ValidScenario {
    let (sc, d) = gigawatt_io::read_str(src, "test.toml");
    assert!(
        sc.is_some(),
        "{}",
        d.iter().map(|d| d.render()).collect::<String>()
    );
    sc.unwrap()
}

/// Runs plan `pi` on one path with monthly recording.
fn one_path(sc: &ValidScenario, pi: usize, path: u64) -> PathOutcome {
    let e = Engine::new(sc, 1, 1, &[]).unwrap();
    let (u, _) = e.block_uniforms(path, 1);
    let mut d = Draws::default();
    e.draw(path, &u[0], &mut d);
    let mut out = PathOutcome::default();
    e.run_plan(pi, &d, &mut Scratch::default(), true, &mut out);
    out
}

fn series<'a>(o: &'a PathOutcome, name: &str) -> &'a [f64] {
    &o.monthly[SERIES.iter().position(|s| *s == name).unwrap()]
}

fn assert_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (t, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= USD_TOL * w.abs().max(1.0),
            "{what}[{t}]: got {g}, want {w}"
        );
    }
}

/// Two segments, an owned fleet, a lease with a two-month lead time, a funding round and
/// backstop draws; every monthly figure is worked out by hand in the comments.
const HAND: &str = r#"
format_version = 1
horizon = { start = "2026-01", end = "2026-06" }
discount_rate_per_year = 0.0

[[segments]]
name = "a"
start_units_per_month = 100.0
h100e_months_per_unit = 1.0
price_usd_per_unit = 100.0
growth = { process = "log" }
priority = 1

[[segments]]
name = "b"
start_units_per_month = 50.0
h100e_months_per_unit = 2.0
price_usd_per_unit = 50.0
growth = { process = "log" }
churn_share_pu = 0.5
priority = 2

[research]
extra_cap_share_pu = 0.0

[[generations]]
name = "g"
h100e_per_unit = 1.0
kw_per_unit = 1.0
price_usd_per_unit = 1000.0
life_years = 5.0

[[fleet]]
generation = "g"
units = 150.0
installed = "2025-01"

[power]
availability_pu = 1.0
power_price_usd_per_mwh = 100.0
pue = 1.0

[[options]]
name = "cloud"
kind = "lease"
lead_time_months = 2
term_months = 3
price_usd_per_h100e_month = 20.0

[finance]
starting_cash_usd = 1000.0
min_cash_usd = 0.0
backstop_rate_per_year = 0.12
non_compute_opex_usd_per_month = 2000.0
it_depreciation_years = 5.0

[[finance.rounds]]
month = "2026-04"
amount_usd = 5000.0

[[plans]]
name = "lease"
commitments = [{ option = "cloud", month = "2026-01", h100e = 100.0 }]
"#;

/// The hand-computed case without the lease, and three burst offers: `cheap` (30 H100e at
/// $10), `dear` (40 H100e at a drawn $5–15, so paths order the two differently) and `too_dear`
/// ($40, above segment b's revenue of $50 / 2 = $25 per H100e-month, so never bought).
fn hand_with_bursts(cheap_cap: f64, dear_cap: f64) -> String {
    let src = HAND.replace(
        "commitments = [{ option = \"cloud\", month = \"2026-01\", h100e = 100.0 }]",
        "commitments = []",
    );
    let bursts = format!(
        "[[options]]\nname = \"cheap\"\nkind = \"burst\"\n\
         price_usd_per_h100e_month = 10.0\ncap_h100e = {cheap_cap}\n\n\
         [[options]]\nname = \"dear\"\nkind = \"burst\"\n\
         price_usd_per_h100e_month = {{ dist = \"uniform\", min = 5.0, max = 15.0, id = \"dear_price\" }}\n\
         cap_h100e = {dear_cap}\n\n\
         [[options]]\nname = \"too_dear\"\nkind = \"burst\"\n\
         price_usd_per_h100e_month = 40.0\ncap_h100e = 100.0\n\n[finance]"
    );
    let src = src.replacen("[finance]", &bursts, 1);
    assert!(src.contains("too_dear") && src.contains("commitments = []"));
    src
}

/// Each of `paths` paths run in lanes, with the `dear` offer's drawn price on it.
fn lanes_with_dear_price(sc: &ValidScenario, paths: usize) -> Vec<(PathOutcome, f64)> {
    let e = Engine::new(sc, paths as u64, 3, &[]).unwrap();
    let dear = e.input_named("dear_price").unwrap();
    let (u, _) = e.block_uniforms(0, paths);
    let draws = e.draws(0, paths);
    let rec = Recording {
        monthly: true,
        yearly: false,
    };
    let mut ls = LaneScratch::default();
    let mut got = Vec::new();
    for (g, group) in draws.chunks_exact(LANES).enumerate() {
        let d: [&Draws; LANES] = std::array::from_fn(|l| &group[l]);
        let mut outs: [PathOutcome; LANES] = Default::default();
        e.run_plan_lanes(0, d, &mut ls, rec, outs.each_mut(), None);
        for (l, o) in outs.into_iter().enumerate() {
            let p = g * LANES + l;
            got.push((o, e.input_quantile(dear, u[p][dear])));
        }
    }
    got
}

#[test]
fn burst_covers_a_shortfall_cheapest_first_in_each_paths_own_order() {
    // Every month segment b is 50 H100e short of the fleet's 150 (the hand-computed case's
    // month 0). Burst covers it: with `dear` under $10, all 40 of it, then 10 of `cheap`;
    // otherwise all 30 of `cheap`, then 20 of `dear`. Fully served, b never churns, so every
    // month is the same: revenue 100 x $100 + 50 x $50 = $12,500 against the fleet's $12,950
    // of costs (power $10,950, other opex $2,000) plus the burst bill.
    let sc = scenario(&hand_with_bursts(30.0, 40.0));
    let got = lanes_with_dear_price(&sc, 2 * LANES);
    let below = got.iter().filter(|(_, p)| *p < 10.0).count();
    assert!(below > 0 && below < got.len(), "both orders occur: {below}");
    for (o, p) in &got {
        let bill = if *p < 10.0 {
            40.0 * p + 10.0 * 10.0
        } else {
            30.0 * 10.0 + 20.0 * p
        };
        assert_close(series(o, "burst_h100e"), &[50.0; 6], "burst");
        assert_close(series(o, "served_h100e"), &[200.0; 6], "served");
        assert_close(series(o, "unserved_h100e"), &[0.0; 6], "unserved");
        assert_close(series(o, "free_cash_flow_usd"), &[-450.0 - bill; 6], "fcf");
    }
}

#[test]
fn burst_dearer_than_the_revenue_it_serves_is_not_bought() {
    // `cheap` and `dear` hold 10 H100e each, so 30 of b's 50 short stay unserved in month 0:
    // `too_dear` has room but costs more than b earns per H100e-month.
    let sc = scenario(&hand_with_bursts(10.0, 10.0));
    for (o, p) in lanes_with_dear_price(&sc, LANES) {
        assert_close(&series(&o, "burst_h100e")[..1], &[20.0], "burst");
        assert_close(&series(&o, "unserved_h100e")[..1], &[30.0], "unserved");
        let revenue = 11250.0 + 10.0 * 25.0 + 10.0 * 25.0;
        let fcf = revenue - 12950.0 - (10.0 * 10.0 + 10.0 * p);
        assert_close(&series(&o, "free_cash_flow_usd")[..1], &[fcf], "fcf");
    }
}

#[test]
fn hand_computed_case_matches_every_month() {
    let sc = scenario(HAND);
    let o = one_path(&sc, 0, 0);
    // Demand: a needs 100 H100e; b needs 50 x 2 = 100, then loses 0.5 x its unserved share.
    // t0: b served 50 of 100 -> churn 0.75; t1: b needs 75, served 50 -> x(1 - 0.5/3) = 0.625.
    assert_close(
        series(&o, "demand_h100e"),
        &[200.0, 175.0, 162.5, 162.5, 162.5, 162.5],
        "demand",
    );
    // Fleet 150; the lease adds 100 from t2 (lead 2) for three months.
    assert_close(
        series(&o, "capacity_h100e"),
        &[150.0, 150.0, 250.0, 250.0, 250.0, 150.0],
        "capacity",
    );
    assert_close(
        series(&o, "served_h100e"),
        &[150.0, 150.0, 162.5, 162.5, 162.5, 150.0],
        "served",
    );
    assert_close(
        series(&o, "unserved_h100e"),
        &[50.0, 25.0, 0.0, 0.0, 0.0, 12.5],
        "unserved",
    );
    assert_close(
        series(&o, "idle_h100e"),
        &[0.0, 0.0, 87.5, 87.5, 87.5, 0.0],
        "idle",
    );
    // Revenue: a 100 x $100; b served/2 units x $50.
    assert_close(
        series(&o, "revenue_usd"),
        &[11250.0, 11250.0, 11562.5, 11562.5, 11562.5, 11250.0],
        "revenue",
    );
    // Costs: power 0.15 MW x 730 h x $100 = 10,950; opex 2,000; lease 100 x $20 = 2,000 in t2..t4.
    assert_close(
        series(&o, "free_cash_flow_usd"),
        &[-1700.0, -1700.0, -3387.5, -3387.5, -3387.5, -1700.0],
        "fcf",
    );
    // Backstop at 1 %/month: t0 draws 700 (cash 1,000 - 1,700); t1 1,707; t2 3,411.57;
    // t3 the $5,000 round repays 1,554.3143; t4 draws 3,430.142557; t5 1,776.94398257.
    let interest = [0.0, 7.0, 24.07, 58.1857, 42.642557, 76.94398257];
    assert_close(series(&o, "interest_usd"), &interest, "interest");
    assert_close(
        series(&o, "funding_usd"),
        &[0.0, 0.0, 0.0, 5000.0, 0.0, 0.0],
        "funding",
    );
    assert_close(
        series(&o, "debt_usd"),
        &[700.0, 2407.0, 5818.57, 4264.2557, 7694.398257, 9471.34224],
        "debt",
    );
    assert_close(
        series(&o, "backstop_drawn_usd"),
        &[700.0, 2407.0, 5818.57, 5818.57, 9248.712557, 11025.65653957],
        "gap",
    );
    assert_close(series(&o, "cash_usd"), &[0.0; 6], "cash");
    assert!((o.funding_gap_usd - 11025.65653957).abs() < 1e-6);
    // Lowest cash before financing: t4, 0 - 3,387.5 - 42.642557.
    assert!(
        (o.min_cash_usd - (-3430.142557)).abs() < 1e-6,
        "{}",
        o.min_cash_usd
    );
    // NPV at 0 %: sum of FCF (-15,262.5) + fleet book value 150,000 x (1 - 18/60) = 105,000.
    assert!((o.npv_usd - 89737.5).abs() < 1e-6, "{}", o.npv_usd);
    assert!((o.unserved_share - 87.5 / 1025.0).abs() < 1e-12);
    assert!((o.utilisation - 937.5 / 1200.0).abs() < 1e-12);
    // Idle cost: 87.5/250 of (power 10,950 + lease 2,000 + depreciation 2,500) in t2..t4.
    assert!((o.idle_cost_usd - 3.0 * 0.35 * 15450.0).abs() < 1e-6);
    assert_eq!(
        o.first_profitable_year, 2027.0,
        "never profitable inside the horizon"
    );
    assert_eq!(o.shortfall_years, 1, "shortfall in 2026 only");
}

#[test]
fn lognormal_shortfall_probability_matches_closed_form() {
    // ln D_t = ln 100 + t (mu/12 - s^2/2) + s sqrt(t) Z; capacity 150 x 0.95 availability.
    let src = r#"
format_version = 1
horizon = { start = "2026-01", end = "2027-12" }
simulation = { sampling = "monte_carlo" }
[[segments]]
name = "d"
start_units_per_month = 100.0
h100e_months_per_unit = 1.0
price_usd_per_unit = 1.0
growth = { process = "log", drift_per_year = 0.3, volatility_per_month = 0.06 }
[[generations]]
name = "g"
h100e_per_unit = 1.0
kw_per_unit = 1.0
price_usd_per_unit = 1.0
[[fleet]]
generation = "g"
units = 150.0
"#;
    let sc = scenario(src);
    let n = 20_000u64;
    let e = Engine::new(&sc, n, 11, &[]).unwrap();
    let mut d = Draws::default();
    let mut s = Scratch::default();
    let mut out = PathOutcome::default();
    let months = [6usize, 12, 23];
    let mut hits = [0u64; 3];
    for block in 0..n.div_ceil(1024) {
        let first = block * 1024;
        let (u, _) = e.block_uniforms(first, (n - first).min(1024) as usize);
        for (i, row) in u.iter().enumerate() {
            e.draw(first + i as u64, row, &mut d);
            e.run_plan(0, &d, &mut s, true, &mut out);
            for (k, &t) in months.iter().enumerate() {
                hits[k] += u64::from(series(&out, "unserved_h100e")[t] > 0.0);
            }
        }
    }
    let (mu, sig) = (0.3 / 12.0, 0.06);
    for (k, &t) in months.iter().enumerate() {
        let t = t as f64;
        let z = ((150.0f64 * 0.95).ln() - 100.0f64.ln() - t * (mu - 0.5 * sig * sig))
            / (sig * t.sqrt());
        let p = 1.0 - normal_cdf(z);
        let p_hat = hits[k] as f64 / n as f64;
        let se = (p * (1.0 - p) / n as f64).sqrt();
        // Four standard errors: fails by chance about once in 16,000 runs (and the seed is fixed).
        assert!(
            (p_hat - p).abs() < 4.0 * se,
            "month {t}: simulated {p_hat}, closed form {p}, se {se}"
        );
    }
}

/// A run of `paths` paths with monthly percentiles, nothing else recorded.
fn monthly_config(paths: u64) -> RunConfig {
    RunConfig {
        paths,
        monthly: true,
        per_path: false,
        overrides: Vec::new(),
        scales: Vec::new(),
        yearly: false,
    }
}

fn run_json(sc: &ValidScenario, paths: u64, threads: usize) -> Vec<gigawatt_sim::PlanAcc> {
    let e = Engine::new(sc, paths, 5, &[]).unwrap();
    let cfg = monthly_config(paths);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| run(&e, &cfg, &|_| {})).plans
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let sc = scenario(include_str!("../../../examples/startup.toml"));
    let a = run_json(&sc, 3000, 1);
    let b = run_json(&sc, 3000, 2);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.metrics, y.metrics);
        assert_eq!(x.monthly, y.monthly);
        assert_eq!(x.shortfall, y.shortfall);
    }
}

#[test]
fn blocks_run_apart_serialised_and_merged_in_order_give_the_same_result() {
    // A sharded run: each block on its own, its accumulators sent as bytes (postcard), then
    // merged in block order. The result must equal a single run's bit for bit, including
    // monthly percentiles, yearly statements, tails and per-path outcomes.
    let sc = scenario(include_str!("../../../examples/startup.toml"));
    let paths = 3 * gigawatt_sim::BLOCK + 100;
    let e = Engine::new(&sc, paths, 5, &[]).unwrap();
    let cfg = RunConfig {
        paths,
        monthly: true,
        per_path: true,
        overrides: Vec::new(),
        scales: Vec::new(),
        yearly: true,
    };
    let whole = run(&e, &cfg, &|_| {});
    let mut merger = gigawatt_sim::Merger::new(&e, &cfg);
    let wire: Vec<Vec<u8>> = (0..paths.div_ceil(gigawatt_sim::BLOCK))
        .map(|b| postcard::to_stdvec(&gigawatt_sim::run_block(&e, &cfg, b)).unwrap())
        .collect();
    // Out of order is refused, not silently merged.
    let last: gigawatt_sim::BlockAcc = postcard::from_bytes(wire.last().unwrap()).unwrap();
    assert!(merger.clone().merge(last).is_err());
    for bytes in &wire {
        let block: gigawatt_sim::BlockAcc = postcard::from_bytes(bytes).unwrap();
        merger.merge(block).unwrap();
    }
    let sharded = merger.finish(false);
    assert_eq!(sharded.paths, paths);
    assert_eq!(sharded.plans, whole.plans);
    assert_eq!(sharded.per_path, whole.per_path);
    assert_eq!(sharded.achieved_correlation, whole.achieved_correlation);
}

#[test]
fn adding_an_input_does_not_change_the_others_draws() {
    // A whole new segment (five new inputs) leaves the existing inputs' draws unchanged under
    // plain Monte Carlo and Latin hypercube, whose streams are keyed by input name. (Sobol
    // points are assigned to inputs in key order, so there a new input can shift the others.)
    for sampling in [
        gigawatt_model::Sampling::MonteCarlo,
        gigawatt_model::Sampling::LatinHypercube,
    ] {
        let mut base = scenario(include_str!("../../../examples/startup.toml")).into_inner();
        base.simulation.sampling = sampling;
        base.correlations.clear();
        let mut more = base.clone();
        let mut extra = more.segments[1].clone();
        extra.name = "batch".into();
        // Input ids are unique in a valid scenario: the copy's growth drift gets its own.
        if let gigawatt_model::Growth::Log { drift_per_year, .. } = &mut extra.growth {
            drift_per_year.id = Some("batch_growth".into());
        }
        extra.start_units_per_month = gigawatt_model::Uncertain {
            dist: gigawatt_model::Dist::Uniform {
                min: 10.0,
                max: 20.0,
            },
            id: Some("batch_start".into()),
        };
        more.segments.push(extra);
        let (base, more) = (valid(base), valid(more));
        let draws = |sc: &ValidScenario, path: &str| {
            let e = Engine::new(sc, 100, 3, &[]).unwrap();
            let (u, _) = e.block_uniforms(0, 100);
            let i = e.input_index(path).unwrap();
            u.iter().map(|r| r[i]).collect::<Vec<f64>>()
        };
        for path in [
            "segments[0].price_usd_per_unit",
            "segments[0].efficiency_gain_per_year",
            "segments[1].growth.drift_per_year",
        ] {
            assert_eq!(
                draws(&base, path),
                draws(&more, path),
                "{path} under {sampling:?}"
            );
        }
        assert!(Engine::new(&more, 10, 3, &[])
            .unwrap()
            .input_index("segments[2].start_units_per_month")
            .is_some());
    }
}

fn hand_with(capacity_units: f64, price_a: f64) -> PathOutcome {
    let mut sc = scenario(HAND).into_inner();
    sc.fleet[0].units = capacity_units;
    sc.segments[1].churn_share_pu = 0.0;
    sc.segments[0].price_usd_per_unit = price_a.into();
    one_path(&valid(sc), 0, 0)
}

/// Validates a scenario a test changed.
fn valid(sc: Scenario) -> ValidScenario {
    ValidScenario::new(sc).unwrap_or_else(|e| panic!("{}", gigawatt_model::errors_to_string(&e)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn more_capacity_never_increases_unserved_demand(c1 in 0.0f64..400.0, extra in 0.0f64..200.0) {
        // Without churn or quality feedback, demand does not depend on capacity.
        let a = hand_with(c1, 100.0);
        let b = hand_with(c1 + extra, 100.0);
        for t in 0..6 {
            prop_assert!(series(&b, "unserved_h100e")[t] <= series(&a, "unserved_h100e")[t] + 1e-9);
        }
    }

    #[test]
    fn a_higher_price_never_lowers_revenue(p1 in 0.0f64..500.0, up in 0.0f64..500.0) {
        let a = hand_with(150.0, p1);
        let b = hand_with(150.0, p1 + up);
        prop_assert!(b.cum_revenue_usd >= a.cum_revenue_usd - 1e-9);
    }

    #[test]
    fn cash_identity_holds_every_month(path in 0u64..50) {
        // cash - debt changes by exactly FCF - interest + funding each month.
        let sc = scenario(include_str!("../../../examples/startup.toml"));
        for pi in 0..sc.plans.len() {
            let o = one_path(&sc, pi, path);
            let (cash, debt) = (series(&o, "cash_usd"), series(&o, "debt_usd"));
            let (fcf, int, fund) = (series(&o, "free_cash_flow_usd"), series(&o, "interest_usd"), series(&o, "funding_usd"));
            let mut equity = sc.finance.starting_cash_usd;
            for t in 0..cash.len() {
                equity += fcf[t] - int[t] + fund[t];
                let got = cash[t] - debt[t];
                prop_assert!((got - equity).abs() <= 1e-6 * equity.abs().max(1.0), "month {t}: {got} vs {equity}");
                prop_assert!(cash[t] >= sc.finance.min_cash_usd - 1e-6);
            }
        }
    }
}

/// Any scenario that passes validation simulates without panicking, and every reported
/// number is finite. Exhaustive rather than sampled, so CI sees the same cases every run: each
/// `key = value` line of the startup example in turn gets each of a set of awkward values.
#[test]
fn rules_see_only_the_past() {
    // A launch that triples demand from 2028-07 on changes nothing a rule decided before then,
    // and changes something after (the rule reacts once the jump is observed).
    let mut base = scenario(include_str!("../../../examples/startup.toml")).into_inner();
    // Monte Carlo keys every input by name, so the new launch's input moves no other draw.
    base.simulation.sampling = gigawatt_model::Sampling::MonteCarlo;
    let mut jumped = base.clone();
    jumped.segments[0].launches.push(gigawatt_model::Launch {
        name: "surprise".into(),
        window_start: gigawatt_model::Month::new(2028, 7),
        window_end: gigawatt_model::Month::new(2028, 7),
        probability_pu: 1.0,
        jump_pu: 2.0.into(),
        decay_half_life_months: None,
    });
    let (base, jumped) = (valid(base), valid(jumped));
    let cut = gigawatt_model::Month::new(2028, 7).since(base.horizon.start);
    let rule_plan = base.plans.iter().position(|p| !p.rules.is_empty()).unwrap();
    let mut changed_after = false;
    for path in 0..20 {
        let a = one_path(&base, rule_plan, path).rule_commitments;
        let b = one_path(&jumped, rule_plan, path).rule_commitments;
        let before = |v: &Vec<(usize, i32, f64)>| {
            v.iter().filter(|c| c.1 <= cut).cloned().collect::<Vec<_>>()
        };
        assert_eq!(
            before(&a),
            before(&b),
            "path {path}: a rule used the future"
        );
        changed_after |= a != b;
    }
    assert!(changed_after, "the rule never reacted to the jump");
}

/// Retirement of every kind of capacity, by hand. Generation life 1 year; fleet installed
/// 2025-07 (retires at t6), a 5,000 H100e buy and a lease of 200 for 4 months from t0, a 1 MW
/// build (1,000 H100e) from t2. Power $10/MWh, PUE 1, everything else free.
const RETIRE: &str = include_str!("data/retire.toml");

/// A buy rule on 1 kW chips into 10 MW of powered space, with demand growing far beyond it.
const BUY_RULE: &str = include_str!("data/buy_rule.toml");

#[test]
fn r8_every_kind_of_capacity_stays_retired() {
    let sc = scenario(RETIRE);
    let o = one_path(&sc, 0, 0);
    // Fleet 100 until t6; buy 5,000 until t12; lease 200 until t4; build 1,000 from t2 to t14.
    let mut want = vec![0.0; 18];
    for (t, w) in want.iter_mut().enumerate() {
        *w = if t < 6 { 100.0 } else { 0.0 }
            + if t < 12 { 5000.0 } else { 0.0 }
            + if t < 4 { 200.0 } else { 0.0 }
            + if (2..14).contains(&t) { 1000.0 } else { 0.0 };
    }
    assert_close(series(&o, "capacity_h100e"), &want, "capacity");
    // The buy alone: 5,000 H100e for 12 months, then nothing, and no power bill after it
    // retires (5 MW x 730 h x $10 = 36,500 a month; the fleet's 0.1 MW adds 730 until t6).
    let o = one_path(&sc, 1, 0);
    let cap: Vec<f64> = (0..18)
        .map(|t| {
            if t < 6 {
                5100.0
            } else if t < 12 {
                5000.0
            } else {
                0.0
            }
        })
        .collect();
    assert_close(series(&o, "capacity_h100e"), &cap, "buy capacity");
    let fcf: Vec<f64> = (0..18)
        .map(|t| {
            let capex = if t == 0 { 5_000_000.0 } else { 0.0 };
            let power = if t < 6 {
                37_230.0
            } else if t < 12 {
                36_500.0
            } else {
                0.0
            };
            -capex - power
        })
        .collect();
    assert_close(series(&o, "free_cash_flow_usd"), &fcf, "buy free cash flow");
}

#[test]
fn r8_undelivered_build_is_valued_at_what_was_paid() {
    // A 1 MW build committed at t0 with a 24-month lead on a 6-month horizon pays half its
    // $1M facility capex at t0 and half on arrival: at the end it is work in progress worth
    // the $500k paid, so NPV at 0 % is -500k + 500k = 0. The chips are paid on arrival: 0.
    let src = r#"
format_version = 1
horizon = { start = "2026-01", end = "2026-06" }
discount_rate_per_year = 0.0
[[segments]]
name = "d"
start_units_per_month = 1.0
h100e_months_per_unit = 1.0
price_usd_per_unit = 0.0
growth = { process = "log" }
[[generations]]
name = "g"
h100e_per_unit = 1.0
kw_per_unit = 1.0
price_usd_per_unit = 1000.0
[power]
power_price_usd_per_mwh = 0.0
[[options]]
name = "campus"
kind = "build"
generation = "g"
lead_time_months = 24
capex_usd_per_mw = 1000000.0
capex_schedule_pu = [0.5, 0.5]
[[plans]]
name = "p"
commitments = [{ option = "campus", month = "2026-01", mw = 1.0 }]
"#;
    let sc = scenario(src);
    let o = one_path(&sc, 0, 0);
    let fcf = series(&o, "free_cash_flow_usd");
    assert!((fcf[0] + 500_000.0).abs() < USD_TOL, "{fcf:?}");
    assert!(o.npv_usd.abs() < USD_TOL, "npv {}", o.npv_usd);
}

#[test]
fn r8_a_buy_rule_commits_only_what_powered_space_can_hold() {
    // 10 MW of powered space at PUE 1 holds 10,000 chips of 1 kW; demand grows far beyond it.
    // The rule may commit at most 10,000 H100e over the horizon (nothing retires inside it),
    // and it does commit that much.
    let src = BUY_RULE;
    let sc = scenario(src);
    let o = one_path(&sc, 0, 0);
    let committed: f64 = o.rule_commitments.iter().map(|c| c.2).sum();
    assert!(
        (committed - 10_000.0).abs() < 1e-6,
        "committed {committed} H100e into room for 10,000"
    );
    let cap = series(&o, "capacity_h100e");
    assert!(cap.iter().all(|c| *c <= 10_000.0 + 1e-9), "{cap:?}");
    assert_eq!(cap[23], 10_000.0);
}

#[test]
fn r7_an_explicit_zero_power_price_means_free_power() {
    // RETIRE's campus says power_price_usd_per_mwh = 0.0: its 1 MW is free from t2 to t14. The
    // same campus without the field pays the site's $10/MWh: 1 MW x 730 h x $10 = 7,300 a month.
    let commit = "commitments = [{ option = \"campus\", month = \"2026-03\", mw = 1.0 }]";
    let base = RETIRE.replace(
        "[[plans]]\nname = \"all\"",
        &format!("[[plans]]\nname = \"campus\"\n{commit}\n[[plans]]\nname = \"all\""),
    );
    let free = one_path(&scenario(&base), 0, 0);
    let paid = one_path(
        &scenario(&base.replace("pue = 1.0\npower_price_usd_per_mwh = 0.0\n", "pue = 1.0\n")),
        0,
        0,
    );
    let (f, p) = (
        series(&free, "free_cash_flow_usd"),
        series(&paid, "free_cash_flow_usd"),
    );
    for t in 0..18 {
        let want = if (2..14).contains(&t) { 7_300.0 } else { 0.0 };
        assert!(
            (f[t] - p[t] - want).abs() < 1e-6,
            "t{t}: {} vs {}",
            f[t],
            p[t]
        );
    }
}

#[test]
fn r7_nothing_of_a_generation_arrives_before_it_is_available() {
    // The buy rule of the space test, with chips available only from 2026-09 (month 8): the
    // rule may order earlier, but no chip arrives (and no capex is paid) before month 8.
    let src = &BUY_RULE.replace(
        "price_usd_per_unit = 1.0\n[power]",
        "price_usd_per_unit = 1.0\navailable_from = \"2026-09\"\n[power]",
    );
    let o = one_path(&scenario(src), 0, 0);
    assert!(!o.rule_commitments.is_empty());
    let cap = series(&o, "capacity_h100e");
    assert!(cap[..8].iter().all(|c| *c == 0.0), "{cap:?}");
    assert!(cap[8] > 0.0, "{cap:?}");
    // A fixed commitment in month 0 also waits for month 8.
    let fixed = src.replace(
        "rules = [{ option = \"chips\", every_months = 1, percentile_pu = 0.5, headroom_pu = 0.5 }]",
        "commitments = [{ option = \"chips\", month = \"2026-01\", h100e = 100.0 }]",
    );
    let o = one_path(&scenario(&fixed), 0, 0);
    let cap = series(&o, "capacity_h100e");
    assert!(
        cap[..8].iter().all(|c| *c == 0.0) && cap[8] == 100.0,
        "{cap:?}"
    );
}

#[test]
fn r7_an_explicit_zero_cap_means_nothing_can_be_committed() {
    // The buy rule of the space test with max_h100e = 0: it commits nothing. Absent, it
    // commits (the space test: 10,000 H100e).
    let src = &BUY_RULE.replace(
        "lead_time_months = 2\n",
        "lead_time_months = 2\nmax_h100e = 0.0\n",
    );
    let o = one_path(&scenario(src), 0, 0);
    assert!(o.rule_commitments.is_empty(), "{:?}", o.rule_commitments);
    let o = one_path(&scenario(&src.replace("max_h100e = 0.0\n", "")), 0, 0);
    assert!(!o.rule_commitments.is_empty());
}

#[test]
fn yearly_statements_close_and_sum_the_monthly_amounts_on_every_path() {
    // Every example and plan, a few paths each: opening cash + flows = closing cash in every
    // year, and each line equals the sum of the engine's own monthly amounts.
    use gigawatt_sim::yl;
    // The startup example with pools too: owned chips drawing half their power idle, and the
    // cloud lease at a use fee.
    let startup = include_str!("../../../examples/startup.toml");
    let pooled = startup.replacen(
        "name = \"neocloud\"\nkind = \"lease\"",
        "name = \"neocloud\"\nkind = \"lease\"\npool = \"cloud\"",
        1,
    ) + "\n[[pools]]\nname = \"owned\"\nidle_power_share_pu = 0.5\n\
         [[pools]]\nname = \"cloud\"\nserves = [\"api\"]\nuse_fee_usd_per_h100e_hour = 0.3\n";
    assert!(pooled.contains("pool = \"cloud\""));
    for src in [
        startup,
        include_str!("../../../examples/launch-spike.toml"),
        include_str!("../../../examples/frontier-lab.toml"),
        &pooled,
    ] {
        let sc = scenario(src);
        let e = Engine::new(&sc, 8, 5, &[]).unwrap();
        let (u, _) = e.block_uniforms(0, 8);
        let mut d = Draws::default();
        let mut out = PathOutcome::default();
        for (path, row) in u.iter().enumerate() {
            e.draw(path as u64, row, &mut d);
            for pi in 0..e.plans.len() {
                e.run_plan(pi, &d, &mut Scratch::default(), true, &mut out);
                let years = (e.end_year - e.start_year + 1) as usize;
                assert_eq!(out.yearly.len(), years);
                let month0 = sc.horizon.start.month() as usize - 1;
                let mut t0 = 0;
                for (k, y) in out.yearly.iter().enumerate() {
                    let scale = y.iter().fold(1.0f64, |m, x| m.max(x.abs()));
                    let close = y[yl::CASH_START] + y[yl::FCF] - y[yl::INTEREST]
                        + y[yl::ROUNDS]
                        + y[yl::VENDOR_INVESTMENT]
                        + y[yl::CREDIT_DRAWN]
                        + y[yl::BACKSTOP_DRAWN]
                        - y[yl::REPAID];
                    assert!(
                        (close - y[yl::CASH_END]).abs() <= 1e-9 * scale,
                        "year {k}: {close} vs {}",
                        y[yl::CASH_END]
                    );
                    let t1 = if k == 0 { 12 - month0 } else { t0 + 12 }.min(e.months);
                    let sum = |name: &str| series(&out, name)[t0..t1].iter().sum::<f64>();
                    for (line, name) in [
                        (yl::REVENUE, "revenue_usd"),
                        (yl::FCF, "free_cash_flow_usd"),
                        (yl::INTEREST, "interest_usd"),
                        (yl::ROUNDS, "funding_usd"),
                    ] {
                        let want = sum(name);
                        assert!(
                            (y[line] - want).abs() <= 1e-9 * scale,
                            "year {k} {name}: {} vs {want}",
                            y[line]
                        );
                    }
                    assert_eq!(y[yl::CASH_END], series(&out, "cash_usd")[t1 - 1]);
                    // Free cash flow is revenue less running costs (revenue shares among them)
                    // less capex and vendor financing.
                    let costs: f64 = [
                        yl::POWER,
                        yl::USAGE_FEES,
                        yl::OPEX,
                        yl::LEASES,
                        yl::BURST,
                        yl::NON_COMPUTE,
                        yl::REVENUE_SHARE,
                    ]
                    .iter()
                    .map(|l| y[*l])
                    .sum();
                    let fcf = y[yl::REVENUE] - costs - y[yl::CAPEX] - y[yl::VENDOR_FINANCING];
                    assert!((fcf - y[yl::FCF]).abs() <= 1e-9 * scale, "year {k}");
                    t0 = t1;
                }
            }
        }
    }
}

#[test]
fn yearly_capex_splits_into_chips_and_facilities_and_revenue_by_segment() {
    // By hand, on the retirement case with the campus costing $2M per MW: in 2026 the buy pays
    // 5,000 chips × $1,000 and the 1 MW campus 1,000 chips × $1,000 (chips $6M) plus its
    // facility (facilities $2M); nothing in 2027.
    let src = RETIRE.replace(
        "pue = 1.0\npower_price_usd_per_mwh = 0.0",
        "pue = 1.0\npower_price_usd_per_mwh = 0.0\ncapex_usd_per_mw = 2000000.0",
    );
    let sc = scenario(&src);
    let o = one_path(&sc, 0, 0);
    use gigawatt_sim::yl;
    assert_eq!(o.yearly.len(), 2);
    assert_eq!(o.yearly[0][yl::CAPEX_CHIPS], 6_000_000.0);
    assert_eq!(o.yearly[0][yl::CAPEX_FACILITIES], 2_000_000.0);
    assert_eq!(o.yearly[0][yl::CAPEX], 8_000_000.0);
    assert_eq!(o.yearly[1][yl::CAPEX_CHIPS], 0.0);
    assert_eq!(o.yearly[1][yl::CAPEX_FACILITIES], 0.0);
    // Revenue by segment: on every example, plan, path and year, the segments add up to the
    // revenue line, and chips and facilities to capex.
    for src in [
        include_str!("../../../examples/startup.toml"),
        include_str!("../../../examples/launch-spike.toml"),
        include_str!("../../../examples/frontier-lab.toml"),
    ] {
        let sc = scenario(src);
        let ns = sc.segments.len();
        for pi in 0..sc.plans.len() {
            for path in 0..3 {
                let o = one_path(&sc, pi, path);
                assert_eq!(o.yearly_segment_revenue.len(), o.yearly.len() * ns);
                for (y, lines) in o.yearly.iter().enumerate() {
                    let scale = lines.iter().fold(1.0f64, |m, x| m.max(x.abs()));
                    let segs: f64 = o.yearly_segment_revenue[y * ns..(y + 1) * ns].iter().sum();
                    assert!((segs - lines[yl::REVENUE]).abs() <= 1e-9 * scale);
                    let split = lines[yl::CAPEX_CHIPS] + lines[yl::CAPEX_FACILITIES];
                    assert!((split - lines[yl::CAPEX]).abs() <= 1e-9 * scale);
                    assert!(lines[yl::CAPEX_CHIPS] >= 0.0);
                }
            }
        }
    }
}

#[test]
fn first_positive_free_cash_flow_year_differs_from_first_profitable_year_by_hand() {
    // Revenue 100 H100e × $1,000 a month = $1.2M a year from 2026; a $2M chip purchase in
    // January 2026 makes 2026's free cash flow 1.2M − 2M < 0, while its operating income
    // (revenue less $0.4M depreciation of the chips and $20k of the fleet's) is positive.
    // So the first profitable year is 2026 and the first year of positive free cash flow 2027.
    let src = r#"
format_version = 1
horizon = { start = "2026-01", end = "2028-12" }
discount_rate_per_year = 0.0
[[segments]]
name = "d"
start_units_per_month = 100.0
h100e_months_per_unit = 1.0
price_usd_per_unit = 1000.0
growth = { process = "log" }
[research]
extra_cap_share_pu = 0.0
[[generations]]
name = "g"
h100e_per_unit = 1.0
kw_per_unit = 1.0
price_usd_per_unit = 1000.0
[[fleet]]
generation = "g"
units = 200.0
[power]
existing_powered_mw = 10.0
power_price_usd_per_mwh = 0.0
[[options]]
name = "chips"
kind = "buy"
generation = "g"
[[plans]]
name = "buy"
commitments = [{ option = "chips", month = "2026-01", h100e = 2000.0 }]
"#;
    let sc = scenario(src);
    let o = one_path(&sc, 0, 0);
    use gigawatt_sim::yl;
    assert!((o.yearly[0][yl::REVENUE] - 1_200_000.0).abs() < USD_TOL);
    assert_eq!(o.yearly[0][yl::CAPEX_CHIPS], 2_000_000.0);
    assert!(o.yearly[0][yl::FCF] < 0.0 && o.yearly[1][yl::FCF] > 0.0);
    assert_eq!(o.first_profitable_year, 2026.0);
    assert_eq!(o.first_positive_fcf_year, 2027.0);
}

#[test]
fn sketched_cells_kept_per_thread_give_what_blocks_merged_in_order_give() {
    // Beyond `monthly_exact_cap` paths every monthly cell is a sketch, and a run keeps each
    // thread's cells across its blocks (merged once at the end) instead of a sketch per cell
    // per block. The result must be the blocks' own, merged in block order, bit for bit, on
    // any number of threads. (Yearly cells take the same route beyond their own cap, 31,000
    // paths here: too slow for a debug test; checked with `diff -r` of `--out` directories,
    // BENCHMARKS.md.)
    let sc = scenario(include_str!("../../../examples/startup.toml"));
    let probe = Engine::new(&sc, 1, 5, &[]).unwrap();
    let monthly_cells = gigawatt_sim::REPORTED_SERIES * probe.months;
    let paths = gigawatt_sim::monthly_exact_cap(monthly_cells) as u64 + 1;
    let e = Engine::new(&sc, paths, 5, &[]).unwrap();
    let cfg = monthly_config(paths);
    let mut merger = gigawatt_sim::Merger::new(&e, &cfg);
    for b in 0..paths.div_ceil(gigawatt_sim::BLOCK) {
        merger.merge(gigawatt_sim::run_block(&e, &cfg, b)).unwrap();
    }
    let blocks = merger.finish(false);
    for threads in [1, 3] {
        let whole = run_json(&sc, paths, threads);
        for (w, b) in whole.iter().zip(&blocks.plans) {
            assert!(!w.monthly[0].0.is_exact());
            assert_eq!(w, b, "{threads} threads");
        }
    }
}

#[test]
fn an_s_curve_without_noise_follows_the_discrete_logistic_then_its_launch() {
    // One segment growing on an S-curve with no volatility: each month's level is the month
    // before's times exp(r (1 − level / K)), r = 1.2 / 12 a month, K = 1,000 units, from 100
    // units (the discrete logistic, worked out below step by step). A launch in 2026-04 (the
    // one month of its window, certain) lifts demand by 50 % from then on, without decay.
    // Demand is units × 1 H100e-month a unit.
    let src = HAND
        .replacen(
            "growth = { process = \"log\" }\npriority = 1",
            "growth = { process = \"s_curve\", saturation_units_per_month = 1000.0, rate_per_year = 1.2, volatility_per_month = 0.0 }\npriority = 1\n\n\
             [[segments.launches]]\nname = \"spike\"\nwindow_start = \"2026-04\"\nwindow_end = \"2026-04\"\nprobability_pu = 1.0\njump_pu = 0.5",
            1,
        )
        .replacen("churn_share_pu = 0.5\n", "", 1);
    assert!(src.contains("s_curve") && !src.contains("churn_share_pu"));
    let out = one_path(&scenario(&src), 0, 0);
    let (r, k) = (0.1, 1000.0);
    let mut level = 100.0_f64;
    let mut want = Vec::new();
    for t in 0..6 {
        if t > 0 {
            level *= (r * (1.0 - level / k)).exp();
        }
        want.push(level * if t >= 3 { 1.5 } else { 1.0 });
    }
    // 100, 109.41, 119.53, 130.38 × 1.5, ...: the first steps by hand.
    assert!((want[1] - 100.0 * (0.09f64).exp()).abs() < 1e-9);
    // Segment b's demand (50 units × 2 H100e-months, log growth without drift, and here
    // without churn) is 100 a month.
    let demand: Vec<f64> = series(&out, "demand_h100e")
        .iter()
        .map(|d| d - 100.0)
        .collect();
    assert_close(&demand, &want, "S-curve demand");
}

#[test]
fn paths_drawn_together_get_each_paths_own_draws() {
    // `draw_many` advances the paths' S-curves month by month together; every path's draws
    // must be the bits it gets drawn alone (S-curves with launches on frontier-lab, launches
    // on launch-spike, a group that is not a whole number of lanes).
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for name in ["frontier-lab.toml", "launch-spike.toml"] {
        let sc = scenario(&std::fs::read_to_string(root.join(name)).unwrap());
        let n = LANES + 3;
        let e = Engine::new(&sc, n as u64, 7, &[]).unwrap();
        let (u, _) = e.block_uniforms(0, n);
        let mut together: Vec<Draws> = (0..n).map(|_| Draws::default()).collect();
        let paths = u.iter().enumerate().map(|(i, u)| (i as u64, &u[..]));
        e.draw_many(paths, &[], &[], &mut together);
        for (i, got) in together.iter().enumerate() {
            let mut alone = Draws::default();
            e.draw_with(i as u64, &u[i], &[], &[], &mut alone);
            assert_eq!(format!("{got:?}"), format!("{alone:?}"), "{name}, path {i}");
        }
        assert_ne!(format!("{:?}", together[0]), format!("{:?}", together[1]));
    }
}

/// The quality index by hand: one segment of 100 H100e a month on 150 H100e, a research floor
/// of 80 H100e served after the segment, elasticity 0.7 and a lag of one month. Research gets
/// what the segment leaves, so delivered over planned falls below one; each month's demand is
/// 100 × Q(t), Q(t) = (Σ delivered / Σ planned up to t − 1)^0.7, and the research the month
/// delivers is min(80, 150 − demand). The recursion is worked with the C library's `pow`; the
/// engine's power (an exp of a log) agrees to a relative 1e-14.
#[test]
fn quality_feedback_follows_delivered_over_planned_research() {
    let src = HAND
        .replace(
            "[research]\nextra_cap_share_pu = 0.0",
            "[research]\nextra_cap_share_pu = 0.0\nfloor_h100e = 80.0\n\
             quality_elasticity = 0.7\nquality_lag_months = 1\n\n\
             [allocation]\norder = [\"segment:a\", \"research_floor\"]",
        )
        .replace(
            "commitments = [{ option = \"cloud\", month = \"2026-01\", h100e = 100.0 }]",
            "commitments = []",
        );
    let mut sc = scenario(&src).into_inner();
    sc.segments.truncate(1);
    let o = one_path(&valid(sc), 0, 0);
    let (mut delivered, mut planned) = (0.0f64, 0.0f64);
    let (mut want_demand, mut want_research) = (Vec::new(), Vec::new());
    for t in 0..6 {
        let q = if t == 0 {
            1.0
        } else {
            (delivered / planned).powf(0.7)
        };
        let demand = 100.0 * q;
        let research = (150.0 - demand).min(80.0);
        delivered += research;
        planned += 80.0;
        want_demand.push(demand);
        want_research.push(research);
    }
    // The ratio climbs back towards one as quality, and so demand, falls.
    assert!(want_demand[1] < 75.0 && want_demand[5] > want_demand[1]);
    for (name, want) in [
        ("demand_h100e", &want_demand),
        ("research_h100e", &want_research),
    ] {
        for (t, (g, w)) in series(&o, name).iter().zip(want.iter()).enumerate() {
            assert!((g - w).abs() <= 1e-14 * w, "{name}[{t}]: got {g}, want {w}");
        }
    }
}
