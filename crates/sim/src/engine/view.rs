//! The engine's accounting seen from outside: what the optimiser needs to build a model that
//! charges exactly what the simulator charges.
//!
//! [`Engine::path_view`] gives a path's exogenous data (demand in H100e before churn and
//! quality, revenue per H100e, fleet capacity and costs); [`Engine::unit_effect`] gives the
//! capacity, cash and terminal-value effects of committing one unit of an option at a month
//! on a path. Both are computed by the same code the simulator runs.

use gigawatt_model::OptionKind;

use super::{Draws, Engine, Scratch, HOURS_PER_MONTH};
use crate::sample::hash3;

/// A path's exogenous data, as the optimiser sees it.
#[derive(Debug, Clone, Default)]
pub struct PathView {
    /// Product compute demand per segment and month, H100e (no churn or quality feedback).
    pub demand_h100e: Vec<Vec<f64>>,
    /// Revenue per H100e-month served, per segment and month, net of revenue shares paid to
    /// partners.
    pub revenue_per_h100e: Vec<Vec<f64>>,
    /// Fleet capacity per month before availability, H100e.
    pub fleet_h100e: Vec<f64>,
    /// Costs that no decision changes, per month: fleet power and leases, non-compute opex.
    pub fixed_cost_usd: Vec<f64>,
    /// Book value of the fleet at the horizon end.
    pub fleet_terminal_usd: f64,
    /// Powered space the owned fleet uses each month, MW.
    pub fleet_used_mw: Vec<f64>,
    /// Funding rounds received each month on this path (none while a funding freeze lasts).
    pub funding_usd: Vec<f64>,
    /// Whether the credit line can lend each month (false while a funding freeze lasts).
    pub credit_open: Vec<bool>,
    /// Burst options: (cap H100e, price per H100e-month) on this path.
    pub burst: Vec<(f64, f64)>,
    /// With pools: the fleet's capacity per pool and month before availability, H100e.
    pub fleet_pool_h100e: Vec<Vec<f64>>,
    /// With pools: each pool's full-draw power per H100e-month of capacity (before
    /// availability) on this path, USD, when every fleet entry and option in it draws the same;
    /// `None` when they differ.
    pub pool_power_per_h100e: Vec<Option<f64>>,
}

/// Static facts about a capacity pool, for building a model.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolInfo {
    /// Name.
    pub name: String,
    /// Use fee per H100e-month used, USD.
    pub fee_month_usd: f64,
    /// Share of full power drawn when idle.
    pub idle_share: f64,
    /// Whether it may serve each segment.
    pub serves_segment: Vec<bool>,
    /// Whether it may run research.
    pub research: bool,
}

/// What one unit of a commitment does on one path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnitEffect {
    /// Month the capacity arrives (may be past the horizon).
    pub arrival: i32,
    /// Capacity change (before availability) by month, as (month, delta) pairs.
    pub cap_delta: Vec<(usize, f64)>,
    /// Cash out by month (capex, leases, power, opex), as (month, usd) pairs.
    pub cash_out: Vec<(usize, f64)>,
    /// Capex by month, as (month, usd) pairs (a subset of `cash_out`).
    pub capex: Vec<(usize, f64)>,
    /// Value at the horizon end: book value less remaining lease obligations.
    pub terminal_usd: f64,
    /// Change in powered space used minus powered space provided, by month (MW): buys use
    /// space, builds provide it (their own chips fill it until they retire).
    pub net_space_delta_mw: Vec<(usize, f64)>,
}

/// Static facts about an option, for building a model.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionInfo {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: OptionKind,
    /// Block size in the option's unit, if whole blocks.
    pub block: Option<f64>,
    /// Most that can be committed in total (infinite when unlimited).
    pub max_total: f64,
    /// First and last month index it can be committed.
    pub commit_window: (i32, i32),
    /// H100e per unit of the option's size (per MW for build, 1 otherwise).
    pub h100e_per_unit: f64,
    /// Capacity pool its capacity joins (0 without pools).
    pub pool: usize,
}

