//! Subproblems solved without an LP solver when their structure allows it.
//!
//! Once the master point is fixed, a capacity programme's path subproblem (NPV objective, no
//! funding-gap or service-level row, no pools, no exact churn) falls apart:
//!
//! 1. **Determined variables.** Equality rows that hold one variable not yet known fix it:
//!    a linear decision rule's commitment (a + b·ξ_s), then the capacity state K_t from K_{t−1}
//!    and the commitments arriving, and the powered space likewise. They are found by a
//!    worklist over the rows, once per path ([`Separable::analyse`]), and evaluated in that
//!    order.
//! 2. **Single-row blocks.** What is left are groups of rows over the same variables with the
//!    same coefficients (a month and load block's floor and floor-share rows over its served
//!    demand and burst), no variable in two groups. Each group is a one-row LP with bounded
//!    variables, max Σ c_j y_j s.t. lo ≤ Σ a_j y_j ≤ hi, l ≤ y ≤ u, solved exactly by its
//!    multiplier λ: y_j sits at u_j where c_j − λ a_j > 0 and at l_j where it is < 0, and λ is
//!    the breakpoint c_j / a_j (or 0) at which the row's use can meet its bound
//!    ([`one_row`]). That is the greedy "serve the segments worth most per H100e, then buy
//!    burst while it costs less than the capacity is worth" of a fractional knapsack.
//! 3. **Duals.** λ is the group's binding row's dual; a determined variable's equality row
//!    takes the dual that leaves the variable a reduced cost of zero, computed in the reverse
//!    of the order the variables were determined (each from the rows that come after it).
//!    Every other row's dual is 0. These satisfy the LP's optimality conditions, so the
//!    gradient built from them is a supergradient of the path's value like a solver's duals.
//!
//! When a path's structure does not fit (rows that couple months other than through a state,
//! a service level, a cash balance), [`Separable::analyse`] gives `None` and the LP solver
//! takes that path; when a point leaves a determined variable outside its bounds, a check
//! row violated or a block without a feasible point, [`Separable::evaluate`] gives `None` and
//! the LP solver takes that evaluation (it then finds the point infeasible and gives the
//! feasibility cut).

use crate::two_stage::{Ref, ScenarioDef};

/// A variable fixed by an equality row: (variable, the row's position among the subproblem's
/// rows, the variable's coefficient there).
#[derive(Debug, Clone, Copy)]
struct Det {
    var: u32,
    pos: u32,
    coef: f64,
}

/// How a path's subproblem is solved without a solver, if it can be.
#[derive(Debug, Clone, Default)]
pub(crate) struct Separable {
    /// Determined variables in the order they are computed.
    det: Vec<Det>,
    /// Groups of rows (positions among the subproblem's rows) with the same variables and
    /// coefficients beyond the determined ones; the variables are read from the first row.
    groups: Vec<Vec<u32>>,
    /// Rows whose variables are all determined, not used to determine one: checked only.
    checks: Vec<u32>,
    /// Variables in no block: at the bound their objective prefers.
    loose: Vec<u32>,
    /// Rows with one variable not determined (with its coefficient there): bounds on it.
    bounds: Vec<(u32, u32, f64)>,
}

/// Tolerance within which a determined variable may sit outside its bounds, or a check row
/// outside its own, before the evaluation is left to the LP solver: `ABS_TOL` plus `REL_TOL`
/// of the value, as an LP solver's primal feasibility tolerance accepts (master points sit on
/// the implied rows, a rule's commitment at 0 on its most extreme path, and the master's
/// solver leaves them a few 10⁻⁸ outside).
const ABS_TOL: f64 = 1e-7;
/// See [`ABS_TOL`].
const REL_TOL: f64 = 1e-8;

/// Relative tolerance of a one-row block's arithmetic (its bounds crossing, the use meeting
/// its bound).
const TOL: f64 = 1e-9;

/// A variable of a one-row block: coefficient a, objective c (maximising), bounds.
#[derive(Debug, Clone, Copy)]
struct Item {
    a: f64,
    c: f64,
    lo: f64,
    hi: f64,
}

