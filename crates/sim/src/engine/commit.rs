//! Commitment accounting: what a commitment (or the existing fleet) adds to capacity, costs,
//! capex, depreciation and terminal value, as delta arrays in the scratch.

use super::*;

impl Engine {
    /// Lead time (months) drawn for a commitment with key `ck`.
    /// Facility MW one bought unit of option `o` takes in the existing powered space.
    #[inline]
    pub(super) fn buy_mw_per_unit(&self, o: &OptC) -> f64 {
        o.kw_per_unit * self.site_pue / 1000.0
    }

    /// Month a commitment made at `t` arrives: after its drawn lead time, no earlier than its
    /// generation is available, and later by a supply shock's or power delay's slip when it was
    /// due inside that event's span.
    pub(super) fn arrival(&self, o: &OptC, t: i32, ck: u64, d: &Draws) -> i32 {
        let mut a = (t + self.lead(o, ck, d)).max(o.available_m);
        for &ev in &o.slip_events {
            if let Some(Some((from, to, months))) = d.slips.get(ev) {
                if (*from..*to).contains(&a) {
                    a += months;
                }
            }
        }
        a
    }

    pub(super) fn lead(&self, o: &OptC, ck: u64, d: &Draws) -> i32 {
        let inputs = &self.inputs;
        let uni = |k: u64| {
            if d.median {
                0.5
            } else {
                sample::uniform(self.seed, k, d.path)
            }
        };
        let mut lead = inputs[o.lead].dist.quantile(uni(ck));
        let delayed = if d.median {
            o.delay_p >= 0.5
        } else {
            uni(ck ^ STREAM_DELAY_HAPPENS) < o.delay_p
        };
        if o.delay_p > 0.0 && delayed {
            lead += inputs[o.delay].dist.quantile(uni(ck ^ STREAM_DELAY_LENGTH));
        }
        // Validation bounds lead times; the clamp keeps `t + lead` from overflowing regardless
        // (anything past the horizon never arrives either way).
        lead.round().clamp(0.0, 1e6) as i32
    }

    pub(super) fn resize(&self, s: &mut Scratch) {
        let n = self.months + 1;
        for v in [
            &mut s.d_cap,
            &mut s.d_power,
            &mut s.d_opex,
            &mut s.d_lease,
            &mut s.d_dep,
            &mut s.d_space,
            &mut s.d_used,
            &mut s.capex,
            &mut s.capex_chips,
            &mut s.fin,
            &mut s.vendor_funding,
            &mut s.warrants,
            &mut s.planned,
            &mut s.hist,
            &mut s.log_growth,
            &mut s.ratio,
        ] {
            v.clear();
            v.resize(n, 0.0);
        }
        s.planned_sums.clear();
        s.buy_arrivals.clear();
        s.buy_arrivals.resize(n * self.opts.len(), 0.0);
        for v in [&mut s.d_pool_cap, &mut s.d_pool_power] {
            v.clear();
            v.resize(n * self.pools.len(), 0.0);
        }
        s.committed.clear();
        s.committed.resize(self.opts.len(), 0.0);
        s.leases.clear();
        s.invested.clear();
        s.invested.resize(self.invest_max.len(), 0.0);
        s.terminal = 0.0;
        s.built_mw = 0.0;
    }

    /// [`Engine::span`] on the planned capacity, dropping its running sums from month `from`
    /// on (the months it changes).
    pub(super) fn span_planned(s: &mut Scratch, from: i32, to: i32, v: f64) {
        Self::span(&mut s.planned, from, to, v);
        s.planned_sums.truncate(from.max(0) as usize);
    }

    /// Σ planned[..=h] — added from −0.0 in month order, as `Iterator::sum` adds, so the same
    /// bits — from the running sums, extended from the first month not summed since a change.
    pub(super) fn planned_through(s: &mut Scratch, h: usize) -> f64 {
        let sums = &mut s.planned_sums;
        while sums.len() <= h {
            let before = sums.last().copied().unwrap_or(-0.0);
            sums.push(before + s.planned[sums.len()]);
        }
        sums[h]
    }

    /// Adds `v` to `arr` over months [from, to) as deltas (clipped to the horizon).
    pub(super) fn span(arr: &mut [f64], from: i32, to: i32, v: f64) {
        let n = arr.len() as i32 - 1;
        let (a, b) = (from.max(0), to.min(n));
        if a < b {
            arr[a as usize] += v;
            arr[b as usize] -= v;
        }
    }

    /// Adds capacity `h100e` and full-draw power `power_usd` (per month) of pool `pool` over
    /// months [from, to) to the per-pool delta arrays; nothing without pools.
    #[inline]
    pub(super) fn pool_span(
        &self,
        s: &mut Scratch,
        pool: usize,
        from: i32,
        to: i32,
        h100e: f64,
        power_usd: f64,
    ) {
        if self.pools.is_empty() {
            return;
        }
        let n = self.months + 1;
        let range = pool * n..(pool + 1) * n;
        Self::span(&mut s.d_pool_cap[range.clone()], from, to, h100e);
        if power_usd != 0.0 {
            Self::span(&mut s.d_pool_power[range], from, to, power_usd);
        }
    }

