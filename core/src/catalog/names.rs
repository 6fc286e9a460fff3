//! Every exposed series name infermon knows, spelled once.
//!
//! These are the names as they appear on `/metrics` (and therefore in PromQL): prometheus_client appends `_total` to
//! vLLM/SGLang counters, TGI's exporter appends nothing (no `_total`, no `_seconds`), histograms are queried through
//! `_bucket`/`_sum`/`_count`. Sources: `../shared/reference/metrics-catalog.md` §0–§4 (vLLM `loggers.py`, TGI
//! `router/src/server.rs`, SGLang `collector.py`, llama.cpp `server.cpp`) and the real capture in
//! `../shared/fixtures/vllm-0.10.x-ngc25.09-metrics.txt`.

/// vLLM engine metrics (V0 and V1). Labels: `model_name` (+ `engine` on V1).
pub mod vllm {
    pub const NUM_REQUESTS_RUNNING: &str = "vllm:num_requests_running";
    pub const NUM_REQUESTS_WAITING: &str = "vllm:num_requests_waiting";
    /// 0..1 fraction despite `_perc`; replaced `gpu_cache_usage_perc` (deprecated 0.9, removed by PR #29330).
    pub const KV_CACHE_USAGE_PERC: &str = "vllm:kv_cache_usage_perc";
    pub const GPU_CACHE_USAGE_PERC: &str = "vllm:gpu_cache_usage_perc";
    pub const NUM_PREEMPTIONS_TOTAL: &str = "vllm:num_preemptions_total";
    pub const PROMPT_TOKENS_TOTAL: &str = "vllm:prompt_tokens_total";
    pub const GENERATION_TOKENS_TOTAL: &str = "vllm:generation_tokens_total";
    /// Counts every finished request by `finished_reason` (stop, length, abort, error, repetition).
    pub const REQUEST_SUCCESS_TOTAL: &str = "vllm:request_success_total";
    pub const PREFIX_CACHE_QUERIES_TOTAL: &str = "vllm:prefix_cache_queries_total";
    pub const PREFIX_CACHE_HITS_TOTAL: &str = "vllm:prefix_cache_hits_total";
    pub const GPU_PREFIX_CACHE_QUERIES_TOTAL: &str = "vllm:gpu_prefix_cache_queries_total";
    pub const GPU_PREFIX_CACHE_HITS_TOTAL: &str = "vllm:gpu_prefix_cache_hits_total";
    pub const SPEC_DECODE_NUM_DRAFT_TOKENS_TOTAL: &str = "vllm:spec_decode_num_draft_tokens_total";
    pub const SPEC_DECODE_NUM_ACCEPTED_TOKENS_TOTAL: &str =
        "vllm:spec_decode_num_accepted_tokens_total";
    pub const TIME_TO_FIRST_TOKEN_SECONDS: &str = "vllm:time_to_first_token_seconds";
    /// Added in 0.11 (PR #24110) as the new name of `time_per_output_token_seconds`, same semantics and buckets.
    pub const INTER_TOKEN_LATENCY_SECONDS: &str = "vllm:inter_token_latency_seconds";
    pub const TIME_PER_OUTPUT_TOKEN_SECONDS: &str = "vllm:time_per_output_token_seconds";
    /// Per-request TPOT (decode time / (output tokens − 1)), added in 0.11 (PR #24015).
    pub const REQUEST_TIME_PER_OUTPUT_TOKEN_SECONDS: &str =
        "vllm:request_time_per_output_token_seconds";
    pub const E2E_REQUEST_LATENCY_SECONDS: &str = "vllm:e2e_request_latency_seconds";
    pub const REQUEST_QUEUE_TIME_SECONDS: &str = "vllm:request_queue_time_seconds";
    pub const REQUEST_INFERENCE_TIME_SECONDS: &str = "vllm:request_inference_time_seconds";
    pub const REQUEST_PREFILL_TIME_SECONDS: &str = "vllm:request_prefill_time_seconds";
    pub const REQUEST_DECODE_TIME_SECONDS: &str = "vllm:request_decode_time_seconds";
    pub const REQUEST_PROMPT_TOKENS: &str = "vllm:request_prompt_tokens";
    pub const REQUEST_GENERATION_TOKENS: &str = "vllm:request_generation_tokens";
    /// A histogram whose name ends in `_total` (series `…_total_bucket`).
    pub const ITERATION_TOKENS_TOTAL: &str = "vllm:iteration_tokens_total";
    pub const CACHE_CONFIG_INFO: &str = "vllm:cache_config_info";

    pub const LABEL_MODEL: &str = "model_name";
    pub const LABEL_ENGINE: &str = "engine";
    pub const LABEL_FINISHED_REASON: &str = "finished_reason";
}

