//! `gigawatt sensitivity`: flags → `gigawatt_study::sensitivity::TornadoRequest` → tornado →
//! print and write files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use gigawatt_sim::MetricId;
use gigawatt_study::sensitivity::{self, TornadoRequest};

use crate::common;

/// Arguments of `gigawatt sensitivity`.
#[derive(clap::Args, Debug)]
pub struct SensitivityArgs {
    /// Scenario file (TOML).
    pub file: PathBuf,
    /// The plan whose metric is explained (default: the scenario's first plan). The tornado
    /// takes several (repeat the flag): every plan on the same runs, swings side by side.
    #[arg(long)]
    pub plan: Vec<String>,
    /// The metric: npv_usd, cum_revenue_usd, min_cash_usd, funding_gap_usd, unserved_share,
    /// research_delivered_pu, utilisation or idle_cost_usd.
    #[arg(long, default_value = "npv_usd")]
    pub metric: String,
    /// Paths per run; every input needs two runs, all on the same paths.
    #[arg(long, default_value_t = 2000)]
    pub paths: u64,
    /// Percentile each input is held at on the low side (the high side is 1 − this).
    #[arg(long, default_value_t = 0.1)]
    pub low: f64,
    /// The classic tornado: every other input at its median and no noise (one evaluation per
    /// bar end, standard errors zero) instead of random on the same paths.
    #[arg(long)]
    pub others_at_median: bool,
    /// Instead of the tornado, variance-based (Sobol) indices: the share of the metric's
    /// variance each input explains alone (first order) and with its interactions (total),
    /// with bootstrap intervals; --paths is N per sample (N × (inputs + 3) evaluations).
    #[arg(long, conflicts_with_all = ["break_even", "others_at_median"])]
    pub sobol: bool,
    /// Instead of the tornado, the spider table: the metric's mean with each input held at its
    /// p5, p25, p50, p75 and p95 in turn, the others random (five runs per input).
    #[arg(long, conflicts_with_all = ["break_even", "others_at_median", "sobol"])]
    pub spider: bool,
    /// Instead of the tornado, the value of information per input (EVPPI) for the choice
    /// between the scenario's plans: every uncertain input, or those listed (ID,ID,...).
    #[arg(long, num_args = 0.., value_delimiter = ',', value_name = "INPUT",
          conflicts_with_all = ["break_even", "others_at_median", "sobol", "spider"])]
    pub evppi: Option<Vec<String>>,
    /// With --evppi: groups of paths per input (equal counts; at least 2 paths each).
    #[arg(long, default_value_t = 20, requires = "evppi")]
    pub bins: usize,
    /// With --sobol: a group of inputs counted as one factor, NAME=INPUT,INPUT,... (repeatable).
    #[arg(long, value_name = "NAME=INPUTS", requires = "sobol")]
    pub group: Vec<String>,
    /// With --sobol: bootstrap resamples for the 95 % intervals (at most 10000).
    #[arg(long, default_value_t = 200, requires = "sobol")]
    pub bootstrap: usize,
    /// Instead of the tornado, find the value of this input (its `id` or field path) at which
    /// the plan's expected metric reaches --target, or equals --versus's (bisection between the
    /// input's p1 and p99 on common random numbers).
    #[arg(long, value_name = "INPUT")]
    pub break_even: Option<String>,
    /// With --break-even: search a factor k that multiplies every input of a driver instead of
    /// one input's value: the driver is a [[groups]] name, an input, or a field-path prefix such
    /// as segments[0].growth (demand growth × k). Factors 0.5 to 2 unless --range says.
    #[arg(long, requires = "break_even")]
    pub scale: bool,
    /// With --break-even: the range searched, LOW,HIGH (default: the input's p1 and p99, or
    /// factors 0.5 to 2 with --scale).
    #[arg(
        long,
        value_name = "LOW,HIGH",
        requires = "break_even",
        allow_negative_numbers = true
    )]
    pub range: Option<String>,
    /// With --break-even: the value the expected metric should reach.
    #[arg(
        long,
        default_value_t = 0.0,
        requires = "break_even",
        allow_negative_numbers = true
    )]
    pub target: f64,
    /// With --break-even: find where the plan's expected metric equals this plan's.
    #[arg(long, requires = "break_even")]
    pub versus: Option<String>,
    /// Write tornado.json and tornado.csv (sobol.* with --sobol, spider.* with --spider) here.
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

