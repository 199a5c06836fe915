//! The scenario: every type that describes one planning problem.
//!
//! Units are in field names. Money is nominal USD. Capacity is in H100e (one H100-class
//! accelerator's useful throughput); compute volumes in H100e-months.

use crate::{Month, Uncertain};

/// Version of the scenario file format this model corresponds to.
pub const FORMAT_VERSION: u32 = 1;

/// One planning problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Human-readable name.
    pub name: String,
    /// First and last simulated month.
    pub horizon: Horizon,
    /// Annual discount rate for NPV.
    pub discount_rate_per_year: f64,
    /// Sampling settings.
    pub simulation: SimulationSettings,
    /// Rank correlations between named uncertain inputs.
    pub correlations: Vec<Correlation>,
    /// Product demand streams.
    pub segments: Vec<Segment>,
    /// Intra-month load blocks (peak / off-peak); empty means one flat block.
    pub load_blocks: Vec<LoadBlock>,
    /// Research compute needs.
    pub research: Research,
    /// Accelerator generations.
    pub generations: Vec<Generation>,
    /// Accelerators already installed.
    pub fleet: Vec<FleetEntry>,
    /// Site-wide physical limits.
    pub power: PowerLimits,
    /// Ways to add capacity.
    pub options: Vec<CapacityOption>,
    /// Priority order for allocating capacity each month.
    pub allocation: Allocation,
    /// Cash, funding and costs outside compute.
    pub finance: Finance,
    /// Named plans of commitments and rules.
    pub plans: Vec<Plan>,
    /// Named discrete cases with probabilities (alternative to sampled paths).
    pub cases: Vec<Case>,
    /// Groups of inputs that sensitivity analyses treat as one factor.
    pub groups: Vec<InputGroup>,
    /// Events on drivers other than demand: efficiency breakthroughs, price wars, supply
    /// shocks, power delays, funding freezes.
    pub events: Vec<Event>,
    /// Capacity pools: which work each part of the fleet may run and what using it costs.
    /// Empty: one pool that serves everything at no cost per use.
    pub pools: Vec<Pool>,
}

/// A capacity pool: the capacity of the options and fleet entries that name it, dispatched
/// as one interconnected cluster with its own cost per use and its own list of the work it may
/// run.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    /// Unique name.
    pub name: String,
    /// Segments it may serve, by name, and `research` for research; empty: everything.
    pub serves: Vec<String>,
    /// Fee per H100e-hour actually used (per-use charges, energy billed by use), USD.
    pub use_fee_usd_per_h100e_hour: f64,
    /// Share of its chips' full power drawn when idle; the rest is drawn in proportion to use
    /// (1: power paid whether used or not).
    pub idle_power_share_pu: f64,
}

/// The word a pool's `serves` list uses for research.
pub const RESEARCH_WORK: &str = "research";

impl Pool {
    /// True when the pool may run `work` (a segment name, or [`RESEARCH_WORK`]).
    pub fn serves(&self, work: &str) -> bool {
        self.serves.is_empty() || self.serves.iter().any(|w| w == work)
    }
}

/// What an [`Event`] acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Compute per unit of the chosen segments falls by `share_pu` from the event's month on.
    Efficiency,
    /// The chosen segments' prices fall by `share_pu` from the event's month on.
    PriceWar,
    /// Deliveries of the chosen generations due in the event's window arrive `delay_months`
    /// later.
    SupplyShock,
    /// Builds of the chosen options due in the event's window arrive `delay_months` later.
    PowerDelay,
    /// Funding rounds due in the event's window fail and the credit line lends nothing new.
    FundingFreeze,
}

impl EventKind {
    /// Every kind, in the order the file format lists them.
    pub const ALL: [EventKind; 5] = [
        EventKind::Efficiency,
        EventKind::PriceWar,
        EventKind::SupplyShock,
        EventKind::PowerDelay,
        EventKind::FundingFreeze,
    ];

    /// The name in files (`kind = "..."`).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Efficiency => "efficiency",
            EventKind::PriceWar => "price_war",
            EventKind::SupplyShock => "supply_shock",
            EventKind::PowerDelay => "power_delay",
            EventKind::FundingFreeze => "funding_freeze",
        }
    }
}

