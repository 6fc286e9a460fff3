//! Panel runner: every panel of the provisioned plugin dashboards, sent through the plugin binary the way
//! Grafana's dashboard page sends it.
//!
//! Why a runner of its own rather than translating with core and querying Prometheus directly (as
//! `core/tests/dashboards_support` does): what users see is what the *plugin* answers — its detection, step and
//! rate-window rules, recording-rule switch, frame encoding, units and notices. So each panel becomes one
//! QueryData request built as Grafana builds it:
//! - the dashboard JSON is the provisioned file (`provisioning/dashboards/*.json`, what Grafana loads);
//! - template variables are resolved like the frontend's `metricFindQuery` (the plugin's `models` resource), and
//!   substituted like Grafana's template service + the frontend's `interpolateQuery`: "All" without a custom
//!   all value becomes the list of every option, a multi-value variable expands into list entries;
//! - time range: the dashboard's, or the panel's relative override (`timeFrom`), ending at "now";
//! - `maxDataPoints` = the panel's, else its width in pixels on a 1920 px wide screen; `intervalMs` = Grafana's
//!   `calculateInterval` (range / maxDataPoints rounded to a "nice" interval, floored by the panel's min interval);
//! - one request per panel carrying all its targets, each target's JSON as the query JSON.
//!
//! Each target's answer is classified: data (non-empty frames), explained (no data but a notice in the frame meta,
//! e.g. the plugin's "nothing on this engine answers" warning), no-data text (no data, no notice, but the panel's
//! `noValue` text names the server in scope as one that cannot answer), or a failure (silently empty, wrong or
//! missing unit, missing frame type, an engine error). The per-panel table is printed with every failure.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use grafana_plugin_sdk::pluginv2;
use serde_json::{json, Value};

use super::{decode, dq, DFrame, PluginProcess};

/// Known dashboard/translator bugs, reported to the core owner: (panel title, problem text fragment, why). A
/// matching problem is printed but does not fail the run; an entry that no longer matches anything fails it, so the
/// entry is removed with the fix. (The growth unit "short/s" was fixed in core: queue growth is `reqps`.)
pub const KNOWN_ISSUES: &[(&str, &str, &str)] = &[];

/// Width of the dashboard in pixels when Grafana lays it out (24 grid columns).
pub const SCREEN_PX: i64 = 1920;

/// A panel with queries.
#[derive(Debug, Clone)]
pub struct Panel {
    pub id: i64,
    pub title: String,
    pub kind: String,
    pub unit: String,
    /// `fieldConfig.defaults.noValue`.
    pub no_value: String,
    /// Unit overrides by field name (`matcher.id == "byName"`).
    pub unit_overrides: BTreeMap<String, String>,
    pub time_from: Option<String>,
    pub max_data_points: Option<i64>,
    pub min_interval: Option<String>,
    pub width: i64,
    pub targets: Vec<Value>,
}

impl Panel {
    /// The unit Grafana shows for a field named `name` (override by name, else the panel default).
    pub fn unit_for(&self, names: &[&str]) -> &str {
        names
            .iter()
            .find_map(|n| self.unit_overrides.get(*n))
            .map(String::as_str)
            .unwrap_or(&self.unit)
    }
}

/// A template variable.
#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    pub multi: bool,
    pub include_all: bool,
    pub all_value: Option<String>,
    pub query: Value,
}

/// A provisioned plugin dashboard.
#[derive(Debug, Clone)]
pub struct Dashboard {
    pub uid: String,
    pub title: String,
    pub from: String,
    pub to: String,
    pub variables: Vec<Variable>,
    pub panels: Vec<Panel>,
}

