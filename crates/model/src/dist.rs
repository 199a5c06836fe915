//! Uncertain inputs: distribution specifications and their quantile functions.
//!
//! Every distribution is sampled by its quantile function `quantile(u)` for a uniform
//! `u` in (0, 1). That one path serves plain Monte Carlo, Latin hypercube, Sobol points and
//! Iman–Conover rank correlation alike, and keeps the model free of random number generators.

use statrs::distribution::{Beta, ContinuousCDF};
use statrs::function::erf::{erfc, erfc_inv};

/// z-score of the 90th percentile of the standard normal.
pub const Z90: f64 = 1.281_551_565_544_600_4;

/// Standard normal CDF Φ(x).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Standard normal quantile Φ⁻¹(p) for p in (0, 1).
pub fn inverse_normal_cdf(p: f64) -> f64 {
    -std::f64::consts::SQRT_2 * erfc_inv(2.0 * p)
}

/// A distribution specification, kept in the form the user wrote it.
#[derive(Debug, Clone, PartialEq)]
pub enum Dist {
    /// A fixed number.
    Fixed(f64),
    /// Normal with mean and standard deviation.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        sd: f64,
    },
    /// Normal with mean and standard deviation, truncated to [min, max] (one side may be
    /// infinite): for quantities that cannot be negative.
    TruncatedNormal {
        /// Mean of the normal before truncation.
        mean: f64,
        /// Its standard deviation.
        sd: f64,
        /// Lowest value (−∞: not truncated below).
        min: f64,
        /// Highest value (+∞: not truncated above).
        max: f64,
    },
    /// Lognormal given by its 10th and 90th percentiles.
    LognormalP10P90 {
        /// 10th percentile.
        p10: f64,
        /// 90th percentile.
        p90: f64,
    },
    /// Lognormal given by its median and 90th percentile.
    LognormalMedianP90 {
        /// Median.
        median: f64,
        /// 90th percentile.
        p90: f64,
    },
    /// Triangular.
    Triangular {
        /// Lowest value.
        min: f64,
        /// Most likely value.
        mode: f64,
        /// Highest value.
        max: f64,
    },
    /// PERT (a scaled beta with shape set by the mode, λ = 4).
    Pert {
        /// Lowest value.
        min: f64,
        /// Most likely value.
        mode: f64,
        /// Highest value.
        max: f64,
    },
    /// Uniform on [min, max].
    Uniform {
        /// Lowest value.
        min: f64,
        /// Highest value.
        max: f64,
    },
    /// Discrete values with probabilities.
    Discrete {
        /// The values.
        values: Vec<f64>,
        /// Their probabilities (sum to 1).
        probs: Vec<f64>,
    },
    /// Metalog fitted exactly through the given (probability, value) quantiles: unbounded, or
    /// semi-bounded / bounded (Keelin's log and logit metalogs) when `min` and/or `max` are set.
    Metalog {
        /// Cumulative probabilities, strictly increasing in (0, 1).
        probs: Vec<f64>,
        /// Values at those probabilities.
        values: Vec<f64>,
        /// Lower bound (values lie strictly above it), if any.
        min: Option<f64>,
        /// Upper bound (values lie strictly below it), if any.
        max: Option<f64>,
    },
}

/// An input that may be uncertain; `id` names it for correlations, cases and sensitivity.
#[derive(Debug, Clone, PartialEq)]
pub struct Uncertain {
    /// The distribution.
    pub dist: Dist,
    /// Optional name, unique in the scenario.
    pub id: Option<String>,
}

impl Uncertain {
    /// A fixed value without a name.
    pub fn fixed(x: f64) -> Uncertain {
        Uncertain {
            dist: Dist::Fixed(x),
            id: None,
        }
    }

    /// True if the value is a fixed number.
    pub fn is_fixed(&self) -> bool {
        matches!(self.dist, Dist::Fixed(_))
    }
}

impl From<f64> for Uncertain {
    fn from(x: f64) -> Self {
        Uncertain::fixed(x)
    }
}