    pub(super) fn pv_at_end(&self, per_month: f64, months_after: i32) -> f64 {
        // Present value at the horizon end of a level monthly payment for `months_after` months.
        if months_after <= 0 {
            return 0.0;
        }
        let r = self.disc_m - 1.0;
        if r.abs() < 1e-12 {
            per_month * months_after as f64
        } else {
            per_month * (1.0 - self.disc_m.powi(-months_after)) / r
        }
    }

    /// A build of `mw`: chip units, facility capex and chip capex (USD) at the drawn prices.
    pub(super) fn build_costs(&self, o: &OptC, mw: f64, p: &[f64]) -> (f64, f64, f64) {
        let units = mw * 1000.0 / (o.kw_per_unit * o.pue);
        (units, mw * p[o.capex_mw], units * p[o.gen_price])
    }

    /// A buy of `h100e`: chip units and chip capex (USD) at the drawn prices.
    pub(super) fn buy_costs(&self, o: &OptC, h100e: f64, p: &[f64]) -> (f64, f64) {
        let units = h100e / o.h100e_per_unit;
        (units, units * p[o.gen_price])
    }

    /// Up-front capex of committing `amount` of option `oi` at the prices drawn in `d`, as
    /// (facilities, chips) in USD, whenever it is paid and before any power cap: a build pays
    /// for its facility and chips, a buy for its chips; leases and burst have no capex.
    pub fn capex_usd(&self, oi: usize, amount: f64, d: &Draws) -> (f64, f64) {
        let o = &self.opts[oi];
        match o.kind {
            OptionKind::Build => {
                let (_, fac, chips) = self.build_costs(o, amount, &d.params);
                (fac, chips)
            }
            OptionKind::Buy => (0.0, self.buy_costs(o, amount, &d.params).1),
            OptionKind::Lease | OptionKind::Burst => (0.0, 0.0),
        }
    }