impl Dashboard {
    pub fn panel(&self, title: &str) -> &Panel {
        self.panels
            .iter()
            .find(|p| p.title == title)
            .unwrap_or_else(|| panic!("{}: no panel {title:?}", self.uid))
    }
    fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.name == name)
    }
    /// `$model` is a single-value variable (model detail): the dashboard shows one model at a time.
    pub fn single_model(&self) -> bool {
        self.variable("model")
            .map(|v| !v.multi && !v.include_all)
            .unwrap_or(false)
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn collect_panels(panels: &[Value], out: &mut Vec<Panel>) {
    for p in panels {
        // Collapsed rows carry their panels inside.
        if let Some(inner) = p["panels"].as_array() {
            collect_panels(inner, out);
        }
        let Some(targets) = p["targets"].as_array() else {
            continue;
        };
        let defaults = &p["fieldConfig"]["defaults"];
        let mut unit_overrides = BTreeMap::new();
        for o in p["fieldConfig"]["overrides"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if o["matcher"]["id"] != "byName" {
                continue;
            }
            for prop in o["properties"].as_array().into_iter().flatten() {
                if prop["id"] == "unit" {
                    unit_overrides.insert(
                        o["matcher"]["options"].as_str().unwrap_or("").to_string(),
                        prop["value"].as_str().unwrap_or("").to_string(),
                    );
                }
            }
        }
        out.push(Panel {
            id: p["id"].as_i64().unwrap_or(0),
            title: p["title"].as_str().unwrap_or("").to_string(),
            kind: p["type"].as_str().unwrap_or("").to_string(),
            unit: defaults["unit"].as_str().unwrap_or("").to_string(),
            no_value: defaults["noValue"].as_str().unwrap_or("").to_string(),
            unit_overrides,
            time_from: p["timeFrom"].as_str().map(str::to_string),
            max_data_points: p["maxDataPoints"].as_i64(),
            min_interval: p["interval"].as_str().map(str::to_string),
            width: p["gridPos"]["w"].as_i64().unwrap_or(24),
            targets: targets.clone(),
        });
    }
}

/// Parses a dashboard JSON as Grafana provisions it.
pub fn parse_dashboard(json: &Value) -> Dashboard {
    let mut panels = Vec::new();
    collect_panels(json["panels"].as_array().expect("panels"), &mut panels);
    let variables = json["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| Variable {
            name: v["name"].as_str().unwrap_or("").to_string(),
            multi: v["multi"].as_bool().unwrap_or(false),
            include_all: v["includeAll"].as_bool().unwrap_or(false),
            all_value: v["allValue"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            query: v["query"].clone(),
        })
        .collect();
    Dashboard {
        uid: json["uid"].as_str().unwrap_or("").to_string(),
        title: json["title"].as_str().unwrap_or("").to_string(),
        from: json["time"]["from"]
            .as_str()
            .unwrap_or("now-6h")
            .to_string(),
        to: json["time"]["to"].as_str().unwrap_or("now").to_string(),
        variables,
        panels,
    }
}

/// The provisioned dashboards whose panels use the Inference data source (the plugin variant).
pub fn plugin_dashboards() -> Vec<Dashboard> {
    let dir = repo_root().join("provisioning/dashboards");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let out: Vec<Dashboard> = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            serde_json::from_str::<Value>(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()))
        })
        .filter(|j| {
            j["templating"]
                .to_string()
                .contains(infermon_core::dashboards::PLUGIN_ID)
        })
        .map(|j| parse_dashboard(&j))
        .collect();
    assert!(
        out.len() >= 3,
        "expected the three plugin dashboards in {}",
        dir.display()
    );
    out
}

/// Grafana's relative time (`now`, `now-3h`, `30d` as a panel's `timeFrom`) in ms before "now".
pub fn relative_ms(s: &str) -> i64 {
    let s = s.trim();
    if s == "now" {
        return 0;
    }
    let d = s.strip_prefix("now-").unwrap_or(s);
    d.parse::<infermon_core::PromDuration>()
        .unwrap_or_else(|e| panic!("relative time {s:?}: {e}"))
        .as_millis() as i64
}

/// Grafana's `calculateInterval`: `intervalMs` for a range and a resolution, floored by the min interval.
pub fn interval_ms(range_ms: i64, max_data_points: i64, min_interval: Option<&str>) -> i64 {
    let low = min_interval.map(relative_ms).unwrap_or(1);
    infermon_plugin::step::round_interval(range_ms / max_data_points.max(1)).max(low)
}

/// A variable's selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sel {
    /// "All" (`$__all`).
    All,
    Values(Vec<String>),
}

/// What the dashboard's variables are set to.
#[derive(Debug, Clone)]
pub struct Selection {
    pub model: Sel,
    pub namespace: Sel,
}

impl Selection {
    pub fn all() -> Selection {
        Selection {
            model: Sel::All,
            namespace: Sel::All,
        }
    }
    pub fn model(m: &str) -> Selection {
        Selection {
            model: Sel::Values(vec![m.to_string()]),
            namespace: Sel::All,
        }
    }
    pub fn label(&self) -> String {
        match &self.model {
            Sel::All => "All".into(),
            Sel::Values(v) => v.join(","),
        }
    }
}

