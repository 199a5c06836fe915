//! Paths advanced together in lanes give, bit for bit, what each path gives alone: every plan of
//! every example (rules, training runs, deals, events, launches) and a scenario with capacity
//! pools, with monthly series and yearly statements recorded, over lane buffers reused from one
//! group of paths to the next; and the monthly series and yearly statements a lane writes
//! straight to a block's cells are the path's own; and in a whole run, a block's last paths
//! (fewer than `LANES`, run alone) match the same paths run in lanes.

mod common;

use common::scenario;
use gigawatt_sim::{
    yearly_cells_per_year, Draws, Engine, LaneColumns, LaneScratch, PathOutcome, Recording,
    Scratch, LANES, REPORTED_SERIES,
};

fn example(name: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    std::fs::read_to_string(root.join(name)).unwrap()
}

/// The startup example with its owned chips in one pool and the cloud lease in another.
fn startup_with_pools() -> String {
    let src = example("startup.toml");
    let src = src.replacen(
        "name = \"neocloud\"\nkind = \"lease\"",
        "name = \"neocloud\"\nkind = \"lease\"\npool = \"cloud\"",
        1,
    ) + "\n[[pools]]\nname = \"owned\"\nidle_power_share_pu = 0.5\n\
         [[pools]]\nname = \"cloud\"\nserves = [\"api\"]\nuse_fee_usd_per_h100e_hour = 0.3\n";
    assert!(src.contains("pool = \"cloud\""));
    src
}

/// The startup example with two small burst offers of different caps (so shortfalls use both
/// up) whose prices are drawn, so that paths order them differently: lanes side by side then
/// hold different offers at each position, and each must still give its path's bits.
fn startup_with_two_bursts() -> String {
    let src = example("startup.toml");
    let src = src.replacen(
        "price_usd_per_h100e_month = 3500.0                  # [row 3h] on-demand $2-7/hour\ncap_h100e = 500.0",
        "price_usd_per_h100e_month = { dist = \"uniform\", min = 1500.0, max = 5000.0, id = \"on_demand_price\" }\ncap_h100e = 5.0\n\n\
         [[options]]\nname = \"spot\"\nkind = \"burst\"\n\
         price_usd_per_h100e_month = { dist = \"uniform\", min = 1500.0, max = 5000.0, id = \"spot_price\" }\ncap_h100e = 3.0",
        1,
    );
    assert!(src.contains("spot_price"));
    src
}

/// Every field of a value, floats printed to round-trip (so equal text is equal bits, NaN
/// and −0.0 included).
fn bits<T: std::fmt::Debug>(o: &T) -> String {
    format!("{o:?}")
}

fn assert_lanes_match_single_paths(src: &str, what: &str) {
    let sc = scenario(src);
    let paths = 3 * LANES as u64;
    let e = Engine::new(&sc, paths, 11, &[]).unwrap();
    let draws = e.draws(0, paths as usize);
    let rec = Recording {
        monthly: true,
        yearly: true,
    };
    let mut lanes = LaneScratch::default();
    let mut single = Scratch::default();
    let mut changed = 0;
    for pi in 0..e.plans.len() {
        for group in draws.chunks_exact(LANES) {
            let d: [&Draws; LANES] = std::array::from_fn(|l| &group[l]);
            let mut got: [PathOutcome; LANES] = Default::default();
            e.run_plan_lanes(pi, d, &mut lanes, rec, got.each_mut(), None);
            for (l, g) in got.iter().enumerate() {
                let mut want = PathOutcome::default();
                e.run_plan_with(pi, &group[l], &mut single, rec, &mut want);
                assert_eq!(
                    bits(g),
                    bits(&want),
                    "{what}, plan {pi}, lane {l}: the lane differs from the path alone"
                );
                assert_eq!(want.monthly.len(), gigawatt_sim::SERIES.len());
                changed += usize::from(bits(&want) != bits(&got[0]));
            }
            // The monthly series written straight to the block's cells are the path's own
            // (cell `series × months + month`, the lanes side by side), the sums of segment
            // service (from a start that is not zero) have each path's added in lane order, and
            // the outcome keeps everything else; the yearly statements, when they go to cells
            // too (cell `year × cells a year + cell`), are the path's own lines and segments'
            // revenue, year after year.
            for direct_yearly in [false, true] {
                let cells = REPORTED_SERIES * e.months;
                let mut buf = vec![f64::NAN; cells * LANES];
                let per_year = yearly_cells_per_year(&e);
                let years = (e.end_year - e.start_year + 1) as usize;
                let mut year_buf = vec![f64::NAN; years * per_year * LANES];
                let start: Vec<f64> = (0..e.num_segments() * e.months)
                    .map(|i| 0.1 * i as f64)
                    .collect();
                let mut sums = start.clone();
                let mut got: [PathOutcome; LANES] = Default::default();
                let cols = LaneColumns {
                    cells: &mut buf,
                    segment_served_sum: &mut sums,
                    yearly_cells: direct_yearly.then_some(&mut year_buf[..]),
                };
                e.run_plan_lanes(pi, d, &mut lanes, rec, got.each_mut(), Some(cols));
                let mut want_sums = start;
                for (l, g) in got.iter_mut().enumerate() {
                    let mut want = PathOutcome::default();
                    e.run_plan_with(pi, &group[l], &mut single, rec, &mut want);
                    let lane: Vec<f64> = buf.iter().skip(l).step_by(LANES).copied().collect();
                    let series: Vec<f64> = want.monthly[..REPORTED_SERIES].concat();
                    assert_eq!(bits(&lane), bits(&series), "{what}, plan {pi}, lane {l}");
                    assert!(g.monthly.is_empty() && g.segment_served_h100e.is_empty());
                    for (a, x) in want_sums.iter_mut().zip(&want.segment_served_h100e) {
                        *a += x;
                    }
                    want.monthly.clear();
                    want.segment_served_h100e.clear();
                    if direct_yearly {
                        let lane: Vec<f64> =
                            year_buf.iter().skip(l).step_by(LANES).copied().collect();
                        let ns = e.num_segments();
                        assert_eq!(want.yearly.len(), years, "{what}: a statement a year");
                        let statements: Vec<f64> = (0..years)
                            .flat_map(|y| {
                                let segs = &want.yearly_segment_revenue[y * ns..(y + 1) * ns];
                                want.yearly[y].iter().chain(segs).copied()
                            })
                            .collect();
                        assert_eq!(
                            bits(&lane),
                            bits(&statements),
                            "{what}, plan {pi}, lane {l}: yearly cells"
                        );
                        assert!(g.yearly.is_empty() && g.yearly_segment_revenue.is_empty());
                        want.yearly.clear();
                        want.yearly_segment_revenue.clear();
                    }
                    assert_eq!(bits(g), bits(&want), "{what}, plan {pi}, lane {l}");
                }
                assert_eq!(
                    bits(&sums),
                    bits(&want_sums),
                    "{what}, plan {pi}: segment sums"
                );
            }
        }
    }
    // The lanes carried different paths (else the comparison would prove little).
    assert!(changed > 0, "{what}: every path gave the same outcome");
}

