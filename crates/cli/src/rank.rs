//! `gigawatt rank`: flags → `gigawatt_study::rank::RankRequest` → ranking → print and write.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use gigawatt_study::rank::{self, RankRequest};

use crate::check::{load_or_report, render_diagnostics};
use crate::print_stdout;

/// Arguments of `gigawatt rank`.
#[derive(clap::Args, Debug)]
pub struct RankArgs {
    /// Scenario file (TOML).
    pub file: PathBuf,
    /// The plan whose projects (its commitments, grouped by option) are ranked (default: the
    /// scenario's first plan).
    #[arg(long)]
    pub plan: Option<String>,
    /// Candidate projects to try adding: the commitments of this plan, grouped by option.
    #[arg(long, value_name = "PLAN")]
    pub add_from: Option<String>,
    /// Paths (the plan and every variant run on the same paths).
    #[arg(long, default_value_t = 5000)]
    pub paths: u64,
    /// Seed (default: the scenario's seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the result as JSON (format `gigawatt-rank` v1) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Write rank.json and rank.csv here.
    #[arg(long)]
    pub out: Option<PathBuf>,
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

pub fn run(a: &RankArgs) -> anyhow::Result<ExitCode> {
    let (sc, diags) = load_or_report(&a.file, a.strict)?;
    if !a.quiet || sc.is_none() {
        eprint!("{}", render_diagnostics(&diags));
    }
    let Some(sc) = sc else {
        return Ok(ExitCode::from(1));
    };
    let threads = crate::check_threads(a.threads)?;
    if let Some(dir) = &a.out {
        gigawatt_io::prepare_out_dir(dir)?;
    }
    let req = RankRequest {
        paths: a.paths,
        seed: a.seed.unwrap_or(sc.simulation.seed),
        plan: a.plan.clone(),
        add_from: a.add_from.clone(),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start worker threads")?;
    let notes = Notes { quiet: a.quiet };
    let report = pool.install(|| rank::rank(&sc, &req, &notes))?;
    let doc = rank::json(&report);
    if let Some(dir) = &a.out {
        gigawatt_io::write_atomic(
            &dir.join("rank.json"),
            (serde_json::to_string_pretty(&doc)? + "\n").as_bytes(),
        )?;
        gigawatt_io::write_atomic(&dir.join("rank.csv"), rank::csv(&report).as_bytes())?;
    }
    if a.json {
        print_stdout(&(serde_json::to_string_pretty(&doc)? + "\n"))
    } else {
        print_stdout(&rank::text(&report))
    }
}
