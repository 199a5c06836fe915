//! The HTML report: one self-contained page (inline CSS and SVG, no script, no network) that
//! answers, for each plan, how much cash it burns, how likely and how large a backstop is, when
//! demand outruns capacity and what research loses, with the assumptions behind it.
//!
//! [`report`] runs what the page needs (a simulation with monthly percentiles, yearly
//! statements and per-path outcomes; a tornado when asked) and [`render`] turns the results
//! into the page. Charts come from [`svg`].

use std::collections::HashMap;
use std::fmt::Write as _;

use gigawatt_model::{Dist, ValidScenario};
use gigawatt_sim::{yl, MetricId};
use serde_json::Value;

use crate::rank::{RankReport, RankRequest};
use crate::report::{PlanResult, SimulationReport};
use crate::sensitivity::{tornado, TornadoReport, TornadoRequest};
use crate::sobol::{SobolReport, SobolRequest};
use crate::{simulate, Progress, SimulateRequest, StudyError};

pub mod svg;

use svg::{colour, esc, nice_ticks, padded, Chart, Mark};

/// What [`report`] is asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRequest {
    /// Paths of the simulation.
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// Plans by name (empty: every plan, and the baseline).
    pub plans: Vec<String>,
    /// Add a tornado of the first plan's NPV (two runs per uncertain input).
    pub sensitivity: bool,
    /// Paths per tornado run.
    pub sensitivity_paths: u64,
    /// Add a ranking of the first plan's projects (drop first), on `sensitivity_paths` paths.
    pub rank: bool,
    /// Add Sobol indices of the first plan's NPV, on `sensitivity_paths` paths per sample.
    pub sobol: bool,
    /// A `gigawatt plan` result (its JSON document) to show: commitments and frontier.
    pub plan_results: Option<Value>,
}

/// The report's results: the page and what it was made from.
#[derive(Debug, Clone)]
pub struct HtmlReport {
    /// The HTML page.
    pub html: String,
    /// The simulation behind it.
    pub simulation: SimulationReport,
    /// The tornado, when asked for.
    pub tornado: Option<TornadoReport>,
    /// The project ranking, when asked for.
    pub ranking: Option<RankReport>,
    /// The Sobol indices, when asked for.
    pub sobol: Option<SobolReport>,
}

/// Runs the simulation (and tornado) a report needs and renders the page. `source` is the
/// scenario file's text (for each input's source note) and `file` its name.
pub fn report(
    sc: &ValidScenario,
    source: &str,
    file: &str,
    req: &ReportRequest,
    progress: &dyn Progress,
) -> Result<HtmlReport, StudyError> {
    let sim_req = SimulateRequest {
        plans: req.plans.clone(),
        monthly: true,
        per_path: true,
        yearly: true,
        ..SimulateRequest::new(req.paths, req.seed)
    };
    let simulation = simulate(sc, &sim_req, progress)?;
    let tornado = if req.sensitivity {
        progress.note("sensitivity: each uncertain input held at its p10 and p90...");
        Some(tornado(
            sc,
            &TornadoRequest {
                paths: req.sensitivity_paths,
                seed: req.seed,
                plan: req.plans.first().cloned(),
                metric: MetricId::Npv,
                low_high: (0.1, 0.9),
                others_at_median: false,
            },
            progress,
        )?)
    } else {
        None
    };
    let started = std::time::Instant::now();
    let ranking = if req.rank {
        progress.note("ranking the plan's projects (each dropped in turn)...");
        Some(crate::rank::rank(
            sc,
            &RankRequest {
                paths: req.sensitivity_paths,
                seed: req.seed,
                plan: req.plans.first().cloned(),
                add_from: None,
                lambda: 0.0,
                greedy: false,
            },
            progress,
        )?)
    } else {
        None
    };
    let sobol = if req.sobol {
        Some(crate::sobol::sobol(
            sc,
            &SobolRequest {
                paths: req.sensitivity_paths,
                seed: req.seed,
                plan: req.plans.first().cloned(),
                metric: MetricId::Npv,
                bootstrap: 200,
                groups: Vec::new(),
            },
            progress,
        )?)
    } else {
        None
    };
    let notes = gigawatt_io::source_notes(source);
    let extras = Extras {
        tornado: tornado.as_ref(),
        ranking: ranking.as_ref(),
        sobol: sobol.as_ref(),
        plan_results: req.plan_results.as_ref(),
    };
    let html = render(sc, file, &simulation, &extras, &notes);
    progress.note(&format!(
        "page rendered in {:.0} ms",
        started.elapsed().as_secs_f64() * 1e3
    ));
    Ok(HtmlReport {
        html,
        simulation,
        tornado,
        ranking,
        sobol,
    })
}

/// A formatter of one kind of figure (money, share, count).
type Fmt = fn(f64) -> String;

/// Money with its unit: $1.23B, $45.6M, $12.3k.
pub fn money(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let (v, u) = crate::render::si_scale(x);
    let sign = if v < 0.0 { "−" } else { "" };
    let digits = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else {
        2
    };
    format!("{sign}${:.*}{u}", digits, v.abs())
}

/// An H100e count with its unit: 1.2M, 350k.
fn h100e(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let a = x.abs();
    if a >= 1e6 {
        format!("{:.1}M", x / 1e6)
    } else if a >= 1e3 {
        format!("{:.0}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1} %", x * 100.0)
    } else {
        "–".into()
    }
}

/// The optional sections of a page: analyses run beside the simulation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras<'a> {
    /// A tornado of NPV.
    pub tornado: Option<&'a TornadoReport>,
    /// A ranking of a plan's projects.
    pub ranking: Option<&'a RankReport>,
    /// Sobol indices.
    pub sobol: Option<&'a SobolReport>,
    /// A `gigawatt plan` result document.
    pub plan_results: Option<&'a Value>,
}

