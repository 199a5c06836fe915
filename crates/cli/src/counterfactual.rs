//! `gigawatt counterfactual`: flags → request → the same paths with and without an event →
//! print and write.

use std::path::PathBuf;
use std::process::ExitCode;

use gigawatt_study::counterfactual::{self, CounterfactualRequest};

use crate::common;

/// Arguments of `gigawatt counterfactual`.
#[derive(clap::Args, Debug)]
pub struct CounterfactualArgs {
    /// Scenario file (TOML).
    pub file: PathBuf,
    /// The launch event to switch off, by name.
    #[arg(long, value_name = "EVENT")]
    pub without: String,
    /// The plan (default: the scenario's first plan).
    #[arg(long)]
    pub plan: Option<String>,
    /// Paths (both runs use the same paths).
    #[arg(long, default_value_t = 5000)]
    pub paths: u64,
    /// Seed, threads, JSON output, strictness and quietness.
    #[command(flatten)]
    pub run: common::RunFlags,
}

pub fn run(a: &CounterfactualArgs) -> anyhow::Result<ExitCode> {
    let Some(sc) = common::load(&a.file, a.run.strict, a.run.quiet)? else {
        return Ok(ExitCode::from(1));
    };
    let pool = common::pool(a.run.threads)?;
    let req = CounterfactualRequest {
        paths: a.paths,
        seed: a.run.seed.unwrap_or(sc.simulation.seed),
        event: a.without.clone(),
        plan: a.plan.clone(),
    };
    let notes = common::Notes { quiet: a.run.quiet };
    let r = pool.install(|| counterfactual::counterfactual(&sc, &req, &notes))?;
    common::print_report(a.run.json, &counterfactual::json(&r), || {
        counterfactual::text(&r)
    })
}
