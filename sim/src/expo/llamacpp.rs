//! llama.cpp `llama-server --metrics`: the `llamacpp:*` metrics as `handle_metrics` prints them (metrics-catalog.md
//! §4; `tools/server/server.cpp`, older builds `examples/server/server.cpp`): counters first, then gauges, each as
//! `# HELP`, `# TYPE` and one unlabelled sample with C++ stream formatting (6 significant digits, so large
//! counters lose precision: `1.23457e+06`). No model label: the model comes from the scrape target.
//!
//! Generations: `latest` adds `n_decode_total`, `n_tokens_max` and `n_busy_slots_per_decode` and has no KV-cache
//! gauges; `legacy` has `kv_cache_usage_ratio` and `kv_cache_tokens` and the pre-#11512 HELP texts ("Number of
//! request processing."). The throughput gauges are averages since the server started here (the real server
//! resets them at every `/metrics` call, which a simulator scraped by several readers cannot reproduce).

use super::{Kind, Sink};
use crate::config::Version;
use crate::engine::Engine;
use crate::stats::{LlamacppStats, Stats};
use infermon_core::catalog::names::llamacpp as n;

/// Metric names the catalog does not spell.
pub mod names {
    pub const N_DECODE_TOTAL: &str = "llamacpp:n_decode_total";
    pub const N_TOKENS_MAX: &str = "llamacpp:n_tokens_max";
    pub const N_BUSY_SLOTS_PER_DECODE: &str = "llamacpp:n_busy_slots_per_decode";
    pub const PROMPT_TOKENS_SECONDS: &str = "llamacpp:prompt_tokens_seconds";
    pub const PREDICTED_TOKENS_SECONDS: &str = "llamacpp:predicted_tokens_seconds";
    pub const KV_CACHE_TOKENS: &str = "llamacpp:kv_cache_tokens";
}

/// Builds one llama.cpp exposition.
pub struct LlamacppExposition<'a> {
    pub engine: &'a Engine,
}

impl LlamacppExposition<'_> {
    pub fn write<S: Sink>(&self, sink: &mut S, wants: &dyn Fn(&str) -> bool) {
        let e = self.engine;
        let Stats::Llamacpp(s) = &e.stats else {
            panic!("LlamacppExposition on a non-llama.cpp replica")
        };
        let s: &LlamacppStats = s;
        let legacy = e.spec.version == Version::LlamacppLegacy;
        let mut put = |name: &str, help: &str, kind: Kind, v: f64| {
            if wants(name) {
                sink.family(name, Some(help), kind);
                sink.scalar(&[], v);
            }
        };
        // `(uint64_t) t_ms_total / 1.e3`: whole milliseconds.
        let seconds = |ms: f64| ms.floor() / 1e3;
        let c = Kind::Counter;
        put(
            n::PROMPT_TOKENS_TOTAL,
            "Number of prompt tokens processed.",
            c,
            s.prompt_tokens_total as f64,
        );
        put(
            n::PROMPT_SECONDS_TOTAL,
            "Prompt process time",
            c,
            seconds(s.prompt_ms_total),
        );
        put(
            n::TOKENS_PREDICTED_TOTAL,
            "Number of generation tokens processed.",
            c,
            s.tokens_predicted_total as f64,
        );
        put(
            n::TOKENS_PREDICTED_SECONDS_TOTAL,
            "Predict process time",
            c,
            seconds(s.predicted_ms_total),
        );
        if !legacy {
            put(
                names::N_DECODE_TOTAL,
                "Total number of llama_decode() calls",
                c,
                s.n_decode_total as f64,
            );
            put(
                names::N_TOKENS_MAX,
                "Largest observed n_tokens.",
                c,
                s.n_tokens_max as f64,
            );
            // `(float) n_busy_slots_total / max((float) n_decode_total, 1.f)`: single precision.
            let busy = (s.n_busy_slots_total as f32 / (s.n_decode_total as f32).max(1.0)) as f64;
            put(
                names::N_BUSY_SLOTS_PER_DECODE,
                "Average number of busy slots per llama_decode() call",
                c,
                busy,
            );
        }
        let g = Kind::Gauge;
        let rate = |tokens: u64, ms: f64| {
            if tokens > 0 && ms > 0.0 {
                1e3 / ms * tokens as f64
            } else {
                0.0
            }
        };
        put(
            names::PROMPT_TOKENS_SECONDS,
            "Average prompt throughput in tokens/s.",
            g,
            rate(s.prompt_tokens_total, s.prompt_ms_total),
        );
        put(
            names::PREDICTED_TOKENS_SECONDS,
            "Average generation throughput in tokens/s.",
            g,
            rate(s.tokens_predicted_total, s.predicted_ms_total),
        );
        if legacy {
            let p = &e.spec.engine;
            let used_tokens =
                (e.kv_usage() * f64::from(e.kv_capacity()) * f64::from(p.block_size)).round();
            put(
                n::KV_CACHE_USAGE_RATIO,
                "KV-cache usage. 1 means 100 percent usage.",
                g,
                e.kv_usage(),
            );
            put(names::KV_CACHE_TOKENS, "KV-cache tokens.", g, used_tokens);
        }
        let (processing, deferred) = if legacy {
            (
                "Number of request processing.",
                "Number of request deferred.",
            )
        } else {
            (
                "Number of requests processing.",
                "Number of requests deferred.",
            )
        };
        put(
            n::REQUESTS_PROCESSING,
            processing,
            g,
            e.running.len() as f64,
        );
        put(n::REQUESTS_DEFERRED, deferred, g, e.waiting.len() as f64);
    }
}
