//! The terminal report and the CSV files of `plan`, rendered from a [`PlanReport`].

use std::fmt::Write as _;

use gigawatt_opt::decompose::Phase;
use gigawatt_sim::MetricId;

use super::report::{
    Candidates, CommitmentRow, Found, FrontierPoint, LimitMove, NoPlan, OptimalityGap, PlanReport,
};
use crate::render::{csv_field, csv_num, money_unit};

/// Money in the report's unit, or `-` when there is no figure.
struct Money {
    unit: f64,
}

impl Money {
    fn f(&self, x: f64) -> String {
        if x.is_finite() {
            let v = x / self.unit;
            // A value that rounds to zero prints as 0.000, not -0.000.
            if v.abs() < 0.0005 {
                "0.000".into()
            } else {
                format!("{v:.3}")
            }
        } else {
            "-".into()
        }
    }
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.2}%", x * 100.0)
    } else {
        "-".into()
    }
}

/// The terminal report: the plan and its checks, or why there is no plan.
pub fn text(r: &PlanReport) -> String {
    match &r.outcome {
        Err(why) => no_plan_text(r, why),
        Ok(found) => found_text(r, found),
    }
}

fn no_plan_text(r: &PlanReport, why: &NoPlan) -> String {
    let mut text = format!("no plan: the programme is {}\n", r.status.as_str());
    match why {
        NoPlan::Limits(c) if c.is_empty() => {
            text.push_str("no limit needs to move: the elastic programme is feasible as it stands, so the verdict is numerical; try another --solver, fewer --paths or a looser --mip-gap\n");
        }
        NoPlan::Limits(c) => limits_text(c, &mut text),
        NoPlan::NotLimits => text.push_str("even with every limit relaxed it stays infeasible: check fixed first-stage values and option windows\n"),
        NoPlan::Unbounded => text.push_str("the programme is unbounded: some commitment earns more than it costs with nothing to cap it, so the objective grows without limit. Give the options a max_mw / max_h100e, set power.max_total_mw, or pass --budget-usd-per-year\n"),
        NoPlan::Stopped => text.push_str("the solver stopped before finding a feasible plan: raise --time-limit or --mip-gap\n"),
    }
    text
}

/// The limits in conflict (at most 20), then one line per kind of limit held at its bound.
fn limits_text(c: &[LimitMove], text: &mut String) {
    text.push_str(
        "limits in conflict (each would have to move by at least this much, on this many paths):\n",
    );
    let total = c.len();
    for (shown, c) in c.iter().enumerate().filter(|(_, c)| !c.held_at_bound) {
        if shown == 20 {
            let _ = writeln!(text, "  ... and {} more", total - 20);
            break;
        }
        let unit = c.unit;
        let _ = writeln!(
            text,
            "  {:<36} bound {:>12.4e} {unit}, move by {:>12.4e} {unit} on {} path(s)",
            c.limit, c.bound, c.move_by, c.paths
        );
        if !c.meaning.is_empty() {
            let _ = writeln!(text, "    ({})", c.meaning);
        }
    }
    let held: Vec<&LimitMove> = c.iter().filter(|c| c.held_at_bound).collect();
    if !held.is_empty() {
        text.push_str("held at their bound, these are the limits that force those moves:\n");
        // One line per kind of limit (budget, floor, ...), naming the first.
        let mut kinds: Vec<(&str, Vec<&LimitMove>)> = Vec::new();
        for c in &held {
            let kind = c.limit.split('[').next().unwrap_or(&c.limit);
            match kinds.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, v)) => v.push(c),
                None => kinds.push((kind, vec![c])),
            }
        }
        for (_, group) in kinds {
            let c = group[0];
            let more = if group.len() > 1 {
                format!(" and {} more like it", group.len() - 1)
            } else {
                String::new()
            };
            let meaning = if c.meaning.is_empty() {
                String::new()
            } else {
                format!(" ({})", c.meaning)
            };
            let _ = writeln!(
                text,
                "  {}{more}: at {:.4e} {}{meaning}",
                c.limit, c.bound, c.unit
            );
        }
    }
    text.push_str("The diagnosis moves the limits cheapest to move (each weighed by its bound); loosening the limits held at their bound is the other way out.\n");
}

