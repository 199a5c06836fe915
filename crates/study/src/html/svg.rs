//! A small SVG chart writer for the HTML report: axes with round ticks, bands, lines, bars,
//! steps and a legend, each chart with a `<title>` and a `<desc>` (its text alternative).
//!
//! Written here rather than taken from a plotting crate: the SVG is laid out as text the
//! browser sets in its own fonts, so no font files or system font libraries are needed, and the
//! output is byte-for-byte deterministic.

use std::fmt::Write as _;

/// Okabe–Ito colours, distinguishable with the common colour-vision deficiencies.
pub const PALETTE: [&str; 7] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000",
];

/// The colour of series `i`.
pub fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// Escapes text for XML and HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// About `n` round tick values covering [lo, hi] (steps of 1, 2 or 5 × 10^k).
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A value range padded so lines do not sit on the frame, always non-empty.
pub fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        let d = hi.abs().max(1.0) * 0.05;
        return (lo - d, hi + d);
    }
    let d = (hi - lo) * 0.04;
    (lo - d, hi + d)
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mark {
    /// A line.
    Line,
    /// A dashed line.
    Dashed,
    /// A filled box (band or bar) with this opacity.
    Fill(f64),
}

/// One chart being drawn.
pub struct Chart {
    w: f64,
    h: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    x: (f64, f64),
    y: (f64, f64),
    title: String,
    desc: String,
    body: String,
    legend: Vec<(String, &'static str, Mark)>,
    id: String,
}

impl Chart {
    /// A chart of `w` × `h` pixels over the data ranges `x` and `y`. `id` must be unique in
    /// the page (it ties the title and text alternative to the chart).
    pub fn new(id: &str, title: &str, desc: &str, x: (f64, f64), y: (f64, f64)) -> Chart {
        Chart {
            w: 720.0,
            h: 300.0,
            left: 78.0,
            right: 16.0,
            top: 48.0,
            bottom: 46.0,
            x,
            y,
            title: title.into(),
            desc: desc.into(),
            body: String::new(),
            legend: Vec::new(),
            id: id.into(),
        }
    }

    /// Sets the size in pixels.
    pub fn size(mut self, w: f64, h: f64) -> Chart {
        self.w = w;
        self.h = h;
        self
    }

    /// Sets the left margin (for long category labels).
    pub fn left_margin(mut self, px: f64) -> Chart {
        self.left = px;
        self
    }

    fn sx(&self, x: f64) -> f64 {
        let (a, b) = self.x;
        self.left + (x - a) / (b - a) * (self.w - self.left - self.right)
    }

    fn sy(&self, y: f64) -> f64 {
        let (a, b) = self.y;
        self.h - self.bottom - (y - a) / (b - a) * (self.h - self.top - self.bottom)
    }

    /// Axes, grid lines and tick labels; `x_ticks` and `y_ticks` are (value, label).
    pub fn axes(
        &mut self,
        x_ticks: &[(f64, String)],
        y_ticks: &[(f64, String)],
        x_label: &str,
        y_label: &str,
    ) {
        let (x0, x1) = (self.left, self.w - self.right);
        let (y0, y1) = (self.h - self.bottom, self.top);
        let mut s = String::new();
        for (v, label) in y_ticks {
            let y = self.sy(*v);
            if !(y1 - 0.5..=y0 + 0.5).contains(&y) {
                continue;
            }
            let _ = write!(
                s,
                r##"<line x1="{x0:.1}" y1="{y:.1}" x2="{x1:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end" class="tick">{}</text>"##,
                x0 - 6.0,
                y + 4.0,
                esc(label)
            );
        }
        for (v, label) in x_ticks {
            let x = self.sx(*v);
            if !(x0 - 0.5..=x1 + 0.5).contains(&x) {
                continue;
            }
            let _ = write!(
                s,
                r##"<line x1="{x:.1}" y1="{y0:.1}" x2="{x:.1}" y2="{:.1}" stroke="#888"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" class="tick">{}</text>"##,
                y0 + 5.0,
                y0 + 18.0,
                esc(label)
            );
        }
        let _ = write!(
            s,
            r##"<line x1="{x0:.1}" y1="{y0:.1}" x2="{x1:.1}" y2="{y0:.1}" stroke="#444"/><line x1="{x0:.1}" y1="{y0:.1}" x2="{x0:.1}" y2="{y1:.1}" stroke="#444"/>"##
        );
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="axis">{}</text>"##,
            (x0 + x1) / 2.0,
            self.h - 8.0,
            esc(x_label)
        );
        let _ = write!(
            s,
            r##"<text x="14" y="{:.1}" text-anchor="middle" class="axis" transform="rotate(-90 14 {:.1})">{}</text>"##,
            (y0 + y1) / 2.0,
            (y0 + y1) / 2.0,
            esc(y_label)
        );
        self.body.insert_str(0, &s);
    }

