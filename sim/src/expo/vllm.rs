//! vLLM V1 `/metrics`: families, HELP texts, types and labels as vLLM serves them.
//!
//! `0.10` follows the real capture `../shared/fixtures/vllm-0.10.x-ngc25.09-metrics.txt` family by family
//! (including the deprecated `gpu_*` names, `time_per_output_token_seconds`, the `_created` gauges that
//! prometheus_client adds to every counter and histogram, the process/python collectors and the FastAPI
//! instrumentator's `http_*` families). `latest` is today's set (metrics-catalog.md §1.2, §1.5): no `gpu_*`, no
//! `time_per_output_token_seconds`, plus `inter_token_latency_seconds` and
//! `request_time_per_output_token_seconds`, and the `error`/`repetition` finish reasons. Families that only exist
//! with optional flags (spec decode, LoRA, KV connector, multimodal, sleep mode, MFU) are not emitted.

use super::{Kind, Sink};
use crate::config::Version;
use crate::engine::Engine;
use crate::hist::Hist;
use crate::stats::{Stats, VllmStats};
use infermon_core::catalog::names::vllm as n;

/// HELP texts the catalog does not carry (copied from the capture / metrics-catalog.md §1.2).
mod help {
    pub const RUNNING: &str = "Number of requests in model execution batches.";
    pub const WAITING: &str = "Number of requests waiting to be processed.";
    pub const GPU_CACHE: &str =
        "GPU KV-cache usage. 1 means 100 percent usage.DEPRECATED: Use vllm:kv_cache_usage_perc instead.";
    pub const GPU_PREFIX_Q: &str =
        "GPU prefix cache queries, in terms of number of queriedtokens. DEPRECATED: Use vllm:prefix_cache_queries instead.";
    pub const GPU_PREFIX_H: &str =
        "GPU prefix cache hits, in terms of number of cached tokens. DEPRECATED: Use vllm:prefix_cache_hits instead.";
    pub const KV_CACHE: &str = "KV-cache usage. 1 means 100 percent usage.";
    pub const PREFIX_Q: &str = "Prefix cache queries, in terms of number of queried tokens.";
    pub const PREFIX_H: &str = "Prefix cache hits, in terms of number of cached tokens.";
    pub const PREEMPT: &str = "Cumulative number of preemption from the engine.";
    pub const PROMPT: &str = "Number of prefill tokens processed.";
    pub const GENERATION: &str = "Number of generation tokens processed.";
    pub const SUCCESS: &str = "Count of successfully processed requests.";
    pub const ITERATION: &str = "Histogram of number of tokens per engine_step.";
    pub const MAX_NUM_GEN: &str = "Histogram of maximum number of requested generation tokens.";
    pub const PARAMS_N: &str = "Histogram of the n request parameter.";
    pub const PARAMS_MAX: &str = "Histogram of the max_tokens request parameter.";
    pub const TTFT: &str = "Histogram of time to first token in seconds.";
    pub const TPOT: &str = "Histogram of time per output token in seconds.";
    pub const ITL: &str = "Histogram of inter-token latency in seconds.";
    pub const REQ_TPOT: &str = "Histogram of time_per_output_token_seconds per request.";
    pub const E2E: &str = "Histogram of e2e request latency in seconds.";
    pub const QUEUE: &str = "Histogram of time spent in WAITING phase for request.";
    pub const INFERENCE: &str = "Histogram of time spent in RUNNING phase for request.";
    pub const PREFILL: &str = "Histogram of time spent in PREFILL phase for request.";
    pub const DECODE: &str = "Histogram of time spent in DECODE phase for request.";
    pub const CACHE_CONFIG: &str = "Information of the LLMEngine CacheConfig";
    pub const HTTP_REQUESTS: &str = "Total number of requests by method, status and handler.";
    pub const HTTP_REQ_SIZE: &str = "Content length of incoming requests by handler. Only value of header is respected. Otherwise ignored. No percentile calculated. ";
    pub const HTTP_RESP_SIZE: &str = "Content length of outgoing responses by handler. Only value of header is respected. Otherwise ignored. No percentile calculated. ";
    pub const HTTP_HIGHR: &str = "Latency with many buckets but no API specific labels. Made for more accurate percentile calculations. ";
    pub const HTTP_DURATION: &str = "Latency with only few buckets by handler. Made to be only used if aggregation by handler is important. ";
}

/// Builds one vLLM exposition.
pub struct VllmExposition<'a> {
    pub engine: &'a Engine,
    /// Engine time of the exposition (seconds since start).
    pub now: f64,
    /// Whether the process/python/http families are included (the live server always has them).
    pub runtime_families: bool,
    /// Whether `_created` gauges are included (always in live; optional in backfill).
    pub created: bool,
}

