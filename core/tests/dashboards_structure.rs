//! Structure of the generated dashboards: what Grafana needs to load them and what makes them trustworthy.
//! Unique panel ids, grid positions inside 24 columns that never overlap, every data source reference resolvable
//! (the provisioned uid, or the `$datasource` variable whose default is provisioned), every variable used defined,
//! every link pointing at a generated dashboard, every plugin target a valid query that translates (with data or
//! a notice), every Prometheus-only target reading recorded series only, every unit one Grafana draws as meant.
//! The checked-in files are the golden output of the generator.

mod support;

use infermon_core::dashboards::{
    self, provisioning, recorded::reads_only_recorded, Variant, PLUGIN_ID, PROMETHEUS_UID, UID,
};
use infermon_core::query::Query;
use infermon_core::rules::default_spec;
use infermon_core::translate::{translate, Context};
use regex::Regex;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use support::per_model_query;

fn all() -> Vec<dashboards::Dashboard> {
    dashboards::dashboards(&default_spec()).expect("dashboards generate")
}

fn panels(d: &Value) -> Vec<&Value> {
    d["panels"].as_array().unwrap().iter().collect()
}

/// Every string in a JSON value, with its path.
fn strings<'a>(v: &'a Value, path: String, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::String(s) => out.push((path, s)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| strings(x, format!("{path}[{i}]"), out)),
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| strings(x, format!("{path}.{k}"), out)),
        _ => {}
    }
}

/// Every object under a `datasource` key.
fn datasource_refs<'a>(v: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| datasource_refs(x, format!("{path}[{i}]"), out)),
        Value::Object(m) => {
            for (k, x) in m {
                if k == "datasource" {
                    out.push((format!("{path}.{k}"), x));
                } else {
                    datasource_refs(x, format!("{path}.{k}"), out);
                }
            }
        }
        _ => {}
    }
}

#[test]
fn the_checked_in_files_are_what_the_generator_writes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (rel, contents) in dashboards::files(&default_spec()).unwrap() {
        let on_disk = std::fs::read_to_string(root.join(&rel))
            .unwrap_or_else(|e| panic!("{rel}: {e} (run `infermon dashboards`)"));
        assert!(
            on_disk == contents,
            "{rel} is stale: run `cargo run -p infermon-cli -- dashboards` and commit the result"
        );
    }
}

#[test]
fn panel_ids_are_unique_and_grid_positions_do_not_overlap() {
    for d in all() {
        let mut ids = BTreeSet::new();
        let mut rects: Vec<(u64, u64, u64, u64, String)> = Vec::new();
        for p in panels(&d.json) {
            let id = p["id"].as_u64().expect("numeric id");
            assert!(ids.insert(id), "{}: panel id {id} used twice", d.uid);
            let g = &p["gridPos"];
            let (x, y, w, h) = (
                g["x"].as_u64().unwrap(),
                g["y"].as_u64().unwrap(),
                g["w"].as_u64().unwrap(),
                g["h"].as_u64().unwrap(),
            );
            assert!(
                w > 0 && h > 0 && x + w <= 24,
                "{}: {} at {g}",
                d.uid,
                p["title"]
            );
            for (ox, oy, ow, oh, title) in &rects {
                let overlap = x < ox + ow && *ox < x + w && y < oy + oh && *oy < y + h;
                assert!(!overlap, "{}: {} overlaps {title}", d.uid, p["title"]);
            }
            rects.push((x, y, w, h, p["title"].to_string()));
        }
        assert!(ids.len() > 5, "{}: only {} panels", d.uid, ids.len());
    }
}