impl Dist {
    /// Short name used in files (`dist = "..."`).
    pub fn kind(&self) -> &'static str {
        match self {
            Dist::Fixed(_) => "fixed",
            Dist::Normal { .. } | Dist::TruncatedNormal { .. } => "normal",
            Dist::LognormalP10P90 { .. } | Dist::LognormalMedianP90 { .. } => "lognormal",
            Dist::Triangular { .. } => "triangular",
            Dist::Pert { .. } => "pert",
            Dist::Uniform { .. } => "uniform",
            Dist::Discrete { .. } => "discrete",
            Dist::Metalog { .. } => "metalog",
        }
    }

    /// Checks the parameters; returns messages naming the offending parameter.
    pub fn check(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bad = |field: &str, msg: String| out.push((field.to_string(), msg));
        match self {
            Dist::Fixed(_) => {}
            Dist::Normal { sd, .. } => {
                if *sd < 0.0 {
                    bad("sd", format!("standard deviation {sd} is negative"));
                }
            }
            Dist::TruncatedNormal { mean, sd, min, max } => {
                if *sd < 0.0 {
                    bad("sd", format!("standard deviation {sd} is negative"));
                } else if min.is_nan() || max.is_nan() || min >= max {
                    bad("min", format!("need min < max, got {min} and {max}"));
                } else if *sd == 0.0 {
                    if !(min <= mean && mean <= max) {
                        bad(
                            "mean",
                            format!("with sd 0 the mean {mean} must lie in [{min}, {max}]"),
                        );
                    }
                } else if truncated_mass(*mean, *sd, *min, *max).partial_cmp(&1e-300)
                    != Some(std::cmp::Ordering::Greater)
                {
                    bad(
                        "min",
                        format!(
                            "[{min}, {max}] holds almost none of a normal with mean {mean} and sd {sd}; move the bounds or the mean"
                        ),
                    );
                }
            }
            Dist::LognormalP10P90 { p10, p90 } => {
                if *p10 <= 0.0 {
                    bad("p10", format!("lognormal p10 {p10} must be positive"));
                }
                if p10 > p90 {
                    bad("p10", format!("p10 {p10} is above p90 {p90}"));
                }
            }
            Dist::LognormalMedianP90 { median, p90 } => {
                if *median <= 0.0 {
                    bad(
                        "median",
                        format!("lognormal median {median} must be positive"),
                    );
                }
                if median > p90 {
                    bad("median", format!("median {median} is above p90 {p90}"));
                }
            }
            Dist::Triangular { min, mode, max } | Dist::Pert { min, mode, max } => {
                if !(min <= mode && mode <= max) {
                    bad(
                        "mode",
                        format!("need min <= mode <= max, got {min}, {mode}, {max}"),
                    );
                }
            }
            Dist::Uniform { min, max } => {
                if min > max {
                    bad("min", format!("min {min} is above max {max}"));
                }
            }
            Dist::Discrete { values, probs } => {
                if values.is_empty() {
                    bad(
                        "values",
                        "a discrete distribution needs at least one value".into(),
                    );
                }
                if values.len() != probs.len() {
                    bad(
                        "probs",
                        format!("{} values but {} probabilities", values.len(), probs.len()),
                    );
                }
                if let Some(p) = probs.iter().find(|p| **p < 0.0) {
                    bad("probs", format!("probability {p} is negative"));
                }
                let sum: f64 = probs.iter().sum();
                if (sum - 1.0).abs() > 1e-6 {
                    bad("probs", format!("probabilities sum to {sum}, not 1"));
                }
            }
            Dist::Metalog {
                probs,
                values,
                min,
                max,
            } => {
                if probs.len() != values.len() {
                    bad(
                        "values",
                        format!("{} probabilities but {} values", probs.len(), values.len()),
                    );
                } else if !(2..=6).contains(&probs.len()) {
                    bad(
                        "probs",
                        format!("a metalog needs 2 to 6 quantiles, got {}", probs.len()),
                    );
                } else if probs.windows(2).any(|w| w[0] >= w[1])
                    || probs.iter().any(|p| *p <= 0.0 || *p >= 1.0)
                {
                    bad(
                        "probs",
                        "quantile probabilities must rise strictly inside (0, 1)".into(),
                    );
                } else if values.windows(2).any(|w| w[0] >= w[1]) {
                    bad("values", "quantile values must rise strictly".into());
                } else if min.zip(*max).is_some_and(|(lo, hi)| lo >= hi) {
                    bad("min", format!("need min < max, got {min:?} and {max:?}"));
                } else if let Some(v) = values
                    .iter()
                    .find(|v| min.is_some_and(|lo| **v <= lo) || max.is_some_and(|hi| **v >= hi))
                {
                    bad(
                        "values",
                        format!(
                            "value {v} is not strictly inside the bounds ({}, {}); a bounded metalog's quantiles must lie between them",
                            min.map_or("-inf".into(), |x| x.to_string()),
                            max.map_or("inf".into(), |x| x.to_string())
                        ),
                    );
                } else if metalog_fit(probs, values, *min, *max)
                    .is_none_or(|a| !metalog_monotone(&a))
                {
                    bad(
                        "values",
                        "these quantiles give a metalog that is not increasing; space them more evenly or use fewer"
                            .into(),
                    );
                }
            }
        }
        out
    }

    /// Value at cumulative probability `u` in (0, 1).
    /// The values the distribution can take: (lowest, highest, lowest excluded?). Unbounded
    /// sides are infinite; a fixed value's support is that value.
    pub fn support(&self) -> (f64, f64, bool) {
        match self {
            Dist::Fixed(x) => (*x, *x, false),
            Dist::Normal { .. } => (f64::NEG_INFINITY, f64::INFINITY, false),
            Dist::TruncatedNormal { min, max, .. } => (*min, *max, false),
            Dist::Metalog { min, max, .. } => (
                min.unwrap_or(f64::NEG_INFINITY),
                max.unwrap_or(f64::INFINITY),
                min.is_some(),
            ),
            Dist::LognormalP10P90 { .. } | Dist::LognormalMedianP90 { .. } => {
                (0.0, f64::INFINITY, true)
            }
            Dist::Triangular { min, max, .. }
            | Dist::Pert { min, max, .. }
            | Dist::Uniform { min, max } => (*min, *max, false),
            Dist::Discrete { values, .. } => (
                values.iter().copied().fold(f64::INFINITY, f64::min),
                values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                false,
            ),
        }
    }

    /// Whether `x` is a value the distribution can take (finite and inside its support).
    pub fn admits(&self, x: f64) -> bool {
        let (lo, hi, lo_open) = self.support();
        x.is_finite() && x >= lo && x <= hi && !(lo_open && x <= lo)
    }

    /// The support in words, for messages: "0.2 to 0.6", "above 0 to inf".
    pub fn support_text(&self) -> String {
        let (lo, hi, lo_open) = self.support();
        format!("{}{lo} to {hi}", if lo_open { "above " } else { "" })
    }

    pub fn quantile(&self, u: f64) -> f64 {
        let u = clamp_u(u);
        match self {
            Dist::Fixed(x) => *x,
            Dist::Normal { mean, sd } => mean + sd * inverse_normal_cdf(u),
            Dist::TruncatedNormal { mean, sd, min, max } => {
                truncated_normal_quantile(*mean, *sd, *min, *max, u)
            }
            Dist::LognormalP10P90 { .. } | Dist::LognormalMedianP90 { .. } => {
                let (mu, sigma) = self.lognormal_params();
                lognormal_quantile(mu, sigma, u)
            }
            Dist::Triangular { min, mode, max } => {
                let w = max - min;
                if w <= 0.0 {
                    return *min;
                }
                let fc = (mode - min) / w;
                if u < fc {
                    min + (u * w * (mode - min)).sqrt()
                } else {
                    max - ((1.0 - u) * w * (max - mode)).sqrt()
                }
            }
            Dist::Pert { min, mode, max } => {
                let w = max - min;
                if w <= 0.0 {
                    return *min;
                }
                let a = 1.0 + 4.0 * (mode - min) / w;
                let b = 1.0 + 4.0 * (max - mode) / w;
                match Beta::new(a, b) {
                    Ok(beta) => min + w * beta.inverse_cdf(u),
                    Err(_) => *mode,
                }
            }
            Dist::Uniform { min, max } => min + (max - min) * u,
            Dist::Discrete { values, probs } => {
                let mut acc = 0.0;
                for (v, p) in values.iter().zip(probs) {
                    acc += p;
                    if u <= acc {
                        return *v;
                    }
                }
                *values.last().unwrap_or(&0.0)
            }
            Dist::Metalog {
                probs,
                values,
                min,
                max,
            } => metalog_prepared(probs, values, *min, *max).at(u),
        }
    }

    /// (μ, σ) of the underlying normal for the lognormal forms.
    fn lognormal_params(&self) -> (f64, f64) {
        match self {
            Dist::LognormalP10P90 { p10, p90 } => {
                let mu = 0.5 * (p10.ln() + p90.ln());
                (mu, (p90.ln() - p10.ln()) / (2.0 * Z90))
            }
            Dist::LognormalMedianP90 { median, p90 } => {
                let mu = median.ln();
                (mu, (p90.ln() - mu) / Z90)
            }
            _ => (0.0, 0.0),
        }
    }

    /// The mean (closed form where there is one, otherwise a fine quadrature of the quantile).
    pub fn mean(&self) -> f64 {
        match self {
            Dist::Fixed(x) => *x,
            Dist::Normal { mean, .. } => *mean,
            Dist::TruncatedNormal { mean, sd, min, max } => {
                if *sd == 0.0 {
                    return mean.clamp(*min, *max);
                }
                let (a, b) = ((min - mean) / sd, (max - mean) / sd);
                let pdf = |z: f64| {
                    if z.is_finite() {
                        (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
                    } else {
                        0.0
                    }
                };
                mean + sd * (pdf(a) - pdf(b)) / truncated_mass(*mean, *sd, *min, *max)
            }
            Dist::LognormalP10P90 { .. } | Dist::LognormalMedianP90 { .. } => {
                let (mu, s) = self.lognormal_params();
                (mu + 0.5 * s * s).exp()
            }
            Dist::Triangular { min, mode, max } => (min + mode + max) / 3.0,
            Dist::Pert { min, mode, max } => (min + 4.0 * mode + max) / 6.0,
            Dist::Uniform { min, max } => 0.5 * (min + max),
            Dist::Discrete { values, probs } => values.iter().zip(probs).map(|(v, p)| v * p).sum(),
            Dist::Metalog { .. } => {
                let n = 2000;
                (0..n)
                    .map(|i| self.quantile((i as f64 + 0.5) / n as f64))
                    .sum::<f64>()
                    / n as f64
            }
        }
    }
}