struct Ctx<'s, S: Sink> {
    sink: &'s mut S,
    created: bool,
    base_created: f64,
    seq: u32,
    with_filter: &'s dyn Fn(&str) -> bool,
}

impl<S: Sink> Ctx<'_, S> {
    fn created_ts(&mut self) -> f64 {
        self.seq += 1;
        self.base_created + f64::from(self.seq) * 3.1e-5
    }

    fn gauge(&mut self, name: &str, help: &str, series: &[(&[(&str, &str)], f64)]) {
        if !(self.with_filter)(name) {
            return;
        }
        self.sink.family(name, Some(help), Kind::Gauge);
        for (l, v) in series {
            self.sink.scalar(l, *v);
        }
    }

    /// A prometheus_client counter: `<base>_total` counter family plus `<base>_created` gauge family.
    fn counter(&mut self, total_name: &str, help: &str, series: &[(&[(&str, &str)], f64)]) {
        if (self.with_filter)(total_name) {
            self.sink.family(total_name, Some(help), Kind::Counter);
            for (l, v) in series {
                self.sink.scalar(l, *v);
            }
        }
        let base = total_name.strip_suffix("_total").unwrap_or(total_name);
        let created = format!("{base}_created");
        if self.created && (self.with_filter)(&created) {
            self.sink.family(&created, Some(help), Kind::Gauge);
            for (l, _) in series {
                let ts = self.created_ts();
                self.sink.scalar(l, ts);
            }
        } else {
            self.seq += series.len() as u32;
        }
    }

    fn histogram(&mut self, name: &str, help: &str, labels: &[(&str, &str)], h: &Hist) {
        if (self.with_filter)(name) {
            self.sink.family(name, Some(help), Kind::Histogram);
            self.sink.histogram(labels, h);
        }
        let created = format!("{name}_created");
        if self.created && (self.with_filter)(&created) {
            self.sink.family(&created, Some(help), Kind::Gauge);
            let ts = self.created_ts();
            self.sink.scalar(labels, ts);
        } else {
            self.seq += 1;
        }
    }
}

