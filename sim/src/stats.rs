//! Metric state of one replica, updated by the engine's events, in the units and with the semantics of the
//! real server (vLLM V1 `loggers.py`; TGI `router/src/{server,validation}.rs` and `backends/v3`).

use crate::config::{BackendKind, ReplicaSpec, Version};
use crate::hist::{self, Hist};
use crate::request::Request;
use crate::truth::Outcome;

/// vLLM V1 state (plus the FastAPI instrumentator's HTTP families).
#[derive(Debug, Clone)]
pub struct VllmStats {
    pub version: Version,
    pub prompt_tokens: f64,
    pub generation_tokens: f64,
    pub prefix_queries: f64,
    pub prefix_hits: f64,
    pub preemptions: f64,
    /// Finished requests per `finished_reason` (in [`VllmStats::reasons`] order).
    pub success: Vec<f64>,
    pub ttft: Hist,
    pub itl: Hist,
    pub tpot_request: Hist,
    pub e2e: Hist,
    pub queue: Hist,
    pub inference: Hist,
    pub prefill: Hist,
    pub decode: Hist,
    pub prompt_tokens_h: Hist,
    pub generation_tokens_h: Hist,
    pub iteration_tokens: Hist,
    pub max_num_generation_tokens: Hist,
    pub params_n: Hist,
    pub params_max_tokens: Hist,
    pub http_ok: f64,
    pub http_err: f64,
    pub http_request_bytes: f64,
    pub http_response_bytes: f64,
    pub http_highr: Hist,
    pub http_duration: Hist,
}

impl VllmStats {
    pub fn reasons(version: Version) -> &'static [&'static str] {
        match version {
            // Exactly the three pre-created in the 0.10 capture.
            Version::Vllm010 => &["stop", "length", "abort"],
            _ => &["stop", "length", "abort", "error", "repetition"],
        }
    }

    fn new(spec: &ReplicaSpec) -> VllmStats {
        let tokens = hist::vllm_request_tokens(spec.engine.max_model_len);
        VllmStats {
            version: spec.version,
            prompt_tokens: 0.0,
            generation_tokens: 0.0,
            prefix_queries: 0.0,
            prefix_hits: 0.0,
            preemptions: 0.0,
            success: vec![0.0; Self::reasons(spec.version).len()],
            ttft: Hist::new(hist::vllm_ttft()),
            itl: Hist::new(hist::vllm_itl()),
            tpot_request: Hist::new(hist::vllm_itl()),
            e2e: Hist::new(hist::vllm_request_latency()),
            queue: Hist::new(hist::vllm_request_latency()),
            inference: Hist::new(hist::vllm_request_latency()),
            prefill: Hist::new(hist::vllm_request_latency()),
            decode: Hist::new(hist::vllm_request_latency()),
            prompt_tokens_h: Hist::new(tokens.clone()),
            generation_tokens_h: Hist::new(tokens.clone()),
            iteration_tokens: Hist::new(hist::vllm_iteration_tokens()),
            max_num_generation_tokens: Hist::new(tokens.clone()),
            params_n: Hist::new(hist::vllm_params_n()),
            params_max_tokens: Hist::new(tokens),
            http_ok: 0.0,
            http_err: 0.0,
            http_request_bytes: 0.0,
            http_response_bytes: 0.0,
            http_highr: Hist::new(hist::http_highr()),
            http_duration: Hist::new(hist::http_duration()),
        }
    }
}

/// Validation time TGI adds in front of every request (part of `tgi_request_duration`), seconds.
pub const TGI_VALIDATION_S: f64 = 0.0007;

