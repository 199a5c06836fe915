//! Typed reports: what a simulation produced, as plain data. Renderers (`render`) turn a
//! report into text, JSON or CSV; nothing here formats anything.

use gigawatt_model::Scenario;
use gigawatt_risk::Moments;
use gigawatt_sim::{
    Engine, MetricId, PlanAcc, RunResult, ALPHA, DIFF_METRICS, METRICS, REPORTED_SERIES, SERIES,
};

/// z for a two-sided 95 % interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Quantiles reported for every metric: (probability, label).
pub const QUANTILES: [(f64, &str); 5] = [
    (0.05, "p5"),
    (0.10, "p10"),
    (0.50, "p50"),
    (0.90, "p90"),
    (0.95, "p95"),
];

/// Quantiles of the monthly series: those of the metrics plus the quartiles, for fan charts
/// (p5–p95, p25–p75, median).
pub const MONTHLY_QUANTILES: [(f64, &str); 7] = [
    (0.05, "p5"),
    (0.10, "p10"),
    (0.25, "p25"),
    (0.50, "p50"),
    (0.75, "p75"),
    (0.90, "p90"),
    (0.95, "p95"),
];

/// One outcome metric of one plan.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricResult {
    /// Which metric.
    pub id: MetricId,
    /// Mean (NaN when no path has a value, e.g. no path ever becomes profitable).
    pub mean: f64,
    /// Monte Carlo standard error of the mean (NaN with fewer than two paths).
    pub se: f64,
    /// p5, p10, p50, p90, p95 ([`QUANTILES`]).
    pub quantiles: [f64; 5],
    /// CVaR_0.95 of the bad tail (NaN for the first profitable year).
    pub cvar95: f64,
    /// True when the quantiles are exact (every value kept).
    pub quantiles_exact: bool,
    /// True when the CVaR is exact (the worst share kept).
    pub cvar_exact: bool,
    /// Share of paths on which a year metric's event never happens inside the horizon (never
    /// profitable, never a positive free cash flow; year metrics only).
    pub never_share: Option<f64>,
}

/// A paired difference (this plan minus the reference plan, path by path).
#[derive(Debug, Clone, PartialEq)]
pub struct PairedDifference {
    /// Which metric.
    pub id: MetricId,
    /// Mean difference.
    pub mean: f64,
    /// Its standard error (NaN with one path).
    pub se: f64,
}

impl PairedDifference {
    /// Lower end of the 95 % confidence interval.
    pub fn ci95_low(&self) -> f64 {
        self.mean - Z95 * self.se
    }

    /// Upper end of the 95 % confidence interval.
    pub fn ci95_high(&self) -> f64 {
        self.mean + Z95 * self.se
    }
}

/// A training run's slip.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDelay {
    /// Run name.
    pub name: String,
    /// Mean months finished after the deadline.
    pub mean_delay_months: f64,
    /// Its standard error.
    pub se: f64,
    /// Share of paths on which it finished late.
    pub late_probability: f64,
}

/// What rules committed of one option, on average per path.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleTotal {
    /// Option name.
    pub option: String,
    /// Mean amount per path over the horizon.
    pub mean: f64,
    /// The option's unit: "MW" or "H100e".
    pub unit: &'static str,
}

/// One line of a yearly statement: mean, p10, p50, p90 over paths.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineStats {
    /// Mean.
    pub mean: f64,
    /// p10.
    pub p10: f64,
    /// p50.
    pub p50: f64,
    /// p90.
    pub p90: f64,
}

/// A calendar year's statement: every line of [`gigawatt_sim::YEARLY_LINES`], in order.
#[derive(Debug, Clone, PartialEq)]
pub struct YearStatement {
    /// Calendar year.
    pub year: i32,
    /// Per line, [`gigawatt_sim::YEARLY_LINES`] order.
    pub lines: Vec<LineStats>,
    /// Each segment's revenue (segment name, statistics), in the scenario's order; they add
    /// up to the revenue line path by path.
    pub segment_revenue: Vec<(String, LineStats)>,
}

/// Everything reported for one plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanResult {
    /// Plan name.
    pub name: String,
    /// True for the automatic "no new commitments" comparison plan.
    pub automatic_baseline: bool,
    /// Outcome metrics, in [`MetricId::ALL`] order.
    pub metrics: Vec<MetricResult>,
    /// (calendar year, share of paths with any shortfall that year).
    pub shortfall_probability_by_year: Vec<(i32, f64)>,
    /// Share of paths that drew on the backstop.
    pub backstop_probability: f64,
    /// Mean over paths of the highest monthly capacity online, H100e.
    pub capacity_peak_h100e_mean: f64,
    /// Mean over paths of the last month's capacity online, H100e.
    pub capacity_end_h100e_mean: f64,
    /// Training-run slips.
    pub training_runs: Vec<RunDelay>,
    /// What rules committed, per option that they committed anything of.
    pub rule_commitments: Vec<RuleTotal>,
    /// Paired differences against `paired_vs` (every plan but the first).
    pub paired: Vec<PairedDifference>,
    /// The plan the differences are against (the first plan of the run).
    pub paired_vs: Option<String>,
    /// Yearly statements (empty unless asked for).
    pub yearly: Vec<YearStatement>,
    /// Mean compute served to each segment each month, H100e (segment name, one value per
    /// month; empty without monthly output).
    pub segment_served_h100e_mean: Vec<(String, Vec<f64>)>,
}

