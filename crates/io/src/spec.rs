//! The attribute table of scenario format v1: every table and field, with type, unit, default
//! and description.
//!
//! This table is the single source of truth for field names. The reader checks unknown
//! fields against it (with "did you mean" suggestions), the JSON Schema is generated from it,
//! and so is the reference page `docs/reference/scenario-file.md`.

/// Type of a field.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// A finite number (integer or float).
    Num,
    /// A non-negative integer.
    Int,
    /// true / false.
    Bool,
    /// A string.
    Str,
    /// A month, `YYYY-MM`.
    Month,
    /// A number or a distribution inline table.
    Uncertain,
    /// An array of numbers.
    NumArray,
    /// An array of arrays of numbers.
    NumMatrix,
    /// An array of strings.
    StrArray,
    /// One of the listed strings.
    Enum(&'static [&'static str]),
    /// A sub-table.
    Table(&'static TableSpec),
    /// An array of tables (`[[name]]`).
    Tables(&'static TableSpec),
    /// A table of input ids to numbers.
    NumMap,
}

/// One field of a table.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Key in the file.
    pub name: &'static str,
    /// Type.
    pub ty: Ty,
    /// Whether the field must be given.
    pub required: bool,
    /// Default, as written in the docs ("" if required or none).
    pub default: &'static str,
    /// What it means, with its unit.
    pub doc: &'static str,
}

/// A table of the format.
#[derive(Debug)]
pub struct TableSpec {
    /// Name of the table (used in docs and schema definitions).
    pub name: &'static str,
    /// What it describes.
    pub doc: &'static str,
    /// Its fields.
    pub fields: &'static [Field],
}

impl Field {
    /// The default as a number, when the stated default starts with one (`0 (owned)` is 0).
    pub fn default_number(&self) -> Option<f64> {
        self.default.split_whitespace().next()?.parse().ok()
    }

    /// The default as true or false, when it is one.
    pub fn default_bool(&self) -> Option<bool> {
        self.default.parse().ok()
    }
}

impl TableSpec {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

const fn req(name: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        required: true,
        default: "",
        doc,
    }
}

const fn opt(name: &'static str, ty: Ty, default: &'static str, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        required: false,
        default,
        doc,
    }
}

/// Names accepted by `dist`.
pub const DIST_KINDS: &[&str] = &[
    "fixed",
    "normal",
    "lognormal",
    "triangular",
    "pert",
    "uniform",
    "discrete",
    "metalog",
];

/// An uncertain value written as an inline table.
pub static UNCERTAIN: TableSpec = TableSpec {
    name: "uncertain",
    doc: "A number, or a distribution written as an inline table such as `{ dist = \"lognormal\", p10 = 1.2, p90 = 3.0 }`. \
          Parameters by kind: fixed (value), normal (mean, sd; optional min and/or max truncate it), lognormal (p10 and p90, or median and p90), \
          triangular and pert (min, mode, max), uniform (min, max), discrete (values, probs), metalog (probs, values: 2 to 6 quantiles; \
          optional min and/or max bound it: semi-bounded or bounded metalog). \
          `id` names the input so correlations, cases and sensitivity analyses can refer to it.",
    fields: &[
        req("dist", Ty::Enum(DIST_KINDS), "Distribution kind."),
        opt("id", Ty::Str, "", "Name of this input, unique in the scenario."),
        opt("value", Ty::Num, "", "fixed: the value."),
        opt("mean", Ty::Num, "", "normal: mean."),
        opt("sd", Ty::Num, "", "normal: standard deviation."),
        opt("p10", Ty::Num, "", "lognormal: 10th percentile."),
        opt("median", Ty::Num, "", "lognormal: median."),
        opt("p90", Ty::Num, "", "lognormal: 90th percentile."),
        opt("min", Ty::Num, "", "triangular, pert, uniform: lowest value; normal (optional): truncated below here; metalog (optional): lower bound, values strictly above it (log metalog)."),
        opt("mode", Ty::Num, "", "triangular, pert: most likely value."),
        opt("max", Ty::Num, "", "triangular, pert, uniform: highest value; normal (optional): truncated above here; metalog (optional): upper bound (with `min`: the logit metalog on (min, max))."),
        opt("values", Ty::NumArray, "", "discrete: the values; metalog: values at `probs`."),
        opt("probs", Ty::NumArray, "", "discrete: probabilities (sum to 1); metalog: cumulative probabilities of `values`."),
    ],
};

static HORIZON: TableSpec = TableSpec {
    name: "horizon",
    doc: "The months simulated, both ends included.",
    fields: &[
        req("start", Ty::Month, "First month, YYYY-MM."),
        req("end", Ty::Month, "Last month, YYYY-MM."),
    ],
};

