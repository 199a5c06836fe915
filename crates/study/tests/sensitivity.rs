//! The tornado against answers known by hand.

use gigawatt_sim::MetricId;
use gigawatt_study::sensitivity::{tornado, TornadoRequest};
use gigawatt_study::Quiet;

/// Capacity 100 H100e, always fully used (demand is 1,000), nothing costs anything, no
/// discounting: NPV = 12 months × 100 × price. Price ~ U(1, 3), so p10 = 1.2 and p90 = 2.8 and
/// the swing is 1,200 × 1.6 = 1,920 on every path. A funding round's amount is uncertain too,
/// but financing is not in NPV: its swing is exactly 0.
const LINEAR: &str = r#"
format_version = 1
horizon = { start = "2026-01", end = "2026-12" }
discount_rate_per_year = 0.0
[[segments]]
name = "d"
start_units_per_month = 1000.0
h100e_months_per_unit = 1.0
price_usd_per_unit = { dist = "uniform", min = 1.0, max = 3.0, id = "price" }
growth = { process = "log" }
[[generations]]
name = "g"
h100e_per_unit = 1.0
kw_per_unit = 1.0
price_usd_per_unit = 0.0
[[fleet]]
generation = "g"
units = 100.0
[power]
availability_pu = 1.0
power_price_usd_per_mwh = 0.0
[finance]
[[finance.rounds]]
month = "2026-06"
amount_usd = { dist = "uniform", min = 1.0, max = 2.0, id = "round" }
"#;

#[test]
fn the_swing_of_a_linear_input_is_known_by_hand_and_an_irrelevant_one_is_zero() {
    let (sc, d) = gigawatt_io::read_str(LINEAR, "linear.toml");
    let sc = sc.unwrap_or_else(|| panic!("{d:?}"));
    let req = TornadoRequest {
        paths: 200,
        seed: 3,
        plan: None,
        metric: MetricId::Npv,
        low_high: (0.1, 0.9),
        others_at_median: false,
    };
    let r = tornado(&sc, &req, &Quiet).unwrap();
    assert_eq!(r.bars.len(), 2);
    let price = &r.bars[0];
    assert_eq!(price.input, "price");
    assert!((price.value_low - 1.2).abs() < 1e-12 && (price.value_high - 2.8).abs() < 1e-12);
    assert!((price.mean_low - 1440.0).abs() < 1e-6, "{}", price.mean_low);
    assert!(
        (price.mean_high - 3360.0).abs() < 1e-6,
        "{}",
        price.mean_high
    );
    assert!((price.swing - 1920.0).abs() < 1e-6, "{}", price.swing);
    assert!(
        price.swing_se < 1e-9,
        "the same swing on every path: {}",
        price.swing_se
    );
    let round = &r.bars[1];
    assert_eq!(round.input, "round");
    assert_eq!(round.swing, 0.0);
    // With every input random, NPV is 1,200 × price: its mean is near 1,200 × 2 = 2,400.
    assert!(
        (r.base_mean - 2400.0).abs() < 4.0 * r.base_se,
        "{} ± {}",
        r.base_mean,
        r.base_se
    );
    let text = gigawatt_study::sensitivity::text(&r);
    assert!(
        text.lines()
            .nth(4)
            .unwrap()
            .trim_start()
            .starts_with("price"),
        "{text}"
    );
}

#[test]
fn bad_requests_are_errors() {
    let (sc, _) = gigawatt_io::read_str(LINEAR, "linear.toml");
    let sc = sc.unwrap();
    let bad = TornadoRequest {
        paths: 10,
        seed: 1,
        plan: None,
        metric: MetricId::Npv,
        low_high: (0.9, 0.1),
        others_at_median: false,
    };
    assert!(tornado(&sc, &bad, &Quiet).is_err());
    let unknown_plan = TornadoRequest {
        plan: Some("nope".into()),
        low_high: (0.1, 0.9),
        ..bad
    };
    assert!(tornado(&sc, &unknown_plan, &Quiet)
        .unwrap_err()
        .to_string()
        .contains("nope"));
}

