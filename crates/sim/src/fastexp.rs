//! The exponential of many values at once, for the growth paths.
//!
//! A path's demand level is `exp` of its running log level, one value per segment and month, so
//! the draws spend much of their time in the C library's scalar `exp`. [`exp_into`] computes
//! the same function over a slice with a loop the compiler vectorises (two lanes with the
//! baseline x86-64 instruction set): no branches, no table, no conversion between floats and
//! integers but bit casts.
//!
//! [`ln_core`] is the natural logarithm in the same style, for the quality index's power
//! r^ε = e^(ε·ln r) over a month's lanes at once.
//!
//! Method: x = n·ln 2 + r with n = round(x / ln 2) and |r| ≤ ln 2 / 2, ln 2 split in two parts
//! (Cody and Waite) so that n·ln2_hi is exact; e^r by its Taylor series to r¹³ (truncation
//! below 2⁻⁶⁰ relative on that interval), evaluated by Horner's rule; then 2ⁿ added to the
//! result's exponent field. n is rounded by adding and subtracting 1.5·2⁵², which also leaves
//! n in the low bits of the sum. Accuracy: within 2 units in the last place of the correctly
//! rounded result over the whole range (the tests compare it with the C library on two million
//! arguments and on the rounding's halfway points; the worst seen is 1). Arguments outside
//! [−708, 709], where the result is subnormal or infinite, go to the C library's `exp`.

/// 1 / ln 2.
const LOG2_E: f64 = std::f64::consts::LOG2_E;
/// ln 2, upper part: its low 32 mantissa bits are zero, so n·LN2_HI is exact for |n| < 2²⁰.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
/// ln 2 − LN2_HI.
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// 1.5·2⁵²: adding it rounds to an integer (round half to even) held in the low mantissa bits.
const ROUND: f64 = 6_755_399_441_055_744.0;
/// The arguments whose results are normal numbers, computed by the fast path.
const LOW: f64 = -708.0;
const HIGH: f64 = 709.0;

