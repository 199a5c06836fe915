//! One plan on one path, month by month: the steps of `docs/explanation/simulation.md` as
//! functions over a small state (capacity in [`PathState`], cash and tallies in [`Money`]) and
//! the per-path working vectors ([`Work`]).
//!
//! Each step keeps the order of floating-point operations of the equations, so results are
//! bit-identical to the documented sequence; the bit-identity and known-answer tests guard that.
//!
//! Several paths of one plan can advance together, a lane each ([`Hot`], [`Money`]): the
//! month's steps that every path takes alike (demand, allocation, burst, service and churn,
//! research, cash, tallies and the year's close) run once for all lanes over arrays of lanes,
//! a branch of the path becoming both sides computed and each lane keeping its own; the steps
//! each path takes its own way (rules, capacity and bought chips, pools) run lane by lane. A
//! lane computes exactly what the path would alone.

use super::{
    hash3, refill, yl, Draws, Engine, FastMinMax, Hot, LaneColumns, LaneScratch, OptionKind,
    PathOutcome, PlanC, PoolNow, Recording, Scratch, Step, Work, HOURS_PER_MONTH, LANES, NOISE,
    QUALITY_RATIO_MAX, QUALITY_RATIO_MIN, REPORTED_SERIES, RULE_ORDINAL_BASE, SERIES,
    SHORTFALL_TOL, YEARLY_LINES,
};
use crate::fastexp::{exp_core, ln_core};

/// What one plan carries from month to month on one path, advanced lane by lane (rules and
/// bought chips change it path by path): capacity and its running costs.
struct PathState {
    /// Running sums of the scratch's delta arrays (step 2): raw capacity in H100e, and monthly
    /// power, facility opex, lease and depreciation in USD, powered space and used MW.
    cap_raw_h100e: f64,
    power_usd: f64,
    opex_usd: f64,
    lease_usd: f64,
    dep_usd: f64,
    space_mw: f64,
    used_mw: f64,
    cap_peak_h100e: f64,
    cap_last_h100e: f64,
}

/// What one plan carries from month to month, for every lane at once (an array of lanes per
/// quantity): cash, debt, discounting and the horizon's tallies. Steps 6–8 update it with the
/// operations one path takes, in its order, as loops over lanes that the compiler vectorises;
/// where a path would branch (credit drawn, or debt repaid), every lane computes both sides
/// and keeps its own, so each lane holds exactly the bits of its path alone.
struct Money<const L: usize> {
    /// Cash balance, credit drawn and backstop drawn (step 7), USD.
    cash_usd: [f64; L],
    credit_usd: [f64; L],
    backstop_usd: [f64; L],
    /// Lowest cash before draws.
    min_cash_usd: [f64; L],
    /// Backstop drawn so far (the funding gap).
    gap_usd: [f64; L],
    /// Discount factor of the current month and NPV so far.
    disc: [f64; L],
    npv_usd: [f64; L],
    cum_revenue_usd: [f64; L],
    /// Non-compute opex of the current month.
    noncompute_usd: [f64; L],
    /// Horizon totals for the shares: demand, unserved, capacity and used H100e-months.
    demand_tot: [f64; L],
    unserved_tot: [f64; L],
    cap_tot: [f64; L],
    used_tot: [f64; L],
    idle_cost_usd: [f64; L],
    /// Research delivered and planned so far (H100e-months).
    research_cum: [f64; L],
    planned_cum: [f64; L],
    /// Operating income and free cash flow of the calendar year so far.
    year_income_usd: [f64; L],
    year_fcf_usd: [f64; L],
    first_profit: [Option<i32>; L],
    first_positive_fcf: [Option<i32>; L],
    shortfall_years: [u64; L],
    /// The yearly statement being filled, line by line.
    year_lines: [[f64; L]; YEARLY_LINES.len()],
}

