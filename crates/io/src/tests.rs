//! Reader, writer and schema tests: every validation rule asserts its message and location.

use super::*;

/// A small valid scenario; tests splice problems into it.
const BASE: &str = r#"format_version = 1
name = "base"
horizon = { start = "2026-01", end = "2027-12" }

[[segments]]
name = "chat"
start_units_per_month = 100.0
h100e_months_per_unit = 1.0
price_usd_per_unit = 2.0
growth = { process = "log", drift_per_year = { dist = "normal", mean = 0.5, sd = 0.1, id = "drift" } }

[[generations]]
name = "h100"
h100e_per_unit = 1.0
kw_per_unit = 1.0
price_usd_per_unit = 25000.0

[[options]]
name = "cloud"
kind = "lease"
lead_time_months = 3
price_usd_per_h100e_month = 1500.0

[[plans]]
name = "p"
commitments = [{ option = "cloud", month = "2026-03", h100e = 100.0 }]
"#;

fn diags(src: &str) -> Vec<Located> {
    read_str(src, "t.toml").1
}

/// Asserts exactly one error whose path, message fragment and line match.
fn one_error(src: &str, path: &str, msg: &str, line: usize) {
    let d = diags(src);
    let errs: Vec<_> = d.iter().filter(|d| d.is_error()).collect();
    assert_eq!(
        errs.len(),
        1,
        "expected one error, got:\n{}",
        d.iter().map(|d| d.render()).collect::<String>()
    );
    let e = errs[0];
    assert_eq!(e.diag.path, path, "{}", e.render());
    assert!(
        e.diag.message.contains(msg),
        "message `{}` lacks `{msg}`",
        e.diag.message
    );
    assert_eq!(e.line, line, "{}", e.render());
    assert!(line == 0 || e.column > 0);
}

fn with(replace: &str, by: &str) -> String {
    assert!(BASE.contains(replace), "{replace}");
    BASE.replacen(replace, by, 1)
}

#[test]
fn base_is_valid() {
    let (sc, d) = read_str(BASE, "t.toml");
    assert!(d.is_empty(), "{d:?}");
    let sc = sc.unwrap();
    assert_eq!(
        sc.segments[0].growth,
        gigawatt_model::Growth::Log {
            drift_per_year: gigawatt_model::Uncertain {
                dist: gigawatt_model::Dist::Normal { mean: 0.5, sd: 0.1 },
                id: Some("drift".into())
            },
            volatility_per_month: 0.0.into(),
        }
    );
}

#[test]
fn syntax_error_is_located() {
    one_error(
        &with("[[options]]", "[[options]"),
        "",
        "TOML syntax error",
        18,
    );
}

#[test]
fn unknown_field_suggests_the_closest() {
    let src = with(
        "price_usd_per_h100e_month = 1500.0",
        "price_usd_per_h100e_mnth = 1500.0",
    );
    one_error(
        &src,
        "options[0].price_usd_per_h100e_mnth",
        "unknown field",
        22,
    );
    let d = diags(&src);
    assert_eq!(
        d[0].diag.hint.as_deref(),
        Some("did you mean `price_usd_per_h100e_month`?")
    );
    assert_eq!(d[0].column, 1);
}

#[test]
fn wrong_type_is_reported() {
    one_error(
        &with("lead_time_months = 3", "lead_time_months = \"three\""),
        "options[0].lead_time_months",
        "expected a number or a distribution, found a string",
        21,
    );
    one_error(
        &with("kw_per_unit = 1.0", "kw_per_unit = true"),
        "generations[0].kw_per_unit",
        "expected a number, found a boolean",
        15,
    );
}

#[test]
fn nan_and_infinity_are_rejected() {
    one_error(
        &with("kw_per_unit = 1.0", "kw_per_unit = nan"),
        "generations[0].kw_per_unit",
        "not a finite number",
        15,
    );
    one_error(
        &with(
            "start_units_per_month = 100.0",
            "start_units_per_month = inf",
        ),
        "segments[0].start_units_per_month",
        "not a finite number",
        7,
    );
}

#[test]
fn non_positive_sizes_prices_and_lead_times_are_rejected() {
    one_error(
        &with("kw_per_unit = 1.0", "kw_per_unit = 0.0"),
        "generations[0].kw_per_unit",
        "greater than zero",
        15,
    );
    one_error(
        &with("lead_time_months = 3", "lead_time_months = -3"),
        "options[0].lead_time_months",
        "must not be negative",
        21,
    );
    one_error(
        &with("price_usd_per_unit = 25000.0", "price_usd_per_unit = -1.0"),
        "generations[0].price_usd_per_unit",
        "must not be negative",
        16,
    );
    one_error(
        &with("h100e = 100.0", "h100e = -100.0"),
        "plans[0].commitments[0].h100e",
        "greater than zero",
        26,
    );
}