/// An event that may happen once, in a month drawn uniformly in its window (keyed by its name,
/// like a launch, so adding one leaves every other draw unchanged).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Unique name.
    pub name: String,
    /// What it acts on.
    pub kind: EventKind,
    /// First month it can start.
    pub window_start: Month,
    /// Last month it can start.
    pub window_end: Month,
    /// Probability it happens at all.
    pub probability_pu: f64,
    /// Efficiency and price war: the share by which compute per unit or price falls.
    pub share_pu: Uncertain,
    /// Efficiency and price war: the segments hit (empty: all).
    pub segments: Vec<String>,
    /// Supply shock: the generations whose deliveries slip (empty: all).
    pub generations: Vec<String>,
    /// Power delay: the build options (sites) whose deliveries slip (empty: all builds).
    pub options: Vec<String>,
    /// Supply shock and power delay: how much later a delivery arrives, months.
    pub delay_months: Uncertain,
    /// Supply shock, power delay and funding freeze: how long it lasts from its start, months
    /// (deliveries due, rounds due and credit asked for in that span are hit).
    pub duration_months: u32,
}

/// Inputs that count as one factor in a sensitivity analysis (a segment's growth drivers, say).
#[derive(Debug, Clone, PartialEq)]
pub struct InputGroup {
    /// Name.
    pub name: String,
    /// Its inputs, by `id` or field path.
    pub inputs: Vec<String>,
}

/// The months simulated, inclusive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Horizon {
    /// First month.
    pub start: Month,
    /// Last month.
    pub end: Month,
}

impl Horizon {
    /// Number of months, inclusive of both ends.
    pub fn months(&self) -> usize {
        (self.end.since(self.start) + 1).max(0) as usize
    }

    /// True if `m` lies inside the horizon.
    pub fn contains(&self, m: Month) -> bool {
        m >= self.start && m <= self.end
    }
}

/// How per-path parameters are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// Independent uniform draws.
    MonteCarlo,
    /// One draw per stratum, strata shuffled per input.
    LatinHypercube,
    /// Owen-scrambled Sobol points for per-path parameters.
    Sobol,
}

impl Sampling {
    /// Name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Sampling::MonteCarlo => "monte_carlo",
            Sampling::LatinHypercube => "latin_hypercube",
            Sampling::Sobol => "sobol",
        }
    }
}

/// Sampling settings stored in the file (the CLI may override paths and seed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimulationSettings {
    /// Number of paths.
    pub paths: usize,
    /// Seed of every random stream.
    pub seed: u64,
    /// Sampling method for per-path parameters.
    pub sampling: Sampling,
    /// `check` warns when a plan without rules lets capacity fall by more than this share of
    /// its peak before the horizon ends (chips retiring, leases ending, nothing replacing them).
    pub capacity_drop_warning_pu: f64,
}

/// A requested rank correlation between two named uncertain inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    /// `id` of the first input.
    pub a: String,
    /// `id` of the second input.
    pub b: String,
    /// Spearman rank correlation in [-1, 1].
    pub rho: f64,
}

/// One stream of product demand.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Unique name.
    pub name: String,
    /// Label of the demand unit, e.g. "Mtokens".
    pub unit: String,
    /// Demand in the first month, in units per month.
    pub start_units_per_month: Uncertain,
    /// Compute needed per unit at the start, in H100e-months per unit.
    pub h100e_months_per_unit: Uncertain,
    /// Yearly fall of compute intensity from algorithmic efficiency, as a fraction (0.5 = halves yearly).
    pub efficiency_gain_per_year: Uncertain,
    /// Price per unit at the start.
    pub price_usd_per_unit: Uncertain,
    /// Yearly fall of the price, as a fraction.
    pub price_decline_per_year: Uncertain,
    /// How demand grows.
    pub growth: Growth,
    /// Launch events.
    pub launches: Vec<Launch>,
    /// Share of unserved demand that leaves for good.
    pub churn_share_pu: f64,
    /// Allocation priority; lower goes first.
    pub priority: i64,
    /// Per-block demand factors overriding the load blocks' (same order); empty means use theirs.
    pub demand_factors: Vec<f64>,
}