/// TGI 3.x state. Series that TGI creates lazily (on first increment) carry a `touched` flag.
#[derive(Debug, Clone)]
pub struct TgiStats {
    pub request_count: u64,
    pub request_success: u64,
    pub failure_generation: u64,
    pub request_duration: Hist,
    pub validation_duration: Hist,
    pub queue_duration: Hist,
    pub inference_duration: Hist,
    pub mean_time_per_token: Hist,
    pub input_length: Hist,
    pub max_new_tokens: Hist,
    pub generated_tokens: Hist,
    pub skipped_count: u64,
    pub batch_next_size: Hist,
    /// [prefill, decode]
    pub batch_inference_count: [u64; 2],
    pub batch_inference_duration: [Hist; 2],
    pub batch_forward_duration: [Hist; 2],
    pub batch_decode_duration: [Hist; 2],
    pub batch_filter_duration: [Hist; 2],
    pub batch_concat_duration: Hist,
    pub batch_concat: u64,
    /// Validation time of each waiting request is folded into its arrival (seconds).
    pub validation_s: f64,
}

impl TgiStats {
    fn new(spec: &ReplicaSpec) -> TgiStats {
        let d = || Hist::new(hist::tgi_duration());
        // TGI's launcher defaults: max_input_tokens = max_total_tokens − 1 (the fixture used 4095/4096).
        let max_total = spec.engine.max_model_len;
        TgiStats {
            request_count: 0,
            request_success: 0,
            failure_generation: 0,
            request_duration: d(),
            validation_duration: d(),
            queue_duration: d(),
            inference_duration: d(),
            mean_time_per_token: d(),
            input_length: Hist::new(hist::tgi_hundredths(max_total - 1)),
            max_new_tokens: Hist::new(hist::tgi_hundredths(max_total)),
            generated_tokens: Hist::new(hist::tgi_hundredths(max_total)),
            skipped_count: 0,
            batch_next_size: Hist::new(hist::tgi_batch_size()),
            batch_inference_count: [0, 0],
            batch_inference_duration: [d(), d()],
            batch_forward_duration: [d(), d()],
            batch_decode_duration: [d(), d()],
            batch_filter_duration: [d(), d()],
            batch_concat_duration: d(),
            batch_concat: 0,
            validation_s: TGI_VALIDATION_S,
        }
    }
}

/// SGLang state (`collector.py`: `TokenizerMetricsCollector` counters and histograms are updated when a request
/// finishes, except TTFT (first token) and ITL (every streamed chunk); the scheduler's gauges are levels).
#[derive(Debug, Clone)]
pub struct SglangStats {
    pub prompt_tokens: f64,
    pub generation_tokens: f64,
    pub cached_tokens: f64,
    pub num_requests: f64,
    pub num_aborted: f64,
    pub retracted: f64,
    pub ttft: Hist,
    pub itl: Hist,
    pub e2e: Hist,
    pub queue_time: Hist,
    pub num_retractions: Hist,
}

impl SglangStats {
    fn new() -> SglangStats {
        SglangStats {
            prompt_tokens: 0.0,
            generation_tokens: 0.0,
            cached_tokens: 0.0,
            num_requests: 0.0,
            num_aborted: 0.0,
            retracted: 0.0,
            ttft: Hist::new(hist::sglang_ttft()),
            itl: Hist::new(hist::sglang_itl()),
            e2e: Hist::new(hist::sglang_e2e()),
            queue_time: Hist::new(hist::sglang_queue_time()),
            num_retractions: Hist::new(hist::sglang_num_retractions()),
        }
    }
}

/// llama.cpp server state (`server_metrics`): totals updated when a slot finishes its prompt
/// (`on_prompt_eval`) and when it is released (`on_prediction`), decode-call counters per `llama_decode()`.
#[derive(Debug, Clone, Default)]
pub struct LlamacppStats {
    /// Prompt tokens actually evaluated (prefix-cache reuse excluded).
    pub prompt_tokens_total: u64,
    /// Prompt processing time, milliseconds (per slot, summed).
    pub prompt_ms_total: f64,
    pub tokens_predicted_total: u64,
    /// Generation time, milliseconds (per slot: first token → release, summed).
    pub predicted_ms_total: f64,
    pub n_decode_total: u64,
    pub n_busy_slots_total: u64,
    pub n_tokens_max: u64,
}