/// Probability a normal(mean, sd) puts on [min, max], from the side that keeps precision.
fn truncated_mass(mean: f64, sd: f64, min: f64, max: f64) -> f64 {
    let (a, b) = ((min - mean) / sd, (max - mean) / sd);
    if a > 0.0 {
        normal_cdf(-a) - normal_cdf(-b)
    } else {
        normal_cdf(b) - normal_cdf(a)
    }
}

/// The `u`-quantile of a normal truncated to [min, max]: Φ⁻¹ of u spread over the kept
/// probability, computed in the upper tail by symmetry so that a truncation far above the mean
/// keeps its precision; clamped to the bounds.
fn truncated_normal_quantile(mean: f64, sd: f64, min: f64, max: f64, u: f64) -> f64 {
    if sd == 0.0 {
        return mean.clamp(min, max);
    }
    let (a, b) = ((min - mean) / sd, (max - mean) / sd);
    let z = if a > 0.0 {
        let (qa, qb) = (normal_cdf(-b), normal_cdf(-a));
        -inverse_normal_cdf(qb - u * (qb - qa))
    } else {
        let (pa, pb) = (normal_cdf(a), normal_cdf(b));
        inverse_normal_cdf(pa + u * (pb - pa))
    };
    (mean + sd * z).clamp(min, max)
}

