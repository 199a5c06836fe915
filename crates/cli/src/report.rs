//! `gigawatt report`: flags → request → a simulation (and a tornado when asked) → one
//! self-contained HTML page, and an XLSX workbook when asked.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use gigawatt_study::html::{self, ReportRequest};

use crate::common;

/// Arguments of `gigawatt report`.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Scenario file (TOML).
    pub file: PathBuf,
    /// The HTML file to write (self-contained: opens offline, prints to PDF).
    #[arg(long, default_value = "report.html", value_name = "FILE")]
    pub out: PathBuf,
    /// Also write the results as an XLSX workbook (Summary, Yearly, Monthly, Inputs sheets).
    #[arg(long, value_name = "FILE")]
    pub xlsx: Option<PathBuf>,
    /// Add a Paths sheet (one row per path and plan) to the workbook.
    #[arg(long, requires = "xlsx")]
    pub per_path: bool,
    /// Plans to report, by name (repeatable; default: every plan and the no-new-commitments
    /// baseline).
    #[arg(long)]
    pub plan: Vec<String>,
    /// Paths to simulate (at most 1,000,000: every path's outcomes are kept for the charts).
    #[arg(long, default_value_t = 10_000)]
    pub paths: u64,
    /// Add a tornado of the first plan's NPV (two runs per uncertain input).
    #[arg(long)]
    pub sensitivity: bool,
    /// Add a ranking of the first plan's projects: which to drop first.
    #[arg(long)]
    pub rank: bool,
    /// Add Sobol indices of the first plan's NPV (variance shares, with intervals).
    #[arg(long)]
    pub sobol: bool,
    /// Paths per tornado, ranking or Sobol run.
    #[arg(long, default_value_t = 2_000)]
    pub sensitivity_paths: u64,
    /// Switch this launch or event off (repeatable): the report of the counterfactual world, on the same
    /// draws otherwise.
    #[arg(long, value_name = "EVENT")]
    pub without_event: Vec<String>,
    /// Show a `gigawatt plan` result (its result.json or --json output): commitments, frontier.
    #[arg(long, value_name = "FILE")]
    pub plan_results: Option<PathBuf>,
    /// Seed, threads, JSON output, strictness and quietness.
    #[command(flatten)]
    pub run: common::RunFlags,
}

/// Most paths a report keeps in memory (each path's outcomes feed the distribution charts).
const MAX_REPORT_PATHS: u64 = 1_000_000;

pub fn run(a: &ReportArgs) -> anyhow::Result<ExitCode> {
    if a.paths > MAX_REPORT_PATHS {
        anyhow::bail!(
            "--paths {} is more than a report keeps ({MAX_REPORT_PATHS}): every path's outcomes are held for the charts; use `simulate` for larger runs",
            a.paths
        );
    }
    let Some(sc) = common::load(&a.file, a.run.strict, a.run.quiet)? else {
        return Ok(ExitCode::from(1));
    };
    let sc = common::without_events(sc, &a.without_event)?;
    let source = std::fs::read_to_string(&a.file)
        .with_context(|| format!("cannot read {}", a.file.display()))?;
    let plan_results = match &a.plan_results {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            let doc: serde_json::Value = serde_json::from_str(&text).with_context(|| {
                format!("{} is not JSON: pass the result.json of `gigawatt plan --out DIR` or its --json output", p.display())
            })?;
            if doc["format"] != "gigawatt-plan" {
                anyhow::bail!(
                    "{} is not a `gigawatt plan` result (its \"format\" is not \"gigawatt-plan\")",
                    p.display()
                );
            }
            Some(doc)
        }
        None => None,
    };
    let pool = common::pool(a.run.threads)?;
    let req = ReportRequest {
        paths: a.paths,
        seed: a.run.seed.unwrap_or(sc.simulation.seed),
        plans: a.plan.clone(),
        sensitivity: a.sensitivity,
        sensitivity_paths: a.sensitivity_paths,
        rank: a.rank,
        sobol: a.sobol,
        plan_results,
    };
    let notes = common::Notes { quiet: a.run.quiet };
    gigawatt_study::Progress::note(&notes, &format!("simulating {} paths...", a.paths));
    let file = a.file.display().to_string();
    let r = pool.install(|| html::report(&sc, &source, &file, &req, &notes))?;
    gigawatt_io::write_atomic(&a.out, r.html.as_bytes())?;
    gigawatt_study::Progress::note(&notes, &format!("wrote {}", a.out.display()));
    if let Some(path) = &a.xlsx {
        let started = std::time::Instant::now();
        let notes_by_field = gigawatt_io::source_notes(&source);
        let bytes =
            gigawatt_study::xlsx::workbook(&sc, &r.simulation, &notes_by_field, a.per_path)?;
        gigawatt_io::write_atomic(path, &bytes)?;
        gigawatt_study::Progress::note(
            &notes,
            &format!(
                "wrote {} in {:.0} ms",
                path.display(),
                started.elapsed().as_secs_f64() * 1e3
            ),
        );
    }
    if a.run.json {
        common::print_report(
            true,
            &gigawatt_study::render::json(&r.simulation),
            String::new,
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
