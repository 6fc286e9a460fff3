//! Draws a dashboard's answered panels as one SVG, laid out on Grafana's grid (24 columns, 30 px rows) in
//! Grafana's dark theme: time series with axes in the panel's unit, threshold lines and a legend table (last,
//! max), stat boxes and bar gauges coloured by thresholds, the fleet table with coloured cells, and the text
//! Grafana shows instead of an empty panel.
//!
//! Why hand-written SVG rather than a plotting crate: the images need lines, rectangles and text only, and
//! text is the hard part for plotting crates (`plotters` measures text with system fonts through `font-kit`, or
//! needs a font file embedded with `ab_glyph`). SVG leaves glyphs to the viewer, so this module only estimates
//! text widths to truncate, and its output is small, deterministic (same data, same bytes) and diffable.

use std::fmt::Write;

use super::data::{Content, Kind, Panel, Series, Step, Table, COLUMN_PX};

const ROW_PX: f64 = 30.0;
const HEADER_PX: f64 = 56.0;
const GAP: f64 = 4.0;
const PAGE: &str = "#111217";
const PANEL: &str = "#181b1f";
const BORDER: &str = "#2c3235";
const TEXT: &str = "#ccccdc";
const MUTED: &str = "#8e8e9a";
const GRID: &str = "#2a2d33";
/// Grafana's `palette-classic`.
const PALETTE: &[&str] = &[
    "#73BF69", "#F2CC0C", "#8AB8FF", "#FF780A", "#F2495C", "#5794F2", "#B877D9", "#705DA0",
    "#37872D", "#FADE2A", "#447EBC", "#C15C17",
];

/// Grafana's named colours used by the dashboards' thresholds.
fn named(c: &str) -> &str {
    match c {
        "green" => "#73BF69",
        "red" => "#F2495C",
        "orange" => "#FF9830",
        "yellow" => "#FADE2A",
        "blue" => "#5794F2",
        other => other,
    }
}

/// The threshold colour of `v`: the last step whose value is ≤ `v`.
fn threshold_color(steps: &[Step], v: f64) -> &str {
    let mut color = "green";
    for (at, c) in steps {
        if at.is_none_or(|a| v >= a) {
            color = c;
        }
    }
    named(color)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Estimated width of `s` at `size` px (sans-serif averages ~0.56 em per character).
fn text_width(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * size * 0.56
}

/// `s` cut with an ellipsis to fit `width` px.
fn fit(s: &str, size: f64, width: f64) -> String {
    if text_width(s, size) <= width {
        return s.to_string();
    }
    let n = ((width / (size * 0.56)).floor() as usize).saturating_sub(1);
    let cut: String = s.chars().take(n).collect();
    format!("{}…", cut.trim_end())
}

/// `s` shortened in the middle to fit `width` px (legends: the model's start and the replica's end both matter).
fn fit_middle(s: &str, size: f64, width: f64) -> String {
    if text_width(s, size) <= width {
        return s.to_string();
    }
    let n = ((width / (size * 0.56)).floor() as usize).saturating_sub(1);
    let chars: Vec<char> = s.chars().collect();
    let head = n / 2 + n % 2;
    let tail = n / 2;
    let start: String = chars[..head.min(chars.len())].iter().collect();
    let end: String = chars[chars.len().saturating_sub(tail)..].iter().collect();
    format!("{}…{}", start.trim_end(), end.trim_start())
}

fn r(v: f64) -> String {
    let s = format!("{:.1}", v);
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

struct Svg(String);

/// Text style: size (px), fill, anchor (`start`, `middle`, `end`), weight (`""` = normal).
struct Font<'a>(f64, &'a str, &'a str, &'a str);

impl Svg {
    fn text(&mut self, x: f64, y: f64, font: Font<'_>, s: &str) {
        let Font(size, fill, anchor, weight) = font;
        let anchor = if anchor == "start" {
            String::new()
        } else {
            format!(" text-anchor=\"{anchor}\"")
        };
        let weight = if weight.is_empty() {
            String::new()
        } else {
            format!(" font-weight=\"{weight}\"")
        };
        let _ = writeln!(
            self.0,
            "<text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"{fill}\"{anchor}{weight}>{}</text>",
            r(x),
            r(y),
            r(size),
            esc(s)
        );
    }
    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, extra: &str) {
        let _ = writeln!(
            self.0,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"{extra}/>",
            r(x),
            r(y),
            r(w.max(0.0)),
            r(h.max(0.0))
        );
    }
    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, extra: &str) {
        let _ = writeln!(
            self.0,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{stroke}\"{extra}/>",
            r(x1),
            r(y1),
            r(x2),
            r(y2)
        );
    }
}