fn found_text(r: &PlanReport, f: &Found) -> String {
    let largest = f
        .out_of_sample(MetricId::Npv)
        .mean
        .abs()
        .max(f.objective.abs());
    let largest = if largest.is_finite() { largest } else { 0.0 };
    let (unit, unit_name) = money_unit(largest);
    let b = Money { unit };
    let mut s = String::new();
    let gap = if f.gap.is_finite() { f.gap } else { 0.0 };
    let _ = writeln!(
        s,
        "plan for `{}`: {} over {} {}, status {}, objective {} {unit_name} (bound {} {unit_name}, gap {:.2}%)",
        r.scenario,
        r.solver,
        r.scenarios,
        if r.cases { "named cases" } else { "paths" },
        r.status.as_str(),
        b.f(f.objective),
        b.f(f.bound),
        gap * 100.0
    );
    let m = &r.model_size;
    let _ = writeln!(
        s,
        "model: {} columns, {} rows, {} non-zeros, {} integer; build {:.2} s, solve {:.2} s\n",
        m.columns, m.rows, m.nonzeros, m.integer_columns, r.build_seconds, r.solve_seconds
    );
    if let Some(d) = &r.decomposition {
        if let Some(last) = d.iterations.last() {
            let _ = writeln!(
                s,
                "decomposition: L-shaped over {} subproblems, {} iterations, {} between {} and {} {unit_name} (gap {}, target {:.3}%){}\n",
                r.scenarios,
                last.iteration,
                if r.objective_kind == "cost" { "cost" } else { "objective" },
                b.f(last.lower),
                b.f(last.upper),
                if last.gap.is_finite() {
                    format!("{:.3}%", last.gap * 100.0)
                } else {
                    "unknown".to_string()
                },
                d.gap_target * 100.0,
                match (d.converged, last.phase) {
                    (false, _) => "; stopped before the gap closed",
                    (true, Phase::Rounded) => "; whole blocks by rounding the relaxation: within the gap of the integer optimum, not proved to be it",
                    (true, _) => "",
                }
            );
        }
    }
    commitments_text(&f.commitments, &b, unit_name, &mut s);
    rules_text(f, &mut s);
    candidates_text(r, f, &b, unit_name, &mut s);
    checks_text(r, f, &b, unit_name, &mut s);
    agreement_text(f, &b, unit_name, &mut s);
    comparison_text(f, &b, unit_name, &mut s);
    extras_text(r, f, &b, unit_name, &mut s);
    let _ = writeln!(
        s,
        "\nTOML for `simulate` (append to the scenario):\n{}",
        f.plan_toml
    );
    s
}

fn commitments_text(rows: &[CommitmentRow], b: &Money, unit_name: &str, s: &mut String) {
    let _ = writeln!(
        s,
        "commitments:\n  {:<18} {:<8} {:>14} {:<6} {:<14} {:>14}",
        "option",
        "month",
        "amount",
        "unit",
        "stage",
        format!("capex {unit_name} (p50)")
    );
    for c in rows {
        let _ = writeln!(
            s,
            "  {:<18} {:<8} {:>14.1} {:<6} {:<14} {:>14}",
            c.option,
            c.month,
            c.amount,
            c.unit,
            c.stage,
            b.f(c.capex_usd_estimate)
        );
    }
}

/// Later commitments as linear decision rules: what each commits at the demand it is centred on
/// and per 10 % more demand observed.
fn rules_text(f: &Found, s: &mut String) {
    if f.rules.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "\nlater commitments, by rule: max(0, at centre + slope × ln(D / centre)), D the product demand (before churn and quality feedback) the month before:\n  {:<18} {:<8} {:>14} {:>16} {:<6} {:>16}",
        "option", "month", "at centre", "per +10 % demand", "unit", "centre H100e"
    );
    for r in &f.rules {
        let _ = writeln!(
            s,
            "  {:<18} {:<8} {:>14.1} {:>16.1} {:<6} {:>16.1}",
            r.option,
            r.month,
            no_negative_zero(r.intercept),
            no_negative_zero(1.1f64.ln() * r.slope),
            r.unit,
            r.centre_h100e
        );
    }
}

