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
    /// No progress bar or timing on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(a: &SimulateArgs) -> anyhow::Result<ExitCode> {
    let (sc, diags) = load_or_report(&a.file, a.strict)?;
    if !a.quiet || sc.is_none() {
        eprint!("{}", render_diagnostics(&diags));
    }
    let Some(mut sc) = sc else {
        return Ok(ExitCode::from(1));
    };
    let mut selected = a.plans.clone();
    if !a.no_baseline {
        // Every run answers "compared with doing nothing new?" on the same paths.
        if let Some(name) = gigawatt_sim::add_baseline(&mut sc) {
            if !selected.is_empty() {
                selected.push(name);
            }
        }
    }
    let paths = a.paths.unwrap_or(sc.simulation.paths as u64);
    if paths == 0 {
        anyhow::bail!("--paths must be at least 1");
    }
    if a.target_npv_se_usd
        .is_some_and(|x| x.is_nan() || x <= 0.0 || x.is_infinite())
    {
        anyhow::bail!("--target-npv-se-usd must be a positive number of dollars, such as 1e8");
    }
    let threads = crate::check_threads(a.threads)?;
    if let Some(dir) = &a.out {
        // Fail now, not after the whole run.
        gigawatt_io::prepare_out_dir(dir)?;
    }
    let seed = a.seed.unwrap_or(sc.simulation.seed);
    let engine = Engine::new(&sc, paths, seed, &selected).map_err(anyhow::Error::msg)?;
    if a.cases {
        return run_cases(&sc, &engine, a.json);
    }
    let cfg = RunConfig {
        paths,
        monthly: a.out.is_some() && !a.no_monthly,
        per_path: a.per_path,
    };
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
        gigawatt_sim::run_to_precision(&engine, &cfg, a.target_npv_se_usd, &|done| {
            // Only draw once a run has taken a moment, so short runs stay quiet.
            if started.elapsed().as_millis() > 500 {
                bar.set_position(done);
            }
        })
    });
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let mut doc = report::to_json(&sc, &engine, &mut result, seed);
    if let Some(target) = a.target_npv_se_usd {
        // The largest NPV standard error over plans is the precision achieved.
        let achieved = doc["plans"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["metrics"]["npv_usd"]["se"].as_f64())
            .fold(0.0, f64::max);
        let reached = result.paths > 1 && achieved <= target;
        doc["target_npv_se_usd"] = serde_json::json!(target);
        doc["target_reached"] = serde_json::json!(reached);
        doc["npv_se_achieved_usd"] = serde_json::json!(achieved);
        doc["max_paths"] = serde_json::json!(paths);
        if reached {
            eprintln!(
                "precision target reached: NPV standard error {achieved:.4e} USD <= {target:.4e} USD after {} of at most {paths} paths",
                result.paths
            );
        } else {
            eprintln!(
                "precision target NOT reached: after all {} paths the NPV standard error is {achieved:.4e} USD, above the {target:.4e} USD asked; \
                 raise --paths (the error falls as 1/sqrt(paths): about {:.0} paths would be needed)",
                result.paths,
                (result.paths as f64 * (achieved / target).powi(2)).ceil()
            );
        }
    }
    if let Some(dir) = &a.out {
        let json = serde_json::to_string_pretty(&doc)? + "\n";
        gigawatt_io::write_atomic(&dir.join("result.json"), json.as_bytes())?;
        if cfg.monthly {
            gigawatt_io::write_atomic(
                &dir.join("monthly.csv"),
                report::monthly_csv(&sc, &engine, &mut result).as_bytes(),
            )?;
        }
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
        let done = result.paths;
        let pm = done as f64 * engine.months as f64 * engine.plans.len() as f64;
        eprintln!(
            "{done} paths x {} months x {} plan(s) in {elapsed:.2} s ({:.1} M path-months/s)",
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

/// Reads one outcome metric.
type Field = fn(&gigawatt_sim::PathOutcome) -> f64;

/// Evaluates every plan on each named case: one deterministic path per case.
fn run_cases(
    sc: &gigawatt_model::Scenario,
    engine: &Engine,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use gigawatt_sim::{Draws, PathOutcome, Scratch};
    if sc.cases.is_empty() {
        anyhow::bail!("the scenario has no [[cases]]; add named cases with probabilities, or simulate sampled paths without --cases");
    }
    let probs: Vec<f64> = sc.cases.iter().map(|c| c.probability_pu).collect();
    let mut d = Draws::default();
    let mut s = Scratch::default();
    let mut outcomes: Vec<Vec<PathOutcome>> = vec![Vec::new(); engine.plans.len()];
    for (i, case) in sc.cases.iter().enumerate() {
        engine
            .draw_case(i as u64, &case.values, &mut d)
            .map_err(anyhow::Error::msg)?;
        for (pi, out) in outcomes.iter_mut().enumerate() {
            let mut o = PathOutcome::default();
            engine.run_plan(pi, &d, &mut s, false, &mut o);
            out.push(o);
        }
    }
    let fields: [(&str, Field); 6] = [
        ("npv_usd", |o| o.npv_usd),
        ("cum_revenue_usd", |o| o.cum_revenue_usd),
        ("min_cash_usd", |o| o.min_cash_usd),
        ("funding_gap_usd", |o| o.funding_gap_usd),
        ("unserved_share", |o| o.unserved_share),
        ("first_profitable_year", |o| o.first_profitable_year),
    ];
    let num = |x: f64| {
        if x.is_finite() {
            serde_json::json!(x)
        } else {
            serde_json::Value::Null
        }
    };
    let largest = outcomes
        .iter()
        .flatten()
        .map(|o| o.npv_usd.abs().max(o.cum_revenue_usd.abs()))
        .fold(0.0, f64::max);
    let (unit, unit_name) = gigawatt_sim::report::money_unit(largest);
    let mut plans = Vec::new();
    let mut text = format!(
        "{}: {} named cases ({})\n\n",
        sc.name,
        sc.cases.len(),
        sc.cases
            .iter()
            .map(|c| format!("{} {:.0}%", c.name, c.probability_pu * 100.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (pi, outs) in outcomes.iter().enumerate() {
        let name = &engine.plans[pi].name;
        let mut by_case = Vec::new();
        text.push_str(&format!(
            "plan `{name}`\n  {:<12} {:>6} {:>12} {:>12} {:>12} {:>12} {:>9} {:>8}\n",
            "case",
            "prob",
            format!("NPV {unit_name}"),
            format!("revenue {unit_name}"),
            format!("min cash {unit_name}"),
            format!("gap {unit_name}"),
            "unserved",
            "profit"
        ));
        for (i, o) in outs.iter().enumerate() {
            let mut m = serde_json::Map::new();
            for (f, get) in fields {
                m.insert(f.into(), num(get(o)));
            }
            by_case.push(serde_json::json!({"case": sc.cases[i].name, "probability": probs[i], "metrics": m}));
            text.push_str(&format!(
                "  {:<12} {:>5.0}% {:>12.1} {:>12.1} {:>12.1} {:>12.1} {:>8.1}% {:>8.0}\n",
                sc.cases[i].name,
                probs[i] * 100.0,
                o.npv_usd / unit,
                o.cum_revenue_usd / unit,
                o.min_cash_usd / unit,
                o.funding_gap_usd / unit,
                o.unserved_share * 100.0,
                o.first_profitable_year
            ));
        }
        let mut expected = serde_json::Map::new();
        for (f, get) in fields {
            let v: Vec<f64> = outs.iter().map(get).collect();
            expected.insert(f.into(), num(gigawatt_risk::mean(&v, &probs)));
        }
        let npv: Vec<f64> = outs.iter().map(|o| o.npv_usd).collect();
        let cvar = gigawatt_risk::cvar_lower(&npv, &probs, gigawatt_sim::ALPHA);
        text.push_str(&format!(
            "  {:<12} {:>6} {:>12.1}   (probability-weighted); NPV CVaR95 {:.1}\n\n",
            "expected",
            "",
            gigawatt_risk::mean(&npv, &probs) / unit,
            cvar / unit
        ));
        plans.push(serde_json::json!({"name": name, "by_case": by_case, "expected": expected, "npv_cvar95_usd": num(cvar)}));
    }
    let doc = serde_json::json!({
        "format": "gigawatt-simulation-cases",
        "format_version": 1,
        "scenario": sc.name,
        "cases": sc.cases.iter().map(|c| serde_json::json!({"name": c.name, "probability": c.probability_pu})).collect::<Vec<_>>(),
        "cvar_alpha": gigawatt_sim::ALPHA,
        "plans": plans,
    });
    if json {
        print_stdout(&(serde_json::to_string_pretty(&doc)? + "\n"))?;
    } else {
        print_stdout(&text)?;
    }
    Ok(ExitCode::SUCCESS)
}
