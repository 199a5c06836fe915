//! L-shaped decomposition of a [`TwoStage`] programme over its scenarios.
//!
//! The master holds the first-stage and shared variables `x` and one value variable θ_s per
//! scenario (multi-cut), or per group of consecutive scenarios ([`DecomposeSettings::groups`]:
//! θ_g over the probability-weighted sum of its scenarios' cuts, fewer master rows per
//! iteration). Scenario `s`'s own variables form a subproblem whose rows' bounds move
//! with `x`: its value V_s(x) (first-stage objective terms included) is concave in `x` when
//! maximising and convex when minimising, so each solve at a point x̂ gives a cut
//! θ_s ≤ V_s(x̂) + g·(x − x̂) (in the maximising orientation) from the subproblem's row duals.
//! A subproblem with no feasible point gives a feasibility cut instead, from the elastic
//! problem that minimises the rows' violation w_s(x): w_s(x̂) + ∂w·(x − x̂) ≤ 0.
//!
//! Bounds: the best value of a point whose every subproblem was solved is a bound on one side
//! (a plan that can be carried out); the master's optimum is a bound on the other (the cuts
//! over-estimate every V_s). The master is bounded by giving every master variable whose
//! bounds are infinite a box `|x| ≤ box_bound`; a result on the box is reported.
//!
//! Iterates come from a level-set regularisation (Lemaréchal, Nemirovskii and Nesterov 1995):
//! the point closest to the incumbent (∞-norm) whose cut model reaches
//! level = bound − λ (bound − best); with λ = 0 the iterate is the master's optimum, the plain
//! multi-cut L-shaped method. Cuts slack for `cut_age` bound solves in a row are dropped
//! (each group keeps its latest). Integer first-stage variables: the relaxation first, then its
//! best point rounded (within the gap of the relaxation's bound, hence of the integer optimum),
//! and only if that falls short, the integer master, whose cuts remain valid because the
//! subproblems are continuous: the method is then exact for the mixed-integer programme.
//!
//! Subproblems are solved in parallel; their results are gathered in scenario order, so the
//! iterates and the answer do not depend on the thread count.

use std::time::Instant;

use gigawatt_lp::{Problem, Sense, Session, Solution, SolveStatus, Solver, SolverSettings, Start};
use rayon::prelude::*;

use crate::separable::{self, Separable};
use crate::two_stage::{Layout, Ref, Risk, Solved, TwoStage, DEFAULT_ALPHA};

/// How the decomposition runs and when it stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecomposeSettings {
    /// Stop when (upper − lower) ≤ gap · |best value| (default 1e-3).
    pub gap: f64,
    /// Stop after this many iterations (default 500).
    pub max_iterations: usize,
    /// Level parameter λ in [0, 1): 0 is the plain multi-cut L-shaped method (default 0.3).
    pub level: f64,
    /// Largest box on master variables whose bounds are infinite (default 1e9, in the
    /// programme's units). The box starts at four times the warm start's largest value and
    /// grows fourfold while the optimum found lies on it.
    pub box_bound: f64,
    /// Cost per unit of violation of a subproblem row that holds master variables (in the
    /// programme's units of value per the row's unit): every subproblem then has a point and
    /// gives an optimality cut; only points with no violation count as plans, and the gap
    /// closes only when the penalty exceeds every row's marginal value. 0 (the default) keeps
    /// the rows hard and cuts violating points off with feasibility cuts, which converged on
    /// the capacity programmes where penalties stalled (see BENCHMARKS.md).
    pub penalty: f64,
    /// Scenarios (evenly spaced; at most half of them) in the small extensive form whose
    /// solution is the first iterate and sizes the box (0: start at zero with the largest box;
    /// default 8).
    pub warm_start: usize,
    /// Cut groups: the paths are split into this many groups of consecutive paths, each with
    /// one value variable and one optimality cut per iteration (the probability-weighted sum
    /// of its paths' cuts). 0, the default, gives every path its own (multi-cut). Fewer groups
    /// keep the master small (fewer rows per iteration) at the price of a coarser model of the
    /// value; with CVaR every path keeps its own, since CVaR needs each path's value.
    pub groups: usize,
    /// Drop a cut slack at this many master solves in a row (0, the default: keep every cut,
    /// but for the integer master's phase, which drops at [`EXACT_CUT_AGE`]). Dropping
    /// rebuilds the master sessions, which lose their warm start: on frontier-lab's LP
    /// masters that cost more than the smaller masters saved (BENCHMARKS.md).
    pub cut_age: usize,
    /// Paths up to which each path's subproblem stays a live solver session between rounds
    /// (HiGHS re-solves it in place: the fastest, but about 2.6 MB a path on frontier-lab);
    /// beyond, each path keeps only the basis its last solve ended at (kilobytes) and its
    /// subproblem is built afresh each round and started from that basis (about 1.25 times the
    /// time and 0.43 times the memory at 1,000 paths; BENCHMARKS.md). Default
    /// [`DEFAULT_WARM_SESSIONS`].
    pub warm_sessions: usize,
    /// Solve a path's subproblem directly where its structure allows (states fixed by the
    /// master point, then one-row blocks: `crate::separable`) instead of by the LP solver
    /// (default true; the answer is the same optimum, much faster).
    pub direct: bool,
}

impl DecomposeSettings {
    /// Whether each path's subproblem is kept as a live session between rounds (HiGHS, hard
    /// rows, at most [`DecomposeSettings::warm_sessions`] paths); otherwise each is rebuilt every
    /// round, from its last basis where the solver keeps one.
    pub fn keeps_sessions(&self, solver: &str, paths: usize) -> bool {
        solver == "highs" && self.penalty == 0.0 && paths <= self.warm_sessions
    }
}

impl Default for DecomposeSettings {
    fn default() -> Self {
        DecomposeSettings {
            gap: 1e-3,
            max_iterations: 500,
            level: 0.3,
            box_bound: 1e9,
            cut_age: 0,
            warm_start: 8,
            penalty: 0.0,
            groups: 0,
            warm_sessions: DEFAULT_WARM_SESSIONS,
            direct: true,
        }
    }
}

/// One iteration's bounds, in the programme's sense and units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Iteration {
    /// 1-based.
    pub iteration: usize,
    /// Lower bound on the optimum (±∞ while unknown).
    pub lower: f64,
    /// Upper bound on the optimum (±∞ while unknown).
    pub upper: f64,
    /// Relative gap (upper − lower) / |best value| (∞ while a bound is unknown).
    pub gap: f64,
    /// Which phase the bounds belong to.
    pub phase: Phase,
    /// Optimality and feasibility cuts in the master.
    pub cuts: usize,
    /// Subproblems that had no feasible point at this iteration's point.
    pub infeasible_subproblems: usize,
    /// Seconds since the start.
    pub seconds: f64,
}

/// The decomposition's phases. A programme without integer master variables has only
/// [`Phase::Exact`]; with them, the relaxation comes first, then its rounding, and the integer
/// master only when the rounding does not close the gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The LP relaxation (integer master variables relaxed): its bounds are the relaxation's.
    Relaxation,
    /// The integer variables fixed at the relaxation's best point, rounded; the continuous
    /// ones optimised again. Lower: the best plan with whole blocks; upper: the relaxation's
    /// bound, which bounds the integer programme too.
    Rounded,
    /// The programme as posed (an integer master when there are integer variables).
    Exact,
}

impl Phase {
    /// Name in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Relaxation => "relaxation",
            Phase::Rounded => "rounded",
            Phase::Exact => "exact",
        }
    }
}

/// A decomposition's answer and how it got there.
#[derive(Debug, Clone)]
pub struct Decomposed {
    /// The best point found, laid out as the extensive form would be (first, shared, then each
    /// scenario's own columns; no CVaR columns), with each scenario's value. The solution's
    /// `bound` and `gap` are the decomposition's.
    pub solved: Solved,
    /// Bounds per iteration.
    pub iterations: Vec<Iteration>,
    /// The gap closed within the iteration limit.
    pub converged: bool,
    /// Master variables with infinite bounds that ended on the box: the answer is then the
    /// optimum within the box only.
    pub on_box: Vec<String>,
}

/// How a subproblem treats rows its master point violates.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Recourse {
    /// As written: infeasible when violated.
    Plain,
    /// Minimise the violation only (for a feasibility cut).
    Elastic,
    /// Pay this much per unit of violation in the scenario's value.
    Penalised(f64),
}

/// Violation (summed over a scenario's rows, in their units) under which a point counts as
/// carrying out the plan.
const FEASIBILITY_TOL: f64 = 1e-6;

/// Penalty per unit of violation when a subproblem is infeasible by no more than
/// [`FEASIBILITY_TOL`].
const TOLERANCE_PENALTY: f64 = 1e4;

/// Penalty per unit of violation (in the programme's units: millions of USD per unit of a
/// row) with which a subproblem that has no feasible point is valued, beside its feasibility
/// cut. The value's cut bounds the programme wherever the penalised value is at least the
/// true one, which holds for any penalty, so the bound stays valid whatever this is; it only
/// decides how fast the iterates find feasible points (startup's cost programme, 30 paths:
/// 61 s at 1 and at 10, 11.5 s at 100, 18 s at 1,000).
const VIOLATION_PENALTY: f64 = 100.0;

/// What a scenario contributes, split between master and subproblem.
#[derive(Debug, Clone, Default)]
struct Split {
    /// Rows with own variables (the subproblem's rows), by index in the scenario.
    sub_rows: Vec<usize>,
    /// Rows with master variables only: master rows.
    master_rows: Vec<usize>,
    /// Master rows implied by the subproblem's rows (row index, terms, lo, hi): necessary
    /// conditions for its feasibility, kept in the master so that iterates respect them.
    /// A row with one own variable y gives what y's bounds imply for its master terms (a
    /// linear decision rule's commitment a + b·ξ_s ≥ 0 on every path); a row whose own
    /// variables are all fixed by such rows as equalities (y = (L − T·x)/c) gives itself with
    /// them substituted (a limit on an option's total over the rules' commitments).
    implied: Vec<Implied>,
    /// Objective terms on master variables (master index, coefficient).
    obj_master: Vec<(usize, f64)>,
}

/// Master terms (master index, coefficient).
type Terms = Vec<(usize, f64)>;

/// A master row implied by a subproblem row: lo ≤ terms·x ≤ hi.
#[derive(Debug, Clone)]
struct Implied {
    terms: Terms,
    lo: f64,
    hi: f64,
}

/// A scenario's subproblem at a master point.
enum Eval {
    /// Optimal: scenario value V_s(x̂) (programme sense, penalties included), the rows'
    /// violation the penalty paid for, its gradient in x, own values; and, when the plain
    /// subproblem had no feasible point and the value is the penalised one, the elastic
    /// violation w(x̂) > 0 and its gradient (a feasibility cut to add beside the value's cut).
    Value {
        value: f64,
        violation: f64,
        grad: Vec<f64>,
        own: Vec<f64>,
        feasibility: Option<(f64, Vec<f64>)>,
    },
    /// No feasible point: the elastic violation w(x̂) > 0 and its gradient.
    Infeasible {
        violation: f64,
        grad: Vec<f64>,
    },
    /// The subproblem is unbounded, or its rows without master variables cannot hold.
    Unbounded,
    Hopeless,
}

