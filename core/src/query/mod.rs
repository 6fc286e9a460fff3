//! The query model: what a user, a dashboard panel or the CLI asks infermon.
//!
//! This JSON is the contract between the frontend, the provisioned dashboards, the plugin and the CLI; it is
//! documented with examples in `docs/query-model.md` (and the examples there are tested). Parsing happens once,
//! here: unknown fields and bad values are rejected with a message that names the field and the accepted values.

mod stat;

pub use stat::{Stat, StatError, ACCEPTED_STATS};

use crate::catalog::{Backend, Concept};
use crate::duration::PromDuration;
use crate::promql::escape::is_label_name;
use serde::{Deserialize, Serialize};

/// One query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "queryType", rename_all = "camelCase")]
pub enum Query {
    Metric(MetricQuery),
    Slo(SloQuery),
    Fleet(FleetQuery),
    Promql(PromqlQuery),
}

/// Which servers a query covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// Every backend the data source found (or all, when detection has not run).
    #[default]
    Auto,
    Vllm,
    Tgi,
    Sglang,
    Llamacpp,
}

impl BackendChoice {
    pub fn from_backend(b: Backend) -> Self {
        match b {
            Backend::Vllm => BackendChoice::Vllm,
            Backend::Tgi => BackendChoice::Tgi,
            Backend::Sglang => BackendChoice::Sglang,
            Backend::Llamacpp => BackendChoice::Llamacpp,
        }
    }

    pub fn backend(self) -> Option<Backend> {
        match self {
            BackendChoice::Auto => None,
            BackendChoice::Vllm => Some(Backend::Vllm),
            BackendChoice::Tgi => Some(Backend::Tgi),
            BackendChoice::Sglang => Some(Backend::Sglang),
            BackendChoice::Llamacpp => Some(Backend::Llamacpp),
        }
    }
}

/// Which series a query looks at: a borrowed view of the scope fields every query type shares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scope<'a> {
    pub models: &'a [String],
    pub namespaces: &'a [String],
    pub backend: BackendChoice,
    pub filters: &'a [LabelFilter],
}

/// A free label matcher, e.g. `{"label": "pod", "op": "=~", "value": "vllm-0|vllm-1"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelFilter {
    pub label: String,
    pub op: FilterOp,
    pub value: String,
}

/// Matcher operators of [`LabelFilter`]. `=~`/`!~` take the value as a regex the user wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FilterOp {
    #[serde(rename = "=")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = "=~")]
    Re,
    #[serde(rename = "!~")]
    Nre,
}

/// "TTFT p95 per model for llama-3 in namespace prod".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricQuery {
    pub concept: Concept,
    /// Default: p95 for latencies, rate for throughputs, ratio for ratios, current for gauges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<Stat>,
    /// Model names (exact). Empty: all models.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// Kubernetes namespaces (exact). Empty: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Which servers: `auto` (default) or one backend id.
    #[serde(default)]
    pub backend: BackendChoice,
    /// Extra label matchers applied to every raw series.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<LabelFilter>,
    /// Output labels. Default `["model"]`; `[]` for one fleet-wide series.
    #[serde(default = "default_group_by")]
    pub group_by: Vec<String>,
    /// Legend template (`{{model}}`); default: the group-by labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legend: Option<String>,
    /// Rate window override; default: the data source's `$__rate_interval` equivalent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<PromDuration>,
}

/// What an SLO query shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SloView {
    /// Share of good events over the SLO window (0..1).
    Attainment,
    /// `1 - error_ratio / (1 - objective)` over the SLO window: 1 = untouched, 0 = spent, < 0 = overspent.
    BudgetRemaining,
    /// Error ratio over `burnWindow` divided by the error budget `1 - objective`.
    BurnRate,
}