/// Backend-specific state.
#[derive(Debug, Clone)]
pub enum Stats {
    Vllm(Box<VllmStats>),
    Tgi(Box<TgiStats>),
    Sglang(Box<SglangStats>),
    Llamacpp(Box<LlamacppStats>),
}

impl Stats {
    pub fn new(spec: &ReplicaSpec, _epoch_unix: f64) -> Stats {
        match spec.backend {
            BackendKind::Vllm => Stats::Vllm(Box::new(VllmStats::new(spec))),
            BackendKind::Tgi => Stats::Tgi(Box::new(TgiStats::new(spec))),
            BackendKind::Sglang => Stats::Sglang(Box::new(SglangStats::new())),
            BackendKind::Llamacpp => Stats::Llamacpp(Box::default()),
        }
    }

    /// A prompt was fully processed: `computed` tokens evaluated in `seconds`.
    pub fn on_prompt_done(&mut self, computed: u32, seconds: f64) {
        if let Stats::Llamacpp(s) = self {
            s.prompt_tokens_total += u64::from(computed);
            s.prompt_ms_total += seconds * 1e3;
        }
    }

    pub fn on_arrival(&mut self, r: &Request) {
        if let Stats::Tgi(s) = self {
            s.request_count += 1;
            s.validation_duration.observe(s.validation_s);
            s.input_length.observe(f64::from(r.prompt));
            s.max_new_tokens.observe(f64::from(r.max_tokens));
        }
    }

    pub fn on_first_scheduled(&mut self, r: &Request) {
        match self {
            Stats::Vllm(s) => {
                s.prompt_tokens += f64::from(r.prompt);
                s.prefix_queries += f64::from(r.prompt);
                s.prefix_hits += f64::from(r.cached);
            }
            Stats::Sglang(s) => {
                let scheduled = r.first_scheduled.unwrap_or(r.arrival);
                s.queue_time.observe(scheduled - r.arrival);
            }
            _ => {}
        }
    }

    /// `k` identical steps of duration `d` with `n_prefill` admissions (k = 1 then) and `n_decode` decoders.
    pub fn on_step(&mut self, prefill_tokens: u32, n_prefill: u32, n_decode: u32, d: f64, k: u32) {
        let k64 = u64::from(k);
        match self {
            Stats::Vllm(s) => {
                s.generation_tokens += f64::from(n_prefill + n_decode) * f64::from(k);
                s.iteration_tokens
                    .observe_n(f64::from(prefill_tokens + n_decode), k64);
            }
            Stats::Tgi(s) => {
                // TGI runs a prefill forward for the new batch, concatenates it into the running batch, then
                // decodes: split the step's time between the two methods.
                let mut decode_d = d;
                if n_prefill > 0 {
                    let share = f64::from(prefill_tokens)
                        / (f64::from(prefill_tokens) + f64::from(n_decode).max(1.0) * 16.0);
                    let pd = d * share.clamp(0.2, 0.95);
                    decode_d = d - pd;
                    s.batch_next_size.observe(f64::from(n_prefill));
                    s.batch_inference_count[0] += 1;
                    s.batch_inference_duration[0].observe(pd);
                    s.batch_forward_duration[0].observe(pd * 0.93);
                    s.batch_decode_duration[0].observe(pd * 0.02);
                    s.batch_filter_duration[0].observe(pd * 0.01);
                    if n_decode > 0 {
                        s.batch_concat += 1;
                        s.batch_concat_duration
                            .observe(0.0004 + 0.00002 * f64::from(n_decode));
                    }
                }
                if n_decode > 0 {
                    s.batch_inference_count[1] += k64;
                    s.batch_inference_duration[1].observe_n(decode_d, k64);
                    s.batch_forward_duration[1].observe_n(decode_d * 0.93, k64);
                    s.batch_decode_duration[1].observe_n(decode_d * 0.02, k64);
                    s.batch_filter_duration[1].observe_n(decode_d * 0.01, k64);
                }
            }
            Stats::Sglang(_) => {}
            Stats::Llamacpp(s) => {
                s.n_decode_total += k64;
                s.n_busy_slots_total += u64::from(n_prefill + n_decode) * k64;
                s.n_tokens_max = s.n_tokens_max.max(u64::from(prefill_tokens + n_decode));
            }
        }
    }

