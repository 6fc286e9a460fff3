//! infermon-sim: simulated vLLM, TGI, SGLang and llama.cpp inference servers whose `/metrics` Prometheus cannot tell from the real
//! thing, and whose true behaviour is known.
//!
//! - [`engine`]: discrete-event model of one continuous-batching replica (seeded, deterministic);
//! - [`scenario`]: named operating conditions (steady, burst, kv-pressure, slow-prefill, errors, outage, stall);
//! - [`expo`]: byte-faithful vLLM/TGI/SGLang/llama.cpp expositions;
//! - [`truth`]: exact per-request ground truth;
//! - [`fleet`]: serve a whole fleet on loopback ports with `/metrics`, `/truth` and `/control`;
//! - [`backfill`]: months of timestamped OpenMetrics for `promtool tsdb create-blocks-from openmetrics`.
//!
//! See `docs/simulator.md`.

pub mod backfill;
pub mod config;
pub mod engine;
pub mod expo;
pub mod fleet;
pub mod hist;
pub mod request;
pub mod rng;
pub mod scenario;
pub mod stats;
pub mod truth;

pub use config::{BackendKind, ConfigError, FleetConfig, ReplicaSpec, Version};
pub use engine::Engine;
pub use scenario::Scenario;
