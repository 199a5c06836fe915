//! `gigawatt init` and `gigawatt check`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use gigawatt_io::Located;
use gigawatt_model::{Growth, OptionKind, Scenario, Severity, ValidScenario};

use crate::print_stdout;

pub fn init(dir: &Path, force: bool) -> anyhow::Result<ExitCode> {
    let path = dir.join("scenario.toml");
    if path.exists() && !force {
        bail!(
            "{} already exists; pass --force to overwrite it",
            path.display()
        );
    }
    gigawatt_io::write_atomic(&path, gigawatt_io::STARTER_SCENARIO.as_bytes())?;
    eprintln!("wrote {}\nnext: gigawatt check {0}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// Loads a scenario, printing diagnostics to stderr. Returns None (after printing) if it has
/// errors, or warnings under `strict`.
pub fn load_or_report(
    file: &Path,
    strict: bool,
) -> anyhow::Result<(Option<ValidScenario>, Vec<Located>)> {
    let (sc, mut diags) = gigawatt_io::load(file)?;
    if strict {
        for d in &mut diags {
            d.diag.severity = Severity::Error;
        }
    }
    let failed = diags.iter().any(|d| d.is_error());
    Ok((if failed { None } else { sc }, diags))
}

pub fn render_diagnostics(diags: &[Located]) -> String {
    let mut s: String = diags.iter().map(|d| d.render() + "\n").collect();
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    if !diags.is_empty() {
        s.push_str(&format!("{errors} error(s), {warnings} warning(s)\n"));
    }
    s
}

pub fn check(file: &Path, strict: bool, json: bool) -> anyhow::Result<ExitCode> {
    let (sc, diags) = load_or_report(file, strict)?;
    let ok = sc.is_some();
    if json {
        let out = serde_json::json!({
            "format": "gigawatt-check",
            "format_version": 1,
            "file": file.display().to_string(),
            "ok": ok,
            "diagnostics": diags.iter().map(|d| d.to_json()).collect::<Vec<_>>(),
            "summary": sc.as_deref().map(summary_json),
        });
        print_stdout(&(serde_json::to_string_pretty(&out)? + "\n"))?;
    } else {
        eprint!("{}", render_diagnostics(&diags));
        if let Some(sc) = &sc {
            print_stdout(&summary(sc))?;
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn growth_text(g: &Growth) -> &'static str {
    match g {
        Growth::Log { .. } => "log-growth",
        Growth::SCurve { .. } => "S-curve",
        Growth::Regimes { .. } => "regime switching",
        Growth::Percentiles { .. } => "elicited percentiles",
    }
}

fn si(x: f64) -> String {
    // An empty sum is −0.0; print it as 0.
    let (v, s) = gigawatt_study::render::si_scale(x + 0.0);
    format!("{v:.3}{s}").replace(".000", "")
}

/// The plain-text summary printed by `check`.
pub fn summary(sc: &Scenario) -> String {
    let mut s = format!(
        "scenario `{}`: {} to {} ({} months), discount {:.1} %/yr, {} paths, seed {}, {}\n",
        sc.name,
        sc.horizon.start,
        sc.horizon.end,
        sc.horizon.months(),
        sc.discount_rate_per_year * 100.0,
        sc.simulation.paths,
        sc.simulation.seed,
        sc.simulation.sampling.as_str()
    );
    s.push_str(&format!("segments ({}):\n", sc.segments.len()));
    for seg in &sc.segments {
        s.push_str(&format!(
            "  {:<16} {} {}/month at start (median), {}, priority {}, {} launch event(s)\n",
            seg.name,
            si(seg.start_units_per_month.dist.quantile(0.5)),
            seg.unit,
            growth_text(&seg.growth),
            seg.priority,
            seg.launches.len()
        ));
    }
    let fleet_h: f64 = sc
        .fleet
        .iter()
        .map(|f| {
            f.units
                * sc.generation(&f.generation)
                    .map_or(0.0, |g| g.h100e_per_unit)
        })
        .sum();
    s.push_str(&format!(
        "fleet: {} entries, {} H100e; powered space {} MW; research floor {} H100e / {:.0} %, {} training run(s)\n",
        sc.fleet.len(),
        si(fleet_h),
        si(sc.power.existing_powered_mw),
        si(sc.research.floor_h100e),
        sc.research.floor_share_pu * 100.0,
        sc.research.runs.len()
    ));
    s.push_str(&format!("options ({}):\n", sc.options.len()));
    for o in &sc.options {
        let size = match (o.kind, o.block_size) {
            (OptionKind::Burst, _) => format!("cap {} H100e/month", si(o.cap_h100e)),
            (k, Some(b)) => format!("blocks of {} {}", si(b), k.size_unit()),
            (k, None) => format!("any amount ({})", k.size_unit()),
        };
        s.push_str(&format!(
            "  {:<16} {:<6} {}, commit {}..{}, lead {:.1} months (median)\n",
            o.name,
            o.kind.as_str(),
            size,
            o.commit_from,
            o.commit_until,
            o.lead_time_months.dist.quantile(0.5)
        ));
        let mut terms = Vec::new();
        if o.financed_share_pu > 0.0 {
            terms.push(format!(
                "{:.0} % financed at {:.1} %/yr over {} months",
                o.financed_share_pu * 100.0,
                o.financing_rate_per_year * 100.0,
                o.financing_term_months
            ));
        }
        if o.chip_schedule_pu.len() > 1 {
            terms.push(format!(
                "chips paid in {} instalments",
                o.chip_schedule_pu.len()
            ));
        }
        if !o.ramp_pu.is_empty() {
            terms.push(format!("spend ramp {:?} by contract year", o.ramp_pu));
        }
        if !terms.is_empty() {
            s.push_str(&format!("  {:<16} {}\n", "", terms.join("; ")));
        }
    }
    if !sc.pools.is_empty() {
        s.push_str(&format!("pools ({}):\n", sc.pools.len()));
        for (i, p) in sc.pools.iter().enumerate() {
            let member = |named: &Option<String>| sc.pool_index(named) == i;
            let options = sc
                .options
                .iter()
                .filter(|o| o.kind != OptionKind::Burst && member(&o.pool))
                .count();
            let fleet = sc.fleet.iter().filter(|f| member(&f.pool)).count();
            let serves = if p.serves.is_empty() {
                "everything".to_string()
            } else {
                p.serves.join(", ")
            };
            s.push_str(&format!(
                "  {:<16} serves {serves}; fee {} USD per H100e-hour used; draws {:.0} % of its power idle; {options} option(s), {fleet} fleet entr{}\n",
                p.name,
                p.use_fee_usd_per_h100e_hour,
                p.idle_power_share_pu * 100.0,
                if fleet == 1 { "y" } else { "ies" }
            ));
        }
    }
    let f = &sc.finance;
    for r in &f.revenue_shares {
        s.push_str(&format!(
            "revenue share: {:.0} % to {} ({}..{})\n",
            r.share_pu * 100.0,
            r.partner,
            r.from,
            r.until
        ));
    }
    for v in &f.vendor_investments {
        s.push_str(&format!(
            "vendor investment: {} pays ${}/H100e of {} delivered{}{}\n",
            v.vendor,
            si(v.usd_per_h100e),
            v.options.join(", "),
            if v.max_usd > 0.0 {
                format!(", up to ${}", si(v.max_usd))
            } else {
                String::new()
            },
            if v.warrants_usd_per_h100e > 0.0 {
                format!("; warrants ${}/H100e", si(v.warrants_usd_per_h100e))
            } else {
                String::new()
            }
        ));
    }
    if !sc.events.is_empty() {
        s.push_str(&format!("events ({}):\n", sc.events.len()));
        for e in &sc.events {
            s.push_str(&format!(
                "  {:<16} {:<14} p = {:.2}, starts {}..{}\n",
                e.name,
                e.kind.name(),
                e.probability_pu,
                e.window_start,
                e.window_end
            ));
        }
    }
    s.push_str(&format!("plans ({}):\n", sc.plans.len()));
    for p in &sc.plans {
        let mut mw = 0.0;
        let mut h = 0.0;
        for c in &p.commitments {
            match sc.option(&c.option).map(|o| o.kind) {
                Some(OptionKind::Build) => mw += c.amount,
                _ => h += c.amount,
            }
        }
        s.push_str(&format!(
            "  {:<16} {} commitment(s) ({} MW built, {} H100e leased/bought), {} rule(s){}\n",
            p.name,
            p.commitments.len(),
            si(mw),
            si(h),
            p.rules.len(),
            if p.description.is_empty() {
                String::new()
            } else {
                format!(": {}", p.description)
            }
        ));
    }
    if !sc.cases.is_empty() {
        // A handful are listed; thousands are summarised (the JSON summary lists every name).
        const LISTED: usize = 8;
        let shown: Vec<String> = sc
            .cases
            .iter()
            .take(LISTED)
            .map(|c| format!("{} ({:.0} %)", c.name, c.probability_pu * 100.0))
            .collect();
        let more = sc.cases.len().saturating_sub(LISTED);
        let rest = if more > 0 {
            format!(", and {more} more (`check --json` lists all)")
        } else {
            String::new()
        };
        s.push_str(&format!(
            "cases: {} in all: {}{rest}\n",
            sc.cases.len(),
            shown.join(", ")
        ));
    }
    s.push_str("ok\n");
    s
}

fn summary_json(sc: &Scenario) -> serde_json::Value {
    serde_json::json!({
        "name": sc.name,
        "horizon": { "start": sc.horizon.start.to_string(), "end": sc.horizon.end.to_string(), "months": sc.horizon.months() },
        "segments": sc.segments.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        "options": sc.options.iter().map(|o| serde_json::json!({"name": o.name, "kind": o.kind.as_str()})).collect::<Vec<_>>(),
        "pools": sc.pools.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
        "plans": sc.plans.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
        "cases": sc.cases.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
    })
}
