//! gigawatt-risk: statistics on samples, exact and streaming.
//!
//! Exact functions on weighted samples ([`mean`], [`quantile`], [`cvar_lower`],
//! [`cvar_upper`]) and mergeable streaming accumulators for Monte Carlo runs:
//! [`Moments`] (mean and standard error), [`Sketch`] (quantiles with bounded relative error,
//! whose merge is independent of order), [`Quantiles`] (exact up to a cap, then the sketch
//! clamped to the observed range), [`Tail`] (the exact worst share, for CVaR) and [`Metric`],
//! which bundles them. Every accumulator is serialisable (serde), so parts of a run made
//! elsewhere can be merged.
//!
//! Conventions: `alpha` is the confidence level; CVaR_0.95 is the mean of the worst 5 %.
//! For outcomes where low is bad (NPV, cash), the worst share is the lowest ([`cvar_lower`]);
//! for losses where high is bad, it is the highest ([`cvar_upper`]).
//!
//! ```
//! use gigawatt_risk::{cvar_lower, quantile};
//! let x = [1.0, 2.0, 3.0, 4.0, 5.0];
//! let w = [0.2; 5];
//! assert_eq!(quantile(&x, &w, 0.5), 3.0);
//! // Worst 40 % from below: mean of 1 and 2.
//! assert!((cvar_lower(&x, &w, 0.6) - 1.5).abs() < 1e-12);
//! ```

use serde::{Deserialize, Serialize};

/// Weighted mean; weights need not sum to one.
pub fn mean(values: &[f64], weights: &[f64]) -> f64 {
    let wsum: f64 = weights.iter().sum();
    values.iter().zip(weights).map(|(v, w)| v * w).sum::<f64>() / wsum
}

fn sorted(values: &[f64], weights: &[f64]) -> (Vec<(f64, f64)>, f64) {
    let mut pairs: Vec<(f64, f64)> = values
        .iter()
        .copied()
        .zip(weights.iter().copied())
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = weights.iter().sum();
    (pairs, total)
}

/// The `q`-quantile of a weighted sample: the smallest value whose cumulative weight share
/// reaches `q` (the left-continuous inverse of the empirical CDF).
pub fn quantile(values: &[f64], weights: &[f64], q: f64) -> f64 {
    let (pairs, total) = sorted(values, weights);
    let target = q * total;
    let mut acc = 0.0;
    for (v, w) in &pairs {
        acc += w;
        if acc >= target - 1e-12 * total {
            return *v;
        }
    }
    pairs.last().map_or(f64::NAN, |p| p.0)
}

/// Mean of the lowest `1 − alpha` probability mass (fractional at the boundary).
pub fn cvar_lower(values: &[f64], weights: &[f64], alpha: f64) -> f64 {
    let (pairs, total) = sorted(values, weights);
    tail_mean(pairs.iter().copied(), total * (1.0 - alpha))
}

/// Mean of the highest `1 − alpha` probability mass (fractional at the boundary).
pub fn cvar_upper(values: &[f64], weights: &[f64], alpha: f64) -> f64 {
    let (pairs, total) = sorted(values, weights);
    tail_mean(pairs.iter().rev().copied(), total * (1.0 - alpha))
}

fn tail_mean(pairs: impl Iterator<Item = (f64, f64)>, mass: f64) -> f64 {
    if mass <= 0.0 {
        return f64::NAN;
    }
    let mut left = mass;
    let mut sum = 0.0;
    for (v, w) in pairs {
        let take = w.min(left);
        sum += v * take;
        left -= take;
        if left <= 0.0 {
            break;
        }
    }
    sum / (mass - left.max(0.0))
}

/// Count and sum, for a mean; merged in a fixed order for bit-identical results (the same
/// sums as [`Moments`] over the same values).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Mean {
    /// Number of samples.
    pub n: u64,
    /// Sum of values.
    pub sum: f64,
}

impl Mean {
    /// Merges another accumulator (call in a fixed order for reproducibility).
    pub fn merge(&mut self, o: &Mean) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *o;
            return;
        }
        self.n += o.n;
        self.sum += o.sum;
    }

    /// Sample mean.
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.sum / self.n as f64
        }
    }
}

/// Count, sum and sum of squares; merged in a fixed order for bit-identical results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// Number of samples.
    pub n: u64,
    /// Sum of values.
    pub sum: f64,
    /// Sum of squared deviations from the running mean (Chan et al. merge).
    pub m2: f64,
}

impl Moments {
    /// Adds one sample.
    pub fn push(&mut self, x: f64) {
        self.merge(&Moments {
            n: 1,
            sum: x,
            m2: 0.0,
        });
    }

    /// Moments of a slice, two-pass (no division per value).
    pub fn from_slice(xs: &[f64]) -> Moments {
        if xs.is_empty() {
            return Moments::default();
        }
        let sum: f64 = xs.iter().sum();
        let mean = sum / xs.len() as f64;
        let m2 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
        Moments {
            n: xs.len() as u64,
            sum,
            m2,
        }
    }

    /// Merges another accumulator (call in a fixed order for reproducibility).
    pub fn merge(&mut self, o: &Moments) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *o;
            return;
        }
        let (na, nb) = (self.n as f64, o.n as f64);
        let delta = o.sum / nb - self.sum / na;
        self.m2 += o.m2 + delta * delta * na * nb / (na + nb);
        self.n += o.n;
        self.sum += o.sum;
    }

    /// Sample mean.
    pub fn mean(&self) -> f64 {
        Mean {
            n: self.n,
            sum: self.sum,
        }
        .mean()
    }

    /// Sample standard deviation.
    pub fn sd(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            (self.m2 / (self.n - 1) as f64).max(0.0).sqrt()
        }
    }

    /// Monte Carlo standard error of the mean.
    pub fn se(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            self.sd() / (self.n as f64).sqrt()
        }
    }
}

/// Relative accuracy of [`Sketch`] quantiles: 2⁻⁸ (about 0.39 %).
pub const SKETCH_RELATIVE_ACCURACY: f64 = 1.0 / 256.0;

/// Mantissa bits dropped from a value's bit pattern to form its bucket key: 128 buckets per
/// power of two, each spanning a factor of at most 1 + 2⁻⁷.
const SKETCH_SHIFT: u32 = 45;

/// A quantile sketch with bounded relative error (log-linear buckets).
///
/// A value's bucket is the top bits of its IEEE-754 pattern (exponent and the leading seven
/// mantissa bits), so keying costs a shift instead of a logarithm and the bucket of x spans a
/// factor of at most 1 + 2⁻⁷ (its midpoint is within [`SKETCH_RELATIVE_ACCURACY`] of every value
/// in it). Counts are stored densely between the lowest and highest key seen, so merging adds
/// counts and the result does not depend on merge order. Values are counted in 16 bits a
/// bucket (a run's monthly percentiles touch half the memory they would with 32), moved into
/// 32-bit totals before any could pass 65,535 (`Sketch::make_room`); so a sketch holds at
/// most [`SKETCH_MAX_VALUES`] values; callers keep below it (a run has at most that many
/// paths).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Sketch {
    pos: Store,
    neg: Store,
    zero: u64,
    n: u64,
    /// Values counted in the stores' 16-bit counts since they were last moved to the totals
    /// (at most [`FRESH_MAX`]).
    fresh: u32,
}