/// Sampling method names.
pub const SAMPLING: &[&str] = &["monte_carlo", "latin_hypercube", "sobol"];

pub static SIMULATION: TableSpec = TableSpec {
    name: "simulation",
    doc: "Sampling settings; `--paths` and `--seed` on the command line override them.",
    fields: &[
        opt("paths", Ty::Int, "10000", "Number of Monte Carlo paths."),
        opt("seed", Ty::Int, "1", "Seed of every random stream."),
        opt(
            "sampling",
            Ty::Enum(SAMPLING),
            "monte_carlo",
            "How per-path parameters are drawn.",
        ),
        opt(
            "capacity_drop_warning_pu",
            Ty::Num,
            "0.3",
            "`check` and every command warn when a plan without rules lets planned capacity fall by more than this share of its peak before the horizon ends; 1 turns the warning off.",
        ),
    ],
};

static CORRELATION: TableSpec = TableSpec {
    name: "correlation",
    doc:
        "A rank (Spearman) correlation between two named uncertain inputs, imposed by Iman–Conover.",
    fields: &[
        req("a", Ty::Str, "`id` of the first input."),
        req("b", Ty::Str, "`id` of the second input."),
        req("rho", Ty::Num, "Rank correlation in [-1, 1]."),
    ],
};

/// Growth process names.
pub const PROCESSES: &[&str] = &["log", "s_curve", "regimes", "percentiles"];

static REGIME: TableSpec = TableSpec {
    name: "regime",
    doc: "One regime of a regime-switching growth process.",
    fields: &[
        req("name", Ty::Str, "Regime name, e.g. boom."),
        req(
            "drift_per_year",
            Ty::Num,
            "Yearly log-growth drift in this regime.",
        ),
        opt(
            "volatility_per_month",
            Ty::Num,
            "0",
            "Monthly volatility of log demand.",
        ),
    ],
};

static GROWTH: TableSpec = TableSpec {
    name: "growth",
    doc: "How a segment's demand grows. `log`: ln D(t+1) = ln D(t) + drift/12 − σ²/2 + σ·ε. \
          `s_curve`: logistic toward a saturation level, with monthly noise. \
          `regimes`: log-growth whose drift and volatility follow a Markov chain of regimes. \
          `percentiles`: yearly p10/p50/p90 of monthly demand elicited from people; each path keeps one percentile rank.",
    fields: &[
        req("process", Ty::Enum(PROCESSES), "Growth process."),
        opt("drift_per_year", Ty::Uncertain, "0", "log: yearly log-growth drift (ln 2 ≈ 0.693 doubles yearly)."),
        opt("volatility_per_month", Ty::Uncertain, "0", "log, s_curve: monthly volatility of log demand."),
        opt("saturation_units_per_month", Ty::Uncertain, "", "s_curve: level approached, units per month."),
        opt("rate_per_year", Ty::Uncertain, "", "s_curve: logistic growth rate per year."),
        opt("regimes", Ty::Tables(&REGIME), "", "regimes: the regimes."),
        opt("transition", Ty::NumMatrix, "", "regimes: monthly transition probabilities, row = from, column = to."),
        opt("start", Ty::Str, "first regime", "regimes: starting regime."),
        opt("years", Ty::NumArray, "", "percentiles: calendar years."),
        opt("p10", Ty::NumArray, "", "percentiles: 10th percentile of monthly demand in December of each year."),
        opt("p50", Ty::NumArray, "", "percentiles: median."),
        opt("p90", Ty::NumArray, "", "percentiles: 90th percentile."),
    ],
};

static LAUNCH: TableSpec = TableSpec {
    name: "launch",
    doc: "A launch event: with some probability, in a month drawn uniformly from the window, demand jumps by a factor.",
    fields: &[
        req("name", Ty::Str, "Name of the event."),
        req("window_start", Ty::Month, "First month it can happen."),
        req("window_end", Ty::Month, "Last month it can happen."),
        opt("probability_pu", Ty::Num, "1", "Probability it happens at all."),
        req("jump_pu", Ty::Uncertain, "Relative jump: 0.32 means +32 %."),
        opt("decay_half_life_months", Ty::Num, "permanent", "Half-life of the jump; leave out for a permanent jump."),
    ],
};

