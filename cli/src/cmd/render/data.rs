//! What each panel shows: the provisioned (plugin-variant) dashboard JSON read back as panel specs, every target
//! answered the way the Grafana plugin answers it, and the answer reduced to what the panel draws.
//!
//! The plugin's own code does the parts that decide what a user sees: detection (`infermon_plugin::detect`), the
//! step and `$__rate_interval` of a panel of that width (`infermon_plugin::step::grid`, Grafana's rules) and
//! the series names (`infermon_plugin::legend`); `infermon_core::translate` turns each stored target into PromQL
//! with the same context the plugin builds (`Instance::context` with default settings). Nothing here knows a
//! metric name.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use infermon_core::dashboards::render::fleet_label;
use infermon_core::query::Query;
use infermon_core::translate::Translation;
use infermon_core::{translate, Context, PromDuration};
use infermon_plugin::detect::Detection;
use infermon_plugin::legend::display_name;
use infermon_plugin::step::grid;
use infermon_prom::{Client, QueryData};
use serde_json::Value;

use super::RenderError;

/// Grafana's grid: 24 columns; the image maps one column to this many pixels (so a 24-wide panel's
/// `maxDataPoints` is about its width in pixels, as in a browser).
pub const COLUMN_PX: f64 = 50.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Row,
    Timeseries,
    Stat,
    BarGauge,
    Table,
}

/// A threshold step: from `value` (None = base) upwards, a Grafana colour name.
pub type Step = (Option<f64>, String);

/// One panel of the dashboard JSON, as far as drawing it needs.
#[derive(Debug, Clone)]
pub struct PanelSpec {
    pub kind: Kind,
    pub title: String,
    /// gridPos: x, y, w, h in grid units.
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    pub unit: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub thresholds: Vec<Step>,
    /// Dashed threshold lines on a time series.
    pub threshold_lines: bool,
    pub stacked: bool,
    pub no_value: String,
    /// Relative time override (`timeFrom`, e.g. `30d`).
    pub time_from: Option<String>,
    pub targets: Vec<Value>,
    /// Per-refId thresholds (`byFrameRefID` overrides) and per-column unit/thresholds (`byName`).
    pub by_ref_thresholds: BTreeMap<String, Vec<Step>>,
    pub by_name: BTreeMap<String, (Option<String>, Vec<Step>)>,
}