#[test]
fn the_break_even_of_a_linear_input_is_found_exactly() {
    // NPV = 1,200 × price on every path: an expected NPV of 3,000 needs price 2.5, the 75th
    // percentile of U(1, 3). No price in p1..p99 gives an NPV of 10,000.
    let (sc, _) = gigawatt_io::read_str(LINEAR, "linear.toml");
    let sc = sc.unwrap();
    let req = gigawatt_study::sensitivity::BreakEvenRequest {
        paths: 50,
        seed: 3,
        input: "price".into(),
        scale: false,
        range: None,
        plan: None,
        versus: None,
        metric: MetricId::Npv,
        target: 3000.0,
        tolerance_pu: 1e-3,
    };
    let r = gigawatt_study::sensitivity::break_even(&sc, &req, &Quiet).unwrap();
    let v = r.value.unwrap();
    assert!((v - 2.5).abs() < 1e-9, "{v}");
    assert!((r.percentile.unwrap() - 0.75).abs() < 1e-6);
    // No Monte Carlo error (NPV is the same on every path), so the interval is the point.
    let (ci_lo, ci_hi) = r.ci95.unwrap();
    assert!(
        (ci_lo - 2.5).abs() < 1e-9 && (ci_hi - 2.5).abs() < 1e-9,
        "{ci_lo} {ci_hi}"
    );
    assert!((r.range.0 - 1.02).abs() < 1e-12 && (r.range.1 - 2.98).abs() < 1e-12);
    let none = gigawatt_study::sensitivity::BreakEvenRequest {
        target: 10_000.0,
        ..req
    };
    let r = gigawatt_study::sensitivity::break_even(&sc, &none, &Quiet).unwrap();
    assert!(r.value.is_none());
    assert!(gigawatt_study::sensitivity::break_even_text(&r).starts_with("no break-even"));
}

#[test]
fn the_break_even_of_a_factor_on_a_whole_driver_is_found_exactly() {
    // NPV = 1,200 × k × price on every path, so the expected NPV is k × m where m is the mean
    // NPV of the unscaled run on the same paths: the target 3,000 is reached at k = 3,000 / m.
    // The driver is named three ways: a group, an input's id and its field path.
    let src = format!("{LINEAR}\n[[groups]]\nname = \"pricing\"\ninputs = [\"price\"]\n");
    let sc = gigawatt_io::read_str(&src, "scale.toml").0.unwrap();
    let plain = gigawatt_study::simulate(
        &sc,
        &gigawatt_study::SimulateRequest {
            baseline: false,
            ..gigawatt_study::SimulateRequest::new(40, 3)
        },
        &Quiet,
    )
    .unwrap();
    let m = plain.plans[0].metric(MetricId::Npv).mean;
    for driver in ["pricing", "price", "segments[0].price_usd_per_unit"] {
        let req = gigawatt_study::sensitivity::BreakEvenRequest {
            paths: 40,
            seed: 3,
            input: driver.into(),
            scale: true,
            range: None,
            plan: None,
            versus: None,
            metric: MetricId::Npv,
            target: 3000.0,
            tolerance_pu: 1e-4,
        };
        let r = gigawatt_study::sensitivity::break_even(&sc, &req, &Quiet).unwrap();
        let k = r.value.unwrap();
        assert!(
            (k - 3000.0 / m).abs() < 1e-9,
            "{driver}: {k} vs {}",
            3000.0 / m
        );
        assert_eq!(r.range, (0.5, 2.0));
        assert!(r.percentile.is_none());
        assert!(r.members.iter().any(|x| x == "price"), "{:?}", r.members);
        let (lo, hi) = r.ci95.unwrap();
        assert!(lo < k && k < hi, "{lo} {k} {hi}");
        let json = gigawatt_study::sensitivity::break_even_json(&r);
        assert_eq!(json["search"], "factor");
    }
    // A field-path prefix takes every input under it.
    let engine = gigawatt_sim::Engine::new(&sc, 1, 1, &[]).unwrap();
    let growth: Vec<String> = gigawatt_study::driver_inputs(&sc, &engine, "segments[0].growth")
        .unwrap()
        .into_iter()
        .map(|x| x.0)
        .collect();
    assert_eq!(
        growth,
        [
            "segments[0].growth.drift_per_year",
            "segments[0].growth.volatility_per_month"
        ]
    );
    // A factor range that cannot reach the target says so; a negative factor is refused.
    let req = gigawatt_study::sensitivity::BreakEvenRequest {
        paths: 40,
        seed: 3,
        input: "pricing".into(),
        scale: true,
        range: Some((0.1, 0.2)),
        plan: None,
        versus: None,
        metric: MetricId::Npv,
        target: 3000.0,
        tolerance_pu: 1e-3,
    };
    let r = gigawatt_study::sensitivity::break_even(&sc, &req, &Quiet).unwrap();
    assert!(r.value.is_none());
    let negative = gigawatt_study::sensitivity::BreakEvenRequest {
        range: Some((-1.0, 2.0)),
        ..req.clone()
    };
    assert!(gigawatt_study::sensitivity::break_even(&sc, &negative, &Quiet).is_err());
    let unknown = gigawatt_study::sensitivity::BreakEvenRequest {
        input: "nothing".into(),
        ..req
    };
    let e = gigawatt_study::sensitivity::break_even(&sc, &unknown, &Quiet).unwrap_err();
    assert!(e.to_string().contains("pricing"), "{e}");
}