impl Engine {
    /// Static facts about every option, in scenario order.
    pub fn option_info(&self) -> Vec<OptionInfo> {
        self.opts
            .iter()
            .zip(&self.option_names)
            .zip(&self.commit_windows)
            .map(|((o, name), w)| OptionInfo {
                name: name.clone(),
                kind: o.kind,
                block: o.block,
                max_total: o.max_total,
                commit_window: *w,
                h100e_per_unit: if o.kind == OptionKind::Build {
                    o.h100e_per_mw
                } else {
                    1.0
                },
                pool: o.pool,
            })
            .collect()
    }

    /// Capacity pools, in scenario order (empty without pools).
    pub fn pool_info(&self) -> Vec<PoolInfo> {
        self.pools
            .iter()
            .enumerate()
            .map(|(i, p)| PoolInfo {
                name: p.name.clone(),
                fee_month_usd: p.fee_month_usd,
                idle_share: p.idle_share,
                serves_segment: self.pools_serving.iter().map(|m| m >> i & 1 == 1).collect(),
                research: self.pools_research >> i & 1 == 1,
            })
            .collect()
    }

    /// Each pool's full-draw power per H100e-month (before availability) on the path in `d`
    /// when all its fleet entries and options draw the same (leases and leased fleet draw
    /// none), else `None`.
    fn pool_power_per_h100e(&self, d: &Draws) -> Vec<Option<f64>> {
        if self.pools.is_empty() {
            return Vec::new();
        }
        let site = d.params[self.site_power_price];
        let mut rates: Vec<Vec<f64>> = vec![Vec::new(); self.pools.len()];
        for f in &self.fleet {
            let rate = if f.owned {
                self.fleet_power_month_usd(f, site) / f.h100e
            } else {
                0.0
            };
            rates[f.pool].push(rate);
        }
        for o in &self.opts {
            let rate = match o.kind {
                OptionKind::Build => {
                    HOURS_PER_MONTH * o.power_price.unwrap_or(site) / o.h100e_per_mw
                }
                OptionKind::Buy => {
                    self.buy_mw_per_unit(o) * HOURS_PER_MONTH * site / o.h100e_per_unit
                }
                OptionKind::Lease => 0.0,
                OptionKind::Burst => continue,
            };
            rates[o.pool].push(rate);
        }
        rates
            .iter()
            .map(|r| {
                let first = r.first().copied().unwrap_or(0.0);
                r.iter()
                    .all(|x| (x - first).abs() <= 1e-9 * first.abs().max(1e-12))
                    .then_some(first)
            })
            .collect()
    }

    /// Segment indices in the order allocation serves them (step 4).
    pub fn segment_order(&self) -> Vec<usize> {
        self.order
            .iter()
            .filter_map(|st| match st {
                super::Step::Seg(si) => Some(*si),
                _ => None,
            })
            .collect()
    }

    /// Number of segments.
    pub fn num_segments(&self) -> usize {
        self.segs.len()
    }

    /// Churn share of unserved demand per segment (see the simulator's step 6).
    pub fn churn_shares(&self) -> Vec<f64> {
        self.segs.iter().map(|s| s.churn).collect()
    }

    /// Load blocks: (hours share, per-segment demand factors).
    pub fn load_blocks(&self) -> Vec<(f64, Vec<f64>)> {
        let nb = self.hours.len();
        self.hours
            .iter()
            .enumerate()
            .map(|(b, h)| {
                (
                    *h,
                    (0..self.segs.len())
                        .map(|si| self.factors[si * nb + b])
                        .collect(),
                )
            })
            .collect()
    }

    /// Availability, research floor (H100e, share), powered space and the total MW cap
    /// (infinite when unlimited).
    pub fn limits(&self) -> (f64, f64, f64, f64, f64) {
        (
            self.availability,
            self.floor_h100e,
            self.floor_share,
            self.existing_mw,
            self.max_total_mw,
        )
    }

    /// Monthly discount factor (1 + r)^(1/12).
    pub fn monthly_discount(&self) -> f64 {
        self.disc_m
    }

    /// The key a commitment of option `oi` at month `t` with this ordinal draws its lead time by.
    pub fn commitment_key(&self, oi: usize, t: i32, ordinal: u64) -> u64 {
        hash3(self.opts[oi].key, t as u64, ordinal)
    }

    /// Product compute demand of month `m` on the path in `d` before churn and quality feedback
    /// (the market's demand, which no plan changes), H100e: what an affine rule observes, and
    /// the sum of [`PathView::demand_h100e`] over segments.
    pub fn market_demand_h100e(&self, d: &Draws, m: usize) -> f64 {
        (0..self.segs.len())
            .map(|si| d.exo[si * self.months + m] * d.k[si * self.months + m])
            .sum()
    }

