//! Compilation steps of `Engine::new`: the scenario into flat arrays and input indices.

use super::*;

/// Each option's (first, last) commitment month index, and the compiled plans.
pub(super) type CompiledPlans = (Vec<(i32, i32)>, Vec<PlanC>);
/// Every uncertain input in visiting order, with its key and Sobol dimension, and the input
/// index by field path and by `id`.
pub(super) fn compile_inputs(sc: &Scenario) -> CompiledInputs {
    let mut inputs = Vec::new();
    let mut index = HashMap::new();
    let mut fields = HashMap::new();
    let mut ids = HashMap::new();
    sc.visit_uncertain(&mut |field, u| {
        let path = field.path();
        // An input named by `id` is keyed by its id, so moving it in the file keeps its draws.
        let k = key(u.id.as_deref().map_or(path.as_str(), |id| id));
        fields.insert(field, inputs.len());
        index.insert(path, inputs.len());
        if let Some(id) = &u.id {
            ids.insert(id.clone(), inputs.len());
        }
        inputs.push(Input {
            key: k,
            dim: 0,
            dist: PreparedDist::new(&u.dist),
        });
    });
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by_key(|i| inputs[*i].key);
    for (dim, i) in order.into_iter().enumerate() {
        inputs[i].dim = dim as u32;
    }
    CompiledInputs {
        inputs,
        index,
        fields,
        ids,
    }
}

/// The uncertain inputs and their indices by field path, by [`InputField`] and by `id`.
pub(super) struct CompiledInputs {
    pub(super) inputs: Vec<Input>,
    pub(super) index: HashMap<String, usize>,
    pub(super) fields: Fields,
    pub(super) ids: HashMap<String, usize>,
}

/// Input index by where the input sits.
pub(super) type Fields = HashMap<InputField, usize>;

/// The requested correlations as a Cholesky factor over the correlated inputs.
pub(super) fn compile_correlations(sc: &Scenario, ids: &HashMap<String, usize>) -> Option<CorrC> {
    correlation_matrix(sc).map(|(m, repaired, names)| {
        let m = repaired.unwrap_or(m);
        let pear: Vec<Vec<f64>> = m
            .iter()
            .map(|r| r.iter().map(|x| spearman_to_pearson(*x)).collect())
            .collect();
        let pear = nearest_psd_correlation(&pear);
        CorrC {
            inputs: names.iter().map(|n| ids[n]).collect(),
            chol: cholesky(&pear),
            report: CorrelationReport {
                names,
                requested: m,
            },
        }
    })
}

/// Segments: growth processes, launches, intensity and price inputs, churn.
pub(super) fn compile_segments(sc: &Scenario, fields: &Fields, t0: Month) -> Vec<SegC> {
    // Every input the visitor visits is in `fields`; the compile steps ask for those only.
    let ix = |f: InputField| -> usize { fields[&f] };
    sc.segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let growth = match &s.growth {
                Growth::Log { .. } => GrowthC::Log {
                    drift: ix(InputField::GrowthDrift(i)),
                    vol: ix(InputField::GrowthVolatility(i)),
                },
                Growth::SCurve { .. } => GrowthC::SCurve {
                    sat: ix(InputField::GrowthSaturation(i)),
                    rate: ix(InputField::GrowthRate(i)),
                    vol: ix(InputField::GrowthVolatility(i)),
                },
                Growth::Regimes {
                    regimes,
                    transition,
                    start,
                } => GrowthC::Regimes {
                    drift: regimes.iter().map(|r| r.drift_per_year / 12.0).collect(),
                    vol: regimes.iter().map(|r| r.volatility_per_month).collect(),
                    cum: transition
                        .iter()
                        .map(|row| {
                            row.iter()
                                .scan(0.0, |a, x| {
                                    *a += x;
                                    Some(*a)
                                })
                                .collect()
                        })
                        .collect(),
                    start: regimes.iter().position(|r| &r.name == start).unwrap_or(0),
                },
                Growth::Percentiles {
                    years,
                    p10,
                    p50,
                    p90,
                } => GrowthC::Pct {
                    at: years
                        .iter()
                        .map(|y| month_index(gigawatt_model::Month::new(*y, 12), t0))
                        .collect(),
                    ln10: p10.iter().map(|x| x.ln()).collect(),
                    ln50: p50.iter().map(|x| x.ln()).collect(),
                    ln90: p90.iter().map(|x| x.ln()).collect(),
                },
            };
            SegC {
                start: ix(InputField::SegmentStart(i)),
                k0: ix(InputField::SegmentIntensity(i)),
                eff: ix(InputField::SegmentEfficiency(i)),
                price0: ix(InputField::SegmentPrice(i)),
                pdecl: ix(InputField::SegmentPriceDecline(i)),
                growth,
                launches: s
                    .launches
                    .iter()
                    .enumerate()
                    .map(|(j, l)| LaunchC {
                        start: month_index(l.window_start, t0),
                        len: l.window_end.since(l.window_start) + 1,
                        prob: l.probability_pu,
                        jump: ix(InputField::LaunchJump(i, j)),
                        decay_per_month: l.decay_half_life_months.map(|h| 0.5f64.powf(1.0 / h)),
                        key: key(&format!("launch:{}:{}", s.name, l.name)),
                    })
                    .collect(),
                churn: s.churn_share_pu,
                key: key(&format!("segment:{}", s.name)),
            }
        })
        .collect()
}

