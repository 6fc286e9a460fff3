//! The production [`ContextSource`]: context queries from `infermon-core`, executed by `infermon-prom`.
//!
//! Until those crates provide the context translations this returns no source, and notifications go out with
//! "Model context unavailable: no Prometheus client configured". PromQL is never written by hand in this crate.

use std::sync::Arc;

use crate::enrich::ContextSource;
use crate::Config;

/// The context source for a config, if one can be built.
pub fn source_for(_config: &Config) -> Option<Arc<dyn ContextSource>> {
    None
}
