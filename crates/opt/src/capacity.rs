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
use gigawatt_sim::{affine_signal, Draws, Engine, OptionInfo, PathView, PoolInfo, Scratch, BLOCK};
use rayon::prelude::*;

use crate::two_stage::{Ref, Risk, RowDef, RowKind, ScenarioDef, TwoStage, VarDef};

const INF: f64 = f64::INFINITY;

/// The programme's unit of money: values and cash rows are in millions of USD.
pub const MONEY_UNIT_USD: f64 = 1e6;

/// The service-level row's scale: the whole of a path's product demand counts this much, so a
/// share s of it is s × this (the row stays in the tens, whatever the demand's size).
pub const SERVICE_ROW_SCALE: f64 = 100.0;

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
    /// Recourse as an implementable policy: each later commitment is an affine function of
    /// the product compute demand observed the month before, with intercept and slope shared by
    /// every path (a linear decision rule the simulator runs as `kind = "affine"`). Off, later
    /// commitments are chosen per path with that path's whole future in view (clairvoyant: an
    /// upper bound no plan can reach). Ignored with a scenario tree.
    pub affine: bool,
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
            affine: true,
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

/// A later commitment as a linear decision rule: on path s it commits
/// u · max(0, a + b · ξ_s) (the programme keeps it non-negative on its own paths), with
/// ξ_s = ln(D_s / centre) and D_s the product compute demand of the month before.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AffineDecision {
    /// The decision (option, month, unit).
    pub decision: Decision,
    /// Probability-weighted geometric mean over the programme's paths of the demand observed,
    /// H100e.
    pub centre_h100e: f64,
    /// Shared-variable indices of the intercept a and the slope b.
    pub intercept: usize,
    /// See `intercept`.
    pub slope: usize,
}

/// The decisions of a solution that a plan carries to other paths (see
/// [`CapacityModel::candidate`]), in the programme's units.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// First-stage values.
    pub first: Vec<f64>,
    /// Per [`CapacityModel::affine`] rule: intercept, slope and the demand it is centred on,
    /// H100e.
    pub rules: Vec<(f64, f64, f64)>,
}

