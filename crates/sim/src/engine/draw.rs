//! Per-path draws: the block's uniforms (Monte Carlo, Latin hypercube or Sobol, then
//! Iman–Conover), every input's value, growth paths, launches and funding, and the inputs by
//! name for the analyses.

use super::*;
use crate::fastexp::exp_into;

impl Engine {
    /// The per-path uniforms of a block of paths, after Iman–Conover. Returns the uniforms
    /// (paths × inputs) and the achieved Spearman matrix of the correlated inputs.
    pub fn block_uniforms(&self, first: u64, n: usize) -> (Vec<Vec<f64>>, Option<Vec<Vec<f64>>>) {
        // Input by input (a Latin hypercube's strata are built once per input), into rows.
        let mut u: Vec<Vec<f64>> = vec![vec![0.5; self.inputs.len()]; n];
        let mut column = vec![0.0; n];
        for (j, inp) in self.inputs.iter().enumerate() {
            if matches!(inp.dist.dist(), Dist::Fixed(_)) {
                continue;
            }
            self.sampler.fill(inp.key, inp.dim, first, &mut column);
            for (row, x) in u.iter_mut().zip(&column) {
                row[j] = *x;
            }
        }
        let achieved = self.corr.as_ref().map(|c| {
            let mut cols: Vec<Vec<f64>> = c
                .inputs
                .iter()
                .map(|&j| u.iter().map(|row| row[j]).collect())
                .collect();
            let got = sample::iman_conover(&mut cols, &c.chol, self.seed, first);
            for (ci, &j) in c.inputs.iter().enumerate() {
                for (p, row) in u.iter_mut().enumerate() {
                    row[j] = cols[ci][p];
                }
            }
            got
        });
        (u, achieved)
    }

    /// The draws of paths `first .. first + n`, each as a run draws it (its block's uniforms,
    /// then [`Engine::draw`]): for tests, benchmarks and callers that run paths themselves.
    pub fn draws(&self, first: u64, n: usize) -> Vec<Draws> {
        let (u, _) = self.block_uniforms(first, n);
        u.iter()
            .zip(first..)
            .map(|(u, path)| {
                let mut d = Draws::default();
                self.draw(path, u, &mut d);
                d
            })
            .collect()
    }

    /// Draws everything exogenous for one path from its input uniforms.
    pub fn draw(&self, path: u64, uniforms: &[f64], d: &mut Draws) {
        self.draw_with(path, uniforms, &[], &[], d);
    }

    /// Like [`Engine::draw`], with some inputs held at given values (input index, value) and
    /// then some multiplied by a factor (input index, factor).
    pub fn draw_with(
        &self,
        path: u64,
        uniforms: &[f64],
        overrides: &[(usize, f64)],
        scales: &[(usize, f64)],
        d: &mut Draws,
    ) {
        self.draw_many(
            [(path, uniforms)],
            overrides,
            scales,
            std::slice::from_mut(d),
        );
    }

    /// [`Engine::draw_with`] for several paths, `ds[i]` drawn for the `i`-th (path, uniforms)
    /// of `paths`: the same draws, bit for bit. Each S-curve's level depends on the month
    /// before, through an exponential; the paths' curves are advanced together, month by month,
    /// so one curve's exponential does not wait for another's.
    pub fn draw_many<'u>(
        &self,
        paths: impl IntoIterator<Item = (u64, &'u [f64])>,
        overrides: &[(usize, f64)],
        scales: &[(usize, f64)],
        ds: &mut [Draws],
    ) {
        let mut n = 0;
        for ((path, u), d) in paths.into_iter().zip(ds.iter_mut()) {
            d.median = false;
            self.draw_parts(path, u, overrides, scales, d);
            n += 1;
        }
        self.finish_s_curves(&mut ds[..n]);
    }

    /// Runs the S-curve segments' levels that [`Engine::draw_parts`] left over their shocks
    /// (each month's slot holds its shock, and the first the start level), then their launches.
    pub(super) fn finish_s_curves(&self, ds: &mut [Draws]) {
        let t_len = self.months;
        for t in 1..t_len {
            for d in ds.iter_mut() {
                for c in &mut d.s_curves {
                    let x = &mut d.exo[c.seg * t_len + t];
                    let (r, sig, l) = (c.rate_m, c.sig, c.level);
                    c.level = l * (r * (1.0 - l / c.k_sat) - 0.5 * sig * sig + sig * *x).exp();
                    *x = c.level;
                }
            }
        }
        for d in ds.iter_mut() {
            for c in std::mem::take(&mut d.s_curves) {
                self.launch(&self.segs[c.seg], c.seg, d);
            }
        }
    }

