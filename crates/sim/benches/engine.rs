//! Criterion benchmarks of the Monte Carlo engine on the example scenarios.
//!
//! Run: `cargo bench -p gigawatt-sim --bench engine`. Figures and the end-to-end command are
//! recorded in BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gigawatt_sim::{
    run, Draws, Engine, LaneScratch, PathOutcome, Recording, RunConfig, Scratch, LANES,
};

fn load(src: &str) -> gigawatt_model::ValidScenario {
    gigawatt_io::read_str(src, "bench.toml")
        .0
        .expect("example scenario is valid")
}

fn bench(c: &mut Criterion) {
    let sc = load(include_str!("../../../examples/frontier-lab.toml"));
    let paths = 2048u64;
    let e = Engine::new(&sc, paths, 1, &[]).unwrap();
    let mut g = c.benchmark_group("frontier-lab");
    g.sample_size(10);
    g.throughput(Throughput::Elements(
        paths * e.months as u64 * e.plans.len() as u64,
    ));
    let cfg = RunConfig {
        paths,
        monthly: false,
        per_path: false,
        overrides: Vec::new(),
        scales: Vec::new(),
        yearly: false,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    g.bench_function("run 2048 paths x 2 plans, 1 thread", |b| {
        b.iter(|| pool.install(|| run(&e, &cfg, &|_| {})))
    });
    // The inner loop alone: one plan on one path, draws prepared.
    let (u, _) = e.block_uniforms(0, 1);
    let mut d = Draws::default();
    e.draw(0, &u[0], &mut d);
    let mut s = Scratch::default();
    let mut out = PathOutcome::default();
    g.throughput(Throughput::Elements(e.months as u64));
    g.bench_function("run_plan announced, one path", |b| {
        b.iter(|| e.run_plan(0, &d, &mut s, false, &mut out))
    });
    // The same plan on LANES paths at once (the bulk runner's way), per path-month.
    let dl = e.draws(0, LANES);
    let mut ls = LaneScratch::default();
    let mut outs: [PathOutcome; LANES] = Default::default();
    g.throughput(Throughput::Elements((LANES * e.months) as u64));
    g.bench_function(format!("run_plan_lanes announced, {LANES} paths"), |b| {
        b.iter(|| {
            let d: [&Draws; LANES] = std::array::from_fn(|l| &dl[l]);
            e.run_plan_lanes(0, d, &mut ls, Recording::default(), outs.each_mut(), None)
        })
    });
    g.throughput(Throughput::Elements(e.months as u64));
    g.bench_function("draw one path", |b| b.iter(|| e.draw(0, &u[0], &mut d)));
    g.finish();
}

/// What `--out`'s cells cost: the same run without and with the monthly and yearly cells, at
/// enough paths (20,480) that every cell is sketched, as in a large run; the ratio of the two
/// is `--out`'s overhead less writing the files (issue 13's target is at most 1.3).
fn cells(c: &mut Criterion) {
    let sc = load(include_str!("../../../examples/frontier-lab.toml"));
    let paths = 20 * 1024u64;
    let e = Engine::new(&sc, paths, 1, &[]).unwrap();
    let mut g = c.benchmark_group("frontier-lab cells");
    g.sample_size(10);
    g.throughput(Throughput::Elements(
        paths * e.months as u64 * e.plans.len() as u64,
    ));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    for cells in [false, true] {
        let cfg = RunConfig {
            paths,
            monthly: cells,
            per_path: false,
            overrides: Vec::new(),
            scales: Vec::new(),
            yearly: cells,
        };
        let name = if cells {
            "run 20480 paths with monthly and yearly cells, 1 thread"
        } else {
            "run 20480 paths, 1 thread"
        };
        g.bench_function(name, |b| b.iter(|| pool.install(|| run(&e, &cfg, &|_| {}))));
    }
    g.finish();
}

criterion_group!(benches, bench, cells);
criterion_main!(benches);
