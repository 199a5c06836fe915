//! The capacity-planning programme: which options to commit, when and how much.
//!
//! Scenarios are simulator paths: the same draws, the same lead times for a commitment, the
//! same accounting (via [`Engine::unit_effect`] and [`Engine::path_view`]). Stages:
//!
//! | stage | decisions | same on every path? |
//! |---|---|---|
//! | first (months before `window_months`) | commitments, every `period_months` | yes; whole blocks are integers |
//! | recourse (later months) | commitments, every `period_months` | per path (two-stage), or per node of a scenario tree (multistage) |
//! | operations (every month) | served demand per segment and load block, burst | per path |
//!
//! Capacity is a state that accumulates arrivals and retirements
//! (K_t − K_{t−1} = fleet change + Σ unit capacity change × commitment), so a commitment adds
//! two non-zeros per path, not one per month it is online.
//!
//! **Limitations** (measured by out-of-sample simulation, which has them): scarce capacity goes
//! to the segments worth most per H100e, where the simulator follows the configured priority
//! order (give valuable segments high priority to align them); churn only when
//! [`CapacitySettings::churn`] is set (exact, but slower); no quality feedback; research runs
//! beyond the floor are not modelled; a buy option must find free powered space the month it
//! arrives (the simulator lets it wait); credit-line interest and the backstop are not in the
//! objective (NPV excludes financing); recourse commitments are continuous; lead times are
//! those of the sampled paths.

use std::time::Instant;

use gigawatt_lp::Sense;
use gigawatt_model::{Commitment, Month, OptionKind, Plan, ValidScenario};
use gigawatt_sim::{Draws, Engine, OptionInfo, Scratch, BLOCK};

use crate::two_stage::{Ref, Risk, RowDef, ScenarioDef, TwoStage, VarDef};

const INF: f64 = f64::INFINITY;

/// The programme's unit of money: values and cash rows are in millions of USD.
pub const MONEY_UNIT_USD: f64 = 1e6;

/// What to optimise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Objective {
    /// Maximise expected NPV (minus λ · CVaR of NPV loss when risk-averse).
    Npv(Risk),
    /// Minimise expected cost subject to serving at least this share of product demand on
    /// every path.
    Cost {
        /// Minimum served share of demand on each path.
        service_level: f64,
        /// Risk attitude toward cost.
        risk: Risk,
    },
}

/// How the programme is built.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacitySettings {
    /// Number of scenarios (paths).
    pub paths: u64,
    /// Seed of the paths.
    pub seed: u64,
    /// Commitments before this month index are first stage.
    pub window_months: i32,
    /// Commitments may be made every this many months.
    pub period_months: i32,
    /// Allow commitments after the window (recourse).
    pub recourse: bool,
    /// Scenario tree: split each node into this many children at every stage boundary.
    pub branching: Option<usize>,
    /// Months per stage of the scenario tree.
    pub stage_months: i32,
    /// Objective.
    pub objective: Objective,
    /// Most capex in any calendar year on any path.
    pub budget_usd_per_year: Option<f64>,
    /// Most the backstop may lend on any path: cash (before interest) never falls below
    /// min cash − credit limit − this.
    pub max_funding_gap_usd: Option<f64>,
    /// Use the scenario's named cases (with their probabilities) instead of sampled paths.
    pub cases: bool,
    /// Model churn: unserved demand shrinks later demand exactly as the simulator does
    /// (a linear state per segment). Off (the default), the programme treats demand as
    /// exogenous; on, it is exact but solves many times slower (months become coupled).
    pub churn: bool,
    /// First-stage decisions held at a value: (option index, month index, variable value in
    /// blocks, or option units without blocks). Used to find the best fixed continuation of a
    /// two-stage plan's first stage.
    pub pinned: Vec<(usize, i32, f64)>,
    /// First-stage decisions from this month index on are continuous even for options with
    /// blocks (the plan rounds them to blocks); earlier ones are whole blocks.
    pub integer_until_month: i32,
}

