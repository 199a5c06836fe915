//! What the run subcommands share: loading the scenario (diagnostics on stderr), the worker
//! pool, progress notes on stderr, and printing a report as JSON or as text.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use gigawatt_model::ValidScenario;

use crate::check::{load_or_report, render_diagnostics};
use crate::print_stdout;

/// Loads and validates `file`, printing its diagnostics (unless `quiet` and it is valid).
/// `None` means it has errors (already printed): the caller exits with status 1.
pub(crate) fn load(
    file: &Path,
    strict: bool,
    quiet: bool,
) -> anyhow::Result<Option<ValidScenario>> {
    let (sc, diags) = load_or_report(file, strict)?;
    if !quiet || sc.is_none() {
        eprint!("{}", render_diagnostics(&diags));
    }
    Ok(sc)
}

/// The scenario with each named launch or event switched off (`--without-event`), every other draw
/// unchanged.
pub(crate) fn without_events(
    mut sc: ValidScenario,
    events: &[String],
) -> anyhow::Result<ValidScenario> {
    for event in events {
        sc = gigawatt_study::counterfactual::without_launch(&sc, event)?.0;
    }
    Ok(sc)
}

/// A worker pool of `threads` threads (None: all cores), bounded by [`crate::MAX_THREADS`].
pub(crate) fn pool(threads: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    let n = crate::check_threads(threads)?;
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .context("cannot start worker threads")
}

/// Progress notes on stderr, unless quiet.
pub(crate) struct Notes {
    pub quiet: bool,
}

impl gigawatt_study::Progress for Notes {
    fn note(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }
}

/// Prints `doc` as pretty JSON, or the text report.
pub(crate) fn print_report(
    json: bool,
    doc: &serde_json::Value,
    text: impl FnOnce() -> String,
) -> anyhow::Result<ExitCode> {
    if json {
        print_stdout(&(serde_json::to_string_pretty(doc)? + "\n"))
    } else {
        print_stdout(&text())
    }
}

/// Writes `doc` as pretty JSON to `path` (atomically).
pub(crate) fn write_json(path: &Path, doc: &serde_json::Value) -> anyhow::Result<()> {
    gigawatt_io::write_atomic(path, (serde_json::to_string_pretty(doc)? + "\n").as_bytes())?;
    Ok(())
}

/// Flags every analysis subcommand takes.
#[derive(clap::Args, Debug)]
pub(crate) struct RunFlags {
    /// Seed (default: the scenario's seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the result as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Treat scenario warnings as errors.
    #[arg(long)]
    pub strict: bool,
    /// No progress notes on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}
