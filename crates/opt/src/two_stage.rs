//! Generic stochastic programmes in extensive form, with CVaR and value-of-information.
//!
//! A [`TwoStage`] has first-stage variables (the same on every scenario), optional shared
//! variables (recourse common to a group of scenarios: a node of a scenario tree, which is how
//! non-anticipativity is imposed), and per scenario its own variables, rows and objective
//! terms. [`TwoStage::extensive_form`] writes one [`Problem`] with Rockafellar–Uryasev CVaR rows
//! when asked; [`TwoStage::value_of_information`] computes EV, EEV, WS, VSS and EVPI.

use std::collections::BTreeMap;
use std::sync::Arc;

use gigawatt_lp::{Col, Problem, Sense, Solution, Solver, SolverSettings};

/// A variable's definition.
#[derive(Debug, Clone, PartialEq)]
pub struct VarDef {
    /// Name (shared by every path whose variable at this index has it: see
    /// [`ScenarioDef::share_names`]).
    pub name: Arc<str>,
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Integer?
    pub integer: bool,
}

impl VarDef {
    /// A continuous variable.
    pub fn new(name: impl Into<Arc<str>>, lower: f64, upper: f64) -> VarDef {
        VarDef {
            name: name.into(),
            lower,
            upper,
            integer: false,
        }
    }
}

/// Which variable a term refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ref {
    /// A first-stage variable.
    First(usize),
    /// A variable shared by a group of scenarios.
    Shared(usize),
    /// The scenario's own variable.
    Own(usize),
}

/// What a row of a programme stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RowKind {
    /// Capacity state balance: K_t − K_{t−1} = arrivals − retirements.
    CapacityState,
    /// Powered-space state balance.
    SpaceState,
    /// Cash balance (in money).
    CashBalance,
    /// Cash never below the funding-gap floor (in money).
    FundingGap,
    /// Capex within the yearly budget (in money).
    Budget,
    /// Served demand at least the service level.
    ServiceLevel,
    /// An option's total within its maximum.
    MaxTotal,
    /// Built MW within the power cap.
    PowerCap,
    /// Product use within capacity net of the research floor.
    Floor,
    /// Product use within capacity net of research's share.
    FloorShare,
    /// A capacity pool's use within its capacity online.
    PoolUse,
    /// A later commitment equals its linear decision rule on the path.
    Policy,
    /// Served demand within what the pools that may serve it and burst run for it.
    Dispatch,
    /// Served demand within the churned demand state.
    Demand,
    /// The churned demand state's balance.
    Churn,
    /// A row of a generic programme.
    #[default]
    Other,
}

impl RowKind {
    /// True for rows whose bounds and coefficients are amounts of money.
    pub fn in_money(self) -> bool {
        matches!(
            self,
            RowKind::CashBalance | RowKind::FundingGap | RowKind::Budget
        )
    }
}

/// A row `lower ≤ Σ terms ≤ upper`.
#[derive(Debug, Clone, PartialEq)]
pub struct RowDef {
    /// Name (shared like [`VarDef::name`]).
    pub name: Arc<str>,
    /// What the row stands for.
    pub kind: RowKind,
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Terms.
    pub terms: Vec<(Ref, f64)>,
    /// A limit the user set (budget, power, service, floor): relaxed when diagnosing infeasibility.
    pub limit: bool,
}

/// One scenario.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScenarioDef {
    /// Probability.
    pub prob: f64,
    /// Its own variables.
    pub vars: Vec<VarDef>,
    /// Its rows (may refer to first-stage and shared variables).
    pub rows: Vec<RowDef>,
    /// Its objective terms (the scenario's value, before probability weighting).
    pub obj: Vec<(Ref, f64)>,
    /// Constant part of the scenario's value.
    pub constant: f64,
}

impl ScenarioDef {
    /// Takes `template`'s name for each variable and row that has the same name at the same
    /// index here, so that paths built alike hold one copy of their names between them (the
    /// programme's per-path layout is a template; only its data, bounds, coefficients and
    /// terms, differ per path).
    pub fn share_names(&mut self, template: &ScenarioDef) {
        for (v, t) in self.vars.iter_mut().zip(&template.vars) {
            if v.name == t.name {
                v.name = t.name.clone();
            }
        }
        for (r, t) in self.rows.iter_mut().zip(&template.rows) {
            if r.name == t.name {
                r.name = t.name.clone();
            }
        }
    }
}