impl CapacitySettings {
    /// Defaults: two-stage, first year as the window, quarterly commitments, risk-neutral NPV.
    pub fn new(paths: u64, seed: u64) -> CapacitySettings {
        CapacitySettings {
            paths,
            seed,
            window_months: 12,
            period_months: 3,
            recourse: true,
            branching: None,
            stage_months: 12,
            objective: Objective::Npv(Risk::Neutral),
            budget_usd_per_year: None,
            max_funding_gap_usd: None,
            cases: false,
            churn: false,
            pinned: Vec::new(),
            integer_until_month: i32::MAX,
        }
    }
}

/// A commitment decision in the programme.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// Option index.
    pub option: usize,
    /// Month index.
    pub month: i32,
    /// Option units per unit of the variable (the block size, or 1).
    pub unit: f64,
}

/// The built programme and how to read its solution back.
#[derive(Debug, Clone)]
pub struct CapacityModel {
    /// The programme.
    pub program: TwoStage,
    /// First-stage decisions (one per first-stage variable).
    pub first: Vec<Decision>,
    /// Shared (tree-node) recourse decisions, one per shared variable.
    pub shared: Vec<Decision>,
    /// Own recourse decisions of each scenario: (own variable index, decision).
    pub own: Vec<Vec<(usize, Decision)>>,
    /// Options.
    pub options: Vec<OptionInfo>,
    /// Horizon start.
    pub start: Month,
    /// Seconds to draw the paths and build the programme.
    pub build_seconds: f64,
}

/// Churn as the simulator applies it, which is linear: with m the demand multiplier (1 at the
/// start), each month m' = (1 − c)·m + c·served / D, where D is the segment's demand before
/// churn and served counts every block's H100e-months (hours-weighted). The state is kept in
/// H100e, M = D·m, so every coefficient is of order one:
/// M_{t+1} − (1 − c)·(D_{t+1}/D_t)·M_t − c·(D_{t+1}/D_t)·served_t = 0, and served demand in
/// each block stays within factor · M_t. Segments without churn keep their fixed bounds.
fn churn_rows(
    sd: &mut ScenarioDef,
    v: &gigawatt_sim::PathView,
    churn: &[f64],
    blocks: &[(f64, Vec<f64>)],
    served_ids: &[usize],
    start: Month,
) {
    let t_len = v.fleet_h100e.len();
    let ns = churn.len();
    for (seg, &c) in churn.iter().enumerate() {
        if c <= 0.0 {
            continue;
        }
        let demand = &v.demand_h100e[seg];
        let m0 = sd.vars.len();
        for (t, d) in demand.iter().enumerate() {
            let d = d.max(0.0);
            sd.vars.push(VarDef::new(
                format!("demand_left[{seg},{}]", start.plus(t as i32)),
                if t == 0 { d } else { 0.0 },
                d,
            ));
        }
        for t in 0..t_len {
            let month = start.plus(t as i32);
            for (b, (_, factors)) in blocks.iter().enumerate() {
                let j = served_ids[(b * t_len + t) * ns + seg];
                sd.rows.push(RowDef {
                    name: format!("demand[{seg},{month},block{b}]"),
                    lower: -INF,
                    upper: 0.0,
                    terms: vec![(Ref::Own(j), 1.0), (Ref::Own(m0 + t), -factors[seg])],
                    limit: false,
                });
            }
            if t + 1 == t_len {
                continue;
            }
            let mut terms = vec![(Ref::Own(m0 + t + 1), 1.0)];
            if demand[t] > 0.0 {
                let growth = demand[t + 1].max(0.0) / demand[t];
                terms.push((Ref::Own(m0 + t), -(1.0 - c) * growth));
                for (b, (hours, _)) in blocks.iter().enumerate() {
                    let j = served_ids[(b * t_len + t) * ns + seg];
                    terms.push((Ref::Own(j), -c * hours * growth));
                }
            }
            // With no demand this month, nothing churns: the multiplier carries over, and the
            // state (in H100e) restarts from the next month's demand at that multiplier, which
            // the model cannot see; treat it as untouched by churn (M_{t+1} free up to D).
            sd.rows.push(RowDef {
                name: format!("churn[{seg},{month}]"),
                lower: if demand[t] > 0.0 { 0.0 } else { -INF },
                upper: if demand[t] > 0.0 { 0.0 } else { INF },
                terms,
                limit: false,
            });
        }
    }
}

