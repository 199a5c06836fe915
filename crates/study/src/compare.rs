//! How two scenario files differ, metric by metric, for one plan.
//!
//! Both files are simulated with the same seed and path count. Every random number is keyed by
//! (seed, input id or field path, path), so inputs that keep their id (or their place in the
//! file) draw the same values in both: a path in one file is the same world as that path in the
//! other, with only the changed assumptions different (common random numbers). The report gives
//! each metric's mean in both files and the mean of the per-path differences with its standard
//! error.
//!
//! That holds only when the two files have the same random streams: the same uncertain inputs
//! by name, and the same segments, launches, funding rounds and events (whose noise and timing draws
//! are keyed by name; an option's lead-time draws are keyed by its name too, but an option one
//! file adds is a choice, not another world, and leaves the pairing). When they do not, a path in one file is not the same
//! world in the other, and the comparison is unpaired: the second file is simulated on an
//! independent seed, the difference is the difference of the means and its standard error
//! √(se_a² + se_b²). The report says which it did and why.

use std::fmt::Write as _;

use gigawatt_model::ValidScenario;
use serde_json::{json, Value};

use crate::render::num;

use crate::paired::{self, paired_metrics, per_path_rows, PairedMetric};
use crate::{Progress, StudyError};

/// What [`compare`] is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareRequest {
    /// Paths (the same in both files).
    pub paths: u64,
    /// Seed (the same in both files).
    pub seed: u64,
    /// The plan, which both files must have (None: each file's first plan).
    pub plan: Option<String>,
    /// Paired or unpaired (None: paired exactly when the files have the same random streams).
    pub paired: Option<bool>,
}

/// How two files differ.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareReport {
    /// The two scenarios' names.
    pub scenarios: (String, String),
    /// The plan in each.
    pub plans: (String, String),
    /// Paths and seed.
    pub paths: u64,
    /// See `paths`.
    pub seed: u64,
    /// Inputs of the first file that the second lacks, or whose distribution differs (by name).
    pub changed_inputs: Vec<String>,
    /// True when the difference is taken path by path on common random numbers; false when
    /// the second file ran on an independent seed (`seed_second`).
    pub paired: bool,
    /// The second file's seed (`seed` when paired).
    pub seed_second: u64,
    /// The random streams one file has and the other lacks (`input ID`, `segment NAME`,
    /// `launch SEGMENT/NAME`, `round MONTH #i`, `event NAME`).
    pub unmatched_streams: Vec<String>,
    /// Per metric: `a` in the first file, `b` in the second, `difference` b − a (path by path
    /// when paired).
    pub metrics: Vec<PairedMetric>,
}

/// XOR-ed into the seed for the second file of an unpaired comparison.
const UNPAIRED_STREAM: u64 = 0xC0A7_9A2E_D000_0002;

/// The scenario's named random streams that make a path's world: uncertain inputs, segments'
/// growth noise, launches, funding rounds and `[[events]]`.
fn streams(sc: &ValidScenario) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    sc.visit_uncertain(&mut |field, u| {
        if !matches!(u.dist, gigawatt_model::Dist::Fixed(_)) {
            out.insert(format!(
                "input {}",
                u.id.clone().unwrap_or_else(|| field.path())
            ));
        }
    });
    for s in &sc.segments {
        out.insert(format!("segment {}", s.name));
        for l in &s.launches {
            out.insert(format!("launch {}/{}", s.name, l.name));
        }
    }
    for (i, r) in sc.finance.rounds.iter().enumerate() {
        out.insert(format!("round {} #{i}", r.month));
    }
    for e in &sc.events {
        out.insert(format!("event {}", e.name));
    }
    out
}

/// The uncertain inputs by name with their distributions, for the list of changed inputs.
fn inputs(sc: &ValidScenario) -> Vec<(String, String)> {
    let mut out = Vec::new();
    sc.visit_uncertain(&mut |field, u| {
        let name = u.id.clone().unwrap_or_else(|| field.path());
        out.push((name, format!("{:?}", u.dist)));
    });
    out
}