/// A demand growth process.
#[derive(Debug, Clone, PartialEq)]
pub enum Growth {
    /// Log-growth: ln D_{t+1} = ln D_t + drift/12 − σ²/2 + σ·ε.
    Log {
        /// Yearly log-growth drift (ln of yearly growth factor).
        drift_per_year: Uncertain,
        /// Monthly volatility of log demand.
        volatility_per_month: Uncertain,
    },
    /// Logistic S-curve toward an uncertain saturation, with monthly noise.
    SCurve {
        /// Level the curve approaches, units per month.
        saturation_units_per_month: Uncertain,
        /// Logistic growth rate per year.
        rate_per_year: Uncertain,
        /// Monthly volatility of log demand.
        volatility_per_month: Uncertain,
    },
    /// Regime switching between named growth regimes.
    Regimes {
        /// The regimes.
        regimes: Vec<Regime>,
        /// Monthly transition probabilities, row = from, column = to.
        transition: Vec<Vec<f64>>,
        /// Name of the starting regime.
        start: String,
    },
    /// Yearly percentiles elicited from people; a path keeps its percentile rank.
    Percentiles {
        /// Calendar years.
        years: Vec<i32>,
        /// 10th percentile of monthly demand in December of each year.
        p10: Vec<f64>,
        /// Median.
        p50: Vec<f64>,
        /// 90th percentile.
        p90: Vec<f64>,
    },
}

/// One growth regime.
#[derive(Debug, Clone, PartialEq)]
pub struct Regime {
    /// Name, e.g. "boom".
    pub name: String,
    /// Yearly log-growth drift in this regime.
    pub drift_per_year: f64,
    /// Monthly volatility in this regime.
    pub volatility_per_month: f64,
}

/// A launch event: a jump in demand that may happen once in a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Launch {
    /// Name.
    pub name: String,
    /// First month it can happen.
    pub window_start: Month,
    /// Last month it can happen.
    pub window_end: Month,
    /// Probability it happens at all.
    pub probability_pu: f64,
    /// Relative jump (0.32 = +32 %).
    pub jump_pu: Uncertain,
    /// Half-life of the jump's decay; `None` means permanent.
    pub decay_half_life_months: Option<f64>,
}

/// An intra-month load block.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadBlock {
    /// Name, e.g. "peak".
    pub name: String,
    /// Share of the month's hours.
    pub hours_pu: f64,
    /// Demand rate in this block relative to the monthly average.
    pub demand_factor: f64,
}

/// Research compute needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Research {
    /// Protected floor in H100e.
    pub floor_h100e: f64,
    /// Protected floor as a share of online capacity (the larger floor applies).
    pub floor_share_pu: f64,
    /// Named training runs.
    pub runs: Vec<TrainingRun>,
    /// Most of online capacity that extra research can absorb; the rest of the leftover is idle.
    pub extra_cap_share_pu: f64,
    /// Elasticity of quality to cumulative research compute delivered vs planned.
    pub quality_elasticity: Uncertain,
    /// Months between research delivered and its effect on demand.
    pub quality_lag_months: u32,
}

/// A named training run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingRun {
    /// Name.
    pub name: String,
    /// Compute needed.
    pub size_h100e_months: f64,
    /// Earliest month it can start.
    pub earliest_start: Month,
    /// Month it should be finished by.
    pub deadline: Month,
    /// Priority among runs; lower goes first.
    pub priority: i64,
    /// Largest H100e it can use in a month (cluster size); 0 means size / (deadline − start + 1).
    pub max_h100e: f64,
    /// Smallest cluster it can train on, H100e: it runs only on pools with at least this much
    /// capacity online (0: any pool that serves research).
    pub min_cluster_h100e: f64,
}

/// An accelerator generation.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// Name, e.g. "gb200".
    pub name: String,
    /// Throughput per unit in H100e.
    pub h100e_per_unit: f64,
    /// Power per unit, IT load, in kW.
    pub kw_per_unit: f64,
    /// Purchase price per unit.
    pub price_usd_per_unit: Uncertain,
    /// First month it can be bought.
    pub available_from: Month,
    /// Useful life.
    pub life_years: f64,
}