pub fn run(a: &SensitivityArgs) -> anyhow::Result<ExitCode> {
    let Some(sc) = common::load(&a.file, a.run.strict, a.run.quiet)? else {
        return Ok(ExitCode::from(1));
    };
    let sc = common::without_events(sc, &a.without_event)?;
    let metric = MetricId::ALL
        .into_iter()
        .find(|m| m.name() == a.metric)
        .with_context(|| {
            format!(
                "unknown metric `{}`; use one of: {}",
                a.metric,
                MetricId::ALL.map(|m| m.name()).join(", ")
            )
        })?;
    let pool = common::pool(a.run.threads)?;
    if let Some(dir) = &a.out {
        gigawatt_io::prepare_out_dir(dir)?;
    }
    let notes = common::Notes { quiet: a.run.quiet };
    let seed = a.run.seed.unwrap_or(sc.simulation.seed);
    let tornado = !(a.break_even.is_some() || a.evppi.is_some() || a.spider || a.sobol);
    if a.plan.len() > 1 && !tornado {
        anyhow::bail!(
            "several --plan are for the tornado; the other analyses take one (EVPPI chooses between all the scenario's plans)"
        );
    }
    let plan = a.plan.first().cloned();
    if let Some(input) = &a.break_even {
        if !a.target.is_finite() {
            anyhow::bail!("--target must be a finite number");
        }
        let req = sensitivity::BreakEvenRequest {
            paths: a.paths,
            seed,
            input: input.clone(),
            scale: a.scale,
            range: a.range.as_deref().map(parse_range).transpose()?,
            plan: plan.clone(),
            versus: a.versus.clone(),
            metric,
            target: a.target,
            tolerance_pu: 1e-3,
        };
        let r = pool.install(|| sensitivity::break_even(&sc, &req, &notes))?;
        let doc = sensitivity::break_even_json(&r);
        if let Some(dir) = &a.out {
            common::write_json(&dir.join("break-even.json"), &doc)?;
        }
        return common::print_report(a.run.json, &doc, || sensitivity::break_even_text(&r));
    }
    if let Some(inputs) = &a.evppi {
        let req = gigawatt_study::evppi::EvppiRequest {
            paths: a.paths,
            seed,
            inputs: inputs.clone(),
            metric,
            bins: a.bins,
        };
        let r = pool.install(|| gigawatt_study::evppi::evppi(&sc, &req, &notes))?;
        let doc = gigawatt_study::evppi::json(&r);
        if let Some(dir) = &a.out {
            common::write_json(&dir.join("evppi.json"), &doc)?;
            gigawatt_io::write_atomic(
                &dir.join("evppi.csv"),
                gigawatt_study::evppi::csv(&r).as_bytes(),
            )?;
        }
        return common::print_report(a.run.json, &doc, || gigawatt_study::evppi::text(&r));
    }
    if a.spider {
        let req = gigawatt_study::spider::SpiderRequest {
            paths: a.paths,
            seed,
            plan: plan.clone(),
            metric,
        };
        let r = pool.install(|| gigawatt_study::spider::spider(&sc, &req, &notes))?;
        let doc = gigawatt_study::spider::json(&r);
        if let Some(dir) = &a.out {
            common::write_json(&dir.join("spider.json"), &doc)?;
            gigawatt_io::write_atomic(
                &dir.join("spider.csv"),
                gigawatt_study::spider::csv(&r).as_bytes(),
            )?;
        }
        return common::print_report(a.run.json, &doc, || gigawatt_study::spider::text(&r));
    }
    if a.sobol {
        let req = gigawatt_study::sobol::SobolRequest {
            paths: a.paths,
            seed,
            plan: plan.clone(),
            metric,
            bootstrap: a.bootstrap,
            groups: a
                .group
                .iter()
                .map(|g| {
                    let (name, members) = g.split_once('=').with_context(|| {
                        format!("--group takes NAME=INPUT,INPUT,... (got `{g}`)")
                    })?;
                    Ok((
                        name.trim().to_string(),
                        members
                            .split(',')
                            .map(|m| m.trim().to_string())
                            .filter(|m| !m.is_empty())
                            .collect(),
                    ))
                })
                .collect::<anyhow::Result<_>>()?,
        };
        let r = pool.install(|| gigawatt_study::sobol::sobol(&sc, &req, &notes))?;
        let doc = gigawatt_study::sobol::json(&r);
        if let Some(dir) = &a.out {
            common::write_json(&dir.join("sobol.json"), &doc)?;
            gigawatt_io::write_atomic(
                &dir.join("sobol.csv"),
                gigawatt_study::sobol::csv(&r).as_bytes(),
            )?;
        }
        return common::print_report(a.run.json, &doc, || gigawatt_study::sobol::text(&r));
    }
    let req = TornadoRequest {
        paths: a.paths,
        seed,
        plan: plan.clone(),
        metric,
        low_high: (a.low, 1.0 - a.low),
        others_at_median: a.others_at_median,
    };
    let reports = pool.install(|| sensitivity::tornadoes(&sc, &req, &a.plan, &notes))?;
    let doc = sensitivity::json_all(&reports);
    if let Some(dir) = &a.out {
        common::write_json(&dir.join("tornado.json"), &doc)?;
        gigawatt_io::write_atomic(
            &dir.join("tornado.csv"),
            sensitivity::csv_all(&reports).as_bytes(),
        )?;
    }
    common::print_report(a.run.json, &doc, || sensitivity::text_all(&reports))
}

/// `LOW,HIGH` → (low, high).
fn parse_range(s: &str) -> anyhow::Result<(f64, f64)> {
    let parse = |x: &str| -> anyhow::Result<f64> {
        x.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .with_context(|| format!("--range {s}: `{x}` is not a finite number"))
    };
    let (lo, hi) = s
        .split_once(',')
        .with_context(|| format!("--range takes LOW,HIGH, such as --range 0.5,2 (got `{s}`)"))?;
    Ok((parse(lo)?, parse(hi)?))
}
