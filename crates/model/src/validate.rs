//! Semantic validation of a scenario: every problem at once, each with a field path.
//!
//! Syntax, unknown fields, wrong types and non-finite numbers are caught by the file reader;
//! this module checks what only makes sense once the whole scenario is known: signs, ranges,
//! months inside the horizon, names that refer to things that exist, probabilities that sum
//! to one, and correlation matrices that are positive semi-definite.

use std::collections::{HashMap, HashSet};

use crate::{
    AllocationStep, Diagnostic, Dist, Growth, Month, OptionKind, Scenario, Segment, Uncertain,
};

const PROB_TOL: f64 = 1e-6;
/// Longest duration the model accepts, in months (a century); longer ones are typos.
pub const MAX_MONTHS: f64 = 1200.0;
/// Most capacity pools a scenario may declare (the engine keeps a bit per pool).
pub const MAX_POOLS: usize = 64;
/// Longest life or depreciation period the model accepts, in years.
pub const MAX_YEARS: f64 = 100.0;

struct V<'a> {
    sc: &'a Scenario,
    out: Vec<Diagnostic>,
}

impl V<'_> {
    fn err(&mut self, path: impl Into<String>, msg: impl Into<String>) {
        self.out.push(Diagnostic::error(path, msg));
    }

    fn err_hint(
        &mut self,
        path: impl Into<String>,
        msg: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.out.push(Diagnostic::error(path, msg).with_hint(hint));
    }

    fn positive(&mut self, path: &str, x: f64) {
        if x <= 0.0 {
            self.err(path, format!("must be greater than zero, got {x}"));
        }
    }

    fn non_negative(&mut self, path: &str, x: f64) {
        if x < 0.0 {
            self.err(path, format!("must not be negative, got {x}"));
        }
    }

    fn share(&mut self, path: &str, x: f64) {
        if !(0.0..=1.0).contains(&x) {
            self.err_hint(
                path,
                format!("must be between 0 and 1, got {x}"),
                "shares are per-unit: 0.3 means 30 %",
            );
        }
    }

    fn in_horizon(&mut self, path: &str, m: Month) {
        let h = self.sc.horizon;
        // A broken horizon is reported once, not at every month.
        if h.end >= h.start && !h.contains(m) {
            self.err(
                path,
                format!("month {m} is outside the horizon {} to {}", h.start, h.end),
            );
        }
    }

    /// A life or depreciation period in years: positive and at most [`MAX_YEARS`].
    fn years(&mut self, path: &str, x: f64) {
        self.positive(path, x);
        if x > MAX_YEARS {
            self.err_hint(
                path,
                format!("{x} years is longer than the {MAX_YEARS}-year limit"),
                "lives and depreciation periods are years, not months",
            );
        }
    }

    /// A whole number of months no longer than [`MAX_MONTHS`].
    fn months(&mut self, path: &str, m: u32) {
        if f64::from(m) > MAX_MONTHS {
            self.err(
                path,
                format!("{m} months is longer than the {MAX_MONTHS}-month limit"),
            );
        }
    }

    /// A non-negative duration in months, uncertain or not, no longer than [`MAX_MONTHS`].
    fn duration(&mut self, path: &str, u: &Uncertain) {
        self.uncertain(path, u, Sign::NonNegative);
        self.within(
            path,
            u,
            f64::NEG_INFINITY,
            MAX_MONTHS,
            "a duration in months",
        );
    }

    /// A monthly volatility: a valid, non-negative distribution no larger than 1.
    fn volatility(&mut self, path: &str, u: &Uncertain) {
        self.uncertain(path, u, Sign::NonNegative);
        self.within(path, u, 0.0, 1.0, "a monthly volatility");
    }

    /// Plausibility bound: values (from the 1e-6 to the 1 − 1e-6 quantile) within [lo, hi].
    /// Beyond such bounds the model's exponentials overflow or mean nothing.
    fn within(&mut self, path: &str, u: &Uncertain, lo: f64, hi: f64, what: &str) {
        if !u.dist.check().is_empty() {
            return;
        }
        let (a, b) = (u.dist.quantile(1e-6), u.dist.quantile(1.0 - 1e-6));
        if a < lo || b > hi {
            let range = if lo == f64::NEG_INFINITY {
                format!("must be at most {hi}")
            } else {
                format!("must lie between {lo} and {hi}")
            };
            self.err_hint(
                path,
                format!("{what} {range}, but this input reaches {a:.4} to {b:.4}"),
                "values outside this range are not plausible and make the model overflow",
            );
        }
    }

    /// Distribution parameters plus a sign check on the support: `positive` demands every
    /// value be > 0, `non_negative` ≥ 0.
    fn uncertain(&mut self, path: &str, u: &Uncertain, sign: Sign) {
        let msgs = u.dist.check();
        let had_errors = !msgs.is_empty();
        for (field, msg) in msgs {
            self.err(format!("{path}.{field}"), msg);
        }
        if had_errors {
            return;
        }
        let (lo, hi) = support(&u.dist);
        if let Dist::Fixed(x) = u.dist {
            match sign {
                Sign::Positive => self.positive(path, x),
                Sign::NonNegative => self.non_negative(path, x),
                Sign::Share => self.share(path, x),
                Sign::Any => {}
            }
            return;
        }
        match sign {
            Sign::Positive if lo <= 0.0 => self.err_hint(
                path,
                format!(
                    "must be greater than zero, but the {} can give {lo}",
                    u.dist.kind()
                ),
                "use a lognormal, a normal truncated with `min = 0`, a metalog with `min = 0`, or a bounded distribution above zero",
            ),
            Sign::NonNegative if lo < 0.0 => self.err_hint(
                path,
                format!(
                    "must not be negative, but the {} can give {lo}",
                    u.dist.kind()
                ),
                "use a lognormal, a normal truncated with `min = 0`, a metalog with `min = 0`, or a bounded distribution at or above zero",
            ),
            Sign::Share if lo < 0.0 || hi > 1.0 => self.err_hint(
                path,
                format!(
                    "must lie between 0 and 1, but the {} ranges {lo} to {hi}",
                    u.dist.kind()
                ),
                "bound it: a normal or a metalog takes `min = 0` and `max = 1`",
            ),
            _ => {}
        }
    }
}

#[derive(Clone, Copy)]
enum Sign {
    Any,
    Positive,
    NonNegative,
    Share,
}

/// Range of values a distribution can give (normal tails cut at 1e-9).
fn support(d: &Dist) -> (f64, f64) {
    match d {
        Dist::Fixed(x) => (*x, *x),
        Dist::Normal { sd, .. } if *sd == 0.0 => (d.quantile(0.5), d.quantile(0.5)),
        Dist::Normal { .. } => (f64::NEG_INFINITY, f64::INFINITY),
        Dist::TruncatedNormal { .. } => (d.quantile(0.0), d.quantile(1.0)),
        Dist::LognormalP10P90 { .. } | Dist::LognormalMedianP90 { .. } => {
            (f64::MIN_POSITIVE, f64::INFINITY)
        }
        Dist::Triangular { min, max, .. }
        | Dist::Pert { min, max, .. }
        | Dist::Uniform { min, max } => (*min, *max),
        Dist::Discrete { values, .. } => (
            values.iter().cloned().fold(f64::INFINITY, f64::min),
            values.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        ),
        Dist::Metalog { .. } => (d.quantile(1e-9), d.quantile(1.0 - 1e-9)),
    }
}

