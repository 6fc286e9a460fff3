//! The inference metric catalog: for every inference concept and every backend, which exposed series answer it,
//! how (histogram, counter, gauge, ratio), how faithfully, and why not when they cannot.
//!
//! This is infermon's single source of truth: the PromQL translator, the recording/alerting/SLO rules, the
//! dashboards and the simulator all read it. Facts and their sources are in
//! `../shared/reference/metrics-catalog.md` (vLLM §1, TGI §2, SGLang §3, llama.cpp §4, translation hints §8);
//! names are spelled once in [`names`], bucket boundaries in [`buckets`].

pub mod buckets;
pub mod names;
mod table;

use serde::{Deserialize, Serialize};
use std::fmt;

pub use buckets::BucketSet;
pub use table::support;

/// An inference server family whose `/metrics` infermon understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Vllm,
    Tgi,
    Sglang,
    Llamacpp,
}

impl Backend {
    pub const ALL: [Backend; 4] = [
        Backend::Vllm,
        Backend::Tgi,
        Backend::Sglang,
        Backend::Llamacpp,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Backend::Vllm => "vllm",
            Backend::Tgi => "tgi",
            Backend::Sglang => "sglang",
            Backend::Llamacpp => "llamacpp",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Backend::Vllm => "vLLM",
            Backend::Tgi => "TGI",
            Backend::Sglang => "SGLang",
            Backend::Llamacpp => "llama.cpp",
        }
    }

    pub fn from_id(id: &str) -> Option<Backend> {
        Backend::ALL.into_iter().find(|b| b.id() == id)
    }

    /// Where this backend's model name comes from.
    pub fn model_source(self) -> ModelSource {
        match self {
            Backend::Vllm => ModelSource::ExposedLabel(names::vllm::LABEL_MODEL),
            Backend::Sglang => ModelSource::ExposedLabel(names::sglang::LABEL_MODEL),
            // TGI and llama.cpp expose no model label: it must come from a Prometheus target label
            // (metrics-catalog.md §2.1, §4).
            Backend::Tgi | Backend::Llamacpp => ModelSource::TargetLabel,
        }
    }

    /// A series whose presence identifies this backend (used for detection).
    pub fn marker_metric(self) -> &'static str {
        match self {
            Backend::Vllm => names::vllm::NUM_REQUESTS_RUNNING,
            Backend::Tgi => names::tgi::QUEUE_SIZE,
            Backend::Sglang => names::sglang::NUM_RUNNING_REQS,
            Backend::Llamacpp => names::llamacpp::REQUESTS_PROCESSING,
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

/// Where the uniform `model` output label comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelSource {
    /// The server labels every series with the model (vLLM and SGLang `model_name`).
    ExposedLabel(&'static str),
    /// The server has no model label; a Prometheus target label carries it (configurable, default `model`, falling
    /// back to `job` when the target has none).
    TargetLabel,
}

/// What a concept measures, which decides the statistics that make sense for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConceptKind {
    /// A per-request or per-token duration: quantiles and averages.
    Latency,
    /// Events per second from a counter.
    Throughput,
    /// An events-weighted 0..1 ratio of two counters.
    Ratio,
    /// A level read from a gauge.
    Gauge,
}

/// How replicas of one model are combined for a gauge's "current" value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GaugeAggregation {
    /// Counts add up across replicas and data-parallel engines (queue depth, running requests).
    Sum,
    /// Pressure is as bad as the most loaded replica (KV-cache usage).
    Max,
    /// A per-replica level (batch size).
    Avg,
}

macro_rules! concepts {
    ($( $variant:ident => $id:literal, $label:literal, $group:literal, $unit:literal, $kind:ident, $desc:literal; )*) => {
        /// An inference concept a user can ask about.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Concept { $( #[serde(rename = $id)] $variant, )* }

        impl Concept {
            pub const ALL: &'static [Concept] = &[ $( Concept::$variant, )* ];

            pub fn id(self) -> &'static str { match self { $( Concept::$variant => $id, )* } }
            pub fn label(self) -> &'static str { match self { $( Concept::$variant => $label, )* } }
            pub fn group(self) -> &'static str { match self { $( Concept::$variant => $group, )* } }
            /// Grafana unit id of the values this concept produces.
            pub fn unit(self) -> &'static str { match self { $( Concept::$variant => $unit, )* } }
            pub fn kind(self) -> ConceptKind { match self { $( Concept::$variant => ConceptKind::$kind, )* } }
            /// One sentence for editors, panel descriptions and docs.
            pub fn description(self) -> &'static str { match self { $( Concept::$variant => $desc, )* } }
            pub fn from_id(id: &str) -> Option<Concept> { Concept::ALL.iter().copied().find(|c| c.id() == id) }
        }
    };
}

