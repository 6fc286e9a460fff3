//! Typed results of the Prometheus HTTP API.
//!
//! Range results are **columnar** (per series: labels, `Vec<i64>` millisecond timestamps, `Vec<f64>` values)
//! because that is what consumers build from (one Grafana frame per series with a time and a value field; SLO
//! math over a value column), and it is what the decoder in [`crate::decode`] fills without intermediate
//! allocations. Everything the server says besides the data — `warnings`, `infos`, VictoriaMetrics' `isPartial`,
//! `stats` — is kept in [`Response`].

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// One API answer: the data plus everything the server said about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Response<T> {
    /// The typed `data` field.
    pub data: T,
    /// `warnings` (Thanos partial responses, Prometheus annotations). Never dropped: show them to users.
    pub warnings: Vec<String>,
    /// `infos` (newer Prometheus info annotations).
    pub infos: Vec<String>,
    /// VictoriaMetrics cluster's `isPartial`: `Some(true)` means some storage nodes did not answer.
    pub is_partial: Option<bool>,
    /// `data.stats` when the query asked for `stats=all` (Prometheus only).
    pub stats: Option<Stats>,
}

impl<T> Response<T> {
    /// True if the server flagged the data as incomplete (`isPartial: true`).
    pub fn partial(&self) -> bool {
        self.is_partial == Some(true)
    }

    /// Maps the data, keeping the metadata.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Response<U> {
        Response {
            data: f(self.data),
            warnings: self.warnings,
            infos: self.infos,
            is_partial: self.is_partial,
            stats: self.stats,
        }
    }
}

/// The `resultType` of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultType {
    /// Instant vector.
    Vector,
    /// Range vector (query_range, or an instant query of a range selector).
    Matrix,
    /// Scalar.
    Scalar,
    /// String.
    String,
}

impl ResultType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResultType::Vector => "vector",
            ResultType::Matrix => "matrix",
            ResultType::Scalar => "scalar",
            ResultType::String => "string",
        }
    }
}

/// The result of `query` / `query_range`.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryData {
    /// `resultType: vector`.
    Vector(Vec<Sample>),
    /// `resultType: matrix`.
    Matrix(Vec<Series>),
    /// `resultType: scalar`.
    Scalar(Point),
    /// `resultType: string`.
    String(StringPoint),
}

impl QueryData {
    /// The result type.
    pub fn result_type(&self) -> ResultType {
        match self {
            QueryData::Vector(_) => ResultType::Vector,
            QueryData::Matrix(_) => ResultType::Matrix,
            QueryData::Scalar(_) => ResultType::Scalar,
            QueryData::String(_) => ResultType::String,
        }
    }

    /// The series of a matrix result (empty for other types).
    pub fn as_matrix(&self) -> &[Series] {
        match self {
            QueryData::Matrix(m) => m,
            _ => &[],
        }
    }

    /// The samples of a vector result (empty for other types).
    pub fn as_vector(&self) -> &[Sample] {
        match self {
            QueryData::Vector(v) => v,
            _ => &[],
        }
    }

    /// Total number of float points (matrix: all series; vector: one per sample; scalar: 1).
    pub fn point_count(&self) -> usize {
        match self {
            QueryData::Vector(v) => v.len(),
            QueryData::Matrix(m) => m.iter().map(|s| s.values.len()).sum(),
            QueryData::Scalar(_) | QueryData::String(_) => 1,
        }
    }
}

/// A label set, in the server's order (Prometheus sorts by name).
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Labels(pub Vec<(String, String)>);

impl Labels {
    /// The value of a label.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `__name__`, if present.
    pub fn metric_name(&self) -> Option<&str> {
        self.get("__name__")
    }

    /// Iterates (name, value).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for `{}`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// As an ordered map.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.0.iter().cloned().collect()
    }
}

/// `name{a="b", c="d"}` with label names sorted and values escaped (`__name__` becomes the prefix), like
/// Grafana's default legend.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest: Vec<&(String, String)> =
            self.0.iter().filter(|(k, _)| k != "__name__").collect();
        rest.sort();
        if let Some(n) = self.metric_name() {
            f.write_str(n)?;
        }
        f.write_str("{")?;
        for (i, (k, v)) in rest.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}=\"")?;
            for c in v.chars() {
                match c {
                    '\\' => f.write_str("\\\\")?,
                    '"' => f.write_str("\\\"")?,
                    '\n' => f.write_str("\\n")?,
                    c => write!(f, "{c}")?,
                }
            }
            f.write_str("\"")?;
        }
        f.write_str("}")
    }
}

impl FromIterator<(String, String)> for Labels {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        Labels(iter.into_iter().collect())
    }
}

/// One series of a matrix, columnar. `timestamps_ms.len() == values.len()`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// The series labels (`metric`).
    pub labels: Labels,
    /// Unix time in milliseconds of each float point.
    pub timestamps_ms: Vec<i64>,
    /// Float values (`NaN`, `±Inf` included).
    pub values: Vec<f64>,
    /// Native-histogram points (`histograms`), if any.
    pub histograms: Vec<(i64, NativeHistogram)>,
}

/// One element of a vector result.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series labels.
    pub labels: Labels,
    /// Unix time in milliseconds.
    pub timestamp_ms: i64,
    /// The float value; NaN when the sample is a native histogram (see `histogram`).
    pub value: f64,
    /// The native histogram, for histogram samples.
    pub histogram: Option<NativeHistogram>,
}

/// A scalar result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Unix time in milliseconds.
    pub timestamp_ms: i64,
    /// The value.
    pub value: f64,
}

