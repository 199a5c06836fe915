//! `gigawatt simulate`: evaluate the scenario's plans over many paths.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use gigawatt_study::{cases, render, SimulateRequest};

use crate::common;

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
    /// Write result.json, monthly.csv (per-month percentiles), yearly.csv (yearly statements)
    /// and, with --per-path, paths.csv and paths_yearly.csv (each path's yearly statements) here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write every path's outcomes to DIR/paths.csv (memory grows with paths).
    #[arg(long, requires = "out")]
    pub per_path: bool,
    /// Print yearly financial statements (revenue, costs, capex, free cash flow, funding, cash)
    /// and put them in the JSON; with --out they are always written to yearly.csv.
    #[arg(long)]
    pub yearly: bool,
    /// With --out, skip monthly.csv: the run then costs no more than without --out.
    #[arg(long, requires = "out")]
    pub no_monthly: bool,
    /// Treat scenario warnings as errors.
    #[arg(long)]
    pub strict: bool,
    /// Stop once every plan's NPV standard error is at most this many USD (checked every
    /// 8,192 paths; --paths is then the most it runs). Under Latin hypercube a stopped run covers
    /// part of the strata: estimates stay unbiased but lose some of the stratification's gain.
    #[arg(long)]
    pub target_npv_se_usd: Option<f64>,
    /// Evaluate the plans on the scenario's named `[[cases]]` (weighted by their probabilities)
    /// instead of sampled paths.
    #[arg(long, conflicts_with_all = ["out", "per_path"])]
    pub cases: bool,
    /// Do not add the automatic "no-new-commitments" comparison plan (the existing fleet alone).
    #[arg(long)]
    pub no_baseline: bool,
    /// Hold an uncertain input at a value on every path: `--set ID=VALUE` (an input's `id`, or
    /// its field path such as segments[0].growth.drift_per_year). Repeatable; every other draw
    /// stays as in the run without it.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Multiply a driver by a factor on every path: `--scale api-demand=1.5` (a [[groups]]
    /// name, an input's `id` or field path, or a field-path prefix such as segments[0].growth,
    /// which takes every input under it). Repeatable; every other draw stays as it was.
    #[arg(long = "scale", value_name = "DRIVER=FACTOR")]
    pub scale: Vec<String>,
    /// Switch this launch or event off (repeatable): every other draw stays the same, so the run is the
    /// counterfactual of the one without the flag, path by path.
    #[arg(long, value_name = "EVENT")]
    pub without_event: Vec<String>,
    /// No progress bar or timing on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Progress on stderr: a bar once a run has taken half a second, on a terminal only.
struct Bar {
    bar: indicatif::ProgressBar,
    started: Instant,
}

impl gigawatt_study::Progress for Bar {
    fn paths_done(&self, done: u64, _total: u64) {
        // Only draw once a run has taken a moment, so short runs stay quiet.
        if self.started.elapsed().as_millis() > 500 {
            self.bar.set_position(done);
        }
    }
}

