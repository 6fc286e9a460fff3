//! Drawing `infermon top`: the state of the view (snapshot, trend history, sort order, demo events) and a pure
//! `draw` into any ratatui backend, so tests render real snapshots into `TestBackend` and read the cells.
//!
//! Made for plain SSH sessions: no mouse, the 16 basic colours only, ASCII fallback for bars and sparklines when
//! the locale is not UTF-8, and columns dropped by priority (never wrapped) when the terminal is narrow.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};
use ratatui::Frame;

use super::data::{ActiveAlert, ModelRow, Snapshot, BUDGET, COLUMNS, TREND_KEY};
use crate::cmd::query::human;

/// Trend points kept per model (one per refresh).
pub const HISTORY_POINTS: usize = 240;

/// How bad a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Bad,
}

/// Thresholds, aligned with the alert rules and the default SLOs (docs/rules.md).
pub fn level(key: &str, v: f64) -> Level {
    let (warn, bad, higher_is_worse) = match key {
        "ttft_p95" => (0.3, 0.5, true),
        "inter_token_latency_p95" => (0.05, 0.1, true),
        "queue_depth" => (20.0, 50.0, true),
        "kv_cache_usage" => (0.8, 0.95, true),
        "preemption_rate" => (0.0, 0.1, true),
        "error_ratio" => (0.001, 0.05, true),
        BUDGET => (0.25, 0.0, false),
        _ => return Level::Ok,
    };
    match higher_is_worse {
        true if v > bad => Level::Bad,
        true if v > warn => Level::Warn,
        false if v < bad => Level::Bad,
        false if v < warn => Level::Warn,
        _ => Level::Ok,
    }
}

fn level_style(l: Level) -> Style {
    match l {
        Level::Ok => Style::default(),
        Level::Warn => Style::default().fg(Color::Yellow),
        Level::Bad => Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
    }
}

/// Everything the screen shows.
#[derive(Debug, Clone)]
pub struct ViewState {
    pub snapshot: Snapshot,
    pub history: BTreeMap<String, VecDeque<f64>>,
    /// 0 = model name, i ≥ 1 = `COLUMNS[i - 1]`.
    pub sort: usize,
    pub descending: bool,
    pub ascii: bool,
    pub source: String,
    pub refresh: Duration,
    /// Extra lines shown above the alerts (the demo's webhook notifications), newest last.
    pub events: VecDeque<String>,
    pub events_title: Option<String>,
}

impl ViewState {
    pub fn new(source: &str, refresh: Duration, ascii: bool) -> ViewState {
        ViewState {
            snapshot: Snapshot::default(),
            history: BTreeMap::new(),
            sort: 1,
            descending: true,
            ascii,
            source: source.to_string(),
            refresh,
            events: VecDeque::new(),
            events_title: None,
        }
    }

    /// Takes a new snapshot and appends its trend values.
    pub fn update(&mut self, snap: Snapshot) {
        for r in &snap.rows {
            let h = self.history.entry(r.model.clone()).or_default();
            h.push_back(r.get(TREND_KEY).unwrap_or(0.0));
            while h.len() > HISTORY_POINTS {
                h.pop_front();
            }
        }
        self.snapshot = snap;
    }

    /// Prepends history fetched at start (oldest first).
    pub fn seed_history(&mut self, seed: BTreeMap<String, Vec<f64>>) {
        for (model, values) in seed {
            let h = self.history.entry(model).or_default();
            for v in values.into_iter().rev() {
                h.push_front(if v.is_finite() { v } else { 0.0 });
            }
            while h.len() > HISTORY_POINTS {
                h.pop_front();
            }
        }
    }

    pub fn push_event(&mut self, line: String) {
        self.events.push_back(line);
        while self.events.len() > 50 {
            self.events.pop_front();
        }
    }

    pub fn sort_header(&self) -> &'static str {
        match self.sort {
            0 => "MODEL",
            i => COLUMNS[i - 1].header,
        }
    }

    /// Rows in display order.
    pub fn sorted_rows(&self) -> Vec<&ModelRow> {
        let mut rows: Vec<&ModelRow> = self.snapshot.rows.iter().collect();
        match self.sort {
            0 => rows.sort_by(|a, b| a.model.cmp(&b.model)),
            i => {
                let key = COLUMNS[i - 1].key;
                rows.sort_by(|a, b| match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => x.total_cmp(&y).then_with(|| b.model.cmp(&a.model)),
                    (Some(_), None) => std::cmp::Ordering::Greater,
                    (None, Some(_)) => std::cmp::Ordering::Less,
                    (None, None) => b.model.cmp(&a.model),
                });
                rows.reverse(); // largest first; missing values last
            }
        }
        let flip = if self.sort == 0 {
            self.descending
        } else {
            !self.descending
        };
        if flip {
            rows.reverse();
        }
        rows
    }

    /// Applies a key; returns false when the key means "quit".
    pub fn key(&mut self, c: char) -> bool {
        let n = COLUMNS.len() + 1;
        match c {
            'q' | 'Q' => return false,
            's' | '>' => self.sort = (self.sort + 1) % n,
            'S' | '<' => self.sort = (self.sort + n - 1) % n,
            'r' => self.descending = !self.descending,
            'm' => {
                self.sort = 0;
                self.descending = false;
            }
            d @ '1'..='9' => {
                let i = d as usize - '0' as usize;
                if i <= COLUMNS.len() {
                    self.sort = i;
                    self.descending = true;
                }
            }
            _ => {}
        }
        true
    }
}