/// The page.
pub fn render(
    sc: &ValidScenario,
    file: &str,
    r: &SimulationReport,
    extras: &Extras<'_>,
    notes: &HashMap<String, (usize, String)>,
) -> String {
    let mut s = String::new();
    let title = format!("gigawatt report: {}", r.scenario);
    let _ = writeln!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{CSS}</style></head><body>",
        esc(&title)
    );
    let _ = writeln!(s, "<h1>{}</h1>", esc(&title));
    summary(&mut s, sc, r);
    let _ = writeln!(s, "<h2 id=\"fans\">Demand, capacity, cash and funding over time</h2>\n<p>Shaded bands: 5th–95th and 25th–75th percentiles over paths; line: the median.</p>");
    for (pi, p) in r.plans.iter().enumerate() {
        fan_charts(&mut s, r, pi, p);
    }
    outcome_cdfs(&mut s, r);
    yearly_section(&mut s, r);
    allocation_section(&mut s, r);
    shortfall_section(&mut s, r);
    if let Some(t) = extras.tornado {
        tornado_section(&mut s, t);
    }
    if let Some(r) = extras.sobol {
        sobol_section(&mut s, r);
    }
    if let Some(k) = extras.ranking {
        ranking_section(&mut s, k);
    }
    if let Some(doc) = extras.plan_results {
        plan_section(&mut s, doc);
    }
    assumptions(&mut s, sc, file, r, notes);
    s.push_str("</body></html>\n");
    s
}

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}h3{margin-bottom:.3em}table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}th:first-child,td:first-child{text-align:left}thead th{background:#f3f3f3}svg{display:block;margin:.5em 0;max-width:100%;height:auto}svg text{font-family:inherit}.tick{font-size:11px;fill:#333}.axis{font-size:12px;fill:#222}.title{font-size:14px;font-weight:600;fill:#111}.legend{font-size:11px;fill:#222}.note{font-size:11px;fill:#333}.small{font-size:.85em;color:#555}.charts{display:flex;flex-wrap:wrap;gap:0 1em}@media print{h2{break-before:page}svg{break-inside:avoid}}";

/// The first year in which more than half of the paths fall short, if any.
fn first_shortfall_year(p: &PlanResult) -> Option<(i32, f64)> {
    p.shortfall_probability_by_year
        .iter()
        .find(|(_, q)| *q > 0.5)
        .copied()
}

/// Median of the positive values of a metric over a plan's paths (the size of a backstop
/// when there is one).
fn median_positive(r: &SimulationReport, pi: usize, id: MetricId) -> f64 {
    let mut v: Vec<f64> = r
        .per_path
        .iter()
        .filter(|row| row.plan == pi)
        .map(|row| row.metrics[id.index()])
        .filter(|x| *x > 0.0)
        .collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn summary(s: &mut String, sc: &ValidScenario, r: &SimulationReport) {
    let _ = writeln!(
        s,
        "<p class=\"small\">{} paths, seed {}, {} sampling, horizon {} to {}; every figure is an estimate over the paths, given with its Monte Carlo standard error (±) where it has one. Plans share every random draw (common random numbers), so their differences are sharper than their levels.</p>",
        r.paths, r.seed, r.sampling, r.horizon.0, r.horizon.1
    );
    let _ = writeln!(s, "<h2 id=\"summary\">The question and the answer in brief</h2>\n<p>What does each plan of commitments for <b>{}</b> yield and risk: cash burnt, a funding backstop, unserved demand and research delivered?</p>\n<ul>", esc(&sc.name));
    for (pi, p) in r.plans.iter().enumerate() {
        let npv = p.metric(MetricId::Npv);
        let unserved = p.metric(MetricId::UnservedShare);
        let research = p.metric(MetricId::ResearchDelivered);
        let year = p.metric(MetricId::FirstProfitableYear);
        let mut line = format!(
            "<li><b>{}</b>{}: expected NPV {} (± {}; 10–90 % range {} to {}).",
            esc(&p.name),
            if p.automatic_baseline && p.name != gigawatt_sim::BASELINE_PLAN {
                " (no new commitments)"
            } else {
                ""
            },
            money(npv.mean),
            money(npv.se),
            money(npv.quantiles[1]),
            money(npv.quantiles[3])
        );
        if p.backstop_probability > 0.0 {
            let _ = write!(
                line,
                " It needs a funding backstop on {} of paths; median backstop when needed {}.",
                pct(p.backstop_probability),
                money(median_positive(r, pi, MetricId::FundingGap))
            );
        } else {
            line.push_str(" It never needs a funding backstop.");
        }
        match first_shortfall_year(p) {
            Some((y, q)) => {
                let _ = write!(line, " Some product demand goes unserved on most paths from {y} ({} of paths that year);", pct(q));
            }
            None => line.push_str(" In no year does product demand go unserved on most paths;"),
        }
        let _ = write!(
            line,
            " {} of product demand goes unserved on average, and research gets {} of its planned compute.",
            pct(unserved.mean),
            pct(research.mean)
        );
        if let Some(never) = year.never_share {
            if never < 1.0 {
                let _ = write!(
                    line,
                    " Median first profitable year {:.0}; never profitable inside the horizon on {} of paths.",
                    year.quantiles[2],
                    pct(never)
                );
            } else {
                line.push_str(" It is never profitable inside the horizon.");
            }
        }
        let fcf = p.metric(MetricId::FirstPositiveFcfYear);
        if let Some(never) = fcf.never_share {
            if never < 1.0 {
                let _ = write!(
                    line,
                    " It stops burning cash (first year of positive free cash flow) in {:.0} at the median; never inside the horizon on {} of paths.",
                    fcf.quantiles[2],
                    pct(never)
                );
            } else {
                line.push_str(
                    " Its free cash flow is never positive in a calendar year of the horizon.",
                );
            }
        }
        line.push_str("</li>\n");
        s.push_str(&line);
    }
    s.push_str("</ul>\n");
    metrics_table(s, r);
}

fn metrics_table(s: &mut String, r: &SimulationReport) {
    s.push_str("<table><thead><tr><th>metric</th>");
    for p in &r.plans {
        let _ = write!(s, "<th>{}</th>", esc(&p.name));
    }
    s.push_str("</tr></thead><tbody>\n");
    let rows: [(MetricId, &str, Fmt); 6] = [
        (MetricId::Npv, "NPV, mean ± se", money),
        (
            MetricId::FundingGap,
            "funding gap (backstop drawn), mean ± se",
            money,
        ),
        (MetricId::MinCash, "lowest cash, mean ± se", money),
        (
            MetricId::UnservedShare,
            "unserved share of demand, mean ± se",
            pct,
        ),
        (
            MetricId::ResearchDelivered,
            "research delivered / planned, mean ± se",
            pct,
        ),
        (MetricId::Utilisation, "utilisation, mean ± se", pct),
    ];
    for (id, label, f) in rows {
        let _ = write!(s, "<tr><td>{label}</td>");
        for p in &r.plans {
            let m = p.metric(id);
            let _ = write!(s, "<td>{} ± {}</td>", f(m.mean), f(m.se));
        }
        s.push_str("</tr>\n");
    }
    let _ = write!(s, "<tr><td>NPV p10 / p90</td>");
    for p in &r.plans {
        let m = p.metric(MetricId::Npv);
        let _ = write!(
            s,
            "<td>{} / {}</td>",
            money(m.quantiles[1]),
            money(m.quantiles[3])
        );
    }
    s.push_str("</tr>\n<tr><td>CVaR95 of NPV (mean of the worst 5 %)</td>");
    for p in &r.plans {
        let _ = write!(s, "<td>{}</td>", money(p.metric(MetricId::Npv).cvar95));
    }
    s.push_str("</tr>\n<tr><td>probability of a backstop</td>");
    for p in &r.plans {
        let _ = write!(s, "<td>{}</td>", pct(p.backstop_probability));
    }
    s.push_str("</tr></tbody></table>\n");
}

/// Month indices and year ticks for a monthly chart.
fn month_axis(r: &SimulationReport) -> (Vec<f64>, Vec<(f64, String)>) {
    let months = r.horizon.2;
    let start_year: i32 = r.horizon.0[..4].parse().unwrap_or(0);
    let start_month: i32 = r.horizon.0[5..7].parse().unwrap_or(1);
    let xs = (0..months).map(|t| t as f64).collect();
    let mut ticks = Vec::new();
    for t in 0..months as i32 {
        if (start_month - 1 + t) % 12 == 0 {
            ticks.push((
                t as f64,
                (start_year + (start_month - 1 + t) / 12).to_string(),
            ));
        }
    }
    if ticks.is_empty() {
        ticks.push((0.0, r.horizon.0.clone()));
    }
    (xs, ticks)
}

/// The monthly quantile `q` (index into MONTHLY_QUANTILES) of a series of plan `pi`.
fn monthly(r: &SimulationReport, pi: usize, series: &str, q: usize) -> Vec<f64> {
    r.monthly
        .iter()
        .filter(|m| m.plan == pi && m.series == series)
        .map(|m| {
            if q == usize::MAX {
                m.mean
            } else {
                m.quantiles[q]
            }
        })
        .collect()
}

fn ticks_with(lo: f64, hi: f64, f: Fmt) -> Vec<(f64, String)> {
    nice_ticks(lo, hi, 5)
        .into_iter()
        .map(|v| (v, f(v)))
        .collect()
}

fn range(series: &[&[f64]]) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in series
        .iter()
        .flat_map(|s| s.iter())
        .filter(|x| x.is_finite())
    {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    padded(lo, hi)
}

fn fan_charts(s: &mut String, r: &SimulationReport, pi: usize, p: &PlanResult) {
    let (xs, xt) = month_axis(r);
    let x = (0.0, (xs.len().max(2) - 1) as f64);
    let _ = writeln!(s, "<h3>{}</h3><div class=\"charts\">", esc(&p.name));
    // Demand against capacity.
    let d = |q| monthly(r, pi, "demand_h100e", q);
    let c = |q| monthly(r, pi, "capacity_h100e", q);
    let (d5, d25, d50, d75, d95) = (d(0), d(2), d(3), d(4), d(6));
    let (c5, c50, c95) = (c(0), c(3), c(6));
    let y = range(&[&d5, &d95, &c5, &c95, &[0.0]]);
    let mut ch = Chart::new(
        &format!("fan-demand-{pi}"),
        &format!("Product demand and capacity, {}", p.name),
        &format!(
            "Fan chart of monthly product compute demand (median, 25–75 and 5–95 percentile bands) against capacity online (median and 5–95 band), in H100e, for plan {}.",
            p.name
        ),
        x,
        y,
    );
    ch.axes(&xt, &ticks_with(y.0, y.1, h100e), "month", "H100e");
    ch.band(&xs, &d5, &d95, colour(1), 0.18, Some("demand 5–95 %"));
    ch.band(&xs, &d25, &d75, colour(1), 0.35, Some("demand 25–75 %"));
    ch.line(&xs, &d50, colour(1), false, Some("demand median"));
    ch.band(&xs, &c5, &c95, colour(0), 0.15, None);
    ch.line(&xs, &c50, colour(0), true, Some("capacity median"));
    s.push_str(&ch.finish());
    for (series, name, what) in [
        (
            "cash_usd",
            "Cash",
            "cash balance (after any credit and backstop draws)",
        ),
        (
            "backstop_drawn_usd",
            "Funding gap",
            "funding backstop drawn so far",
        ),
    ] {
        let v = |q| monthly(r, pi, series, q);
        let (v5, v25, v50, v75, v95) = (v(0), v(2), v(3), v(4), v(6));
        let y = range(&[&v5, &v95, &[0.0]]);
        let mut ch = Chart::new(
            &format!("fan-{series}-{pi}"),
            &format!("{name}, {}", p.name),
            &format!(
                "Fan chart of the {what} each month for plan {}: median {} at the end (5–95 % range {} to {}).",
                p.name,
                money(v50.last().copied().unwrap_or(f64::NAN)),
                money(v5.last().copied().unwrap_or(f64::NAN)),
                money(v95.last().copied().unwrap_or(f64::NAN))
            ),
            x,
            y,
        );
        ch.axes(&xt, &ticks_with(y.0, y.1, money), "month", "USD");
        ch.band(&xs, &v5, &v95, colour(0), 0.18, Some("5–95 %"));
        ch.band(&xs, &v25, &v75, colour(0), 0.35, Some("25–75 %"));
        ch.line(&xs, &v50, colour(0), false, Some("median"));
        s.push_str(&ch.finish());
    }
    s.push_str("</div>\n");
}

/// Sorted per-path values of metric `id` for plan `pi`.
fn sorted_values(r: &SimulationReport, pi: usize, id: MetricId) -> Vec<f64> {
    let mut v: Vec<f64> = r
        .per_path
        .iter()
        .filter(|row| row.plan == pi)
        .map(|row| row.metrics[id.index()])
        .filter(|x| x.is_finite())
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

/// At most ~400 points of an empirical CDF (every value when fewer).
fn cdf_points(v: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = v.len();
    let step = n.div_ceil(400).max(1);
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for i in (0..n)
        .step_by(step)
        .chain(std::iter::once(n.saturating_sub(1)))
    {
        if n == 0 {
            break;
        }
        xs.push(v[i]);
        ys.push((i + 1) as f64 / n as f64);
    }
    (xs, ys)
}

fn outcome_cdfs(s: &mut String, r: &SimulationReport) {
    s.push_str("<h2 id=\"cdfs\">Outcome distributions</h2>\n<p>The share of paths at or below each value (empirical CDF), plans overlaid. The shaded region is the worst 5 % of the first plan; CVaR95 is its mean.</p><div class=\"charts\">\n");
    let specs: [(MetricId, &str, Fmt, bool); 3] = [
        (MetricId::Npv, "NPV", money, true),
        (
            MetricId::FundingGap,
            "Funding gap (backstop drawn)",
            money,
            false,
        ),
        (
            MetricId::UnservedShare,
            "Unserved share of demand",
            pct,
            false,
        ),
    ];
    for (id, name, f, low_bad) in specs {
        let values: Vec<Vec<f64>> = (0..r.plans.len())
            .map(|pi| sorted_values(r, pi, id))
            .collect();
        let all: Vec<&[f64]> = values.iter().map(|v| v.as_slice()).collect();
        let x = range(&all);
        let mut desc = format!("Empirical CDFs of {name} per plan.");
        let mut ch = Chart::new(
            &format!("cdf-{}", id.name()),
            &format!("{name}: distribution over paths"),
            "",
            x,
            (0.0, 1.0),
        );
        ch.axes(
            &ticks_with(x.0, x.1, f),
            &[0.0, 0.25, 0.5, 0.75, 1.0].map(|v| (v, format!("{:.0} %", v * 100.0))),
            name,
            "share of paths ≤ value",
        );
        if let (Some(v0), Some(p0)) = (values.first(), r.plans.first()) {
            if !v0.is_empty() {
                let m = p0.metric(id);
                let (a, b) = if low_bad {
                    (x.0, m.quantiles[0])
                } else {
                    (m.quantiles[4], x.1)
                };
                ch.region(
                    a,
                    b,
                    colour(5),
                    &format!("worst 5 %: CVaR95 {}", f(m.cvar95)),
                );
            }
        }
        for (pi, (p, v)) in r.plans.iter().zip(&values).enumerate() {
            let (xs, ys) = cdf_points(v);
            ch.steps(&xs, &ys, colour(pi), Some(&p.name));
            let m = p.metric(id);
            let _ = write!(
                desc,
                " {}: median {}, 5–95 % {} to {}, CVaR95 {}.",
                p.name,
                f(m.quantiles[2]),
                f(m.quantiles[0]),
                f(m.quantiles[4]),
                f(m.cvar95)
            );
        }
        ch.set_desc(&desc);
        s.push_str(&ch.finish());
    }
    s.push_str("</div>\n");
}

fn yearly_section(s: &mut String, r: &SimulationReport) {
    s.push_str("<h2 id=\"yearly\">Yearly statements</h2>\n<p>Means over paths of each year's flows (sums of the months) and year-end cash. Free cash flow = revenue − running costs − capex; burn is negative free cash flow. Funding = rounds + credit drawn + backstop drawn.</p>\n");
    for (pi, p) in r.plans.iter().enumerate() {
        if p.yearly.is_empty() {
            continue;
        }
        let _ = write!(
            s,
            "<h3>{}</h3><table><thead><tr><th>year</th>",
            esc(&p.name)
        );
        let cols: [(&str, usize); 9] = [
            ("revenue", yl::REVENUE),
            ("running costs", usize::MAX),
            ("depreciation", yl::DEPRECIATION),
            ("operating income", yl::OPERATING_INCOME),
            ("capex: chips", yl::CAPEX_CHIPS),
            ("capex: facilities", yl::CAPEX_FACILITIES),
            ("free cash flow", yl::FCF),
            ("funding", usize::MAX - 1),
            ("cash at year end", yl::CASH_END),
        ];
        for (c, _) in cols {
            let _ = write!(s, "<th>{c}</th>");
        }
        s.push_str("<th>FCF p10 / p90</th></tr></thead><tbody>\n");
        for y in &p.yearly {
            let m = |i: usize| y.lines[i].mean;
            let _ = write!(s, "<tr><td>{}</td>", y.year);
            for (_, c) in cols {
                let v = match c {
                    usize::MAX => {
                        m(yl::POWER)
                            + m(yl::USAGE_FEES)
                            + m(yl::OPEX)
                            + m(yl::LEASES)
                            + m(yl::BURST)
                            + m(yl::NON_COMPUTE)
                    }
                    x if x == usize::MAX - 1 => {
                        m(yl::ROUNDS) + m(yl::CREDIT_DRAWN) + m(yl::BACKSTOP_DRAWN)
                    }
                    i => m(i),
                };
                let _ = write!(s, "<td>{}</td>", money(v));
            }
            let f = &y.lines[yl::FCF];
            let _ = writeln!(s, "<td>{} / {}</td></tr>", money(f.p10), money(f.p90));
        }
        s.push_str("</tbody></table>\n");
        if let Some(first) = p.yearly.first() {
            if first.segment_revenue.len() > 1 {
                s.push_str("<table><thead><tr><th>revenue by segment</th>");
                for (name, _) in &first.segment_revenue {
                    let _ = write!(s, "<th>{}</th>", esc(name));
                }
                s.push_str("</tr></thead><tbody>\n");
                for y in &p.yearly {
                    let _ = write!(s, "<tr><td>{}</td>", y.year);
                    for (_, l) in &y.segment_revenue {
                        let _ = write!(s, "<td>{}</td>", money(l.mean));
                    }
                    s.push_str("</tr>\n");
                }
                s.push_str("</tbody></table>\n");
            }
        }
        let years: Vec<f64> = p.yearly.iter().map(|y| y.year as f64).collect();
        let fcf: Vec<f64> = p.yearly.iter().map(|y| y.lines[yl::FCF].mean).collect();
        let y = range(&[&fcf, &[0.0]]);
        let x = (years[0] - 0.6, years[years.len() - 1] + 0.6);
        let mut ch = Chart::new(
            &format!("fcf-{pi}"),
            &format!("Free cash flow by year, {}", p.name),
            &format!(
                "Bar chart of mean free cash flow per calendar year for plan {}: {}.",
                p.name,
                years
                    .iter()
                    .zip(&fcf)
                    .map(|(y, v)| format!("{y:.0} {}", money(*v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            x,
            y,
        );
        let xt: Vec<(f64, String)> = years.iter().map(|y| (*y, format!("{y:.0}"))).collect();
        ch.axes(&xt, &ticks_with(y.0, y.1, money), "year", "USD");
        let labels: Vec<String> = fcf.iter().map(|v| money(*v)).collect();
        ch.bars(&years, &fcf, 0.6, colour(2), &labels);
        ch.legend_entry("free cash flow ≥ 0", colour(2), Mark::Fill(1.0));
        ch.legend_entry("burn (< 0)", svg::PALETTE[5], Mark::Fill(1.0));
        s.push_str(&ch.finish());
    }
}

fn allocation_section(s: &mut String, r: &SimulationReport) {
    s.push_str("<h2 id=\"allocation\">Where the compute goes</h2>\n<p>Mean over paths each month, stacked: research, each product segment's demand served (including burst capacity bought on the spot), and capacity left idle.</p><div class=\"charts\">\n");
    let (xs, xt) = month_axis(r);
    let x = (0.0, (xs.len().max(2) - 1) as f64);
    for (pi, p) in r.plans.iter().enumerate() {
        let research = monthly(r, pi, "research_h100e", usize::MAX);
        let idle = monthly(r, pi, "idle_h100e", usize::MAX);
        // Layers from the bottom: research, each segment (or product served as one when the
        // run has no per-segment series), idle.
        let mut layers: Vec<(String, Vec<f64>, &'static str, f64)> =
            vec![("research".into(), research.clone(), colour(0), 0.75)];
        if p.segment_served_h100e_mean.is_empty() {
            let served = monthly(r, pi, "served_h100e", usize::MAX);
            layers.push(("product served".into(), served, colour(1), 0.75));
        } else {
            for (k, (name, v)) in p.segment_served_h100e_mean.iter().enumerate() {
                layers.push((name.clone(), v.clone(), colour(k + 1), 0.75));
            }
        }
        layers.push(("idle".into(), idle.clone(), "#999999", 0.45));
        let mut base = vec![0.0; research.len()];
        let mut tops = Vec::new();
        for (_, v, _, _) in &layers {
            let top: Vec<f64> = base.iter().zip(v).map(|(a, b)| a + b).collect();
            tops.push((base.clone(), top.clone()));
            base = top;
        }
        let y = range(&[&base, &[0.0]]);
        let last = research.len().saturating_sub(1);
        let desc = layers
            .iter()
            .map(|(name, v, _, _)| {
                format!("{name} {}", h100e(v.get(last).copied().unwrap_or(f64::NAN)))
            })
            .collect::<Vec<_>>()
            .join(", ");
        let mut ch = Chart::new(
            &format!("alloc-{pi}"),
            &format!("Compute allocation, {}", p.name),
            &format!(
                "Stacked area of mean monthly compute for plan {}, in H100e; in the last month: {desc}.",
                p.name
            ),
            x,
            y,
        );
        ch.axes(&xt, &ticks_with(y.0, y.1, h100e), "month", "H100e");
        for ((name, _, c, o), (lo, hi)) in layers.iter().zip(&tops) {
            ch.band(&xs, lo, hi, c, *o, Some(name));
        }
        s.push_str(&ch.finish());
    }
    s.push_str("</div>\n");
}

fn shortfall_section(s: &mut String, r: &SimulationReport) {
    s.push_str("<h2 id=\"shortfall\">When demand outruns capacity, and what research loses</h2>\n");
    let Some(first) = r.plans.first() else { return };
    let years: Vec<f64> = first
        .shortfall_probability_by_year
        .iter()
        .map(|(y, _)| *y as f64)
        .collect();
    if years.len() > 1 {
        let x = (years[0], years[years.len() - 1]);
        let mut ch = Chart::new(
            "shortfall",
            "Probability of a shortfall in each year",
            &format!(
                "Share of paths with any month of unserved product demand in each year, per plan: {}.",
                r.plans
                    .iter()
                    .map(|p| format!(
                        "{} {}",
                        p.name,
                        p.shortfall_probability_by_year
                            .iter()
                            .map(|(y, q)| format!("{y} {}", pct(*q)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            x,
            (0.0, 1.0),
        );
        let xt: Vec<(f64, String)> = years.iter().map(|y| (*y, format!("{y:.0}"))).collect();
        ch.axes(
            &xt,
            &[0.0, 0.25, 0.5, 0.75, 1.0].map(|v| (v, format!("{:.0} %", v * 100.0))),
            "year",
            "share of paths",
        );
        for (pi, p) in r.plans.iter().enumerate() {
            let ys: Vec<f64> = p
                .shortfall_probability_by_year
                .iter()
                .map(|(_, q)| *q)
                .collect();
            ch.line(&years, &ys, colour(pi), pi % 2 == 1, Some(&p.name));
        }
        s.push_str(&ch.finish());
    }
    s.push_str("<table><thead><tr><th>plan</th><th>research delivered / planned</th><th>unserved share</th><th>training runs late (mean delay, probability late)</th></tr></thead><tbody>\n");
    for p in &r.plans {
        let runs = if p.training_runs.is_empty() {
            "no training runs in the scenario".to_string()
        } else {
            p.training_runs
                .iter()
                .map(|t| {
                    format!(
                        "{}: {:.1} months ± {:.1}, {}",
                        esc(&t.name),
                        t.mean_delay_months,
                        t.se,
                        pct(t.late_probability)
                    )
                })
                .collect::<Vec<_>>()
                .join("<br>")
        };
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{runs}</td></tr>",
            esc(&p.name),
            pct(p.metric(MetricId::ResearchDelivered).mean),
            pct(p.metric(MetricId::UnservedShare).mean)
        );
    }
    s.push_str("</tbody></table>\n");
}

fn tornado_section(s: &mut String, t: &TornadoReport) {
    let _ = writeln!(
        s,
        "<h2 id=\"sensitivity\">Which inputs drive NPV</h2>\n<p>Each uncertain input held at its p10 and at its p90 while every other input stays random, on the same paths (common random numbers); plan {}, {} paths per run. Bars show the expected NPV at each end; the base, with every input random, is {} ± {}.</p>",
        esc(&t.plan),
        t.paths,
        money(t.base_mean),
        money(t.base_se)
    );
    let bars: Vec<_> = t.bars.iter().take(15).collect();
    if bars.is_empty() {
        s.push_str("<p>The scenario has no uncertain inputs.</p>\n");
        return;
    }
    let lo = bars
        .iter()
        .map(|b| b.mean_low.min(b.mean_high))
        .fold(t.base_mean, f64::min);
    let hi = bars
        .iter()
        .map(|b| b.mean_low.max(b.mean_high))
        .fold(t.base_mean, f64::max);
    let x = padded(lo, hi);
    let h = 60.0 + 26.0 * bars.len() as f64;
    let mut ch = Chart::new(
        "tornado",
        "Tornado: expected NPV with one input at its p10 or p90",
        &format!(
            "Tornado chart, largest swing first: {}.",
            bars.iter()
                .map(|b| format!(
                    "{} {} to {}",
                    b.input,
                    money(b.mean_low),
                    money(b.mean_high)
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        x,
        (0.0, 1.0),
    )
    .size(720.0, h)
    .left_margin(230.0);
    ch.axes(&ticks_with(x.0, x.1, money), &[], "expected NPV", "");
    for (i, b) in bars.iter().enumerate() {
        ch.hbar(i, bars.len(), t.base_mean, b.mean_low, colour(4));
        ch.hbar(i, bars.len(), t.base_mean, b.mean_high, colour(1));
        ch.row_label(i, bars.len(), &b.input);
    }
    ch.vrule(t.base_mean, "#000000", "base");
    ch.legend_entry("input at p10", colour(4), Mark::Fill(1.0));
    ch.legend_entry("input at p90", colour(1), Mark::Fill(1.0));
    s.push_str(&ch.finish());
    s.push_str("<table><thead><tr><th>input</th><th>value p10 / p90</th><th>NPV at p10</th><th>NPV at p90</th><th>swing ± se</th></tr></thead><tbody>\n");
    for b in &t.bars {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{:.4} / {:.4}</td><td>{}</td><td>{}</td><td>{} ± {}</td></tr>",
            esc(&b.input),
            b.value_low,
            b.value_high,
            money(b.mean_low),
            money(b.mean_high),
            money(b.swing),
            money(b.swing_se)
        );
    }
    s.push_str("</tbody></table>\n");
}

fn sobol_section(s: &mut String, r: &SobolReport) {
    let _ = writeln!(
        s,
        "<h2 id=\"sobol\">Which inputs explain the spread of NPV</h2>\n<p>Sobol indices of plan {}'s NPV ({} paths per sample): the share of NPV's variance each factor explains alone (first order) and with its interactions (total order), with 95 % bootstrap intervals. \"Noise and events\" holds month-by-month growth noise, launches, funding events and delivery delays.</p>",
        esc(&r.plan),
        r.paths
    );
    let shown: Vec<_> = r
        .indices
        .iter()
        .filter(|i| i.total > 0.005)
        .take(12)
        .collect();
    if shown.is_empty() {
        s.push_str("<p>No factor explains more than 0.5 % of the variance.</p>\n");
        return;
    }
    let h = 60.0 + 30.0 * shown.len() as f64;
    let mut ch = Chart::new(
        "sobol",
        "Sobol indices of NPV: first order and total",
        &format!(
            "Bar chart of Sobol indices, largest total first: {}.",
            shown
                .iter()
                .map(|i| format!("{} first {:.2}, total {:.2}", i.factor, i.first, i.total))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        (0.0, 1.0),
        (0.0, 1.0),
    )
    .size(720.0, h)
    .left_margin(230.0);
    ch.axes(
        &[0.0, 0.25, 0.5, 0.75, 1.0].map(|v| (v, format!("{v:.2}"))),
        &[],
        "share of variance",
        "",
    );
    for (i, f) in shown.iter().enumerate() {
        ch.hbar(i, shown.len(), 0.0, f.total.clamp(0.0, 1.0), colour(4));
        ch.hbar(i, shown.len(), 0.0, f.first.clamp(0.0, 1.0), colour(0));
        ch.row_label(i, shown.len(), &f.factor);
    }
    ch.legend_entry("first order (alone)", colour(0), Mark::Fill(1.0));
    ch.legend_entry("total (with interactions)", colour(4), Mark::Fill(1.0));
    s.push_str(&ch.finish());
    s.push_str("<table><thead><tr><th>factor</th><th>first order [95 %]</th><th>total order [95 %]</th></tr></thead><tbody>\n");
    for i in &r.indices {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{:.3} [{:.3}, {:.3}]</td><td>{:.3} [{:.3}, {:.3}]</td></tr>",
            esc(&i.factor),
            i.first,
            i.first_ci95.0,
            i.first_ci95.1,
            i.total,
            i.total_ci95.0,
            i.total_ci95.1
        );
    }
    s.push_str("</tbody></table>\n");
}

fn ranking_section(s: &mut String, k: &RankReport) {
    let _ = writeln!(
        s,
        "<h2 id=\"ranking\">Which projects to drop first</h2>\n<p>Plan {} without each of its projects (its commitments of one option) in turn, on the same {} paths: the change in each metric, ± its standard error. Drop first the project whose removal gains most NPV.</p>",
        esc(&k.plan),
        k.paths
    );
    s.push_str("<table><thead><tr><th>project</th><th>commitments</th><th>Δ NPV</th><th>Δ funding gap</th><th>Δ unserved share</th><th>Δ research delivered</th><th>NPV CVaR95 without it</th></tr></thead><tbody>\n");
    for e in &k.effects {
        let d = |id: MetricId, f: Fmt| {
            let (m, se) = e.diff(id);
            format!("{} ± {}", f(m), f(se))
        };
        let _ = writeln!(
            s,
            "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if e.added { "add " } else { "drop " },
            esc(&e.project),
            e.commitments,
            d(MetricId::Npv, money),
            d(MetricId::FundingGap, money),
            d(MetricId::UnservedShare, pct),
            d(MetricId::ResearchDelivered, pct),
            money(e.npv_cvar95.0)
        );
    }
    s.push_str("</tbody></table>\n");
}

fn plan_section(s: &mut String, doc: &Value) {
    s.push_str("<h2 id=\"plan\">The optimised plan</h2>\n");
    let _ = writeln!(
        s,
        "<p>From <code>gigawatt plan</code> ({} over {} scenarios, status {}). Expected NPV in the programme {}; simulated out of sample {}.</p>",
        esc(doc["solver"].as_str().unwrap_or("?")),
        doc["scenarios"],
        esc(doc["status"].as_str().unwrap_or("?")),
        money(doc["in_sample"]["expected_value"].as_f64().unwrap_or(f64::NAN)),
        money(doc["simulated_out_of_sample"]["npv_usd"]["mean"].as_f64().unwrap_or(f64::NAN))
    );
    if let Some(cs) = doc["commitments"].as_array() {
        s.push_str("<table><thead><tr><th>option</th><th>month</th><th>amount</th><th>unit</th><th>stage</th><th>capex (p50 prices)</th></tr></thead><tbody>\n");
        for c in cs {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(c["option"].as_str().unwrap_or("")),
                esc(c["month"].as_str().unwrap_or("")),
                c["amount"].as_f64().unwrap_or(f64::NAN),
                esc(c["unit"].as_str().unwrap_or("")),
                esc(c["stage"].as_str().unwrap_or("")),
                money(c["capex_usd_estimate"].as_f64().unwrap_or(f64::NAN))
            );
        }
        s.push_str("</tbody></table>\n");
    }
    let Some(points) = doc["frontier"].as_array() else {
        return;
    };
    let pts: Vec<(f64, f64, f64)> = points
        .iter()
        .filter_map(|p| {
            Some((
                p["lambda"].as_f64()?,
                p["cvar_loss_usd"].as_f64()?,
                p["expected_value_usd"].as_f64()?,
            ))
        })
        .collect();
    if pts.len() < 2 {
        return;
    }
    let xs: Vec<f64> = pts.iter().map(|p| p.1).collect();
    let ys: Vec<f64> = pts.iter().map(|p| p.2).collect();
    let (x, y) = (range(&[&xs]), range(&[&ys]));
    let mut ch = Chart::new(
        "frontier",
        "Efficient frontier: expected NPV against CVaR of loss",
        &format!(
            "Efficient frontier over λ: {}.",
            pts.iter()
                .map(|p| format!(
                    "λ {} CVaR loss {} expected NPV {}",
                    p.0,
                    money(p.1),
                    money(p.2)
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        x,
        y,
    );
    ch.axes(
        &ticks_with(x.0, x.1, money),
        &ticks_with(y.0, y.1, money),
        "CVaR95 of NPV loss",
        "expected NPV",
    );
    ch.line(&xs, &ys, colour(0), false, Some("frontier"));
    s.push_str(&ch.finish());
}

/// A distribution in words, with its p10, p50 and p90.
pub fn describe(d: &Dist) -> String {
    let q = |u: f64| d.quantile(u);
    let g = |x: &f64| format!("{x}");
    let params = match d {
        Dist::Fixed(x) => return format!("fixed at {x}"),
        Dist::Normal { mean, sd } => format!("normal, mean {}, sd {}", g(mean), g(sd)),
        Dist::TruncatedNormal { mean, sd, min, max } => format!(
            "normal, mean {}, sd {}, truncated to [{}, {}]",
            g(mean),
            g(sd),
            g(min),
            g(max)
        ),
        Dist::LognormalP10P90 { p10, p90 } => format!("lognormal, p10 {}, p90 {}", g(p10), g(p90)),
        Dist::LognormalMedianP90 { median, p90 } => {
            format!("lognormal, median {}, p90 {}", g(median), g(p90))
        }
        Dist::Triangular { min, mode, max } => {
            format!(
                "triangular, min {}, mode {}, max {}",
                g(min),
                g(mode),
                g(max)
            )
        }
        Dist::Pert { min, mode, max } => {
            format!("PERT, min {}, mode {}, max {}", g(min), g(mode), g(max))
        }
        Dist::Uniform { min, max } => format!("uniform, {} to {}", g(min), g(max)),
        Dist::Discrete { values, probs } => format!(
            "discrete, {}",
            values
                .iter()
                .zip(probs)
                .map(|(v, p)| format!("{v} w.p. {p}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Dist::Metalog {
            probs,
            values,
            min,
            max,
        } => format!(
            "{}metalog through {}",
            match (min, max) {
                (None, None) => String::new(),
                (Some(lo), None) => format!("semi-bounded (above {lo}) "),
                (None, Some(hi)) => format!("semi-bounded (below {hi}) "),
                (Some(lo), Some(hi)) => format!("bounded ({lo} to {hi}) "),
            },
            probs
                .iter()
                .zip(values)
                .map(|(p, v)| format!("p{:.0} {v}", p * 100.0))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!(
        "{params} (p10 {:.4}, p50 {:.4}, p90 {:.4})",
        q(0.1),
        q(0.5),
        q(0.9)
    )
}

fn assumptions(
    s: &mut String,
    sc: &ValidScenario,
    file: &str,
    r: &SimulationReport,
    notes: &HashMap<String, (usize, String)>,
) {
    let _ = writeln!(s, "<h2 id=\"assumptions\">Assumptions</h2>\n<p>Every input of <code>{}</code> that is drawn per path, with its distribution and the note on its line of the file.</p>", esc(file));
    s.push_str("<table><thead><tr><th>input</th><th>distribution</th><th>line</th><th>source note</th></tr></thead><tbody>\n");
    let mut fixed = 0;
    sc.visit_uncertain(&mut |field, u| {
        if u.is_fixed() {
            fixed += 1;
            return;
        }
        let path = field.path();
        let (line, note) = notes.get(&path).cloned().unwrap_or((0, String::new()));
        let name = match &u.id {
            Some(id) => format!("{} <span class=\"small\">({})</span>", esc(id), esc(&path)),
            None => esc(&path),
        };
        let _ = writeln!(
            s,
            "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&describe(&u.dist)),
            if line > 0 {
                line.to_string()
            } else {
                String::new()
            },
            esc(&note)
        );
    });
    let _ = writeln!(s, "</tbody></table>\n<p class=\"small\">{fixed} further inputs are fixed numbers (see the file).</p>");
    let _ = writeln!(
        s,
        "<h3>Method</h3><p class=\"small\">gigawatt {} simulated {} paths (seed {}, {} sampling) month by month from {} to {}; the plans share every draw. Means carry their Monte Carlo standard error (±: the standard deviation over paths divided by √paths); percentiles and CVaR95 (the mean of the worst 5 % of paths) are estimates over the same paths. The model's equations are in docs/explanation/simulation.md; a run with the same file, seed and paths reproduces every number here on any machine.</p>",
        env!("CARGO_PKG_VERSION"),
        r.paths,
        r.seed,
        r.sampling,
        r.horizon.0,
        r.horizon.1
    );
}