/// Risk attitude in the objective.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Risk {
    /// Expected value only.
    Neutral,
    /// Expected value with λ · CVaR_alpha of loss (loss = −value when maximising, value when minimising).
    Cvar {
        /// Confidence level (0.95 = worst 5 %).
        alpha: f64,
        /// Weight λ ≥ 0.
        lambda: f64,
    },
}

/// A stochastic programme.
#[derive(Debug, Clone, PartialEq)]
pub struct TwoStage {
    /// Maximise value (profit) or minimise it (cost).
    pub sense: Sense,
    /// First-stage variables.
    pub first: Vec<VarDef>,
    /// First-stage rows (only first-stage terms).
    pub first_rows: Vec<RowDef>,
    /// Shared variables.
    pub shared: Vec<VarDef>,
    /// Scenarios.
    pub scenarios: Vec<ScenarioDef>,
}

/// Where each variable went in the extensive form.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// First-stage columns.
    pub first: Vec<Col>,
    /// Shared columns.
    pub shared: Vec<Col>,
    /// Each scenario's columns.
    pub own: Vec<Vec<Col>>,
    /// Rows by name kind, for diagnosis: (row index, is a limit).
    pub limit_rows: Vec<u32>,
}

/// A solved programme.
#[derive(Debug, Clone)]
pub struct Solved {
    /// The solver's result on the extensive form.
    pub solution: Solution,
    /// First-stage values.
    pub first: Vec<f64>,
    /// Each scenario's value (profit or cost) at the solution.
    pub values: Vec<f64>,
    /// Probability-weighted mean of `values`.
    pub expected: f64,
    /// CVaR of loss at the requested alpha (0.95 when risk-neutral).
    pub cvar_loss: f64,
    /// Column layout.
    pub layout: Layout,
}

impl Solved {
    /// Multiplies every reported value by `k` (for programmes written in scaled units).
    pub fn unscale(&mut self, k: f64) {
        for v in &mut self.values {
            *v *= k;
        }
        self.expected *= k;
        self.cvar_loss *= k;
        self.solution.objective *= k;
        self.solution.bound *= k;
    }
}

/// Value of information and of the stochastic solution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueOfInformation {
    /// Recourse problem optimum (the stochastic solution's expected value).
    pub rp: f64,
    /// Optimum of the expected-value (mean scenario) problem.
    pub ev: f64,
    /// Expected result of the EV solution's first stage.
    pub eev: f64,
    /// Wait-and-see: mean over scenarios of each scenario's own optimum.
    pub ws: f64,
    /// Value of the stochastic solution (≥ 0).
    pub vss: f64,
    /// Expected value of perfect information (≥ 0).
    pub evpi: f64,
    /// Scenarios on which the EV solution's first stage has no feasible recourse (EEV and VSS
    /// are then ∓∞: the mean-value plan cannot be carried out on every scenario).
    pub eev_infeasible_scenarios: usize,
}

/// Confidence level used for the CVaR reported with risk-neutral solves.
pub const DEFAULT_ALPHA: f64 = 0.95;

