//! Histogram bucket layouts (as exposed `le` strings plus their numeric bounds) and a weighted histogram.
//!
//! Layouts of the inference concepts come from `infermon_core::catalog::buckets` (the single source of truth);
//! layouts that depend on server flags (vLLM's 1-2-5 token buckets up to `max_model_len`, TGI's token buckets
//! from `max_input_tokens`/`max_total_tokens`) and the HTTP middleware's are computed here, formatted the way
//! the real exporter formats them.

use crate::expo::format::{py_float, rust_float};
use infermon_core::catalog::buckets::{self as core_buckets, BucketSet};
use std::sync::{Arc, OnceLock};

/// One bucket layout: finite upper bounds and their exposed strings (`+Inf` is implied).
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub le: Vec<String>,
    pub bounds: Vec<f64>,
}

impl Layout {
    pub fn from_core(set: &BucketSet) -> Layout {
        Layout {
            le: set.le.iter().map(|s| s.to_string()).collect(),
            bounds: set.bounds(),
        }
    }

    /// Bounds printed like Python's prometheus_client (`1.0`, `0.5`).
    pub fn python(bounds: Vec<f64>) -> Layout {
        Layout {
            le: bounds.iter().map(|b| py_float(*b)).collect(),
            bounds,
        }
    }

    /// Bounds printed like Rust's `metrics-exporter-prometheus` (`1`, `0.00015000000000000001`).
    pub fn rust(bounds: Vec<f64>) -> Layout {
        Layout {
            le: bounds.iter().map(|b| rust_float(*b)).collect(),
            bounds,
        }
    }
}

fn cached(cell: &'static OnceLock<Arc<Layout>>, f: impl FnOnce() -> Layout) -> Arc<Layout> {
    cell.get_or_init(|| Arc::new(f())).clone()
}

pub fn vllm_ttft() -> Arc<Layout> {
    static C: OnceLock<Arc<Layout>> = OnceLock::new();
    cached(&C, || Layout::from_core(&core_buckets::VLLM_TTFT))
}
pub fn vllm_itl() -> Arc<Layout> {
    static C: OnceLock<Arc<Layout>> = OnceLock::new();
    cached(&C, || Layout::from_core(&core_buckets::VLLM_ITL))
}
pub fn vllm_request_latency() -> Arc<Layout> {
    static C: OnceLock<Arc<Layout>> = OnceLock::new();
    cached(&C, || {
        Layout::from_core(&core_buckets::VLLM_REQUEST_LATENCY)
    })
}
pub fn vllm_iteration_tokens() -> Arc<Layout> {
    static C: OnceLock<Arc<Layout>> = OnceLock::new();
    cached(&C, || {
        Layout::from_core(&core_buckets::VLLM_ITERATION_TOKENS)
    })
}
/// `vllm:request_params_n` (`buckets.py` family `request_params_n`).
pub fn vllm_params_n() -> Arc<Layout> {
    static C: OnceLock<Arc<Layout>> = OnceLock::new();
    cached(&C, || Layout::python(vec![1.0, 2.0, 5.0, 10.0, 20.0]))
}
/// vLLM `build_1_2_5_buckets(max_model_len)`: 1, 2, 5, 10, 20, 50, … ≤ max.
pub fn vllm_request_tokens(max_model_len: u32) -> Arc<Layout> {
    let mut bounds = Vec::new();
    let mut scale = 1.0;
    'outer: loop {
        for m in [1.0, 2.0, 5.0] {
            let v: f64 = m * scale;
            if v > f64::from(max_model_len) {
                break 'outer;
            }
            bounds.push(v);
        }
        scale *= 10.0;
    }
    Arc::new(Layout::python(bounds))
}
/// prometheus_fastapi_instrumentator `http_request_duration_highr_seconds`.
pub fn http_highr() -> Arc<Layout> {
    static C: OnceLock<Arc<Layout>> = OnceLock::new();
    cached(&C, || {
        Layout::python(vec![
            0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5,
            5.0, 7.5, 10.0, 30.0, 60.0,
        ])
    })
}
/// prometheus_fastapi_instrumentator `http_request_duration_seconds`.
pub fn http_duration() -> Arc<Layout> {
    static C: OnceLock<Arc<Layout>> = OnceLock::new();
    cached(&C, || Layout::python(vec![0.1, 0.5, 1.0]))
}
/// SGLang `sglang:time_to_first_token_seconds` (collector.py defaults).
pub fn sglang_ttft() -> Arc<Layout> {
    static C: OnceLock<Arc<Layout>> = OnceLock::new();
    cached(&C, || Layout::from_core(&core_buckets::SGLANG_TTFT))
}
/// SGLang `sglang:inter_token_latency_seconds`.
pub fn sglang_itl() -> Arc<Layout> {
    static C: OnceLock<Arc<Layout>> = OnceLock::new();
    cached(&C, || Layout::from_core(&core_buckets::SGLANG_ITL))
}
/// SGLang `sglang:e2e_request_latency_seconds`.
pub fn sglang_e2e() -> Arc<Layout> {
    static C: OnceLock<Arc<Layout>> = OnceLock::new();
    cached(&C, || Layout::from_core(&core_buckets::SGLANG_E2E))
}
/// SGLang `sglang:queue_time_seconds` (scheduler collector, fixed list starting at 0.0).
pub fn sglang_queue_time() -> Arc<Layout> {
    static C: OnceLock<Arc<Layout>> = OnceLock::new();
    cached(&C, || {
        Layout::python(vec![
            0.0, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0,
            70.0, 80.0, 90.0, 100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0, 900.0,
            1000.0, 1200.0, 1400.0, 1600.0, 1800.0, 2000.0, 2500.0, 3000.0,
        ])
    })
}
/// SGLang `sglang:num_retractions` (retractions per finished request).
pub fn sglang_num_retractions() -> Arc<Layout> {
    static C: OnceLock<Arc<Layout>> = OnceLock::new();
    cached(&C, || {
        Layout::python(vec![
            0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0,
            50.0, 75.0, 100.0,
        ])
    })
}
pub fn tgi_duration() -> Arc<Layout> {
    static C: OnceLock<Arc<Layout>> = OnceLock::new();
    cached(&C, || Layout::from_core(&core_buckets::TGI_DURATION))
}
/// TGI `(max as f64 / 100.0) * (k as f64)`, k = 1..=100 (`router/src/server.rs`).
pub fn tgi_hundredths(max: u32) -> Arc<Layout> {
    Arc::new(Layout::rust(
        (1..=100)
            .map(|k| (f64::from(max) / 100.0) * f64::from(k))
            .collect(),
    ))
}
/// TGI `tgi_batch_next_size`: 1..=1024 step 1.
pub fn tgi_batch_size() -> Arc<Layout> {
    static C: OnceLock<Arc<Layout>> = OnceLock::new();
    cached(&C, || Layout::rust((1..=1024).map(f64::from).collect()))
}