/// Load blocks: (hours share, demand factor per segment).
pub(super) fn compile_blocks(sc: &Scenario) -> Vec<(f64, Vec<f64>)> {
    if sc.load_blocks.is_empty() {
        vec![(1.0, vec![1.0; sc.segments.len()])]
    } else {
        sc.load_blocks
            .iter()
            .enumerate()
            .map(|(b, lb)| {
                let f = sc
                    .segments
                    .iter()
                    .map(|s| {
                        if s.demand_factors.is_empty() {
                            lb.demand_factor
                        } else {
                            s.demand_factors[b]
                        }
                    })
                    .collect();
                (lb.hours_pu, f)
            })
            .collect()
    }
}

/// The allocation order (the default: floor, segments by priority, runs, extra).
pub(super) fn compile_order(sc: &Scenario) -> Vec<Step> {
    if sc.allocation.order.is_empty() {
        let mut segs: Vec<usize> = (0..sc.segments.len()).collect();
        segs.sort_by_key(|i| sc.segments[*i].priority);
        let mut o = vec![Step::Floor];
        o.extend(segs.into_iter().map(Step::Seg));
        o.extend([Step::Runs, Step::Extra]);
        o
    } else {
        sc.allocation
            .order
            .iter()
            .map(|s| match s {
                AllocationStep::ResearchFloor => Step::Floor,
                AllocationStep::ResearchRuns => Step::Runs,
                AllocationStep::ResearchExtra => Step::Extra,
                AllocationStep::Segment(n) => {
                    Step::Seg(sc.segments.iter().position(|x| &x.name == n).unwrap_or(0))
                }
            })
            .collect()
    }
}

/// Training runs by priority, the research schedule per month and the runs' names.
pub(super) fn compile_runs(
    sc: &Scenario,
    t0: Month,
    months: usize,
) -> (Vec<RunC>, Vec<f64>, Vec<String>) {
    let mut run_idx: Vec<usize> = (0..sc.research.runs.len()).collect();
    run_idx.sort_by_key(|i| sc.research.runs[*i].priority);
    let runs: Vec<RunC> = run_idx
        .iter()
        .map(|i| {
            let r = &sc.research.runs[*i];
            let (s, d) = (
                month_index(r.earliest_start, t0),
                month_index(r.deadline, t0),
            );
            let rate = if r.max_h100e > 0.0 {
                r.max_h100e
            } else {
                r.size_h100e_months / (d - s + 1) as f64
            };
            RunC {
                size: r.size_h100e_months,
                start: s,
                deadline: d,
                rate,
                min_cluster: r.min_cluster_h100e,
            }
        })
        .collect();
    let run_schedule = (0..months as i32)
        .map(|t| {
            runs.iter()
                .filter(|r| t >= r.start && t <= r.deadline)
                .map(|r| r.size / (r.deadline - r.start + 1) as f64)
                .sum()
        })
        .collect();
    let run_names = run_idx
        .iter()
        .map(|i| sc.research.runs[*i].name.clone())
        .collect();
    (runs, run_schedule, run_names)
}