/// The lanes' monthly draws read every month (segment × months + month): exogenous demand
/// in units, H100e-months per unit, revenue per H100e-month; one slice per lane, taken once
/// per run of the month loop.
struct LaneDraws<'a, const L: usize> {
    exo: [&'a [f64]; L],
    k: [&'a [f64]; L],
    rev: [&'a [f64]; L],
    /// Every slice's length (segments × months).
    len: usize,
}

impl<const L: usize> LaneDraws<'_, L> {
    /// Each lane's value at `idx` of `of` (one of the slices above): one check of `idx`
    /// against the common length instead of one per lane.
    #[inline(always)]
    fn at(&self, of: &[&[f64]; L], idx: usize) -> [f64; L] {
        assert!(idx < self.len, "a draw beyond segments × months");
        let mut x = [0.0; L];
        for l in 0..L {
            x[l] = of[l][..self.len][idx];
        }
        x
    }
}

/// What allocation and burst did in one month (steps 4–5), every lane, in H100e-months and
/// USD.
#[derive(Clone, Copy)]
struct Allocation<const L: usize> {
    research: [f64; L],
    idle: [f64; L],
    burst_used: [f64; L],
    burst_cost_usd: [f64; L],
    /// With pools: power not drawn by idle capacity, and the use fees (USD).
    power_saved_usd: [f64; L],
    usage_fees_usd: [f64; L],
}

impl<const L: usize> Allocation<L> {
    const ZERO: Allocation<L> = Allocation {
        research: [0.0; L],
        idle: [0.0; L],
        burst_used: [0.0; L],
        burst_cost_usd: [0.0; L],
        power_saved_usd: [0.0; L],
        usage_fees_usd: [0.0; L],
    };
}

/// A month's payments and receipts (step 7) for every lane, USD: the running costs of the
/// capacity online, and what the plan's commitments, deals and draws fix for the month.
struct MonthFlows<const L: usize> {
    power: [f64; L],
    /// Power not drawn by idle pool capacity (negative), plus pools' use fees.
    power_net: [f64; L],
    opex: [f64; L],
    lease: [f64; L],
    dep: [f64; L],
    capex: [f64; L],
    /// Vendor financing repayments.
    financing: [f64; L],
    /// Revenue paid to partners.
    revenue_share: [f64; L],
    round: [f64; L],
    vendor_investment: [f64; L],
    credit_open: [bool; L],
}

impl<const L: usize> MonthFlows<L> {
    const ZERO: MonthFlows<L> = MonthFlows {
        power: [0.0; L],
        power_net: [0.0; L],
        opex: [0.0; L],
        lease: [0.0; L],
        dep: [0.0; L],
        capex: [0.0; L],
        financing: [0.0; L],
        revenue_share: [0.0; L],
        round: [0.0; L],
        vendor_investment: [0.0; L],
        credit_open: [true; L],
    };
}

/// A month's cash movements (step 7) for every lane, USD.
struct CashMonth<const L: usize> {
    noncompute: [f64; L],
    interest: [f64; L],
    op_costs: [f64; L],
    fcf: [f64; L],
    credit_drawn: [f64; L],
    backstop_drawn: [f64; L],
    repaid: [f64; L],
}

impl Engine {
    /// Simulates plan `pi` on the path drawn in `d`; with `record`, also its monthly series and
    /// yearly statements.
    pub fn run_plan(
        &self,
        pi: usize,
        d: &Draws,
        s: &mut Scratch,
        record: bool,
        out: &mut PathOutcome,
    ) {
        let rec = Recording {
            monthly: record,
            yearly: record,
        };
        self.run_plan_with(pi, d, s, rec, out);
    }

    /// Simulates plan `pi` on the path drawn in `d`, recording what `rec` asks for.
    pub fn run_plan_with(
        &self,
        pi: usize,
        d: &Draws,
        s: &mut Scratch,
        rec: Recording,
        out: &mut PathOutcome,
    ) {
        let mut hot = std::mem::take(&mut s.hot);
        self.run_lanes::<1>(pi, [d], std::array::from_mut(s), &mut hot, rec, [out], None);
        s.hot = hot;
    }

    /// Simulates plan `pi` on [`LANES`] paths at once, the paths drawn in `d`, into `out` in the
    /// same order. Each lane's outcome is bit for bit what [`Engine::run_plan_with`] gives for
    /// its path alone: the lanes share the month's steps, not their numbers.
    ///
    /// With `monthly_cols` (and `rec.monthly`), the monthly series that reports summarise (the
    /// first [`REPORTED_SERIES`]) go straight to the block's cells, cell `series × months +
    /// month` (see [`LaneColumns`]), instead of to `out.monthly`, which stays empty, and each
    /// segment's monthly service is added to the columns' sums, lane after lane, instead of
    /// going to `out.segment_served_h100e`, which stays empty too.
    pub fn run_plan_lanes(
        &self,
        pi: usize,
        d: [&Draws; LANES],
        ls: &mut LaneScratch,
        rec: Recording,
        out: [&mut PathOutcome; LANES],
        monthly_cols: Option<LaneColumns>,
    ) {
        self.run_lanes::<LANES>(pi, d, &mut ls.s, &mut ls.hot, rec, out, monthly_cols);
    }

    /// Plan `pi` on `L` paths: step 0 per path, then the month loop for all of them.
    #[allow(clippy::too_many_arguments)]
    fn run_lanes<const L: usize>(
        &self,
        pi: usize,
        d: [&Draws; L],
        s: &mut [Scratch; L],
        hot: &mut Hot<L>,
        rec: Recording,
        mut out: [&mut PathOutcome; L],
        mut rows: Option<LaneColumns>,
    ) {
        let plan = &self.plans[pi];
        for l in 0..L {
            let s = &mut s[l];
            self.resize(s);
            // Step 0: fleet and fixed commitments become delta arrays.
            self.add_fleet(d[l], s);
            for c in &plan.commits {
                self.commit(c.opt, c.t, c.amount, c.key, d[l], s);
            }
            self.clear_outcome(rec, rows.is_none(), out[l]);
        }
        // Working vectors live in the scratch so a path allocates nothing.
        let mut v: [Work; L] = std::array::from_fn(|l| std::mem::take(&mut s[l].work));
        for l in 0..L {
            self.prepare_work(d[l], &mut v[l]);
        }
        self.prepare_hot(hot, &v);
        // The month loop is compiled twice: without pools it has no pool code at all.
        if self.pools.is_empty() {
            self.months_loop::<false, L>(plan, &d, s, hot, rec, (&mut out, &mut rows), &mut v);
        } else {
            self.months_loop::<true, L>(plan, &d, s, hot, rec, (&mut out, &mut rows), &mut v);
        }
        for (s, v) in s.iter_mut().zip(v) {
            s.work = v;
        }
    }

    /// Steps 1–8 for every month of one plan on `L` paths, and the paths' outcomes; `POOLS`
    /// when the scenario has capacity pools.
    #[allow(clippy::too_many_arguments)]
    fn months_loop<const POOLS: bool, const L: usize>(
        &self,
        plan: &PlanC,
        d: &[&Draws; L],
        s: &mut [Scratch; L],
        h: &mut Hot<L>,
        rec: Recording,
        (out, rows): (&mut [&mut PathOutcome; L], &mut Option<LaneColumns>),
        v: &mut [Work; L],
    ) {
        let mut st: [PathState; L] = std::array::from_fn(|_| self.path_state());
        let mut m = self.money(d);
        let len = self.num_segments() * self.months;
        let ld = LaneDraws {
            exo: std::array::from_fn(|l| &d[l].exo[..len]),
            k: std::array::from_fn(|l| &d[l].k[..len]),
            rev: std::array::from_fn(|l| &d[l].rev[..len]),
            len,
        };
        let nc_growth = self.opex_growth_ln_m.exp();
        // The research ratio is read only by the quality index, with a non-zero elasticity.
        let keep_ratio: [bool; L] = std::array::from_fn(|l| d[l].params[self.quality_eps] != 0.0);
        for t in 0..self.months {
            let mut cap = [0.0; L];
            for l in 0..L {
                if !plan.rules.is_empty() {
                    self.apply_rules(plan, t, &st[l], &v[l], d[l], &mut s[l], out[l]);
                }
                cap[l] = self.advance_capacity::<POOLS>(t, &mut st[l], &mut v[l], d[l], &mut s[l]);
            }
            let demand = self.demand(t, plan, (d, &ld), h, s);
            // Plain loops rather than `array::from_fn`, which is not always inlined.
            let (mut floor_rate, mut extra_cap) = ([0.0; L], [0.0; L]);
            for l in 0..L {
                floor_rate[l] = self.floor_h100e.fmax(self.floor_share * cap[l]);
                extra_cap[l] = self.extra_cap_share * cap[l];
            }
            let mut a = self.allocate::<POOLS, L>(t, &cap, &floor_rate, &extra_cap, &ld, v, h);
            let (served, revenue, revenue_share) = self.serve(t, &ld, h, rec.yearly);
            if POOLS {
                for l in 0..L {
                    self.pool_costs(&v[l], &mut a, l);
                }
            }
            // Rounding residue (a relative 1e-12 of demand or capacity) is not a shortfall or
            // idle.
            let mut unserved = [0.0; L];
            for l in 0..L {
                let u = (demand[l] - served[l]).fmax(0.0);
                unserved[l] = if u <= NOISE * demand[l] { 0.0 } else { u };
                a.idle[l] = if a.idle[l] <= NOISE * cap[l] {
                    0.0
                } else {
                    a.idle[l]
                };
            }
            let rates = (&floor_rate, &extra_cap, &cap);
            self.track_research(t, &mut m, &a.research, rates, (&keep_ratio, s));
            let mut f = MonthFlows::<L>::ZERO;
            for l in 0..L {
                let (st, s, d) = (&st[l], &s[l], d[l]);
                f.power[l] = st.power_usd;
                f.power_net[l] = a.usage_fees_usd[l] - a.power_saved_usd[l];
                f.opex[l] = st.opex_usd;
                f.lease[l] = st.lease_usd;
                f.dep[l] = st.dep_usd;
                f.capex[l] = s.capex[t];
                f.financing[l] = s.fin[t];
                f.revenue_share[l] = revenue_share[l];
                f.round[l] = d.funding[t];
                f.vendor_investment[l] = s.vendor_funding[t];
                f.credit_open[l] = !d.credit_closed.get(t).copied().unwrap_or(false);
            }
            let c = self.settle_cash(&mut m, &revenue, &a.burst_cost_usd, &f);
            for l in 0..L {
                m.noncompute_usd[l] *= nc_growth;
            }
            if rec.yearly {
                let (mut capex_chips, mut warrants) = ([0.0; L], [0.0; L]);
                for l in 0..L {
                    (capex_chips[l], warrants[l]) = (s[l].capex_chips[t], s[l].warrants[t]);
                }
                add_year_lines(
                    &mut m.year_lines,
                    &revenue,
                    (&f, &c),
                    &a,
                    (&capex_chips, &warrants),
                );
            }
            for l in 0..L {
                let capacity_cost =
                    f.power[l] - a.power_saved_usd[l] + f.opex[l] + f.lease[l] + f.dep[l];
                // Nothing idle is costed without capacity (and 0/0 is never kept).
                m.idle_cost_usd[l] = if cap[l] > 0.0 {
                    m.idle_cost_usd[l] + a.idle[l] / cap[l] * capacity_cost
                } else {
                    m.idle_cost_usd[l]
                };
                m.year_income_usd[l] += revenue[l] - c.op_costs[l] - f.dep[l];
                m.year_fcf_usd[l] += c.fcf[l];
            }
            let yearly_cells = rows.as_mut().and_then(|r| r.yearly_cells.as_deref_mut());
            let year_out = (&mut *out, yearly_cells);
            self.close_year(t, &mut m, &mut h.seg_revenue_year, rec.yearly, year_out);
            let year_bit = 1u64 << ((self.start_month_of_year + t as i32) / 12).min(63);
            for l in 0..L {
                let short = unserved[l] > SHORTFALL_TOL * demand[l] && demand[l] > 0.0;
                m.shortfall_years[l] |= if short { year_bit } else { 0 };
                m.demand_tot[l] += demand[l];
                m.unserved_tot[l] += unserved[l];
                m.cap_tot[l] += cap[l];
                m.used_tot[l] += cap[l] - a.idle[l];
            }
            if rec.monthly {
                match rows {
                    // The reported series, each month's lanes in one stretch of their column,
                    // and each segment's service added to its sum, lane after lane.
                    Some(cols) => {
                        let sums = cols.segment_served_sum.iter_mut().skip(t);
                        for (sum, sv) in sums.step_by(self.months).zip(&h.seg_served) {
                            for x in sv {
                                *sum += x;
                            }
                        }
                        // In SERIES order.
                        let month: [&[f64; L]; REPORTED_SERIES] = [
                            &demand,
                            &cap,
                            &served,
                            &unserved,
                            &a.research,
                            &a.idle,
                            &revenue,
                            &m.cash_usd,
                            &m.gap_usd,
                            &a.burst_used,
                        ];
                        for (si, v) in month.into_iter().enumerate() {
                            cols.put(si * self.months + t, v);
                        }
                    }
                    None => {
                        for l in 0..L {
                            for (si, sv) in h.seg_served.iter().enumerate() {
                                out[l].segment_served_h100e[si * self.months + t] = sv[l];
                            }
                        }
                        for l in 0..L {
                            // In SERIES order.
                            let month = [
                                demand[l],
                                cap[l],
                                served[l],
                                unserved[l],
                                a.research[l],
                                a.idle[l],
                                revenue[l],
                                m.cash_usd[l],
                                m.gap_usd[l],
                                a.burst_used[l],
                                c.fcf[l],
                                c.interest[l],
                                f.round[l],
                                m.credit_usd[l] + m.backstop_usd[l],
                            ];
                            for (series, x) in out[l].monthly.iter_mut().zip(month) {
                                series[t] = x;
                            }
                        }
                    }
                }
            }
        }
        for l in 0..L {
            self.finish(&st[l], &m, h, l, &s[l], out[l]);
        }
    }

    /// Empties what a previous path left in `out` and sizes the monthly series (in `out` when
    /// `series_in_out`).
    fn clear_outcome(&self, rec: Recording, series_in_out: bool, out: &mut PathOutcome) {
        out.rule_commitments.clear();
        out.lease_cancellations.clear();
        out.yearly.clear();
        out.yearly_segment_revenue.clear();
        out.segment_served_h100e.clear();
        if rec.monthly {
            if series_in_out {
                out.segment_served_h100e
                    .resize(self.segs.len() * self.months, 0.0);
                out.monthly.resize(SERIES.len(), Vec::new());
                for m in &mut out.monthly {
                    m.clear();
                    m.resize(self.months, 0.0);
                }
            } else {
                out.monthly.clear();
            }
        }
    }

    /// Fills the working vectors for a new path: burst offers cheapest first, nothing pending.
    fn prepare_work(&self, d: &Draws, v: &mut Work) {
        let p = &d.params;
        v.burst.clear();
        v.burst.extend(
            self.opts
                .iter()
                .filter(|o| o.kind == OptionKind::Burst)
                .map(|o| (o.cap_h100e, p[o.price])),
        );
        v.burst.sort_by(|a, b| a.1.total_cmp(&b.1));
        refill(&mut v.pending, self.opts.len(), 0.0);
        let np = self.pools.len();
        refill(&mut v.pool_raw, np, 0.0);
        refill(&mut v.pool_power, np, 0.0);
        v.pools_now.clear();
        v.pools_now.extend((0..np).map(|pool| PoolNow {
            pool,
            ..PoolNow::default()
        }));
    }

    /// Fills the lane arrays for new paths: churn factors at one, training runs not started,
    /// and the burst offers, the k-th of each lane being its path's k-th cheapest.
    fn prepare_hot<const L: usize>(&self, h: &mut Hot<L>, v: &[Work; L]) {
        let (ns, nb) = (self.segs.len(), self.hours.len());
        refill(&mut h.need, ns, [0.0; L]);
        refill(&mut h.churn, ns, [1.0; L]);
        refill(&mut h.seg_served, ns, [0.0; L]);
        refill(&mut h.seg_revenue_year, ns, [0.0; L]);
        refill(&mut h.want, ns * nb, [0.0; L]);
        refill(&mut h.served, ns * nb, [0.0; L]);
        h.run_left.clear();
        h.run_left.extend(self.runs.iter().map(|r| [r.size; L]));
        refill(&mut h.run_done, self.runs.len(), [-1; L]);
        // Each lane's offers in its own price order (every lane has the same offers).
        let offers = v[0].burst.len();
        h.burst_cap.clear();
        h.burst_cap
            .extend((0..offers).map(|k| std::array::from_fn(|l| v[l].burst[k].0)));
        h.burst_price.clear();
        h.burst_price
            .extend((0..offers).map(|k| std::array::from_fn(|l| v[l].burst[k].1)));
    }

    /// The capacity state before the first month.
    fn path_state(&self) -> PathState {
        PathState {
            cap_raw_h100e: 0.0,
            power_usd: 0.0,
            opex_usd: 0.0,
            lease_usd: 0.0,
            dep_usd: 0.0,
            space_mw: self.existing_mw,
            used_mw: 0.0,
            cap_peak_h100e: 0.0,
            cap_last_h100e: 0.0,
        }
    }

    /// Cash and tallies before the first month, every lane.
    fn money<const L: usize>(&self, d: &[&Draws; L]) -> Money<L> {
        let z = [0.0; L];
        Money {
            cash_usd: [self.starting_cash; L],
            credit_usd: z,
            backstop_usd: z,
            min_cash_usd: [f64::INFINITY; L],
            gap_usd: z,
            disc: [1.0; L],
            npv_usd: z,
            cum_revenue_usd: z,
            noncompute_usd: std::array::from_fn(|l| d[l].params[self.opex0]),
            demand_tot: z,
            unserved_tot: z,
            cap_tot: z,
            used_tot: z,
            idle_cost_usd: z,
            research_cum: z,
            planned_cum: z,
            year_income_usd: z,
            year_fcf_usd: z,
            first_profit: [None; L],
            first_positive_fcf: [None; L],
            shortfall_years: [0; L],
            year_lines: std::array::from_fn(|i| {
                if i == yl::CASH_START {
                    [self.starting_cash; L]
                } else {
                    z
                }
            }),
        }
    }

    /// Step 1: rules decide, seeing only months before `t`.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn apply_rules(
        &self,
        plan: &PlanC,
        t: usize,
        st: &PathState,
        v: &Work,
        d: &Draws,
        s: &mut Scratch,
        out: &mut PathOutcome,
    ) {
        let ti = t as i32;
        for r in &plan.rules {
            if ti >= r.from && ti <= r.until && (ti - r.from) % r.every == 0 {
                let room_mw = self.rule_room_mw(r, ti, st.space_mw - st.used_mw, &v.pending, s);
                if let Some(rule) = r.affine {
                    // Keyed like a fixed commitment at that month (ordinal 0), as the programme
                    // that found the rule valued it.
                    if let Some(amount) = self.affine_amount(r, rule, ti, d, s) {
                        let ck = self.commitment_key(r.opt, ti, 0);
                        self.commit(r.opt, ti, amount, ck, d, s);
                        out.rule_commitments.push((r.opt, ti, amount));
                    }
                } else if r.cancel {
                    if let Some(surplus) = self.rule_amount(r, ti, s, None) {
                        let (x, fee) = self.cancel_leases(r, ti, surplus, s);
                        if x > 0.0 {
                            out.lease_cancellations.push((r.opt, ti, x, fee));
                        }
                    }
                } else if let Some(amount) = self.rule_amount(r, ti, s, room_mw) {
                    let ck = hash3(
                        self.opts[r.opt].key,
                        ti as u64,
                        RULE_ORDINAL_BASE + out.rule_commitments.len() as u64,
                    );
                    self.commit(r.opt, ti, amount, ck, d, s);
                    out.rule_commitments.push((r.opt, ti, amount));
                }
            }
        }
    }

    /// Step 2: capacity and running costs from the delta arrays, bought chips installed where
    /// powered space allows. Returns the capacity online, H100e.
    #[inline(always)]
    fn advance_capacity<const POOLS: bool>(
        &self,
        t: usize,
        st: &mut PathState,
        v: &mut Work,
        d: &Draws,
        s: &mut Scratch,
    ) -> f64 {
        st.cap_raw_h100e += s.d_cap[t];
        st.power_usd += s.d_power[t];
        st.opex_usd += s.d_opex[t];
        st.lease_usd += s.d_lease[t];
        st.dep_usd += s.d_dep[t];
        st.space_mw += s.d_space[t];
        st.used_mw += s.d_used[t];
        if POOLS {
            let n = self.months + 1;
            for p in 0..self.pools.len() {
                v.pool_raw[p] += s.d_pool_cap[p * n + t];
                v.pool_power[p] += s.d_pool_power[p * n + t];
            }
        }
        // Only in months when bought chips arrive or wait for space.
        let n = self.months + 1;
        if self
            .buy_opts
            .iter()
            .any(|&oi| v.pending[oi] > 0.0 || s.buy_arrivals[oi * n + t] != 0.0)
        {
            self.install_buys::<POOLS>(t, st, v, d, s);
        }
        if POOLS {
            self.merit_order(v);
        }
        let cap = (st.cap_raw_h100e * self.availability).fmax(0.0);
        st.cap_peak_h100e = st.cap_peak_h100e.fmax(cap);
        st.cap_last_h100e = cap;
        cap
    }

    /// Step 2, bought chips: arrivals join the queue, and what fits in free powered space comes
    /// online; each installed lot retires for good at the end of its generation's life.
    fn install_buys<const POOLS: bool>(
        &self,
        t: usize,
        st: &mut PathState,
        v: &mut Work,
        d: &Draws,
        s: &mut Scratch,
    ) {
        let site_price = d.params[self.site_power_price];
        let pending = &mut v.pending;
        for &oi in &self.buy_opts {
            let o = &self.opts[oi];
            pending[oi] += s.buy_arrivals[oi * (self.months + 1) + t];
            if pending[oi] <= 0.0 {
                continue;
            }
            let mw_per_unit = self.buy_mw_per_unit(o);
            let fit = if mw_per_unit > 0.0 {
                ((st.space_mw - st.used_mw).fmax(0.0) / mw_per_unit).fmin(pending[oi])
            } else {
                pending[oi]
            };
            if fit > 0.0 {
                pending[oi] -= fit;
                let h = fit * o.h100e_per_unit;
                let mw = fit * mw_per_unit;
                let end = t as i32 + o.gen_life_m;
                let power = mw * HOURS_PER_MONTH * site_price;
                st.cap_raw_h100e += h;
                st.used_mw += mw;
                st.power_usd += power;
                if POOLS {
                    v.pool_raw[o.pool] += h;
                    v.pool_power[o.pool] += power;
                    self.pool_span(s, o.pool, end, i32::MAX, -h, -power);
                }
                // Retired for good at the end of the generation's life (a span to the horizon
                // end, not a one-month dip).
                Self::span(&mut s.d_cap, end, i32::MAX, -h);
                Self::span(&mut s.d_used, end, i32::MAX, -mw);
                Self::span(&mut s.d_power, end, i32::MAX, -power);
            }
        }
    }

    /// Every lane's quality multiplier on demand at month `t`: research delivered over planned,
    /// `lag` months earlier (clamped to [0.1, 10]), to the power of the elasticity ε, as
    /// e^(ε·ln r) in one loop over the lanes, which the compiler vectorises (within a few units
    /// in the last place of the C library's `pow`; see the `fastexp` module). 1 exactly on plan
    /// (r = 1), with nothing planned yet or without elasticity (when r is not tracked).
    #[inline(always)]
    fn quality_lanes<const L: usize>(
        &self,
        t: usize,
        d: &[&Draws; L],
        s: &[Scratch; L],
    ) -> [f64; L] {
        let mut q = [1.0; L];
        if t < self.quality_lag || t == 0 {
            return q;
        }
        // The lanes' ratios and elasticities first, so the second loop, the arithmetic, has no
        // loads but these arrays and vectorises.
        let (mut r, mut eps) = ([1.0; L], [0.0; L]);
        for l in 0..L {
            eps[l] = d[l].params[self.quality_eps];
            r[l] = s[l].ratio[t - self.quality_lag];
        }
        if eps == [0.0; L] {
            // No elasticity on any lane (the ratio is not even tracked).
            return q;
        }
        for l in 0..L {
            let x = r[l].clamp(QUALITY_RATIO_MIN, QUALITY_RATIO_MAX);
            let power = exp_core(eps[l] * ln_core(x));
            q[l] = if r[l] != 1.0 && r[l] > 0.0 && eps[l] != 0.0 {
                power
            } else {
                1.0
            };
        }
        q
    }

    /// Step 3: each segment's compute need and its want per load block, for every lane.
    /// Returns each lane's product demand, H100e.
    #[inline(always)]
    fn demand<const L: usize>(
        &self,
        t: usize,
        plan: &PlanC,
        (d, ld): (&[&Draws; L], &LaneDraws<L>),
        h: &mut Hot<L>,
        s: &mut [Scratch; L],
    ) -> [f64; L] {
        let (t_len, nb) = (self.months, self.hours.len());
        let q = self.quality_lanes(t, d, s);
        let mut demand_h = [0.0; L];
        let rows = h
            .want
            .chunks_exact_mut(nb)
            .zip(h.served.chunks_exact_mut(nb));
        let segs = h.need.iter_mut().zip(&h.churn).zip(rows);
        for (si, ((need, churn), (want, served))) in segs.enumerate() {
            let idx = si * t_len + t;
            let (exo, k) = (ld.at(&ld.exo, idx), ld.at(&ld.k, idx));
            for l in 0..L {
                need[l] = exo[l] * churn[l] * q[l] * k[l];
                demand_h[l] += need[l];
            }
            let factors = &self.factors[si * nb..(si + 1) * nb];
            for ((w, sv), f) in want.iter_mut().zip(served.iter_mut()).zip(factors) {
                for l in 0..L {
                    w[l] = need[l] * f;
                }
                *sv = [0.0; L];
            }
        }
        for l in 0..L {
            let s = &mut s[l];
            s.hist[t] = demand_h[l];
            if !plan.rules.is_empty() {
                s.log_growth[t] = if t > 0 && demand_h[l] > 0.0 && s.hist[t - 1] > 0.0 {
                    (demand_h[l] / s.hist[t - 1]).ln()
                } else {
                    f64::NAN
                };
            }
        }
        demand_h
    }

    /// Steps 4 and 5 over every load block, for every lane: allocation in priority order, then
    /// burst.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn allocate<const POOLS: bool, const L: usize>(
        &self,
        t: usize,
        cap: &[f64; L],
        floor_rate: &[f64; L],
        extra_cap: &[f64; L],
        ld: &LaneDraws<L>,
        v: &mut [Work; L],
        h: &mut Hot<L>,
    ) -> Allocation<L> {
        let mut a = Allocation::<L>::ZERO;
        for (b, &hb) in self.hours.iter().enumerate() {
            let (left, res_b, any_short) = if POOLS {
                let mut r = ([0.0; L], [0.0; L], [false; L]);
                for l in 0..L {
                    let x = self.allocate_block_pools(
                        t,
                        b,
                        floor_rate[l],
                        extra_cap[l],
                        &mut v[l],
                        h,
                        l,
                    );
                    (r.0[l], r.1[l], r.2[l]) = x;
                }
                r
            } else {
                self.allocate_block(t, b, cap, floor_rate, extra_cap, h)
            };
            if self.burst_covers && !h.burst_cap.is_empty() && any_short.contains(&true) {
                self.cover_with_burst(t, b, ld, h, &mut a);
            }
            for l in 0..L {
                a.research[l] += res_b[l] * hb;
                a.idle[l] += left[l] * hb;
            }
        }
        a
    }

    /// Step 4 for load block `b`, every lane: capacity goes to each step of the allocation
    /// order in turn. Returns (capacity left idle, research served, whether any product segment
    /// fell short) per lane.
    #[inline(always)]
    fn allocate_block<const L: usize>(
        &self,
        t: usize,
        b: usize,
        cap: &[f64; L],
        floor_rate: &[f64; L],
        extra_cap: &[f64; L],
        h: &mut Hot<L>,
    ) -> ([f64; L], [f64; L], [bool; L]) {
        let ti = t as i32;
        let nb = self.hours.len();
        let hb = self.hours[b];
        let mut left = *cap;
        let mut res_b = [0.0; L];
        let mut any_short = [false; L];
        for step in &self.order {
            match *step {
                Step::Floor => {
                    for l in 0..L {
                        let g = floor_rate[l].fmin(left[l]);
                        left[l] -= g;
                        res_b[l] += g;
                    }
                }
                Step::Seg(si) => {
                    let i = si * nb + b;
                    let w = h.want[i];
                    let served = &mut h.served[i];
                    for l in 0..L {
                        let g = w[l].fmin(left[l]);
                        served[l] = g;
                        left[l] -= g;
                        any_short[l] |= g < w[l];
                    }
                }
                Step::Runs => {
                    let runs = self.runs.iter().zip(&mut h.run_left).zip(&mut h.run_done);
                    for ((run, run_left), run_done) in runs {
                        if ti < run.start {
                            continue;
                        }
                        for l in 0..L {
                            if run_left[l] <= 0.0 || left[l] <= 0.0 || cap[l] < run.min_cluster {
                                continue;
                            }
                            let g = run.rate.fmin(run_left[l] / hb).fmin(left[l]);
                            left[l] -= g;
                            res_b[l] += g;
                            run_progress(&mut run_left[l], &mut run_done[l], g * hb, run.size, ti);
                        }
                    }
                }
                Step::Extra => {
                    for l in 0..L {
                        let g = left[l].fmin((extra_cap[l] - res_b[l]).fmax(0.0));
                        left[l] -= g;
                        res_b[l] += g;
                    }
                }
            }
        }
        (left, res_b, any_short)
    }

    /// Step 2 with pools: each pool's capacity online and its cost per H100e-month used (the
    /// use fee plus the power an H100e draws beyond its idle share), and the merit order:
    /// cheapest first, ties in the order the pools are listed.
    fn merit_order(&self, v: &mut Work) {
        for st in v.pools_now.iter_mut() {
            let pool = &self.pools[st.pool];
            let cap = (v.pool_raw[st.pool] * self.availability).fmax(0.0);
            st.cap = cap;
            st.used = 0.0;
            st.cost = if cap > 0.0 {
                pool.fee_month_usd + (1.0 - pool.idle_share) * v.pool_power[st.pool] / cap
            } else {
                pool.fee_month_usd
            };
        }
        // Insertion sort: a handful of pools, nearly sorted from last month.
        let now = &mut v.pools_now;
        for i in 1..now.len() {
            let mut j = i;
            while j > 0 && {
                let (a, b) = (&now[j - 1], &now[j]);
                a.cost.total_cmp(&b.cost).then(a.pool.cmp(&b.pool)).is_gt()
            } {
                now.swap(j - 1, j);
                j -= 1;
            }
        }
    }

    /// Takes up to `amount` H100e from the pools in the bit mask `ok` with at least
    /// `min_cluster` H100e online, cheapest first, in a block of `h` of the month's hours.
    /// Returns what it got.
    #[inline]
    fn draw_pools(&self, v: &mut Work, (h, amount, min_cluster): (f64, f64, f64), ok: u64) -> f64 {
        let mut got = 0.0;
        if amount <= 0.0 {
            return got;
        }
        for st in v.pools_now.iter_mut() {
            if ok >> st.pool & 1 == 0 || st.cap < min_cluster {
                continue;
            }
            let g = (amount - got).fmin(st.left);
            if g > 0.0 {
                st.left -= g;
                st.used += g * h;
                got += g;
                if got >= amount {
                    break;
                }
            }
        }
        got
    }

    /// Step 4 with pools, for load block `b`: each step of the allocation order in turn, each
    /// drawing from the pools that may run its work in merit order; a training run only from
    /// pools with at least its minimum cluster online. Returns (capacity left idle, research
    /// served, whether any product segment fell short) for lane `l`.
    #[allow(clippy::too_many_arguments)]
    fn allocate_block_pools<const L: usize>(
        &self,
        t: usize,
        b: usize,
        floor_rate: f64,
        extra_cap: f64,
        v: &mut Work,
        hot: &mut Hot<L>,
        l: usize,
    ) -> (f64, f64, bool) {
        let ti = t as i32;
        let nb = self.hours.len();
        let h = self.hours[b];
        for st in v.pools_now.iter_mut() {
            st.left = st.cap;
        }
        let (research, serves) = (self.pools_research, &self.pools_serving);
        let mut res_b = 0.0;
        let mut any_short = false;
        for step in &self.order {
            match *step {
                Step::Floor => {
                    res_b += self.draw_pools(v, (h, floor_rate, 0.0), research);
                }
                Step::Seg(si) => {
                    let w = hot.want[si * nb + b][l];
                    let g = self.draw_pools(v, (h, w, 0.0), serves[si]);
                    hot.served[si * nb + b][l] = g;
                    any_short |= g < w;
                }
                Step::Runs => {
                    for (ri, run) in self.runs.iter().enumerate() {
                        let run_left = hot.run_left[ri][l];
                        if run_left <= 0.0 || ti < run.start {
                            continue;
                        }
                        let rate = run.rate.fmin(run_left / h);
                        let g = self.draw_pools(v, (h, rate, run.min_cluster), research);
                        res_b += g;
                        let (left, done) = (&mut hot.run_left[ri][l], &mut hot.run_done[ri][l]);
                        run_progress(left, done, g * h, run.size, ti);
                    }
                }
                Step::Extra => {
                    let room = (extra_cap - res_b).fmax(0.0);
                    res_b += self.draw_pools(v, (h, room, 0.0), research);
                }
            }
        }
        let left = v.pools_now.iter().map(|st| st.left).sum();
        (left, res_b, any_short)
    }

    /// Step 6 with pools: the power idle capacity did not draw, (1 − idle share) × full power
    /// × (1 − use share), and the use fees, over every pool (USD).
    fn pool_costs<const L: usize>(&self, v: &Work, a: &mut Allocation<L>, l: usize) {
        for st in &v.pools_now {
            let pool = &self.pools[st.pool];
            let use_share = if st.cap > 0.0 {
                (st.used / st.cap).fmin(1.0)
            } else {
                0.0
            };
            a.power_saved_usd[l] +=
                (1.0 - pool.idle_share) * v.pool_power[st.pool] * (1.0 - use_share);
            a.usage_fees_usd[l] += pool.fee_month_usd * st.used;
        }
    }

    /// Step 5 for load block `b`, every lane at once: burst covers product shortfall, in
    /// priority order, each lane's cheapest burst offer first, and only where the revenue per
    /// H100e-month pays for it. A lane takes an offer where its path would (some shortfall
    /// left, some of the offer left, the offer paying for itself) and keeps its numbers
    /// elsewhere, so each lane gets its path's bits; lanes with no shortfall take nothing.
    #[inline(always)]
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    fn cover_with_burst<const L: usize>(
        &self,
        t: usize,
        b: usize,
        ld: &LaneDraws<L>,
        hot: &mut Hot<L>,
        a: &mut Allocation<L>,
    ) {
        let nb = self.hours.len();
        let h = self.hours[b];
        hot.burst_left.clone_from(&hot.burst_cap);
        for &si in &self.order_segs {
            let i = si * nb + b;
            let (want, served) = (hot.want[i], &mut hot.served[i]);
            let mut short = [0.0; L];
            let mut any = false;
            for l in 0..L {
                short[l] = want[l] - served[l];
                any |= short[l] > 0.0;
            }
            if !any {
                continue;
            }
            let rev = ld.at(&ld.rev, si * self.months + t);
            for (left, price) in hot.burst_left.iter_mut().zip(&hot.burst_price) {
                for l in 0..L {
                    let g = short[l].fmin(left[l]);
                    // As the path tests it (`!(price > rev)`, not `<=`), whatever the values.
                    let take = g > 0.0 && !(price[l] > rev[l]);
                    left[l] = if take { left[l] - g } else { left[l] };
                    served[l] = if take { served[l] + g } else { served[l] };
                    short[l] = if take { short[l] - g } else { short[l] };
                    a.burst_used[l] = if take {
                        a.burst_used[l] + g * h
                    } else {
                        a.burst_used[l]
                    };
                    a.burst_cost_usd[l] = if take {
                        a.burst_cost_usd[l] + g * h * price[l]
                    } else {
                        a.burst_cost_usd[l]
                    };
                }
            }
        }
    }

    /// Step 6, every lane: what each segment was served and earned, and the part of it paid to
    /// partners (revenue shares); churn where it fell short. Returns each lane's served
    /// H100e-months, revenue (USD) and revenue shared (USD).
    #[inline(always)]
    fn serve<const L: usize>(
        &self,
        t: usize,
        ld: &LaneDraws<L>,
        h: &mut Hot<L>,
        yearly: bool,
    ) -> ([f64; L], [f64; L], [f64; L]) {
        let nb = self.hours.len();
        let (mut served_h, mut revenue, mut shared) = ([0.0; L], [0.0; L], [0.0; L]);
        let rows = h.served.chunks_exact(nb);
        let segs = rows.zip(&mut h.seg_served).zip(&h.need).zip(&mut h.churn);
        let segs = segs.zip(&mut h.seg_revenue_year);
        for (si, ((((served, seg_served), need), churn), rev_year)) in segs.enumerate() {
            let idx = si * self.months + t;
            let churn_share = self.segs[si].churn;
            // As `Iterator::sum` adds: from −0.0, block by block.
            let mut sv = [-0.0; L];
            for (x, hb) in served.iter().zip(&self.hours) {
                for l in 0..L {
                    sv[l] += x[l] * hb;
                }
            }
            *seg_served = sv;
            let rev = ld.at(&ld.rev, idx);
            for l in 0..L {
                served_h[l] += sv[l];
                revenue[l] += sv[l] * rev[l];
            }
            if yearly {
                for l in 0..L {
                    rev_year[l] += sv[l] * rev[l];
                }
            }
            if let Some(share) = self.rev_share.get(idx) {
                for l in 0..L {
                    shared[l] += sv[l] * rev[l] * share;
                }
            }
            // Fully served (the common case) or no churn: nothing to divide.
            if churn_share > 0.0 {
                let mut short = false;
                for l in 0..L {
                    short |= sv[l] < need[l];
                }
                if short {
                    // Every lane, without a branch per lane: a lane served in full has a
                    // share of exactly 0 (its ratio is at least 1, or 0/0 when it needs
                    // nothing, which `fmax` turns into 0), so its churn is multiplied by
                    // exactly 1.
                    for l in 0..L {
                        let share = (1.0 - sv[l] / need[l]).fmax(0.0);
                        churn[l] *= 1.0 - churn_share * share;
                    }
                }
            }
        }
        (served_h, revenue, shared)
    }

    /// Step 6, research, every lane: delivered against planned (the floor plus runs on
    /// schedule, or research's full share of capacity if larger, never more than capacity),
    /// summed over the horizon so far; their ratio feeds quality `lag` months later (kept
    /// only for lanes in `keep_ratio`, whose elasticity is not 0).
    #[inline(always)]
    fn track_research<const L: usize>(
        &self,
        t: usize,
        m: &mut Money<L>,
        research: &[f64; L],
        (floor_rate, extra_cap, cap): (&[f64; L], &[f64; L], &[f64; L]),
        (keep_ratio, s): (&[bool; L], &mut [Scratch; L]),
    ) {
        let on_schedule = self.run_schedule[t];
        for l in 0..L {
            let scheduled = floor_rate[l] + on_schedule;
            let planned_r = scheduled.fmax(extra_cap[l]).fmin(cap[l]);
            m.research_cum[l] += research[l];
            m.planned_cum[l] += planned_r;
        }
        for l in 0..L {
            if keep_ratio[l] {
                s[l].ratio[t] = if m.planned_cum[l] > 0.0 {
                    m.research_cum[l] / m.planned_cum[l]
                } else {
                    1.0
                };
            }
        }
    }

    /// Step 7, every lane: free cash flow (revenue less operating costs, revenue shares among
    /// them, capex and vendor financing), discounting, funding (rounds and vendor investment),
    /// then the credit line (unless a funding freeze closed it this month) and the backstop
    /// cover any fall below minimum cash, and excess cash repays them.
    #[inline(always)]
    fn settle_cash<const L: usize>(
        &self,
        m: &mut Money<L>,
        revenue: &[f64; L],
        burst_cost: &[f64; L],
        f: &MonthFlows<L>,
    ) -> CashMonth<L> {
        let z = [0.0; L];
        let mut c = CashMonth {
            noncompute: m.noncompute_usd,
            interest: z,
            op_costs: z,
            fcf: z,
            credit_drawn: z,
            backstop_drawn: z,
            repaid: z,
        };
        let min_cash = self.min_cash;
        for l in 0..L {
            let interest =
                m.credit_usd[l] * self.credit_rate_m + m.backstop_usd[l] * self.backstop_rate_m;
            let op_costs = f.power[l]
                + f.power_net[l]
                + f.opex[l]
                + f.lease[l]
                + burst_cost[l]
                + c.noncompute[l]
                + f.revenue_share[l];
            let fcf = revenue[l] - op_costs - f.capex[l] - f.financing[l];
            m.disc[l] /= self.disc_m;
            m.npv_usd[l] += fcf * m.disc[l];
            m.cum_revenue_usd[l] += revenue[l];
            let mut cash = m.cash_usd[l] + (fcf - interest + f.round[l]);
            cash += f.vendor_investment[l];
            m.min_cash_usd[l] = m.min_cash_usd[l].fmin(cash);
            let (credit, backstop) = (m.credit_usd[l], m.backstop_usd[l]);
            // Below minimum cash: the credit line's room (when open), then the backstop.
            let below = cash < min_cash;
            let short = min_cash - cash;
            let room = if f.credit_open[l] {
                (self.credit_limit - credit).fmax(0.0)
            } else {
                0.0
            };
            let drawn = short.fmin(room);
            let backstop_drawn = short - drawn;
            // Otherwise, with debt, the excess repays the credit line, then the backstop.
            let repay = !below && credit + backstop > 0.0;
            let excess = cash - min_cash;
            let r1 = excess.fmin(credit);
            let r2 = (excess - r1).fmin(backstop);
            // Each lane keeps the side its path takes (the other side's numbers are dropped).
            m.credit_usd[l] = if below {
                credit + drawn
            } else if repay {
                credit - r1
            } else {
                credit
            };
            m.backstop_usd[l] = if below {
                backstop + backstop_drawn
            } else if repay {
                backstop - r2
            } else {
                backstop
            };
            m.gap_usd[l] = if below {
                m.gap_usd[l] + backstop_drawn
            } else {
                m.gap_usd[l]
            };
            m.cash_usd[l] = if below {
                min_cash
            } else if repay {
                cash - (r1 + r2)
            } else {
                cash
            };
            c.credit_drawn[l] = if below { drawn } else { 0.0 };
            c.backstop_drawn[l] = if below { backstop_drawn } else { 0.0 };
            c.repaid[l] = if repay { r1 + r2 } else { 0.0 };
            c.interest[l] = interest;
            c.op_costs[l] = op_costs;
            c.fcf[l] = fcf;
        }
        c
    }

    /// At the last month of a calendar year (or of the horizon), every lane: the first
    /// profitable year and the first with a positive free cash flow, and the year's statement
    /// closed with its cash.
    #[inline(always)]
    fn close_year<const L: usize>(
        &self,
        t: usize,
        m: &mut Money<L>,
        seg_revenue_year: &mut [[f64; L]],
        yearly: bool,
        (out, cells): (&mut [&mut PathOutcome; L], Option<&mut [f64]>),
    ) {
        let ti = t as i32;
        let month_of_year = (self.start_month_of_year + ti) % 12;
        if month_of_year != 11 && t + 1 != self.months {
            return;
        }
        let year = self.start_year + (self.start_month_of_year + ti) / 12;
        for l in 0..L {
            if m.year_income_usd[l] > 0.0 && m.first_profit[l].is_none() {
                m.first_profit[l] = Some(year);
            }
            if m.year_fcf_usd[l] > 0.0 && m.first_positive_fcf[l].is_none() {
                m.first_positive_fcf[l] = Some(year);
            }
            m.year_income_usd[l] = 0.0;
            m.year_fcf_usd[l] = 0.0;
        }
        if yearly {
            m.year_lines[yl::CASH_END] = m.cash_usd;
            match cells {
                // The year's lines and segments' revenue, each cell's lanes in one store.
                Some(cells) => {
                    let per_year = m.year_lines.len() + seg_revenue_year.len();
                    let y = (year - self.start_year) as usize;
                    let stretch = &mut cells[y * per_year * L..][..per_year * L];
                    let lanes = m.year_lines.iter().chain(&*seg_revenue_year);
                    for (cell, v) in stretch.as_chunks_mut::<L>().0.iter_mut().zip(lanes) {
                        *cell = *v;
                    }
                }
                None => {
                    for l in 0..L {
                        let out = &mut *out[l];
                        out.yearly.push(std::array::from_fn(|i| m.year_lines[i][l]));
                        out.yearly_segment_revenue
                            .extend(seg_revenue_year.iter().map(|r| r[l]));
                    }
                }
            }
            seg_revenue_year.fill([0.0; L]);
            m.year_lines = [[0.0; L]; YEARLY_LINES.len()];
            m.year_lines[yl::CASH_START] = m.cash_usd;
        }
    }

    /// The path's outcomes from the final state: terminal value, shares and run delays.
    fn finish<const L: usize>(
        &self,
        st: &PathState,
        m: &Money<L>,
        h: &Hot<L>,
        l: usize,
        s: &Scratch,
        out: &mut PathOutcome,
    ) {
        // Terminal value: book value of owned assets less remaining lease obligations.
        out.npv_usd = m.npv_usd[l] + s.terminal * m.disc[l];
        out.cum_revenue_usd = m.cum_revenue_usd[l];
        out.min_cash_usd = if m.min_cash_usd[l].is_finite() {
            m.min_cash_usd[l]
        } else {
            m.cash_usd[l]
        };
        out.funding_gap_usd = m.gap_usd[l];
        out.unserved_share = if m.demand_tot[l] > 0.0 {
            m.unserved_tot[l] / m.demand_tot[l]
        } else {
            0.0
        };
        out.research_delivered_pu = if m.planned_cum[l] > 0.0 {
            m.research_cum[l] / m.planned_cum[l]
        } else {
            1.0
        };
        out.utilisation = if m.cap_tot[l] > 0.0 {
            m.used_tot[l] / m.cap_tot[l]
        } else {
            0.0
        };
        out.idle_cost_usd = m.idle_cost_usd[l];
        out.first_profitable_year = m.first_profit[l].unwrap_or(self.end_year + 1) as f64;
        out.first_positive_fcf_year = m.first_positive_fcf[l].unwrap_or(self.end_year + 1) as f64;
        out.capacity_peak_h100e = st.cap_peak_h100e;
        out.capacity_end_h100e = st.cap_last_h100e;
        out.shortfall_years = m.shortfall_years[l];
        out.run_delay_months.clear();
        for (ri, run) in self.runs.iter().enumerate() {
            let done = if h.run_done[ri][l] >= 0 {
                h.run_done[ri][l]
            } else {
                self.months as i32
            };
            out.run_delay_months
                .push((done - run.deadline).max(0) as f64);
        }
    }
}

