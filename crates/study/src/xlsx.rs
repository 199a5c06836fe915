//! The XLSX workbook of a simulation: sheets Summary, Yearly, Monthly, Inputs and (when asked)
//! Paths, each a long table with a frozen header row, set column widths and number formats
//! ($B with one decimal, percentages). Every cell holds a value; there are no formulas.

use std::collections::HashMap;

use gigawatt_model::ValidScenario;
use gigawatt_sim::{MetricId, YEARLY_LINES};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use crate::report::{SimulationReport, MONTHLY_QUANTILES, QUANTILES};
use crate::StudyError;

/// Rows a worksheet can hold, header included.
pub const MAX_ROWS: usize = 1_048_576;

fn err(e: XlsxError) -> StudyError {
    StudyError::Request(format!("could not write the workbook: {e}"))
}

/// Cell formats by kind of value.
struct Formats {
    header: Format,
    usd: Format,
    share: Format,
    count: Format,
    plain: Format,
}

impl Formats {
    fn new() -> Formats {
        Formats {
            header: Format::new().set_bold(),
            usd: Format::new().set_num_format("$#,##0.0,,,\"B\""),
            share: Format::new().set_num_format("0.0%"),
            count: Format::new().set_num_format("#,##0"),
            plain: Format::new().set_num_format("0.####"),
        }
    }

    /// The format of a quantity by its name's unit suffix.
    fn for_name(&self, name: &str) -> &Format {
        if name.ends_with("_usd") || name.starts_with("revenue_usd[") {
            &self.usd
        } else if name.ends_with("_share") || name.ends_with("_pu") || name == "utilisation" {
            &self.share
        } else if name.ends_with("_h100e") {
            &self.count
        } else {
            &self.plain
        }
    }
}

/// Writes a header row, freezes it and sets column widths.
fn header(ws: &mut Worksheet, f: &Formats, cols: &[(&str, f64)]) -> Result<(), XlsxError> {
    for (c, (name, width)) in cols.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *name, &f.header)?;
        ws.set_column_width(c as u16, *width)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

/// A number, or nothing when it is not finite (no NaN reaches a cell).
fn num(ws: &mut Worksheet, row: u32, col: u16, x: f64, fmt: &Format) -> Result<(), XlsxError> {
    if x.is_finite() {
        ws.write_number_with_format(row, col, x, fmt)?;
    }
    Ok(())
}

/// The workbook as bytes. `notes` are the scenario file's source notes (for Inputs);
/// `paths_sheet` adds the per-path outcomes when the report has them.
pub fn workbook(
    sc: &ValidScenario,
    r: &SimulationReport,
    notes: &HashMap<String, (usize, String)>,
    paths_sheet: bool,
) -> Result<Vec<u8>, StudyError> {
    let f = Formats::new();
    let mut wb = Workbook::new();
    summary(wb.add_worksheet(), &f, r).map_err(err)?;
    yearly(wb.add_worksheet(), &f, r).map_err(err)?;
    monthly(wb.add_worksheet(), &f, r).map_err(err)?;
    inputs(wb.add_worksheet(), &f, sc, notes).map_err(err)?;
    if paths_sheet && !r.per_path.is_empty() {
        if r.per_path.len() + 1 > MAX_ROWS {
            return Err(StudyError::Request(format!(
                "{} per-path rows do not fit a worksheet ({MAX_ROWS} rows); use fewer --paths or paths.csv",
                r.per_path.len()
            )));
        }
        paths(wb.add_worksheet(), &f, r).map_err(err)?;
    }
    wb.save_to_buffer().map_err(err)
}

fn summary(ws: &mut Worksheet, f: &Formats, r: &SimulationReport) -> Result<(), XlsxError> {
    ws.set_name("Summary")?;
    let mut cols = vec![
        ("plan", 24.0),
        ("metric", 24.0),
        ("mean", 12.0),
        ("se", 12.0),
    ];
    for (_, label) in QUANTILES {
        cols.push((label, 12.0));
    }
    cols.push(("cvar95", 12.0));
    header(ws, f, &cols)?;
    let mut row = 1u32;
    for p in &r.plans {
        for m in &p.metrics {
            let name = m.id.name();
            let fmt = if m.id.is_year() {
                &f.plain
            } else {
                f.for_name(name)
            };
            ws.write_string(row, 0, &p.name)?;
            ws.write_string(row, 1, name)?;
            num(ws, row, 2, m.mean, fmt)?;
            num(ws, row, 3, m.se, fmt)?;
            for (i, q) in m.quantiles.iter().enumerate() {
                num(ws, row, 4 + i as u16, *q, fmt)?;
            }
            num(ws, row, 4 + QUANTILES.len() as u16, m.cvar95, fmt)?;
            row += 1;
        }
        ws.write_string(row, 0, &p.name)?;
        ws.write_string(row, 1, "backstop_probability")?;
        num(ws, row, 2, p.backstop_probability, &f.share)?;
        row += 1;
    }
    row += 1;
    for (label, value) in [
        ("scenario", r.scenario.clone()),
        ("paths", r.paths.to_string()),
        ("seed", r.seed.to_string()),
        ("sampling", r.sampling.to_string()),
        ("horizon", format!("{} to {}", r.horizon.0, r.horizon.1)),
        ("gigawatt", env!("CARGO_PKG_VERSION").to_string()),
    ] {
        ws.write_string_with_format(row, 0, label, &f.header)?;
        ws.write_string(row, 1, value)?;
        row += 1;
    }
    Ok(())
}