/// Sketches are equal when they hold the same counts, however these are split between the
/// 16-bit counts and the totals.
impl PartialEq for Sketch {
    fn eq(&self, o: &Sketch) -> bool {
        (&self.pos, &self.neg, self.zero, self.n) == (&o.pos, &o.neg, o.zero, o.n)
    }
}

/// Most values a [`Sketch`] may hold (its totals count in 32 bits).
pub const SKETCH_MAX_VALUES: u64 = u32::MAX as u64;

/// Most values a sketch counts in its 16-bit counts before it moves them to its totals.
const FRESH_MAX: usize = u16::MAX as usize;

/// Dense bucket counts from key `offset` upwards: the recent ones in 16 bits (`counts`), where
/// values are counted, and the rest in 32 (`totals`, empty until counts are first moved there
/// or a sketch is merged in, then as long as `counts`). The range grows with slack on both
/// sides, so equality compares the non-empty buckets, not the layout.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Store {
    offset: i32,
    counts: Vec<u16>,
    totals: Vec<u32>,
}

/// Empty buckets added on each side when a store grows.
const STORE_SLACK: usize = 32;

impl PartialEq for Store {
    fn eq(&self, o: &Store) -> bool {
        self.iter().eq(o.iter())
    }
}

/// `v` with `before` zeros put in front and zeros after, up to `len` in all.
fn widened<T: Copy + Default>(v: &[T], before: usize, len: usize) -> Vec<T> {
    let mut grown = vec![T::default(); len];
    grown[before..before + v.len()].copy_from_slice(v);
    grown
}

impl Store {
    /// Makes key `k` one of the store's (growing its range with slack) and returns its index.
    fn cover(&mut self, k: i32) -> usize {
        if self.counts.is_empty() {
            self.offset = k - STORE_SLACK as i32;
            self.counts.resize(2 * STORE_SLACK + 1, 0);
        }
        let (mut before, mut len) = (0, self.counts.len());
        if k < self.offset {
            before = (self.offset - k) as usize + STORE_SLACK.max(len / 2);
            len += before;
            self.offset -= before as i32;
        }
        let i = (k - self.offset) as usize;
        if i >= len {
            len = i + 1 + STORE_SLACK.max(len / 2);
        }
        if len > self.counts.len() {
            self.counts = widened(&self.counts, before, len);
            if !self.totals.is_empty() {
                self.totals = widened(&self.totals, before, len);
            }
        }
        i
    }

    /// Counts a value of key `k` (the sketch has made room for it, [`Sketch::make_room`]).
    fn add_one(&mut self, k: i32) {
        let i = self.cover(k);
        self.counts[i] += 1;
    }

    /// The totals, made as long as the counts.
    fn totals(&mut self) -> &mut [u32] {
        if self.totals.is_empty() {
            self.totals = vec![0; self.counts.len()];
        }
        &mut self.totals
    }

    /// Moves the 16-bit counts into the totals.
    fn flush(&mut self) {
        if self.counts.iter().all(|&c| c == 0) {
            return;
        }
        self.totals();
        for (t, c) in self.totals.iter_mut().zip(&mut self.counts) {
            *t += u32::from(std::mem::take(c));
        }
    }

    /// Bucket `i`'s count.
    fn count(&self, i: usize) -> u32 {
        self.totals.get(i).copied().unwrap_or(0) + u32::from(self.counts[i])
    }

    fn merge(&mut self, o: &Store) {
        if o.counts.is_empty() {
            return;
        }
        if self.counts.is_empty() {
            // A run's first merge into its empty total: a copy.
            self.clone_from(o);
            return;
        }
        // Extend to cover both ranges, then add to the 16-bit counts when none would pass
        // 65,535 (the sketch counts the other's values as fresh, `Sketch::merge`), otherwise
        // to the totals.
        self.cover(o.offset);
        self.cover(o.offset + o.counts.len() as i32 - 1);
        let base = (o.offset - self.offset) as usize;
        if o.totals.is_empty() {
            let counts = &mut self.counts[base..][..o.counts.len()];
            let fits = |(a, b): (&u16, &u16)| u32::from(*a) + u32::from(*b) <= u32::from(u16::MAX);
            if counts.iter().zip(&o.counts).all(fits) {
                for (a, b) in counts.iter_mut().zip(&o.counts) {
                    *a += b;
                }
                return;
            }
        }
        let totals = &mut self.totals()[base..][..o.counts.len()];
        for (t, c) in totals.iter_mut().zip(&o.counts) {
            *t += u32::from(*c);
        }
        for (t, c) in totals.iter_mut().zip(&o.totals) {
            *t += c;
        }
    }

    /// (key, count) in ascending key order, skipping empty buckets.
    fn iter(&self) -> impl DoubleEndedIterator<Item = (i32, u64)> + '_ {
        (0..self.counts.len())
            .map(|i| (self.offset + i as i32, u64::from(self.count(i))))
            .filter(|(_, c)| *c > 0)
    }
}

/// Magnitudes below this count as zero.
const SKETCH_MIN: f64 = 1e-9;

/// Bucket key of a magnitude (positive, finite, at least [`SKETCH_MIN`]).
fn sketch_key(a: f64) -> i32 {
    (a.to_bits() >> SKETCH_SHIFT) as i32
}

/// Rank (0-based) of the `q`-quantile among `n` sorted values: the smallest value whose
/// cumulative share reaches `q` (the left-continuous inverse of the empirical CDF, as
/// [`quantile`] with equal weights).
pub fn quantile_rank(n: u64, q: f64) -> u64 {
    if n == 0 {
        return 0;
    }
    let target = q.clamp(0.0, 1.0) * n as f64;
    let r = (target - 1e-9 * n as f64).ceil().max(1.0) as u64;
    r.min(n) - 1
}

impl Sketch {
    /// Makes room for `k` values (at most [`FRESH_MAX`]) in the 16-bit counts, moving them to
    /// the totals first if the values counted there since could otherwise pass 65,535 in a
    /// bucket. Every way of counting calls it before it counts.
    fn make_room(&mut self, k: usize) {
        debug_assert!(k <= FRESH_MAX, "more values than the counts hold at once");
        if self.fresh as usize + k > FRESH_MAX {
            self.pos.flush();
            self.neg.flush();
            self.fresh = 0;
        }
        self.fresh += k as u32;
    }

