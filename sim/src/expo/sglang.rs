//! SGLang `/metrics` (`--enable-metrics`): the `sglang:*` families of `python/sglang/srt/metrics/collector.py`
//! (sgl-project/sglang commit 00ae9c15; metrics-catalog.md §3) as prometheus_client's multiprocess collector
//! serves them: 0.0.4 text, sorted labels, `floatToGoString` numbers, no `_created` series.
//!
//! Emitted: the tokenizer collector's request counters and latency histograms (label `model_name`, updated when a
//! request finishes, TTFT at the first token and ITL per streamed chunk) and the scheduler collector's main gauges,
//! retraction counter and queue-time histogram (labels `engine_type`, `model_name`, `pp_rank`, `tp_rank`; the
//! exact scheduler label set varies by version and is UNVERIFIED in the catalog). Families of optional features
//! (PD disaggregation, grammar, LoRA, storage, routing keys, token histograms) are not emitted. Family order is
//! fixed here (the multiprocess collector's order depends on its files).
//!
//! Values without a counterpart in the model: `gen_throughput` is the running batch over the current decode step
//! time, `cache_hit_rate` the cumulative cached/prompt token ratio, the speculative-decoding gauges 0 (no draft
//! model), `num_retracted_reqs` the retracted requests waiting to resume.

use super::{Kind, Sink};
use crate::engine::Engine;
use crate::hist::Hist;
use crate::stats::{SglangStats, Stats};
use infermon_core::catalog::names::sglang as n;

mod help {
    pub const PROMPT: &str = "Number of prefill tokens processed.";
    pub const GENERATION: &str = "Number of generation tokens processed.";
    pub const CACHED: &str = "Number of cached prompt tokens.";
    pub const REQUESTS: &str = "Number of requests processed.";
    pub const ABORTED: &str = "Number of requests aborted.";
    pub const TTFT: &str = "Histogram of time to first token in seconds.";
    pub const ITL: &str = "Histogram of inter-token latency in seconds.";
    pub const E2E: &str = "Histogram of End-to-end request latency in seconds";
    pub const RETRACTIONS: &str = "Histogram of retraction counts per request.";
    pub const RUNNING: &str = "The number of running requests.";
    pub const USED_TOKENS: &str = "The number of used tokens.";
    pub const TOKEN_USAGE: &str = "The token usage.";
    pub const GEN_THROUGHPUT: &str = "The generation throughput (token/s).";
    pub const QUEUE: &str = "The number of requests in the waiting queue.";
    pub const GRAMMAR_QUEUE: &str = "The number of requests in the grammar waiting queue.";
    pub const CACHE_HIT_RATE: &str = "The prefix cache hit rate.";
    pub const MAX_TOTAL: &str = "Maximum total number of tokens in the KV cache pool.";
    pub const SPEC_LEN: &str = "The average acceptance length of speculative decoding.";
    pub const SPEC_RATE: &str = "The average acceptance rate of speculative decoding (`accepted tokens / total draft tokens` in batch).";
    pub const RETRACTED: &str = "The number of retracted requests.";
    pub const RETRACTED_TOTAL: &str = "Total number of retracted requests.";
    pub const QUEUE_TIME: &str = "Histogram of queueing time in seconds.";
}

/// Family names the catalog does not spell.
pub mod names {
    pub const NUM_RETRACTIONS: &str = "sglang:num_retractions";
    pub const NUM_USED_TOKENS: &str = "sglang:num_used_tokens";
    pub const GEN_THROUGHPUT: &str = "sglang:gen_throughput";
    pub const NUM_GRAMMAR_QUEUE_REQS: &str = "sglang:num_grammar_queue_reqs";
    pub const CACHE_HIT_RATE: &str = "sglang:cache_hit_rate";
    pub const MAX_TOTAL_NUM_TOKENS: &str = "sglang:max_total_num_tokens";
    pub const SPEC_ACCEPT_LENGTH: &str = "sglang:spec_accept_length";
    pub const NUM_RETRACTED_REQS: &str = "sglang:num_retracted_reqs";
    pub const NUM_RETRACTED_REQUESTS_TOTAL: &str = "sglang:num_retracted_requests_total";
    pub const QUEUE_TIME_SECONDS: &str = "sglang:queue_time_seconds";
}

/// Builds one SGLang exposition.
pub struct SglangExposition<'a> {
    pub engine: &'a Engine,
    /// Emit lazily-created series from the start (prometheus_client creates a labelled child on first use;
    /// backfill wants a stable set of series).
    pub all_series: bool,
}