    /// Every input's name by index: its `id` when it has one, else its field path.
    pub fn input_names(&self) -> Vec<String> {
        let mut names = vec![String::new(); self.inputs.len()];
        for (path, i) in &self.index {
            names[*i] = path.clone();
        }
        for (id, i) in &self.id_index {
            names[*i] = id.clone();
        }
        names
    }

    /// The uncertain (not fixed) inputs, in file order: (name, input index), the name being the
    /// input's `id` when it has one and its field path otherwise.
    pub fn uncertain_inputs(&self) -> Vec<(String, usize)> {
        self.input_names()
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !matches!(self.inputs[*i].dist.dist(), Dist::Fixed(_)))
            .map(|(i, name)| (name, i))
            .collect()
    }

    /// The `u`-quantile of input `i` (0.1: its p10).
    pub fn input_quantile(&self, i: usize, u: f64) -> f64 {
        self.inputs[i].dist.quantile(u)
    }

    /// The distribution of input `i`.
    pub fn input_dist(&self, i: usize) -> &Dist {
        self.inputs[i].dist.dist()
    }

    /// The input named by `id` or, failing that, by field path (`segments[0].growth.drift_per_year`).
    pub fn input_named(&self, name: &str) -> Option<usize> {
        self.id_index
            .get(name)
            .or_else(|| self.index.get(name))
            .copied()
    }

    /// Every input (fixed or not) whose field path is `prefix` or lies under it
    /// (`segments[0].growth` takes `segments[0].growth.drift_per_year` and its volatility), in
    /// file order.
    pub fn inputs_under(&self, prefix: &str) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .index
            .iter()
            .filter(|(path, _)| {
                path.strip_prefix(prefix)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
            })
            .map(|(_, i)| *i)
            .collect();
        out.sort_unstable();
        out
    }

    /// Draws a named case: named inputs (by `id` or field path) take the case's values, every other input its median,
    /// growth has no noise and no regime changes, a launch or funding round happens when its
    /// probability is at least one half (launches mid-window), and lead times are medians.
    pub fn draw_case(
        &self,
        index: u64,
        values: &[(String, f64)],
        d: &mut Draws,
    ) -> Result<(), String> {
        let overrides = values
            .iter()
            .map(|(name, v)| {
                self.input_named(name)
                    .map(|i| (i, *v))
                    .ok_or_else(|| format!("no input has id or field path `{name}`"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        d.median = true;
        let u = vec![0.5; self.inputs.len()];
        self.draw_parts(index, &u, &overrides, &[], d);
        self.finish_s_curves(std::slice::from_mut(d));
        Ok(())
    }

    /// Draws one path (a named case when `d.median`), all but the S-curve segments' levels and
    /// launches, which are left in `d.s_curves` for [`Engine::finish_s_curves`].
    fn draw_parts(
        &self,
        path: u64,
        uniforms: &[f64],
        overrides: &[(usize, f64)],
        scales: &[(usize, f64)],
        d: &mut Draws,
    ) {
        let t_len = self.months;
        let median = d.median;
        let uni = self.keyed_uniforms(median, path);
        d.path = path;
        d.params.clear();
        d.params.extend(
            self.inputs
                .iter()
                .zip(uniforms)
                .map(|(inp, u)| inp.dist.quantile(*u)),
        );
        for (i, v) in overrides {
            d.params[*i] = *v;
        }
        for (i, k) in scales {
            d.params[*i] *= *k;
        }
        let ns = self.segs.len();
        d.exo.resize(ns * t_len, 0.0);
        d.k.resize(ns * t_len, 0.0);
        d.rev.resize(ns * t_len, 0.0);
        for (s, seg) in self.segs.iter().enumerate() {
            let p = &d.params;
            let base = s * t_len;
            let f_eff = ((1.0 - p[seg.eff]).max(1e-9).ln() / 12.0).exp();
            let f_pd = ((1.0 - p[seg.pdecl]).max(1e-9).ln() / 12.0).exp();
            let (mut k, mut price) = (p[seg.k0], p[seg.price0]);
            // The running products of efficiency and price (chains of multiplications month
            // after month), then the quotients in a loop of their own, which the compiler
            // vectorises (the same divisions, so the same bits). Log growth runs its own
            // chain, the log level, in the products' loop, so the three chains overlap.
            let (ks, revs) = (&mut d.k[base..base + t_len], &mut d.rev[base..base + t_len]);
            if !matches!(seg.growth, GrowthC::Log { .. }) {
                for (kt, rt) in ks.iter_mut().zip(revs.iter_mut()) {
                    *kt = k;
                    *rt = price;
                    k *= f_eff;
                    price *= f_pd;
                }
                quotients(revs, ks);
            }
            let mut rng = sample::stream(self.seed, seg.key, path);
            let level0 = p[seg.start];
            d.ln.clear();
            match &seg.growth {
                GrowthC::Log { drift, vol } => {
                    let (mu, sig) = (p[*drift] / 12.0, p[*vol]);
                    let mut ln_l = level0.max(1e-300).ln();
                    d.ln.resize(t_len, 0.0);
                    // The month's shocks first, in one loop of the stream's draws (the same
                    // draws in the same order as one at a time), then the running log level
                    // beside the running products.
                    if let Some((first, rest)) = d.ln.split_first_mut() {
                        *first = ln_l;
                        shocks_into(sig, median, &mut rng, rest);
                        let drift_m = mu - 0.5 * sig * sig;
                        (ks[0], revs[0]) = (k, price);
                        let months = rest.iter_mut().zip(&mut ks[1..]).zip(&mut revs[1..]);
                        for ((x, kt), rt) in months {
                            k *= f_eff;
                            price *= f_pd;
                            *kt = k;
                            *rt = price;
                            ln_l += drift_m + sig * *x;
                            *x = ln_l;
                        }
                        quotients(revs, ks);
                    }
                }
                GrowthC::SCurve { sat, rate, vol } => {
                    let (k_sat, rate_m, sig) = (p[*sat], p[*rate] / 12.0, p[*vol]);
                    // The shocks into the months' slots (as for log growth); the levels over
                    // them, and then the launches, are left to `finish_s_curves`.
                    if let Some((first, rest)) = d.exo[base..base + t_len].split_first_mut() {
                        *first = level0;
                        shocks_into(sig, median, &mut rng, rest);
                        d.s_curves.push(SCurveChain {
                            seg: s,
                            level: level0,
                            k_sat,
                            rate_m,
                            sig,
                        });
                    }
                    continue;
                }
                GrowthC::Regimes {
                    drift,
                    vol,
                    cum,
                    start,
                } => {
                    let mut reg = *start;
                    let mut ln_l = level0.max(1e-300).ln();
                    for t in 0..t_len {
                        if t > 0 {
                            if !median {
                                let u = unit(rand_core::Rng::next_u64(&mut rng));
                                reg = cum[reg]
                                    .iter()
                                    .position(|c| u <= *c)
                                    .unwrap_or(cum[reg].len() - 1);
                            }
                            let sig = vol[reg];
                            let e = shock(sig, median, &mut rng);
                            ln_l += drift[reg] - 0.5 * sig * sig + sig * e;
                        }
                        d.ln.push(ln_l);
                    }
                }
                GrowthC::Pct {
                    at,
                    ln10,
                    ln50,
                    ln90,
                } => {
                    let z = inverse_normal_cdf(uni(seg.key ^ STREAM_PERCENTILE_SCORE));
                    let q = |j: usize| {
                        if z >= 0.0 {
                            ln50[j] + z * (ln90[j] - ln50[j]) / Z90
                        } else {
                            ln50[j] + z * (ln50[j] - ln10[j]) / Z90
                        }
                    };
                    let ln0 = level0.max(1e-300).ln();
                    for t in 0..t_len as i32 {
                        let j = at.iter().position(|a| *a >= t);
                        let v = match j {
                            Some(0) => {
                                let a = at[0].max(1) as f64;
                                ln0 + (q(0) - ln0) * (t as f64 / a).min(1.0)
                            }
                            Some(j) => {
                                let (a, b) = (at[j - 1] as f64, at[j] as f64);
                                q(j - 1) + (q(j) - q(j - 1)) * (t as f64 - a) / (b - a)
                            }
                            None => q(at.len() - 1),
                        };
                        d.ln.push(v);
                    }
                }
            }
            // Growth in logs (all but the S-curve) takes its levels' exp for all months at once.
            if !d.ln.is_empty() {
                exp_into(&d.ln, &mut d.exo[base..base + t_len]);
            }
            self.launch(seg, s, d);
        }
        self.draw_rounds(&uni, d);
        self.draw_events(&uni, d);
    }

    /// A path's keyed uniforms by stream key: stream `k`'s uniform on `path`, or 0.5 on a
    /// named case (`median`).
    fn keyed_uniforms(&self, median: bool, path: u64) -> impl Fn(u64) -> f64 + '_ {
        move |k| {
            if median {
                0.5
            } else {
                sample::uniform(self.seed, k, path)
            }
        }
    }

    /// Segment `s`'s launches (their jumps, and how they decay), on its exogenous demand.
    fn launch(&self, seg: &SegC, s: usize, d: &mut Draws) {
        let t_len = self.months;
        let uni = self.keyed_uniforms(d.median, d.path);
        for l in &seg.launches {
            if uni(l.key) >= l.prob {
                continue;
            }
            let at = l.start + (uni(l.key ^ STREAM_LAUNCH_MONTH) * l.len as f64).floor() as i32;
            let jump = d.params[l.jump];
            let from = at.max(0);
            let exo = &mut d.exo[s * t_len..(s + 1) * t_len];
            match l.decay_per_month {
                // The jump decays by `f` a month: a running product, f^(t − at).
                Some(f) => {
                    let mut decay = f.powi(from - at);
                    for x in exo.iter_mut().skip(from as usize) {
                        *x *= (1.0 + jump * decay).max(0.0);
                        decay *= f;
                    }
                }
                None => {
                    for x in exo.iter_mut().skip(from as usize) {
                        *x *= (1.0 + jump).max(0.0);
                    }
                }
            }
        }
    }

    /// Funding rounds that close on this path (a named case: those with probability at least
    /// one half), paying their drawn amount in their month.
    fn draw_rounds(&self, uni: &dyn Fn(u64) -> f64, d: &mut Draws) {
        let t_len = self.months;
        d.funding.clear();
        d.funding.resize(t_len, 0.0);
        for (m, amount, prob, k) in &self.rounds {
            let closes = if d.median {
                *prob >= 0.5
            } else {
                uni(*k) < *prob
            };
            if closes && (0..t_len as i32).contains(m) {
                d.funding[*m as usize] += d.params[*amount];
            }
        }
    }

    /// Events on this path (after demand, prices and rounds are drawn): whether each happens
    /// and its start month, keyed like a launch; then its effect on intensity and revenue per
    /// H100e (efficiency, price war), on deliveries (supply shock, power delay, through
    /// `slips`), or on rounds and the credit line (funding freeze).
    fn draw_events(&self, uni: &dyn Fn(u64) -> f64, d: &mut Draws) {
        use gigawatt_model::EventKind as K;
        let t_len = self.months as i32;
        d.slips.clear();
        d.slips.resize(self.events.len(), None);
        d.credit_closed.clear();
        for (i, e) in self.events.iter().enumerate() {
            if uni(e.key) >= e.prob {
                continue;
            }
            let at = e.start + (uni(e.key ^ STREAM_EVENT_MONTH) * e.len as f64).floor() as i32;
            let (from, to) = (at.max(0), (at + e.duration).min(t_len));
            match e.kind {
                K::Efficiency | K::PriceWar => {
                    let keep = 1.0 - d.params[e.share];
                    for &si in &e.segs {
                        let base = si * self.months;
                        for t in at.max(0)..t_len {
                            let t = base + t as usize;
                            if e.kind == K::Efficiency {
                                // Less compute per unit: the same units need less, and each
                                // H100e-month serves more of them.
                                d.k[t] *= keep;
                                d.rev[t] /= keep;
                            } else {
                                d.rev[t] *= keep;
                            }
                        }
                    }
                }
                K::SupplyShock | K::PowerDelay => {
                    let months = d.params[e.delay].round().clamp(0.0, 1e6) as i32;
                    d.slips[i] = Some((at, at + e.duration, months));
                }
                K::FundingFreeze => {
                    for t in from..to {
                        d.funding[t as usize] = 0.0;
                    }
                    if d.credit_closed.is_empty() {
                        d.credit_closed.resize(self.months, false);
                    }
                    for t in from..to {
                        d.credit_closed[t as usize] = true;
                    }
                }
            }
        }
    }
}

/// `revs[t] /= ks[t]`: price over efficiency, month by month.
fn quotients(revs: &mut [f64], ks: &[f64]) {
    for (rt, kt) in revs.iter_mut().zip(ks) {
        *rt /= *kt;
    }
}