#[test]
fn comparing_two_files_matches_paths_by_input_name() {
    // The same price input (same id) shifted by one: U(2, 4) draws u·2 + 2 where U(1, 3) drew
    // u·2 + 1 on the same path, so NPV = 1,200 × price differs by exactly 1,200 on every path.
    use gigawatt_study::compare::{compare, CompareRequest};
    let (a, _) = gigawatt_io::read_str(LINEAR, "a.toml");
    let shifted = LINEAR.replace("min = 1.0, max = 3.0", "min = 2.0, max = 4.0");
    let (b, _) = gigawatt_io::read_str(&shifted, "b.toml");
    let (a, b) = (a.unwrap(), b.unwrap());
    let req = CompareRequest {
        paths: 100,
        seed: 9,
        plan: None,
        paired: None,
    };
    let r = compare(&a, &b, &req, &Quiet).unwrap();
    assert!(r.paired && r.unmatched_streams.is_empty());
    assert_eq!(r.changed_inputs, vec!["price".to_string()]);
    let npv = r
        .metrics
        .iter()
        .find(|m| m.metric == MetricId::Npv)
        .unwrap();
    assert!((npv.difference - 1200.0).abs() < 1e-6, "{}", npv.difference);
    assert!(npv.se < 1e-9);
    // A file against itself differs in nothing.
    let r = compare(&a, &a, &req, &Quiet).unwrap();
    assert!(r.changed_inputs.is_empty());
    assert!(r.metrics.iter().all(|m| m.difference == 0.0));
}

#[test]
fn files_whose_inputs_differ_by_name_are_compared_unpaired_and_say_so() {
    // The second file renames the price input: its draws are keyed by another name, so a path
    // is not the same world in both. The comparison runs the second file on an independent
    // seed: the difference is that of the means (1,200 in expectation: 2,400 + 1,200 against
    // 2,400) with standard error √(se_a² + se_b²).
    use gigawatt_study::compare::{compare, CompareRequest};
    let (a, _) = gigawatt_io::read_str(LINEAR, "a.toml");
    let renamed = LINEAR
        .replace("min = 1.0, max = 3.0", "min = 2.0, max = 4.0")
        .replace("id = \"price\"", "id = \"unit_price\"");
    let (b, _) = gigawatt_io::read_str(&renamed, "b.toml");
    let (a, b) = (a.unwrap(), b.unwrap());
    let req = CompareRequest {
        paths: 400,
        seed: 9,
        plan: None,
        paired: None,
    };
    let r = compare(&a, &b, &req, &Quiet).unwrap();
    assert!(!r.paired);
    assert_ne!(r.seed_second, r.seed);
    assert_eq!(r.unmatched_streams, ["input price", "input unit_price"]);
    let npv = r
        .metrics
        .iter()
        .find(|m| m.metric == MetricId::Npv)
        .unwrap();
    assert!((npv.difference - (npv.b - npv.a)).abs() < 1e-9);
    // Each mean has standard error 1,200 · (2/√12)/√400 ≈ 34.6, so the difference's is ≈ 49.
    assert!((npv.se - 49.0).abs() < 8.0, "{}", npv.se);
    assert!(
        (npv.difference - 1200.0).abs() < 4.0 * npv.se,
        "{} ± {}",
        npv.difference,
        npv.se
    );
    let text = gigawatt_study::compare::text(&r);
    assert!(
        text.contains("UNPAIRED") && text.contains("input unit_price"),
        "{text}"
    );
    assert_eq!(gigawatt_study::compare::json(&r)["pairing"], "unpaired");
    // Forced pairing runs both on one seed.
    let forced = compare(
        &a,
        &b,
        &CompareRequest {
            paired: Some(true),
            ..req
        },
        &Quiet,
    )
    .unwrap();
    assert!(forced.paired && forced.seed_second == forced.seed);
}