fn decision_months(o: &OptionInfo, months: i32, period: i32) -> Vec<i32> {
    let (from, until) = o.commit_window;
    (0..months)
        .filter(|t| *t >= from.max(0) && *t <= until && t % period.max(1) == 0)
        .collect()
}

/// Assigns each scenario a node at each stage by recursive quantile splits of its total
/// product demand at the stage boundary. Returns node ids per stage (stage 0 = root).
fn tree_nodes(
    demand_at: &dyn Fn(usize, usize) -> f64,
    scenarios: usize,
    boundaries: &[usize],
    branching: usize,
) -> Vec<Vec<usize>> {
    let mut levels = vec![vec![0usize; scenarios]];
    let mut next_id = 1;
    for &m in boundaries {
        let prev = levels.last().expect("root").clone();
        let mut level = vec![0usize; scenarios];
        let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for (s, node) in prev.iter().enumerate() {
            groups.entry(*node).or_default().push(s);
        }
        for (_, mut members) in groups {
            members.sort_by(|a, b| demand_at(*a, m).total_cmp(&demand_at(*b, m)).then(a.cmp(b)));
            let k = branching.min(members.len()).max(1);
            for (i, s) in members.iter().enumerate() {
                level[*s] = next_id + i * k / members.len();
            }
            next_id += k;
        }
        levels.push(level);
    }
    levels
}

