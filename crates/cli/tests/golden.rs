//! Golden outputs: `simulate` and `plan` on the three examples, as JSON and as the terminal
//! table, compared with the files in `tests/golden/`. A change to any printed number is then a
//! reviewed diff. Floats are rounded to 10 significant digits and timings are redacted;
//! `UPDATE_EXPECT=1 cargo test -p gigawatt-cli --test golden` rewrites the files.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn gigawatt(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_gigawatt"))
        .current_dir(root())
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Rounds every float to 10 significant digits and blanks wall-clock fields.
fn normalise(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap();
            let r: f64 = format!("{x:.9e}").parse().unwrap();
            *v = serde_json::json!(r);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(normalise),
        serde_json::Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if k.ends_with("_seconds") {
                    *x = serde_json::json!("<redacted>");
                } else {
                    normalise(x);
                }
            }
        }
        _ => {}
    }
}

fn check(name: &str, got: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if want != got {
        let line = want
            .lines()
            .zip(got.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(got.lines().count()));
        panic!(
            "{name} differs from tests/golden/{name} at line {}:\n  want: {}\n  got:  {}\n\
             (review the change; UPDATE_EXPECT=1 cargo test -p gigawatt-cli --test golden accepts it)",
            line + 1,
            want.lines().nth(line).unwrap_or("<end>"),
            got.lines().nth(line).unwrap_or("<end>")
        );
    }
}

/// Blanks wall-clock times in a text report: a number followed by " s" becomes "<t> s".
fn redact_times(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        let redacted: Vec<&str> = words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let next_is_s = words
                    .get(i + 1)
                    .is_some_and(|n| n.trim_end_matches([',', ')', ';']) == "s");
                if next_is_s && w.parse::<f64>().is_ok() {
                    "<t>"
                } else {
                    w
                }
            })
            .collect();
        out.push_str(&redacted.join(" "));
        out.push('\n');
    }
    out
}

fn json(args: &[&str]) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&gigawatt(args)).unwrap();
    normalise(&mut v);
    serde_json::to_string_pretty(&v).unwrap() + "\n"
}

#[test]
fn simulate_outputs_match_the_golden_files_on_one_and_two_threads() {
    for ex in ["frontier-lab", "startup", "launch-spike"] {
        let file = format!("examples/{ex}.toml");
        let base = ["simulate", file.as_str(), "--paths", "600", "-q"];
        let one = json(&[&base[..], &["--json", "--threads", "1"]].concat());
        let two = json(&[&base[..], &["--json", "--threads", "2"]].concat());
        assert_eq!(one, two, "{ex}: results depend on the thread count");
        check(&format!("simulate-{ex}.json"), &one);
        check(&format!("simulate-{ex}.txt"), &gigawatt(&base));
    }
}

#[test]
fn plan_output_matches_the_golden_file() {
    let args = [
        "plan",
        "examples/startup.toml",
        "--paths",
        "6",
        "--oos-paths",
        "300",
        "--solver",
        "microlp",
        "-q",
    ];
    check(
        "plan-startup.json",
        &json(&[&args[..], &["--json"]].concat()),
    );
    let extra = [
        "--value-of-information",
        "--frontier",
        "0,1",
        "--replications",
        "2",
    ];
    check(
        "plan-startup.txt",
        &redact_times(&gigawatt(&[&args[..], &extra[..]].concat())),
    );
    check(
        "plan-startup-extras.json",
        &json(&[&args[..], &extra[..], &["--json"]].concat()),
    );
    // An infeasible programme: the diagnosis, in words and in JSON.
    let infeasible = [
        "plan",
        "examples/startup.toml",
        "--paths",
        "3",
        "--solver",
        "microlp",
        "-q",
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
    ];
    let o = Command::new(env!("CARGO_BIN_EXE_gigawatt"))
        .current_dir(root())
        .args(infeasible)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    check("plan-infeasible.txt", &String::from_utf8(o.stdout).unwrap());
}