#[test]
fn impossible_distribution_parameters_are_rejected() {
    one_error(
        &with(
            "lead_time_months = 3",
            "lead_time_months = { dist = \"lognormal\", p10 = 9, p90 = 3 }",
        ),
        "options[0].lead_time_months.p10",
        "above p90",
        21,
    );
    one_error(
        &with(
            "lead_time_months = 3",
            "lead_time_months = { dist = \"triangular\", min = 5, mode = 2, max = 9 }",
        ),
        "options[0].lead_time_months.mode",
        "min <= mode <= max",
        21,
    );
    one_error(
        &with(
            "lead_time_months = 3",
            "lead_time_months = { dist = \"normal\", mean = 3, sd = 1 }",
        ),
        "options[0].lead_time_months",
        "the normal can give",
        21,
    );
    let d = diags(&with(
        "lead_time_months = 3",
        "lead_time_months = { dist = \"normal\", p10 = 3, p90 = 1 }",
    ));
    let msgs: Vec<(&str, &str)> = d
        .iter()
        .map(|d| (d.diag.path.as_str(), d.diag.message.as_str()))
        .collect();
    assert_eq!(
        msgs,
        [
            (
                "options[0].lead_time_months.p10",
                "`p10` does not apply to a normal distribution"
            ),
            (
                "options[0].lead_time_months.p90",
                "`p90` does not apply to a normal distribution"
            ),
            (
                "options[0].lead_time_months.mean",
                "missing required field `mean`"
            ),
            (
                "options[0].lead_time_months.sd",
                "missing required field `sd`"
            ),
        ]
    );
    one_error(
        &with(
            "lead_time_months = 3",
            "lead_time_months = { dist = \"gamma\", mean = 3 }",
        ),
        "options[0].lead_time_months.dist",
        "not one of",
        21,
    );
}

#[test]
fn bounded_metalogs_and_truncated_normals_make_positive_inputs_elicitable() {
    // A p10/p50/p90 of ±15 % around a positive price: the unbounded metalog can go below zero,
    // so a price rejects it; with `min = 0` (the log metalog) it is accepted and round-trips.
    let unbounded = "price_usd_per_unit = { dist = \"metalog\", probs = [0.1, 0.5, 0.9], values = [1.7, 2.0, 2.3] }";
    one_error(
        &with("price_usd_per_unit = 2.0", unbounded),
        "segments[0].price_usd_per_unit",
        "must not be negative, but the metalog can give",
        9,
    );
    let semi = unbounded.replace(" }", ", min = 0 }");
    let (sc, d) = read_str(&with("price_usd_per_unit = 2.0", &semi), "t.toml");
    assert!(d.is_empty(), "{d:?}");
    let sc = sc.unwrap();
    let price = &sc.segments[0].price_usd_per_unit.dist;
    assert!((price.quantile(0.5) - 2.0).abs() < 1e-12);
    assert!(price.quantile(1e-12) > 0.0);
    let back = read_str(&write_scenario(&sc), "t.toml").0.unwrap();
    assert_eq!(back, sc);
    // A normal truncated at zero is accepted where a normal is not; it round-trips too.
    let truncated = "lead_time_months = { dist = \"normal\", mean = 3, sd = 1, min = 0 }";
    let (sc, d) = read_str(&with("lead_time_months = 3", truncated), "t.toml");
    assert!(d.is_empty(), "{d:?}");
    let sc = sc.unwrap();
    assert_eq!(
        sc.options[0].lead_time_months.dist,
        gigawatt_model::Dist::TruncatedNormal {
            mean: 3.0,
            sd: 1.0,
            min: 0.0,
            max: f64::INFINITY
        }
    );
    assert_eq!(read_str(&write_scenario(&sc), "t.toml").0.unwrap(), sc);
    // Bounds on a kind that takes none, and quantiles outside the bounds, are located errors.
    one_error(
        &with(
            "lead_time_months = 3",
            "lead_time_months = { dist = \"lognormal\", p10 = 2, p90 = 4, min = 0 }",
        ),
        "options[0].lead_time_months.min",
        "does not apply to a lognormal",
        21,
    );
    one_error(
        &with(
            "price_usd_per_unit = 2.0",
            "price_usd_per_unit = { dist = \"metalog\", probs = [0.1, 0.9], values = [1, 3], min = 0, max = 2.5 }",
        ),
        "segments[0].price_usd_per_unit.values",
        "not strictly inside the bounds",
        9,
    );
    one_error(
        &with(
            "lead_time_months = 3",
            "lead_time_months = { dist = \"normal\", mean = 3, sd = 1, min = 5, max = 4 }",
        ),
        "options[0].lead_time_months.min",
        "need min < max",
        21,
    );
}