#[test]
fn the_classic_tornado_puts_the_others_at_their_median_and_is_exact() {
    // Same linear case: with every other input at its median and no noise, NPV is
    // 12 × 100 × price exactly: 1,440 at p10, 3,360 at p90, 2,400 at the median; the round
    // does not move it.
    let (sc, _) = gigawatt_io::read_str(LINEAR, "linear.toml");
    let sc = sc.unwrap();
    let req = TornadoRequest {
        paths: 10,
        seed: 3,
        plan: None,
        metric: MetricId::Npv,
        low_high: (0.1, 0.9),
        others_at_median: true,
    };
    let r = tornado(&sc, &req, &Quiet).unwrap();
    assert!((r.base_mean - 2400.0).abs() < 1e-6, "{}", r.base_mean);
    assert_eq!(r.base_se, 0.0);
    let price = &r.bars[0];
    assert_eq!(price.input, "price");
    assert!((price.mean_low - 1440.0).abs() < 1e-6 && (price.mean_high - 3360.0).abs() < 1e-6);
    assert!((price.swing - 1920.0).abs() < 1e-6 && price.swing_se == 0.0);
    assert_eq!(r.bars[1].swing, 0.0);
    assert_eq!(
        gigawatt_study::sensitivity::json(&r)["method"],
        "others_at_median"
    );
}

#[test]
fn the_spider_of_a_linear_input_is_a_straight_line_known_by_hand() {
    // NPV = 1,200 × price with price ~ U(1, 3): at percentile u, 1,200 × (1 + 2u) on every path.
    let (sc, _) = gigawatt_io::read_str(LINEAR, "linear.toml");
    let sc = sc.unwrap();
    let req = gigawatt_study::spider::SpiderRequest {
        paths: 50,
        seed: 2,
        plan: None,
        metric: MetricId::Npv,
    };
    let r = gigawatt_study::spider::spider(&sc, &req, &Quiet).unwrap();
    let price = r.rows.iter().find(|row| row.input == "price").unwrap();
    for (u, (mean, se)) in gigawatt_study::spider::SPIDER_PERCENTILES
        .iter()
        .zip(&price.means)
    {
        let want = 1200.0 * (1.0 + 2.0 * u);
        assert!((mean - want).abs() < 1e-6, "p{u}: {mean} vs {want}");
        assert!(*se < 1e-6);
    }
    assert_eq!(r.rows[0].input, "price");
    let round = r.rows.iter().find(|row| row.input == "round").unwrap();
    assert_eq!(round.range, 0.0);
}

#[test]
fn a_group_gets_its_own_bar_with_its_inputs_moved_together() {
    // Price and round together: the round does not enter NPV, so the group's swing is the
    // price's, 1,920.
    let src = format!("{LINEAR}\n[[groups]]\nname = \"both\"\ninputs = [\"price\", \"round\"]\n");
    let sc = gigawatt_io::read_str(&src, "groups.toml").0.unwrap();
    let req = TornadoRequest {
        paths: 50,
        seed: 3,
        plan: None,
        metric: MetricId::Npv,
        low_high: (0.1, 0.9),
        others_at_median: false,
    };
    let r = tornado(&sc, &req, &Quiet).unwrap();
    assert_eq!(r.bars.len(), 3);
    let g = r.bars.iter().find(|b| b.input == "group both").unwrap();
    assert!((g.swing - 1920.0).abs() < 1e-6, "{}", g.swing);
}

