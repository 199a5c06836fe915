//! `gigawatt counterfactual`: flags → request → the same paths with and without an event →
//! print and write.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use gigawatt_study::counterfactual::{self, CounterfactualRequest};

use crate::check::{load_or_report, render_diagnostics};
use crate::print_stdout;

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
    /// Seed (default: the scenario's seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the result as JSON (format `gigawatt-counterfactual` v1) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Treat scenario warnings as errors.
    #[arg(long)]
    pub strict: bool,
    /// No progress notes on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Progress notes on stderr, unless quiet.
struct Notes {
    quiet: bool,
}

impl gigawatt_study::Progress for Notes {
    fn note(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }
}

pub fn run(a: &CounterfactualArgs) -> anyhow::Result<ExitCode> {
    let (sc, diags) = load_or_report(&a.file, a.strict)?;
    if !a.quiet || sc.is_none() {
        eprint!("{}", render_diagnostics(&diags));
    }
    let Some(sc) = sc else {
        return Ok(ExitCode::from(1));
    };
    let threads = crate::check_threads(a.threads)?;
    let req = CounterfactualRequest {
        paths: a.paths,
        seed: a.seed.unwrap_or(sc.simulation.seed),
        event: a.without.clone(),
        plan: a.plan.clone(),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start worker threads")?;
    let notes = Notes { quiet: a.quiet };
    let r = pool.install(|| counterfactual::counterfactual(&sc, &req, &notes))?;
    if a.json {
        print_stdout(&(serde_json::to_string_pretty(&counterfactual::json(&r))? + "\n"))
    } else {
        print_stdout(&counterfactual::text(&r))
    }
}