#[test]
fn events_are_validated_where_they_are_written() {
    let event = |body: &str| {
        let src = format!(
            "{BASE}\n[[events]]\nname = \"e\"\nwindow_start = \"2026-03\"\nwindow_end = \"2026-06\"\n{body}\n"
        );
        let text = src.clone();
        let line = move |key: &str| {
            text.lines()
                .collect::<Vec<_>>()
                .iter()
                .rposition(|l| l.starts_with(key))
                .unwrap()
                + 1
        };
        (src, line)
    };
    let (src, line) = event("kind = \"efficiency\"\nshare_pu = 0.2\nsegments = [\"chta\"]");
    one_error(
        &src,
        "events[0].segments[0]",
        "unknown segment `chta`",
        line("segments"),
    );
    let d = diags(&src);
    assert!(
        d[0].diag.hint.as_deref().unwrap_or("").contains("chat"),
        "{d:?}"
    );
    let (src, line) =
        event("kind = \"supply_shock\"\nshare_pu = 0.2\ndelay_months = 2\nduration_months = 3");
    one_error(
        &src,
        "events[0].share_pu",
        "does not apply to a supply_shock event",
        line("share_pu"),
    );
    let (src, line) = event("kind = \"supply_shock\"\nduration_months = 3");
    one_error(
        &src,
        "events[0].delay_months",
        "missing required field",
        line("[[events]]"),
    );
    let (src, line) = event("kind = \"funding_freeze\"");
    one_error(
        &src,
        "events[0].duration_months",
        "lasts 0 months",
        line("[[events]]"),
    );
    let (src, line) = event("kind = \"price_war\"\nshare_pu = 1.5");
    one_error(
        &src,
        "events[0].share_pu",
        "must be between 0 and 1",
        line("share_pu"),
    );
    let (src, line) = event(
        "kind = \"power_delay\"\noptions = [\"cloud\"]\ndelay_months = 2\nduration_months = 3",
    );
    one_error(
        &src,
        "events[0].options[0]",
        "is not a build option",
        line("options"),
    );
    let (src, line) = event("kind = \"meteor\"");
    one_error(&src, "events[0].kind", "not one of", line("kind"));
}

#[test]
fn a_cancel_rule_needs_a_lease_that_can_be_cancelled() {
    let src = format!(
        "{BASE}\n[[plans]]\nname = \"c\"\nrules = [{{ option = \"cloud\", kind = \"cancel\" }}]\n"
    );
    let line = src.lines().position(|l| l.starts_with("rules = ")).unwrap() + 1;
    one_error(
        &src,
        "plans[1].rules[0].kind",
        "no leases that can be cancelled",
        line,
    );
    let ok = src.replace("term_months", "cancel_notice_months = 1\nterm_months");
    let fine = if ok.contains("cancel_notice_months") {
        ok
    } else {
        src.replace(
            "price_usd_per_h100e_month = 1500.0",
            "price_usd_per_h100e_month = 1500.0\ncancel_notice_months = 1",
        )
    };
    let (sc, d) = read_str(&fine, "t.toml");
    assert!(sc.is_some(), "{d:?}");
    let sc = sc.unwrap();
    assert_eq!(sc.plans[1].rules[0].kind, gigawatt_model::RuleKind::Cancel);
    assert_eq!(read_str(&write_scenario(&sc), "t.toml").0.unwrap(), sc);
}

#[test]
fn deal_terms_are_validated_where_they_are_written() {
    let with_opt = |extra: &str| {
        BASE.replacen(
            "price_usd_per_h100e_month = 1500.0",
            &format!("price_usd_per_h100e_month = 1500.0\n{extra}"),
            1,
        )
    };
    let line = |src: &str, key: &str| src.lines().position(|l| l.starts_with(key)).unwrap() + 1;
    let src = with_opt("financed_share_pu = 0.5");
    one_error(
        &src,
        "options[0].financed_share_pu",
        "lease option has no chips",
        line(&src, "financed_share_pu"),
    );
    let src = with_opt("chip_schedule_pu = [0.5, 0.6]");
    one_error(
        &src,
        "options[0].chip_schedule_pu",
        "sum to 1",
        line(&src, "chip_schedule_pu"),
    );
    let src = with_opt("ramp_pu = [0.5, -1]");
    one_error(
        &src,
        "options[0].ramp_pu",
        "between 0 and 100",
        line(&src, "ramp_pu"),
    );
    let src = format!(
        "{BASE}\n[finance]\n[[finance.revenue_shares]]\npartner = \"x\"\nshare_pu = 0.2\nsegments = [\"chta\"]\n"
    );
    one_error(
        &src,
        "finance.revenue_shares[0].segments[0]",
        "unknown segment `chta`",
        line(&src, "segments = "),
    );
    let src = format!(
        "{BASE}\n[finance]\n[[finance.vendor_investments]]\nvendor = \"v\"\noptions = [\"clod\"]\nusd_per_h100e = 1.0\n"
    );
    one_error(
        &src,
        "finance.vendor_investments[0].options[0]",
        "unknown option `clod`",
        line(&src, "options = "),
    );
    // Every deal term survives writing and reading back.
    let src = format!(
        "{}\n[finance]\n[[finance.revenue_shares]]\npartner = \"x\"\nshare_pu = 0.2\n[[finance.vendor_investments]]\nvendor = \"v\"\noptions = [\"cloud\"]\nusd_per_h100e = 1.0\nmax_usd = 5.0\nwarrants_usd_per_h100e = 0.5\n",
        with_opt("ramp_pu = [0.5, 1.0]")
    );
    let sc = read_str(&src, "t.toml").0.unwrap();
    assert_eq!(sc.options[0].ramp_pu, [0.5, 1.0]);
    assert_eq!(read_str(&write_scenario(&sc), "t.toml").0.unwrap(), sc);
}

