//! The translator: a [`Query`] plus what the data source knows about the engine ([`Context`]) becomes PromQL
//! ([`Translation`]): one or more expressions with their unit, legend and notices.
//!
//! Why each translation is shaped the way it is (quantiles after `sum by (le, …)`, `deriv` on gauges,
//! events-weighted ratios, `or` across renamed metrics, the uniform `model` label) is explained in
//! `docs/promql-notes.md`.

mod build;
mod fleet;
mod metric;
pub mod recorded;
mod scope;
mod slo;

use crate::catalog::{Backend, Concept};
use crate::duration::PromDuration;
use crate::query::{Query, Stat};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

pub use fleet::FLEET_COLUMNS;

/// What the data source knows when it translates.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    /// The rate window (Grafana's `$__rate_interval`: max(4 × scrape interval, step + scrape interval)).
    pub rate_window: PromDuration,
    /// Backends found on the engine; `None` when unknown (then every backend is queried).
    pub backends: Option<BTreeSet<Backend>>,
    /// Metric names found on the engine; `None` when unknown (then every known name is queried with `or`
    /// fallbacks). When known, absent names are left out and a concept with no series left gets a notice
    /// instead of a silently empty query.
    pub present_metrics: Option<BTreeSet<String>>,
    /// infermon's recording rules are loaded: use the recorded series where they answer the query.
    pub recording_rules: bool,
    /// infermon's SLO records found on the engine: SLO name → the windows its error ratio is recorded over
    /// (`namespace_model:inference_slo_errors:ratio_rate<window>{slo="<name>"}`). `None` when unknown: an SLO query
    /// naming an SLO then trusts that the rules record it over the SLI windows and the query's own window. Known, a
    /// query naming an SLO or window the engine does not record is computed from raw series, with a notice.
    pub slo_records: Option<BTreeMap<String, BTreeSet<PromDuration>>>,
    /// The target label that carries the model of servers without a model label (TGI, llama.cpp).
    pub model_label: String,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            rate_window: PromDuration::from_secs(300),
            backends: None,
            present_metrics: None,
            recording_rules: false,
            slo_records: None,
            model_label: crate::catalog::names::labels::MODEL.to_string(),
        }
    }
}

/// One PromQL expression to run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// Which part of the answer this is: `value` for metric/SLO queries, the column id for fleet tables.
    pub key: String,
    pub expr: String,
    /// Grafana legend template, e.g. `{{model}}`.
    pub legend: String,
    /// Grafana unit id.
    pub unit: String,
    /// Evaluate as an instant query (tables) rather than a range query.
    pub instant: bool,
}

/// Something the user should know about the answer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    pub severity: Severity,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
}

/// The PromQL a query becomes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Translation {
    /// Empty when nothing on the engine can answer; `notices` then say why.
    pub targets: Vec<Target>,
    pub notices: Vec<Notice>,
    /// Some part of the answer is an approximation (a notice says which).
    pub approximate: bool,
}

impl Translation {
    fn notice(&mut self, severity: Severity, text: impl Into<String>) {
        let n = Notice {
            severity,
            text: text.into(),
        };
        if !self.notices.contains(&n) {
            self.notices.push(n);
        }
    }
}

/// Why a query cannot be translated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TranslateError {
    #[error("{concept} is not available on {backend}: {reason}")]
    Unsupported {
        concept: Concept,
        backend: Backend,
        reason: String,
    },
    #[error("{concept} is not available on any backend: {reasons}")]
    UnsupportedEverywhere { concept: Concept, reasons: String },
    #[error("statistic `{stat}` does not apply to {concept}; accepted: {accepted}")]
    StatNotApplicable {
        concept: Concept,
        stat: String,
        accepted: String,
    },
    #[error(
        "threshold {threshold} s is not a histogram bucket boundary of {backend} ({generation}); nearest \
         boundaries: {below} and {above}. Pick one of them, or set \"interpolate\": true for an approximate answer{hint}"
    )]
    ThresholdNotBoundary {
        threshold: f64,
        backend: Backend,
        generation: String,
        below: String,
        above: String,
        hint: String,
    },
    #[error("{0}")]
    Slo(String),
}

/// Translates `query` for an engine described by `ctx`.
pub fn translate(query: &Query, ctx: &Context) -> Result<Translation, TranslateError> {
    match query {
        Query::Metric(q) => metric::translate(q, ctx),
        Query::Slo(q) => slo::translate(q, ctx),
        Query::Fleet(q) => fleet::translate(q, ctx),
        Query::Promql(q) => Ok(Translation {
            targets: vec![Target {
                key: "value".into(),
                expr: q.expr.clone(),
                legend: q.legend.clone().unwrap_or_default(),
                unit: String::new(),
                instant: false,
            }],
            notices: Vec::new(),
            approximate: false,
        }),
    }
}

/// The statistic used when a metric query names none.
pub fn default_stat(concept: Concept) -> Stat {
    use crate::catalog::ConceptKind::*;
    match concept.kind() {
        Latency => Stat::Quantile(0.95),
        Throughput => Stat::Rate,
        Ratio => Stat::Ratio,
        Gauge => Stat::Current,
    }
}

/// The error budget `1 - objective`, rounded so that 1 - 0.999 prints as 0.001, not 0.0010000000000000009.
fn error_budget(objective: f64) -> f64 {
    ((1.0 - objective) * 1e12).round() / 1e12
}

fn default_legend(group_by: &[String]) -> String {
    group_by
        .iter()
        .map(|l| format!("{{{{{l}}}}}"))
        .collect::<Vec<_>>()
        .join(" ")
}