/// A scenario's subproblem solved directly, (value, gradient), and its value by the solver.
#[doc(hidden)]
pub type DirectAndSolved = (Option<(f64, Vec<f64>)>, Option<f64>);

/// Every subproblem evaluated at a master point, in scenario order.
type EvaluateAll<'a> = dyn Fn(&[f64]) -> Result<Vec<Eval>, gigawatt_lp::Error> + 'a;

/// Paths up to which, by default, each subproblem is kept as a live HiGHS session between
/// rounds ([`DecomposeSettings::warm_sessions`]): about 2.6 MB a path on frontier-lab, so 1.3 GB
/// at this count; beyond, each path keeps only its last basis.
pub const DEFAULT_WARM_SESSIONS: usize = 500;

/// A subproblem kept as a solver session: its coupled rows' master terms enter through fixed
/// parameter columns (row i: L ≤ W·y + z_i ≤ U with z_i = T_i·x), so a new master point moves
/// only those columns and the solver re-solves from its last basis.
struct WarmSub<'a> {
    session: Box<dyn Session + 'a>,
    /// (parameter column, row index in the scenario) per coupled row.
    params: Vec<(u32, usize)>,
}

/// Threads that each own the warm subproblems of the scenarios s with s mod threads = their
/// index (a HiGHS model stays on the thread that made it). A round sends the master point to
/// every worker and gathers the results by scenario; each scenario's session sees the same
/// points in the same order whatever the thread count, so results do not depend on it.
struct Workers {
    jobs: Vec<std::sync::mpsc::Sender<std::sync::Arc<Vec<f64>>>>,
    results: std::sync::mpsc::Receiver<(usize, Result<Eval, gigawatt_lp::Error>)>,
    scenarios: usize,
}

impl Workers {
    fn spawn<'scope, 'env: 'scope>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        prog: &'env TwoStage,
        splits: &'env [Split],
        direct: &'env [Option<Separable>],
        solver: &'env (dyn Solver + Sync),
        settings: SolverSettings,
    ) -> Workers {
        let ns = prog.scenarios.len();
        let threads = rayon::current_num_threads().clamp(1, ns.max(1));
        let (out, results) = std::sync::mpsc::channel();
        let mut jobs = Vec::with_capacity(threads);
        for id in 0..threads {
            let (job, inbox) = std::sync::mpsc::channel::<std::sync::Arc<Vec<f64>>>();
            let out = out.clone();
            scope.spawn(move || {
                let mine: Vec<usize> = (id..ns).step_by(threads).collect();
                let mut subs: Vec<Option<WarmSub>> = mine.iter().map(|_| None).collect();
                let mut ws = separable::Scratch::default();
                while let Ok(x) = inbox.recv() {
                    for (sub, &s) in subs.iter_mut().zip(&mine) {
                        // Every scenario answers, even if its evaluation panics: the round
                        // waits for all of them.
                        let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            if let Some(e) =
                                prog.evaluate_direct(s, &splits[s], direct[s].as_ref(), &x, &mut ws)
                            {
                                return Ok(e);
                            }
                            prog.evaluate_warm(s, &splits[s], &x, solver, &settings, sub)
                        }))
                        .unwrap_or_else(|_| {
                            *sub = None;
                            Err(gigawatt_lp::Error::SolverFailed {
                                solver: "highs",
                                message: format!("scenario {s}'s subproblem stopped the worker"),
                            })
                        });
                        if out.send((s, e)).is_err() {
                            return;
                        }
                    }
                }
            });
            jobs.push(job);
        }
        Workers {
            jobs,
            results,
            scenarios: ns,
        }
    }

    fn evaluate_all(&self, x: &[f64]) -> Result<Vec<Eval>, gigawatt_lp::Error> {
        let stopped = || gigawatt_lp::Error::SolverFailed {
            solver: "highs",
            message: "a subproblem worker stopped".to_string(),
        };
        let x = std::sync::Arc::new(x.to_vec());
        for job in &self.jobs {
            job.send(x.clone()).map_err(|_| stopped())?;
        }
        let mut got: Vec<Option<Result<Eval, gigawatt_lp::Error>>> =
            (0..self.scenarios).map(|_| None).collect();
        for _ in 0..self.scenarios {
            let (s, e) = self.results.recv().map_err(|_| stopped())?;
            got[s] = Some(e);
        }
        got.into_iter().map(|e| e.ok_or_else(stopped)?).collect()
    }
}

/// A cut in the maximising orientation: θ_s − Σ coef·x ≤ rhs (optimality, `scenario` set) or
/// Σ coef·x ≤ rhs (feasibility).
#[derive(Debug, Clone)]
struct Cut {
    scenario: Option<usize>,
    coef: Vec<(usize, f64)>,
    rhs: f64,
    age: usize,
}

/// Integer master variables exactly integral (a MIP solver leaves them within its tolerance).
fn round_integers(defs: &[&crate::VarDef], x: &mut [f64]) {
    for (v, d) in x.iter_mut().zip(defs) {
        if d.integer {
            *v = v.round();
        }
    }
}

/// How often a rounding that falls short of the gap sends the method back to the relaxation
/// (each time to a quarter of its gap) before the integer master decides.
const RELAXATION_RETURNS: usize = 2;

/// The tightest gap the relaxation is sent back to reach (solvers' tolerances stop the
/// bounds meeting much closer).
const MIN_RELAXATION_GAP: f64 = 1e-6;

/// Iterations in a row without the relaxation's (or the rounding's) gap closing by 0.1 % of
/// itself, within ten times its target, after which that phase counts as solved.
const STALL_ITERATIONS: usize = 8;

/// Master solves in a row a cut may stay slack in the integer master's phase before it is
/// dropped (each path's latest optimality cut stays), when `cut_age` asks for no dropping:
/// every master solve there is a MIP, whose time grows with the rows. startup's cost
/// programme at 20 paths: 164.6 s without, 54.8 s with, the same optimum (1,119.396 $M).
/// A master with fewer cuts is a relaxation of one with more, so the bound stays valid.
const EXACT_CUT_AGE: usize = 10;

/// Relative room under the best rounding's value within which a rounding whose cut bound is
/// lower is still solved: the cuts come from duals accurate to the solvers' tolerances.
const ROUNDING_BOUND_TOL: f64 = 1e-6;

/// Fractional integer variables up to which every floor/ceiling combination is a candidate.
const ROUNDING_ENUMERATE: usize = 4;

/// Integral points near `x` (its integer variables rounded, within `lower`/`upper`; the rest
/// as they are), nearest rounding first. With at most [`ROUNDING_ENUMERATE`] fractional
/// variables, every combination of floors and ceilings; with more, the nearest rounding, all
/// floors, all ceilings, and a rounding that carries each variable's rounding error to the
/// next (so that totals over consecutive commitments stay close to the relaxation's).
fn roundings(
    defs: &[&crate::VarDef],
    x: &[f64],
    (lower, upper): (&[f64], &[f64]),
) -> Vec<Vec<f64>> {
    let frac: Vec<usize> = (0..x.len())
        .filter(|&k| defs[k].integer && x[k].fract() != 0.0)
        .collect();
    let clamp = |mut c: Vec<f64>| {
        for (k, d) in defs.iter().enumerate() {
            if d.integer {
                c[k] = c[k].round().clamp(lower[k], upper[k]);
            }
        }
        c
    };
    let mut out = vec![clamp(x.to_vec())];
    let with = |f: &dyn Fn(usize, f64) -> f64| {
        let mut c = x.to_vec();
        for (i, &k) in frac.iter().enumerate() {
            c[k] = f(i, x[k]);
        }
        clamp(c)
    };
    if frac.len() <= ROUNDING_ENUMERATE {
        for mask in 0..1usize << frac.len() {
            out.push(with(&|i, v| {
                if mask >> i & 1 == 1 {
                    v.ceil()
                } else {
                    v.floor()
                }
            }));
        }
    } else {
        out.push(with(&|_, v| v.floor()));
        out.push(with(&|_, v| v.ceil()));
        let mut c = x.to_vec();
        let mut carry = 0.0;
        for &k in &frac {
            let r = (x[k] + carry).round();
            carry += x[k] - r;
            c[k] = r;
        }
        out.push(clamp(c));
    }
    let mut seen: Vec<Vec<f64>> = Vec::new();
    out.retain(|c| {
        let new = !seen.contains(c);
        if new {
            seen.push(c.clone());
        }
        new
    });
    out
}

/// The cuts so far. A cut's `scenario` is its group's index (a group of consecutive
/// scenarios shares one value variable θ_g).
struct CutPool {
    cuts: Vec<Cut>,
    /// Groups with an optimality cut.
    has_cut: Vec<bool>,
    /// Each group's most recent optimality cut.
    latest: Vec<usize>,
    /// Each scenario's group.
    group_of: Vec<usize>,
    /// Each scenario's weight in its group's cut: p_s / P_g.
    weight: Vec<f64>,
    /// Per master variable, the most |x_k| can be (its bounds, or the decomposition's box).
    reach: Vec<f64>,
}

/// A cut's coefficients under this share of its largest are dropped, and its right-hand side
/// loosened by the most they could contribute (|c_k| times the variable's reach), so the cut
/// stays valid. Duals carry rounding noise: microlp's elastic duals gave feasibility cuts with
/// coefficients from 10⁻³³ to 250 on startup's cost programme, which the next master solve
/// refused (a row spanning 10³⁴).
const CUT_COEF_TOL: f64 = 1e-12;

/// Consecutive scenarios in `groups` groups (every scenario its own for 0 or more groups than
/// scenarios): each scenario's group, its weight p_s / P_g, and each group's probability P_g.
fn cut_groups(probs: &[f64], groups: usize) -> (Vec<usize>, Vec<f64>, Vec<f64>) {
    let ns = probs.len();
    let g = if groups == 0 || groups >= ns {
        ns
    } else {
        groups
    };
    let group_of: Vec<usize> = (0..ns).map(|s| s * g / ns.max(1)).collect();
    let mut total = vec![0.0; g];
    for (s, p) in probs.iter().enumerate() {
        total[group_of[s]] += p;
    }
    let weight = (0..ns)
        .map(|s| {
            if g == ns {
                1.0
            } else {
                probs[s] / total[group_of[s]]
            }
        })
        .collect();
    (group_of, weight, total)
}

impl CutPool {
    /// An empty pool over these groups.
    fn new(group_of: &[usize], weight: &[f64], reach: &[f64]) -> CutPool {
        let groups = group_of.last().map_or(0, |g| g + 1);
        CutPool {
            cuts: Vec::new(),
            has_cut: vec![false; groups],
            latest: vec![usize::MAX; groups],
            group_of: group_of.to_vec(),
            weight: weight.to_vec(),
            reach: reach.to_vec(),
        }
    }
}

/// The best point found so far (maximising orientation).
#[derive(Debug, Clone)]
struct Incumbent {
    value: f64,
    x: Vec<f64>,
    own: Vec<Vec<f64>>,
    values: Vec<f64>,
}

impl Default for Incumbent {
    fn default() -> Self {
        Incumbent {
            value: f64::NEG_INFINITY,
            x: Vec::new(),
            own: Vec::new(),
            values: Vec::new(),
        }
    }
}

