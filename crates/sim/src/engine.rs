//! The monthly path model: a scenario compiled into flat arrays, then simulated path by path.
//!
//! The order of operations each month is documented in `docs/explanation/simulation.md`;
//! the comments below carry the step numbers used there.

use std::collections::HashMap;

use gigawatt_model::{
    correlation_matrix, inverse_normal_cdf, nearest_psd_correlation, AllocationStep, Dist, Growth,
    InputField, Month, OptionKind, Plan, PreparedDist, Scenario, ValidScenario, Z90,
};
use rand_distr::{Distribution, StandardNormal};

use crate::sample::{self, cholesky, hash3, key, spearman_to_pearson, unit, Sampler};

mod commit;
mod compile;
mod draw;
mod month;
mod rules;
mod view;

use compile::*;
pub use view::{OptionInfo, PathView, PoolInfo, UnitEffect};

/// Hours in an average month, for power cost.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// Quality index bounds (ratio of research delivered to planned, before the elasticity).
const QUALITY_RATIO_MIN: f64 = 0.1;
const QUALITY_RATIO_MAX: f64 = 10.0;

/// Relative size below which a residue of subtraction is treated as zero.
const NOISE: f64 = 1e-12;

/// Relative unserved demand above which a month counts as a shortfall.
pub const SHORTFALL_TOL: f64 = 1e-6;

/// Demand (H100e) below which an affine rule's signal treats demand as this, so that its log
/// stays finite.
const AFFINE_MIN_DEMAND_H100E: f64 = 1e-6;

/// The signal an affine rule (a linear decision rule) responds to: ln(D / centre), D being
/// the product compute demand observed (at least [`AFFINE_MIN_DEMAND_H100E`]). The programme
/// that finds such rules computes it with this same function, so both see the same number.
pub fn affine_signal(demand_h100e: f64, centre_h100e: f64) -> f64 {
    (demand_h100e.max(AFFINE_MIN_DEMAND_H100E) / centre_h100e).ln()
}

/// Name of the plan a scenario without plans is simulated with: the fleet alone.
pub const DEFAULT_PLAN: &str = "no-commitments";

// Random-stream tags. Every random number is `uniform(seed, key, path)`; these constants are
// XOR-ed into an input's or event's key to give it further independent streams. They define
// every result: changing one changes the draws (and the golden outputs), so each is named here
// with what it keys.

/// The percentile growth process: the path's one normal score (segment key ^ tag).
const STREAM_PERCENTILE_SCORE: u64 = 0x5EC7;
/// A launch's month within its window (launch key ^ tag); the launch key alone decides whether
/// it happens.
const STREAM_LAUNCH_MONTH: u64 = 0xA7;
/// Whether a commitment's delivery slips (commitment key ^ tag).
const STREAM_DELAY_HAPPENS: u64 = 0xDE1A;
/// How long the slip is (commitment key ^ tag); the commitment key alone draws the lead time.
const STREAM_DELAY_LENGTH: u64 = 0xDE1B;
/// An event's start month within its window (event key ^ tag); the event key alone decides
/// whether it happens.
const STREAM_EVENT_MONTH: u64 = 0xE7A7;
/// Rule commitments are keyed (option key, month, RULE_ORDINAL_BASE + n-th rule commitment on
/// the path), so they never share a key with a plan's fixed commitments (ordinals 0, 1, ...).
const RULE_ORDINAL_BASE: u64 = 1000;

#[derive(Debug, Clone)]
struct Input {
    key: u64,
    dim: u32,
    /// The distribution, its quantile function prepared for drawing on every path.
    dist: PreparedDist,
}

#[derive(Debug, Clone)]
enum GrowthC {
    Log {
        drift: usize,
        vol: usize,
    },
    SCurve {
        sat: usize,
        rate: usize,
        vol: usize,
    },
    Regimes {
        drift: Vec<f64>,
        vol: Vec<f64>,
        cum: Vec<Vec<f64>>,
        start: usize,
    },
    Pct {
        at: Vec<i32>,
        ln10: Vec<f64>,
        ln50: Vec<f64>,
        ln90: Vec<f64>,
    },
}