impl TwoStage {
    /// The extensive form, optionally with the first stage fixed to `fix_first`.
    pub fn extensive_form(&self, risk: Risk, fix_first: Option<&[f64]>) -> (Problem, Layout) {
        let mut p = Problem::new(self.sense);
        let mut lay = Layout::default();
        let add = |p: &mut Problem, v: &VarDef, prefix: &str| {
            p.add_col(
                format!("{prefix}{}", v.name),
                0.0,
                v.lower,
                v.upper,
                v.integer,
            )
        };
        for (i, v) in self.first.iter().enumerate() {
            let c = add(&mut p, v, "");
            if let Some(x) = fix_first {
                // An integer value from a solver is integral only to its tolerance; fixed at
                // 3.9999999999, an integer column has no integer value (HiGHS calls the
                // problem an error).
                // Fixed, it needs no integrality: a programme whose integers are all first
                // stage is then an LP (no branch and bound, and HiGHS's MIP solver, which
                // refuses a thread count other than its first, is not started).
                let xi = if v.integer { x[i].round() } else { x[i] };
                p.col_lower[c.0 as usize] = xi;
                p.col_upper[c.0 as usize] = xi;
                p.integer[c.0 as usize] = false;
            }
            lay.first.push(c);
        }
        for v in &self.shared {
            lay.shared.push(add(&mut p, v, ""));
        }
        for (s, sc) in self.scenarios.iter().enumerate() {
            let prefix = format!("s{s}_");
            lay.own
                .push(sc.vars.iter().map(|v| add(&mut p, v, &prefix)).collect());
        }
        let col = |lay: &Layout, s: usize, r: Ref| match r {
            Ref::First(i) => lay.first[i],
            Ref::Shared(i) => lay.shared[i],
            Ref::Own(i) => lay.own[s][i],
        };
        let add_row = |p: &mut Problem, lay: &mut Layout, s: usize, row: &RowDef, prefix: &str| {
            let r = p.add_row(format!("{prefix}{}", row.name), row.lower, row.upper);
            for (rf, v) in &row.terms {
                let c = col(lay, s, *rf);
                p.set(r, c, *v);
            }
            if row.limit {
                lay.limit_rows.push(r.0);
            }
        };
        for row in &self.first_rows {
            add_row(&mut p, &mut lay, 0, row, "");
        }
        for (s, sc) in self.scenarios.iter().enumerate() {
            let prefix = format!("s{s}_");
            for row in &sc.rows {
                add_row(&mut p, &mut lay, s, row, &prefix);
            }
        }
        // Objective: Σ_s p_s · value_s, plus the CVaR term.
        for (s, sc) in self.scenarios.iter().enumerate() {
            for (rf, v) in &sc.obj {
                let c = col(&lay, s, *rf);
                p.obj[c.0 as usize] += sc.prob * v;
            }
            p.obj_offset += sc.prob * sc.constant;
        }
        if let Risk::Cvar { alpha, lambda } = risk {
            if lambda > 0.0 {
                // loss_s = −value_s (max) or value_s (min); CVaR = η + Σ p_s z_s / (1 − α),
                // z_s ≥ loss_s − η, z_s ≥ 0. Penalty sign follows the sense.
                let sign = if self.sense == Sense::Maximize {
                    -1.0
                } else {
                    1.0
                };
                let eta = p.add_col(
                    "cvar_eta",
                    sign * lambda,
                    f64::NEG_INFINITY,
                    f64::INFINITY,
                    false,
                );
                for (s, sc) in self.scenarios.iter().enumerate() {
                    let z = p.add_col(
                        format!("cvar_z{s}"),
                        sign * lambda * sc.prob / (1.0 - alpha),
                        0.0,
                        f64::INFINITY,
                        false,
                    );
                    // z_s + η − loss_s ≥ 0, where loss_s = −sign_v · (terms + constant).
                    let lsign = if self.sense == Sense::Maximize {
                        1.0
                    } else {
                        -1.0
                    };
                    let r = p.add_row(format!("cvar_s{s}"), -lsign * sc.constant, f64::INFINITY);
                    p.set(r, z, 1.0);
                    p.set(r, eta, 1.0);
                    for (rf, v) in &sc.obj {
                        p.set(r, col(&lay, s, *rf), lsign * v);
                    }
                }
            }
        }
        (p, lay)
    }

    /// Size of the extensive form with `risk`, without building it: (columns, rows, non-zeros,
    /// integer columns).
    pub fn size(&self, risk: Risk) -> (usize, usize, usize, usize) {
        let cvar = usize::from(matches!(risk, Risk::Cvar { lambda, .. } if lambda > 0.0));
        let ns = self.scenarios.len();
        let integer = |v: &[VarDef]| v.iter().filter(|d| d.integer).count();
        let terms = |rows: &[RowDef]| rows.iter().map(|r| r.terms.len()).sum::<usize>();
        let columns = self.first.len()
            + self.shared.len()
            + self.scenarios.iter().map(|s| s.vars.len()).sum::<usize>()
            + cvar * (1 + ns);
        let rows = self.first_rows.len()
            + self.scenarios.iter().map(|s| s.rows.len()).sum::<usize>()
            + cvar * ns;
        let nonzeros = terms(&self.first_rows)
            + self.scenarios.iter().map(|s| terms(&s.rows)).sum::<usize>()
            + cvar
                * self
                    .scenarios
                    .iter()
                    .map(|s| 2 + s.obj.len())
                    .sum::<usize>();
        let integer_columns = integer(&self.first)
            + integer(&self.shared)
            + self
                .scenarios
                .iter()
                .map(|s| integer(&s.vars))
                .sum::<usize>();
        (columns, rows, nonzeros, integer_columns)
    }