fn steps(v: &Value) -> Vec<Step> {
    v["steps"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    (
                        s["value"].as_f64(),
                        s["color"].as_str().unwrap_or("green").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

impl PanelSpec {
    /// Reads one panel of a rendered dashboard; `None` for panel types the dashboards do not use.
    pub fn from_json(p: &Value) -> Option<PanelSpec> {
        let kind = match p["type"].as_str()? {
            "row" => Kind::Row,
            "timeseries" => Kind::Timeseries,
            "stat" => Kind::Stat,
            "bargauge" => Kind::BarGauge,
            "table" => Kind::Table,
            _ => return None,
        };
        let g = &p["gridPos"];
        let d = &p["fieldConfig"]["defaults"];
        let custom = &d["custom"];
        let mut by_ref_thresholds = BTreeMap::new();
        let mut by_name = BTreeMap::new();
        for o in p["fieldConfig"]["overrides"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let target = o["matcher"]["options"].as_str().unwrap_or("").to_string();
            let props = o["properties"].as_array().cloned().unwrap_or_default();
            let prop = |id: &str| props.iter().find(|x| x["id"] == id).map(|x| &x["value"]);
            match o["matcher"]["id"].as_str() {
                Some("byFrameRefID") => {
                    if let Some(t) = prop("thresholds") {
                        by_ref_thresholds.insert(target, steps(t));
                    }
                }
                Some("byName") => {
                    let unit = prop("unit").and_then(|u| u.as_str()).map(str::to_string);
                    let th = prop("thresholds").map(steps).unwrap_or_default();
                    by_name.insert(target, (unit, th));
                }
                _ => {}
            }
        }
        let u = |k: &str| g[k].as_u64().unwrap_or(0) as u32;
        Some(PanelSpec {
            kind,
            title: p["title"].as_str().unwrap_or("").to_string(),
            x: u("x"),
            y: u("y"),
            w: u("w"),
            h: u("h"),
            unit: d["unit"].as_str().unwrap_or("short").to_string(),
            min: d["min"].as_f64(),
            max: d["max"].as_f64(),
            thresholds: steps(&d["thresholds"]),
            threshold_lines: custom["thresholdsStyle"]["mode"]
                .as_str()
                .is_some_and(|m| m != "off"),
            stacked: custom["stacking"]["mode"] == "normal",
            no_value: d["noValue"].as_str().unwrap_or("No data").to_string(),
            time_from: p["timeFrom"].as_str().map(str::to_string),
            targets: p["targets"].as_array().cloned().unwrap_or_default(),
            by_ref_thresholds,
            by_name,
        })
    }

    /// Width of the panel in pixels (Grafana's `maxDataPoints` for it).
    pub fn width_px(&self) -> f64 {
        f64::from(self.w) * COLUMN_PX
    }
}

/// One drawn series.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub ref_id: String,
    /// (unix ms, value); NaN points are gaps.
    pub points: Vec<(i64, f64)>,
}

impl Series {
    /// Grafana's `lastNotNull`.
    pub fn last(&self) -> Option<f64> {
        self.points
            .iter()
            .rev()
            .map(|p| p.1)
            .find(|v| v.is_finite())
    }
    pub fn max(&self) -> Option<f64> {
        self.points
            .iter()
            .map(|p| p.1)
            .filter(|v| v.is_finite())
            .reduce(f64::max)
    }
}

/// One column of a table.
#[derive(Debug, Clone)]
pub struct Column {
    pub key: String,
    pub header: String,
    pub unit: String,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub columns: Vec<Column>,
    /// model → value per column key.
    pub rows: BTreeMap<String, BTreeMap<String, f64>>,
}

/// What a panel shows.
#[derive(Debug, Clone)]
pub enum Content {
    Series(Vec<Series>),
    Table(Table),
    /// No data: the plugin's notices (nothing on the engine answers) or the panel's no-value text.
    Message(String),
}

/// A panel with its answer.
#[derive(Debug, Clone)]
pub struct Panel {
    pub spec: PanelSpec,
    pub content: Content,
    /// Notices that came with data (approximations), shown as Grafana's info mark.
    pub notices: Vec<String>,
    /// The panel's own range (ms) after any `timeFrom` override.
    pub start_ms: i64,
    pub end_ms: i64,
    /// Step of the range queries, ms (a longer gap between points is a gap in the line).
    pub step_ms: i64,
    /// `timeFrom` shown in the header ("Last 30d"), with a note when the available history is shorter.
    pub range_note: Option<String>,
}

/// Where the queries go and what they may read.
pub struct Source<'a> {
    pub client: &'a Client,
    pub detection: &'a Detection,
    /// Dashboard range end, unix ms.
    pub end_ms: i64,
    pub range: Duration,
    /// History the engine holds (a backfill): longer `timeFrom` overrides are clamped to it.
    pub history: Option<Duration>,
    /// The data source's `scrapeInterval` setting (the plugin's default is 15 s).
    pub scrape: Duration,
}

/// The translator's context, as the plugin's `Instance::context` builds it with default settings.
pub fn context(d: &Detection, rate_window_ms: i64) -> Context {
    let mut ctx = Context {
        rate_window: PromDuration::from_millis(rate_window_ms.max(1) as u64),
        ..Context::default()
    };
    if !d.backends.is_empty() {
        ctx.backends = Some(d.backend_set());
        ctx.present_metrics = Some(d.names.clone());
    }
    ctx.recording_rules = d.recording_rules;
    ctx
}

/// A stored target as the frontend sends it: `$model` → the chosen model (or nothing for All), `$namespace` → All.
pub fn interpolate(target: &Value, model: Option<&str>) -> Value {
    let mut t = target.clone();
    if let Some(obj) = t.as_object_mut() {
        if let Some(models) = obj.get("models").and_then(Value::as_array) {
            let resolved: Vec<Value> = models
                .iter()
                .filter_map(|m| match m.as_str() {
                    Some("$model") => model.map(Value::from),
                    _ => Some(m.clone()),
                })
                .collect();
            obj.insert("models".into(), Value::Array(resolved));
        }
        if obj.contains_key("namespaces") {
            obj.insert("namespaces".into(), Value::Array(vec![]));
        }
        for k in ["datasource", "refId"] {
            obj.remove(k);
        }
    }
    t
}

fn time(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

/// Answers every target of `spec` and reduces the answer to what the panel draws.
pub async fn fetch(
    src: &Source<'_>,
    spec: &PanelSpec,
    model: Option<&str>,
) -> Result<Panel, RenderError> {
    let mut range_ms = src.range.as_millis() as i64;
    let mut range_note = None;
    if let Some(tf) = &spec.time_from {
        let over: PromDuration = tf
            .parse()
            .map_err(|e| RenderError::Dashboard(format!("{}: timeFrom {tf:?}: {e}", spec.title)))?;
        range_ms = over.as_millis() as i64;
        range_note = Some(format!("Last {tf}"));
        if let Some(h) = src.history.filter(|h| (h.as_millis() as i64) < range_ms) {
            range_ms = h.as_millis() as i64;
            range_note = Some(format!(
                "Last {tf} (rendered: the {} of history)",
                PromDuration::from_millis(h.as_millis() as u64)
            ));
        }
    }
    let g = grid(
        src.end_ms - range_ms,
        src.end_ms,
        0,
        spec.width_px() as i64,
        src.scrape,
    );
    let ctx = context(src.detection, g.rate_window_ms);
    let mut series = Vec::new();
    let mut table: Option<Table> = None;
    let mut notices: Vec<String> = Vec::new();
    let mut unanswered: Vec<String> = Vec::new();
    for stored in &spec.targets {
        let ref_id = stored["refId"].as_str().unwrap_or("A").to_string();
        let q = interpolate(stored, model);
        let query = Query::from_json(&q)
            .map_err(|e| RenderError::Dashboard(format!("{} [{ref_id}]: {e}", spec.title)))?;
        let tr: Translation = translate(&query, &ctx)
            .map_err(|e| RenderError::Dashboard(format!("{} [{ref_id}]: {e}", spec.title)))?;
        for n in &tr.notices {
            if !notices.contains(&n.text) {
                notices.push(n.text.clone());
            }
        }
        if tr.targets.is_empty() {
            unanswered.extend(tr.notices.iter().map(|n| n.text.clone()));
            continue;
        }
        let fail = |expr: &str, e: infermon_prom::Error| RenderError::Query {
            panel: spec.title.clone(),
            expr: expr.to_string(),
            message: e.to_string(),
        };
        if matches!(query, Query::Fleet(_)) {
            let t = table.get_or_insert_with(|| Table {
                columns: Vec::new(),
                rows: BTreeMap::new(),
            });
            for target in &tr.targets {
                let r = src
                    .client
                    .query(&target.expr, Some(time(g.end_ms)), false)
                    .await
                    .map_err(|e| fail(&target.expr, e))?;
                if !t.columns.iter().any(|c| c.key == target.key) {
                    t.columns.push(Column {
                        key: target.key.clone(),
                        header: fleet_label(&target.key),
                        unit: target.unit.clone(),
                    });
                }
                for s in r.data.as_vector() {
                    let m = s.labels.get("model").unwrap_or("").to_string();
                    t.rows
                        .entry(m)
                        .or_default()
                        .insert(target.key.clone(), s.value);
                }
            }
            continue;
        }
        for target in &tr.targets {
            let data = if target.instant {
                src.client
                    .query(&target.expr, Some(time(g.end_ms)), false)
                    .await
            } else {
                src.client
                    .query_range(
                        &target.expr,
                        time(g.start_ms),
                        time(g.end_ms),
                        Duration::from_millis(g.step_ms as u64),
                        false,
                    )
                    .await
            }
            .map_err(|e| fail(&target.expr, e))?
            .data;
            let labels = |l: &infermon_prom::Labels| -> BTreeMap<String, String> {
                l.iter()
                    .filter(|(k, _)| *k != "__name__")
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            };
            let mut push = |l: &infermon_prom::Labels, points: Vec<(i64, f64)>| {
                series.push(Series {
                    name: display_name(&target.legend, &labels(l), &target.expr),
                    ref_id: ref_id.clone(),
                    points,
                })
            };
            match data {
                QueryData::Matrix(m) => {
                    for s in m {
                        let pts = s.timestamps_ms.iter().copied().zip(s.values).collect();
                        push(&s.labels, pts);
                    }
                }
                QueryData::Vector(v) => {
                    for s in v {
                        push(&s.labels, vec![(s.timestamp_ms, s.value)]);
                    }
                }
                QueryData::Scalar(p) => push(&Default::default(), vec![(p.timestamp_ms, p.value)]),
                QueryData::String(_) => {}
            }
        }
    }
    let content = match table {
        Some(t) if !t.rows.is_empty() => Content::Table(t),
        _ if !series.is_empty() => Content::Series(series),
        // Grafana shows the plugin's error ("nothing on this engine answers the query: …") or the no-value text.
        _ if !unanswered.is_empty() => Content::Message(unanswered.join(" ")),
        _ => Content::Message(spec.no_value.clone()),
    };
    if !matches!(content, Content::Series(_) | Content::Table(_)) {
        notices.clear();
    }
    Ok(Panel {
        spec: spec.clone(),
        content,
        notices,
        start_ms: g.start_ms,
        end_ms: g.end_ms,
        step_ms: g.step_ms,
        range_note,
    })
}