/// A training run with `left` H100e-months to go got `amount` this block: it finishes at
/// month `t` (recorded in `done`) when less than 1e-9 of its `size` is left.
#[inline(always)]
fn run_progress(left: &mut f64, done: &mut i32, amount: f64, size: f64, t: i32) {
    *left -= amount;
    if *left <= 1e-9 * size {
        *left = 0.0;
        *done = t;
    }
}

/// Adds the lanes' amounts of the month to the yearly statements being filled (`y`, line
/// by line, a lane each).
#[inline]
fn add_year_lines<const L: usize>(
    y: &mut [[f64; L]; YEARLY_LINES.len()],
    revenue: &[f64; L],
    (f, c): (&MonthFlows<L>, &CashMonth<L>),
    a: &Allocation<L>,
    (capex_chips, warrants): (&[f64; L], &[f64; L]),
) {
    for l in 0..L {
        y[yl::REVENUE][l] += revenue[l];
        y[yl::POWER][l] += f.power[l] - a.power_saved_usd[l];
        y[yl::USAGE_FEES][l] += a.usage_fees_usd[l];
        y[yl::OPEX][l] += f.opex[l];
        y[yl::LEASES][l] += f.lease[l];
        y[yl::BURST][l] += a.burst_cost_usd[l];
        y[yl::NON_COMPUTE][l] += c.noncompute[l];
        y[yl::REVENUE_SHARE][l] += f.revenue_share[l];
        y[yl::DEPRECIATION][l] += f.dep[l];
        y[yl::OPERATING_INCOME][l] += revenue[l] - c.op_costs[l] - f.dep[l];
        y[yl::CAPEX][l] += f.capex[l];
        y[yl::CAPEX_CHIPS][l] += capex_chips[l];
        y[yl::CAPEX_FACILITIES][l] += f.capex[l] - capex_chips[l];
        y[yl::VENDOR_FINANCING][l] += f.financing[l];
        y[yl::FCF][l] += c.fcf[l];
        y[yl::ROUNDS][l] += f.round[l];
        y[yl::VENDOR_INVESTMENT][l] += f.vendor_investment[l];
        y[yl::WARRANTS][l] += warrants[l];
        y[yl::CREDIT_DRAWN][l] += c.credit_drawn[l];
        y[yl::BACKSTOP_DRAWN][l] += c.backstop_drawn[l];
        y[yl::REPAID][l] += c.repaid[l];
        y[yl::INTEREST][l] += c.interest[l];
    }
}
