//! The parallel runner: fixed blocks of paths, merged in block order.
//!
//! Paths are cut into blocks of [`BLOCK`] paths. Blocks run in parallel (rayon) in chunks,
//! and each chunk's results merge into the totals in block order, so the result is
//! bit-identical for any thread count. Memory is bounded by the chunk, not by the number of
//! paths, unless per-path output is requested.
//!
//! The same steps are public for callers that run blocks elsewhere (other processes or
//! machines): [`run_block`] gives a block's accumulators ([`BlockAcc`], serialisable with serde),
//! and a [`Merger`] merges them in block order into the [`RunResult`] a single run would give,
//! bit for bit.
//!
//! Sizes as functions of the total path count `n`: blocks of [`BLOCK`] paths (the last one
//! shorter), Latin-hypercube and Sobol strata per block (a block of m paths has m strata per
//! input), exact quantiles while `n` ≤ [`EXACT_QUANTILES_MAX`] (a sketch beyond), an exact tail
//! of the worst ⌈(1 − [`ALPHA`])·n⌉ paths per metric while that is at most
//! [`gigawatt_risk::TAIL_MAX`], and exact monthly percentiles while `n` ≤
//! [`monthly_exact_cap`] of the plan's cells.

use gigawatt_risk::{Mean, Metric, Moments, Quantiles, EXACT_QUANTILES_MAX};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

use crate::engine::{
    Draws, Engine, LaneColumns, LaneScratch, PathOutcome, Recording, Scratch, LANES,
    REPORTED_SERIES, YEARLY_LINES,
};

/// Paths per block. Part of the result's definition: Iman–Conover works within a block.
pub const BLOCK: u64 = 1024;

/// Paths of a block whose monthly values are kept before they are summarised (a few lane
/// groups: what the engine wrote is still in cache when it is read back).
const CELL_CHUNK_PATHS: usize = 16 * LANES;

/// Monthly values kept exactly per plan, over all series and months (8 bytes each): runs up to
/// this many values per cell give exact monthly percentiles; larger runs use the sketch.
pub const MONTHLY_EXACT_VALUES: usize = 1 << 22;

/// Values kept exactly per (series, month) cell when a plan has `cells` of them.
pub fn monthly_exact_cap(cells: usize) -> usize {
    (MONTHLY_EXACT_VALUES / cells.max(1)).min(EXACT_QUANTILES_MAX)
}

/// Cells of one year's statement: the [`YEARLY_LINES`], then each segment's revenue.
pub fn yearly_cells_per_year(e: &Engine) -> usize {
    YEARLY_LINES.len() + e.num_segments()
}

/// Confidence level of the reported CVaR.
pub const ALPHA: f64 = 0.95;

/// Blocks run in parallel before their results are merged.
const CHUNK_BLOCKS: usize = 8;

/// Number of outcome metrics.
pub const NUM_METRICS: usize = 10;

/// Outcome metrics: name and whether low values are bad.
pub const METRICS: [(&str, bool); NUM_METRICS] = [
    ("npv_usd", true),
    ("cum_revenue_usd", true),
    ("min_cash_usd", true),
    ("funding_gap_usd", false),
    ("unserved_share", false),
    ("research_delivered_pu", true),
    ("utilisation", true),
    ("idle_cost_usd", false),
    ("first_profitable_year", false),
    ("first_positive_fcf_year", false),
];

/// An outcome metric, by name in code rather than by string: `MetricId::Npv.index()` is its
/// position in [`METRICS`] and in every per-metric vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricId {
    /// `npv_usd`.
    Npv,
    /// `cum_revenue_usd`.
    CumRevenue,
    /// `min_cash_usd`.
    MinCash,
    /// `funding_gap_usd`.
    FundingGap,
    /// `unserved_share`.
    UnservedShare,
    /// `research_delivered_pu`.
    ResearchDelivered,
    /// `utilisation`.
    Utilisation,
    /// `idle_cost_usd`.
    IdleCost,
    /// `first_profitable_year`.
    FirstProfitableYear,
    /// `first_positive_fcf_year`.
    FirstPositiveFcfYear,
}

impl MetricId {
    /// Every metric, in [`METRICS`] order.
    pub const ALL: [MetricId; NUM_METRICS] = [
        MetricId::Npv,
        MetricId::CumRevenue,
        MetricId::MinCash,
        MetricId::FundingGap,
        MetricId::UnservedShare,
        MetricId::ResearchDelivered,
        MetricId::Utilisation,
        MetricId::IdleCost,
        MetricId::FirstProfitableYear,
        MetricId::FirstPositiveFcfYear,
    ];

    /// True for the calendar-year metrics, which are over the paths where the event happens
    /// inside the horizon (the rest are counted as "never").
    pub fn is_year(self) -> bool {
        matches!(
            self,
            MetricId::FirstProfitableYear | MetricId::FirstPositiveFcfYear
        )
    }

    /// Position in [`METRICS`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Name in outputs, e.g. `npv_usd`.
    pub fn name(self) -> &'static str {
        METRICS[self.index()].0
    }
}

