//! Random streams and per-path parameter sampling.
//!
//! Every random number is keyed by (seed, input key, path): the key is a hash of the input's
//! name (its field path, or the event it drives), never its position, so results do not
//! depend on thread count and adding an input does not change the draws of the others.
//! Per-path parameters are drawn as uniforms by plain Monte Carlo, Latin hypercube (a keyed
//! permutation of strata, so no per-input arrays are stored) or Owen-scrambled Sobol points,
//! then mapped through each distribution's quantile function. Rank correlations are imposed
//! by Iman–Conover within each fixed block of paths.

use gigawatt_model::{inverse_normal_cdf, jacobi_eigen, Sampling};
use rand_core::SeedableRng;
use rand_pcg::Pcg64Mcg;

/// SplitMix64 finaliser: a strong 64-bit mix.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a hash of a name, then mixed: the key of an input or event.
pub fn key(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    mix(h)
}

/// Hash of (seed, key, index).
pub fn hash3(seed: u64, key: u64, i: u64) -> u64 {
    mix(mix(seed ^ key.rotate_left(17)) ^ i.wrapping_mul(0xD6E8_FEB8_6659_FD93))
}

/// A uniform in (0, 1) from a hash.
pub fn unit(h: u64) -> f64 {
    ((h >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// The uniform for (seed, key, path).
pub fn uniform(seed: u64, key: u64, path: u64) -> f64 {
    unit(hash3(seed, key, path))
}

/// A random stream for (seed, key, path), for month-by-month draws.
pub fn stream(seed: u64, key: u64, path: u64) -> Pcg64Mcg {
    Pcg64Mcg::seed_from_u64(hash3(seed, key, path))
}

/// A keyed pseudo-random permutation of 0..n (a Feistel network with cycle walking).
#[derive(Debug, Clone, Copy)]
pub struct Permutation {
    n: u64,
    half_bits: u32,
    keys: [u64; 4],
}

impl Permutation {
    /// A permutation of 0..n keyed by `k`.
    pub fn new(n: u64, k: u64) -> Permutation {
        let bits = 64 - n.max(2).saturating_sub(1).leading_zeros();
        let half_bits = bits.div_ceil(2).max(1);
        let keys = [mix(k ^ 1), mix(k ^ 2), mix(k ^ 3), mix(k ^ 4)];
        Permutation { n, half_bits, keys }
    }

    fn round(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let (mut l, mut r) = (x >> self.half_bits, x & mask);
        for k in self.keys {
            let f = mix(r ^ k) & mask;
            (l, r) = (r, l ^ f);
        }
        (l << self.half_bits) | r
    }

    /// Image of `i`, which must be < n: cycle walking returns to 0..n only from inside it.
    pub fn apply(&self, i: u64) -> u64 {
        debug_assert!(i < self.n, "permutation of 0..{} applied to {i}", self.n);
        let mut x = self.round(i);
        while x >= self.n {
            x = self.round(x);
        }
        x
    }
}

/// Draws the per-path uniforms of every input.
#[derive(Debug, Clone)]
pub struct Sampler {
    /// Method.
    pub method: Sampling,
    /// Seed.
    pub seed: u64,
    /// Total paths (for Latin hypercube strata).
    pub paths: u64,
}

impl Sampler {
    /// The uniform of input `k` (with Sobol dimension `dim`) on `path`.
    pub fn uniform(&self, k: u64, dim: u32, path: u64) -> f64 {
        match self.method {
            Sampling::MonteCarlo => uniform(self.seed, k, path),
            Sampling::LatinHypercube => {
                let rep = path / self.paths.max(1);
                self.latin(&self.strata(k, rep), k, path)
            }
            Sampling::Sobol => {
                if dim >= sobol_burley::NUM_DIMENSIONS || path > u32::MAX as u64 {
                    return uniform(self.seed, k, path);
                }
                let s =
                    sobol_burley::sample(path as u32, dim, (mix(self.seed) & 0xFFFF_FFFF) as u32)
                        as f64;
                s.clamp(1e-7, 1.0 - 1e-7)
            }
        }
    }
}

impl Sampler {
    /// The uniforms of input `k` (Sobol dimension `dim`) on paths `first ..`, one per element
    /// of `out`: each what [`Sampler::uniform`] gives, with a Latin hypercube's permutation of
    /// strata built once for the paths it covers instead of once per path.
    pub fn fill(&self, k: u64, dim: u32, first: u64, out: &mut [f64]) {
        if self.method != Sampling::LatinHypercube {
            for (p, o) in (first..).zip(out) {
                *o = self.uniform(k, dim, p);
            }
            return;
        }
        let mut strata: Option<(u64, Permutation)> = None;
        for (path, o) in (first..).zip(out) {
            let rep = path / self.paths.max(1);
            let perm = match strata {
                Some((r, perm)) if r == rep => perm,
                _ => {
                    let perm = self.strata(k, rep);
                    strata = Some((rep, perm));
                    perm
                }
            };
            *o = self.latin(&perm, k, path);
        }
    }

    /// A Latin hypercube's strata of input `k` in batch `rep`: paths past the total (a caller
    /// drawing beyond the run) fall in a further, independently permuted hypercube of the same
    /// size, batch `rep` of `paths`.
    fn strata(&self, k: u64, rep: u64) -> Permutation {
        Permutation::new(self.paths.max(1), hash3(self.seed, k, u64::MAX - rep))
    }

    /// The Latin hypercube uniform of input `k` on `path`, in its batch's strata `perm`.
    fn latin(&self, perm: &Permutation, k: u64, path: u64) -> f64 {
        let n = self.paths.max(1);
        let stratum = perm.apply(path % n);
        (stratum as f64 + uniform(self.seed, k, path)) / n as f64
    }
}

/// Pearson correlation of two columns.
fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa <= 0.0 || sbb <= 0.0 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
}

/// Lower Cholesky factor of a symmetric positive (semi-)definite matrix, with a tiny ridge.
pub fn cholesky(m: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let k = m.len();
    let mut l = vec![vec![0.0; k]; k];
    for i in 0..k {
        for j in 0..=i {
            let s: f64 = (0..j).map(|p| l[i][p] * l[j][p]).sum();
            if i == j {
                l[i][j] = (m[i][i] - s).max(1e-12).sqrt();
            } else {
                l[i][j] = (m[i][j] - s) / l[j][j];
            }
        }
    }
    l
}

fn lower_inverse(l: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let k = l.len();
    let mut inv = vec![vec![0.0; k]; k];
    for i in 0..k {
        inv[i][i] = 1.0 / l[i][i];
        for j in 0..i {
            let s: f64 = (j..i).map(|p| l[i][p] * inv[p][j]).sum();
            inv[i][j] = -s / l[i][i];
        }
    }
    inv
}

fn ranks(x: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]).then(a.cmp(&b)));
    let mut r = vec![0; x.len()];
    for (rank, i) in idx.into_iter().enumerate() {
        r[i] = rank;
    }
    r
}