pub fn run(a: &SimulateArgs) -> anyhow::Result<ExitCode> {
    let Some(sc) = common::load(&a.file, a.strict, a.quiet)? else {
        return Ok(ExitCode::from(1));
    };
    let sc = common::without_events(sc, &a.without_event)?;
    let req = SimulateRequest {
        plans: a.plans.clone(),
        baseline: !a.no_baseline,
        monthly: a.out.is_some() && !a.no_monthly,
        per_path: a.per_path,
        target_npv_se_usd: a.target_npv_se_usd,
        overrides: parse_sets(&a.set, "--set", "ft_growth=0.5")?,
        scales: parse_sets(&a.scale, "--scale", "api-demand=1.5")?,
        yearly: a.yearly || a.out.is_some(),
        ..SimulateRequest::new(
            a.paths.unwrap_or(sc.simulation.paths as u64),
            a.seed.unwrap_or(sc.simulation.seed),
        )
    };
    let pool = common::pool(a.threads)?;
    if !a.quiet {
        // Say what world is simulated when it is not the file's own.
        for (name, v) in &req.overrides {
            eprintln!("held: {name} = {v} on every path");
        }
        for (name, k) in &req.scales {
            eprintln!("scaled: every input of {name} × {k} on every path");
        }
        for e in &a.without_event {
            eprintln!("switched off: {e}");
        }
    }
    if let Some(dir) = &a.out {
        // Fail now, not after the whole run.
        gigawatt_io::prepare_out_dir(dir)?;
    }
    if a.cases {
        let (sc, engine) = gigawatt_study::engine_for(&sc, &req)?;
        let r = gigawatt_study::simulate_cases(&sc, &engine)?;
        return common::print_report(a.json, &cases::json(&r), || cases::text(&r));
    }
    let bar = if a.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(req.paths)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} paths ({eta} left)",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let progress = Bar {
        bar,
        started: Instant::now(),
    };
    let report = pool.install(|| gigawatt_study::simulate(&sc, &req, &progress))?;
    progress.bar.finish_and_clear();
    let elapsed = progress.started.elapsed().as_secs_f64();
    if let Some(p) = &report.precision {
        say_precision(p, report.paths);
    }
    let doc = render::json(&report);
    if let Some(dir) = &a.out {
        common::write_json(&dir.join("result.json"), &doc)?;
        if req.monthly {
            gigawatt_io::write_atomic(
                &dir.join("monthly.csv"),
                render::monthly_csv(&report).as_bytes(),
            )?;
        }
        if a.per_path {
            gigawatt_io::write_atomic(
                &dir.join("paths.csv"),
                render::per_path_csv(&report).as_bytes(),
            )?;
            let segments: Vec<String> = sc.segments.iter().map(|g| g.name.clone()).collect();
            gigawatt_io::write_atomic(
                &dir.join("paths_yearly.csv"),
                render::per_path_yearly_csv(&report, &segments).as_bytes(),
            )?;
        }
        gigawatt_io::write_atomic(
            &dir.join("yearly.csv"),
            render::yearly_csv(&report).as_bytes(),
        )?;
    }
    common::print_report(a.json, &doc, || render::text(&report))?;
    if !a.quiet {
        let done = report.paths;
        let (months, plans) = (report.horizon.2, report.plans.len());
        let pm = done as f64 * months as f64 * plans as f64;
        eprintln!(
            "{done} paths x {months} months x {plans} plan(s) in {elapsed:.2} s ({:.1} M path-months/s)",
            pm / elapsed / 1e6
        );
        if let Some(dir) = &a.out {
            eprintln!("wrote {}", dir.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `NAME=VALUE` pairs of `--set`.
/// `NAME=VALUE` pairs of a repeatable flag (`flag`, with `example` for the message).
fn parse_sets(sets: &[String], flag: &str, example: &str) -> anyhow::Result<Vec<(String, f64)>> {
    sets.iter()
        .map(|s| {
            let (name, value) = s.split_once('=').ok_or_else(|| {
                anyhow::anyhow!("{flag} takes NAME=VALUE, such as {flag} {example} (got `{s}`)")
            })?;
            let v: f64 = value
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{flag} {s}: `{value}` is not a number"))?;
            Ok((name.trim().to_string(), v))
        })
        .collect()
}

/// Says on stderr whether the precision target was reached (the exit status does not change).
fn say_precision(p: &gigawatt_study::PrecisionOutcome, paths: u64) {
    let (target, achieved, max) = (p.target_npv_se_usd, p.npv_se_achieved_usd, p.max_paths);
    if p.reached {
        eprintln!(
            "precision target reached: NPV standard error {achieved:.4e} USD <= {target:.4e} USD after {paths} of at most {max} paths"
        );
    } else {
        eprintln!(
            "precision target NOT reached: after all {paths} paths the NPV standard error is {achieved:.4e} USD, above the {target:.4e} USD asked; \
             raise --paths (the error falls as 1/sqrt(paths): about {:.0} paths would be needed)",
            (paths as f64 * (achieved / target).powi(2)).ceil()
        );
    }
}