/// Metrics whose paired differences between plans are reported: all but the first profitable
/// year, whose "never" has no numeric difference.
pub const DIFF_METRICS: [MetricId; 8] = [
    MetricId::Npv,
    MetricId::CumRevenue,
    MetricId::MinCash,
    MetricId::FundingGap,
    MetricId::UnservedShare,
    MetricId::ResearchDelivered,
    MetricId::Utilisation,
    MetricId::IdleCost,
];

/// A path's outcome metrics in METRICS order.
pub fn metric_values(o: &PathOutcome) -> [f64; NUM_METRICS] {
    [
        o.npv_usd,
        o.cum_revenue_usd,
        o.min_cash_usd,
        o.funding_gap_usd,
        o.unserved_share,
        o.research_delivered_pu,
        o.utilisation,
        o.idle_cost_usd,
        o.first_profitable_year,
        o.first_positive_fcf_year,
    ]
}

/// What a run is asked to do.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Number of paths.
    pub paths: u64,
    /// Keep monthly percentiles (costs time; needed for CSV and charts).
    pub monthly: bool,
    /// Keep every path's outcomes (memory grows with paths).
    pub per_path: bool,
    /// Keep yearly statements (mean and quantiles of each line in each year).
    pub yearly: bool,
    /// Inputs held at a value on every path (input index, value); every other input and every
    /// other random stream is drawn as usual, so runs with and without an override share their
    /// other draws (common random numbers for sensitivity analyses).
    pub overrides: Vec<(usize, f64)>,
    /// Inputs multiplied by a factor on every path (input index, factor), after any override:
    /// a driver scaled as a whole (demand growth × k) with every draw otherwise unchanged.
    pub scales: Vec<(usize, f64)>,
}

/// Accumulated results for one plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanAcc {
    /// Outcome metrics in METRICS order.
    pub metrics: Vec<Metric>,
    /// Paths with a shortfall, per horizon year.
    pub shortfall: Vec<u64>,
    /// Per metric, paths on which a year metric's event never happens inside the horizon (left
    /// out of that metric; zero for the others). Year metrics are accumulated as years after
    /// the horizon start.
    pub never: Vec<u64>,
    /// Paths that drew on the backstop.
    pub backstop: u64,
    /// Highest capacity online in any month, H100e.
    pub capacity_peak: Moments,
    /// Capacity in the last month, H100e.
    pub capacity_end: Moments,
    /// Delay of each training run, months.
    pub run_delay: Vec<Moments>,
    /// Paths on which each run finished late.
    pub run_late: Vec<u64>,
    /// Amount committed by rules, per option (option unit).
    pub rule_committed: Vec<Moments>,
    /// Paired differences against the first plan, DIFF_METRICS order.
    pub diffs: Vec<Moments>,
    /// Monthly (quantiles, mean), REPORTED_SERIES × months.
    pub monthly: Vec<(Quantiles, Mean)>,
    /// Compute served to each segment each month summed over paths, segments × months, with
    /// monthly output (divide by the paths for the mean; plain sums merged in block order).
    pub segment_served_sum: Vec<f64>,
    /// Yearly statements (quantiles, mean), years × (YEARLY_LINES, then each segment's
    /// revenue), when asked for.
    pub yearly: Vec<(Quantiles, Mean)>,
}

/// Monthly cells a plan of a run of `cfg` on `e` reports: REPORTED_SERIES × months, or none
/// without monthly output.
fn monthly_cells(e: &Engine, cfg: &RunConfig) -> usize {
    if cfg.monthly {
        REPORTED_SERIES * e.months
    } else {
        0
    }
}

/// Yearly cells a plan of a run of `cfg` on `e` reports: years × [`yearly_cells_per_year`], or
/// none without yearly statements.
fn yearly_cells(e: &Engine, cfg: &RunConfig) -> usize {
    if cfg.yearly {
        (e.end_year - e.start_year + 1) as usize * yearly_cells_per_year(e)
    } else {
        0
    }
}

impl PlanAcc {
    /// Empty accumulators for a run of `paths` paths; its monthly and yearly cells only when
    /// `with_cells` (a block whose cells go to a thread's shelf keeps their means apart,
    /// [`CellMeans`]).
    fn new(e: &Engine, paths: u64, cfg: &RunConfig, with_cells: bool) -> PlanAcc {
        let cells = |n: usize| {
            if with_cells {
                let q = Quantiles::for_total(paths, monthly_exact_cap(n));
                vec![(q, Mean::default()); n]
            } else {
                Vec::new()
            }
        };
        PlanAcc {
            metrics: METRICS
                .iter()
                .map(|(_, low)| Metric::new(paths, ALPHA, *low))
                .collect(),
            shortfall: vec![0; e.months.div_ceil(12) + 1],
            never: vec![0; NUM_METRICS],
            backstop: 0,
            capacity_peak: Moments::default(),
            capacity_end: Moments::default(),
            run_delay: vec![Moments::default(); e.run_names.len()],
            run_late: vec![0; e.run_names.len()],
            rule_committed: vec![Moments::default(); e.option_names.len()],
            diffs: vec![Moments::default(); DIFF_METRICS.len()],
            segment_served_sum: if cfg.monthly {
                vec![0.0; e.num_segments() * e.months]
            } else {
                Vec::new()
            },
            yearly: cells(yearly_cells(e, cfg)),
            monthly: cells(monthly_cells(e, cfg)),
        }
    }