/// Converts a Spearman rank correlation to the Pearson correlation of normal scores.
pub fn spearman_to_pearson(rho_s: f64) -> f64 {
    2.0 * (std::f64::consts::PI * rho_s / 6.0).sin()
}

/// Iman–Conover: reorders each column of `u` (rows = paths of one block) so that the rank
/// correlations approach `target` (a valid Pearson correlation matrix of normal scores),
/// leaving every column's values unchanged. Returns the achieved Spearman matrix.
pub fn iman_conover(
    u: &mut [Vec<f64>],
    target_chol: &[Vec<f64>],
    seed: u64,
    block: u64,
) -> Vec<Vec<f64>> {
    let k = u.len();
    let n = u.first().map_or(0, |c| c.len());
    if n < k + 2 {
        return achieved(u);
    }
    let scores: Vec<f64> = (1..=n)
        .map(|i| inverse_normal_cdf(i as f64 / (n + 1) as f64))
        .collect();
    let s: Vec<Vec<f64>> = (0..k)
        .map(|j| {
            let p = Permutation::new(n as u64, hash3(seed, block, j as u64 + 0x1C));
            (0..n).map(|i| scores[p.apply(i as u64) as usize]).collect()
        })
        .collect();
    let c: Vec<Vec<f64>> = (0..k)
        .map(|a| {
            (0..k)
                .map(|b| if a == b { 1.0 } else { pearson(&s[a], &s[b]) })
                .collect()
        })
        .collect();
    let (vals, _) = jacobi_eigen(&c);
    if vals.iter().any(|v| *v <= 1e-10) {
        return achieved(u);
    }
    let q_inv = lower_inverse(&cholesky(&c));
    // T = S · (Q⁻¹)ᵀ · Pᵀ, column by column: T[:, j] = Σ_a S[:, a] · M[a][j] with M = (Q⁻¹)ᵀ Pᵀ.
    let m: Vec<Vec<f64>> = (0..k)
        .map(|a| {
            (0..k)
                .map(|j| (0..k).map(|b| q_inv[b][a] * target_chol[j][b]).sum())
                .collect()
        })
        .collect();
    for (j, col) in u.iter_mut().enumerate() {
        let t: Vec<f64> = (0..n)
            .map(|i| (0..k).map(|a| s[a][i] * m[a][j]).sum())
            .collect();
        let r = ranks(&t);
        let mut sorted = col.clone();
        sorted.sort_by(f64::total_cmp);
        for i in 0..n {
            col[i] = sorted[r[i]];
        }
    }
    achieved(u)
}

