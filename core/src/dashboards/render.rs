//! Definitions → Grafana dashboard JSON (classic model, schemaVersion 39), for one [`Variant`].
//!
//! Layout is computed, never written by hand: each row is a Grafana row panel, its panels flow left to right and
//! wrap at 24 columns, so grid positions cannot overlap. Panel ids are assigned in definition order (stable across
//! runs, unique per dashboard).

use super::def::{DashboardDef, PanelDef, PanelKind, Step, TargetDef};
use super::recorded::{prometheus_targets, PromTarget};
use super::{DashboardError, Variant, PLUGIN_ID, PROMETHEUS_UID, UID};
use crate::catalog::names::labels;
use crate::query::{BackendChoice, MetricQuery, Query, SloQuery};
use crate::translate::FLEET_COLUMNS;
use serde_json::{json, Map, Value};

/// Grafana 11's dashboard schema version (Grafana 12 still loads and migrates it).
pub const SCHEMA_VERSION: u32 = 39;
const GRID_WIDTH: u32 = 24;
const REF_IDS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// The uid a dashboard has in `variant`.
pub fn variant_uid(uid: &str, variant: Variant) -> String {
    match variant {
        Variant::Plugin => uid.to_string(),
        Variant::Prometheus => uid.replacen("infermon-", "infermon-prom-", 1),
    }
}

fn datasource(variant: Variant) -> Value {
    match variant {
        Variant::Plugin => json!({"type": PLUGIN_ID, "uid": UID}),
        Variant::Prometheus => json!({"type": "prometheus", "uid": "${datasource}"}),
    }
}

pub fn render(def: &DashboardDef, variant: Variant) -> Result<Value, DashboardError> {
    let mut panels = Vec::new();
    let mut id = 0u32;
    let mut y = 0u32;
    for row in &def.rows {
        id += 1;
        panels.push(json!({
            "id": id, "type": "row", "title": row.title, "collapsed": false, "panels": [],
            "gridPos": {"x": 0, "y": y, "w": GRID_WIDTH, "h": 1}
        }));
        y += 1;
        let (mut x, mut line_h) = (0u32, 0u32);
        for p in &row.panels {
            if x + p.width > GRID_WIDTH {
                y += line_h;
                x = 0;
                line_h = 0;
            }
            id += 1;
            let grid = json!({"x": x, "y": y, "w": p.width, "h": p.height});
            panels.push(panel(def, p, id, grid, variant)?);
            x += p.width;
            line_h = line_h.max(p.height);
        }
        y += line_h;
    }
    let (title, description) = match variant {
        Variant::Plugin => (def.title.to_string(), def.description.to_string()),
        Variant::Prometheus => (
            format!("{} (Prometheus)", def.title),
            format!(
                "{} This variant uses Grafana's built-in Prometheus data source and infermon's recording rules only.",
                def.description
            ),
        ),
    };
    let links: Vec<Value> = def
        .links
        .iter()
        .map(|(uid, title)| {
            json!({
                "title": title, "type": "link", "url": format!("/d/{}", variant_uid(uid, variant)),
                "icon": "dashboard", "tooltip": "", "tags": [], "asDropdown": false, "targetBlank": false,
                "includeVars": true, "keepTime": true
            })
        })
        .collect();
    let mut tags: Vec<&str> = def.tags.to_vec();
    if variant == Variant::Prometheus {
        tags.push("prometheus");
    }
    Ok(json!({
        "uid": variant_uid(def.uid, variant),
        "title": title,
        "description": description,
        "tags": tags,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": true,
        "graphTooltip": 1,
        "time": {"from": def.time_from, "to": "now"},
        "refresh": "1m",
        "timezone": "browser",
        "fiscalYearStartMonth": 0,
        "liveNow": false,
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": true, "hide": true,
            "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"
        }]},
        "templating": {"list": variables(def, variant)},
        "links": links,
        "panels": panels,
    }))
}