#[test]
fn several_plans_share_one_tornado_with_swings_known_by_hand() {
    // Plan `lease` adds 100 H100e at $1 per H100e-month: NPV = 2,400 × price − 1,200, so its
    // price swing is 2,400 × 1.6 = 3,840 against 1,920 for `none`, on every path.
    let src = format!(
        "{LINEAR}\n[[options]]\nname = \"cloud\"\nkind = \"lease\"\nterm_months = 12\nprice_usd_per_h100e_month = 1.0\n\
         [[plans]]\nname = \"none\"\n[[plans]]\nname = \"lease\"\ncommitments = [{{ option = \"cloud\", month = \"2026-01\", h100e = 100.0 }}]\n"
    );
    let sc = gigawatt_io::read_str(&src, "two.toml").0.unwrap();
    for others_at_median in [false, true] {
        let req = TornadoRequest {
            paths: 60,
            seed: 3,
            plan: None,
            metric: MetricId::Npv,
            low_high: (0.1, 0.9),
            others_at_median,
        };
        let plans = ["none".to_string(), "lease".to_string()];
        let r = gigawatt_study::sensitivity::tornadoes(&sc, &req, &plans, &Quiet).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].plan.as_str(), r[1].plan.as_str()), ("none", "lease"));
        let swing = |k: usize| r[k].bars.iter().find(|b| b.input == "price").unwrap().swing;
        assert!((swing(0) - 1920.0).abs() < 1e-6, "{}", swing(0));
        assert!((swing(1) - 3840.0).abs() < 1e-6, "{}", swing(1));
        // Alone, each plan's tornado is the same as in the set.
        let alone = tornado(
            &sc,
            &TornadoRequest {
                plan: Some("lease".into()),
                ..req.clone()
            },
            &Quiet,
        )
        .unwrap();
        assert_eq!(alone, r[1]);
        let json = gigawatt_study::sensitivity::json_all(&r);
        assert_eq!(json["format"], "gigawatt-tornado-set");
        assert_eq!(json["reports"][1]["plan"], "lease");
        let csv = gigawatt_study::sensitivity::csv_all(&r);
        assert!(csv.starts_with("plan,input,"));
        assert_eq!(csv.lines().count(), 1 + 2 * 2);
        assert!(gigawatt_study::sensitivity::text_all(&r).contains("swing of npv_usd"));
    }
    let twice = TornadoRequest {
        paths: 10,
        seed: 1,
        plan: None,
        metric: MetricId::Npv,
        low_high: (0.1, 0.9),
        others_at_median: false,
    };
    let dup = ["none".to_string(), "none".to_string()];
    assert!(gigawatt_study::sensitivity::tornadoes(&sc, &twice, &dup, &Quiet).is_err());
}

#[test]
fn a_group_gets_a_spider_row_with_its_inputs_at_the_same_percentile() {
    // Price and round together: only the price moves NPV, so the group's row is the price's,
    // 1,200 × (1 + 2u) at percentile u.
    let src = format!("{LINEAR}\n[[groups]]\nname = \"both\"\ninputs = [\"price\", \"round\"]\n");
    let sc = gigawatt_io::read_str(&src, "groups.toml").0.unwrap();
    let req = gigawatt_study::spider::SpiderRequest {
        paths: 30,
        seed: 2,
        plan: None,
        metric: MetricId::Npv,
    };
    let r = gigawatt_study::spider::spider(&sc, &req, &Quiet).unwrap();
    assert_eq!(r.rows.len(), 3);
    let g = r.rows.iter().find(|row| row.input == "group both").unwrap();
    for (u, (mean, _)) in gigawatt_study::spider::SPIDER_PERCENTILES
        .iter()
        .zip(&g.means)
    {
        let want = 1200.0 * (1.0 + 2.0 * u);
        assert!((mean - want).abs() < 1e-6, "p{u}: {mean} vs {want}");
    }
    // Its values are its first input's, the price's.
    assert!((g.values[0] - 1.1).abs() < 1e-12, "{:?}", g.values);
}