/// A classic histogram with weighted observations (one call can record `n` equal observations, which the
/// macro-stepping engine uses for inter-token latencies of many identical decode steps).
#[derive(Debug, Clone)]
pub struct Hist {
    pub layout: Arc<Layout>,
    /// Non-cumulative counts per finite bucket, plus one for `+Inf`.
    counts: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl Hist {
    pub fn new(layout: Arc<Layout>) -> Hist {
        let n = layout.bounds.len() + 1;
        Hist {
            layout,
            counts: vec![0; n],
            sum: 0.0,
            count: 0,
        }
    }

    pub fn observe(&mut self, v: f64) {
        self.observe_n(v, 1);
    }

    pub fn observe_n(&mut self, v: f64, n: u64) {
        if n == 0 {
            return;
        }
        // `le` semantics: the first bound ≥ v.
        let i = self.layout.bounds.partition_point(|b| *b < v);
        self.counts[i] += n;
        self.sum += v * n as f64;
        self.count += n;
    }

    /// Cumulative counts per finite bound (the `_bucket` values without `+Inf`, which equals `count`).
    pub fn cumulative(&self) -> Vec<u64> {
        let mut acc = 0;
        self.counts[..self.counts.len() - 1]
            .iter()
            .map(|c| {
                acc += c;
                acc
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vllm_token_buckets_match_the_0_10_capture_for_max_model_len_8192() {
        let l = vllm_request_tokens(8192);
        assert_eq!(
            l.le,
            [
                "1.0", "2.0", "5.0", "10.0", "20.0", "50.0", "100.0", "200.0", "500.0", "1000.0",
                "2000.0", "5000.0"
            ]
        );
    }

    #[test]
    fn tgi_token_buckets_are_printed_like_the_rust_exporter() {
        let l = tgi_hundredths(4095);
        assert_eq!(&l.le[..3], ["40.95", "81.9", "122.85000000000001"]);
        assert_eq!(l.le[99], "4095.0000000000005");
        assert_eq!(tgi_batch_size().le[0], "1");
    }

    #[test]
    fn observations_land_in_the_first_bucket_whose_bound_is_at_least_the_value() {
        let mut h = Hist::new(vllm_request_latency());
        h.observe(0.3); // exactly on a bound: counted in le="0.3"
        h.observe_n(5.0, 3);
        h.observe(1e9);
        let c = h.cumulative();
        assert_eq!(c[0], 1);
        let i5 = h.layout.le.iter().position(|s| s == "5.0").unwrap();
        assert_eq!(c[i5], 4);
        assert_eq!(*c.last().unwrap(), 4);
        assert_eq!(h.count, 5);
        assert!((h.sum - (0.3 + 15.0 + 1e9)).abs() < 1e-6);
    }
}