/// Whether the locale promises UTF-8 (else bars and sparklines use ASCII).
pub fn locale_is_utf8() -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .map(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        })
        .unwrap_or(false)
}

/// A value as shown in a cell (no unit suffix: the header names it).
pub fn cell_text(unit: &str, v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) => match unit {
            "reqps" | "tokens/s" | "ops" | "none" => human(v, "none"),
            "percentunit" => format!("{:.1}%", v * 100.0 + 0.0),
            u => human(v, u),
        },
    }
}

/// `█████░░░░░ 52%`-style bar of `width` cells for a 0..1 value.
pub fn bar(v: Option<f64>, width: usize, ascii: bool) -> String {
    let Some(v) = v else { return "-".into() };
    let pct = format!("{:>3.0}%", (v * 100.0).clamp(0.0, 999.0) + 0.0);
    if width < 8 {
        return pct.trim().to_string();
    }
    let cells = width - 5;
    let filled = ((v.clamp(0.0, 1.0) * cells as f64).round() as usize).min(cells);
    let (f, e) = if ascii { ('#', '.') } else { ('█', '░') };
    format!(
        "{}{} {pct}",
        f.to_string().repeat(filled),
        e.to_string().repeat(cells - filled)
    )
}

/// The last `width` points as a sparkline, scaled to their maximum.
pub fn sparkline(points: &VecDeque<f64>, width: usize, ascii: bool) -> String {
    const UNI: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    const ASC: [char; 8] = ['_', '.', ',', ':', '-', '=', '+', '#'];
    let set = if ascii { &ASC } else { &UNI };
    let n = points.len().min(width);
    let pts: Vec<f64> = points.iter().skip(points.len() - n).copied().collect();
    let max = pts.iter().copied().fold(0.0_f64, f64::max);
    pts.iter()
        .map(|v| {
            if max <= 0.0 {
                set[0]
            } else {
                set[((v / max) * 7.0).round().clamp(0.0, 7.0) as usize]
            }
        })
        .collect()
}

/// Which value columns fit in `width` (indices into `COLUMNS`), the model column width and the trend width.
pub fn layout_columns(width: u16, rows: &[&ModelRow]) -> (Vec<usize>, u16, u16) {
    // Keep order: most important first.
    const KEEP: [&str; 9] = [
        "request_rate",
        "ttft_p95",
        "kv_cache_usage",
        "queue_depth",
        "error_ratio",
        "generation_tokens_rate",
        BUDGET,
        "inter_token_latency_p95",
        "preemption_rate",
    ];
    let w = |key: &str| -> u16 {
        match key {
            "kv_cache_usage" => 15,
            "preemption_rate" => 9,
            "ttft_p95" => 9,
            _ => 8,
        }
    };
    let longest = rows
        .iter()
        .map(|r| r.model.chars().count())
        .max()
        .unwrap_or(5)
        .max(5) as u16;
    let model_min = longest.min(14);
    let mut chosen: Vec<&str> = Vec::new();
    let mut used = model_min;
    for key in KEEP {
        if used + 1 + w(key) <= width {
            used += 1 + w(key);
            chosen.push(key);
        }
    }
    let rest = width.saturating_sub(used);
    let model_w = (model_min + rest).min(longest.max(model_min)).min(44);
    let rest = width.saturating_sub(used + (model_w - model_min));
    let trend_w = if rest >= 10 { (rest - 1).min(40) } else { 0 };
    let idx = COLUMNS
        .iter()
        .enumerate()
        .filter(|(_, c)| chosen.contains(&c.key))
        .map(|(i, _)| i)
        .collect();
    (idx, model_w, trend_w)
}

fn truncate(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        return s.to_string();
    }
    if w <= 1 {
        return s.chars().take(w).collect();
    }
    let mut t: String = s.chars().take(w - 1).collect();
    t.push('…');
    t
}