/// Builds the programme for scenario `sc` with the simulator `engine` (compiled with the same
/// paths and seed).
pub fn build(
    sc: &ValidScenario,
    engine: &Engine,
    set: &CapacitySettings,
) -> Result<CapacityModel, String> {
    let started = Instant::now();
    let t_len = engine.months;
    let months = t_len as i32;
    let options = engine.option_info();
    let (avail, floor_h, floor_share, existing_mw, max_total_mw) = engine.limits();
    let blocks = engine.load_blocks();
    let ns = engine.num_segments();
    let churn = engine.churn_shares();
    let disc_m = engine.monthly_discount();
    let disc: Vec<f64> = (0..t_len).map(|t| disc_m.powi(-(t as i32 + 1))).collect();
    let disc_end = disc_m.powi(-months);
    let maximize = matches!(set.objective, Objective::Npv(_));

    // Decisions.
    let mut first = Vec::new();
    let mut later: Vec<Decision> = Vec::new();
    for (oi, o) in options.iter().enumerate() {
        if o.kind == OptionKind::Burst {
            continue;
        }
        for c in decision_months(o, months, set.period_months) {
            let d = Decision {
                option: oi,
                month: c,
                unit: o.block.unwrap_or(1.0),
            };
            if c < set.window_months {
                first.push(d);
            } else if set.recourse {
                later.push(d);
            }
        }
    }
    let first_vars: Vec<VarDef> = first
        .iter()
        .map(|d| {
            let o = &options[d.option];
            let upper = if o.max_total.is_finite() {
                (o.max_total / d.unit).floor()
            } else {
                INF
            };
            let pin = set
                .pinned
                .iter()
                .find(|(oi, m, _)| *oi == d.option && *m == d.month)
                .map(|p| p.2);
            VarDef {
                name: format!("commit[{},{}]", o.name, sc.horizon.start.plus(d.month)),
                lower: pin.unwrap_or(0.0),
                upper: pin.unwrap_or(upper),
                integer: o.block.is_some() && d.month < set.integer_until_month,
            }
        })
        .collect();

    // Draw every path once (blocks as the simulator cuts them, so draws match), or the cases.
    let mut views = Vec::new();
    let mut draws_all: Vec<Draws> = Vec::new();
    let mut probs: Vec<f64> = Vec::new();
    let mut scratch = Scratch::default();
    if set.cases {
        if sc.cases.is_empty() {
            return Err("the scenario has no [[cases]] to optimise over".into());
        }
        for (i, case) in sc.cases.iter().enumerate() {
            let mut d = Draws::default();
            engine.draw_case(i as u64, &case.values, &mut d)?;
            views.push(engine.path_view(&d, &mut scratch));
            draws_all.push(d);
            probs.push(case.probability_pu);
        }
    } else {
        let n = set.paths as usize;
        for b in 0..(n as u64).div_ceil(BLOCK) {
            let first_path = b * BLOCK;
            let len = BLOCK.min(n as u64 - first_path) as usize;
            let (u, _) = engine.block_uniforms(first_path, len);
            for (i, row) in u.iter().enumerate() {
                let mut d = Draws::default();
                engine.draw(first_path + i as u64, row, &mut d);
                views.push(engine.path_view(&d, &mut scratch));
                draws_all.push(d);
                probs.push(1.0 / n as f64);
            }
        }
    }
    let n = views.len();

    // Scenario tree for multistage recourse.
    let boundaries: Vec<usize> = match set.branching {
        Some(_) => (0..)
            .map(|k| set.window_months + k * set.stage_months.max(1))
            .take_while(|m| *m < months)
            .map(|m| m as usize)
            .collect(),
        None => Vec::new(),
    };
    let demand_at = |s: usize, m: usize| -> f64 {
        views[s]
            .demand_h100e
            .iter()
            .map(|d| d[m.saturating_sub(1)])
            .sum()
    };
    let levels = set
        .branching
        .map(|b| tree_nodes(&demand_at, n, &boundaries, b));
    let mut shared: Vec<Decision> = Vec::new();
    let mut shared_vars: Vec<VarDef> = Vec::new();
    let mut shared_index: std::collections::HashMap<(usize, i32, usize), usize> =
        Default::default();

    let mut scenarios = Vec::with_capacity(n);
    let mut own_all = Vec::with_capacity(n);
    for s in 0..n {
        let v = &views[s];
        let d = &draws_all[s];
        let mut sd = ScenarioDef {
            prob: probs[s],
            ..Default::default()
        };
        let add_var = |sd: &mut ScenarioDef, def: VarDef| -> usize {
            sd.vars.push(def);
            sd.vars.len() - 1
        };
        // Decision references for this scenario.
        let mut decs: Vec<(Ref, Decision)> = first
            .iter()
            .enumerate()
            .map(|(i, d)| (Ref::First(i), *d))
            .collect();
        let mut own = Vec::new();
        for dec in &later {
            let o = &options[dec.option];
            let r = match &levels {
                Some(levels) => {
                    let stage = boundaries
                        .iter()
                        .rposition(|b| (dec.month as usize) >= *b)
                        .map_or(0, |k| k + 1);
                    let node = levels[stage][s];
                    let idx = *shared_index
                        .entry((dec.option, dec.month, node))
                        .or_insert_with(|| {
                            shared.push(*dec);
                            shared_vars.push(VarDef::new(
                                format!(
                                    "commit[{},{},node{node}]",
                                    o.name,
                                    sc.horizon.start.plus(dec.month)
                                ),
                                0.0,
                                INF,
                            ));
                            shared_vars.len() - 1
                        });
                    Ref::Shared(idx)
                }
                None => {
                    let j = add_var(
                        &mut sd,
                        VarDef::new(
                            format!("commit[{},{}]", o.name, sc.horizon.start.plus(dec.month)),
                            0.0,
                            INF,
                        ),
                    );
                    own.push((j, *dec));
                    Ref::Own(j)
                }
            };
            decs.push((r, *dec));
        }
        // Capacity state K_t.
        let k0 = sd.vars.len();
        for t in 0..t_len {
            add_var(
                &mut sd,
                VarDef::new(
                    format!("capacity[{}]", sc.horizon.start.plus(t as i32)),
                    0.0,
                    INF,
                ),
            );
        }
        let mut state_rows: Vec<RowDef> = (0..t_len)
            .map(|t| {
                let delta = v.fleet_h100e[t] - if t > 0 { v.fleet_h100e[t - 1] } else { 0.0 };
                let mut terms = vec![(Ref::Own(k0 + t), 1.0)];
                if t > 0 {
                    terms.push((Ref::Own(k0 + t - 1), -1.0));
                }
                RowDef {
                    name: format!("state[{}]", sc.horizon.start.plus(t as i32)),
                    lower: delta,
                    upper: delta,
                    terms,
                    limit: false,
                }
            })
            .collect();
        // Decision effects: capacity deltas into the state rows, cash into the objective.
        // Powered space, when something needs it: net use N_t (a state like capacity) stays
        // within the existing space. Builds bring their own space.
        let needs_space = decs
            .iter()
            .any(|(_, d)| options[d.option].kind == OptionKind::Buy);
        let n0 = sd.vars.len();
        let mut space_rows: Vec<RowDef> = Vec::new();
        if needs_space {
            for t in 0..t_len {
                add_var(
                    &mut sd,
                    VarDef::new(
                        format!("space_used[{}]", sc.horizon.start.plus(t as i32)),
                        f64::NEG_INFINITY,
                        existing_mw,
                    ),
                );
                let delta = v.fleet_used_mw[t] - if t > 0 { v.fleet_used_mw[t - 1] } else { 0.0 };
                let mut terms = vec![(Ref::Own(n0 + t), 1.0)];
                if t > 0 {
                    terms.push((Ref::Own(n0 + t - 1), -1.0));
                }
                space_rows.push(RowDef {
                    name: format!("space[{}]", sc.horizon.start.plus(t as i32)),
                    lower: delta,
                    upper: delta,
                    terms,
                    limit: false,
                });
            }
        }
        // Cash (funding limit): C_t − C_{t−1} − (revenue − burst − commitment cash) = funding − fixed.
        let mut cash_rows: Vec<RowDef> = Vec::new();
        if let Some(gap) = set.max_funding_gap_usd {
            let f = &sc.finance;
            let floor = f.min_cash_usd - f.credit_limit_usd - gap;
            for t in 0..t_len {
                let month = sc.horizon.start.plus(t as i32);
                let c = add_var(
                    &mut sd,
                    VarDef::new(format!("cash[{month}]"), f64::NEG_INFINITY, INF),
                );
                let rhs = v.funding_usd[t] - v.fixed_cost_usd[t]
                    + if t == 0 { f.starting_cash_usd } else { 0.0 };
                let mut terms = vec![(Ref::Own(c), 1.0)];
                if t > 0 {
                    terms.push((Ref::Own(c - 1), -1.0));
                }
                cash_rows.push(RowDef {
                    name: format!("cash[{month}]"),
                    lower: rhs,
                    upper: rhs,
                    terms,
                    limit: false,
                });
                cash_rows.push(RowDef {
                    name: format!("funding_gap[{month}]"),
                    lower: floor,
                    upper: INF,
                    terms: vec![(Ref::Own(c), 1.0)],
                    limit: true,
                });
            }
        }
        let mut capex_by_year: std::collections::BTreeMap<i32, Vec<(Ref, f64)>> =
            Default::default();
        for (r, dec) in &decs {
            let key = engine.commitment_key(dec.option, dec.month, 0);
            let e = engine.unit_effect(dec.option, dec.month, key, d, &mut scratch);
            for (t, dc) in &e.cap_delta {
                state_rows[*t].terms.push((*r, -dc * dec.unit));
            }
            if set.max_funding_gap_usd.is_some() {
                for (t, c) in &e.cash_out {
                    cash_rows[2 * t].terms.push((*r, c * dec.unit));
                }
            }
            if needs_space {
                for (t, dn) in &e.net_space_delta_mw {
                    space_rows[*t].terms.push((*r, -dn * dec.unit));
                }
            }
            let pv_cost: f64 = e.cash_out.iter().map(|(t, c)| disc[*t] * c).sum::<f64>()
                - disc_end * e.terminal_usd;
            let coef = if maximize { -pv_cost } else { pv_cost };
            sd.obj.push((*r, coef * dec.unit));
            if set.budget_usd_per_year.is_some() {
                for (t, c) in &e.capex {
                    let year = sc.horizon.start.plus(*t as i32).year();
                    capex_by_year
                        .entry(year)
                        .or_default()
                        .push((*r, c * dec.unit));
                }
            }
        }
        sd.rows.append(&mut state_rows);
        sd.rows.append(&mut space_rows);
        // Operations.
        let mut served_total: Vec<(Ref, f64)> = Vec::new();
        // served_ids[(b * t_len + t) * ns + seg]: the served variable of that block, month, segment.
        let mut served_ids = vec![0usize; blocks.len() * t_len * ns];
        for (b, (hours, factors)) in blocks.iter().enumerate() {
            for t in 0..t_len {
                let mut terms = Vec::new();
                for seg in 0..ns {
                    let ub = v.demand_h100e[seg][t] * factors[seg];
                    let j = add_var(
                        &mut sd,
                        VarDef::new(format!("served[{seg},{b},{t}]"), 0.0, ub.max(0.0)),
                    );
                    served_ids[(b * t_len + t) * ns + seg] = j;
                    terms.push((Ref::Own(j), 1.0));
                    served_total.push((Ref::Own(j), *hours));
                    if set.max_funding_gap_usd.is_some() {
                        cash_rows[2 * t]
                            .terms
                            .push((Ref::Own(j), -hours * v.revenue_per_h100e[seg][t]));
                    }
                    if maximize {
                        sd.obj
                            .push((Ref::Own(j), disc[t] * hours * v.revenue_per_h100e[seg][t]));
                    }
                }
                for (k, (cap, price)) in v.burst.iter().enumerate() {
                    let j = add_var(
                        &mut sd,
                        VarDef::new(format!("burst[{k},{b},{t}]"), 0.0, *cap),
                    );
                    terms.push((Ref::Own(j), -1.0));
                    if set.max_funding_gap_usd.is_some() {
                        cash_rows[2 * t].terms.push((Ref::Own(j), hours * price));
                    }
                    let c = disc[t] * hours * price;
                    sd.obj.push((Ref::Own(j), if maximize { -c } else { c }));
                }
                let month = sc.horizon.start.plus(t as i32);
                let mut cap_terms = terms.clone();
                cap_terms.push((Ref::Own(k0 + t), -avail));
                sd.rows.push(RowDef {
                    name: format!("floor[{month},block{b}]"),
                    lower: -INF,
                    upper: -floor_h,
                    terms: cap_terms,
                    limit: floor_h > 0.0,
                });
                if floor_share > 0.0 {
                    let mut share_terms = terms;
                    share_terms.push((Ref::Own(k0 + t), -(1.0 - floor_share) * avail));
                    sd.rows.push(RowDef {
                        name: format!("floor_share[{month},block{b}]"),
                        lower: -INF,
                        upper: 0.0,
                        terms: share_terms,
                        limit: false,
                    });
                }
            }
        }
        if set.churn {
            churn_rows(&mut sd, v, &churn, &blocks, &served_ids, sc.horizon.start);
        }
        // Limits that involve recourse are per path; first-stage-only ones go to first_rows below.
        if set.recourse {
            sd.rows.extend(total_limits(
                &decs,
                &options,
                max_total_mw - existing_mw,
                max_total_mw.is_finite(),
            ));
        }
        sd.rows.append(&mut cash_rows);
        if let Some(budget) = set.budget_usd_per_year {
            for (year, terms) in capex_by_year {
                sd.rows.push(RowDef {
                    name: format!("budget[{year}]"),
                    lower: -INF,
                    upper: budget,
                    terms,
                    limit: true,
                });
            }
        }
        let fixed: f64 = v
            .fixed_cost_usd
            .iter()
            .zip(&disc)
            .map(|(c, f)| c * f)
            .sum::<f64>()
            - disc_end * v.fleet_terminal_usd;
        sd.constant = if maximize { -fixed } else { fixed };
        if let Objective::Cost { service_level, .. } = set.objective {
            let demand: f64 = v.demand_h100e.iter().map(|d| d.iter().sum::<f64>()).sum();
            sd.rows.push(RowDef {
                name: "service_level".into(),
                lower: service_level * demand,
                upper: INF,
                terms: served_total,
                limit: true,
            });
        }
        // Money in the programme is in millions of USD: coefficients of 1e9-1e12 next to H100e
        // counts of 1e-3 would strain any solver's tolerances.
        for (_, c) in &mut sd.obj {
            *c /= MONEY_UNIT_USD;
        }
        sd.constant /= MONEY_UNIT_USD;
        for row in sd.rows.iter_mut().filter(|r| {
            r.name.starts_with("cash[")
                || r.name.starts_with("funding_gap[")
                || r.name.starts_with("budget[")
        }) {
            row.lower /= MONEY_UNIT_USD;
            row.upper /= MONEY_UNIT_USD;
            for (_, c) in &mut row.terms {
                *c /= MONEY_UNIT_USD;
            }
        }
        scenarios.push(sd);
        own_all.push(own);
    }
    let first_rows = if set.recourse {
        Vec::new()
    } else {
        let decs: Vec<(Ref, Decision)> = first
            .iter()
            .enumerate()
            .map(|(i, d)| (Ref::First(i), *d))
            .collect();
        total_limits(
            &decs,
            &options,
            max_total_mw - existing_mw,
            max_total_mw.is_finite(),
        )
    };
    let program = TwoStage {
        sense: if maximize {
            Sense::Maximize
        } else {
            Sense::Minimize
        },
        first: first_vars,
        first_rows,
        shared: shared_vars,
        scenarios,
    };
    Ok(CapacityModel {
        program,
        first,
        shared,
        own: own_all,
        options,
        start: sc.horizon.start,
        build_seconds: started.elapsed().as_secs_f64(),
    })
}