    /// Adds a finite sample.
    pub fn push(&mut self, x: f64) {
        debug_assert!(x.is_finite());
        self.n += 1;
        let a = x.abs();
        if a < SKETCH_MIN || !a.is_finite() {
            self.zero += 1;
            return;
        }
        self.make_room(1);
        let store = if x > 0.0 {
            &mut self.pos
        } else {
            &mut self.neg
        };
        store.add_one(sketch_key(a));
    }

    /// Adds many samples at once (the same counts as pushing each), in one pass: a store grows
    /// only when a value falls outside it, which after the first few values is rare.
    pub fn push_all(&mut self, values: &[f64]) {
        let mut stats = (0.0, 0.0, 0.0);
        self.push_all_with(values, &mut stats);
    }

    /// [`Sketch::push_all`], also folding each value into `stats`: (least, greatest, sum),
    /// the sum added in order.
    fn push_all_with(&mut self, values: &[f64], stats: &mut (f64, f64, f64)) {
        let mut zero = 0;
        for part in values.chunks(FRESH_MAX) {
            self.make_room(part.len());
            for &v in part {
                self.count_value(v, stats, &mut zero);
            }
        }
        self.zero += zero;
        self.n += values.len() as u64;
    }

    /// Counts `v` in its bucket (or in `zero`, which the caller adds to the sketch's with the
    /// number of values) and folds it into `stats` (least, greatest, sum).
    #[inline(always)]
    fn count_value(&mut self, v: f64, stats: &mut (f64, f64, f64), zero: &mut u64) {
        stats.0 = stats.0.min(v);
        stats.1 = stats.1.max(v);
        stats.2 += v;
        self.count_bucket(v, zero);
    }

    /// Counts `v` in its bucket, or in `zero` (see [`Sketch::count_value`]); the caller has
    /// made room for it ([`Sketch::make_room`]).
    #[inline(always)]
    fn count_bucket(&mut self, v: f64, zero: &mut u64) {
        let a = v.abs();
        if a < SKETCH_MIN || !a.is_finite() {
            *zero += 1;
            return;
        }
        let k = sketch_key(a);
        let store = if v > 0.0 {
            &mut self.pos
        } else {
            &mut self.neg
        };
        // Below the store's offset the index wraps to far beyond its end.
        match store
            .counts
            .get_mut(k.wrapping_sub(store.offset) as u32 as usize)
        {
            Some(c) => *c += 1,
            None => store.add_one(k),
        }
    }

    /// Counts eight values, as [`Sketch::count_bucket`] does each.
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx512f")))]
    #[inline(always)]
    fn count_eight(&mut self, col: &[f64; 8], zero: &mut u64) {
        for &v in col {
            self.count_bucket(v, zero);
        }
    }

    /// Counts eight values, as [`Sketch::count_bucket`] does each: their keys, stores and
    /// counters are worked out in one vector register, then the eight counters are
    /// incremented (a value counted as zero increments a counter nobody reads). When a value
    /// falls outside its store, the eight go one by one.
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    #[allow(unsafe_code)]
    #[inline(always)]
    fn count_eight(&mut self, col: &[f64; 8], zero: &mut u64) {
        use std::arch::x86_64::*;
        let min = SKETCH_MIN.to_bits() as i64;
        let span = (f64::INFINITY.to_bits() - SKETCH_MIN.to_bits()) as i64;
        let mut sink = 0u16;
        let (pos, neg) = (&mut self.pos, &mut self.neg);
        let mut addrs = [0u64; 8];
        let (offsets, bases) = (
            (pos.offset, neg.offset),
            (
                pos.counts.as_mut_ptr().expose_provenance(),
                neg.counts.as_mut_ptr().expose_provenance(),
            ),
        );
        let (a, is_neg, idx, addr) = eight_counters(col, offsets, bases);
        // SAFETY: the target has AVX-512F (the `cfg` above), and the store writes eight values
        // inside `addrs`.
        let ok = unsafe {
            let counted = _mm512_cmplt_epu64_mask(
                _mm512_sub_epi64(a, _mm512_set1_epi64(min)),
                _mm512_set1_epi64(span),
            );
            let len = _mm512_mask_blend_epi64(
                is_neg,
                _mm512_set1_epi64(pos.counts.len() as i64),
                _mm512_set1_epi64(neg.counts.len() as i64),
            );
            let inside = _mm512_mask_cmplt_epu64_mask(counted, idx, len);
            let sink_addr = _mm512_set1_epi64((&raw mut sink).expose_provenance() as i64);
            _mm512_storeu_si512(
                addrs.as_mut_ptr().cast(),
                _mm512_mask_blend_epi64(inside, sink_addr, addr),
            );
            (inside == counted).then_some(8 - counted.count_ones())
        };
        let Some(zeros) = ok else {
            for &v in col {
                self.count_bucket(v, zero);
            }
            return;
        };
        *zero += u64::from(zeros);
        for a in addrs {
            // SAFETY: each address is a counter inside `pos` or `neg` (its index checked
            // against the store's length above, nothing resized since) or `sink`.
            unsafe { *std::ptr::with_exposed_provenance_mut::<u16>(a as usize) += 1 };
        }
    }

    /// Asks the processor to bring in the counter `v` would be counted in, and nothing else:
    /// counting a stretch of values then waits for memory once, not value by value.
    #[inline(always)]
    #[cfg_attr(target_arch = "x86_64", allow(unsafe_code))]
    fn prefetch(&self, v: f64) {
        let store = if v > 0.0 { &self.pos } else { &self.neg };
        // Below the store's offset (or for a value that counts as zero) the index lands
        // anywhere, which a prefetch does not mind.
        let i = sketch_key(v.abs()).wrapping_sub(store.offset) as u32 as usize;
        let p = store.counts.as_ptr().wrapping_add(i).cast::<i8>();
        // SAFETY: a prefetch is a hint without architectural effect: it reads nothing into
        // the program and never faults, whatever the address, so `p` need not point into
        // `counts`.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p);
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = p;
    }

    /// [`Sketch::prefetch`] of eight values.
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx512f")))]
    #[inline(always)]
    fn prefetch_eight(&self, col: &[f64; 8]) {
        for &v in col {
            self.prefetch(v);
        }
    }

    /// [`Sketch::prefetch`] of eight values, their counters worked out in one vector register.
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    #[allow(unsafe_code)]
    #[inline(always)]
    fn prefetch_eight(&self, col: &[f64; 8]) {
        use std::arch::x86_64::*;
        let (p, n) = (&self.pos, &self.neg);
        let bases = (p.counts.as_ptr().addr(), n.counts.as_ptr().addr());
        let (_, _, _, addr) = eight_counters(col, (p.offset, n.offset), bases);
        let mut addrs = [0u64; 8];
        // SAFETY: the target has AVX-512F (the `cfg` above); the store writes eight values
        // inside `addrs`.
        unsafe { _mm512_storeu_si512(addrs.as_mut_ptr().cast(), addr) };
        for a in addrs {
            // SAFETY: a prefetch is a hint without architectural effect: it reads nothing
            // into the program and never faults, whatever the address.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(a as usize as *const i8) };
        }
    }

