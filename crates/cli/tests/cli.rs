//! End-to-end tests of the `gigawatt` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gigawatt"))
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gigawatt-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str]) -> Output {
    bin().current_dir(root()).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `plan examples/startup.toml --paths 6 --oos-paths 200 --quiet --json` with `extra`, which
/// must succeed: its JSON.
fn plan_startup_json(extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "plan",
        "examples/startup.toml",
        "--paths",
        "6",
        "--oos-paths",
        "200",
        "--quiet",
        "--json",
    ];
    args.extend_from_slice(extra);
    run_json(&args)
}

/// `gigawatt ARGS`, which must succeed: its JSON.
fn run_json(args: &[&str]) -> serde_json::Value {
    run_json_noting(args).0
}

/// [`run_json`], with what the run wrote to stderr.
fn run_json_noting(args: &[&str]) -> (serde_json::Value, String) {
    let o = run(args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    (serde_json::from_slice(&o.stdout).unwrap(), text(&o.stderr))
}

/// `plan examples/startup.toml --paths 4` with `extra` arguments is refused as a bad request
/// (exit 2) with a message that contains `says`.
fn plan_startup_refuses(extra: &[&str], says: &str) {
    let mut args = vec!["plan", "examples/startup.toml", "--paths", "4", "-q"];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains(says), "{}", text(&o.stderr));
}

/// `plan --json` on the capacity-expansion example by its cases, at least cost with all demand
/// served (microlp, 100 out-of-sample paths), with `extra` arguments.
fn plan_capacity_expansion(extra: &[&str]) -> Output {
    plan_capacity_expansion_by("microlp", extra)
}

/// [`plan_capacity_expansion`] with `solver`.
fn plan_capacity_expansion_by(solver: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "plan",
        "examples/capacity-expansion.toml",
        "--cases",
        "--objective",
        "cost",
        "--service-level",
        "1",
        "--solver",
        solver,
        "--oos-paths",
        "100",
    ];
    args.extend_from_slice(extra);
    args.push("--json");
    run(&args)
}

