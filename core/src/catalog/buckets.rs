//! Histogram bucket boundaries, as the servers expose them in the `le` label.
//!
//! Kept as the exact exposed strings because SLO rules select a bucket by string equality: vLLM's
//! prometheus_client prints `"5.0"`, TGI's Rust exporter prints shortest round-trip floats such as
//! `"0.33252567300796504"`. Sources: vLLM `vllm/v1/metrics/buckets.py` (commit 139b1c3f) and the V0 lists of
//! `vllm/engine/metrics.py` (commit 00c33e81); TGI `router/src/server.rs` (`0.0001 × 1.5^k`, k = 1..35);
//! SGLang `collector.py` (commit 00ae9c15). See `../shared/reference/metrics-catalog.md` §1.3, §2.2, §3.

/// One bucket layout of one histogram, for one server generation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketSet {
    /// Which server versions use this layout (for messages).
    pub generation: &'static str,
    /// Finite upper bounds as exposed (`+Inf` is implied).
    pub le: &'static [&'static str],
}

impl BucketSet {
    /// The boundaries as numbers, ascending.
    pub fn bounds(&self) -> Vec<f64> {
        self.le
            .iter()
            .map(|s| s.parse::<f64>().expect("catalog bucket strings are floats"))
            .collect()
    }

    /// The exposed `le` string of `value`, if `value` is a boundary (compared numerically).
    pub fn exposed(&self, value: f64) -> Option<&'static str> {
        self.le.iter().copied().find(|s| {
            s.parse::<f64>()
                .map(|b| same_bound(b, value))
                .unwrap_or(false)
        })
    }

    /// The closest boundaries below and above `value` (either may be missing at the ends).
    pub fn neighbours(&self, value: f64) -> (Option<f64>, Option<f64>) {
        let bounds = self.bounds();
        let below = bounds.iter().copied().rev().find(|b| *b < value);
        let above = bounds.iter().copied().find(|b| *b > value);
        (below, above)
    }
}

/// Boundaries are compared with a relative tolerance so that `0.5` typed by a user matches `le="0.5"`, and
/// `1.1222741464` matches TGI's `1.122274146401882` only when it is the same float to 1e-9.
pub fn same_bound(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
}

/// vLLM V1 TTFT (`time_to_first_token` family, PR #15202 onwards).
pub const VLLM_TTFT: BucketSet = BucketSet {
    generation: "vLLM ≥ 0.8 (V1)",
    le: &[
        "0.001", "0.005", "0.01", "0.02", "0.04", "0.06", "0.08", "0.1", "0.25", "0.5", "0.75",
        "1.0", "2.5", "5.0", "7.5", "10.0", "20.0", "40.0", "80.0", "160.0", "640.0", "2560.0",
    ],
};

/// vLLM V0 TTFT (top bucket 10 s).
pub const VLLM_V0_TTFT: BucketSet = BucketSet {
    generation: "vLLM V0",
    le: &[
        "0.001", "0.005", "0.01", "0.02", "0.04", "0.06", "0.08", "0.1", "0.25", "0.5", "0.75",
        "1.0", "2.5", "5.0", "7.5", "10.0",
    ],
};

/// vLLM V1 inter-token latency and per-request TPOT (`inter_token_latency` family).
pub const VLLM_ITL: BucketSet = BucketSet {
    generation: "vLLM ≥ 0.8 (V1)",
    le: &[
        "0.01", "0.025", "0.05", "0.075", "0.1", "0.15", "0.2", "0.3", "0.4", "0.5", "0.75", "1.0",
        "2.5", "5.0", "7.5", "10.0", "20.0", "40.0", "80.0",
    ],
};

/// vLLM V0 time per output token (top bucket 2.5 s).
pub const VLLM_V0_ITL: BucketSet = BucketSet {
    generation: "vLLM V0",
    le: &[
        "0.01", "0.025", "0.05", "0.075", "0.1", "0.15", "0.2", "0.3", "0.4", "0.5", "0.75", "1.0",
        "2.5",
    ],
};

/// vLLM V1 request-phase latencies: e2e, queue, inference, prefill, decode (`request_latency` family).
pub const VLLM_REQUEST_LATENCY: BucketSet = BucketSet {
    generation: "vLLM ≥ 0.8 (V1)",
    le: &[
        "0.3", "0.5", "0.8", "1.0", "1.5", "2.0", "2.5", "5.0", "10.0", "15.0", "20.0", "30.0",
        "40.0", "50.0", "60.0", "120.0", "240.0", "480.0", "960.0", "1920.0", "7680.0",
    ],
};

/// vLLM V0 (early 2025) shared request-latency list, capped at 60 s.
pub const VLLM_V0_REQUEST_LATENCY: BucketSet = BucketSet {
    generation: "vLLM V0 (2025)",
    le: &[
        "0.3", "0.5", "0.8", "1.0", "1.5", "2.0", "2.5", "5.0", "10.0", "15.0", "20.0", "30.0",
        "40.0", "50.0", "60.0",
    ],
};

/// vLLM `iteration_tokens` family (tokens per engine step).
pub const VLLM_ITERATION_TOKENS: BucketSet = BucketSet {
    generation: "vLLM ≥ 0.8 (V1)",
    le: &[
        "1.0", "8.0", "16.0", "32.0", "64.0", "128.0", "256.0", "512.0", "1024.0", "2048.0",
        "4096.0", "8192.0", "16384.0",
    ],
};