    /// Adds all counts of another sketch.
    pub fn merge(&mut self, o: &Sketch) {
        self.pos.merge(&o.pos);
        self.neg.merge(&o.neg);
        // The other's fresh counts may now be among these (copied or added), so the next
        // values counted here move the counts to the totals sooner (`make_room`).
        self.fresh = self.fresh.saturating_add(o.fresh);
        self.zero += o.zero;
        self.n += o.n;
        debug_assert!(
            self.n <= SKETCH_MAX_VALUES,
            "more values than a sketch holds"
        );
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Midpoint of bucket `k`: within the relative accuracy of every value in it.
    fn value(k: i32) -> f64 {
        let lo = f64::from_bits((k as u64) << SKETCH_SHIFT);
        let hi = f64::from_bits(((k as u64) + 1) << SKETCH_SHIFT);
        0.5 * (lo + hi)
    }

    /// (representative value, count) for every non-empty bucket, ascending.
    fn buckets(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let neg = self.neg.iter().rev().map(|(k, c)| (-Self::value(k), c));
        let zero = (self.zero > 0).then_some((0.0, self.zero));
        let pos = self.pos.iter().map(|(k, c)| (Self::value(k), c));
        neg.chain(zero).chain(pos)
    }

    /// The `q`-quantile (rank [`quantile_rank`]), within the relative accuracy (0 when empty).
    pub fn quantile(&self, q: f64) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        let rank = quantile_rank(self.n, q);
        let mut acc = 0u64;
        let mut last = 0.0;
        for (v, c) in self.buckets() {
            acc += c;
            last = v;
            if acc > rank {
                return v;
            }
        }
        last
    }

    /// Several quantiles at once, each what [`Sketch::quantile`] gives, in one walk over the
    /// buckets instead of one a quantile.
    pub fn quantiles(&self, qs: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; qs.len()];
        if self.n == 0 {
            return out;
        }
        let mut ranks: Vec<(u64, usize)> = qs
            .iter()
            .enumerate()
            .map(|(i, q)| (quantile_rank(self.n, *q), i))
            .collect();
        ranks.sort_unstable();
        let mut ranks = ranks.into_iter().peekable();
        let (mut acc, mut last) = (0u64, 0.0);
        for (v, c) in self.buckets() {
            acc += c;
            last = v;
            while let Some((_, i)) = ranks.next_if(|&(r, _)| acc > r) {
                out[i] = v;
            }
            if ranks.peek().is_none() {
                return out;
            }
        }
        for (_, i) in ranks {
            out[i] = last;
        }
        out
    }

    /// Mean of the lowest (`low`) or highest `mass` samples, each bucket at its midpoint, so
    /// within the relative accuracy of the exact tail mean when the tail has one sign.
    pub fn tail_mean(&self, mass: f64, low: bool) -> f64 {
        let b: Vec<(f64, f64)> = self.buckets().map(|(v, c)| (v, c as f64)).collect();
        if low {
            tail_mean(b.into_iter(), mass)
        } else {
            tail_mean(b.into_iter().rev(), mass)
        }
    }
}

/// Eight values' magnitudes (as bits), which are negative, their indices in their stores (by
/// sign: the positive store's first key and counters' address first in `offsets` and `bases`)
/// and their counters' addresses, for [`Sketch::count_eight`] and [`Sketch::prefetch_eight`].
/// A value outside its store, or counted as zero, gets an index and address all the same.
#[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
#[allow(unsafe_code)]
#[inline(always)]
fn eight_counters(
    col: &[f64; 8],
    offsets: (i32, i32),
    bases: (usize, usize),
) -> (
    std::arch::x86_64::__m512i,
    std::arch::x86_64::__mmask8,
    std::arch::x86_64::__m512i,
    std::arch::x86_64::__m512i,
) {
    use std::arch::x86_64::*;
    // SAFETY: the target has AVX-512F (the `cfg` above), and the load reads eight values
    // inside `col`.
    unsafe {
        let x = _mm512_loadu_si512(col.as_ptr().cast());
        let a = _mm512_and_si512(x, _mm512_set1_epi64(i64::MAX));
        let is_neg = _mm512_cmplt_epi64_mask(x, _mm512_setzero_si512());
        let pick = |p: i64, n: i64| {
            _mm512_mask_blend_epi64(is_neg, _mm512_set1_epi64(p), _mm512_set1_epi64(n))
        };
        let off = pick(i64::from(offsets.0), i64::from(offsets.1));
        let base = pick(bases.0 as i64, bases.1 as i64);
        let idx = _mm512_sub_epi64(_mm512_srli_epi64::<SKETCH_SHIFT>(a), off);
        // Counters are two bytes.
        let addr = _mm512_add_epi64(base, _mm512_slli_epi64::<1>(idx));
        (a, is_neg, idx, addr)
    }
}

/// Stretches (a group's values of a tile of columns) ahead whose counters
/// [`Quantiles::extend_columns_mean`] fetches.
const PREFETCH_STRETCHES: usize = 4;

/// Fetches the counters of a group's values (`stretch`, `lanes` per column of `qt`, the first
/// `full` of each in use) into cache.
fn prefetch_counters(qt: &[Quantiles], (stretch, full): (&[f64], usize), lanes: usize) {
    if (lanes, full) == (8, 8) {
        for (q, eight) in qt.iter().zip(stretch.as_chunks::<8>().0) {
            q.sketch.prefetch_eight(eight);
        }
        return;
    }
    for (q, col) in qt.iter().zip(stretch.chunks_exact(lanes)) {
        for &v in &col[..full] {
            q.sketch.prefetch(v);
        }
    }
}

/// The rows of a square of [`TILE`] columns of [`TILE`] values each (`sq[c × TILE + r]`):
/// row `r` holds every column's value `r`.
#[cfg(not(all(target_arch = "x86_64", target_feature = "avx512f")))]
fn transpose_square(sq: &[f64; TILE * TILE]) -> [[f64; TILE]; TILE] {
    std::array::from_fn(|r| std::array::from_fn(|c| sq[c * TILE + r]))
}

/// The rows of a square of [`TILE`] columns of [`TILE`] values each (`sq[c × TILE + r]`):
/// row `r` holds every column's value `r` (the summaries keep them in registers,
/// [`fold_square`]; the tests read them).
#[cfg(all(test, target_arch = "x86_64", target_feature = "avx512f"))]
#[allow(unsafe_code)]
fn transpose_square(sq: &[f64; TILE * TILE]) -> [[f64; TILE]; TILE] {
    // SAFETY: a `__m512d` is eight `f64`s, laid out in lane order.
    square_rows(sq)
        .map(|v| unsafe { std::mem::transmute::<std::arch::x86_64::__m512d, [f64; TILE]>(v) })
}