impl PlanResult {
    /// The summary of metric `id`.
    pub fn metric(&self, id: MetricId) -> &MetricResult {
        &self.metrics[id.index()]
    }
}

/// Requested and achieved rank correlation of two inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationCheck {
    /// First input id.
    pub a: String,
    /// Second input id.
    pub b: String,
    /// Requested (after any repair to a valid matrix).
    pub requested: f64,
    /// Achieved (Spearman, averaged over blocks).
    pub achieved: f64,
}

/// How a run with a precision target ended.
#[derive(Debug, Clone, PartialEq)]
pub struct PrecisionOutcome {
    /// The NPV standard error asked for, USD.
    pub target_npv_se_usd: f64,
    /// Whether every plan got within it.
    pub reached: bool,
    /// The largest NPV standard error over plans when the run stopped, USD.
    pub npv_se_achieved_usd: f64,
    /// The most paths the run was allowed.
    pub max_paths: u64,
}

/// Per-month statistics of one series of one plan.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthlyRow {
    /// Plan index in [`SimulationReport::plans`].
    pub plan: usize,
    /// Month `YYYY-MM`.
    pub month: String,
    /// Series name (one of the engine's reported series).
    pub series: &'static str,
    /// Mean over paths.
    pub mean: f64,
    /// p5, p10, p25, p50, p75, p90, p95 ([`MONTHLY_QUANTILES`]).
    pub quantiles: [f64; 7],
}

/// One path's outcomes under one plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PathRow {
    /// Path index.
    pub path: u64,
    /// Plan index in [`SimulationReport::plans`].
    pub plan: usize,
    /// Outcome metrics in [`MetricId::ALL`] order (the year is NaN when never profitable).
    pub metrics: [f64; gigawatt_sim::NUM_METRICS],
    /// Bit y set when year y of the horizon had a shortfall.
    pub shortfall_years_mask: u64,
    /// The path's yearly statements ([`gigawatt_sim::YEARLY_LINES`] per calendar year), when
    /// the run kept them.
    pub yearly: Vec<[f64; gigawatt_sim::YEARLY_LINES.len()]>,
    /// Each segment's revenue per year (years × segments), with `yearly`.
    pub yearly_segment_revenue: Vec<f64>,
}

/// What a simulation produced.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulationReport {
    /// Scenario name.
    pub scenario: String,
    /// Paths simulated.
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// Sampling scheme name.
    pub sampling: &'static str,
    /// Horizon: first month, last month (`YYYY-MM`) and number of months.
    pub horizon: (String, String, usize),
    /// Confidence level of every CVaR.
    pub cvar_alpha: f64,
    /// Share of peak capacity lost by the horizon end that the text warns about
    /// (`simulation.capacity_drop_warning_pu`).
    pub capacity_drop_warning_pu: f64,
    /// Correlation checks.
    pub correlations: Vec<CorrelationCheck>,
    /// Per plan.
    pub plans: Vec<PlanResult>,
    /// With a precision target: how it ended.
    pub precision: Option<PrecisionOutcome>,
    /// True when the run was cancelled before all its paths.
    pub cancelled: bool,
    /// Monthly statistics (empty unless asked for).
    pub monthly: Vec<MonthlyRow>,
    /// Per-path outcomes (empty unless asked for).
    pub per_path: Vec<PathRow>,
}

impl SimulationReport {
    /// Last calendar year of the horizon.
    pub fn end_year(&self) -> i32 {
        self.horizon.1[..4].parse().unwrap_or(0)
    }
}

/// The standard error of the mean, NaN with fewer than two values (no interval from one path).
pub(crate) fn se_or_nan(m: &Moments) -> f64 {
    if m.n > 1 {
        m.se()
    } else {
        f64::NAN
    }
}