    fn merge(&mut self, o: &PlanAcc) {
        for (a, b) in self.metrics.iter_mut().zip(&o.metrics) {
            a.merge(b);
        }
        for (a, b) in self.shortfall.iter_mut().zip(&o.shortfall) {
            *a += b;
        }
        self.backstop += o.backstop;
        for (a, b) in self.never.iter_mut().zip(&o.never) {
            *a += b;
        }
        self.capacity_peak.merge(&o.capacity_peak);
        self.capacity_end.merge(&o.capacity_end);
        for (a, b) in self.run_delay.iter_mut().zip(&o.run_delay) {
            a.merge(b);
        }
        for (a, b) in self.run_late.iter_mut().zip(&o.run_late) {
            *a += b;
        }
        for (a, b) in self.rule_committed.iter_mut().zip(&o.rule_committed) {
            a.merge(b);
        }
        for (a, b) in self.diffs.iter_mut().zip(&o.diffs) {
            a.merge(b);
        }
        for (a, b) in self.monthly.iter_mut().zip(&o.monthly) {
            a.0.merge(&b.0);
            a.1.merge(&b.1);
        }
        for (a, b) in self
            .segment_served_sum
            .iter_mut()
            .zip(&o.segment_served_sum)
        {
            *a += b;
        }
        for (a, b) in self.yearly.iter_mut().zip(&o.yearly) {
            a.0.merge(&b.0);
            a.1.merge(&b.1);
        }
    }
}

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Paths simulated.
    pub paths: u64,
    /// Per plan.
    pub plans: Vec<PlanAcc>,
    /// Achieved Spearman correlations, averaged over blocks (weighted by block size).
    pub achieved_correlation: Option<Vec<Vec<f64>>>,
    /// Per-path outcomes (path, plan, outcome) when requested.
    pub per_path: Vec<(u64, usize, PathOutcome)>,
    /// True when the caller cancelled the run: `paths` counts the blocks merged before then.
    pub cancelled: bool,
}

/// One block's accumulators, serialisable so that a block can run anywhere and still merge
/// (in block order, by a [`Merger`]) into the result of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockAcc {
    /// Block index: paths `block * BLOCK ..`.
    pub block: u64,
    /// Per plan.
    pub plans: Vec<PlanAcc>,
    /// Achieved rank correlations in the block and its path count.
    pub achieved: Option<(Vec<Vec<f64>>, usize)>,
    /// Per-path outcomes (path, plan, outcome) when requested.
    pub per_path: Vec<(u64, usize, PathOutcome)>,
    /// Per plan, the means of the monthly and yearly cells when their quantiles went to the
    /// thread's shelf, the plans' own cells then left empty (a block of [`run_block`] keeps
    /// them in its plans, and this is empty).
    #[serde(default)]
    pub shelved_means: Vec<CellMeans>,
}

/// A plan's monthly and yearly cell means in one block, in the order of [`PlanAcc::monthly`]
/// and [`PlanAcc::yearly`]: a block whose cell quantiles go to its thread's shelf carries only
/// these, instead of a (quantiles, mean) pair of over 200 bytes per cell.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CellMeans {
    /// Per monthly cell.
    pub monthly: Vec<Mean>,
    /// Per yearly cell.
    pub yearly: Vec<Mean>,
}

/// Runs block `block` of a run configured by `cfg` (every plan, every path of the block).
pub fn run_block(e: &Engine, cfg: &RunConfig, block: u64) -> BlockAcc {
    run_block_on(e, cfg, block, None)
}

/// The quantiles of the monthly and yearly cells of the blocks one thread ran, per plan, kept
/// across blocks and merged once at the end of the run. Only for cells that are sketched (runs
/// beyond [`monthly_exact_cap`] paths): a sketch's counts add in any order, so which thread ran
/// which block does not change the result, and a block's own accumulator carries only the
/// cells' means and moments, which are merged in block order. Without it each block built a
/// sketch per cell (a store of kilobytes) and the merge added them all, per block.
#[derive(Clone)]
struct CellShelf {
    monthly: Vec<Vec<Quantiles>>,
    yearly: Vec<Vec<Quantiles>>,
}