    /// Each scenario's value at solution `x` of the extensive form.
    pub fn scenario_values(&self, lay: &Layout, x: &[f64]) -> Vec<f64> {
        self.scenarios
            .iter()
            .enumerate()
            .map(|(s, sc)| {
                sc.constant
                    + sc.obj
                        .iter()
                        .map(|(rf, v)| {
                            let c = match rf {
                                Ref::First(i) => lay.first[*i],
                                Ref::Shared(i) => lay.shared[*i],
                                Ref::Own(i) => lay.own[s][*i],
                            };
                            v * x[c.0 as usize]
                        })
                        .sum::<f64>()
            })
            .collect()
    }

    /// Solves the extensive form.
    pub fn solve(
        &self,
        solver: &dyn Solver,
        settings: &SolverSettings,
        risk: Risk,
        fix_first: Option<&[f64]>,
    ) -> Result<Solved, gigawatt_lp::Error> {
        let (problem, layout) = self.extensive_form(risk, fix_first);
        self.solve_built(&problem, layout, solver, settings, risk)
    }

    /// Solves an extensive form already built by [`TwoStage::extensive_form`] with the same
    /// `risk` (so a caller that needs its size, or writes it to MPS, builds it once).
    pub fn solve_built(
        &self,
        problem: &Problem,
        layout: Layout,
        solver: &dyn Solver,
        settings: &SolverSettings,
        risk: Risk,
    ) -> Result<Solved, gigawatt_lp::Error> {
        let solution = solver.solve(problem, settings)?;
        let (first, values) = if solution.status.has_solution() {
            (
                layout
                    .first
                    .iter()
                    .map(|c| solution.x[c.0 as usize])
                    .collect(),
                self.scenario_values(&layout, &solution.x),
            )
        } else {
            (Vec::new(), Vec::new())
        };
        let (expected, cvar_loss) = if values.is_empty() {
            (f64::NAN, f64::NAN)
        } else {
            self.summarise(&values, risk)
        };
        Ok(Solved {
            solution,
            first,
            values,
            expected,
            cvar_loss,
            layout,
        })
    }

    /// The probability-weighted mean of per-scenario `values` and the CVaR of loss at `risk`'s
    /// level (0.95 when risk-neutral): loss is −value when maximising, value when minimising.
    pub fn summarise(&self, values: &[f64], risk: Risk) -> (f64, f64) {
        let probs: Vec<f64> = self.scenarios.iter().map(|s| s.prob).collect();
        let alpha = match risk {
            Risk::Cvar { alpha, .. } => alpha,
            Risk::Neutral => DEFAULT_ALPHA,
        };
        let cvar_loss = if self.sense == Sense::Maximize {
            -gigawatt_risk::cvar_lower(values, &probs, alpha)
        } else {
            gigawatt_risk::cvar_upper(values, &probs, alpha)
        };
        (gigawatt_risk::mean(values, &probs), cvar_loss)
    }

    /// The programme's objective at per-scenario `values`: the probability-weighted mean, less
    /// (maximising) or plus (minimising) λ times the CVaR of loss (see [`TwoStage::summarise`]).
    /// Returns (mean, CVaR of loss, objective).
    pub fn objective_at(&self, values: &[f64], risk: Risk) -> (f64, f64, f64) {
        let (expected, cvar_loss) = self.summarise(values, risk);
        let lambda = match risk {
            Risk::Cvar { lambda, .. } => lambda.max(0.0),
            Risk::Neutral => 0.0,
        };
        let objective = match self.sense {
            Sense::Maximize => expected - lambda * cvar_loss,
            Sense::Minimize => expected + lambda * cvar_loss,
        };
        (expected, cvar_loss, objective)
    }

    /// The same first stage, first-stage rows and shared variables over other scenarios.
    pub fn with_scenarios(&self, scenarios: Vec<ScenarioDef>) -> TwoStage {
        TwoStage {
            sense: self.sense,
            first: self.first.clone(),
            first_rows: self.first_rows.clone(),
            shared: self.shared.clone(),
            scenarios,
        }
    }