/// A value in the panel's unit, with `decimals` (None: about three significant digits).
pub fn format_value(v: f64, unit: &str, decimals: Option<usize>) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let auto = |x: f64| -> usize {
        if x.fract() == 0.0 {
            0
        } else {
            (2 - x.abs().log10().floor() as i32).clamp(0, 3) as usize
        }
    };
    let num = |x: f64, d: Option<usize>| format!("{:.*}", d.unwrap_or_else(|| auto(x)), x);
    let compact = |x: f64, d: Option<usize>| -> String {
        let a = x.abs();
        if a >= 1e6 {
            format!("{}M", num(x / 1e6, d.map(|d| d.saturating_sub(6)).or(None)))
        } else if a >= 1e3 {
            format!("{}k", num(x / 1e3, d.map(|d| d.saturating_sub(3)).or(None)))
        } else {
            num(x, d)
        }
    };
    match unit {
        "s" if v != 0.0 && v.abs() < 1.0 => {
            format!("{} ms", num(v * 1e3, decimals.map(|d| d.saturating_sub(3))))
        }
        "s" => format!("{} s", num(v, decimals)),
        "percentunit" => format!("{}%", num(v * 100.0, decimals.map(|d| d.saturating_sub(2)))),
        "reqps" => format!("{} req/s", compact(v, decimals)),
        "tokens/s" => format!("{} tok/s", compact(v, decimals)),
        "ops" => format!("{} ops/s", compact(v, decimals)),
        "x" => format!("{}×", num(v, decimals)),
        _ => compact(v, decimals),
    }
}

/// Decimals for ticks `step` apart (in base units; `format_value` rescales ms/% itself): the fewest that show
/// every tick exactly (0.25 → 2).
fn tick_decimals(step: f64) -> usize {
    (0..6)
        .find(|d| {
            let scaled = step * 10f64.powi(*d as i32);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0)
        })
        .unwrap_or(6)
}

/// A "nice" tick step (1, 2, 2.5, 5 × 10^k) for about `n` ticks over `span`.
fn nice_step(span: f64, n: f64) -> f64 {
    let raw = span / n.max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if raw <= m * mag {
            return m * mag;
        }
    }
    10.0 * mag
}

/// (year, month, day) of a count of days since 1970-01-01 (Howard Hinnant's civil_from_days).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `2026-11-02 18:00 UTC`.
pub fn utc(ms: i64) -> String {
    let s = ms.div_euclid(1000);
    let (y, mo, d) = civil(s.div_euclid(86_400));
    let sod = s.rem_euclid(86_400);
    format!(
        "{y}-{mo:02}-{d:02} {:02}:{:02} UTC",
        sod / 3600,
        sod % 3600 / 60
    )
}

fn time_label(ms: i64, step_ms: i64) -> String {
    let s = ms.div_euclid(1000);
    let sod = s.rem_euclid(86_400);
    if step_ms >= 86_400_000 {
        let (_, mo, d) = civil(s.div_euclid(86_400));
        format!("{mo:02}/{d:02}")
    } else {
        format!("{:02}:{:02}", sod / 3600, sod % 3600 / 60)
    }
}

