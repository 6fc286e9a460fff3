//! Dashboards as code: Grafana dashboard JSON generated from the catalog and the query model.
//!
//! Why generated: every unit, description and approximation note comes from the catalog the plugin translates
//! with, so a panel cannot disagree with the data source behind it (the public vLLM/TGI dashboards break exactly
//! there: renamed metrics, mixed-up units, summaries read as histograms). Three dashboards ([`boards`]) are defined
//! once ([`def`]) and rendered ([`render`]) in two variants:
//! - [`Variant::Plugin`]: every target is a query-model object for the Inference data source (uid [`UID`]);
//! - [`Variant::Prometheus`]: Grafana's built-in Prometheus data source reading only infermon's recorded series
//!   ([`recorded`]), for users who cannot install plugins.
//!
//! [`files`] returns everything `infermon dashboards` writes: the dashboard JSON, the provisioning YAML
//! ([`provisioning`]) and `docs/dashboards.md` ([`docs`]).

pub mod boards;
pub mod def;
pub mod docs;
pub mod provisioning;
pub mod recorded;
pub mod render;

use crate::rules::SloSpec;
use serde_json::{Map, Value};

/// The Inference data source's plugin id (`plugin.json`).
pub const PLUGIN_ID: &str = "infermon-inference-datasource";
/// The fixed uid of the provisioned Inference data source; every plugin-variant panel references it.
pub const UID: &str = "infermon";
/// The uid of the provisioned Prometheus data source the Prometheus-only variant selects by default.
pub const PROMETHEUS_UID: &str = "infermon-prometheus";
/// The Grafana folder the dashboards are provisioned into.
pub const FOLDER: &str = "Inference";

/// Which data source a dashboard is rendered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Plugin,
    Prometheus,
}

impl Variant {
    pub const ALL: [Variant; 2] = [Variant::Plugin, Variant::Prometheus];
}

/// Why dashboards could not be generated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DashboardError {
    #[error("a panel has {0} targets or more; at most 26 (refIds A–Z) are supported")]
    TooManyTargets(usize),
    #[error("invalid dashboard definition: {0}")]
    Definition(String),
}

/// One rendered dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub uid: String,
    pub variant: Variant,
    pub json: Value,
}

impl Dashboard {
    /// Path relative to the repository root.
    pub fn path(&self) -> String {
        format!("provisioning/dashboards/{}.json", self.uid)
    }

    /// Pretty JSON with sorted keys and a trailing newline (stable whatever serde_json's map features are).
    pub fn to_pretty(&self) -> String {
        let mut s =
            serde_json::to_string_pretty(&sorted(&self.json)).expect("JSON values serialise");
        s.push('\n');
        s
    }
}

fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), sorted(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Every dashboard in both variants.
pub fn dashboards(spec: &SloSpec) -> Result<Vec<Dashboard>, DashboardError> {
    let mut out = Vec::new();
    for variant in Variant::ALL {
        for def in boards::all(spec) {
            out.push(Dashboard {
                uid: render::variant_uid(def.uid, variant),
                variant,
                json: render::render(&def, variant)?,
            });
        }
    }
    Ok(out)
}

/// Every generated file: (path relative to the repository root, contents).
pub fn files(spec: &SloSpec) -> Result<Vec<(String, String)>, DashboardError> {
    let mut out: Vec<(String, String)> = dashboards(spec)?
        .iter()
        .map(|d| (d.path(), d.to_pretty()))
        .collect();
    out.push((
        "provisioning/datasources/infermon.yaml".into(),
        provisioning::datasources_yaml(),
    ));
    out.push((
        "provisioning/dashboards/infermon.yaml".into(),
        provisioning::dashboards_yaml(),
    ));
    out.push(("docs/dashboards.md".into(), docs::markdown(spec)));
    Ok(out)
}