#[derive(Debug, Clone)]
struct LaunchC {
    start: i32,
    len: i32,
    prob: f64,
    jump: usize,
    decay_per_month: Option<f64>,
    key: u64,
}

/// An event compiled: when it can start, what it hits, and its inputs.
#[derive(Debug, Clone)]
struct EventC {
    kind: gigawatt_model::EventKind,
    start: i32,
    len: i32,
    prob: f64,
    /// Input index of the share (efficiency, price war).
    share: usize,
    /// Input index of the delivery delay (supply shock, power delay).
    delay: usize,
    duration: i32,
    /// Segments hit (efficiency, price war).
    segs: Vec<usize>,
    key: u64,
}

#[derive(Debug, Clone)]
struct SegC {
    start: usize,
    k0: usize,
    eff: usize,
    price0: usize,
    pdecl: usize,
    growth: GrowthC,
    launches: Vec<LaunchC>,
    churn: f64,
    key: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Floor,
    Seg(usize),
    Runs,
    Extra,
}

#[derive(Debug, Clone)]
struct RunC {
    size: f64,
    start: i32,
    deadline: i32,
    rate: f64,
    /// Runs only on pools with at least this much capacity online, H100e.
    min_cluster: f64,
}

/// A capacity pool compiled: what using it costs (the work it may run is in
/// `Engine::pools_serving` and `Engine::pools_research`).
#[derive(Debug, Clone)]
struct PoolC {
    name: String,
    /// Use fee per H100e-month used, USD.
    fee_month_usd: f64,
    /// Share of full power drawn when idle.
    idle_share: f64,
}

#[derive(Debug, Clone)]
struct OptC {
    kind: OptionKind,
    /// Units per H100e (build, buy), H100e per unit.
    h100e_per_unit: f64,
    kw_per_unit: f64,
    gen_price: usize,
    gen_life_m: i32,
    lead: usize,
    delay_p: f64,
    delay: usize,
    capex_mw: usize,
    schedule: Vec<f64>,
    opex_mw_month: f64,
    power_price: Option<f64>,
    pue: f64,
    life_m: i32,
    residual: Option<f64>,
    term_m: i32,
    /// Lease: months of notice to cancel (0: cannot) and the fee as a share of the payments
    /// cancelled.
    cancel_notice_m: i32,
    cancel_fee: f64,
    /// Chips: shares of the up-front price from commitment to arrival; the financed share, the
    /// monthly rate and the repayment months.
    chip_schedule: Vec<f64>,
    financed: f64,
    fin_rate_m: f64,
    /// 1 − (1 + monthly rate)^−term, the annuity's denominator (computed once).
    fin_annuity_denom: f64,
    fin_term_m: i32,
    /// Lease: multiplier per 12 months of the term (empty: flat).
    ramp: Vec<f64>,
    /// Vendor investments its deliveries count towards: (investment, USD and warrants USD per
    /// H100e).
    investments: Vec<(usize, f64, f64)>,
    price: usize,
    cap_h100e: f64,
    block: Option<f64>,
    max_total: f64,
    planned_lead: f64,
    /// First month its chips can arrive (the generation's `available_from`).
    available_m: i32,
    h100e_per_mw: f64,
    key: u64,
    /// Events (supply shocks, power delays) that can slip its deliveries.
    slip_events: Vec<usize>,
    /// Capacity pool its capacity joins.
    pool: usize,
}

#[derive(Debug, Clone)]
struct CommitC {
    opt: usize,
    t: i32,
    amount: f64,
    key: u64,
}

#[derive(Debug, Clone)]
struct RuleC {
    opt: usize,
    refresh: bool,
    /// Cancels leases instead of committing.
    cancel: bool,
    /// A linear decision rule: (intercept, slope, centre H100e).
    affine: Option<(f64, f64, f64)>,
    every: i32,
    from: i32,
    until: i32,
    z: f64,
    headroom: f64,
    max_per: f64,
}

/// A plan compiled against the engine.
#[derive(Debug, Clone)]
pub struct PlanC {
    /// Plan name.
    pub name: String,
    commits: Vec<CommitC>,
    rules: Vec<RuleC>,
}