/// Simulates `a` and `b` on the same paths and compares one plan's metrics.
pub fn compare(
    a: &ValidScenario,
    b: &ValidScenario,
    req: &CompareRequest,
    progress: &dyn Progress,
) -> Result<CompareReport, StudyError> {
    if a.horizon != b.horizon {
        return Err(StudyError::Request(format!(
            "the files cover different horizons ({} to {} and {} to {}): paths cannot be matched month by month",
            a.horizon.start, a.horizon.end, b.horizon.start, b.horizon.end
        )));
    }
    progress.note(&format!(
        "simulating both files on the same {} paths...",
        req.paths
    ));
    let (sa, sb) = (streams(a), streams(b));
    let unmatched_streams: Vec<String> = sa.symmetric_difference(&sb).cloned().collect();
    let paired = req.paired.unwrap_or(unmatched_streams.is_empty());
    let seed_second = if paired {
        req.seed
    } else {
        gigawatt_sim::sample::mix(req.seed ^ UNPAIRED_STREAM)
    };
    let plan = |sc: &ValidScenario| crate::chosen_plan(sc, req.plan.as_deref()).1;
    let (pa, ra) = per_path_rows(a, &plan(a), req.paths, req.seed, Vec::new())?;
    let (pb, rb) = per_path_rows(b, &plan(b), req.paths, seed_second, Vec::new())?;
    let (ia, ib) = (inputs(a), inputs(b));
    let changed_inputs = ia
        .iter()
        .filter(|x| !ib.contains(x))
        .map(|x| x.0.clone())
        .chain(
            ib.iter()
                .filter(|y| !ia.iter().any(|x| x.0 == y.0))
                .map(|y| y.0.clone()),
        )
        .collect();
    let metrics = if paired {
        paired_metrics(&ra, &rb)
    } else {
        paired::unpaired_metrics(&ra, &rb)
    };
    Ok(CompareReport {
        paired,
        seed_second,
        unmatched_streams,
        scenarios: (a.name.clone(), b.name.clone()),
        plans: (pa, pb),
        paths: req.paths,
        seed: req.seed,
        changed_inputs,
        metrics,
    })
}

/// JSON (`gigawatt-compare` v1).
pub fn json(r: &CompareReport) -> Value {
    let mut m = serde_json::Map::new();
    for c in &r.metrics {
        let (lo, hi) = c.ci95();
        m.insert(
            c.metric.name().into(),
            json!({"a": num(c.a), "b": num(c.b), "difference": num(c.difference), "se": num(c.se),
                   "ci95_low": num(lo), "ci95_high": num(hi)}),
        );
    }
    json!({
        "format": "gigawatt-compare",
        "format_version": 1,
        "scenarios": [r.scenarios.0, r.scenarios.1],
        "plans": [r.plans.0, r.plans.1],
        "paths": r.paths,
        "seed": r.seed,
        "pairing": if r.paired { "paired" } else { "unpaired" },
        "seed_second": r.seed_second,
        "unmatched_streams": r.unmatched_streams,
        "changed_inputs": r.changed_inputs,
        "metrics": m,
    })
}

/// The terminal table.
pub fn text(r: &CompareReport) -> String {
    let mut s = if r.paired {
        format!(
            "`{}` (plan `{}`) against `{}` (plan `{}`): paired, the same {} paths, seed {}; difference = second − first, path by path\n",
            r.scenarios.0, r.plans.0, r.scenarios.1, r.plans.1, r.paths, r.seed
        )
    } else {
        format!(
            "`{}` (plan `{}`) against `{}` (plan `{}`): UNPAIRED, {} paths each on independent seeds {} and {}; difference = second − first of the means\n",
            r.scenarios.0, r.plans.0, r.scenarios.1, r.plans.1, r.paths, r.seed, r.seed_second
        )
    };
    if !r.unmatched_streams.is_empty() {
        let _ = writeln!(
            s,
            "random streams in one file only ({}): {}{}",
            r.unmatched_streams.len(),
            r.unmatched_streams
                .iter()
                .take(8)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            if r.unmatched_streams.len() > 8 {
                ", ..."
            } else {
                ""
            }
        );
    }
    if r.changed_inputs.is_empty() {
        s.push_str("no uncertain input differs between the files\n\n");
    } else {
        let _ = writeln!(
            s,
            "uncertain inputs that differ: {}\n",
            r.changed_inputs.join(", ")
        );
    }
    paired::table(
        &mut s,
        ("first", "second", "difference [95% CI]"),
        &r.metrics,
    );
    s
}