static SEGMENT: TableSpec = TableSpec {
    name: "segment",
    doc: "One stream of product demand.",
    fields: &[
        req("name", Ty::Str, "Unique name."),
        opt("unit", Ty::Str, "units", "Label of the demand unit, e.g. Mtokens."),
        req("start_units_per_month", Ty::Uncertain, "Demand in the first month, units per month."),
        req("h100e_months_per_unit", Ty::Uncertain, "Compute per unit at the start, H100e-months per unit."),
        opt("efficiency_gain_per_year", Ty::Uncertain, "0", "Yearly fall of compute per unit from algorithmic efficiency, a share (0.5 halves it yearly)."),
        req("price_usd_per_unit", Ty::Uncertain, "Price per unit at the start, USD."),
        opt("price_decline_per_year", Ty::Uncertain, "0", "Yearly fall of the price, a share."),
        req("growth", Ty::Table(&GROWTH), "Growth process."),
        opt("launches", Ty::Tables(&LAUNCH), "none", "Launch events."),
        opt("churn_share_pu", Ty::Num, "0", "Share of unserved demand that leaves for good."),
        opt("priority", Ty::Int, "order in file", "Allocation priority; lower goes first."),
        opt("demand_factors", Ty::NumArray, "the load blocks'", "Per-block demand factors for this segment, in load-block order."),
    ],
};

static LOAD_BLOCK: TableSpec = TableSpec {
    name: "load_block",
    doc: "An intra-month load block (a step of the load-duration curve). Hours shares sum to 1; \
          hours-weighted demand factors should average 1.",
    fields: &[
        req("name", Ty::Str, "Name, e.g. peak."),
        req("hours_pu", Ty::Num, "Share of the month's hours."),
        req(
            "demand_factor",
            Ty::Num,
            "Demand rate in this block relative to the monthly average.",
        ),
    ],
};

static RUN: TableSpec = TableSpec {
    name: "training_run",
    doc: "A named training run.",
    fields: &[
        req("name", Ty::Str, "Unique name."),
        req(
            "size_h100e_months",
            Ty::Num,
            "Compute needed, H100e-months.",
        ),
        req("earliest_start", Ty::Month, "Earliest start month."),
        req("deadline", Ty::Month, "Month it should finish by."),
        opt(
            "priority",
            Ty::Int,
            "order in file",
            "Priority among runs; lower goes first.",
        ),
        opt(
            "max_h100e",
            Ty::Num,
            "size / window",
            "Most H100e it can use in one month (cluster size).",
        ),
        opt(
            "min_cluster_h100e",
            Ty::Num,
            "0",
            "Smallest interconnected cluster it can train on, H100e: it runs only on pools with at least this much capacity online.",
        ),
    ],
};

static RESEARCH: TableSpec = TableSpec {
    name: "research",
    doc:
        "Research compute: a protected floor, named training runs, and how research raises quality.",
    fields: &[
        opt(
            "floor_h100e",
            Ty::Num,
            "0",
            "Protected research floor, H100e.",
        ),
        opt(
            "floor_share_pu",
            Ty::Num,
            "0",
            "Protected floor as a share of online capacity; the larger floor applies.",
        ),
        opt("runs", Ty::Tables(&RUN), "none", "Named training runs."),
        opt("extra_cap_share_pu", Ty::Num, "0", "Most of online capacity that extra research can absorb (floor and runs included), and so the research planned; leftover beyond it is idle. 0: research gets its floor and runs only, spare capacity is idle."),
        opt(
            "quality_elasticity",
            Ty::Uncertain,
            "0",
            "Elasticity of the quality index to cumulative research delivered over planned.",
        ),
        opt(
            "quality_lag_months",
            Ty::Int,
            "3",
            "Months before research shows in quality.",
        ),
    ],
};

static GENERATION: TableSpec = TableSpec {
    name: "generation",
    doc: "An accelerator generation.",
    fields: &[
        req("name", Ty::Str, "Unique name, e.g. gb200."),
        req("h100e_per_unit", Ty::Num, "Throughput per unit, H100e."),
        req(
            "kw_per_unit",
            Ty::Num,
            "IT power per unit, kW (facility power = kW × PUE).",
        ),
        req(
            "price_usd_per_unit",
            Ty::Uncertain,
            "Purchase price per unit, USD.",
        ),
        opt(
            "available_from",
            Ty::Month,
            "horizon start",
            "First month its chips can arrive; a build or buy committed earlier waits for it.",
        ),
        opt("life_years", Ty::Num, "5", "Useful life, years."),
    ],
};

static FLEET: TableSpec = TableSpec {
    name: "fleet_entry",
    doc: "Accelerators already installed: owned (in existing powered space) or leased.",
    fields: &[
        req("generation", Ty::Str, "Generation name."),
        req("units", Ty::Num, "Number of units."),
        opt(
            "installed",
            Ty::Month,
            "horizon start",
            "Install month (may be before the horizon); retired after the generation's life.",
        ),
        opt(
            "lease_usd_per_unit_month",
            Ty::Num,
            "0 (owned)",
            "Monthly lease per unit, for leased fleet.",
        ),
        opt("lease_end", Ty::Month, "none", "Month a leased entry ends."),
        opt(
            "pool",
            Ty::Str,
            "first pool",
            "Capacity pool it belongs to (see `[[pools]]`).",
        ),
    ],
};