/// Bit p set for each pool p that `keep` accepts.
pub(super) fn pool_mask(sc: &Scenario, keep: impl Fn(&gigawatt_model::Pool) -> bool) -> u64 {
    sc.pools
        .iter()
        .enumerate()
        .filter(|(_, p)| keep(p))
        .fold(0, |m, (i, _)| m | 1 << i)
}

/// Capacity pools: what using each costs (what each may run is compiled into bit masks by
/// [`pool_mask`]). Empty when the scenario declares none (one pool serving everything at no
/// cost per use: the fast path).
pub(super) fn compile_pools(sc: &Scenario) -> Vec<PoolC> {
    sc.pools
        .iter()
        .map(|p| PoolC {
            name: p.name.clone(),
            fee_month_usd: p.use_fee_usd_per_h100e_hour * HOURS_PER_MONTH,
            idle_share: p.idle_power_share_pu,
        })
        .collect()
}

/// Capacity options with their generations' figures and input indices.
pub(super) fn compile_options(sc: &Scenario, fields: &Fields, t0: Month) -> Vec<OptC> {
    // Every input the visitor visits is in `fields`; the compile steps ask for those only.
    let ix = |f: InputField| -> usize { fields[&f] };
    let gen_index = |name: &Option<String>| {
        name.as_ref()
            .and_then(|n| sc.generations.iter().position(|g| &g.name == n))
    };
    let opts: Vec<OptC> = sc
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let g = gen_index(&o.generation);
            let (h100e_per_unit, kw, gen_price, gen_life_m) = match g {
                Some(g) => {
                    let gen = &sc.generations[g];
                    (
                        gen.h100e_per_unit,
                        gen.kw_per_unit,
                        ix(InputField::GenerationPrice(g)),
                        (gen.life_years * 12.0).round() as i32,
                    )
                }
                None => (1.0, 0.0, usize::MAX, i32::MAX / 4),
            };
            // Chips of a generation arrive no earlier than it is available.
            let available_m = match (g, o.kind) {
                (Some(g), OptionKind::Build | OptionKind::Buy) => {
                    month_index(sc.generations[g].available_from, t0)
                }
                _ => i32::MIN / 4,
            };
            let pue = if o.kind == OptionKind::Build {
                o.pue
            } else {
                sc.power.pue
            };
            let lead_med = o.lead_time_months.dist.quantile(0.5);
            let delay_mean = o.delay_months.dist.mean();
            OptC {
                kind: o.kind,
                h100e_per_unit,
                kw_per_unit: kw,
                gen_price,
                gen_life_m,
                lead: ix(InputField::OptionLeadTime(i)),
                delay_p: o.delay_probability_pu,
                delay: ix(InputField::OptionDelay(i)),
                capex_mw: ix(InputField::OptionCapexPerMw(i)),
                schedule: o.capex_schedule_pu.clone(),
                opex_mw_month: o.opex_usd_per_mw_year / 12.0,
                power_price: o.power_price_usd_per_mwh,
                pue,
                life_m: (o.life_years * 12.0).round() as i32,
                residual: o.residual_value_pu,
                term_m: o.term_months as i32,
                cancel_notice_m: o.cancel_notice_months as i32,
                cancel_fee: o.cancel_fee_pu,
                chip_schedule: o.chip_schedule_pu.clone(),
                financed: o.financed_share_pu,
                fin_rate_m: o.financing_rate_per_year / 12.0,
                fin_annuity_denom: 1.0
                    - (1.0 + o.financing_rate_per_year / 12.0)
                        .powi(-(o.financing_term_months as i32)),
                fin_term_m: o.financing_term_months as i32,
                ramp: o.ramp_pu.clone(),
                investments: Vec::new(),
                price: ix(InputField::OptionLeasePrice(i)),
                cap_h100e: o.cap_h100e,
                block: o.block_size,
                max_total: o.max_total.unwrap_or(f64::INFINITY),
                planned_lead: (lead_med + o.delay_probability_pu * delay_mean).round(),
                available_m,
                h100e_per_mw: if kw > 0.0 {
                    1000.0 / (kw * pue) * h100e_per_unit
                } else {
                    0.0
                },
                key: key(&format!("option:{}", o.name)),
                slip_events: Vec::new(),
                pool: sc.pool_index(&o.pool),
            }
        })
        .collect();
    opts
}