/// Accelerators already installed.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetEntry {
    /// Generation name.
    pub generation: String,
    /// Number of units.
    pub units: f64,
    /// Month they were installed (may be before the horizon).
    pub installed: Month,
    /// Where they sit: owned (uses powered space) or leased (paid monthly, space included).
    pub lease_usd_per_unit_month: f64,
    /// Month a leased entry ends; `None` for owned fleet.
    pub lease_end: Option<Month>,
    /// Capacity pool it belongs to (`None`: the first pool).
    pub pool: Option<String>,
}

/// Site-wide physical limits.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerLimits {
    /// Powered space available at the start, facility MW.
    pub existing_powered_mw: f64,
    /// Most facility power that can ever be online, MW (`None`: no limit; 0 means none).
    pub max_total_mw: Option<f64>,
    /// Fraction of installed capacity available (maintenance, failures).
    pub availability_pu: f64,
    /// Power price for owned space, USD per MWh.
    pub power_price_usd_per_mwh: Uncertain,
    /// Power usage effectiveness of the existing space.
    pub pue: f64,
}

/// Kind of capacity option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    /// Build a campus: powered space filled with accelerators of one generation (size in MW).
    Build,
    /// Lease cloud capacity under a take-or-pay contract (size in H100e).
    Lease,
    /// Buy accelerators into existing powered space (size in H100e).
    Buy,
    /// On-demand burst capacity at a price, up to a monthly cap.
    Burst,
}

impl OptionKind {
    /// Name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            OptionKind::Build => "build",
            OptionKind::Lease => "lease",
            OptionKind::Buy => "buy",
            OptionKind::Burst => "burst",
        }
    }

    /// The unit commitments of this kind are sized in.
    pub fn size_unit(self) -> &'static str {
        match self {
            OptionKind::Build => "mw",
            _ => "h100e",
        }
    }
}

/// A way to add capacity.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityOption {
    /// Unique name.
    pub name: String,
    /// Kind.
    pub kind: OptionKind,
    /// Accelerator generation installed (build, buy).
    pub generation: Option<String>,
    /// Earliest month it can be committed.
    pub commit_from: Month,
    /// Latest month it can be committed.
    pub commit_until: Month,
    /// Block size in the option's unit (MW for build, H100e otherwise); `None` = any amount.
    pub block_size: Option<f64>,
    /// Most that can be committed in total over the horizon, in the option's unit (`None`: no
    /// limit; 0 means nothing).
    pub max_total: Option<f64>,
    /// Months from commitment to capacity online.
    pub lead_time_months: Uncertain,
    /// Probability that delivery slips.
    pub delay_probability_pu: f64,
    /// Extra months when it slips.
    pub delay_months: Uncertain,
    /// Facility capex per MW (build).
    pub capex_usd_per_mw: Uncertain,
    /// Shares of capex paid at evenly spaced months from commitment to arrival (sum to 1).
    pub capex_schedule_pu: Vec<f64>,
    /// Fixed operating cost per MW-year of facility (build).
    pub opex_usd_per_mw_year: f64,
    /// Power price, USD per MWh (build; `None`: the site's price; 0 means free power).
    pub power_price_usd_per_mwh: Option<f64>,
    /// Power usage effectiveness (build).
    pub pue: f64,
    /// Facility life (build).
    pub life_years: f64,
    /// Value at the horizon end as a share of capex (`None`: the straight-line book value;
    /// 0 means worth nothing).
    pub residual_value_pu: Option<f64>,
    /// Lease term (lease).
    pub term_months: u32,
    /// Take-or-pay price (lease) or on-demand price (burst), USD per H100e-month.
    pub price_usd_per_h100e_month: Uncertain,
    /// Months of notice to cancel a lease (0 = cannot cancel).
    pub cancel_notice_months: u32,
    /// Fee to cancel, as a share of the remaining payments.
    pub cancel_fee_pu: f64,
    /// Most burst capacity in any month, H100e (burst).
    pub cap_h100e: f64,
    /// Shares of the chips' up-front price paid at evenly spaced months from commitment to
    /// arrival (build, buy): a deposit first, milestones, the rest on delivery (sum to 1).
    pub chip_schedule_pu: Vec<f64>,
    /// Share of the price (the chips, and a build's facility) the vendor or a lender finances
    /// (build, buy): paid back after arrival.
    pub financed_share_pu: f64,
    /// Interest on vendor financing, a yearly rate (0: deferred payment).
    pub financing_rate_per_year: f64,
    /// Months over which vendor financing is repaid in level payments from the month after
    /// arrival.
    pub financing_term_months: u32,
    /// Lease: multiplier on the leased H100e (and so the committed spend) in each successive
    /// 12 months of the term, the last repeating (empty: flat): a cloud contract's spend ramp.
    pub ramp_pu: Vec<f64>,
    /// Capacity pool its capacity joins (`None`: the first pool; not for burst).
    pub pool: Option<String>,
}