impl CellShelf {
    /// Empty quantiles for every plan's cells, as [`PlanAcc::new`] makes them; None when the
    /// run records no cells, or keeps some of them exactly (a run of few paths).
    fn new(e: &Engine, cfg: &RunConfig) -> Option<CellShelf> {
        let acc = PlanAcc::new(e, cfg.paths, cfg, true);
        let monthly: Vec<Quantiles> = acc.monthly.into_iter().map(|c| c.0).collect();
        let yearly: Vec<Quantiles> = acc.yearly.into_iter().map(|c| c.0).collect();
        let mut cells = monthly.iter().chain(&yearly).peekable();
        let sketched = cells.peek().is_some() && cells.all(Quantiles::sketches_every_value);
        sketched.then(|| CellShelf {
            monthly: vec![monthly; e.plans.len()],
            yearly: vec![yearly; e.plans.len()],
        })
    }
}

/// [`run_block`], with the cells' quantiles added to `shelf` (when given) instead of the
/// block's accumulator.
fn run_block_on(
    e: &Engine,
    cfg: &RunConfig,
    block: u64,
    mut shelf: Option<&mut CellShelf>,
) -> BlockAcc {
    let first = block * BLOCK;
    let n = BLOCK.min(cfg.paths - first) as usize;
    let (uniforms, achieved) = e.block_uniforms(first, n);
    let mut plans: Vec<PlanAcc> = e
        .plans
        .iter()
        .map(|_| PlanAcc::new(e, cfg.paths, cfg, shelf.is_none()))
        .collect();
    // Paths go through the month loop LANES at a time (the block's last few one by one); each
    // lane's outcome is what the path gives alone, and outcomes are accumulated in path order.
    let mut draws: [Draws; LANES] = Default::default();
    let mut lanes = LaneScratch::default();
    let mut scratch = Scratch::default();
    let mut outs: Vec<[PathOutcome; LANES]> =
        (0..e.plans.len()).map(|_| Default::default()).collect();
    let rec = Recording {
        monthly: cfg.monthly,
        yearly: cfg.yearly,
    };
    let mut per_path = Vec::new();
    // Each path's rule commitments by option (reused from path to path).
    let mut by_opt = vec![0.0; e.option_names.len()];
    // Per plan, the monthly and yearly values of the block's last few paths (summarised per
    // cell every CELL_CHUNK_PATHS paths, while they are still in cache).
    let (monthly_cells, yearly_cells) = (monthly_cells(e, cfg), yearly_cells(e, cfg));
    // With a shelf, the cells' means (their quantiles go to the shelf).
    let mut shelved_means: Vec<CellMeans> = match shelf {
        Some(_) => (0..e.plans.len())
            .map(|_| CellMeans {
                monthly: vec![Mean::default(); monthly_cells],
                yearly: vec![Mean::default(); yearly_cells],
            })
            .collect(),
        None => Vec::new(),
    };
    let mut monthly_cols: Vec<CellColumns> = (0..e.plans.len())
        .map(|_| CellColumns::new(monthly_cells, n.min(CELL_CHUNK_PATHS)))
        .collect();
    let mut yearly_cols: Vec<CellColumns> = (0..e.plans.len())
        .map(|_| CellColumns::new(yearly_cells, n.min(CELL_CHUNK_PATHS)))
        .collect();
    for (g, group) in uniforms.chunks(LANES).enumerate() {
        let i0 = g * LANES;
        let paths = group.iter().enumerate();
        let paths = paths.map(|(l, u)| (first + (i0 + l) as u64, &u[..]));
        e.draw_many(paths, &cfg.overrides, &cfg.scales, &mut draws);
        for (pi, out) in outs.iter_mut().enumerate() {
            if group.len() == LANES {
                // The monthly series go straight to the block's cells, and each segment's
                // service to its sum (the lanes in path order, as the paths below add theirs).
                let sums = &mut plans[pi].segment_served_sum;
                // The yearly statements too, unless each path's are kept.
                let yearly = (cfg.yearly && !cfg.per_path).then_some(&mut yearly_cols[pi]);
                let cols = cfg
                    .monthly
                    .then(|| monthly_cols[pi].lanes(yearly, i0 % CELL_CHUNK_PATHS, sums));
                e.run_plan_lanes(pi, draws.each_ref(), &mut lanes, rec, out.each_mut(), cols);
            } else {
                for (d, o) in draws.iter().zip(out.iter_mut()).take(group.len()) {
                    e.run_plan_with(pi, d, &mut scratch, rec, o);
                }
            }
        }
        for l in 0..group.len() {
            let (i, path) = (i0 + l, first + (i0 + l) as u64);
            // The first plan's metrics on this path, which every plan's differences are against.
            let base = metric_values(&outs[0][l]);
            for (pi, out) in outs.iter().map(|o| &o[l]).enumerate() {
                let acc = &mut plans[pi];
                let vals = metric_values(out);
                // Years are accumulated as years after the start (the sketch's error is relative,
                // and 0.5 % of 2030 would blur whole years together), and only where the event
                // happens inside the horizon.
                for (id, (m, v)) in MetricId::ALL.iter().zip(acc.metrics.iter_mut().zip(vals)) {
                    if !id.is_year() {
                        m.push(v, path);
                    } else if v > e.end_year as f64 {
                        acc.never[id.index()] += 1;
                    } else {
                        m.push(v - e.start_year as f64, path);
                    }
                }
                for (y, c) in acc.shortfall.iter_mut().enumerate() {
                    if out.shortfall_years >> y & 1 == 1 {
                        *c += 1;
                    }
                }
                acc.backstop += u64::from(out.funding_gap_usd > 0.0);
                acc.capacity_peak.push(out.capacity_peak_h100e);
                acc.capacity_end.push(out.capacity_end_h100e);
                for (ri, delay) in out.run_delay_months.iter().enumerate() {
                    acc.run_delay[ri].push(*delay);
                    acc.run_late[ri] += u64::from(*delay > 0.0);
                }
                by_opt.fill(0.0);
                for (oi, _, a) in &out.rule_commitments {
                    by_opt[*oi] += a;
                }
                for (m, v) in acc.rule_committed.iter_mut().zip(&by_opt) {
                    m.push(*v);
                }
                for (k, mi) in DIFF_METRICS.iter().map(|m| m.index()).enumerate() {
                    acc.diffs[k].push(vals[mi] - base[mi]);
                }
                // The series and statements the lanes did not write to the cells.
                if cfg.monthly && !out.monthly.is_empty() {
                    let series = out.monthly.iter().take(REPORTED_SERIES);
                    monthly_cols[pi].set_path(i % CELL_CHUNK_PATHS, series.map(|s| &s[..]));
                }
                for (a, v) in acc
                    .segment_served_sum
                    .iter_mut()
                    .zip(&out.segment_served_h100e)
                {
                    *a += v;
                }
                if cfg.yearly && !out.yearly.is_empty() {
                    // Year after year, the statement's lines and then each segment's revenue.
                    let ns = e.num_segments();
                    let segs = |y: usize| &out.yearly_segment_revenue[y * ns..(y + 1) * ns];
                    let parts = out.yearly.iter().enumerate();
                    let parts = parts.flat_map(|(y, lines)| [&lines[..], segs(y)]);
                    yearly_cols[pi].set_path(i % CELL_CHUNK_PATHS, parts);
                }
                if cfg.per_path {
                    let mut o = out.clone();
                    o.monthly = Vec::new();
                    o.segment_served_h100e = Vec::new();
                    per_path.push((path, pi, o));
                }
            }
        }
        let done = i0 + group.len();
        if done.is_multiple_of(CELL_CHUNK_PATHS) || done == n {
            // The paths since the buffer was last summarised.
            let rows = (done - 1) % CELL_CHUNK_PATHS + 1;
            let cols = monthly_cols.iter().zip(&yearly_cols);
            for (pi, (acc, (m, y))) in plans.iter_mut().zip(cols).enumerate() {
                match shelf.as_deref_mut() {
                    Some(sh) => {
                        let means = &mut shelved_means[pi];
                        m.summarise_means(rows, &mut sh.monthly[pi], &mut means.monthly);
                        y.summarise_means(rows, &mut sh.yearly[pi], &mut means.yearly);
                    }
                    None => {
                        m.summarise_cells(rows, &mut acc.monthly);
                        y.summarise_cells(rows, &mut acc.yearly);
                    }
                }
            }
        }
    }
    // Select each block's tails here, in parallel, so the serial merge is cheap.
    for acc in &mut plans {
        for m in &mut acc.metrics {
            if let Some(t) = &mut m.tail {
                t.compact();
            }
        }
    }
    BlockAcc {
        block,
        plans,
        achieved: achieved.map(|a| (a, n)),
        per_path,
        shelved_means,
    }
}