/// A value on the metalog's own scale: ln(x − min), −ln(max − x), or ln((x − min)/(max − x))
/// (Keelin's log and logit metalogs), or x itself when unbounded.
fn to_metalog_scale(x: f64, min: Option<f64>, max: Option<f64>) -> f64 {
    match (min, max) {
        (None, None) => x,
        (Some(lo), None) => (x - lo).ln(),
        (None, Some(hi)) => -(hi - x).ln(),
        (Some(lo), Some(hi)) => ((x - lo) / (hi - x)).ln(),
    }
}

/// Where [`Dist::quantile`] clamps u: the quantile function is finite inside.
fn clamp_u(u: f64) -> f64 {
    u.clamp(1e-12, 1.0 - 1e-12)
}

/// The lognormal's u-quantile from the underlying normal's μ and σ.
fn lognormal_quantile(mu: f64, sigma: f64, u: f64) -> f64 {
    (mu + sigma * inverse_normal_cdf(u)).exp()
}

/// A metalog whose quantiles admit no fit (validation refuses such input): its middle value.
fn metalog_fallback(values: &[f64]) -> f64 {
    values[values.len() / 2]
}

/// A distribution with the part of its quantile function that does not depend on u worked
/// out once — a lognormal's μ and σ (four logarithms), a metalog's coefficients (a linear
/// solve) — for drawing it on every path. Its quantiles are bit for bit those of
/// [`Dist::quantile`]: the same operations on the same values, some done beforehand.
#[derive(Debug, Clone)]
pub struct PreparedDist {
    dist: Dist,
    /// None when there is nothing to work out beforehand (the distribution answers itself).
    prepared: Option<Prepared>,
}