impl PlanC {
    /// True when the plan commits nothing (no commitments, no rules).
    pub fn commits_nothing(&self) -> bool {
        self.commits.is_empty() && self.rules.is_empty()
    }
}

/// Requested and achieved rank correlations.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationReport {
    /// Input ids in matrix order.
    pub names: Vec<String>,
    /// Requested (after PSD repair, if any).
    pub requested: Vec<Vec<f64>>,
}

#[derive(Debug, Clone)]
struct CorrC {
    inputs: Vec<usize>,
    chol: Vec<Vec<f64>>,
    report: CorrelationReport,
}

/// Names of the monthly series, in recording order.
pub const SERIES: [&str; 14] = [
    "demand_h100e",
    "capacity_h100e",
    "served_h100e",
    "unserved_h100e",
    "research_h100e",
    "idle_h100e",
    "revenue_usd",
    "cash_usd",
    "backstop_drawn_usd",
    "burst_h100e",
    "free_cash_flow_usd",
    "interest_usd",
    "funding_usd",
    "debt_usd",
];

/// How many of the SERIES (from the first) get monthly percentiles in reports; the rest
/// (cash-flow identity terms) are only in a path's own record.
pub const REPORTED_SERIES: usize = 10;

/// Lines of a yearly statement, in order; each is a sum over the year's months except the cash
/// balances. Power is what the chips drew (less, with pools, for the idle share of capacity
/// not used); usage fees are the pools' fees per H100e-hour used. The statement closes: cash_end = cash_start + free_cash_flow − interest +
/// funding_rounds + vendor_investment + credit_drawn + backstop_drawn − repaid. Free cash flow is
/// revenue less operating costs (revenue shares among them), capex and vendor financing
/// payments; warrants vested are non-cash and outside the identity.
pub const YEARLY_LINES: [&str; 24] = [
    "revenue_usd",
    "power_usd",
    "usage_fees_usd",
    "facility_opex_usd",
    "leases_usd",
    "burst_usd",
    "non_compute_opex_usd",
    "revenue_share_usd",
    "depreciation_usd",
    "operating_income_usd",
    "capex_usd",
    "capex_chips_usd",
    "capex_facilities_usd",
    "vendor_financing_usd",
    "free_cash_flow_usd",
    "funding_rounds_usd",
    "vendor_investment_usd",
    "credit_drawn_usd",
    "backstop_drawn_usd",
    "repaid_usd",
    "interest_usd",
    "cash_start_usd",
    "cash_end_usd",
    "warrants_vested_usd",
];

/// Index of each yearly line in [`YEARLY_LINES`].
pub mod yl {
    #![allow(missing_docs)]
    pub const REVENUE: usize = 0;
    pub const POWER: usize = 1;
    pub const USAGE_FEES: usize = 2;
    pub const OPEX: usize = 3;
    pub const LEASES: usize = 4;
    pub const BURST: usize = 5;
    pub const NON_COMPUTE: usize = 6;
    pub const REVENUE_SHARE: usize = 7;
    pub const DEPRECIATION: usize = 8;
    pub const OPERATING_INCOME: usize = 9;
    pub const CAPEX: usize = 10;
    pub const CAPEX_CHIPS: usize = 11;
    pub const CAPEX_FACILITIES: usize = 12;
    pub const VENDOR_FINANCING: usize = 13;
    pub const FCF: usize = 14;
    pub const ROUNDS: usize = 15;
    pub const VENDOR_INVESTMENT: usize = 16;
    pub const CREDIT_DRAWN: usize = 17;
    pub const BACKSTOP_DRAWN: usize = 18;
    pub const REPAID: usize = 19;
    pub const INTEREST: usize = 20;
    pub const CASH_START: usize = 21;
    pub const CASH_END: usize = 22;
    pub const WARRANTS: usize = 23;
}

/// What a path records beyond its outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recording {
    /// The monthly series ([`SERIES`]).
    pub monthly: bool,
    /// The yearly statements ([`YEARLY_LINES`]).
    pub yearly: bool,
}