#[test]
fn plan_cases_solves_the_capacity_expansion_example_to_its_screening_curve_answer() {
    // Three technologies with fixed cost F (lease) and operating cost v (use fee) per
    // H100e-month: base (7.30, 1.46), mid (4.38, 5.84), peak (1.46, 14.60). A capacity layer
    // used τ of the time (expected over the cases) is cheapest on base when τ > 2/3, on mid
    // when 1/3 < τ < 2/3, on peak below 1/3. Block demands are 160/100/60 (case low) and
    // 240/150/90 (case high) for 0.2/0.5/0.3 of the hours, so the layers are
    // (0, 60] τ = 1, (60, 90] 0.85, (90, 100] 0.7: base 100; (100, 150] 0.45: mid 50;
    // (150, 160] 0.2, (160, 240] 0.1: peak 90. Expected cost: 0.73 × (60·12 + 30·11.7 +
    // 10·11.4 + 50·9.6 + 10·6 + 80·4) = 0.73 × 2,045 = $1,492.85.
    let o = plan_capacity_expansion(&[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let objective = v["objective"].as_f64().unwrap();
    assert!((objective - 1492.85).abs() < 1e-6, "objective {objective}");
    let amounts: Vec<(String, f64)> = v["commitments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["option"].as_str().unwrap().to_string(),
                c["amount"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(amounts.len(), 3, "{amounts:?}");
    for ((name, got), (want_name, want)) in
        amounts
            .iter()
            .zip([("base", 100.0), ("mid", 50.0), ("peak", 90.0)])
    {
        assert_eq!(name, want_name);
        assert!((got - want).abs() < 1e-6, "{name}: {got}");
    }
    // A plan serving nothing is not called better for costing nothing.
    assert_eq!(v["best_out_of_sample"], "optimised");
}

#[test]
fn plan_decompose_reaches_the_screening_curve_answer_with_bounds_around_it() {
    // The programme of the test above, solved by the L-shaped method over the two cases: the
    // same layers and cost, bounds that bracket it, and the bounds noted as it converges.
    let o = plan_capacity_expansion(&["--decompose"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("iteration   1: cost"),
        "{}",
        text(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // Within the default gap, 0.1 %.
    let objective = v["objective"].as_f64().unwrap();
    assert!(
        (objective - 1492.85).abs() < 1.5e-3 * 1492.85,
        "objective {objective}"
    );
    let d = &v["decomposition"];
    assert_eq!(d["converged"], true, "{d}");
    // microlp keeps no basis: each round's subproblems are solved from scratch.
    assert_eq!(d["subproblems"], "rebuilt", "{d}");
    let last = d["iterations"].as_array().unwrap().last().unwrap().clone();
    // Continuous commitments: one phase, the programme as posed.
    assert_eq!(last["phase"], "exact", "{last}");
    let (lo, hi) = (
        last["lower_usd"].as_f64().unwrap(),
        last["upper_usd"].as_f64().unwrap(),
    );
    assert!(
        lo <= 1492.85 * (1.0 + 1e-8) && 1492.85 <= hi + 1e-6,
        "{lo} {hi}"
    );
    assert!(
        lo <= objective && objective <= hi + 1e-6,
        "{lo} {objective} {hi}"
    );
    let amounts: Vec<f64> = v["commitments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["amount"].as_f64().unwrap())
        .collect();
    // Peak covers the top 90 H100e and the three cover the 240 peak; base against mid is
    // nearly a tie (a layer used 70 % of the time, the threshold is 2/3), so the gap allows
    // some exchange between them.
    assert!((amounts[2] - 90.0).abs() < 0.01, "{amounts:?}");
    assert!(
        (amounts.iter().sum::<f64>() - 240.0).abs() < 0.01,
        "{amounts:?}"
    );
    assert!((amounts[0] - 100.0).abs() < 5.0, "{amounts:?}");
    // One group: the single-cut L-shaped method, the same answer within the gap.
    let single = plan_capacity_expansion(&["--decompose", "--decompose-groups", "1"]);
    assert!(single.status.success(), "{}", text(&single.stderr));
    let v: serde_json::Value = serde_json::from_slice(&single.stdout).unwrap();
    let objective = v["objective"].as_f64().unwrap();
    assert!(
        (objective - 1492.85).abs() < 1.5e-3 * 1492.85,
        "objective {objective}"
    );
    assert_eq!(v["decomposition"]["converged"], true);
    // With CVaR every path keeps its own cut, and the user hears that the groups are ignored.
    let cvar =
        plan_capacity_expansion(&["--decompose", "--decompose-groups", "1", "--lambda", "0.5"]);
    assert!(cvar.status.success(), "{}", text(&cvar.stderr));
    assert!(
        text(&cvar.stderr).contains("--decompose-groups is ignored with CVaR"),
        "{}",
        text(&cvar.stderr)
    );
    let bad = run(&[
        "plan",
        "examples/capacity-expansion.toml",
        "--cases",
        "--decompose",
        "--decompose-gap",
        "0",
    ]);
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("--decompose-gap must be in (0, 1)"));
}

#[test]
fn the_capacity_expansion_example_passes_check_without_warnings() {
    let o = run(&["check", "examples/capacity-expansion.toml"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).ends_with("ok\n"));
    assert!(text(&o.stdout).contains("pools (3):"));
    assert!(!text(&o.stderr).contains("warning"), "{}", text(&o.stderr));
}

#[test]
fn examples_pass_check() {
    // Each example has one plan without rules whose capacity falls as chips retire or a lease
    // ends before the horizon: `check` passes and warns about exactly that plan.
    for (f, plan) in [
        ("examples/frontier-lab.toml", "announced"),
        ("examples/startup.toml", "buy-own"),
        ("examples/launch-spike.toml", "headroom"),
    ] {
        let o = run(&["check", f]);
        assert!(o.status.success(), "{f}: {}", text(&o.stderr));
        assert!(text(&o.stdout).ends_with("ok\n"));
        let err = text(&o.stderr);
        assert!(err.contains("0 error(s), 1 warning(s)"), "{f}: {err}");
        assert!(
            err.contains(&format!("plan `{plan}`'s capacity falls")),
            "{f}: {err}"
        );
        // With the warning's share raised past the drop, --strict passes.
        let src = std::fs::read_to_string(root().join(f)).unwrap().replace(
            "[simulation]",
            "[simulation]\ncapacity_drop_warning_pu = 0.9",
        );
        let d = tmp("strict-examples");
        let copy = d.join("x.toml");
        std::fs::write(&copy, src).unwrap();
        let o = run(&["check", copy.to_str().unwrap(), "--strict"]);
        assert!(o.status.success(), "{f}: {}", text(&o.stderr));
    }
}

#[test]
fn init_writes_a_scenario_that_passes_check_and_refuses_to_overwrite() {
    let d = tmp("init");
    let o = bin().args(["init", d.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let f = d.join("scenario.toml");
    let o = bin().args(["check", f.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = bin().args(["init", d.to_str().unwrap()]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("already exists"));
}

#[test]
fn check_reports_every_problem_with_location_and_exit_code_1() {
    let d = tmp("bad");
    let f = d.join("bad.toml");
    let src = std::fs::read_to_string(root().join("examples/startup.toml"))
        .unwrap()
        .replace("kw_per_unit = 1.4 ", "kw_per_unt = 1.4 ")
        .replace("cap_h100e = 500.0", "cap_h100e = -500.0");
    std::fs::write(&f, src).unwrap();
    let o = bin().args(["check", f.to_str().unwrap()]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.contains("generations[1].kw_per_unt: unknown field"),
        "{err}"
    );
    assert!(err.contains("did you mean `kw_per_unit`?"), "{err}");
    assert!(err.contains("bad.toml:"), "{err}");
    let o = bin()
        .args(["check", f.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let diags = v["diagnostics"].as_array().unwrap();
    assert!(diags
        .iter()
        .any(|d| d["path"] == "generations[1].kw_per_unt" && d["line"].as_u64().unwrap() > 0));
    assert!(diags.iter().any(|d| d["path"] == "options[2].cap_h100e"));
}

#[test]
fn strict_turns_warnings_into_errors() {
    let d = tmp("strict");
    let f = d.join("w.toml");
    let src = std::fs::read_to_string(root().join("examples/startup.toml")).unwrap().replace("rho = 0.5 ", "rho = 0.5\n[[correlations]]\na = \"efficiency\"\nb = \"ft_growth\"\nrho = 0.9\n[[correlations]]\na = \"price_decline\"\nb = \"ft_growth\"\nrho = -0.9\n");
    std::fs::write(&f, src).unwrap();
    assert!(bin()
        .args(["check", f.to_str().unwrap()])
        .output()
        .unwrap()
        .status
        .success());
    let o = bin()
        .args(["check", f.to_str().unwrap(), "--strict"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("positive semi-definite"));
}

#[test]
fn missing_file_is_exit_2() {
    let o = run(&["check", "no/such/file.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("cannot read no/such/file.toml"), "{err}");
    // The OS error is said once, not repeated by the error chain.
    assert_eq!(err.matches("os error").count(), 1, "{err}");
}

#[test]
fn bad_arguments_are_exit_2_with_a_clear_message() {
    let f = "examples/startup.toml";
    let not_a_dir = root().join("README.md");
    for (args, expect) in [
        (vec!["plan", f, "--frontier", "0,nan"], "--frontier takes"),
        (vec!["plan", f, "--time-limit", "0"], "--time-limit must be"),
        (vec!["plan", f, "--lambda", "nan"], "--lambda >= 0"),
        (vec!["plan", f, "--mip-gap=-0.1"], "--mip-gap must be"),
        (
            vec!["plan", f, "--budget-usd-per-year=-1"],
            "--budget-usd-per-year must be",
        ),
        (
            vec!["simulate", f, "--paths", "0"],
            "--paths must be at least 1",
        ),
        (
            vec!["simulate", f, "--target-npv-se-usd", "0"],
            "--target-npv-se-usd must be",
        ),
        (
            vec!["simulate", f, "--paths", "1000000001"],
            "at most 1000000000",
        ),
        (
            vec!["sensitivity", f, "--paths", "1000000001"],
            "at most 1000000000",
        ),
        (
            vec!["plan", f, "--oos-paths", "1000000001"],
            "--oos-paths 1000000001 is more than a run may have",
        ),
        (
            vec![
                "simulate",
                f,
                "--paths",
                "5",
                "-q",
                "--out",
                not_a_dir.join("sub").to_str().unwrap(),
            ],
            "cannot create directory",
        ),
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(expect),
            "{args:?}: {}",
            text(&o.stderr)
        );
    }
}

#[test]
fn schema_command_prints_the_checked_in_schema() {
    let o = run(&["schema"]);
    assert!(o.status.success());
    let checked_in =
        std::fs::read_to_string(root().join("docs/reference/scenario.schema.json")).unwrap();
    assert_eq!(text(&o.stdout), checked_in);
}

#[test]
fn simulate_with_pools_is_byte_identical_across_thread_counts() {
    // The startup example with its owned chips in one pool (half their power drawn idle) and
    // the cloud lease in another (a use fee, serving `api` only): merit-order dispatch.
    let src = std::fs::read_to_string(root().join("examples/startup.toml")).unwrap();
    let src = src.replacen(
        "name = \"neocloud\"\nkind = \"lease\"",
        "name = \"neocloud\"\nkind = \"lease\"\npool = \"cloud\"",
        1,
    ) + "\n[[pools]]\nname = \"owned\"\nidle_power_share_pu = 0.5\n\
         [[pools]]\nname = \"cloud\"\nserves = [\"api\"]\nuse_fee_usd_per_h100e_hour = 0.3\n";
    assert!(src.contains("pool = \"cloud\""));
    let d = tmp("pools");
    let file = d.join("pools.toml");
    std::fs::write(&file, src).unwrap();
    let f = file.to_str().unwrap();
    let go = |threads: &str| {
        let o = run(&[
            "simulate",
            f,
            "--paths",
            "1500",
            "--threads",
            threads,
            "--json",
            "--quiet",
            "--yearly",
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        o.stdout
    };
    let a = go("1");
    assert_eq!(a, go("2"));
    let v: serde_json::Value = serde_json::from_slice(&a).unwrap();
    // The cloud's fees show in their own yearly line.
    let fees: f64 = v["plans"][0]["yearly"]
        .as_array()
        .unwrap()
        .iter()
        .map(|y| y["usage_fees_usd"]["mean"].as_f64().unwrap())
        .sum();
    assert!(fees > 0.0, "no usage fees: {}", v["plans"][0]["yearly"]);
}

#[test]
fn simulate_json_is_byte_identical_across_thread_counts() {
    let a = run(&[
        "simulate",
        "examples/startup.toml",
        "--paths",
        "2500",
        "--threads",
        "1",
        "--json",
        "--quiet",
    ]);
    let b = run(&[
        "simulate",
        "examples/startup.toml",
        "--paths",
        "2500",
        "--threads",
        "2",
        "--json",
        "--quiet",
    ]);
    assert!(a.status.success(), "{}", text(&a.stderr));
    assert_eq!(a.stdout, b.stdout);
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(v["format"], "gigawatt-simulation");
    // Two plans of the file and the automatic baseline.
    assert_eq!(v["plans"].as_array().unwrap().len(), 3);
    let corr = &v["correlations"][0];
    assert_eq!(corr["requested"], 0.5);
    assert!(
        (corr["achieved"].as_f64().unwrap() - 0.5).abs() < 0.05,
        "{corr}"
    );
}

#[test]
fn simulate_out_writes_csv_that_parses() {
    let d = tmp("out");
    let o = run(&[
        "simulate",
        "examples/startup.toml",
        "--paths",
        "300",
        "--quiet",
        "--out",
        d.to_str().unwrap(),
        "--per-path",
        "--plan",
        "buy-own",
        "--no-baseline",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let monthly = std::fs::read_to_string(d.join("monthly.csv")).unwrap();
    let mut lines = monthly.lines();
    assert_eq!(
        lines.next().unwrap(),
        "plan,month,series,mean,p5,p10,p25,p50,p75,p90,p95"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 60 * gigawatt_sim::REPORTED_SERIES);
    assert!(rows
        .iter()
        .all(|r| r.split(',').count() == 11 && r.starts_with("buy-own,20")));
    // Floats are written as floats (`0.0`, not `0`), so readers infer one type on every run.
    for r in &rows {
        for c in r.split(',').skip(3) {
            assert!(c.contains('.') || c.contains('e'), "{r}");
        }
    }
    let paths = std::fs::read_to_string(d.join("paths.csv")).unwrap();
    assert_eq!(paths.lines().count(), 301);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("result.json")).unwrap()).unwrap();
    assert_eq!(v["paths"], 300);
}

#[test]
fn unknown_plan_is_a_clear_error() {
    let o = run(&[
        "simulate",
        "examples/startup.toml",
        "--plan",
        "nope",
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("no plan named `nope`"),
        "{}",
        text(&o.stderr)
    );
}

/// `plan --json` on an example: (programme's expected NPV, what the effects it leaves out
/// leave unexplained, the effects switched off).
fn plan_agreement(example: &str, paths: &str) -> (f64, f64, Vec<String>) {
    let o = run(&[
        "plan",
        example,
        "--paths",
        paths,
        "--oos-paths",
        "100",
        "--quiet",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["policy"], "affine_rules");
    let g = &v["agreement"];
    let effects = g["effects_switched_off_in_sample"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["effect"].as_str().unwrap().to_string())
        .collect();
    (
        g["programme_usd"].as_f64().unwrap(),
        g["unexplained_usd"].as_f64().unwrap(),
        effects,
    )
}

#[test]
fn plan_explains_its_value_against_simulation_on_every_example() {
    // The plan handed over is the policy the programme valued, so on the programme's own paths
    // the difference between the two is exactly what the programme leaves out. Switching those
    // effects off one after another in the simulation leaves nothing on startup (churn,
    // quality, research, the priority order) and launch-spike (churn, quality); on
    // frontier-lab less than 5 % of the programme's value (segment values change order over
    // time there, and one fixed order cannot follow them).
    let (p, left, effects) = plan_agreement("examples/startup.toml", "6");
    assert_eq!(effects.len(), 4, "{effects:?}");
    assert!(
        left.abs() <= 1e-6 * p.abs(),
        "startup: {left} of {p} unexplained"
    );
    let (p, left, effects) = plan_agreement("examples/launch-spike.toml", "6");
    assert_eq!(
        effects,
        [
            "churn",
            "quality feedback",
            "training runs and extra research"
        ]
    );
    assert!(
        left.abs() <= 1e-6 * p.abs(),
        "launch-spike: {left} of {p} unexplained"
    );
    let (p, left, _) = plan_agreement("examples/frontier-lab.toml", "2");
    assert!(
        left.abs() <= 0.05 * p.abs(),
        "frontier-lab: {left} of {p} unexplained"
    );
}

#[test]
fn plan_clairvoyant_recourse_is_the_labelled_upper_bound_with_fixed_candidates() {
    let v = plan_startup_json(&["--clairvoyant-recourse"]);
    assert_eq!(v["policy"], "clairvoyant_recourse");
    assert!(v["rules"].as_array().unwrap().is_empty());
    // Two fixed versions of the per-path later commitments were simulated and one chosen.
    assert!(v["candidates"].is_object(), "{}", v["candidates"]);
    // Per-path recourse is an upper bound on the linear decision rules' value.
    let w = plan_startup_json(&[]);
    assert!(v["objective"].as_f64().unwrap() >= w["objective"].as_f64().unwrap() - 1e-6);
}

#[test]
fn plan_finds_commitments_that_simulate_reads_back() {
    let d = tmp("plan");
    let o = run(&[
        "plan",
        "examples/startup.toml",
        "--paths",
        "8",
        "--oos-paths",
        "300",
        "--quiet",
        "--json",
        "--out",
        d.to_str().unwrap(),
        "--frontier",
        "0,1",
        "--write-mps",
        d.join("model.mps").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["format"], "gigawatt-plan");
    assert_eq!(v["status"], "optimal");
    assert!(v["commitments"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["stage"] == "first"));
    assert_eq!(v["frontier"].as_array().unwrap().len(), 2);
    // Later commitments are linear decision rules, carried in the plan and listed.
    assert_eq!(v["policy"], "affine_rules");
    assert!(v["plan_toml"]
        .as_str()
        .unwrap()
        .contains("kind = \"affine\""));
    assert!(v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["kind"] == "affine"
            && r["centre_h100e"].as_f64().unwrap() > 0.0
            && (r["unit"] == "h100e" || r["unit"] == "mw")));
    // The programme against simulation, with the effects it leaves out switched off in turn
    // (startup has churn, quality feedback, a training run and extra research, and serves its
    // segments in an order other than by value).
    let g = &v["agreement"];
    let effects: Vec<&str> = g["effects_switched_off_in_sample"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["effect"].as_str().unwrap())
        .collect();
    assert_eq!(
        effects,
        [
            "churn",
            "quality feedback",
            "training runs and extra research",
            "priority order (segments served by value instead)"
        ]
    );
    assert_eq!(
        g["in_sample_usd"].as_f64(),
        v["simulated_in_sample"]["npv_usd"]["mean"].as_f64()
    );
    let ins = v["simulated_in_sample"]["npv_usd"]["mean"]
        .as_f64()
        .unwrap();
    let mps = std::fs::read_to_string(d.join("model.mps")).unwrap();
    assert!(mps.starts_with("NAME startup") && mps.trim_end().ends_with("ENDATA"));
    // The TOML fragment appended to the scenario is a plan `simulate` can run.
    let fragment = std::fs::read_to_string(d.join("plan.toml")).unwrap();
    let scenario = std::fs::read_to_string(root().join("examples/startup.toml")).unwrap();
    let f = d.join("with-plan.toml");
    std::fs::write(&f, format!("{scenario}\n{fragment}")).unwrap();
    let o = bin()
        .args([
            "simulate",
            f.to_str().unwrap(),
            "--plan",
            "optimised",
            "--paths",
            "8",
            "--seed",
            &v["seed"].to_string(),
            "--quiet",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let sim: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(sim["plans"][0]["name"], "optimised");
    // The plan written to plan.toml, simulated by `simulate` on the programme's own paths (same
    // seed and count), gives exactly the in-sample figure `plan` reported: the file is the plan
    // that was evaluated, not an approximation of it.
    let again = sim["plans"][0]["metrics"]["npv_usd"]["mean"]
        .as_f64()
        .unwrap();
    assert!(
        (again - ins).abs() <= 1e-6 * ins.abs().max(1.0),
        "{again} vs {ins}"
    );
    assert!(std::fs::read_to_string(d.join("frontier.csv"))
        .unwrap()
        .starts_with("lambda,alpha,expected_value_usd,cvar_loss_usd,status\n"));
}

#[test]
fn infeasible_plan_is_exit_3_with_a_diagnosis() {
    let o = run(&[
        "plan",
        "examples/startup.toml",
        "--paths",
        "3",
        "--quiet",
        "--objective",
        "cost",
        "--service-level",
        "1.0",
        "--budget-usd-per-year",
        "0",
        "--no-recourse",
        "--window-months",
        "60",
        "--period-months",
        "12",
    ]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let out = text(&o.stdout);
    assert!(out.contains("limits in conflict"), "{out}");
    // Every figure of the diagnosis carries its unit and says what the limit is.
    assert!(out.contains("share of product demand served"), "{out}");
    assert!(out.contains("--service-level share"), "{out}");
    // The zero budget is what forces the service level to move: it is named as held.
    let held = out.split("held at their bound").nth(1).unwrap_or("");
    assert!(held.contains("budget[2026]"), "{out}");
}

#[test]
fn simulate_cases_weights_each_case_by_its_probability() {
    let o = run(&["simulate", "examples/startup.toml", "--cases", "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["format"], "gigawatt-simulation-cases");
    let probs: Vec<f64> = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["probability"].as_f64().unwrap())
        .collect();
    assert_eq!(probs, [0.3, 0.5, 0.2]);
    for plan in v["plans"].as_array().unwrap() {
        let by_case = plan["by_case"].as_array().unwrap();
        let weighted: f64 = by_case
            .iter()
            .map(|c| c["probability"].as_f64().unwrap() * c["metrics"]["npv_usd"].as_f64().unwrap())
            .sum();
        let expected = plan["expected"]["npv_usd"].as_f64().unwrap();
        assert!(
            (weighted - expected).abs() <= 1e-9 * expected.abs().max(1.0),
            "{weighted} vs {expected}"
        );
        // Worst 5 % of a distribution whose lowest case has 30 % or more weight is that case.
        let lowest = by_case
            .iter()
            .map(|c| c["metrics"]["npv_usd"].as_f64().unwrap())
            .fold(f64::INFINITY, f64::min);
        assert!((plan["npv_cvar95_usd"].as_f64().unwrap() - lowest).abs() < 1e-6);
    }
    // Cases are deterministic: a second run gives the same bytes.
    assert_eq!(
        run(&["simulate", "examples/startup.toml", "--cases", "--json"]).stdout,
        o.stdout
    );
}

#[test]
fn plan_reports_value_of_information() {
    let o = run(&[
        "plan",
        "examples/startup.toml",
        "--paths",
        "5",
        "--oos-paths",
        "200",
        "--quiet",
        "--json",
        "--value-of-information",
        "--branching",
        "2",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let voi = &v["value_of_information"];
    // For a maximisation: EEV <= RP <= WS, so VSS >= 0 and EVPI >= 0.
    let tol = 1e-6 * voi["rp"].as_f64().unwrap().abs().max(1.0);
    assert!(voi["vss"].as_f64().unwrap() >= -tol, "{voi}");
    assert!(voi["evpi"].as_f64().unwrap() >= -tol, "{voi}");
    assert!(voi["eev"].as_f64().unwrap() <= voi["rp"].as_f64().unwrap() + tol);
}

#[test]
fn plan_estimates_its_optimality_gap_by_replications() {
    // Without later decisions nothing is cut on fresh paths, so the solution carried out there
    // is one the replication's programme could choose: its optimum is at least what the
    // solution earns on its paths, every difference is >= 0, and the gap is their mean with a
    // one-sided t interval: mean + t(0.95, 2) · se.
    let v = plan_startup_json(&["--replications", "3", "--no-recourse"]);
    let g = &v["optimality_gap"];
    assert_eq!(g["replications"], 3);
    assert_eq!(g["paths_per_replication"], 6);
    assert_eq!(g["rules_cut"], 0);
    let f = |x: &serde_json::Value| x.as_f64().unwrap();
    let per = g["per_replication"].as_array().unwrap();
    let gaps: Vec<f64> = per
        .iter()
        .map(|r| f(&r["optimum_usd"]) - f(&r["candidate_usd"]))
        .collect();
    for (r, d) in per.iter().zip(&gaps) {
        // (The JSON carries 10 significant digits.)
        let scale = f(&r["optimum_usd"]).abs().max(1.0);
        assert!(
            (f(&r["gap_usd"]) - d).abs() <= 1e-9 * scale,
            "maximising NPV: optimum less the solution's value"
        );
        assert!(*d >= -1e-6 * f(&g["optima_mean_usd"]).abs(), "{g}");
    }
    let mean = gaps.iter().sum::<f64>() / 3.0;
    let sd = (gaps.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
    assert!((f(&g["gap_usd"]) - mean).abs() <= 1e-6 * mean.abs().max(1.0));
    let upper = mean + 2.919_986 * sd / 3f64.sqrt();
    assert!(
        (f(&g["gap_ci95_upper_usd"]) - upper).abs() <= 1e-5 * upper.abs(),
        "{g}"
    );
    // With linear decision rules (the default), rules cut at zero on fresh paths are counted.
    let v = plan_startup_json(&["--replications", "3"]);
    let g = &v["optimality_gap"];
    let per = g["per_replication"].as_array().unwrap();
    let cut: u64 = per.iter().map(|r| r["rules_cut"].as_u64().unwrap()).sum();
    assert_eq!(g["rules_cut"].as_u64(), Some(cut));
    // A solution that cannot be carried out on a replication's paths (here the service level
    // of the cost objective) leaves the gap unestimated, with the reason; the plan stands.
    let v = plan_startup_json(&[
        "--replications",
        "2",
        "--objective",
        "cost",
        "--service-level",
        "0.5",
    ]);
    let why = v["optimality_gap"]["not_estimated"].as_str().unwrap();
    assert!(why.contains("cannot be carried out"), "{why}");
    assert!(!v["commitments"].as_array().unwrap().is_empty());
    // The replications use fresh paths: their optima differ from the programme's.
    assert_ne!(per[0]["optimum_usd"], v["objective"]);
    // A scenario tree's later decisions live on its own paths only; one replication has no
    // spread.
    for (extra, says) in [
        (
            &["--branching", "2", "--replications", "2"][..],
            "--branching",
        ),
        (&["--replications", "1"][..], "at least 2"),
    ] {
        plan_startup_refuses(extra, says);
    }
}

#[test]
fn plan_estimates_its_optimality_gap_by_replications_over_fewer_paths() {
    // Replications of 3 paths check a plan from 6: each replication is the programme over its
    // own 3 fresh paths, so its optimum is what `plan --paths 3 --seed <its seed>` reports, and
    // without later decisions the solution carried out there is still one that programme could
    // choose (every difference >= 0). Solved by decomposition to a loose gap, each replication's
    // optimum is its bound, and its stopping gap that bound less the best solution found.
    let v = plan_startup_json(&[
        "--replications",
        "2",
        "--replication-paths",
        "3",
        "--no-recourse",
        "--decompose",
        "--decompose-gap",
        "0.3",
    ]);
    let g = &v["optimality_gap"];
    assert_eq!(g["paths_per_replication"], 3);
    let f = |x: &serde_json::Value| x.as_f64().unwrap();
    for r in g["per_replication"].as_array().unwrap() {
        let seed = r["seed"].as_u64().unwrap().to_string();
        let o = run(&[
            "plan",
            "examples/startup.toml",
            "--paths",
            "3",
            "--seed",
            &seed,
            "--no-recourse",
            "--decompose",
            "--decompose-gap",
            "0.3",
            "--oos-paths",
            "10",
            "-q",
            "--json",
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let alone: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let optimum = f(&r["optimum_usd"]);
        assert!(
            (optimum - f(&alone["bound"])).abs() <= 1e-6 * optimum.abs().max(1.0),
            "replication {r} against the programme over its 3 paths: {}",
            alone["bound"]
        );
        assert!(f(&r["gap_usd"]) >= -1e-6 * optimum.abs(), "{r}");
        // Its stopping gap is that programme's bound less the best solution found (non-zero at
        // this gap: 6.7 and 11.6 $M).
        let stop = f(&alone["bound"]) - f(&alone["objective"]);
        assert!(stop > 1e6, "a stopping gap to check");
        assert!(
            (f(&r["stopping_gap_usd"]) - stop).abs() <= 1e-6 * optimum.abs().max(1.0),
            "{r} against bound {} and best {}",
            alone["bound"],
            alone["objective"]
        );
    }
    // More paths per replication than the plan has, or the flag without replications, is
    // refused with what to do.
    for (extra, says) in [
        (
            &["--replications", "2", "--replication-paths", "5"][..],
            "between 1 and --paths",
        ),
        (&["--replication-paths", "2"][..], "--replications"),
    ] {
        plan_startup_refuses(extra, says);
    }
}

#[test]
fn simulate_stops_at_the_requested_precision_on_any_thread_count() {
    let args = |t: &'static str| {
        vec![
            "simulate",
            "examples/launch-spike.toml",
            "--paths",
            "100000",
            "--target-npv-se-usd",
            "5e7",
            "--json",
            "--quiet",
            "--threads",
            t,
        ]
    };
    let a = run(&args("1"));
    let b = run(&args("2"));
    assert!(a.status.success(), "{}", text(&a.stderr));
    assert_eq!(
        a.stdout, b.stdout,
        "where a run stops must not depend on threads"
    );
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    let paths = v["paths"].as_u64().unwrap();
    assert!(paths < 100_000 && paths.is_multiple_of(8 * 1024), "{paths}");
    for plan in v["plans"].as_array().unwrap() {
        assert!(plan["metrics"]["npv_usd"]["se"].as_f64().unwrap() <= 5e7);
    }
    assert_eq!(v["max_paths"], 100_000);
    assert_eq!(v["target_reached"], true);
}

#[test]
fn plan_with_churn_models_it_and_says_so() {
    let o = run(&[
        "plan",
        "examples/startup.toml",
        "--paths",
        "4",
        "--oos-paths",
        "100",
        "--quiet",
        "--json",
        "--churn",
        "--mean-recourse",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["churn_modelled"], true);
    assert_eq!(v["scenario_has_churn"], true);
    assert!(
        v["candidates"].is_null(),
        "--mean-recourse skips the second candidate"
    );
}

#[test]
fn fixed_schedule_plans_are_all_first_stage() {
    let v = plan_startup_json(&["--fixed-schedule"]);
    let c = v["commitments"].as_array().unwrap();
    assert!(!c.is_empty());
    assert!(c.iter().all(|c| c["stage"] == "first"), "{c:?}");
    assert!(
        c.iter().any(|c| c["month"].as_str().unwrap() >= "2027-01"),
        "commitments beyond the first year are possible"
    );
}

#[test]
fn r8_resource_flags_are_bounded_before_any_work() {
    let f = "examples/startup.toml";
    let not_a_dir = root().join("README.md");
    for (args, expect) in [
        (
            vec!["simulate", f, "--threads", "1000000"],
            "--threads 1000000 is more than the 256 allowed",
        ),
        (
            vec!["plan", f, "--threads", "100000"],
            "--threads 100000 is more than the 256 allowed",
        ),
        (
            vec!["plan", "examples/frontier-lab.toml", "--paths", "100000000"],
            "use --paths",
        ),
        (
            vec!["plan", f, "--paths", "50", "--max-memory-gb", "0.001"],
            "more than the 0.0 GB allowed",
        ),
        (
            vec![
                "plan",
                "examples/frontier-lab.toml",
                "--paths",
                "20000",
                "--extensive-form",
            ],
            "or --decompose (about 13.6 GB by the same estimate)",
        ),
        (
            vec![
                "plan",
                "examples/frontier-lab.toml",
                "--paths",
                "20000",
                "--decompose",
                "--max-memory-gb",
                "4",
            ],
            "need about 13.6 GB to solve by decomposition (estimate), more than the 4.0 GB allowed; use --paths 5232 or fewer",
        ),
        (
            vec!["simulate", f, "--out", not_a_dir.to_str().unwrap()],
            "is a file, not a directory",
        ),
    ] {
        let started = std::time::Instant::now();
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(expect),
            "{args:?}: {}",
            text(&o.stderr)
        );
        // Refused up front: no programme was built and no path simulated.
        assert!(
            started.elapsed().as_secs() < 60,
            "{args:?} ran before refusing"
        );
    }
}

#[test]
fn r8_a_missed_precision_target_says_so() {
    let o = run(&[
        "simulate",
        "examples/startup.toml",
        "--paths",
        "300",
        "--target-npv-se-usd",
        "1",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.contains("precision target NOT reached"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["target_reached"], false);
    assert!(v["npv_se_achieved_usd"].as_f64().unwrap() > 1.0);
}

#[test]
fn r8_simulate_adds_the_nothing_new_baseline_on_common_paths() {
    let base = [
        "simulate",
        "examples/startup.toml",
        "--paths",
        "500",
        "--json",
        "-q",
    ];
    let o = run(&base);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let plans = v["plans"].as_array().unwrap();
    let last = plans.last().unwrap();
    assert_eq!(last["name"], "no-new-commitments");
    assert_eq!(last["automatic_baseline"], true);
    // It is exactly the scenario with one plan that commits nothing, on the same paths.
    let d = tmp("baseline");
    let src = std::fs::read_to_string(root().join("examples/startup.toml")).unwrap();
    let cut = src.find("[[plans]]").unwrap();
    let f = d.join("empty.toml");
    std::fs::write(&f, format!("{}[[plans]]\nname = \"empty\"\n", &src[..cut])).unwrap();
    let o = run(&[
        "simulate",
        f.to_str().unwrap(),
        "--paths",
        "500",
        "--json",
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        e["plans"].as_array().unwrap().len(),
        1,
        "an empty plan is its own baseline"
    );
    assert_eq!(e["plans"][0]["metrics"], last["metrics"]);
    let mut args = base.to_vec();
    args.push("--no-baseline");
    let o = run(&args);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["plans"].as_array().unwrap().len(), plans.len() - 1);
}

#[test]
fn r8_help_examples_name_plans_the_examples_have() {
    let o = run(&["simulate", "--help"]);
    let help = text(&o.stdout);
    let line = help
        .lines()
        .find(|l| l.contains("launch-spike.toml --plan"))
        .expect("an example with --plan");
    let plan = line
        .split("--plan ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    let o = run(&[
        "simulate",
        "examples/launch-spike.toml",
        "--plan",
        plan,
        "--paths",
        "10",
        "-q",
    ]);
    assert!(o.status.success(), "{line}: {}", text(&o.stderr));
}

#[test]
fn r8_the_starter_keeps_capacity_and_shows_idle_compute() {
    let d = tmp("starter");
    let o = bin().args(["init", d.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let f = d.join("scenario.toml");
    let o = bin()
        .args([
            "simulate",
            f.to_str().unwrap(),
            "--paths",
            "500",
            "--json",
            "-q",
            "--no-baseline",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for plan in v["plans"].as_array().unwrap() {
        // The fleet lives past the horizon: no plan ends with nothing.
        assert!(
            plan["capacity_end_h100e_mean"].as_f64().unwrap() > 3000.0,
            "{}",
            plan["name"]
        );
        // Spare capacity is idle, not research that was "planned": utilisation below 100 %
        // on some paths and idle capacity has a cost.
        let m = &plan["metrics"];
        assert!(
            m["utilisation"]["p10"].as_f64().unwrap() < 1.0,
            "{}",
            plan["name"]
        );
        assert!(
            m["idle_cost_usd"]["mean"].as_f64().unwrap() > 0.0,
            "{}",
            plan["name"]
        );
    }
}

#[test]
fn r7_no_continuation_solve_when_the_window_covers_the_horizon() {
    // Startup's horizon is 60 months: with a 60-month window nothing is decided later.
    let o = run(&[
        "plan",
        "examples/startup.toml",
        "--paths",
        "4",
        "--oos-paths",
        "50",
        "--window-months",
        "60",
        "--json",
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.get("candidates").is_none(), "{}", v["candidates"]);
    assert!(v["commitments"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["stage"] == "first"));
}

#[test]
fn r7_check_summarises_many_cases_on_one_short_line() {
    let d = tmp("cases");
    let src = std::fs::read_to_string(root().join("examples/startup.toml")).unwrap();
    let cut = src.find("[[cases]]").unwrap();
    let mut s = src[..cut].to_string();
    for i in 0..32 {
        s.push_str(&format!(
            "[[cases]]\nname = \"c{i}\"\nprobability_pu = 0.03125\nvalues = {{ efficiency = 0.4 }}\n\n"
        ));
    }
    let f = d.join("many.toml");
    std::fs::write(&f, s).unwrap();
    let o = bin().args(["check", f.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let line = out.lines().find(|l| l.starts_with("cases:")).unwrap();
    assert!(
        line.contains("32 in all") && line.contains("and 24 more"),
        "{line}"
    );
    assert!(line.len() < 200, "{line}");
}

#[test]
fn r8_out_without_monthly_writes_the_same_result_and_no_monthly_csv() {
    let (a, b) = (tmp("nomonthly-a"), tmp("nomonthly-b"));
    let args = |d: &Path, extra: &[&'static str]| {
        let mut v: Vec<String> = [
            "simulate",
            "examples/startup.toml",
            "--paths",
            "300",
            "-q",
            "--out",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.push(d.to_str().unwrap().to_string());
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let o = bin()
        .current_dir(root())
        .args(args(&a, &[]))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = bin()
        .current_dir(root())
        .args(args(&b, &["--no-monthly"]))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(a.join("monthly.csv").exists() && !b.join("monthly.csv").exists());
    assert_eq!(
        std::fs::read(a.join("result.json")).unwrap(),
        std::fs::read(b.join("result.json")).unwrap()
    );
}

#[test]
fn simulate_set_holds_an_input_and_rejects_impossible_values() {
    // Holding the PERT(0.2, 0.4, 0.6) efficiency input at its lowest value lowers compute per
    // unit more slowly, so the same demand needs more compute: with the fleet alone (the
    // baseline plan, whose capacity does not respond), unserved demand rises.
    let run_set = |set: &[&str]| {
        let mut args = vec![
            "simulate",
            "examples/startup.toml",
            "--paths",
            "400",
            "--json",
            "-q",
        ];
        args.extend_from_slice(set);
        let v = run_json(&args);
        let plans = v["plans"].as_array().unwrap();
        let baseline = plans
            .iter()
            .find(|p| p["automatic_baseline"] == true)
            .unwrap();
        baseline["metrics"]["unserved_share"]["mean"]
            .as_f64()
            .unwrap()
    };
    assert!(run_set(&["--set", "efficiency=0.2"]) > run_set(&["--set", "efficiency=0.6"]));
    let o = run(&[
        "simulate",
        "examples/startup.toml",
        "--set",
        "efficiency=0.9",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("outside what input `efficiency` can take (0.2 to 0.6)"));
}

#[test]
fn sensitivity_ranks_inputs_by_swing_and_writes_files() {
    let d = tmp("tornado");
    let o = run(&[
        "sensitivity",
        "examples/startup.toml",
        "--plan",
        "buy-own",
        "--paths",
        "200",
        "--json",
        "-q",
        "--out",
        d.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["format"], "gigawatt-tornado");
    assert_eq!(v["plan"], "buy-own");
    let swings: Vec<f64> = v["bars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["swing"].as_f64().unwrap().abs())
        .collect();
    assert!(swings.len() >= 3);
    assert!(swings.windows(2).all(|w| w[0] >= w[1]), "{swings:?}");
    let csv = std::fs::read_to_string(d.join("tornado.csv")).unwrap();
    assert_eq!(csv.lines().count(), swings.len() + 1);
    let o = run(&["sensitivity", "examples/startup.toml", "--metric", "npv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("unknown metric `npv`"));
    // Two plans in one tornado: one set, one CSV with a row per plan and bar.
    let o = run(&[
        "sensitivity",
        "examples/startup.toml",
        "--plan",
        "buy-own",
        "--plan",
        "lease-heavy",
        "--paths",
        "100",
        "--json",
        "-q",
        "--out",
        d.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["format"], "gigawatt-tornado-set");
    assert_eq!(v["reports"][0]["plan"], "buy-own");
    assert_eq!(v["reports"][1]["plan"], "lease-heavy");
    let csv = std::fs::read_to_string(d.join("tornado.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2 * swings.len() + 1);
    assert_eq!(
        csv.lines()
            .filter(|l| l.starts_with("lease-heavy,"))
            .count(),
        swings.len()
    );
    let o = run(&[
        "sensitivity",
        "examples/startup.toml",
        "--plan",
        "buy-own",
        "--plan",
        "lease-heavy",
        "--spider",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("several --plan are for the tornado"));
}

#[test]
fn sensitivity_break_even_between_two_plans_lies_inside_the_range() {
    let o = run(&[
        "sensitivity",
        "examples/startup.toml",
        "--plan",
        "buy-own",
        "--versus",
        "lease-heavy",
        "--break-even",
        "ft_growth",
        "--paths",
        "300",
        "--json",
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["format"], "gigawatt-break-even");
    let (lo, hi) = (
        v["range"]["low"].as_f64().unwrap(),
        v["range"]["high"].as_f64().unwrap(),
    );
    let x = v["break_even_value"].as_f64().unwrap();
    assert!(lo < x && x < hi, "{x} outside [{lo}, {hi}]");
    // The gap changes sign across the range.
    let (a, b) = (
        v["gap_at_ends"]["low"].as_f64().unwrap(),
        v["gap_at_ends"]["high"].as_f64().unwrap(),
    );
    assert!(a * b < 0.0, "{a} {b}");
}

#[test]
fn rank_orders_the_plans_projects_and_writes_files() {
    let d = tmp("rank");
    let o = run(&[
        "rank",
        "examples/startup.toml",
        "--plan",
        "lease-heavy",
        "--add-from",
        "buy-own",
        "--paths",
        "300",
        "--json",
        "-q",
        "--out",
        d.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["format"], "gigawatt-rank");
    let projects = v["projects"].as_array().unwrap();
    assert!(projects.iter().any(|p| p["change"] == "add"));
    // Dropped projects come first, in order of the NPV gained by dropping them.
    let gains: Vec<f64> = projects
        .iter()
        .filter(|p| p["change"] == "drop")
        .map(|p| {
            p["differences_vs_plan"]["npv_usd"]["mean"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert!(gains.windows(2).all(|w| w[0] >= w[1]), "{gains:?}");
    assert!(d.join("rank.csv").exists() && d.join("rank.json").exists());
    let o = run(&["rank", "examples/startup.toml", "--plan", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no plan named `nope`"));
}

#[test]
fn counterfactual_reports_what_the_launch_did_and_names_unknown_events() {
    let o = run(&[
        "counterfactual",
        "examples/launch-spike.toml",
        "--without",
        "image-generator",
        "--paths",
        "300",
        "--json",
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["format"], "gigawatt-counterfactual");
    // A launch that raises demand cannot lower unserved demand on the same paths.
    assert!(v["metrics"]["unserved_share"]["effect"].as_f64().unwrap() > 0.0);
    let o = run(&[
        "counterfactual",
        "examples/launch-spike.toml",
        "--without",
        "nope",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("the scenario's launches and events: image-generator"));
}

#[test]
fn compare_two_files_names_the_changed_input() {
    let d = tmp("compare");
    let src = std::fs::read_to_string(root().join("examples/startup.toml")).unwrap();
    let faster = src.replace(
        "mean = 0.6, sd = 0.3, id = \"ft_growth\"",
        "mean = 0.9, sd = 0.3, id = \"ft_growth\"",
    );
    assert_ne!(src, faster);
    let f = d.join("faster.toml");
    std::fs::write(&f, faster).unwrap();
    let o = run(&[
        "compare",
        "examples/startup.toml",
        f.to_str().unwrap(),
        "--plan",
        "buy-own",
        "--paths",
        "300",
        "--json",
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["format"], "gigawatt-compare");
    assert_eq!(v["changed_inputs"], serde_json::json!(["ft_growth"]));
    // Faster growth of a segment the plan serves raises its revenue on the same paths.
    assert!(
        v["metrics"]["cum_revenue_usd"]["difference"]
            .as_f64()
            .unwrap()
            > 0.0
    );
}

#[test]
fn report_writes_a_page_and_a_workbook_and_refuses_bad_requests() {
    let d = tmp("report");
    let html = d.join("r.html");
    let xlsx = d.join("r.xlsx");
    let o = run(&[
        "report",
        "examples/startup.toml",
        "--paths",
        "200",
        "-q",
        "--out",
        html.to_str().unwrap(),
        "--xlsx",
        xlsx.to_str().unwrap(),
        "--per-path",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.trim_end().ends_with("</html>"));
    assert_eq!(&std::fs::read(&xlsx).unwrap()[..2], b"PK");
    // Resource limit: every path is kept for the charts.
    let o = run(&["report", "examples/startup.toml", "--paths", "5000000"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("more than a report keeps"));
    // A plan result that is not one.
    let not_plan = d.join("x.json");
    std::fs::write(&not_plan, "{\"format\": \"gigawatt-simulation\"}").unwrap();
    let o = run(&[
        "report",
        "examples/startup.toml",
        "--paths",
        "50",
        "-q",
        "--out",
        html.to_str().unwrap(),
        "--plan-results",
        not_plan.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("is not a `gigawatt plan` result"));
}

#[test]
fn the_classic_tornado_runs_on_inputs_named_by_field_path() {
    // Inputs without an id are held by their field path on the median case too.
    let o = run(&[
        "sensitivity",
        "examples/startup.toml",
        "--others-at-median",
        "--json",
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["method"], "others_at_median");
    let bars = doc["bars"].as_array().unwrap();
    assert!(bars
        .iter()
        .any(|b| b["input"].as_str().unwrap().contains('[')));
    assert!(bars.iter().all(|b| b["swing_se"] == 0.0));
}

#[test]
fn without_event_switches_a_launch_off_and_names_unknown_ones() {
    // launch-spike's image launch switched off changes revenue; an unknown event is a clear
    // error (the counterfactual command compares the two runs path by path).
    let with = run(&[
        "simulate",
        "examples/launch-spike.toml",
        "--paths",
        "300",
        "--json",
        "-q",
    ]);
    let without = run(&[
        "simulate",
        "examples/launch-spike.toml",
        "--paths",
        "300",
        "--json",
        "-q",
        "--without-event",
        "image-generator",
    ]);
    assert!(
        with.status.success() && without.status.success(),
        "{}",
        text(&without.stderr)
    );
    let doc = |o: &Output| -> serde_json::Value { serde_json::from_slice(&o.stdout).unwrap() };
    let rev = |d: &serde_json::Value| {
        d["plans"][0]["metrics"]["cum_revenue_usd"]["mean"]
            .as_f64()
            .unwrap()
    };
    assert!(rev(&doc(&with)) != rev(&doc(&without)));
    // The same flag on simulate, the analyses and plan.
    for cmd in ["simulate", "rank", "sensitivity", "plan"] {
        let bad = run(&[
            cmd,
            "examples/launch-spike.toml",
            "--paths",
            "10",
            "--without-event",
            "nope",
        ]);
        assert_eq!(bad.status.code(), Some(2), "{cmd}");
        assert!(
            text(&bad.stderr).contains("no launch or event is named `nope`"),
            "{cmd}"
        );
    }
    let ok = run(&[
        "sensitivity",
        "examples/launch-spike.toml",
        "--paths",
        "50",
        "-q",
        "--without-event",
        "image-generator",
    ]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
}

#[test]
fn r11_an_event_changes_only_the_paths_where_it_happens() {
    // The starter scenario with a price war: switching it off changes exactly the paths on
    // which it happened (about its probability), and none when it (almost) never happens.
    // Paths whose metrics hold NaN used to count as changed.
    let d = tmp("event-share");
    let o = bin().args(["init", d.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success());
    let f = d.join("scenario.toml");
    let base = std::fs::read_to_string(&f).unwrap();
    for (p, lo, hi) in [(0.0001, 0.0, 0.0), (0.3, 0.24, 0.36)] {
        let src = format!(
            "{base}\n[[events]]\nname = \"price-war\"\nkind = \"price_war\"\nwindow_start = \"2027-01\"\nwindow_end = \"2028-12\"\nprobability_pu = {p}\nshare_pu = {{ dist = \"uniform\", min = 0.2, max = 0.5 }}\n"
        );
        std::fs::write(&f, src).unwrap();
        let o = run(&[
            "counterfactual",
            f.to_str().unwrap(),
            "--without",
            "price-war",
            "--plan",
            "steady",
            "--paths",
            "500",
            "--json",
            "-q",
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let share = v["changed_share"].as_f64().unwrap();
        assert!(
            (lo..=hi).contains(&share),
            "probability {p}: changed on {share}"
        );
    }
}

#[test]
fn r11_simulate_says_what_it_changed_and_check_lists_the_deals() {
    let o = run(&[
        "simulate",
        "examples/launch-spike.toml",
        "--paths",
        "50",
        "--scale",
        "segments=1.2",
        "--set",
        "growth=0.5",
        "--without-event",
        "image-generator",
    ]);
    let err = text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("held: growth = 0.5 on every path"), "{err}");
    assert!(
        err.contains("scaled: every input of segments × 1.2 on every path"),
        "{err}"
    );
    assert!(err.contains("switched off: image-generator"), "{err}");
    // A negative factor and a malformed flag are clear errors, not panics.
    let o = run(&[
        "simulate",
        "examples/startup.toml",
        "--scale",
        "ft_growth=-1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("must be a finite number at least 0"));
    let o = run(&["simulate", "examples/startup.toml", "--scale", "ft_growth"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--scale takes NAME=VALUE"));
    let o = run(&[
        "sensitivity",
        "examples/startup.toml",
        "--break-even",
        "ft_growth",
        "--range",
        "1,x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--range 1,x: `x` is not a finite number"));
    // --pairing forces an unpaired comparison even of a file with itself.
    let o = run(&[
        "compare",
        "examples/startup.toml",
        "examples/startup.toml",
        "--paths",
        "50",
        "--pairing",
        "unpaired",
        "--json",
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["pairing"], "unpaired");
    assert_ne!(v["seed_second"], v["seed"]);
    // check's summary names the example's deals.
    let o = run(&["check", "examples/frontier-lab.toml"]);
    let out = text(&o.stdout);
    for line in [
        "80 % financed at 9.0 %/yr over 60 months",
        "spend ramp [0.4, 0.8, 1.0, 1.0, 1.0] by contract year",
        "revenue share: 20 % to Microsoft",
        "vendor investment: Nvidia pays",
        "up to $100B",
    ] {
        assert!(out.contains(line), "missing `{line}` in:\n{out}");
    }
}

#[cfg(feature = "highs")]
#[test]
fn decompose_sessions_beyond_the_memory_are_refused_with_the_bases_estimate() {
    // 3,000 paths of frontier-lab (4.332e6 columns) kept as live sessions need about 2,000
    // bytes a column (8.66 GB); rebuilt from their bases 0.6 GB + 450 bytes a column (2.55 GB,
    // printed 2.5). With 6 GB allowed, the error names the sessions' limit that fits.
    let o = run(&[
        "plan",
        "examples/frontier-lab.toml",
        "--solver",
        "highs",
        "--paths",
        "3000",
        "--decompose",
        "--decompose-sessions",
        "5000",
        "--max-memory-gb",
        "6",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let e = text(&o.stderr);
    assert!(
        e.contains("need about 8.7 GB to solve by decomposition"),
        "{e}"
    );
    assert!(
        e.contains("or --decompose-sessions 2999 or fewer (each path's subproblem rebuilt from its last basis: about 2.5 GB"),
        "{e}"
    );
}

#[cfg(feature = "highs")]
#[test]
fn a_decomposition_long_without_recourse_everywhere_suggests_the_extensive_form() {
    // startup's cost programme at 30 paths still leaves some paths without a feasible
    // recourse at iteration 50 (it ends near iteration 126); its extensive form has about
    // 10,000 columns. The note comes once, at iteration 50; the run is stopped there.
    use std::io::BufRead;
    let mut child = bin()
        .current_dir(root())
        .args([
            "plan",
            "examples/startup.toml",
            "--solver",
            "highs",
            "--paths",
            "30",
            "--oos-paths",
            "100",
            "--objective",
            "cost",
            "--decompose",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.unwrap();
        let done = line.contains("iteration  51:");
        seen.push(line);
        if done || seen.len() > 400 {
            break;
        }
    }
    child.kill().ok();
    child.wait().ok();
    let notes: Vec<&String> = seen
        .iter()
        .filter(|l| l.starts_with("note: after 50 iterations"))
        .collect();
    assert_eq!(notes.len(), 1, "{}", seen.join("\n"));
    assert!(
        notes[0].contains("The extensive form (10032 columns, about 25 MB) fits this machine")
            && notes[0].ends_with("use --extensive-form instead of --decompose"),
        "{}",
        notes[0]
    );
}

#[cfg(feature = "highs")]
#[test]
fn frontier_labs_cost_programme_is_diagnosed_in_shares_of_demand() {
    // frontier-lab's demand reaches 10⁸–10⁹ H100e-months a path. With the service level
    // written in H100e-months, HiGHS stopped with an error at 5 paths, and at 2 paths the
    // diagnosis moved the level by 2.6·10⁹ against a bound of 1.8·10⁸. Written as a share,
    // the programme is found infeasible (its high-demand paths cannot reach half their demand
    // with what arrives in time) and the move is a share no larger than the level.
    for paths in ["2", "5"] {
        let o = run(&[
            "plan",
            "examples/frontier-lab.toml",
            "--solver",
            "highs",
            "--objective",
            "cost",
            "--service-level",
            "0.5",
            "--paths",
            paths,
            "--oos-paths",
            "50",
            "--json",
        ]);
        assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let d = &v["diagnosis"][0];
        assert_eq!(d["limit"], "service_level", "{v}");
        assert_eq!(d["unit"], "share of product demand served");
        assert_eq!(d["bound"].as_f64().unwrap(), 0.5);
        let m = d["move_by"].as_f64().unwrap();
        assert!(m > 0.0 && m <= 0.5 + 1e-9, "{v}");
    }
}

#[cfg(feature = "highs")]
#[test]
fn the_cost_programme_by_decomposition_reaches_the_extensive_forms_optimum() {
    // startup's cost programme (a 99 % service level on every path) over 8 paths: some master
    // points leave paths with no feasible recourse. The decomposition must still end with a
    // plan every path carries out, within its gap of the extensive form's optimum (solved to
    // a 10⁻⁵ MIP gap), with its bound below that optimum. Before the penalised values beside
    // the feasibility cuts, it found no feasible point at all.
    let plan = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "plan",
            "examples/startup.toml",
            "--solver",
            "highs",
            "--objective",
            "cost",
            "--paths",
            "8",
            "--oos-paths",
            "50",
            "--json",
        ];
        args.extend_from_slice(extra);
        run_json(&args)
    };
    let ef = plan(&["--mip-gap", "0.00001"]);
    let d = plan(&["--decompose"]);
    let optimum = ef["objective"].as_f64().unwrap();
    assert!(ef["gap"].as_f64().unwrap() <= 1e-5, "{ef}");
    assert_eq!(d["status"], "optimal", "{d}");
    assert_eq!(d["decomposition"]["converged"], true);
    let (cost, bound, gap) = (
        d["objective"].as_f64().unwrap(),
        d["bound"].as_f64().unwrap(),
        d["decomposition"]["gap_target"].as_f64().unwrap(),
    );
    // A cost: the bound is below the optimum, the plan's cost above it (both within the
    // extensive form's own 10⁻⁵), and the two within the decomposition's gap.
    assert!(
        bound <= optimum * (1.0 + 1e-5),
        "bound {bound}, optimum {optimum}"
    );
    assert!(
        cost >= optimum * (1.0 - 1e-5),
        "cost {cost}, optimum {optimum}"
    );
    assert!(cost - bound <= gap * cost, "{cost} {bound} {gap}");
    // The run did meet master points that some path cannot carry out (what this tests).
    let its = d["decomposition"]["iterations"].as_array().unwrap();
    assert!(
        its.iter()
            .any(|i| i["infeasible_subproblems"].as_u64().unwrap() > 0),
        "{d}"
    );
}

#[cfg(feature = "highs")]
#[test]
fn plan_decompose_with_highs_says_how_it_kept_the_subproblems() {
    // The capacity-expansion cases (two paths) by decomposition with HiGHS: live sessions up
    // to --decompose-sessions paths, each path's last basis beyond; the same screening-curve
    // cost, $1,492.85, within the default gap either way.
    for (sessions, kept) in [("2", "sessions"), ("1", "bases")] {
        let o =
            plan_capacity_expansion_by("highs", &["--decompose", "--decompose-sessions", sessions]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["decomposition"]["subproblems"], kept);
        let objective = v["objective"].as_f64().unwrap();
        assert!(
            (objective - 1492.85).abs() < 1.5e-3 * 1492.85,
            "{kept}: objective {objective}"
        );
    }
}

#[test]
fn plan_decomposes_a_rules_programme_over_many_paths_unless_asked_for_the_extensive_form() {
    // Over 200 paths with linear decision rules `plan` solves by decomposition (and says so),
    // to the gap the extensive form stops at (--mip-gap, 1 % by default); --extensive-form
    // solves the same programme whole. Both reach its optimum within that gap.
    let go = |extra: &[&str]| {
        let base = [
            "plan",
            "examples/launch-spike.toml",
            "--paths",
            "201",
            "--oos-paths",
            "50",
            "--json",
        ];
        run_json_noting(&[&base[..], extra].concat())
    };
    let (d, note) = go(&[]);
    assert!(d["decomposition"].is_object(), "{}", d["decomposition"]);
    assert_eq!(d["decomposition"]["gap_target"], 0.01);
    assert!(
        note.contains("solved by decomposition to a gap of 0.01"),
        "{note}"
    );
    // --decompose-gap still sets it.
    let (g, _) = go(&["--decompose-gap", "0.001"]);
    assert_eq!(g["decomposition"]["gap_target"], 0.001);
    let (e, note) = go(&["--extensive-form"]);
    assert!(e["decomposition"].is_null(), "{}", e["decomposition"]);
    assert!(!note.contains("solved by decomposition"), "{note}");
    let (a, b) = (
        d["objective"].as_f64().unwrap(),
        e["objective"].as_f64().unwrap(),
    );
    assert!((a - b).abs() <= 1e-2 * b.abs(), "decomposed {a}, whole {b}");
    // Both at once is refused.
    plan_startup_refuses(
        &["--decompose", "--extensive-form"],
        "'--decompose' cannot be used with '--extensive-form'",
    );
    // Below the threshold the extensive form stays the default.
    let v = run_json(&[
        "plan",
        "examples/launch-spike.toml",
        "--paths",
        "200",
        "--oos-paths",
        "50",
        "--json",
        "--quiet",
    ]);
    assert!(v["decomposition"].is_null());
}