/// Work space reused across a thread's evaluations.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    y: Vec<f64>,
    obj: Vec<f64>,
    colsum: Vec<f64>,
    known: Vec<bool>,
    /// Each variable's bounds with its bound rows applied, and which row set each (or none).
    lo: Vec<f64>,
    hi: Vec<f64>,
    lo_row: Vec<u32>,
    hi_row: Vec<u32>,
    items: Vec<Item>,
    vars: Vec<u32>,
}

/// `shift` plus the row's terms in the variables `known` so far, at their values `y`.
fn known_part(r: &crate::RowDef, shift: f64, known: &[bool], y: &[f64]) -> f64 {
    own_terms(&r.terms)
        .filter(|(k, _)| known[*k])
        .fold(shift, |acc, (k, a)| acc + a * y[k])
}

fn own_terms(terms: &[(Ref, f64)]) -> impl Iterator<Item = (usize, f64)> + '_ {
    terms.iter().filter_map(|(r, v)| match r {
        Ref::Own(j) => Some((*j, *v)),
        _ => None,
    })
}

impl Separable {
    /// The structure of scenario `sc`'s subproblem over its rows `sub_rows` (indices into
    /// `sc.rows`), or None when it is not one this module solves.
    pub(crate) fn analyse(sc: &ScenarioDef, sub_rows: &[usize]) -> Option<Separable> {
        let nv = sc.vars.len();
        let rows: Vec<&crate::RowDef> = sub_rows.iter().map(|&i| &sc.rows[i]).collect();
        let mut var_rows: Vec<Vec<u32>> = vec![Vec::new(); nv];
        let mut seen = vec![u32::MAX; nv];
        for (pos, row) in rows.iter().enumerate() {
            for (j, _) in own_terms(&row.terms) {
                // A variable twice in a row: its coefficient would have to be summed
                // everywhere; no capacity programme writes one, so leave it to the solver.
                if seen[j] == pos as u32 {
                    return None;
                }
                seen[j] = pos as u32;
                var_rows[j].push(pos as u32);
            }
        }
        let equality = |row: &crate::RowDef| row.lower == row.upper && row.lower.is_finite();
        let mut remaining: Vec<usize> = rows.iter().map(|r| own_terms(&r.terms).count()).collect();
        let mut known = vec![false; nv];
        let mut used = vec![false; rows.len()];
        let mut det = Vec::new();
        let mut queue: Vec<usize> = (0..rows.len())
            .filter(|&p| remaining[p] == 1 && equality(rows[p]))
            .collect();
        queue.reverse();
        while let Some(pos) = queue.pop() {
            if remaining[pos] != 1 || used[pos] {
                continue;
            }
            let Some((j, coef)) = own_terms(&rows[pos].terms).find(|(j, _)| !known[*j]) else {
                continue;
            };
            if coef == 0.0 {
                continue;
            }
            known[j] = true;
            used[pos] = true;
            det.push(Det {
                var: j as u32,
                pos: pos as u32,
                coef,
            });
            for &p2 in &var_rows[j] {
                let p2 = p2 as usize;
                remaining[p2] -= 1;
                if remaining[p2] == 1 && !used[p2] && equality(rows[p2]) {
                    queue.push(p2);
                }
            }
        }
        let mut checks = Vec::new();
        // Union of the unknown variables over the rows left (the root's index stands for its
        // block).
        let mut parent: Vec<u32> = (0..nv as u32).collect();
        fn find(parent: &mut [u32], mut v: u32) -> u32 {
            while parent[v as usize] != v {
                parent[v as usize] = parent[parent[v as usize] as usize];
                v = parent[v as usize];
            }
            v
        }
        let mut open = Vec::new();
        let mut bounds = Vec::new();
        for (pos, row) in rows.iter().enumerate() {
            if used[pos] {
                continue;
            }
            if remaining[pos] == 0 {
                checks.push(pos as u32);
                continue;
            }
            if remaining[pos] == 1 {
                let (j, a) = own_terms(&row.terms).find(|(j, _)| !known[*j])?;
                if a == 0.0 {
                    return None;
                }
                bounds.push((pos as u32, j as u32, a));
                continue;
            }
            open.push(pos);
            let mut first = None;
            for (j, _) in own_terms(&row.terms).filter(|(j, _)| !known[*j]) {
                let r = find(&mut parent, j as u32);
                match first {
                    None => first = Some(r),
                    Some(f) if f != r => parent[r as usize] = f,
                    _ => {}
                }
            }
        }
        let unknown_terms = |pos: usize| -> Vec<(usize, u64)> {
            let mut t: Vec<(usize, u64)> = own_terms(&rows[pos].terms)
                .filter(|(j, _)| !known[*j])
                .map(|(j, v)| (j, v.to_bits()))
                .collect();
            t.sort_unstable();
            t
        };
        let mut by_root: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
        for &pos in &open {
            let j = own_terms(&rows[pos].terms)
                .find(|(j, _)| !known[*j])
                .map(|(j, _)| j)?;
            let root = find(&mut parent, j as u32);
            by_root.entry(root).or_default().push(pos as u32);
        }
        let mut groups = Vec::with_capacity(by_root.len());
        let mut in_group = vec![false; nv];
        for (_, g) in by_root {
            let first = unknown_terms(g[0] as usize);
            if g[1..].iter().any(|&p| unknown_terms(p as usize) != first) {
                return None;
            }
            for (j, _) in &first {
                in_group[*j] = true;
            }
            groups.push(g);
        }
        let loose = (0..nv)
            .filter(|&j| !known[j] && !in_group[j])
            .map(|j| j as u32)
            .collect();
        Some(Separable {
            det,
            groups,
            checks,
            loose,
            bounds,
        })
    }