/// 1/k! for k = 0..=13.
const INV_FACT: [f64; 14] = [
    1.0,
    1.0,
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// e^x for x in [LOW, HIGH] (clamped into it otherwise).
#[inline(always)]
pub(crate) fn exp_core(x: f64) -> f64 {
    // Comparisons rather than f64::clamp, so the compiler can select lanes without NaN logic
    // (the arguments are finite).
    let x = if x < LOW { LOW } else { x };
    let x = if x > HIGH { HIGH } else { x };
    let t = x * LOG2_E + ROUND;
    let n = t - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // Horner's rule, highest power first (a constant loop: unrolled by the compiler).
    let mut p = INV_FACT[13];
    for c in INV_FACT[..13].iter().rev() {
        p = p * r + c;
    }
    // n as a two's-complement integer, moved into the exponent field.
    let k = t.to_bits().wrapping_sub(ROUND.to_bits());
    f64::from_bits(p.to_bits().wrapping_add(k << 52))
}

/// √2, the top of the interval a mantissa is folded into by [`ln_core`].
const SQRT_2: f64 = std::f64::consts::SQRT_2;
/// 1/(2k+1) for k = 1..=10: the series of atanh after its first term.
const INV_ODD: [f64; 10] = [
    1.0 / 3.0,
    1.0 / 5.0,
    1.0 / 7.0,
    1.0 / 9.0,
    1.0 / 11.0,
    1.0 / 13.0,
    1.0 / 15.0,
    1.0 / 17.0,
    1.0 / 19.0,
    1.0 / 21.0,
];

/// ln x for a positive normal x, without branches or tables, so that a loop of it vectorises.
///
/// Method: x = 2ᵉ·m with m in [√½, √2); ln m = 2·atanh(s) with s = f/(2 + f), f = m − 1 (exact),
/// so |s| ≤ 0.1716; 2·atanh(s) = 2s + 2s·P(s²), P(z) = z/3 + z²/5 + … + z¹⁰/21 (the first
/// term left out is below 2⁻⁶⁰ of the sum), and 2s = f − s·f, so the result is f plus a small
/// correction and e·ln 2 in two parts.
#[inline(always)]
pub(crate) fn ln_core(x: f64) -> f64 {
    let bits = x.to_bits();
    let e = ((bits >> 52) as i64) - 1023;
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let big = m > SQRT_2;
    let m = if big { m * 0.5 } else { m };
    let e = (e + i64::from(big)) as f64;
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let mut p = INV_ODD[9];
    for c in INV_ODD[..9].iter().rev() {
        p = p * z + c;
    }
    let p = p * z;
    let ln_m = f - s * (f - 2.0 * p);
    e * LN2_HI + (ln_m + e * LN2_LO)
}

/// `dst[i] = e^src[i]` for finite arguments (the slices have equal length).
pub(crate) fn exp_into(src: &[f64], dst: &mut [f64]) {
    assert_eq!(src.len(), dst.len(), "exp_into: slices of unequal length");
    for (d, &x) in dst.iter_mut().zip(src) {
        *d = exp_core(x);
    }
    // Rare: results outside the normal range.
    for (d, &x) in dst.iter_mut().zip(src) {
        if !(LOW..=HIGH).contains(&x) {
            *d = x.exp();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::unit;
    use rand_core::{Rng, SeedableRng};

    /// Uniform on (lo, hi).
    fn uniform(rng: &mut rand_pcg::Pcg64Mcg, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * unit(rng.next_u64())
    }

    /// Distance in units of the last place between two finite numbers of the same sign (or
    /// equal); numbers of opposite signs are as far apart as can be.
    fn ulps(a: f64, b: f64) -> u64 {
        if a == b {
            0
        } else if a.signum() == b.signum() {
            a.to_bits().abs_diff(b.to_bits())
        } else {
            u64::MAX
        }
    }

    fn worst_ulps(xs: &[f64]) -> u64 {
        let mut got = vec![0.0; xs.len()];
        exp_into(xs, &mut got);
        xs.iter()
            .zip(&got)
            .map(|(x, g)| ulps(*g, x.exp()))
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn known_values_are_exact_or_within_an_ulp() {
        let xs = [
            0.0,
            1.0,
            -1.0,
            0.5,
            2.0_f64.ln(),
            10.0_f64.ln(),
            100.0,
            -100.0,
        ];
        let mut got = [0.0; 8];
        exp_into(&xs, &mut got);
        assert_eq!(got[0], 1.0);
        assert!(ulps(got[1], std::f64::consts::E) <= 1, "{}", got[1]);
        assert!(ulps(got[2], 1.0 / std::f64::consts::E) <= 1);
        assert!(ulps(got[4], 2.0) <= 1, "{}", got[4]);
        assert!(ulps(got[5], 10.0) <= 1, "{}", got[5]);
        assert!((got[6] / 2.688_117_141_816_135_4e43 - 1.0).abs() < 1e-15);
        assert!((got[7] / 3.720_075_976_020_836e-44 - 1.0).abs() < 1e-15);
    }

    #[test]
    fn within_two_ulps_of_the_c_library_over_the_range() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
        // Growth paths' logs (levels from 1e-12 to 1e15), then the whole normal range.
        let near: Vec<f64> = (0..1_000_000)
            .map(|_| uniform(&mut rng, -30.0, 35.0))
            .collect();
        let wide: Vec<f64> = (0..1_000_000)
            .map(|_| uniform(&mut rng, -708.0, 709.0))
            .collect();
        assert!(worst_ulps(&near) <= 2, "{}", worst_ulps(&near));
        assert!(worst_ulps(&wide) <= 2, "{}", worst_ulps(&wide));
        // Halfway points of the rounding to n, and the ends of the reduced interval.
        let edges: Vec<f64> = (-1000..1000)
            .flat_map(|n| {
                let h = (n as f64 + 0.5) * std::f64::consts::LN_2;
                [
                    h,
                    f64::from_bits(h.to_bits() + 1),
                    f64::from_bits(h.to_bits() - 1),
                ]
            })
            .filter(|x| (LOW..=HIGH).contains(x))
            .collect();
        assert!(worst_ulps(&edges) <= 2, "{}", worst_ulps(&edges));
    }

    #[test]
    fn ln_is_within_an_ulp_of_the_c_library() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(11);
        // The quality index's ratios (0.1 to 10), then positive normals of every exponent.
        let near: Vec<f64> = (0..1_000_000)
            .map(|_| uniform(&mut rng, 0.1, 10.0))
            .collect();
        let wide: Vec<f64> = (0..1_000_000)
            .map(|_| 2f64.powf(uniform(&mut rng, -1020.0, 1020.0)))
            .collect();
        // Around 1 (where ln x is small and the relative error is the test) and around √2,
        // where the mantissa is folded.
        let edges = (-2000i64..2000).flat_map(|k| {
            [1.0f64, SQRT_2, 0.5 * SQRT_2].map(|c| f64::from_bits((c.to_bits() as i64 + k) as u64))
        });
        let (mut worst, mut at) = (0, 0.0);
        for x in near.into_iter().chain(wide).chain(edges) {
            let u = ulps(ln_core(x), x.ln());
            if u > worst {
                (worst, at) = (u, x);
            }
        }
        assert!(worst <= 1, "{worst} ulps at {at:e}");
        // Exact where the C library's is.
        assert_eq!(ln_core(1.0), 0.0);
        assert_eq!(ln_core(2.0), std::f64::consts::LN_2);
    }

    #[test]
    fn a_power_as_exp_of_a_log_is_within_a_few_ulps_of_pow() {
        // The quality index: r in [0.1, 10]. ε·ln r carries ln's error and its own rounding,
        // which exp turns into a relative error of about 1.5·|ε·ln r| ulps, besides its own 2:
        // 2 ulps seen for the elasticities the examples draw (0.05 to 0.4), 10 over all a
        // scenario may give (0 to 3, so |ε·ln r| ≤ 6.9).
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(13);
        for (lo, hi, bound) in [(0.05, 0.4, 3), (0.0, 3.0, 11)] {
            let mut worst = 0;
            for _ in 0..1_000_000 {
                let (r, eps) = (uniform(&mut rng, 0.1, 10.0), uniform(&mut rng, lo, hi));
                worst = worst.max(ulps(exp_core(eps * ln_core(r)), r.powf(eps)));
            }
            eprintln!("elasticity {lo} to {hi}: worst {worst} ulps");
            assert!(worst <= bound, "elasticity {lo} to {hi}: {worst} ulps");
        }
    }

    #[test]
    fn outside_the_normal_range_it_is_the_c_library() {
        let xs = [-745.2, -720.0, -708.5, 709.5, 710.0, 800.0];
        let mut got = [0.0; 6];
        exp_into(&xs, &mut got);
        for (x, g) in xs.iter().zip(got) {
            assert_eq!(g.to_bits(), x.exp().to_bits(), "{x}");
        }
        assert_eq!(got[5], f64::INFINITY);
    }
}