/// What one plan produced on one path.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PathOutcome {
    /// Yearly statements, one per calendar year of the horizon ([`YEARLY_LINES`] order); only
    /// when the run asks for them.
    pub yearly: Vec<[f64; YEARLY_LINES.len()]>,
    /// Revenue of each segment in each calendar year, years × segments (with `yearly`).
    pub yearly_segment_revenue: Vec<f64>,
    /// Compute served to each segment each month, H100e, segments × months (with monthly
    /// recording).
    pub segment_served_h100e: Vec<f64>,
    /// Net present value of free cash flow plus terminal asset value less remaining lease obligations.
    pub npv_usd: f64,
    /// Revenue summed over the horizon.
    pub cum_revenue_usd: f64,
    /// Lowest cash before credit line and backstop draws.
    pub min_cash_usd: f64,
    /// Total drawn from the backstop (the funding gap).
    pub funding_gap_usd: f64,
    /// Unserved share of product compute demand over the horizon.
    pub unserved_share: f64,
    /// Research compute delivered over planned.
    pub research_delivered_pu: f64,
    /// Share of capacity used by product or research.
    pub utilisation: f64,
    /// Cost of capacity that sat idle.
    pub idle_cost_usd: f64,
    /// First calendar year with positive operating income (end year + 1 if none).
    pub first_profitable_year: f64,
    /// First calendar year with positive free cash flow (end year + 1 if none).
    pub first_positive_fcf_year: f64,
    /// Bit y set when year y of the horizon had any shortfall.
    pub shortfall_years: u64,
    /// Highest capacity online in any month, H100e.
    pub capacity_peak_h100e: f64,
    /// Capacity online in the last month, H100e.
    pub capacity_end_h100e: f64,
    /// Months each training run finished after its deadline (censored at the horizon end).
    pub run_delay_months: Vec<f64>,
    /// Monthly series (only when recording), SERIES order, each of length T.
    pub monthly: Vec<Vec<f64>>,
    /// Commitments made by rules: (option index, month index, amount).
    pub rule_commitments: Vec<(usize, i32, f64)>,
    /// Leases cancelled by rules: (option index, decision month index, H100e, fee USD).
    pub lease_cancellations: Vec<(usize, i32, f64, f64)>,
}

/// A scenario compiled for simulation.
#[derive(Debug, Clone)]
pub struct Engine {
    /// Number of months.
    pub months: usize,
    /// First calendar year of the horizon.
    pub start_year: i32,
    /// Last calendar year of the horizon (a path never profitable reports the year after it).
    pub end_year: i32,
    start_month_of_year: i32,
    inputs: Vec<Input>,
    index: HashMap<String, usize>,
    /// Input index by `id`.
    id_index: HashMap<String, usize>,
    corr: Option<CorrC>,
    segs: Vec<SegC>,
    /// Demand factors flattened as [segment × blocks + block].
    factors: Vec<f64>,
    /// Hours share of each block.
    hours: Vec<f64>,
    order: Vec<Step>,
    /// The segments in allocation order.
    order_segs: Vec<usize>,
    runs: Vec<RunC>,
    /// Research compute the runs are scheduled to use each month (size spread over its window).
    run_schedule: Vec<f64>,
    /// Indices of buy options.
    buy_opts: Vec<usize>,
    /// Run names in priority order.
    pub run_names: Vec<String>,
    opts: Vec<OptC>,
    /// Option names.
    pub option_names: Vec<String>,
    /// Unit of each option's amounts: "MW" (build) or "H100e" (lease, buy, burst).
    pub option_units: Vec<&'static str>,
    /// First and last commitment month index of each option.
    commit_windows: Vec<(i32, i32)>,
    fleet: Vec<FleetC>,
    /// Capacity pools (empty: one pool that serves everything at no cost per use).
    pools: Vec<PoolC>,
    /// Bit p set when pool p may serve each segment, and research.
    pools_serving: Vec<u64>,
    pools_research: u64,
    floor_h100e: f64,
    floor_share: f64,
    extra_cap_share: f64,
    quality_eps: usize,
    quality_lag: usize,
    availability: f64,
    existing_mw: f64,
    max_total_mw: f64,
    site_power_price: usize,
    site_pue: f64,
    burst_covers: bool,
    rounds: Vec<(i32, usize, f64, u64)>,
    events: Vec<EventC>,
    /// Share of each segment's revenue paid to partners each month, S × T (empty: none).
    rev_share: Vec<f64>,
    /// Most each vendor investment pays in total (infinite: no limit).
    invest_max: Vec<f64>,
    starting_cash: f64,
    min_cash: f64,
    credit_limit: f64,
    credit_rate_m: f64,
    backstop_rate_m: f64,
    opex0: usize,
    opex_growth_ln_m: f64,
    it_dep_m: f64,
    fac_dep_m: f64,
    disc_m: f64,
    /// Compiled plans.
    pub plans: Vec<PlanC>,
    seed: u64,
    sampler: Sampler,
}