/// The variables' options, fetched through the plugin's resources as the frontend's `metricFindQuery` does.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub namespaces: Vec<String>,
    /// model → (backend, namespace)
    pub models: BTreeMap<String, (String, String)>,
}

impl Options {
    pub async fn fetch(
        p: &mut PluginProcess,
        ds: &pluginv2::DataSourceInstanceSettings,
    ) -> Options {
        let (code, body) = p.resource(ds.clone(), "GET", "models", b"").await;
        assert_eq!(code, 200, "GET models: {body}");
        let mut out = Options::default();
        for m in body["models"].as_array().expect("models list") {
            let model = m["model"].as_str().unwrap_or("").to_string();
            let ns = m["namespace"].as_str().unwrap_or("").to_string();
            if !ns.is_empty() && !out.namespaces.contains(&ns) {
                out.namespaces.push(ns.clone());
            }
            out.models
                .insert(model, (m["backend"].as_str().unwrap_or("").to_string(), ns));
        }
        out.namespaces.sort();
        out
    }

    /// The `$model` options under a namespace selection (`models($namespace)`).
    pub fn model_options(&self, namespace: &Sel) -> Vec<String> {
        self.models
            .iter()
            .filter(|(_, (_, ns))| match namespace {
                Sel::All => true,
                Sel::Values(v) => v.contains(ns),
            })
            .map(|(m, _)| m.clone())
            .collect()
    }

    pub fn backend_of(&self, model: &str) -> &str {
        self.models.get(model).map(|m| m.0.as_str()).unwrap_or("")
    }
}

/// The values Grafana's template service substitutes for a variable.
fn values_of(var: Option<&Variable>, sel: &Sel, options: &[String]) -> Vec<String> {
    match sel {
        Sel::Values(v) => v.clone(),
        Sel::All => match var.and_then(|v| v.all_value.clone()) {
            Some(custom) => vec![custom],
            // No custom all value: every option's value.
            None => options.to_vec(),
        },
    }
}

/// A target interpolated as the frontend's `applyTemplateVariables` does before the request leaves the browser.
pub fn interpolate(d: &Dashboard, target: &Value, sel: &Selection, opts: &Options) -> Value {
    let ns_values = values_of(d.variable("namespace"), &sel.namespace, &opts.namespaces);
    let model_values = values_of(
        d.variable("model"),
        &sel.model,
        &opts.model_options(&sel.namespace),
    );
    let vars: [(&str, &[String]); 2] = [("model", &model_values), ("namespace", &ns_values)];
    // Single-string fields take the first value (Grafana's default format joins; none of our string fields is
    // multi-valued, the lists are).
    let replace_str = |s: &str| -> String {
        let mut s = s.to_string();
        for (name, values) in vars {
            let v = values.join(",");
            s = s
                .replace(&format!("${{{name}}}"), &v)
                .replace(&format!("${name}"), &v);
        }
        s
    };
    let expand_list = |list: &Value| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for entry in list.as_array().into_iter().flatten() {
            let e = entry.as_str().unwrap_or("");
            let expanded: Vec<String> = match vars
                .iter()
                .find(|(n, _)| e == format!("${n}") || e == format!("${{{n}}}"))
            {
                Some((_, values)) => values.to_vec(),
                None => vec![replace_str(e)],
            };
            for v in expanded {
                if !v.is_empty() && !out.contains(&v) {
                    out.push(v);
                }
            }
        }
        out
    };
    let mut t = target.clone();
    let obj = t.as_object_mut().expect("target object");
    for key in [
        "concept",
        "stat",
        "sli",
        "slo",
        "window",
        "burnWindow",
        "expr",
        "backend",
        "view",
        "legend",
    ] {
        if let Some(s) = obj.get(key).and_then(Value::as_str) {
            let r = replace_str(s);
            obj.insert(key.into(), json!(r));
        }
    }
    for key in ["models", "namespaces"] {
        if let Some(list) = obj.get(key) {
            let l = expand_list(list);
            let all = l
                .iter()
                .any(|v| ["$__all", "*", ".*"].contains(&v.as_str()));
            obj.insert(key.into(), json!(if all { vec![] } else { l }));
        }
    }
    if let Some(list) = obj.get("groupBy") {
        let l = expand_list(list);
        obj.insert("groupBy".into(), json!(l));
    }
    t
}