fn duplicates<'a>(v: &mut V, names: impl Iterator<Item = &'a str>, what: &str, path: &str) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, n) in names.enumerate() {
        if let Some(first) = seen.insert(n, i) {
            v.err_hint(
                format!("{path}[{i}].name"),
                format!("duplicate {what} name `{n}`"),
                format!("{path}[{first}] already uses it; names must be unique"),
            );
        }
    }
}

/// Best match for `name` among `candidates`, for "did you mean" hints.
fn suggest(name: &str, candidates: &[&str]) -> String {
    let best = candidates
        .iter()
        .map(|c| (strsim_like(name, c), *c))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((d, c)) if d <= name.len().max(3) / 2 + 1 => format!("did you mean `{c}`?"),
        _ if candidates.is_empty() => "none are defined".to_string(),
        _ => format!("known: {}", candidates.join(", ")),
    }
}

/// Levenshtein distance (small strings only).
fn strsim_like(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Checks a scenario; returns every problem found, errors and warnings.
pub fn validate(sc: &Scenario) -> Vec<Diagnostic> {
    let mut v = V {
        sc,
        out: Vec::new(),
    };
    let h = sc.horizon;
    if h.end < h.start {
        v.err(
            "horizon.end",
            format!("end {} is before start {}", h.end, h.start),
        );
        // Every month check depends on the horizon, so stop here.
        return v.out;
    } else if h.months() > 600 {
        v.err(
            "horizon.end",
            format!(
                "the horizon is {} months; at most 600 (50 years) are supported",
                h.months()
            ),
        );
    }
    if !(-0.5..=1.0).contains(&sc.discount_rate_per_year) {
        v.err(
            "discount_rate_per_year",
            format!(
                "{} is not a plausible yearly rate; write 0.08 for 8 %",
                sc.discount_rate_per_year
            ),
        );
    }
    if sc.simulation.paths == 0 {
        v.err("simulation.paths", "must be at least 1");
    }
    check_segments(&mut v, sc);
    check_load_blocks(&mut v, sc);
    check_research(&mut v, sc);
    check_generations_and_fleet(&mut v, sc);
    check_power(&mut v, sc);
    check_options(&mut v, sc);
    check_allocation(&mut v, sc);
    check_finance(&mut v, sc);
    check_plans(&mut v, sc);
    check_inputs_and_cases(&mut v, sc);
    check_groups(&mut v, sc);
    check_events(&mut v, sc);
    check_deals(&mut v, sc);
    check_pools(&mut v, sc);
    if !v.out.iter().any(|d| d.severity == crate::Severity::Error) {
        check_capacity_drop(&mut v, sc);
    }
    v.out
}

/// Planned capacity by month (H100e, before availability) of the fleet plus a plan's fixed
/// commitments, each arriving after its median lead time plus its expected delay and living for
/// its generation's life (a lease for its term): the path with every draw at its centre.
pub fn planned_capacity_h100e(sc: &Scenario, plan: Option<&crate::Plan>) -> Vec<f64> {
    let t0 = sc.horizon.start;
    let n = sc.horizon.months();
    let mut delta = vec![0.0; n + 1];
    let mut span = |from: i32, to: i32, h: f64| {
        let (a, b) = (from.clamp(0, n as i32), to.clamp(0, n as i32));
        if a < b {
            delta[a as usize] += h;
            delta[b as usize] -= h;
        }
    };
    let life_m = |g: &crate::Generation| (g.life_years * 12.0).round() as i32;
    for f in &sc.fleet {
        if let Some(g) = sc.generation(&f.generation) {
            let from = f.installed.since(t0);
            let to = f.lease_end.map_or(from + life_m(g), |e| e.since(t0) + 1);
            span(from, to, f.units * g.h100e_per_unit);
        }
    }
    for c in plan.map_or(&[][..], |p| &p.commitments[..]) {
        let Some(o) = sc.options.iter().find(|o| o.name == c.option) else {
            continue;
        };
        let gen = o.generation.as_deref().and_then(|g| sc.generation(g));
        let lead = o.lead_time_months.dist.quantile(0.5)
            + o.delay_probability_pu * o.delay_months.dist.mean();
        let mut a = c.month.since(t0) + lead.round() as i32;
        if let Some(g) = gen {
            a = a.max(g.available_from.since(t0));
        }
        match (o.kind, gen) {
            (crate::OptionKind::Build, Some(g)) => {
                let units = c.amount * 1000.0 / (g.kw_per_unit * o.pue);
                span(a, a + life_m(g), units * g.h100e_per_unit);
            }
            (crate::OptionKind::Buy, Some(g)) => span(a, a + life_m(g), c.amount),
            (crate::OptionKind::Lease, _) => span(a, a + o.term_months as i32, c.amount),
            _ => {}
        }
    }
    let mut cap = 0.0;
    delta[..n]
        .iter()
        .map(|d| {
            cap += d;
            cap
        })
        .collect()
}

/// Warns, per plan without rules (or the fleet alone when there are no plans), when planned
/// capacity ends the horizon more than `capacity_drop_warning_pu` below its peak.
fn check_capacity_drop(v: &mut V<'_>, sc: &Scenario) {
    let share = sc.simulation.capacity_drop_warning_pu;
    if share >= 1.0 {
        return;
    }
    let t0 = sc.horizon.start;
    let plans: Vec<(Option<&crate::Plan>, String)> = if sc.plans.is_empty() {
        vec![(None, "fleet".to_string())]
    } else {
        sc.plans
            .iter()
            .enumerate()
            .filter(|(_, p)| p.rules.is_empty())
            .map(|(i, p)| (Some(p), format!("plans[{i}].name")))
            .collect()
    };
    for (plan, path) in plans {
        let cap = planned_capacity_h100e(sc, plan);
        let Some((peak_t, peak)) = cap
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        else {
            continue;
        };
        let end = *cap.last().unwrap_or(&0.0);
        if peak > 0.0 && end < (1.0 - share) * peak {
            let who = plan.map_or("the fleet alone".to_string(), |p| {
                format!("plan `{}`", p.name)
            });
            v.out.push(
                Diagnostic::warning(
                    path,
                    format!(
                        "{who}'s capacity falls from {peak:.4e} H100e ({}) to {end:.4e} H100e at the horizon end ({}), {:.0} % down, as chips retire and leases end",
                        t0.plus(peak_t as i32),
                        sc.horizon.end,
                        100.0 * (1.0 - end / peak)
                    ),
                )
                .with_hint(
                    "replace them: add a rule with kind = \"refresh\" on an option of the then-current generation, or commitments; simulation.capacity_drop_warning_pu sets the share that warns (1: never)",
                ),
            );
        }
    }
}

/// Events: windows in the horizon, the parameters their kind uses, and the segments,
/// generations and options they name. Names are unique among events and launches, since
/// `--without-event` takes either.
fn check_events(v: &mut V<'_>, sc: &Scenario) {
    use crate::EventKind as K;
    duplicates(
        v,
        sc.events.iter().map(|e| e.name.as_str()),
        "event",
        "events",
    );
    for (i, e) in sc.events.iter().enumerate() {
        if let Some(s) = sc
            .segments
            .iter()
            .find(|s| s.launches.iter().any(|l| l.name == e.name))
        {
            v.err_hint(
                format!("events[{i}].name"),
                format!("segment `{}` has a launch named `{}` too", s.name, e.name),
                "events and launches share one namespace (--without-event takes either): rename one",
            );
        }
    }
    let segs: Vec<&str> = sc.segments.iter().map(|s| s.name.as_str()).collect();
    let builds: Vec<&str> = sc
        .options
        .iter()
        .filter(|o| o.kind == crate::OptionKind::Build)
        .map(|o| o.name.as_str())
        .collect();
    for (i, e) in sc.events.iter().enumerate() {
        let p = format!("events[{i}]");
        v.in_horizon(&format!("{p}.window_start"), e.window_start);
        v.in_horizon(&format!("{p}.window_end"), e.window_end);
        if e.window_end < e.window_start {
            v.err(
                format!("{p}.window_end"),
                format!(
                    "window ends {} before it starts {}",
                    e.window_end, e.window_start
                ),
            );
        }
        v.share(&format!("{p}.probability_pu"), e.probability_pu);
        v.months(&format!("{p}.duration_months"), e.duration_months);
        match e.kind {
            K::Efficiency | K::PriceWar => {
                let before = v.out.len();
                v.uncertain(&format!("{p}.share_pu"), &e.share_pu, Sign::Share);
                // A fall by the whole would leave no compute per unit or no price at all.
                if v.out.len() == before {
                    v.within(
                        &format!("{p}.share_pu"),
                        &e.share_pu,
                        0.0,
                        0.999,
                        "a fall by a share",
                    );
                }
            }
            K::SupplyShock | K::PowerDelay => {
                v.duration(&format!("{p}.delay_months"), &e.delay_months)
            }
            K::FundingFreeze => {}
        }
        if matches!(e.kind, K::SupplyShock | K::PowerDelay | K::FundingFreeze)
            && e.duration_months == 0
        {
            v.err_hint(
                format!("{p}.duration_months"),
                format!("a {} that lasts 0 months does nothing", e.kind.name()),
                "give duration_months, the span of deliveries, rounds or credit it hits",
            );
        }
        for (j, name) in e.segments.iter().enumerate() {
            if !segs.contains(&name.as_str()) {
                v.err_hint(
                    format!("{p}.segments[{j}]"),
                    format!("unknown segment `{name}`"),
                    suggest(name, &segs),
                );
            }
        }
        for (j, name) in e.generations.iter().enumerate() {
            check_gen(v, sc, format!("{p}.generations[{j}]"), name);
        }
        for (j, name) in e.options.iter().enumerate() {
            if !builds.contains(&name.as_str()) {
                v.err_hint(
                    format!("{p}.options[{j}]"),
                    format!("`{name}` is not a build option; a power delay slips builds (sites)"),
                    suggest(name, &builds),
                );
            }
        }
    }
}

/// Segments: demand, growth, launches, churn, priorities and demand factors.
fn check_segments(v: &mut V<'_>, sc: &Scenario) {
    if sc.segments.is_empty() {
        v.err_hint(
            "segments",
            "the scenario has no demand segments",
            "add a [[segments]] table",
        );
    }
    duplicates(
        v,
        sc.segments.iter().map(|s| s.name.as_str()),
        "segment",
        "segments",
    );
    let nblocks = sc.load_blocks.len();
    for (i, s) in sc.segments.iter().enumerate() {
        let p = format!("segments[{i}]");
        v.uncertain(
            &format!("{p}.start_units_per_month"),
            &s.start_units_per_month,
            Sign::NonNegative,
        );
        v.uncertain(
            &format!("{p}.h100e_months_per_unit"),
            &s.h100e_months_per_unit,
            Sign::Positive,
        );
        v.uncertain(
            &format!("{p}.efficiency_gain_per_year"),
            &s.efficiency_gain_per_year,
            Sign::Share,
        );
        v.uncertain(
            &format!("{p}.price_usd_per_unit"),
            &s.price_usd_per_unit,
            Sign::NonNegative,
        );
        v.uncertain(
            &format!("{p}.price_decline_per_year"),
            &s.price_decline_per_year,
            Sign::Share,
        );
        v.share(&format!("{p}.churn_share_pu"), s.churn_share_pu);
        if !s.demand_factors.is_empty() && s.demand_factors.len() != nblocks {
            v.err(
                format!("{p}.demand_factors"),
                format!(
                    "{} factors given but there are {nblocks} load blocks",
                    s.demand_factors.len()
                ),
            );
        }
        for (j, f) in s.demand_factors.iter().enumerate() {
            v.non_negative(&format!("{p}.demand_factors[{j}]"), *f);
        }
        check_growth(v, &p, s);
        duplicates(
            v,
            s.launches.iter().map(|l| l.name.as_str()),
            "launch",
            &format!("{p}.launches"),
        );
        check_launches(v, &p, s);
    }
}

/// A segment's growth process (`p` is the segment's path).
fn check_growth(v: &mut V<'_>, p: &str, s: &Segment) {
    match &s.growth {
        Growth::Log {
            drift_per_year,
            volatility_per_month,
        } => {
            v.uncertain(
                &format!("{p}.growth.drift_per_year"),
                drift_per_year,
                Sign::Any,
            );
            v.within(
                &format!("{p}.growth.drift_per_year"),
                drift_per_year,
                -5.0,
                5.0,
                "a yearly log-growth drift",
            );
            v.volatility(
                &format!("{p}.growth.volatility_per_month"),
                volatility_per_month,
            );
        }
        Growth::SCurve {
            saturation_units_per_month,
            rate_per_year,
            volatility_per_month,
        } => {
            v.uncertain(
                &format!("{p}.growth.saturation_units_per_month"),
                saturation_units_per_month,
                Sign::Positive,
            );
            v.within(
                &format!("{p}.growth.rate_per_year"),
                rate_per_year,
                0.0,
                20.0,
                "a logistic growth rate per year",
            );
            v.uncertain(
                &format!("{p}.growth.rate_per_year"),
                rate_per_year,
                Sign::NonNegative,
            );
            v.volatility(
                &format!("{p}.growth.volatility_per_month"),
                volatility_per_month,
            );
        }
        Growth::Regimes {
            regimes,
            transition,
            start,
        } => {
            let gp = format!("{p}.growth");
            if regimes.is_empty() {
                v.err(format!("{gp}.regimes"), "at least one regime is needed");
            }
            duplicates(
                v,
                regimes.iter().map(|r| r.name.as_str()),
                "regime",
                &format!("{gp}.regimes"),
            );
            for (j, r) in regimes.iter().enumerate() {
                v.within(
                    &format!("{gp}.regimes[{j}].volatility_per_month"),
                    &Uncertain::fixed(r.volatility_per_month),
                    0.0,
                    1.0,
                    "a monthly volatility",
                );
                v.within(
                    &format!("{gp}.regimes[{j}].drift_per_year"),
                    &Uncertain::fixed(r.drift_per_year),
                    -5.0,
                    5.0,
                    "a yearly log-growth drift",
                );
            }
            if !regimes.iter().any(|r| &r.name == start) {
                let names: Vec<&str> = regimes.iter().map(|r| r.name.as_str()).collect();
                v.err_hint(
                    format!("{gp}.start"),
                    format!("unknown regime `{start}`"),
                    suggest(start, &names),
                );
            }
            if transition.len() != regimes.len() {
                v.err(
                    format!("{gp}.transition"),
                    format!("{} rows for {} regimes", transition.len(), regimes.len()),
                );
            }
            for (j, row) in transition.iter().enumerate() {
                let rp = format!("{gp}.transition[{j}]");
                if row.len() != regimes.len() {
                    v.err(
                        &rp,
                        format!("{} columns for {} regimes", row.len(), regimes.len()),
                    );
                }
                if row.iter().any(|x| !(0.0..=1.0).contains(x)) {
                    v.err(&rp, "transition probabilities must lie between 0 and 1");
                }
                let sum: f64 = row.iter().sum();
                if (sum - 1.0).abs() > PROB_TOL {
                    v.err_hint(&rp, format!("row sums to {sum}, not 1"), "each row holds the probabilities of moving from one regime to each regime in a month");
                }
            }
        }
        Growth::Percentiles {
            years,
            p10,
            p50,
            p90,
        } => {
            let gp = format!("{p}.growth");
            for (name, col) in [("p10", p10), ("p50", p50), ("p90", p90)] {
                if col.len() != years.len() {
                    v.err(
                        format!("{gp}.{name}"),
                        format!("{} values for {} years", col.len(), years.len()),
                    );
                }
            }
            if years.is_empty() {
                v.err(format!("{gp}.years"), "at least one year is needed");
            }
            if years.windows(2).any(|w| w[0] >= w[1]) {
                v.err(format!("{gp}.years"), "years must rise strictly");
            }
            for j in 0..years.len().min(p10.len()).min(p50.len()).min(p90.len()) {
                if !(0.0 < p10[j] && p10[j] <= p50[j] && p50[j] <= p90[j]) {
                    v.err(
                        format!("{gp}.p10[{j}]"),
                        format!(
                            "need 0 < p10 <= p50 <= p90 in {}, got {}, {}, {}",
                            years[j], p10[j], p50[j], p90[j]
                        ),
                    );
                }
            }
        }
    }
}

/// A segment's launch events (`p` is the segment's path).
fn check_launches(v: &mut V<'_>, p: &str, s: &Segment) {
    for (j, l) in s.launches.iter().enumerate() {
        let lp = format!("{p}.launches[{j}]");
        v.in_horizon(&format!("{lp}.window_start"), l.window_start);
        v.in_horizon(&format!("{lp}.window_end"), l.window_end);
        if l.window_end < l.window_start {
            v.err(
                format!("{lp}.window_end"),
                format!(
                    "window ends {} before it starts {}",
                    l.window_end, l.window_start
                ),
            );
        }
        v.share(&format!("{lp}.probability_pu"), l.probability_pu);
        v.uncertain(&format!("{lp}.jump_pu"), &l.jump_pu, Sign::Any);
        v.within(
            &format!("{lp}.jump_pu"),
            &l.jump_pu,
            f64::NEG_INFINITY,
            100.0,
            "a launch jump",
        );
        if let Dist::Fixed(x) = l.jump_pu.dist {
            if x <= -1.0 {
                v.err(
                    format!("{lp}.jump_pu"),
                    format!("a jump of {x} would make demand negative; -0.5 halves it"),
                );
            }
        }
        if let Some(hl) = l.decay_half_life_months {
            v.positive(&format!("{lp}.decay_half_life_months"), hl);
        }
    }
}

/// Load blocks: hours shares and demand factors.
fn check_load_blocks(v: &mut V<'_>, sc: &Scenario) {
    if !sc.load_blocks.is_empty() {
        duplicates(
            v,
            sc.load_blocks.iter().map(|b| b.name.as_str()),
            "load block",
            "load_blocks",
        );
        let hours: f64 = sc.load_blocks.iter().map(|b| b.hours_pu).sum();
        if (hours - 1.0).abs() > PROB_TOL {
            v.err_hint(
                "load_blocks",
                format!("hours_pu of the blocks sum to {hours}, not 1"),
                "each block's hours_pu is its share of the month",
            );
        }
        for (i, b) in sc.load_blocks.iter().enumerate() {
            v.positive(&format!("load_blocks[{i}].hours_pu"), b.hours_pu);
            v.non_negative(&format!("load_blocks[{i}].demand_factor"), b.demand_factor);
        }
        let avg: f64 = sc
            .load_blocks
            .iter()
            .map(|b| b.hours_pu * b.demand_factor)
            .sum();
        if (avg - 1.0).abs() > 1e-3 {
            v.out.push(Diagnostic::warning("load_blocks", format!("hours-weighted demand factors average {avg:.4}, not 1: monthly demand is scaled by that much")));
        }
    }
}

/// Research: floor, runs and quality.
fn check_research(v: &mut V<'_>, sc: &Scenario) {
    let r = &sc.research;
    v.non_negative("research.floor_h100e", r.floor_h100e);
    v.months("research.quality_lag_months", r.quality_lag_months);
    v.share("research.floor_share_pu", r.floor_share_pu);
    v.uncertain(
        "research.quality_elasticity",
        &r.quality_elasticity,
        Sign::NonNegative,
    );
    v.within(
        "research.quality_elasticity",
        &r.quality_elasticity,
        0.0,
        3.0,
        "a quality elasticity",
    );
    duplicates(
        v,
        r.runs.iter().map(|x| x.name.as_str()),
        "training run",
        "research.runs",
    );
    for (i, run) in r.runs.iter().enumerate() {
        let p = format!("research.runs[{i}]");
        v.positive(&format!("{p}.size_h100e_months"), run.size_h100e_months);
        v.non_negative(&format!("{p}.max_h100e"), run.max_h100e);
        v.in_horizon(&format!("{p}.earliest_start"), run.earliest_start);
        v.in_horizon(&format!("{p}.deadline"), run.deadline);
        if run.deadline < run.earliest_start {
            v.err(
                format!("{p}.deadline"),
                format!(
                    "deadline {} is before the earliest start {}",
                    run.deadline, run.earliest_start
                ),
            );
        }
    }
}

/// An error when `name` is not a generation of the scenario.
fn check_gen(v: &mut V<'_>, sc: &Scenario, path: String, name: &str) {
    let gen_names: Vec<&str> = sc.generations.iter().map(|g| g.name.as_str()).collect();
    if !gen_names.contains(&name) {
        v.err_hint(
            path,
            format!("unknown accelerator generation `{name}`"),
            suggest(name, &gen_names),
        );
    }
}

/// Accelerator generations and the installed fleet.
fn check_generations_and_fleet(v: &mut V<'_>, sc: &Scenario) {
    let h = sc.horizon;
    duplicates(
        v,
        sc.generations.iter().map(|g| g.name.as_str()),
        "generation",
        "generations",
    );
    for (i, g) in sc.generations.iter().enumerate() {
        let p = format!("generations[{i}]");
        v.positive(&format!("{p}.h100e_per_unit"), g.h100e_per_unit);
        v.positive(&format!("{p}.kw_per_unit"), g.kw_per_unit);
        v.uncertain(
            &format!("{p}.price_usd_per_unit"),
            &g.price_usd_per_unit,
            Sign::NonNegative,
        );
        v.years(&format!("{p}.life_years"), g.life_years);
    }
    for (i, f) in sc.fleet.iter().enumerate() {
        let p = format!("fleet[{i}]");
        check_gen(v, sc, format!("{p}.generation"), &f.generation);
        v.positive(&format!("{p}.units"), f.units);
        v.non_negative(
            &format!("{p}.lease_usd_per_unit_month"),
            f.lease_usd_per_unit_month,
        );
        if f.installed > h.end {
            v.err(
                format!("{p}.installed"),
                format!("installed {} after the horizon ends {}", f.installed, h.end),
            );
        }
        if let Some(e) = f.lease_end {
            if e < f.installed {
                v.err(
                    format!("{p}.lease_end"),
                    "lease ends before it was installed",
                );
            }
        }
    }
}

/// Powered space, availability, power price and PUE.
fn check_power(v: &mut V<'_>, sc: &Scenario) {
    v.non_negative("power.existing_powered_mw", sc.power.existing_powered_mw);
    if let Some(mw) = sc.power.max_total_mw {
        v.non_negative("power.max_total_mw", mw);
    }
    if !(0.0 < sc.power.availability_pu && sc.power.availability_pu <= 1.0) {
        v.err(
            "power.availability_pu",
            format!("must be in (0, 1], got {}", sc.power.availability_pu),
        );
    }
    v.uncertain(
        "power.power_price_usd_per_mwh",
        &sc.power.power_price_usd_per_mwh,
        Sign::NonNegative,
    );
    if sc.power.pue < 1.0 {
        v.err_hint(
            "power.pue",
            format!("PUE {} is below 1", sc.power.pue),
            "PUE is facility power over IT power, 1.1 to 1.6 in practice",
        );
    }
}

/// Capacity options: kinds, windows, blocks, lead times, costs and terms.
fn check_options(v: &mut V<'_>, sc: &Scenario) {
    duplicates(
        v,
        sc.options.iter().map(|o| o.name.as_str()),
        "option",
        "options",
    );
    for (i, o) in sc.options.iter().enumerate() {
        let p = format!("options[{i}]");
        v.in_horizon(&format!("{p}.commit_from"), o.commit_from);
        v.in_horizon(&format!("{p}.commit_until"), o.commit_until);
        if o.commit_until < o.commit_from {
            v.err(
                format!("{p}.commit_until"),
                format!("{} is before commit_from {}", o.commit_until, o.commit_from),
            );
        }
        match (&o.generation, o.kind) {
            (Some(g), _) => check_gen(v, sc, format!("{p}.generation"), g),
            (None, OptionKind::Build | OptionKind::Buy) => {
                v.err_hint(
                    format!("{p}.generation"),
                    format!("a {} option needs a generation", o.kind.as_str()),
                    "name the accelerator generation it installs",
                );
            }
            _ => {}
        }
        let unit = o.kind.size_unit();
        if let Some(b) = o.block_size {
            v.positive(&format!("{p}.block_{unit}"), b);
        }
        if let Some(m) = o.max_total {
            v.non_negative(&format!("{p}.max_{unit}"), m);
        }
        v.duration(&format!("{p}.lead_time_months"), &o.lead_time_months);
        v.share(&format!("{p}.delay_probability_pu"), o.delay_probability_pu);
        v.duration(&format!("{p}.delay_months"), &o.delay_months);
        v.uncertain(
            &format!("{p}.capex_usd_per_mw"),
            &o.capex_usd_per_mw,
            Sign::NonNegative,
        );
        if o.capex_schedule_pu.is_empty() {
            v.err(format!("{p}.capex_schedule_pu"), "needs at least one share");
        } else {
            let sum: f64 = o.capex_schedule_pu.iter().sum();
            if (sum - 1.0).abs() > PROB_TOL || o.capex_schedule_pu.iter().any(|x| *x < 0.0) {
                v.err(
                    format!("{p}.capex_schedule_pu"),
                    format!("shares sum to {sum}; they must be non-negative and sum to 1"),
                );
            }
        }
        check_deal_terms(v, &p, o);
        v.non_negative(&format!("{p}.opex_usd_per_mw_year"), o.opex_usd_per_mw_year);
        if let Some(price) = o.power_price_usd_per_mwh {
            v.non_negative(&format!("{p}.power_price_usd_per_mwh"), price);
        }
        if o.pue < 1.0 {
            v.err(format!("{p}.pue"), format!("PUE {} is below 1", o.pue));
        }
        v.years(&format!("{p}.life_years"), o.life_years);
        v.months(&format!("{p}.term_months"), o.term_months);
        v.months(&format!("{p}.cancel_notice_months"), o.cancel_notice_months);
        if let Some(r) = o.residual_value_pu {
            v.share(&format!("{p}.residual_value_pu"), r);
        }
        v.uncertain(
            &format!("{p}.price_usd_per_h100e_month"),
            &o.price_usd_per_h100e_month,
            Sign::NonNegative,
        );
        v.share(&format!("{p}.cancel_fee_pu"), o.cancel_fee_pu);
        match o.kind {
            OptionKind::Lease if o.term_months == 0 => v.err(
                format!("{p}.term_months"),
                "a lease needs a term of at least one month",
            ),
            OptionKind::Burst if o.cap_h100e <= 0.0 => v.err_hint(
                format!("{p}.cap_h100e"),
                "a burst option needs a positive monthly cap",
                "set cap_h100e to the most H100e the provider will sell in a month",
            ),
            _ => {}
        }
    }
}

/// The allocation order.
fn check_allocation(v: &mut V<'_>, sc: &Scenario) {
    let seg_names: Vec<&str> = sc.segments.iter().map(|s| s.name.as_str()).collect();
    let mut seen_steps = HashSet::new();
    for (i, step) in sc.allocation.order.iter().enumerate() {
        let p = format!("allocation.order[{i}]");
        if !seen_steps.insert(step.to_text()) {
            v.err(&p, format!("`{}` appears twice", step.to_text()));
        }
        if let AllocationStep::Segment(s) = step {
            if !seg_names.contains(&s.as_str()) {
                v.err_hint(&p, format!("unknown segment `{s}`"), suggest(s, &seg_names));
            }
        }
    }
    if !sc.allocation.order.is_empty() {
        for s in &seg_names {
            if !seen_steps.contains(&format!("segment:{s}")) {
                v.out.push(Diagnostic::warning(
                    "allocation.order",
                    format!("segment `{s}` is not in the order and will get nothing"),
                ));
            }
        }
    }
}

/// Cash, credit, backstop, opex, depreciation and funding rounds.
fn check_finance(v: &mut V<'_>, sc: &Scenario) {
    let f = &sc.finance;
    v.non_negative("finance.min_cash_usd", f.min_cash_usd);
    v.non_negative("finance.credit_limit_usd", f.credit_limit_usd);
    for (path, rate) in [
        ("finance.credit_rate_per_year", f.credit_rate_per_year),
        ("finance.backstop_rate_per_year", f.backstop_rate_per_year),
    ] {
        v.non_negative(path, rate);
        if rate > 10.0 {
            v.err_hint(
                path,
                format!("an interest rate of {rate} a year is above the limit of 10"),
                "rates are per-unit: 0.12 means 12 % a year",
            );
        }
    }
    v.uncertain(
        "finance.non_compute_opex_usd_per_month",
        &f.non_compute_opex_usd_per_month,
        Sign::NonNegative,
    );
    let g = f.non_compute_opex_growth_per_year;
    if !(-0.99..=10.0).contains(&g) {
        v.err_hint(
            "finance.non_compute_opex_growth_per_year",
            format!("a yearly growth of {g} is outside -0.99 to 10"),
            "growth is per-unit: 0.1 means 10 % a year",
        );
    }
    v.years("finance.it_depreciation_years", f.it_depreciation_years);
    v.years(
        "finance.facility_depreciation_years",
        f.facility_depreciation_years,
    );
    for (i, r) in f.rounds.iter().enumerate() {
        let p = format!("finance.rounds[{i}]");
        v.in_horizon(&format!("{p}.month"), r.month);
        v.uncertain(&format!("{p}.amount_usd"), &r.amount_usd, Sign::NonNegative);
        v.share(&format!("{p}.probability_pu"), r.probability_pu);
    }
}

/// An option's payment terms: the chip schedule, vendor financing and a lease's spend ramp.
fn check_deal_terms(v: &mut V<'_>, p: &str, o: &crate::CapacityOption) {
    let chips = matches!(o.kind, OptionKind::Build | OptionKind::Buy);
    let sum: f64 = o.chip_schedule_pu.iter().sum();
    if o.chip_schedule_pu.is_empty()
        || (sum - 1.0).abs() > PROB_TOL
        || o.chip_schedule_pu.iter().any(|x| *x < 0.0)
    {
        v.err(
            format!("{p}.chip_schedule_pu"),
            format!("shares sum to {sum}; they must be non-negative and sum to 1"),
        );
    }
    v.share(&format!("{p}.financed_share_pu"), o.financed_share_pu);
    v.non_negative(
        &format!("{p}.financing_rate_per_year"),
        o.financing_rate_per_year,
    );
    if o.financing_rate_per_year > 1.0 {
        v.err_hint(
            format!("{p}.financing_rate_per_year"),
            format!(
                "{} a year is not a plausible rate",
                o.financing_rate_per_year
            ),
            "rates are per-unit: 0.09 means 9 % a year",
        );
    }
    v.months(
        &format!("{p}.financing_term_months"),
        o.financing_term_months,
    );
    if o.financed_share_pu > 0.0 && (!chips || o.financing_term_months == 0) {
        v.err_hint(
            format!("{p}.financed_share_pu"),
            if chips {
                "vendor financing needs financing_term_months, the months it is repaid over".to_string()
            } else {
                format!("a {} option has no chips to finance", o.kind.as_str())
            },
            "set financing_term_months (1 with a rate of 0 is a payment deferred a month), or remove financed_share_pu",
        );
    }
    if !o.ramp_pu.is_empty() {
        if o.kind != OptionKind::Lease {
            v.err(
                format!("{p}.ramp_pu"),
                format!(
                    "a spend ramp applies to leases, not to a {} option",
                    o.kind.as_str()
                ),
            );
        }
        if let Some(x) = o.ramp_pu.iter().find(|x| !(**x >= 0.0 && **x <= 100.0)) {
            v.err(
                format!("{p}.ramp_pu"),
                format!("multiplier {x} must lie between 0 and 100"),
            );
        }
    }
}

/// Revenue shares and vendor investments.
fn check_deals(v: &mut V<'_>, sc: &Scenario) {
    let f = &sc.finance;
    let segs: Vec<&str> = sc.segments.iter().map(|s| s.name.as_str()).collect();
    let opts: Vec<&str> = sc.options.iter().map(|o| o.name.as_str()).collect();
    for (i, r) in f.revenue_shares.iter().enumerate() {
        let p = format!("finance.revenue_shares[{i}]");
        v.share(&format!("{p}.share_pu"), r.share_pu);
        v.in_horizon(&format!("{p}.from"), r.from);
        v.in_horizon(&format!("{p}.until"), r.until);
        for (j, s) in r.segments.iter().enumerate() {
            if !segs.contains(&s.as_str()) {
                v.err_hint(
                    format!("{p}.segments[{j}]"),
                    format!("unknown segment `{s}`"),
                    suggest(s, &segs),
                );
            }
        }
    }
    let total: f64 = f.revenue_shares.iter().map(|r| r.share_pu).sum();
    if total > 1.0 {
        v.err(
            "finance.revenue_shares",
            format!("revenue shares add up to {total}, more than all the revenue"),
        );
    }
    for (i, inv) in f.vendor_investments.iter().enumerate() {
        let p = format!("finance.vendor_investments[{i}]");
        v.non_negative(&format!("{p}.usd_per_h100e"), inv.usd_per_h100e);
        v.non_negative(&format!("{p}.max_usd"), inv.max_usd);
        v.non_negative(
            &format!("{p}.warrants_usd_per_h100e"),
            inv.warrants_usd_per_h100e,
        );
        for (j, o) in inv.options.iter().enumerate() {
            if !opts.contains(&o.as_str()) {
                v.err_hint(
                    format!("{p}.options[{j}]"),
                    format!("unknown option `{o}`"),
                    suggest(o, &opts),
                );
            }
        }
    }
}

/// Capacity pools: unique names, what they serve, their costs, and every `pool` that names
/// one. Work no pool may run is a warning: it is never served.
fn check_pools(v: &mut V<'_>, sc: &Scenario) {
    let pools: Vec<&str> = sc.pools.iter().map(|p| p.name.as_str()).collect();
    duplicates(v, pools.iter().copied(), "pool", "pools");
    if pools.len() > MAX_POOLS {
        v.err_hint(
            "pools",
            format!("{} pools; at most {MAX_POOLS} are supported", pools.len()),
            "merge pools that serve the same work at similar cost",
        );
    }
    let mut work: Vec<&str> = sc.segments.iter().map(|s| s.name.as_str()).collect();
    work.push(crate::RESEARCH_WORK);
    for (i, pool) in sc.pools.iter().enumerate() {
        let p = format!("pools[{i}]");
        v.non_negative(
            &format!("{p}.use_fee_usd_per_h100e_hour"),
            pool.use_fee_usd_per_h100e_hour,
        );
        v.share(
            &format!("{p}.idle_power_share_pu"),
            pool.idle_power_share_pu,
        );
        for (j, w) in pool.serves.iter().enumerate() {
            if !work.contains(&w.as_str()) {
                v.err_hint(
                    format!("{p}.serves[{j}]"),
                    format!("unknown segment `{w}` (name segments, or `research`)"),
                    suggest(w, &work),
                );
            }
        }
    }
    let named = |v: &mut V<'_>, path: String, pool: &Option<String>| {
        let Some(name) = pool else { return };
        if pools.is_empty() {
            v.err_hint(
                path,
                format!("pool `{name}` but the scenario has no [[pools]]"),
                "declare it under [[pools]], or remove `pool`",
            );
        } else if !pools.contains(&name.as_str()) {
            v.err_hint(
                path,
                format!("unknown pool `{name}`"),
                suggest(name, &pools),
            );
        }
    };
    for (i, f) in sc.fleet.iter().enumerate() {
        named(v, format!("fleet[{i}].pool"), &f.pool);
    }
    for (i, o) in sc.options.iter().enumerate() {
        if o.kind == OptionKind::Burst && o.pool.is_some() {
            v.err_hint(
                format!("options[{i}].pool"),
                "burst capacity is not in a pool: it covers product shortfall at its own price",
                "remove `pool` from the burst option",
            );
        } else {
            named(v, format!("options[{i}].pool"), &o.pool);
        }
    }
    if sc.pools.is_empty() {
        return;
    }
    for w in &work {
        if !sc.pools.iter().any(|p| p.serves(w)) {
            let what = if *w == crate::RESEARCH_WORK {
                "research".to_string()
            } else {
                format!("segment `{w}`")
            };
            v.out.push(
                Diagnostic::warning(
                    "pools",
                    format!("no pool serves {what}: it is never served from capacity"),
                )
                .with_hint(format!("add `{w}` to a pool's `serves`")),
            );
        }
    }
}