/// What a quantile function worked out beforehand.
#[derive(Debug, Clone)]
enum Prepared {
    Lognormal {
        mu: f64,
        sigma: f64,
    },
    Metalog {
        coefficients: Vec<f64>,
        min: Option<f64>,
        max: Option<f64>,
    },
    /// A metalog without a fit: always this value.
    Constant(f64),
}

impl PreparedDist {
    pub fn new(dist: &Dist) -> PreparedDist {
        let prepared = match dist {
            Dist::LognormalP10P90 { .. } | Dist::LognormalMedianP90 { .. } => {
                let (mu, sigma) = dist.lognormal_params();
                Some(Prepared::Lognormal { mu, sigma })
            }
            Dist::Metalog {
                probs,
                values,
                min,
                max,
            } => Some(metalog_prepared(probs, values, *min, *max)),
            _ => None,
        };
        PreparedDist {
            dist: dist.clone(),
            prepared,
        }
    }

    /// The distribution as written.
    pub fn dist(&self) -> &Dist {
        &self.dist
    }

    /// The u-quantile: [`Dist::quantile`], bit for bit.
    #[inline]
    pub fn quantile(&self, u: f64) -> f64 {
        match &self.prepared {
            Some(p) => p.at(clamp_u(u)),
            None => self.dist.quantile(u),
        }
    }
}

impl Prepared {
    /// The quantile at `u` (already clamped) from what was worked out.
    #[inline]
    fn at(&self, u: f64) -> f64 {
        match self {
            Prepared::Lognormal { mu, sigma } => lognormal_quantile(*mu, *sigma, u),
            Prepared::Metalog {
                coefficients,
                min,
                max,
            } => from_metalog_scale(metalog_quantile(coefficients, u), *min, *max),
            Prepared::Constant(x) => *x,
        }
    }
}

/// A metalog's coefficients through its quantiles (on the scale its bounds give), or its
/// middle value when they admit no fit.
fn metalog_prepared(probs: &[f64], values: &[f64], min: Option<f64>, max: Option<f64>) -> Prepared {
    match metalog_fit(probs, values, min, max) {
        Some(coefficients) => Prepared::Metalog {
            coefficients,
            min,
            max,
        },
        None => Prepared::Constant(metalog_fallback(values)),
    }
}

/// The inverse of [`to_metalog_scale`].
fn from_metalog_scale(m: f64, min: Option<f64>, max: Option<f64>) -> f64 {
    match (min, max) {
        (None, None) => m,
        (Some(lo), None) => lo + m.exp(),
        (None, Some(hi)) => hi - (-m).exp(),
        (Some(lo), Some(hi)) => {
            // (lo + hi·e^m) / (1 + e^m), written to stay finite for large |m|.
            if m > 0.0 {
                let e = (-m).exp();
                (lo * e + hi) / (e + 1.0)
            } else {
                let e = m.exp();
                (lo + hi * e) / (1.0 + e)
            }
        }
    }
}