fn variables(def: &DashboardDef, variant: Variant) -> Vec<Value> {
    let ds = datasource(variant);
    let multi = !def.single_model;
    let mut out = Vec::new();
    let (ns_query, model_query, ns_def, model_def) = match variant {
        Variant::Plugin => (
            json!({"refId": "namespaces", "type": "namespaces"}),
            json!({"refId": "models", "type": "models", "namespace": "$namespace"}),
            "namespaces".to_string(),
            "models($namespace)".to_string(),
        ),
        Variant::Prometheus => {
            let ns = format!(
                "label_values({}, namespace)",
                super::recorded::VARIABLE_SERIES
            );
            let m = format!(
                "label_values({}{{namespace=~\"$namespace\"}}, model)",
                super::recorded::VARIABLE_SERIES
            );
            out.push(json!({
                "name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
                "current": {"selected": false, "text": "Prometheus (infermon)", "value": PROMETHEUS_UID},
                "hide": 0, "includeAll": false, "multi": false, "options": [], "refresh": 1, "regex": "",
                "skipUrlSync": false
            }));
            (json!(ns.clone()), json!(m.clone()), ns, m)
        }
    };
    let all = |v: &mut Value| {
        if variant == Variant::Prometheus {
            v["allValue"] = json!(".*");
        }
    };
    let mut ns = json!({
        "name": "namespace", "label": "Namespace", "type": "query", "datasource": ds.clone(),
        "query": ns_query, "definition": ns_def, "refresh": 1, "multi": true, "includeAll": true,
        "current": {"selected": true, "text": ["All"], "value": ["$__all"]},
        "options": [], "sort": 1, "hide": 0, "regex": "", "skipUrlSync": false
    });
    all(&mut ns);
    out.push(ns);
    let mut model = json!({
        "name": "model", "label": "Model", "type": "query", "datasource": ds,
        "query": model_query, "definition": model_def, "refresh": 2, "multi": multi, "includeAll": multi,
        "current": if multi { json!({"selected": true, "text": ["All"], "value": ["$__all"]}) } else { json!({}) },
        "options": [], "sort": 1, "hide": 0, "regex": "", "skipUrlSync": false
    });
    if multi {
        all(&mut model);
    }
    out.push(model);
    out
}

fn steps_json(steps: &[Step]) -> Value {
    json!({
        "mode": "absolute",
        "steps": steps.iter().map(|(v, c)| json!({"color": c, "value": v})).collect::<Vec<_>>()
    })
}

fn ref_id(i: usize) -> Result<String, DashboardError> {
    REF_IDS
        .chars()
        .nth(i)
        .map(String::from)
        .ok_or(DashboardError::TooManyTargets(i))
}