/// `v`, or 0 where it would print as "-0.0" at one decimal (a solver's −10⁻¹⁰).
fn no_negative_zero(v: f64) -> f64 {
    if v.abs() < 0.05 {
        0.0
    } else {
        v
    }
}

fn candidates_text(r: &PlanReport, f: &Found, b: &Money, unit_name: &str, s: &mut String) {
    let is_cost = r.objective_kind == "cost";
    match &f.candidates {
        None => {}
        Some(Candidates::Skipped(note)) => {
            let _ = writeln!(s, "\nlater commitments: the programme chooses them path by path; the plan simulated fixes them at their mean over paths ({note}).");
        }
        Some(Candidates::NotFound { status, .. }) => {
            let _ = writeln!(
                s,
                "\nlater commitments: the programme chooses them path by path; the plan simulated fixes them at their mean over paths (the best fixed schedule after the first stage was not found in time: {}).",
                status.as_str()
            );
        }
        Some(
            c @ Candidates::Compared {
                mean_npv_usd,
                continuation: k,
            },
        ) => {
            let _ = writeln!(
                s,
                "\nlater commitments: the programme chooses them path by path ({} {unit_name} {}, {} for one plan on these scenarios).\nTwo fixed versions simulated on the same paths (NPV): at their mean over paths {} {unit_name}; the best fixed schedule after the first stage {} {unit_name} (programme {} {unit_name} over {} scenarios). Reported: {}.",
                b.f(f.in_sample.expected_value),
                if is_cost { "expected cost" } else { "expected NPV" },
                if is_cost { "a lower bound" } else { "an upper bound" },
                b.f(*mean_npv_usd),
                b.f(k.simulated_npv_mean_usd),
                b.f(k.programme.expected_value),
                k.scenarios,
                if c.continued() { "the fixed schedule" } else { "the mean" }
            );
        }
    }
}

/// The programme's value next to the plan simulated in and out of sample.
fn checks_text(r: &PlanReport, f: &Found, b: &Money, unit_name: &str, s: &mut String) {
    let programme = match &f.candidates {
        Some(c @ Candidates::Compared { continuation, .. }) if c.continued() => {
            continuation.programme
        }
        _ => f.in_sample,
    };
    // A cost programme's values are costs, not NPV: said on their own line, not in the table.
    let (prog_ev, prog_cvar) = if r.objective_kind == "cost" {
        let _ = writeln!(
            s,
            "\nprogramme of the plan simulated: expected cost {} {unit_name}, CVaR95 of cost {} {unit_name}",
            b.f(programme.expected_value),
            b.f(programme.cvar_loss)
        );
        (f64::NAN, f64::NAN)
    } else {
        (programme.expected_value, programme.cvar_loss)
    };
    let row = |s: &mut String, label: &str, prog: String, ins: String, oos: String| {
        let _ = writeln!(s, "{label:<22} {prog:>14} {ins:>14} {oos:>14}");
    };
    let _ = writeln!(s);
    row(
        s,
        &format!("{unit_name} (NPV unless noted)"),
        "programme".into(),
        "sim in-sample".into(),
        "sim out-of-sample".into(),
    );
    let (ins, oos) = (|id| f.in_sample_sim(id), |id| f.out_of_sample(id));
    let npv = MetricId::Npv;
    row(
        s,
        "expected NPV",
        b.f(prog_ev),
        b.f(ins(npv).mean),
        b.f(oos(npv).mean),
    );
    row(
        s,
        "NPV standard error",
        String::new(),
        b.f(ins(npv).se),
        b.f(oos(npv).se),
    );
    row(
        s,
        "CVaR95 of NPV loss",
        b.f(prog_cvar),
        b.f(-ins(npv).cvar95),
        b.f(-oos(npv).cvar95),
    );
    let gap = MetricId::FundingGap;
    row(
        s,
        "funding gap (mean)",
        String::new(),
        b.f(ins(gap).mean),
        b.f(oos(gap).mean),
    );
    let un = MetricId::UnservedShare;
    row(
        s,
        "unserved share (mean)",
        String::new(),
        pct(ins(un).mean),
        pct(oos(un).mean),
    );
    if f.commitments.iter().any(|c| c.stage == "recourse_mean") {
        let _ = writeln!(s, "\nnote: later decisions differ by path in the programme; the plan simulated fixes them at their mean over paths. `--fixed-schedule` optimises that kind of fixed plan directly.");
    }
    if !r.churn_modelled && r.scenario_has_churn {
        let _ = writeln!(s, "\nnote: the programme treats demand turned away as coming back; the simulator loses a share of it (churn). `--churn` models that exactly, at a longer solve.");
    }
}

