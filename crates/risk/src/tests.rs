use super::*;
use proptest::prelude::*;

#[test]
fn cvar_of_a_five_point_distribution_by_hand() {
    // Losses 10, 20, 30, 40, 100 with probabilities 0.1, 0.2, 0.3, 0.3, 0.1.
    let x = [10.0, 20.0, 30.0, 40.0, 100.0];
    let p = [0.1, 0.2, 0.3, 0.3, 0.1];
    // CVaR_0.9 of losses: worst 10 % is exactly the 100.
    assert!((cvar_upper(&x, &p, 0.9) - 100.0).abs() < 1e-12);
    // CVaR_0.8: worst 20 % = 0.1 at 100 + 0.1 at 40 -> 70.
    assert!((cvar_upper(&x, &p, 0.8) - 70.0).abs() < 1e-12);
    // CVaR_0.5: 0.1*100 + 0.3*40 + 0.1*30 = 25 over 0.5 -> 50.
    assert!((cvar_upper(&x, &p, 0.5) - 50.0).abs() < 1e-12);
    // alpha -> 0 gives the mean: 1 + 4 + 9 + 12 + 10 = 36.
    assert!((cvar_upper(&x, &p, 0.0) - 36.0).abs() < 1e-12);
    assert!((mean(&x, &p) - 36.0).abs() < 1e-12);
    // Low tail: worst 30 % from below = 0.1*10 + 0.2*20 = 5 over 0.3.
    assert!((cvar_lower(&x, &p, 0.7) - 5.0 / 0.3).abs() < 1e-12);
}

#[test]
fn quantiles_of_a_discrete_sample_by_hand() {
    let x = [10.0, 20.0, 30.0, 40.0, 100.0];
    let p = [0.1, 0.2, 0.3, 0.3, 0.1];
    assert_eq!(quantile(&x, &p, 0.05), 10.0);
    assert_eq!(quantile(&x, &p, 0.1), 10.0);
    assert_eq!(quantile(&x, &p, 0.3), 20.0);
    assert_eq!(quantile(&x, &p, 0.5), 30.0);
    assert_eq!(quantile(&x, &p, 0.95), 100.0);
}

#[test]
fn moments_merge_matches_direct_computation() {
    let xs: Vec<f64> = (0..100).map(|i| (i as f64 * 0.37).sin() * 10.0).collect();
    let mut all = Moments::default();
    xs.iter().for_each(|x| all.push(*x));
    let mut a = Moments::default();
    let mut b = Moments::default();
    xs[..37].iter().for_each(|x| a.push(*x));
    xs[37..].iter().for_each(|x| b.push(*x));
    a.merge(&b);
    let m = xs.iter().sum::<f64>() / 100.0;
    let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 99.0;
    assert!((a.mean() - m).abs() < 1e-12);
    assert!((a.sd() - var.sqrt()).abs() < 1e-10);
    assert!((a.se() - (var / 100.0).sqrt()).abs() < 1e-10);
    assert!((all.sd() - a.sd()).abs() < 1e-10);
}

#[test]
fn tail_cvar_matches_exact_cvar() {
    let xs: Vec<f64> = (0..1000)
        .map(|i| ((i * 7919) % 1000) as f64 - 300.0)
        .collect();
    let w = vec![1.0; xs.len()];
    let mut t = Tail::new(tail_size(1000, 0.95));
    for (i, x) in xs.iter().enumerate() {
        t.push(*x, i as u64);
    }
    let exact = cvar_lower(&xs, &w, 0.95);
    assert!((t.cvar(1000, 0.95) - exact).abs() < 1e-9);
    // Values are a permutation of -300..700; lowest 50 average -275.5.
    assert!((exact - (-275.5)).abs() < 1e-12);
}

proptest! {
    #[test]
    fn sketch_quantiles_are_within_relative_accuracy(xs in prop::collection::vec(-1e6f64..1e6, 1..400), q in 0.0f64..1.0) {
        let mut s = Sketch::default();
        xs.iter().for_each(|x| s.push(*x));
        let mut sorted = xs.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = (q * (sorted.len() - 1) as f64).round() as usize;
        let exact = sorted[rank];
        let got = s.quantile(q);
        prop_assert!((got - exact).abs() <= SKETCH_RELATIVE_ACCURACY * exact.abs() + 1e-9 + 1e-12, "{got} vs {exact}");
    }

    #[test]
    fn sketch_merge_is_order_independent(xs in prop::collection::vec(-1e3f64..1e3, 0..200), cut in 0usize..200) {
        let cut = cut.min(xs.len());
        let (mut a, mut b, mut all) = (Sketch::default(), Sketch::default(), Sketch::default());
        xs[..cut].iter().for_each(|x| a.push(*x));
        xs[cut..].iter().for_each(|x| b.push(*x));
        xs.iter().for_each(|x| all.push(*x));
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        prop_assert_eq!(&ab, &ba);
        prop_assert_eq!(&ab, &all);
    }

    #[test]
    fn tail_merge_keeps_the_k_lowest_in_any_order(xs in prop::collection::vec(-1e3f64..1e3, 0..300), cut in 0usize..300, k in 1usize..40) {
        let cut = cut.min(xs.len());
        let (mut a, mut b, mut all) = (Tail::new(k), Tail::new(k), Tail::new(k));
        for (i, x) in xs.iter().enumerate() {
            if i < cut { a.push(*x, i as u64) } else { b.push(*x, i as u64) }
            all.push(*x, i as u64);
        }
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        all.compact();
        prop_assert_eq!(&ab, &ba);
        prop_assert_eq!(&ab, &all);
    }

    #[test]
    fn cvar_of_losses_is_at_least_the_mean_and_var_is_monotone(xs in prop::collection::vec(-1e3f64..1e3, 1..100), a1 in 0.0f64..0.99, a2 in 0.0f64..0.99) {
        let w = vec![1.0; xs.len()];
        let m = mean(&xs, &w);
        prop_assert!(cvar_upper(&xs, &w, a1) >= m - 1e-9);
        let (lo, hi) = if a1 < a2 { (a1, a2) } else { (a2, a1) };
        prop_assert!(quantile(&xs, &w, lo) <= quantile(&xs, &w, hi));
        prop_assert!(cvar_upper(&xs, &w, lo) <= cvar_upper(&xs, &w, hi) + 1e-9);
    }
}