/// A buffer of a block's cell values, taken from the thread's finished blocks when it can: a
/// buffer takes up to megabytes, and fresh memory costs a page fault per page.
struct BlockBuf(Vec<f64>);

thread_local! {
    /// Buffers of finished blocks' cells, kept for the thread's next block.
    static CELL_BUFFERS: std::cell::RefCell<Vec<Vec<f64>>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl BlockBuf {
    /// `len` values. Every path writes every cell before the buffer is summarised, so a reused
    /// buffer keeps what the last block left instead of being zeroed. Debug builds fill it
    /// with NaN, which summarising refuses.
    fn new(len: usize) -> BlockBuf {
        let mut buf = CELL_BUFFERS
            .with(|b| b.borrow_mut().pop())
            .unwrap_or_default();
        buf.truncate(len);
        if cfg!(debug_assertions) {
            buf.fill(f64::NAN);
        }
        buf.resize(len, f64::NAN);
        BlockBuf(buf)
    }
}

impl Drop for BlockBuf {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.0);
        if buf.capacity() > 0 {
            CELL_BUFFERS.with(|b| b.borrow_mut().push(buf));
        }
    }
}

/// A plan's statistic cells (monthly series × months, or years × statement lines) for some of
/// a block's paths ([`CELL_CHUNK_PATHS`] at a time), in groups of [`LANES`] paths, each group
/// cell after cell with the group's values of a cell side by side (path `i`'s value of cell `c`
/// at `((i / LANES) × cells + c) × LANES + i % LANES`): the engine writes a month's lanes in
/// one store into its group's stretch ([`LaneColumns`]), and the eight cells summarised
/// together are read in stretches of a group each; summarised per cell, in the worker thread.
struct CellColumns {
    cells: usize,
    paths: usize,
    buf: BlockBuf,
}

