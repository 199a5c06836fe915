//! Decision rules: how much a rule commits in a month, from the demand observed so far and
//! the room left by power and option limits.

use super::*;

impl Engine {
    /// The amount a rule commits at month `t`, in the option's unit, or None.
    /// Facility MW a rule's commitment may use when it arrives: for a buy, the powered space
    /// free now (`free_mw`) plus space arriving and chips retiring by the planned arrival, less
    /// bought chips already waiting for space or still to arrive; for a build, what
    /// `power.max_total_mw` leaves. `None` when nothing limits it.
    pub(super) fn rule_room_mw(
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

    pub(super) fn rule_amount(
        &self,
        r: &RuleC,
        t: i32,
        s: &mut Scratch,
        room_mw: Option<f64>,
    ) -> Option<f64> {
        let o = &self.opts[r.opt];
        if t < 1 {
            return None;
        }
        let lead = if r.cancel {
            o.cancel_notice_m
        } else {
            o.planned_lead.max(0.0) as i32
        };
        let horizon = (t + lead).min(self.months as i32 - 1).max(0) as usize;
        let planned = Self::planned_through(s, horizon) * self.availability;
        let gap_h = if r.refresh {
            // Keep the capacity planned now: what would retire by the arrival is replaced.
            let now = Self::planned_through(s, (t as usize).min(horizon)) * self.availability;
            now - planned
        } else if r.cancel {
            // The surplus over the forecast need once the notice has run, in leased H100e,
            // whole blocks down and no more than a decision's cap.
            let surplus = -self.forecast_gap(r, t, lead, s, planned)? / self.availability;
            let mut x = match o.block {
                Some(b) => (surplus / b).floor() * b,
                None => surplus,
            };
            if r.max_per > 0.0 {
                x = x.min(r.max_per);
            }
            return (x > 0.0 && x.is_finite()).then_some(x);
        } else {
            self.forecast_gap(r, t, lead, s, planned)?
        };
        self.rule_size(r, gap_h, s, room_mw)
    }

    /// What an affine rule commits at month `t`: max(0, a + b · ln(D / centre)) with D the
    /// product compute demand of month t − 1 before churn and quality feedback (the market's
    /// demand, which the plan does not change: the signal the programme that finds such rules
    /// sees on every path), within the option's `max_*`; not rounded to blocks (the programme
    /// values them as they are). Bought chips that find no powered space wait for it, as any
    /// delivery does.
    pub(super) fn affine_amount(
        &self,
        r: &RuleC,
        (a, b, centre): (f64, f64, f64),
        t: i32,
        d: &Draws,
        s: &Scratch,
    ) -> Option<f64> {
        if t < 1 {
            return None;
        }
        let observed = self.market_demand_h100e(d, (t - 1) as usize);
        let mut amount = a + b * affine_signal(observed, centre);
        let o = &self.opts[r.opt];
        if o.max_total.is_finite() {
            amount = amount.min((o.max_total - s.committed[r.opt]).max(0.0));
        }
        (amount > 0.0 && amount.is_finite()).then_some(amount)
    }

    /// A cancel rule's decision at month `t` for a surplus of `amount` H100e (from
    /// [`Engine::rule_amount`]): the option's leases still running after the notice are cut,
    /// latest-ending first, effective at t + notice; the fee is `cancel_fee_pu` of the payments
    /// cancelled, paid in the month the cancellation takes effect. Returns (H100e, fee).
    pub(super) fn cancel_leases(
        &self,
        r: &RuleC,
        t: i32,
        amount: f64,
        s: &mut Scratch,
    ) -> (f64, f64) {
        let o = &self.opts[r.opt];
        let t_end = self.months as i32;
        let e = t + o.cancel_notice_m;
        if e >= t_end {
            return (0.0, 0.0);
        }
        let mut lots: Vec<usize> = (0..s.leases.len())
            .filter(|&i| {
                let l = &s.leases[i];
                l.opt == r.opt && l.amount > 0.0 && l.end > e.max(l.a) && l.a.max(e) < t_end
            })
            .collect();
        lots.sort_by_key(|&i| std::cmp::Reverse((s.leases[i].end, i)));
        let (mut left, mut fee_total) = (amount, 0.0);
        for i in lots {
            if left <= 0.0 {
                break;
            }
            let l = s.leases[i];
            let x = left.min(l.amount);
            let from = l.a.max(e);
            Self::span(&mut s.d_cap, from, l.end, -x);
            self.pool_span(s, o.pool, from, l.end, -x, 0.0);
            Self::span(&mut s.d_lease, from, l.end, -x * l.price);
            let pf = l.planned_a.max(e);
            Self::span_planned(s, pf, l.planned_a + o.term_m, -x);
            let fee = o.cancel_fee * x * l.price * (l.end - from) as f64;
            Self::span(&mut s.d_lease, from, from + 1, fee);
            // The payments past the horizon it no longer owes.
            s.terminal += self.pv_at_end(x * l.price, (l.end - t_end).clamp(0, o.term_m));
            s.leases[i].amount -= x;
            left -= x;
            fee_total += fee;
        }
        (amount - left, fee_total)
    }

    /// H100e (after availability) a forecast rule wants at lead time beyond `planned`.
    fn forecast_gap(&self, r: &RuleC, t: i32, lead: i32, s: &Scratch, planned: f64) -> Option<f64> {
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
        // The count and the sum in one pass (the sum from −0.0 in order, as `Iterator::sum`
        // adds).
        let (n, sum) = diffs().fold((0usize, -0.0), |(n, s), x| (n + 1, s + x));
        let (mu, sd) = if n == 0 {
            (0.0, 0.0)
        } else {
            let m = sum / n as f64;
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
        Some(required - planned)
    }

    /// A rule's commitment for a gap of `gap_h` H100e (after availability), in the option's
    /// unit: whole blocks, no more than its per-decision cap, the option's remaining total and
    /// the powered space (`room_mw`) allow.
    fn rule_size(&self, r: &RuleC, gap_h: f64, s: &Scratch, room_mw: Option<f64>) -> Option<f64> {
        let o = &self.opts[r.opt];
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