    /// Records one commitment's effects in the scratch delta arrays.
    pub(super) fn commit(
        &self,
        oi: usize,
        t: i32,
        amount: f64,
        ck: u64,
        d: &Draws,
        s: &mut Scratch,
    ) {
        let o = &self.opts[oi];
        let p = &d.params;
        let t_end = self.months as i32;
        let a = self.arrival(o, t, ck, d);
        s.committed[oi] += amount;
        let planned_a = (t + o.planned_lead as i32).max(o.available_m);
        match o.kind {
            OptionKind::Build => {
                let mut mw = amount;
                if self.max_total_mw.is_finite() {
                    let room = (self.max_total_mw - self.existing_mw - s.built_mw).max(0.0);
                    mw = mw.min(room);
                }
                s.built_mw += mw;
                if mw <= 0.0 {
                    return;
                }
                let (units, fac, chips) = self.build_costs(o, mw, p);
                let h = units * o.h100e_per_unit;
                // The vendor-financed share is repaid after arrival (`finance`).
                let fac_up_front = fac * (1.0 - o.financed);
                let fac_paid = self.pay_schedule(&o.schedule, (t, a, t), fac_up_front, false, s);
                self.finance(o, a, fac * o.financed, s);
                let chips_paid = self.pay_chips(o, t, a, chips, s);
                self.invest(o, a, h, s);
                let chip_end = a + o.gen_life_m;
                let fac_end = a + o.life_m;
                Self::span(&mut s.d_cap, a, chip_end, h);
                Self::span_planned(s, planned_a, planned_a + o.gen_life_m, h);
                let price = o.power_price.unwrap_or(p[self.site_power_price]);
                Self::span(&mut s.d_power, a, chip_end, mw * HOURS_PER_MONTH * price);
                self.pool_span(s, o.pool, a, chip_end, h, mw * HOURS_PER_MONTH * price);
                Self::span(&mut s.d_opex, a, fac_end, mw * o.opex_mw_month);
                Self::span(&mut s.d_space, a, fac_end, mw);
                Self::span(&mut s.d_used, a, chip_end, mw);
                Self::span(
                    &mut s.d_dep,
                    a,
                    a + self.it_dep_m.round() as i32,
                    chips / self.it_dep_m,
                );
                Self::span(
                    &mut s.d_dep,
                    a,
                    a + self.fac_dep_m.round() as i32,
                    fac / self.fac_dep_m,
                );
                // Undelivered chips are worth what has been paid for them (deposits, milestones).
                s.terminal += self.asset_value(a, chips, chips_paid, self.it_dep_m, o.residual)
                    + self.asset_value(a, fac, fac_paid, self.fac_dep_m, o.residual);
            }
            OptionKind::Lease if !o.ramp.is_empty() => {
                // A cloud contract: the leased H100e and the spend follow the ramp year by year.
                let price = p[o.price];
                let mut y0 = 0;
                while y0 < o.term_m {
                    let k = o.ramp[((y0 / 12) as usize).min(o.ramp.len() - 1)];
                    let y1 = (y0 + 12).min(o.term_m);
                    let h = amount * k;
                    Self::span(&mut s.d_cap, a + y0, a + y1, h);
                    self.pool_span(s, o.pool, a + y0, a + y1, h, 0.0);
                    Self::span_planned(s, planned_a + y0, planned_a + y1, h);
                    Self::span(&mut s.d_lease, a + y0, a + y1, h * price);
                    // Payments past the horizon are an obligation at its end.
                    let (from, to) = ((a + y0).max(t_end), a + y1);
                    if to > from {
                        s.terminal -= self.pv_at_end(h * price, to - from)
                            * self.disc_m.powi(-(from - t_end));
                    }
                    y0 = y1;
                }
                self.invest(o, a, amount * o.ramp[0], s);
            }
            OptionKind::Lease => {
                let price = p[o.price];
                let end = a + o.term_m;
                Self::span(&mut s.d_cap, a, end, amount);
                self.pool_span(s, o.pool, a, end, amount, 0.0);
                Self::span_planned(s, planned_a, planned_a + o.term_m, amount);
                Self::span(&mut s.d_lease, a, end, amount * price);
                self.invest(o, a, amount, s);
                let after = end - a.max(t_end);
                s.terminal -= self.pv_at_end(amount * price, after.min(o.term_m));
                s.leases.push(LeaseLot {
                    opt: oi,
                    a,
                    end,
                    amount,
                    price,
                    planned_a,
                });
            }
            OptionKind::Buy => {
                let (units, chips) = self.buy_costs(o, amount, p);
                let chips_paid = self.pay_chips(o, t, a, chips, s);
                self.invest(o, a, amount, s);
                if (0..t_end).contains(&a) {
                    s.buy_arrivals[oi * (self.months + 1) + a as usize] += units;
                }
                Self::span_planned(s, planned_a, planned_a + o.gen_life_m, amount);
                Self::span(
                    &mut s.d_dep,
                    a,
                    a + self.it_dep_m.round() as i32,
                    chips / self.it_dep_m,
                );
                s.terminal += self.asset_value(a, chips, chips_paid, self.it_dep_m, o.residual);
            }
            OptionKind::Burst => {}
        }
    }

    /// Pays for chips costing `chips` committed at `t` and arriving at `a`: the up-front part
    /// (all but the financed share) in the chip schedule's shares at evenly spaced months from
    /// `t` to `a`, and the financed part in level payments over the financing term from the
    /// month after arrival (an annuity at the financing rate; equal parts at rate 0). Payments
    /// past the horizon are an obligation at its end, subtracted from the terminal value;
    /// chips not delivered inside the horizon start no financing. Returns what was paid before
    /// the horizon end (the value of chips still on their way).
    pub(super) fn pay_chips(&self, o: &OptC, t: i32, a: i32, chips: f64, s: &mut Scratch) -> f64 {
        let up_front = chips * (1.0 - o.financed);
        let paid = self.pay_schedule(&o.chip_schedule, (t, a, a), up_front, true, s);
        self.finance(o, a, chips * o.financed, s);
        paid
    }

    /// Pays `amount` as capex in `shares` at evenly spaced months from commitment `t` to
    /// arrival `a` (`when` = (t, a, the month of a single share)); `chips` also books it as chip
    /// capex. Returns what falls inside the horizon.
    fn pay_schedule(
        &self,
        shares: &[f64],
        when: (i32, i32, i32),
        amount: f64,
        chips: bool,
        s: &mut Scratch,
    ) -> f64 {
        let (t, a, single) = when;
        let n = shares.len();
        let mut paid = 0.0;
        for (i, share) in shares.iter().enumerate() {
            let at = if n == 1 {
                single
            } else {
                t + ((i as f64) * (a - t) as f64 / (n - 1) as f64).round() as i32
            };
            if (0..self.months as i32).contains(&at) {
                s.capex[at as usize] += amount * share;
                if chips {
                    s.capex_chips[at as usize] += amount * share;
                }
                paid += amount * share;
            }
        }
        paid
    }