#[derive(Debug, Clone)]
struct FleetC {
    h100e: f64,
    from: i32,
    to: i32,
    kw_units: f64,
    lease_month_usd: f64,
    units_price: usize,
    units: f64,
    age0_m: f64,
    owned: bool,
    pool: usize,
}

/// Per-path draws shared by every plan (common random numbers).
#[derive(Debug, Clone, Default)]
pub struct Draws {
    params: Vec<f64>,
    /// Exogenous demand (growth and launches), S × T.
    exo: Vec<f64>,
    /// Compute intensity, S × T.
    k: Vec<f64>,
    /// Revenue per H100e-month served (price over compute intensity), S × T.
    rev: Vec<f64>,
    /// Funding received each month (rounds that close).
    funding: Vec<f64>,
    /// Per event: (first month, end month exclusive, delay months) of a delivery slip that
    /// happens on this path, else None.
    slips: Vec<Option<(i32, i32, i32)>>,
    /// Months the credit line lends nothing new (a funding freeze), T long; empty when no
    /// freeze happens on this path.
    credit_closed: Vec<bool>,
    /// A named case: medians everywhere, no noise.
    median: bool,
    path: u64,
    /// A segment's log demand level by month, before its exponential (scratch).
    ln: Vec<f64>,
    /// S-curve segments whose levels are still to be run over their shocks (scratch: empty
    /// once the path is drawn).
    s_curves: Vec<SCurveChain>,
}

/// An S-curve segment's running level while it is advanced over its shocks, month by month.
#[derive(Debug, Clone, Copy)]
struct SCurveChain {
    seg: usize,
    level: f64,
    k_sat: f64,
    rate_m: f64,
    sig: f64,
}

/// Reusable per-thread buffers for one plan on one path.
#[derive(Debug, Default)]
pub struct Scratch {
    d_cap: Vec<f64>,
    d_power: Vec<f64>,
    d_opex: Vec<f64>,
    d_lease: Vec<f64>,
    d_dep: Vec<f64>,
    d_space: Vec<f64>,
    d_used: Vec<f64>,
    /// Per pool (only with pools), P × (T + 1): capacity and full-draw power deltas.
    d_pool_cap: Vec<f64>,
    d_pool_power: Vec<f64>,
    capex: Vec<f64>,
    /// The chips' part of `capex` (the rest is facilities).
    capex_chips: Vec<f64>,
    /// Vendor financing repayments, per month (amounts, not deltas).
    fin: Vec<f64>,
    /// Vendor investment received and warrants vested, per month (amounts).
    vendor_funding: Vec<f64>,
    warrants: Vec<f64>,
    /// Paid so far by each vendor investment.
    invested: Vec<f64>,
    /// Capacity planned to be online (deltas, by planned arrival), changed only through
    /// [`Engine::span_planned`], and its running sums `planned_sums[h]` = Σ planned[..=h] for
    /// the months not changed since they were summed (rules read them every month).
    planned: Vec<f64>,
    planned_sums: Vec<f64>,
    buy_arrivals: Vec<f64>,
    hist: Vec<f64>,
    /// ln(hist[t] / hist[t-1]) where both are positive, else NaN (only kept for plans with
    /// rules, which forecast from it).
    log_growth: Vec<f64>,
    ratio: Vec<f64>,
    committed: Vec<f64>,
    /// Every lease committed on the path, for cancel rules.
    leases: Vec<LeaseLot>,
    work: Work,
    /// The lane arrays of a single path.
    hot: Hot<1>,
    terminal: f64,
    built_mw: f64,
}