pub static POWER: TableSpec = TableSpec {
    name: "power",
    doc: "Site-wide physical limits and defaults for owned space.",
    fields: &[
        opt(
            "existing_powered_mw",
            Ty::Num,
            "fleet need",
            "Powered space at the start, facility MW.",
        ),
        opt(
            "max_total_mw",
            Ty::Num,
            "no limit",
            "Most facility power that can be online at once, MW (0: no new space can be built).",
        ),
        opt(
            "availability_pu",
            Ty::Num,
            "0.95",
            "Share of installed capacity available after maintenance and failures.",
        ),
        opt(
            "power_price_usd_per_mwh",
            Ty::Uncertain,
            "60",
            "Power price for owned space, USD per MWh.",
        ),
        opt("pue", Ty::Num, "1.3", "PUE of the existing space."),
    ],
};

/// Option kind names.
pub const OPTION_KINDS: &[&str] = &["build", "lease", "buy", "burst"];

static OPTION: TableSpec = TableSpec {
    name: "option",
    doc: "A way to add capacity. build: powered campus filled with one generation, sized in MW. \
          lease: take-or-pay cloud contract, sized in H100e. buy: accelerators into free powered space, sized in H100e. \
          burst: on-demand capacity up to a monthly cap, used automatically when allowed.",
    fields: &[
        req("name", Ty::Str, "Unique name."),
        req("kind", Ty::Enum(OPTION_KINDS), "build, lease, buy or burst."),
        opt("generation", Ty::Str, "", "Accelerator generation installed (build, buy)."),
        opt("commit_from", Ty::Month, "horizon start", "Earliest month it can be committed."),
        opt("commit_until", Ty::Month, "horizon end", "Latest month it can be committed."),
        opt("block_mw", Ty::Num, "any amount", "build: block size, MW; commitments are whole blocks."),
        opt("block_h100e", Ty::Num, "any amount", "lease, buy: block size, H100e."),
        opt("max_mw", Ty::Num, "no limit", "build: most MW committed over the horizon (0: none)."),
        opt("max_h100e", Ty::Num, "no limit", "lease, buy: most H100e committed over the horizon (0: none)."),
        opt("lead_time_months", Ty::Uncertain, "0", "Months from commitment to capacity online."),
        opt("delay_probability_pu", Ty::Num, "0", "Probability delivery slips."),
        opt("delay_months", Ty::Uncertain, "0", "Extra months when it slips."),
        opt("capex_usd_per_mw", Ty::Uncertain, "0", "build: facility capex per MW (accelerators are priced by their generation)."),
        opt("capex_schedule_pu", Ty::NumArray, "[1.0]", "Shares of facility capex paid at evenly spaced months from commitment to arrival."),
        opt("opex_usd_per_mw_year", Ty::Num, "0", "build: fixed operating cost per MW-year."),
        opt("power_price_usd_per_mwh", Ty::Num, "site price", "build: power price, USD per MWh."),
        opt("pue", Ty::Num, "1.2", "build: power usage effectiveness."),
        opt("life_years", Ty::Num, "15", "build: facility life, years."),
        opt("residual_value_pu", Ty::Num, "book value", "Value at the horizon end as a share of capex; absent: the straight-line book value (0 means worth nothing)."),
        opt("term_months", Ty::Int, "60", "lease: term."),
        opt("price_usd_per_h100e_month", Ty::Uncertain, "0", "lease: take-or-pay price; burst: on-demand price; USD per H100e-month."),
        opt("cancel_notice_months", Ty::Int, "0 (cannot cancel)", "lease: notice to cancel."),
        opt("cancel_fee_pu", Ty::Num, "0", "lease: cancellation fee as a share of the remaining payments."),
        opt("cap_h100e", Ty::Num, "", "burst: most H100e in any month."),
        opt("chip_schedule_pu", Ty::NumArray, "[1.0]", "build, buy: shares of the chips' up-front price paid at evenly spaced months from commitment to arrival (a deposit first, milestones, the rest on delivery)."),
        opt("financed_share_pu", Ty::Num, "0", "build, buy: share of the price (the chips, and a build's facility) the vendor or a lender finances, repaid after arrival."),
        opt("financing_rate_per_year", Ty::Num, "0", "build, buy: interest on vendor financing (0: deferred payment)."),
        opt("financing_term_months", Ty::Int, "0", "build, buy: months of level repayments of vendor financing, from the month after arrival."),
        opt("ramp_pu", Ty::NumArray, "flat", "lease: multiplier on the leased H100e and the spend in each successive 12 months of the term, the last repeating (a cloud contract's committed spend ramp)."),
        opt("pool", Ty::Str, "first pool", "build, lease, buy: the capacity pool its capacity joins (see `[[pools]]`)."),
    ],
};

