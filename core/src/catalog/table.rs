//! The catalog table itself: one `match` arm per concept × backend, each with its reason.
//!
//! Read this file next to `../shared/reference/metrics-catalog.md` §8 ("Translation hints"); every choice that
//! deviates from the obvious is explained where it is made.

use super::buckets::*;
use super::names::{llamacpp, sglang, tgi, vllm};
use super::{Backend, Concept, Fidelity, Histogram, Reason, Series, Source, Support};

const fn series(names: &'static [&'static str]) -> Series {
    Series {
        names,
        matchers: &[],
    }
}

const fn histogram(names: &'static [&'static str], buckets: &'static [BucketSet]) -> Histogram {
    Histogram {
        series: series(names),
        buckets,
    }
}

const fn exact(source: Source) -> Support {
    Support::Supported {
        source,
        fidelity: Fidelity::Exact,
        requires: None,
    }
}

const fn exact_if(source: Source, requires: &'static str) -> Support {
    Support::Supported {
        source,
        fidelity: Fidelity::Exact,
        requires: Some(requires),
    }
}

const fn approx(source: Source, note: &'static str) -> Support {
    Support::Supported {
        source,
        fidelity: Fidelity::Approximate(note),
        requires: None,
    }
}

// vLLM histograms. Buckets: V1 layout first, then V0's (an SLO threshold must be a boundary of both).
const VLLM_TTFT_H: Histogram = histogram(
    &[vllm::TIME_TO_FIRST_TOKEN_SECONDS],
    &[VLLM_TTFT, VLLM_V0_TTFT],
);
/// `inter_token_latency_seconds` (≥ 0.11) replaced `time_per_output_token_seconds` with the same semantics.
const VLLM_ITL_H: Histogram = histogram(
    &[
        vllm::INTER_TOKEN_LATENCY_SECONDS,
        vllm::TIME_PER_OUTPUT_TOKEN_SECONDS,
    ],
    &[VLLM_ITL, VLLM_V0_ITL],
);
const VLLM_TPOT_H: Histogram =
    histogram(&[vllm::REQUEST_TIME_PER_OUTPUT_TOKEN_SECONDS], &[VLLM_ITL]);
const VLLM_E2E_H: Histogram = histogram(
    &[vllm::E2E_REQUEST_LATENCY_SECONDS],
    &[VLLM_REQUEST_LATENCY, VLLM_V0_REQUEST_LATENCY],
);
const VLLM_QUEUE_H: Histogram = histogram(
    &[vllm::REQUEST_QUEUE_TIME_SECONDS],
    &[VLLM_REQUEST_LATENCY, VLLM_V0_REQUEST_LATENCY],
);
const VLLM_PREFILL_H: Histogram = histogram(
    &[vllm::REQUEST_PREFILL_TIME_SECONDS],
    &[VLLM_REQUEST_LATENCY, VLLM_V0_REQUEST_LATENCY],
);
const VLLM_DECODE_H: Histogram = histogram(
    &[vllm::REQUEST_DECODE_TIME_SECONDS],
    &[VLLM_REQUEST_LATENCY, VLLM_V0_REQUEST_LATENCY],
);
const VLLM_FINISHED: Series = series(&[vllm::REQUEST_SUCCESS_TOTAL]);
/// Only `error` counts as a failure: `abort` is mostly client cancellation (vLLM's generated dashboard
/// description; metrics-catalog.md §1.7).
const VLLM_ERRORS: Series = Series {
    names: &[vllm::REQUEST_SUCCESS_TOTAL],
    matchers: &[(vllm::LABEL_FINISHED_REASON, "error")],
};