impl CellColumns {
    fn new(cells: usize, paths: usize) -> CellColumns {
        CellColumns {
            cells,
            paths,
            buf: BlockBuf::new(cells * paths.div_ceil(LANES) * LANES),
        }
    }

    /// The group of the block's paths `first .. first + LANES` (`first` a multiple of
    /// [`LANES`]) in these monthly cells and, when given, `yearly` cells, for the engine to
    /// write, with the plan's sums of segment service it adds to.
    fn lanes<'a>(
        &'a mut self,
        yearly: Option<&'a mut CellColumns>,
        first: usize,
        segment_served_sum: &'a mut [f64],
    ) -> LaneColumns<'a> {
        LaneColumns {
            cells: self.group(first),
            segment_served_sum,
            yearly_cells: yearly.map(|y| y.group(first)),
        }
    }

    /// The stretch of the group of paths `first .. first + LANES`.
    fn group(&mut self, first: usize) -> &mut [f64] {
        let len = self.cells * LANES;
        &mut self.buf.0[first / LANES * len..][..len]
    }

    /// The block's `i`-th path's values, cell after cell from the first, in parts.
    fn set_path<'v>(&mut self, i: usize, parts: impl IntoIterator<Item = &'v [f64]>) {
        let lane = i % LANES;
        let mut cells = self.group(i).chunks_exact_mut(LANES);
        for part in parts {
            for (cell, v) in cells.by_ref().take(part.len()).zip(part) {
                cell[lane] = *v;
            }
        }
    }

    /// The first `rows` paths' values of each cell into its quantiles in `qs` and its mean in
    /// `means` (the monthly and yearly cells report only a mean besides their quantiles), in
    /// one pass ([`Quantiles::extend_columns_mean`]). The means go on from where they stood, so
    /// a block's paths summarised a few at a time sum as they would all at once.
    fn summarise_means(&self, rows: usize, qs: &mut [Quantiles], means: &mut [Mean]) {
        debug_assert!(rows <= self.paths, "rows beyond the buffer");
        Quantiles::extend_columns_mean(qs, &self.buf.0, (rows, LANES), means);
    }

    /// [`CellColumns::summarise_means`] into (quantiles, mean) pairs: a block's own cells, when
    /// the thread keeps no shelf.
    fn summarise_cells(&self, rows: usize, cells: &mut [(Quantiles, Mean)]) {
        let (mut qs, mut means): (Vec<Quantiles>, Vec<Mean>) = cells
            .iter_mut()
            .map(|c| (std::mem::replace(&mut c.0, Quantiles::new(0)), c.1))
            .unzip();
        self.summarise_means(rows, &mut qs, &mut means);
        for (c, (q, m)) in cells.iter_mut().zip(qs.into_iter().zip(means)) {
            *c = (q, m);
        }
    }
}

/// Runs every plan of the engine over `cfg.paths` paths. `progress` is called with the
/// number of paths done after each chunk.
pub fn run(e: &Engine, cfg: &RunConfig, progress: &(dyn Fn(u64) + Sync)) -> RunResult {
    run_to_precision(e, cfg, None, progress)
}

/// Blocks between precision checks: fixed, so where a run stops does not depend on threads.
pub const PRECISION_CHECK_BLOCKS: u64 = 8;

/// Like [`run`], but stops early once every plan's NPV standard error is at most
/// `target_npv_se_usd` (checked every [`PRECISION_CHECK_BLOCKS`] blocks, in block order, so the
/// stopping point is the same on any number of threads). `cfg.paths` is the most it runs.
pub fn run_to_precision(
    e: &Engine,
    cfg: &RunConfig,
    target_npv_se_usd: Option<f64>,
    progress: &(dyn Fn(u64) + Sync),
) -> RunResult {
    run_with(e, cfg, target_npv_se_usd, progress, &|| false)
}