/// The programme's value against the plan simulated, and what explains the difference.
fn agreement_text(f: &Found, b: &Money, unit_name: &str, s: &mut String) {
    let Some(g) = &f.agreement else { return };
    let diff = g.programme_usd - g.out_of_sample_usd;
    let _ = writeln!(
        s,
        "\nprogramme against simulation: the programme values the plan at {} ± {} {unit_name}; simulated out of sample it is worth {} ± {}: {} by {} {unit_name}, {} 5 % and 3 standard errors.",
        b.f(g.programme_usd),
        b.f(g.programme_se_usd),
        b.f(g.out_of_sample_usd),
        b.f(g.out_of_sample_se_usd),
        if diff >= 0.0 { "higher" } else { "lower" },
        b.f(diff.abs()),
        if g.within { "within" } else { "beyond" }
    );
    if !g.in_sample_usd.is_finite() {
        // Named cases: no sampled paths of the programme's own to compare on.
        return;
    }
    let _ = write!(
        s,
        "  On the programme's own paths the plan simulates to {}",
        b.f(g.in_sample_usd)
    );
    if !g.steps.is_empty() {
        let _ = write!(s, "; switching off in turn what the programme leaves out:");
    }
    let mut last = g.in_sample_usd;
    for (effect, v) in &g.steps {
        let change = v - last;
        let sign = if change >= 0.0 { "+" } else { "-" };
        let _ = write!(
            s,
            " {effect} → {} ({sign}{}),",
            b.f(*v),
            b.f(change.abs()).trim()
        );
        last = *v;
    }
    let _ = writeln!(
        s,
        "{} leaving {} {unit_name} of the programme's value to the rest of the model (it serves the segments worth most per H100e each month where the simulator follows one order; bought chips wait for space; rounding to blocks){}.",
        if g.steps.is_empty() { ";" } else { "" },
        b.f(g.unexplained_usd()).trim(),
        if f.policy == "clairvoyant_recourse" {
            ", and most of all to the programme choosing later commitments per path with the path's future in view"
        } else {
            ""
        }
    );
}

/// Every plan out of sample on common random numbers, and which is best.
fn comparison_text(f: &Found, b: &Money, unit_name: &str, s: &mut String) {
    let _ = writeln!(s, "\nout of sample, common random numbers:");
    for p in &f.comparison {
        let vs = p.npv_vs_optimised.map_or(String::new(), |d| {
            format!(
                "  NPV vs optimised {} [{}, {}]",
                b.f(d.mean),
                b.f(d.ci95.0),
                b.f(d.ci95.1)
            )
        });
        let _ = writeln!(
            s,
            "  {:<20} NPV {:>10} ± {:<8} gap {:>10}  unserved {:>7}{vs}",
            p.plan,
            b.f(p.npv_mean_usd),
            b.f(p.npv_se_usd),
            b.f(p.funding_gap_mean_usd),
            pct(p.unserved_share_mean)
        );
    }
    match f.best {
        Some(0) => {
            let _ = writeln!(
                s,
                "\nthe plan found has the highest expected NPV out of sample among these plans"
            );
        }
        Some(i) => {
            let best = &f.comparison[i];
            let (mean, lo, hi) = best
                .npv_vs_optimised
                .map_or((f64::NAN, f64::NAN, f64::NAN), |d| {
                    (d.mean, d.ci95.0, d.ci95.1)
                });
            let _ = writeln!(
                s,
                "\nthe plan found by the programme is BEATEN out of sample: `{}` has a higher expected NPV by {} {unit_name} [{}, {}]{}",
                best.plan,
                b.f(mean),
                b.f(lo),
                b.f(hi),
                if lo > 0.0 {
                    ", beyond Monte Carlo noise; prefer it, or re-plan with more --paths or --fixed-schedule"
                } else {
                    " (within Monte Carlo noise)"
                }
            );
        }
        None => {}
    }
}