    pub fn on_first_token(&mut self, _r: &Request, ttft: f64) {
        match self {
            Stats::Vllm(s) => s.ttft.observe(ttft),
            Stats::Sglang(s) => s.ttft.observe(ttft),
            _ => {}
        }
    }

    pub fn on_itl(&mut self, v: f64, n: u64) {
        match self {
            Stats::Vllm(s) => s.itl.observe_n(v, n),
            // One token per streamed chunk here, so SGLang's split observation (bucket of interval/n
            // incremented by n, `_sum` by the interval) is n observations of v.
            Stats::Sglang(s) => s.itl.observe_n(v, n),
            _ => {}
        }
    }

    pub fn on_preempt(&mut self) {
        match self {
            Stats::Vllm(s) => s.preemptions += 1.0,
            Stats::Sglang(s) => s.retracted += 1.0,
            _ => {}
        }
    }

    pub fn on_finish(&mut self, r: &Request, t: f64) {
        let e2e = t - r.arrival;
        let scheduled = r.first_scheduled.unwrap_or(t);
        let first = r.first_token.unwrap_or(t);
        match self {
            Stats::Vllm(s) => {
                let reason = r.finished_reason(s.version);
                let i = VllmStats::reasons(s.version)
                    .iter()
                    .position(|x| *x == reason)
                    .expect("known reason");
                s.success[i] += 1.0;
                s.e2e.observe(e2e);
                s.queue.observe(scheduled - r.arrival);
                s.inference.observe(t - scheduled);
                s.prefill.observe(first - scheduled);
                s.decode.observe(t - first);
                if r.generated > 1 {
                    s.tpot_request
                        .observe((t - first) / f64::from(r.generated - 1));
                }
                s.prompt_tokens_h.observe(f64::from(r.prompt));
                s.generation_tokens_h.observe(f64::from(r.generated));
                s.max_num_generation_tokens.observe(f64::from(r.max_tokens));
                s.params_n.observe(1.0);
                s.params_max_tokens.observe(f64::from(r.max_tokens));
                // The HTTP middleware sees the whole request (streaming response included).
                if r.outcome == Outcome::Error {
                    s.http_err += 1.0;
                } else {
                    s.http_ok += 1.0;
                }
                s.http_request_bytes += 220.0 + 4.2 * f64::from(r.prompt);
                s.http_highr.observe(e2e + 0.0008);
                s.http_duration.observe(e2e + 0.0008);
            }
            Stats::Tgi(s) => {
                if r.outcome == Outcome::Error {
                    s.failure_generation += 1;
                    return;
                }
                // A client abort does not stop TGI's generation bookkeeping: the request completes.
                s.request_success += 1;
                s.request_duration.observe(e2e + s.validation_s);
                s.queue_duration.observe(scheduled - r.arrival);
                let inference = t - scheduled;
                s.inference_duration.observe(inference);
                s.mean_time_per_token
                    .observe(inference / f64::from(r.generated.max(1)));
                s.generated_tokens.observe(f64::from(r.generated));
                s.skipped_count += 1;
            }
            Stats::Sglang(s) => {
                // observe_one_finished_request (every finished request, aborted ones included) …
                s.prompt_tokens += f64::from(r.prompt);
                s.generation_tokens += f64::from(r.generated);
                s.cached_tokens += f64::from(r.cached);
                s.num_requests += 1.0;
                s.e2e.observe(e2e);
                s.num_retractions.observe(f64::from(r.preemptions));
                // … and observe_one_aborted_request for client aborts and engine errors.
                if r.outcome != Outcome::Ok {
                    s.num_aborted += 1.0;
                }
            }
            Stats::Llamacpp(s) => {
                s.tokens_predicted_total += u64::from(r.generated);
                s.predicted_ms_total += (t - first) * 1e3;
            }
        }
    }
}
