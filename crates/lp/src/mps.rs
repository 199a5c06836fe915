//! Free-format MPS output.

use std::fmt::Write;

use crate::{Problem, Sense};

fn name(s: &str, prefix: char, i: usize) -> String {
    // MPS names cannot contain spaces; fall back to an index when a name is empty.
    let cleaned: String = s
        .chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect();
    if cleaned.is_empty() {
        format!("{prefix}{i}")
    } else {
        cleaned
    }
}

fn num(x: f64) -> String {
    format!("{x:e}")
}

/// Writes `p` as free MPS. Maximisation is written with `OBJSENSE MAX`.
pub fn write(p: &Problem, title: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "NAME {}", name(title, 'P', 0));
    if p.sense == Sense::Maximize {
        let _ = writeln!(s, "OBJSENSE\n    MAX");
    }
    let _ = writeln!(s, "ROWS\n N  obj");
    let rows: Vec<String> = (0..p.num_rows())
        .map(|i| name(&p.row_names[i], 'R', i))
        .collect();
    let cols: Vec<String> = (0..p.num_cols())
        .map(|j| name(&p.col_names[j], 'C', j))
        .collect();
    for (i, r) in rows.iter().enumerate() {
        let (lo, hi) = (p.row_lower[i], p.row_upper[i]);
        let kind = if lo == hi {
            'E'
        } else if lo.is_finite() && !hi.is_finite() {
            'G'
        } else if hi.is_finite() {
            'L'
        } else {
            'N'
        };
        let _ = writeln!(s, " {kind}  {r}");
    }
    let _ = writeln!(s, "COLUMNS");
    let (start, idx, val) = p.csc();
    let mut in_int = false;
    for (j, c) in cols.iter().enumerate() {
        if p.integer[j] != in_int {
            let _ = writeln!(
                s,
                "    MARKER 'MARKER' {}",
                if p.integer[j] { "'INTORG'" } else { "'INTEND'" }
            );
            in_int = p.integer[j];
        }
        if p.obj[j] != 0.0 {
            let _ = writeln!(s, "    {c} obj {}", num(p.obj[j]));
        }
        for k in start[j]..start[j + 1] {
            let _ = writeln!(s, "    {c} {} {}", rows[idx[k] as usize], num(val[k]));
        }
        if p.obj[j] == 0.0 && start[j] == start[j + 1] {
            let _ = writeln!(s, "    {c} obj 0");
        }
    }
    if in_int {
        let _ = writeln!(s, "    MARKER 'MARKER' 'INTEND'");
    }
    let _ = writeln!(s, "RHS");
    if p.obj_offset != 0.0 {
        // MPS stores the negated objective constant on the objective row.
        let _ = writeln!(s, "    RHS obj {}", num(-p.obj_offset));
    }
    let mut ranges = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let (lo, hi) = (p.row_lower[i], p.row_upper[i]);
        let rhs = if lo == hi || (lo.is_finite() && !hi.is_finite()) {
            lo
        } else if hi.is_finite() {
            hi
        } else {
            0.0
        };
        if rhs != 0.0 {
            let _ = writeln!(s, "    RHS {r} {}", num(rhs));
        }
        if lo.is_finite() && hi.is_finite() && lo != hi {
            ranges.push((r, hi - lo));
        }
    }
    if !ranges.is_empty() {
        let _ = writeln!(s, "RANGES");
        for (r, w) in ranges {
            let _ = writeln!(s, "    RNG {r} {}", num(w));
        }
    }
    let _ = writeln!(s, "BOUNDS");
    for (j, c) in cols.iter().enumerate() {
        let (lo, hi) = (p.col_lower[j], p.col_upper[j]);
        match (lo.is_finite(), hi.is_finite()) {
            (true, true) if lo == hi => {
                let _ = writeln!(s, " FX BND {c} {}", num(lo));
            }
            (false, false) => {
                let _ = writeln!(s, " FR BND {c}");
            }
            _ => {
                if !lo.is_finite() {
                    let _ = writeln!(s, " MI BND {c}");
                } else if lo != 0.0 {
                    let _ = writeln!(s, " LO BND {c} {}", num(lo));
                }
                if hi.is_finite() {
                    let _ = writeln!(s, " UP BND {c} {}", num(hi));
                } else if p.integer[j] {
                    let _ = writeln!(s, " PL BND {c}");
                }
            }
        }
    }
    let _ = writeln!(s, "ENDATA");
    s
}
