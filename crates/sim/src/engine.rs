//! The monthly path model: a scenario compiled into flat arrays, then simulated path by path.
//!
//! The order of operations each month is documented in `docs/explanation/simulation.md`;
//! the comments below carry the step numbers used there.

use std::collections::HashMap;

use gigawatt_model::{
    correlation_matrix, inverse_normal_cdf, nearest_psd_correlation, AllocationStep, Dist, Growth,
    InputField, Month, OptionKind, Plan, Scenario, ValidScenario, Z90,
};
use rand_distr::{Distribution, StandardNormal};

use crate::sample::{self, cholesky, hash3, key, spearman_to_pearson, unit, Sampler};

mod month;
mod view;
pub use view::{OptionInfo, PathView, UnitEffect};

/// Hours in an average month, for power cost.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// Quality index bounds (ratio of research delivered to planned, before the elasticity).
const QUALITY_RATIO_MIN: f64 = 0.1;
const QUALITY_RATIO_MAX: f64 = 10.0;

/// Relative size below which a residue of subtraction is treated as zero.
const NOISE: f64 = 1e-12;

/// Relative unserved demand above which a month counts as a shortfall.
pub const SHORTFALL_TOL: f64 = 1e-6;

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
/// Rule commitments are keyed (option key, month, RULE_ORDINAL_BASE + n-th rule commitment on
/// the path), so they never share a key with a plan's fixed commitments (ordinals 0, 1, ...).
const RULE_ORDINAL_BASE: u64 = 1000;