    /// A path's exogenous data.
    pub fn path_view(&self, d: &Draws, s: &mut Scratch) -> PathView {
        let t_len = self.months;
        self.resize(s);
        self.add_fleet(d, s);
        let mut v = PathView::default();
        for si in 0..self.segs.len() {
            let base = si * t_len;
            v.demand_h100e.push(
                (0..t_len)
                    .map(|t| d.exo[base + t] * d.k[base + t])
                    .collect(),
            );
            v.revenue_per_h100e.push(
                (0..t_len)
                    .map(|t| {
                        let share = self.rev_share.get(base + t).copied().unwrap_or(0.0);
                        d.rev[base + t] * (1.0 - share)
                    })
                    .collect(),
            );
        }
        let n = t_len + 1;
        v.fleet_pool_h100e = (0..self.pools.len())
            .map(|p| {
                let mut k = 0.0;
                s.d_pool_cap[p * n..p * n + t_len]
                    .iter()
                    .map(|dk| {
                        k += dk;
                        k
                    })
                    .collect()
            })
            .collect();
        v.pool_power_per_h100e = self.pool_power_per_h100e(d);
        let (mut cap, mut cost, mut used) = (0.0, 0.0, 0.0);
        let mut nc = d.params[self.opex0];
        let g = self.opex_growth_ln_m.exp();
        for t in 0..t_len {
            cap += s.d_cap[t];
            cost += s.d_power[t] + s.d_lease[t];
            used += s.d_used[t];
            v.fleet_used_mw.push(used);
            v.fleet_h100e.push(cap);
            v.fixed_cost_usd.push(cost + nc);
            nc *= g;
        }
        v.fleet_terminal_usd = s.terminal;
        v.funding_usd = d.funding.clone();
        v.credit_open = (0..t_len)
            .map(|t| !d.credit_closed.get(t).copied().unwrap_or(false))
            .collect();
        v.burst = self
            .opts
            .iter()
            .filter(|o| o.kind == OptionKind::Burst)
            .map(|o| (o.cap_h100e, d.params[o.price]))
            .collect();
        v
    }

    /// Effects of committing one unit of option `oi` at month `t` on the path in `d`, with the
    /// lead time drawn for `key` (see [`Engine::commitment_key`]). Buy options are treated as
    /// installed on arrival (the simulator waits for free powered space).
    pub fn unit_effect(
        &self,
        oi: usize,
        t: i32,
        key: u64,
        d: &Draws,
        s: &mut Scratch,
    ) -> UnitEffect {
        let t_len = self.months;
        let o = &self.opts[oi];
        self.resize(s);
        let arrival = self.arrival(o, t, key, d);
        self.commit(oi, t, 1.0, key, d, s);
        if o.kind == OptionKind::Buy {
            let units = 1.0 / o.h100e_per_unit;
            let mw = units * o.kw_per_unit * self.site_pue / 1000.0;
            let end = arrival + o.gen_life_m;
            Self::span(&mut s.d_cap, arrival, end, 1.0);
            Self::span(&mut s.d_used, arrival, end, mw);
            Self::span(
                &mut s.d_power,
                arrival,
                end,
                mw * HOURS_PER_MONTH * d.params[self.site_power_price],
            );
        }
        let mut e = UnitEffect {
            arrival,
            terminal_usd: s.terminal,
            ..Default::default()
        };
        let mut running = 0.0;
        for tt in 0..t_len {
            if s.d_cap[tt] != 0.0 {
                e.cap_delta.push((tt, s.d_cap[tt]));
            }
            running += s.d_power[tt] + s.d_opex[tt] + s.d_lease[tt];
            let out = running + s.capex[tt] + s.fin[tt];
            // Rounding residue of the running sums is not a payment.
            if out.abs() > 1e-9 {
                e.cash_out.push((tt, out));
            }
            if s.capex[tt] != 0.0 {
                e.capex.push((tt, s.capex[tt]));
            }
            let net = s.d_used[tt] - s.d_space[tt];
            if net != 0.0 {
                e.net_space_delta_mw.push((tt, net));
            }
        }
        e
    }
}