/// The unit a limit row is written in, in USD per unit, for rows in money (1 otherwise).
pub fn limit_unit_usd(limit: &str) -> f64 {
    if limit_unit_label(limit).0 == "USD" {
        MONEY_UNIT_USD
    } else {
        1.0
    }
}

/// The unit of a limit's bound and move, as printed (after [`limit_unit_usd`] scaling), and
/// what the limit is, in words.
pub fn limit_unit_label(limit: &str) -> (&'static str, &'static str) {
    if limit.starts_with("cash[") {
        ("USD", "cash floor (finance.min_cash_usd) in that month")
    } else if limit.starts_with("funding_gap[") {
        ("USD", "--max-funding-gap-usd in that month")
    } else if limit.starts_with("budget[") {
        ("USD", "--budget-usd-per-year for that year")
    } else if limit == "service_level" {
        (
            "H100e-months served",
            "--service-level share of all product demand, over the horizon",
        )
    } else if limit.starts_with("max_total[") {
        (
            "MW (build) or H100e (lease, buy)",
            "the option's max_mw / max_h100e over the horizon",
        )
    } else if limit == "power.max_total_mw" {
        ("MW", "power.max_total_mw less the existing powered space")
    } else if limit.starts_with("floor") {
        ("H100e", "the research floor in that month")
    } else {
        ("", "")
    }
}