impl CutPool {
    /// Adds `cut` without its negligible coefficients ([`CUT_COEF_TOL`]).
    fn push(&mut self, mut cut: Cut) {
        let largest = cut.coef.iter().fold(0.0f64, |m, (_, c)| m.max(c.abs()));
        let mut loosen = 0.0;
        cut.coef.retain(|(k, c)| {
            let keep = c.abs() > CUT_COEF_TOL * largest;
            if !keep {
                loosen += c.abs() * self.reach[*k];
            }
            keep
        });
        cut.rhs += loosen;
        self.cuts.push(cut);
    }

    /// Counts, per cut, the master solves in a row (`xm`, θ from column `theta`) at which it
    /// was slack.
    fn age(&mut self, xm: &[f64], theta: usize) {
        for c in self.cuts.iter_mut() {
            let mut act: f64 = c.coef.iter().map(|(k, g)| -g * xm[*k]).sum();
            if let Some(s) = c.scenario {
                act += xm[theta + s];
            } else {
                act = -act;
            }
            if c.rhs - act > BINDING_TOL * (1.0 + c.rhs.abs()) {
                c.age += 1;
            } else {
                c.age = 0;
            }
        }
    }

    /// The cuts' bound on the expected value at `x` (maximising orientation): each group's
    /// least optimality cut there, weighted by the group's probability (+∞ while a group has
    /// none). Every cut holds at every point, so no plan at `x` is worth more.
    fn bound_at(&self, x: &[f64], group_probs: &[f64]) -> f64 {
        let mut least = vec![f64::INFINITY; group_probs.len()];
        for c in &self.cuts {
            if let Some(g) = c.scenario {
                let at = c.rhs + c.coef.iter().map(|(k, v)| v * x[*k]).sum::<f64>();
                least[g] = least[g].min(at);
            }
        }
        least
            .iter()
            .zip(group_probs)
            .filter(|(_, p)| **p > 0.0)
            .map(|(l, p)| p * l)
            .sum()
    }

    /// Drops optimality cuts slack for more than `age` master solves in a row, except each
    /// scenario's latest; feasibility cuts stay.
    fn drop_old(&mut self, age: usize) -> bool {
        let keep: Vec<bool> = self
            .cuts
            .iter()
            .enumerate()
            .map(|(i, c)| c.age <= age || c.scenario.is_none_or(|s| self.latest[s] == i))
            .collect();
        if keep.iter().all(|k| *k) {
            return false;
        }
        let mut i = 0;
        self.cuts.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        for (i, c) in self.cuts.iter().enumerate() {
            if let Some(s) = c.scenario {
                self.latest[s] = i;
            }
        }
        true
    }
}

/// Every subproblem's outcome at one point.
struct Round {
    /// Each scenario's value (programme sense), when it had a point.
    values: Vec<f64>,
    /// Each scenario's own variables' values.
    owns: Vec<Vec<f64>>,
    /// Subproblems with no feasible point.
    infeasible: usize,
}

/// A cut as a master row: (lower, upper, terms); θ_s is column `theta + s`.
fn cut_row(c: &Cut, theta: usize) -> (f64, f64, Vec<(u32, f64)>) {
    let (sign, mut terms) = match c.scenario {
        Some(s) => (-1.0, vec![((theta + s) as u32, 1.0)]),
        None => (1.0, Vec::new()),
    };
    terms.extend(c.coef.iter().map(|(k, g)| (*k as u32, sign * g)));
    (f64::NEG_INFINITY, c.rhs, terms)
}

/// The bound master and the level step's projection problem, kept as solver sessions between
/// iterations (HiGHS re-solves from its last basis): each iteration adds the new cuts and moves
/// parameter columns. Columns: the master variables, θ from `theta`; the projection also has
/// the centre's values (fixed columns from `centre`), the distance, and the level (a fixed
/// column, free when there is no level).
struct Masters<'a> {
    bound: Box<dyn Session + 'a>,
    proj: Box<dyn Session + 'a>,
    /// Pool cuts already added.
    cuts_in: usize,
    has_cut: Vec<bool>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    probs: Vec<f64>,
    theta: usize,
    centre: usize,
    level: usize,
}

impl<'a> Masters<'a> {
    /// The sessions for the master as it stands: `base` (from [`TwoStage::master_base`]) and
    /// every cut in `pool`.
    fn new(
        solver: &'a dyn Solver,
        base: Problem,
        pool: &CutPool,
        (lower, upper): (&[f64], &[f64]),
        probs: Vec<f64>,
        (alpha, lambda): (f64, f64),
    ) -> Result<Masters<'a>, gigawatt_lp::Error> {
        let n = lower.len();
        let theta = n;
        let ns = probs.len();
        let mut p = base.clone();
        p.sense = Sense::Minimize;
        p.obj.iter_mut().for_each(|c| *c = 0.0);
        // The level row: the master's objective with every θ weighted (θ without a cut is
        // held at 0 by its bounds).
        let mut value: Vec<(u32, f64)> = (0..ns).map(|s| ((theta + s) as u32, probs[s])).collect();
        if lambda > 0.0 {
            let eta = theta + ns;
            value.push((eta as u32, -lambda));
            value.extend(
                (0..ns).map(|s| ((eta + 1 + s) as u32, -lambda * probs[s] / (1.0 - alpha))),
            );
        }
        let centre = p.num_cols();
        for k in 0..n {
            p.add_col(format!("centre{k}"), 0.0, 0.0, 0.0, false);
        }
        let t = p.add_col("distance", 1.0, 0.0, f64::INFINITY, false);
        for k in 0..n {
            let (x, c) = (
                gigawatt_lp::Col(k as u32),
                gigawatt_lp::Col((centre + k) as u32),
            );
            let up = p.add_row(format!("near_up{k}"), f64::NEG_INFINITY, 0.0);
            p.set(up, x, 1.0);
            p.set(up, t, -1.0);
            p.set(up, c, -1.0);
            let down = p.add_row(format!("near_down{k}"), 0.0, f64::INFINITY);
            p.set(down, x, 1.0);
            p.set(down, t, 1.0);
            p.set(down, c, -1.0);
        }
        let level = p.add_col("level", 0.0, f64::NEG_INFINITY, f64::INFINITY, false);
        let r = p.add_row("level", 0.0, f64::INFINITY);
        for (j, w) in &value {
            p.set(r, gigawatt_lp::Col(*j), *w);
        }
        p.set(r, level, -1.0);
        let mut m = Masters {
            bound: gigawatt_lp::session(solver, base),
            proj: gigawatt_lp::session(solver, p),
            cuts_in: 0,
            has_cut: pool.has_cut.clone(),
            lower: lower.to_vec(),
            upper: upper.to_vec(),
            probs,
            theta,
            centre,
            level: level.0 as usize,
        };
        m.sync(pool, lower, upper)?;
        Ok(m)
    }

    /// Appends `rows` to both masters, in one call each.
    fn add_rows(&mut self, rows: &[gigawatt_lp::RowRef]) -> Result<(), gigawatt_lp::Error> {
        self.bound.add_rows(rows)?;
        self.proj.add_rows(rows)
    }

    /// Adds the pool's new cuts and moves θ and box bounds that changed.
    fn sync(
        &mut self,
        pool: &CutPool,
        lower: &[f64],
        upper: &[f64],
    ) -> Result<(), gigawatt_lp::Error> {
        let new: Vec<LazyRow> = pool.cuts[self.cuts_in..]
            .iter()
            .map(|c| cut_row(c, self.theta))
            .collect();
        let rows: Vec<gigawatt_lp::RowRef> = new
            .iter()
            .map(|(lo, hi, terms)| (*lo, *hi, terms.as_slice()))
            .collect();
        self.add_rows(&rows)?;
        self.cuts_in = pool.cuts.len();
        for (s, h) in pool.has_cut.iter().enumerate() {
            if *h && !self.has_cut[s] {
                let col = (self.theta + s) as u32;
                self.bound
                    .set_col(col, self.probs[s], f64::NEG_INFINITY, f64::INFINITY)?;
                self.proj
                    .set_col(col, 0.0, f64::NEG_INFINITY, f64::INFINITY)?;
                self.has_cut[s] = true;
            }
        }
        for k in 0..lower.len() {
            if lower[k] != self.lower[k] || upper[k] != self.upper[k] {
                self.bound.set_col(k as u32, 0.0, lower[k], upper[k])?;
                self.proj.set_col(k as u32, 0.0, lower[k], upper[k])?;
                self.lower[k] = lower[k];
                self.upper[k] = upper[k];
            }
        }
        Ok(())
    }

    /// The point nearest `centre` (∞-norm over the master variables) whose cut model reaches
    /// `level` (any value with None), within every master row and cut.
    fn project(
        &mut self,
        centre: &[f64],
        level: Option<f64>,
        settings: &SolverSettings,
        implied: &mut (&[LazyRow], Vec<bool>),
    ) -> Result<Solution, gigawatt_lp::Error> {
        for (k, c) in centre.iter().enumerate() {
            self.proj.set_col((self.centre + k) as u32, 0.0, *c, *c)?;
        }
        let (lo, hi) = level.map_or((f64::NEG_INFINITY, f64::INFINITY), |l| (l, l));
        self.proj.set_col(self.level as u32, 0.0, lo, hi)?;
        self.lazy_solve(false, settings, implied)
    }

    /// Solves the bound master (or the projection), adding to both sessions the implied rows
    /// its point violates (`implied.1` marks those already in), until it violates none: the
    /// point and its value are then those of the master with every implied row.
    fn lazy_solve(
        &mut self,
        bound: bool,
        settings: &SolverSettings,
        implied: &mut (&[LazyRow], Vec<bool>),
    ) -> Result<Solution, gigawatt_lp::Error> {
        loop {
            let sol = if bound {
                self.bound.solve(settings)?
            } else {
                self.proj.solve(settings)?
            };
            if !sol.status.has_solution() {
                return Ok(sol);
            }
            let (rows, active) = implied;
            let mut added = Vec::new();
            for (i, (lo, hi, terms)) in rows.iter().enumerate() {
                if active[i] {
                    continue;
                }
                let a: f64 = terms.iter().map(|(c, v)| v * sol.x[*c as usize]).sum();
                if a < lo - IMPLIED_TOL * lo.abs().max(1.0)
                    || a > hi + IMPLIED_TOL * hi.abs().max(1.0)
                {
                    added.push((*lo, *hi, terms.as_slice()));
                    active[i] = true;
                }
            }
            if added.is_empty() {
                return Ok(sol);
            }
            self.add_rows(&added)?;
        }
    }
}

/// A master row implied by a subproblem's rows: (lower, upper, terms over master columns).
type LazyRow = (f64, f64, Vec<(u32, f64)>);

/// Violation (relative to max(1, |bound|)) beyond which a master point breaks an implied row
/// not yet in the master.
const IMPLIED_TOL: f64 = 1e-7;

/// Relative slack under which a cut counts as binding.
const BINDING_TOL: f64 = 1e-7;

impl TwoStage {
    fn master_index(&self, r: Ref) -> Option<usize> {
        match r {
            Ref::First(i) => Some(i),
            Ref::Shared(i) => Some(self.first.len() + i),
            Ref::Own(_) => None,
        }
    }

    /// The master-variable terms of `terms` (master index, coefficient).
    fn master_terms(&self, terms: &[(Ref, f64)]) -> Terms {
        terms
            .iter()
            .filter_map(|(r, v)| self.master_index(*r).map(|k| (k, *v)))
            .collect()
    }

