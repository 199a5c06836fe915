//! `gigawatt compare`: two scenario files, one plan, the same paths → print.

use std::path::PathBuf;
use std::process::ExitCode;

use gigawatt_study::compare::{self, CompareRequest};

use crate::common;

/// Arguments of `gigawatt compare`.
#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// The first scenario file.
    pub first: PathBuf,
    /// The second scenario file (differences are second − first).
    pub second: PathBuf,
    /// The plan, which both files must have (default: each file's first plan).
    #[arg(long)]
    pub plan: Option<String>,
    /// Pair the paths (common random numbers) or not: auto pairs exactly when both files have
    /// the same random streams (uncertain inputs, segments, launches, rounds by name).
    #[arg(long, value_enum, default_value_t = Pairing::Auto)]
    pub pairing: Pairing,
    /// Paths (the same in both files).
    #[arg(long, default_value_t = 5000)]
    pub paths: u64,
    /// Seed, threads, JSON output, strictness and quietness.
    #[command(flatten)]
    pub run: common::RunFlags,
}

/// How `compare` matches the two files' paths.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pairing {
    /// Paired when the files have the same random streams, unpaired otherwise.
    Auto,
    /// Path by path on common random numbers.
    Paired,
    /// Independent seeds; the difference of the means.
    Unpaired,
}

pub fn run(a: &CompareArgs) -> anyhow::Result<ExitCode> {
    let Some(first) = common::load(&a.first, a.run.strict, a.run.quiet)? else {
        return Ok(ExitCode::from(1));
    };
    let Some(second) = common::load(&a.second, a.run.strict, a.run.quiet)? else {
        return Ok(ExitCode::from(1));
    };
    let pool = common::pool(a.run.threads)?;
    let req = CompareRequest {
        paths: a.paths,
        seed: a.run.seed.unwrap_or(first.simulation.seed),
        plan: a.plan.clone(),
        paired: match a.pairing {
            Pairing::Auto => None,
            Pairing::Paired => Some(true),
            Pairing::Unpaired => Some(false),
        },
    };
    let notes = common::Notes { quiet: a.run.quiet };
    let r = pool.install(|| compare::compare(&first, &second, &req, &notes))?;
    common::print_report(a.run.json, &compare::json(&r), || compare::text(&r))
}