impl CapacityOption {
    /// Defaults for an option of `kind`, with the required fields to be filled in.
    pub fn new(name: &str, kind: OptionKind, commit_from: Month, commit_until: Month) -> Self {
        CapacityOption {
            name: name.to_string(),
            kind,
            generation: None,
            commit_from,
            commit_until,
            block_size: None,
            max_total: None,
            lead_time_months: Uncertain::fixed(0.0),
            delay_probability_pu: 0.0,
            delay_months: Uncertain::fixed(0.0),
            capex_usd_per_mw: Uncertain::fixed(0.0),
            capex_schedule_pu: vec![1.0],
            opex_usd_per_mw_year: 0.0,
            power_price_usd_per_mwh: None,
            pue: 1.2,
            life_years: 15.0,
            residual_value_pu: None,
            term_months: 60,
            price_usd_per_h100e_month: Uncertain::fixed(0.0),
            cancel_notice_months: 0,
            cancel_fee_pu: 0.0,
            cap_h100e: 0.0,
            chip_schedule_pu: vec![1.0],
            financed_share_pu: 0.0,
            financing_rate_per_year: 0.0,
            financing_term_months: 0,
            ramp_pu: Vec::new(),
            pool: None,
        }
    }
}

/// Allocation order and burst use.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    /// Explicit order; empty means the default (floor, segments by priority, runs, extra).
    pub order: Vec<AllocationStep>,
    /// Whether burst options cover product shortfall.
    pub burst_covers_product: bool,
}

/// One step of the allocation order.
#[derive(Debug, Clone, PartialEq)]
pub enum AllocationStep {
    /// The protected research floor.
    ResearchFloor,
    /// One product segment, by name.
    Segment(String),
    /// Named training runs, in their priority order.
    ResearchRuns,
    /// Whatever is left goes to research.
    ResearchExtra,
}

impl AllocationStep {
    /// Text used in files.
    pub fn to_text(&self) -> String {
        match self {
            AllocationStep::ResearchFloor => "research_floor".into(),
            AllocationStep::Segment(s) => format!("segment:{s}"),
            AllocationStep::ResearchRuns => "research_runs".into(),
            AllocationStep::ResearchExtra => "research_extra".into(),
        }
    }
}

/// Cash, funding and costs outside compute.
#[derive(Debug, Clone, PartialEq)]
pub struct Finance {
    /// Cash at the start.
    pub starting_cash_usd: f64,
    /// Cash never allowed below this; the credit line, then the backstop, fill the gap.
    pub min_cash_usd: f64,
    /// Scheduled funding rounds.
    pub rounds: Vec<FundingRound>,
    /// Revolving credit line.
    pub credit_limit_usd: f64,
    /// Interest on the credit line.
    pub credit_rate_per_year: f64,
    /// Interest on backstop loans.
    pub backstop_rate_per_year: f64,
    /// Costs outside compute in the first month.
    pub non_compute_opex_usd_per_month: Uncertain,
    /// Yearly growth of those costs.
    pub non_compute_opex_growth_per_year: f64,
    /// Depreciation life of accelerators.
    pub it_depreciation_years: f64,
    /// Depreciation life of facilities.
    pub facility_depreciation_years: f64,
    /// Shares of revenue paid to partners.
    pub revenue_shares: Vec<RevenueShare>,
    /// Investment by vendors that arrives as capacity they supply comes online.
    pub vendor_investments: Vec<VendorInvestment>,
}