/// Hugging Face TGI 3.x (`metrics-exporter-prometheus` 0.15): no model label, no unit or `_total` suffixes.
pub mod tgi {
    pub const REQUEST_COUNT: &str = "tgi_request_count";
    pub const REQUEST_SUCCESS: &str = "tgi_request_success";
    pub const REQUEST_FAILURE: &str = "tgi_request_failure";
    pub const REQUEST_DURATION: &str = "tgi_request_duration";
    pub const REQUEST_VALIDATION_DURATION: &str = "tgi_request_validation_duration";
    pub const REQUEST_QUEUE_DURATION: &str = "tgi_request_queue_duration";
    pub const REQUEST_INFERENCE_DURATION: &str = "tgi_request_inference_duration";
    pub const REQUEST_MEAN_TIME_PER_TOKEN_DURATION: &str =
        "tgi_request_mean_time_per_token_duration";
    pub const REQUEST_INPUT_LENGTH: &str = "tgi_request_input_length";
    pub const REQUEST_MAX_NEW_TOKENS: &str = "tgi_request_max_new_tokens";
    pub const REQUEST_GENERATED_TOKENS: &str = "tgi_request_generated_tokens";
    /// The `_sum` of the generated-tokens histogram: a counter of generated tokens of finished requests.
    pub const REQUEST_GENERATED_TOKENS_SUM: &str = "tgi_request_generated_tokens_sum";
    /// The `_sum` of the input-length histogram: a counter of prompt tokens of validated requests.
    pub const REQUEST_INPUT_LENGTH_SUM: &str = "tgi_request_input_length_sum";
    /// Rendered as a summary (no bucket matcher in TGI's exporter config).
    pub const REQUEST_SKIPPED_TOKENS: &str = "tgi_request_skipped_tokens";
    pub const QUEUE_SIZE: &str = "tgi_queue_size";
    pub const BATCH_CURRENT_SIZE: &str = "tgi_batch_current_size";
    pub const BATCH_CURRENT_MAX_TOKENS: &str = "tgi_batch_current_max_tokens";
    pub const BATCH_MAX_TOTAL_TOKENS: &str = "tgi_batch_max_total_tokens";
    pub const BATCH_NEXT_SIZE: &str = "tgi_batch_next_size";
    pub const BATCH_INFERENCE_COUNT: &str = "tgi_batch_inference_count";
    pub const BATCH_INFERENCE_SUCCESS: &str = "tgi_batch_inference_success";
    pub const BATCH_INFERENCE_FAILURE: &str = "tgi_batch_inference_failure";
    pub const BATCH_INFERENCE_DURATION: &str = "tgi_batch_inference_duration";
    pub const BATCH_FORWARD_DURATION: &str = "tgi_batch_forward_duration";
    pub const BATCH_DECODE_DURATION: &str = "tgi_batch_decode_duration";
    pub const BATCH_FILTER_DURATION: &str = "tgi_batch_filter_duration";
    pub const BATCH_CONCAT_DURATION: &str = "tgi_batch_concat_duration";
    pub const BATCH_CONCAT: &str = "tgi_batch_concat";

    pub const LABEL_METHOD: &str = "method";
    pub const LABEL_ERR: &str = "err";
    pub const LABEL_REASON: &str = "reason";
}

/// SGLang (`--enable-metrics`). Labels: `model_name` (+ scheduler labels).
pub mod sglang {
    pub const TIME_TO_FIRST_TOKEN_SECONDS: &str = "sglang:time_to_first_token_seconds";
    pub const INTER_TOKEN_LATENCY_SECONDS: &str = "sglang:inter_token_latency_seconds";
    pub const E2E_REQUEST_LATENCY_SECONDS: &str = "sglang:e2e_request_latency_seconds";
    /// Scheduler collector: time in the waiting queue, observed when a request is first scheduled
    /// (`observe_queue_time(forward_entry_time - wait_queue_entry_time)`), not when it finishes.
    pub const QUEUE_TIME_SECONDS: &str = "sglang:queue_time_seconds";
    pub const PROMPT_TOKENS_TOTAL: &str = "sglang:prompt_tokens_total";
    pub const GENERATION_TOKENS_TOTAL: &str = "sglang:generation_tokens_total";
    pub const CACHED_TOKENS_TOTAL: &str = "sglang:cached_tokens_total";
    pub const NUM_REQUESTS_TOTAL: &str = "sglang:num_requests_total";
    pub const NUM_ABORTED_REQUESTS_TOTAL: &str = "sglang:num_aborted_requests_total";
    pub const NUM_RUNNING_REQS: &str = "sglang:num_running_reqs";
    pub const NUM_QUEUE_REQS: &str = "sglang:num_queue_reqs";
    /// KV/token-pool usage, 0..1.
    pub const TOKEN_USAGE: &str = "sglang:token_usage";
    pub const SPEC_ACCEPT_RATE: &str = "sglang:spec_accept_rate";

    pub const LABEL_MODEL: &str = "model_name";
}

/// llama.cpp server (`--metrics`): no labels at all, no histograms.
pub mod llamacpp {
    pub const PROMPT_TOKENS_TOTAL: &str = "llamacpp:prompt_tokens_total";
    pub const PROMPT_SECONDS_TOTAL: &str = "llamacpp:prompt_seconds_total";
    pub const TOKENS_PREDICTED_TOTAL: &str = "llamacpp:tokens_predicted_total";
    pub const TOKENS_PREDICTED_SECONDS_TOTAL: &str = "llamacpp:tokens_predicted_seconds_total";
    pub const REQUESTS_PROCESSING: &str = "llamacpp:requests_processing";
    pub const REQUESTS_DEFERRED: &str = "llamacpp:requests_deferred";
    /// Older builds only.
    pub const KV_CACHE_USAGE_RATIO: &str = "llamacpp:kv_cache_usage_ratio";
}

/// Labels infermon itself relies on.
pub mod labels {
    /// The uniform model label of every infermon output series and recording rule.
    pub const MODEL: &str = "model";
    pub const NAMESPACE: &str = "namespace";
    /// Histogram bucket upper bound.
    pub const LE: &str = "le";
    /// The uniform finish-reason label of the `finished_requests` concept.
    pub const REASON: &str = "reason";
    /// Where the model of an unlabelled server (TGI, llama.cpp) comes from when its target has no model label.
    pub const JOB: &str = "job";
}