/// The time range of a panel: (from, to) in ms.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub now_ms: i64,
    /// Overrides the dashboard's range (ms before now), e.g. 30 days on a backfill.
    pub length_ms: Option<i64>,
    /// Also override the panels' own relative time (`timeFrom`, e.g. the 30-day burn-down). Grafana would not;
    /// runs on minutes-old data need it because a range query's points sit on multiples of the step (20 min for
    /// 30 days), so a 30-day panel has no point at all on data younger than one step. The backfill covers the
    /// 30-day panels over their own range.
    pub override_panel_time: bool,
}

impl Range {
    pub fn of(&self, d: &Dashboard, p: &Panel) -> (i64, i64) {
        let to = self.now_ms - relative_ms(&d.to);
        let from = match (&p.time_from, self.length_ms) {
            (Some(tf), _) if !self.override_panel_time || self.length_ms.is_none() => {
                self.now_ms - relative_ms(tf)
            }
            (_, Some(len)) => to - len,
            (_, None) => self.now_ms - relative_ms(&d.from),
        };
        (from, to)
    }
}

/// How one target came out.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Series (or table rows) with values.
    Data { series: usize, points: usize },
    /// No data; the frame meta's notices say why.
    Notice(String),
    /// No data and no notice; the panel's no-data text names the server in scope.
    NoDataText(String),
    /// A failure.
    Failure(String),
}

impl Outcome {
    pub fn short(&self) -> &'static str {
        match self {
            Outcome::Data { .. } => "data",
            Outcome::Notice(_) => "notice",
            Outcome::NoDataText(_) => "no-data-text",
            Outcome::Failure(_) => "FAIL",
        }
    }
}

/// One target's answer.
#[derive(Debug, Clone)]
pub struct TargetResult {
    /// Problems matching [`KNOWN_ISSUES`] (printed, not failing).
    pub known: Vec<String>,
    pub dashboard: String,
    pub scope: String,
    pub panel: String,
    pub ref_id: String,
    pub outcome: Outcome,
    /// Every problem found (a data answer can still fail on its unit or frame type).
    pub problems: Vec<String>,
    pub notices: Vec<String>,
    pub frames: Vec<DFrame>,
    pub query: Value,
}

impl TargetResult {
    /// What the plugin ran (`meta.executedQueryString` of the frames).
    pub fn executed(&self) -> String {
        let mut out: Vec<String> = Vec::new();
        for f in &self.frames {
            if let Some(e) = f.meta["executedQueryString"].as_str() {
                if !out.iter().any(|x| x == e) {
                    out.push(e.to_string());
                }
            }
        }
        out.join("\n")
    }
    pub fn failed(&self) -> bool {
        !self.problems.is_empty()
    }
}

/// All answers of one run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub name: String,
    pub results: Vec<TargetResult>,
    pub elapsed: std::time::Duration,
}