    /// The expected-value problem: one scenario whose every coefficient, bound and constant is
    /// the probability-weighted mean over scenarios (scenarios must have the same variables
    /// and rows; missing coefficients count as zero).
    pub fn mean_scenario(&self) -> TwoStage {
        let base = &self.scenarios[0];
        let mut mean = ScenarioDef {
            prob: 1.0,
            vars: base.vars.clone(),
            rows: Vec::new(),
            obj: Vec::new(),
            constant: 0.0,
        };
        for (j, v) in mean.vars.iter_mut().enumerate() {
            v.lower = self
                .scenarios
                .iter()
                .map(|s| s.prob * s.vars[j].lower)
                .sum();
            v.upper = self
                .scenarios
                .iter()
                .map(|s| s.prob * s.vars[j].upper)
                .sum();
            if self.scenarios.iter().any(|s| s.vars[j].lower.is_infinite()) {
                v.lower = base.vars[j].lower;
            }
            if self.scenarios.iter().any(|s| s.vars[j].upper.is_infinite()) {
                v.upper = base.vars[j].upper;
            }
        }
        let avg_terms = |get: &dyn Fn(&ScenarioDef) -> &Vec<(Ref, f64)>| -> Vec<(Ref, f64)> {
            let mut m: BTreeMap<Ref, f64> = BTreeMap::new();
            for s in &self.scenarios {
                for (r, v) in get(s) {
                    *m.entry(*r).or_insert(0.0) += s.prob * v;
                }
            }
            m.into_iter().collect()
        };
        for (i, row) in base.rows.iter().enumerate() {
            let avg_bound = |f: &dyn Fn(&RowDef) -> f64| {
                if self.scenarios.iter().any(|s| f(&s.rows[i]).is_infinite()) {
                    f(row)
                } else {
                    self.scenarios.iter().map(|s| s.prob * f(&s.rows[i])).sum()
                }
            };
            mean.rows.push(RowDef {
                name: row.name.clone(),
                kind: row.kind,
                lower: avg_bound(&|r| r.lower),
                upper: avg_bound(&|r| r.upper),
                terms: avg_terms(&|s| &s.rows[i].terms),
                limit: row.limit,
            });
        }
        mean.obj = avg_terms(&|s| &s.obj);
        mean.constant = self.scenarios.iter().map(|s| s.prob * s.constant).sum();
        self.with_scenarios(vec![mean])
    }

    /// The programme restricted to scenario `s` with probability one.
    pub fn single(&self, s: usize) -> TwoStage {
        let mut one = self.scenarios[s].clone();
        one.prob = 1.0;
        self.with_scenarios(vec![one])
    }

    /// RP, EV, EEV, WS, VSS and EVPI (risk-neutral).
    pub fn value_of_information(
        &self,
        solver: &dyn Solver,
        settings: &SolverSettings,
    ) -> Result<Option<ValueOfInformation>, gigawatt_lp::Error> {
        let rp = self.solve(solver, settings, Risk::Neutral, None)?;
        let ev = self
            .mean_scenario()
            .solve(solver, settings, Risk::Neutral, None)?;
        if !rp.solution.status.has_solution() || !ev.solution.status.has_solution() {
            return Ok(None);
        }
        let eev = self.solve(solver, settings, Risk::Neutral, Some(&ev.first))?;
        let mut eev_infeasible_scenarios = 0;
        let eev_value = if eev.solution.status.has_solution() {
            eev.expected
        } else {
            // Say on how many scenarios the mean-value plan cannot be carried out.
            for s in 0..self.scenarios.len() {
                let one = self
                    .single(s)
                    .solve(solver, settings, Risk::Neutral, Some(&ev.first))?;
                eev_infeasible_scenarios += usize::from(!one.solution.status.has_solution());
            }
            if self.sense == Sense::Maximize {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        };
        let mut ws = 0.0;
        for s in 0..self.scenarios.len() {
            let one = self
                .single(s)
                .solve(solver, settings, Risk::Neutral, None)?;
            if !one.solution.status.has_solution() {
                return Ok(None);
            }
            ws += self.scenarios[s].prob * one.expected;
        }
        let sign = if self.sense == Sense::Maximize {
            1.0
        } else {
            -1.0
        };
        Ok(Some(ValueOfInformation {
            rp: rp.expected,
            ev: ev.expected,
            eev: eev_value,
            ws,
            vss: sign * (rp.expected - eev_value),
            evpi: sign * (ws - rp.expected),
            eev_infeasible_scenarios,
        }))
    }
}