/// A share of revenue paid to a partner each month.
#[derive(Debug, Clone, PartialEq)]
pub struct RevenueShare {
    /// The partner.
    pub partner: String,
    /// Share of the revenue of `segments` paid.
    pub share_pu: f64,
    /// Segments whose revenue is shared (empty: all).
    pub segments: Vec<String>,
    /// First month it applies.
    pub from: Month,
    /// Last month it applies.
    pub until: Month,
}

/// Investment by a vendor tied to the capacity it supplies: cash (equity, not revenue) as each
/// delivery of its options comes online, and non-cash consideration (share warrants, equity
/// for compute) vesting with it, reported separately.
#[derive(Debug, Clone, PartialEq)]
pub struct VendorInvestment {
    /// The vendor.
    pub vendor: String,
    /// Options whose deliveries count.
    pub options: Vec<String>,
    /// Cash invested per H100e delivered, USD.
    pub usd_per_h100e: f64,
    /// Most cash invested in total, USD (0: no limit).
    pub max_usd: f64,
    /// Non-cash consideration vesting per H100e delivered, USD (warrants, equity for compute).
    pub warrants_usd_per_h100e: f64,
}

/// A scheduled funding round.
#[derive(Debug, Clone, PartialEq)]
pub struct FundingRound {
    /// Month the cash arrives.
    pub month: Month,
    /// Amount.
    pub amount_usd: Uncertain,
    /// Probability it closes.
    pub probability_pu: f64,
}

/// A named plan: commitments and rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Unique name.
    pub name: String,
    /// What it is.
    pub description: String,
    /// Fixed commitments.
    pub commitments: Vec<Commitment>,
    /// Rules that commit depending on what has happened.
    pub rules: Vec<Rule>,
}

/// A commitment: an option taken at a month, for an amount in the option's unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Commitment {
    /// Option name.
    pub option: String,
    /// Month committed.
    pub month: Month,
    /// Amount in the option's unit (MW for build, H100e otherwise).
    pub amount: f64,
    /// The project it belongs to, for ranking (None: grouped with the plan's other
    /// commitments of the same option).
    pub project: Option<String>,
}

impl Commitment {
    /// The project this commitment counts under in a ranking: its `project`, or its option.
    pub fn project_name(&self) -> &str {
        self.project.as_deref().unwrap_or(&self.option)
    }
}

/// "Each `every_months`, commit enough of `option` that capacity at lead time covers the
/// `percentile_pu` forecast of compute demand times (1 + `headroom_pu`)."
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Option to commit.
    pub option: String,
    /// What the rule aims at.
    pub kind: RuleKind,
    /// Months between decisions.
    pub every_months: u32,
    /// First decision month.
    pub from: Month,
    /// Last decision month.
    pub until: Month,
    /// Forecast percentile to cover.
    pub percentile_pu: f64,
    /// Extra margin on top of the forecast.
    pub headroom_pu: f64,
    /// Largest single commitment in the option's unit (0 = no limit).
    pub max_per_decision: f64,
    /// Affine rule: commitment at the centre of demand, in the option's unit.
    pub intercept: f64,
    /// Affine rule: extra commitment per unit of ln(D / centre) (option's unit).
    pub slope: f64,
    /// Affine rule: the product compute demand (H100e) observed the month before a decision at
    /// which the rule commits `intercept`.
    pub centre_h100e: f64,
}

/// What a [`Rule`] commits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// Cover a percentile of the demand forecast at lead time (with headroom).
    Forecast,
    /// Fleet refresh: replace the planned capacity that would retire (or end its lease)
    /// between the decision month and the option's arrival, so capacity does not fall.
    Refresh,
    /// Cancel leases of the option when planned capacity after the notice period exceeds the
    /// forecast need, paying the option's cancellation fee.
    Cancel,
    /// A linear decision rule: commit max(0, intercept + slope · ln(D / centre)), with D the
    /// product compute demand the month before, before churn and quality feedback (what `plan`
    /// finds by default).
    Affine,
}

impl RuleKind {
    /// The name in files (`kind = "..."`).
    pub fn name(self) -> &'static str {
        match self {
            RuleKind::Forecast => "forecast",
            RuleKind::Refresh => "refresh",
            RuleKind::Cancel => "cancel",
            RuleKind::Affine => "affine",
        }
    }
}

