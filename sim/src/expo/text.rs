//! The two text renderers (Prometheus text format 0.0.4, as each real server writes it).

use super::format::{cpp_g6, escape_help, escape_label_value, py_float, rust_float};
use super::{Kind, Sink};
use crate::hist::Hist;

/// `Content-Type` both servers send.
pub const CONTENT_TYPE_PYTHON: &str = "text/plain; version=0.0.4; charset=utf-8";
pub const CONTENT_TYPE_RUST: &str = "text/plain; version=0.0.4";

/// Python `prometheus_client.exposition.generate_latest` (the format vLLM's `/metrics` serves).
#[derive(Debug, Default)]
pub struct PythonText {
    pub out: String,
    name: String,
}

impl PythonText {
    fn line(
        &mut self,
        suffix: &str,
        labels: &[(&str, &str)],
        extra: Option<(&str, &str)>,
        value: f64,
    ) {
        let mut all: Vec<(&str, &str)> = labels.to_vec();
        if let Some(e) = extra {
            all.push(e);
        }
        all.sort_by(|a, b| a.0.cmp(b.0));
        self.out.push_str(&self.name);
        self.out.push_str(suffix);
        if !all.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in all.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(k);
                self.out.push_str("=\"");
                escape_label_value(v, &mut self.out);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        self.out.push_str(&py_float(value));
        self.out.push('\n');
    }
}

impl Sink for PythonText {
    fn family(&mut self, name: &str, help: Option<&str>, kind: Kind) {
        self.name = name.to_string();
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        escape_help(help.unwrap_or(""), &mut self.out);
        self.out.push_str("\n# TYPE ");
        self.out.push_str(name);
        self.out.push(' ');
        self.out.push_str(kind.as_str());
        self.out.push('\n');
    }

    fn scalar(&mut self, labels: &[(&str, &str)], value: f64) {
        self.line("", labels, None, value);
    }

    fn histogram(&mut self, labels: &[(&str, &str)], h: &Hist) {
        let layout = h.layout.clone();
        for (le, c) in layout.le.iter().zip(h.cumulative()) {
            self.line("_bucket", labels, Some(("le", le)), c as f64);
        }
        self.line("_bucket", labels, Some(("le", "+Inf")), h.count as f64);
        self.line("_count", labels, None, h.count as f64);
        self.line("_sum", labels, None, h.sum);
    }

    fn summary(
        &mut self,
        labels: &[(&str, &str)],
        quantiles: &[(&str, f64)],
        sum: f64,
        count: u64,
    ) {
        for (q, v) in quantiles {
            self.line("", labels, Some(("quantile", q)), *v);
        }
        self.line("_count", labels, None, count as f64);
        self.line("_sum", labels, None, sum);
    }
}

/// `metrics-exporter-prometheus` 0.15 `PrometheusHandle::render` (the format TGI's `/metrics` serves).
#[derive(Debug, Default)]
pub struct RustExporterText {
    pub out: String,
    name: String,
    kind: Option<Kind>,
}

impl RustExporterText {
    fn line(
        &mut self,
        suffix: &str,
        labels: &[(&str, &str)],
        extra: Option<(&str, &str)>,
        value: &str,
    ) {
        self.out.push_str(&self.name);
        self.out.push_str(suffix);
        if !labels.is_empty() || extra.is_some() {
            self.out.push('{');
            let mut first = true;
            for (k, v) in labels.iter().chain(extra.iter()) {
                if !first {
                    self.out.push(',');
                }
                first = false;
                self.out.push_str(k);
                self.out.push_str("=\"");
                escape_label_value(v, &mut self.out);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        self.out.push_str(value);
        self.out.push('\n');
    }

    /// Finishes the exposition (the exporter ends every family, including the last, with a blank line).
    pub fn finish(mut self) -> String {
        if self.kind.is_some() {
            self.out.push('\n');
        }
        self.out
    }
}

impl Sink for RustExporterText {
    fn family(&mut self, name: &str, help: Option<&str>, kind: Kind) {
        if self.kind.is_some() {
            self.out.push('\n');
        }
        self.name = name.to_string();
        self.kind = Some(kind);
        if let Some(help) = help {
            self.out.push_str("# HELP ");
            self.out.push_str(name);
            self.out.push(' ');
            escape_help(help, &mut self.out);
            self.out.push('\n');
        }
        self.out.push_str("# TYPE ");
        self.out.push_str(name);
        self.out.push(' ');
        self.out.push_str(kind.as_str());
        self.out.push('\n');
    }

    fn scalar(&mut self, labels: &[(&str, &str)], value: f64) {
        let v = if self.kind == Some(Kind::Counter) {
            format!("{}", value as u64)
        } else {
            rust_float(value)
        };
        self.line("", labels, None, &v);
    }

    fn histogram(&mut self, labels: &[(&str, &str)], h: &Hist) {
        let layout = h.layout.clone();
        for (le, c) in layout.le.iter().zip(h.cumulative()) {
            self.line("_bucket", labels, Some(("le", le)), &c.to_string());
        }
        self.line(
            "_bucket",
            labels,
            Some(("le", "+Inf")),
            &h.count.to_string(),
        );
        self.line("_sum", labels, None, &rust_float(h.sum));
        self.line("_count", labels, None, &h.count.to_string());
    }

    fn summary(
        &mut self,
        labels: &[(&str, &str)],
        quantiles: &[(&str, f64)],
        sum: f64,
        count: u64,
    ) {
        for (q, v) in quantiles {
            self.line("", labels, Some(("quantile", q)), &rust_float(*v));
        }
        self.line("_sum", labels, None, &rust_float(sum));
        self.line("_count", labels, None, &count.to_string());
    }
}

/// llama.cpp `llama-server` `/metrics`: for every metric `# HELP llamacpp:<name> <help>`, `# TYPE …`, then one
/// unlabelled sample printed with C++ stream defaults (6 significant digits). No histograms, no summaries.
#[derive(Debug, Default)]
pub struct CppStreamText {
    pub out: String,
    name: String,
}

impl Sink for CppStreamText {
    fn family(&mut self, name: &str, help: Option<&str>, kind: Kind) {
        self.name = name.to_string();
        // llama.cpp writes the help verbatim (no escaping; its texts contain none of `\` or newline).
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        self.out.push_str(help.unwrap_or(""));
        self.out.push_str("\n# TYPE ");
        self.out.push_str(name);
        self.out.push(' ');
        self.out.push_str(kind.as_str());
        self.out.push('\n');
    }

    fn scalar(&mut self, labels: &[(&str, &str)], value: f64) {
        debug_assert!(labels.is_empty(), "llama.cpp metrics have no labels");
        self.out.push_str(&self.name);
        self.out.push(' ');
        self.out.push_str(&cpp_g6(value));
        self.out.push('\n');
    }

    fn histogram(&mut self, _labels: &[(&str, &str)], _h: &Hist) {
        unreachable!("llama.cpp exposes no histograms")
    }

    fn summary(&mut self, _: &[(&str, &str)], _: &[(&str, f64)], _: f64, _: u64) {
        unreachable!("llama.cpp exposes no summaries")
    }
}
