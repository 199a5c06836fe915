//! `gigawatt rank`: flags → `gigawatt_study::rank::RankRequest` → ranking → print and write.

use std::path::PathBuf;
use std::process::ExitCode;

use gigawatt_study::rank::{self, RankRequest};

use crate::common;

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
    /// Risk weight of the ranking score: change in expected NPV − λ · change in CVaR95 of NPV
    /// loss (0: expected NPV alone).
    #[arg(long, default_value_t = 0.0)]
    pub lambda: f64,
    /// Also the sequential drop-first order: drop the best project, re-rank the rest on the
    /// same paths, repeat while a drop raises the score.
    #[arg(long)]
    pub greedy: bool,
    /// Paths (the plan and every variant run on the same paths).
    #[arg(long, default_value_t = 5000)]
    pub paths: u64,
    /// Write rank.json and rank.csv here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Switch this launch or event off (repeatable), every other draw unchanged: the analysis of the
    /// world without it.
    #[arg(long, value_name = "EVENT")]
    pub without_event: Vec<String>,
    /// Seed, threads, JSON output, strictness and quietness.
    #[command(flatten)]
    pub run: common::RunFlags,
}

pub fn run(a: &RankArgs) -> anyhow::Result<ExitCode> {
    let Some(sc) = common::load(&a.file, a.run.strict, a.run.quiet)? else {
        return Ok(ExitCode::from(1));
    };
    let sc = common::without_events(sc, &a.without_event)?;
    let pool = common::pool(a.run.threads)?;
    if let Some(dir) = &a.out {
        gigawatt_io::prepare_out_dir(dir)?;
    }
    let req = RankRequest {
        paths: a.paths,
        seed: a.run.seed.unwrap_or(sc.simulation.seed),
        plan: a.plan.clone(),
        add_from: a.add_from.clone(),
        lambda: a.lambda,
        greedy: a.greedy,
    };
    if !(a.lambda.is_finite() && a.lambda >= 0.0) {
        anyhow::bail!("--lambda must be a number >= 0");
    }
    let notes = common::Notes { quiet: a.run.quiet };
    let report = pool.install(|| rank::rank(&sc, &req, &notes))?;
    let doc = rank::json(&report);
    if let Some(dir) = &a.out {
        common::write_json(&dir.join("rank.json"), &doc)?;
        gigawatt_io::write_atomic(&dir.join("rank.csv"), rank::csv(&report).as_bytes())?;
    }
    common::print_report(a.run.json, &doc, || rank::text(&report))
}