/// Limits on totals committed: each option's `max_*`, and built MW against the power cap.
fn total_limits(
    decs: &[(Ref, Decision)],
    options: &[OptionInfo],
    mw_room: f64,
    mw_capped: bool,
) -> Vec<RowDef> {
    let row = |name: String, upper: f64, keep: &dyn Fn(&Decision) -> bool| {
        let terms: Vec<(Ref, f64)> = decs
            .iter()
            .filter(|(_, d)| keep(d))
            .map(|(r, d)| (*r, d.unit))
            .collect();
        (!terms.is_empty()).then_some(RowDef {
            name,
            lower: -INF,
            upper,
            terms,
            limit: true,
        })
    };
    let mut rows: Vec<RowDef> = options
        .iter()
        .enumerate()
        .filter(|(_, o)| o.max_total.is_finite())
        .filter_map(|(oi, o)| {
            row(format!("max_total[{}]", o.name), o.max_total, &|d| {
                d.option == oi
            })
        })
        .collect();
    if mw_capped {
        rows.extend(row("power.max_total_mw".into(), mw_room, &|d| {
            options[d.option].kind == OptionKind::Build
        }));
    }
    rows
}

/// Rounds an amount to the option's blocks (nearest), dropping dust.
fn rounded(amount: f64, block: Option<f64>) -> f64 {
    match block {
        Some(b) => (amount / b).round() * b,
        None if amount < 1e-6 => 0.0,
        None => amount,
    }
}