fn panel(
    def: &DashboardDef,
    p: &PanelDef,
    id: u32,
    grid: Value,
    variant: Variant,
) -> Result<Value, DashboardError> {
    let ds = datasource(variant);
    let mut targets = Vec::new();
    let mut prom_fleet_columns = Vec::new();
    let mut omitted = Vec::new();
    let mut ref_ids = Vec::new();
    for (i, t) in p.targets.iter().enumerate() {
        match variant {
            Variant::Plugin => {
                let r = ref_id(targets.len())?;
                ref_ids.push((i, r.clone()));
                let mut q = plugin_query(t)?;
                q["refId"] = json!(r);
                q["datasource"] = ds.clone();
                targets.push(q);
            }
            Variant::Prometheus => match prometheus_targets(t) {
                Some(list) => {
                    for pt in list {
                        let r = ref_id(targets.len())?;
                        ref_ids.push((i, r.clone()));
                        if let Some(col) = &pt.column {
                            prom_fleet_columns.push((r.clone(), col.clone()));
                        }
                        targets.push(prom_target(&pt, &r, &ds));
                    }
                }
                None => omitted.push(i),
            },
        }
    }
    let mut description = p.description();
    if !omitted.is_empty() {
        let what: Vec<String> = omitted
            .iter()
            .map(|i| target_label(&p.targets[*i]))
            .collect();
        description.push_str(&format!(
            " Not shown in this Prometheus-only variant (no recording rule holds it; use the Inference data source): {}.",
            what.join(", ")
        ));
    }
    if targets.is_empty() {
        // Nothing recorded answers this panel: say so in the panel itself instead of leaving it empty.
        return Ok(json!({
            "id": id, "type": "text", "title": p.title, "gridPos": grid, "description": description,
            "options": {"mode": "markdown", "content": format!(
                "**{}** needs series that infermon's recording rules do not record ({}). Install the Inference data \
                 source (`{PLUGIN_ID}`) and open the plugin variant of this dashboard.",
                p.title,
                p.targets.iter().map(target_label).collect::<Vec<_>>().join(", ")
            )}
        }));
    }
    let unit = p.unit_id();
    let mut defaults = Map::new();
    defaults.insert("unit".into(), json!(unit));
    defaults.insert("noValue".into(), json!(p.no_value()));
    if let Some(m) = p.min {
        defaults.insert("min".into(), json!(m));
    }
    if let Some(m) = p.max {
        defaults.insert("max".into(), json!(m));
    }
    let threshold_colored = !p.thresholds.is_empty() && p.kind != PanelKind::Timeseries;
    defaults.insert(
        "thresholds".into(),
        if p.thresholds.is_empty() {
            steps_json(&[(None, "green")])
        } else {
            steps_json(&p.thresholds)
        },
    );
    defaults.insert(
        "color".into(),
        json!({"mode": if threshold_colored || !p.target_thresholds.is_empty() { "thresholds" } else { "palette-classic" }}),
    );
    if p.kind == PanelKind::Timeseries {
        let mut custom = json!({
            "drawStyle": "line", "lineWidth": 1, "fillOpacity": if p.stacked { 30 } else { 5 },
            "showPoints": "never", "spanNulls": false,
            "thresholdsStyle": {"mode": if p.thresholds.is_empty() { "off" } else { "dashed" }},
            "stacking": {"mode": if p.stacked { "normal" } else { "none" }, "group": "A"}
        });
        if p.stacked {
            custom["stacking"]["mode"] = json!("normal");
        }
        defaults.insert("custom".into(), custom);
    }
    if let Some(uid) = p.drilldown {
        let model_ref = if p.kind == PanelKind::Table {
            "${__data.fields.model}"
        } else {
            "${__field.labels.model}"
        };
        let title = if uid == super::boards::SLOS_UID {
            format!("SLOs of {model_ref}")
        } else {
            format!("Detail of {model_ref}")
        };
        defaults.insert(
            "links".into(),
            json!([{
                "title": title,
                "url": format!("/d/{}?${{__url_time_range}}&${{namespace:queryparam}}&var-model={model_ref}", variant_uid(uid, variant))
            }]),
        );
    }
    let mut overrides = Vec::new();
    for (i, steps) in &p.target_thresholds {
        for (_, r) in ref_ids.iter().filter(|(t, _)| t == i) {
            overrides.push(json!({
                "matcher": {"id": "byFrameRefID", "options": r},
                "properties": [{"id": "thresholds", "value": steps_json(steps)}]
            }));
        }
    }
    let mut transformations = Vec::new();
    if p.targets.iter().any(|t| matches!(t, TargetDef::Fleet)) {
        overrides.extend(fleet_overrides());
        if variant == Variant::Prometheus {
            let mut rename = Map::new();
            for (r, col) in &prom_fleet_columns {
                rename.insert(format!("Value #{r}"), json!(fleet_label(col)));
            }
            transformations.push(json!({"id": "merge", "options": {}}));
            transformations.push(json!({"id": "organize", "options": {
                "excludeByName": {"Time": true}, "renameByName": rename, "indexByName": {}
            }}));
        }
    }
    let options = match p.kind {
        PanelKind::Timeseries => json!({
            "legend": {"showLegend": true, "displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
            "tooltip": {"mode": "multi", "sort": "desc"}
        }),
        PanelKind::Stat => json!({
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": false},
            "colorMode": "background", "graphMode": "none", "textMode": "value_and_name",
            "orientation": "auto", "justifyMode": "auto", "wideLayout": true, "showPercentChange": false
        }),
        PanelKind::BarGauge => json!({
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": false},
            "displayMode": "gradient", "orientation": "horizontal", "showUnfilled": true,
            "valueMode": "color", "namePlacement": "auto", "sizing": "auto", "minVizHeight": 16, "minVizWidth": 8,
            "maxVizHeight": 300
        }),
        PanelKind::Table => json!({
            "showHeader": true, "cellHeight": "sm",
            "footer": {"show": false, "reducer": ["sum"], "countRows": false, "fields": ""},
            "sortBy": [{"displayName": "model", "desc": false}]
        }),
    };
    let mut out = json!({
        "id": id,
        "type": p.kind.grafana_type(),
        "title": p.title,
        "description": description,
        "gridPos": grid,
        "datasource": ds,
        "targets": targets,
        "fieldConfig": {"defaults": Value::Object(defaults), "overrides": overrides},
        "options": options,
        "transformations": transformations,
    });
    if let Some(t) = p.time_from {
        out["timeFrom"] = json!(t);
    }
    let _ = def;
    Ok(out)
}

/// Column display names of the fleet table: the concept labels the plugin puts in `displayNameFromDS`.
pub fn fleet_label(key: &str) -> String {
    FLEET_COLUMNS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, c, s)| match c.kind() {
            crate::catalog::ConceptKind::Latency => format!("{} {}", c.label(), s.id()),
            _ => c.label().to_string(),
        })
        .unwrap_or_else(|| key.to_string())
}