/// "Error budget left on the 500 ms TTFT SLO".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SloQuery {
    /// The SLO's name in infermon's rules spec (`slo.yaml`), e.g. `"ttft-500ms"`. With the recording rules loaded,
    /// the query then reads that SLO's recorded error ratios instead of raw histograms, wherever they answer it
    /// exactly (see `translate::recorded::try_recorded_slo`). The definition fields below must describe the same
    /// SLO as the spec does (the generated dashboards copy both from the spec); they are what the raw fallback uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<String>,
    /// The SLI concept: a latency (with `threshold`) or `error_ratio`.
    pub sli: Concept,
    /// Latency threshold in seconds; must be a histogram bucket boundary of every backend covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Target share of good events, in (0, 1), e.g. 0.99.
    pub objective: f64,
    /// SLO window; default 30d.
    #[serde(default = "default_slo_window")]
    pub window: PromDuration,
    pub view: SloView,
    /// Window of the `burnRate` view; default 1h.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burn_window: Option<PromDuration>,
    /// Allow a threshold between bucket boundaries by linear interpolation (the result is then approximate).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interpolate: bool,
    /// Model names (exact). Empty: all models.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// Kubernetes namespaces (exact). Empty: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Which servers: `auto` (default) or one backend id.
    #[serde(default)]
    pub backend: BackendChoice,
    /// Extra label matchers applied to every raw series.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<LabelFilter>,
    #[serde(default = "default_group_by")]
    pub group_by: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legend: Option<String>,
}

/// One row per model with its current key figures (a table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FleetQuery {
    /// Model names (exact). Empty: all models.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// Kubernetes namespaces (exact). Empty: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Which servers: `auto` (default) or one backend id.
    #[serde(default)]
    pub backend: BackendChoice,
    /// Extra label matchers applied to every raw series.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<LabelFilter>,
}

/// Raw PromQL, passed through unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromqlQuery {
    pub expr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legend: Option<String>,
}

macro_rules! scoped {
    ($($t:ty),*) => {$(
        impl $t {
            pub fn scope(&self) -> Scope<'_> {
                Scope { models: &self.models, namespaces: &self.namespaces, backend: self.backend, filters: &self.filters }
            }
        }
    )*};
}
scoped!(MetricQuery, SloQuery, FleetQuery);

fn default_group_by() -> Vec<String> {
    vec![crate::catalog::names::labels::MODEL.to_string()]
}

fn default_slo_window() -> PromDuration {
    PromDuration::from_secs(30 * 24 * 3600)
}

/// Fields Grafana adds to every query object; they are not part of the model and are ignored.
pub const GRAFANA_ENVELOPE_FIELDS: &[&str] = &[
    "refId",
    "datasource",
    "datasourceId",
    "hide",
    "intervalMs",
    "maxDataPoints",
    "key",
    "format",
    "exemplar",
];

/// Why a query was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    #[error("invalid query JSON: {0}")]
    Json(String),
    #[error("`{field}` {problem}")]
    Invalid { field: String, problem: String },
}

impl Query {
    /// Parses a query object as Grafana or the CLI sends it, then validates it.
    pub fn from_json(value: &serde_json::Value) -> Result<Query, QueryError> {
        let mut value = value.clone();
        if let Some(obj) = value.as_object_mut() {
            for field in GRAFANA_ENVELOPE_FIELDS {
                obj.remove(*field);
            }
            if !obj.contains_key("queryType") {
                return Err(QueryError::Invalid {
                    field: "queryType".into(),
                    problem:
                        "is missing: expected one of \"metric\", \"slo\", \"fleet\", \"promql\""
                            .into(),
                });
            }
        }
        let query: Query =
            serde_json::from_value(value).map_err(|e| QueryError::Json(e.to_string()))?;
        query.validate()?;
        Ok(query)
    }

    /// Checks what serde cannot: ranges, label names, required combinations.
    pub fn validate(&self) -> Result<(), QueryError> {
        match self {
            Query::Metric(q) => {
                q.scope().validate()?;
                validate_group_by(&q.group_by)
            }
            Query::Slo(q) => q.validate(),
            Query::Fleet(q) => q.scope().validate(),
            Query::Promql(q) if q.expr.trim().is_empty() => {
                Err(invalid("expr", "must not be empty"))
            }
            Query::Promql(_) => Ok(()),
        }
    }
}