static POOL: TableSpec = TableSpec {
    name: "pool",
    doc: "A capacity pool: the capacity of the options and fleet entries that name it (`pool = \"...\"`; those that name none join the first pool), \
          run as one interconnected cluster. Each month and load block, allocation follows the priority order and each step draws from the pools \
          that may run its work, cheapest per H100e-hour used first (merit order). Without pools, all capacity is one pool that serves everything \
          at no cost per use.",
    fields: &[
        req("name", Ty::Str, "Unique name, e.g. asic-inference."),
        opt("serves", Ty::StrArray, "everything", "Work it may run: segment names, and `research` for the research floor, training runs and extra research."),
        opt("use_fee_usd_per_h100e_hour", Ty::Num, "0", "Fee per H100e-hour actually used (per-use charges, energy billed by use), USD."),
        opt("idle_power_share_pu", Ty::Num, "1", "Share of its owned chips' full power drawn when idle; the rest is drawn in proportion to use (1: power paid whether used or not)."),
    ],
};

static REVENUE_SHARE: TableSpec = TableSpec {
    name: "revenue_share",
    doc: "A share of revenue paid to a partner each month: an operating cost in its own statement line.",
    fields: &[
        req("partner", Ty::Str, "The partner."),
        req("share_pu", Ty::Num, "Share of the revenue of `segments` paid."),
        opt("segments", Ty::StrArray, "all", "Segments whose revenue is shared."),
        opt("from", Ty::Month, "horizon start", "First month it applies."),
        opt("until", Ty::Month, "horizon end", "Last month it applies."),
    ],
};

static VENDOR_INVESTMENT: TableSpec = TableSpec {
    name: "vendor_investment",
    doc: "Investment by a vendor tied to the capacity it supplies: cash (equity, not revenue; outside NPV) as each delivery of \
          its options comes online, up to a total, and non-cash consideration (share warrants, equity for compute) vesting with it, \
          reported in its own line.",
    fields: &[
        req("vendor", Ty::Str, "The vendor."),
        req("options", Ty::StrArray, "Options whose deliveries count."),
        opt("usd_per_h100e", Ty::Num, "0", "Cash invested per H100e delivered."),
        opt("max_usd", Ty::Num, "0", "Most cash invested in total (0: no limit)."),
        opt("warrants_usd_per_h100e", Ty::Num, "0", "Non-cash consideration vesting per H100e delivered."),
    ],
};

static ALLOCATION: TableSpec = TableSpec {
    name: "allocation",
    doc: "Priority order for capacity each month. Steps: `research_floor`, `segment:NAME`, `research_runs`, `research_extra`. \
          Default: floor, segments by priority, runs, extra.",
    fields: &[
        opt("order", Ty::StrArray, "default order", "Allocation steps in order."),
        opt("burst_covers_product", Ty::Bool, "true", "Burst options cover product shortfall up to their cap."),
    ],
};

static ROUND: TableSpec = TableSpec {
    name: "funding_round",
    doc: "A scheduled funding round.",
    fields: &[
        req("month", Ty::Month, "Month the cash arrives."),
        req("amount_usd", Ty::Uncertain, "Amount, USD."),
        opt("probability_pu", Ty::Num, "1", "Probability it closes."),
    ],
};

pub static FINANCE: TableSpec = TableSpec {
    name: "finance",
    doc: "Cash, funding, and costs outside compute.",
    fields: &[
        opt("starting_cash_usd", Ty::Num, "0", "Cash at the start."),
        opt(
            "min_cash_usd",
            Ty::Num,
            "0",
            "Cash is never allowed below this: the credit line, then the backstop, fill the gap.",
        ),
        opt(
            "rounds",
            Ty::Tables(&ROUND),
            "none",
            "Scheduled funding rounds.",
        ),
        opt(
            "revenue_shares",
            Ty::Tables(&REVENUE_SHARE),
            "none",
            "Shares of revenue paid to partners.",
        ),
        opt(
            "vendor_investments",
            Ty::Tables(&VENDOR_INVESTMENT),
            "none",
            "Vendor investment tied to capacity delivered.",
        ),
        opt("credit_limit_usd", Ty::Num, "0", "Credit line limit."),
        opt(
            "credit_rate_per_year",
            Ty::Num,
            "0.08",
            "Interest on the credit line.",
        ),
        opt(
            "backstop_rate_per_year",
            Ty::Num,
            "0.12",
            "Interest on backstop loans.",
        ),
        opt(
            "non_compute_opex_usd_per_month",
            Ty::Uncertain,
            "0",
            "Costs outside compute in the first month (staff, sales, offices).",
        ),
        opt(
            "non_compute_opex_growth_per_year",
            Ty::Num,
            "0",
            "Yearly growth of those costs.",
        ),
        opt(
            "it_depreciation_years",
            Ty::Num,
            "5",
            "Depreciation life of accelerators.",
        ),
        opt(
            "facility_depreciation_years",
            Ty::Num,
            "15",
            "Depreciation life of facilities.",
        ),
    ],
};