/// A lease on one path: option, arrival, end (exclusive), H100e still leased, price per
/// H100e-month, and its planned arrival.
#[derive(Debug, Clone, Copy)]
struct LeaseLot {
    opt: usize,
    a: i32,
    end: i32,
    amount: f64,
    price: f64,
    planned_a: i32,
}

/// Per-month working vectors of one plan on one path (the parts of a month each path walks on
/// its own: burst offers, bought chips waiting for space, pools).
#[derive(Debug, Default)]
struct Work {
    burst: Vec<(f64, f64)>,
    pending: Vec<f64>,
    /// Per pool (only with pools): raw capacity and full-draw power (running sums).
    pool_raw: Vec<f64>,
    pool_power: Vec<f64>,
    /// The pools this month, cheapest per H100e-month used first (the merit order).
    pools_now: Vec<PoolNow>,
}

/// The working vectors of `L` paths advanced together (a lane each), laid out as arrays of
/// lanes so that each step of the month runs once for all of them: segments' need, want and
/// service per load block, churn factors and training runs' progress.
#[derive(Debug)]
struct Hot<const L: usize> {
    /// Per segment: compute need this month (H100e), churn factor, compute served (H100e).
    need: Vec<[f64; L]>,
    churn: Vec<[f64; L]>,
    seg_served: Vec<[f64; L]>,
    /// Per segment: revenue in the calendar year so far, USD (with yearly statements).
    seg_revenue_year: Vec<[f64; L]>,
    /// Per segment and load block (segment × blocks + block): wanted and served, H100e.
    want: Vec<[f64; L]>,
    served: Vec<[f64; L]>,
    /// Per training run: H100e-months left, and the month it finished (−1: not yet).
    run_left: Vec<[f64; L]>,
    run_done: Vec<[i32; L]>,
    /// Burst offers, the k-th being each lane's k-th cheapest: cap, price, and what is left
    /// of it this load block.
    burst_cap: Vec<[f64; L]>,
    burst_price: Vec<[f64; L]>,
    burst_left: Vec<[f64; L]>,
}

impl<const L: usize> Default for Hot<L> {
    fn default() -> Self {
        Hot {
            need: Vec::new(),
            churn: Vec::new(),
            seg_served: Vec::new(),
            seg_revenue_year: Vec::new(),
            want: Vec::new(),
            served: Vec::new(),
            run_left: Vec::new(),
            run_done: Vec::new(),
            burst_cap: Vec::new(),
            burst_price: Vec::new(),
            burst_left: Vec::new(),
        }
    }
}

/// Paths advanced together by [`Engine::run_plan_lanes`].
pub const LANES: usize = 8;

/// Where [`Engine::run_plan_lanes`] writes the lanes' monthly series: cell after cell (cell
/// `series × months + month`), each cell's [`LANES`] values side by side, so a month's series
/// for all lanes is one store and consecutive months are next to each other; the running
/// sums of each segment's monthly service that the lanes add to; and, when given, where the
/// yearly statements go, laid out the same way.
#[derive(Debug)]
pub struct LaneColumns<'a> {
    /// `LANES` values per cell.
    pub cells: &'a mut [f64],
    /// Per segment and month (`segment × months + month`): the H100e-months served, summed
    /// over paths; each month the lanes' values are added one after another, lane 0 first.
    pub segment_served_sum: &'a mut [f64],
    /// `LANES` values per yearly cell (`year × cells a year + cell`, the year counted from the
    /// horizon's first; a year's cells are its [`YEARLY_LINES`], then each segment's
    /// revenue), written instead of `PathOutcome::yearly` and
    /// `PathOutcome::yearly_segment_revenue`, which stay empty; `None` leaves the statements
    /// in the outcomes.
    pub yearly_cells: Option<&'a mut [f64]>,
}