/// Each column's least, greatest and running sum (`lo`, `hi`, `sum`) folded over the rows of
/// a square (`transpose_square`) in row order. Where the build targets AVX-512F the rows stay
/// in registers: the values and the running least and greatest are never NaN, so the vector
/// minimum (`x < lo ? x : lo`) and maximum (`x > hi ? x : hi`) give what `lo.min(x)` and
/// `hi.max(x)` give, zeros of either sign included, without their NaN handling.
#[cfg_attr(
    all(target_arch = "x86_64", target_feature = "avx512f"),
    allow(unsafe_code)
)]
#[inline(always)]
fn fold_square(
    sq: &[f64; TILE * TILE],
    lo: &mut [f64; TILE],
    hi: &mut [f64; TILE],
    sum: &mut [f64; TILE],
) {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    // SAFETY: the target has AVX-512F (the `cfg` above), and each load and store reads or
    // writes eight values inside a `[f64; TILE]`.
    unsafe {
        use std::arch::x86_64::*;
        let (mut l, mut h, mut s) = (
            _mm512_loadu_pd(lo.as_ptr()),
            _mm512_loadu_pd(hi.as_ptr()),
            _mm512_loadu_pd(sum.as_ptr()),
        );
        for x in square_rows(sq) {
            debug_assert!(
                _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(x, x) == 0,
                "a NaN among the values"
            );
            l = _mm512_min_pd(x, l);
            h = _mm512_max_pd(x, h);
            s = _mm512_add_pd(s, x);
        }
        _mm512_storeu_pd(lo.as_mut_ptr(), l);
        _mm512_storeu_pd(hi.as_mut_ptr(), h);
        _mm512_storeu_pd(sum.as_mut_ptr(), s);
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx512f")))]
    for x in transpose_square(sq) {
        for ci in 0..TILE {
            debug_assert!(!x[ci].is_nan(), "a NaN among the values");
            lo[ci] = lo[ci].min(x[ci]);
            hi[ci] = hi[ci].max(x[ci]);
            sum[ci] += x[ci];
        }
    }
}

/// [`transpose_square`] in registers: three rounds of two-source shuffles, 24 in all, instead
/// of 64 scattered loads.
#[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
#[allow(unsafe_code)]
#[inline(always)]
fn square_rows(sq: &[f64; TILE * TILE]) -> [std::arch::x86_64::__m512d; TILE] {
    use std::arch::x86_64::{__m512d, _mm512_loadu_pd, _mm512_permutex2var_pd, _mm512_set_epi64};
    // SAFETY (every `unsafe` here): the target has AVX-512F, as the `cfg` above requires at
    // compile time, and each load reads eight values inside `sq`.
    let pick = |a: __m512d, b: __m512d, i: [i64; 8]| unsafe {
        let ix = _mm512_set_epi64(i[7], i[6], i[5], i[4], i[3], i[2], i[1], i[0]);
        _mm512_permutex2var_pd(a, ix, b)
    };
    let r: [__m512d; TILE] =
        std::array::from_fn(|c| unsafe { _mm512_loadu_pd(sq.as_ptr().add(c * TILE)) });
    // Pairs of columns interleaved: a[2p] holds even rows, a[2p + 1] odd rows.
    let mut a = r;
    for p in 0..TILE / 2 {
        a[2 * p] = pick(r[2 * p], r[2 * p + 1], [0, 8, 2, 10, 4, 12, 6, 14]);
        a[2 * p + 1] = pick(r[2 * p], r[2 * p + 1], [1, 9, 3, 11, 5, 13, 7, 15]);
    }
    // Fours of columns: b[0] rows 0 and 4, b[1] rows 2 and 6, b[2] rows 1 and 5, b[3] rows 3
    // and 7 of columns 0–3; b[4..] the same of columns 4–7.
    let mut b = a;
    for h in 0..2 {
        let (x, y) = (4 * h, 4 * h + 1);
        b[4 * h] = pick(a[x], a[x + 2], [0, 1, 8, 9, 4, 5, 12, 13]);
        b[4 * h + 1] = pick(a[x], a[x + 2], [2, 3, 10, 11, 6, 7, 14, 15]);
        b[4 * h + 2] = pick(a[y], a[y + 2], [0, 1, 8, 9, 4, 5, 12, 13]);
        b[4 * h + 3] = pick(a[y], a[y + 2], [2, 3, 10, 11, 6, 7, 14, 15]);
    }
    const LOW: [i64; 8] = [0, 1, 2, 3, 8, 9, 10, 11];
    const HIGH: [i64; 8] = [4, 5, 6, 7, 12, 13, 14, 15];
    [
        pick(b[0], b[4], LOW),
        pick(b[2], b[6], LOW),
        pick(b[1], b[5], LOW),
        pick(b[3], b[7], LOW),
        pick(b[0], b[4], HIGH),
        pick(b[2], b[6], HIGH),
        pick(b[1], b[5], HIGH),
        pick(b[3], b[7], HIGH),
    ]
}

/// Columns [`Quantiles::extend_columns_mean`] summarises together.
const TILE: usize = 8;

/// Fewer values than this [`sort_total`] leaves to the standard sort.
const RADIX_MIN: usize = 4096;

/// Bits of a radix digit in [`sort_total`]: six digits cover a key.
const RADIX_BITS: u32 = 11;

/// Bits `b` with the magnitude bits flipped when the sign bit is set (as [`f64::total_cmp`]
/// arranges them); its own inverse, as the sign bit stays.
#[inline(always)]
fn flip_negative(b: u64) -> u64 {
    b ^ (((b as i64 >> 63) as u64) >> 1)
}

/// A value's key: its bits, arranged so that keys compare as unsigned integers in the order
/// [`f64::total_cmp`] gives the values (negatives have their magnitude bits flipped, and the
/// sign bit is flipped for all).
#[inline(always)]
fn total_key(x: f64) -> u64 {
    flip_negative(x.to_bits()) ^ (1 << 63)
}

/// The value whose [`total_key`] is `k`.
#[inline(always)]
fn from_total_key(k: u64) -> f64 {
    f64::from_bits(flip_negative(k ^ (1 << 63)))
}

/// Sorts `v` in [`f64::total_cmp`] order, as `sort_unstable_by(f64::total_cmp)` does (values
/// that compare equal have the same bits, so the result is the same array): a least
/// significant digit first radix sort of `total_key`s, digit by digit of `RADIX_BITS`,
/// skipping a digit every value shares. The metrics' kept values (up to 100,000 each) sort in
/// a third of the time.
pub fn sort_total(v: &mut [f64]) {
    if v.len() < RADIX_MIN {
        v.sort_unstable_by(f64::total_cmp);
        return;
    }
    const DIGITS: usize = 64usize.div_ceil(RADIX_BITS as usize);
    const BUCKETS: usize = 1 << RADIX_BITS;
    let mask = BUCKETS as u64 - 1;
    let mut keys: Vec<u64> = v.iter().map(|&x| total_key(x)).collect();
    let mut counts = vec![[0usize; BUCKETS]; DIGITS];
    for &k in &keys {
        for (d, c) in counts.iter_mut().enumerate() {
            c[((k >> (d as u32 * RADIX_BITS)) & mask) as usize] += 1;
        }
    }
    let mut spare = vec![0u64; keys.len()];
    for (d, c) in counts.iter_mut().enumerate() {
        if c.contains(&keys.len()) {
            continue;
        }
        // Each bucket's first place, then every key to its bucket's next place, in order.
        let mut at = 0;
        for n in c.iter_mut() {
            (*n, at) = (at, at + *n);
        }
        let shift = d as u32 * RADIX_BITS;
        for &k in &keys {
            let b = &mut c[((k >> shift) & mask) as usize];
            spare[*b] = k;
            *b += 1;
        }
        std::mem::swap(&mut keys, &mut spare);
    }
    for (x, k) in v.iter_mut().zip(keys) {
        *x = from_total_key(k);
    }
}

/// Most values a [`Quantiles`] keeps exactly before it falls back to its sketch.
pub const EXACT_QUANTILES_MAX: usize = 100_000;

/// Quantiles of a stream: exact (every value kept) up to a cap, then a [`Sketch`] whose
/// answers are clamped to the observed minimum and maximum. Merging concatenates exact values
/// (in merge order, which only changes the order of equal inputs to a sort) or adds sketch
/// counts, so the answer does not depend on how a run was split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    cap: usize,
    exact: Option<Vec<f64>>,
    sorted: bool,
    sketch: Sketch,
    min: f64,
    max: f64,
    n: u64,
}