impl VllmExposition<'_> {
    /// Writes the exposition to `sink`, keeping only families for which `wants(name)` is true (`_created`
    /// families are asked for by their own name).
    pub fn write<S: Sink>(&self, sink: &mut S, wants: &dyn Fn(&str) -> bool) {
        let e = self.engine;
        let Stats::Vllm(s) = &e.stats else {
            panic!("VllmExposition on a non-vLLM replica")
        };
        let s: &VllmStats = s;
        let model = e.spec.model.as_str();
        let labels: &[(&str, &str)] = &[("engine", "0"), ("model_name", model)];
        let v010 = s.version == Version::Vllm010;
        let start = e.epoch_unix;
        let mut c = Ctx {
            sink,
            created: self.created,
            base_created: start + 18.92,
            seq: 0,
            with_filter: wants,
        };

        if self.runtime_families {
            self.runtime(&mut c);
        }
        c.gauge(
            n::NUM_REQUESTS_RUNNING,
            help::RUNNING,
            &[(labels, e.running.len() as f64)],
        );
        c.gauge(
            n::NUM_REQUESTS_WAITING,
            help::WAITING,
            &[(labels, e.waiting.len() as f64)],
        );
        let kv = e.kv_usage();
        if v010 {
            c.gauge(n::GPU_CACHE_USAGE_PERC, help::GPU_CACHE, &[(labels, kv)]);
            c.counter(
                n::GPU_PREFIX_CACHE_QUERIES_TOTAL,
                help::GPU_PREFIX_Q,
                &[(labels, s.prefix_queries)],
            );
            c.counter(
                n::GPU_PREFIX_CACHE_HITS_TOTAL,
                help::GPU_PREFIX_H,
                &[(labels, s.prefix_hits)],
            );
        }
        c.gauge(n::KV_CACHE_USAGE_PERC, help::KV_CACHE, &[(labels, kv)]);
        c.counter(
            n::PREFIX_CACHE_QUERIES_TOTAL,
            help::PREFIX_Q,
            &[(labels, s.prefix_queries)],
        );
        c.counter(
            n::PREFIX_CACHE_HITS_TOTAL,
            help::PREFIX_H,
            &[(labels, s.prefix_hits)],
        );
        c.counter(
            n::NUM_PREEMPTIONS_TOTAL,
            help::PREEMPT,
            &[(labels, s.preemptions)],
        );
        c.counter(
            n::PROMPT_TOKENS_TOTAL,
            help::PROMPT,
            &[(labels, s.prompt_tokens)],
        );
        c.counter(
            n::GENERATION_TOKENS_TOTAL,
            help::GENERATION,
            &[(labels, s.generation_tokens)],
        );
        let reasons = VllmStats::reasons(s.version);
        let reason_labels: Vec<[(&str, &str); 3]> = reasons
            .iter()
            .map(|r| {
                [
                    ("engine", "0"),
                    ("finished_reason", *r),
                    ("model_name", model),
                ]
            })
            .collect();
        let success: Vec<(&[(&str, &str)], f64)> = reason_labels
            .iter()
            .zip(&s.success)
            .map(|(l, v)| (&l[..], *v))
            .collect();
        c.counter(n::REQUEST_SUCCESS_TOTAL, help::SUCCESS, &success);
        c.histogram(
            n::REQUEST_PROMPT_TOKENS,
            help::PROMPT,
            labels,
            &s.prompt_tokens_h,
        );
        c.histogram(
            n::REQUEST_GENERATION_TOKENS,
            help::GENERATION,
            labels,
            &s.generation_tokens_h,
        );
        c.histogram(
            n::ITERATION_TOKENS_TOTAL,
            help::ITERATION,
            labels,
            &s.iteration_tokens,
        );
        c.histogram(
            REQUEST_MAX_NUM_GENERATION_TOKENS,
            help::MAX_NUM_GEN,
            labels,
            &s.max_num_generation_tokens,
        );
        c.histogram(REQUEST_PARAMS_N, help::PARAMS_N, labels, &s.params_n);
        c.histogram(
            REQUEST_PARAMS_MAX_TOKENS,
            help::PARAMS_MAX,
            labels,
            &s.params_max_tokens,
        );
        c.histogram(n::TIME_TO_FIRST_TOKEN_SECONDS, help::TTFT, labels, &s.ttft);
        if v010 {
            c.histogram(n::TIME_PER_OUTPUT_TOKEN_SECONDS, help::TPOT, labels, &s.itl);
        } else {
            c.histogram(n::INTER_TOKEN_LATENCY_SECONDS, help::ITL, labels, &s.itl);
            c.histogram(
                n::REQUEST_TIME_PER_OUTPUT_TOKEN_SECONDS,
                help::REQ_TPOT,
                labels,
                &s.tpot_request,
            );
        }
        c.histogram(n::E2E_REQUEST_LATENCY_SECONDS, help::E2E, labels, &s.e2e);
        c.histogram(n::REQUEST_QUEUE_TIME_SECONDS, help::QUEUE, labels, &s.queue);
        c.histogram(
            n::REQUEST_INFERENCE_TIME_SECONDS,
            help::INFERENCE,
            labels,
            &s.inference,
        );
        c.histogram(
            n::REQUEST_PREFILL_TIME_SECONDS,
            help::PREFILL,
            labels,
            &s.prefill,
        );
        c.histogram(
            n::REQUEST_DECODE_TIME_SECONDS,
            help::DECODE,
            labels,
            &s.decode,
        );
        if wants(n::CACHE_CONFIG_INFO) {
            let blocks = e.spec.engine.kv_blocks.to_string();
            let block_size = e.spec.engine.block_size.to_string();
            let info: [(&str, &str); 20] = [
                ("block_size", &block_size),
                ("cache_dtype", "auto"),
                ("calculate_kv_scales", "False"),
                ("cpu_kvcache_space_bytes", "None"),
                ("cpu_offload_gb", "0.0"),
                ("enable_prefix_caching", "True"),
                ("engine", "0"),
                ("gpu_memory_utilization", "0.9"),
                ("is_attention_free", "False"),
                ("kv_sharing_fast_prefill", "False"),
                ("mamba_cache_dtype", "auto"),
                ("mamba_page_size_padded", "None"),
                ("mamba_ssm_cache_dtype", "auto"),
                ("num_cpu_blocks", "None"),
                ("num_gpu_blocks", &blocks),
                ("num_gpu_blocks_override", "None"),
                ("prefix_caching_hash_algo", "builtin"),
                ("sliding_window", "None"),
                ("swap_space", "4.0"),
                ("swap_space_bytes", "4294967296.0"),
            ];
            c.sink
                .family(n::CACHE_CONFIG_INFO, Some(help::CACHE_CONFIG), Kind::Gauge);
            c.sink.scalar(&info, 1.0);
        }
        if self.runtime_families {
            self.http(&mut c, s);
        }
    }

    fn runtime<S: Sink>(&self, c: &mut Ctx<'_, S>) {
        let up = self.now.max(0.0);
        let gens: [&[(&str, &str)]; 3] = [
            &[("generation", "0")],
            &[("generation", "1")],
            &[("generation", "2")],
        ];
        let collected = [
            58027.0 + (up * 9.0).floor(),
            6138.0 + (up * 0.9).floor(),
            2429.0 + (up * 0.05).floor(),
        ];
        let collections = [
            1974.0 + (up * 0.3).floor(),
            178.0 + (up * 0.03).floor(),
            11.0 + (up * 0.001).floor(),
        ];
        let plain = |c: &mut Ctx<'_, S>,
                     name: &str,
                     help: &str,
                     kind: Kind,
                     series: &[(&[(&str, &str)], f64)]| {
            if (c.with_filter)(name) {
                c.sink.family(name, Some(help), kind);
                for (l, v) in series {
                    c.sink.scalar(l, *v);
                }
            }
        };
        let zip = |v: [f64; 3]| -> Vec<(&[(&str, &str)], f64)> {
            gens.iter().zip(v).map(|(l, v)| (*l, v)).collect()
        };
        plain(
            c,
            "python_gc_objects_collected_total",
            "Objects collected during gc",
            Kind::Counter,
            &zip(collected),
        );
        plain(
            c,
            "python_gc_objects_uncollectable_total",
            "Uncollectable objects found during GC",
            Kind::Counter,
            &zip([0.0; 3]),
        );
        plain(
            c,
            "python_gc_collections_total",
            "Number of times this generation was collected",
            Kind::Counter,
            &zip(collections),
        );
        let info: &[(&str, &str)] = &[
            ("implementation", "CPython"),
            ("major", "3"),
            ("minor", "12"),
            ("patchlevel", "3"),
            ("version", "3.12.3"),
        ];
        plain(
            c,
            "python_info",
            "Python platform information",
            Kind::Gauge,
            &[(info, 1.0)],
        );
        plain(
            c,
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
            Kind::Gauge,
            &[(&[], 1.372014592e10)],
        );
        plain(
            c,
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            Kind::Gauge,
            &[(&[], 1.109622784e9)],
        );
        let start = (self.engine.epoch_unix * 100.0).round() / 100.0;
        plain(
            c,
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            Kind::Gauge,
            &[(&[], start)],
        );
        let cpu = ((14.04 + up * 0.35) * 100.0).round() / 100.0;
        plain(
            c,
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            Kind::Counter,
            &[(&[], cpu)],
        );
        plain(
            c,
            "process_open_fds",
            "Number of open file descriptors.",
            Kind::Gauge,
            &[(&[], 44.0)],
        );
        plain(
            c,
            "process_max_fds",
            "Maximum number of open file descriptors.",
            Kind::Gauge,
            &[(&[], 65535.0)],
        );
    }

    fn http<S: Sink>(&self, c: &mut Ctx<'_, S>, s: &VllmStats) {
        const H: &str = "/v1/chat/completions";
        let ok: &[(&str, &str)] = &[("handler", H), ("method", "POST"), ("status", "2xx")];
        let err: &[(&str, &str)] = &[("handler", H), ("method", "POST"), ("status", "5xx")];
        let mut reqs: Vec<(&[(&str, &str)], f64)> = vec![(ok, s.http_ok)];
        if s.http_err > 0.0 {
            reqs.push((err, s.http_err));
        }
        c.counter("http_requests_total", help::HTTP_REQUESTS, &reqs);
        let handler: &[(&str, &str)] = &[("handler", H)];
        let n_req = s.http_ok + s.http_err;
        for (name, help, sum) in [
            (
                "http_request_size_bytes",
                help::HTTP_REQ_SIZE,
                s.http_request_bytes,
            ),
            ("http_response_size_bytes", help::HTTP_RESP_SIZE, 0.0),
        ] {
            if (c.with_filter)(name) {
                c.sink.family(name, Some(help), Kind::Summary);
                c.sink.summary(handler, &[], sum, n_req as u64);
            }
            let created = format!("{name}_created");
            if c.created && (c.with_filter)(&created) {
                c.sink.family(&created, Some(help), Kind::Gauge);
                let ts = c.created_ts();
                c.sink.scalar(handler, ts);
            }
        }
        c.histogram(
            "http_request_duration_highr_seconds",
            help::HTTP_HIGHR,
            &[],
            &s.http_highr,
        );
        c.histogram(
            "http_request_duration_seconds",
            help::HTTP_DURATION,
            &[("handler", H), ("method", "POST")],
            &s.http_duration,
        );
        let _ = self.now;
    }
}

/// Names the catalog does not carry (request-parameter histograms); sim-only.
pub const REQUEST_MAX_NUM_GENERATION_TOKENS: &str = "vllm:request_max_num_generation_tokens";
pub const REQUEST_PARAMS_N: &str = "vllm:request_params_n";
pub const REQUEST_PARAMS_MAX_TOKENS: &str = "vllm:request_params_max_tokens";