/// Like [`run_to_precision`], and `cancel` is asked between chunks of blocks: when it says
/// true, no further chunk starts and the run ends with the blocks that ran, merged
/// (`RunResult::cancelled`).
pub fn run_with(
    e: &Engine,
    cfg: &RunConfig,
    target_npv_se_usd: Option<f64>,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &(dyn Fn() -> bool + Sync),
) -> RunResult {
    let mut cancelled = false;
    let blocks = cfg.paths.div_ceil(BLOCK);
    let mut merger = Merger::new(e, cfg);
    let threads = rayon::current_num_threads().max(1);
    // Cells kept per thread (when sketched), unless a precision target may drop blocks that
    // already ran.
    let shelves: Option<Vec<Mutex<CellShelf>>> = target_npv_se_usd
        .is_none()
        .then(|| CellShelf::new(e, cfg))
        .flatten()
        .map(|sh| (0..threads).map(|_| Mutex::new(sh.clone())).collect());
    // Monthly sketches in a block's accumulator make it large, so keep fewer in flight.
    let per_thread = if cfg.monthly && shelves.is_none() {
        1
    } else {
        CHUNK_BLOCKS as u64
    };
    let run_chunk = |chunk: std::ops::Range<u64>| -> Vec<BlockAcc> {
        chunk
            .into_par_iter()
            .map(|b| match &shelves {
                // Each thread its own shelf (the lock is never contended: blocks do not
                // start parallel work of their own); any shelf would give the same result.
                Some(sh) => {
                    let i = rayon::current_thread_index().unwrap_or(0) % sh.len();
                    let mut shelf = sh[i].lock().unwrap_or_else(|p| p.into_inner());
                    run_block_on(e, cfg, b, Some(&mut shelf))
                }
                None => run_block(e, cfg, b),
            })
            .collect()
    };
    // Merges a chunk's blocks in block order and reports progress; true once the precision
    // target is met (the blocks after that one are not merged).
    let merge_chunk = |merger: &mut Merger, (outs, end): (Vec<BlockAcc>, u64)| -> bool {
        for o in outs {
            merger.merge(o).expect("blocks arrive in order");
            if let Some(target) = target_npv_se_usd {
                if merger.merged_blocks.is_multiple_of(PRECISION_CHECK_BLOCKS)
                    && merger.npv_se_at_most(target)
                {
                    return true;
                }
            }
        }
        progress((end * BLOCK).min(cfg.paths));
        false
    };
    // Each chunk's blocks are merged while the next chunk runs (so no thread waits for the
    // merge); the merge order, and so the result, is the same.
    let mut merging: Option<(Vec<BlockAcc>, u64)> = None;
    let mut next = 0u64;
    while next < blocks {
        if cancel() {
            cancelled = true;
            break;
        }
        let end = (next + per_thread * threads as u64).min(blocks);
        let (outs, reached) = rayon::join(
            || run_chunk(next..end),
            || merging.take().is_some_and(|m| merge_chunk(&mut merger, m)),
        );
        if reached {
            // The chunk that ran meanwhile is beyond the stopping point.
            break;
        }
        merging = Some((outs, end));
        next = end;
    }
    if let Some(m) = merging.take() {
        merge_chunk(&mut merger, m);
    }
    for sh in shelves.into_iter().flatten() {
        merger.add_cells(sh.into_inner().unwrap_or_else(|p| p.into_inner()));
    }
    merger.finish(cancelled)
}

/// Merges blocks' accumulators, in block order, into a run's result.
#[derive(Debug, Clone)]
pub struct Merger {
    paths: u64,
    total: Vec<PlanAcc>,
    corr_sum: Option<Vec<Vec<f64>>>,
    corr_n: usize,
    per_path: Vec<(u64, usize, PathOutcome)>,
    merged_blocks: u64,
}

impl Merger {
    /// Empty totals for a run of `cfg` on `e`.
    pub fn new(e: &Engine, cfg: &RunConfig) -> Merger {
        Merger {
            paths: cfg.paths,
            total: e
                .plans
                .iter()
                .map(|_| PlanAcc::new(e, cfg.paths, cfg, true))
                .collect(),
            corr_sum: None,
            corr_n: 0,
            per_path: Vec::new(),
            merged_blocks: 0,
        }
    }

    /// Adds the next block. Blocks must come in order (0, 1, 2, ...): merging is what makes a
    /// result independent of where blocks ran, and its order is part of the result.
    pub fn merge(&mut self, o: BlockAcc) -> Result<(), String> {
        if o.block != self.merged_blocks || o.plans.len() != self.total.len() {
            return Err(format!(
                "expected block {} with {} plans, got block {} with {}",
                self.merged_blocks,
                self.total.len(),
                o.block,
                o.plans.len()
            ));
        }
        for (t, p) in self.total.iter_mut().zip(&o.plans) {
            t.merge(p);
        }
        for (t, m) in self.total.iter_mut().zip(&o.shelved_means) {
            for (a, b) in t.monthly.iter_mut().zip(&m.monthly) {
                a.1.merge(b);
            }
            for (a, b) in t.yearly.iter_mut().zip(&m.yearly) {
                a.1.merge(b);
            }
        }
        if let Some((m, n)) = o.achieved {
            let acc = self
                .corr_sum
                .get_or_insert_with(|| vec![vec![0.0; m.len()]; m.len()]);
            for (ra, rm) in acc.iter_mut().zip(&m) {
                for (a, x) in ra.iter_mut().zip(rm) {
                    *a += x * n as f64;
                }
            }
            self.corr_n += n;
        }
        self.per_path.extend(o.per_path);
        self.merged_blocks += 1;
        Ok(())
    }

    /// Adds a thread's shelf of cell quantiles (in any order: sketch counts add).
    fn add_cells(&mut self, sh: CellShelf) {
        for ((t, m), y) in self.total.iter_mut().zip(sh.monthly).zip(sh.yearly) {
            for (a, q) in t.monthly.iter_mut().zip(m) {
                a.0.absorb(q);
            }
            for (a, q) in t.yearly.iter_mut().zip(y) {
                a.0.absorb(q);
            }
        }
    }