static COMMITMENT: TableSpec = TableSpec {
    name: "commitment",
    doc: "An option taken at a month. Size with `mw` for build options and `h100e` for lease and buy options.",
    fields: &[
        req("option", Ty::Str, "Option name."),
        req("month", Ty::Month, "Month committed."),
        opt("mw", Ty::Num, "", "Size, MW (build)."),
        opt("h100e", Ty::Num, "", "Size, H100e (lease, buy)."),
        opt(
            "project",
            Ty::Str,
            "its option",
            "Project it belongs to, for `gigawatt rank`: commitments with the same project are dropped or added together.",
        ),
    ],
};

/// Rule kind names.
pub const RULE_KINDS: &[&str] = &["forecast", "refresh", "cancel", "affine"];

static RULE: TableSpec = TableSpec {
    name: "rule",
    doc: "Every `every_months`, commit enough of `option` that capacity at lead time covers the `percentile_pu` forecast \
          of compute demand (product plus research floor) times (1 + `headroom_pu`); the forecast uses only what has happened so far. \
          With `kind = \"refresh\"` (fleet refresh), commit instead what replaces the planned capacity that would retire or end its lease \
          between now and the option's arrival, at the option's generation, price and lead time: give one refresh rule per generation \
          with its `from`/`until` to refresh with the then-current one. With `kind = \"cancel\"` on a lease option that can be \
          cancelled (`cancel_notice_months` > 0), cancel its leases (latest-ending first) by as much as planned capacity after the \
          notice exceeds the same forecast need, paying `cancel_fee_pu` of the payments cancelled. With `kind = \"affine\"` (a linear \
          decision rule, what `plan` finds by default), commit max(0, `intercept` + `slope` × ln(D / `centre_h100e`)) at each decision \
          month, D being the product compute demand observed the month before, not rounded to blocks.",
    fields: &[
        req("option", Ty::Str, "Option to commit."),
        opt("kind", Ty::Enum(RULE_KINDS), "forecast", "forecast: cover the demand forecast; refresh: replace retiring capacity; cancel: cancel leases beyond the forecast need; affine: a linear decision rule in observed demand."),
        opt("every_months", Ty::Int, "3", "Months between decisions."),
        opt("from", Ty::Month, "option's commit_from", "First decision month."),
        opt("until", Ty::Month, "option's commit_until", "Last decision month."),
        opt("percentile_pu", Ty::Num, "0.5", "Forecast percentile to cover."),
        opt("headroom_pu", Ty::Num, "0", "Margin on top of the forecast."),
        opt("max_per_decision", Ty::Num, "0 (no limit)", "Largest single commitment, in the option's unit."),
        opt("intercept", Ty::Num, "0", "affine: what it commits when observed demand is at `centre_h100e`, in the option's unit (may be negative: nothing is committed below zero)."),
        opt("slope", Ty::Num, "0", "affine: extra commitment per unit of ln(D / centre), in the option's unit (slope × 0.0953 per 10 % more demand)."),
        opt("centre_h100e", Ty::Num, "1", "affine: product compute demand (H100e, the month before the decision) at which it commits `intercept`."),
    ],
};

static PLAN: TableSpec = TableSpec {
    name: "plan",
    doc: "A named plan: fixed commitments and rules.",
    fields: &[
        req("name", Ty::Str, "Unique name."),
        opt("description", Ty::Str, "", "What the plan is."),
        opt(
            "commitments",
            Ty::Tables(&COMMITMENT),
            "none",
            "Fixed commitments.",
        ),
        opt("rules", Ty::Tables(&RULE), "none", "Rules."),
    ],
};

static CASE: TableSpec = TableSpec {
    name: "case",
    doc: "A named discrete case with a probability; named inputs take the given values, the others their medians.",
    fields: &[
        req("name", Ty::Str, "Unique name."),
        req("probability_pu", Ty::Num, "Probability; all cases sum to 1."),
        opt("values", Ty::NumMap, "none", "Values of named inputs, by `id`."),
    ],
};

static GROUP: TableSpec = TableSpec {
    name: "group",
    doc: "Inputs that sensitivity analyses (`sensitivity --sobol`) treat as one factor: all of a segment's growth inputs, say.",
    fields: &[
        req("name", Ty::Str, "Unique name."),
        req("inputs", Ty::StrArray, "Its inputs, by `id` or field path; each input in at most one group."),
    ],
};