/// Spearman correlation matrix of the columns.
pub fn achieved(u: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let rk: Vec<Vec<f64>> = u
        .iter()
        .map(|c| ranks(c).into_iter().map(|r| r as f64).collect())
        .collect();
    let k = u.len();
    (0..k)
        .map(|a| {
            (0..k)
                .map(|b| if a == b { 1.0 } else { pearson(&rk[a], &rk[b]) })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filling_a_column_gives_each_paths_uniform() {
        for method in [
            Sampling::MonteCarlo,
            Sampling::LatinHypercube,
            Sampling::Sobol,
        ] {
            let s = Sampler {
                method,
                seed: 9,
                paths: 300,
            };
            // From inside the run across its end into a second batch of strata.
            let mut col = vec![0.0; 250];
            s.fill(77, 3, 200, &mut col);
            for (p, x) in (200..).zip(&col) {
                assert_eq!(
                    x.to_bits(),
                    s.uniform(77, 3, p).to_bits(),
                    "{method:?} path {p}"
                );
            }
        }
    }

    #[test]
    fn permutation_is_a_bijection() {
        for n in [1u64, 2, 7, 100, 1000, 1025] {
            let p = Permutation::new(n, 42);
            let mut seen = vec![false; n as usize];
            for i in 0..n {
                let j = p.apply(i) as usize;
                assert!(!seen[j]);
                seen[j] = true;
            }
        }
    }

    #[test]
    fn latin_hypercube_puts_one_draw_in_each_stratum() {
        let s = Sampler {
            method: Sampling::LatinHypercube,
            seed: 3,
            paths: 500,
        };
        let mut hit = vec![0; 500];
        for p in 0..500 {
            hit[(s.uniform(key("x"), 0, p) * 500.0) as usize] += 1;
        }
        assert!(hit.iter().all(|h| *h == 1));
        // Paths past the total (once looped for ever) form a further hypercube: 500..1000
        // again put one draw in each stratum.
        let mut hit = vec![0; 500];
        for p in 500..1000 {
            hit[(s.uniform(key("x"), 0, p) * 500.0) as usize] += 1;
        }
        assert!(hit.iter().all(|h| *h == 1));
    }

    #[test]
    fn iman_conover_reaches_the_target_rank_correlation() {
        let n = 2000;
        let mut u: Vec<Vec<f64>> = (0..2)
            .map(|j| (0..n).map(|i| uniform(9, j as u64, i)).collect())
            .collect();
        let before: Vec<Vec<f64>> = u
            .iter()
            .map(|c| {
                let mut c = c.clone();
                c.sort_by(f64::total_cmp);
                c
            })
            .collect();
        let target = vec![
            vec![1.0, spearman_to_pearson(0.6)],
            vec![spearman_to_pearson(0.6), 1.0],
        ];
        let got = iman_conover(&mut u, &cholesky(&target), 1, 0);
        assert!((got[0][1] - 0.6).abs() < 0.03, "{}", got[0][1]);
        for (j, c) in u.iter().enumerate() {
            let mut c = c.clone();
            c.sort_by(f64::total_cmp);
            assert_eq!(c, before[j], "marginals are unchanged");
        }
    }
}
