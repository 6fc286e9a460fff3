//! Panel-by-panel checks of the generated dashboards against a real Prometheus, shared by core's capture test and
//! the CLI's live-simulator test (included there with `#[path]`).
//!
//! - Prometheus-only variant: every expression, with `$model`/`$namespace` at "All", must return data.
//! - Plugin variant: every target, interpolated as the frontend does, is translated by core with what the plugin
//!   detects on the engine (backends, metric names, recording rules); each must return data or carry a notice that
//!   says why not — never silently empty.
#![allow(dead_code)]

use infermon_core::catalog::Backend;
use infermon_core::dashboards::{Dashboard, Variant};
use infermon_core::query::Query;
use infermon_core::rules::slo::{error_ratio_record_window, ERROR_RATIO_RECORD_PREFIX, SLO_LABEL};
use infermon_core::translate::{translate, Context};
use infermon_core::PromDuration;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// POSTs to a Prometheus API path; `Err` carries Prometheus's error.
pub fn api(url: &str, path: &str, pairs: &[(&str, &str)]) -> Result<Value, String> {
    let resp = infermon_testkit::http::post(
        &format!("{url}{path}"),
        "application/x-www-form-urlencoded",
        infermon_testkit::http::form(pairs).as_bytes(),
    )
    .map_err(|e| e.to_string())?;
    let json: Value =
        serde_json::from_str(&resp.text()).map_err(|e| format!("{e}: {}", resp.text()))?;
    if json["status"] == "success" {
        Ok(json)
    } else {
        Err(format!("{}: {}", json["errorType"], json["error"]))
    }
}

/// Instant query: the result vector.
pub fn instant(url: &str, expr: &str) -> Result<Vec<Value>, String> {
    let j = api(url, "/api/v1/query", &[("query", expr)])?;
    Ok(j["data"]["result"].as_array().cloned().unwrap_or_default())
}

/// Range query over the last `range_s` seconds: the result matrix.
pub fn range(url: &str, expr: &str, range_s: f64, step: &str) -> Result<Vec<Value>, String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let (start, end) = (format!("{}", now - range_s), format!("{now}"));
    let j = api(
        url,
        "/api/v1/query_range",
        &[
            ("query", expr),
            ("start", &start),
            ("end", &end),
            ("step", step),
        ],
    )?;
    Ok(j["data"]["result"].as_array().cloned().unwrap_or_default())
}

/// What the plugin detects on the engine: backends by marker series, every metric name, recording rules.
pub fn detect(url: &str, rate_window: &str) -> Context {
    let resp = infermon_testkit::http::get(&format!("{url}/api/v1/label/__name__/values")).unwrap();
    let names: BTreeSet<String> = serde_json::from_str::<Value>(&resp.text()).unwrap()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let backends = Backend::ALL
        .into_iter()
        .filter(|b| names.contains(b.marker_metric()))
        .collect();
    let recording_rules = names.iter().any(|n| n.starts_with("namespace_model:"));
    Context {
        rate_window: rate_window.parse().unwrap(),
        backends: Some(backends),
        present_metrics: Some(names),
        recording_rules,
        slo_records: recording_rules.then(|| slo_records(url)),
        ..Context::default()
    }
}

/// The SLOs the engine records and over which windows, as the plugin detects them: one instant query over the
/// SLI error-ratio records, `count by (__name__, slo)`.
pub fn slo_records(url: &str) -> BTreeMap<String, BTreeSet<PromDuration>> {
    let expr = format!(
        "count by (__name__, {SLO_LABEL}) ({{__name__=~\"{ERROR_RATIO_RECORD_PREFIX}.+\"}})"
    );
    let mut out: BTreeMap<String, BTreeSet<PromDuration>> = BTreeMap::new();
    for s in instant(url, &expr).unwrap() {
        let (Some(name), Some(slo)) = (
            s["metric"]["__name__"].as_str(),
            s["metric"][SLO_LABEL].as_str(),
        ) else {
            continue;
        };
        if let Some(w) = error_ratio_record_window(name) {
            out.entry(slo.to_string()).or_default().insert(w);
        }
    }
    out
}