/// A candidate carried out on a programme's paths ([`CapacityModel::evaluate_candidate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateValues {
    /// Each path's value, USD (NaN where it cannot be carried out).
    pub values: Vec<f64>,
    /// The programme's objective over the paths (mean, less or plus λ · CVaR), USD; None when
    /// some path cannot carry the candidate out.
    pub objective_usd: Option<f64>,
    /// Paths on which the candidate has no feasible completion.
    pub infeasible: usize,
    /// On the first such path, the programme's limits that would have to move (empty when
    /// none is to blame, or every path is feasible).
    pub limits_broken: Vec<String>,
    /// Rule commitments, over all paths, cut below the rule's a + b · ξ (at zero, or to the
    /// room left): where the plan's policy leaves the programme's affine class.
    pub rules_cut: usize,
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
    /// Later decisions as linear decision rules (with [`CapacitySettings::affine`]).
    pub affine: Vec<AffineDecision>,
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
    v: &PathView,
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
                    name: format!("demand[{seg},{month},block{b}]").into(),
                    kind: RowKind::Demand,
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
                name: format!("churn[{seg},{month}]").into(),
                kind: RowKind::Churn,
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
/// paths and seed): decisions, then per scenario the capacity and space states, cash, the
/// decisions' effects, operations, churn and limits, each written by one function of
/// [`Builder`].
pub fn build(
    sc: &ValidScenario,
    engine: &Engine,
    set: &CapacitySettings,
) -> Result<CapacityModel, String> {
    let started = Instant::now();
    let bx = Builder::new(sc, engine, set);
    let (first, later) = bx.decisions();
    let first_vars = bx.first_vars(&first);
    let mut scratch = Scratch::default();
    let paths = bx.draw_paths(&mut scratch)?;
    bx.check_pool_power(&paths.views)?;
    let tree = bx.tree(&paths.views);
    let mut shared = SharedDecisions::default();
    let affine = if set.affine && set.recourse && tree.levels.is_none() {
        bx.affine_decisions(&later, &paths, &mut shared)
    } else {
        Vec::new()
    };
    let n = paths.views.len();
    let fresh = |s: usize| ScenarioDef {
        prob: paths.probs[s],
        ..Default::default()
    };
    let (scenarios, own_all) = if !affine.is_empty() && n > 0 {
        // Paths are independent with linear decision rules: build them in parallel (the first
        // alone, as the template whose names the others share), gathered in path order.
        let one = |s: usize, scratch: &mut Scratch| {
            let mut sd = fresh(s);
            let decs = bx.affine_refs(&mut sd, &first, &affine, &paths.draws[s]);
            bx.scenario_rows(&mut sd, &decs, &paths.views[s], &paths.draws[s], scratch);
            sd
        };
        let template = one(0, &mut scratch);
        let rest: Vec<ScenarioDef> = (1..n)
            .into_par_iter()
            .map_init(Scratch::default, |scratch, s| {
                let mut sd = one(s, scratch);
                sd.share_names(&template);
                sd
            })
            .collect();
        let mut scenarios = Vec::with_capacity(n);
        scenarios.push(template);
        scenarios.extend(rest);
        (scenarios, vec![Vec::new(); n])
    } else {
        // Per-path or tree recourse: each path adds its decisions to the shared ones in turn.
        let mut scenarios: Vec<ScenarioDef> = Vec::with_capacity(n);
        let mut own_all = Vec::with_capacity(n);
        for s in 0..n {
            let mut sd = fresh(s);
            let (decs, own) = bx.decision_refs(s, &mut sd, &first, &later, &tree, &mut shared);
            bx.scenario_rows(
                &mut sd,
                &decs,
                &paths.views[s],
                &paths.draws[s],
                &mut scratch,
            );
            if let Some(template) = scenarios.first() {
                sd.share_names(template);
            }
            scenarios.push(sd);
            own_all.push(own);
        }
        (scenarios, own_all)
    };
    let first_rows = if set.recourse {
        Vec::new()
    } else {
        let decs = first_refs(&first);
        bx.total_limits(&decs)
    };
    let program = TwoStage {
        sense: if bx.maximize {
            Sense::Maximize
        } else {
            Sense::Minimize
        },
        first: first_vars,
        first_rows,
        shared: shared.vars,
        scenarios,
    };
    Ok(CapacityModel {
        program,
        first,
        shared: shared.decisions,
        own: own_all,
        affine,
        options: bx.options,
        start: sc.horizon.start,
        build_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Each decision as one scenario refers to it.
type DecisionRefs = Vec<(Ref, Decision)>;

/// The first-stage decisions, as every scenario refers to them.
fn first_refs(first: &[Decision]) -> DecisionRefs {
    first
        .iter()
        .enumerate()
        .map(|(i, d)| (Ref::First(i), *d))
        .collect()
}

/// The programme's scenarios: simulator paths (or named cases) drawn once.
struct Paths {
    views: Vec<PathView>,
    draws: Vec<Draws>,
    probs: Vec<f64>,
}

/// The scenario tree of multistage recourse: stage boundaries (month indices) and each
/// scenario's node at each stage.
struct Tree {
    boundaries: Vec<usize>,
    levels: Option<Vec<Vec<usize>>>,
}

/// Recourse decisions shared by the scenarios of a tree node.
#[derive(Default)]
struct SharedDecisions {
    decisions: Vec<Decision>,
    vars: Vec<VarDef>,
    index: std::collections::HashMap<(usize, i32, usize), usize>,
}

/// The rows of one scenario that decisions and operations add terms to, before they join it.
struct ScenarioRows {
    /// Capacity state K_t (first variable index; with pools K_{p,t} is `k0 + p·T + t`) and its
    /// balance rows (row `p·T + t`).
    k0: usize,
    state: Vec<RowDef>,
    /// Net powered space used N_t, only when a buy needs space.
    space: Vec<RowDef>,
    /// Cash balance and funding-gap rows, alternating per month, only with a funding limit.
    cash: Vec<RowDef>,
}

impl ScenarioRows {
    /// The cash balance row of month `t`.
    fn cash_balance(&mut self, t: usize) -> &mut RowDef {
        &mut self.cash[2 * t]
    }
}

/// What every scenario of the programme shares: the scenario, the settings and what the
/// engine says about options, limits and discounting.
struct Builder<'a> {
    sc: &'a ValidScenario,
    engine: &'a Engine,
    set: &'a CapacitySettings,
    options: Vec<OptionInfo>,
    /// Capacity pools (empty: one pool that serves everything at no cost per use).
    pools: Vec<PoolInfo>,
    t_len: usize,
    avail: f64,
    floor_h100e: f64,
    floor_share: f64,
    existing_mw: f64,
    max_total_mw: f64,
    blocks: Vec<(f64, Vec<f64>)>,
    segments: usize,
    churn: Vec<f64>,
    /// Discount factor of each month's cash flow, and of the horizon end.
    disc: Vec<f64>,
    disc_end: f64,
    maximize: bool,
}

impl<'a> Builder<'a> {
    fn new(sc: &'a ValidScenario, engine: &'a Engine, set: &'a CapacitySettings) -> Self {
        let t_len = engine.months;
        let (avail, floor_h100e, floor_share, existing_mw, max_total_mw) = engine.limits();
        let disc_m = engine.monthly_discount();
        Builder {
            sc,
            engine,
            set,
            options: engine.option_info(),
            pools: engine.pool_info(),
            t_len,
            avail,
            floor_h100e,
            floor_share,
            existing_mw,
            max_total_mw,
            blocks: engine.load_blocks(),
            segments: engine.num_segments(),
            churn: engine.churn_shares(),
            disc: (0..t_len).map(|t| disc_m.powi(-(t as i32 + 1))).collect(),
            disc_end: disc_m.powi(-(t_len as i32)),
            maximize: matches!(set.objective, Objective::Npv(_)),
        }
    }

    /// A pool that draws less power idle needs one power draw per H100e for the programme to
    /// charge its use linearly.
    fn check_pool_power(&self, views: &[PathView]) -> Result<(), String> {
        for (p, pool) in self.pools.iter().enumerate() {
            if pool.idle_share < 1.0 && views.iter().any(|v| v.pool_power_per_h100e[p].is_none()) {
                return Err(format!(
                    "pool `{}` draws less power when idle (idle_power_share_pu < 1) but its fleet and options draw different power per H100e; the programme needs one rate per such pool: split it into pools of one generation and site (the simulator evaluates any pool exactly)",
                    pool.name
                ));
            }
        }
        Ok(())
    }

    fn month(&self, t: usize) -> Month {
        self.sc.horizon.start.plus(t as i32)
    }

    /// Every commitment decision: (first stage, recourse).
    fn decisions(&self) -> (Vec<Decision>, Vec<Decision>) {
        let (mut first, mut later) = (Vec::new(), Vec::new());
        for (oi, o) in self.options.iter().enumerate() {
            if o.kind == OptionKind::Burst {
                continue;
            }
            for c in decision_months(o, self.t_len as i32, self.set.period_months) {
                let d = Decision {
                    option: oi,
                    month: c,
                    unit: o.block.unwrap_or(1.0),
                };
                if c < self.set.window_months {
                    first.push(d);
                } else if self.set.recourse {
                    later.push(d);
                }
            }
        }
        (first, later)
    }

    /// First-stage variables: whole blocks up to the option's total, or held where pinned.
    fn first_vars(&self, first: &[Decision]) -> Vec<VarDef> {
        first
            .iter()
            .map(|d| {
                let o = &self.options[d.option];
                let upper = if o.max_total.is_finite() {
                    (o.max_total / d.unit).floor()
                } else {
                    INF
                };
                let pin = self
                    .set
                    .pinned
                    .iter()
                    .find(|(oi, m, _)| *oi == d.option && *m == d.month)
                    .map(|p| p.2);
                VarDef {
                    name: format!("commit[{},{}]", o.name, self.sc.horizon.start.plus(d.month))
                        .into(),
                    lower: pin.unwrap_or(0.0),
                    upper: pin.unwrap_or(upper),
                    integer: o.block.is_some() && d.month < self.set.integer_until_month,
                }
            })
            .collect()
    }

    /// Draws every path once (blocks as the simulator cuts them, so draws match), or the cases.
    fn draw_paths(&self, scratch: &mut Scratch) -> Result<Paths, String> {
        let engine = self.engine;
        let mut p = Paths {
            views: Vec::new(),
            draws: Vec::new(),
            probs: Vec::new(),
        };
        if self.set.cases {
            if self.sc.cases.is_empty() {
                return Err("the scenario has no [[cases]] to optimise over".into());
            }
            for (i, case) in self.sc.cases.iter().enumerate() {
                let mut d = Draws::default();
                engine.draw_case(i as u64, &case.values, &mut d)?;
                p.views.push(engine.path_view(&d, scratch));
                p.draws.push(d);
                p.probs.push(case.probability_pu);
            }
            return Ok(p);
        }
        let n = self.set.paths;
        for b in 0..n.div_ceil(BLOCK) {
            let first_path = b * BLOCK;
            let len = BLOCK.min(n - first_path) as usize;
            let (u, _) = engine.block_uniforms(first_path, len);
            for (i, row) in u.iter().enumerate() {
                let mut d = Draws::default();
                engine.draw(first_path + i as u64, row, &mut d);
                p.views.push(engine.path_view(&d, scratch));
                p.draws.push(d);
                p.probs.push(1.0 / n as f64);
            }
        }
        Ok(p)
    }

    /// The scenario tree, when multistage recourse is asked for.
    fn tree(&self, views: &[PathView]) -> Tree {
        let set = self.set;
        let boundaries: Vec<usize> = match set.branching {
            Some(_) => (0..)
                .map(|k| set.window_months + k * set.stage_months.max(1))
                .take_while(|m| *m < self.t_len as i32)
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
            .map(|b| tree_nodes(&demand_at, views.len(), &boundaries, b));
        Tree { boundaries, levels }
    }

    /// Later decisions as linear decision rules: an intercept and a slope per decision, shared
    /// by every path, and the demand each is centred on.
    fn affine_decisions(
        &self,
        later: &[Decision],
        paths: &Paths,
        shared: &mut SharedDecisions,
    ) -> Vec<AffineDecision> {
        later
            .iter()
            .map(|dec| {
                // The geometric mean: ξ = ln(D / centre) then has mean 0 over the paths.
                let mean_ln: f64 = paths
                    .draws
                    .iter()
                    .zip(&paths.probs)
                    .map(|(d, p)| p * affine_signal(self.observed_demand(d, dec.month), 1.0))
                    .sum();
                let centre = mean_ln.exp();
                let o = &self.options[dec.option];
                let month = self.sc.horizon.start.plus(dec.month);
                let mut var = |what: &str| {
                    shared.vars.push(VarDef::new(
                        format!("{what}[{},{month}]", o.name),
                        f64::NEG_INFINITY,
                        INF,
                    ));
                    shared.vars.len() - 1
                };
                AffineDecision {
                    decision: *dec,
                    centre_h100e: centre,
                    intercept: var("intercept"),
                    slope: var("slope"),
                }
            })
            .collect()
    }

    /// A scenario's reference to every decision when later ones are linear decision rules:
    /// first stage, then per rule its commitment on this path y = a + b · ξ ≥ 0.
    fn affine_refs(
        &self,
        sd: &mut ScenarioDef,
        first: &[Decision],
        affine: &[AffineDecision],
        d: &Draws,
    ) -> DecisionRefs {
        let mut decs = first_refs(first);
        for ad in affine {
            let dec = ad.decision;
            let o = &self.options[dec.option];
            let month = self.sc.horizon.start.plus(dec.month);
            let xi = affine_signal(self.observed_demand(d, dec.month), ad.centre_h100e);
            let y = add_var(
                sd,
                VarDef::new(format!("commit[{},{month}]", o.name), 0.0, INF),
            );
            sd.rows.push(RowDef {
                name: format!("rule[{},{month}]", o.name).into(),
                kind: RowKind::Policy,
                lower: 0.0,
                upper: 0.0,
                terms: vec![
                    (Ref::Own(y), 1.0),
                    (Ref::Shared(ad.intercept), -1.0),
                    (Ref::Shared(ad.slope), -xi),
                ],
                limit: false,
            });
            decs.push((Ref::Own(y), dec));
        }
        decs
    }

    /// Product compute demand a rule deciding at month `t` has seen on the path in `d`: the
    /// month before's, before churn and quality feedback, as the simulator's affine rules see
    /// it (0 before the horizon).
    fn observed_demand(&self, d: &Draws, t: i32) -> f64 {
        if t < 1 {
            return 0.0;
        }
        self.engine.market_demand_h100e(d, (t - 1) as usize)
    }

    /// Scenario `s`'s reference to every decision: first stage, then recourse (its own
    /// variable, or its tree node's shared one). Returns the references and its own recourse
    /// decisions.
    fn decision_refs(
        &self,
        s: usize,
        sd: &mut ScenarioDef,
        first: &[Decision],
        later: &[Decision],
        tree: &Tree,
        shared: &mut SharedDecisions,
    ) -> (DecisionRefs, Vec<(usize, Decision)>) {
        let mut decs = first_refs(first);
        let mut own = Vec::new();
        for dec in later {
            let o = &self.options[dec.option];
            let month = self.sc.horizon.start.plus(dec.month);
            let r = match &tree.levels {
                Some(levels) => {
                    let stage = tree
                        .boundaries
                        .iter()
                        .rposition(|b| (dec.month as usize) >= *b)
                        .map_or(0, |k| k + 1);
                    let node = levels[stage][s];
                    let idx = *shared
                        .index
                        .entry((dec.option, dec.month, node))
                        .or_insert_with(|| {
                            shared.decisions.push(*dec);
                            shared.vars.push(VarDef::new(
                                format!("commit[{},{month},node{node}]", o.name),
                                0.0,
                                INF,
                            ));
                            shared.vars.len() - 1
                        });
                    Ref::Shared(idx)
                }
                None => {
                    let j = add_var(
                        sd,
                        VarDef::new(format!("commit[{},{month}]", o.name), 0.0, INF),
                    );
                    own.push((j, *dec));
                    Ref::Own(j)
                }
            };
            decs.push((r, *dec));
        }
        (decs, own)
    }

    /// Every row and objective term of one scenario, in the order the programme lists them.
    fn scenario_rows(
        &self,
        sd: &mut ScenarioDef,
        decs: &[(Ref, Decision)],
        v: &PathView,
        d: &Draws,
        scratch: &mut Scratch,
    ) {
        let needs_space = decs
            .iter()
            .any(|(_, d)| self.options[d.option].kind == OptionKind::Buy);
        let mut rows = ScenarioRows {
            k0: 0,
            state: Vec::new(),
            space: Vec::new(),
            cash: Vec::new(),
        };
        self.capacity_state(sd, v, &mut rows);
        if needs_space {
            self.space_state(sd, v, &mut rows);
        }
        if let Some(gap) = self.set.max_funding_gap_usd {
            self.cash_state(sd, v, gap, &mut rows);
        }
        let capex_by_year = self.decision_effects(sd, decs, d, scratch, &mut rows);
        sd.rows.append(&mut rows.state);
        sd.rows.append(&mut rows.space);
        let (served_total, served_ids) = if self.pools.is_empty() {
            self.operations(sd, v, &mut rows)
        } else {
            self.operations_pools(sd, v, &mut rows)
        };
        if self.set.churn {
            churn_rows(
                sd,
                v,
                &self.churn,
                &self.blocks,
                &served_ids,
                self.sc.horizon.start,
            );
        }
        // Limits that involve recourse are per path; first-stage-only ones are the
        // programme's first rows.
        if self.set.recourse {
            sd.rows.extend(self.total_limits(decs));
        }
        sd.rows.append(&mut rows.cash);
        if let Some(budget) = self.set.budget_usd_per_year {
            for (year, terms) in capex_by_year {
                sd.rows.push(RowDef {
                    name: format!("budget[{year}]").into(),
                    kind: RowKind::Budget,
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
            .zip(&self.disc)
            .map(|(c, f)| c * f)
            .sum::<f64>()
            - self.disc_end * v.fleet_terminal_usd;
        sd.constant = if self.maximize { -fixed } else { fixed };
        if let Objective::Cost { service_level, .. } = self.set.objective {
            // Counted in shares of the path's demand times SERVICE_ROW_SCALE, not in
            // H100e-months: frontier-lab's total reaches 10⁸–10⁹ per path, a
            // row the solvers' absolute tolerances cannot check (HiGHS found the programme
            // infeasible at a service level of 0.5 where the plan without new commitments
            // serves 89 %). A share (÷ the total) would leave coefficients near 10⁻⁹, which
            // HiGHS drops as zero.
            let demand: f64 = v.demand_h100e.iter().map(|d| d.iter().sum::<f64>()).sum();
            let per = if demand > 0.0 {
                SERVICE_ROW_SCALE / demand
            } else {
                1.0
            };
            let mut terms = served_total;
            for (_, c) in &mut terms {
                *c *= per;
            }
            sd.rows.push(RowDef {
                name: "service_level".into(),
                kind: RowKind::ServiceLevel,
                lower: service_level * demand * per,
                upper: INF,
                terms,
                limit: true,
            });
        }
        in_money_units(sd);
    }

    /// Capacity state K_t: K_t − K_{t−1} = fleet change + Σ unit capacity change × commitment
    /// (the commitments' terms join in [`Self::decision_effects`]); with pools, one state per
    /// pool, K_{p,t}, fed by its own fleet and options.
    fn capacity_state(&self, sd: &mut ScenarioDef, v: &PathView, rows: &mut ScenarioRows) {
        rows.k0 = sd.vars.len();
        let k0 = rows.k0;
        let pooled = !self.pools.is_empty();
        let fleets: Vec<&Vec<f64>> = if pooled {
            v.fleet_pool_h100e.iter().collect()
        } else {
            vec![&v.fleet_h100e]
        };
        for p in 0..fleets.len() {
            for t in 0..self.t_len {
                let name = if pooled {
                    format!("capacity[{},{}]", self.pools[p].name, self.month(t))
                } else {
                    format!("capacity[{}]", self.month(t))
                };
                add_var(sd, VarDef::new(name, 0.0, INF));
            }
        }
        let t_len = self.t_len;
        rows.state = fleets
            .iter()
            .enumerate()
            .flat_map(|(p, fleet)| {
                (0..t_len).map(move |t| {
                    let delta = fleet[t] - if t > 0 { fleet[t - 1] } else { 0.0 };
                    let k = k0 + p * t_len + t;
                    let mut terms = vec![(Ref::Own(k), 1.0)];
                    if t > 0 {
                        terms.push((Ref::Own(k - 1), -1.0));
                    }
                    (p, t, delta, terms)
                })
            })
            .map(|(p, t, delta, terms)| RowDef {
                name: if pooled {
                    format!("state[{},{}]", self.pools[p].name, self.month(t)).into()
                } else {
                    format!("state[{}]", self.month(t)).into()
                },
                kind: RowKind::CapacityState,
                lower: delta,
                upper: delta,
                terms,
                limit: false,
            })
            .collect();
    }

    /// Powered space, when a buy needs it: net use N_t (a state like capacity) stays within
    /// the existing space. Builds bring their own space.
    fn space_state(&self, sd: &mut ScenarioDef, v: &PathView, rows: &mut ScenarioRows) {
        let n0 = sd.vars.len();
        for t in 0..self.t_len {
            add_var(
                sd,
                VarDef::new(
                    format!("space_used[{}]", self.month(t)),
                    f64::NEG_INFINITY,
                    self.existing_mw,
                ),
            );
            let delta = v.fleet_used_mw[t] - if t > 0 { v.fleet_used_mw[t - 1] } else { 0.0 };
            let mut terms = vec![(Ref::Own(n0 + t), 1.0)];
            if t > 0 {
                terms.push((Ref::Own(n0 + t - 1), -1.0));
            }
            rows.space.push(RowDef {
                name: format!("space[{}]", self.month(t)).into(),
                kind: RowKind::SpaceState,
                lower: delta,
                upper: delta,
                terms,
                limit: false,
            });
        }
    }

    /// Cash under a funding limit: C_t − C_{t−1} − (revenue − burst − commitment cash) =
    /// funding − fixed costs, and C_t ≥ min cash − credit limit − `gap_usd`; in a month a
    /// funding freeze closes the credit line, C_t ≥ min cash − `gap_usd` (conservative: the
    /// simulator lets credit drawn before the freeze stay outstanding).
    fn cash_state(
        &self,
        sd: &mut ScenarioDef,
        v: &PathView,
        gap_usd: f64,
        rows: &mut ScenarioRows,
    ) {
        let f = &self.sc.finance;
        for t in 0..self.t_len {
            let credit = if v.credit_open.get(t).copied().unwrap_or(true) {
                f.credit_limit_usd
            } else {
                0.0
            };
            let floor = f.min_cash_usd - credit - gap_usd;
            let month = self.month(t);
            let c = add_var(
                sd,
                VarDef::new(format!("cash[{month}]"), f64::NEG_INFINITY, INF),
            );
            let rhs = v.funding_usd[t] - v.fixed_cost_usd[t]
                + if t == 0 { f.starting_cash_usd } else { 0.0 };
            let mut terms = vec![(Ref::Own(c), 1.0)];
            if t > 0 {
                terms.push((Ref::Own(c - 1), -1.0));
            }
            rows.cash.push(RowDef {
                name: format!("cash[{month}]").into(),
                kind: RowKind::CashBalance,
                lower: rhs,
                upper: rhs,
                terms,
                limit: false,
            });
            rows.cash.push(RowDef {
                name: format!("funding_gap[{month}]").into(),
                kind: RowKind::FundingGap,
                lower: floor,
                upper: INF,
                terms: vec![(Ref::Own(c), 1.0)],
                limit: true,
            });
        }
    }

    /// Each decision's effects on this path, from the simulator's accounting: capacity and
    /// space changes into the state rows, cash into the cash rows, present value into the
    /// objective. Returns capex by calendar year (for the budget rows).
    fn decision_effects(
        &self,
        sd: &mut ScenarioDef,
        decs: &[(Ref, Decision)],
        d: &Draws,
        scratch: &mut Scratch,
        rows: &mut ScenarioRows,
    ) -> std::collections::BTreeMap<i32, Vec<(Ref, f64)>> {
        let mut capex_by_year: std::collections::BTreeMap<i32, Vec<(Ref, f64)>> =
            Default::default();
        for (r, dec) in decs {
            let key = self.engine.commitment_key(dec.option, dec.month, 0);
            let e = self
                .engine
                .unit_effect(dec.option, dec.month, key, d, scratch);
            let row0 = if self.pools.is_empty() {
                0
            } else {
                self.options[dec.option].pool * self.t_len
            };
            for (t, dc) in &e.cap_delta {
                rows.state[row0 + *t].terms.push((*r, -dc * dec.unit));
            }
            if !rows.cash.is_empty() {
                for (t, c) in &e.cash_out {
                    rows.cash_balance(*t).terms.push((*r, c * dec.unit));
                }
            }
            if !rows.space.is_empty() {
                for (t, dn) in &e.net_space_delta_mw {
                    rows.space[*t].terms.push((*r, -dn * dec.unit));
                }
            }
            let pv_cost: f64 = e
                .cash_out
                .iter()
                .map(|(t, c)| self.disc[*t] * c)
                .sum::<f64>()
                - self.disc_end * e.terminal_usd;
            let coef = if self.maximize { -pv_cost } else { pv_cost };
            sd.obj.push((*r, coef * dec.unit));
            if self.set.budget_usd_per_year.is_some() {
                for (t, c) in &e.capex {
                    capex_by_year
                        .entry(self.month(*t).year())
                        .or_default()
                        .push((*r, c * dec.unit));
                }
            }
        }
        capex_by_year
    }

    /// Operations each month and load block: served demand per segment (up to its demand),
    /// burst, and capacity net of the research floor. Returns the hours-weighted served terms
    /// (for a service level) and the served variable of each (block, month, segment), indexed
    /// `(b * months + t) * segments + seg`.
    fn operations(
        &self,
        sd: &mut ScenarioDef,
        v: &PathView,
        rows: &mut ScenarioRows,
    ) -> (Vec<(Ref, f64)>, Vec<usize>) {
        let (t_len, ns) = (self.t_len, self.segments);
        let mut served_total: Vec<(Ref, f64)> = Vec::new();
        let mut served_ids = vec![0usize; self.blocks.len() * t_len * ns];
        for (b, (hours, factors)) in self.blocks.iter().enumerate() {
            for t in 0..t_len {
                let mut terms = Vec::new();
                for seg in 0..ns {
                    let j = self.served_var(sd, rows, v, (seg, b, t), (*hours, factors[seg]));
                    served_ids[(b * t_len + t) * ns + seg] = j;
                    terms.push((Ref::Own(j), 1.0));
                    served_total.push((Ref::Own(j), *hours));
                }
                for j in self.burst_vars(sd, rows, v, (b, t), *hours) {
                    terms.push((Ref::Own(j), -1.0));
                }
                self.floor_rows(sd, t, b, terms, rows.k0);
            }
        }
        (served_total, served_ids)
    }

    /// Served demand of segment `seg` in block `b` of month `t` (up to its demand times the
    /// block's factor), earning its revenue in the cash row and the objective.
    fn served_var(
        &self,
        sd: &mut ScenarioDef,
        rows: &mut ScenarioRows,
        v: &PathView,
        (seg, b, t): (usize, usize, usize),
        (hours, factor): (f64, f64),
    ) -> usize {
        let ub = v.demand_h100e[seg][t] * factor;
        let j = add_var(
            sd,
            VarDef::new(format!("served[{seg},{b},{t}]"), 0.0, ub.max(0.0)),
        );
        let rev = v.revenue_per_h100e[seg][t];
        if !rows.cash.is_empty() {
            rows.cash_balance(t).terms.push((Ref::Own(j), -hours * rev));
        }
        if self.maximize {
            sd.obj.push((Ref::Own(j), self.disc[t] * hours * rev));
        }
        j
    }

    /// Burst used in block `b` of month `t`, one variable per burst option (up to its cap),
    /// paying its price in the cash row and the objective.
    fn burst_vars(
        &self,
        sd: &mut ScenarioDef,
        rows: &mut ScenarioRows,
        v: &PathView,
        (b, t): (usize, usize),
        hours: f64,
    ) -> Vec<usize> {
        v.burst
            .iter()
            .enumerate()
            .map(|(k, (cap, price))| {
                let j = add_var(sd, VarDef::new(format!("burst[{k},{b},{t}]"), 0.0, *cap));
                if !rows.cash.is_empty() {
                    rows.cash_balance(t)
                        .terms
                        .push((Ref::Own(j), hours * price));
                }
                let c = self.disc[t] * hours * price;
                sd.obj
                    .push((Ref::Own(j), if self.maximize { -c } else { c }));
                j
            })
            .collect()
    }

    /// Operations with pools, each month and load block: a segment's served demand (up to its
    /// demand) is what the pools that may serve it run for it, plus burst; each pool runs at
    /// most its capacity online; the research floor (and research's share) runs on pools that
    /// serve research. An H100e-month a pool runs costs its use fee plus the power drawn beyond
    /// its idle share, (1 − s)·ρ/availability, and a pool's capacity K is charged (1 − s)·ρ·K
    /// less than the full power its chips' effects carry (ρ: full-draw power per H100e-month).
    /// Returns what [`Self::operations`] returns.
    fn operations_pools(
        &self,
        sd: &mut ScenarioDef,
        v: &PathView,
        rows: &mut ScenarioRows,
    ) -> (Vec<(Ref, f64)>, Vec<usize>) {
        let (t_len, ns) = (self.t_len, self.segments);
        let money_rows = !rows.cash.is_empty();
        // The objective's sign for a cost.
        let sign = if self.maximize { -1.0 } else { 1.0 };
        let rho = |p: usize| v.pool_power_per_h100e[p].unwrap_or(0.0);
        let per_use: Vec<f64> = (0..self.pools.len())
            .map(|p| {
                let pool = &self.pools[p];
                let power = if self.avail > 0.0 {
                    (1.0 - pool.idle_share) * rho(p) / self.avail
                } else {
                    0.0
                };
                pool.fee_month_usd + power
            })
            .collect();
        for (p, pool) in self.pools.iter().enumerate() {
            let saved = (1.0 - pool.idle_share) * rho(p);
            if saved == 0.0 {
                continue;
            }
            for t in 0..t_len {
                let k = Ref::Own(rows.k0 + p * t_len + t);
                if money_rows {
                    rows.cash_balance(t).terms.push((k, -saved));
                }
                sd.obj.push((k, -sign * self.disc[t] * saved));
            }
        }
        let mut served_total: Vec<(Ref, f64)> = Vec::new();
        let mut served_ids = vec![0usize; self.blocks.len() * t_len * ns];
        for (b, (hours, factors)) in self.blocks.iter().enumerate() {
            for t in 0..t_len {
                let month = self.month(t);
                let mut pool_terms: Vec<Vec<(Ref, f64)>> = vec![Vec::new(); self.pools.len()];
                // A variable run on pool `p` this block: its cost, and its place in the pool's row.
                let mut run_on = |sd: &mut ScenarioDef, rows: &mut ScenarioRows, name, p: usize| {
                    let j = add_var(sd, VarDef::new(name, 0.0, INF));
                    let c = hours * per_use[p];
                    if c != 0.0 {
                        if money_rows {
                            rows.cash_balance(t).terms.push((Ref::Own(j), c));
                        }
                        sd.obj.push((Ref::Own(j), sign * self.disc[t] * c));
                    }
                    pool_terms[p].push((Ref::Own(j), 1.0));
                    j
                };
                let mut burst_served = Vec::new();
                for seg in 0..ns {
                    let j = self.served_var(sd, rows, v, (seg, b, t), (*hours, factors[seg]));
                    served_ids[(b * t_len + t) * ns + seg] = j;
                    served_total.push((Ref::Own(j), *hours));
                    let mut terms = vec![(Ref::Own(j), 1.0)];
                    for (p, pool) in self.pools.iter().enumerate() {
                        if pool.serves_segment[seg] {
                            let name = format!("run[{seg},{},{b},{t}]", pool.name);
                            let x = run_on(sd, rows, name, p);
                            terms.push((Ref::Own(x), -1.0));
                        }
                    }
                    if !v.burst.is_empty() {
                        let w = add_var(
                            sd,
                            VarDef::new(format!("burst_served[{seg},{b},{t}]"), 0.0, INF),
                        );
                        terms.push((Ref::Own(w), -1.0));
                        burst_served.push((Ref::Own(w), 1.0));
                    }
                    sd.rows.push(RowDef {
                        name: format!("dispatch[{seg},{month},block{b}]").into(),
                        kind: RowKind::Dispatch,
                        lower: -INF,
                        upper: 0.0,
                        terms,
                        limit: false,
                    });
                }
                if !v.burst.is_empty() {
                    for j in self.burst_vars(sd, rows, v, (b, t), *hours) {
                        burst_served.push((Ref::Own(j), -1.0));
                    }
                    sd.rows.push(RowDef {
                        name: format!("burst[{month},block{b}]").into(),
                        kind: RowKind::Dispatch,
                        lower: -INF,
                        upper: 0.0,
                        terms: burst_served,
                        limit: false,
                    });
                }
                let mut research = Vec::new();
                for (p, pool) in self.pools.iter().enumerate() {
                    if pool.research {
                        let name = format!("research[{},{b},{t}]", pool.name);
                        let r = run_on(sd, rows, name, p);
                        research.push((Ref::Own(r), 1.0));
                    }
                }
                for (p, mut terms) in pool_terms.into_iter().enumerate() {
                    terms.push((Ref::Own(rows.k0 + p * t_len + t), -self.avail));
                    sd.rows.push(RowDef {
                        name: format!("pool[{},{month},block{b}]", self.pools[p].name).into(),
                        kind: RowKind::PoolUse,
                        lower: -INF,
                        upper: 0.0,
                        terms,
                        limit: false,
                    });
                }
                self.pool_floor_rows(sd, (t, b), research, rows.k0);
            }
        }
        (served_total, served_ids)
    }

    /// With pools: research run on the pools that serve it at least the floor, and at least
    /// research's share of all capacity online.
    fn pool_floor_rows(
        &self,
        sd: &mut ScenarioDef,
        (t, b): (usize, usize),
        research: Vec<(Ref, f64)>,
        k0: usize,
    ) {
        let month = self.month(t);
        if self.floor_h100e > 0.0 {
            sd.rows.push(RowDef {
                name: format!("floor[{month},block{b}]").into(),
                kind: RowKind::Floor,
                lower: self.floor_h100e,
                upper: INF,
                terms: research.clone(),
                limit: true,
            });
        }
        if self.floor_share > 0.0 {
            let mut terms = research;
            for p in 0..self.pools.len() {
                terms.push((
                    Ref::Own(k0 + p * self.t_len + t),
                    -self.floor_share * self.avail,
                ));
            }
            sd.rows.push(RowDef {
                name: format!("floor_share[{month},block{b}]").into(),
                kind: RowKind::FloorShare,
                lower: 0.0,
                upper: INF,
                terms,
                limit: false,
            });
        }
    }

    /// Product use (served less burst) within capacity net of the research floor, and within
    /// (1 − floor share) of capacity.
    fn floor_rows(
        &self,
        sd: &mut ScenarioDef,
        t: usize,
        b: usize,
        terms: Vec<(Ref, f64)>,
        k0: usize,
    ) {
        let month = self.month(t);
        let mut cap_terms = terms.clone();
        cap_terms.push((Ref::Own(k0 + t), -self.avail));
        sd.rows.push(RowDef {
            name: format!("floor[{month},block{b}]").into(),
            kind: RowKind::Floor,
            lower: -INF,
            upper: -self.floor_h100e,
            terms: cap_terms,
            limit: self.floor_h100e > 0.0,
        });
        if self.floor_share > 0.0 {
            let mut share_terms = terms;
            share_terms.push((Ref::Own(k0 + t), -(1.0 - self.floor_share) * self.avail));
            sd.rows.push(RowDef {
                name: format!("floor_share[{month},block{b}]").into(),
                kind: RowKind::FloorShare,
                lower: -INF,
                upper: 0.0,
                terms: share_terms,
                limit: false,
            });
        }
    }

    /// Limits on totals committed: each option's `max_*`, and built MW against the power cap.
    fn total_limits(&self, decs: &[(Ref, Decision)]) -> Vec<RowDef> {
        let options = &self.options;
        let row = |name: String, kind: RowKind, upper: f64, keep: &dyn Fn(&Decision) -> bool| {
            let terms: Vec<(Ref, f64)> = decs
                .iter()
                .filter(|(_, d)| keep(d))
                .map(|(r, d)| (*r, d.unit))
                .collect();
            (!terms.is_empty()).then_some(RowDef {
                name: name.into(),
                kind,
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
                row(
                    format!("max_total[{}]", o.name),
                    RowKind::MaxTotal,
                    o.max_total,
                    &|d| d.option == oi,
                )
            })
            .collect();
        if self.max_total_mw.is_finite() {
            rows.extend(row(
                "power.max_total_mw".into(),
                RowKind::PowerCap,
                self.max_total_mw - self.existing_mw,
                &|d| options[d.option].kind == OptionKind::Build,
            ));
        }
        rows
    }
}

/// A commitment `amount` cut below `rule` by more than rounding: one part in a million, or a
/// millionth of a unit. (A rule that comes out a hair below zero, or a cut to the room left
/// that differs from the rule in its last digits, is not a cut a reader should be told of.)
fn materially_below(amount: f64, rule: f64) -> bool {
    rule - amount > 1e-6 * rule.abs().max(1.0)
}

fn add_var(sd: &mut ScenarioDef, def: VarDef) -> usize {
    sd.vars.push(def);
    sd.vars.len() - 1
}

/// Money in the programme is in millions of USD: coefficients of 1e9–1e12 next to H100e
/// counts of 1e-3 would strain any solver's tolerances.
fn in_money_units(sd: &mut ScenarioDef) {
    for (_, c) in &mut sd.obj {
        *c /= MONEY_UNIT_USD;
    }
    sd.constant /= MONEY_UNIT_USD;
    for row in sd.rows.iter_mut().filter(|r| r.kind.in_money()) {
        row.lower /= MONEY_UNIT_USD;
        row.upper /= MONEY_UNIT_USD;
        for (_, c) in &mut row.terms {
            *c /= MONEY_UNIT_USD;
        }
    }
}

/// The unit a limit row is written in, in USD per unit, for rows in money (1 otherwise).
pub fn limit_unit_usd(limit: &str) -> f64 {
    if limit_unit_label(limit).0 == "USD" {
        MONEY_UNIT_USD
    } else if limit == "service_level" {
        1.0 / SERVICE_ROW_SCALE
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
            "share of product demand served",
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

    /// Solves the programme by the L-shaped method (see [`crate::decompose`]); reported values
    /// and bounds are in USD.
    pub fn solve_decomposed(
        &self,
        solver: &(dyn gigawatt_lp::Solver + Sync),
        settings: &gigawatt_lp::SolverSettings,
        risk: Risk,
        dset: &crate::decompose::DecomposeSettings,
        progress: &mut dyn FnMut(&crate::decompose::Iteration),
    ) -> Result<crate::decompose::Decomposed, gigawatt_lp::Error> {
        let k = MONEY_UNIT_USD;
        let in_usd = |it: &crate::decompose::Iteration| crate::decompose::Iteration {
            lower: it.lower * k,
            upper: it.upper * k,
            ..*it
        };
        let mut d = self
            .program
            .solve_decomposed(solver, settings, risk, dset, &mut |it| {
                progress(&in_usd(it))
            })?;
        d.solved.unscale(k);
        d.iterations = d.iterations.iter().map(in_usd).collect();
        Ok(d)
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

    /// The linear decision rules of a solution, in option units: one `kind = "affine"` rule per
    /// later decision whose intercept or slope is not zero.
    pub fn affine_rules(&self, x: &[f64], layout: &crate::Layout) -> Vec<gigawatt_model::Rule> {
        self.affine
            .iter()
            .filter_map(|ad| {
                let d = ad.decision;
                // Solver dust (|value| below 1e-9 of a unit) is zero, and a rule of zeros is none.
                let value = |j: usize| {
                    let v = x[layout.shared[j].0 as usize];
                    if v.abs() < 1e-9 {
                        0.0
                    } else {
                        v * d.unit
                    }
                };
                let (a, b) = (value(ad.intercept), value(ad.slope));
                if a == 0.0 && b == 0.0 {
                    return None;
                }
                let month = self.start.plus(d.month);
                Some(gigawatt_model::Rule {
                    option: self.options[d.option].name.clone(),
                    kind: gigawatt_model::RuleKind::Affine,
                    every_months: 1,
                    from: month,
                    until: month,
                    percentile_pu: 0.5,
                    headroom_pu: 0.0,
                    max_per_decision: 0.0,
                    intercept: a,
                    slope: b,
                    centre_h100e: ad.centre_h100e,
                })
            })
            .collect()
    }

    /// The decisions of a solution that carry over to paths the programme did not see: the
    /// first stage and each linear decision rule (None when later decisions belong to a scenario
    /// tree's nodes, which exist only on the programme's own paths).
    pub fn candidate(&self, x: &[f64], layout: &crate::Layout) -> Option<Candidate> {
        if !self.shared.is_empty() {
            return None;
        }
        Some(Candidate {
            first: layout.first.iter().map(|c| x[c.0 as usize]).collect(),
            rules: self
                .affine
                .iter()
                .map(|ad| {
                    (
                        x[layout.shared[ad.intercept].0 as usize],
                        x[layout.shared[ad.slope].0 as usize],
                        ad.centre_h100e,
                    )
                })
                .collect(),
        })
    }

    /// A candidate (from a programme built with the same settings over other paths) carried
    /// out on this programme's paths, as the programme models them: the first stage fixed,
    /// each rule committing max(0, a + b · ln(D / centre)) with the candidate's own centre,
    /// and every other decision on each path optimised given those. Paths are solved one by
    /// one, in parallel; values are in USD.
    pub fn evaluate_candidate(
        &self,
        c: &Candidate,
        solver: &(dyn gigawatt_lp::Solver + Sync),
        settings: &gigawatt_lp::SolverSettings,
        risk: Risk,
    ) -> Result<CandidateValues, gigawatt_lp::Error> {
        use rayon::prelude::*;
        if c.first.len() != self.program.first.len() || c.rules.len() != self.affine.len() {
            return Err(gigawatt_lp::Error::SolverFailed {
                solver: solver.name(),
                message: "the candidate comes from a programme with other decisions".into(),
            });
        }
        let carried: Vec<(Option<f64>, usize)> = (0..self.program.scenarios.len())
            .into_par_iter()
            .map(|s| self.carry_out(s, c, solver, settings))
            .collect::<Result<_, gigawatt_lp::Error>>()?;
        let rules_cut = carried.iter().map(|c| c.1).sum();
        let values: Vec<Option<f64>> = carried.into_iter().map(|c| c.0).collect();
        let infeasible = values.iter().filter(|v| v.is_none()).count();
        let limits_broken = match values.iter().position(|v| v.is_none()) {
            Some(s) => {
                let mut one = self.program.single(s);
                self.fix_rules(&mut one, c);
                match crate::diagnose::diagnose(
                    &one,
                    Risk::Neutral,
                    Some(&c.first),
                    solver,
                    settings,
                )? {
                    crate::diagnose::Diagnosis::Limits(l) => {
                        l.into_iter().filter(|c| !c.held).map(|c| c.limit).collect()
                    }
                    crate::diagnose::Diagnosis::NotLimits => Vec::new(),
                }
            }
            None => Vec::new(),
        };
        let objective_usd = if infeasible > 0 {
            None
        } else {
            let v: Vec<f64> = values.iter().flatten().copied().collect();
            Some(self.program.objective_at(&v, risk).2)
        };
        Ok(CandidateValues {
            values: values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect(),
            objective_usd,
            infeasible,
            limits_broken,
            rules_cut,
        })
    }

    /// In a one-path programme, each rule's row becomes its commitment on that path, as the
    /// simulator's affine rules commit: max(0, a + b · ξ) with ξ centred on the candidate's
    /// centre (the row's own ξ is centred on this programme's, so the candidate's is
    /// ξ + ln(this centre / candidate's centre)), then, month by month, cut to the room left
    /// under the option's maximum total and the power cap by the first stage and the earlier
    /// rules. The rules' variables are fixed at the candidate's values.
    fn fix_rules(&self, one: &mut TwoStage, c: &Candidate) -> (Vec<(usize, usize)>, usize) {
        let sd = &mut one.scenarios[0];
        // (month, rule row, own variable of the commitment, uncapped commitment)
        let mut commits = Vec::with_capacity(self.affine.len());
        for (ad, &(a, b, centre)) in self.affine.iter().zip(&c.rules) {
            for (j, v) in [(ad.intercept, a), (ad.slope, b)] {
                one.shared[j].lower = v;
                one.shared[j].upper = v;
            }
            let shift = (ad.centre_h100e / centre).ln();
            let rule_row = sd.rows.iter().position(|r| {
                r.kind == RowKind::Policy
                    && r.terms.iter().any(|(t, _)| *t == Ref::Shared(ad.slope))
            });
            let Some(ri) = rule_row else { continue };
            let row = &sd.rows[ri];
            let mut minus_xi = 0.0;
            let mut own = None;
            for (t, v) in &row.terms {
                match t {
                    Ref::Shared(j) if *j == ad.slope => minus_xi = *v,
                    Ref::Own(y) => own = Some(*y),
                    _ => {}
                }
            }
            let Some(y) = own else { continue };
            let rule = a + b * (-minus_xi + shift);
            commits.push((ad.decision.month, ri, y, rule));
        }
        commits.sort_by_key(|k| k.0);
        let mut fixed: Vec<Option<f64>> = vec![None; sd.vars.len()];
        let mut order = Vec::with_capacity(commits.len());
        let mut cuts = 0;
        for (_, ri, y, rule) in commits {
            order.push((ri, y));
            let mut amount = rule.max(0.0);
            for row in sd
                .rows
                .iter()
                .filter(|r| matches!(r.kind, RowKind::MaxTotal | RowKind::PowerCap))
            {
                let Some(coef) = row
                    .terms
                    .iter()
                    .find_map(|(t, v)| (*t == Ref::Own(y)).then_some(*v))
                else {
                    continue;
                };
                if coef <= 0.0 {
                    continue;
                }
                let used: f64 = row
                    .terms
                    .iter()
                    .map(|(t, v)| match t {
                        Ref::First(i) => v * c.first[*i],
                        Ref::Own(j) => v * fixed[*j].unwrap_or(0.0),
                        Ref::Shared(_) => 0.0,
                    })
                    .sum();
                amount = amount.min(((row.upper - used) / coef).max(0.0));
            }
            cuts += usize::from(materially_below(amount, rule));
            fixed[y] = Some(amount);
            let row = &mut sd.rows[ri];
            row.terms.retain(|(t, _)| matches!(t, Ref::Own(_)));
            row.lower = amount;
            row.upper = amount;
        }
        (order, cuts)
    }

    /// Path `s`'s value with the candidate carried out on it (None when even nothing later
    /// fits the first stage there). When the rules' commitments do not all fit, as the
    /// simulator cuts a rule to the room there is when it decides, each rule in month order is
    /// cut to the most the path can still take with the earlier ones as cut and the later ones
    /// at zero (one small programme per rule, only on such paths).
    fn carry_out(
        &self,
        s: usize,
        c: &Candidate,
        solver: &(dyn gigawatt_lp::Solver + Sync),
        settings: &gigawatt_lp::SolverSettings,
    ) -> Result<(Option<f64>, usize), gigawatt_lp::Error> {
        let mut one = self.program.single(s);
        let (order, mut cuts) = self.fix_rules(&mut one, c);
        let value = |one: &TwoStage| -> Result<Option<f64>, gigawatt_lp::Error> {
            let solved = one.solve(solver, settings, Risk::Neutral, Some(&c.first))?;
            Ok(solved
                .solution
                .status
                .has_solution()
                .then(|| solved.values[0] * MONEY_UNIT_USD))
        };
        if let Some(v) = value(&one)? {
            return Ok((Some(v), cuts));
        }
        let amounts: Vec<f64> = order
            .iter()
            .map(|&(ri, _)| one.scenarios[0].rows[ri].upper)
            .collect();
        for k in 0..order.len() {
            let mut room = one.clone();
            room.sense = Sense::Maximize;
            let sd = &mut room.scenarios[0];
            sd.obj = vec![(Ref::Own(order[k].1), 1.0)];
            sd.constant = 0.0;
            sd.rows[order[k].0].lower = 0.0;
            for &(ri, _) in &order[k + 1..] {
                sd.rows[ri].lower = 0.0;
                sd.rows[ri].upper = 0.0;
            }
            let most = room.solve(solver, settings, Risk::Neutral, Some(&c.first))?;
            if !most.solution.status.has_solution() {
                return Ok((None, cuts));
            }
            // A hair inside the most, so the solver's tolerance does not leave the next
            // programme just infeasible.
            let fits = (most.values[0] * (1.0 - 1e-9) - 1e-9).max(0.0);
            let cut = amounts[k].min(fits);
            cuts += usize::from(materially_below(cut, amounts[k]));
            let row = &mut one.scenarios[0].rows[order[k].0];
            row.lower = cut;
            row.upper = cut;
        }
        Ok((value(&one)?, cuts))
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
                    project: None,
                });
                first_stage.push(is_first);
            }
        }
        let rules = self.affine_rules(x, layout);
        let description = if self.affine.is_empty() {
            "found by gigawatt plan: first-stage commitments, later ones at their mean over paths"
        } else {
            "found by gigawatt plan: first-stage commitments, later ones by linear decision rules in observed demand"
        }
        .to_string();
        (
            Plan {
                name: name.to_string(),
                description,
                commitments,
                rules,
            },
            first_stage,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::materially_below;

    #[test]
    fn a_cut_counts_only_beyond_rounding() {
        // A rule at an option's maximum total, recomputed as the room left: equal but for the
        // last digits.
        assert!(!materially_below(1_000.0 * (1.0 - 1e-15), 1_000.0));
        assert!(!materially_below(0.0, 1e-9));
        // Cut to the room left, or to zero.
        assert!(materially_below(900.0, 1_000.0));
        assert!(materially_below(0.0, 0.01));
        // Not below at all.
        assert!(!materially_below(5.0, 4.0));
    }
}