/// Optimality gap, value of information and frontier, when asked for.
fn extras_text(r: &PlanReport, f: &Found, b: &Money, unit_name: &str, s: &mut String) {
    match &f.optimality_gap {
        Some(Ok(g)) => {
            let _ = writeln!(
                s,
                "\noptimality gap of the programme's solution ({} replications of {} fresh paths, in the programme's model): {} ± {} {unit_name}, at most {} {unit_name} with 95% confidence\n  the programme's optimum on those paths {} ± {} {unit_name}; the solution found carried out on them {} ± {} {unit_name}",
                g.replications,
                g.paths_per_replication,
                b.f(g.gap_usd),
                b.f(g.gap_se_usd),
                b.f(g.gap_ci95_upper_usd),
                b.f(g.optima_mean_usd),
                b.f(g.optima_se_usd),
                b.f(g.candidate_mean_usd),
                b.f(g.candidate_se_usd),
            );
            if g.stopping_gap_mean_usd > 0.0 {
                let _ = writeln!(
                    s,
                    "  of the gap, up to {} {unit_name} (the mean) may be the replications' own stopping gap: each solve stopped that far from its bound, which the estimate counts against the plan; a tighter --mip-gap or --decompose-gap separates it from the sample's",
                    b.f(g.stopping_gap_mean_usd),
                );
            }
            if g.rules_cut() > 0 {
                let _ = writeln!(
                    s,
                    "  on those paths {} rule commitments were cut below the rule (at zero, or to the room left), as the simulator cuts them: the plan's policy is then richer than the programme's, and can beat its optimum there",
                    g.rules_cut()
                );
            }
        }
        Some(Err(why)) => {
            let _ = writeln!(s, "\n{why}");
        }
        None => {}
    }
    if let Some((v, scenarios)) = &f.value_of_information {
        let _ = writeln!(
            s,
            "\nvalue of information ({unit_name}): RP {}  EV {}  EEV {}  WS {}  VSS {}  EVPI {}",
            b.f(v.rp),
            b.f(v.ev),
            b.f(v.eev),
            b.f(v.ws),
            b.f(v.vss),
            b.f(v.evpi)
        );
        if let Some(n) = super::report::voi_note(v, *scenarios) {
            let _ = writeln!(s, "  {n}");
        }
        let class = if f.policy == "affine_rules" {
            "the first stage and linear decision rules"
        } else {
            "the programme's policy class"
        };
        let _ = writeln!(
            s,
            "  RP: what the programme is worth with {class} over these paths."
        );
        let _ = writeln!(
            s,
            "  EV: the value of the plan made for one average path, on that path alone."
        );
        let _ = writeln!(s, "  EEV: that average plan's first stage, with the best later decisions of the same class, over every path: what planning for the average earns.");
        let _ = writeln!(s, "  WS: each path optimised knowing its whole future (wait and see), an upper bound no plan reaches.");
        let _ = writeln!(s, "  VSS = RP − EEV: what planning for the spread of outcomes rather than the average is worth ({} {unit_name}).", b.f(v.vss).trim());
        let _ = writeln!(
            s,
            "  EVPI = WS − RP: the most that perfect foresight could add ({} {unit_name}).",
            b.f(v.evpi).trim()
        );
    }
    if let Some(points) = &f.frontier {
        frontier_text(r, points, b, unit_name, s);
    }
}

