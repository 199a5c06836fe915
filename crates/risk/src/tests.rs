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
        let rank = quantile_rank(sorted.len() as u64, q) as usize;
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

#[test]
fn exact_quantiles_match_the_weighted_definition() {
    let xs: Vec<f64> = (0..101).map(|i| ((i * 37) % 101) as f64).collect();
    let w = vec![1.0; xs.len()];
    let mut q = Quantiles::new(1000);
    xs.iter().for_each(|x| q.push(*x));
    assert!(q.is_exact());
    for p in [0.0, 0.05, 0.1, 0.5, 0.9, 0.95, 1.0] {
        assert_eq!(q.quantile(p), quantile(&xs, &w, p), "q = {p}");
    }
    // 0..=100: the 10 % quantile is the smallest value with 10.1 of 101 at or below it: 10.
    assert_eq!(q.quantile(0.1), 10.0);
    assert_eq!(q.quantile(0.5), 50.0);
}

#[test]
fn r8_one_value_has_that_value_as_every_quantile() {
    // A constant 3,800 (and a single path) must print as itself, exact or sketched.
    for cap in [0, 10, 1_000_000] {
        let mut q = Quantiles::new(cap);
        for _ in 0..5000 {
            q.push(3800.0);
        }
        for p in [0.05, 0.1, 0.5, 0.9, 0.95] {
            assert_eq!(q.quantile(p), 3800.0, "cap {cap}, q {p}");
        }
        assert_eq!(q.tail_mean(0.95, true), 3800.0);
    }
    let mut one = Quantiles::new(0);
    one.push(-195.2);
    assert_eq!(one.quantile(0.5), -195.2);
}

#[test]
fn sketched_quantiles_stay_within_the_observed_range() {
    // Everything in (99.9, 100.0]: the sketch's bucket midpoint may lie outside, the answer not.
    let mut q = Quantiles::new(0);
    for i in 0..1000 {
        q.push(100.0 - i as f64 * 1e-4);
    }
    assert!(!q.is_exact());
    for p in [0.0, 0.05, 0.5, 0.95, 1.0] {
        let v = q.quantile(p);
        assert!((q.min()..=q.max()).contains(&v), "{v}");
    }
    assert_eq!(q.relative_error(), SKETCH_RELATIVE_ACCURACY);
}

#[test]
fn tail_merged_from_many_blocks_is_the_k_lowest() {
    // 200 blocks of 97 values merged one by one keep exactly the 500 lowest (values are a
    // permutation of 0..19400, so the lowest 500 are 0..500 and their mean is 249.5).
    let n = 200 * 97;
    let k = 500;
    let mut total = Tail::new(k);
    for b in 0..200u64 {
        let mut t = Tail::new(k);
        for i in 0..97u64 {
            let id = b * 97 + i;
            t.push(((id * 7919) % n) as f64, id);
        }
        t.compact();
        total.merge(&t);
    }
    let mean = total.cvar(k as u64 * 20, 0.95);
    assert!((mean - 249.5).abs() < 1e-12, "{mean}");
}

#[test]
fn sketch_cvar_is_within_the_relative_accuracy() {
    let xs: Vec<f64> = (1..=10_000).map(|i| i as f64).collect();
    let mut q = Quantiles::new(0);
    xs.iter().for_each(|x| q.push(*x));
    // Lowest 5 %: 1..=500, mean 250.5; highest 5 %: 9501..=10000, mean 9750.5.
    let lo = q.tail_mean(0.95, true);
    let hi = q.tail_mean(0.95, false);
    assert!(
        (lo - 250.5).abs() <= SKETCH_RELATIVE_ACCURACY * 250.5,
        "{lo}"
    );
    assert!(
        (hi - 9750.5).abs() <= SKETCH_RELATIVE_ACCURACY * 9750.5,
        "{hi}"
    );
}

proptest! {
    #[test]
    fn quantiles_merge_in_any_split_gives_the_same_answer(xs in prop::collection::vec(-1e3f64..1e3, 1..300), cut in 0usize..300, cap in 0usize..400, q in 0.0f64..1.0) {
        let cut = cut.min(xs.len());
        let (mut a, mut b, mut all) = (Quantiles::new(cap), Quantiles::new(cap), Quantiles::new(cap));
        xs[..cut].iter().for_each(|x| a.push(*x));
        xs[cut..].iter().for_each(|x| b.push(*x));
        xs.iter().for_each(|x| all.push(*x));
        a.merge(&b);
        prop_assert_eq!(a.quantile(q), all.quantile(q));
        let v = a.quantile(q);
        prop_assert!(v >= a.min() && v <= a.max());
    }
}

