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
    /// Paths (the same in both files).
    #[arg(long, default_value_t = 5000)]
    pub paths: u64,
    /// Seed, threads, JSON output, strictness and quietness.
    #[command(flatten)]
    pub run: common::RunFlags,
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
    };
    let notes = common::Notes { quiet: a.run.quiet };
    let r = pool.install(|| compare::compare(&first, &second, &req, &notes))?;
    common::print_report(a.run.json, &compare::json(&r), || compare::text(&r))
}