// TGI histograms: all `…duration` histograms share the 0.0001 × 1.5^k layout.
const TGI_QUEUE_H: Histogram = histogram(&[tgi::REQUEST_QUEUE_DURATION], &[TGI_DURATION]);
const TGI_PREFILL_H: Histogram = Histogram {
    series: Series {
        names: &[tgi::BATCH_INFERENCE_DURATION],
        matchers: &[(tgi::LABEL_METHOD, "prefill")],
    },
    buckets: &[TGI_DURATION],
};
const TGI_DECODE_STEP_H: Histogram = Histogram {
    series: Series {
        names: &[tgi::BATCH_INFERENCE_DURATION],
        matchers: &[(tgi::LABEL_METHOD, "decode")],
    },
    buckets: &[TGI_DURATION],
};
const TGI_FINISHED: &[(Series, Reason)] = &[
    (series(&[tgi::REQUEST_SUCCESS]), Reason::Fixed("success")),
    (
        series(&[tgi::REQUEST_FAILURE]),
        Reason::Label(tgi::LABEL_ERR),
    ),
];
const TGI_TTFT_PARTS: &[Histogram] = &[TGI_QUEUE_H, TGI_PREFILL_H];

/// SGLang's scheduler collector observes queue time once per request, when it is first scheduled
/// (`set_forward_entry_time` → `observe_queue_time`); retracted requests that wait again are not observed again.
/// Labels: `model_name` plus the scheduler's (`engine_type`, `tp_rank`, `pp_rank`, …), summed away per model.
const SGLANG_QUEUE_H: Histogram = histogram(&[sglang::QUEUE_TIME_SECONDS], &[SGLANG_QUEUE_TIME]);

/// llama.cpp's generation counters (`on_prediction`, when a slot is released): summed `t_token_generation` (first
/// token → last token, i.e. the n − 1 gaps after the first token) and summed `n_decoded` (all n tokens).
const LLAMACPP_SECONDS_PER_TOKEN: Source = Source::MeanOfCounters {
    numerator: series(&[llamacpp::TOKENS_PREDICTED_SECONDS_TOTAL]),
    denominator: series(&[llamacpp::TOKENS_PREDICTED_TOTAL]),
};