#[test]
fn implausible_rates_that_would_overflow_are_rejected() {
    one_error(
        &with("mean = 0.5, sd = 0.1", "mean = 50.0, sd = 0.1"),
        "segments[0].growth.drift_per_year",
        "yearly log-growth drift must lie between -5 and 5",
        10,
    );
    let src = with(
        "[[generations]]",
        "[research]\nquality_elasticity = 40.0\n\n[[generations]]",
    );
    one_error(
        &src,
        "research.quality_elasticity",
        "quality elasticity must lie between 0 and 3",
        13,
    );
}

#[test]
fn implausible_durations_and_magnitudes_are_rejected() {
    // A lead time of a trillion months once overflowed the engine's month arithmetic.
    one_error(
        &with("lead_time_months = 3", "lead_time_months = 1e12"),
        "options[0].lead_time_months",
        "a duration in months must be at most 1200",
        21,
    );
    one_error(
        &with("kw_per_unit = 1.0", "kw_per_unit = 1.0\nlife_years = 500"),
        "generations[0].life_years",
        "longer than the 100-year limit",
        16,
    );
    // A price of 1e300 once made revenue infinite.
    one_error(
        &with("price_usd_per_unit = 25000.0", "price_usd_per_unit = 1e300"),
        "generations[0].price_usd_per_unit",
        "beyond the largest magnitude",
        16,
    );
}

#[test]
fn malformed_months_and_months_outside_the_horizon() {
    one_error(
        &with("month = \"2026-03\"", "month = \"2026-3\""),
        "plans[0].commitments[0].month",
        "YYYY-MM",
        26,
    );
    one_error(
        &with("month = \"2026-03\"", "month = \"2029-03\""),
        "plans[0].commitments[0].month",
        "outside the horizon",
        26,
    );
    one_error(
        &with("end = \"2027-12\"", "end = \"2025-12\""),
        "horizon.end",
        "before start",
        3,
    );
}

#[test]
fn unknown_references_get_suggestions() {
    let src = with(
        "name = \"cloud\"\nkind = \"lease\"",
        "name = \"cloud\"\nkind = \"buy\"\ngeneration = \"h10\"",
    );
    one_error(
        &src,
        "options[0].generation",
        "unknown accelerator generation `h10`",
        21,
    );
    assert_eq!(
        diags(&src)[0].diag.hint.as_deref(),
        Some("did you mean `h100`?")
    );
    one_error(
        &with("{ option = \"cloud\"", "{ option = \"clud\""),
        "plans[0].commitments[0].option",
        "unknown option `clud`",
        26,
    );
}

#[test]
fn duplicate_names_are_rejected() {
    let src = format!("{BASE}\n[[plans]]\nname = \"p\"\n");
    one_error(&src, "plans[1].name", "duplicate plan name `p`", 29);
}

#[test]
fn probabilities_must_sum_to_one() {
    let src = format!("{BASE}\n[[cases]]\nname = \"a\"\nprobability_pu = 0.5\n[[cases]]\nname = \"b\"\nprobability_pu = 0.3\n");
    one_error(&src, "cases", "sum to 0.8", 28);
    one_error(
        &with(
            "lead_time_months = 3",
            "lead_time_months = { dist = \"discrete\", values = [1, 2], probs = [0.5, 0.6] }",
        ),
        "options[0].lead_time_months.probs",
        "sum to 1.1",
        21,
    );
}

