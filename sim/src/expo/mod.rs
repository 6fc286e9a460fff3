//! Exposition: turning a replica's state into the exact text the real server would serve.
//!
//! The family builders ([`vllm`], [`tgi`], [`sglang`], [`llamacpp`]) describe *what* is exposed (names, HELP, types, labels, values) to a
//! [`Sink`]; sinks decide *how* it is written:
//! - [`text::PythonText`]: Python `prometheus_client` 0.0.4 text, as vLLM serves it (sorted labels,
//!   `floatToGoString` numbers, `_created` gauge families, `_count` before `_sum`);
//! - [`text::RustExporterText`]: `metrics-exporter-prometheus` 0.15 text, as TGI serves it (blank line after
//!   each family, no HELP for undescribed metrics, Rust `Display` numbers, `le` last, `_sum` before `_count`);
//! - [`text::CppStreamText`]: llama.cpp's hand-written text (HELP/TYPE/value per metric, C++ `%g` numbers);
//!   SGLang uses [`text::PythonText`] (prometheus_client, multiprocess mode: no `_created` families);
//! - the backfill's column sink (`crate::backfill`), which records values per series over time.
//!
//! Why not the `prometheus-client` crate's encoder: its 0.0.4 encoder prints `le` the Go way (`le="1"`,
//! `le="5"`) where vLLM prints `le="1.0"`/`le="5.0"` (and SLO rules select `le="5.0"`), it appends `.` to every
//! HELP text and always prints HELP (TGI has HELP-less families), it has no summary type (TGI's
//! `tgi_request_skipped_tokens`), and it cannot write timestamps (backfill). The structured sinks here are
//! checked byte-for-byte against both fixtures instead (see `tests/exposition.rs`).

pub mod format;
pub mod llamacpp;
pub mod sglang;
pub mod shape;
pub mod text;
pub mod tgi;
pub mod vllm;

use crate::hist::Hist;

/// Metric type as declared on the `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
        }
    }
}

/// Receives one exposition, family by family.
pub trait Sink {
    /// Starts a family. `name` is the name on the `# TYPE` line of the 0.0.4 text format (vLLM counters
    /// therefore end in `_total`).
    fn family(&mut self, name: &str, help: Option<&str>, kind: Kind);
    /// A counter or gauge sample of the current family.
    fn scalar(&mut self, labels: &[(&str, &str)], value: f64);
    /// All samples of one histogram series of the current family.
    fn histogram(&mut self, labels: &[(&str, &str)], h: &Hist);
    /// All samples of one summary series (`quantiles` may be empty, as for Python summaries).
    fn summary(&mut self, labels: &[(&str, &str)], quantiles: &[(&str, f64)], sum: f64, count: u64);
}