/// Event kind names, in [`gigawatt_model::EventKind::ALL`] order.
pub const EVENT_KINDS: &[&str] = &[
    "efficiency",
    "price_war",
    "supply_shock",
    "power_delay",
    "funding_freeze",
];

static EVENT: TableSpec = TableSpec {
    name: "event",
    doc: "An event on a driver other than demand, which may happen once in a month drawn uniformly in its window \
          (keyed by its name, like a launch: adding one leaves every other draw unchanged). Kinds: \
          `efficiency` (compute per unit of `segments` falls by `share_pu` from then on), \
          `price_war` (the prices of `segments` fall by `share_pu` from then on), \
          `supply_shock` (deliveries of `generations` due within `duration_months` of its start arrive `delay_months` later), \
          `power_delay` (the same for the build options `options`: sites), \
          `funding_freeze` (funding rounds due within `duration_months` of its start fail and the credit line lends nothing new).",
    fields: &[
        req("name", Ty::Str, "Unique name among events and launches."),
        req("kind", Ty::Enum(EVENT_KINDS), "What it acts on."),
        req("window_start", Ty::Month, "First month it can start."),
        req("window_end", Ty::Month, "Last month it can start."),
        opt("probability_pu", Ty::Num, "1", "Probability it happens at all."),
        opt("share_pu", Ty::Uncertain, "0", "efficiency, price_war: the share by which compute per unit or price falls (0.3: by 30 %)."),
        opt("segments", Ty::StrArray, "all", "efficiency, price_war: segments hit."),
        opt("generations", Ty::StrArray, "all", "supply_shock: generations whose deliveries slip."),
        opt("options", Ty::StrArray, "all builds", "power_delay: build options (sites) whose deliveries slip."),
        opt("delay_months", Ty::Uncertain, "0", "supply_shock, power_delay: how much later a delivery arrives, months."),
        opt("duration_months", Ty::Int, "0", "supply_shock, power_delay, funding_freeze: months from its start in which deliveries due, rounds due or credit asked for are hit."),
    ],
};

/// The root of a scenario file.
pub static ROOT: TableSpec = TableSpec {
    name: "scenario",
    doc: "A gigawatt scenario file, format version 1.",
    fields: &[
        req("format_version", Ty::Int, "Format version; must be 1."),
        opt("name", Ty::Str, "file name", "Human-readable name."),
        req("horizon", Ty::Table(&HORIZON), "Months simulated."),
        opt(
            "discount_rate_per_year",
            Ty::Num,
            "0.08",
            "Annual discount rate for NPV.",
        ),
        opt(
            "simulation",
            Ty::Table(&SIMULATION),
            "",
            "Sampling settings.",
        ),
        opt(
            "correlations",
            Ty::Tables(&CORRELATION),
            "none",
            "Rank correlations between named inputs.",
        ),
        req("segments", Ty::Tables(&SEGMENT), "Demand segments."),
        opt(
            "load_blocks",
            Ty::Tables(&LOAD_BLOCK),
            "one flat block",
            "Intra-month load blocks.",
        ),
        opt("research", Ty::Table(&RESEARCH), "", "Research compute."),
        opt(
            "generations",
            Ty::Tables(&GENERATION),
            "none",
            "Accelerator generations.",
        ),
        opt(
            "fleet",
            Ty::Tables(&FLEET),
            "none",
            "Installed accelerators.",
        ),
        opt("power", Ty::Table(&POWER), "", "Physical limits."),
        opt("options", Ty::Tables(&OPTION), "none", "Capacity options."),
        opt(
            "allocation",
            Ty::Table(&ALLOCATION),
            "",
            "Allocation order.",
        ),
        opt("finance", Ty::Table(&FINANCE), "", "Finance."),
        opt("plans", Ty::Tables(&PLAN), "none", "Named plans."),
        opt("cases", Ty::Tables(&CASE), "none", "Named discrete cases."),
        opt(
            "groups",
            Ty::Tables(&GROUP),
            "one factor per input",
            "Groups of inputs analysed as one factor.",
        ),
        opt(
            "events",
            Ty::Tables(&EVENT),
            "none",
            "Events on drivers other than demand.",
        ),
        opt(
            "pools",
            Ty::Tables(&POOL),
            "one pool serving everything",
            "Capacity pools dispatched by cost.",
        ),
    ],
};