impl LaneColumns<'_> {
    /// The lanes' values of `cell`.
    #[inline]
    pub(crate) fn put<const L: usize>(&mut self, cell: usize, v: &[f64; L]) {
        self.cells[cell * L..(cell + 1) * L].copy_from_slice(v);
    }
}

/// Reusable per-thread buffers for one plan on [`LANES`] paths at once.
#[derive(Debug, Default)]
pub struct LaneScratch {
    s: [Scratch; LANES],
    hot: Hot<LANES>,
}

/// A pool in the month being simulated.
#[derive(Debug, Clone, Copy, Default)]
struct PoolNow {
    /// Its index in the scenario's pools.
    pool: usize,
    /// Capacity online, H100e.
    cap: f64,
    /// Capacity left in the current load block, H100e.
    left: f64,
    /// Used this month, H100e-months.
    used: f64,
    /// Cost per H100e-month used, USD.
    cost: f64,
}

/// A month's standard-normal growth shock: drawn only when the volatility `sig` is positive
/// and the path is not a named case (medians, no noise), so the stream advances exactly then.
fn shock(sig: f64, median: bool, rng: &mut rand_pcg::Pcg64Mcg) -> f64 {
    if sig > 0.0 && !median {
        StandardNormal.sample(rng)
    } else {
        0.0
    }
}

/// A run of months' shocks into `out`, each what [`shock`] gives, in the same order: the
/// stream's draws in one loop (none, and zeros, without volatility or on a named case).
fn shocks_into(sig: f64, median: bool, rng: &mut rand_pcg::Pcg64Mcg, out: &mut [f64]) {
    if sig > 0.0 && !median {
        // The stream's state in a local for the loop (kept in registers, not stored back
        // after every draw), and back where it was after.
        let mut r = rng.clone();
        for e in out {
            *e = StandardNormal.sample(&mut r);
        }
        *rng = r;
    } else {
        out.fill(0.0);
    }
}

/// Clears `v`, fills it with `n` copies of `x` and returns it.
fn refill<T: Copy>(v: &mut Vec<T>, n: usize, x: T) -> &mut Vec<T> {
    v.clear();
    v.resize(n, x);
    v
}

fn month_index(m: gigawatt_model::Month, start: gigawatt_model::Month) -> i32 {
    m.since(start)
}

/// Most paths a run may have: a run's quantile sketches total each bucket in 32 bits
/// (`gigawatt_risk::SKETCH_MAX_VALUES`), and a billion paths of a small scenario already take
/// hours on a laptop.
pub const MAX_PATHS: u64 = 1_000_000_000;