/// A named discrete case: fixed values for named inputs, with a probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Name.
    pub name: String,
    /// Probability; cases sum to 1.
    pub probability_pu: f64,
    /// Values of named inputs (by `id`); others stay at their median.
    pub values: Vec<(String, f64)>,
}

impl Scenario {
    /// Looks up a generation by name.
    pub fn generation(&self, name: &str) -> Option<&Generation> {
        self.generations.iter().find(|g| g.name == name)
    }

    /// Index of the pool a fleet entry or option names in its `pool` field: the first pool
    /// when it names none (or a pool that does not exist, which validation rejects).
    pub fn pool_index(&self, pool: &Option<String>) -> usize {
        pool.as_ref()
            .and_then(|name| self.pools.iter().position(|p| &p.name == name))
            .unwrap_or(0)
    }

    /// Looks up an option by name.
    pub fn option(&self, name: &str) -> Option<&CapacityOption> {
        self.options.iter().find(|o| o.name == name)
    }

    /// Looks up a plan by name.
    pub fn plan(&self, name: &str) -> Option<&Plan> {
        self.plans.iter().find(|p| p.name == name)
    }

    /// H100e one MW of facility power holds when filled with `generation` at `pue`.
    pub fn h100e_per_mw(&self, generation: &str, pue: f64) -> f64 {
        match self.generation(generation) {
            Some(g) if g.kw_per_unit > 0.0 && pue > 0.0 => {
                1000.0 / (g.kw_per_unit * pue) * g.h100e_per_unit
            }
            _ => 0.0,
        }
    }

    /// Every named uncertain input, with its field path.
    pub fn named_inputs(&self) -> Vec<(String, &Uncertain)> {
        let mut out = Vec::new();
        self.visit_uncertain(&mut |field, u| {
            if u.id.is_some() {
                out.push((field.path(), u))
            }
        });
        out
    }

    /// Calls `f` with every uncertain input and where it sits, in a fixed order.
    pub fn visit_uncertain<'a>(&'a self, f: &mut dyn FnMut(InputField, &'a Uncertain)) {
        use InputField as F;
        for (i, s) in self.segments.iter().enumerate() {
            f(F::SegmentStart(i), &s.start_units_per_month);
            f(F::SegmentIntensity(i), &s.h100e_months_per_unit);
            f(F::SegmentEfficiency(i), &s.efficiency_gain_per_year);
            f(F::SegmentPrice(i), &s.price_usd_per_unit);
            f(F::SegmentPriceDecline(i), &s.price_decline_per_year);
            match &s.growth {
                Growth::Log {
                    drift_per_year,
                    volatility_per_month,
                } => {
                    f(F::GrowthDrift(i), drift_per_year);
                    f(F::GrowthVolatility(i), volatility_per_month);
                }
                Growth::SCurve {
                    saturation_units_per_month,
                    rate_per_year,
                    volatility_per_month,
                } => {
                    f(F::GrowthSaturation(i), saturation_units_per_month);
                    f(F::GrowthRate(i), rate_per_year);
                    f(F::GrowthVolatility(i), volatility_per_month);
                }
                Growth::Regimes { .. } | Growth::Percentiles { .. } => {}
            }
            for (j, l) in s.launches.iter().enumerate() {
                f(F::LaunchJump(i, j), &l.jump_pu);
            }
        }
        f(F::QualityElasticity, &self.research.quality_elasticity);
        for (i, g) in self.generations.iter().enumerate() {
            f(F::GenerationPrice(i), &g.price_usd_per_unit);
        }
        f(F::PowerPrice, &self.power.power_price_usd_per_mwh);
        for (i, o) in self.options.iter().enumerate() {
            f(F::OptionLeadTime(i), &o.lead_time_months);
            f(F::OptionDelay(i), &o.delay_months);
            f(F::OptionCapexPerMw(i), &o.capex_usd_per_mw);
            f(F::OptionLeasePrice(i), &o.price_usd_per_h100e_month);
        }
        for (i, r) in self.finance.rounds.iter().enumerate() {
            f(F::RoundAmount(i), &r.amount_usd);
        }
        f(
            F::NonComputeOpex,
            &self.finance.non_compute_opex_usd_per_month,
        );
        for (i, e) in self.events.iter().enumerate() {
            f(F::EventShare(i), &e.share_pu);
            f(F::EventDelay(i), &e.delay_months);
        }
    }
}