proptest! {
    #[test]
    fn quantiles_by_selection_equal_quantiles_by_sorting(
        xs in proptest::collection::vec(-1e6f64..1e6, 1..400),
        dup in 0usize..5,
    ) {
        // Ties too: repeat some values.
        let mut v = xs.clone();
        for k in 0..dup.min(xs.len()) {
            v.push(xs[k]);
        }
        let qs = [0.05, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 0.95, 0.0, 1.0];
        // Kept exactly (cap 1,000) and sketched (cap 0): all at once as one by one.
        for cap in [1000, 0] {
            let mut a = Quantiles::new(cap);
            a.extend(&v);
            let mut b = a.clone();
            let got = a.quantiles(&qs);
            let want: Vec<f64> = qs.iter().map(|q| b.quantile(*q)).collect();
            prop_assert_eq!(got, want);
        }
    }
}

proptest! {
    #[test]
    fn a_sketch_fed_in_one_batch_equals_one_fed_value_by_value(
        xs in proptest::collection::vec(prop_oneof![-1e12f64..1e12, Just(0.0), -1e-12f64..1e-12], 0..300),
        split in 0usize..300,
    ) {
        let mut one = Sketch::default();
        for x in &xs {
            one.push(*x);
        }
        // In two batches, the second reaching outside the first's range.
        let k = split.min(xs.len());
        let mut batch = Sketch::default();
        batch.push_all(&xs[..k]);
        batch.push_all(&xs[k..]);
        prop_assert_eq!(one.count(), batch.count());
        for q in [0.0, 0.1, 0.5, 0.9, 1.0] {
            prop_assert_eq!(one.quantile(q).to_bits(), batch.quantile(q).to_bits());
        }
        prop_assert!(one == batch);
    }
}