impl Engine {
    /// Compiles a validated scenario. `paths` and `seed` set the sampler; `plans` selects plans
    /// by name (all when empty). More than [`MAX_PATHS`] paths is an error.
    pub fn new(
        sc: &ValidScenario,
        paths: u64,
        seed: u64,
        plans: &[String],
    ) -> Result<Engine, String> {
        if paths > MAX_PATHS {
            return Err(format!(
                "{paths} paths is more than a run may have (at most {MAX_PATHS}): use fewer paths"
            ));
        }
        let t0 = sc.horizon.start;
        let months = sc.horizon.months();
        let CompiledInputs {
            inputs,
            index,
            fields,
            ids,
        } = compile_inputs(sc);
        let corr = compile_correlations(sc, &ids);
        let segs = compile_segments(sc, &fields, t0);
        let blocks = compile_blocks(sc);
        let order = compile_order(sc);
        let (runs, run_schedule, run_names) = compile_runs(sc, t0, months);
        let opts = compile_options(sc, &fields, t0);
        let fleet = compile_fleet(sc, &fields, t0);
        let (events, opts) = compile_events(sc, &fields, t0, opts);
        let (rev_share, invest_max, opts) = compile_deals(sc, t0, opts);
        let (commit_windows, compiled) = compile_plans(sc, plans, &opts, t0)?;
        let f = &sc.finance;
        Ok(Engine {
            months,
            start_year: t0.year(),
            end_year: t0.year() + (t0.month() as i32 - 1 + months as i32 - 1) / 12,
            start_month_of_year: t0.month() as i32 - 1,
            inputs,
            corr,
            factors: (0..sc.segments.len())
                .flat_map(|si| blocks.iter().map(move |b| b.1[si]))
                .collect(),
            hours: blocks.iter().map(|b| b.0).collect(),
            segs,
            order_segs: order
                .iter()
                .filter_map(|s| match s {
                    Step::Seg(si) => Some(*si),
                    _ => None,
                })
                .collect(),
            order,
            buy_opts: opts
                .iter()
                .enumerate()
                .filter(|(_, o)| o.kind == OptionKind::Buy)
                .map(|(i, _)| i)
                .collect(),
            runs,
            run_schedule,
            run_names,
            option_names: sc.options.iter().map(|o| o.name.clone()).collect(),
            option_units: sc
                .options
                .iter()
                .map(|o| {
                    if o.kind == OptionKind::Build {
                        "MW"
                    } else {
                        "H100e"
                    }
                })
                .collect(),
            commit_windows,
            opts,
            fleet,
            pools: compile_pools(sc),
            pools_serving: (0..sc.segments.len())
                .map(|si| pool_mask(sc, |p| p.serves(&sc.segments[si].name)))
                .collect(),
            pools_research: pool_mask(sc, |p| p.serves(gigawatt_model::RESEARCH_WORK)),
            floor_h100e: sc.research.floor_h100e,
            floor_share: sc.research.floor_share_pu,
            extra_cap_share: sc.research.extra_cap_share_pu,
            quality_eps: fields[&InputField::QualityElasticity],
            quality_lag: sc.research.quality_lag_months as usize,
            availability: sc.power.availability_pu,
            existing_mw: sc.power.existing_powered_mw,
            max_total_mw: sc.power.max_total_mw.unwrap_or(f64::INFINITY),
            site_power_price: fields[&InputField::PowerPrice],
            site_pue: sc.power.pue,
            burst_covers: sc.allocation.burst_covers_product,
            rounds: f
                .rounds
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    (
                        month_index(r.month, t0),
                        fields[&InputField::RoundAmount(i)],
                        r.probability_pu,
                        key(&format!("round:{}:{i}", r.month)),
                    )
                })
                .collect(),
            events,
            rev_share,
            invest_max,
            starting_cash: f.starting_cash_usd,
            min_cash: f.min_cash_usd,
            credit_limit: f.credit_limit_usd,
            credit_rate_m: f.credit_rate_per_year / 12.0,
            backstop_rate_m: f.backstop_rate_per_year / 12.0,
            opex0: fields[&InputField::NonComputeOpex],
            opex_growth_ln_m: (1.0 + f.non_compute_opex_growth_per_year).ln() / 12.0,
            it_dep_m: f.it_depreciation_years * 12.0,
            fac_dep_m: f.facility_depreciation_years * 12.0,
            disc_m: (1.0 + sc.discount_rate_per_year).powf(1.0 / 12.0),
            plans: compiled,
            index,
            id_index: ids.clone(),
            seed,
            sampler: Sampler {
                method: sc.simulation.sampling,
                seed,
                paths,
            },
        })
    }

    /// Requested correlations, if any.
    pub fn correlation_report(&self) -> Option<&CorrelationReport> {
        self.corr.as_ref().map(|c| &c.report)
    }

    /// Index of the uncertain input at `path` (field path), for sensitivity and tests.
    pub fn input_index(&self, path: &str) -> Option<usize> {
        self.index.get(path).copied()
    }
}

/// min/max without NaN handling: inputs in the hot loop are finite by construction.
trait FastMinMax {
    fn fmin(self, o: Self) -> Self;
    fn fmax(self, o: Self) -> Self;
}

impl FastMinMax for f64 {
    #[inline(always)]
    fn fmin(self, o: f64) -> f64 {
        if self < o {
            self
        } else {
            o
        }
    }

    #[inline(always)]
    fn fmax(self, o: f64) -> f64 {
        if self > o {
            self
        } else {
            o
        }
    }
}
