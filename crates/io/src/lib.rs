//! gigawatt-io: scenario file format v1 (TOML) ⇄ [`gigawatt_model::Scenario`].
//!
//! - [`read_str`] / [`load`]: parse and validate, returning every problem at once as a
//!   [`Located`] diagnostic (file, line, column, field path, message, hint).
//! - [`write_scenario`]: a scenario back to TOML; reading it again gives an equal scenario.
//! - [`json_schema`] and [`reference_markdown`]: generated from the attribute table in [`spec`].
//! - [`write_atomic`]: every output file is written to a temporary file, then renamed.
//!
//! ```
//! let src = r#"
//! format_version = 1
//! horizon = { start = "2026-01", end = "2026-12" }
//! [[segments]]
//! name = "chat"
//! start_units_per_month = 100.0
//! h100e_months_per_unit = 1.0
//! price_usd_per_unit = 2.0
//! growth = { process = "log", drift_per_year = 0.5 }
//! "#;
//! let (sc, diags) = gigawatt_io::read_str(src, "mini.toml");
//! assert!(diags.is_empty());
//! assert_eq!(sc.unwrap().horizon.months(), 12);
//! ```

pub mod mangle;
mod reader;
mod schema;
pub mod spec;
mod template;
mod writer;

use std::path::Path;

use gigawatt_model::{Diagnostic, Severity, ValidScenario};

pub use reader::{default_finance, read_str, source_notes};
pub use schema::{json_schema, reference_markdown};
pub use template::STARTER_SCENARIO;
pub use writer::{plan_toml, toml_string, write_scenario};

/// Could not run: the file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing failed. The OS error is part of the message (not a separate
    /// source), so a report that prints the whole chain says it once.
    #[error("{action} {path}: {os_error}")]
    Io {
        /// What was being done: "cannot read", "cannot write", "cannot create directory".
        action: &'static str,
        /// The file or directory.
        path: String,
        /// What the OS said.
        os_error: std::io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("{path}: the file is not UTF-8 text (is it binary?)")]
    NotText {
        /// The file.
        path: String,
    },
    /// An output directory was asked for where a file already is.
    #[error(
        "{path} is a file, not a directory: give --out a directory path (it is created if missing)"
    )]
    NotADirectory {
        /// The path given.
        path: String,
    },
}

/// Makes sure `dir` is a directory this process can write to, before any long run: creates it
/// if missing, refuses a file, and writes and removes a probe file.
pub fn prepare_out_dir(dir: &Path) -> Result<(), Error> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::NotADirectory {
            path: dir.display().to_string(),
        });
    }
    std::fs::create_dir_all(dir).map_err(|os_error| Error::Io {
        action: "cannot create directory",
        path: dir.display().to_string(),
        os_error,
    })?;
    let probe = dir.join(format!(".gigawatt-probe.{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|os_error| Error::Io {
        action: "cannot write to directory",
        path: dir.display().to_string(),
        os_error,
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// A diagnostic with its place in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// The problem.
    pub diag: Diagnostic,
    /// File name as given.
    pub file: String,
    /// 1-based line, 0 if unknown.
    pub line: usize,
    /// 1-based column (in characters), 0 if unknown.
    pub column: usize,
    /// The source line, for display.
    pub source_line: String,
    /// Length of the marked span on that line, in characters.
    pub span_len: usize,
}

impl Located {
    /// Locates `diag` at byte span `span` of `src`.
    pub fn new(diag: Diagnostic, file: &str, src: &str, span: Option<(usize, usize)>) -> Located {
        let (line, column, source_line, span_len) = match span {
            Some((start, end)) if start <= src.len() => {
                let before = &src[..start];
                let line = before.matches('\n').count() + 1;
                let line_start = before.rfind('\n').map_or(0, |i| i + 1);
                let column = src[line_start..start].chars().count() + 1;
                let line_text = src[line_start..].lines().next().unwrap_or("").to_string();
                let end = end.min(src.len()).max(start);
                let marked = src[start..end]
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .count()
                    .max(1);
                (line, column, line_text, marked)
            }
            _ => (0, 0, String::new(), 0),
        };
        Located {
            diag,
            file: file.to_string(),
            line,
            column,
            source_line,
            span_len,
        }
    }

    /// Renders the diagnostic like a compiler message.
    pub fn render(&self) -> String {
        let d = &self.diag;
        let mut s = format!("{}: ", d.severity.as_str());
        if !d.path.is_empty() {
            s.push_str(&format!("{}: ", d.path));
        }
        s.push_str(&d.message);
        s.push('\n');
        if self.line > 0 {
            let n = self.line.to_string();
            let pad = " ".repeat(n.len());
            s.push_str(&format!(
                "{pad}--> {}:{}:{}\n",
                self.file, self.line, self.column
            ));
            s.push_str(&format!("{pad} |\n{n} | {}\n", self.source_line));
            s.push_str(&format!(
                "{pad} | {}{}\n",
                " ".repeat(self.column.saturating_sub(1)),
                "^".repeat(self.span_len)
            ));
        } else {
            s.push_str(&format!("  --> {}\n", self.file));
        }
        if let Some(h) = &d.hint {
            s.push_str(&format!("  = hint: {h}\n"));
        }
        s
    }

    /// The diagnostic as a JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "severity": self.diag.severity.as_str(),
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.diag.path,
            "message": self.diag.message,
            "hint": self.diag.hint,
        })
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.diag.severity == Severity::Error
    }
}

/// Reads and validates a scenario file.
pub fn load(path: &Path) -> Result<(Option<ValidScenario>, Vec<Located>), Error> {
    let bytes = std::fs::read(path).map_err(|os_error| Error::Io {
        action: "cannot read",
        path: path.display().to_string(),
        os_error,
    })?;
    let file = path.display().to_string();
    if bytes.contains(&0) {
        return Ok(read_str("\0", &file));
    }
    let src = String::from_utf8(bytes).map_err(|_| Error::NotText { path: file.clone() })?;
    Ok(read_str(&src, &file))
}

/// Writes `contents` to `path` atomically: a temporary file beside it, then a rename.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let err = |os_error| Error::Io {
        action: "cannot write",
        path: path.display().to_string(),
        os_error,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|os_error| Error::Io {
            action: "cannot create directory",
            path: dir.display().to_string(),
            os_error,
        })?;
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, contents).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}

#[cfg(test)]
mod tests;