/// The catalog cell for `concept` on `backend`.
pub fn support(concept: Concept, backend: Backend) -> Support {
    use Backend::*;
    use Concept::*;
    match (concept, backend) {
        // ---- Time to first token ----
        (Ttft, Vllm) => exact(Source::Histogram(VLLM_TTFT_H)),
        (Ttft, Tgi) => approx(
            Source::SumOfHistograms(TGI_TTFT_PARTS),
            "TGI does not expose TTFT; shown as queue time + batch prefill time (the TGI maintainers' suggestion). \
             Quantiles of the two parts are added, which over-estimates the true quantile.",
        ),
        (Ttft, Sglang) => exact(Source::Histogram(histogram(&[sglang::TIME_TO_FIRST_TOKEN_SECONDS], &[SGLANG_TTFT]))),
        (Ttft, Llamacpp) => Support::Unsupported("llama.cpp exposes no per-request latency, only token-time totals"),

        // ---- Inter-token latency ----
        (InterTokenLatency, Vllm) => exact(Source::Histogram(VLLM_ITL_H)),
        (InterTokenLatency, Tgi) => approx(
            Source::Histogram(TGI_DECODE_STEP_H),
            "TGI has no inter-token histogram; shown as the duration of batch decode steps (one token per request \
             per step), weighted per step rather than per token.",
        ),
        (InterTokenLatency, Sglang) => {
            exact(Source::Histogram(histogram(&[sglang::INTER_TOKEN_LATENCY_SECONDS], &[SGLANG_ITL])))
        }
        (InterTokenLatency, Llamacpp) => approx(
            LLAMACPP_SECONDS_PER_TOKEN,
            "llama.cpp only exposes total generation time and tokens: the mean seconds per generated token. The \
             time covers the gaps after each request's first token while the count includes the first token, so it \
             reads below the mean gap by the share of first tokens (most for short outputs); counted when a \
             request finishes.",
        ),

        // ---- Per-request time per output token ----
        (Tpot, Vllm) => exact_if(Source::Histogram(VLLM_TPOT_H), "vLLM ≥ 0.11"),
        (Tpot, Tgi) => approx(
            Source::Histogram(histogram(&[tgi::REQUEST_MEAN_TIME_PER_TOKEN_DURATION], &[TGI_DURATION])),
            "TGI's per-request mean time per token divides the whole inference time (prefill included) by the \
             generated tokens.",
        ),
        (Tpot, Sglang) => Support::Unsupported("SGLang exposes no per-request time-per-output-token histogram"),
        // Per-request TPOT is decode time / (n − 1), averaged over requests; the counters give summed decode time
        // over summed n: weighted by request length and divided by n (under 1 % below on the simulator's data).
        (Tpot, Llamacpp) => approx(
            LLAMACPP_SECONDS_PER_TOKEN,
            "llama.cpp only exposes total generation time and tokens: summed decode time over summed generated \
             tokens. That weights requests by their length and divides by all n tokens instead of the n - 1 after \
             the first, so it reads below the mean per-request TPOT (most for short outputs); counted when a \
             request finishes.",
        ),

        // ---- End-to-end latency ----
        (E2eLatency, Vllm) => exact(Source::Histogram(VLLM_E2E_H)),
        (E2eLatency, Tgi) => exact(Source::Histogram(histogram(&[tgi::REQUEST_DURATION], &[TGI_DURATION]))),
        (E2eLatency, Sglang) => {
            exact(Source::Histogram(histogram(&[sglang::E2E_REQUEST_LATENCY_SECONDS], &[SGLANG_E2E])))
        }
        (E2eLatency, Llamacpp) => Support::Unsupported("llama.cpp exposes no request latency"),

        // ---- Request phases ----
        (QueueTime, Vllm) => exact(Source::Histogram(VLLM_QUEUE_H)),
        (QueueTime, Tgi) => exact(Source::Histogram(TGI_QUEUE_H)),
        (QueueTime, Sglang) => approx(
            Source::Histogram(SGLANG_QUEUE_H),
            "SGLang records queue time when a request leaves the queue, not when it finishes: a window shows the \
             requests first scheduled in it, including ones still running or later aborted.",
        ),
        (QueueTime, Llamacpp) => Support::Unsupported("llama.cpp exposes no queue time"),
        (PrefillTime, Vllm) => exact(Source::Histogram(VLLM_PREFILL_H)),
        (PrefillTime, Tgi) => approx(
            Source::Histogram(TGI_PREFILL_H),
            "TGI times whole prefill batches, not individual requests.",
        ),
        (PrefillTime, Sglang) => Support::Unsupported("SGLang exposes no prefill-time histogram"),
        (PrefillTime, Llamacpp) => approx(
            Source::MeanOfCounters {
                numerator: series(&[llamacpp::PROMPT_SECONDS_TOTAL]),
                denominator: series(&[llamacpp::PROMPT_TOKENS_TOTAL]),
            },
            "llama.cpp only exposes total prompt time and tokens: the mean prefill seconds per prompt token.",
        ),
        (DecodeTime, Vllm) => exact(Source::Histogram(VLLM_DECODE_H)),
        (DecodeTime, Tgi) => Support::Unsupported(
            "TGI records only the per-request inference time (prefill + decode together); see TPOT instead",
        ),
        (DecodeTime, Sglang) => Support::Unsupported("SGLang exposes no decode-time histogram"),
        (DecodeTime, Llamacpp) => Support::Unsupported("llama.cpp exposes no per-request decode time"),

        // ---- Throughput ----
        (GenerationTokensRate, Vllm) => exact(Source::Counter(series(&[vllm::GENERATION_TOKENS_TOTAL]))),
        // Counters a server increments when a request finishes are approximations of tokens generated per second:
        // a 60 s generation adds all its tokens at its end (vLLM counts every engine step's tokens).
        (GenerationTokensRate, Tgi) => approx(
            Source::Counter(series(&[tgi::REQUEST_GENERATED_TOKENS_SUM])),
            "TGI counts generated tokens when a request finishes, so long generations show up late; tokens of \
             failed requests are not counted.",
        ),
        (GenerationTokensRate, Sglang) => approx(
            Source::Counter(series(&[sglang::GENERATION_TOKENS_TOTAL])),
            "SGLang counts generated tokens when a request finishes, so long generations show up late.",
        ),
        (GenerationTokensRate, Llamacpp) => approx(
            Source::Counter(series(&[llamacpp::TOKENS_PREDICTED_TOTAL])),
            "llama.cpp counts generated tokens when a request finishes, so long generations show up late.",
        ),
        (PromptTokensRate, Vllm) => exact(Source::Counter(series(&[vllm::PROMPT_TOKENS_TOTAL]))),
        (PromptTokensRate, Tgi) => approx(
            Source::Counter(series(&[tgi::REQUEST_INPUT_LENGTH_SUM])),
            "TGI counts prompt tokens when a request is validated, before it is prefilled.",
        ),
        (PromptTokensRate, Sglang) => approx(
            Source::Counter(series(&[sglang::PROMPT_TOKENS_TOTAL])),
            "SGLang counts prompt tokens when a request finishes, not when it is prefilled, so they show up late.",
        ),
        // `n_prompt_tokens_processed` counts the tokens llama.cpp evaluates, after reusing the slot's cached prefix.
        (PromptTokensRate, Llamacpp) => approx(
            Source::Counter(series(&[llamacpp::PROMPT_TOKENS_TOTAL])),
            "llama.cpp counts only the prompt tokens it evaluates: tokens reused from the slot's prompt cache are \
             left out, so with shared prefixes it reads below the prompt tokens received.",
        ),
        (RequestRate, Vllm) => exact(Source::Counter(VLLM_FINISHED)),
        (RequestRate, Tgi) => exact(Source::Counter(series(&[tgi::REQUEST_COUNT]))),
        (RequestRate, Sglang) => exact(Source::Counter(series(&[sglang::NUM_REQUESTS_TOTAL]))),
        (RequestRate, Llamacpp) => Support::Unsupported("llama.cpp exposes no request counter"),
        (FinishedRequests, Vllm) => {
            exact(Source::ReasonCounters(&[(VLLM_FINISHED, Reason::Label(vllm::LABEL_FINISHED_REASON))]))
        }
        (FinishedRequests, Tgi) => exact(Source::ReasonCounters(TGI_FINISHED)),
        (FinishedRequests, Sglang) => Support::Unsupported("SGLang exposes no finish-reason counter"),
        (FinishedRequests, Llamacpp) => Support::Unsupported("llama.cpp exposes no request counter"),

        // ---- Errors ----
        (ErrorRatio, Vllm) => exact_if(
            Source::CounterRatio { numerator: VLLM_ERRORS, denominator: VLLM_FINISHED },
            "vLLM versions that report finished_reason=\"error\" (older versions count failures as abort)",
        ),
        (ErrorRatio, Tgi) => exact(Source::CounterRatio {
            numerator: series(&[tgi::REQUEST_FAILURE]),
            denominator: series(&[tgi::REQUEST_COUNT]),
        }),
        (ErrorRatio, Sglang) => approx(
            Source::CounterRatio {
                numerator: series(&[sglang::NUM_ABORTED_REQUESTS_TOTAL]),
                denominator: series(&[sglang::NUM_REQUESTS_TOTAL]),
            },
            "SGLang only counts aborted requests, which include client cancellations.",
        ),
        (ErrorRatio, Llamacpp) => Support::Unsupported("llama.cpp exposes no error counter"),

        // ---- Saturation ----
        (QueueDepth, Vllm) => exact(Source::Gauge(series(&[vllm::NUM_REQUESTS_WAITING]))),
        (QueueDepth, Tgi) => exact(Source::Gauge(series(&[tgi::QUEUE_SIZE]))),
        (QueueDepth, Sglang) => exact(Source::Gauge(series(&[sglang::NUM_QUEUE_REQS]))),
        (QueueDepth, Llamacpp) => exact(Source::Gauge(series(&[llamacpp::REQUESTS_DEFERRED]))),
        (RunningRequests | BatchSize, Vllm) => exact(Source::Gauge(series(&[vllm::NUM_REQUESTS_RUNNING]))),
        (RunningRequests | BatchSize, Tgi) => exact(Source::Gauge(series(&[tgi::BATCH_CURRENT_SIZE]))),
        (RunningRequests | BatchSize, Sglang) => exact(Source::Gauge(series(&[sglang::NUM_RUNNING_REQS]))),
        (RunningRequests | BatchSize, Llamacpp) => exact(Source::Gauge(series(&[llamacpp::REQUESTS_PROCESSING]))),
        (KvCacheUsage, Vllm) => exact(Source::Gauge(series(&[vllm::KV_CACHE_USAGE_PERC, vllm::GPU_CACHE_USAGE_PERC]))),
        (KvCacheUsage, Tgi) => approx(
            Source::GaugeRatio {
                numerator: series(&[tgi::BATCH_CURRENT_MAX_TOKENS]),
                denominator: series(&[tgi::BATCH_MAX_TOTAL_TOKENS]),
            },
            "TGI exposes no KV-cache usage; shown as the current batch's token budget over the maximum batch tokens.",
        ),
        (KvCacheUsage, Sglang) => exact(Source::Gauge(series(&[sglang::TOKEN_USAGE]))),
        (KvCacheUsage, Llamacpp) => exact_if(
            Source::Gauge(series(&[llamacpp::KV_CACHE_USAGE_RATIO])),
            "older llama.cpp builds (the gauge was removed later)",
        ),
        (PreemptionRate, Vllm) => exact(Source::Counter(series(&[vllm::NUM_PREEMPTIONS_TOTAL]))),
        (PreemptionRate, Tgi) => Support::Unsupported("TGI does not preempt running requests"),
        (PreemptionRate, Sglang) => {
            Support::Unsupported("SGLang's retraction counter name is not stable across versions")
        }
        (PreemptionRate, Llamacpp) => Support::Unsupported("llama.cpp does not preempt requests"),

        // ---- Caching ----
        (PrefixCacheHitRate, Vllm) => exact_if(
            Source::CounterRatio {
                numerator: series(&[vllm::PREFIX_CACHE_HITS_TOTAL, vllm::GPU_PREFIX_CACHE_HITS_TOTAL]),
                denominator: series(&[vllm::PREFIX_CACHE_QUERIES_TOTAL, vllm::GPU_PREFIX_CACHE_QUERIES_TOTAL]),
            },
            "vLLM V1 with prefix caching enabled",
        ),
        (PrefixCacheHitRate, Tgi) => Support::Unsupported("TGI exposes no prefix-cache metrics"),
        (PrefixCacheHitRate, Sglang) => exact(Source::CounterRatio {
            numerator: series(&[sglang::CACHED_TOKENS_TOTAL]),
            denominator: series(&[sglang::PROMPT_TOKENS_TOTAL]),
        }),
        (PrefixCacheHitRate, Llamacpp) => Support::Unsupported("llama.cpp exposes no prefix-cache metrics"),
        (SpecDecodeAcceptanceRate, Vllm) => exact_if(
            Source::CounterRatio {
                numerator: series(&[vllm::SPEC_DECODE_NUM_ACCEPTED_TOKENS_TOTAL]),
                denominator: series(&[vllm::SPEC_DECODE_NUM_DRAFT_TOKENS_TOTAL]),
            },
            "servers started with speculative decoding",
        ),
        (SpecDecodeAcceptanceRate, Tgi) => {
            Support::Unsupported("TGI only exposes speculated tokens per request (a summary), not acceptance")
        }
        (SpecDecodeAcceptanceRate, Sglang) => approx(
            Source::Gauge(series(&[sglang::SPEC_ACCEPT_RATE])),
            "SGLang computes the acceptance rate in-process; averaged over replicas, not events-weighted.",
        ),
        (SpecDecodeAcceptanceRate, Llamacpp) => {
            Support::Unsupported("llama.cpp exposes no speculative-decoding metrics")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cell_is_defined_and_unsupported_cells_say_why() {
        for &c in Concept::ALL {
            for b in Backend::ALL {
                match support(c, b) {
                    Support::Unsupported(reason) => assert!(reason.len() > 10, "{c} × {b}"),
                    Support::Supported { source, .. } => assert!(!source.metric_names().is_empty()),
                }
            }
        }
    }

    #[test]
    fn vllm_names_include_every_generation() {
        let Support::Supported {
            source: Source::Gauge(s),
            ..
        } = support(Concept::KvCacheUsage, Backend::Vllm)
        else {
            panic!("KV usage on vLLM is a gauge")
        };
        assert_eq!(
            s.names,
            &["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"]
        );
    }
}