/// Summary of metric `id` of one plan's accumulator. The year metric is accumulated as years
/// after the start over the paths that become profitable; `start_year` is added back and its
/// quantiles are whole years.
pub fn metric_result(acc: &mut PlanAcc, id: MetricId, start_year: i32) -> MetricResult {
    let is_year = id.is_year();
    let offset = if is_year { start_year as f64 } else { 0.0 };
    let never = acc.never[id.index()];
    let m = &mut acc.metrics[id.index()];
    let n = m.moments.n;
    let mut quantiles = [f64::NAN; 5];
    if n > 0 {
        for (i, (p, _)) in QUANTILES.iter().enumerate() {
            let v = m.quantiles.quantile(*p);
            quantiles[i] = if is_year { v.round() } else { v } + offset;
        }
    }
    MetricResult {
        id,
        mean: if n > 0 {
            m.moments.mean() + offset
        } else {
            f64::NAN
        },
        se: se_or_nan(&m.moments),
        quantiles,
        cvar95: if is_year || n == 0 {
            f64::NAN
        } else {
            m.cvar(ALPHA) + offset
        },
        quantiles_exact: m.quantiles.is_exact(),
        cvar_exact: m.cvar_is_exact(),
        never_share: is_year.then(|| never as f64 / (n + never).max(1) as f64),
    }
}

fn plan_result(sc: &Scenario, e: &Engine, acc: &mut PlanAcc, pi: usize, n: f64) -> PlanResult {
    let metrics = MetricId::ALL
        .iter()
        .map(|id| metric_result(acc, *id, e.start_year))
        .collect();
    let month0 = sc.horizon.start.month() as i32 - 1;
    let last_year = e.start_year + (e.months as i32 - 1 + month0) / 12;
    let shortfall_probability_by_year = acc
        .shortfall
        .iter()
        .enumerate()
        .filter_map(|(y, c)| {
            let year = e.start_year + y as i32;
            (y * 12 < e.months + 12 && year <= last_year).then_some((year, *c as f64 / n))
        })
        .collect();
    let training_runs = e
        .run_names
        .iter()
        .enumerate()
        .map(|(ri, name)| RunDelay {
            name: name.clone(),
            mean_delay_months: acc.run_delay[ri].mean(),
            se: acc.run_delay[ri].se(),
            late_probability: acc.run_late[ri] as f64 / n,
        })
        .collect();
    let rule_commitments = acc
        .rule_committed
        .iter()
        .enumerate()
        .filter(|(_, m)| m.mean() > 0.0)
        .map(|(oi, m)| RuleTotal {
            option: e.option_names[oi].clone(),
            mean: m.mean(),
            unit: e.option_units[oi],
        })
        .collect();
    let paired = if pi > 0 {
        DIFF_METRICS
            .iter()
            .enumerate()
            .map(|(k, &mi)| PairedDifference {
                id: mi,
                mean: acc.diffs[k].mean(),
                // With one path there is no standard error, so no interval either.
                se: se_or_nan(&acc.diffs[k]),
            })
            .collect()
    } else {
        Vec::new()
    };
    let plan = &e.plans[pi];
    PlanResult {
        name: plan.name.clone(),
        automatic_baseline: plan.name.trim_end_matches('_') == gigawatt_sim::BASELINE_PLAN
            && plan.commits_nothing(),
        metrics,
        shortfall_probability_by_year,
        backstop_probability: acc.backstop as f64 / n,
        capacity_peak_h100e_mean: acc.capacity_peak.mean(),
        capacity_end_h100e_mean: acc.capacity_end.mean(),
        training_runs,
        rule_commitments,
        paired,
        paired_vs: (pi > 0).then(|| e.plans[0].name.clone()),
        yearly: yearly_statements(sc, e, acc),
        segment_served_h100e_mean: if acc.segment_served_sum.is_empty() {
            Vec::new()
        } else {
            sc.segments
                .iter()
                .zip(acc.segment_served_sum.chunks(e.months))
                .map(|(g, sums)| (g.name.clone(), sums.iter().map(|x| x / n).collect()))
                .collect()
        },
    }
}

fn yearly_statements(sc: &Scenario, e: &Engine, acc: &mut PlanAcc) -> Vec<YearStatement> {
    let nl = gigawatt_sim::YEARLY_LINES.len();
    let quantiles = cell_quantiles(&mut acc.yearly, [0.1, 0.5, 0.9]);
    let stats =
        |((_, m), p): (&(gigawatt_risk::Quantiles, gigawatt_risk::Mean), &[f64; 3])| LineStats {
            mean: m.mean(),
            p10: p[0],
            p50: p[1],
            p90: p[2],
        };
    let per_year = gigawatt_sim::yearly_cells_per_year(e);
    acc.yearly
        .chunks(per_year)
        .zip(quantiles.chunks(per_year))
        .enumerate()
        .map(|(y, (cells, ps))| {
            let mut cells = cells.iter().zip(ps);
            YearStatement {
                year: e.start_year + y as i32,
                lines: cells.by_ref().take(nl).map(stats).collect(),
                segment_revenue: sc
                    .segments
                    .iter()
                    .zip(cells)
                    .map(|(g, c)| (g.name.clone(), stats(c)))
                    .collect(),
            }
        })
        .collect()
}