/// A string result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringPoint {
    /// Unix time in milliseconds.
    pub timestamp_ms: i64,
    /// The string.
    pub value: String,
}

/// A native histogram sample (Prometheus ≥ 2.40 with `--enable-feature=native-histograms`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NativeHistogram {
    /// Observation count.
    pub count: f64,
    /// Sum of observations.
    pub sum: f64,
    /// Buckets.
    pub buckets: Vec<HistogramBucket>,
}

/// One native-histogram bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistogramBucket {
    /// 0: (lower, upper], 1: [lower, upper), 2: (lower, upper), 3: [lower, upper].
    pub boundary_rule: u8,
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Count in the bucket.
    pub count: f64,
}

/// `data.stats` of a query asked with `stats=all`. `raw` keeps the whole object (Grafana puts it into the
/// frame's `Meta.Custom.stats`); the typed fields are the ones we read.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Timings in seconds.
    pub timings: Option<Timings>,
    /// Sample counts.
    pub samples: Option<SampleStats>,
    /// The whole stats object as sent.
    pub raw: serde_json::Value,
}

/// `stats.timings` (seconds).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Timings {
    /// Total evaluation time.
    pub eval_total_time: f64,
    /// Result sorting time.
    pub result_sort_time: f64,
    /// Query preparation time.
    pub query_preparation_time: f64,
    /// Inner evaluation time.
    pub inner_eval_time: f64,
    /// Time waiting in the query queue.
    pub exec_queue_time: f64,
    /// Total execution time.
    pub exec_total_time: f64,
}

/// `stats.samples`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SampleStats {
    /// Samples read from storage ("samples touched"; the dashboard-cost metric).
    pub total_queryable_samples: i64,
    /// High-water mark of samples in memory.
    pub peak_samples: i64,
    /// Per-step counts `[ts, count]` (only with `--enable-feature=promql-per-step-stats`).
    pub total_queryable_samples_per_step: Option<Vec<(f64, i64)>>,
}

/// `/api/v1/status/buildinfo`. VictoriaMetrics fills only `version`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BuildInfo {
    /// Version, e.g. `2.42.0+ds`.
    pub version: String,
    /// VCS revision.
    pub revision: String,
    /// VCS branch.
    pub branch: String,
    /// Build user.
    pub build_user: String,
    /// Build date.
    pub build_date: String,
    /// Go version.
    pub go_version: String,
}

/// `/api/v1/rules` data.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct RulesData {
    /// Rule groups.
    pub groups: Vec<RuleGroup>,
}

/// A rule group.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RuleGroup {
    /// Group name.
    pub name: String,
    /// File it was loaded from.
    pub file: String,
    /// Rules.
    pub rules: Vec<Rule>,
    /// Evaluation interval in seconds.
    pub interval: f64,
    /// Last evaluation duration in seconds.
    pub evaluation_time: Option<f64>,
    /// Last evaluation timestamp (RFC 3339).
    pub last_evaluation: Option<String>,
}

/// A rule, by `type`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Rule {
    /// `type: alerting`.
    Alerting(AlertingRule),
    /// `type: recording`.
    Recording(RecordingRule),
}

impl Rule {
    /// The rule's name (alert name or recorded metric).
    pub fn name(&self) -> &str {
        match self {
            Rule::Alerting(r) => &r.name,
            Rule::Recording(r) => &r.name,
        }
    }

    /// `ok`, `err` or `unknown`.
    pub fn health(&self) -> &str {
        match self {
            Rule::Alerting(r) => &r.health,
            Rule::Recording(r) => &r.health,
        }
    }
}

/// An alerting rule with its active alerts.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AlertingRule {
    /// Alert name.
    pub name: String,
    /// PromQL.
    pub query: String,
    /// `for` in seconds.
    pub duration: f64,
    /// Rule labels.
    pub labels: BTreeMap<String, String>,
    /// Rule annotations.
    pub annotations: BTreeMap<String, String>,
    /// Active (pending/firing) alerts.
    pub alerts: Vec<Alert>,
    /// `ok`, `err`, `unknown`.
    pub health: String,
    /// Last evaluation error.
    pub last_error: Option<String>,
    /// `inactive`, `pending`, `firing`.
    pub state: String,
    /// Last evaluation duration (s).
    pub evaluation_time: Option<f64>,
    /// Last evaluation timestamp.
    pub last_evaluation: Option<String>,
}

/// An active alert.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Alert {
    /// Alert labels.
    pub labels: BTreeMap<String, String>,
    /// Alert annotations.
    pub annotations: BTreeMap<String, String>,
    /// `pending` or `firing`.
    pub state: String,
    /// When it became active (RFC 3339).
    pub active_at: Option<String>,
    /// The value, as sent (a string).
    pub value: String,
}

/// A recording rule.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RecordingRule {
    /// Recorded metric name.
    pub name: String,
    /// PromQL.
    pub query: String,
    /// Extra labels.
    pub labels: BTreeMap<String, String>,
    /// `ok`, `err`, `unknown`.
    pub health: String,
    /// Last evaluation error.
    pub last_error: Option<String>,
    /// Last evaluation duration (s).
    pub evaluation_time: Option<f64>,
    /// Last evaluation timestamp.
    pub last_evaluation: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_display_like_grafana_legend() {
        let l: Labels = [("job", "a\"b"), ("__name__", "up"), ("instance", "x")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(l.to_string(), "up{instance=\"x\", job=\"a\\\"b\"}");
        assert_eq!(l.get("instance"), Some("x"));
        assert_eq!(Labels::default().to_string(), "{}");
    }
}