    fn points(&self, xs: &[f64], ys: &[f64]) -> String {
        let mut p = String::new();
        for (x, y) in xs.iter().zip(ys) {
            if x.is_finite() && y.is_finite() {
                let _ = write!(p, "{:.1},{:.1} ", self.sx(*x), self.sy(*y));
            }
        }
        p
    }

    /// A filled band between `lo` and `hi`.
    pub fn band(
        &mut self,
        xs: &[f64],
        lo: &[f64],
        hi: &[f64],
        colour: &'static str,
        opacity: f64,
        label: Option<&str>,
    ) {
        let mut p = self.points(xs, hi);
        let back: Vec<f64> = xs.iter().rev().copied().collect();
        let lo_back: Vec<f64> = lo.iter().rev().copied().collect();
        p.push_str(&self.points(&back, &lo_back));
        let _ = write!(
            self.body,
            r#"<polygon points="{}" fill="{colour}" fill-opacity="{opacity}" stroke="none"/>"#,
            p.trim_end()
        );
        if let Some(l) = label {
            self.legend.push((l.into(), colour, Mark::Fill(opacity)));
        }
    }

    /// A line through the points.
    pub fn line(
        &mut self,
        xs: &[f64],
        ys: &[f64],
        colour: &'static str,
        dashed: bool,
        label: Option<&str>,
    ) {
        let dash = if dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = write!(
            self.body,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>"#,
            self.points(xs, ys).trim_end()
        );
        if let Some(l) = label {
            self.legend.push((
                l.into(),
                colour,
                if dashed { Mark::Dashed } else { Mark::Line },
            ));
        }
    }

    /// A step function (an empirical CDF): horizontal then vertical between the points.
    pub fn steps(&mut self, xs: &[f64], ys: &[f64], colour: &'static str, label: Option<&str>) {
        let mut sx = Vec::with_capacity(xs.len() * 2);
        let mut sy = Vec::with_capacity(xs.len() * 2);
        for i in 0..xs.len() {
            if i > 0 {
                sx.push(xs[i]);
                sy.push(ys[i - 1]);
            }
            sx.push(xs[i]);
            sy.push(ys[i]);
        }
        self.line(&sx, &sy, colour, false, label);
    }

    /// A shaded vertical region from `x0` to `x1` with a caption at its top.
    pub fn region(&mut self, x0: f64, x1: f64, colour: &'static str, caption: &str) {
        let (a, b) = (self.sx(x0.max(self.x.0)), self.sx(x1.min(self.x.1)));
        if b <= a {
            return;
        }
        let (top, bottom) = (self.top, self.h - self.bottom);
        let _ = write!(
            self.body,
            r#"<rect x="{a:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{colour}" fill-opacity="0.12"/><text x="{:.1}" y="{:.1}" class="note">{}</text>"#,
            b - a,
            bottom - top,
            a + 4.0,
            top + 12.0,
            esc(caption)
        );
    }

    /// A vertical rule at `x` with a label.
    pub fn vrule(&mut self, x: f64, colour: &'static str, caption: &str) {
        let px = self.sx(x);
        let _ = write!(
            self.body,
            r#"<line x1="{px:.1}" y1="{:.1}" x2="{px:.1}" y2="{:.1}" stroke="{colour}" stroke-dasharray="3 3"/><text x="{:.1}" y="{:.1}" class="note">{}</text>"#,
            self.top,
            self.h - self.bottom,
            px + 4.0,
            self.top + 24.0,
            esc(caption)
        );
    }

    /// Vertical bars from 0 at x positions `xs` (width in data units), one colour each
    /// (`colours[i]`), with a label over each bar.
    pub fn bars(
        &mut self,
        xs: &[f64],
        ys: &[f64],
        width: f64,
        colour: &'static str,
        labels: &[String],
    ) {
        let zero = self.sy(0.0_f64.clamp(self.y.0, self.y.1));
        for (i, (x, y)) in xs.iter().zip(ys).enumerate() {
            if !y.is_finite() {
                continue;
            }
            let (a, b) = (self.sx(x - width / 2.0), self.sx(x + width / 2.0));
            let top = self.sy(*y);
            let (y0, hgt) = if top < zero {
                (top, zero - top)
            } else {
                (zero, top - zero)
            };
            let fill = if *y < 0.0 { PALETTE[5] } else { colour };
            let _ = write!(
                self.body,
                r#"<rect x="{a:.1}" y="{y0:.1}" width="{:.1}" height="{hgt:.1}" fill="{fill}"/>"#,
                b - a
            );
            if let Some(l) = labels.get(i) {
                let ly = if *y < 0.0 { y0 + hgt + 12.0 } else { y0 - 3.0 };
                let _ = write!(
                    self.body,
                    r#"<text x="{:.1}" y="{ly:.1}" text-anchor="middle" class="note">{}</text>"#,
                    (a + b) / 2.0,
                    esc(l)
                );
            }
        }
    }