/// The whole dashboard image.
pub fn dashboard(title: &str, subtitle: &str, panels: &[Panel]) -> String {
    let width = 24.0 * COLUMN_PX;
    let bottom = panels
        .iter()
        .map(|p| p.spec.y + p.spec.h)
        .max()
        .unwrap_or(0);
    let height = HEADER_PX + f64::from(bottom) * ROW_PX + GAP;
    let mut s = Svg(String::new());
    let _ = writeln!(
        s.0,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         font-family=\"Inter, Helvetica, Arial, sans-serif\">",
        w = r(width),
        h = r(height)
    );
    let _ = writeln!(s.0, "<title>{}</title>", esc(title));
    s.rect(0.0, 0.0, width, height, PAGE, "");
    s.text(12.0, 26.0, Font(18.0, TEXT, "start", "600"), title);
    s.text(12.0, 46.0, Font(12.0, MUTED, "start", ""), subtitle);
    for p in panels {
        panel(&mut s, p);
    }
    s.0.push_str("</svg>\n");
    s.0
}

fn panel(s: &mut Svg, p: &Panel) {
    let sp = &p.spec;
    let x0 = f64::from(sp.x) * COLUMN_PX + GAP;
    let y0 = HEADER_PX + f64::from(sp.y) * ROW_PX + GAP;
    let w = f64::from(sp.w) * COLUMN_PX - 2.0 * GAP;
    let h = f64::from(sp.h) * ROW_PX - 2.0 * GAP;
    if sp.kind == Kind::Row {
        s.text(
            x0 + 4.0,
            y0 + 17.0,
            Font(15.0, TEXT, "start", "600"),
            &sp.title,
        );
        return;
    }
    let _ = writeln!(s.0, "<g class=\"panel\" data-title=\"{}\">", esc(&sp.title));
    s.rect(
        x0,
        y0,
        w,
        h,
        PANEL,
        &format!(" stroke=\"{BORDER}\" rx=\"3\""),
    );
    let mut title_room = w - 16.0;
    if !p.notices.is_empty() {
        // Grafana's info mark for notices that came with data (approximations).
        let cx = x0 + w - 14.0;
        let _ = writeln!(
            s.0,
            "<g><title>{}</title><circle cx=\"{}\" cy=\"{}\" r=\"6.5\" fill=\"none\" stroke=\"#8AB8FF\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"#8AB8FF\" text-anchor=\"middle\" font-weight=\"700\">i</text></g>",
            esc(&p.notices.join(" ")),
            r(cx),
            r(y0 + 14.0),
            r(cx),
            r(y0 + 17.5)
        );
        title_room -= 18.0;
    }
    if let Some(note) = &p.range_note {
        let note = fit(note, 10.5, title_room * 0.5);
        let nw = text_width(&note, 10.5);
        s.text(
            x0 + 8.0 + title_room,
            y0 + 18.0,
            Font(10.5, "#6E9FFF", "end", ""),
            &note,
        );
        title_room -= nw + 8.0;
    }
    s.text(
        x0 + 8.0,
        y0 + 18.0,
        Font(13.0, TEXT, "start", "500"),
        &fit(&sp.title, 13.0, title_room),
    );
    let body = Rect {
        x: x0 + 8.0,
        y: y0 + 28.0,
        w: w - 16.0,
        h: h - 34.0,
    };
    match &p.content {
        Content::Message(m) => message(s, &body, m),
        Content::Table(t) => table(s, &body, p, t),
        Content::Series(series) => match sp.kind {
            Kind::Timeseries => timeseries(s, &body, p, series),
            Kind::Stat => stat(s, &body, p, series),
            Kind::BarGauge => bargauge(s, &body, p, series),
            Kind::Table | Kind::Row => message(s, &body, "unexpected series for a table"),
        },
    }
    s.0.push_str("</g>\n");
}

struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