/// Plans: commitments and rules.
fn check_plans(v: &mut V<'_>, sc: &Scenario) {
    let h = sc.horizon;
    let opt_names: Vec<&str> = sc.options.iter().map(|o| o.name.as_str()).collect();
    duplicates(v, sc.plans.iter().map(|p| p.name.as_str()), "plan", "plans");
    for (i, plan) in sc.plans.iter().enumerate() {
        for (j, c) in plan.commitments.iter().enumerate() {
            let p = format!("plans[{i}].commitments[{j}]");
            match sc.option(&c.option) {
                None => v.err_hint(
                    format!("{p}.option"),
                    format!("unknown option `{}`", c.option),
                    suggest(&c.option, &opt_names),
                ),
                Some(o) => {
                    if h.contains(c.month) && (c.month < o.commit_from || c.month > o.commit_until)
                    {
                        v.err(
                            format!("{p}.month"),
                            format!(
                                "option `{}` can be committed only from {} to {}, not {}",
                                o.name, o.commit_from, o.commit_until, c.month
                            ),
                        );
                    }
                    if o.kind == OptionKind::Burst {
                        v.err_hint(
                            format!("{p}.option"),
                            format!("`{}` is a burst option and is used on demand", o.name),
                            "burst needs no commitment; remove this entry",
                        );
                    }
                    if let Some(b) = o.block_size {
                        let k = c.amount / b;
                        if (k - k.round()).abs() > 1e-9 {
                            v.err_hint(
                                format!("{p}.{}", o.kind.size_unit()),
                                format!("{} is not a whole number of blocks of {b}", c.amount),
                                format!("use a multiple of {b}"),
                            );
                        }
                    }
                }
            }
            v.in_horizon(&format!("{p}.month"), c.month);
            let unit = sc
                .option(&c.option)
                .map_or("amount", |o| o.kind.size_unit());
            v.positive(&format!("{p}.{unit}"), c.amount);
        }
        for (j, rule) in plan.rules.iter().enumerate() {
            let p = format!("plans[{i}].rules[{j}]");
            match sc.option(&rule.option) {
                None => v.err_hint(
                    format!("{p}.option"),
                    format!("unknown option `{}`", rule.option),
                    suggest(&rule.option, &opt_names),
                ),
                Some(o) if o.kind == OptionKind::Burst => v.err_hint(
                    format!("{p}.option"),
                    format!(
                        "`{}` is a burst option, which needs no commitment: a rule cannot commit it",
                        rule.option
                    ),
                    "point the rule at a build, lease or buy option; burst covers shortfalls by itself (allocation.burst_covers_product)".to_string(),
                ),
                Some(o)
                    if rule.kind == crate::RuleKind::Cancel
                        && (o.kind != OptionKind::Lease
                            || o.cancel_notice_months == 0
                            || !o.ramp_pu.is_empty()) =>
                {
                    v.err_hint(
                        format!("{p}.kind"),
                        format!("`{}` has no leases that can be cancelled", rule.option),
                        "a cancel rule needs a lease option with cancel_notice_months above 0 and no spend ramp",
                    )
                }
                Some(_) => {}
            }
            v.months(&format!("{p}.every_months"), rule.every_months);
            if rule.every_months == 0 {
                v.err(format!("{p}.every_months"), "must be at least 1");
            }
            v.in_horizon(&format!("{p}.from"), rule.from);
            v.in_horizon(&format!("{p}.until"), rule.until);
            if !(0.0 < rule.percentile_pu && rule.percentile_pu < 1.0) {
                v.err(
                    format!("{p}.percentile_pu"),
                    format!("must be in (0, 1), got {}", rule.percentile_pu),
                );
            }
            v.non_negative(&format!("{p}.headroom_pu"), rule.headroom_pu);
            v.non_negative(&format!("{p}.max_per_decision"), rule.max_per_decision);
            if rule.kind == crate::RuleKind::Affine {
                v.positive(&format!("{p}.centre_h100e"), rule.centre_h100e);
            }
        }
    }
}