impl Quantiles {
    /// For a stream expected to hold `n` values in all: exact (up to `cap`) when they fit,
    /// otherwise a sketch from the first value, so that parts of a large run (blocks built in
    /// parallel) merge as sketches instead of spilling one by one where they are merged.
    pub fn for_total(n: u64, cap: usize) -> Quantiles {
        Quantiles::new(if n > cap as u64 { 0 } else { cap })
    }

    /// Keeps up to `cap` values exactly.
    pub fn new(cap: usize) -> Quantiles {
        Quantiles {
            cap,
            exact: Some(Vec::new()),
            sorted: true,
            sketch: Sketch::default(),
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            n: 0,
        }
    }

    /// Adds a finite sample.
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        match &mut self.exact {
            Some(v) if v.len() < self.cap => {
                v.push(x);
                self.sorted = false;
            }
            Some(_) => {
                self.spill();
                self.sketch.push(x);
            }
            None => self.sketch.push(x),
        }
    }

    /// Adds finite samples in order (as many [`Quantiles::push`] calls).
    pub fn extend(&mut self, xs: &[f64]) {
        for &x in xs {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        self.n += xs.len() as u64;
        match &mut self.exact {
            Some(v) if v.len() + xs.len() <= self.cap => {
                v.extend_from_slice(xs);
                self.sorted = false;
            }
            _ => {
                self.spill();
                self.sketch.push_all(xs);
            }
        }
    }

    /// Like [`Quantiles::extend`], and returns the values' [`Mean`] (summed in order from −0.0,
    /// as `Iterator::sum` adds); the sketch's first pass over the values folds them in.
    pub fn extend_mean(&mut self, xs: &[f64]) -> Mean {
        if xs.is_empty() {
            return Mean::default();
        }
        Mean {
            n: xs.len() as u64,
            sum: self.extend_sum(xs, -0.0),
        }
    }

    /// Like [`Quantiles::extend`], and returns `sum` with the values added to it in order.
    fn extend_sum(&mut self, xs: &[f64], mut sum: f64) -> f64 {
        self.n += xs.len() as u64;
        let (mut lo, mut hi) = (self.min, self.max);
        match &mut self.exact {
            Some(v) if v.len() + xs.len() <= self.cap => {
                v.extend_from_slice(xs);
                self.sorted = false;
                for &x in xs {
                    lo = lo.min(x);
                    hi = hi.max(x);
                    sum += x;
                }
            }
            _ => {
                self.spill();
                let mut stats = (lo, hi, sum);
                self.sketch.push_all_with(xs, &mut stats);
                (lo, hi, sum) = stats;
            }
        }
        (self.min, self.max) = (lo, hi);
        sum
    }

    /// The columns of a block of `rows` rows of `qs.len()` values (one per column) into their
    /// quantiles, and each column's values added to its [`Mean`] in `means`: the same as
    /// `qs[c].extend(column c)` for every column, with `means[c]` counting the rows and its sum
    /// going on, value after value in row order, from where it stood (from −0.0 when it counts
    /// nothing yet, as `Iterator::sum` starts), so a column fed in several blocks of rows sums
    /// as one.
    ///
    /// The rows come in groups of `lanes`, each group column after column: row `i`'s value of
    /// column `c` is `values[((i / lanes) × width + c) × lanes + i % lanes]` (one lane is rows
    /// one after another; with more, a group's values of a column sit side by side, and the
    /// last group may be part full). Columns go eight at a time (a tile), so each stretch of
    /// values is read once instead of once per column, and the eight sketches' counts are
    /// interleaved; the counters of the stretch `PREFETCH_STRETCHES` ahead, in the next tile
    /// when this one's groups run out, are fetched while one is counted.
    pub fn extend_columns_mean(
        qs: &mut [Quantiles],
        values: &[f64],
        (rows, lanes): (usize, usize),
        means: &mut [Mean],
    ) {
        let width = qs.len();
        assert_eq!(means.len(), width, "a mean per column");
        if width == 0 || rows == 0 {
            return;
        }
        assert!(lanes > 0, "at least one lane");
        let groups = rows.div_ceil(lanes);
        assert!(
            values.len() >= groups * width * lanes,
            "every group's values"
        );
        // The sum a column's next value is added to.
        let running = |m: &Mean| if m.n == 0 { -0.0 } else { m.sum };
        let fits_exactly = |q: &Quantiles| match &q.exact {
            Some(v) => v.len() + rows <= q.cap,
            None => false,
        };
        if qs.iter().any(fits_exactly) {
            // Kept exactly (small runs): column by column.
            let mut vals = vec![0.0; rows];
            for (c, (q, m)) in qs.iter_mut().zip(means.iter_mut()).enumerate() {
                for (i, v) in vals.iter_mut().enumerate() {
                    *v = values[((i / lanes) * width + c) * lanes + i % lanes];
                    debug_assert!(!v.is_nan(), "a NaN among the values");
                }
                let sum = q.extend_sum(&vals, running(m));
                *m = Mean {
                    n: m.n + rows as u64,
                    sum,
                };
            }
            return;
        }
        // The 16-bit counts take at most FRESH_MAX values at once: more rows go in parts of
        // whole groups, each part's means going on from the last's.
        let most = FRESH_MAX / lanes * lanes;
        if rows > most {
            let (first, rest) = values.split_at(most / lanes * width * lanes);
            Quantiles::extend_columns_mean(qs, first, (most, lanes), means);
            Quantiles::extend_columns_mean(qs, rest, (rows - most, lanes), means);
            return;
        }
        for q in qs.iter_mut() {
            q.spill();
            q.sketch.make_room(rows);
        }
        // Stretch (tile `t`, group `g`): the tile's first column, its values in that group,
        // and how many rows of the group are in use.
        let tiles = width.div_ceil(TILE);
        let stretch = |t: usize, g: usize| {
            let (c0, w) = (t * TILE, TILE.min(width - t * TILE));
            let vals = &values[(g * width + c0) * lanes..][..w * lanes];
            (c0, vals, lanes.min(rows - g * lanes))
        };
        // The stretch after (tile, group) `at`.
        let next = |(t, g): (usize, usize)| {
            if g + 1 == groups {
                (t + 1, 0)
            } else {
                (t, g + 1)
            }
        };
        let prefetch = |qs: &[Quantiles], (t, g): (usize, usize)| {
            if t < tiles {
                let (c0, vals, full) = stretch(t, g);
                prefetch_counters(&qs[c0..], (vals, full), lanes);
            }
        };
        // The stretch whose counters are fetched, PREFETCH_STRETCHES ahead of the one counted,
        // moved on a stretch at a time.
        let mut ahead = (0, 0);
        for _ in 0..PREFETCH_STRETCHES {
            prefetch(qs, ahead);
            ahead = next(ahead);
        }
        for t in 0..tiles {
            let (c0, w) = (t * TILE, TILE.min(width - t * TILE));
            // Least, greatest and running sum of each column of the tile.
            let (mut lo, mut hi, mut sum) = ([0.0; TILE], [0.0; TILE], [-0.0; TILE]);
            let mut zero = [0u64; TILE];
            for (ci, (q, m)) in qs[c0..c0 + w].iter().zip(&means[c0..]).enumerate() {
                (lo[ci], hi[ci], sum[ci]) = (q.min, q.max, running(m));
            }
            for g in 0..groups {
                prefetch(qs, ahead);
                ahead = next(ahead);
                let (_, vals, full) = stretch(t, g);
                let qt = &mut qs[c0..c0 + w];
                if let (Ok(sq), true) = (
                    <&[f64; TILE * TILE]>::try_from(vals),
                    full == TILE && lanes == TILE,
                ) {
                    // A full square (eight rows of eight columns): the statistics go a row of
                    // eight columns at a time, rows in order; the counts, which add in any
                    // order, a column of eight rows at a time.
                    fold_square(sq, &mut lo, &mut hi, &mut sum);
                    for ((q, col), z) in qt.iter_mut().zip(sq.as_chunks::<TILE>().0).zip(&mut zero)
                    {
                        q.sketch.count_eight(col, z);
                    }
                    continue;
                }
                // Row by row within the group, so each column's values go in row order.
                for l in 0..full {
                    for (ci, (q, z)) in qt.iter_mut().zip(&mut zero).enumerate() {
                        let v = vals[ci * lanes + l];
                        debug_assert!(!v.is_nan(), "a NaN among the values");
                        let mut st = (lo[ci], hi[ci], sum[ci]);
                        q.sketch.count_value(v, &mut st, z);
                        (lo[ci], hi[ci], sum[ci]) = st;
                    }
                }
            }
            let qt = qs[c0..c0 + w].iter_mut().zip(&mut means[c0..]);
            for (ci, ((q, m), z)) in qt.zip(zero).enumerate() {
                q.n += rows as u64;
                q.sketch.n += rows as u64;
                q.sketch.zero += z;
                (q.min, q.max) = (lo[ci], hi[ci]);
                *m = Mean {
                    n: m.n + rows as u64,
                    sum: sum[ci],
                };
            }
        }
    }

    /// Moves the exact values into the sketch (for good).
    fn spill(&mut self) {
        if let Some(v) = self.exact.take() {
            self.sketch.push_all(&v);
        }
    }

    /// [`Quantiles::merge`] of a stream given away: into an empty one of the same cap, a
    /// stream that keeps no value exactly is taken whole instead of copied.
    pub fn absorb(&mut self, o: Quantiles) {
        if self.n == 0 && self.cap == o.cap && o.exact.is_none() {
            *self = o;
        } else {
            self.merge(&o);
        }
    }

    /// Merges another accumulator.
    pub fn merge(&mut self, o: &Quantiles) {
        if o.n == 0 {
            return;
        }
        self.n += o.n;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        match (&mut self.exact, &o.exact) {
            (Some(a), Some(b)) if a.len() + b.len() <= self.cap => {
                a.extend_from_slice(b);
                self.sorted = false;
            }
            _ => {
                self.spill();
                match &o.exact {
                    Some(b) => self.sketch.push_all(b),
                    None => self.sketch.merge(&o.sketch),
                }
            }
        }
    }

    /// True while every value is kept (quantiles are exact).
    pub fn is_exact(&self) -> bool {
        self.exact.is_some()
    }

    /// True when it keeps no value exactly (made with a cap of 0, as [`Quantiles::for_total`]
    /// makes it for a stream larger than its cap): every value goes to the sketch, so parts of
    /// a stream can be counted apart and merged in any order.
    pub fn sketches_every_value(&self) -> bool {
        self.cap == 0
    }

    /// Bound on the relative error of [`Quantiles::quantile`]: 0 when exact.
    pub fn relative_error(&self) -> f64 {
        if self.is_exact() {
            0.0
        } else {
            SKETCH_RELATIVE_ACCURACY
        }
    }

    /// Smallest value seen (0 when empty).
    pub fn min(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.min
        }
    }

    /// Largest value seen (0 when empty).
    pub fn max(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.max
        }
    }

    /// Sorts the kept values once, before quantiles are read ([`Quantiles::quantile`] does it
    /// when needed; callers summarising many streams can do it for all of them in parallel).
    /// Values equal under `total_cmp` have the same bits, so an unstable sort gives the same
    /// order as a stable one.
    pub fn sort(&mut self) {
        if !self.sorted {
            if let Some(v) = &mut self.exact {
                sort_total(v);
            }
            self.sorted = true;
        }
    }

    /// The `q`-quantile (rank [`quantile_rank`]): exact while the values are kept, otherwise
    /// the sketch's answer clamped to [min, max]. 0 when empty.
    pub fn quantile(&mut self, q: f64) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        self.sort();
        match &self.exact {
            Some(v) => v[quantile_rank(v.len() as u64, q) as usize],
            None => self.sketch.quantile(q).clamp(self.min, self.max),
        }
    }

    /// Several quantiles at once, equal to [`Quantiles::quantile`] of each: while the values
    /// are kept and unsorted, the order statistics are found by successive selection in rank
    /// order (linear time for a handful of quantiles) instead of a full sort; once sketched,
    /// in one walk over the buckets ([`Sketch::quantiles`]).
    pub fn quantiles(&mut self, qs: &[f64]) -> Vec<f64> {
        let n = self.n;
        if n == 0 {
            return vec![0.0; qs.len()];
        }
        if self.exact.is_none() {
            let (lo, hi) = (self.min, self.max);
            let sketched = self.sketch.quantiles(qs).into_iter();
            return sketched.map(|x| x.clamp(lo, hi)).collect();
        }
        match &mut self.exact {
            Some(v) if !self.sorted => {
                let mut ranks: Vec<(usize, usize)> = qs
                    .iter()
                    .enumerate()
                    .map(|(i, q)| (quantile_rank(n, *q) as usize, i))
                    .collect();
                ranks.sort_unstable();
                let mut out = vec![0.0; qs.len()];
                let mut lo = 0;
                for (r, i) in ranks {
                    if r >= lo {
                        v[lo..].select_nth_unstable_by(r - lo, f64::total_cmp);
                        lo = r + 1;
                    }
                    // Everything before `lo` is at most v[lo - 1], everything after at least.
                    out[i] = v[r];
                }
                out
            }
            _ => qs.iter().map(|q| self.quantile(*q)).collect(),
        }
    }

    /// Mean of the lowest (`low`) or highest `1 − alpha` share (fractional at the boundary):
    /// exact while the values are kept, otherwise from the sketch's buckets.
    pub fn tail_mean(&mut self, alpha: f64, low: bool) -> f64 {
        let mass = self.n as f64 * (1.0 - alpha);
        self.sort();
        match &self.exact {
            Some(v) if low => tail_mean(v.iter().map(|x| (*x, 1.0)), mass),
            Some(v) => tail_mean(v.iter().rev().map(|x| (*x, 1.0)), mass),
            None => self.sketch.tail_mean(mass, low).clamp(self.min, self.max),
        }
    }
}