fn frontier_text(
    r: &PlanReport,
    points: &[FrontierPoint],
    b: &Money,
    unit_name: &str,
    s: &mut String,
) {
    let _ = writeln!(
        s,
        "\nfrontier (alpha {}):\n  {:>8} {:>16} {:>16}",
        serde_json::json!(r.alpha),
        "lambda",
        format!("E[NPV] {unit_name}"),
        format!("CVaR loss {unit_name}")
    );
    for p in points {
        let _ = writeln!(
            s,
            "  {:>8} {:>16} {:>16}",
            p.lambda.to_string(),
            b.f(p.expected_value_usd),
            b.f(p.cvar_loss_usd)
        );
    }
    let cvar: Vec<f64> = points
        .iter()
        .map(|p| p.cvar_loss_usd)
        .filter(|x| x.is_finite())
        .collect();
    let (lo, hi) = cvar
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(*x), b.max(*x))
        });
    if cvar.len() > 1 && hi - lo <= 1e-3 * hi.abs().max(lo.abs()).max(1.0) && r.recourse {
        let _ = writeln!(s, "note: the frontier is flat. Later commitments adapt to each path in the programme, so only the first stage trades expected NPV against the tail, and here it does not. `--fixed-schedule` or `--no-recourse` gives the frontier of fixed plans.");
    }
}

/// `commitments.csv`: one row per commitment of the plan found.
pub fn commitments_csv(f: &Found) -> String {
    let mut csv = String::from("option,month,amount,unit,stage,capex_usd_estimate\n");
    for c in &f.commitments {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{}",
            csv_field(&c.option),
            c.month,
            csv_num(c.amount),
            c.unit,
            c.stage,
            csv_num(c.capex_usd_estimate)
        );
    }
    csv
}

/// `frontier.csv`: one row per λ.
pub fn frontier_csv(alpha: f64, points: &[FrontierPoint]) -> String {
    let mut csv = String::from("lambda,alpha,expected_value_usd,cvar_loss_usd,status\n");
    for p in points {
        let _ = writeln!(
            csv,
            "{},{},{},{},{}",
            csv_num(p.lambda),
            csv_num(alpha),
            csv_num(p.expected_value_usd),
            csv_num(p.cvar_loss_usd),
            p.status.as_str()
        );
    }
    csv
}

/// `replications.csv`: one row per replication of the optimality-gap estimate.
pub fn replications_csv(g: &OptimalityGap) -> String {
    let mut csv = String::from(
        "replication,seed,paths,optimum_usd,candidate_usd,gap_usd,rules_cut,stopping_gap_usd\n",
    );
    for (i, r) in g.per_replication.iter().enumerate() {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{}",
            i + 1,
            r.seed,
            g.paths_per_replication,
            csv_num(r.optimum_usd),
            csv_num(r.candidate_usd),
            csv_num(r.gap_usd),
            r.rules_cut,
            csv_num(r.stopping_gap_usd)
        );
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::{no_negative_zero, Money};

    #[test]
    fn a_rules_terms_that_round_to_zero_print_without_a_sign() {
        assert_eq!(format!("{:.1}", no_negative_zero(-1e-10)), "0.0");
        assert_eq!(format!("{:.1}", no_negative_zero(-0.049)), "0.0");
        assert_eq!(format!("{:.1}", no_negative_zero(-0.06)), "-0.1");
        assert_eq!(format!("{:.1}", no_negative_zero(73.17)), "73.2");
    }

    #[test]
    fn money_that_rounds_to_zero_prints_without_a_sign() {
        let b = Money { unit: 1e6 };
        assert_eq!(b.f(-1e-4), "0.000");
        assert_eq!(b.f(-499.0), "0.000");
        assert_eq!(b.f(-501.0), "-0.001");
        assert_eq!(b.f(2_345_678.0), "2.346");
        assert_eq!(b.f(f64::NAN), "-");
    }
}
