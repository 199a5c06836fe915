//! gigawatt-risk: statistics on samples, exact and streaming.
//!
//! Exact functions on weighted samples ([`mean`], [`quantile`], [`cvar_lower`],
//! [`cvar_upper`]) and mergeable streaming accumulators for Monte Carlo runs:
//! [`Moments`] (mean and standard error), [`Sketch`] (quantiles with bounded relative error,
//! whose merge is independent of order), [`Tail`] (the exact worst share, for CVaR) and
//! [`Metric`], which bundles the three.
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

/// Count, sum and sum of squares; merged in a fixed order for bit-identical results.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
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
        if self.n == 0 {
            0.0
        } else {
            self.sum / self.n as f64
        }
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

/// Relative accuracy of [`Sketch`] quantiles.
pub const SKETCH_RELATIVE_ACCURACY: f64 = 0.005;

/// A quantile sketch with bounded relative error (logarithmic buckets, as in DDSketch).
///
/// Buckets are integer counts keyed by ⌈log_γ |x|⌉, stored densely between the lowest and
/// highest key seen, so merging adds counts and the result does not depend on merge order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sketch {
    pos: Store,
    neg: Store,
    zero: u64,
    n: u64,
}

/// Dense bucket counts from key `offset` upwards. The range grows with slack on both sides,
/// so equality compares the non-empty buckets, not the layout.
#[derive(Debug, Clone, Default)]
struct Store {
    offset: i32,
    counts: Vec<u64>,
}

/// Empty buckets added on each side when a store grows.
const STORE_SLACK: usize = 32;

impl PartialEq for Store {
    fn eq(&self, o: &Store) -> bool {
        self.iter().eq(o.iter())
    }
}

impl Store {
    fn add(&mut self, k: i32, c: u64) {
        if self.counts.is_empty() {
            self.offset = k - STORE_SLACK as i32;
            self.counts.resize(2 * STORE_SLACK + 1, 0);
        }
        if k < self.offset {
            let shift = (self.offset - k) as usize + STORE_SLACK.max(self.counts.len() / 2);
            let mut grown = vec![0; shift + self.counts.len()];
            grown[shift..].copy_from_slice(&self.counts);
            self.counts = grown;
            self.offset -= shift as i32;
        }
        let i = (k - self.offset) as usize;
        if i >= self.counts.len() {
            let extra = STORE_SLACK.max(self.counts.len() / 2);
            self.counts.resize(i + 1 + extra, 0);
        }
        self.counts[i] += c;
    }

    fn merge(&mut self, o: &Store) {
        if o.counts.is_empty() {
            return;
        }
        // Extend to cover both ranges, then add.
        self.add(o.offset, 0);
        self.add(o.offset + o.counts.len() as i32 - 1, 0);
        let base = (o.offset - self.offset) as usize;
        for (i, c) in o.counts.iter().enumerate() {
            self.counts[base + i] += c;
        }
    }

    /// (key, count) in ascending key order, skipping empty buckets.
    fn iter(&self) -> impl DoubleEndedIterator<Item = (i32, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(move |(i, c)| (self.offset + i as i32, *c))
    }
}

/// Magnitudes below this count as zero.
const SKETCH_MIN: f64 = 1e-9;

fn gamma_ln() -> f64 {
    ((1.0 + SKETCH_RELATIVE_ACCURACY) / (1.0 - SKETCH_RELATIVE_ACCURACY)).ln()
}

impl Sketch {
    /// Adds a finite sample.
    pub fn push(&mut self, x: f64) {
        debug_assert!(x.is_finite());
        self.n += 1;
        let a = x.abs();
        if a < SKETCH_MIN || !a.is_finite() {
            self.zero += 1;
            return;
        }
        let k = (a.ln() / gamma_ln()).ceil() as i32;
        let store = if x > 0.0 {
            &mut self.pos
        } else {
            &mut self.neg
        };
        store.add(k, 1);
    }

    /// Adds many samples at once.
    pub fn push_all(&mut self, values: &[f64]) {
        for v in values {
            self.push(*v);
        }
    }

    /// Adds all counts of another sketch.
    pub fn merge(&mut self, o: &Sketch) {
        self.pos.merge(&o.pos);
        self.neg.merge(&o.neg);
        self.zero += o.zero;
        self.n += o.n;
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.n
    }

    fn value(k: i32) -> f64 {
        let g = gamma_ln().exp();
        2.0 * g.powi(k) / (g + 1.0)
    }