fn fleet_overrides() -> Vec<Value> {
    use super::def::{latency_steps, ERROR_STEPS, KV_STEPS};
    let mut out = Vec::new();
    for (key, concept, _) in FLEET_COLUMNS {
        let steps: Vec<Step> = match *key {
            "kv_cache_usage" => KV_STEPS.to_vec(),
            "error_ratio" => ERROR_STEPS.to_vec(),
            "ttft_p95" => latency_steps(0.5),
            "e2e_latency_p95" => latency_steps(5.0),
            _ => Vec::new(),
        };
        let mut props = vec![json!({"id": "unit", "value": concept.unit()})];
        if !steps.is_empty() {
            props.push(json!({"id": "thresholds", "value": steps_json(&steps)}));
            props.push(json!({"id": "custom.cellOptions", "value": {"type": "color-background", "mode": "basic"}}));
        }
        // The plugin names columns by key and displays the concept label; match both.
        for name in [
            fleet_label(key),
            key.to_string(),
            concept.label().to_string(),
        ] {
            if out
                .iter()
                .any(|o: &Value| o["matcher"]["options"] == json!(name))
            {
                continue;
            }
            out.push(
                json!({"matcher": {"id": "byName", "options": name}, "properties": props.clone()}),
            );
        }
    }
    out
}

fn target_label(t: &TargetDef) -> String {
    match t {
        TargetDef::Metric {
            concept,
            stat,
            group_by,
            ..
        } => format!(
            "{} {} by {}",
            concept.label(),
            stat.id(),
            group_by.join(", ")
        ),
        TargetDef::Slo { slo, view, .. } => format!("SLO {} {:?}", slo.name, view),
        TargetDef::Fleet => "fleet table".into(),
    }
}

fn scoped_models() -> Vec<String> {
    vec!["$model".into()]
}
fn scoped_namespaces() -> Vec<String> {
    vec!["$namespace".into()]
}

/// The query-model JSON of a target for the Inference data source (before Grafana adds `refId`/`datasource`).
pub fn plugin_query(t: &TargetDef) -> Result<Value, DashboardError> {
    let q = match t {
        TargetDef::Metric {
            concept,
            stat,
            group_by,
            legend,
        } => Query::Metric(MetricQuery {
            concept: *concept,
            stat: Some(*stat),
            models: scoped_models(),
            namespaces: scoped_namespaces(),
            backend: BackendChoice::Auto,
            filters: vec![],
            group_by: group_by.iter().map(|s| s.to_string()).collect(),
            legend: legend.clone(),
            window: None,
        }),
        TargetDef::Slo {
            slo,
            view,
            burn_window,
            legend,
        } => Query::Slo(SloQuery {
            // Named, so that with infermon's rules loaded the plugin reads the SLO's recorded error ratios.
            slo: Some(slo.name.clone()),
            sli: slo.sli,
            threshold: slo.threshold,
            objective: slo.objective,
            window: slo.window,
            view: *view,
            burn_window: burn_window.map(|w| w.parse()).transpose().map_err(
                |e: crate::duration::DurationError| DashboardError::Definition(e.to_string()),
            )?,
            interpolate: false,
            models: scoped_models(),
            namespaces: scoped_namespaces(),
            backend: match slo.backends.as_slice() {
                [one] => BackendChoice::from_backend(*one),
                _ => BackendChoice::Auto,
            },
            filters: vec![],
            // The SLO's own level, where its alerts fire and its records are kept: records are ratios and cannot
            // be re-aggregated per model across namespaces (the Prometheus-only variant shows the same series).
            group_by: vec![labels::NAMESPACE.to_string(), labels::MODEL.to_string()],
            legend: legend.clone(),
        }),
        TargetDef::Fleet => Query::Fleet(crate::query::FleetQuery {
            models: scoped_models(),
            namespaces: scoped_namespaces(),
            backend: BackendChoice::Auto,
            filters: vec![],
        }),
    };
    serde_json::to_value(&q).map_err(|e| DashboardError::Definition(e.to_string()))
}

fn prom_target(t: &PromTarget, r: &str, ds: &Value) -> Value {
    json!({
        "refId": r,
        "datasource": ds,
        "editorMode": "code",
        "expr": t.expr,
        "legendFormat": t.legend,
        "range": !t.instant,
        "instant": t.instant,
        "format": if t.instant { "table" } else { "time_series" },
    })
}
