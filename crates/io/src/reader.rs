//! TOML → [`Scenario`], collecting every problem with its location.
//!
//! The reader walks the parsed document with the attribute table in [`crate::spec`] at
//! hand: unknown keys are reported with the closest known name, wrong types and non-finite
//! numbers with their exact span. It keeps a map from field path to source span so that the
//! model's semantic diagnostics (which know only paths) can be located too.

use std::collections::HashMap;

use gigawatt_model::{
    validate, Allocation, AllocationStep, CapacityOption, Case, Commitment, Correlation,
    Diagnostic, Dist, Finance, FleetEntry, FundingRound, Generation, Growth, Horizon, Launch,
    LoadBlock, Month, OptionKind, Plan, PowerLimits, Regime, Research, Rule, Sampling, Scenario,
    Segment, Severity, SimulationSettings, TrainingRun, Uncertain, ValidScenario,
};
use toml_edit::{Item, TableLike, Value};

use crate::spec::{self, TableSpec, Ty};
use crate::Located;

/// Largest magnitude any numeric field accepts.
pub const MAX_MAGNITUDE: f64 = 1e18;

type Span = Option<(usize, usize)>;

fn item_span(it: &Item) -> Span {
    it.span().map(|r| (r.start, r.end))
}

fn type_name(it: &Item) -> &'static str {
    match it {
        Item::None => "nothing",
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
        Item::Value(v) => match v {
            Value::String(_) => "a string",
            Value::Integer(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Boolean(_) => "a boolean",
            Value::Datetime(_) => "a date-time",
            Value::Array(_) => "an array",
            Value::InlineTable(_) => "an inline table",
        },
    }
}

fn value_span(v: &Value) -> Span {
    v.span().map(|r| (r.start, r.end))
}

/// A table being read: its contents, path, spec and span.
struct Tbl<'a> {
    tl: &'a dyn TableLike,
    path: String,
    spec: &'static TableSpec,
    span: Span,
}

struct Ctx {
    diags: Vec<(Diagnostic, Span)>,
    spans: HashMap<String, Span>,
    /// Paths where the reader already reported an error (semantic checks below them are dropped).
    bad_paths: Vec<String>,
}

fn did_you_mean(name: &str, candidates: impl Iterator<Item = &'static str>) -> Option<String> {
    let best = candidates
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .min_by_key(|(d, _)| *d)?;
    let limit = (name.len() / 3).max(2);
    if best.0 <= limit || (best.1.starts_with(name) && name.len() >= 3) || name.starts_with(best.1)
    {
        Some(format!("did you mean `{}`?", best.1))
    } else {
        None
    }
}

impl Ctx {
    fn err(&mut self, path: &str, span: Span, msg: impl Into<String>, hint: Option<String>) {
        let mut d = Diagnostic::error(path, msg);
        d.hint = hint;
        self.bad_paths.push(path.to_string());
        self.diags.push((d, span));
    }