/// Every table spec reachable from the root, in document order, each once.
pub fn all_tables() -> Vec<&'static TableSpec> {
    fn walk(t: &'static TableSpec, out: &mut Vec<&'static TableSpec>) {
        if out.iter().any(|x| std::ptr::eq(*x, t)) {
            return;
        }
        out.push(t);
        for f in t.fields {
            match f.ty {
                Ty::Table(s) | Ty::Tables(s) => walk(s, out),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(&ROOT, &mut out);
    out.push(&UNCERTAIN);
    out
}

/// The range `check` accepts for a number, stated once for the JSON Schema and the reference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// Greater than zero.
    Positive,
    /// Zero or more.
    NonNegative,
    /// A share: 0 to 1 inclusive.
    Share,
    /// Strictly between 0 and 1.
    OpenShare,
    /// Years of life or depreciation: greater than zero, at most `MAX_YEARS`.
    Years,
    /// Whole months: at most `MAX_MONTHS`.
    Months,
}

impl Bound {
    /// (minimum, exclusive?, maximum, exclusive?) of the range.
    pub fn range(self) -> (f64, bool, f64, bool) {
        use gigawatt_model::{MAX_MONTHS, MAX_YEARS};
        let big = crate::reader::MAX_MAGNITUDE;
        match self {
            Bound::Positive => (0.0, true, big, false),
            Bound::NonNegative => (0.0, false, big, false),
            Bound::Share => (0.0, false, 1.0, false),
            Bound::OpenShare => (0.0, true, 1.0, true),
            Bound::Years => (0.0, true, MAX_YEARS, false),
            Bound::Months => (0.0, false, MAX_MONTHS, false),
        }
    }
}

/// Bounds of plain-number fields, by (table, field). `check` enforces each (a test replaces
/// every such value in the examples with one just outside its range and expects an error there),
/// and the JSON Schema states them.
pub const BOUNDS: &[(&str, &str, Bound)] = &[
    ("segment", "churn_share_pu", Bound::Share),
    ("launch", "probability_pu", Bound::Share),
    ("launch", "decay_half_life_months", Bound::Positive),
    ("load_block", "hours_pu", Bound::Positive),
    ("load_block", "demand_factor", Bound::NonNegative),
    ("research", "floor_h100e", Bound::NonNegative),
    ("research", "floor_share_pu", Bound::Share),
    ("research", "quality_lag_months", Bound::Months),
    ("training_run", "size_h100e_months", Bound::Positive),
    ("training_run", "max_h100e", Bound::NonNegative),
    ("training_run", "min_cluster_h100e", Bound::NonNegative),
    ("pool", "use_fee_usd_per_h100e_hour", Bound::NonNegative),
    ("pool", "idle_power_share_pu", Bound::Share),
    ("generation", "h100e_per_unit", Bound::Positive),
    ("generation", "kw_per_unit", Bound::Positive),
    ("generation", "life_years", Bound::Years),
    ("fleet_entry", "units", Bound::Positive),
    ("power", "existing_powered_mw", Bound::NonNegative),
    ("power", "max_total_mw", Bound::NonNegative),
    ("option", "block_mw", Bound::Positive),
    ("option", "block_h100e", Bound::Positive),
    ("option", "max_mw", Bound::NonNegative),
    ("option", "max_h100e", Bound::NonNegative),
    ("option", "delay_probability_pu", Bound::Share),
    ("option", "opex_usd_per_mw_year", Bound::NonNegative),
    ("option", "life_years", Bound::Years),
    ("option", "term_months", Bound::Months),
    ("option", "cancel_notice_months", Bound::Months),
    ("option", "residual_value_pu", Bound::Share),
    ("option", "cancel_fee_pu", Bound::Share),
    ("finance", "min_cash_usd", Bound::NonNegative),
    ("finance", "credit_limit_usd", Bound::NonNegative),
    ("finance", "it_depreciation_years", Bound::Years),
    ("funding_round", "probability_pu", Bound::Share),
    ("rule", "headroom_pu", Bound::NonNegative),
    ("rule", "max_per_decision", Bound::NonNegative),
    ("rule", "percentile_pu", Bound::OpenShare),
    ("case", "probability_pu", Bound::Share),
    ("simulation", "capacity_drop_warning_pu", Bound::Share),
    ("option", "financed_share_pu", Bound::Share),
    ("option", "financing_rate_per_year", Bound::NonNegative),
    ("option", "financing_term_months", Bound::Months),
    ("revenue_share", "share_pu", Bound::Share),
    ("vendor_investment", "usd_per_h100e", Bound::NonNegative),
    ("vendor_investment", "max_usd", Bound::NonNegative),
    (
        "vendor_investment",
        "warrants_usd_per_h100e",
        Bound::NonNegative,
    ),
    ("event", "probability_pu", Bound::Share),
    ("event", "duration_months", Bound::Months),
];

/// The bound of `field` in `table`, if it has one.
pub fn bound(table: &str, field: &str) -> Option<Bound> {
    BOUNDS
        .iter()
        .find(|(t, f, _)| *t == table && *f == field)
        .map(|b| b.2)
}