#[test]
fn non_psd_correlations_are_repaired_with_a_warning() {
    let src = with(
        "[[generations]]",
        "[[segments]]\nname = \"api\"\nstart_units_per_month = { dist = \"uniform\", min = 1, max = 2, id = \"a\" }\nh100e_months_per_unit = { dist = \"uniform\", min = 1, max = 2, id = \"b\" }\nprice_usd_per_unit = 1.0\ngrowth = { process = \"log\" }\n\
         [[correlations]]\na = \"drift\"\nb = \"a\"\nrho = 0.9\n[[correlations]]\na = \"drift\"\nb = \"b\"\nrho = 0.9\n[[correlations]]\na = \"a\"\nb = \"b\"\nrho = -0.9\n\n[[generations]]",
    );
    let (sc, d) = read_str(&src, "t.toml");
    assert!(sc.is_some(), "warnings do not block: {d:?}");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].diag.severity, gigawatt_model::Severity::Warning);
    assert!(d[0].diag.message.contains("not positive semi-definite"));
    let hint = d[0].diag.hint.as_deref().unwrap();
    assert!(hint.contains("drift~a: 0.9 -> "), "{hint}");
}

#[test]
fn empty_and_binary_files_are_rejected() {
    one_error("# only a comment\n\n", "", "the file is empty", 0);
    one_error("\0\0binary", "", "the file is binary", 0);
}

#[test]
fn missing_required_fields_point_at_their_table() {
    one_error(
        &with("kw_per_unit = 1.0\n", ""),
        "generations[0].kw_per_unit",
        "missing required field `kw_per_unit`",
        12,
    );
    one_error(
        &BASE.replacen("format_version = 1\n", "", 1),
        "format_version",
        "missing `format_version`",
        1,
    );
    one_error(
        &with("format_version = 1", "format_version = 2"),
        "format_version",
        "unsupported format_version 2",
        1,
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let src = with("kw_per_unit = 1.0", "kw_per_unit = -1.0\nlife_yeers = 5.0").replacen(
        "lead_time_months = 3",
        "lead_time_months = -3",
        1,
    );
    let d = diags(&src);
    let paths: Vec<&str> = d.iter().map(|d| d.diag.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "generations[0].life_yeers",
            "generations[0].kw_per_unit",
            "options[0].lead_time_months"
        ]
    );
}

#[test]
fn commitments_use_the_options_unit() {
    one_error(
        &with("h100e = 100.0", "mw = 100.0"),
        "plans[0].commitments[0].mw",
        "sized in h100e, not mw",
        26,
    );
}

#[test]
fn reading_twice_gives_equal_scenarios_and_writing_round_trips() {
    for src in [
        BASE,
        STARTER_SCENARIO,
        include_str!("../../../examples/frontier-lab.toml"),
        include_str!("../../../examples/startup.toml"),
        include_str!("../../../examples/capacity-expansion.toml"),
    ] {
        let (a, d) = read_str(src, "x.toml");
        assert!(
            d.iter().all(|d| !d.is_error()),
            "{}",
            d.iter().map(|d| d.render()).collect::<String>()
        );
        let (b, _) = read_str(src, "x.toml");
        assert_eq!(a, b);
        let a = a.unwrap();
        let text = write_scenario(&a);
        let (c, d) = read_str(&text, "x.toml");
        assert!(
            d.iter().all(|d| !d.is_error()),
            "{}\n{text}",
            d.iter().map(|d| d.render()).collect::<String>()
        );
        assert_eq!(c.unwrap(), a, "round trip changed the scenario:\n{text}");
    }
}

#[test]
fn checked_in_schema_and_reference_are_current() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/reference/");
    let schema = std::fs::read_to_string(format!("{root}scenario.schema.json")).unwrap_or_default();
    let reference = std::fs::read_to_string(format!("{root}scenario-file.md")).unwrap_or_default();
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(format!("{root}scenario.schema.json"), json_schema()).unwrap();
        std::fs::write(format!("{root}scenario-file.md"), reference_markdown()).unwrap();
        return;
    }
    assert!(schema == json_schema(), "docs/reference/scenario.schema.json is stale: run `UPDATE_EXPECT=1 cargo test -p gigawatt-io`");
    assert!(
        reference == reference_markdown(),
        "docs/reference/scenario-file.md is stale: run `UPDATE_EXPECT=1 cargo test -p gigawatt-io`"
    );
}

#[test]
fn schema_lists_every_field_of_the_spec() {
    let v: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
    for t in spec::all_tables() {
        let props = if t.name == "scenario" {
            &v["properties"]
        } else if t.name == "uncertain" {
            &v["$defs"]["uncertain"]["oneOf"][1]["properties"]
        } else {
            &v["$defs"][t.name]["properties"]
        };
        for f in t.fields {
            assert!(
                props.get(f.name).is_some(),
                "{}.{} missing from schema",
                t.name,
                f.name
            );
        }
    }
}