/// The exact `k` lowest samples with their path index, for CVaR of the low tail.
///
/// Samples and merged tails are appended to a buffer; whenever it holds more than 2k entries a
/// selection (linear time) keeps the k lowest by (value, path). Each entry is therefore touched
/// a constant number of times on average, and since the k lowest under that total order are
/// unique, the result does not depend on how samples were split or in which order tails merge.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Tail {
    k: usize,
    worst: Vec<(f64, u64)>,
}

impl PartialEq for Tail {
    fn eq(&self, o: &Tail) -> bool {
        let (mut a, mut b) = (self.clone(), o.clone());
        a.compact();
        b.compact();
        a.sort();
        b.sort();
        a.k == b.k && a.worst == b.worst
    }
}

impl Tail {
    /// Keeps the `k` lowest samples.
    pub fn new(k: usize) -> Tail {
        Tail {
            k,
            worst: Vec::new(),
        }
    }

    /// Adds a sample from path `id`.
    pub fn push(&mut self, x: f64, id: u64) {
        self.worst.push((x, id));
        if self.worst.len() > 2 * self.k.max(16) {
            self.compact();
        }
    }

    /// Keeps the `k` lowest (unsorted), by selection.
    pub fn compact(&mut self) {
        if self.worst.len() > self.k {
            if self.k == 0 {
                self.worst.clear();
                return;
            }
            self.worst.select_nth_unstable_by(self.k - 1, cmp_entry);
            self.worst.truncate(self.k);
        }
    }

