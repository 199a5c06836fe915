//! [`Scenario`] → TOML text that reads back to an equal scenario.

use std::fmt::Write;

use gigawatt_model::{Dist, Growth, Plan, Scenario, Uncertain};

/// A float written so that it parses back to the same bits.
fn num(x: f64) -> String {
    let s = format!("{x:?}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

fn nums(xs: &[f64]) -> String {
    format!(
        "[{}]",
        xs.iter().map(|x| num(*x)).collect::<Vec<_>>().join(", ")
    )
}

/// A TOML basic string literal with every character that needs it escaped.
pub fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `, min = A, max = B` for the bounds that are set.
fn bounds(min: Option<f64>, max: Option<f64>) -> String {
    let mut s = String::new();
    if let Some(x) = min {
        s.push_str(&format!(", min = {}", num(x)));
    }
    if let Some(x) = max {
        s.push_str(&format!(", max = {}", num(x)));
    }
    s
}

fn uncertain(u: &Uncertain) -> String {
    let id =
        u.id.as_ref()
            .map(|i| format!(", id = {}", toml_string(i)))
            .unwrap_or_default();
    let body = match &u.dist {
        Dist::Fixed(x) if u.id.is_none() => return num(*x),
        Dist::Fixed(x) => format!("dist = \"fixed\", value = {}", num(*x)),
        Dist::Normal { mean, sd } => format!(
            "dist = \"normal\", mean = {}, sd = {}",
            num(*mean),
            num(*sd)
        ),
        Dist::TruncatedNormal { mean, sd, min, max } => format!(
            "dist = \"normal\", mean = {}, sd = {}{}",
            num(*mean),
            num(*sd),
            bounds(
                Some(*min).filter(|x| x.is_finite()),
                Some(*max).filter(|x| x.is_finite())
            )
        ),
        Dist::LognormalP10P90 { p10, p90 } => format!(
            "dist = \"lognormal\", p10 = {}, p90 = {}",
            num(*p10),
            num(*p90)
        ),
        Dist::LognormalMedianP90 { median, p90 } => format!(
            "dist = \"lognormal\", median = {}, p90 = {}",
            num(*median),
            num(*p90)
        ),
        Dist::Triangular { min, mode, max } => format!(
            "dist = \"triangular\", min = {}, mode = {}, max = {}",
            num(*min),
            num(*mode),
            num(*max)
        ),
        Dist::Pert { min, mode, max } => format!(
            "dist = \"pert\", min = {}, mode = {}, max = {}",
            num(*min),
            num(*mode),
            num(*max)
        ),
        Dist::Uniform { min, max } => format!(
            "dist = \"uniform\", min = {}, max = {}",
            num(*min),
            num(*max)
        ),
        Dist::Discrete { values, probs } => format!(
            "dist = \"discrete\", values = {}, probs = {}",
            nums(values),
            nums(probs)
        ),
        Dist::Metalog {
            probs,
            values,
            min,
            max,
        } => format!(
            "dist = \"metalog\", probs = {}, values = {}{}",
            nums(probs),
            nums(values),
            bounds(*min, *max)
        ),
    };
    format!("{{ {body}{id} }}")
}

/// Names as TOML strings, comma-separated (the inside of an array).
fn toml_strings(v: &[String]) -> String {
    v.iter()
        .map(|x| toml_string(x))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `[[events]]` tables, each with the fields its kind uses.
fn write_events(o: &mut String, sc: &Scenario) {
    use gigawatt_model::EventKind as K;
    for e in &sc.events {
        let _ = writeln!(
            o,
            "\n[[events]]\nname = {}\nkind = \"{}\"\nwindow_start = \"{}\"\nwindow_end = \"{}\"\nprobability_pu = {}",
            toml_string(&e.name),
            e.kind.name(),
            e.window_start,
            e.window_end,
            num(e.probability_pu)
        );
        match e.kind {
            K::Efficiency | K::PriceWar => {
                let _ = writeln!(
                    o,
                    "share_pu = {}\nsegments = [{}]",
                    uncertain(&e.share_pu),
                    toml_strings(&e.segments)
                );
            }
            K::SupplyShock | K::PowerDelay => {
                let (key, names) = if e.kind == K::SupplyShock {
                    ("generations", &e.generations)
                } else {
                    ("options", &e.options)
                };
                let _ = writeln!(
                    o,
                    "{key} = [{}]\ndelay_months = {}\nduration_months = {}",
                    toml_strings(names),
                    uncertain(&e.delay_months),
                    e.duration_months
                );
            }
            K::FundingFreeze => {
                let _ = writeln!(o, "duration_months = {}", e.duration_months);
            }
        }
    }
}

/// Writes a scenario as format-v1 TOML, every field explicit.
pub fn write_scenario(sc: &Scenario) -> String {
    let mut w = String::new();
    let o = &mut w;
    let _ = writeln!(o, "format_version = {}", gigawatt_model::FORMAT_VERSION);
    let _ = writeln!(o, "name = {}", toml_string(&sc.name));
    let _ = writeln!(
        o,
        "horizon = {{ start = \"{}\", end = \"{}\" }}",
        sc.horizon.start, sc.horizon.end
    );
    let _ = writeln!(
        o,
        "discount_rate_per_year = {}",
        num(sc.discount_rate_per_year)
    );
    let s = &sc.simulation;
    let _ = writeln!(
        o,
        "simulation = {{ paths = {}, seed = {}, sampling = \"{}\", capacity_drop_warning_pu = {} }}",
        s.paths,
        s.seed,
        s.sampling.as_str(),
        num(s.capacity_drop_warning_pu)
    );
    for c in &sc.correlations {
        let _ = writeln!(
            o,
            "\n[[correlations]]\na = {}\nb = {}\nrho = {}",
            toml_string(&c.a),
            toml_string(&c.b),
            num(c.rho)
        );
    }
    for seg in &sc.segments {
        let _ = writeln!(
            o,
            "\n[[segments]]\nname = {}\nunit = {}",
            toml_string(&seg.name),
            toml_string(&seg.unit)
        );
        let _ = writeln!(
            o,
            "start_units_per_month = {}",
            uncertain(&seg.start_units_per_month)
        );
        let _ = writeln!(
            o,
            "h100e_months_per_unit = {}",
            uncertain(&seg.h100e_months_per_unit)
        );
        let _ = writeln!(
            o,
            "efficiency_gain_per_year = {}",
            uncertain(&seg.efficiency_gain_per_year)
        );
        let _ = writeln!(
            o,
            "price_usd_per_unit = {}",
            uncertain(&seg.price_usd_per_unit)
        );
        let _ = writeln!(
            o,
            "price_decline_per_year = {}",
            uncertain(&seg.price_decline_per_year)
        );
        let _ = writeln!(
            o,
            "churn_share_pu = {}\npriority = {}",
            num(seg.churn_share_pu),
            seg.priority
        );
        if !seg.demand_factors.is_empty() {
            let _ = writeln!(o, "demand_factors = {}", nums(&seg.demand_factors));
        }
        let g = match &seg.growth {
            Growth::Log { drift_per_year, volatility_per_month } => {
                format!("process = \"log\"\ndrift_per_year = {}\nvolatility_per_month = {}\n", uncertain(drift_per_year), uncertain(volatility_per_month))
            }
            Growth::SCurve { saturation_units_per_month, rate_per_year, volatility_per_month } => format!(
                "process = \"s_curve\"\nsaturation_units_per_month = {}\nrate_per_year = {}\nvolatility_per_month = {}\n",
                uncertain(saturation_units_per_month),
                uncertain(rate_per_year),
                uncertain(volatility_per_month)
            ),
            Growth::Regimes { regimes, transition, start } => {
                let rows: Vec<String> = transition.iter().map(|r| nums(r)).collect();
                let mut g = format!("process = \"regimes\"\nstart = {}\ntransition = [{}]\n", toml_string(start), rows.join(", "));
                let regs: Vec<String> = regimes
                    .iter()
                    .map(|r| format!("{{ name = {}, drift_per_year = {}, volatility_per_month = {} }}", toml_string(&r.name), num(r.drift_per_year), num(r.volatility_per_month)))
                    .collect();
                g.push_str(&format!("regimes = [{}]\n", regs.join(", ")));
                g
            }
            Growth::Percentiles { years, p10, p50, p90 } => {
                let ys: Vec<String> = years.iter().map(|y| y.to_string()).collect();
                format!("process = \"percentiles\"\nyears = [{}]\np10 = {}\np50 = {}\np90 = {}\n", ys.join(", "), nums(p10), nums(p50), nums(p90))
            }
        };
        let _ = write!(o, "\n[segments.growth]\n{g}");
        for l in &seg.launches {
            let _ = writeln!(
                o,
                "\n[[segments.launches]]\nname = {}\nwindow_start = \"{}\"\nwindow_end = \"{}\"",
                toml_string(&l.name),
                l.window_start,
                l.window_end
            );
            let _ = writeln!(
                o,
                "probability_pu = {}\njump_pu = {}",
                num(l.probability_pu),
                uncertain(&l.jump_pu)
            );
            if let Some(h) = l.decay_half_life_months {
                let _ = writeln!(o, "decay_half_life_months = {}", num(h));
            }
        }
    }
    for b in &sc.load_blocks {
        let _ = writeln!(
            o,
            "\n[[load_blocks]]\nname = {}\nhours_pu = {}\ndemand_factor = {}",
            toml_string(&b.name),
            num(b.hours_pu),
            num(b.demand_factor)
        );
    }
    let r = &sc.research;
    let _ = writeln!(
        o,
        "\n[research]\nfloor_h100e = {}\nfloor_share_pu = {}\nextra_cap_share_pu = {}",
        num(r.floor_h100e),
        num(r.floor_share_pu),
        num(r.extra_cap_share_pu)
    );
    let _ = writeln!(
        o,
        "quality_elasticity = {}\nquality_lag_months = {}",
        uncertain(&r.quality_elasticity),
        r.quality_lag_months
    );
    for run in &r.runs {
        let _ = writeln!(
            o,
            "\n[[research.runs]]\nname = {}\nsize_h100e_months = {}\nearliest_start = \"{}\"\ndeadline = \"{}\"\npriority = {}\nmax_h100e = {}",
            toml_string(&run.name),
            num(run.size_h100e_months),
            run.earliest_start,
            run.deadline,
            run.priority,
            num(run.max_h100e)
        );
        if run.min_cluster_h100e > 0.0 {
            let _ = writeln!(o, "min_cluster_h100e = {}", num(run.min_cluster_h100e));
        }
    }
    for g in &sc.generations {
        let _ = writeln!(
            o,
            "\n[[generations]]\nname = {}\nh100e_per_unit = {}\nkw_per_unit = {}\nprice_usd_per_unit = {}\navailable_from = \"{}\"\nlife_years = {}",
            toml_string(&g.name),
            num(g.h100e_per_unit),
            num(g.kw_per_unit),
            uncertain(&g.price_usd_per_unit),
            g.available_from,
            num(g.life_years)
        );
    }
    for f in &sc.fleet {
        let _ = writeln!(
            o,
            "\n[[fleet]]\ngeneration = {}\nunits = {}\ninstalled = \"{}\"\nlease_usd_per_unit_month = {}",
            toml_string(&f.generation),
            num(f.units),
            f.installed,
            num(f.lease_usd_per_unit_month)
        );
        if let Some(e) = f.lease_end {
            let _ = writeln!(o, "lease_end = \"{e}\"");
        }
        if let Some(pool) = &f.pool {
            let _ = writeln!(o, "pool = {}", toml_string(pool));
        }
    }
    let p = &sc.power;
    let _ = writeln!(
        o,
        "\n[power]\nexisting_powered_mw = {}\navailability_pu = {}\npower_price_usd_per_mwh = {}\npue = {}",
        num(p.existing_powered_mw),
        num(p.availability_pu),
        uncertain(&p.power_price_usd_per_mwh),
        num(p.pue)
    );
    if let Some(mw) = p.max_total_mw {
        let _ = writeln!(o, "max_total_mw = {}", num(mw));
    }
    for opt in &sc.options {
        let u = opt.kind.size_unit();
        let _ = writeln!(
            o,
            "\n[[options]]\nname = {}\nkind = \"{}\"",
            toml_string(&opt.name),
            opt.kind.as_str()
        );
        if let Some(g) = &opt.generation {
            let _ = writeln!(o, "generation = {}", toml_string(g));
        }
        let _ = writeln!(
            o,
            "commit_from = \"{}\"\ncommit_until = \"{}\"",
            opt.commit_from, opt.commit_until
        );
        if let Some(b) = opt.block_size {
            let _ = writeln!(o, "block_{u} = {}", num(b));
        }
        if let Some(m) = opt.max_total {
            let _ = writeln!(o, "max_{u} = {}", num(m));
        }
        let _ = writeln!(o, "lead_time_months = {}", uncertain(&opt.lead_time_months));
        let _ = writeln!(
            o,
            "delay_probability_pu = {}\ndelay_months = {}",
            num(opt.delay_probability_pu),
            uncertain(&opt.delay_months)
        );
        let _ = writeln!(
            o,
            "capex_usd_per_mw = {}\ncapex_schedule_pu = {}",
            uncertain(&opt.capex_usd_per_mw),
            nums(&opt.capex_schedule_pu)
        );
        let _ = writeln!(
            o,
            "opex_usd_per_mw_year = {}\npue = {}\nlife_years = {}",
            num(opt.opex_usd_per_mw_year),
            num(opt.pue),
            num(opt.life_years),
        );
        // Absent and zero differ: absent is the site price / the book value.
        if let Some(x) = opt.power_price_usd_per_mwh {
            let _ = writeln!(o, "power_price_usd_per_mwh = {}", num(x));
        }
        if let Some(x) = opt.residual_value_pu {
            let _ = writeln!(o, "residual_value_pu = {}", num(x));
        }
        let _ = writeln!(
            o,
            "term_months = {}\nprice_usd_per_h100e_month = {}\ncancel_notice_months = {}\ncancel_fee_pu = {}\ncap_h100e = {}",
            opt.term_months,
            uncertain(&opt.price_usd_per_h100e_month),
            opt.cancel_notice_months,
            num(opt.cancel_fee_pu),
            num(opt.cap_h100e)
        );
        let _ = writeln!(
            o,
            "chip_schedule_pu = {}\nfinanced_share_pu = {}\nfinancing_rate_per_year = {}\nfinancing_term_months = {}",
            nums(&opt.chip_schedule_pu),
            num(opt.financed_share_pu),
            num(opt.financing_rate_per_year),
            opt.financing_term_months
        );
        if !opt.ramp_pu.is_empty() {
            let _ = writeln!(o, "ramp_pu = {}", nums(&opt.ramp_pu));
        }
        if let Some(pool) = &opt.pool {
            let _ = writeln!(o, "pool = {}", toml_string(pool));
        }
    }
    let order: Vec<String> = sc
        .allocation
        .order
        .iter()
        .map(|s| toml_string(&s.to_text()))
        .collect();
    let _ = writeln!(
        o,
        "\n[allocation]\norder = [{}]\nburst_covers_product = {}",
        order.join(", "),
        sc.allocation.burst_covers_product
    );
    let f = &sc.finance;
    let _ = writeln!(
        o,
        "\n[finance]\nstarting_cash_usd = {}\nmin_cash_usd = {}\ncredit_limit_usd = {}\ncredit_rate_per_year = {}\nbackstop_rate_per_year = {}",
        num(f.starting_cash_usd),
        num(f.min_cash_usd),
        num(f.credit_limit_usd),
        num(f.credit_rate_per_year),
        num(f.backstop_rate_per_year)
    );
    let _ = writeln!(
        o,
        "non_compute_opex_usd_per_month = {}\nnon_compute_opex_growth_per_year = {}\nit_depreciation_years = {}\nfacility_depreciation_years = {}",
        uncertain(&f.non_compute_opex_usd_per_month),
        num(f.non_compute_opex_growth_per_year),
        num(f.it_depreciation_years),
        num(f.facility_depreciation_years)
    );
    for r in &f.rounds {
        let _ = writeln!(
            o,
            "\n[[finance.rounds]]\nmonth = \"{}\"\namount_usd = {}\nprobability_pu = {}",
            r.month,
            uncertain(&r.amount_usd),
            num(r.probability_pu)
        );
    }
    for r in &f.revenue_shares {
        let _ = writeln!(
            o,
            "\n[[finance.revenue_shares]]\npartner = {}\nshare_pu = {}\nsegments = [{}]\nfrom = \"{}\"\nuntil = \"{}\"",
            toml_string(&r.partner),
            num(r.share_pu),
            toml_strings(&r.segments),
            r.from,
            r.until
        );
    }
    for i in &f.vendor_investments {
        let _ = writeln!(
            o,
            "\n[[finance.vendor_investments]]\nvendor = {}\noptions = [{}]\nusd_per_h100e = {}\nmax_usd = {}\nwarrants_usd_per_h100e = {}",
            toml_string(&i.vendor),
            toml_strings(&i.options),
            num(i.usd_per_h100e),
            num(i.max_usd),
            num(i.warrants_usd_per_h100e)
        );
    }
    for plan in &sc.plans {
        let _ = writeln!(
            o,
            "\n[[plans]]\nname = {}\ndescription = {}",
            toml_string(&plan.name),
            toml_string(&plan.description)
        );
        for c in &plan.commitments {
            let unit = sc.option(&c.option).map_or("mw", |o| o.kind.size_unit());
            let _ = writeln!(
                o,
                "\n[[plans.commitments]]\noption = {}\nmonth = \"{}\"\n{unit} = {}",
                toml_string(&c.option),
                c.month,
                num(c.amount)
            );
            if let Some(p) = &c.project {
                let _ = writeln!(o, "project = {}", toml_string(p));
            }
        }
        for r in &plan.rules {
            let _ = writeln!(
                o,
                "\n[[plans.rules]]\noption = {}\nkind = \"{}\"\nevery_months = {}\nfrom = \"{}\"\nuntil = \"{}\"\npercentile_pu = {}\nheadroom_pu = {}\nmax_per_decision = {}",
                toml_string(&r.option),
                r.kind.name(),
                r.every_months,
                r.from,
                r.until,
                num(r.percentile_pu),
                num(r.headroom_pu),
                num(r.max_per_decision)
            );
            if r.kind == gigawatt_model::RuleKind::Affine {
                let _ = writeln!(
                    o,
                    "intercept = {}\nslope = {}\ncentre_h100e = {}",
                    num(r.intercept),
                    num(r.slope),
                    num(r.centre_h100e)
                );
            }
        }
    }
    for g in &sc.groups {
        let _ = writeln!(
            o,
            "\n[[groups]]\nname = {}\ninputs = [{}]",
            toml_string(&g.name),
            toml_strings(&g.inputs)
        );
    }
    write_events(o, sc);
    for pool in &sc.pools {
        let _ = writeln!(
            o,
            "\n[[pools]]\nname = {}\nserves = [{}]\nuse_fee_usd_per_h100e_hour = {}\nidle_power_share_pu = {}",
            toml_string(&pool.name),
            toml_strings(&pool.serves),
            num(pool.use_fee_usd_per_h100e_hour),
            num(pool.idle_power_share_pu)
        );
    }
    for c in &sc.cases {
        let vals: Vec<String> = c
            .values
            .iter()
            .map(|(k, v)| format!("{} = {}", toml_string(k), num(*v)))
            .collect();
        let _ = writeln!(
            o,
            "\n[[cases]]\nname = {}\nprobability_pu = {}\nvalues = {{ {} }}",
            toml_string(&c.name),
            num(c.probability_pu),
            vals.join(", ")
        );
    }
    w
}

/// The plan as a TOML fragment that `simulate` reads back as a named plan.
pub fn plan_toml(sc: &Scenario, plan: &Plan) -> String {
    let mut s = format!(
        "[[plans]]\nname = {}\ndescription = {}\ncommitments = [\n",
        toml_string(&plan.name),
        toml_string(&plan.description)
    );
    for c in &plan.commitments {
        let unit = sc.option(&c.option).map_or("h100e", |o| o.kind.size_unit());
        let project = c
            .project
            .as_ref()
            .map_or(String::new(), |p| format!(", project = {}", toml_string(p)));
        s.push_str(&format!(
            "  {{ option = {}, month = \"{}\", {unit} = {:?}{project} }},\n",
            toml_string(&c.option),
            c.month,
            c.amount
        ));
    }
    s.push_str("]\n");
    if !plan.rules.is_empty() {
        s.push_str("rules = [\n");
        for r in &plan.rules {
            let mut fields = format!(
                "option = {}, kind = \"{}\", every_months = {}, from = \"{}\", until = \"{}\"",
                toml_string(&r.option),
                r.kind.name(),
                r.every_months,
                r.from,
                r.until
            );
            if r.kind == gigawatt_model::RuleKind::Affine {
                fields.push_str(&format!(
                    ", intercept = {:?}, slope = {:?}, centre_h100e = {:?}",
                    r.intercept, r.slope, r.centre_h100e
                ));
            } else {
                fields.push_str(&format!(
                    ", percentile_pu = {:?}, headroom_pu = {:?}, max_per_decision = {:?}",
                    r.percentile_pu, r.headroom_pu, r.max_per_decision
                ));
            }
            s.push_str(&format!("  {{ {fields} }},\n"));
        }
        s.push_str("]\n");
    }
    s
}