    /// The subproblem's optimum at the master point: (objective over its own variables, row
    /// duals in the subproblem's rows' order, in the programme's sense as
    /// `Solver::solve_with_duals` gives them, own variables' values), or None when the point is
    /// one to leave to the LP solver (see the module's documentation). `shift(row)` is T·x for a
    /// row's master terms; `maximise` is the programme's sense.
    pub(crate) fn evaluate(
        &self,
        sc: &ScenarioDef,
        sub_rows: &[usize],
        shift: &dyn Fn(&crate::RowDef) -> f64,
        maximise: bool,
        ws: &mut Scratch,
    ) -> Option<(f64, Vec<f64>, Vec<f64>)> {
        let nv = sc.vars.len();
        let sgn = if maximise { 1.0 } else { -1.0 };
        let row = |pos: u32| &sc.rows[sub_rows[pos as usize]];
        ws.y.clear();
        ws.y.resize(nv, 0.0);
        ws.obj.clear();
        ws.obj.resize(nv, 0.0);
        ws.colsum.clear();
        ws.colsum.resize(nv, 0.0);
        ws.known.clear();
        ws.known.resize(nv, false);
        for (j, v) in own_terms(&sc.obj) {
            ws.obj[j] += sgn * v;
        }
        let within = |v: f64, lo: f64, hi: f64| {
            let tol = ABS_TOL + REL_TOL * v.abs();
            v >= lo - tol && v <= hi + tol
        };
        // 1. Determined variables, in order.
        for d in &self.det {
            // The row's other variables are determined before this one.
            let r = row(d.pos);
            let v = (r.lower - known_part(r, shift(r), &ws.known, &ws.y)) / d.coef;
            let def = &sc.vars[d.var as usize];
            if !v.is_finite() || !within(v, def.lower, def.upper) {
                return None;
            }
            ws.y[d.var as usize] = v;
            ws.known[d.var as usize] = true;
        }
        // Bound rows narrow their variable's bounds.
        ws.lo.clear();
        ws.lo.extend(sc.vars.iter().map(|v| v.lower));
        ws.hi.clear();
        ws.hi.extend(sc.vars.iter().map(|v| v.upper));
        ws.lo_row.clear();
        ws.lo_row.resize(nv, u32::MAX);
        ws.hi_row.clear();
        ws.hi_row.resize(nv, u32::MAX);
        for &(pos, j, a) in &self.bounds {
            let r = row(pos);
            let fixed = known_part(r, shift(r), &ws.known, &ws.y);
            let (mut l, mut u) = ((r.lower - fixed) / a, (r.upper - fixed) / a);
            if a < 0.0 {
                std::mem::swap(&mut l, &mut u);
            }
            let j = j as usize;
            if l > ws.lo[j] {
                ws.lo[j] = l;
                ws.lo_row[j] = pos;
            }
            if u < ws.hi[j] {
                ws.hi[j] = u;
                ws.hi_row[j] = pos;
            }
            if ws.lo[j] > ws.hi[j] + ABS_TOL + REL_TOL * ws.hi[j].abs() {
                return None;
            }
        }
        // 2. Each block by its multiplier.
        let mut lam = vec![0.0; sub_rows.len()];
        for g in &self.groups {
            let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
            let (mut lo_at, mut hi_at) = (g[0], g[0]);
            for &pos in g {
                let r = row(pos);
                let fixed = known_part(r, shift(r), &ws.known, &ws.y);
                if r.lower - fixed > lo {
                    lo = r.lower - fixed;
                    lo_at = pos;
                }
                if r.upper - fixed < hi {
                    hi = r.upper - fixed;
                    hi_at = pos;
                }
            }
            ws.items.clear();
            ws.vars.clear();
            for (k, a) in own_terms(&row(g[0]).terms) {
                if !ws.known[k] {
                    ws.items.push(Item {
                        a,
                        c: ws.obj[k],
                        lo: ws.lo[k].min(ws.hi[k]),
                        hi: ws.hi[k],
                    });
                    ws.vars.push(k as u32);
                }
            }
            let (l, values) = one_row(&ws.items, lo, hi)?;
            for (&k, v) in ws.vars.iter().zip(values) {
                ws.y[k as usize] = v;
            }
            if l > 0.0 {
                lam[hi_at as usize] = l;
            } else if l < 0.0 {
                lam[lo_at as usize] = l;
            }
        }
        // Variables in no row sit where their objective prefers.
        for &j in &self.loose {
            let (lo, hi) = (ws.lo[j as usize].min(ws.hi[j as usize]), ws.hi[j as usize]);
            let c = ws.obj[j as usize];
            let v = if c > 0.0 {
                hi
            } else if c < 0.0 || lo.is_finite() {
                lo
            } else if hi.is_finite() {
                hi.min(0.0)
            } else {
                0.0
            };
            if !v.is_finite() {
                return None;
            }
            ws.y[j as usize] = v;
        }
        // Rows whose variables are all determined must hold.
        for &pos in &self.checks {
            // Every variable of a check row is determined.
            let r = row(pos);
            let act = known_part(r, shift(r), &ws.known, &ws.y);
            if !within(act, r.lower, r.upper) {
                return None;
            }
        }
        // 3. Duals: the blocks' multipliers; a bound row that holds its variable where the
        // objective pushes it takes that reduced cost; then each determined variable's row in
        // reverse.
        let add = |colsum: &mut [f64], pos: u32, l: f64| {
            for (k, a) in own_terms(&row(pos).terms) {
                colsum[k] += l * a;
            }
        };
        for g in &self.groups {
            for &pos in g {
                let l = lam[pos as usize];
                if l != 0.0 {
                    add(&mut ws.colsum, pos, l);
                }
            }
        }
        for &(pos, j, a) in &self.bounds {
            let j = j as usize;
            let mu = ws.obj[j] - ws.colsum[j];
            let binds = (mu > 0.0 && ws.hi_row[j] == pos && ws.y[j] == ws.hi[j])
                || (mu < 0.0 && ws.lo_row[j] == pos && ws.y[j] == ws.lo[j]);
            if binds {
                lam[pos as usize] = mu / a;
                add(&mut ws.colsum, pos, mu / a);
            }
        }
        for d in self.det.iter().rev() {
            let j = d.var as usize;
            let l = (ws.obj[j] - ws.colsum[j]) / d.coef;
            lam[d.pos as usize] = l;
            // Its own column's sum is read no more.
            if l != 0.0 {
                add(&mut ws.colsum, d.pos, l);
            }
        }
        let objective = sgn * ws.obj.iter().zip(&ws.y).map(|(c, y)| c * y).sum::<f64>();
        if !objective.is_finite() || lam.iter().any(|l| !l.is_finite()) {
            return None;
        }
        lam.iter_mut().for_each(|l| *l *= sgn);
        Some((objective, lam, ws.y.clone()))
    }
}