fn clock(t: Option<SystemTime>) -> String {
    let Some(t) = t else { return "--:--:--".into() };
    let s = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!(
        "{:02}:{:02}:{:02} UTC",
        (s / 3600) % 24,
        (s / 60) % 60,
        s % 60
    )
}

/// The time part of an RFC 3339 timestamp (`2026-11-29T10:51:21.5Z` → `10:51:21`).
fn since(rfc3339: &str) -> &str {
    rfc3339.get(11..19).unwrap_or(rfc3339)
}

/// Draws the whole screen.
pub fn draw(f: &mut Frame, st: &ViewState) {
    let area = f.area();
    let alerts_h = if area.height < 12 {
        2
    } else {
        (st.snapshot.alerts.len() as u16 + 1).clamp(2, 8)
    };
    let events_h = match &st.events_title {
        Some(_) if area.height >= 16 => (st.events.len() as u16 + 1).clamp(2, 7),
        _ => 0,
    };
    let [title, table, events, alerts, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(events_h),
        Constraint::Length(alerts_h),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_title(f, title, st);
    draw_table(f, table, st);
    if events_h > 0 {
        draw_events(f, events, st);
    }
    draw_alerts(f, alerts, st);
    draw_footer(f, footer, st);
}

fn draw_title(f: &mut Frame, area: Rect, st: &ViewState) {
    let arrow = if st.descending { "v" } else { "^" };
    let text = format!(
        " infermon top | {} | {} models | every {}s | {} | sort {} {arrow}",
        st.source,
        st.snapshot.rows.len(),
        st.refresh.as_secs_f64(),
        clock(st.snapshot.at),
        st.sort_header()
    );
    let w = area.width as usize;
    f.render_widget(
        Paragraph::new(truncate(&text, w)).style(Style::default().add_modifier(Modifier::REVERSED)),
        area,
    );
}

fn draw_table(f: &mut Frame, area: Rect, st: &ViewState) {
    let rows = st.sorted_rows();
    let (cols, model_w, trend_w) = layout_columns(area.width, &rows);
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mark = |i: usize, h: &str| -> String {
        if st.sort == i {
            format!("{h}{}", if st.descending { "v" } else { "^" })
        } else {
            h.to_string()
        }
    };
    let mut header = vec![Cell::from(mark(0, "MODEL")).style(bold)];
    let mut widths = vec![Constraint::Length(model_w)];
    for &i in &cols {
        let c = &COLUMNS[i];
        header.push(Cell::from(mark(i + 1, c.header)).style(bold));
        widths.push(Constraint::Length(if c.key == "kv_cache_usage" {
            15
        } else if c.key == "preemption_rate" || c.key == "ttft_p95" {
            9
        } else {
            8
        }));
    }
    if trend_w > 0 {
        header.push(Cell::from("TOK/S TREND").style(bold));
        widths.push(Constraint::Length(trend_w));
    }
    let body: Vec<Row> = rows
        .iter()
        .map(|r| {
            let mut cells = vec![Cell::from(truncate(&r.model, model_w as usize))];
            for &i in &cols {
                let c = &COLUMNS[i];
                let v = r.get(c.key);
                let text = if c.key == "kv_cache_usage" {
                    bar(v, 15, st.ascii)
                } else {
                    cell_text(c.unit, v)
                };
                let style = v.map(|v| level_style(level(c.key, v))).unwrap_or_default();
                cells.push(Cell::from(text).style(style));
            }
            if trend_w > 0 {
                let empty = VecDeque::new();
                let h = st.history.get(&r.model).unwrap_or(&empty);
                cells.push(
                    Cell::from(sparkline(h, trend_w as usize, st.ascii))
                        .style(Style::default().fg(Color::Cyan)),
                );
            }
            Row::new(cells)
        })
        .collect();
    let empty_note = if rows.is_empty() {
        " (no inference servers found yet)"
    } else {
        ""
    };
    let table = Table::new(body, widths)
        .header(Row::new(header))
        .column_spacing(1)
        .block(
            Block::default()
                .borders(Borders::TOP)
                .title(format!("Models{empty_note}")),
        );
    f.render_widget(table, area);
}

fn draw_events(f: &mut Frame, area: Rect, st: &ViewState) {
    let n = area.height.saturating_sub(1) as usize;
    let lines: Vec<Line> = st
        .events
        .iter()
        .skip(st.events.len().saturating_sub(n))
        .map(|e| Line::from(truncate(e, area.width as usize)))
        .collect();
    let title = st.events_title.clone().unwrap_or_default();
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::TOP).title(title)),
        area,
    );
}