concepts! {
    Ttft => "ttft", "Time to first token", "Latency", "s", Latency,
        "Time from request arrival to the first generated token, including queueing and prefill.";
    InterTokenLatency => "inter_token_latency", "Inter-token latency", "Latency", "s", Latency,
        "Time between successive streamed outputs of a request (one decode step).";
    Tpot => "tpot", "Time per output token", "Latency", "s", Latency,
        "Per finished request: decode time divided by the number of output tokens after the first.";
    E2eLatency => "e2e_latency", "End-to-end latency", "Latency", "s", Latency,
        "Time from request arrival to the last token of finished requests.";
    QueueTime => "queue_time", "Queue time", "Latency", "s", Latency,
        "Time finished requests spent waiting before they were first scheduled.";
    PrefillTime => "prefill_time", "Prefill time", "Latency", "s", Latency,
        "Time spent processing the prompt before the first token.";
    DecodeTime => "decode_time", "Decode time", "Latency", "s", Latency,
        "Time from the first to the last generated token of finished requests.";
    GenerationTokensRate => "generation_tokens_rate", "Generated tokens/s", "Throughput", "tokens/s", Throughput,
        "Output tokens generated per second.";
    PromptTokensRate => "prompt_tokens_rate", "Prompt tokens/s", "Throughput", "tokens/s", Throughput,
        "Prompt (prefill) tokens processed per second, including prefix-cache hits.";
    RequestRate => "request_rate", "Requests/s", "Throughput", "reqps", Throughput,
        "Requests per second.";
    FinishedRequests => "finished_requests", "Finished requests by reason", "Throughput", "reqps", Throughput,
        "Finished requests per second, split by why they finished (stop, length, abort, error, …).";
    ErrorRatio => "error_ratio", "Error ratio", "Errors", "percentunit", Ratio,
        "Share of requests that failed (events-weighted, 0..1).";
    QueueDepth => "queue_depth", "Queue depth", "Saturation", "short", Gauge,
        "Requests waiting to be scheduled.";
    RunningRequests => "running_requests", "Running requests", "Saturation", "short", Gauge,
        "Requests in the running batch.";
    KvCacheUsage => "kv_cache_usage", "KV-cache usage", "Saturation", "percentunit", Gauge,
        "Fraction (0..1) of the KV cache in use on the most loaded replica.";
    PreemptionRate => "preemption_rate", "Preemptions/s", "Saturation", "ops", Throughput,
        "Requests preempted per second because the KV cache ran out.";
    PrefixCacheHitRate => "prefix_cache_hit_rate", "Prefix-cache hit rate", "Caching", "percentunit", Ratio,
        "Share of prompt tokens served from the prefix cache (events-weighted, 0..1).";
    SpecDecodeAcceptanceRate => "spec_decode_acceptance_rate", "Speculative-decoding acceptance", "Caching", "percentunit", Ratio,
        "Share of drafted tokens accepted by the target model (0..1).";
    BatchSize => "batch_size", "Batch size", "Saturation", "short", Gauge,
        "Requests per running batch, averaged over replicas.";
}

impl Concept {
    /// For gauges: how replicas combine into one value per model.
    pub fn gauge_aggregation(self) -> GaugeAggregation {
        match self {
            Concept::KvCacheUsage => GaugeAggregation::Max,
            Concept::BatchSize => GaugeAggregation::Avg,
            _ => GaugeAggregation::Sum,
        }
    }