proptest! {
    #[test]
    fn extend_mean_gives_what_extend_and_the_sum_give(
        xs in proptest::collection::vec(prop_oneof![-1e12f64..1e12, Just(0.0), Just(-0.0)], 0..200),
        cap in prop_oneof![Just(0usize), Just(1000usize)],
    ) {
        // Exact (cap 1,000) and sketched (cap 0) cells: the same quantiles as `extend`, and the
        // sum `Moments::from_slice` gives (the old monthly mean), to the bit.
        let mut plain = Quantiles::new(cap);
        plain.extend(&xs);
        let mut fused = Quantiles::new(cap);
        let m = fused.extend_mean(&xs);
        let sum = Moments::from_slice(&xs).sum;
        prop_assert_eq!(m.n, xs.len() as u64);
        prop_assert_eq!(m.sum.to_bits(), sum.to_bits());
        let qs = [0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1.0];
        let (a, b) = (plain.quantiles(&qs), fused.quantiles(&qs));
        prop_assert_eq!(
            a.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            b.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        let mut one = Mean::default();
        one.merge(&m);
        prop_assert_eq!(one.mean().to_bits(), Moments::from_slice(&xs).mean().to_bits());
    }
}

/// A xorshift generator from `seed`: the tests' own values, cheap and reproducible.
fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

proptest! {
    #[test]
    fn columns_in_tiles_give_what_each_column_alone_gives(
        width in 1usize..20,
        rows in 0usize..90,
        lanes in prop_oneof![Just(1usize), Just(3usize), Just(8usize)],
        seed in any::<u64>(),
        cap in prop_oneof![Just(0usize), Just(50usize), Just(1000usize)],
        earlier in 0usize..30,
        split in 0usize..90,
    ) {
        // Rows of `width` values (some columns of one sign, some mixed, zeros and magnitudes
        // that count as zero among them), after `earlier` values already in each cell
        // (sketched, exact, or spilling over a cap of 50), fed in two blocks (the first
        // `split` rows, then the rest), each laid out in groups of `lanes` rows (the last
        // group part full, its unused places NaN, which must not be read; up to twelve
        // groups, so the counters fetched four stretches ahead are in the same tile): every
        // cell's quantiles, least, greatest, count and mean are the bits that `extend_mean`
        // on its whole column gives.
        let mut next = xorshift(seed);
        let mut value = |c: usize| {
            let r = next();
            if r.is_multiple_of(11) {
                // Zeros of both signs: which one a column's least or greatest keeps is the
                // one the values in order give.
                return if r.is_multiple_of(2) { 0.0 } else { -0.0 };
            }
            let x = match r % 13 {
                // Below the sketch's least magnitude (counted as zero), and at it.
                0 => 1e-10,
                1 => 1e-9,
                // Repeats, and magnitudes far apart, so stores grow on both sides.
                2 => 42.5,
                3 => (r >> 40) as f64 * 1e-6,
                _ => (r >> 11) as f64 * 2f64.powi(-53) * 1e9,
            };
            // Positive in a third of the columns, negative in a third, mixed in the rest.
            match (c % 3, r % 2) {
                (0, _) | (2, 0) => x,
                _ => -x,
            }
        };
        let start: Vec<f64> = (0..earlier).map(&mut value).collect();
        let data: Vec<f64> = (0..rows * width).map(|i| value(i % width)).collect();
        let mut tiled: Vec<Quantiles> = (0..width).map(|_| Quantiles::new(cap)).collect();
        let mut alone = tiled.clone();
        for (a, b) in tiled.iter_mut().zip(alone.iter_mut()) {
            a.extend(&start);
            b.extend(&start);
        }
        let split = split.min(rows);
        let mut means = vec![Mean::default(); width];
        for part in [&data[..split * width], &data[split * width..]] {
            let n = part.len() / width;
            let mut grouped = vec![f64::NAN; n.div_ceil(lanes) * width * lanes];
            for (i, row) in part.chunks_exact(width).enumerate() {
                for (c, &v) in row.iter().enumerate() {
                    grouped[((i / lanes) * width + c) * lanes + i % lanes] = v;
                }
            }
            Quantiles::extend_columns_mean(&mut tiled, &grouped, (n, lanes), &mut means);
        }
        let qs = [0.0, 0.05, 0.5, 0.95, 1.0];
        for c in 0..width {
            let col: Vec<f64> = data.iter().skip(c).step_by(width).copied().collect();
            let m = alone[c].extend_mean(&col);
            prop_assert_eq!(means[c].n, m.n);
            prop_assert_eq!(means[c].sum.to_bits(), m.sum.to_bits());
            prop_assert_eq!(tiled[c].min().to_bits(), alone[c].min().to_bits());
            prop_assert_eq!(tiled[c].max().to_bits(), alone[c].max().to_bits());
            prop_assert_eq!(tiled[c].is_exact(), alone[c].is_exact());
            let (a, b) = (tiled[c].quantiles(&qs), alone[c].quantiles(&qs));
            prop_assert_eq!(
                a.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                b.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            );
            prop_assert!(tiled[c] == alone[c]);
        }
    }
}

proptest! {
    #[test]
    fn sort_total_gives_the_standard_sort_bit_for_bit(
        n in prop_oneof![0usize..50, 4000usize..6000],
        seed in any::<u64>(),
        spread in 0u32..4,
    ) {
        // Values of both signs and every scale (zeros of both signs, infinities, subnormals,
        // repeats, and runs that share their high digits), above and below the radix sort's
        // threshold.
        let mut next = xorshift(seed);
        let xs: Vec<f64> = (0..n)
            .map(|_| {
                let r = next();
                match (r % 16, spread) {
                    (0, _) => 0.0,
                    (1, _) => -0.0,
                    (2, 0) => f64::INFINITY,
                    (3, 0) => f64::NEG_INFINITY,
                    (4, 0) => f64::from_bits(r >> 20),
                    (5, _) => 42.5,
                    (_, 0) => f64::from_bits(r) % 1e300,
                    (_, 1) => (r >> 11) as f64 * 1e-3 - 4e12,
                    (_, 2) => 1.0 + (r >> 40) as f64 * 2f64.powi(-24),
                    _ => -((r >> 11) as f64),
                }
            })
            .filter(|x: &f64| !x.is_nan())
            .collect();
        let mut want = xs.clone();
        want.sort_unstable_by(f64::total_cmp);
        let mut got = xs;
        sort_total(&mut got);
        prop_assert_eq!(
            got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            want.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_square_turns_columns_into_rows() {
    // Column c, row r holds 10c + r: row r of the result is r, 10 + r, …, 70 + r.
    let sq: [f64; 64] = std::array::from_fn(|i| (10 * (i / 8) + i % 8) as f64);
    let rows = crate::transpose_square(&sq);
    for (r, row) in rows.iter().enumerate() {
        let want: [f64; 8] = std::array::from_fn(|c| (10 * c + r) as f64);
        assert_eq!(row, &want, "row {r}");
    }
}

#[test]
fn a_bucket_counts_past_sixteen_bits() {
    // 200,000 values, 150,000 of them 3.0 and 40,000 of them -7.0 (one bucket each, whose
    // 16-bit counts would wrap without being moved to the totals), and 10,000 spread values,
    // interleaved: pushed one by one, in one batch, and as a column of a block of 200,000
    // rows (which goes in parts), the sketches hold the same counts, the two big buckets
    // exactly theirs; merged, the counts add.
    let n = 200_000;
    let value = |i: usize| match i % 20 {
        0..=14 => 3.0,
        15..=18 => -7.0,
        _ => 10.0 + (i % 977) as f64,
    };
    let xs: Vec<f64> = (0..n).map(value).collect();
    let mut one = Sketch::default();
    for &x in &xs {
        one.push(x);
    }
    let mut batch = Sketch::default();
    batch.push_all(&xs);
    assert_eq!(batch, one);
    let count = |s: &Sketch, x: f64| {
        let store = if x > 0.0 { &s.pos } else { &s.neg };
        let k = sketch_key(x.abs());
        store.iter().find(|b| b.0 == k).map_or(0, |b| b.1)
    };
    assert_eq!(count(&one, 3.0), 150_000);
    assert_eq!(count(&one, -7.0), 40_000);
    assert_eq!(one.count(), n as u64);
    assert_eq!(one.quantile(0.1), -Sketch::value(sketch_key(7.0)));
    assert_eq!(one.quantile(0.5), Sketch::value(sketch_key(3.0)));

    // Two columns (the values, then 5.0 throughout) in groups of eight rows.
    let (width, lanes) = (2, 8);
    let mut block = vec![0.0; n * width];
    for (i, &x) in xs.iter().enumerate() {
        block[((i / lanes) * width) * lanes + i % lanes] = x;
        block[((i / lanes) * width + 1) * lanes + i % lanes] = 5.0;
    }
    let mut qs = vec![Quantiles::new(0); width];
    let mut means = vec![Mean::default(); width];
    Quantiles::extend_columns_mean(&mut qs, &block, (n, lanes), &mut means);
    assert_eq!(qs[0].sketch, one);
    assert_eq!(count(&qs[1].sketch, 5.0), n as u64);
    let sum = xs.iter().sum::<f64>();
    assert_eq!(means[0].sum.to_bits(), sum.to_bits());
    assert_eq!(means[0].n, n as u64);

    // With totals kept, the stores still grow on both sides, the totals with them.
    let far = [0.5, 1e9, -1e-3, -1e9];
    for x in far {
        one.push(x);
        batch.push(x);
    }
    for x in far {
        assert_eq!(count(&one, x), 1, "{x}");
    }
    assert_eq!(count(&one, 3.0), 150_000);
    assert_eq!(count(&one, -7.0), 40_000);

    one.merge(&batch);
    assert_eq!(count(&one, 3.0), 300_000);
    assert_eq!(count(&one, -7.0), 80_000);
    assert_eq!(count(&one, -1e9), 2);
    assert_eq!(one.count(), 2 * n as u64 + 8);
}

#[test]
fn merged_sketches_add_in_sixteen_bits_only_while_no_count_passes_them() {
    // Sketches of 30,000 values of 3.0 (one bucket) and a few others merge into the 16-bit
    // counts (30,000 + 30,000 fits), the totals staying empty; what is counted next must then
    // move those counts to the totals first: 10,000 more values of 3.0 make the bucket
    // 70,000, which 16 bits cannot hold. Merging 40,000 into 40,000 goes to the totals at
    // once. Every way gives the counts of pushing all the values into one sketch.
    let sketch = |threes: usize, others: &[f64]| {
        let mut s = Sketch::default();
        s.push_all(&vec![3.0; threes]);
        s.push_all(others);
        s
    };
    let count = |s: &Sketch, x: f64| {
        let store = if x > 0.0 { &s.pos } else { &s.neg };
        let k = sketch_key(x.abs());
        store.iter().find(|b| b.0 == k).map_or(0, |b| b.1)
    };
    let mut a = sketch(30_000, &[1.0, -2.0]);
    let b = sketch(30_000, &[1e6, -2.0, 0.0]);
    a.merge(&b);
    assert!(a.pos.totals.is_empty() && a.neg.totals.is_empty());
    assert_eq!(count(&a, 3.0), 60_000);
    a.push_all(&vec![3.0; 10_000]);
    assert_eq!(count(&a, 3.0), 70_000);
    let mut one = sketch(70_000, &[1.0, -2.0, 1e6, -2.0, 0.0]);
    assert_eq!(a, one);
    assert_eq!(a.quantile(0.5), Sketch::value(sketch_key(3.0)));

    let mut c = sketch(40_000, &[]);
    c.merge(&sketch(40_000, &[-5.0]));
    assert!(!c.pos.totals.is_empty());
    assert_eq!(count(&c, 3.0), 80_000);
    assert_eq!(count(&c, -5.0), 1);
    one.merge(&c);
    assert_eq!(count(&one, 3.0), 150_000);
    assert_eq!(one.count(), 150_006);

    // A stream given away is taken whole by an empty one, and merged otherwise.
    let sketched = |xs: &[f64]| {
        let mut q = Quantiles::new(0);
        q.extend(xs);
        q
    };
    let xs = [3.0, -1.0, 250.0, 0.0];
    let mut empty = Quantiles::new(0);
    empty.absorb(sketched(&xs));
    assert_eq!(empty, sketched(&xs));
    empty.absorb(sketched(&xs));
    let mut twice = sketched(&xs);
    twice.merge(&sketched(&xs));
    assert_eq!(empty, twice);
    assert_eq!(empty.n, 8);
}