/// Named inputs, correlations and cases.
/// Groups: unique names, at least one input each, every input known (by `id` or field path)
/// and in at most one group.
fn check_groups(v: &mut V<'_>, sc: &Scenario) {
    let mut known: Vec<String> = Vec::new();
    sc.visit_uncertain(&mut |field, u| {
        known.push(field.path());
        if let Some(id) = &u.id {
            known.push(id.clone());
        }
    });
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut used: HashMap<&str, &str> = HashMap::new();
    for (i, g) in sc.groups.iter().enumerate() {
        let p = format!("groups[{i}]");
        if let Some(first) = names.insert(g.name.as_str(), i) {
            v.err_hint(
                format!("{p}.name"),
                format!("duplicate group name `{}`", g.name),
                format!("groups[{first}] already uses it"),
            );
        }
        if g.inputs.is_empty() {
            v.err(format!("{p}.inputs"), "a group needs at least one input");
        }
        for (j, input) in g.inputs.iter().enumerate() {
            let q = format!("{p}.inputs[{j}]");
            if !known.iter().any(|k| k == input) {
                let refs: Vec<&str> = known.iter().map(|s| s.as_str()).collect();
                v.err_hint(q, format!("unknown input `{input}`"), suggest(input, &refs));
            } else if let Some(other) = used.insert(input.as_str(), g.name.as_str()) {
                v.err_hint(
                    q,
                    format!("input `{input}` is already in group `{other}`"),
                    "an input belongs to one group at most".to_string(),
                );
            }
        }
    }
}