/// An uncertain input by where it sits in the scenario (indices into its lists): the typed
/// form of its field path, so code addresses inputs without formatting strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InputField {
    /// `segments[i].start_units_per_month`.
    SegmentStart(usize),
    /// `segments[i].h100e_months_per_unit`.
    SegmentIntensity(usize),
    /// `segments[i].efficiency_gain_per_year`.
    SegmentEfficiency(usize),
    /// `segments[i].price_usd_per_unit`.
    SegmentPrice(usize),
    /// `segments[i].price_decline_per_year`.
    SegmentPriceDecline(usize),
    /// `segments[i].growth.drift_per_year`.
    GrowthDrift(usize),
    /// `segments[i].growth.volatility_per_month`.
    GrowthVolatility(usize),
    /// `segments[i].growth.saturation_units_per_month`.
    GrowthSaturation(usize),
    /// `segments[i].growth.rate_per_year`.
    GrowthRate(usize),
    /// `segments[i].launches[j].jump_pu`.
    LaunchJump(usize, usize),
    /// `research.quality_elasticity`.
    QualityElasticity,
    /// `generations[i].price_usd_per_unit`.
    GenerationPrice(usize),
    /// `power.power_price_usd_per_mwh`.
    PowerPrice,
    /// `options[i].lead_time_months`.
    OptionLeadTime(usize),
    /// `options[i].delay_months`.
    OptionDelay(usize),
    /// `options[i].capex_usd_per_mw`.
    OptionCapexPerMw(usize),
    /// `options[i].price_usd_per_h100e_month`.
    OptionLeasePrice(usize),
    /// `finance.rounds[i].amount_usd`.
    RoundAmount(usize),
    /// `finance.non_compute_opex_usd_per_month`.
    NonComputeOpex,
    /// `events[i].share_pu`.
    EventShare(usize),
    /// `events[i].delay_months`.
    EventDelay(usize),
}

impl InputField {
    /// The field path, as diagnostics and outputs name the input.
    pub fn path(self) -> String {
        use InputField as F;
        match self {
            F::SegmentStart(i) => format!("segments[{i}].start_units_per_month"),
            F::SegmentIntensity(i) => format!("segments[{i}].h100e_months_per_unit"),
            F::SegmentEfficiency(i) => format!("segments[{i}].efficiency_gain_per_year"),
            F::SegmentPrice(i) => format!("segments[{i}].price_usd_per_unit"),
            F::SegmentPriceDecline(i) => format!("segments[{i}].price_decline_per_year"),
            F::GrowthDrift(i) => format!("segments[{i}].growth.drift_per_year"),
            F::GrowthVolatility(i) => format!("segments[{i}].growth.volatility_per_month"),
            F::GrowthSaturation(i) => format!("segments[{i}].growth.saturation_units_per_month"),
            F::GrowthRate(i) => format!("segments[{i}].growth.rate_per_year"),
            F::LaunchJump(i, j) => format!("segments[{i}].launches[{j}].jump_pu"),
            F::QualityElasticity => "research.quality_elasticity".into(),
            F::GenerationPrice(i) => format!("generations[{i}].price_usd_per_unit"),
            F::PowerPrice => "power.power_price_usd_per_mwh".into(),
            F::OptionLeadTime(i) => format!("options[{i}].lead_time_months"),
            F::OptionDelay(i) => format!("options[{i}].delay_months"),
            F::OptionCapexPerMw(i) => format!("options[{i}].capex_usd_per_mw"),
            F::OptionLeasePrice(i) => format!("options[{i}].price_usd_per_h100e_month"),
            F::RoundAmount(i) => format!("finance.rounds[{i}].amount_usd"),
            F::NonComputeOpex => "finance.non_compute_opex_usd_per_month".into(),
            F::EventShare(i) => format!("events[{i}].share_pu"),
            F::EventDelay(i) => format!("events[{i}].delay_months"),
        }
    }
}