    fn open<'a>(
        &mut self,
        item: &'a Item,
        path: String,
        spec: &'static TableSpec,
    ) -> Option<Tbl<'a>> {
        let span = item_span(item);
        let Some(tl) = item.as_table_like() else {
            self.err(
                &path,
                span,
                format!("expected a table, found {}", type_name(item)),
                Some(format!("{} is a table: {}", spec.name, spec.doc)),
            );
            return None;
        };
        self.spans.insert(path.clone(), span);
        for (k, it) in tl.iter() {
            if spec.field(k).is_none() {
                let kspan = tl
                    .get_key_value(k)
                    .and_then(|(key, _)| key.span())
                    .map(|r| (r.start, r.end))
                    .or(item_span(it));
                let hint = did_you_mean(k, spec.fields.iter().map(|f| f.name)).or_else(|| {
                    Some(format!(
                        "known fields of {}: {}",
                        spec.name,
                        spec.fields
                            .iter()
                            .map(|f| f.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                });
                let p = join(&path, k);
                self.err(
                    &p,
                    kspan,
                    format!("unknown field `{k}` in {}", spec.name),
                    hint,
                );
            }
        }
        Some(Tbl {
            tl,
            path,
            spec,
            span,
        })
    }

    fn get<'a>(&mut self, t: &Tbl<'a>, key: &str) -> Option<(&'a Item, String, Span)> {
        debug_assert!(
            t.spec.field(key).is_some(),
            "field {key} not in spec {}",
            t.spec.name
        );
        let (k, it) = t.tl.get_key_value(key)?;
        let span = item_span(it).or_else(|| k.span().map(|r| (r.start, r.end)));
        let path = join(&t.path, key);
        self.spans.insert(path.clone(), span);
        Some((it, path, span))
    }

    fn missing(&mut self, t: &Tbl, key: &str) {
        let doc = t.spec.field(key).map(|f| f.doc).unwrap_or("");
        let p = join(&t.path, key);
        self.err(
            &p,
            t.span,
            format!("missing required field `{key}`"),
            Some(format!("add `{key}`: {doc}")),
        );
    }

    fn wrong_type(&mut self, path: &str, span: Span, expected: &str, it: &Item) {
        self.err(
            path,
            span,
            format!("expected {expected}, found {}", type_name(it)),
            None,
        );
    }

    /// No field holds a number larger than this in magnitude: it leaves products of prices,
    /// volumes and months far inside the range of `f64`.
    fn number_value(&mut self, path: &str, span: Span, it: &Item) -> Option<f64> {
        let x = match it.as_value() {
            Some(Value::Integer(i)) => *i.value() as f64,
            Some(Value::Float(f)) => *f.value(),
            _ => {
                self.wrong_type(path, span, "a number", it);
                return None;
            }
        };
        if !x.is_finite() {
            self.err(
                path,
                span,
                format!("{x} is not a finite number"),
                Some("NaN and infinities are not allowed; write a number".into()),
            );
            return None;
        }
        if x.abs() > MAX_MAGNITUDE {
            self.err(
                path,
                span,
                format!(
                    "{x:e} is beyond the largest magnitude any field accepts ({MAX_MAGNITUDE:e})"
                ),
                Some(
                    "check the units in the field name: money is in dollars, sizes in H100e".into(),
                ),
            );
            return None;
        }
        Some(x)
    }

    fn num(&mut self, t: &Tbl, key: &str) -> Option<f64> {
        let (it, path, span) = self.get(t, key)?;
        self.number_value(&path, span, it)
    }

    fn num_req(&mut self, t: &Tbl, key: &str) -> f64 {
        if t.tl.get(key).is_none() {
            self.missing(t, key);
            return 0.0;
        }
        self.num(t, key).unwrap_or(0.0)
    }

    fn num_or(&mut self, t: &Tbl, key: &str, default: f64) -> f64 {
        self.num(t, key).unwrap_or(default)
    }

    /// A number, or the default the attribute table states for it.
    fn num_d(&mut self, t: &Tbl, key: &str) -> f64 {
        self.num(t, key).unwrap_or_else(|| spec_num(t.spec, key))
    }

    /// A whole number, or the default the attribute table states for it.
    fn int_d(&mut self, t: &Tbl, key: &str) -> i64 {
        let default = spec_num(t.spec, key) as i64;
        self.int_or(t, key, default)
    }

    /// A 32-bit whole number, or the default the attribute table states for it.
    fn u32_d(&mut self, t: &Tbl, key: &str) -> u32 {
        let default = spec_num(t.spec, key) as u32;
        self.u32_or(t, key, default)
    }

    /// True or false, or the default the attribute table states for it.
    fn boolean_d(&mut self, t: &Tbl, key: &str) -> bool {
        let default = t
            .spec
            .field(key)
            .and_then(|f| f.default_bool())
            .unwrap_or_else(|| {
                panic!(
                    "spec.rs states no true/false default for {}.{key}",
                    t.spec.name
                )
            });
        self.boolean_or(t, key, default)
    }

    /// An uncertain input, or a fixed value at the default the attribute table states.
    fn uncertain_d(&mut self, t: &Tbl, key: &str) -> Uncertain {
        let default = spec_num(t.spec, key);
        self.uncertain_or(t, key, default)
    }

    fn int(&mut self, t: &Tbl, key: &str) -> Option<i64> {
        let (it, path, span) = self.get(t, key)?;
        match it.as_value() {
            Some(Value::Integer(i)) if *i.value() >= 0 => Some(*i.value()),
            Some(Value::Integer(i)) => {
                self.err(
                    &path,
                    span,
                    format!("must not be negative, got {}", i.value()),
                    None,
                );
                None
            }
            _ => {
                self.wrong_type(&path, span, "a whole number", it);
                None
            }
        }
    }

    fn int_or(&mut self, t: &Tbl, key: &str, default: i64) -> i64 {
        self.int(t, key).unwrap_or(default)
    }

    /// A whole number that must fit 32 bits: a larger one is an error where it is written,
    /// never wrapped round (4294967308 is not 12).
    fn u32_or(&mut self, t: &Tbl, key: &str, default: u32) -> u32 {
        let Some(i) = self.int(t, key) else {
            return default;
        };
        match u32::try_from(i) {
            Ok(v) => v,
            Err(_) => {
                if let Some((_, path, span)) = self.get(t, key) {
                    self.err(
                        &path,
                        span,
                        format!("{i} is too large for this field (at most {})", u32::MAX),
                        None,
                    );
                }
                default
            }
        }
    }

    fn boolean_or(&mut self, t: &Tbl, key: &str, default: bool) -> bool {
        let Some((it, path, span)) = self.get(t, key) else {
            return default;
        };
        match it.as_value().and_then(|v| v.as_bool()) {
            Some(b) => b,
            None => {
                self.wrong_type(&path, span, "true or false", it);
                default
            }
        }
    }

    fn string(&mut self, t: &Tbl, key: &str) -> Option<String> {
        let (it, path, span) = self.get(t, key)?;
        match it.as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                self.wrong_type(&path, span, "a string", it);
                None
            }
        }
    }

    fn string_req(&mut self, t: &Tbl, key: &str) -> String {
        if t.tl.get(key).is_none() {
            self.missing(t, key);
            return String::new();
        }
        self.string(t, key).unwrap_or_default()
    }

    fn enumerated(
        &mut self,
        t: &Tbl,
        key: &str,
        allowed: &'static [&'static str],
    ) -> Option<&'static str> {
        let s = self.string(t, key)?;
        match allowed.iter().find(|a| **a == s) {
            Some(a) => Some(a),
            None => {
                let (_, path, span) = self.get(t, key)?;
                let hint = did_you_mean(&s, allowed.iter().copied())
                    .unwrap_or_else(|| format!("one of: {}", allowed.join(", ")));
                self.err(
                    &path,
                    span,
                    format!("`{s}` is not one of {}", allowed.join(", ")),
                    Some(hint),
                );
                None
            }
        }
    }

    fn month(&mut self, t: &Tbl, key: &str) -> Option<Month> {
        let (it, path, span) = self.get(t, key)?;
        let Some(s) = it.as_str() else {
            let hint = Some("write months as strings in quotes: \"2027-03\"".to_string());
            self.err(
                &path,
                span,
                format!("expected a month \"YYYY-MM\", found {}", type_name(it)),
                hint,
            );
            return None;
        };
        match Month::parse(s) {
            Ok(m) => Some(m),
            Err(e) => {
                self.err(&path, span, e, None);
                None
            }
        }
    }

    fn month_req(&mut self, t: &Tbl, key: &str, placeholder: Month) -> Month {
        if t.tl.get(key).is_none() {
            self.missing(t, key);
            return placeholder;
        }
        self.month(t, key).unwrap_or(placeholder)
    }

    fn num_array_value(&mut self, path: &str, span: Span, it: &Item) -> Option<Vec<f64>> {
        let Some(arr) = it.as_array() else {
            self.wrong_type(path, span, "an array of numbers", it);
            return None;
        };
        let mut out = Vec::with_capacity(arr.len());
        let mut ok = true;
        for (i, v) in arr.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let vs = value_span(v).or(span);
            match self.number_value(&p, vs, &Item::Value(v.clone())) {
                Some(x) => out.push(x),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn num_array(&mut self, t: &Tbl, key: &str) -> Option<Vec<f64>> {
        let (it, path, span) = self.get(t, key)?;
        self.num_array_value(&path, span, it)
    }

    fn num_matrix(&mut self, t: &Tbl, key: &str) -> Option<Vec<Vec<f64>>> {
        let (it, path, span) = self.get(t, key)?;
        let Some(arr) = it.as_array() else {
            self.wrong_type(&path, span, "an array of arrays of numbers", it);
            return None;
        };
        let mut rows = Vec::new();
        for (i, v) in arr.iter().enumerate() {
            let p = format!("{path}[{i}]");
            rows.push(self.num_array_value(&p, value_span(v).or(span), &Item::Value(v.clone()))?);
        }
        Some(rows)
    }

    /// The strings of an optional string array (empty when absent or wrong).
    fn strings(&mut self, t: &Tbl, key: &str) -> Vec<String> {
        self.str_array(t, key)
            .unwrap_or_default()
            .into_iter()
            .map(|(s, _, _)| s)
            .collect()
    }

    fn str_array(&mut self, t: &Tbl, key: &str) -> Option<Vec<(String, String, Span)>> {
        let (it, path, span) = self.get(t, key)?;
        let Some(arr) = it.as_array() else {
            self.wrong_type(&path, span, "an array of strings", it);
            return None;
        };
        let mut out = Vec::new();
        for (i, v) in arr.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let vs = value_span(v).or(span);
            self.spans.insert(p.clone(), vs);
            match v.as_str() {
                Some(s) => out.push((s.to_string(), p, vs)),
                None => self.wrong_type(&p, vs, "a string", &Item::Value(v.clone())),
            }
        }
        Some(out)
    }

    fn table<'a>(&mut self, t: &Tbl<'a>, key: &str) -> Option<Tbl<'a>> {
        let spec = match t.spec.field(key).map(|f| f.ty) {
            Some(Ty::Table(s)) => s,
            _ => unreachable!("{key} is not a table field"),
        };
        let (it, path, _) = self.get(t, key)?;
        self.open(it, path, spec)
    }

    fn tables<'a>(&mut self, t: &Tbl<'a>, key: &str) -> Vec<Tbl<'a>> {
        let spec = match t.spec.field(key).map(|f| f.ty) {
            Some(Ty::Tables(s)) => s,
            _ => unreachable!("{key} is not an array-of-tables field"),
        };
        let Some((it, path, span)) = self.get(t, key) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        match it {
            Item::ArrayOfTables(aot) => {
                for (i, tab) in aot.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    let span = tab.span().map(|r| (r.start, r.end));
                    self.spans.insert(p.clone(), span);
                    out.push(self.open_tl(tab, p, spec, span));
                }
            }
            Item::Value(Value::Array(arr)) => {
                for (i, v) in arr.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    let vs = value_span(v);
                    match v.as_inline_table() {
                        Some(tab) => {
                            self.spans.insert(p.clone(), vs);
                            out.push(self.open_tl(tab, p, spec, vs));
                        }
                        None => {
                            self.wrong_type(&p, vs.or(span), "a table", &Item::Value(v.clone()))
                        }
                    }
                }
            }
            _ => {
                let hint = Some(format!("write each entry as [[{}]]", path));
                self.err(
                    &path,
                    span,
                    format!("expected an array of tables, found {}", type_name(it)),
                    hint,
                );
            }
        }
        out
    }

    fn open_tl<'a>(
        &mut self,
        tl: &'a dyn TableLike,
        path: String,
        spec: &'static TableSpec,
        span: Span,
    ) -> Tbl<'a> {
        for (k, _) in tl.iter() {
            if spec.field(k).is_none() {
                let kspan = tl
                    .get_key_value(k)
                    .and_then(|(key, _)| key.span())
                    .map(|r| (r.start, r.end))
                    .or(span);
                let hint = did_you_mean(k, spec.fields.iter().map(|f| f.name)).or_else(|| {
                    Some(format!(
                        "known fields of {}: {}",
                        spec.name,
                        spec.fields
                            .iter()
                            .map(|f| f.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                });
                self.err(
                    &join(&path, k),
                    kspan,
                    format!("unknown field `{k}` in {}", spec.name),
                    hint,
                );
            }
        }
        Tbl {
            tl,
            path,
            spec,
            span,
        }
    }

    /// A number or a distribution inline table.
    fn uncertain(&mut self, t: &Tbl, key: &str) -> Option<Uncertain> {
        let (it, path, span) = self.get(t, key)?;
        if let Some(Value::Integer(_) | Value::Float(_)) = it.as_value() {
            return self.number_value(&path, span, it).map(Uncertain::fixed);
        }
        if it.as_table_like().is_none() {
            let hint = Some("write a number, or a distribution like { dist = \"normal\", mean = 1.0, sd = 0.2 }".to_string());
            self.err(
                &path,
                span,
                format!(
                    "expected a number or a distribution, found {}",
                    type_name(it)
                ),
                hint,
            );
            return None;
        }
        let d = self.open(it, path.clone(), &spec::UNCERTAIN)?;
        let id = self.string(&d, "id");
        let Some(kind) = self.enumerated(&d, "dist", spec::DIST_KINDS) else {
            if d.tl.get("dist").is_none() {
                self.missing(&d, "dist");
            }
            return None;
        };
        // Parameters a kind needs, and those it may take besides.
        let optional: &[&str] = match kind {
            "normal" | "metalog" => &["min", "max"],
            _ => &[],
        };
        let needs: &[&str] = match kind {
            "fixed" => &["value"],
            "normal" => &["mean", "sd"],
            "lognormal" => {
                if d.tl.get("median").is_some() {
                    &["median", "p90"]
                } else {
                    &["p10", "p90"]
                }
            }
            "triangular" | "pert" => &["min", "mode", "max"],
            "uniform" => &["min", "max"],
            _ => &["values", "probs"],
        };
        for (k, _) in d.tl.iter() {
            if k != "dist"
                && k != "id"
                && !needs.contains(&k)
                && !optional.contains(&k)
                && spec::UNCERTAIN.field(k).is_some()
            {
                let kspan =
                    d.tl.get_key_value(k)
                        .and_then(|(key, _)| key.span())
                        .map(|r| (r.start, r.end));
                self.err(
                    &join(&path, k),
                    kspan,
                    format!("`{k}` does not apply to a {kind} distribution"),
                    Some(if optional.is_empty() {
                        format!("a {kind} takes {}", needs.join(", "))
                    } else {
                        format!(
                            "a {kind} takes {}, and optionally {}",
                            needs.join(", "),
                            optional.join(", ")
                        )
                    }),
                );
            }
        }
        let before = self.diags.len();
        let n = |c: &mut Ctx, k: &str| c.num_req(&d, k);
        let dist = match kind {
            "fixed" => Dist::Fixed(n(self, "value")),
            "normal" => {
                let (mean, sd) = (n(self, "mean"), n(self, "sd"));
                match (self.num(&d, "min"), self.num(&d, "max")) {
                    (None, None) => Dist::Normal { mean, sd },
                    (min, max) => Dist::TruncatedNormal {
                        mean,
                        sd,
                        min: min.unwrap_or(f64::NEG_INFINITY),
                        max: max.unwrap_or(f64::INFINITY),
                    },
                }
            }
            "lognormal" if needs[0] == "median" => Dist::LognormalMedianP90 {
                median: n(self, "median"),
                p90: n(self, "p90"),
            },
            "lognormal" => Dist::LognormalP10P90 {
                p10: n(self, "p10"),
                p90: n(self, "p90"),
            },
            "triangular" => Dist::Triangular {
                min: n(self, "min"),
                mode: n(self, "mode"),
                max: n(self, "max"),
            },
            "pert" => Dist::Pert {
                min: n(self, "min"),
                mode: n(self, "mode"),
                max: n(self, "max"),
            },
            "uniform" => Dist::Uniform {
                min: n(self, "min"),
                max: n(self, "max"),
            },
            "discrete" | "metalog" => {
                let values = self.array_req(&d, "values");
                let probs = self.array_req(&d, "probs");
                if kind == "discrete" {
                    Dist::Discrete { values, probs }
                } else {
                    Dist::Metalog {
                        probs,
                        values,
                        min: self.num(&d, "min"),
                        max: self.num(&d, "max"),
                    }
                }
            }
            _ => unreachable!(),
        };
        (self.diags.len() == before).then_some(Uncertain { dist, id })
    }

    fn array_req(&mut self, t: &Tbl, key: &str) -> Vec<f64> {
        if t.tl.get(key).is_none() {
            self.missing(t, key);
            return Vec::new();
        }
        self.num_array(t, key).unwrap_or_default()
    }

    fn uncertain_or(&mut self, t: &Tbl, key: &str, default: f64) -> Uncertain {
        self.uncertain(t, key)
            .unwrap_or_else(|| Uncertain::fixed(default))
    }

    fn uncertain_req(&mut self, t: &Tbl, key: &str) -> Uncertain {
        if t.tl.get(key).is_none() {
            self.missing(t, key);
        }
        self.uncertain_or(t, key, 0.0)
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Reads a scenario from TOML text. `file` is used in diagnostics and as the default name.
/// Returns the scenario when there are no errors, and every diagnostic (errors and warnings).
pub fn read_str(src: &str, file: &str) -> (Option<ValidScenario>, Vec<Located>) {
    let locate_all = |diags: Vec<(Diagnostic, Span)>| -> Vec<Located> {
        diags
            .into_iter()
            .map(|(d, s)| Located::new(d, file, src, s))
            .collect()
    };
    if src.contains('\0') {
        let d = Diagnostic::error("", "the file is binary, not TOML text")
            .with_hint("point gigawatt at a .toml scenario file; `gigawatt init` writes one");
        return (None, locate_all(vec![(d, None)]));
    }
    let meaningful = src.lines().any(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with('#')
    });
    if !meaningful {
        let d = Diagnostic::error("", "the file is empty")
            .with_hint("`gigawatt init` writes a commented starter scenario");
        return (None, locate_all(vec![(d, None)]));
    }
    let doc = match toml_edit::Document::parse(src) {
        Ok(d) => d,
        Err(e) => return (None, locate_all(syntax_errors(src, e))),
    };
    let mut c = Ctx {
        diags: Vec::new(),
        spans: HashMap::new(),
        bad_paths: Vec::new(),
    };
    let root_item = doc.as_item();
    let default_name = std::path::Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("scenario")
        .to_string();
    let sc = c
        .open(root_item, String::new(), &spec::ROOT)
        .and_then(|root| read_root(&mut c, &root, default_name));
    let reader_errors = c.diags.iter().any(|(d, _)| d.severity == Severity::Error);
    let mut diags = c.diags;
    // With the horizon rejected, months cannot be judged against it: say nothing about them.
    let horizon_bad = c
        .bad_paths
        .iter()
        .any(|b| b == "horizon" || b.starts_with("horizon."));
    if let Some(sc) = &sc {
        for d in validate(sc) {
            if horizon_bad && d.message.contains("outside the horizon") {
                continue;
            }
            if c.bad_paths.iter().any(|b| {
                d.path == *b
                    || d.path.starts_with(&format!("{b}."))
                    || d.path.starts_with(&format!("{b}["))
            }) {
                continue;
            }
            let span = lookup_span(&c.spans, &d.path);
            diags.push((d, span));
        }
    }
    let has_errors = diags.iter().any(|(d, _)| d.severity == Severity::Error);
    let out = locate_all(diags);
    if has_errors || reader_errors {
        (None, out)
    } else {
        // No errors were found, so this validation (the same checks) succeeds.
        (sc.and_then(|sc| ValidScenario::new(sc).ok()), out)
    }
}

/// Where each field of a scenario file sits: its field path → (1-based line, the comment at
/// the end of that line, without `#`, or empty). Reports use it to show each input's source
/// note next to its distribution. A file that does not parse gives an empty map.
pub fn source_notes(src: &str) -> HashMap<String, (usize, String)> {
    let Ok(doc) = toml_edit::Document::parse(src) else {
        return HashMap::new();
    };
    let mut c = Ctx {
        diags: Vec::new(),
        spans: HashMap::new(),
        bad_paths: Vec::new(),
    };
    if let Some(root) = c.open(doc.as_item(), String::new(), &spec::ROOT) {
        let _ = read_root(&mut c, &root, String::new());
    }
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(src.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    c.spans
        .into_iter()
        .filter_map(|(path, span)| {
            let (start, _) = span?;
            let line = line_starts.partition_point(|&s| s <= start);
            let text = src[line_starts[line - 1]..].lines().next().unwrap_or("");
            Some((path, (line, trailing_comment(text))))
        })
        .collect()
}

/// The comment at the end of a TOML line (outside any string), trimmed.
fn trailing_comment(line: &str) -> String {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, ch) in line.char_indices() {
        match quote {
            Some(q) if ch == q && prev != '\\' => quote = None,
            Some(_) => {}
            None if ch == '"' || ch == '\'' => quote = Some(ch),
            None if ch == '#' => return line[i + 1..].trim().to_string(),
            None => {}
        }
        prev = ch;
    }
    String::new()
}

/// Most syntax errors reported from one file.
const MAX_SYNTAX_ERRORS: usize = 20;

fn syntax_diag(e: &toml_edit::TomlError) -> (Diagnostic, Span) {
    let span = e.span().map(|r| (r.start, r.end));
    let msg = e.message().trim().to_string();
    let d = Diagnostic::error(
        "",
        format!("TOML syntax error: {}", msg.lines().next().unwrap_or("")),
    );
    let d = if msg.lines().count() > 1 {
        d.with_hint(msg.lines().skip(1).collect::<Vec<_>>().join(" "))
    } else {
        d
    };
    (d, span)
}

/// Every syntax error the parser can find: after each error, the line it is on is blanked
/// (byte offsets kept, so later spans still point into the original text) and the file parsed
/// again, until it parses, an error falls on a line already blanked, or
/// [`MAX_SYNTAX_ERRORS`] are found.
fn syntax_errors(src: &str, first: toml_edit::TomlError) -> Vec<(Diagnostic, Span)> {
    let mut out = vec![syntax_diag(&first)];
    let mut text = src.as_bytes().to_vec();
    let mut err = first;
    let mut blanked: Vec<usize> = Vec::new();
    while out.len() < MAX_SYNTAX_ERRORS {
        let Some(at) = err
            .span()
            .map(|r| r.start.min(text.len().saturating_sub(1)))
        else {
            break;
        };
        let start = text[..at]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        if blanked.contains(&start) {
            break;
        }
        blanked.push(start);
        let end = text[at..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(text.len(), |i| at + i);
        // Blanking a table header would merge its keys into the table above and report
        // duplicates that are not in the file: stop there.
        if text[start..end].trim_ascii_start().starts_with(b"[") {
            break;
        }
        for b in &mut text[start..end] {
            // Spaces keep multi-byte characters' byte length; the line stays, empty.
            *b = b' ';
        }
        let Ok(again) = std::str::from_utf8(&text) else {
            break;
        };
        match toml_edit::Document::parse(again) {
            Ok(_) => break,
            // A duplicate key after blanking comes from the blanking, not from the file.
            Err(e) if e.message().contains("duplicate key") => break,
            Err(e) => {
                out.push(syntax_diag(&e));
                err = e;
            }
        }
    }
    // The parser does not always report the earliest error first: list them in file order.
    out.sort_by_key(|(_, span)| span.map_or(0, |s| s.0));
    out
}

/// Span of `path`, or of the nearest enclosing path that has one.
fn lookup_span(spans: &HashMap<String, Span>, path: &str) -> Span {
    let mut p = path.to_string();
    loop {
        if let Some(Some(s)) = spans.get(&p) {
            return Some(*s);
        }
        let cut = p.rfind(['.', '[']);
        match cut {
            Some(i) => p.truncate(i),
            None => return None,
        }
    }
}

fn read_root(c: &mut Ctx, root: &Tbl, default_name: String) -> Option<Scenario> {
    match root.tl.get("format_version") {
        None => {
            c.err(
                "format_version",
                Some((0, 0)),
                "missing `format_version`",
                Some("put `format_version = 1` at the top of the file".into()),
            );
            return None;
        }
        Some(_) => {
            let v = c.int(root, "format_version")?;
            if v != gigawatt_model::FORMAT_VERSION as i64 {
                let (_, p, s) = c.get(root, "format_version")?;
                c.err(
                    &p,
                    s,
                    format!("unsupported format_version {v}"),
                    Some(format!(
                        "this gigawatt reads format version {}",
                        gigawatt_model::FORMAT_VERSION
                    )),
                );
                return None;
            }
        }
    }
    let name = c.string(root, "name").unwrap_or(default_name);
    let placeholder = Month::new(2026, 1);
    let horizon = match c.table(root, "horizon") {
        Some(h) => {
            let start = c.month_req(&h, "start", placeholder);
            let end = c.month_req(&h, "end", start.plus(11));
            Horizon { start, end }
        }
        None => {
            if root.tl.get("horizon").is_none() {
                c.missing(root, "horizon");
            }
            Horizon {
                start: placeholder,
                end: placeholder.plus(11),
            }
        }
    };
    let discount_rate_per_year = c.num_d(root, "discount_rate_per_year");
    let simulation = match c.table(root, "simulation") {
        Some(s) => SimulationSettings {
            paths: c.int_d(&s, "paths") as usize,
            seed: c.int_d(&s, "seed") as u64,
            sampling: match c.enumerated(&s, "sampling", spec::SAMPLING) {
                Some("latin_hypercube") => Sampling::LatinHypercube,
                Some("sobol") => Sampling::Sobol,
                _ => Sampling::MonteCarlo,
            },
            capacity_drop_warning_pu: c.num_d(&s, "capacity_drop_warning_pu"),
        },
        None => SimulationSettings {
            paths: 10_000,
            seed: 1,
            sampling: Sampling::MonteCarlo,
            capacity_drop_warning_pu: spec_num(&spec::SIMULATION, "capacity_drop_warning_pu"),
        },
    };
    let correlations = c
        .tables(root, "correlations")
        .iter()
        .map(|t| Correlation {
            a: c.string_req(t, "a"),
            b: c.string_req(t, "b"),
            rho: c.num_req(t, "rho"),
        })
        .collect();
    if root.tl.get("segments").is_none() {
        c.missing(root, "segments");
    }
    let seg_tables = c.tables(root, "segments");
    let mut segments = Vec::new();
    for (i, t) in seg_tables.iter().enumerate() {
        segments.push(read_segment(c, t, i as i64, horizon));
    }
    let load_blocks = c
        .tables(root, "load_blocks")
        .iter()
        .map(|t| LoadBlock {
            name: c.string_req(t, "name"),
            hours_pu: c.num_req(t, "hours_pu"),
            demand_factor: c.num_req(t, "demand_factor"),
        })
        .collect();
    let research = match c.table(root, "research") {
        Some(t) => {
            let runs = c
                .tables(&t, "runs")
                .iter()
                .enumerate()
                .map(|(i, r)| TrainingRun {
                    name: c.string_req(r, "name"),
                    size_h100e_months: c.num_req(r, "size_h100e_months"),
                    earliest_start: c.month_req(r, "earliest_start", horizon.start),
                    deadline: c.month_req(r, "deadline", horizon.end),
                    priority: c.int_or(r, "priority", i as i64),
                    max_h100e: c.num_or(r, "max_h100e", 0.0),
                    min_cluster_h100e: c.num_d(r, "min_cluster_h100e"),
                })
                .collect();
            Research {
                floor_h100e: c.num_d(&t, "floor_h100e"),
                floor_share_pu: c.num_d(&t, "floor_share_pu"),
                runs,
                extra_cap_share_pu: c.num_d(&t, "extra_cap_share_pu"),
                quality_elasticity: c.uncertain_d(&t, "quality_elasticity"),
                quality_lag_months: c.u32_d(&t, "quality_lag_months"),
            }
        }
        None => Research {
            floor_h100e: 0.0,
            floor_share_pu: 0.0,
            runs: Vec::new(),
            extra_cap_share_pu: 0.0,
            quality_elasticity: Uncertain::fixed(0.0),
            quality_lag_months: 3,
        },
    };
    let generations: Vec<Generation> = c
        .tables(root, "generations")
        .iter()
        .map(|t| Generation {
            name: c.string_req(t, "name"),
            h100e_per_unit: c.num_req(t, "h100e_per_unit"),
            kw_per_unit: c.num_req(t, "kw_per_unit"),
            price_usd_per_unit: c.uncertain_req(t, "price_usd_per_unit"),
            available_from: c.month(t, "available_from").unwrap_or(horizon.start),
            life_years: c.num_d(t, "life_years"),
        })
        .collect();
    let fleet: Vec<FleetEntry> = c
        .tables(root, "fleet")
        .iter()
        .map(|t| FleetEntry {
            generation: c.string_req(t, "generation"),
            units: c.num_req(t, "units"),
            installed: c.month(t, "installed").unwrap_or(horizon.start),
            lease_usd_per_unit_month: c.num_d(t, "lease_usd_per_unit_month"),
            lease_end: c.month(t, "lease_end"),
            pool: c.string(t, "pool"),
        })
        .collect();
    let power_t = c.table(root, "power");
    let pue = power_t
        .as_ref()
        .map_or(spec_num(&spec::POWER, "pue"), |t| c.num_d(t, "pue"));
    let owned_need_mw: f64 = fleet
        .iter()
        .filter(|f| f.lease_end.is_none() && f.lease_usd_per_unit_month == 0.0)
        .map(|f| {
            generations
                .iter()
                .find(|g| g.name == f.generation)
                .map_or(0.0, |g| f.units * g.kw_per_unit * pue / 1000.0)
        })
        .sum();
    let power = match &power_t {
        Some(t) => PowerLimits {
            existing_powered_mw: c.num_or(t, "existing_powered_mw", owned_need_mw),
            max_total_mw: c.num(t, "max_total_mw"),
            availability_pu: c.num_d(t, "availability_pu"),
            power_price_usd_per_mwh: c.uncertain_d(t, "power_price_usd_per_mwh"),
            pue,
        },
        None => PowerLimits {
            existing_powered_mw: owned_need_mw,
            max_total_mw: None,
            availability_pu: spec_num(&spec::POWER, "availability_pu"),
            power_price_usd_per_mwh: Uncertain::fixed(spec_num(
                &spec::POWER,
                "power_price_usd_per_mwh",
            )),
            pue,
        },
    };
    let options: Vec<CapacityOption> = c
        .tables(root, "options")
        .iter()
        .map(|t| read_option(c, t, horizon))
        .collect();
    let allocation = match c.table(root, "allocation") {
        Some(t) => {
            let mut order = Vec::new();
            for (s, p, span) in c.str_array(&t, "order").unwrap_or_default() {
                let step = match s.as_str() {
                    "research_floor" => Some(AllocationStep::ResearchFloor),
                    "research_runs" => Some(AllocationStep::ResearchRuns),
                    "research_extra" => Some(AllocationStep::ResearchExtra),
                    other => other
                        .strip_prefix("segment:")
                        .map(|n| AllocationStep::Segment(n.to_string())),
                };
                match step {
                    Some(st) => order.push(st),
                    None => {
                        let hint = did_you_mean(
                            &s,
                            ["research_floor", "research_runs", "research_extra"].into_iter(),
                        )
                        .unwrap_or_else(|| {
                            "steps are research_floor, segment:NAME, research_runs, research_extra"
                                .into()
                        });
                        c.err(
                            &p,
                            span,
                            format!("unknown allocation step `{s}`"),
                            Some(hint),
                        );
                    }
                }
            }
            Allocation {
                order,
                burst_covers_product: c.boolean_d(&t, "burst_covers_product"),
            }
        }
        None => Allocation {
            order: Vec::new(),
            burst_covers_product: true,
        },
    };
    let finance = match c.table(root, "finance") {
        Some(t) => Finance {
            starting_cash_usd: c.num_d(&t, "starting_cash_usd"),
            min_cash_usd: c.num_d(&t, "min_cash_usd"),
            rounds: c
                .tables(&t, "rounds")
                .iter()
                .map(|r| FundingRound {
                    month: c.month_req(r, "month", horizon.start),
                    amount_usd: c.uncertain_req(r, "amount_usd"),
                    probability_pu: c.num_d(r, "probability_pu"),
                })
                .collect(),
            credit_limit_usd: c.num_d(&t, "credit_limit_usd"),
            credit_rate_per_year: c.num_d(&t, "credit_rate_per_year"),
            backstop_rate_per_year: c.num_d(&t, "backstop_rate_per_year"),
            non_compute_opex_usd_per_month: c.uncertain_d(&t, "non_compute_opex_usd_per_month"),
            non_compute_opex_growth_per_year: c.num_d(&t, "non_compute_opex_growth_per_year"),
            it_depreciation_years: c.num_d(&t, "it_depreciation_years"),
            facility_depreciation_years: c.num_d(&t, "facility_depreciation_years"),
            revenue_shares: c
                .tables(&t, "revenue_shares")
                .iter()
                .map(|r| gigawatt_model::RevenueShare {
                    partner: c.string_req(r, "partner"),
                    share_pu: c.num_req(r, "share_pu"),
                    segments: c.strings(r, "segments"),
                    from: c.month(r, "from").unwrap_or(horizon.start),
                    until: c.month(r, "until").unwrap_or(horizon.end),
                })
                .collect(),
            vendor_investments: c
                .tables(&t, "vendor_investments")
                .iter()
                .map(|r| gigawatt_model::VendorInvestment {
                    vendor: c.string_req(r, "vendor"),
                    options: c.strings(r, "options"),
                    usd_per_h100e: c.num_d(r, "usd_per_h100e"),
                    max_usd: c.num_d(r, "max_usd"),
                    warrants_usd_per_h100e: c.num_d(r, "warrants_usd_per_h100e"),
                })
                .collect(),
        },
        None => default_finance(),
    };
    let plans = c
        .tables(root, "plans")
        .iter()
        .map(|t| read_plan(c, t, &options, horizon))
        .collect();
    let cases = c
        .tables(root, "cases")
        .iter()
        .map(|t| {
            let mut values = Vec::new();
            if let Some((it, path, span)) = c.get(t, "values") {
                match it.as_table_like() {
                    Some(tl) => {
                        for (k, v) in tl.iter() {
                            let p = join(&path, k);
                            let vs = item_span(v).or(span);
                            c.spans.insert(p.clone(), vs);
                            if let Some(x) = c.number_value(&p, vs, v) {
                                values.push((k.to_string(), x));
                            }
                        }
                    }
                    None => c.wrong_type(&path, span, "a table of input ids to numbers", it),
                }
            }
            Case {
                name: c.string_req(t, "name"),
                probability_pu: c.num_req(t, "probability_pu"),
                values,
            }
        })
        .collect();
    let groups = c
        .tables(root, "groups")
        .iter()
        .map(|t| gigawatt_model::InputGroup {
            name: c.string_req(t, "name"),
            inputs: c.strings(t, "inputs"),
        })
        .collect();
    let events = c
        .tables(root, "events")
        .iter()
        .map(|t| read_event(c, t, horizon))
        .collect();
    let pools = c
        .tables(root, "pools")
        .iter()
        .map(|t| gigawatt_model::Pool {
            name: c.string_req(t, "name"),
            serves: c.strings(t, "serves"),
            use_fee_usd_per_h100e_hour: c.num_d(t, "use_fee_usd_per_h100e_hour"),
            idle_power_share_pu: c.num_d(t, "idle_power_share_pu"),
        })
        .collect();
    Some(Scenario {
        pools,
        events,
        groups,
        name,
        horizon,
        discount_rate_per_year,
        simulation,
        correlations,
        segments,
        load_blocks,
        research,
        generations,
        fleet,
        power,
        options,
        allocation,
        finance,
        plans,
        cases,
    })
}

/// Finance with every field at its documented default.
pub fn default_finance() -> Finance {
    let d = |key| spec_num(&spec::FINANCE, key);
    Finance {
        starting_cash_usd: d("starting_cash_usd"),
        min_cash_usd: d("min_cash_usd"),
        rounds: Vec::new(),
        credit_limit_usd: d("credit_limit_usd"),
        credit_rate_per_year: d("credit_rate_per_year"),
        backstop_rate_per_year: d("backstop_rate_per_year"),
        non_compute_opex_usd_per_month: Uncertain::fixed(d("non_compute_opex_usd_per_month")),
        non_compute_opex_growth_per_year: d("non_compute_opex_growth_per_year"),
        it_depreciation_years: d("it_depreciation_years"),
        facility_depreciation_years: d("facility_depreciation_years"),
        revenue_shares: Vec::new(),
        vendor_investments: Vec::new(),
    }
}

/// The default of field `key` of `table` as the attribute table states it (the one place
/// defaults are written). A field read with a default must state a numeric one there; the
/// test `every_default_the_reader_uses_is_in_the_attribute_table` holds that.
fn spec_num(table: &TableSpec, key: &str) -> f64 {
    table
        .field(key)
        .and_then(|f| f.default_number())
        .unwrap_or_else(|| panic!("spec.rs states no numeric default for {}.{key}", table.name))
}

/// One `[[events]]` table; a field its kind does not use is an error where it is written.
fn read_event(c: &mut Ctx, t: &Tbl, horizon: Horizon) -> gigawatt_model::Event {
    use gigawatt_model::EventKind;
    let kind = c
        .enumerated(t, "kind", spec::EVENT_KINDS)
        .and_then(|k| EventKind::ALL.into_iter().find(|e| e.name() == k));
    if t.tl.get("kind").is_none() {
        c.missing(t, "kind");
    }
    if let Some(kind) = kind {
        let uses: &[&str] = match kind {
            EventKind::Efficiency | EventKind::PriceWar => &["share_pu", "segments"],
            EventKind::SupplyShock => &["generations", "delay_months", "duration_months"],
            EventKind::PowerDelay => &["options", "delay_months", "duration_months"],
            EventKind::FundingFreeze => &["duration_months"],
        };
        let specific = [
            "share_pu",
            "segments",
            "generations",
            "options",
            "delay_months",
            "duration_months",
        ];
        for k in specific {
            if !uses.contains(&k) {
                if let Some((key, _)) = t.tl.get_key_value(k) {
                    let span = key.span().map(|r| (r.start, r.end));
                    c.err(
                        &join(&t.path, k),
                        span,
                        format!("`{k}` does not apply to a {} event", kind.name()),
                        Some(format!("a {} event takes {}", kind.name(), uses.join(", "))),
                    );
                }
            }
        }
        if matches!(kind, EventKind::Efficiency | EventKind::PriceWar)
            && t.tl.get("share_pu").is_none()
        {
            c.missing(t, "share_pu");
        }
        if matches!(kind, EventKind::SupplyShock | EventKind::PowerDelay)
            && t.tl.get("delay_months").is_none()
        {
            c.missing(t, "delay_months");
        }
    }
    gigawatt_model::Event {
        name: c.string_req(t, "name"),
        kind: kind.unwrap_or(EventKind::Efficiency),
        window_start: c.month_req(t, "window_start", horizon.start),
        window_end: c.month_req(t, "window_end", horizon.start),
        probability_pu: c.num_d(t, "probability_pu"),
        share_pu: c.uncertain_d(t, "share_pu"),
        segments: c.strings(t, "segments"),
        generations: c.strings(t, "generations"),
        options: c.strings(t, "options"),
        delay_months: c.uncertain_d(t, "delay_months"),
        duration_months: c.u32_d(t, "duration_months"),
    }
}

fn read_segment(c: &mut Ctx, t: &Tbl, index: i64, horizon: Horizon) -> Segment {
    let growth = match c.table(t, "growth") {
        Some(g) => read_growth(c, &g),
        None => {
            if t.tl.get("growth").is_none() {
                c.missing(t, "growth");
            }
            Growth::Log {
                drift_per_year: Uncertain::fixed(0.0),
                volatility_per_month: Uncertain::fixed(0.0),
            }
        }
    };
    let launches = c
        .tables(t, "launches")
        .iter()
        .map(|l| Launch {
            name: c.string_req(l, "name"),
            window_start: c.month_req(l, "window_start", horizon.start),
            window_end: c.month_req(l, "window_end", horizon.start),
            probability_pu: c.num_d(l, "probability_pu"),
            jump_pu: c.uncertain_req(l, "jump_pu"),
            decay_half_life_months: c.num(l, "decay_half_life_months"),
        })
        .collect();
    Segment {
        name: c.string_req(t, "name"),
        unit: c.string(t, "unit").unwrap_or_else(|| "units".into()),
        start_units_per_month: c.uncertain_req(t, "start_units_per_month"),
        h100e_months_per_unit: {
            let u = c.uncertain_req(t, "h100e_months_per_unit");
            if t.tl.get("h100e_months_per_unit").is_none() {
                Uncertain::fixed(1.0)
            } else {
                u
            }
        },
        efficiency_gain_per_year: c.uncertain_d(t, "efficiency_gain_per_year"),
        price_usd_per_unit: c.uncertain_req(t, "price_usd_per_unit"),
        price_decline_per_year: c.uncertain_d(t, "price_decline_per_year"),
        growth,
        launches,
        churn_share_pu: c.num_d(t, "churn_share_pu"),
        priority: c.int_or(t, "priority", index),
        demand_factors: c.num_array(t, "demand_factors").unwrap_or_default(),
    }
}

fn read_growth(c: &mut Ctx, g: &Tbl) -> Growth {
    let process = c.enumerated(g, "process", spec::PROCESSES);
    if g.tl.get("process").is_none() {
        c.missing(g, "process");
    }
    let allowed: &[&str] = match process {
        Some("log") => &["process", "drift_per_year", "volatility_per_month"],
        Some("s_curve") => &[
            "process",
            "saturation_units_per_month",
            "rate_per_year",
            "volatility_per_month",
        ],
        Some("regimes") => &["process", "regimes", "transition", "start"],
        Some("percentiles") => &["process", "years", "p10", "p50", "p90"],
        _ => &[],
    };
    if let Some(p) = process {
        for (k, _) in g.tl.iter() {
            if !allowed.contains(&k) && spec::ROOT.field(k).is_none() && g.spec.field(k).is_some() {
                let span =
                    g.tl.get_key_value(k)
                        .and_then(|(key, _)| key.span())
                        .map(|r| (r.start, r.end));
                c.err(
                    &join(&g.path, k),
                    span,
                    format!("`{k}` does not apply to the {p} process"),
                    Some(format!("{p} takes {}", allowed[1..].join(", "))),
                );
            }
        }
    }
    match process {
        Some("s_curve") => Growth::SCurve {
            saturation_units_per_month: c.uncertain_req(g, "saturation_units_per_month"),
            rate_per_year: c.uncertain_req(g, "rate_per_year"),
            volatility_per_month: c.uncertain_d(g, "volatility_per_month"),
        },
        Some("regimes") => {
            let regimes: Vec<Regime> = c
                .tables(g, "regimes")
                .iter()
                .map(|r| Regime {
                    name: c.string_req(r, "name"),
                    drift_per_year: c.num_req(r, "drift_per_year"),
                    volatility_per_month: c.num_d(r, "volatility_per_month"),
                })
                .collect();
            if g.tl.get("regimes").is_none() {
                c.missing(g, "regimes");
            }
            if g.tl.get("transition").is_none() {
                c.missing(g, "transition");
            }
            let transition = c.num_matrix(g, "transition").unwrap_or_default();
            let start = c
                .string(g, "start")
                .or_else(|| regimes.first().map(|r| r.name.clone()))
                .unwrap_or_default();
            Growth::Regimes {
                regimes,
                transition,
                start,
            }
        }
        Some("percentiles") => {
            let years = c.array_req(g, "years");
            let mut year_ints = Vec::new();
            for (i, y) in years.iter().enumerate() {
                if y.fract() != 0.0 {
                    let (_, p, s) = c.get(g, "years").unwrap_or_default_item();
                    c.err(
                        &format!("{p}[{i}]"),
                        s,
                        format!("{y} is not a whole year"),
                        None,
                    );
                }
                year_ints.push(*y as i32);
            }
            Growth::Percentiles {
                years: year_ints,
                p10: c.array_req(g, "p10"),
                p50: c.array_req(g, "p50"),
                p90: c.array_req(g, "p90"),
            }
        }
        _ => Growth::Log {
            drift_per_year: c.uncertain_d(g, "drift_per_year"),
            volatility_per_month: c.uncertain_d(g, "volatility_per_month"),
        },
    }
}

trait OrDefaultItem<'a> {
    fn unwrap_or_default_item(self) -> (&'a Item, String, Span);
}

impl<'a> OrDefaultItem<'a> for Option<(&'a Item, String, Span)> {
    fn unwrap_or_default_item(self) -> (&'a Item, String, Span) {
        static NONE: Item = Item::None;
        self.unwrap_or((&NONE, String::new(), None))
    }
}

fn read_option(c: &mut Ctx, t: &Tbl, horizon: Horizon) -> CapacityOption {
    let name = c.string_req(t, "name");
    if t.tl.get("kind").is_none() {
        c.missing(t, "kind");
    }
    let kind = match c.enumerated(t, "kind", spec::OPTION_KINDS) {
        Some("build") => OptionKind::Build,
        Some("lease") => OptionKind::Lease,
        Some("buy") => OptionKind::Buy,
        _ => OptionKind::Burst,
    };
    let from = c.month(t, "commit_from").unwrap_or(horizon.start);
    let until = c.month(t, "commit_until").unwrap_or(horizon.end);
    let mut o = CapacityOption::new(&name, kind, from, until);
    o.generation = c.string(t, "generation");
    let unit = kind.size_unit();
    for (wrong, right) in [("block_h100e", "block_mw"), ("max_h100e", "max_mw")] {
        let (w, r) = if unit == "mw" {
            (wrong, right)
        } else {
            (right, wrong)
        };
        if let Some((_, p, s)) = c.get(t, w) {
            c.err(
                &p,
                s,
                format!(
                    "{} options are sized in {}",
                    kind.as_str(),
                    unit.to_uppercase().replace("H100E", "H100e")
                ),
                Some(format!("use `{r}`")),
            );
        }
    }
    o.block_size = c.num(t, &format!("block_{unit}"));
    o.max_total = c.num(t, &format!("max_{unit}"));
    o.lead_time_months = c.uncertain_d(t, "lead_time_months");
    o.delay_probability_pu = c.num_d(t, "delay_probability_pu");
    o.delay_months = c.uncertain_d(t, "delay_months");
    o.capex_usd_per_mw = c.uncertain_d(t, "capex_usd_per_mw");
    o.capex_schedule_pu = c
        .num_array(t, "capex_schedule_pu")
        .unwrap_or_else(|| vec![1.0]);
    o.opex_usd_per_mw_year = c.num_d(t, "opex_usd_per_mw_year");
    o.power_price_usd_per_mwh = c.num(t, "power_price_usd_per_mwh");
    o.pue = c.num_d(t, "pue");
    o.life_years = c.num_d(t, "life_years");
    o.residual_value_pu = c.num(t, "residual_value_pu");
    o.term_months = c.u32_d(t, "term_months");
    o.price_usd_per_h100e_month = c.uncertain_d(t, "price_usd_per_h100e_month");
    o.cancel_notice_months = c.u32_d(t, "cancel_notice_months");
    o.cancel_fee_pu = c.num_d(t, "cancel_fee_pu");
    o.cap_h100e = c.num_or(t, "cap_h100e", 0.0);
    o.chip_schedule_pu = c
        .num_array(t, "chip_schedule_pu")
        .unwrap_or_else(|| vec![1.0]);
    o.financed_share_pu = c.num_d(t, "financed_share_pu");
    o.financing_rate_per_year = c.num_d(t, "financing_rate_per_year");
    o.financing_term_months = c.u32_d(t, "financing_term_months");
    o.ramp_pu = c.num_array(t, "ramp_pu").unwrap_or_default();
    o.pool = c.string(t, "pool");
    o
}

fn read_plan(c: &mut Ctx, t: &Tbl, options: &[CapacityOption], horizon: Horizon) -> Plan {
    let commitments = c
        .tables(t, "commitments")
        .iter()
        .map(|ct| {
            let option = c.string_req(ct, "option");
            let month = c.month_req(ct, "month", horizon.start);
            let mw = c.num(ct, "mw");
            let h = c.num(ct, "h100e");
            let want = options
                .iter()
                .find(|o| o.name == option)
                .map(|o| o.kind.size_unit());
            let amount = match (mw, h, want) {
                (Some(_), Some(_), _) => {
                    c.err(
                        &join(&ct.path, "h100e"),
                        ct.span,
                        "give either `mw` or `h100e`, not both",
                        None,
                    );
                    0.0
                }
                (None, None, _) => {
                    let hint = Some(format!(
                        "size it with `{}`",
                        want.unwrap_or("mw` or `h100e")
                    ));
                    c.err(
                        &join(&ct.path, want.unwrap_or("mw")),
                        ct.span,
                        "missing the commitment's size",
                        hint,
                    );
                    0.0
                }
                (Some(x), None, Some("h100e")) | (None, Some(x), Some("mw")) => {
                    let (have, need) = if want == Some("mw") {
                        ("h100e", "mw")
                    } else {
                        ("mw", "h100e")
                    };
                    let (_, p, s) = c.get(ct, have).unwrap_or_default_item();
                    c.err(
                        &p,
                        s,
                        format!("option `{option}` is sized in {need}, not {have}"),
                        Some(format!("write `{need} = ...`")),
                    );
                    x
                }
                (Some(x), None, _) | (None, Some(x), _) => x,
            };
            Commitment {
                option,
                month,
                amount,
                project: c.string(ct, "project"),
            }
        })
        .collect();
    let rules = c
        .tables(t, "rules")
        .iter()
        .map(|rt| {
            let option = c.string_req(rt, "option");
            let (from_d, until_d) = options
                .iter()
                .find(|o| o.name == option)
                .map_or((horizon.start, horizon.end), |o| {
                    (o.commit_from, o.commit_until)
                });
            Rule {
                kind: match c.enumerated(rt, "kind", spec::RULE_KINDS) {
                    Some("refresh") => gigawatt_model::RuleKind::Refresh,
                    Some("cancel") => gigawatt_model::RuleKind::Cancel,
                    Some("affine") => gigawatt_model::RuleKind::Affine,
                    _ => gigawatt_model::RuleKind::Forecast,
                },
                every_months: c.u32_d(rt, "every_months"),
                from: c.month(rt, "from").unwrap_or(from_d),
                until: c.month(rt, "until").unwrap_or(until_d),
                percentile_pu: c.num_d(rt, "percentile_pu"),
                headroom_pu: c.num_d(rt, "headroom_pu"),
                max_per_decision: c.num_d(rt, "max_per_decision"),
                intercept: c.num_d(rt, "intercept"),
                slope: c.num_d(rt, "slope"),
                centre_h100e: c.num_d(rt, "centre_h100e"),
                option,
            }
        })
        .collect();
    Plan {
        name: c.string_req(t, "name"),
        description: c.string(t, "description").unwrap_or_default(),
        commitments,
        rules,
    }
}