    /// The `q`-quantile, within the relative accuracy (0 for an empty sketch).
    pub fn quantile(&self, q: f64) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        let rank = (q.clamp(0.0, 1.0) * (self.n - 1) as f64).round() as u64;
        let mut acc = 0u64;
        for (k, c) in self.neg.iter().rev() {
            acc += c;
            if acc > rank {
                return -Self::value(k);
            }
        }
        acc += self.zero;
        if acc > rank {
            return 0.0;
        }
        for (k, c) in self.pos.iter() {
            acc += c;
            if acc > rank {
                return Self::value(k);
            }
        }
        self.pos
            .iter()
            .next_back()
            .map_or(0.0, |(k, _)| Self::value(k))
    }

    /// Share of samples strictly above `x` (exact when `x` is 0).
    pub fn share_above(&self, x: f64) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        let above: u64 = if x == 0.0 {
            self.pos.iter().map(|(_, c)| c).sum()
        } else {
            let k = (x.abs().ln() / gamma_ln()).ceil() as i32;
            self.pos
                .iter()
                .filter(|(key, _)| *key > k)
                .map(|(_, c)| c)
                .sum()
        };
        above as f64 / self.n as f64
    }
}

/// The exact `k` lowest samples with their path index, for CVaR of the low tail.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tail {
    k: usize,
    worst: Vec<(f64, u64)>,
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

    /// Sorts (value, path) ascending and keeps the `k` lowest. Call it where the work is
    /// parallel (at the end of a block) so that merges are linear.
    pub fn compact(&mut self) {
        if !self.is_sorted() {
            self.worst.sort_by(cmp_entry);
        }
        self.worst.truncate(self.k);
    }

    fn is_sorted(&self) -> bool {
        self.worst
            .windows(2)
            .all(|w| cmp_entry(&w[0], &w[1]) != std::cmp::Ordering::Greater)
    }

    /// Merges another tail (same `k`); the result does not depend on merge order.
    pub fn merge(&mut self, o: &Tail) {
        self.compact();
        let mut other = o.clone();
        other.compact();
        // Linear merge of two sorted lists, keeping the k lowest.
        let (a, b) = (std::mem::take(&mut self.worst), other.worst);
        let mut out = Vec::with_capacity((a.len() + b.len()).min(self.k));
        let (mut i, mut j) = (0, 0);
        while out.len() < self.k && (i < a.len() || j < b.len()) {
            let take_a = j >= b.len()
                || (i < a.len() && cmp_entry(&a[i], &b[j]) != std::cmp::Ordering::Greater);
            if take_a {
                out.push(a[i]);
                i += 1;
            } else {
                out.push(b[j]);
                j += 1;
            }
        }
        self.worst = out;
    }

    /// Mean of the lowest `1 − alpha` share of `n` samples (fractional at the boundary).
    pub fn cvar(&mut self, n: u64, alpha: f64) -> f64 {
        self.compact();
        let mass = n as f64 * (1.0 - alpha);
        tail_mean(self.worst.iter().map(|(v, _)| (*v, 1.0)), mass)
    }
}

fn cmp_entry(a: &(f64, u64), b: &(f64, u64)) -> std::cmp::Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

/// Number of tail samples to keep for CVaR at `alpha` over `n` samples.
pub fn tail_size(n: u64, alpha: f64) -> usize {
    ((n as f64) * (1.0 - alpha)).ceil() as usize + 1
}

/// Everything reported for one scalar outcome: moments, quantiles and the exact bad tail.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Mean and standard error.
    pub moments: Moments,
    /// Quantiles.
    pub sketch: Sketch,
    /// Exact bad tail (stored with the sign flipped when high is bad).
    pub tail: Tail,
    /// True when low values are bad (NPV, cash); false when high values are bad (gap, unserved).
    pub low_is_bad: bool,
}

impl Metric {
    /// An empty accumulator expecting `n` samples in all.
    pub fn new(n: u64, alpha: f64, low_is_bad: bool) -> Metric {
        Metric {
            moments: Moments::default(),
            sketch: Sketch::default(),
            tail: Tail::new(tail_size(n, alpha)),
            low_is_bad,
        }
    }

    /// Adds the outcome of path `id`.
    pub fn push(&mut self, x: f64, id: u64) {
        self.moments.push(x);
        self.sketch.push(x);
        self.tail.push(if self.low_is_bad { x } else { -x }, id);
    }

    /// Merges another accumulator.
    pub fn merge(&mut self, o: &Metric) {
        self.moments.merge(&o.moments);
        self.sketch.merge(&o.sketch);
        self.tail.merge(&o.tail);
    }

    /// CVaR of the bad tail at `alpha`, in the metric's own sign.
    pub fn cvar(&mut self, alpha: f64) -> f64 {
        let c = self.tail.cvar(self.moments.n, alpha);
        if self.low_is_bad {
            c
        } else {
            -c
        }
    }
}

#[cfg(test)]
mod tests;