#[test]
fn atomic_write_replaces_the_file() {
    let dir = std::env::temp_dir().join(format!("gigawatt-io-test-{}", std::process::id()));
    let p = dir.join("a.txt");
    write_atomic(&p, b"one").unwrap();
    write_atomic(&p, b"two").unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no temporary file is left behind"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Dropping a line or replacing any value with junk gives diagnostics, never a panic.
        #[test]
        fn mangled_scenarios_give_diagnostics(line in 0usize..60, junk in prop::sample::select(vec!["-1", "nan", "\"x\"", "[1, 2]", "{ dist = \"pert\" }", "true", "1e400", "\"2026-13\"", "{}", "0"]), drop in any::<bool>()) {
            let lines: Vec<&str> = STARTER_SCENARIO.lines().collect();
            let i = line % lines.len();
            let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            if drop {
                out.remove(i);
            } else if let Some((key, _)) = lines[i].split_once(" = ") {
                out[i] = format!("{key} = {junk}");
            }
            let text = out.join("\n");
            let (sc, diags) = read_str(&text, "mangled.toml");
            // Either it is still a valid scenario, or there is at least one located error.
            prop_assert!(sc.is_some() || diags.iter().any(|d| d.is_error()));
            for d in &diags {
                prop_assert!(!d.diag.message.is_empty());
                let _ = d.render();
            }
        }
    }
}

#[test]
fn r8_a_rule_on_a_burst_option_is_rejected_where_it_is_written() {
    let src = format!(
        "{BASE}\n[[options]]\nname = \"spot\"\nkind = \"burst\"\ncap_h100e = 10.0\nprice_usd_per_h100e_month = 3000.0\n\n[[plans]]\nname = \"r\"\nrules = [{{ option = \"spot\", every_months = 3, percentile_pu = 0.5 }}]\n"
    );
    let line = src.lines().position(|l| l.starts_with("rules = ")).unwrap() + 1;
    one_error(&src, "plans[1].rules[0].option", "is a burst option", line);
}

#[test]
fn r7_plan_toml_escapes_names_so_check_reads_it_back() {
    let (sc, d) = read_str(BASE, "t.toml");
    let sc = sc.unwrap_or_else(|| panic!("{d:?}"));
    let plan = gigawatt_model::Plan {
        name: "my \"best\" \\ plan".into(),
        description: "line one\nline \"two\"".into(),
        commitments: sc.plans[0].commitments.clone(),
        rules: Vec::new(),
    };
    let text = format!("{BASE}\n{}", plan_toml(&sc, &plan));
    let (back, d) = read_str(&text, "t.toml");
    let back = back.unwrap_or_else(|| panic!("{d:?}"));
    assert_eq!(back.plans[1].name, plan.name);
    assert_eq!(back.plans[1].description, plan.description);
}

#[test]
fn r8_a_rejected_horizon_end_gives_one_error_not_false_ones() {
    let src = format!(
        "{}\n[[plans]]\nname = \"late\"\ncommitments = [{{ option = \"cloud\", month = \"2027-06\", h100e = 1.0 }}]\n",
        BASE.replace("end = \"2027-12\"", "end = \"9999-12\"")
    );
    one_error(&src, "horizon.end", "years must be", 3);
}

#[test]
fn r8_every_syntax_error_the_parser_can_find_is_reported_in_file_order() {
    let src = "format_version = 1\nname = \"x\nhorizon = { start = \"2026-01\", end = \"2027-12\" }\n[[segments]]\nname = = \"a\"\n";
    let d = diags(src);
    let lines: Vec<usize> = d.iter().map(|d| d.line).collect();
    assert_eq!(lines, vec![2, 5], "{d:?}");
    assert!(d
        .iter()
        .all(|d| d.diag.message.starts_with("TOML syntax error")));
    // One error stays one error.
    let d = diags("format_version = 1\nname = = \"x\"\n");
    assert_eq!(d.len(), 1, "{d:?}");
}

/// The spec table that a `[header]` or `[[header]]` line opens.
fn table_of_header(header: &str) -> Option<&'static spec::TableSpec> {
    let mut t: &spec::TableSpec = &spec::ROOT;
    for part in header.split('.') {
        match t.field(part)?.ty {
            spec::Ty::Table(n) | spec::Ty::Tables(n) => t = n,
            _ => return None,
        }
    }
    Some(t)
}