/// The metalog's coefficients through the quantiles, on the scale its bounds give.
fn metalog_fit(
    probs: &[f64],
    values: &[f64],
    min: Option<f64>,
    max: Option<f64>,
) -> Option<Vec<f64>> {
    let z: Vec<f64> = values
        .iter()
        .map(|v| to_metalog_scale(*v, min, max))
        .collect();
    if z.iter().any(|v| !v.is_finite()) {
        return None;
    }
    metalog_coefficients(probs, &z)
}

/// Basis functions of the unbounded metalog at probability y, for k terms.
fn metalog_basis(y: f64, k: usize) -> [f64; 6] {
    let l = (y / (1.0 - y)).ln();
    let c = y - 0.5;
    let all = [1.0, l, c * l, c, c * c, c * c * l];
    let mut out = [0.0; 6];
    out[..k].copy_from_slice(&all[..k]);
    out
}

/// Coefficients of the metalog through the given quantiles (exact fit), or None if singular.
fn metalog_coefficients(probs: &[f64], values: &[f64]) -> Option<Vec<f64>> {
    let k = probs.len();
    let mut m: Vec<Vec<f64>> = probs
        .iter()
        .zip(values)
        .map(|(&p, &x)| {
            let mut row = metalog_basis(p, k)[..k].to_vec();
            row.push(x);
            row
        })
        .collect();
    // Gaussian elimination with partial pivoting.
    for col in 0..k {
        let piv = (col..k).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[piv][col].abs() < 1e-12 {
            return None;
        }
        m.swap(col, piv);
        for r in 0..k {
            if r != col {
                let f = m[r][col] / m[col][col];
                for c in col..=k {
                    m[r][c] -= f * m[col][c];
                }
            }
        }
    }
    Some((0..k).map(|i| m[i][k] / m[i][i]).collect())
}