fn check_inputs_and_cases(v: &mut V<'_>, sc: &Scenario) {
    let named = sc.named_inputs();
    let mut ids: HashMap<&str, String> = HashMap::new();
    for (path, u) in &named {
        let id = u.id.as_deref().unwrap_or_default();
        if let Some(first) = ids.insert(id, path.clone()) {
            v.err_hint(
                format!("{path}.id"),
                format!("duplicate input id `{id}`"),
                format!("{first} already uses it"),
            );
        }
    }
    let id_names: Vec<&str> = ids.keys().copied().collect::<Vec<_>>();
    let mut id_sorted = id_names.clone();
    id_sorted.sort();
    for (i, c) in sc.correlations.iter().enumerate() {
        let p = format!("correlations[{i}]");
        for (field, name) in [("a", &c.a), ("b", &c.b)] {
            match ids.get(name.as_str()) {
                None => v.err_hint(
                    format!("{p}.{field}"),
                    format!("unknown input id `{name}`"),
                    suggest(name, &id_sorted),
                ),
                Some(path) => {
                    if let Some(u) = named.iter().find(|(pp, _)| pp == path).map(|x| x.1) {
                        if u.is_fixed() {
                            v.out.push(Diagnostic::warning(
                                format!("{p}.{field}"),
                                format!("input `{name}` is fixed, so correlating it has no effect"),
                            ));
                        }
                    }
                }
            }
        }
        if c.a == c.b {
            v.err(
                format!("{p}.b"),
                "an input cannot be correlated with itself",
            );
        }
        if !(-1.0..=1.0).contains(&c.rho) {
            v.err(
                format!("{p}.rho"),
                format!("a correlation must lie in [-1, 1], got {}", c.rho),
            );
        }
    }
    if let Some((_, Some(fixed), names)) = correlation_matrix(sc) {
        let mut pairs = Vec::new();
        for c in &sc.correlations {
            let (ia, ib) = (
                names.iter().position(|n| *n == c.a),
                names.iter().position(|n| *n == c.b),
            );
            if let (Some(ia), Some(ib)) = (ia, ib) {
                pairs.push(format!(
                    "{}~{}: {} -> {:.4}",
                    c.a, c.b, c.rho, fixed[ia][ib]
                ));
            }
        }
        v.out.push(
            Diagnostic::warning("correlations", "the correlation matrix is not positive semi-definite; it was repaired to the nearest valid one")
                .with_hint(format!("repaired values: {}", pairs.join("; "))),
        );
    }
    if !sc.cases.is_empty() {
        let sum: f64 = sc.cases.iter().map(|c| c.probability_pu).sum();
        if (sum - 1.0).abs() > PROB_TOL {
            v.err_hint(
                "cases",
                format!("case probabilities sum to {sum}, not 1"),
                "make the probability_pu of all cases add up to 1",
            );
        }
        duplicates(v, sc.cases.iter().map(|c| c.name.as_str()), "case", "cases");
        for (i, c) in sc.cases.iter().enumerate() {
            v.share(&format!("cases[{i}].probability_pu"), c.probability_pu);
            for (name, value) in &c.values {
                let Some(path) = ids.get(name.as_str()) else {
                    v.err_hint(
                        format!("cases[{i}].values.{name}"),
                        format!("unknown input id `{name}`"),
                        suggest(name, &id_sorted),
                    );
                    continue;
                };
                let Some(u) = named.iter().find(|(p, _)| p == path).map(|x| x.1) else {
                    continue;
                };
                // A case is one outcome of the input: it must be a value the input can take.
                let outside = if u.is_fixed() {
                    u.dist.support().0 >= 0.0 && *value < 0.0
                } else {
                    !u.dist.admits(*value)
                };
                if outside {
                    let range = if u.is_fixed() {
                        "not negative".to_string()
                    } else {
                        u.dist.support_text()
                    };
                    v.err_hint(
                        format!("cases[{i}].values.{name}"),
                        format!(
                            "{value} is outside what input `{name}` ({path}) can take: {range}"
                        ),
                        "a case value is one outcome of the input's distribution",
                    );
                }
            }
        }
    }
}

