//! `gigawatt simulate`: evaluate the scenario's plans over many paths.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use gigawatt_sim::{report, Engine, RunConfig};

use crate::check::{load_or_report, render_diagnostics};
use crate::print_stdout;

/// Arguments of `gigawatt simulate`.
#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// Scenario file (TOML).
    pub file: PathBuf,
    /// Number of paths (default: the scenario's `simulation.paths`).
    #[arg(long)]
    pub paths: Option<u64>,
    /// Seed (default: the scenario's `simulation.seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Simulate only this plan (repeat for several; default: all plans).
    #[arg(long = "plan")]
    pub plans: Vec<String>,
    /// Print the result as JSON (format `gigawatt-simulation` v1) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Write result.json, monthly.csv (per-month percentiles) and, with --per-path, paths.csv here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write every path's outcomes to DIR/paths.csv (memory grows with paths).
    #[arg(long, requires = "out")]
    pub per_path: bool,
    /// Treat scenario warnings as errors.
    #[arg(long)]
    pub strict: bool,
    /// No progress bar or timing on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(a: &SimulateArgs) -> anyhow::Result<ExitCode> {
    let (sc, diags) = load_or_report(&a.file, a.strict)?;
    if !a.quiet || sc.is_none() {
        eprint!("{}", render_diagnostics(&diags));
    }
    let Some(sc) = sc else {
        return Ok(ExitCode::from(1));
    };
    let paths = a.paths.unwrap_or(sc.simulation.paths as u64);
    if paths == 0 {
        anyhow::bail!("--paths must be at least 1");
    }
    let seed = a.seed.unwrap_or(sc.simulation.seed);
    let engine = Engine::new(&sc, paths, seed, &a.plans).map_err(anyhow::Error::msg)?;
    let cfg = RunConfig {
        paths,
        monthly: a.out.is_some(),
        per_path: a.per_path,
    };
    let threads = a.threads.unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start worker threads")?;
    let bar = if a.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(paths)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} paths ({eta} left)",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let started = Instant::now();
    let mut result = pool.install(|| {
        gigawatt_sim::run(&engine, &cfg, &|done| {
            // Only draw once a run has taken a moment, so short runs stay quiet.
            if started.elapsed().as_millis() > 500 {
                bar.set_position(done);
            }
        })
    });
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let doc = report::to_json(&sc, &engine, &mut result, seed);
    if let Some(dir) = &a.out {
        let json = serde_json::to_string_pretty(&doc)? + "\n";
        gigawatt_io::write_atomic(&dir.join("result.json"), json.as_bytes())?;
        gigawatt_io::write_atomic(
            &dir.join("monthly.csv"),
            report::monthly_csv(&sc, &engine, &result).as_bytes(),
        )?;
        if a.per_path {
            gigawatt_io::write_atomic(
                &dir.join("paths.csv"),
                report::per_path_csv(&engine, &result).as_bytes(),
            )?;
        }
    }
    if a.json {
        print_stdout(&(serde_json::to_string_pretty(&doc)? + "\n"))?;
    } else {
        print_stdout(&report::to_text(&doc))?;
    }
    if !a.quiet {
        let pm = paths as f64 * engine.months as f64 * engine.plans.len() as f64;
        eprintln!(
            "{paths} paths x {} months x {} plan(s) in {elapsed:.2} s ({:.1} M path-months/s)",
            engine.months,
            engine.plans.len(),
            pm / elapsed / 1e6
        );
        if let Some(dir) = &a.out {
            eprintln!("wrote {}", dir.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