impl SglangExposition<'_> {
    pub fn write<S: Sink>(&self, sink: &mut S, wants: &dyn Fn(&str) -> bool) {
        let e = self.engine;
        let Stats::Sglang(s) = &e.stats else {
            panic!("SglangExposition on a non-SGLang replica")
        };
        let s: &SglangStats = s;
        let all = self.all_series;
        let model = e.spec.model.as_str();
        let tok: &[(&str, &str)] = &[("model_name", model)];
        let sch: &[(&str, &str)] = &[
            ("engine_type", "unified"),
            ("model_name", model),
            ("pp_rank", "0"),
            ("tp_rank", "0"),
        ];
        let scalar = |sink: &mut S,
                      name: &str,
                      help: &str,
                      kind: Kind,
                      labels: &[(&str, &str)],
                      v: f64,
                      on: bool| {
            if on && wants(name) {
                sink.family(name, Some(help), kind);
                sink.scalar(labels, v);
            }
        };
        let finished = all || s.num_requests > 0.0;
        scalar(
            sink,
            n::PROMPT_TOKENS_TOTAL,
            help::PROMPT,
            Kind::Counter,
            tok,
            s.prompt_tokens,
            finished,
        );
        scalar(
            sink,
            n::GENERATION_TOKENS_TOTAL,
            help::GENERATION,
            Kind::Counter,
            tok,
            s.generation_tokens,
            finished,
        );
        scalar(
            sink,
            n::CACHED_TOKENS_TOTAL,
            help::CACHED,
            Kind::Counter,
            tok,
            s.cached_tokens,
            all || s.cached_tokens > 0.0,
        );
        scalar(
            sink,
            n::NUM_REQUESTS_TOTAL,
            help::REQUESTS,
            Kind::Counter,
            tok,
            s.num_requests,
            finished,
        );
        scalar(
            sink,
            n::NUM_ABORTED_REQUESTS_TOTAL,
            help::ABORTED,
            Kind::Counter,
            tok,
            s.num_aborted,
            all || s.num_aborted > 0.0,
        );
        let hist = |sink: &mut S, name: &str, help: &str, labels: &[(&str, &str)], h: &Hist| {
            if (all || h.count > 0) && wants(name) {
                sink.family(name, Some(help), Kind::Histogram);
                sink.histogram(labels, h);
            }
        };
        hist(
            sink,
            n::TIME_TO_FIRST_TOKEN_SECONDS,
            help::TTFT,
            tok,
            &s.ttft,
        );
        hist(sink, n::INTER_TOKEN_LATENCY_SECONDS, help::ITL, tok, &s.itl);
        hist(sink, n::E2E_REQUEST_LATENCY_SECONDS, help::E2E, tok, &s.e2e);
        hist(
            sink,
            names::NUM_RETRACTIONS,
            help::RETRACTIONS,
            tok,
            &s.num_retractions,
        );

        // Scheduler gauges: set by the first logged batch.
        let logged =
            all || e.truth.total.finished > 0 || !e.running.is_empty() || !e.waiting.is_empty();
        let p = &e.spec.engine;
        let capacity = f64::from(p.kv_blocks) * f64::from(p.block_size);
        let usage = e.kv_usage();
        let running = e.running.len() as f64;
        let gen_throughput = if running > 0.0 {
            running / (p.decode_step_seconds + p.decode_seconds_per_seq * running)
        } else {
            0.0
        };
        let hit_rate = if s.prompt_tokens > 0.0 {
            s.cached_tokens / s.prompt_tokens
        } else {
            0.0
        };
        let retracted_waiting = e.waiting.iter().filter(|r| r.preemptions > 0).count() as f64;
        let g = Kind::Gauge;
        scalar(
            sink,
            n::NUM_RUNNING_REQS,
            help::RUNNING,
            g,
            sch,
            running,
            logged,
        );
        scalar(
            sink,
            names::NUM_USED_TOKENS,
            help::USED_TOKENS,
            g,
            sch,
            (usage * f64::from(e.kv_capacity()) * f64::from(p.block_size)).round(),
            logged,
        );
        scalar(
            sink,
            n::TOKEN_USAGE,
            help::TOKEN_USAGE,
            g,
            sch,
            usage,
            logged,
        );
        scalar(
            sink,
            names::GEN_THROUGHPUT,
            help::GEN_THROUGHPUT,
            g,
            sch,
            gen_throughput,
            logged,
        );
        scalar(
            sink,
            n::NUM_QUEUE_REQS,
            help::QUEUE,
            g,
            sch,
            e.waiting.len() as f64,
            logged,
        );
        scalar(
            sink,
            names::NUM_GRAMMAR_QUEUE_REQS,
            help::GRAMMAR_QUEUE,
            g,
            sch,
            0.0,
            logged,
        );
        scalar(
            sink,
            names::CACHE_HIT_RATE,
            help::CACHE_HIT_RATE,
            g,
            sch,
            hit_rate,
            logged,
        );
        scalar(
            sink,
            names::MAX_TOTAL_NUM_TOKENS,
            help::MAX_TOTAL,
            g,
            sch,
            capacity,
            logged,
        );
        scalar(
            sink,
            names::SPEC_ACCEPT_LENGTH,
            help::SPEC_LEN,
            g,
            sch,
            0.0,
            logged,
        );
        scalar(
            sink,
            n::SPEC_ACCEPT_RATE,
            help::SPEC_RATE,
            g,
            sch,
            0.0,
            logged,
        );
        scalar(
            sink,
            names::NUM_RETRACTED_REQS,
            help::RETRACTED,
            g,
            sch,
            retracted_waiting,
            logged,
        );
        scalar(
            sink,
            names::NUM_RETRACTED_REQUESTS_TOTAL,
            help::RETRACTED_TOTAL,
            Kind::Counter,
            sch,
            s.retracted,
            all || s.retracted > 0.0,
        );
        hist(
            sink,
            names::QUEUE_TIME_SECONDS,
            help::QUEUE_TIME,
            sch,
            &s.queue_time,
        );
    }
}