#[test]
fn r8_every_bound_in_the_schema_is_the_one_check_enforces() {
    // Each bound names a number field, so the schema states it.
    for (table, field, _) in spec::BOUNDS {
        let t = spec::all_tables()
            .into_iter()
            .find(|t| t.name == *table)
            .unwrap_or_else(|| panic!("no table {table}"));
        let f = t
            .field(field)
            .unwrap_or_else(|| panic!("no field {table}.{field}"));
        assert!(
            matches!(f.ty, spec::Ty::Num | spec::Ty::Int),
            "{table}.{field}"
        );
    }
    let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
    assert_eq!(
        schema["$defs"]["rule"]["properties"]["percentile_pu"]["exclusiveMaximum"],
        1.0
    );
    assert_eq!(
        schema["$defs"]["option"]["properties"]["term_months"]["maximum"],
        1200.0
    );
    // Every bounded value written on its own line in the examples: just outside the range,
    // check must reject it at that field.
    let mut tried = 0;
    for name in ["frontier-lab", "startup", "launch-spike"] {
        let path = format!("{}/../../examples/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        let src = std::fs::read_to_string(path).unwrap();
        let mut table: Option<&spec::TableSpec> = Some(&spec::ROOT);
        for (i, line) in src.lines().enumerate() {
            let l = line.trim();
            if l.starts_with('[') {
                table = table_of_header(l.trim_matches(|c| c == '[' || c == ']'));
                continue;
            }
            let Some((key, rest)) = l.split_once('=') else {
                continue;
            };
            let key = key.trim();
            let value = rest.split('#').next().unwrap().trim();
            if value.parse::<f64>().is_err() {
                continue;
            }
            let Some(b) = table.and_then(|t| spec::bound(t.name, key)) else {
                continue;
            };
            let (lo, lo_open, hi, hi_open) = b.range();
            let mut outside = vec![if lo_open { lo } else { lo - 1.0 }];
            if hi < 1e17 {
                outside.push(if hi_open { hi } else { hi + 0.5 });
            }
            for x in outside {
                let mut lines: Vec<String> = src.lines().map(String::from).collect();
                lines[i] = format!("{key} = {x:?}");
                let d = diags(&lines.join("\n"));
                assert!(
                    d.iter().any(|d| d.is_error() && d.diag.path.ends_with(key) && d.line == i + 1),
                    "{name}.toml:{}: `{key} = {x:?}` is outside {b:?} but check did not reject it there:\n{}",
                    i + 1,
                    d.iter().map(|d| d.render()).collect::<String>()
                );
                tried += 1;
            }
        }
    }
    assert!(
        tried >= 20,
        "only {tried} bounded values found in the examples"
    );
}

#[test]
fn r7_an_integer_too_large_for_its_field_is_rejected_not_wrapped() {
    // 4294967308 = 2^32 + 12 used to pass as 12 months.
    let src = with(
        "price_usd_per_h100e_month = 1500.0",
        "price_usd_per_h100e_month = 1500.0\nterm_months = 4294967308",
    );
    let line = src
        .lines()
        .position(|l| l.starts_with("term_months"))
        .unwrap()
        + 1;
    one_error(&src, "options[0].term_months", "too large", line);
}

#[test]
fn r7_a_case_value_the_input_cannot_take_is_rejected() {
    // BASE's `drift` is normal (any value); add a PERT input on [0.2, 0.6] and cases.
    let src = format!(
        "{}\n[[cases]]\nname = \"a\"\nprobability_pu = 0.5\nvalues = {{ eff = 0.9 }}\n\n[[cases]]\nname = \"b\"\nprobability_pu = 0.5\nvalues = {{ eff = 0.3, drift = -5.0 }}\n",
        BASE.replace(
            "price_usd_per_unit = 2.0\n",
            "price_usd_per_unit = 2.0\nefficiency_gain_per_year = { dist = \"pert\", min = 0.2, mode = 0.4, max = 0.6, id = \"eff\" }\n"
        )
    );
    let line = src.lines().position(|l| l.contains("eff = 0.9")).unwrap() + 1;
    one_error(
        &src,
        "cases[0].values.eff",
        "0.9 is outside what input `eff`",
        line,
    );
}

#[test]
fn every_default_the_reader_uses_is_in_the_attribute_table() {
    // Every `c.num_d(t, "key")` (and int/u32/boolean/uncertain) in the reader takes its
    // default from spec.rs: each such key must state a default there that parses.
    let src = include_str!("reader.rs");
    let tables = crate::spec::all_tables();
    let mut seen = 0;
    for call in ["num_d(", "int_d(", "u32_d(", "boolean_d(", "uncertain_d("] {
        for (i, _) in src.match_indices(&format!(".{call}")) {
            let rest = &src[i..];
            let Some(q) = rest.find('"') else { continue };
            let key: String = rest[q + 1..].chars().take_while(|c| *c != '"').collect();
            let parses = tables.iter().filter_map(|t| t.field(&key)).any(|f| {
                if call == "boolean_d(" {
                    f.default_bool().is_some()
                } else {
                    f.default_number().is_some()
                }
            });
            assert!(
                parses,
                "{key}: the reader reads it with a default that spec.rs does not state"
            );
            seen += 1;
        }
    }
    assert!(seen > 40, "found only {seen} reads with defaults");
    // Defaults stated as numbers read back as those numbers.
    assert_eq!(
        crate::spec::FINANCE
            .field("backstop_rate_per_year")
            .unwrap()
            .default_number(),
        Some(0.12)
    );
    assert_eq!(
        crate::spec::POWER.field("pue").unwrap().default_number(),
        Some(1.3)
    );
    let f = crate::reader::default_finance();
    assert_eq!(
        (f.credit_rate_per_year, f.it_depreciation_years),
        (0.08, 5.0)
    );
}

#[test]
fn source_notes_give_each_field_its_line_and_comment() {
    let src = "format_version = 1 # the format\nname = \"a # not a comment\"  # named\nhorizon = { start = \"2026-01\", end = \"2026-12\" }\n";
    let notes = crate::source_notes(src);
    assert_eq!(notes["format_version"], (1, "the format".to_string()));
    assert_eq!(notes["name"], (2, "named".to_string()));
    assert_eq!(notes["horizon"].0, 3);
    assert_eq!(notes["horizon"].1, "");
    // An input of the frontier-lab example carries its source row.
    let lab = crate::source_notes(include_str!("../../../examples/frontier-lab.toml"));
    let lead = lab
        .iter()
        .find(|(p, _)| p.ends_with("lead_time_months") && p.starts_with("options["))
        .expect("an option's lead time");
    assert!(lead.1 .0 > 1);
}

#[test]
fn pools_are_validated_where_they_are_written() {
    let line_of = |src: &str, key: &str| {
        src.lines()
            .collect::<Vec<_>>()
            .iter()
            .rposition(|l| l.starts_with(key))
            .unwrap()
            + 1
    };
    let pools = "\n[[pools]]\nname = \"gpu\"\n[[pools]]\nname = \"asic\"\nserves = [\"chta\"]\n";
    // A segment that does not exist, with the one meant as the hint.
    let src = format!("{BASE}{pools}");
    one_error(
        &src,
        "pools[1].serves[0]",
        "unknown segment `chta`",
        line_of(&src, "serves"),
    );
    assert!(diags(&src)
        .iter()
        .any(|d| d.diag.hint.as_deref().unwrap_or("").contains("chat")));
    // An option naming a pool that is not there.
    let ok_pools = pools.replace("chta", "chat");
    let src = with("kind = \"lease\"", "kind = \"lease\"\npool = \"gpus\"") + &ok_pools;
    one_error(
        &src,
        "options[0].pool",
        "unknown pool `gpus`",
        line_of(&src, "pool ="),
    );
    // A pool named with no [[pools]] at all.
    let src = with("kind = \"lease\"", "kind = \"lease\"\npool = \"gpu\"");
    one_error(
        &src,
        "options[0].pool",
        "the scenario has no [[pools]]",
        line_of(&src, "pool ="),
    );
    // Ranges: a fee below zero, an idle share above one.
    let src = format!("{BASE}{ok_pools}use_fee_usd_per_h100e_hour = -1.0\n");
    one_error(
        &src,
        "pools[1].use_fee_usd_per_h100e_hour",
        "must not be negative",
        line_of(&src, "use_fee"),
    );
    let src = format!("{BASE}{ok_pools}idle_power_share_pu = 1.5\n");
    one_error(
        &src,
        "pools[1].idle_power_share_pu",
        "between 0 and 1",
        line_of(&src, "idle_power"),
    );
    // Work no pool may run is a warning: research here, as both pools serve `chat` only.
    let src = format!(
        "{BASE}\n[[pools]]\nname = \"a\"\nserves = [\"chat\"]\n[[pools]]\nname = \"b\"\nserves = [\"chat\"]\n"
    );
    let d = diags(&src);
    assert!(!d.iter().any(|d| d.is_error()), "{d:?}");
    assert!(
        d.iter()
            .any(|d| d.diag.message == "no pool serves research: it is never served from capacity"),
        "{d:?}"
    );
}

#[test]
fn an_affine_rule_needs_a_positive_centre_where_it_is_written() {
    let src = with(
        "commitments = [{ option = \"cloud\", month = \"2026-03\", h100e = 100.0 }]",
        "commitments = [{ option = \"cloud\", month = \"2026-03\", h100e = 100.0 }]\nrules = [{ option = \"cloud\", kind = \"affine\", from = \"2026-06\", until = \"2026-06\", intercept = 10.0, slope = 5.0, centre_h100e = 0.0 }]",
    );
    let line = src.lines().position(|l| l.starts_with("rules")).unwrap() + 1;
    one_error(
        &src,
        "plans[0].rules[0].centre_h100e",
        "must be greater than zero",
        line,
    );
    // With a positive centre the rule reads back as written.
    let ok = src.replace("centre_h100e = 0.0", "centre_h100e = 80.0");
    let (sc, d) = read_str(&ok, "t.toml");
    let sc = sc.unwrap_or_else(|| panic!("{d:?}"));
    let r = &sc.plans[0].rules[0];
    assert_eq!(r.kind, gigawatt_model::RuleKind::Affine);
    assert_eq!((r.intercept, r.slope, r.centre_h100e), (10.0, 5.0, 80.0));
}