/// Data panels of a dashboard: (panel title, targets).
fn data_panels(d: &Dashboard) -> Vec<(String, Vec<Value>, String)> {
    d.json["panels"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| {
            Some((
                p["title"].as_str()?.to_string(),
                p["targets"].as_array()?.clone(),
                p["fieldConfig"]["defaults"]["noValue"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            ))
        })
        .collect()
}

/// Every Prometheus-only expression at "All": returns (targets checked). Panics listing every empty or refused one.
pub fn check_prometheus_variant(url: &str, dashboards: &[Dashboard]) -> usize {
    let (mut n, mut failures) = (0, Vec::new());
    for d in dashboards
        .iter()
        .filter(|d| d.variant == Variant::Prometheus)
    {
        for (title, targets, _) in data_panels(d) {
            for t in targets {
                let expr = t["expr"]
                    .as_str()
                    .unwrap()
                    .replace("$model", ".*")
                    .replace("$namespace", ".*");
                n += 1;
                match instant(url, &expr) {
                    Ok(r) if !r.is_empty() => {}
                    Ok(_) => failures.push(format!(
                        "{} / {title} [{}]: no data\n  {expr}",
                        d.uid, t["refId"]
                    )),
                    Err(e) => failures.push(format!("{} / {title}: {e}\n  {expr}", d.uid)),
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} Prometheus-only targets failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    n
}

/// Outcome of the plugin-variant check.
#[derive(Debug, Default)]
pub struct PluginReport {
    pub targets: usize,
    pub with_data: usize,
    /// Empty, but a notice says why.
    pub explained: Vec<String>,
    /// Empty, no notice, but the panel's no-data text names the model's server as one that cannot answer.
    pub no_data_text: Vec<String>,
}

/// Interpolates a stored target the way the frontend does: `$model` → `model` (or "All" → no filter), `$namespace`
/// → "All".
pub fn interpolate(target: &Value, model: Option<&str>) -> Value {
    let mut t = target.clone();
    let obj = t.as_object_mut().unwrap();
    if obj.contains_key("models") {
        obj.insert(
            "models".into(),
            serde_json::json!(model.map(|m| vec![m]).unwrap_or_default()),
        );
    }
    if obj.contains_key("namespaces") {
        obj.insert("namespaces".into(), serde_json::json!([]));
    }
    t
}

/// Every plugin target, scoped to `model` (None = All), must return data or carry a notice.
pub fn check_plugin_variant(
    url: &str,
    dashboards: &[Dashboard],
    scope: Option<(&str, Backend)>,
    ctx: &Context,
) -> PluginReport {
    let model = scope.map(|(m, _)| m);
    let mut report = PluginReport::default();
    let mut silent = Vec::new();
    for d in dashboards.iter().filter(|d| d.variant == Variant::Plugin) {
        for (title, targets, no_value) in data_panels(d) {
            for t in targets {
                let q = interpolate(&t, model);
                let query = Query::from_json(&q).unwrap_or_else(|e| panic!("{title}: {e}"));
                let tr = translate(&query, ctx).unwrap_or_else(|e| panic!("{title}: {e}: {q}"));
                report.targets += 1;
                let mut data = false;
                for target in &tr.targets {
                    let r = instant(url, &target.expr).unwrap_or_else(|e| {
                        panic!(
                            "{} / {title}: Prometheus refused: {e}\n  {}",
                            d.uid, target.expr
                        )
                    });
                    data |= !r.is_empty();
                    assert!(!target.unit.is_empty(), "{title}: no unit");
                }
                if data {
                    report.with_data += 1;
                } else if !tr.notices.is_empty() {
                    report.explained.push(format!(
                        "{} / {title} [{}]: {}",
                        d.uid,
                        t["refId"].as_str().unwrap_or(""),
                        tr.notices
                            .iter()
                            .map(|n| n.text.as_str())
                            .collect::<Vec<_>>()
                            .join(" | ")
                    ));
                } else if let Some((_, b)) = scope.filter(|(_, b)| {
                    no_value.starts_with("No data:") && no_value.contains(b.display_name())
                }) {
                    report
                        .no_data_text
                        .push(format!("{} / {title} on {b}: {no_value}", d.uid));
                } else {
                    silent.push(format!(
                        "{} / {title} [{}]: empty and no notice\n  {}",
                        d.uid,
                        t["refId"].as_str().unwrap_or(""),
                        tr.targets
                            .iter()
                            .map(|t| t.expr.as_str())
                            .collect::<Vec<_>>()
                            .join("\n  ")
                    ));
                }
            }
        }
    }
    assert!(
        silent.is_empty(),
        "{} of {} plugin targets are silently empty (model {model:?}):\n{}",
        silent.len(),
        report.targets,
        silent.join("\n")
    );
    report
}

/// A real Prometheus that loads infermon's recording and SLO rules (the checked-in manifests), scraping with
/// `scrape_configs` (YAML list items) and evaluating every second.
pub fn prometheus_with_rules(scrape_configs: &str) -> infermon_testkit::Prometheus {
    infermon_testkit::Prometheus::builder()
        .config_yaml(config_with_rules("1s", scrape_configs))
        .start()
        .expect("prometheus starts")
}

/// The scrape job `infermon-sim` for the targets a simulator fleet lists in the file_sd file `targets` (re-read
/// every second).
pub fn file_sd_job(targets: &std::path::Path) -> String {
    format!(
        "  - job_name: infermon-sim\n    file_sd_configs:\n      - files: ['{}']\n        refresh_interval: 1s\n",
        targets.display()
    )
}

/// `global`/`rule_files`/`scrape_configs` for a Prometheus that loads infermon's rules.
pub fn config_with_rules(interval: &str, scrape_configs: &str) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/prometheus");
    let rules: Vec<String> = ["infermon-recording.rules.yml", "infermon-slo.rules.yml"]
        .iter()
        .map(|f| format!("  - '{}'\n", dir.join(f).canonicalize().unwrap().display()))
        .collect();
    format!(
        "global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\nrule_files:\n{}scrape_configs:\n{scrape_configs}",
        rules.concat()
    )
}
