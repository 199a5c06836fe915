//! Helpers shared by the engine's known-answer tests: read a scenario, run one plan on path 0.

#![allow(dead_code)]

use gigawatt_model::ValidScenario;
use gigawatt_sim::{Draws, Engine, PathOutcome, Recording, Scratch, SERIES};

/// Reads a scenario that must be valid (warnings allowed).
pub fn scenario(src: &str) -> ValidScenario {
    let (sc, d) = gigawatt_io::read_str(src, "test.toml");
    sc.unwrap_or_else(|| panic!("{d:?}"))
}

/// Plan `pi` on path 0, with its monthly series and yearly statements.
pub fn run_path(sc: &ValidScenario, pi: usize) -> PathOutcome {
    let e = Engine::new(sc, 1, 1, &[]).unwrap();
    let (u, _) = e.block_uniforms(0, 1);
    let mut d = Draws::default();
    e.draw(0, &u[0], &mut d);
    let mut out = PathOutcome::default();
    let rec = Recording {
        monthly: true,
        yearly: true,
    };
    e.run_plan_with(pi, &d, &mut Scratch::default(), rec, &mut out);
    out
}

/// One monthly series of a path, by name.
pub fn series(o: &PathOutcome, name: &str) -> Vec<f64> {
    o.monthly[SERIES.iter().position(|s| *s == name).unwrap()].clone()
}