impl Report {
    pub fn count(&self, kind: &str) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome.short() == kind)
            .count()
    }
    pub fn failures(&self) -> Vec<&TargetResult> {
        self.results.iter().filter(|r| r.failed()).collect()
    }
    /// Panels (dashboard, scope, title) and their worst outcome.
    pub fn panels(&self) -> BTreeMap<(String, String, String), &'static str> {
        let rank = |k: &str| match k {
            "data" => 0,
            "notice" => 1,
            "no-data-text" => 2,
            _ => 3,
        };
        let mut out: BTreeMap<(String, String, String), &'static str> = BTreeMap::new();
        for r in &self.results {
            let k = (r.dashboard.clone(), r.scope.clone(), r.panel.clone());
            let kind = if r.failed() {
                "FAIL"
            } else {
                r.outcome.short()
            };
            let e = out.entry(k).or_insert(kind);
            if rank(kind) > rank(e) {
                *e = kind;
            }
        }
        out
    }
    pub fn summary(&self) -> String {
        let panels = self.panels();
        let by = |k: &str| panels.values().filter(|v| **v == k).count();
        format!(
            "{}: {} panels ({} with data, {} explained by a notice, {} by the no-data text, {} failing); {} targets ({} data, {} notice, {} no-data text, {} failing) in {:.1?}",
            self.name,
            panels.len(),
            by("data"),
            by("notice"),
            by("no-data-text"),
            by("FAIL"),
            self.results.len(),
            self.count("data"),
            self.count("notice"),
            self.count("no-data-text"),
            self.results.iter().filter(|r| r.failed()).count(),
            self.elapsed
        )
    }
    /// The targets without data and why (one line each, deduplicated over scopes).
    pub fn explanations(&self) -> String {
        let mut lines = BTreeSet::new();
        for r in &self.results {
            let why = match &r.outcome {
                Outcome::Notice(t) => format!("notice: {t}"),
                Outcome::NoDataText(t) => format!("no-data text: {t}"),
                _ => continue,
            };
            lines.insert(format!(
                "  {} / {} / {} [{}]: {why}",
                r.dashboard, r.scope, r.panel, r.ref_id
            ));
        }
        lines.into_iter().collect::<Vec<_>>().join("\n")
    }

    /// The per-target table.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<24} {:<36} {:<52} {:<3} {:<15} detail",
            "dashboard", "scope", "panel", "ref", "outcome"
        );
        for r in &self.results {
            let detail = match &r.outcome {
                Outcome::Data { series, points } => format!("{series} series, {points} points"),
                Outcome::Notice(t) | Outcome::NoDataText(t) | Outcome::Failure(t) => t.clone(),
            };
            let kind = if r.failed() {
                "FAIL"
            } else {
                r.outcome.short()
            };
            let _ = writeln!(
                s,
                "{:<24} {:<36} {:<52} {:<3} {:<15} {}{}",
                r.dashboard,
                r.scope,
                r.panel,
                r.ref_id,
                kind,
                detail.replace('\n', " "),
                if r.problems.is_empty() && r.known.is_empty() {
                    String::new()
                } else {
                    format!(
                        " | PROBLEMS: {}",
                        r.problems
                            .iter()
                            .chain(r.known.iter())
                            .cloned()
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                }
            );
        }
        s
    }
    /// Panics with the table when a target failed (or a known issue is gone: remove its entry).
    pub fn assert_ok(&self) {
        for (title, fragment, why) in KNOWN_ISSUES {
            let hits = self
                .results
                .iter()
                .filter(|r| r.panel == *title && r.known.iter().any(|k| k.contains(fragment)))
                .count();
            if self.results.iter().any(|r| r.panel == *title) {
                assert!(
                    hits > 0,
                    "{}: known issue on {title:?} ({why}) no longer occurs: remove it from KNOWN_ISSUES",
                    self.name
                );
                eprintln!(
                    "{}: KNOWN ISSUE on {hits} targets of {title:?}: {why}",
                    self.name
                );
            }
        }
        let failures = self.failures();
        assert!(
            failures.is_empty(),
            "{}\n{} of {} targets failed:\n{}\n\nfull table:\n{}",
            self.summary(),
            failures.len(),
            self.results.len(),
            failures
                .iter()
                .map(|r| format!(
                    "- {} / {} / {} [{}]: {}\n  query: {}\n  executed: {}",
                    r.dashboard,
                    r.scope,
                    r.panel,
                    r.ref_id,
                    r.problems.join("; "),
                    r.query,
                    r.executed().replace('\n', "\n            ")
                ))
                .collect::<Vec<_>>()
                .join("\n"),
            self.table()
        );
    }
    pub fn find(&self, dashboard: &str, scope: &str, panel: &str, ref_id: &str) -> &TargetResult {
        self.results
            .iter()
            .find(|r| {
                r.dashboard == dashboard
                    && r.scope == scope
                    && r.panel == panel
                    && r.ref_id == ref_id
            })
            .unwrap_or_else(|| panic!("no result {dashboard} / {scope} / {panel} [{ref_id}]"))
    }
}

/// Builds the QueryData queries of a panel as Grafana does.
pub fn panel_queries(
    d: &Dashboard,
    p: &Panel,
    sel: &Selection,
    opts: &Options,
    range: Range,
) -> Vec<(pluginv2::DataQuery, Value)> {
    let (from, to) = range.of(d, p);
    let max_data_points = p.max_data_points.unwrap_or(p.width * SCREEN_PX / 24);
    let interval = interval_ms(to - from, max_data_points, p.min_interval.as_deref());
    p.targets
        .iter()
        .filter(|t| !t["hide"].as_bool().unwrap_or(false))
        .map(|t| {
            let json = interpolate(d, t, sel, opts);
            let ref_id = t["refId"].as_str().unwrap_or("A").to_string();
            (
                dq(&ref_id, json.clone(), from, to, interval, max_data_points),
                json,
            )
        })
        .collect()
}