fn metalog_quantile(a: &[f64], u: f64) -> f64 {
    let b = metalog_basis(u, a.len());
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

fn metalog_monotone(a: &[f64]) -> bool {
    let n = 999;
    let mut prev = f64::NEG_INFINITY;
    for i in 1..=n {
        let q = metalog_quantile(a, i as f64 / (n + 1) as f64);
        if q <= prev {
            return false;
        }
        prev = q;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_quantiles_are_the_distributions_bit_for_bit() {
        let dists = [
            Dist::Fixed(3.0),
            Dist::Normal { mean: 1.0, sd: 0.5 },
            Dist::LognormalP10P90 {
                p10: 40.0e6,
                p90: 60.0e6,
            },
            Dist::LognormalMedianP90 {
                median: 1.0e5,
                p90: 1.3e5,
            },
            Dist::Triangular {
                min: 0.2,
                mode: 0.3,
                max: 0.4,
            },
            Dist::Uniform { min: 1.0, max: 2.0 },
            Dist::Metalog {
                probs: vec![0.1, 0.5, 0.9],
                values: vec![10.0, 20.0, 45.0],
                min: Some(0.0),
                max: None,
            },
            Dist::Metalog {
                probs: vec![0.1, 0.5, 0.9],
                values: vec![1.0, 2.0, 3.5],
                min: Some(0.0),
                max: Some(5.0),
            },
            Dist::Metalog {
                probs: vec![0.1, 0.5, 0.9],
                values: vec![-1.0, 0.0, 2.0],
                min: None,
                max: None,
            },
        ];
        for d in &dists {
            let p = PreparedDist::new(d);
            assert_eq!(p.dist(), d);
            for i in 0..=1000 {
                let u = i as f64 / 1000.0;
                assert_eq!(
                    p.quantile(u).to_bits(),
                    d.quantile(u).to_bits(),
                    "{d:?} at {u}"
                );
            }
        }
    }

    #[test]
    fn normal_quantiles_match_tables() {
        assert!((inverse_normal_cdf(0.975) - 1.959_963_984_540_054).abs() < 1e-12);
        assert!((inverse_normal_cdf(0.9) - Z90).abs() < 1e-12);
        let e = (normal_cdf(1.959_963_984_540_054) - 0.975).abs();
        assert!(e < 1e-9, "{e}");
    }

    #[test]
    fn lognormal_p10_p90_round_trip() {
        let d = Dist::LognormalP10P90 { p10: 2.0, p90: 8.0 };
        assert!((d.quantile(0.1) - 2.0).abs() < 1e-9);
        assert!((d.quantile(0.9) - 8.0).abs() < 1e-9);
        assert!((d.quantile(0.5) - 4.0).abs() < 1e-9);
        let m = Dist::LognormalMedianP90 {
            median: 4.0,
            p90: 8.0,
        };
        assert!((m.quantile(0.9) - 8.0).abs() < 1e-9);
    }

    #[test]
    fn triangular_and_pert_hit_their_ends_and_mode() {
        let t = Dist::Triangular {
            min: 0.0,
            mode: 1.0,
            max: 4.0,
        };
        // CDF at the mode is (mode-min)/(max-min) = 0.25.
        assert!((t.quantile(0.25) - 1.0).abs() < 1e-12);
        let p = Dist::Pert {
            min: 0.0,
            mode: 5.0,
            max: 10.0,
        };
        // Symmetric PERT: median at the mode, mean (min + 4 mode + max) / 6.
        assert!((p.quantile(0.5) - 5.0).abs() < 1e-6);
        assert_eq!(p.mean(), 5.0);
    }

    #[test]
    fn discrete_quantile_steps() {
        let d = Dist::Discrete {
            values: vec![1.0, 2.0, 3.0],
            probs: vec![0.2, 0.5, 0.3],
        };
        assert_eq!(d.quantile(0.1), 1.0);
        assert_eq!(d.quantile(0.6), 2.0);
        assert_eq!(d.quantile(0.95), 3.0);
        assert!((d.mean() - 2.1).abs() < 1e-12);
    }

    #[test]
    fn metalog_passes_through_its_quantiles() {
        let d = Dist::Metalog {
            probs: vec![0.1, 0.5, 0.9],
            values: vec![10.0, 20.0, 35.0],
            min: None,
            max: None,
        };
        assert!(d.check().is_empty());
        for (p, x) in [(0.1, 10.0), (0.5, 20.0), (0.9, 35.0)] {
            assert!((d.quantile(p) - x).abs() < 1e-9);
        }
    }

    #[test]
    fn a_two_term_log_metalog_is_the_log_logistic_in_closed_form() {
        // ln x = a1 + a2 · logit(u) through p10 = 5 and p90 = 20: a1 = ln 10 and
        // a2 = ln 4 / (2 ln 9), so x(u) = 10 · (u / (1 − u))^a2: median 10, p75 = 10 · 3^a2.
        let d = Dist::Metalog {
            probs: vec![0.1, 0.9],
            values: vec![5.0, 20.0],
            min: Some(0.0),
            max: None,
        };
        assert!(d.check().is_empty());
        let a2 = 4f64.ln() / (2.0 * 9f64.ln());
        assert!((d.quantile(0.5) - 10.0).abs() < 1e-12);
        assert!((d.quantile(0.75) - 10.0 * 3f64.powf(a2)).abs() < 1e-12);
        assert!((d.quantile(0.1) - 5.0).abs() < 1e-12 && (d.quantile(0.9) - 20.0).abs() < 1e-12);
        assert!(d.quantile(1e-12) > 0.0);
        assert_eq!(d.support(), (0.0, f64::INFINITY, true));
    }

    #[test]
    fn a_two_term_logit_metalog_stays_inside_its_bounds_in_closed_form() {
        // logit x = a2 · logit(u) through p10 = 0.2 and p90 = 0.8 on [0, 1]: a2 = ln 4 / ln 9,
        // so x(u) = 1 / (1 + ((1 − u)/u)^a2); x(0.75) = 1 / (1 + 3^−a2).
        let d = Dist::Metalog {
            probs: vec![0.1, 0.9],
            values: vec![0.2, 0.8],
            min: Some(0.0),
            max: Some(1.0),
        };
        assert!(d.check().is_empty());
        let a2 = 4f64.ln() / 9f64.ln();
        assert!((d.quantile(0.5) - 0.5).abs() < 1e-12);
        assert!((d.quantile(0.75) - 1.0 / (1.0 + 3f64.powf(-a2))).abs() < 1e-12);
        let (lo, hi) = (d.quantile(0.0), d.quantile(1.0));
        assert!(lo > 0.0 && hi < 1.0, "{lo} {hi}");
        // An upper bound alone mirrors the log metalog.
        let up = Dist::Metalog {
            probs: vec![0.1, 0.9],
            values: vec![-20.0, -5.0],
            min: None,
            max: Some(0.0),
        };
        let down = Dist::Metalog {
            probs: vec![0.1, 0.9],
            values: vec![5.0, 20.0],
            min: Some(0.0),
            max: None,
        };
        for u in [0.05, 0.3, 0.5, 0.77] {
            assert!((up.quantile(u) + down.quantile(1.0 - u)).abs() < 1e-9);
        }
        // Quantiles outside the bounds are an error naming the value.
        let bad = Dist::Metalog {
            probs: vec![0.1, 0.9],
            values: vec![0.2, 1.2],
            min: Some(0.0),
            max: Some(1.0),
        };
        assert!(bad.check()[0].1.contains("1.2"));
    }

    #[test]
    fn a_normal_truncated_at_its_mean_is_the_half_normal() {
        // Half-normal: quantile Φ⁻¹((1 + u)/2), mean √(2/π).
        let d = Dist::TruncatedNormal {
            mean: 0.0,
            sd: 1.0,
            min: 0.0,
            max: f64::INFINITY,
        };
        assert!(d.check().is_empty());
        for u in [0.1, 0.5, 0.9] {
            assert!((d.quantile(u) - inverse_normal_cdf((1.0 + u) / 2.0)).abs() < 1e-12);
        }
        assert!((d.mean() - (2.0 / std::f64::consts::PI).sqrt()).abs() < 1e-12);
        assert_eq!(d.kind(), "normal");
        // Far in the upper tail the quantile keeps its precision: truncated at 8 sd, the mean
        // is the inverse Mills ratio φ(8)/Q(8) = 8.1213681122 (8 + 1/8 − 2/8³ + 10/8⁵ − 74/8⁷
        // ≈ 8.121364 asymptotically; the digits from an independent erfc).
        let tail = Dist::TruncatedNormal {
            mean: 0.0,
            sd: 1.0,
            min: 8.0,
            max: f64::INFINITY,
        };
        assert!(tail.check().is_empty());
        assert!(
            (tail.mean() - 8.121_368_112).abs() < 1e-6,
            "{}",
            tail.mean()
        );
        let qs: Vec<f64> = [0.01, 0.5, 0.99]
            .iter()
            .map(|u| tail.quantile(*u))
            .collect();
        assert!(
            qs[0] >= 8.0 && qs[0] < qs[1] && qs[1] < qs[2] && qs[2] < 9.0,
            "{qs:?}"
        );
        // Median of the tail: 8 + about ln 2 / 8.
        assert!((qs[1] - (8.0 + 2f64.ln() / 8.12)).abs() < 5e-3, "{}", qs[1]);
        // Bounds that hold no probability, or cross, are errors.
        let empty = Dist::TruncatedNormal {
            mean: 0.0,
            sd: 1.0,
            min: 40.0,
            max: f64::INFINITY,
        };
        assert_eq!(empty.check()[0].0, "min");
        let crossed = Dist::TruncatedNormal {
            mean: 0.0,
            sd: 1.0,
            min: 1.0,
            max: 0.0,
        };
        assert_eq!(crossed.check()[0].0, "min");
    }

    #[test]
    fn impossible_parameters_are_named() {
        let d = Dist::LognormalP10P90 { p10: 9.0, p90: 3.0 };
        let errs = d.check();
        assert_eq!(errs[0].0, "p10");
        assert!(errs[0].1.contains("above p90"));
    }
}