#[derive(Debug, Clone)]
struct Input {
    key: u64,
    dim: u32,
    dist: Dist,
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
    price: usize,
    cap_h100e: f64,
    block: Option<f64>,
    max_total: f64,
    planned_lead: f64,
    /// First month its chips can arrive (the generation's `available_from`).
    available_m: i32,
    h100e_per_mw: f64,
    key: u64,
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
/// balances. The statement closes: cash_end = cash_start + free_cash_flow − interest +
/// funding_rounds + credit_drawn + backstop_drawn − repaid.
pub const YEARLY_LINES: [&str; 17] = [
    "revenue_usd",
    "power_usd",
    "facility_opex_usd",
    "leases_usd",
    "burst_usd",
    "non_compute_opex_usd",
    "depreciation_usd",
    "operating_income_usd",
    "capex_usd",
    "free_cash_flow_usd",
    "funding_rounds_usd",
    "credit_drawn_usd",
    "backstop_drawn_usd",
    "repaid_usd",
    "interest_usd",
    "cash_start_usd",
    "cash_end_usd",
];

/// Index of each yearly line in [`YEARLY_LINES`].
pub mod yl {
    #![allow(missing_docs)]
    pub const REVENUE: usize = 0;
    pub const POWER: usize = 1;
    pub const OPEX: usize = 2;
    pub const LEASES: usize = 3;
    pub const BURST: usize = 4;
    pub const NON_COMPUTE: usize = 5;
    pub const DEPRECIATION: usize = 6;
    pub const OPERATING_INCOME: usize = 7;
    pub const CAPEX: usize = 8;
    pub const FCF: usize = 9;
    pub const ROUNDS: usize = 10;
    pub const CREDIT_DRAWN: usize = 11;
    pub const BACKSTOP_DRAWN: usize = 12;
    pub const REPAID: usize = 13;
    pub const INTEREST: usize = 14;
    pub const CASH_START: usize = 15;
    pub const CASH_END: usize = 16;
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
    /// A named case: medians everywhere, no noise.
    median: bool,
    path: u64,
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
    capex: Vec<f64>,
    planned: Vec<f64>,
    buy_arrivals: Vec<f64>,
    hist: Vec<f64>,
    /// ln(hist[t] / hist[t-1]) where both are positive, else NaN (only kept for plans with
    /// rules, which forecast from it).
    log_growth: Vec<f64>,
    ratio: Vec<f64>,
    committed: Vec<f64>,
    work: Work,
    terminal: f64,
    built_mw: f64,
}

/// Per-month working vectors of one plan on one path.
#[derive(Debug, Default)]
struct Work {
    burst: Vec<(f64, f64)>,
    churn: Vec<f64>,
    run_left: Vec<f64>,
    run_done: Vec<i32>,
    pending: Vec<f64>,
    want: Vec<f64>,
    served: Vec<f64>,
    need: Vec<f64>,
    burst_left: Vec<f64>,
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

/// Clears `v`, fills it with `n` copies of `x` and returns it.
fn refill<T: Copy>(v: &mut Vec<T>, n: usize, x: T) -> &mut Vec<T> {
    v.clear();
    v.resize(n, x);
    v
}

fn month_index(m: gigawatt_model::Month, start: gigawatt_model::Month) -> i32 {
    m.since(start)
}

impl Engine {
    /// Compiles a validated scenario. `paths` and `seed` set the sampler; `plans` selects plans
    /// by name (all when empty).
    pub fn new(
        sc: &ValidScenario,
        paths: u64,
        seed: u64,
        plans: &[String],
    ) -> Result<Engine, String> {
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

    /// The per-path uniforms of a block of paths, after Iman–Conover. Returns the uniforms
    /// (paths × inputs) and the achieved Spearman matrix of the correlated inputs.
    pub fn block_uniforms(&self, first: u64, n: usize) -> (Vec<Vec<f64>>, Option<Vec<Vec<f64>>>) {
        let mut u: Vec<Vec<f64>> = (0..n as u64)
            .map(|p| {
                self.inputs
                    .iter()
                    .map(|inp| {
                        if matches!(inp.dist, Dist::Fixed(_)) {
                            0.5
                        } else {
                            self.sampler.uniform(inp.key, inp.dim, first + p)
                        }
                    })
                    .collect()
            })
            .collect();
        let achieved = self.corr.as_ref().map(|c| {
            let mut cols: Vec<Vec<f64>> = c
                .inputs
                .iter()
                .map(|&j| u.iter().map(|row| row[j]).collect())
                .collect();
            let got = sample::iman_conover(&mut cols, &c.chol, self.seed, first);
            for (ci, &j) in c.inputs.iter().enumerate() {
                for (p, row) in u.iter_mut().enumerate() {
                    row[j] = cols[ci][p];
                }
            }
            got
        });
        (u, achieved)
    }

    /// Draws everything exogenous for one path from its input uniforms.
    pub fn draw(&self, path: u64, uniforms: &[f64], d: &mut Draws) {
        self.draw_with(path, uniforms, &[], d);
    }

    /// Like [`Engine::draw`], with some inputs held at given values: (input index, value).
    pub fn draw_with(
        &self,
        path: u64,
        uniforms: &[f64],
        overrides: &[(usize, f64)],
        d: &mut Draws,
    ) {
        d.median = false;
        self.draw_inner(path, uniforms, overrides, d);
    }

    /// The uncertain (not fixed) inputs, in file order: (name, input index), the name being the
    /// input's `id` when it has one and its field path otherwise.
    pub fn uncertain_inputs(&self) -> Vec<(String, usize)> {
        let mut by_index: Vec<(usize, String)> = self
            .index
            .iter()
            .filter(|(_, i)| !matches!(self.inputs[**i].dist, Dist::Fixed(_)))
            .map(|(path, i)| (*i, path.clone()))
            .collect();
        by_index.sort();
        by_index
            .into_iter()
            .map(|(i, path)| {
                let name = self
                    .id_index
                    .iter()
                    .find(|(_, j)| **j == i)
                    .map_or(path, |(id, _)| id.clone());
                (name, i)
            })
            .collect()
    }

    /// The `u`-quantile of input `i` (0.1: its p10).
    pub fn input_quantile(&self, i: usize, u: f64) -> f64 {
        self.inputs[i].dist.quantile(u)
    }

    /// The distribution of input `i`.
    pub fn input_dist(&self, i: usize) -> &Dist {
        &self.inputs[i].dist
    }

    /// The input named by `id` or, failing that, by field path (`segments[0].growth.drift_per_year`).
    pub fn input_named(&self, name: &str) -> Option<usize> {
        self.id_index
            .get(name)
            .or_else(|| self.index.get(name))
            .copied()
    }

    /// Draws a named case: named inputs take the case's values, every other input its median,
    /// growth has no noise and no regime changes, a launch or funding round happens when its
    /// probability is at least one half (launches mid-window), and lead times are medians.
    pub fn draw_case(
        &self,
        index: u64,
        values: &[(String, f64)],
        d: &mut Draws,
    ) -> Result<(), String> {
        let overrides = values
            .iter()
            .map(|(id, v)| {
                self.id_index
                    .get(id)
                    .map(|i| (*i, *v))
                    .ok_or_else(|| format!("no input has id `{id}`"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        d.median = true;
        let u = vec![0.5; self.inputs.len()];
        self.draw_inner(index, &u, &overrides, d);
        Ok(())
    }

    fn draw_inner(&self, path: u64, uniforms: &[f64], overrides: &[(usize, f64)], d: &mut Draws) {
        let t_len = self.months;
        let median = d.median;
        let uni = |k: u64| {
            if median {
                0.5
            } else {
                sample::uniform(self.seed, k, path)
            }
        };
        d.path = path;
        d.params.clear();
        d.params.extend(
            self.inputs
                .iter()
                .zip(uniforms)
                .map(|(inp, u)| inp.dist.quantile(*u)),
        );
        for (i, v) in overrides {
            d.params[*i] = *v;
        }
        let ns = self.segs.len();
        d.exo.resize(ns * t_len, 0.0);
        d.k.resize(ns * t_len, 0.0);
        d.rev.resize(ns * t_len, 0.0);
        for (s, seg) in self.segs.iter().enumerate() {
            let p = &d.params;
            let base = s * t_len;
            let f_eff = ((1.0 - p[seg.eff]).max(1e-9).ln() / 12.0).exp();
            let f_pd = ((1.0 - p[seg.pdecl]).max(1e-9).ln() / 12.0).exp();
            let (mut k, mut price) = (p[seg.k0], p[seg.price0]);
            for t in 0..t_len {
                d.k[base + t] = k;
                d.rev[base + t] = price / k;
                k *= f_eff;
                price *= f_pd;
            }
            let mut rng = sample::stream(self.seed, seg.key, path);
            let level0 = p[seg.start];
            match &seg.growth {
                GrowthC::Log { drift, vol } => {
                    let (mu, sig) = (p[*drift] / 12.0, p[*vol]);
                    let mut ln_l = level0.max(1e-300).ln();
                    for t in 0..t_len {
                        if t > 0 {
                            let e = shock(sig, median, &mut rng);
                            ln_l += mu - 0.5 * sig * sig + sig * e;
                        }
                        d.exo[base + t] = ln_l.exp();
                    }
                }
                GrowthC::SCurve { sat, rate, vol } => {
                    let (k_sat, r, sig) = (p[*sat], p[*rate] / 12.0, p[*vol]);
                    let mut l = level0;
                    for t in 0..t_len {
                        if t > 0 {
                            let e = shock(sig, median, &mut rng);
                            l *= (r * (1.0 - l / k_sat) - 0.5 * sig * sig + sig * e).exp();
                        }
                        d.exo[base + t] = l;
                    }
                }
                GrowthC::Regimes {
                    drift,
                    vol,
                    cum,
                    start,
                } => {
                    let mut reg = *start;
                    let mut ln_l = level0.max(1e-300).ln();
                    for t in 0..t_len {
                        if t > 0 {
                            if !median {
                                let u = unit(rand_core::Rng::next_u64(&mut rng));
                                reg = cum[reg]
                                    .iter()
                                    .position(|c| u <= *c)
                                    .unwrap_or(cum[reg].len() - 1);
                            }
                            let sig = vol[reg];
                            let e = shock(sig, median, &mut rng);
                            ln_l += drift[reg] - 0.5 * sig * sig + sig * e;
                        }
                        d.exo[base + t] = ln_l.exp();
                    }
                }
                GrowthC::Pct {
                    at,
                    ln10,
                    ln50,
                    ln90,
                } => {
                    let z = inverse_normal_cdf(uni(seg.key ^ STREAM_PERCENTILE_SCORE));
                    let q = |j: usize| {
                        if z >= 0.0 {
                            ln50[j] + z * (ln90[j] - ln50[j]) / Z90
                        } else {
                            ln50[j] + z * (ln50[j] - ln10[j]) / Z90
                        }
                    };
                    let ln0 = level0.max(1e-300).ln();
                    for t in 0..t_len as i32 {
                        let j = at.iter().position(|a| *a >= t);
                        let v = match j {
                            Some(0) => {
                                let a = at[0].max(1) as f64;
                                ln0 + (q(0) - ln0) * (t as f64 / a).min(1.0)
                            }
                            Some(j) => {
                                let (a, b) = (at[j - 1] as f64, at[j] as f64);
                                q(j - 1) + (q(j) - q(j - 1)) * (t as f64 - a) / (b - a)
                            }
                            None => q(at.len() - 1),
                        };
                        d.exo[base + t as usize] = v.exp();
                    }
                }
            }
            for l in &seg.launches {
                if uni(l.key) >= l.prob {
                    continue;
                }
                let at = l.start + (uni(l.key ^ STREAM_LAUNCH_MONTH) * l.len as f64).floor() as i32;
                let jump = p[l.jump];
                for t in at.max(0)..t_len as i32 {
                    let m = match l.decay_per_month {
                        Some(f) => 1.0 + jump * f.powi(t - at),
                        None => 1.0 + jump,
                    };
                    d.exo[base + t as usize] *= m.max(0.0);
                }
            }
        }
        d.funding.clear();
        d.funding.resize(t_len, 0.0);
        for (m, amount, prob, k) in &self.rounds {
            let closes = if median {
                *prob >= 0.5
            } else {
                uni(*k) < *prob
            };
            if closes && (0..t_len as i32).contains(m) {
                d.funding[*m as usize] += d.params[*amount];
            }
        }
    }

    /// Lead time (months) drawn for a commitment with key `ck`.
    /// Facility MW one bought unit of option `o` takes in the existing powered space.
    #[inline]
    fn buy_mw_per_unit(&self, o: &OptC) -> f64 {
        o.kw_per_unit * self.site_pue / 1000.0
    }

    /// Month a commitment made at `t` arrives: after its drawn lead time, and no earlier than
    /// its generation is available.
    fn arrival(&self, o: &OptC, t: i32, ck: u64, d: &Draws) -> i32 {
        (t + self.lead(o, ck, d)).max(o.available_m)
    }

    fn lead(&self, o: &OptC, ck: u64, d: &Draws) -> i32 {
        let inputs = &self.inputs;
        let uni = |k: u64| {
            if d.median {
                0.5
            } else {
                sample::uniform(self.seed, k, d.path)
            }
        };
        let mut lead = inputs[o.lead].dist.quantile(uni(ck));
        let delayed = if d.median {
            o.delay_p >= 0.5
        } else {
            uni(ck ^ STREAM_DELAY_HAPPENS) < o.delay_p
        };
        if o.delay_p > 0.0 && delayed {
            lead += inputs[o.delay].dist.quantile(uni(ck ^ STREAM_DELAY_LENGTH));
        }
        // Validation bounds lead times; the clamp keeps `t + lead` from overflowing regardless
        // (anything past the horizon never arrives either way).
        lead.round().clamp(0.0, 1e6) as i32
    }

    fn resize(&self, s: &mut Scratch) {
        let n = self.months + 1;
        for v in [
            &mut s.d_cap,
            &mut s.d_power,
            &mut s.d_opex,
            &mut s.d_lease,
            &mut s.d_dep,
            &mut s.d_space,
            &mut s.d_used,
            &mut s.capex,
            &mut s.planned,
            &mut s.hist,
            &mut s.log_growth,
            &mut s.ratio,
        ] {
            v.clear();
            v.resize(n, 0.0);
        }
        s.buy_arrivals.clear();
        s.buy_arrivals.resize(n * self.opts.len(), 0.0);
        s.committed.clear();
        s.committed.resize(self.opts.len(), 0.0);
        s.terminal = 0.0;
        s.built_mw = 0.0;
    }

    /// Adds `v` to `arr` over months [from, to) as deltas (clipped to the horizon).
    fn span(arr: &mut [f64], from: i32, to: i32, v: f64) {
        let n = arr.len() as i32 - 1;
        let (a, b) = (from.max(0), to.min(n));
        if a < b {
            arr[a as usize] += v;
            arr[b as usize] -= v;
        }
    }

    fn pv_at_end(&self, per_month: f64, months_after: i32) -> f64 {
        // Present value at the horizon end of a level monthly payment for `months_after` months.
        if months_after <= 0 {
            return 0.0;
        }
        let r = self.disc_m - 1.0;
        if r.abs() < 1e-12 {
            per_month * months_after as f64
        } else {
            per_month * (1.0 - self.disc_m.powi(-months_after)) / r
        }
    }

    /// A build of `mw`: chip units, facility capex and chip capex (USD) at the drawn prices.
    fn build_costs(&self, o: &OptC, mw: f64, p: &[f64]) -> (f64, f64, f64) {
        let units = mw * 1000.0 / (o.kw_per_unit * o.pue);
        (units, mw * p[o.capex_mw], units * p[o.gen_price])
    }

    /// A buy of `h100e`: chip units and chip capex (USD) at the drawn prices.
    fn buy_costs(&self, o: &OptC, h100e: f64, p: &[f64]) -> (f64, f64) {
        let units = h100e / o.h100e_per_unit;
        (units, units * p[o.gen_price])
    }

    /// Up-front capex of committing `amount` of option `oi` at the prices drawn in `d`, as
    /// (facilities, chips) in USD, whenever it is paid and before any power cap: a build pays
    /// for its facility and chips, a buy for its chips; leases and burst have no capex.
    pub fn capex_usd(&self, oi: usize, amount: f64, d: &Draws) -> (f64, f64) {
        let o = &self.opts[oi];
        match o.kind {
            OptionKind::Build => {
                let (_, fac, chips) = self.build_costs(o, amount, &d.params);
                (fac, chips)
            }
            OptionKind::Buy => (0.0, self.buy_costs(o, amount, &d.params).1),
            OptionKind::Lease | OptionKind::Burst => (0.0, 0.0),
        }
    }

    /// Records one commitment's effects in the scratch delta arrays.
    fn commit(&self, oi: usize, t: i32, amount: f64, ck: u64, d: &Draws, s: &mut Scratch) {
        let o = &self.opts[oi];
        let p = &d.params;
        let t_end = self.months as i32;
        let a = self.arrival(o, t, ck, d);
        s.committed[oi] += amount;
        let planned_a = (t + o.planned_lead as i32).max(o.available_m);
        match o.kind {
            OptionKind::Build => {
                let mut mw = amount;
                if self.max_total_mw.is_finite() {
                    let room = (self.max_total_mw - self.existing_mw - s.built_mw).max(0.0);
                    mw = mw.min(room);
                }
                s.built_mw += mw;
                if mw <= 0.0 {
                    return;
                }
                let (units, fac, chips) = self.build_costs(o, mw, p);
                let h = units * o.h100e_per_unit;
                let n = o.schedule.len();
                let mut fac_paid = 0.0;
                for (i, share) in o.schedule.iter().enumerate() {
                    let at = if n == 1 {
                        t
                    } else {
                        t + ((i as f64) * (a - t) as f64 / (n - 1) as f64).round() as i32
                    };
                    if (0..t_end).contains(&at) {
                        s.capex[at as usize] += fac * share;
                        fac_paid += fac * share;
                    }
                }
                if (0..t_end).contains(&a) {
                    s.capex[a as usize] += chips;
                }
                let chip_end = a + o.gen_life_m;
                let fac_end = a + o.life_m;
                Self::span(&mut s.d_cap, a, chip_end, h);
                Self::span(&mut s.planned, planned_a, planned_a + o.gen_life_m, h);
                let price = o.power_price.unwrap_or(p[self.site_power_price]);
                Self::span(&mut s.d_power, a, chip_end, mw * HOURS_PER_MONTH * price);
                Self::span(&mut s.d_opex, a, fac_end, mw * o.opex_mw_month);
                Self::span(&mut s.d_space, a, fac_end, mw);
                Self::span(&mut s.d_used, a, chip_end, mw);
                Self::span(
                    &mut s.d_dep,
                    a,
                    a + self.it_dep_m.round() as i32,
                    chips / self.it_dep_m,
                );
                Self::span(
                    &mut s.d_dep,
                    a,
                    a + self.fac_dep_m.round() as i32,
                    fac / self.fac_dep_m,
                );
                // Chips are paid on arrival, so undelivered chips have cost nothing yet.
                s.terminal += self.asset_value(a, chips, 0.0, self.it_dep_m, o.residual)
                    + self.asset_value(a, fac, fac_paid, self.fac_dep_m, o.residual);
            }
            OptionKind::Lease => {
                let price = p[o.price];
                let end = a + o.term_m;
                Self::span(&mut s.d_cap, a, end, amount);
                Self::span(&mut s.planned, planned_a, planned_a + o.term_m, amount);
                Self::span(&mut s.d_lease, a, end, amount * price);
                let after = end - a.max(t_end);
                s.terminal -= self.pv_at_end(amount * price, after.min(o.term_m));
            }
            OptionKind::Buy => {
                let (units, chips) = self.buy_costs(o, amount, p);
                if (0..t_end).contains(&a) {
                    s.capex[a as usize] += chips;
                    s.buy_arrivals[oi * (self.months + 1) + a as usize] += units;
                }
                Self::span(&mut s.planned, planned_a, planned_a + o.gen_life_m, amount);
                Self::span(
                    &mut s.d_dep,
                    a,
                    a + self.it_dep_m.round() as i32,
                    chips / self.it_dep_m,
                );
                s.terminal += self.asset_value(a, chips, 0.0, self.it_dep_m, o.residual);
            }
            OptionKind::Burst => {}
        }
    }

    /// Value at the horizon end of an asset bought for `cost` arriving at month `a`.
    /// `paid_usd` is the part of `cost` paid before the horizon end: an asset not yet delivered
    /// is work in progress, valued at what has been paid for it.
    fn asset_value(
        &self,
        a: i32,
        cost: f64,
        paid_usd: f64,
        dep_m: f64,
        residual: Option<f64>,
    ) -> f64 {
        let t_end = self.months as i32;
        if a >= t_end {
            return paid_usd;
        }
        if let Some(r) = residual {
            return r * cost;
        }
        cost * (1.0 - (t_end - a) as f64 / dep_m).max(0.0)
    }

    /// Adds the existing fleet's capacity, costs, depreciation and book value to the scratch.
    fn add_fleet(&self, d: &Draws, s: &mut Scratch) {
        let p = &d.params;
        let t_len = self.months;
        let site_price = p[self.site_power_price];
        for f in &self.fleet {
            Self::span(&mut s.d_cap, f.from, f.to, f.h100e);
            Self::span(&mut s.planned, f.from, f.to, f.h100e);
            if f.owned {
                let mw = f.kw_units * self.site_pue / 1000.0;
                Self::span(
                    &mut s.d_power,
                    f.from,
                    f.to,
                    mw * HOURS_PER_MONTH * site_price,
                );
                Self::span(&mut s.d_used, f.from, f.to, mw);
                let cost = f.units * p[f.units_price];
                let left_m = (self.it_dep_m - f.age0_m).fmax(0.0);
                Self::span(&mut s.d_dep, 0, left_m.round() as i32, cost / self.it_dep_m);
                s.terminal += cost * (1.0 - (f.age0_m + t_len as f64) / self.it_dep_m).fmax(0.0);
            } else {
                Self::span(&mut s.d_lease, f.from, f.to, f.lease_month_usd);
            }
        }
    }

    /// The amount a rule commits at month `t`, in the option's unit, or None.
    /// Facility MW a rule's commitment may use when it arrives: for a buy, the powered space
    /// free now (`free_mw`) plus space arriving and chips retiring by the planned arrival, less
    /// bought chips already waiting for space or still to arrive; for a build, what
    /// `power.max_total_mw` leaves. `None` when nothing limits it.
    fn rule_room_mw(
        &self,
        r: &RuleC,
        t: i32,
        free_mw: f64,
        pending_units: &[f64],
        s: &Scratch,
    ) -> Option<f64> {
        let o = &self.opts[r.opt];
        match o.kind {
            OptionKind::Buy => {
                let n = self.months;
                let from = t.max(0) as usize;
                let h = (t + o.planned_lead.max(0.0) as i32).clamp(0, n as i32 - 1) as usize;
                let mut room = free_mw;
                for tau in from..=h {
                    room += s.d_space[tau] - s.d_used[tau];
                }
                for &bi in &self.buy_opts {
                    let b = &self.opts[bi];
                    let mw_per_unit = self.buy_mw_per_unit(b);
                    let arriving: f64 = s.buy_arrivals[bi * (n + 1) + from..bi * (n + 1) + n]
                        .iter()
                        .sum();
                    room -= (pending_units[bi] + arriving) * mw_per_unit;
                }
                Some(room.max(0.0))
            }
            OptionKind::Build if self.max_total_mw.is_finite() => {
                Some((self.max_total_mw - self.existing_mw - s.built_mw).max(0.0))
            }
            _ => None,
        }
    }

    fn rule_amount(&self, r: &RuleC, t: i32, s: &Scratch, room_mw: Option<f64>) -> Option<f64> {
        let o = &self.opts[r.opt];
        if t < 1 {
            return None;
        }
        let lead = o.planned_lead.max(0.0) as i32;
        // Forecast from the last (up to) 12 observed months of product compute demand.
        let last = (t - 1) as usize;
        let first = last.saturating_sub(12);
        let obs = s.hist[last];
        if obs <= 0.0 {
            return None;
        }
        // Monthly log-growth over the window, computed once per month by `run_plan`.
        let diffs = || {
            s.log_growth[first + 1..=last]
                .iter()
                .copied()
                .filter(|x| !x.is_nan())
        };
        let n = diffs().count();
        let (mu, sd) = if n == 0 {
            (0.0, 0.0)
        } else {
            let m = diffs().sum::<f64>() / n as f64;
            let v = if n > 1 {
                diffs().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64
            } else {
                0.0
            };
            (m, v.sqrt())
        };
        let h = (lead + 1) as f64;
        let forecast = obs * (mu * h + r.z * sd * h.sqrt()).exp();
        let required =
            forecast * (1.0 + r.headroom) / (1.0 - self.floor_share).max(0.05) + self.floor_h100e;
        let horizon = (t + lead).min(self.months as i32 - 1).max(0) as usize;
        let planned: f64 = s.planned[..=horizon].iter().sum::<f64>() * self.availability;
        let gap_h = required - planned;
        if gap_h <= 0.0 {
            return None;
        }
        let per_unit = match o.kind {
            OptionKind::Build => o.h100e_per_mw * self.availability,
            _ => self.availability,
        };
        if per_unit <= 0.0 {
            return None;
        }
        let mut amount = gap_h / per_unit;
        if let Some(b) = o.block {
            amount = (amount / b).ceil() * b;
        }
        if r.max_per > 0.0 {
            let cap = match o.block {
                Some(b) => (r.max_per / b).floor() * b,
                None => r.max_per,
            };
            amount = amount.min(cap);
        }
        if o.max_total.is_finite() {
            let room = o.max_total - s.committed[r.opt];
            let room = match o.block {
                Some(b) => (room / b).floor() * b,
                None => room,
            };
            amount = amount.min(room.max(0.0));
        }
        if let Some(room_mw) = room_mw {
            // In the option's unit: MW for a build, H100e for a buy.
            let room = match o.kind {
                OptionKind::Buy => {
                    let mw_per_unit = self.buy_mw_per_unit(o);
                    if mw_per_unit > 0.0 {
                        room_mw / mw_per_unit * o.h100e_per_unit
                    } else {
                        f64::INFINITY
                    }
                }
                _ => room_mw,
            };
            let room = match o.block {
                Some(b) => (room / b).floor() * b,
                None => room,
            };
            amount = amount.min(room);
        }
        (amount > 0.0).then_some(amount)
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

// Compilation steps of `Engine::new`, in the order it runs them.

/// Each option's (first, last) commitment month index, and the compiled plans.
type CompiledPlans = (Vec<(i32, i32)>, Vec<PlanC>);
/// Every uncertain input in visiting order, with its key and Sobol dimension, and the input
/// index by field path and by `id`.
fn compile_inputs(sc: &Scenario) -> CompiledInputs {
    let mut inputs = Vec::new();
    let mut index = HashMap::new();
    let mut fields = HashMap::new();
    let mut ids = HashMap::new();
    sc.visit_uncertain(&mut |field, u| {
        let path = field.path();
        // An input named by `id` is keyed by its id, so moving it in the file keeps its draws.
        let k = key(u.id.as_deref().map_or(path.as_str(), |id| id));
        fields.insert(field, inputs.len());
        index.insert(path, inputs.len());
        if let Some(id) = &u.id {
            ids.insert(id.clone(), inputs.len());
        }
        inputs.push(Input {
            key: k,
            dim: 0,
            dist: u.dist.clone(),
        });
    });
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by_key(|i| inputs[*i].key);
    for (dim, i) in order.into_iter().enumerate() {
        inputs[i].dim = dim as u32;
    }
    CompiledInputs {
        inputs,
        index,
        fields,
        ids,
    }
}

/// The uncertain inputs and their indices by field path, by [`InputField`] and by `id`.
struct CompiledInputs {
    inputs: Vec<Input>,
    index: HashMap<String, usize>,
    fields: Fields,
    ids: HashMap<String, usize>,
}

/// Input index by where the input sits.
type Fields = HashMap<InputField, usize>;

/// The requested correlations as a Cholesky factor over the correlated inputs.
fn compile_correlations(sc: &Scenario, ids: &HashMap<String, usize>) -> Option<CorrC> {
    correlation_matrix(sc).map(|(m, repaired, names)| {
        let m = repaired.unwrap_or(m);
        let pear: Vec<Vec<f64>> = m
            .iter()
            .map(|r| r.iter().map(|x| spearman_to_pearson(*x)).collect())
            .collect();
        let pear = nearest_psd_correlation(&pear);
        CorrC {
            inputs: names.iter().map(|n| ids[n]).collect(),
            chol: cholesky(&pear),
            report: CorrelationReport {
                names,
                requested: m,
            },
        }
    })
}

/// Segments: growth processes, launches, intensity and price inputs, churn.
fn compile_segments(sc: &Scenario, fields: &Fields, t0: Month) -> Vec<SegC> {
    // Every input the visitor visits is in `fields`; the compile steps ask for those only.
    let ix = |f: InputField| -> usize { fields[&f] };
    sc.segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let growth = match &s.growth {
                Growth::Log { .. } => GrowthC::Log {
                    drift: ix(InputField::GrowthDrift(i)),
                    vol: ix(InputField::GrowthVolatility(i)),
                },
                Growth::SCurve { .. } => GrowthC::SCurve {
                    sat: ix(InputField::GrowthSaturation(i)),
                    rate: ix(InputField::GrowthRate(i)),
                    vol: ix(InputField::GrowthVolatility(i)),
                },
                Growth::Regimes {
                    regimes,
                    transition,
                    start,
                } => GrowthC::Regimes {
                    drift: regimes.iter().map(|r| r.drift_per_year / 12.0).collect(),
                    vol: regimes.iter().map(|r| r.volatility_per_month).collect(),
                    cum: transition
                        .iter()
                        .map(|row| {
                            row.iter()
                                .scan(0.0, |a, x| {
                                    *a += x;
                                    Some(*a)
                                })
                                .collect()
                        })
                        .collect(),
                    start: regimes.iter().position(|r| &r.name == start).unwrap_or(0),
                },
                Growth::Percentiles {
                    years,
                    p10,
                    p50,
                    p90,
                } => GrowthC::Pct {
                    at: years
                        .iter()
                        .map(|y| month_index(gigawatt_model::Month::new(*y, 12), t0))
                        .collect(),
                    ln10: p10.iter().map(|x| x.ln()).collect(),
                    ln50: p50.iter().map(|x| x.ln()).collect(),
                    ln90: p90.iter().map(|x| x.ln()).collect(),
                },
            };
            SegC {
                start: ix(InputField::SegmentStart(i)),
                k0: ix(InputField::SegmentIntensity(i)),
                eff: ix(InputField::SegmentEfficiency(i)),
                price0: ix(InputField::SegmentPrice(i)),
                pdecl: ix(InputField::SegmentPriceDecline(i)),
                growth,
                launches: s
                    .launches
                    .iter()
                    .enumerate()
                    .map(|(j, l)| LaunchC {
                        start: month_index(l.window_start, t0),
                        len: l.window_end.since(l.window_start) + 1,
                        prob: l.probability_pu,
                        jump: ix(InputField::LaunchJump(i, j)),
                        decay_per_month: l.decay_half_life_months.map(|h| 0.5f64.powf(1.0 / h)),
                        key: key(&format!("launch:{}:{}", s.name, l.name)),
                    })
                    .collect(),
                churn: s.churn_share_pu,
                key: key(&format!("segment:{}", s.name)),
            }
        })
        .collect()
}

/// Load blocks: (hours share, demand factor per segment).
fn compile_blocks(sc: &Scenario) -> Vec<(f64, Vec<f64>)> {
    if sc.load_blocks.is_empty() {
        vec![(1.0, vec![1.0; sc.segments.len()])]
    } else {
        sc.load_blocks
            .iter()
            .enumerate()
            .map(|(b, lb)| {
                let f = sc
                    .segments
                    .iter()
                    .map(|s| {
                        if s.demand_factors.is_empty() {
                            lb.demand_factor
                        } else {
                            s.demand_factors[b]
                        }
                    })
                    .collect();
                (lb.hours_pu, f)
            })
            .collect()
    }
}

/// The allocation order (the default: floor, segments by priority, runs, extra).
fn compile_order(sc: &Scenario) -> Vec<Step> {
    if sc.allocation.order.is_empty() {
        let mut segs: Vec<usize> = (0..sc.segments.len()).collect();
        segs.sort_by_key(|i| sc.segments[*i].priority);
        let mut o = vec![Step::Floor];
        o.extend(segs.into_iter().map(Step::Seg));
        o.extend([Step::Runs, Step::Extra]);
        o
    } else {
        sc.allocation
            .order
            .iter()
            .map(|s| match s {
                AllocationStep::ResearchFloor => Step::Floor,
                AllocationStep::ResearchRuns => Step::Runs,
                AllocationStep::ResearchExtra => Step::Extra,
                AllocationStep::Segment(n) => {
                    Step::Seg(sc.segments.iter().position(|x| &x.name == n).unwrap_or(0))
                }
            })
            .collect()
    }
}

/// Training runs by priority, the research schedule per month and the runs' names.
fn compile_runs(sc: &Scenario, t0: Month, months: usize) -> (Vec<RunC>, Vec<f64>, Vec<String>) {
    let mut run_idx: Vec<usize> = (0..sc.research.runs.len()).collect();
    run_idx.sort_by_key(|i| sc.research.runs[*i].priority);
    let runs: Vec<RunC> = run_idx
        .iter()
        .map(|i| {
            let r = &sc.research.runs[*i];
            let (s, d) = (
                month_index(r.earliest_start, t0),
                month_index(r.deadline, t0),
            );
            let rate = if r.max_h100e > 0.0 {
                r.max_h100e
            } else {
                r.size_h100e_months / (d - s + 1) as f64
            };
            RunC {
                size: r.size_h100e_months,
                start: s,
                deadline: d,
                rate,
            }
        })
        .collect();
    let run_schedule = (0..months as i32)
        .map(|t| {
            runs.iter()
                .filter(|r| t >= r.start && t <= r.deadline)
                .map(|r| r.size / (r.deadline - r.start + 1) as f64)
                .sum()
        })
        .collect();
    let run_names = run_idx
        .iter()
        .map(|i| sc.research.runs[*i].name.clone())
        .collect();
    (runs, run_schedule, run_names)
}

/// Capacity options with their generations' figures and input indices.
fn compile_options(sc: &Scenario, fields: &Fields, t0: Month) -> Vec<OptC> {
    // Every input the visitor visits is in `fields`; the compile steps ask for those only.
    let ix = |f: InputField| -> usize { fields[&f] };
    let gen_index = |name: &Option<String>| {
        name.as_ref()
            .and_then(|n| sc.generations.iter().position(|g| &g.name == n))
    };
    let opts: Vec<OptC> = sc
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let g = gen_index(&o.generation);
            let (h100e_per_unit, kw, gen_price, gen_life_m) = match g {
                Some(g) => {
                    let gen = &sc.generations[g];
                    (
                        gen.h100e_per_unit,
                        gen.kw_per_unit,
                        ix(InputField::GenerationPrice(g)),
                        (gen.life_years * 12.0).round() as i32,
                    )
                }
                None => (1.0, 0.0, usize::MAX, i32::MAX / 4),
            };
            // Chips of a generation arrive no earlier than it is available.
            let available_m = match (g, o.kind) {
                (Some(g), OptionKind::Build | OptionKind::Buy) => {
                    month_index(sc.generations[g].available_from, t0)
                }
                _ => i32::MIN / 4,
            };
            let pue = if o.kind == OptionKind::Build {
                o.pue
            } else {
                sc.power.pue
            };
            let lead_med = o.lead_time_months.dist.quantile(0.5);
            let delay_mean = o.delay_months.dist.mean();
            OptC {
                kind: o.kind,
                h100e_per_unit,
                kw_per_unit: kw,
                gen_price,
                gen_life_m,
                lead: ix(InputField::OptionLeadTime(i)),
                delay_p: o.delay_probability_pu,
                delay: ix(InputField::OptionDelay(i)),
                capex_mw: ix(InputField::OptionCapexPerMw(i)),
                schedule: o.capex_schedule_pu.clone(),
                opex_mw_month: o.opex_usd_per_mw_year / 12.0,
                power_price: o.power_price_usd_per_mwh,
                pue,
                life_m: (o.life_years * 12.0).round() as i32,
                residual: o.residual_value_pu,
                term_m: o.term_months as i32,
                price: ix(InputField::OptionLeasePrice(i)),
                cap_h100e: o.cap_h100e,
                block: o.block_size,
                max_total: o.max_total.unwrap_or(f64::INFINITY),
                planned_lead: (lead_med + o.delay_probability_pu * delay_mean).round(),
                available_m,
                h100e_per_mw: if kw > 0.0 {
                    1000.0 / (kw * pue) * h100e_per_unit
                } else {
                    0.0
                },
                key: key(&format!("option:{}", o.name)),
            }
        })
        .collect();
    opts
}

/// The installed fleet.
fn compile_fleet(sc: &Scenario, fields: &Fields, t0: Month) -> Vec<FleetC> {
    // Every input the visitor visits is in `fields`; the compile steps ask for those only.
    let ix = |f: InputField| -> usize { fields[&f] };
    sc.fleet
        .iter()
        .map(|f| {
            let g = sc
                .generations
                .iter()
                .position(|g| g.name == f.generation)
                .unwrap_or(0);
            let gen = &sc.generations[g];
            let from = month_index(f.installed, t0);
            let life_end = from + (gen.life_years * 12.0).round() as i32;
            let owned = f.lease_end.is_none() && f.lease_usd_per_unit_month == 0.0;
            let to = f.lease_end.map_or(life_end, |e| month_index(e, t0) + 1);
            FleetC {
                h100e: f.units * gen.h100e_per_unit,
                from: from.max(0),
                to,
                kw_units: f.units * gen.kw_per_unit,
                lease_month_usd: f.units * f.lease_usd_per_unit_month,
                units_price: ix(InputField::GenerationPrice(g)),
                units: f.units,
                age0_m: (-from).max(0) as f64,
                owned,
            }
        })
        .collect()
}

/// Commitment windows per option and the selected plans (all when `plans` is empty).
fn compile_plans(
    sc: &Scenario,
    plans: &[String],
    opts: &[OptC],
    t0: Month,
) -> Result<CompiledPlans, String> {
    let opt_ix = |n: &str| {
        sc.options
            .iter()
            .position(|o| o.name == n)
            .ok_or_else(|| format!("unknown option `{n}`"))
    };
    // Months each option can be committed in.
    let commit_windows: Vec<(i32, i32)> = sc
        .options
        .iter()
        .map(|o| {
            (
                month_index(o.commit_from, t0),
                month_index(o.commit_until, t0),
            )
        })
        .collect();
    let selected: Vec<&Plan> = if plans.is_empty() {
        sc.plans.iter().collect()
    } else {
        plans
            .iter()
            .map(|n| {
                sc.plan(n).ok_or_else(|| {
                    format!(
                        "no plan named `{n}`; the scenario has: {}",
                        sc.plans
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            })
            .collect::<Result<_, _>>()?
    };
    let mut compiled = Vec::new();
    for p in selected {
        let mut ord: HashMap<(usize, i32), u64> = HashMap::new();
        let mut commits = Vec::new();
        for c in &p.commitments {
            let opt = opt_ix(&c.option)?;
            let t = month_index(c.month, t0);
            let n = ord.entry((opt, t)).or_insert(0);
            commits.push(CommitC {
                opt,
                t,
                amount: c.amount,
                key: hash3(opts[opt].key, t as u64, *n),
            });
            *n += 1;
        }
        let rules = p
            .rules
            .iter()
            .map(|r| {
                let opt = opt_ix(&r.option)?;
                let (w0, w1) = commit_windows[opt];
                Ok(RuleC {
                    opt,
                    every: r.every_months.max(1) as i32,
                    // A rule acts only inside its option's commitment window.
                    from: month_index(r.from, t0).max(w0),
                    until: month_index(r.until, t0).min(w1),
                    z: inverse_normal_cdf(r.percentile_pu),
                    headroom: r.headroom_pu,
                    max_per: r.max_per_decision,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        compiled.push(PlanC {
            name: p.name.clone(),
            commits,
            rules,
        });
    }
    if compiled.is_empty() {
        compiled.push(PlanC {
            name: DEFAULT_PLAN.into(),
            commits: Vec::new(),
            rules: Vec::new(),
        });
    }
    Ok((commit_windows, compiled))
}