/// The requested correlation matrix over the correlated input ids (in first-mention order),
/// and its PSD repair if one was needed. `None` when there are no valid correlations.
#[allow(clippy::type_complexity)]
pub fn correlation_matrix(
    sc: &Scenario,
) -> Option<(Vec<Vec<f64>>, Option<Vec<Vec<f64>>>, Vec<String>)> {
    let mut names: Vec<String> = Vec::new();
    for c in &sc.correlations {
        for n in [&c.a, &c.b] {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
    }
    if names.is_empty() {
        return None;
    }
    let k = names.len();
    let mut m = vec![vec![0.0; k]; k];
    for (i, row) in m.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for c in &sc.correlations {
        let ia = names.iter().position(|n| *n == c.a)?;
        let ib = names.iter().position(|n| *n == c.b)?;
        if ia != ib {
            let r = c.rho.clamp(-1.0, 1.0);
            m[ia][ib] = r;
            m[ib][ia] = r;
        }
    }
    let (vals, _) = jacobi_eigen(&m);
    let repaired = if vals.iter().any(|l| *l < -1e-10) {
        Some(nearest_psd_correlation(&m))
    } else {
        None
    };
    Some((m, repaired, names))
}

/// Nearest correlation matrix by eigenvalue clipping: negative eigenvalues are raised to a
/// small positive floor, then the matrix is rescaled to a unit diagonal.
pub fn nearest_psd_correlation(m: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let k = m.len();
    let (vals, vecs) = jacobi_eigen(m);
    let floor = 1e-8;
    let mut out = vec![vec![0.0; k]; k];
    for i in 0..k {
        for j in 0..k {
            out[i][j] = (0..k)
                .map(|e| vecs[i][e] * vals[e].max(floor) * vecs[j][e])
                .sum();
        }
    }
    let d: Vec<f64> = (0..k).map(|i| out[i][i].sqrt()).collect();
    for i in 0..k {
        for j in 0..k {
            out[i][j] /= d[i] * d[j];
        }
        out[i][i] = 1.0;
    }
    out
}

/// Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations.
/// Returns (eigenvalues, eigenvectors as columns).
pub fn jacobi_eigen(m: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let k = m.len();
    let mut a: Vec<Vec<f64>> = m.to_vec();
    let mut v = vec![vec![0.0; k]; k];
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..k)
            .flat_map(|i| (0..k).filter(move |j| *j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..k {
            for q in p + 1..k {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for r in 0..k {
                    let (arp, arq) = (a[r][p], a[r][q]);
                    a[r][p] = c * arp - s * arq;
                    a[r][q] = s * arp + c * arq;
                }
                for r in 0..k {
                    let (apr, aqr) = (a[p][r], a[q][r]);
                    a[p][r] = c * apr - s * aqr;
                    a[q][r] = s * apr + c * aqr;
                }
                for r in 0..k {
                    let (vrp, vrq) = (v[r][p], v[r][q]);
                    v[r][p] = c * vrp - s * vrq;
                    v[r][q] = s * vrp + c * vrq;
                }
            }
        }
    }
    ((0..k).map(|i| a[i][i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_finds_known_eigenvalues() {
        let m = vec![vec![2.0, 1.0], vec![1.0, 2.0]];
        let (mut vals, _) = jacobi_eigen(&m);
        vals.sort_by(f64::total_cmp);
        assert!((vals[0] - 1.0).abs() < 1e-12 && (vals[1] - 3.0).abs() < 1e-12);
    }

    #[test]
    fn repair_makes_an_indefinite_matrix_psd_with_unit_diagonal() {
        // Pairwise 0.9, 0.9, -0.9 is impossible for three variables.
        let m = vec![
            vec![1.0, 0.9, 0.9],
            vec![0.9, 1.0, -0.9],
            vec![0.9, -0.9, 1.0],
        ];
        let (vals, _) = jacobi_eigen(&m);
        assert!(vals.iter().any(|l| *l < 0.0));
        let r = nearest_psd_correlation(&m);
        let (vals, _) = jacobi_eigen(&r);
        assert!(vals.iter().all(|l| *l > -1e-9), "{vals:?}");
        for i in 0..3 {
            assert_eq!(r[i][i], 1.0);
        }
    }

    #[test]
    fn suggestion_finds_close_names() {
        assert_eq!(suggest("h100", &["h100", "gb200"]), "did you mean `h100`?");
        assert_eq!(suggest("gb20", &["h100", "gb200"]), "did you mean `gb200`?");
    }
}
