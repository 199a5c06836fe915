//! The `gigawatt` command-line tool: thin layer over the library crates.
//!
//! Exit codes: 0 success; 1 the scenario has errors (or warnings under `--strict`);
//! 2 the command could not run (bad arguments, unreadable file, failed write).

mod check;
mod common;
mod compare;
mod counterfactual;
mod plan;
mod rank;
mod report;
mod sensitivity;
mod simulate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Plan AI compute capacity under uncertain demand.
#[derive(Parser, Debug)]
#[command(name = "gigawatt", version, about, long_about = None, after_help = "\
Examples:
  gigawatt init my-lab                      write a commented starter scenario
  gigawatt check examples/frontier-lab.toml validate a scenario and summarise it
  gigawatt simulate examples/frontier-lab.toml --paths 10000 --out results/
  gigawatt plan examples/startup.toml --paths 30 --out plan/
  gigawatt sensitivity examples/startup.toml --plan buy-own --metric npv_usd
  gigawatt rank examples/frontier-lab.toml --plan announced --paths 2000
  gigawatt counterfactual examples/launch-spike.toml --without image-generator
  gigawatt compare lab/scenario.toml lab/faster-growth.toml --plan steady
  gigawatt schema > scenario.schema.json    JSON Schema for editor completion

Exit codes: 0 ok, 1 scenario has errors, 2 could not run, 3 plan: the programme is infeasible.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write a commented starter scenario (DIR/scenario.toml) that passes `check`.
    Init {
        /// Directory to write into (created if missing).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Overwrite an existing scenario.toml.
        #[arg(long)]
        force: bool,
    },
    /// Validate a scenario file and print a summary, or every problem at once.
    #[command(after_help = "Example:\n  gigawatt check examples/frontier-lab.toml --strict")]
    Check {
        /// Scenario file (TOML).
        file: PathBuf,
        /// Treat warnings as errors.
        #[arg(long)]
        strict: bool,
        /// Print diagnostics (and the summary) as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schema of the scenario format (or the Markdown reference page).
    Schema {
        /// Print the reference page as Markdown instead.
        #[arg(long)]
        markdown: bool,
    },
    /// Simulate every plan of a scenario over many paths and report what each yields and risks.
    #[command(
        after_help = "Examples:\n  gigawatt simulate examples/frontier-lab.toml\n  \
        gigawatt simulate examples/frontier-lab.toml --paths 100000 --seed 7 --threads 2 --json > result.json\n  \
        gigawatt simulate examples/launch-spike.toml --plan headroom --out results/ --per-path"
    )]
    Simulate(simulate::SimulateArgs),
    /// Find the best commitments by stochastic optimisation, then check them by simulation.
    #[command(
        after_help = "Examples:\n  gigawatt plan examples/startup.toml --paths 30\n  \
        gigawatt plan examples/startup.toml --lambda 0.5 --frontier --value-of-information\n  \
        gigawatt plan examples/frontier-lab.toml --paths 200 --solver highs --mip-gap 0.01 --out plan/\n  \
        gigawatt plan examples/frontier-lab.toml --paths 50 --solver highs --decompose --decompose-gap 0.01 --replications 5\n\n\
        Exit codes: 0 plan found, 1 scenario has errors, 2 could not run, 3 the programme is infeasible (diagnosis printed)."
    )]
    Plan(Box<plan::PlanArgs>),
    /// Which inputs drive a metric: each uncertain input held at its p10 and p90 in turn, the
    /// others random, on the same paths (a tornado, largest swing first).
    #[command(
        after_help = "Examples:\n  gigawatt sensitivity examples/startup.toml\n  \
        gigawatt sensitivity examples/frontier-lab.toml --plan announced --metric funding_gap_usd --paths 1000 --out tornado/\n  \
        gigawatt sensitivity examples/startup.toml --plan buy-own --break-even ft_growth --target 0\n  \
        gigawatt sensitivity examples/startup.toml --plan buy-own --versus lease-heavy --break-even price_decline"
    )]
    Sensitivity(sensitivity::SensitivityArgs),
    /// Which projects to drop or add first: the plan without each of its projects (its
    /// commitments grouped by option), and with each candidate, on the same paths.
    #[command(
        after_help = "Examples:\n  gigawatt rank examples/frontier-lab.toml --plan announced\n  \
        gigawatt rank examples/startup.toml --plan lease-heavy --add-from buy-own --json"
    )]
    Rank(rank::RankArgs),
    /// What an event did: a plan on the same paths with and without a launch, metric by metric
    /// (what a launch spike cost research, what it brought in).
    #[command(
        after_help = "Example:\n  gigawatt counterfactual examples/launch-spike.toml --without image-generator --plan as-is"
    )]
    Counterfactual(counterfactual::CounterfactualArgs),
    /// How two scenario files differ for one plan, metric by metric, on the same paths (inputs
    /// are matched by id or field path, so only the changed assumptions differ).
    #[command(
        after_help = "Example:\n  gigawatt compare lab/scenario.toml lab/faster-growth.toml --plan steady --paths 5000"
    )]
    Compare(compare::CompareArgs),
    /// One self-contained HTML report (charts, yearly statements, assumptions) that opens
    /// offline and prints to PDF; optionally an XLSX workbook of the same results.
    #[command(
        after_help = "Examples:\n  gigawatt report examples/frontier-lab.toml --out report.html\n  \
        gigawatt report examples/startup.toml --xlsx results.xlsx --sensitivity\n  \
        gigawatt report examples/startup.toml --plan-results plan/result.json --out startup.html"
    )]
    Report(Box<report::ReportArgs>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Init { dir, force } => check::init(&dir, force),
        Command::Check { file, strict, json } => check::check(&file, strict, json),
        Command::Schema { markdown } => {
            let text = if markdown {
                gigawatt_io::reference_markdown()
            } else {
                gigawatt_io::json_schema()
            };
            print_stdout(&text)
        }
        Command::Simulate(args) => simulate::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Sensitivity(args) => sensitivity::run(&args),
        Command::Rank(args) => rank::run(&args),
        Command::Counterfactual(args) => counterfactual::run(&args),
        Command::Compare(args) => compare::run(&args),
        Command::Report(args) => report::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Most worker threads a run may start: results do not depend on the thread count, and each
/// thread reserves a stack, so asking for far more than the machine's cores only wastes memory.
pub(crate) const MAX_THREADS: usize = 256;

/// Checks `--threads` (None or 0: all cores) against [`MAX_THREADS`].
pub(crate) fn check_threads(threads: Option<usize>) -> anyhow::Result<usize> {
    let t = threads.unwrap_or(0);
    if t > MAX_THREADS {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        anyhow::bail!(
            "--threads {t} is more than the {MAX_THREADS} allowed (this machine has {cores} cores); \
             results are the same on any thread count, so use at most the number of cores"
        );
    }
    Ok(t)
}

/// Prints to stdout; a closed pipe (e.g. `| head`) is not an error.
pub(crate) fn print_stdout(text: &str) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}