/// TGI: every histogram whose name ends in `duration`: `0.0001 × 1.5^k`, k = 1..35, as the exporter prints them.
pub const TGI_DURATION: BucketSet = BucketSet {
    generation: "TGI ≥ 0.5 (0.0001 × 1.5^k)",
    le: &[
        "0.00015000000000000001",
        "0.00022500000000000002",
        "0.0003375",
        "0.00050625",
        "0.000759375",
        "0.0011390624999999999",
        "0.0017085937499999998",
        "0.0025628906249999996",
        "0.0038443359374999994",
        "0.00576650390625",
        "0.008649755859375",
        "0.0129746337890625",
        "0.01946195068359375",
        "0.029192926025390625",
        "0.043789389038085935",
        "0.0656840835571289",
        "0.09852612533569335",
        "0.14778918800354002",
        "0.22168378200531003",
        "0.33252567300796504",
        "0.49878850951194753",
        "0.7481827642679213",
        "1.122274146401882",
        "1.683411219602823",
        "2.5251168294042348",
        "3.787675244106352",
        "5.681512866159528",
        "8.52226929923929",
        "12.783403948858936",
        "19.175105923288406",
        "28.76265888493261",
        "43.143988327398915",
        "64.71598249109837",
        "97.07397373664756",
        "145.61096060497135",
    ],
};

/// SGLang TTFT (no bucket below 100 ms).
pub const SGLANG_TTFT: BucketSet = BucketSet {
    generation: "SGLang (collector.py defaults)",
    le: &[
        "0.1", "0.2", "0.4", "0.6", "0.8", "1.0", "2.0", "4.0", "6.0", "8.0", "10.0", "20.0",
        "40.0", "60.0", "80.0", "100.0", "200.0", "400.0",
    ],
};

/// SGLang inter-token latency.
pub const SGLANG_ITL: BucketSet = BucketSet {
    generation: "SGLang (collector.py defaults)",
    le: &[
        "0.002", "0.004", "0.006", "0.008", "0.01", "0.015", "0.02", "0.025", "0.03", "0.035",
        "0.04", "0.06", "0.08", "0.1", "0.2", "0.4", "0.6", "0.8", "1.0", "2.0", "4.0", "6.0",
        "8.0",
    ],
};

/// SGLang e2e request latency.
pub const SGLANG_E2E: BucketSet = BucketSet {
    generation: "SGLang (collector.py defaults)",
    le: &[
        "0.1", "0.2", "0.4", "0.6", "0.8", "1.0", "2.0", "4.0", "6.0", "8.0", "10.0", "20.0",
        "40.0", "60.0", "80.0", "100.0", "200.0", "400.0", "600.0", "1200.0", "1800.0", "2400.0",
    ],
};

/// SGLang queue time (scheduler collector, a fixed list starting at 0: `le="0.0"` counts requests that never
/// waited).
pub const SGLANG_QUEUE_TIME: BucketSet = BucketSet {
    generation: "SGLang (collector.py, fixed)",
    le: &[
        "0.0", "0.1", "0.2", "0.5", "1.0", "2.0", "3.0", "4.0", "5.0", "10.0", "15.0", "20.0",
        "30.0", "40.0", "50.0", "60.0", "70.0", "80.0", "90.0", "100.0", "200.0", "300.0", "400.0",
        "500.0", "600.0", "700.0", "800.0", "900.0", "1000.0", "1200.0", "1400.0", "1600.0",
        "1800.0", "2000.0", "2500.0", "3000.0",
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tgi_duration_buckets_are_0_0001_times_1_5_pow_k() {
        let bounds = TGI_DURATION.bounds();
        assert_eq!(bounds.len(), 35);
        for (i, b) in bounds.iter().enumerate() {
            let k = (i + 1) as i32;
            assert!(same_bound(*b, 0.0001 * 1.5f64.powi(k)), "k={k}: {b}");
        }
    }

    #[test]
    fn every_bucket_list_is_strictly_ascending() {
        for set in [
            VLLM_TTFT,
            VLLM_V0_TTFT,
            VLLM_ITL,
            VLLM_V0_ITL,
            VLLM_REQUEST_LATENCY,
            VLLM_V0_REQUEST_LATENCY,
            VLLM_ITERATION_TOKENS,
            TGI_DURATION,
            SGLANG_TTFT,
            SGLANG_ITL,
            SGLANG_E2E,
            SGLANG_QUEUE_TIME,
        ] {
            let b = set.bounds();
            assert!(b.windows(2).all(|w| w[0] < w[1]), "{}", set.generation);
        }
    }

    #[test]
    fn exposed_finds_the_string_as_printed() {
        assert_eq!(VLLM_REQUEST_LATENCY.exposed(5.0), Some("5.0"));
        assert_eq!(VLLM_TTFT.exposed(0.5), Some("0.5"));
        assert_eq!(VLLM_TTFT.exposed(2.0), None);
        assert_eq!(
            TGI_DURATION.exposed(0.0001 * 1.5f64.powi(21)),
            Some("0.49878850951194753")
        );
        assert_eq!(
            TGI_DURATION.neighbours(5.0),
            (Some(3.787675244106352), Some(5.681512866159528))
        );
    }
}