    fn splits(&self) -> Vec<Split> {
        self.scenarios
            .iter()
            .map(|sc| {
                let mut sp = Split::default();
                // Own variables an equality row fixes to (L − T·x)/c: (c, L, T).
                let mut defined: Vec<Option<(f64, f64, Terms)>> = vec![None; sc.vars.len()];
                let mut single = vec![false; sc.rows.len()];
                for (i, row) in sc.rows.iter().enumerate() {
                    let own: Vec<(usize, f64)> = row
                        .terms
                        .iter()
                        .filter_map(|(r, v)| match r {
                            Ref::Own(j) => Some((*j, *v)),
                            _ => None,
                        })
                        .collect();
                    if own.is_empty() {
                        sp.master_rows.push(i);
                        continue;
                    }
                    sp.sub_rows.push(i);
                    let coupled = own.len() < row.terms.len();
                    if let ([(j, c)], true) = (own.as_slice(), coupled) {
                        if *c == 0.0 {
                            continue;
                        }
                        single[i] = true;
                        // c·y over y's bounds spans [lo, hi]; L ≤ c·y + T·x ≤ U then needs
                        // L − hi ≤ T·x ≤ U − lo.
                        let v = &sc.vars[*j];
                        let (a, b) = (c * v.lower, c * v.upper);
                        let (lo, hi) = (a.min(b), a.max(b));
                        let (t_lo, t_hi) = (row.lower - hi, row.upper - lo);
                        if t_lo.is_finite() || t_hi.is_finite() {
                            sp.implied.push(Implied {
                                terms: self.master_terms(&row.terms),
                                lo: t_lo,
                                hi: t_hi,
                            });
                        }
                        if row.lower == row.upper && row.lower.is_finite() && defined[*j].is_none()
                        {
                            defined[*j] = Some((*c, row.lower, self.master_terms(&row.terms)));
                        }
                    }
                }
                for &i in &sp.sub_rows {
                    let row = &sc.rows[i];
                    if single[i] {
                        continue;
                    }
                    let mut terms = self.master_terms(&row.terms);
                    let mut constant = 0.0;
                    let all_defined = row.terms.iter().all(|(r, v)| match r {
                        Ref::Own(j) => match &defined[*j] {
                            Some((c, l, t)) => {
                                constant += v * l / c;
                                terms.extend(t.iter().map(|(k, tk)| (*k, -v * tk / c)));
                                true
                            }
                            None => false,
                        },
                        _ => true,
                    });
                    if all_defined && (row.lower.is_finite() || row.upper.is_finite()) {
                        sp.implied.push(Implied {
                            terms,
                            lo: row.lower - constant,
                            hi: row.upper - constant,
                        });
                    }
                }
                sp.obj_master = self.master_terms(&sc.obj);
                sp
            })
            .collect()
    }

    /// Scenario `s`'s subproblem at master point `xm`: its own variables and the rows that
    /// hold them, master terms moved into the bounds. `elastic` minimises the violation of the
    /// rows with master terms instead of the scenario's objective.
    fn subproblem(&self, s: usize, sp: &Split, xm: &[f64], mode: Recourse) -> Problem {
        let sc = &self.scenarios[s];
        let elastic = mode == Recourse::Elastic;
        let mut p = Problem::new(if elastic { Sense::Minimize } else { self.sense });
        let slack_cost = match mode {
            Recourse::Plain => None,
            Recourse::Elastic => Some(1.0),
            // A unit of violation costs `m` in the scenario's value.
            Recourse::Penalised(m) if self.sense == Sense::Maximize => Some(-m),
            Recourse::Penalised(m) => Some(m),
        };
        // Unnamed: a subproblem is built every round on every path and never written out, and
        // its names were an allocation per column and row.
        for v in &sc.vars {
            p.add_col(String::new(), 0.0, v.lower, v.upper, false);
        }
        if !elastic {
            for (r, v) in &sc.obj {
                if let Ref::Own(j) = r {
                    p.obj[*j] += v;
                }
            }
        }
        for &i in &sp.sub_rows {
            let row = &sc.rows[i];
            let coupling = self.master_shift(row, xm);
            let shift = coupling.unwrap_or(0.0);
            let coupled = coupling.is_some();
            let r = p.add_row(String::new(), row.lower - shift, row.upper - shift);
            for (rf, v) in &row.terms {
                if let Ref::Own(j) = rf {
                    p.set(r, gigawatt_lp::Col(*j as u32), *v);
                }
            }
            if let (Some(cost), true) = (slack_cost, coupled) {
                let up = p.add_col("slack_up", cost, 0.0, f64::INFINITY, false);
                let down = p.add_col("slack_down", cost, 0.0, f64::INFINITY, false);
                p.set(r, up, 1.0);
                p.set(r, down, -1.0);
            }
        }
        p
    }

    /// ∂/∂x of a subproblem value whose row duals are `duals`: a unit of master variable k
    /// moves row i's bounds by −T_ik.
    fn dual_gradient(&self, s: usize, sp: &Split, duals: &[f64], grad: &mut [f64]) {
        let sc = &self.scenarios[s];
        for (d, &i) in duals.iter().zip(&sp.sub_rows) {
            if *d == 0.0 {
                continue;
            }
            for (r, v) in &sc.rows[i].terms {
                if let Some(k) = self.master_index(*r) {
                    grad[k] -= d * v;
                }
            }
        }
    }

    /// A subproblem's optimum as an evaluation: its value V_s(x̂) (constant and first-stage
    /// terms added), the gradient from its row duals, and its own variables' values (the first
    /// of `x`).
    fn valued(
        &self,
        s: usize,
        sp: &Split,
        xm: &[f64],
        (objective, duals): (f64, &[f64]),
        violation: f64,
        mut x: Vec<f64>,
    ) -> Eval {
        let sc = &self.scenarios[s];
        let mut grad = vec![0.0; xm.len()];
        let mut value = sc.constant + objective;
        for &(k, v) in &sp.obj_master {
            grad[k] += v;
            value += v * xm[k];
        }
        self.dual_gradient(s, sp, duals, &mut grad);
        x.truncate(sc.vars.len());
        Eval::Value {
            value,
            violation,
            grad,
            own: x,
            feasibility: None,
        }
    }

    /// T_i·x for a row's master terms (None when it has none): what the master point moves
    /// the row's bounds by.
    fn master_shift(&self, row: &crate::RowDef, xm: &[f64]) -> Option<f64> {
        let mut shift = None;
        for (r, v) in &row.terms {
            if let Some(k) = self.master_index(*r) {
                shift = Some(shift.unwrap_or(0.0) + v * xm[k]);
            }
        }
        shift
    }