/// An SLO name as the rules spec allows it (and as it becomes the `slo` label): lowercase ASCII letters, digits
/// and dashes, not empty.
pub fn is_slo_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl SloQuery {
    fn validate(&self) -> Result<(), QueryError> {
        self.scope().validate()?;
        validate_group_by(&self.group_by)?;
        if let Some(name) = self.slo.as_deref().filter(|n| !is_slo_name(n)) {
            return Err(invalid(
                "slo",
                &format!(
                    "must be the name of an SLO in infermon's rules spec: lowercase letters, digits and dashes, \
                     e.g. \"ttft-500ms\" (omit the field for an SLO without recording rules); got {name:?}"
                ),
            ));
        }
        if !self.sli.slo_capable() {
            let accepted: Vec<&str> = Concept::ALL
                .iter()
                .filter(|c| c.slo_capable())
                .map(|c| c.id())
                .collect();
            return Err(invalid(
                "sli",
                &format!(
                    "must be one of {}; got {:?}",
                    accepted.join(", "),
                    self.sli.id()
                ),
            ));
        }
        if !(self.objective > 0.0 && self.objective < 1.0) {
            return Err(invalid(
                "objective",
                &format!(
                    "must be a fraction in (0, 1), e.g. 0.99; got {}",
                    self.objective
                ),
            ));
        }
        match (self.sli, self.threshold) {
            (crate::catalog::Concept::ErrorRatio, Some(_)) => Err(invalid(
                "threshold",
                "must not be set for the error_ratio SLI",
            )),
            (crate::catalog::Concept::ErrorRatio, None) => Ok(()),
            (_, None) => Err(invalid(
                "threshold",
                "is required for a latency SLI, in seconds, e.g. 0.5",
            )),
            (_, Some(t)) if !(t > 0.0 && t.is_finite()) => Err(invalid(
                "threshold",
                &format!("must be a positive number of seconds; got {t}"),
            )),
            _ => Ok(()),
        }
    }
}

impl Scope<'_> {
    fn validate(&self) -> Result<(), QueryError> {
        if self.models.iter().any(|m| m.is_empty()) {
            return Err(invalid("models", "must not contain empty names"));
        }
        if self.namespaces.iter().any(|m| m.is_empty()) {
            return Err(invalid("namespaces", "must not contain empty names"));
        }
        for (i, f) in self.filters.iter().enumerate() {
            if !is_label_name(&f.label) {
                return Err(invalid(
                    &format!("filters[{i}].label"),
                    &format!(
                        "must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*); got {:?}",
                        f.label
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn validate_group_by(labels: &[String]) -> Result<(), QueryError> {
    for (i, l) in labels.iter().enumerate() {
        if !is_label_name(l) || l == crate::catalog::names::labels::LE {
            return Err(invalid(
                &format!("groupBy[{i}]"),
                &format!(
                    "must be a Prometheus label name other than `le`, e.g. \"model\"; got {l:?}"
                ),
            ));
        }
    }
    Ok(())
}

fn invalid(field: &str, problem: &str) -> QueryError {
    QueryError::Invalid {
        field: field.to_string(),
        problem: problem.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_a_grafana_metric_query() {
        let q = Query::from_json(&json!({
            "refId": "A", "datasource": {"uid": "infermon"}, "intervalMs": 15000, "maxDataPoints": 1000,
            "queryType": "metric", "concept": "ttft", "stat": "p95", "models": ["llama-3"], "namespaces": ["prod"]
        }))
        .unwrap();
        let Query::Metric(m) = q else { panic!() };
        assert_eq!(m.concept, Concept::Ttft);
        assert_eq!(m.stat, Some(Stat::Quantile(0.95)));
        assert_eq!(m.group_by, vec!["model"]);
        assert_eq!(m.backend, BackendChoice::Auto);
    }

    #[test]
    fn unknown_fields_and_values_name_the_field_and_the_accepted_values() {
        let e =
            Query::from_json(&json!({"queryType": "metric", "concept": "ttft", "stats": "p95"}))
                .unwrap_err();
        assert!(e.to_string().contains("unknown field `stats`"), "{e}");
        let e =
            Query::from_json(&json!({"queryType": "metric", "concept": "latency"})).unwrap_err();
        assert!(
            e.to_string().contains("unknown variant `latency`") && e.to_string().contains("ttft"),
            "{e}"
        );
        let e =
            Query::from_json(&json!({"queryType": "metric", "concept": "ttft", "stat": "p950"}))
                .unwrap_err();
        assert!(e.to_string().contains("expected one of p50"), "{e}");
        let e = Query::from_json(&json!({"concept": "ttft"})).unwrap_err();
        assert!(e.to_string().contains("`queryType` is missing"), "{e}");
        let e = Query::from_json(
            &json!({"queryType": "slo", "sli": "ttft", "threshold": 0.5, "objective": 99.0,
            "view": "attainment"}),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("`objective` must be a fraction in (0, 1)"),
            "{e}"
        );
        let e = Query::from_json(
            &json!({"queryType": "metric", "concept": "ttft", "groupBy": ["mo-del"]}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("`groupBy[0]`"), "{e}");
    }
}
