//! infermon-prom: async client for the Prometheus HTTP API, shared by the Grafana plugin, the webhook and the
//! CLI.
//!
//! It talks to Prometheus and to the engines that copy its API — Thanos, Mimir/Cortex (path prefix such as
//! `/prometheus`, `X-Scope-OrgID` tenant header, 429/413/499 errors), VictoriaMetrics (`isPartial`, different
//! limits) — and keeps what they add: `warnings`, `infos`, `isPartial` and `stats` are part of every
//! [`Response`], never dropped.
//!
//! ```no_run
//! # async fn demo() -> Result<(), infermon_prom::Error> {
//! use std::time::{Duration, SystemTime};
//! use infermon_prom::{Client, ClientConfig, QueryData};
//!
//! let client = Client::new(
//!     ClientConfig::new("http://mimir:8080/prometheus").header("X-Scope-OrgID", "team-a"),
//! )?;
//! let end = SystemTime::now();
//! let resp = client
//!     .query_range("sum by (model_name) (rate(vllm:generation_tokens_total[5m]))",
//!                  end - Duration::from_secs(3600), end, Duration::from_secs(15), true)
//!     .await?;
//! if let QueryData::Matrix(series) = &resp.data {
//!     for s in series {
//!         println!("{} has {} points", s.labels, s.values.len());
//!     }
//! }
//! for w in &resp.warnings { eprintln!("warning: {w}"); }
//! # Ok(()) }
//! ```
//!
//! Module map: [`config`] (validated settings, secrets), [`client`] (requests), [`decode`] (fast typed JSON
//! decoding into columnar series), [`types`] (results), [`error`] (typed errors).

pub mod client;
pub mod config;
pub mod decode;
pub mod error;
pub mod secret;
pub mod types;

pub use client::{parse_query_response, Client, QueryOptions, TimeRange};
pub use config::{BasicAuth, ClientConfig, ConfigError, HttpMethod};
pub use decode::parse_sample_value;
pub use error::{Error, ServerError};
pub use secret::Secret;
pub use types::{
    Alert, AlertingRule, BuildInfo, HistogramBucket, Labels, NativeHistogram, Point, QueryData,
    RecordingRule, Response, ResultType, Rule, RuleGroup, RulesData, Sample, SampleStats, Series,
    Stats, StringPoint, Timings,
};