    /// Grafana unit id of the per-second growth (`deriv`) of this concept's level (the `growth` statistic of
    /// gauges). Grafana has no "per second" variant of `short` or `percentunit`: request counts grow in requests
    /// per second (`reqps`); a 0..1 fraction grows in fraction per second, which Grafana can only show as a custom
    /// suffix (an id it does not know is drawn as the value followed by the id).
    pub fn growth_unit(self) -> &'static str {
        match self.unit() {
            "short" => "reqps",
            "percentunit" => "/s",
            // Not gauges: no growth statistic applies (kept total for the type's sake).
            _ => "none",
        }
    }

    /// The latency concepts an SLO can be defined on (threshold on histogram buckets), plus errors.
    pub fn slo_capable(self) -> bool {
        matches!(
            self,
            Concept::Ttft
                | Concept::InterTokenLatency
                | Concept::Tpot
                | Concept::E2eLatency
                | Concept::QueueTime
                | Concept::ErrorRatio
        )
    }
}

impl fmt::Display for Concept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One logical series, possibly known under several names across server versions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Series {
    /// Preferred (newest) name first, then older names still exposed by older versions. One query covers all of
    /// them without double counting (see the translator's `or` fallback).
    pub names: &'static [&'static str],
    /// Fixed equality matchers that narrow the series (e.g. TGI `method="prefill"`).
    pub matchers: &'static [(&'static str, &'static str)],
}

/// A classic histogram: `names` are base names (`_bucket`, `_sum`, `_count` are appended).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Histogram {
    pub series: Series,
    /// Bucket layouts across generations; an SLO threshold must be a boundary of every one of them.
    pub buckets: &'static [BucketSet],
}

/// Where a reason value of `finished_requests` comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reason {
    /// Copy the reason from this exposed label.
    Label(&'static str),
    /// Every sample of this counter has this reason.
    Fixed(&'static str),
}

/// How a backend answers a concept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Source {
    /// A histogram: quantiles via `histogram_quantile`, averages via `rate(_sum)/rate(_count)`.
    Histogram(Histogram),
    /// A sum of histograms' statistics (TGI TTFT ≈ queue + prefill): always an approximation.
    SumOfHistograms(&'static [Histogram]),
    /// A mean only: `rate(numerator)/rate(denominator)` of two counters (llama.cpp seconds per token).
    MeanOfCounters {
        numerator: Series,
        denominator: Series,
    },
    /// A counter: per-second rate.
    Counter(Series),
    /// Counters whose samples carry a finish reason.
    ReasonCounters(&'static [(Series, Reason)]),
    /// An events-weighted ratio of two counters.
    CounterRatio {
        numerator: Series,
        denominator: Series,
    },
    /// A gauge level.
    Gauge(Series),
    /// A ratio of two gauges.
    GaugeRatio {
        numerator: Series,
        denominator: Series,
    },
}

impl Source {
    /// Every base metric name the source may read (histograms without `_bucket`), for detection and docs.
    pub fn metric_names(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut add = |s: &Series| out.extend_from_slice(s.names);
        match self {
            Source::Histogram(h) => add(&h.series),
            Source::SumOfHistograms(hs) => hs.iter().for_each(|h| add(&h.series)),
            Source::MeanOfCounters {
                numerator,
                denominator,
            }
            | Source::CounterRatio {
                numerator,
                denominator,
            }
            | Source::GaugeRatio {
                numerator,
                denominator,
            } => {
                add(numerator);
                add(denominator);
            }
            Source::Counter(s) | Source::Gauge(s) => add(s),
            Source::ReasonCounters(list) => list.iter().for_each(|(s, _)| add(s)),
        }
        out
    }
}

/// How faithfully a backend answers a concept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fidelity {
    Exact,
    /// The answer is an approximation; the note says of what.
    Approximate(&'static str),
}

/// One catalog cell: concept × backend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Support {
    Supported {
        source: Source,
        fidelity: Fidelity,
        /// Which server versions/features provide it, when not all do (e.g. "vLLM ≥ 0.11",
        /// "only with speculative decoding enabled").
        requires: Option<&'static str>,
    },
    Unsupported(&'static str),
}

impl Support {
    pub fn is_supported(&self) -> bool {
        matches!(self, Support::Supported { .. })
    }
}