    /// A horizontal bar from `x0` to `x1` on row `row` (0 at the top) of `rows`, for
    /// tornadoes.
    pub fn hbar(&mut self, row: usize, rows: usize, x0: f64, x1: f64, colour: &'static str) {
        let band = (self.h - self.top - self.bottom) / rows.max(1) as f64;
        let y = self.top + band * row as f64 + band * 0.15;
        let (a, b) = (self.sx(x0.min(x1)), self.sx(x0.max(x1)));
        let _ = write!(
            self.body,
            r#"<rect x="{a:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{colour}"/>"#,
            (b - a).max(1.0),
            band * 0.7
        );
    }

    /// A category label left of row `row` of `rows`.
    pub fn row_label(&mut self, row: usize, rows: usize, label: &str) {
        let band = (self.h - self.top - self.bottom) / rows.max(1) as f64;
        let y = self.top + band * row as f64 + band * 0.5 + 4.0;
        let _ = write!(
            self.body,
            r#"<text x="{:.1}" y="{y:.1}" text-anchor="end" class="tick">{}</text>"#,
            self.left - 6.0,
            esc(label)
        );
    }

    /// Replaces the text alternative (for charts described once their data is drawn).
    pub fn set_desc(&mut self, desc: &str) {
        self.desc = desc.into();
    }

    /// Adds a legend entry without drawing anything.
    pub fn legend_entry(&mut self, label: &str, colour: &'static str, mark: Mark) {
        self.legend.push((label.into(), colour, mark));
    }

    /// The finished `<svg>` element.
    pub fn finish(self) -> String {
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-labelledby="{id}-t {id}-d"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc><text x="{:.1}" y="18" class="title">{}</text>"#,
            esc(&self.title),
            esc(&self.desc),
            self.left,
            esc(&self.title),
            w = self.w,
            h = self.h,
            id = self.id,
        );
        s.push_str(&self.body);
        // The legend runs left to right on its own line under the title.
        let mut x = self.left;
        for (label, colour, mark) in &self.legend {
            let width = 6.5 * label.chars().count() as f64 + 30.0;
            let swatch = match mark {
                Mark::Line => format!(
                    r#"<line x1="{x:.1}" y1="32" x2="{:.1}" y2="32" stroke="{colour}" stroke-width="2"/>"#,
                    x + 16.0
                ),
                Mark::Dashed => format!(
                    r#"<line x1="{x:.1}" y1="32" x2="{:.1}" y2="32" stroke="{colour}" stroke-width="2" stroke-dasharray="4 3"/>"#,
                    x + 16.0
                ),
                Mark::Fill(o) => format!(
                    r#"<rect x="{x:.1}" y="26" width="16" height="12" fill="{colour}" fill-opacity="{}"/>"#,
                    o.max(0.25)
                ),
            };
            let _ = write!(
                s,
                r#"{swatch}<text x="{:.1}" y="36" class="legend">{}</text>"#,
                x + 20.0,
                esc(label)
            );
            x += width;
        }
        s.push_str("</svg>");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_inside() {
        assert_eq!(
            nice_ticks(0.0, 10.0, 5),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(nice_ticks(-3.0, 7.0, 5), vec![-2.0, 0.0, 2.0, 4.0, 6.0]);
        assert_eq!(nice_ticks(-3.0, 7.0, 4), vec![0.0, 5.0]);
        assert_eq!(
            nice_ticks(0.0, 0.35, 4),
            vec![0.0, 0.1, 0.2, 0.30000000000000004]
        );
        assert_eq!(nice_ticks(5.0, 5.0, 4), vec![5.0]);
    }

    #[test]
    fn a_chart_has_its_title_text_alternative_and_escaped_labels() {
        let mut c = Chart::new("c1", "Cash <p50>", "Median cash", (0.0, 10.0), (0.0, 1.0));
        c.axes(
            &[(5.0, "2027".into())],
            &[(0.5, "$0.5B".into())],
            "month",
            "USD & more",
        );
        c.line(&[0.0, 10.0], &[0.0, 1.0], colour(0), false, Some("median"));
        let svg = c.finish();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"<title id="c1-t">Cash &lt;p50&gt;</title>"#));
        assert!(svg.contains(r#"<desc id="c1-d">Median cash</desc>"#));
        assert!(svg.contains("USD &amp; more"));
        // The line runs from the bottom-left to the top-right of the plot area.
        assert!(svg.contains(r#"points="78.0,254.0 704.0,48.0""#));
    }
}
