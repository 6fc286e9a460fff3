//! Writing synthetic time series as text for backfills: OpenMetrics for `promtool tsdb create-blocks-from
//! openmetrics` (timestamps in seconds, `# EOF` terminator) and Prometheus exposition with millisecond timestamps
//! for VictoriaMetrics' `/api/v1/import/prometheus`.
//!
//! Label values are escaped (`\\`, `"`, newline) as both formats require; metric and label names are validated.

use std::fmt::Write as _;

/// Metric type written in the `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// `gauge`
    Gauge,
    /// `counter` (the sample name must end in `_total`)
    Counter,
    /// `unknown` (use for histogram `_bucket`/`_sum`/`_count` series written individually)
    Unknown,
}

impl MetricType {
    fn as_str(self) -> &'static str {
        match self {
            MetricType::Gauge => "gauge",
            MetricType::Counter => "counter",
            MetricType::Unknown => "unknown",
        }
    }
}

/// Accumulates samples family by family; samples of one family must be added together (OpenMetrics forbids
/// interleaving families), which [`Writer::family`] enforces by construction.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    openmetrics: String,
    prometheus_ms: String,
    samples: usize,
}

/// One metric family being written; see [`Writer::family`].
pub struct Family<'w> {
    w: &'w mut Writer,
    sample_name: String,
}

/// Returns an error text if `name` is not a valid Prometheus metric/label name.
fn check_name(name: &str, allow_colon: bool) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.chars().enumerate().all(|(i, c)| {
            c.is_ascii_alphabetic()
                || c == '_'
                || (allow_colon && c == ':')
                || (i > 0 && c.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid name {name:?}: expected [a-zA-Z_][a-zA-Z0-9_]*"
        ))
    }
}

/// Escapes a label value for the text formats.
pub fn escape_label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Renders a float the way the text formats expect (`NaN`, `+Inf`, `-Inf`, shortest round-trip otherwise).
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a family. For counters, `name` is the family name without `_total`; samples are written as
    /// `<name>_total`. Panics on an invalid metric name (test-data bug).
    pub fn family(&mut self, name: &str, kind: MetricType, help: &str) -> Family<'_> {
        check_name(name, true).unwrap_or_else(|e| panic!("metric family: {e}"));
        let _ = writeln!(
            self.openmetrics,
            "# HELP {name} {}",
            help.replace('\n', " ")
        );
        let _ = writeln!(self.openmetrics, "# TYPE {name} {}", kind.as_str());
        let sample_name = match kind {
            MetricType::Counter => format!("{name}_total"),
            _ => name.to_string(),
        };
        Family {
            w: self,
            sample_name,
        }
    }

    /// Number of samples written so far.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// The OpenMetrics text, terminated by `# EOF` (timestamps in seconds).
    pub fn to_openmetrics(&self) -> String {
        let mut s = self.openmetrics.clone();
        s.push_str("# EOF\n");
        s
    }

    /// The same samples as Prometheus exposition with millisecond timestamps and no metadata lines, as
    /// VictoriaMetrics' `/api/v1/import/prometheus` expects.
    pub fn to_prometheus_ms(&self) -> String {
        self.prometheus_ms.clone()
    }
}

impl Family<'_> {
    /// Adds one sample. `labels` are (name, value) pairs; `timestamp_ms` is Unix time in milliseconds.
    /// Panics on an invalid label name (test-data bug).
    pub fn sample(&mut self, labels: &[(&str, &str)], value: f64, timestamp_ms: i64) -> &mut Self {
        let mut series = self.sample_name.clone();
        if !labels.is_empty() {
            series.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                check_name(k, false).unwrap_or_else(|e| panic!("label: {e}"));
                if i > 0 {
                    series.push(',');
                }
                let _ = write!(series, "{k}=\"{}\"", escape_label_value(v));
            }
            series.push('}');
        }
        let value = format_value(value);
        let _ = writeln!(
            self.w.openmetrics,
            "{series} {value} {}.{:03}",
            timestamp_ms.div_euclid(1000),
            timestamp_ms.rem_euclid(1000)
        );
        let _ = writeln!(self.w.prometheus_ms, "{series} {value} {timestamp_ms}");
        self.w.samples += 1;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_openmetrics_and_prometheus_ms() {
        let mut w = Writer::new();
        w.family("req", MetricType::Counter, "requests")
            .sample(&[("model", "a\"b")], 1.0, 1_700_000_000_000)
            .sample(&[("model", "a\"b")], 2.5, 1_700_000_015_500);
        w.family("up", MetricType::Gauge, "up")
            .sample(&[], f64::NAN, 1_700_000_000_000);
        assert_eq!(
            w.to_openmetrics(),
            "# HELP req requests\n# TYPE req counter\nreq_total{model=\"a\\\"b\"} 1 1700000000.000\n\
             req_total{model=\"a\\\"b\"} 2.5 1700000015.500\n# HELP up up\n# TYPE up gauge\nup NaN 1700000000.000\n# EOF\n"
        );
        assert_eq!(
            w.to_prometheus_ms(),
            "req_total{model=\"a\\\"b\"} 1 1700000000000\nreq_total{model=\"a\\\"b\"} 2.5 1700000015500\nup NaN 1700000000000\n"
        );
        assert_eq!(w.samples(), 3);
    }

    #[test]
    #[should_panic(expected = "invalid name")]
    fn rejects_bad_label_names() {
        Writer::new()
            .family("x", MetricType::Gauge, "")
            .sample(&[("1bad", "v")], 1.0, 0);
    }

    #[test]
    fn formats_special_values() {
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(0.1), "0.1");
    }
}
