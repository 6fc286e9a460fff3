//! TGI 3.x `/metrics`: the `tgi_*` families as `metrics-exporter-prometheus` 0.15 renders TGI's configuration
//! (metrics-catalog.md §2.1–§2.2, `../shared/fixtures/tgi-3.3.x-SYNTHETIC-rendered-metrics.txt`).
//!
//! Faithful details: no model label (the model comes from the target's `model` label), no `_total`/unit
//! suffixes, HELP only for described metrics (the first `describe_*` wins), `tgi_request_skipped_tokens` as a
//! summary, and every series appearing only once TGI first touches it (a fresh TGI exposes almost nothing).
//! Family order is fixed here (the real exporter's order is hash-map dependent).

use super::{Kind, Sink};
use crate::engine::Engine;
use crate::hist::Hist;
use crate::stats::{Stats, TgiStats};
use infermon_core::catalog::names::tgi as n;

/// Builds one TGI exposition.
pub struct TgiExposition<'a> {
    pub engine: &'a Engine,
    /// Emit lazily-created series from the start (backfill wants a stable set of series).
    pub all_series: bool,
}

const METHODS: [&str; 2] = ["prefill", "decode"];

impl TgiExposition<'_> {
    pub fn write<S: Sink>(&self, sink: &mut S, wants: &dyn Fn(&str) -> bool) {
        let e = self.engine;
        let Stats::Tgi(s) = &e.stats else {
            panic!("TgiExposition on a non-TGI replica")
        };
        let s: &TgiStats = s;
        let all = self.all_series;
        let scalar = |sink: &mut S,
                      name: &str,
                      help: Option<&str>,
                      kind: Kind,
                      series: &[(&[(&str, &str)], f64)]| {
            if wants(name) && !series.is_empty() {
                sink.family(name, help, kind);
                for (l, v) in series {
                    sink.scalar(l, *v);
                }
            }
        };
        let hist =
            |sink: &mut S, name: &str, help: Option<&str>, series: &[(&[(&str, &str)], &Hist)]| {
                let series: Vec<_> = series.iter().filter(|(_, h)| all || h.count > 0).collect();
                if wants(name) && !series.is_empty() {
                    sink.family(name, help, Kind::Histogram);
                    for (l, h) in series {
                        sink.histogram(l, h);
                    }
                }
            };
        let method: [[(&str, &str); 1]; 2] = [[("method", METHODS[0])], [("method", METHODS[1])]];
        let per_method = |v: [u64; 2]| -> Vec<(&[(&str, &str)], f64)> {
            (0..2)
                .filter(|i| all || v[*i] > 0)
                .map(|i| (&method[i][..], v[i] as f64))
                .collect()
        };
        let started = all || s.request_count > 0;

        let failure: &[(&str, &str)] = &[("err", "generation")];
        let f: Vec<(&[(&str, &str)], f64)> = if all || s.failure_generation > 0 {
            vec![(failure, s.failure_generation as f64)]
        } else {
            vec![]
        };
        scalar(sink, n::REQUEST_FAILURE, None, Kind::Counter, &f);
        let concat: &[(&str, &str)] = &[("reason", "backpressure")];
        let c: Vec<(&[(&str, &str)], f64)> = if all || s.batch_concat > 0 {
            vec![(concat, s.batch_concat as f64)]
        } else {
            vec![]
        };
        scalar(sink, n::BATCH_CONCAT, None, Kind::Counter, &c);
        scalar(
            sink,
            n::BATCH_INFERENCE_SUCCESS,
            Some("Number of successful inference calls per method (prefill or decode)"),
            Kind::Counter,
            &per_method(s.batch_inference_count),
        );
        let one = |v: f64, on: bool| -> Vec<(&[(&str, &str)], f64)> {
            if on {
                vec![(&[][..], v)]
            } else {
                vec![]
            }
        };
        scalar(
            sink,
            n::REQUEST_COUNT,
            Some("Total number of requests"),
            Kind::Counter,
            &one(s.request_count as f64, started),
        );
        scalar(
            sink,
            n::REQUEST_SUCCESS,
            Some("Number of successful requests"),
            Kind::Counter,
            &one(s.request_success as f64, all || s.request_success > 0),
        );
        scalar(
            sink,
            n::BATCH_INFERENCE_COUNT,
            Some("Inference calls per method (prefill or decode)"),
            Kind::Counter,
            &per_method(s.batch_inference_count),
        );
        let max_tokens: f64 = e
            .running
            .iter()
            .map(|r| f64::from(r.prompt + r.max_tokens))
            .sum();
        scalar(
            sink,
            n::BATCH_CURRENT_MAX_TOKENS,
            Some("Maximum tokens for the current batch"),
            Kind::Gauge,
            &one(max_tokens, started),
        );
        scalar(
            sink,
            n::QUEUE_SIZE,
            Some("Current queue size"),
            Kind::Gauge,
            &one(e.waiting.len() as f64, started),
        );
        scalar(
            sink,
            n::BATCH_CURRENT_SIZE,
            Some("Current batch size"),
            Kind::Gauge,
            &one(e.running.len() as f64, started),
        );
        let capacity = f64::from(e.spec.engine.kv_blocks) * f64::from(e.spec.engine.block_size);
        scalar(
            sink,
            n::BATCH_MAX_TOTAL_TOKENS,
            None,
            Kind::Gauge,
            &one(capacity, true),
        );
        let none: &[(&str, &str)] = &[];
        hist(
            sink,
            n::REQUEST_MEAN_TIME_PER_TOKEN_DURATION,
            Some("Mean time per token per request"),
            &[(none, &s.mean_time_per_token)],
        );
        hist(
            sink,
            n::REQUEST_QUEUE_DURATION,
            Some("Request queue duration"),
            &[(none, &s.queue_duration)],
        );
        hist(
            sink,
            n::REQUEST_INFERENCE_DURATION,
            Some("Request inference duration"),
            &[(none, &s.inference_duration)],
        );
        hist(
            sink,
            n::BATCH_FILTER_DURATION,
            Some("Time spent filtering batches and sending generated tokens per method (prefill or decode)"),
            &[(&method[0], &s.batch_filter_duration[0]), (&method[1], &s.batch_filter_duration[1])],
        );
        hist(
            sink,
            n::REQUEST_VALIDATION_DURATION,
            Some("Request validation duration"),
            &[(none, &s.validation_duration)],
        );
        hist(
            sink,
            n::BATCH_INFERENCE_DURATION,
            Some("Batch inference duration"),
            &[
                (&method[0], &s.batch_inference_duration[0]),
                (&method[1], &s.batch_inference_duration[1]),
            ],
        );
        hist(
            sink,
            n::REQUEST_GENERATED_TOKENS,
            Some("Generated tokens per request"),
            &[(none, &s.generated_tokens)],
        );
        hist(
            sink,
            n::REQUEST_MAX_NEW_TOKENS,
            Some("Maximum new tokens per request"),
            &[(none, &s.max_new_tokens)],
        );
        hist(
            sink,
            n::BATCH_NEXT_SIZE,
            Some("Batch size of the next batch"),
            &[(none, &s.batch_next_size)],
        );
        if wants(n::REQUEST_SKIPPED_TOKENS) && (all || s.skipped_count > 0) {
            sink.family(
                n::REQUEST_SKIPPED_TOKENS,
                Some("Speculated tokens per request"),
                Kind::Summary,
            );
            let q = [
                ("0", 0.0),
                ("0.5", 0.0),
                ("0.9", 0.0),
                ("0.95", 0.0),
                ("0.99", 0.0),
                ("0.999", 0.0),
                ("1", 0.0),
            ];
            sink.summary(none, &q, 0.0, s.skipped_count);
        }
        hist(
            sink,
            n::BATCH_FORWARD_DURATION,
            Some("Batch forward duration per method (prefill or decode)"),
            &[
                (&method[0], &s.batch_forward_duration[0]),
                (&method[1], &s.batch_forward_duration[1]),
            ],
        );
        hist(
            sink,
            n::REQUEST_INPUT_LENGTH,
            Some("Input token length per request"),
            &[(none, &s.input_length)],
        );
        hist(
            sink,
            n::BATCH_DECODE_DURATION,
            Some("Time spent decoding a batch per method (prefill or decode)"),
            &[
                (&method[0], &s.batch_decode_duration[0]),
                (&method[1], &s.batch_decode_duration[1]),
            ],
        );
        hist(
            sink,
            n::REQUEST_DURATION,
            Some("Request duration"),
            &[(none, &s.request_duration)],
        );
        hist(
            sink,
            n::BATCH_CONCAT_DURATION,
            None,
            &[(&method[1], &s.batch_concat_duration)],
        );
    }
}