/// Sends one panel and classifies every target's answer.
pub async fn run_panel(
    plugin: &mut PluginProcess,
    ds: &pluginv2::DataSourceInstanceSettings,
    d: &Dashboard,
    p: &Panel,
    sel: &Selection,
    opts: &Options,
    range: Range,
) -> Vec<TargetResult> {
    let queries = panel_queries(d, p, sel, opts, range);
    let jsons: BTreeMap<String, Value> = queries
        .iter()
        .map(|(q, j)| (q.ref_id.clone(), j.clone()))
        .collect();
    let responses = plugin
        .query(
            ds.clone(),
            queries.into_iter().map(|(q, _)| q).collect(),
            &[],
        )
        .await;
    let scope_backend = match &sel.model {
        Sel::Values(v) if v.len() == 1 => Some(opts.backend_of(&v[0]).to_string()),
        _ => None,
    };
    let mut out = Vec::new();
    for (ref_id, query) in jsons {
        let mut problems = Vec::new();
        let mut notices = Vec::new();
        let mut frames = Vec::new();
        let outcome = match responses.get(&ref_id) {
            None => {
                problems.push("no response for this refId".into());
                Outcome::Failure("no response".into())
            }
            Some(r) if r.status != 200 || !r.error.is_empty() => {
                problems.push(format!("status {}: {}", r.status, r.error));
                Outcome::Failure(format!("status {}: {}", r.status, r.error))
            }
            Some(r) => {
                frames = r.frames.iter().map(|f| decode(f)).collect::<Vec<_>>();
                check_frames(p, &frames, &mut problems, &mut notices);
                let (series, points) = data_of(&frames);
                if points > 0 {
                    Outcome::Data { series, points }
                } else if !notices.is_empty() {
                    Outcome::Notice(notices.join(" | "))
                } else if let Some(b) = scope_backend
                    .as_deref()
                    .filter(|b| no_value_names(&p.no_value, b))
                {
                    Outcome::NoDataText(format!("({b}) {}", p.no_value))
                } else {
                    problems.push(format!(
                        "silently empty: no data, no notice, and the no-data text {:?} does not explain it{}",
                        p.no_value,
                        scope_backend
                            .as_deref()
                            .map(|b| format!(" for a {b} model"))
                            .unwrap_or_default()
                    ));
                    Outcome::Failure("silently empty".into())
                }
            }
        };
        let (known, problems): (Vec<String>, Vec<String>) = problems.into_iter().partition(|pr| {
            KNOWN_ISSUES
                .iter()
                .any(|(title, fragment, _)| p.title == *title && pr.contains(fragment))
        });
        out.push(TargetResult {
            known,
            dashboard: d.uid.clone(),
            scope: sel.label(),
            panel: p.title.clone(),
            ref_id,
            outcome,
            problems,
            notices,
            frames,
            query,
        });
    }
    out
}

/// Display name of a backend id as the catalog prints it in texts.
fn backend_names(b: &str) -> &'static [&'static str] {
    match b {
        "vllm" => &["vLLM"],
        "tgi" => &["TGI"],
        "sglang" => &["SGLang"],
        "llamacpp" => &["llama.cpp"],
        _ => &[],
    }
}

/// The panel's no-data text says why a model of backend `b` shows nothing.
fn no_value_names(text: &str, b: &str) -> bool {
    text.starts_with("No data:") && backend_names(b).iter().any(|n| text.contains(n))
}

/// (series or rows with at least one value, values).
pub fn data_of(frames: &[DFrame]) -> (usize, usize) {
    let mut series = 0;
    let mut points = 0;
    for f in frames {
        let mut frame_points = 0;
        for field in &f.fields {
            frame_points += field.numbers.iter().filter(|v| v.is_some()).count();
        }
        if frame_points > 0 {
            series += if f.frame_type() == "numeric-long" {
                f.fields.first().map(|c| c.strings.len()).unwrap_or(0)
            } else {
                1
            };
        }
        points += frame_points;
    }
    (series, points)
}