/// One alert as a line: `FIRING critical InferenceSLOErrorBudgetBurn model slo=errors: summary (since 10:51:21)`.
pub fn alert_text(a: &ActiveAlert) -> String {
    let mut s = format!("{} {} {}", a.state.to_uppercase(), a.severity, a.name);
    if !a.model.is_empty() {
        s.push_str(&format!(" {}", a.model));
    }
    if !a.detail.is_empty() {
        s.push_str(&format!(" [{}]", a.detail));
    }
    if !a.summary.is_empty() {
        s.push_str(&format!(": {}", a.summary));
    }
    if !a.active_at.is_empty() {
        s.push_str(&format!(" (since {})", since(&a.active_at)));
    }
    s
}

fn draw_alerts(f: &mut Frame, area: Rect, st: &ViewState) {
    let alerts = &st.snapshot.alerts;
    let firing = alerts.iter().filter(|a| a.state == "firing").count();
    let title = format!("Alerts: {firing} firing, {} pending", alerts.len() - firing);
    let n = area.height.saturating_sub(1) as usize;
    let mut lines: Vec<Line> = alerts
        .iter()
        .take(n)
        .map(|a| {
            let style = if a.state == "firing" {
                Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
            } else {
                Style::default().fg(Color::Yellow)
            };
            Line::from(Span::styled(
                truncate(&alert_text(a), area.width as usize),
                style,
            ))
        })
        .collect();
    if alerts.is_empty() && n > 0 {
        lines.push(Line::from(Span::styled(
            "none",
            Style::default().fg(Color::Green),
        )));
    } else if alerts.len() > n && n > 0 {
        lines.pop();
        lines.push(Line::from(format!("… +{} more", alerts.len() - n + 1)));
    }
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::TOP).title(title)),
        area,
    );
}

fn draw_footer(f: &mut Frame, area: Rect, st: &ViewState) {
    let line = match st.snapshot.errors.first() {
        Some(e) => Line::from(Span::styled(
            truncate(&format!("query error: {e}"), area.width as usize),
            Style::default().fg(Color::Red),
        )),
        None => Line::from(truncate(
            " q quit  s/S sort column  1-9 sort by  m by model  r reverse",
            area.width as usize,
        )),
    };
    f.render_widget(Paragraph::new(line), area);
}

/// The same content as plain text (for `infermon demo --no-tui` and logs): a table and the alerts.
pub fn plain(st: &ViewState) -> String {
    let rows = st.sorted_rows();
    let model_w = rows
        .iter()
        .map(|r| r.model.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!("{:<model_w$}", "MODEL");
    for c in COLUMNS {
        out.push_str(&format!(" {:>9}", c.header));
    }
    out.push('\n');
    for r in rows {
        out.push_str(&format!("{:<model_w$}", r.model));
        for c in COLUMNS {
            out.push_str(&format!(" {:>9}", cell_text(c.unit, r.get(c.key))));
        }
        out.push('\n');
    }
    for a in &st.snapshot.alerts {
        out.push_str(&format!("alert: {}\n", alert_text(a)));
    }
    for e in &st.snapshot.errors {
        out.push_str(&format!("query error: {e}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        assert_eq!(level("ttft_p95", 0.6), Level::Bad);
        assert_eq!(level("ttft_p95", 0.4), Level::Warn);
        assert_eq!(level("ttft_p95", 0.1), Level::Ok);
        assert_eq!(level(BUDGET, -0.2), Level::Bad);
        assert_eq!(level(BUDGET, 0.1), Level::Warn);
        assert_eq!(level(BUDGET, 0.9), Level::Ok);
    }

    #[test]
    fn bars_and_sparklines() {
        assert_eq!(bar(Some(0.5), 15, true), "#####.....  50%");
        assert_eq!(bar(Some(0.5), 5, true), "50%");
        let pts: VecDeque<f64> = [0.0, 1.0, 2.0].into_iter().collect();
        assert_eq!(sparkline(&pts, 10, false), "▁▅█");
        assert_eq!(sparkline(&pts, 2, true), "-#");
    }

    #[test]
    fn sorting_puts_missing_values_last_and_reverses() {
        let row = |m: &str, v: Option<f64>| ModelRow {
            model: m.into(),
            values: v
                .map(|v| [("request_rate".to_string(), v)].into_iter().collect())
                .unwrap_or_default(),
        };
        let mut st = ViewState::new("x", Duration::from_secs(1), true);
        st.update(Snapshot {
            rows: vec![row("a", Some(1.0)), row("b", None), row("c", Some(3.0))],
            ..Snapshot::default()
        });
        let names = |st: &ViewState| {
            st.sorted_rows()
                .iter()
                .map(|r| r.model.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&st), ["c", "a", "b"]);
        st.key('r');
        assert_eq!(names(&st), ["b", "a", "c"]);
        st.key('m');
        assert_eq!(names(&st), ["a", "b", "c"]);
        st.key('r');
        assert_eq!(names(&st), ["c", "b", "a"]);
        assert!(!st.key('q'));
    }
}