/// The events, and the options with the events that can slip their deliveries: a supply
/// shock slips options installing one of its generations (any, when it names none), a power
/// delay the build options it names (every build, when it names none).
pub(super) fn compile_events(
    sc: &Scenario,
    fields: &Fields,
    t0: Month,
    mut opts: Vec<OptC>,
) -> (Vec<EventC>, Vec<OptC>) {
    use gigawatt_model::EventKind as K;
    let events = sc
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let start = month_index(e.window_start, t0);
            for (oi, o) in sc.options.iter().enumerate() {
                let hit = match e.kind {
                    K::SupplyShock => o
                        .generation
                        .as_ref()
                        .is_some_and(|g| e.generations.is_empty() || e.generations.contains(g)),
                    K::PowerDelay => {
                        o.kind == OptionKind::Build
                            && (e.options.is_empty() || e.options.contains(&o.name))
                    }
                    _ => false,
                };
                if hit {
                    opts[oi].slip_events.push(i);
                }
            }
            EventC {
                kind: e.kind,
                start,
                len: month_index(e.window_end, t0) - start + 1,
                prob: e.probability_pu,
                share: fields[&InputField::EventShare(i)],
                delay: fields[&InputField::EventDelay(i)],
                duration: e.duration_months as i32,
                segs: sc
                    .segments
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| e.segments.is_empty() || e.segments.contains(&s.name))
                    .map(|(si, _)| si)
                    .collect(),
                key: key(&format!("event:{}", e.name)),
            }
        })
        .collect();
    (events, opts)
}

/// Revenue shares as a share per segment and month (empty when there are none), each vendor
/// investment's total limit, and the options with the investments their deliveries count towards.
pub(super) fn compile_deals(
    sc: &Scenario,
    t0: Month,
    mut opts: Vec<OptC>,
) -> (Vec<f64>, Vec<f64>, Vec<OptC>) {
    let f = &sc.finance;
    let t_len = sc.horizon.months();
    let mut rev_share = Vec::new();
    if !f.revenue_shares.is_empty() {
        rev_share = vec![0.0; sc.segments.len() * t_len];
        for r in &f.revenue_shares {
            let (from, until) = (month_index(r.from, t0).max(0), month_index(r.until, t0));
            for (si, s) in sc.segments.iter().enumerate() {
                if r.segments.is_empty() || r.segments.contains(&s.name) {
                    for t in from..=until.min(t_len as i32 - 1) {
                        rev_share[si * t_len + t as usize] += r.share_pu;
                    }
                }
            }
        }
    }
    let invest_max = f
        .vendor_investments
        .iter()
        .map(|i| {
            if i.max_usd > 0.0 {
                i.max_usd
            } else {
                f64::INFINITY
            }
        })
        .collect();
    for (k, inv) in f.vendor_investments.iter().enumerate() {
        for (oi, o) in sc.options.iter().enumerate() {
            if inv.options.contains(&o.name) {
                opts[oi]
                    .investments
                    .push((k, inv.usd_per_h100e, inv.warrants_usd_per_h100e));
            }
        }
    }
    (rev_share, invest_max, opts)
}