    fn sort(&mut self) {
        self.worst.sort_unstable_by(cmp_entry);
    }

    /// Merges another tail (same `k`); the result does not depend on merge order.
    pub fn merge(&mut self, o: &Tail) {
        self.worst.extend_from_slice(&o.worst);
        if self.worst.len() > 2 * self.k.max(16) {
            self.compact();
        }
    }

    /// Mean of the lowest `1 − alpha` share of `n` samples (fractional at the boundary).
    pub fn cvar(&mut self, n: u64, alpha: f64) -> f64 {
        self.compact();
        self.sort();
        let mass = n as f64 * (1.0 - alpha);
        tail_mean(self.worst.iter().map(|(v, _)| (*v, 1.0)), mass)
    }
}

fn cmp_entry(a: &(f64, u64), b: &(f64, u64)) -> std::cmp::Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

/// Most entries an exact [`Tail`] keeps per metric (16 bytes each): CVaR_0.95 is exact up to
/// 20 million paths and comes from the quantile sketch beyond, so memory stays bounded.
pub const TAIL_MAX: usize = 1_000_000;

/// Number of tail samples to keep for CVaR at `alpha` over `n` samples.
pub fn tail_size(n: u64, alpha: f64) -> usize {
    ((n as f64) * (1.0 - alpha)).ceil() as usize + 1
}

/// Everything reported for one scalar outcome: moments, quantiles and the exact bad tail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Mean and standard error.
    pub moments: Moments,
    /// Quantiles (exact up to [`EXACT_QUANTILES_MAX`] samples).
    pub quantiles: Quantiles,
    /// Exact bad tail (stored with the sign flipped when high is bad); `None` when the run is
    /// too large for it ([`TAIL_MAX`]) and CVaR comes from the quantile sketch.
    pub tail: Option<Tail>,
    /// True when low values are bad (NPV, cash); false when high values are bad (gap, unserved).
    pub low_is_bad: bool,
}

impl Metric {
    /// An empty accumulator expecting `n` samples in all.
    pub fn new(n: u64, alpha: f64, low_is_bad: bool) -> Metric {
        let k = tail_size(n, alpha);
        Metric {
            moments: Moments::default(),
            quantiles: Quantiles::for_total(n, EXACT_QUANTILES_MAX),
            tail: (k <= TAIL_MAX).then(|| Tail::new(k)),
            low_is_bad,
        }
    }

    /// Adds the outcome of path `id`.
    pub fn push(&mut self, x: f64, id: u64) {
        self.moments.push(x);
        self.quantiles.push(x);
        if let Some(t) = &mut self.tail {
            t.push(if self.low_is_bad { x } else { -x }, id);
        }
    }

    /// Merges another accumulator.
    pub fn merge(&mut self, o: &Metric) {
        self.moments.merge(&o.moments);
        self.quantiles.merge(&o.quantiles);
        if let (Some(a), Some(b)) = (&mut self.tail, &o.tail) {
            a.merge(b);
        }
    }

    /// True when [`Metric::cvar`] is exact (false beyond [`TAIL_MAX`] tail entries).
    pub fn cvar_is_exact(&self) -> bool {
        self.tail.is_some() || self.quantiles.is_exact()
    }

    /// CVaR of the bad tail at `alpha`, in the metric's own sign.
    pub fn cvar(&mut self, alpha: f64) -> f64 {
        match &mut self.tail {
            Some(t) => {
                let c = t.cvar(self.moments.n, alpha);
                if self.low_is_bad {
                    c
                } else {
                    -c
                }
            }
            None => self.quantiles.tail_mean(alpha, self.low_is_bad),
        }
    }
}

#[cfg(test)]
mod tests;