    /// Vendor financing of `principal` for a delivery arriving at `a`: level payments over the
    /// financing term from the month after arrival (an annuity at the financing rate; equal
    /// parts at rate 0); payments past the horizon are an obligation at its end. Nothing when
    /// the delivery falls outside the horizon.
    pub(super) fn finance(&self, o: &OptC, a: i32, principal: f64, s: &mut Scratch) {
        let t_end = self.months as i32;
        if principal > 0.0 && o.fin_term_m > 0 && a < t_end {
            let (r, n) = (o.fin_rate_m, o.fin_term_m);
            let payment = if r > 0.0 {
                principal * r / o.fin_annuity_denom
            } else {
                principal / n as f64
            };
            // Months a + 1 ..= a + n inside the horizon.
            let (first, last) = ((a + 1).max(0), (a + n).min(t_end - 1));
            if first <= last {
                for f in &mut s.fin[first as usize..=last as usize] {
                    *f += payment;
                }
            }
            let after = a + n - (a + 1).max(t_end) + 1;
            s.terminal -= self.pv_at_end(payment, after.min(n));
        }
    }

    /// Counts a delivery of `h100e` arriving at `a` towards the vendor investments of option
    /// `o`: cash up to each investment's limit, and warrants vesting, in the month it arrives.
    pub(super) fn invest(&self, o: &OptC, a: i32, h100e: f64, s: &mut Scratch) {
        if o.investments.is_empty() || !(0..self.months as i32).contains(&a) {
            return;
        }
        for &(k, usd, warrants) in &o.investments {
            let cash = (usd * h100e)
                .min(self.invest_max[k] - s.invested[k])
                .max(0.0);
            s.invested[k] += cash;
            s.vendor_funding[a as usize] += cash;
            s.warrants[a as usize] += warrants * h100e;
        }
    }

    /// Value at the horizon end of an asset bought for `cost` arriving at month `a`.
    /// `paid_usd` is the part of `cost` paid before the horizon end: an asset not yet delivered
    /// is work in progress, valued at what has been paid for it.
    pub(super) fn asset_value(
        &self,
        a: i32,
        cost: f64,
        paid_usd: f64,
        dep_m: f64,
        residual: Option<f64>,
    ) -> f64 {
        let t_end = self.months as i32;
        if a >= t_end {
            return paid_usd;
        }
        if let Some(r) = residual {
            return r * cost;
        }
        cost * (1.0 - (t_end - a) as f64 / dep_m).max(0.0)
    }

    /// An owned fleet entry's power at full draw for a month at the site's price, USD.
    pub(super) fn fleet_power_month_usd(&self, f: &FleetC, site_price: f64) -> f64 {
        f.kw_units * self.site_pue / 1000.0 * HOURS_PER_MONTH * site_price
    }

    /// Adds the existing fleet's capacity, costs, depreciation and book value to the scratch.
    pub(super) fn add_fleet(&self, d: &Draws, s: &mut Scratch) {
        let p = &d.params;
        let t_len = self.months;
        let site_price = p[self.site_power_price];
        for f in &self.fleet {
            Self::span(&mut s.d_cap, f.from, f.to, f.h100e);
            Self::span_planned(s, f.from, f.to, f.h100e);
            if f.owned {
                let mw = f.kw_units * self.site_pue / 1000.0;
                let power = self.fleet_power_month_usd(f, site_price);
                Self::span(&mut s.d_power, f.from, f.to, power);
                self.pool_span(s, f.pool, f.from, f.to, f.h100e, power);
                Self::span(&mut s.d_used, f.from, f.to, mw);
                let cost = f.units * p[f.units_price];
                let left_m = (self.it_dep_m - f.age0_m).fmax(0.0);
                Self::span(&mut s.d_dep, 0, left_m.round() as i32, cost / self.it_dep_m);
                s.terminal += cost * (1.0 - (f.age0_m + t_len as f64) / self.it_dep_m).fmax(0.0);
            } else {
                Self::span(&mut s.d_lease, f.from, f.to, f.lease_month_usd);
                self.pool_span(s, f.pool, f.from, f.to, f.h100e, 0.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::{Rng, SeedableRng};

    #[test]
    fn running_sums_of_planned_capacity_are_the_plain_sums_through_every_change() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(3);
        let mut s = Scratch::default();
        let n = 97;
        s.planned.resize(n, 0.0);
        let mut compared = 0;
        for _ in 0..2_000 {
            let r = rng.next_u64();
            if r % 3 == 0 {
                // A change: some spans start before the horizon or end after it.
                let from = (r >> 8) as i32 % (n as i32 + 10) - 5;
                let to = from + (r >> 24) as i32 % 60;
                let v = ((r >> 40) % 1_000_000) as f64 / 7.0 - 50_000.0;
                Engine::span_planned(&mut s, from, to, v);
            } else {
                let h = (r >> 8) as usize % (n - 1);
                let plain: f64 = s.planned[..=h].iter().sum();
                let kept = Engine::planned_through(&mut s, h);
                assert_eq!(kept.to_bits(), plain.to_bits(), "through month {h}");
                compared += 1;
            }
        }
        assert!(compared > 1_000);
    }
}