impl CapacityModel {
    /// Solves the programme; reported values are in USD.
    pub fn solve(
        &self,
        solver: &dyn gigawatt_lp::Solver,
        settings: &gigawatt_lp::SolverSettings,
        risk: Risk,
        fix_first: Option<&[f64]>,
    ) -> Result<crate::Solved, gigawatt_lp::Error> {
        let mut s = self.program.solve(solver, settings, risk, fix_first)?;
        s.unscale(MONEY_UNIT_USD);
        Ok(s)
    }

    /// Solves an extensive form already built from `self.program` with the same `risk`.
    pub fn solve_built(
        &self,
        problem: &gigawatt_lp::Problem,
        layout: crate::Layout,
        solver: &dyn gigawatt_lp::Solver,
        settings: &gigawatt_lp::SolverSettings,
        risk: Risk,
    ) -> Result<crate::Solved, gigawatt_lp::Error> {
        let mut s = self
            .program
            .solve_built(problem, layout, solver, settings, risk)?;
        s.unscale(MONEY_UNIT_USD);
        Ok(s)
    }

    /// EV, EEV, WS, VSS and EVPI in USD.
    pub fn value_of_information(
        &self,
        solver: &dyn gigawatt_lp::Solver,
        settings: &gigawatt_lp::SolverSettings,
    ) -> Result<Option<crate::ValueOfInformation>, gigawatt_lp::Error> {
        let k = MONEY_UNIT_USD;
        Ok(self
            .program
            .value_of_information(solver, settings)?
            .map(|v| crate::ValueOfInformation {
                rp: v.rp * k,
                ev: v.ev * k,
                eev: v.eev * k,
                ws: v.ws * k,
                vss: v.vss * k,
                evpi: v.evpi * k,
                eev_infeasible_scenarios: v.eev_infeasible_scenarios,
            }))
    }

