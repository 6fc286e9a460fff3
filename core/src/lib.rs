//! infermon-core: the pure domain of infermon — no network, no files, no async.
//!
//! - [`catalog`]: every inference concept × backend (vLLM, TGI, SGLang, llama.cpp): exposed series, buckets,
//!   fidelity, and why not when unsupported. The single source of truth for everything below and for the simulator.
//! - [`query`]: the query model (JSON) shared by the frontend, dashboards, plugin and CLI.
//! - [`promql`]: a typed PromQL builder with escaping of every label value.
//! - [`translate`]: query + engine context → PromQL with unit, legend and notices.
//! - [`duration`]: Prometheus durations.

pub mod catalog;
pub mod context;
pub mod dashboards;
pub mod duration;
pub mod promql;
pub mod query;
pub mod rules;
pub mod translate;

pub use catalog::{Backend, Concept};
pub use duration::PromDuration;
pub use query::Query;
pub use translate::{translate, Context, Translation};