/// Each cell's quantiles `ps`, cells in parallel: a run's monthly and yearly cells are
/// thousands of sketches, each read bucket by bucket.
fn cell_quantiles<const K: usize>(
    cells: &mut [(gigawatt_risk::Quantiles, gigawatt_risk::Mean)],
    ps: [f64; K],
) -> Vec<[f64; K]> {
    use rayon::prelude::*;
    cells
        .par_iter_mut()
        .with_min_len(32)
        .map(|(q, _)| {
            let mut out = [0.0; K];
            out.copy_from_slice(&q.quantiles(&ps));
            out
        })
        .collect()
}

fn correlations(sc: &Scenario, e: &Engine, r: &RunResult) -> Vec<CorrelationCheck> {
    let mut out = Vec::new();
    if let (Some(rep), Some(ach)) = (e.correlation_report(), &r.achieved_correlation) {
        for a in 0..rep.names.len() {
            for b in a + 1..rep.names.len() {
                if sc.correlations.iter().any(|c| {
                    (c.a == rep.names[a] && c.b == rep.names[b])
                        || (c.b == rep.names[a] && c.a == rep.names[b])
                }) {
                    out.push(CorrelationCheck {
                        a: rep.names[a].clone(),
                        b: rep.names[b].clone(),
                        requested: rep.requested[a][b],
                        achieved: ach[a][b],
                    });
                }
            }
        }
    }
    out
}

fn monthly_rows(sc: &Scenario, e: &Engine, r: &mut RunResult) -> Vec<MonthlyRow> {
    let mut rows = Vec::new();
    for (pi, acc) in r.plans.iter_mut().enumerate() {
        if acc.monthly.is_empty() {
            continue;
        }
        let cells = cell_quantiles(&mut acc.monthly, MONTHLY_QUANTILES.map(|(p, _)| p));
        for t in 0..e.months {
            let month = sc.horizon.start.plus(t as i32).to_string();
            for (si, series) in SERIES.iter().take(REPORTED_SERIES).enumerate() {
                let c = si * e.months + t;
                rows.push(MonthlyRow {
                    plan: pi,
                    month: month.clone(),
                    series,
                    mean: acc.monthly[c].1.mean(),
                    quantiles: cells[c],
                });
            }
        }
    }
    rows
}

/// The per-path rows; each path's yearly statements move from the run into its row (not
/// copied: they are the largest part of a per-path run).
fn path_rows(e: &Engine, r: &mut RunResult) -> Vec<PathRow> {
    r.per_path
        .iter_mut()
        .map(|(path, pi, o)| {
            let mut metrics = gigawatt_sim::metric_values(o);
            for id in MetricId::ALL.into_iter().filter(|m| m.is_year()) {
                if metrics[id.index()] > e.end_year as f64 {
                    // Never inside the horizon: not a year.
                    metrics[id.index()] = f64::NAN;
                }
            }
            PathRow {
                path: *path,
                plan: *pi,
                metrics,
                shortfall_years_mask: o.shortfall_years,
                yearly: std::mem::take(&mut o.yearly),
                yearly_segment_revenue: std::mem::take(&mut o.yearly_segment_revenue),
            }
        })
        .collect()
}

/// The report of a finished run of `e` (compiled from `sc`) with `seed`. Each path's yearly
/// statements move from `r.per_path` into the report's rows.
pub fn build(sc: &Scenario, e: &Engine, r: &mut RunResult, seed: u64) -> SimulationReport {
    debug_assert_eq!(METRICS.len(), MetricId::ALL.len());
    let n = r.paths.max(1) as f64;
    // Every metric's kept values sorted at once, in parallel (up to 100,000 a metric), before
    // the quantiles are read one metric after another.
    {
        use rayon::prelude::*;
        r.plans
            .par_iter_mut()
            .flat_map(|p| p.metrics.par_iter_mut())
            .for_each(|m| m.quantiles.sort());
    }
    let plans = (0..r.plans.len())
        .map(|pi| plan_result(sc, e, &mut r.plans[pi], pi, n))
        .collect();
    SimulationReport {
        scenario: sc.name.clone(),
        paths: r.paths,
        seed,
        sampling: sc.simulation.sampling.as_str(),
        horizon: (
            sc.horizon.start.to_string(),
            sc.horizon.end.to_string(),
            sc.horizon.months(),
        ),
        cvar_alpha: ALPHA,
        capacity_drop_warning_pu: sc.simulation.capacity_drop_warning_pu,
        correlations: correlations(sc, e, r),
        plans,
        precision: None,
        cancelled: false,
        monthly: monthly_rows(sc, e, r),
        per_path: path_rows(e, r),
    }
}