    /// First-stage values of a solution as pins: (option, month, variable value), integers
    /// rounded so a pinned integer column stays integral.
    pub fn first_stage_pins(&self, x: &[f64], layout: &crate::Layout) -> Vec<(usize, i32, f64)> {
        self.first
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let v = x[layout.first[i].0 as usize].max(0.0);
                let v = if self.options[d.option].block.is_some() {
                    v.round()
                } else {
                    v
                };
                (d.option, d.month, v)
            })
            .collect()
    }

    /// The commitments of a solution, as an implementable plan: first-stage decisions as found,
    /// recourse decisions at their probability-weighted mean over paths (rounded to blocks).
    /// Returns the plan and, per commitment, whether it is first stage.
    pub fn plan(&self, name: &str, x: &[f64], layout: &crate::Layout) -> (Plan, Vec<bool>) {
        let mut amounts: std::collections::BTreeMap<(i32, usize), (f64, bool)> = Default::default();
        for (i, d) in self.first.iter().enumerate() {
            let v = x[layout.first[i].0 as usize] * d.unit;
            amounts.entry((d.month, d.option)).or_insert((0.0, true)).0 += v;
        }
        // A node's decision applies to the scenarios in that node: weight it by their
        // probability, summed in one pass over the scenarios (each counted once per node).
        let mut node_prob = vec![0.0; self.shared.len()];
        let mut seen = vec![usize::MAX; self.shared.len()];
        for (s, sc) in self.program.scenarios.iter().enumerate() {
            for (r, _) in &sc.obj {
                if let Ref::Shared(i) = *r {
                    if seen[i] != s {
                        seen[i] = s;
                        node_prob[i] += sc.prob;
                    }
                }
            }
        }
        for (i, d) in self.shared.iter().enumerate() {
            let v = x[layout.shared[i].0 as usize] * d.unit * node_prob[i];
            amounts.entry((d.month, d.option)).or_insert((0.0, false)).0 += v;
        }
        for (s, own) in self.own.iter().enumerate() {
            let p = self.program.scenarios[s].prob;
            for (j, d) in own {
                let v = x[layout.own[s][*j].0 as usize] * d.unit * p;
                amounts.entry((d.month, d.option)).or_insert((0.0, false)).0 += v;
            }
        }
        let mut commitments = Vec::new();
        let mut first_stage = Vec::new();
        for ((month, oi), (amount, is_first)) in amounts {
            let a = rounded(amount, self.options[oi].block);
            if a > 0.0 {
                commitments.push(Commitment {
                    option: self.options[oi].name.clone(),
                    month: self.start.plus(month),
                    amount: a,
                });
                first_stage.push(is_first);
            }
        }
        let description =
            "found by gigawatt plan: first-stage commitments, later ones at their mean over paths"
                .to_string();
        (
            Plan {
                name: name.to_string(),
                description,
                commitments,
                rules: Vec::new(),
            },
            first_stage,
        )
    }
}