fn yearly(ws: &mut Worksheet, f: &Formats, r: &SimulationReport) -> Result<(), XlsxError> {
    ws.set_name("Yearly")?;
    header(
        ws,
        f,
        &[
            ("plan", 24.0),
            ("year", 8.0),
            ("line", 28.0),
            ("mean", 12.0),
            ("p10", 12.0),
            ("p50", 12.0),
            ("p90", 12.0),
        ],
    )?;
    let mut row = 1u32;
    for p in &r.plans {
        for y in &p.yearly {
            let lines = YEARLY_LINES
                .iter()
                .map(|n| n.to_string())
                .zip(&y.lines)
                .chain(
                    y.segment_revenue
                        .iter()
                        .map(|(n, l)| (format!("revenue_usd[{n}]"), l)),
                );
            for (name, l) in lines {
                ws.write_string(row, 0, &p.name)?;
                ws.write_number(row, 1, y.year)?;
                ws.write_string(row, 2, &name)?;
                for (c, x) in [l.mean, l.p10, l.p50, l.p90].into_iter().enumerate() {
                    num(ws, row, 3 + c as u16, x, &f.usd)?;
                }
                row += 1;
            }
        }
    }
    Ok(())
}

fn monthly(ws: &mut Worksheet, f: &Formats, r: &SimulationReport) -> Result<(), XlsxError> {
    ws.set_name("Monthly")?;
    let mut cols = vec![
        ("plan", 24.0),
        ("month", 9.0),
        ("series", 20.0),
        ("mean", 12.0),
    ];
    for (_, label) in MONTHLY_QUANTILES {
        cols.push((label, 12.0));
    }
    header(ws, f, &cols)?;
    for (i, m) in r.monthly.iter().enumerate() {
        let row = i as u32 + 1;
        let fmt = f.for_name(m.series);
        ws.write_string(row, 0, &r.plans[m.plan].name)?;
        ws.write_string(row, 1, &m.month)?;
        ws.write_string(row, 2, m.series)?;
        num(ws, row, 3, m.mean, fmt)?;
        for (c, q) in m.quantiles.iter().enumerate() {
            num(ws, row, 4 + c as u16, *q, fmt)?;
        }
    }
    Ok(())
}

fn inputs(
    ws: &mut Worksheet,
    f: &Formats,
    sc: &ValidScenario,
    notes: &HashMap<String, (usize, String)>,
) -> Result<(), XlsxError> {
    ws.set_name("Inputs")?;
    header(
        ws,
        f,
        &[
            ("input", 28.0),
            ("field", 44.0),
            ("distribution", 60.0),
            ("p10", 12.0),
            ("p50", 12.0),
            ("p90", 12.0),
            ("line", 6.0),
            ("source note", 70.0),
        ],
    )?;
    let mut rows = Vec::new();
    sc.visit_uncertain(&mut |field, u| rows.push((field.path(), u.id.clone(), u.dist.clone())));
    for (i, (path, id, dist)) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, id.as_deref().unwrap_or(""))?;
        ws.write_string(row, 1, path)?;
        ws.write_string(row, 2, crate::html::describe(dist))?;
        for (c, u) in [0.1, 0.5, 0.9].into_iter().enumerate() {
            num(ws, row, 3 + c as u16, dist.quantile(u), &f.plain)?;
        }
        if let Some((line, note)) = notes.get(path) {
            ws.write_number(row, 6, *line as f64)?;
            ws.write_string(row, 7, note)?;
        }
    }
    Ok(())
}

fn paths(ws: &mut Worksheet, f: &Formats, r: &SimulationReport) -> Result<(), XlsxError> {
    ws.set_name("Paths")?;
    let mut cols = vec![("path", 8.0), ("plan", 24.0)];
    for id in MetricId::ALL {
        cols.push((id.name(), 14.0));
    }
    cols.push(("shortfall_years_mask", 10.0));
    header(ws, f, &cols)?;
    for (i, p) in r.per_path.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_number(row, 0, p.path as f64)?;
        ws.write_string(row, 1, &r.plans[p.plan].name)?;
        for (c, (id, x)) in MetricId::ALL.iter().zip(p.metrics).enumerate() {
            let fmt = if id.is_year() {
                &f.plain
            } else {
                f.for_name(id.name())
            };
            num(ws, row, 2 + c as u16, x, fmt)?;
        }
        ws.write_number(
            row,
            2 + MetricId::ALL.len() as u16,
            p.shortfall_years_mask as f64,
        )?;
    }
    Ok(())
}