/// The installed fleet.
pub(super) fn compile_fleet(sc: &Scenario, fields: &Fields, t0: Month) -> Vec<FleetC> {
    // Every input the visitor visits is in `fields`; the compile steps ask for those only.
    let ix = |f: InputField| -> usize { fields[&f] };
    sc.fleet
        .iter()
        .map(|f| {
            let g = sc
                .generations
                .iter()
                .position(|g| g.name == f.generation)
                .unwrap_or(0);
            let gen = &sc.generations[g];
            let from = month_index(f.installed, t0);
            let life_end = from + (gen.life_years * 12.0).round() as i32;
            let owned = f.lease_end.is_none() && f.lease_usd_per_unit_month == 0.0;
            let to = f.lease_end.map_or(life_end, |e| month_index(e, t0) + 1);
            FleetC {
                h100e: f.units * gen.h100e_per_unit,
                from: from.max(0),
                to,
                kw_units: f.units * gen.kw_per_unit,
                lease_month_usd: f.units * f.lease_usd_per_unit_month,
                units_price: ix(InputField::GenerationPrice(g)),
                units: f.units,
                age0_m: (-from).max(0) as f64,
                owned,
                pool: sc.pool_index(&f.pool),
            }
        })
        .collect()
}

/// Commitment windows per option and the selected plans (all when `plans` is empty).
pub(super) fn compile_plans(
    sc: &Scenario,
    plans: &[String],
    opts: &[OptC],
    t0: Month,
) -> Result<CompiledPlans, String> {
    let opt_ix = |n: &str| {
        sc.options
            .iter()
            .position(|o| o.name == n)
            .ok_or_else(|| format!("unknown option `{n}`"))
    };
    // Months each option can be committed in.
    let commit_windows: Vec<(i32, i32)> = sc
        .options
        .iter()
        .map(|o| {
            (
                month_index(o.commit_from, t0),
                month_index(o.commit_until, t0),
            )
        })
        .collect();
    let selected: Vec<&Plan> = if plans.is_empty() {
        sc.plans.iter().collect()
    } else {
        plans
            .iter()
            .map(|n| {
                sc.plan(n).ok_or_else(|| {
                    format!(
                        "no plan named `{n}`; the scenario has: {}",
                        sc.plans
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            })
            .collect::<Result<_, _>>()?
    };
    let mut compiled = Vec::new();
    for p in selected {
        let mut ord: HashMap<(usize, i32), u64> = HashMap::new();
        let mut commits = Vec::new();
        for c in &p.commitments {
            let opt = opt_ix(&c.option)?;
            let t = month_index(c.month, t0);
            let n = ord.entry((opt, t)).or_insert(0);
            commits.push(CommitC {
                opt,
                t,
                amount: c.amount,
                key: hash3(opts[opt].key, t as u64, *n),
            });
            *n += 1;
        }
        let rules = p
            .rules
            .iter()
            .map(|r| {
                let opt = opt_ix(&r.option)?;
                let (w0, w1) = commit_windows[opt];
                Ok(RuleC {
                    opt,
                    refresh: r.kind == gigawatt_model::RuleKind::Refresh,
                    cancel: r.kind == gigawatt_model::RuleKind::Cancel,
                    affine: (r.kind == gigawatt_model::RuleKind::Affine).then_some((
                        r.intercept,
                        r.slope,
                        r.centre_h100e,
                    )),
                    every: r.every_months.max(1) as i32,
                    // A rule acts only inside its option's commitment window.
                    from: month_index(r.from, t0).max(w0),
                    until: month_index(r.until, t0).min(w1),
                    z: inverse_normal_cdf(r.percentile_pu),
                    headroom: r.headroom_pu,
                    max_per: r.max_per_decision,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        compiled.push(PlanC {
            name: p.name.clone(),
            commits,
            rules,
        });
    }
    if compiled.is_empty() {
        compiled.push(PlanC {
            name: DEFAULT_PLAN.into(),
            commits: Vec::new(),
            rules: Vec::new(),
        });
    }
    Ok((commit_windows, compiled))
}