fn message(s: &mut Svg, b: &Rect, m: &str) {
    let size = 12.0;
    let per_line = ((b.w - 16.0) / (size * 0.56)).max(8.0) as usize;
    let mut lines: Vec<String> = Vec::new();
    for word in m.split_whitespace() {
        match lines.last_mut() {
            Some(l) if l.chars().count() + 1 + word.chars().count() <= per_line => {
                l.push(' ');
                l.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    let max_lines = ((b.h / (size * 1.35)).floor() as usize).max(1);
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(l) = lines.last_mut() {
            l.push('…');
        }
    }
    let top = b.y + b.h / 2.0 - (lines.len() as f64 - 1.0) * size * 1.35 / 2.0 + size * 0.35;
    for (i, l) in lines.iter().enumerate() {
        s.text(
            b.x + b.w / 2.0,
            top + i as f64 * size * 1.35,
            Font(size, MUTED, "middle", ""),
            l,
        );
    }
}

fn color_of(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

fn timeseries(s: &mut Svg, b: &Rect, p: &Panel, series: &[Series]) {
    let sp = &p.spec;
    // Legend table (name, last, max) under the plot, at most ~45 % of the body.
    let row_h = 14.0;
    let rows_fit = (((b.h * 0.45) / row_h).floor() as usize)
        .saturating_sub(1)
        .max(1);
    let shown = series.len().min(rows_fit);
    let more = series.len() - shown;
    let legend_rows = shown + 1 + usize::from(more > 0);
    let legend_h = legend_rows as f64 * row_h + 4.0;
    let plot_bottom = b.y + b.h - legend_h - 16.0;

    // Y range: the panel's min/max, else the data (stacked: the sums), from 0 for non-negative data.
    let step = p.step_ms.max(1);
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let stacks = if sp.stacked {
        stack(series)
    } else {
        Vec::new()
    };
    let values: Box<dyn Iterator<Item = f64>> = if sp.stacked {
        Box::new(
            stacks
                .iter()
                .flat_map(|st| st.iter().map(|(_, _, top)| *top)),
        )
    } else {
        Box::new(series.iter().flat_map(|x| x.points.iter().map(|p| p.1)))
    };
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        lo = 0.0;
        hi = 1.0;
    }
    if lo >= 0.0 {
        lo = 0.0;
    }
    let lo = sp.min.unwrap_or(lo);
    let mut hi = sp.max.unwrap_or(hi);
    if hi <= lo {
        hi = lo + if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
    }
    let n_ticks = ((plot_bottom - b.y) / 32.0).clamp(2.0, 6.0);
    let tick = nice_step(hi - lo, n_ticks);
    let (lo, hi) = if sp.min.is_some() && sp.max.is_some() {
        (lo, hi)
    } else {
        (
            sp.min.unwrap_or((lo / tick).floor() * tick),
            sp.max.unwrap_or((hi / tick).ceil() * tick),
        )
    };
    let decimals = tick_decimals(tick);
    let mut ticks = Vec::new();
    let mut t = (lo / tick).ceil() * tick;
    while t <= hi + tick * 1e-9 {
        ticks.push(t);
        t += tick;
    }
    let labels: Vec<String> = ticks
        .iter()
        .map(|v| {
            if v.abs() < tick * 1e-9 {
                format_value(0.0, &sp.unit, Some(0))
            } else {
                format_value(*v, &sp.unit, Some(decimals))
            }
        })
        .collect();
    let axis_w = labels
        .iter()
        .map(|l| text_width(l, 10.0))
        .fold(0.0, f64::max)
        + 8.0;
    let px = b.x + axis_w;
    let pw = b.w - axis_w;
    let py = b.y + 4.0;
    let ph = plot_bottom - py;
    let x_of = |ms: i64| px + (ms - p.start_ms) as f64 / (p.end_ms - p.start_ms).max(1) as f64 * pw;
    let y_of = |v: f64| py + ph - (v - lo) / (hi - lo) * ph;
    for (v, l) in ticks.iter().zip(&labels) {
        let y = y_of(*v);
        s.line(px, y, px + pw, y, GRID, "");
        s.text(px - 6.0, y + 3.5, Font(10.0, MUTED, "end", ""), l);
    }
    // Time axis.
    let span = (p.end_ms - p.start_ms).max(1);
    let want = (pw / 70.0).max(2.0);
    let tsteps: [i64; 14] = [
        60_000,
        300_000,
        600_000,
        900_000,
        1_800_000,
        3_600_000,
        7_200_000,
        10_800_000,
        21_600_000,
        43_200_000,
        86_400_000,
        172_800_000,
        432_000_000,
        604_800_000,
    ];
    let tstep = tsteps
        .iter()
        .copied()
        .find(|st| span as f64 / *st as f64 <= want)
        .unwrap_or(604_800_000);
    let mut tt = (p.start_ms / tstep + 1) * tstep;
    while tt <= p.end_ms {
        let x = x_of(tt);
        s.line(x, py, x, py + ph, GRID, "");
        if x < px + pw - 16.0 {
            s.text(
                x,
                py + ph + 13.0,
                Font(10.0, MUTED, "middle", ""),
                &time_label(tt, tstep),
            );
        }
        tt += tstep;
    }
    // Thresholds (dashed), when the panel shows them and they fall inside the range.
    if sp.threshold_lines {
        for (at, c) in &sp.thresholds {
            if let Some(v) = at.filter(|v| *v > lo && *v < hi) {
                let y = y_of(v);
                s.line(
                    px,
                    y,
                    px + pw,
                    y,
                    named(c),
                    " stroke-dasharray=\"6 4\" stroke-opacity=\"0.8\"",
                );
            }
        }
    }
    let _ = writeln!(
        s.0,
        "<g class=\"series\" fill=\"none\" stroke-width=\"1.5\" stroke-linejoin=\"round\">"
    );
    if sp.stacked {
        for (i, st) in stacks.iter().enumerate().rev() {
            let c = color_of(i);
            for run in runs(st.iter().map(|(t, _, top)| (*t, *top)), step) {
                let bottoms: Vec<(i64, f64)> = st
                    .iter()
                    .filter(|(t, _, _)| run.iter().any(|(rt, _)| rt == t))
                    .map(|(t, bottom, _)| (*t, *bottom))
                    .collect();
                let mut d = path(&run, &x_of, &y_of);
                for (t, v) in bottoms.iter().rev() {
                    let _ = write!(d, "L{} {}", r(x_of(*t)), r(y_of(*v)));
                }
                d.push('Z');
                let _ = writeln!(
                    s.0,
                    "<path d=\"{d}\" fill=\"{c}\" fill-opacity=\"0.3\" stroke=\"none\"/>"
                );
                let _ = writeln!(
                    s.0,
                    "<path d=\"{}\" stroke=\"{c}\"/>",
                    path(&run, &x_of, &y_of)
                );
            }
        }
    } else {
        for (i, x) in series.iter().enumerate() {
            let c = color_of(i);
            for run in runs(x.points.iter().copied(), step) {
                let clamped: Vec<(i64, f64)> =
                    run.iter().map(|(t, v)| (*t, v.clamp(lo, hi))).collect();
                if clamped.len() == 1 {
                    let (t, v) = clamped[0];
                    let _ = writeln!(
                        s.0,
                        "<circle cx=\"{}\" cy=\"{}\" r=\"1.5\" fill=\"{c}\" stroke=\"none\"/>",
                        r(x_of(t)),
                        r(y_of(v))
                    );
                } else {
                    let _ = writeln!(
                        s.0,
                        "<path d=\"{}\" stroke=\"{c}\"/>",
                        path(&clamped, &x_of, &y_of)
                    );
                }
            }
        }
    }
    s.0.push_str("</g>\n");
    // Legend table.
    let ly = plot_bottom + 18.0;
    let f = |v: Option<f64>| {
        v.map(|v| format_value(v, &sp.unit, None))
            .unwrap_or_else(|| "–".into())
    };
    // Value columns as wide as their longest value (narrow panels keep room for names).
    let col_w = series
        .iter()
        .take(shown)
        .flat_map(|x| [f(x.last()), f(x.max())])
        .map(|v| text_width(&v, 10.5) + 10.0)
        .fold(44.0, f64::max)
        .min(b.w * 0.3);
    let name_w = b.w - 2.0 * col_w - 14.0;
    s.text(
        b.x + b.w - col_w,
        ly + 10.0,
        Font(10.0, MUTED, "end", "600"),
        "Last *",
    );
    s.text(b.x + b.w, ly + 10.0, Font(10.0, MUTED, "end", "600"), "Max");
    for (i, x) in series.iter().take(shown).enumerate() {
        let y = ly + (i + 1) as f64 * row_h;
        s.rect(b.x, y + 3.5, 10.0, 3.0, color_of(i), "");
        s.text(
            b.x + 14.0,
            y + 10.0,
            Font(10.5, TEXT, "start", ""),
            &fit_middle(&x.name, 10.5, name_w),
        );
        s.text(
            b.x + b.w - col_w,
            y + 10.0,
            Font(10.5, TEXT, "end", ""),
            &f(x.last()),
        );
        s.text(
            b.x + b.w,
            y + 10.0,
            Font(10.5, TEXT, "end", ""),
            &f(x.max()),
        );
    }
    if more > 0 {
        let y = ly + (shown + 1) as f64 * row_h;
        s.text(
            b.x + 14.0,
            y + 10.0,
            Font(10.0, MUTED, "start", ""),
            &format!("… {more} more series"),
        );
    }
}

/// Stacked series: per series, (t, bottom, top) at every timestamp it has a finite value.
fn stack(series: &[Series]) -> Vec<Vec<(i64, f64, f64)>> {
    let mut acc: std::collections::BTreeMap<i64, f64> = std::collections::BTreeMap::new();
    series
        .iter()
        .map(|x| {
            x.points
                .iter()
                .filter(|(_, v)| v.is_finite())
                .map(|(t, v)| {
                    let bottom = acc.get(t).copied().unwrap_or(0.0);
                    acc.insert(*t, bottom + v);
                    (*t, bottom, bottom + v)
                })
                .collect()
        })
        .collect()
}

/// Splits points into runs without gaps (a missing step or a NaN breaks the line, as `spanNulls: false`).
fn runs(points: impl Iterator<Item = (i64, f64)>, step: i64) -> Vec<Vec<(i64, f64)>> {
    let mut out: Vec<Vec<(i64, f64)>> = Vec::new();
    let mut cur: Vec<(i64, f64)> = Vec::new();
    for (t, v) in points {
        let gap = cur.last().is_some_and(|(lt, _)| t - lt > step * 3 / 2);
        if !v.is_finite() || gap {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            if !v.is_finite() {
                continue;
            }
        }
        cur.push((t, v));
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn path(points: &[(i64, f64)], x_of: &dyn Fn(i64) -> f64, y_of: &dyn Fn(f64) -> f64) -> String {
    // Absolute start, then relative line-tos in tenths of a pixel, computed from the rounded absolute positions
    // (no drift): a point costs ~8 bytes instead of ~12, which matters with hundreds of points per series.
    let tenths = |v: f64| (v * 10.0).round() as i64;
    let mut d = String::new();
    let mut prev = (0i64, 0i64);
    for (i, (t, v)) in points.iter().enumerate() {
        let (x, y) = (tenths(x_of(*t)), tenths(y_of(*v)));
        if i == 0 {
            let _ = write!(d, "M{} {}l", dec(x), dec(y));
        } else {
            for (k, n) in [x - prev.0, y - prev.1].into_iter().enumerate() {
                if n >= 0 && !(i == 1 && k == 0) {
                    d.push(' ');
                }
                d.push_str(&dec(n));
            }
        }
        prev = (x, y);
    }
    if points.len() == 1 {
        d.truncate(d.len() - 1);
    }
    d
}

/// Tenths as a decimal: 12 → `1.2`, -3 → `-.3`, 20 → `2`.
fn dec(tenths: i64) -> String {
    let sign = if tenths < 0 { "-" } else { "" };
    let a = tenths.abs();
    match (a / 10, a % 10) {
        (w, 0) => format!("{sign}{w}"),
        (0, f) => format!("{sign}.{f}"),
        (w, f) => format!("{sign}{w}.{f}"),
    }
}

fn steps_for<'a>(p: &'a Panel, x: &Series) -> &'a [Step] {
    p.spec
        .by_ref_thresholds
        .get(&x.ref_id)
        .map(Vec::as_slice)
        .unwrap_or(&p.spec.thresholds)
}

fn stat(s: &mut Svg, b: &Rect, p: &Panel, series: &[Series]) {
    let n = series.len().max(1);
    let horizontal = b.w > b.h * 1.5;
    let (cols, rows) = if horizontal { (n, 1) } else { (1, n) };
    let cw = b.w / cols as f64;
    let ch = b.h / rows as f64;
    for (i, x) in series.iter().enumerate() {
        let (c, rr) = if horizontal { (i, 0) } else { (0, i) };
        let bx = b.x + c as f64 * cw;
        let by = b.y + rr as f64 * ch;
        let v = x.last();
        let color = v
            .map(|v| threshold_color(steps_for(p, x), v))
            .unwrap_or(GRID);
        s.rect(
            bx + 1.0,
            by + 1.0,
            cw - 2.0,
            ch - 2.0,
            color,
            " rx=\"2\" fill-opacity=\"0.9\"",
        );
        let value = v
            .map(|v| format_value(v, &p.spec.unit, None))
            .unwrap_or_else(|| "No data".into());
        let vsize = (ch * 0.45)
            .clamp(11.0, 26.0)
            .min((cw - 8.0) / (value.chars().count() as f64 * 0.6));
        let nsize = (ch * 0.22).clamp(9.0, 12.0);
        s.text(
            bx + 6.0,
            by + nsize + 3.0,
            Font(nsize, "#ffffff", "start", "500"),
            &fit(&x.name, nsize, cw - 12.0),
        );
        s.text(
            bx + cw / 2.0,
            by + ch / 2.0 + nsize * 0.5 + vsize * 0.35,
            Font(vsize, "#ffffff", "middle", "600"),
            &value,
        );
    }
}

fn bargauge(s: &mut Svg, b: &Rect, p: &Panel, series: &[Series]) {
    let n = series.len().max(1);
    let row = (b.h / n as f64).min(44.0);
    let values: Vec<Option<f64>> = series.iter().map(Series::last).collect();
    let lo = p.spec.min.unwrap_or(0.0);
    let hi = p.spec.max.unwrap_or_else(|| {
        values
            .iter()
            .flatten()
            .copied()
            .fold(lo, f64::max)
            .max(lo + 1e-9)
    });
    // Name above the bar when rows are tall enough; else name, bar and value on one line (many series).
    let stacked = row >= 26.0;
    let size = if stacked {
        (row * 0.3).clamp(9.0, 11.0)
    } else {
        (row * 0.8).clamp(6.5, 11.0)
    };
    let value_size = if stacked { 12.5 } else { size };
    let vw = if stacked { 62.0 } else { size * 5.5 };
    for (i, (x, v)) in series.iter().zip(&values).enumerate() {
        let y = b.y + i as f64 * row;
        let (name_w, bar_x, bar_y, bar_h) = if stacked {
            (b.w, b.x, y + size + 4.0, (row - size - 8.0).max(4.0))
        } else {
            let name_w = (b.w - vw) * 0.55;
            (name_w, b.x + name_w + 4.0, y + 1.0, (row - 2.0).max(2.0))
        };
        let name_y = if stacked {
            y + size + 1.0
        } else {
            y + row / 2.0 + size * 0.35
        };
        s.text(
            b.x,
            name_y,
            Font(size, TEXT, "start", ""),
            &fit_middle(&x.name, size, name_w),
        );
        let bw = b.x + b.w - vw - bar_x;
        s.rect(
            bar_x,
            bar_y,
            bw,
            bar_h,
            "#ffffff",
            " fill-opacity=\"0.06\" rx=\"2\"",
        );
        let value = v
            .map(|v| format_value(v, &p.spec.unit, None))
            .unwrap_or_else(|| "–".into());
        let mut color = MUTED;
        if let Some(v) = v {
            color = threshold_color(steps_for(p, x), *v);
            let frac = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
            s.rect(
                bar_x,
                bar_y,
                bw * frac,
                bar_h,
                color,
                " fill-opacity=\"0.85\" rx=\"2\"",
            );
        }
        s.text(
            b.x + b.w,
            bar_y + bar_h / 2.0 + value_size * 0.36,
            Font(value_size, color, "end", "600"),
            &value,
        );
    }
}

fn table(s: &mut Svg, b: &Rect, p: &Panel, t: &Table) {
    let row_h = 22.0;
    let first_w = (b.w * 0.26).min(300.0);
    let cw = (b.w - first_w) / t.columns.len().max(1) as f64;
    s.rect(b.x, b.y, b.w, row_h, "#22252b", "");
    s.text(
        b.x + 6.0,
        b.y + 15.0,
        Font(11.0, TEXT, "start", "600"),
        "model",
    );
    for (i, c) in t.columns.iter().enumerate() {
        let x = b.x + first_w + i as f64 * cw;
        s.text(
            x + cw - 6.0,
            b.y + 15.0,
            Font(10.5, TEXT, "end", "600"),
            &fit(&c.header, 10.5, cw - 10.0),
        );
    }
    for (ri, (model, cells)) in t.rows.iter().enumerate() {
        let y = b.y + (ri + 1) as f64 * row_h;
        if y + row_h > b.y + b.h {
            break;
        }
        s.line(b.x, y, b.x + b.w, y, GRID, "");
        s.text(
            b.x + 6.0,
            y + 15.0,
            Font(11.0, "#6E9FFF", "start", ""),
            &fit(model, 11.0, first_w - 10.0),
        );
        for (i, c) in t.columns.iter().enumerate() {
            let x = b.x + first_w + i as f64 * cw;
            let ov = p
                .spec
                .by_name
                .get(&c.key)
                .or_else(|| p.spec.by_name.get(&c.header));
            let unit = ov
                .and_then(|o| o.0.clone())
                .unwrap_or_else(|| c.unit.clone());
            let Some(v) = cells.get(&c.key) else {
                continue;
            };
            if let Some((_, steps)) = ov.filter(|o| !o.1.is_empty()) {
                s.rect(
                    x + 1.0,
                    y + 1.0,
                    cw - 2.0,
                    row_h - 2.0,
                    threshold_color(steps, *v),
                    " fill-opacity=\"0.85\"",
                );
            }
            s.text(
                x + cw - 6.0,
                y + 15.0,
                Font(11.0, "#ffffff", "end", ""),
                &format_value(*v, &unit, None),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_in_units() {
        assert_eq!(format_value(0.512, "s", None), "512 ms");
        assert_eq!(format_value(2.5, "s", None), "2.50 s");
        assert_eq!(format_value(0.25, "s", Some(2)), "250 ms");
        assert_eq!(format_value(0.875, "percentunit", None), "87.5%");
        assert_eq!(format_value(0.5, "percentunit", Some(1)), "50%");
        assert_eq!(format_value(12345.0, "tokens/s", None), "12.3k tok/s");
        assert_eq!(format_value(3.0, "reqps", Some(0)), "3 req/s");
        assert_eq!(format_value(f64::NAN, "s", None), "NaN");
    }

    #[test]
    fn ticks_dates_and_gaps() {
        assert_eq!(nice_step(1.0, 4.0), 0.25);
        assert_eq!(
            (tick_decimals(0.25), tick_decimals(50.0), tick_decimals(0.1)),
            (2, 0, 1)
        );
        assert_eq!(nice_step(700.0, 5.0), 200.0);
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_772_000_000_000), "2026-02-25 06:13 UTC");
        let r = runs(
            [(0, 1.0), (15, 2.0), (30, f64::NAN), (45, 3.0), (90, 4.0)].into_iter(),
            15,
        );
        assert_eq!(
            r,
            vec![vec![(0, 1.0), (15, 2.0)], vec![(45, 3.0)], vec![(90, 4.0)]]
        );
        assert_eq!(
            threshold_color(&[(None, "green".into()), (Some(0.9), "red".into())], 0.95),
            "#F2495C"
        );
        assert_eq!(fit("abcdefghij", 10.0, 30.0), "abcd…");
        assert_eq!(fit_middle("abcdefghij", 10.0, 30.0), "ab…ij");
        let d = path(
            &[(0, 0.0), (1, 2.5), (2, 1.0)],
            &|t| t as f64 * 1.25,
            &|v| 10.0 - v,
        );
        assert_eq!(d, "M0 10l1.3-2.5 1.2 1.5");
        assert_eq!(
            (dec(-3), dec(20), dec(-15)),
            ("-.3".into(), "2".into(), "-1.5".into())
        );
    }
}