/// max Σ c_j y_j s.t. lo ≤ Σ a_j y_j ≤ hi, l_j ≤ y_j ≤ u_j: the row's multiplier λ
/// (positive when the upper bound binds, negative when the lower does) and the values, or None
/// when no point is feasible or the optimum is unbounded.
///
/// At a multiplier λ, y_j = u_j where c_j − λ a_j > 0 and l_j where it is < 0; a variable with
/// c_j − λ a_j = 0 may take any value between. The row's use is then non-increasing in λ and
/// spans an interval at each breakpoint c_j / a_j. The optimum is λ = 0 if the use there can
/// lie within [lo, hi]; otherwise the breakpoint nearest 0, on the side that moves the use
/// toward the bound it misses, at which the use can equal that bound.
fn one_row(items: &[Item], lo: f64, hi: f64) -> Option<(f64, Vec<f64>)> {
    // The tolerance scales with the row's largest finite term or bound.
    let scale = items
        .iter()
        .flat_map(|it| [it.a * it.lo, it.a * it.hi])
        .chain([lo, hi])
        .filter(|v| v.is_finite())
        .fold(1.0f64, |m, v| m.max(v.abs()));
    let tol = TOL * scale;
    if lo > hi + tol {
        return None;
    }
    // The use's range at λ: least and greatest.
    let range = |l: f64| -> (f64, f64) {
        let (mut a, mut b) = (0.0, 0.0);
        for it in items.iter().filter(|it| it.a != 0.0) {
            let d = it.c - l * it.a;
            let (p, q) = if d > 0.0 {
                (it.hi, it.hi)
            } else if d < 0.0 {
                (it.lo, it.lo)
            } else {
                (it.lo, it.hi)
            };
            let (u, v) = (it.a * p, it.a * q);
            a += u.min(v);
            b += u.max(v);
        }
        (a, b)
    };
    let (r_lo, r_hi) = range(0.0);
    let lam = if r_lo <= hi + tol && r_hi >= lo - tol {
        0.0
    } else {
        let mut bps: Vec<f64> = items
            .iter()
            .filter(|it| it.a != 0.0)
            .map(|it| it.c / it.a)
            .collect();
        if r_hi < lo {
            // More use: λ below 0, nearest first.
            bps.retain(|b| *b < 0.0);
            bps.sort_unstable_by(|a, b| b.total_cmp(a));
            *bps.iter().find(|&&b| range(b).1 >= lo - tol)?
        } else {
            bps.retain(|b| *b > 0.0);
            bps.sort_unstable_by(|a, b| a.total_cmp(b));
            *bps.iter().find(|&&b| range(b).0 <= hi + tol)?
        }
    };
    // The values at λ. A variable at its breakpoint starts at the finite end with the least
    // use (or 0 when it has none) and then takes up, in order, what the row still needs.
    let finite_or = |v: f64, w: f64| if v.is_finite() { v } else { w };
    let mut y: Vec<f64> = Vec::with_capacity(items.len());
    for it in items {
        let d = it.c - lam * it.a;
        y.push(if d > 0.0 {
            it.hi
        } else if d < 0.0 {
            it.lo
        } else if it.a < 0.0 {
            finite_or(it.hi, finite_or(it.lo, 0.0))
        } else {
            finite_or(it.lo, finite_or(it.hi, 0.0))
        });
    }
    // A variable its objective sends to an infinite bound: unbounded, for the solver to say.
    if y.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let used: f64 = items.iter().zip(&y).map(|(it, v)| it.a * v).sum();
    // Where the use must end: the bound the multiplier says binds, or, at λ = 0, the least
    // use within [lo, hi].
    let target = if lam > 0.0 {
        hi
    } else if lam < 0.0 {
        lo
    } else {
        used.max(lo).min(hi)
    };
    let mut need = target - used;
    for (it, v) in items.iter().zip(y.iter_mut()) {
        if need == 0.0 {
            break;
        }
        if it.a == 0.0 || it.c - lam * it.a != 0.0 {
            continue;
        }
        let nv = (*v + need / it.a).max(it.lo).min(it.hi);
        need -= it.a * (nv - *v);
        *v = nv;
    }
    if need.abs() > tol || y.iter().any(|v| !v.is_finite()) {
        return None;
    }
    Some((lam, y))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(a: f64, c: f64, lo: f64, hi: f64) -> Item {
        Item { a, c, lo, hi }
    }

    #[test]
    fn a_fractional_knapsack_serves_by_value_per_unit_and_prices_the_row_at_the_last_served() {
        // Three segments worth 5, 3 and 1 per unit, 4 units each, 6 units of capacity: the
        // first in full, 2 of the second; the row's dual is the second's value.
        let items = [
            item(1.0, 3.0, 0.0, 4.0),
            item(1.0, 5.0, 0.0, 4.0),
            item(1.0, 1.0, 0.0, 4.0),
        ];
        let (lam, y) = one_row(&items, f64::NEG_INFINITY, 6.0).unwrap();
        assert_eq!(lam, 3.0);
        assert_eq!(y, vec![2.0, 4.0, 0.0]);
        // Room for everything: dual 0.
        let (lam, y) = one_row(&items, f64::NEG_INFINITY, 20.0).unwrap();
        assert_eq!((lam, y), (0.0, vec![4.0, 4.0, 4.0]));
    }

    #[test]
    fn burst_is_bought_while_it_costs_less_than_what_it_serves() {
        // Served +1 (worth 10 and 2, 5 units each), burst −1 at a price of 4. Capacity 1 and
        // burst up to 3: all the burst, 4 units of the first served; a unit more capacity
        // would serve one more of it, so the row's dual is 10.
        let mut items = [
            item(1.0, 10.0, 0.0, 5.0),
            item(1.0, 2.0, 0.0, 5.0),
            item(-1.0, -4.0, 0.0, 3.0),
        ];
        let (lam, y) = one_row(&items, f64::NEG_INFINITY, 1.0).unwrap();
        assert_eq!(lam, 10.0);
        assert_eq!(y, vec![4.0, 0.0, 3.0]);
        // Capacity below zero beyond what burst can cover: no point.
        assert!(one_row(&items, f64::NEG_INFINITY, -4.0).is_none());
        // Burst up to 10: bought until the first is served in full (4 units), not for the
        // second (worth 2 < 4); the dual is then the burst price.
        items[2].hi = 10.0;
        let (lam, y) = one_row(&items, f64::NEG_INFINITY, 1.0).unwrap();
        assert_eq!(lam, 4.0);
        assert_eq!(y, vec![5.0, 0.0, 4.0]);
    }

    #[test]
    fn a_lower_bound_is_met_by_the_cheapest_units() {
        // Buy at cost 2 or 3 per unit (up to 5 and unbounded), need at least 7: 5 of the first
        // and 2 of the second; the dual is −3 (one more unit required costs 3).
        let items = [
            item(1.0, -3.0, 0.0, f64::INFINITY),
            item(1.0, -2.0, 0.0, 5.0),
        ];
        let (lam, y) = one_row(&items, 7.0, f64::INFINITY).unwrap();
        assert_eq!(lam, -3.0);
        assert_eq!(y, vec![2.0, 5.0]);
    }
}