#[test]
fn lanes_equal_single_paths_on_every_example() {
    for name in [
        "frontier-lab.toml",
        "launch-spike.toml",
        "startup.toml",
        "capacity-expansion.toml",
    ] {
        assert_lanes_match_single_paths(&example(name), name);
    }
}

#[test]
fn lanes_equal_single_paths_when_paths_order_their_burst_offers_differently() {
    let src = startup_with_two_bursts();
    let sc = scenario(&src);
    // The premise: among the paths compared, some lanes of a group find the other offer
    // cheaper, and burst is bought.
    let e = Engine::new(&sc, 3 * LANES as u64, 11, &[]).unwrap();
    let (a, b) = (
        e.input_named("on_demand_price").unwrap(),
        e.input_named("spot_price").unwrap(),
    );
    let (u, _) = e.block_uniforms(0, 3 * LANES);
    let price = |p: usize, i: usize| e.input_quantile(i, u[p][i]);
    let cheaper: Vec<bool> = (0..3 * LANES).map(|p| price(p, a) < price(p, b)).collect();
    let draws = e.draws(0, 3 * LANES);
    assert!(cheaper
        .chunks(LANES)
        .any(|g| g.contains(&true) && g.contains(&false)));
    let mut bought = 0.0;
    for d in &draws {
        let mut o = PathOutcome::default();
        let rec = Recording {
            monthly: true,
            yearly: false,
        };
        e.run_plan_with(0, d, &mut Scratch::default(), rec, &mut o);
        let burst = gigawatt_sim::SERIES
            .iter()
            .position(|s| *s == "burst_h100e")
            .unwrap();
        bought += o.monthly[burst].iter().sum::<f64>();
    }
    assert!(bought > 0.0, "no burst bought: the test would prove little");
    assert_lanes_match_single_paths(&src, "startup with two burst offers");
}

#[test]
fn lanes_equal_single_paths_with_capacity_pools() {
    assert_lanes_match_single_paths(&startup_with_pools(), "startup with pools");
}

#[test]
fn a_blocks_last_paths_run_alone_and_match_the_same_paths_in_lanes() {
    // With Monte Carlo sampling a path's draws do not depend on the run's size: in a run of
    // 1,024 + LANES − 1 paths the last block's LANES − 1 paths run one by one, in a run of
    // 1,024 + LANES all its last paths run in lanes. The shared paths give the same outcomes,
    // bit for bit.
    let src = example("frontier-lab.toml").replace(
        "sampling = \"latin_hypercube\"",
        "sampling = \"monte_carlo\"",
    );
    assert!(src.contains("monte_carlo"));
    let sc = scenario(&src);
    let outcomes = |paths: u64| {
        let e = Engine::new(&sc, paths, 5, &[]).unwrap();
        let cfg = gigawatt_sim::RunConfig {
            paths,
            monthly: true,
            per_path: true,
            yearly: true,
            overrides: Vec::new(),
            scales: Vec::new(),
        };
        let r = gigawatt_sim::run(&e, &cfg, &|_| {});
        r.per_path
    };
    let n = 1024 + LANES as u64;
    let (a, b) = (outcomes(n - 1), outcomes(n));
    let plans = sc.plans.len();
    assert_eq!(a.len(), (n as usize - 1) * plans);
    assert_eq!(b.len(), n as usize * plans);
    assert_eq!(bits(&a), bits(&b[..a.len()].to_vec()));
}