    /// Blocks merged so far.
    pub fn merged_blocks(&self) -> u64 {
        self.merged_blocks
    }

    /// True when every plan's NPV standard error is at most `target`.
    pub fn npv_se_at_most(&self, target: f64) -> bool {
        self.total
            .iter()
            .all(|p| p.metrics[MetricId::Npv.index()].moments.se() <= target)
    }

    /// The run's result from the blocks merged (`cancelled` as the caller says).
    pub fn finish(self, cancelled: bool) -> RunResult {
        let corr_n = self.corr_n;
        let achieved_correlation = self.corr_sum.map(|m| {
            m.into_iter()
                .map(|r| r.into_iter().map(|x| x / corr_n.max(1) as f64).collect())
                .collect()
        });
        RunResult {
            paths: (self.merged_blocks * BLOCK).min(self.paths),
            plans: self.total,
            achieved_correlation,
            per_path: self.per_path,
            cancelled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_in_lane_groups_give_each_cells_own_mean_and_quantiles() {
        // 13 cells, 37 paths (four whole groups of LANES written by lanes, the last five paths
        // one by one into a part-full group), values of both signs and zeros: each cell's mean
        // and quantiles are the bits `extend_mean` and `Quantiles::extend` give its values in
        // path order (the sum also the one `Moments::from_slice` starts from), kept exactly
        // (cap 1,000) and sketched (cap 0), whether the paths are summarised all at once or go
        // through a buffer of two groups, summarised each time it is full, as a block's monthly
        // and yearly cells do.
        let (cells, paths) = (13, 37);
        let value = |c: usize, i: usize| {
            let x = ((i * 7919 + c * 104_729) % 1013) as f64 * 1.37e6 / 7.0;
            match c % 4 {
                0 => x,
                1 => -x,
                2 if i.is_multiple_of(5) => 0.0,
                _ => x - 5e8,
            }
        };
        // Paths `first ..` (up to the buffer's size, or the end) into `cols` from its start.
        let write = |cols: &mut CellColumns, first: usize| {
            let end = paths.min(first + cols.paths);
            let whole = first + (end - first) / LANES * LANES;
            for at in (first..whole).step_by(LANES) {
                let mut lanes = cols.lanes(None, at - first, &mut []);
                for c in 0..cells {
                    let v: [f64; LANES] = std::array::from_fn(|l| value(c, at + l));
                    lanes.put(c, &v);
                }
            }
            for i in whole..end {
                let values: Vec<f64> = (0..cells).map(|c| value(c, i)).collect();
                // In parts, as a year's lines and segments go.
                let (a, b) = values.split_at(5);
                cols.set_path(i - first, [a, &[], b]);
            }
            end - first
        };
        let mut block = CellColumns::new(cells, paths);
        write(&mut block, 0);
        // No cells (a run without yearly statements) is nothing to do.
        CellColumns::new(0, paths).summarise_means(paths, &mut [], &mut []);
        CellColumns::new(0, paths).summarise_cells(paths, &mut []);
        for cap in [0, 1000] {
            // All at once, quantiles and means apart (a shelf's route).
            let mut qs = vec![Quantiles::new(cap); cells];
            let mut means = vec![Mean::default(); cells];
            block.summarise_means(paths, &mut qs, &mut means);
            // Two groups at a time, into (quantiles, mean) pairs (a block's own cells).
            let mut chunked = vec![(Quantiles::new(cap), Mean::default()); cells];
            let mut chunk = CellColumns::new(cells, 2 * LANES);
            for first in (0..paths).step_by(2 * LANES) {
                let rows = write(&mut chunk, first);
                chunk.summarise_cells(rows, &mut chunked);
            }
            let (qs_chunked, means_chunked): (Vec<Quantiles>, Vec<Mean>) =
                chunked.into_iter().unzip();
            for c in 0..cells {
                let col: Vec<f64> = (0..paths).map(|i| value(c, i)).collect();
                let mut q = Quantiles::new(cap);
                let want = q.extend_mean(&col);
                assert_eq!(means[c].n, want.n, "cell {c}");
                assert_eq!(means[c].sum.to_bits(), want.sum.to_bits(), "cell {c}");
                assert_eq!(means_chunked[c], means[c], "cell {c}");
                assert_eq!(
                    means_chunked[c].sum.to_bits(),
                    want.sum.to_bits(),
                    "cell {c}"
                );
                assert_eq!(qs[c], q, "cell {c}");
                assert_eq!(qs_chunked[c], q, "cell {c}");
                // The sum two-pass moments start from, which the yearly means were before
                // they were kept as means.
                let want = Moments::from_slice(&col);
                assert_eq!(
                    means_chunked[c].sum.to_bits(),
                    want.sum.to_bits(),
                    "cell {c}"
                );
            }
        }
    }
}