#[test]
fn every_datasource_reference_resolves_to_a_provisioned_uid_or_a_variable() {
    let ds_yaml: Value = serde_norway::from_str(&provisioning::datasources_yaml()).unwrap();
    let provisioned: BTreeSet<(String, String)> = ds_yaml["datasources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["type"].as_str().unwrap().to_string(),
                d["uid"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(provisioned.contains(&(PLUGIN_ID.into(), UID.into())));
    assert!(provisioned.contains(&("prometheus".into(), PROMETHEUS_UID.into())));
    let provider: Value = serde_norway::from_str(&provisioning::dashboards_yaml()).unwrap();
    assert_eq!(provider["providers"][0]["folder"], "Inference");

    for d in all() {
        let vars = d.json["templating"]["list"].as_array().unwrap();
        let mut refs = Vec::new();
        datasource_refs(&d.json, d.uid.clone(), &mut refs);
        assert!(!refs.is_empty());
        for (path, r) in refs {
            let (ty, uid) = (r["type"].as_str().unwrap(), r["uid"].as_str().unwrap());
            if ty == "grafana" && uid == "-- Grafana --" {
                continue; // built-in annotations
            }
            match d.variant {
                Variant::Plugin => assert_eq!((ty, uid), (PLUGIN_ID, UID), "{path}"),
                Variant::Prometheus => {
                    assert_eq!((ty, uid), ("prometheus", "${datasource}"), "{path}");
                    let var = vars
                        .iter()
                        .find(|v| v["name"] == "datasource")
                        .expect("datasource variable");
                    assert_eq!(var["type"], "datasource");
                    assert_eq!(var["query"], "prometheus");
                    assert_eq!(var["current"]["value"], PROMETHEUS_UID);
                }
            }
        }
    }
}

#[test]
fn every_variable_used_is_defined_and_every_link_points_at_a_generated_dashboard() {
    let dashboards = all();
    let uids: BTreeSet<String> = dashboards.iter().map(|d| d.uid.clone()).collect();
    let var_use =
        Regex::new(r"\$\{([A-Za-z0-9_]+)|\$([A-Za-z_][A-Za-z0-9_]*)|\[\[([A-Za-z0-9_]+)").unwrap();
    let link = Regex::new(r"/d/([A-Za-z0-9_-]+)").unwrap();
    let builtins = [
        "__url_time_range",
        "__data",
        "__field",
        "__all",
        "__rate_interval",
        "__interval",
        "__range",
    ];
    for d in &dashboards {
        let defined: BTreeSet<String> = d.json["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_string())
            .collect();
        assert!(
            defined.contains("model") && defined.contains("namespace"),
            "{}",
            d.uid
        );
        let mut all_strings = Vec::new();
        strings(&d.json, d.uid.clone(), &mut all_strings);
        let mut links = 0;
        for (path, s) in &all_strings {
            // Legend templates ({{model}}) and Grafana's "$__all" are not variables of the dashboard.
            for c in var_use.captures_iter(s) {
                let name = c.iter().skip(1).flatten().next().unwrap().as_str();
                assert!(
                    defined.contains(name) || builtins.contains(&name),
                    "{path}: uses undefined variable ${name} in {s:?}"
                );
            }
            if path.ends_with(".url") {
                for c in link.captures_iter(s) {
                    links += 1;
                    assert!(
                        uids.contains(&c[1]),
                        "{path}: links to unknown dashboard {}",
                        &c[1]
                    );
                    let same_variant =
                        (d.variant == Variant::Prometheus) == c[1].starts_with("infermon-prom-");
                    assert!(same_variant, "{path}: links across variants: {s}");
                }
            }
        }
        assert!(links >= 2, "{}: only {links} links", d.uid);
    }
    // overview → detail → SLO
    let links_of = |uid: &str| -> String {
        dashboards.iter().find(|d| d.uid == uid).unwrap().json["links"].to_string()
    };
    assert!(links_of("infermon-overview").contains("/d/infermon-model-detail"));
    assert!(links_of("infermon-model-detail").contains("/d/infermon-slos"));
    assert!(links_of("infermon-prom-overview").contains("/d/infermon-prom-model-detail"));
}

/// Replaces dashboard variables the way the frontend does (a concrete model, "All" namespaces → no filter).
fn interpolate(target: &Value, model: &str) -> Value {
    let mut t = target.clone();
    if let Some(obj) = t.as_object_mut() {
        if obj.contains_key("models") {
            obj.insert("models".into(), serde_json::json!([model]));
        }
        if obj.contains_key("namespaces") {
            obj.insert("namespaces".into(), serde_json::json!([]));
        }
    }
    t
}

#[test]
fn every_plugin_target_parses_and_translates_with_data_or_a_notice() {
    let mut n = 0;
    for d in all().iter().filter(|d| d.variant == Variant::Plugin) {
        for p in panels(&d.json) {
            let Some(targets) = p["targets"].as_array() else {
                continue;
            };
            let unit = p["fieldConfig"]["defaults"]["unit"]
                .as_str()
                .expect("every data panel has a unit");
            assert!(!unit.is_empty());
            assert!(
                p["description"].as_str().is_some_and(|s| s.len() > 20),
                "{}",
                p["title"]
            );
            assert!(p["fieldConfig"]["defaults"]["noValue"]
                .as_str()
                .is_some_and(|s| s.starts_with("No data")));
            for t in targets {
                assert!(t["refId"].is_string());
                // As stored (with "$model") and as the frontend sends it after interpolation.
                for q in [t.clone(), interpolate(t, "meta-llama/Llama-3.1-8B")] {
                    let query =
                        Query::from_json(&q).unwrap_or_else(|e| panic!("{}: {e}: {q}", p["title"]));
                    let tr = translate(&query, &Context::default())
                        .unwrap_or_else(|e| panic!("{}: {e}: {q}", p["title"]));
                    assert!(
                        !tr.targets.is_empty() || !tr.notices.is_empty(),
                        "{}: neither a query nor a notice",
                        p["title"]
                    );
                    // Units agree between the panel and the translation (the fleet table carries its own).
                    if let (Some(first), false) = (tr.targets.first(), q["queryType"] == "fleet") {
                        let panel_concept_unit =
                            p["fieldConfig"]["defaults"]["unit"].as_str().unwrap();
                        assert_eq!(first.unit, panel_concept_unit, "{}: {q}", p["title"]);
                    }
                }
                n += 1;
            }
        }
    }
    assert!(n > 60, "only {n} targets");
}

#[test]
fn prometheus_only_targets_read_recorded_series_with_multi_value_matchers() {
    let mut n = 0;
    for d in all().iter().filter(|d| d.variant == Variant::Prometheus) {
        for p in panels(&d.json) {
            if p["type"] == "text" {
                let text = p["options"]["content"].as_str().unwrap();
                assert!(text.contains(PLUGIN_ID), "{}", p["title"]);
                continue;
            }
            let Some(targets) = p["targets"].as_array() else {
                continue;
            };
            for t in targets {
                let expr = t["expr"].as_str().unwrap();
                assert!(
                    reads_only_recorded(expr),
                    "{}: reads raw series: {expr}",
                    p["title"]
                );
                assert!(
                    expr.contains(r#"model=~"$model""#),
                    "{}: {expr}",
                    p["title"]
                );
                assert!(
                    expr.contains(r#"namespace=~"$namespace""#),
                    "{}: {expr}",
                    p["title"]
                );
                assert!(!expr.contains("__infermon"), "{expr}");
                n += 1;
            }
        }
    }
    assert!(n > 40, "only {n} targets");
}

#[test]
fn both_variants_have_the_same_panels_in_the_same_places() {
    let ds = all();
    for d in ds.iter().filter(|d| d.variant == Variant::Plugin) {
        let prom_uid = d.uid.replacen("infermon-", "infermon-prom-", 1);
        let p = ds.iter().find(|x| x.uid == prom_uid).unwrap();
        let key = |v: &Value| -> Vec<(Value, Value, Value)> {
            panels(v)
                .iter()
                .map(|p| (p["id"].clone(), p["title"].clone(), p["gridPos"].clone()))
                .collect()
        };
        assert_eq!(key(&d.json), key(&p.json), "{}", d.uid);
        assert!((39..=41).contains(&d.json["schemaVersion"].as_u64().unwrap()));
    }
}

/// Grafana unit ids infermon uses, as `@grafana/data` defines them (`packages/grafana-data/src/valueFormats/
/// categories.ts`): Time `s`; Misc `short`, `percentunit`; Throughput `reqps` ("requests/sec"), `ops` ("ops/sec").
const GRAFANA_UNITS: &[&str] = &["s", "short", "percentunit", "reqps", "ops"];
/// Custom units: `getValueFormat` (`valueFormats.ts`) draws an id it does not know as the value, a space and the
/// id, which is how the unit picker stores a custom unit. Each must read right after a number: "120 tokens/s",
/// "14.4 x" (burn rate), "0.002 /s" (growth of a 0..1 fraction). A built-in id with a suffix ("short/s") is not one:
/// Grafana would draw "3 short/s".
const CUSTOM_UNITS: &[&str] = &["tokens/s", "x", "/s"];

fn units<'a>(v: &'a Value, path: String, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| units(x, format!("{path}[{i}]"), out)),
        Value::Object(m) => {
            if let Some(Value::String(u)) = m.get("unit") {
                out.push((format!("{path}.unit"), u));
            }
            // Overrides: {"id": "unit", "value": "…"}.
            if let (Some("unit"), Some(Value::String(u))) =
                (m.get("id").and_then(Value::as_str), m.get("value"))
            {
                out.push((format!("{path}.value"), u));
            }
            m.iter()
                .for_each(|(k, x)| units(x, format!("{path}.{k}"), out));
        }
        _ => {}
    }
}

#[test]
fn every_unit_is_a_grafana_unit_id_or_a_custom_unit_that_reads_right() {
    use infermon_core::catalog::{Backend, Concept};
    use infermon_core::query::{SloQuery, SloView, Stat};
    let allowed = |u: &str| GRAFANA_UNITS.contains(&u) || CUSTOM_UNITS.contains(&u);
    let mut used = BTreeSet::new();
    // Every panel default and override of both variants.
    for d in all() {
        let mut found = Vec::new();
        units(&d.json, d.uid.clone(), &mut found);
        for (path, u) in found {
            assert!(allowed(u), "{path}: unit {u:?} is no Grafana unit id");
            used.insert(u.to_string());
        }
    }
    // Every unit the translator sends: every concept × statistic on every backend, and every SLO view.
    for &concept in Concept::ALL {
        assert!(allowed(concept.unit()), "{concept}");
        for backend in Backend::ALL {
            for stat in [
                "p95", "avg", "rate", "ratio", "current", "max", "min", "growth",
            ] {
                let stat = stat.parse::<Stat>().unwrap();
                let q = per_model_query(concept, backend, Some(stat), None);
                if let Ok(t) = translate(&Query::Metric(q), &Context::default()) {
                    for t in t.targets {
                        assert!(
                            allowed(&t.unit),
                            "{concept} {stat} on {backend}: {:?}",
                            t.unit
                        );
                        used.insert(t.unit);
                    }
                }
            }
        }
    }
    for view in [
        SloView::Attainment,
        SloView::BudgetRemaining,
        SloView::BurnRate,
    ] {
        let q = SloQuery {
            view,
            ..infermon_core::context::default_budget_slo()
        };
        for t in translate(&Query::Slo(q), &Context::default())
            .unwrap()
            .targets
        {
            assert!(allowed(&t.unit), "{view:?}: {:?}", t.unit);
            used.insert(t.unit);
        }
    }
    // The lists hold no unit nothing uses.
    for u in GRAFANA_UNITS.iter().chain(CUSTOM_UNITS) {
        assert!(used.contains(*u), "{u} is listed but unused: {used:?}");
    }
}