    /// Every scenario's subproblem at master point `xm` (first then shared values), solved
    /// directly where its structure and the point allow (`crate::separable`): its value and
    /// gradient; and its value by `solver` (None where it has no feasible point). For tests
    /// that hold the direct solution to the solver's.
    #[doc(hidden)]
    pub fn direct_and_solved(
        &self,
        solver: &(dyn Solver + Sync),
        xm: &[f64],
    ) -> Result<Vec<DirectAndSolved>, gigawatt_lp::Error> {
        let splits = self.splits();
        let settings = SolverSettings::default();
        let mut ws = separable::Scratch::default();
        (0..self.scenarios.len())
            .map(|s| {
                let sp = &splits[s];
                let direct = Separable::analyse(&self.scenarios[s], &sp.sub_rows);
                let d = match self.evaluate_direct(s, sp, direct.as_ref(), xm, &mut ws) {
                    Some(Eval::Value { value, grad, .. }) => Some((value, grad)),
                    _ => None,
                };
                let p = self.subproblem(s, sp, xm, Recourse::Plain);
                let sol = solver.solve(&p, &settings)?;
                let value = match sol.status {
                    SolveStatus::Optimal => {
                        match self.valued(s, sp, xm, (sol.objective, &[]), 0.0, sol.x) {
                            Eval::Value { value, .. } => Some(value),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                Ok((d, value))
            })
            .collect()
    }

    /// Scenario `s`'s plain subproblem at `xm` solved directly (`crate::separable`), when its
    /// structure and the point allow; None leaves it to the LP solver.
    fn evaluate_direct(
        &self,
        s: usize,
        sp: &Split,
        direct: Option<&Separable>,
        xm: &[f64],
        ws: &mut separable::Scratch,
    ) -> Option<Eval> {
        let d = direct?;
        let shift = |r: &crate::RowDef| self.master_shift(r, xm).unwrap_or(0.0);
        let maximise = self.sense == Sense::Maximize;
        let (objective, duals, y) =
            d.evaluate(&self.scenarios[s], &sp.sub_rows, &shift, maximise, ws)?;
        Some(self.valued(s, sp, xm, (objective, &duals), 0.0, y))
    }

    /// The plain subproblem with parameter columns for its coupled rows (see [`WarmSub`]).
    fn warm_subproblem(&self, s: usize, sp: &Split) -> (Problem, Vec<(u32, usize)>) {
        let sc = &self.scenarios[s];
        let zero = vec![0.0; self.first.len() + self.shared.len()];
        let mut p = self.subproblem(s, sp, &zero, Recourse::Plain);
        let mut params = Vec::new();
        for (r, &i) in sp.sub_rows.iter().enumerate() {
            if self.master_shift(&sc.rows[i], &zero).is_some() {
                let z = p.add_col("param", 0.0, 0.0, 0.0, false);
                p.set(gigawatt_lp::Row(r as u32), z, 1.0);
                params.push((z.0, i));
            }
        }
        (p, params)
    }

    /// [`TwoStage::evaluate`] (plain recourse) on the scenario's warm session `warm` (made on
    /// first use): the parameter columns moved to `xm` and the LP re-solved from its last
    /// basis. A subproblem with no feasible point, or a session that fails, goes the cold way.
    fn evaluate_warm<'a>(
        &self,
        s: usize,
        sp: &Split,
        xm: &[f64],
        solver: &'a (dyn Solver + Sync),
        settings: &SolverSettings,
        warm: &mut Option<WarmSub<'a>>,
    ) -> Result<Eval, gigawatt_lp::Error> {
        let w = warm.get_or_insert_with(|| {
            let (p, params) = self.warm_subproblem(s, sp);
            WarmSub {
                session: gigawatt_lp::session(solver, p),
                params,
            }
        });
        let sc = &self.scenarios[s];
        let solved = (|| {
            for &(col, i) in &w.params {
                let shift = self.master_shift(&sc.rows[i], xm).unwrap_or(0.0);
                w.session.set_col(col, 0.0, shift, shift)?;
            }
            w.session.solve_with_duals(settings)
        })();
        match solved {
            Ok((sol, duals))
                if sol.status == SolveStatus::Optimal && duals.len() == sp.sub_rows.len() =>
            {
                Ok(self.valued(s, sp, xm, (sol.objective, &duals), 0.0, sol.x))
            }
            Ok((sol, _)) if sol.status == SolveStatus::Unbounded => Ok(Eval::Unbounded),
            Ok(_) => self.evaluate(s, sp, xm, solver, settings, 0.0),
            Err(_) => {
                *warm = None;
                self.evaluate(s, sp, xm, solver, settings, 0.0)
            }
        }
    }

    fn evaluate(
        &self,
        s: usize,
        sp: &Split,
        xm: &[f64],
        solver: &(dyn Solver + Sync),
        settings: &SolverSettings,
        penalty: f64,
    ) -> Result<Eval, gigawatt_lp::Error> {
        self.evaluate_from(
            s,
            sp,
            xm,
            (solver, settings),
            penalty,
            &mut Start::default(),
        )
    }

    /// [`TwoStage::evaluate`] starting from `start`, where this scenario's last subproblem
    /// ended (if any), and leaving in it where this one ends.
    fn evaluate_from(
        &self,
        s: usize,
        sp: &Split,
        xm: &[f64],
        (solver, settings): (&(dyn Solver + Sync), &SolverSettings),
        penalty: f64,
        start: &mut Start,
    ) -> Result<Eval, gigawatt_lp::Error> {
        let n = xm.len();
        let sc = &self.scenarios[s];
        let mode = if penalty > 0.0 {
            Recourse::Penalised(penalty)
        } else {
            Recourse::Plain
        };
        let p = self.subproblem(s, sp, xm, mode);
        let (sol, duals) = solver.solve_with_duals_from(&p, settings, start)?;
        match sol.status {
            SolveStatus::Optimal => {
                let nv = sc.vars.len();
                let violation = sol.x[nv..].iter().sum();
                Ok(self.valued(s, sp, xm, (sol.objective, &duals), violation, sol.x))
            }
            SolveStatus::Unbounded => Ok(Eval::Unbounded),
            SolveStatus::Infeasible if penalty > 0.0 => Ok(Eval::Hopeless),
            SolveStatus::Infeasible => {
                let e = self.subproblem(s, sp, xm, Recourse::Elastic);
                let (sol, duals) = solver.solve_with_duals(&e, settings)?;
                if sol.status != SolveStatus::Optimal {
                    return Ok(Eval::Hopeless);
                }
                if sol.objective <= FEASIBILITY_TOL {
                    // Infeasible only at the solver's tolerance: a feasibility cut would not
                    // move the master. Value the point with the violation paid for instead.
                    return self.evaluate(s, sp, xm, solver, settings, TOLERANCE_PENALTY);
                }
                let mut grad = vec![0.0; n];
                self.dual_gradient(s, sp, &duals, &mut grad);
                // Valued with the violation paid for, so that the master sees what the point
                // costs as well as where it stops being feasible: feasibility cuts alone left
                // startup's cost programme (30 paths) without a feasible point for 450
                // iterations.
                match self.evaluate(s, sp, xm, solver, settings, VIOLATION_PENALTY)? {
                    Eval::Value {
                        value,
                        violation,
                        grad: value_grad,
                        own,
                        ..
                    } => Ok(Eval::Value {
                        value,
                        violation: violation.max(sol.objective),
                        grad: value_grad,
                        own,
                        feasibility: Some((sol.objective, grad)),
                    }),
                    _ => Ok(Eval::Infeasible {
                        violation: sol.objective,
                        grad,
                    }),
                }
            }
            _ => Err(gigawatt_lp::Error::SolverFailed {
                solver: solver.name(),
                message: format!("scenario {s}'s subproblem stopped {}", sol.status.as_str()),
            }),
        }
    }

    /// The first and shared values of the extensive form over `m` (at most half) evenly spaced
    /// scenarios (probabilities renormalised), or None for a single scenario or when it has no
    /// solution.
    fn warm_start(
        &self,
        solver: &(dyn Solver + Sync),
        settings: &SolverSettings,
        risk: Risk,
        m: usize,
    ) -> Option<Vec<f64>> {
        let ns = self.scenarios.len();
        // Half the scenarios at most: the whole set would be the extensive form itself.
        let m = m.min(ns / 2);
        if m == 0 {
            return None;
        }
        let mut small =
            self.with_scenarios((0..m).map(|i| self.scenarios[i * ns / m].clone()).collect());
        let total: f64 = small.scenarios.iter().map(|s| s.prob).sum();
        for sc in &mut small.scenarios {
            sc.prob /= total;
        }
        let solved = small.solve(solver, settings, risk, None).ok()?;
        if !solved.solution.status.has_solution() {
            return None;
        }
        let lay = &solved.layout;
        Some(
            lay.first
                .iter()
                .chain(&lay.shared)
                .map(|c| solved.solution.x[c.0 as usize])
                .collect(),
        )
    }

    /// Solves every subproblem at `x` in parallel (gathered in scenario order) and adds their
    /// cuts to `pool`. `Err(status)` when the programme is found unbounded or infeasible.
    fn round(
        &self,
        x: &[f64],
        evaluate_all: &EvaluateAll,
        sgn: f64,
        pool: &mut CutPool,
    ) -> Result<Result<Round, SolveStatus>, gigawatt_lp::Error> {
        let evals = evaluate_all(x)?;
        let mut r = Round {
            values: Vec::with_capacity(evals.len()),
            owns: Vec::with_capacity(evals.len()),
            infeasible: 0,
        };
        let linear = |grad: Vec<f64>, k: f64| -> Vec<(usize, f64)> {
            grad.iter()
                .enumerate()
                .filter(|(_, g)| **g != 0.0)
                .map(|(j, g)| (j, k * g))
                .collect()
        };
        let at = |coef: &[(usize, f64)]| coef.iter().map(|(k, g)| g * x[*k]).sum::<f64>();
        // w(x̂) + ∂w·(x − x̂) ≤ 0 for an elastic violation w(x̂) and its gradient.
        let feasibility_cut = |pool: &mut CutPool, grad: Vec<f64>, w: f64| {
            let coef = linear(grad, 1.0);
            let rhs = at(&coef) - w;
            pool.push(Cut {
                scenario: None,
                coef,
                rhs,
                age: 0,
            });
        };
        let ns = self.scenarios.len();
        // A group's cut so far (dense gradient, right-hand side) and whether each of its
        // scenarios gave an optimality cut; a group of one pushes its scenario's cut as is.
        let mut acc = vec![0.0; x.len()];
        let mut acc_rhs = 0.0;
        let mut whole = true;
        for (s, e) in evals.into_iter().enumerate() {
            let g = pool.group_of[s];
            let last_of_group = s + 1 == ns || pool.group_of[s + 1] != g;
            let single = last_of_group && (s == 0 || pool.group_of[s - 1] != g);
            match e {
                Eval::Value {
                    value,
                    violation,
                    grad,
                    own,
                    feasibility,
                } => {
                    if violation > FEASIBILITY_TOL {
                        r.infeasible += 1;
                    }
                    if let Some((w, fgrad)) = feasibility {
                        feasibility_cut(pool, fgrad, w);
                    }
                    let coef = linear(grad, sgn);
                    let rhs = sgn * value - at(&coef);
                    let cut = if single {
                        Some((coef, rhs))
                    } else {
                        let w = pool.weight[s];
                        for (k, c) in &coef {
                            acc[*k] += w * c;
                        }
                        acc_rhs += w * rhs;
                        (last_of_group && whole).then(|| {
                            let coef = acc
                                .iter()
                                .enumerate()
                                .filter(|(_, c)| **c != 0.0)
                                .map(|(k, c)| (k, *c))
                                .collect();
                            (coef, acc_rhs)
                        })
                    };
                    if let Some((coef, rhs)) = cut {
                        pool.latest[g] = pool.cuts.len();
                        pool.has_cut[g] = true;
                        pool.push(Cut {
                            scenario: Some(g),
                            coef,
                            rhs,
                            age: 0,
                        });
                    }
                    r.values.push(value);
                    r.owns.push(own);
                }
                Eval::Infeasible { violation, grad } => {
                    // The group has no optimality cut this round.
                    whole = false;
                    r.infeasible += 1;
                    feasibility_cut(pool, grad, violation);
                }
                Eval::Unbounded => return Ok(Err(SolveStatus::Unbounded)),
                Eval::Hopeless => return Ok(Err(SolveStatus::Infeasible)),
            }
            if last_of_group {
                acc.iter_mut().for_each(|c| *c = 0.0);
                acc_rhs = 0.0;
                whole = true;
            }
        }
        Ok(Ok(r))
    }

    /// Solves the programme by decomposition. `progress` hears each iteration's bounds.
    pub fn solve_decomposed(
        &self,
        solver: &(dyn Solver + Sync),
        settings: &SolverSettings,
        risk: Risk,
        dset: &DecomposeSettings,
        progress: &mut dyn FnMut(&Iteration),
    ) -> Result<Decomposed, gigawatt_lp::Error> {
        let splits = self.splits();
        let sub_settings = SolverSettings {
            threads: 1,
            ..*settings
        };
        let ns = self.scenarios.len();
        // Hard rows only: a penalised subproblem may trade violation for value.
        let direct: Vec<Option<Separable>> = if dset.direct && dset.penalty == 0.0 {
            self.scenarios
                .par_iter()
                .zip(&splits)
                .map(|(sc, sp)| Separable::analyse(sc, &sp.sub_rows))
                .collect()
        } else {
            vec![None; ns]
        };
        let direct = &direct;
        if !dset.keeps_sessions(solver.name(), ns) {
            // Each scenario keeps the basis its last subproblem ended at (a status per column
            // and row: kilobytes, against megabytes for a live session) and starts the next
            // from it. A scenario's bases follow the same master points whatever the thread
            // count, so results do not depend on it.
            let starts: Vec<std::sync::Mutex<Start>> =
                (0..ns).map(|_| std::sync::Mutex::default()).collect();
            let cold = |x: &[f64]| -> Result<Vec<Eval>, gigawatt_lp::Error> {
                (0..ns)
                    .into_par_iter()
                    .map_init(separable::Scratch::default, |ws, s| {
                        if let Some(e) =
                            self.evaluate_direct(s, &splits[s], direct[s].as_ref(), x, ws)
                        {
                            return Ok(e);
                        }
                        let mut start = starts[s].lock().unwrap_or_else(|e| e.into_inner());
                        let run = (solver, &sub_settings);
                        self.evaluate_from(s, &splits[s], x, run, dset.penalty, &mut start)
                    })
                    .collect()
            };
            let run = (solver, settings, risk, dset);
            return self.decompose_with(run, progress, (&splits, &cold));
        }
        std::thread::scope(|scope| {
            let workers = Workers::spawn(scope, self, &splits, direct, solver, sub_settings);
            let all = |x: &[f64]| workers.evaluate_all(x);
            self.decompose_with((solver, settings, risk, dset), progress, (&splits, &all))
        })
    }

    /// [`TwoStage::solve_decomposed`] (its solver, settings, risk and decomposition settings
    /// in `run`) with the subproblems evaluated by `evaluate_all`.
    fn decompose_with(
        &self,
        run: (
            &(dyn Solver + Sync),
            &SolverSettings,
            Risk,
            &DecomposeSettings,
        ),
        progress: &mut dyn FnMut(&Iteration),
        (splits, evaluate_all): (&[Split], &EvaluateAll),
    ) -> Result<Decomposed, gigawatt_lp::Error> {
        let (solver, settings, risk, dset) = run;
        let started = Instant::now();
        let sgn = if self.sense == Sense::Maximize {
            1.0
        } else {
            -1.0
        };
        let nf = self.first.len();
        let n = nf + self.shared.len();
        let probs: Vec<f64> = self.scenarios.iter().map(|s| s.prob).collect();
        let defs: Vec<&crate::VarDef> = self.first.iter().chain(&self.shared).collect();
        let x0 = self.warm_start(solver, settings, risk, dset.warm_start);
        let mut radius = match &x0 {
            Some(x0) => (4.0 * x0.iter().fold(1.0f64, |m, v| m.max(v.abs()))).min(dset.box_bound),
            None => dset.box_bound,
        };
        let boxed = |radius: f64| -> (Vec<f64>, Vec<f64>) {
            let side = |v: f64, r: f64| if v.is_finite() { v } else { r };
            (
                defs.iter().map(|d| side(d.lower, -radius)).collect(),
                defs.iter().map(|d| side(d.upper, radius)).collect(),
            )
        };
        let (mut lower, mut upper) = boxed(radius);
        // A MIP master's bound is the decomposition's: solve it well inside the gap asked for.
        let settings = &SolverSettings {
            mip_gap: settings.mip_gap.min(dset.gap / 10.0),
            ..*settings
        };
        let (alpha, lambda) = match risk {
            Risk::Cvar { alpha, lambda } if lambda > 0.0 => (alpha, lambda),
            Risk::Cvar { alpha, .. } => (alpha, 0.0),
            Risk::Neutral => (DEFAULT_ALPHA, 0.0),
        };
        // The maximising objective of per-scenario values θ (already in that orientation).
        let objective_of = |theta: &[f64]| {
            let e = gigawatt_risk::mean(theta, &probs);
            if lambda > 0.0 {
                e - lambda * -gigawatt_risk::cvar_lower(theta, &probs, alpha)
            } else {
                e
            }
        };

        // CVaR needs every path's value in the master.
        let groups = if lambda > 0.0 { 0 } else { dset.groups };
        let (group_of, weight, group_probs) = cut_groups(&probs, groups);
        // What each master variable can reach: its bounds, or the widest box.
        let reach: Vec<f64> = defs
            .iter()
            .map(|d| {
                let r = d.lower.abs().max(d.upper.abs());
                if r.is_finite() {
                    r
                } else {
                    dset.box_bound
                }
            })
            .collect();
        let mut pool = CutPool::new(&group_of, &weight, &reach);
        let mut last_master: Vec<f64> = Vec::new();
        let mut x: Vec<f64> = match x0 {
            Some(x0) => x0,
            None => vec![0.0; n],
        };
        for (k, v) in x.iter_mut().enumerate() {
            *v = v.clamp(lower[k], upper[k]);
        }
        // Until some point has a feasible recourse on every path, iterates are the points
        // nearest the first that pass every feasibility cut so far, not the master's optimum
        // (which runs to the box's corners while the cuts are few).
        let anchor = x.clone();
        round_integers(&defs, &mut x);
        let on_box = |x: &[f64], radius: f64| -> Vec<usize> {
            (0..n)
                .filter(|&k| {
                    let d = defs[k];
                    (d.lower.is_infinite() && x[k] <= -radius * (1.0 - 1e-9))
                        || (d.upper.is_infinite() && x[k] >= radius * (1.0 - 1e-9))
                })
                .collect()
        };
        // Integer master variables: first the LP relaxation to half the gap (level steps on LP
        // masters), then its best point with the integers rounded and fixed (level steps
        // again, on the continuous variables), and the integer master from every cut so far
        // (plain L-shaped steps on MIP masters) only if the rounding leaves more than the gap
        // to the relaxation's bound.
        let has_int = defs.iter().any(|d| d.integer);
        let mut phase = if has_int {
            Phase::Relaxation
        } else {
            Phase::Exact
        };
        let integral = |x: &[f64]| {
            defs.iter()
                .zip(x)
                .all(|(d, v)| !d.integer || v.fract() == 0.0)
        };
        // The implied master rows, and which of them the master sessions hold: LP relaxations
        // take them lazily; a programme without integers, and the integer master, hold all.
        let lazy_rows = Self::lazy_rows(splits);
        let mut lazy: (&[LazyRow], Vec<bool>) = (&lazy_rows, vec![!has_int; lazy_rows.len()]);
        let mut lp_best = Incumbent::default();
        // While the phase has no feasible point: its best point valued with violations paid
        // for (every path valued), the level step's centre until a feasible one is found.
        let mut penalised = (phase, Incumbent::default());
        let mut masters: Option<Masters> = None;
        let mut best = Incumbent::default();
        // The bound of the phase's master (maximising orientation) and, once the relaxation
        // is solved, its bound, which also bounds the integer programme.
        let mut bound = f64::INFINITY;
        let mut relaxation_bound = f64::INFINITY;
        // The relaxation's stopping gap, and how often the rounding sent the method back to it.
        let mut relaxation_gap = dset.gap / 2.0;
        let mut returns = 0;
        let mut iterations = Vec::new();
        let mut converged = false;
        let rel_gap = |hi: f64, lo: f64| {
            if lo.is_finite() && hi.is_finite() {
                ((hi - lo) / lo.abs().max(1e-12)).max(0.0)
            } else {
                f64::INFINITY
            }
        };
        // Masters hold the implied rows marked in `active` (the rest join when a point violates
        // them).
        let fresh_masters =
            |pool: &CutPool, lower: &[f64], upper: &[f64], relaxed: bool, active: &[bool]| {
                Masters::new(
                    solver,
                    self.master_base(
                        splits,
                        (&lazy_rows, active),
                        (&pool.has_cut, &group_probs),
                        (lower, upper, relaxed),
                        (alpha, lambda),
                    ),
                    pool,
                    (lower, upper),
                    group_probs.clone(),
                    (alpha, lambda),
                )
            };
        // The first point, from a few paths, can break rows that other paths imply (a rule's
        // commitment below zero or above an option's total on a path with extreme demand):
        // every subproblem there is infeasible and costs an elastic solve. Start instead from
        // the point nearest it within every implied row.
        if dset.level > 0.0 {
            let m = masters.insert(fresh_masters(&pool, &lower, &upper, has_int, &lazy.1)?);
            if let Ok(ps) = m.project(&anchor, None, settings, &mut lazy) {
                if ps.status.has_solution() {
                    x = ps.x[..n].to_vec();
                    round_integers(&defs, &mut x);
                }
            }
        }
        // Iterations in a row the phase's gap has not closed, and the last gap.
        let (mut stalled, mut last_gap) = (0, f64::INFINITY);
        for it in 1..=dset.max_iterations.max(1) {
            let round = match self.round(&x, evaluate_all, sgn, &mut pool)? {
                Ok(r) => r,
                Err(status) => return Ok(self.no_point(status, started, iterations)),
            };
            let infeasible = round.infeasible;
            if penalised.0 != phase {
                penalised = (phase, Incumbent::default());
            }
            if infeasible > 0
                && round.values.len() == self.scenarios.len()
                && (phase == Phase::Relaxation || integral(&x))
            {
                let f = objective_of(&round.values.iter().map(|v| sgn * v).collect::<Vec<_>>());
                if f > penalised.1.value {
                    penalised.1 = Incumbent {
                        value: f,
                        x: x.clone(),
                        own: Vec::new(),
                        values: Vec::new(),
                    };
                }
            }
            if infeasible == 0 {
                let theta: Vec<f64> = round.values.iter().map(|v| sgn * v).collect();
                let f = objective_of(&theta);
                if phase == Phase::Relaxation && f > lp_best.value {
                    lp_best = Incumbent {
                        value: f,
                        x: x.clone(),
                        own: Vec::new(),
                        values: Vec::new(),
                    };
                }
                if integral(&x) && f > best.value {
                    best = Incumbent {
                        value: f,
                        x: x.clone(),
                        own: round.owns,
                        values: round.values,
                    };
                }
            }
            let relaxed = phase == Phase::Relaxation;
            let centre = if relaxed { &lp_best } else { &best };
            // The master's optimum: the bound, and the iterate when there is no level step.
            let all_cut = pool.has_cut.iter().all(|h| *h);
            // The integer master from every cut so far, with the integers free again; its
            // optimum is the next point. None when it has no point.
            let exact_start =
                |pool: &CutPool,
                 lower: &mut Vec<f64>,
                 upper: &mut Vec<f64>,
                 active: &mut Vec<bool>|
                 -> Result<Option<(Masters, Vec<f64>)>, gigawatt_lp::Error> {
                    (*lower, *upper) = boxed(radius);
                    active.iter_mut().for_each(|a| *a = true);
                    let mut m = fresh_masters(pool, lower, upper, false, active)?;
                    let ms = m.bound.solve(settings)?;
                    Ok(ms.status.has_solution().then(|| (m, ms.x[..n].to_vec())))
                };
            let master_relaxed = phase != Phase::Exact;
            let mm = match &mut masters {
                Some(m) => {
                    m.sync(&pool, &lower, &upper)?;
                    m
                }
                None => masters.insert(fresh_masters(
                    &pool,
                    &lower,
                    &upper,
                    master_relaxed,
                    &lazy.1,
                )?),
            };
            let ms = match mm.lazy_solve(true, settings, &mut lazy) {
                Ok(ms) if ms.status.has_solution() => ms,
                // A warm-started re-solve can stop on its tolerances (HiGHS: no point, or
                // status unknown): decide from scratch.
                _ => {
                    *mm = fresh_masters(&pool, &lower, &upper, master_relaxed, &lazy.1)?;
                    mm.lazy_solve(true, settings, &mut lazy)?
                }
            };
            match ms.status {
                SolveStatus::Optimal | SolveStatus::Feasible => {}
                // The rounding leaves no feasible point: on to the integer master.
                SolveStatus::Infeasible if phase == Phase::Rounded => {
                    phase = Phase::Exact;
                    bound = relaxation_bound;
                    match exact_start(&pool, &mut lower, &mut upper, &mut lazy.1)? {
                        Some((m, xm)) => {
                            masters = Some(m);
                            x = xm;
                            round_integers(&defs, &mut x);
                            continue;
                        }
                        None => break,
                    }
                }
                // Every point evaluated so far passed the feasibility cuts: a master with no
                // point after one did is the solver's tolerance talking; keep the best.
                SolveStatus::Infeasible if best.value.is_finite() || lp_best.value.is_finite() => {
                    break
                }
                SolveStatus::Infeasible => {
                    return Ok(self.no_point(SolveStatus::Infeasible, started, iterations))
                }
                other => {
                    return Err(gigawatt_lp::Error::SolverFailed {
                        solver: solver.name(),
                        message: format!("the decomposition's master stopped {}", other.as_str()),
                    })
                }
            }
            if all_cut {
                // The master maximises; a MIP master's own bound is what bounds the programme.
                bound = bound.min(ms.bound);
            }
            last_master = ms.x[..n].to_vec();
            pool.age(&ms.x, n);
            // The phase's gap decides when the phase is done; the rounding reports (and stops
            // on) the integer programme's gap, against the relaxation's bound.
            let gap = rel_gap(bound, centre.value);
            // No feasible point yet, but the penalised points are within half the gap of the
            // bound: step to the master's own optimum (a vertex, where a penalty large enough
            // pays for no violation) rather than to a level point near the penalised centre,
            // whose violations shrink with the gap but need not vanish.
            let gap_phase = phase;
            let vertex_step = !centre.value.is_finite()
                && penalised.1.value.is_finite()
                && rel_gap(bound, penalised.1.value) <= dset.gap / 2.0;
            let (shown_gap, shown_bound) = if phase == Phase::Rounded {
                (rel_gap(relaxation_bound, best.value), relaxation_bound)
            } else {
                (gap, bound)
            };
            let (lo, hi) = if sgn > 0.0 {
                (centre.value, shown_bound)
            } else {
                (-shown_bound, -centre.value)
            };
            let rec = Iteration {
                iteration: it,
                lower: lo,
                upper: hi,
                gap: shown_gap,
                phase,
                cuts: pool.cuts.len(),
                infeasible_subproblems: infeasible,
                seconds: started.elapsed().as_secs_f64(),
            };
            progress(&rec);
            iterations.push(rec);
            if phase == Phase::Rounded && shown_gap <= dset.gap {
                // Whole blocks within the gap of the relaxation: within it of the optimum.
                bound = relaxation_bound;
                converged = true;
                break;
            }
            let mut next_master = None;
            let mut fresh = None;
            // The relaxation and the rounding run to half the gap, so that a rounding that
            // costs less than the other half closes it.
            let phase_gap = match phase {
                Phase::Relaxation => relaxation_gap,
                // The rounding can close the gap only as far as its own bound is under the
                // relaxation's: while that leaves a tenth of the gap or more, it goes on to
                // half of that room (the check above stops it once within the gap), rather
                // than back to the relaxation as soon as it is within half the gap of itself.
                Phase::Rounded => {
                    let room = dset.gap - rel_gap(relaxation_bound, bound);
                    if room > dset.gap / 10.0 {
                        (room / 2.0).min(dset.gap / 2.0)
                    } else {
                        dset.gap / 2.0
                    }
                }
                Phase::Exact => dset.gap,
            };
            // A relaxation (or rounding) whose gap has stopped closing near its target is
            // solved as far as the solver's tolerances allow (cuts then repeat at the same
            // point); the integer master's phase never ends this way.
            stalled = if phase != Phase::Exact && gap >= last_gap * (1.0 - 1e-3) {
                stalled + 1
            } else {
                0
            };
            last_gap = gap;
            let stuck = stalled >= STALL_ITERATIONS && gap <= (10.0 * phase_gap).max(1e-5);
            if gap <= phase_gap || stuck {
                stalled = 0;
                if radius < dset.box_bound && !on_box(&centre.x, radius).is_empty() {
                    // The optimum within the box may not be the optimum: widen it; the cuts
                    // stay valid, the bounds do not.
                    radius = (4.0 * radius).min(dset.box_bound);
                    (lower, upper) = boxed(radius);
                    if phase == Phase::Rounded {
                        phase = Phase::Relaxation;
                    }
                    bound = f64::INFINITY;
                    relaxation_bound = f64::INFINITY;
                } else if phase == Phase::Relaxation {
                    // The relaxation is solved: its best point with the integers rounded and
                    // fixed, the rest free, on the same (continuous) masters.
                    phase = Phase::Rounded;
                    relaxation_bound = bound;
                    bound = f64::INFINITY;
                    // Of the relaxation's roundings (the continuous variables as they were),
                    // the one with a recourse on every path and the best value; the rounded
                    // phase starts from it. Risk-neutral, the cuts bound each rounding's value
                    // (the expectation is linear in the paths' values): they are tried best
                    // bound first, and once the best found is worth more than the next bound,
                    // no rounding left can beat it, so none is solved (exact, not a sample).
                    let mut cands = roundings(&defs, &lp_best.x, (&lower, &upper));
                    let bounds: Vec<f64> = cands
                        .iter()
                        .map(|c| {
                            if lambda > 0.0 {
                                f64::INFINITY
                            } else {
                                pool.bound_at(c, &group_probs)
                            }
                        })
                        .collect();
                    let mut order: Vec<usize> = (0..cands.len()).collect();
                    order.sort_by(|a, b| bounds[*b].total_cmp(&bounds[*a]).then(a.cmp(b)));
                    let mut xr = Vec::new();
                    let mut xr_value = f64::NEG_INFINITY;
                    // Without a feasible rounding, the one the master can complete (its
                    // continuous variables free, within every cut) and, among those, the best
                    // valued with violations paid for: (feasible value, completes, penalised).
                    let mut xr_key = (f64::NEG_INFINITY, false, f64::NEG_INFINITY);
                    for j in order {
                        let slack = ROUNDING_BOUND_TOL * xr_value.abs().max(1.0);
                        if xr_value.is_finite() && bounds[j] < xr_value - slack {
                            break;
                        }
                        let cand = std::mem::take(&mut cands[j]);
                        let mut scratch = CutPool::new(&group_of, &weight, &reach);
                        let (value, paid) =
                            match self.round(&cand, evaluate_all, sgn, &mut scratch)? {
                                Ok(r) if r.values.len() == self.scenarios.len() => {
                                    let f = objective_of(
                                        &r.values.iter().map(|v| sgn * v).collect::<Vec<f64>>(),
                                    );
                                    (
                                        if r.infeasible == 0 {
                                            f
                                        } else {
                                            f64::NEG_INFINITY
                                        },
                                        f,
                                    )
                                }
                                _ => (f64::NEG_INFINITY, f64::NEG_INFINITY),
                            };
                        let completes = value.is_finite() || {
                            let (mut lo, mut up) = (lower.clone(), upper.clone());
                            for (k, d) in defs.iter().enumerate() {
                                if d.integer {
                                    (lo[k], up[k]) = (cand[k], cand[k]);
                                }
                            }
                            mm.sync(&pool, &lo, &up)?;
                            mm.lazy_solve(true, settings, &mut lazy)
                                .is_ok_and(|s| s.status.has_solution())
                        };
                        let key = (value, completes, paid);
                        let better = key.0 > xr_key.0
                            || (key.0 == xr_key.0 && (key.1, key.2) > (xr_key.1, xr_key.2));
                        if xr.is_empty() || better {
                            (xr, xr_value, xr_key) = (cand, value, key);
                        }
                    }
                    for (k, d) in defs.iter().enumerate() {
                        if d.integer {
                            (lower[k], upper[k]) = (xr[k], xr[k]);
                        }
                    }
                    next_master = Some(xr);
                } else if phase == Phase::Rounded
                    && returns < RELAXATION_RETURNS
                    && relaxation_gap / 4.0 >= MIN_RELAXATION_GAP
                    && rel_gap(relaxation_bound, lp_best.value)
                        > rel_gap(relaxation_bound, best.value) - dset.gap
                {
                    // The rounding is optimised and still short of the gap, by less than the
                    // relaxation's own gap: the relaxation's bound may be what is loose. Back
                    // to the relaxation, to a quarter of its gap, with every cut so far; then
                    // round again.
                    returns += 1;
                    relaxation_gap /= 4.0;
                    phase = Phase::Relaxation;
                    (lower, upper) = boxed(radius);
                    bound = relaxation_bound;
                } else if phase == Phase::Rounded {
                    // Still short after tightening the relaxation: the integer master decides.
                    phase = Phase::Exact;
                    bound = relaxation_bound;
                    match exact_start(&pool, &mut lower, &mut upper, &mut lazy.1)? {
                        Some((m, xm)) => {
                            next_master = Some(xm);
                            fresh = Some(m);
                        }
                        None => break,
                    }
                } else {
                    converged = true;
                    break;
                }
            }
            let relaxed = phase == Phase::Relaxation;
            let continuous = phase != Phase::Exact || !has_int;
            let centre = match (relaxed, &penalised) {
                (true, _) if lp_best.value.is_finite() => &lp_best,
                (false, _) if best.value.is_finite() => &best,
                (_, (p, pen)) if *p == phase => pen,
                _ => &best,
            };
            // A projection that fails (the solver's tolerances on a warm re-solve) steps to
            // the master's optimum instead, and the sessions are rebuilt for the next
            // iteration.
            let mut rebuild = false;
            let mut projected = |ps: Result<Solution, gigawatt_lp::Error>| match ps {
                Ok(ps) if ps.status.has_solution() => ps.x[..n].to_vec(),
                Ok(_) => ms.x[..n].to_vec(),
                Err(_) => {
                    rebuild = true;
                    ms.x[..n].to_vec()
                }
            };
            // Next point.
            x = if let Some(xm) = next_master {
                xm
            } else if vertex_step && phase == gap_phase {
                ms.x[..n].to_vec()
            } else if continuous
                && dset.level > 0.0
                && centre.value.is_finite()
                && bound.is_finite()
            {
                let level = bound - dset.level * (bound - centre.value);
                projected(mm.project(&centre.x, Some(level), settings, &mut lazy))
            } else if !centre.value.is_finite() && dset.level > 0.0 {
                projected(mm.project(&anchor, None, settings, &mut lazy))
            } else {
                ms.x[..n].to_vec()
            };
            if !relaxed {
                round_integers(&defs, &mut x);
            }
            if let Some(m) = fresh {
                masters = Some(m);
            } else if rebuild || {
                let age = if phase == Phase::Exact && dset.cut_age == 0 {
                    EXACT_CUT_AGE
                } else {
                    dset.cut_age
                };
                age > 0 && pool.drop_old(age)
            } {
                // Cuts left the pool: the sessions are rebuilt from it.
                masters = None;
            }
        }
        // The level step stops near the optimum, not on a vertex: the master's own optimum,
        // as good as the best point, is the vertex an extensive-form solve would return.
        if converged && !has_int && dset.level > 0.0 && !last_master.is_empty() {
            let round = self.round(&last_master, evaluate_all, sgn, &mut pool)?;
            if let Ok(r) = round {
                if r.infeasible == 0 {
                    let theta: Vec<f64> = r.values.iter().map(|v| sgn * v).collect();
                    let f = objective_of(&theta);
                    if f >= best.value - 1e-9 * best.value.abs() {
                        best = Incumbent {
                            value: f,
                            x: last_master,
                            own: r.owns,
                            values: r.values,
                        };
                    }
                }
            }
        }
        if best.x.is_empty() {
            return Ok(Decomposed {
                converged: false,
                ..self.no_point(SolveStatus::NoSolution, started, iterations)
            });
        }
        let Incumbent {
            x: best_x,
            own: best_own,
            values: best_values,
            ..
        } = best;
        let on_box = on_box(&best_x, radius)
            .into_iter()
            .map(|k| defs[k].name.to_string())
            .collect();
        let solved = self.assemble(
            &best_x,
            best_own,
            &best_values,
            risk,
            sgn * bound,
            converged,
            started,
        );
        Ok(Decomposed {
            solved,
            iterations,
            converged,
            on_box,
        })
    }

    /// Every scenario's implied master rows, without those that others imply. Rows alike but
    /// for the last term's coefficient (a rule's commitment a + b·ξ_s ≥ 0 on every path s:
    /// same columns, bounds and other coefficients) hold for every coefficient between their
    /// least and greatest, since the row is linear in it; only those two are kept.
    fn lazy_rows(splits: &[Split]) -> Vec<LazyRow> {
        type Key = (Vec<u32>, Vec<u64>, u64, u64);
        let mut groups: Vec<(LazyRow, LazyRow)> = Vec::new();
        let mut index: std::collections::HashMap<Key, usize> = std::collections::HashMap::new();
        for im in splits.iter().flat_map(|sp| &sp.implied) {
            let terms: Vec<(u32, f64)> = im.terms.iter().map(|(k, v)| (*k as u32, *v)).collect();
            let Some(((_, last), rest)) = terms.split_last() else {
                continue;
            };
            let key = (
                terms.iter().map(|(k, _)| *k).collect(),
                rest.iter().map(|(_, v)| v.to_bits()).collect(),
                im.lo.to_bits(),
                im.hi.to_bits(),
            );
            let row = (im.lo, im.hi, terms.clone());
            match index.get(&key) {
                Some(&g) => {
                    let (least, most) = &mut groups[g];
                    if *last < least.2[least.2.len() - 1].1 {
                        *least = row;
                    } else if *last > most.2[most.2.len() - 1].1 {
                        *most = row;
                    }
                }
                None => {
                    index.insert(key, groups.len());
                    groups.push((row.clone(), row));
                }
            }
        }
        let mut rows = Vec::with_capacity(2 * groups.len());
        for (least, most) in groups {
            let same = least.2 == most.2;
            rows.push(least);
            if !same {
                rows.push(most);
            }
        }
        rows
    }

    /// The master without its cuts: max Σ p_s θ_s (− λ CVaR) over the master variables
    /// (boxed), each group's θ (held at 0 until it has an optimality cut), the rows without
    /// own variables, and the implied rows marked in `implied.1`.
    fn master_base(
        &self,
        splits: &[Split],
        implied: (&[LazyRow], &[bool]),
        (has_cut, group_probs): (&[bool], &[f64]),
        (lower, upper, relaxed): (&[f64], &[f64], bool),
        (alpha, lambda): (f64, f64),
    ) -> Problem {
        let mut p = Problem::new(Sense::Maximize);
        for (k, d) in self.first.iter().chain(&self.shared).enumerate() {
            p.add_col(&*d.name, 0.0, lower[k], upper[k], d.integer && !relaxed);
        }
        let n = p.num_cols();
        for (g, prob) in group_probs.iter().enumerate() {
            let (w, b) = if has_cut[g] {
                (*prob, f64::INFINITY)
            } else {
                (0.0, 0.0)
            };
            p.add_col(format!("theta{g}"), w, -b, b, false);
        }
        if lambda > 0.0 {
            let eta = p.add_col("cvar_eta", -lambda, f64::NEG_INFINITY, f64::INFINITY, false);
            for (s, sc) in self.scenarios.iter().enumerate() {
                let z = p.add_col(
                    format!("cvar_z{s}"),
                    -lambda * sc.prob / (1.0 - alpha),
                    0.0,
                    f64::INFINITY,
                    false,
                );
                // z_s ≥ loss_s − η with loss_s = −θ_s.
                let r = p.add_row(format!("cvar_s{s}"), 0.0, f64::INFINITY);
                p.set(r, z, 1.0);
                p.set(r, eta, 1.0);
                p.set(r, gigawatt_lp::Col((n + s) as u32), 1.0);
            }
        }
        let add = |p: &mut Problem, row: &crate::RowDef| {
            let r = p.add_row(&*row.name, row.lower, row.upper);
            for (k, v) in self.master_terms(&row.terms) {
                p.set(r, gigawatt_lp::Col(k as u32), v);
            }
        };
        for row in &self.first_rows {
            add(&mut p, row);
        }
        for (sc, sp) in self.scenarios.iter().zip(splits) {
            for &i in &sp.master_rows {
                add(&mut p, &sc.rows[i]);
            }
        }
        let (rows, active) = implied;
        for (i, (lo, hi, terms)) in rows.iter().enumerate() {
            if active[i] {
                let r = p.add_row("implied", *lo, *hi);
                for (k, v) in terms {
                    p.set(r, gigawatt_lp::Col(*k), *v);
                }
            }
        }
        p
    }

    /// The point as the extensive form lays it out, with each scenario's value.
    #[allow(clippy::too_many_arguments)]
    fn assemble(
        &self,
        xm: &[f64],
        own: Vec<Vec<f64>>,
        values: &[f64],
        risk: Risk,
        bound: f64,
        converged: bool,
        started: Instant,
    ) -> Solved {
        let nf = self.first.len();
        let n = xm.len();
        let mut layout = Layout {
            first: (0..nf).map(|k| gigawatt_lp::Col(k as u32)).collect(),
            shared: (nf..n).map(|k| gigawatt_lp::Col(k as u32)).collect(),
            ..Layout::default()
        };
        let mut x = xm.to_vec();
        for o in own {
            let at = x.len();
            layout.own.push(
                (at..at + o.len())
                    .map(|k| gigawatt_lp::Col(k as u32))
                    .collect(),
            );
            x.extend(o);
        }
        let (expected, cvar_loss, objective) = self.objective_at(values, risk);
        let gap = ((bound - objective).abs() / objective.abs().max(1e-12)).max(0.0);
        Solved {
            solution: Solution {
                status: if converged {
                    SolveStatus::Optimal
                } else {
                    SolveStatus::Feasible
                },
                objective,
                bound,
                gap,
                x,
                solve_seconds: started.elapsed().as_secs_f64(),
            },
            first: xm[..nf].to_vec(),
            values: values.to_vec(),
            expected,
            cvar_loss,
            layout,
        }
    }

    /// A result without a point.
    fn no_point(
        &self,
        status: SolveStatus,
        started: Instant,
        iterations: Vec<Iteration>,
    ) -> Decomposed {
        Decomposed {
            solved: Solved {
                solution: Solution::without_point(status, started.elapsed().as_secs_f64()),
                first: Vec::new(),
                values: Vec::new(),
                expected: f64::NAN,
                cvar_loss: f64::NAN,
                layout: Layout::default(),
            },
            iterations,
            converged: false,
            on_box: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(implied: Vec<(Terms, f64, f64)>) -> Split {
        Split {
            implied: implied
                .into_iter()
                .map(|(terms, lo, hi)| Implied { terms, lo, hi })
                .collect(),
            ..Split::default()
        }
    }

    #[test]
    fn a_cuts_negligible_coefficients_are_dropped_and_paid_for_over_the_box() {
        // Feasibility cut 2·x₀ + 10⁻²⁰·x₁ − 3·x₂ ≤ 5 (x₁ within ±10⁹, x₂ within [0, 4]): the
        // 10⁻²⁰ term, 10⁻²⁰ of the largest, goes, and the right-hand side grows by the most it
        // could add, 10⁻²⁰ · 10⁹. Every point the cut allowed, the new one allows.
        let mut pool = CutPool::new(&[0], &[1.0], &[10.0, 1e9, 4.0]);
        pool.push(Cut {
            scenario: None,
            coef: vec![(0, 2.0), (1, 1e-20), (2, -3.0)],
            rhs: 5.0,
            age: 0,
        });
        let c = &pool.cuts[0];
        assert_eq!(c.coef, vec![(0, 2.0), (2, -3.0)]);
        assert_eq!(c.rhs, 5.0 + 1e-20 * 1e9);
        for x1 in [-1e9, 0.0, 1e9] {
            let x0 = (5.0 - 1e-20 * x1) / 2.0;
            assert!(2.0 * x0 <= c.rhs, "x₁ = {x1}");
        }
    }

    #[test]
    fn the_cuts_bound_a_point_by_each_groups_least_cut_weighted_by_its_probability() {
        // Two groups of probability 0.25 and 0.75. Group 0: θ ≤ 10 − x₀ and θ ≤ 4 + x₀; group 1:
        // θ ≤ 6 + 2·x₁. At x = (2, 1): group 0's least is min(8, 6) = 6, group 1's 8, so the
        // bound is 0.25·6 + 0.75·8 = 7.5. A feasibility cut does not enter it.
        let mut pool = CutPool::new(&[0, 1], &[1.0, 1.0], &[1e9, 1e9]);
        let cut = |scenario, coef: Vec<(usize, f64)>, rhs| Cut {
            scenario,
            coef,
            rhs,
            age: 0,
        };
        pool.cuts = vec![
            cut(Some(0), vec![(0, -1.0)], 10.0),
            cut(Some(0), vec![(0, 1.0)], 4.0),
            cut(None, vec![(1, 1.0)], -100.0),
            cut(Some(1), vec![(1, 2.0)], 6.0),
        ];
        let probs = [0.25, 0.75];
        assert_eq!(pool.bound_at(&[2.0, 1.0], &probs), 7.5);
        // At x₀ = 3 both of group 0's cuts give 7: 0.25·7 + 0.75·8 = 7.75.
        assert_eq!(pool.bound_at(&[3.0, 1.0], &probs), 7.75);
        // A group without an optimality cut bounds nothing.
        pool.cuts.pop();
        assert_eq!(pool.bound_at(&[2.0, 1.0], &probs), f64::INFINITY);
    }

    #[test]
    fn implied_rows_alike_but_for_one_coefficient_keep_its_least_and_greatest() {
        // A rule's commitment a + b·ξ_s ≥ 0 on four paths (ξ = 0.5, −1, 2, 0.3): for any b
        // the tightest are at ξ = −1 and ξ = 2, so those two rows stand for all four. A row
        // with other bounds, and one over other columns, stay as they are.
        let rule = |xi: f64| (vec![(0, 1.0), (1, xi)], 0.0, f64::INFINITY);
        let splits = vec![
            split(vec![
                rule(0.5),
                (vec![(2, 1.0), (3, 1.0)], f64::NEG_INFINITY, 5.0),
            ]),
            split(vec![rule(-1.0)]),
            split(vec![
                rule(2.0),
                (vec![(0, 1.0), (1, 0.7)], f64::NEG_INFINITY, 9.0),
            ]),
            split(vec![rule(0.3)]),
        ];
        let rows = TwoStage::lazy_rows(&splits);
        let xi_of = |r: &LazyRow| r.2[1].1;
        assert_eq!(rows.len(), 4, "{rows:?}");
        assert_eq!((xi_of(&rows[0]), xi_of(&rows[1])), (-1.0, 2.0));
        assert_eq!(rows[2], (f64::NEG_INFINITY, 5.0, vec![(2, 1.0), (3, 1.0)]));
        assert_eq!(rows[3], (f64::NEG_INFINITY, 9.0, vec![(0, 1.0), (1, 0.7)]));
        // Wherever every kept row holds, every row given holds: on a grid of (a, b).
        let holds = |r: &LazyRow, x: &[f64]| {
            let v: f64 = r.2.iter().map(|(c, w)| w * x[*c as usize]).sum();
            v >= r.0 - 1e-12 && v <= r.1 + 1e-12
        };
        let given: Vec<LazyRow> = splits
            .iter()
            .flat_map(|sp| &sp.implied)
            .map(|im| {
                (
                    im.lo,
                    im.hi,
                    im.terms.iter().map(|(k, v)| (*k as u32, *v)).collect(),
                )
            })
            .collect();
        let mut checked = 0;
        for i in -8..=8 {
            for j in -8..=8 {
                let x = [f64::from(i) / 4.0, f64::from(j) / 4.0, 1.0, 1.0];
                if rows.iter().all(|r| holds(r, &x)) {
                    checked += 1;
                    assert!(given.iter().all(|r| holds(r, &x)), "at {x:?}");
                }
            }
        }
        assert!(checked > 10, "{checked}");
    }
}