/// Frame type, units and notices of one answer.
fn check_frames(
    p: &Panel,
    frames: &[DFrame],
    problems: &mut Vec<String>,
    notices: &mut Vec<String>,
) {
    if frames.is_empty() {
        problems.push("no frame at all (Grafana needs a typed frame even without data)".into());
    }
    let mut seen = BTreeSet::new();
    for f in frames {
        let ty = f.frame_type();
        if !["timeseries-multi", "numeric-long"].contains(&ty) {
            problems.push(format!("frame type {ty:?} (meta {})", f.meta));
        }
        if f.meta["typeVersion"].is_null() {
            problems.push("frame without typeVersion".into());
        }
        for n in f.meta["notices"].as_array().into_iter().flatten() {
            let t = n["text"].as_str().unwrap_or("").to_string();
            if !t.is_empty() && seen.insert(t.clone()) {
                notices.push(t);
            }
        }
        for field in &f.fields {
            let is_value = matches!(
                field.data_type,
                grafana_plugin_sdk::arrow2::datatypes::DataType::Float64
            );
            if !is_value {
                continue;
            }
            let cfg = field.config.clone().unwrap_or(Value::Null);
            let display = cfg["displayNameFromDS"].as_str().unwrap_or("");
            let want = p.unit_for(&[display, field.name.as_str()]);
            let got = cfg["unit"].as_str().unwrap_or("");
            if got.is_empty() {
                problems.push(format!("field {:?} ({display}) has no unit", field.name));
            } else if got != want {
                problems.push(format!(
                    "field {:?} ({display}) has unit {got:?}, the panel shows {want:?}",
                    field.name
                ));
            }
        }
    }
}

/// Every panel of every dashboard; the model-detail dashboard once per model (its `$model` is single-valued),
/// the others with the variables at their default "All".
pub async fn run_dashboards(
    name: &str,
    plugin: &mut PluginProcess,
    ds: &pluginv2::DataSourceInstanceSettings,
    dashboards: &[Dashboard],
    range: Range,
) -> Report {
    let started = std::time::Instant::now();
    let opts = Options::fetch(plugin, ds).await;
    assert!(!opts.models.is_empty(), "{name}: the plugin lists no model");
    let mut report = Report {
        name: name.to_string(),
        ..Default::default()
    };
    for d in dashboards {
        let selections: Vec<Selection> = if d.single_model() {
            opts.model_options(&Sel::All)
                .iter()
                .map(|m| Selection::model(m))
                .collect()
        } else {
            vec![Selection::all()]
        };
        for sel in &selections {
            for p in &d.panels {
                let r = run_panel(plugin, ds, d, p, sel, &opts, range).await;
                report.results.extend(r);
            }
        }
    }
    report.elapsed = started.elapsed();
    report
}

/// Values of a data answer by display name (the last point of each series; for tables, by row model and column).
pub fn last_values(frames: &[DFrame]) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for f in frames {
        if f.frame_type() == "numeric-long" {
            let models = f
                .fields
                .first()
                .map(|c| c.strings.clone())
                .unwrap_or_default();
            for field in f.fields.iter().skip(1) {
                for (m, v) in models.iter().zip(&field.numbers) {
                    if let Some(v) = v {
                        out.insert(format!("{m}/{}", field.name), *v);
                    }
                }
            }
            continue;
        }
        let Some(v) = f.fields.iter().find(|x| x.name == "Value") else {
            continue;
        };
        let name = v
            .config
            .as_ref()
            .and_then(|c| c["displayNameFromDS"].as_str())
            .unwrap_or(&f.name);
        if let Some(Some(last)) = v.numbers.iter().rev().find(|x| x.is_some()) {
            out.insert(name.to_string(), *last);
        }
    }
    out
}

/// One series of an answer: its labels and (time ms, value) points.
pub type Series = (BTreeMap<String, String>, Vec<(i64, f64)>);

/// Per series: (labels, (time ms, value)) of a time-series answer.
pub fn series(frames: &[DFrame]) -> Vec<Series> {
    frames
        .iter()
        .filter(|f| f.frame_type() == "timeseries-multi" && f.fields.len() == 2)
        .map(|f| {
            let t = &f.fields[0];
            let v = &f.fields[1];
            let points = t
                .times_ns
                .iter()
                .zip(&v.numbers)
                .filter_map(|(ns, v)| v.map(|v| (ns / 1_000_000, v)))
                .collect();
            (v.labels.clone().unwrap_or_default(), points)
        })
        .collect()
}

/// The step (ms) a time-series answer was computed at (`config.interval` of the Time field).
pub fn step_ms(frames: &[DFrame]) -> Option<i64> {
    frames
        .iter()
        .filter_map(|f| f.fields.first())
        .filter_map(|t| t.config.as_ref()?["interval"].as_f64())
        .map(|v| v as i64)
        .next()
}
