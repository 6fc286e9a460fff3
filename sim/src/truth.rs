//! Ground truth: what really happened on a replica, from raw per-request observations.
//!
//! Histograms lose information (a quantile is only known to lie within a bucket); the truth log keeps the raw
//! values, so tests can check that what infermon computes from Prometheus is right within the error the buckets
//! allow, and the backfill can state the true SLO attainment of a whole period.

use serde::Serialize;
use std::collections::VecDeque;

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    /// Client cancelled.
    Abort,
    /// Failed in the engine.
    Error,
}

/// One finished request.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TruthRecord {
    /// Finish time (engine seconds).
    pub t: f64,
    pub ttft: Option<f64>,
    pub e2e: f64,
    pub queue: f64,
    pub outcome: Outcome,
    pub prompt: u32,
    pub generated: u32,
}

/// The default SLO thresholds (issue 4: e2e ≤ 5 s, TTFT ≤ 0.5 s, no error).
pub const SLO_E2E_S: f64 = 5.0;
pub const SLO_TTFT_S: f64 = 0.5;

/// Exact counters over some period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Totals {
    pub finished: u64,
    pub errors: u64,
    pub aborts: u64,
    pub e2e_sum: f64,
    /// Finished requests with e2e ≤ 5 s.
    pub e2e_within_slo: u64,
    pub ttft_count: u64,
    pub ttft_sum: f64,
    /// First tokens within 0.5 s.
    pub ttft_within_slo: u64,
    pub generated_tokens: u64,
    pub prompt_tokens: u64,
}

impl Totals {
    pub fn add(&mut self, o: &Totals) {
        self.finished += o.finished;
        self.errors += o.errors;
        self.aborts += o.aborts;
        self.e2e_sum += o.e2e_sum;
        self.e2e_within_slo += o.e2e_within_slo;
        self.ttft_count += o.ttft_count;
        self.ttft_sum += o.ttft_sum;
        self.ttft_within_slo += o.ttft_within_slo;
        self.generated_tokens += o.generated_tokens;
        self.prompt_tokens += o.prompt_tokens;
    }

    fn on_finish(&mut self, r: &TruthRecord) {
        self.finished += 1;
        match r.outcome {
            Outcome::Ok => {}
            Outcome::Abort => self.aborts += 1,
            Outcome::Error => self.errors += 1,
        }
        self.e2e_sum += r.e2e;
        if r.e2e <= SLO_E2E_S {
            self.e2e_within_slo += 1;
        }
        self.prompt_tokens += u64::from(r.prompt);
    }

    fn on_first_token(&mut self, ttft: f64) {
        self.ttft_count += 1;
        self.ttft_sum += ttft;
        if ttft <= SLO_TTFT_S {
            self.ttft_within_slo += 1;
        }
    }

    /// SLO attainment ratios (None without events).
    pub fn attainment(&self) -> Attainment {
        let ratio = |good: u64, all: u64| {
            if all == 0 {
                None
            } else {
                Some(good as f64 / all as f64)
            }
        };
        Attainment {
            e2e_within_5s: ratio(self.e2e_within_slo, self.finished),
            ttft_within_0_5s: ratio(self.ttft_within_slo, self.ttft_count),
            without_error: ratio(self.finished - self.errors, self.finished),
        }
    }
}

/// True SLO attainment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Attainment {
    pub e2e_within_5s: Option<f64>,
    pub ttft_within_0_5s: Option<f64>,
    pub without_error: Option<f64>,
}

/// The per-replica truth log.
#[derive(Debug, Clone)]
pub struct TruthLog {
    keep_s: Option<f64>,
    records: VecDeque<TruthRecord>,
    /// (first-token time, TTFT), in observation order.
    ttfts: VecDeque<(f64, f64)>,
    /// Times of preemptions (for windows).
    preemption_times: VecDeque<f64>,
    /// (time, cumulative generated tokens), at most one per second.
    token_marks: VecDeque<(f64, u64)>,
    pub total: Totals,
    /// Totals per day since the start (day = floor(t / 86400)).
    pub per_day: Vec<Totals>,
    pub preemptions: u64,
    pub generated_tokens: u64,
    /// TTFT observations dropped from the front of `ttfts` (so "the first N" stays addressable).
    ttfts_dropped: u64,
    records_dropped: u64,
}

impl TruthLog {
    /// `keep_s`: how long raw observations are kept (None: keep none, only totals — for backfill).
    pub fn new(keep_s: Option<f64>) -> TruthLog {
        TruthLog {
            keep_s,
            records: VecDeque::new(),
            ttfts: VecDeque::new(),
            preemption_times: VecDeque::new(),
            token_marks: VecDeque::new(),
            total: Totals::default(),
            per_day: Vec::new(),
            preemptions: 0,
            generated_tokens: 0,
            ttfts_dropped: 0,
            records_dropped: 0,
        }
    }

    fn day(&mut self, t: f64) -> &mut Totals {
        let d = (t / 86_400.0).floor().max(0.0) as usize;
        if self.per_day.len() <= d {
            self.per_day.resize(d + 1, Totals::default());
        }
        &mut self.per_day[d]
    }

    pub fn on_finish(&mut self, r: TruthRecord) {
        self.total.on_finish(&r);
        self.day(r.t).on_finish(&r);
        if let Some(keep) = self.keep_s {
            self.records.push_back(r);
            while self.records.front().is_some_and(|x| x.t < r.t - keep) {
                self.records.pop_front();
                self.records_dropped += 1;
            }
        }
    }

    pub fn on_first_token(&mut self, t: f64, ttft: f64) {
        self.total.on_first_token(ttft);
        self.day(t).on_first_token(ttft);
        if let Some(keep) = self.keep_s {
            self.ttfts.push_back((t, ttft));
            while self.ttfts.front().is_some_and(|x| x.0 < t - keep) {
                self.ttfts.pop_front();
                self.ttfts_dropped += 1;
            }
        }
    }

    pub fn on_preempt(&mut self, t: f64) {
        self.preemptions += 1;
        if let Some(keep) = self.keep_s {
            self.preemption_times.push_back(t);
            while self.preemption_times.front().is_some_and(|x| *x < t - keep) {
                self.preemption_times.pop_front();
            }
        }
    }

    pub fn add_generated(&mut self, t: f64, n: u64) {
        self.generated_tokens += n;
        self.total.generated_tokens += n;
        self.day(t).generated_tokens += n;
        if let Some(keep) = self.keep_s {
            if self.token_marks.back().is_none_or(|m| t - m.0 >= 1.0) {
                self.token_marks.push_back((t, self.generated_tokens));
            } else if let Some(last) = self.token_marks.back_mut() {
                last.1 = self.generated_tokens;
            }
            while self.token_marks.len() > 2
                && self.token_marks.front().is_some_and(|x| x.0 < t - keep)
            {
                self.token_marks.pop_front();
            }
        }
    }

    /// TTFTs of the first `n` observations since start (None if some were already dropped or fewer exist).
    pub fn first_ttfts(&self, n: u64) -> Option<Vec<f64>> {
        if self.ttfts_dropped > 0 || (self.ttfts.len() as u64) < n {
            return None;
        }
        Some(self.ttfts.iter().take(n as usize).map(|x| x.1).collect())
    }

    /// The first `n` finished requests since start, in finish order (None if some were already dropped or
    /// fewer exist) — the observations behind the first `n` counts of the request histograms.
    pub fn first_records(&self, n: u64) -> Option<Vec<TruthRecord>> {
        if self.records_dropped > 0 || (self.records.len() as u64) < n {
            return None;
        }
        Some(self.records.iter().take(n as usize).copied().collect())
    }

    /// Finished requests kept (finish time ascending).
    pub fn records(&self) -> impl Iterator<Item = &TruthRecord> {
        self.records.iter()
    }

    /// Statistics over the window (now − w, now].
    pub fn window(&self, now: f64, w: f64) -> WindowTruth {
        let from = now - w;
        let recs: Vec<&TruthRecord> = self
            .records
            .iter()
            .filter(|r| r.t > from && r.t <= now)
            .collect();
        let ttfts: Vec<f64> = self
            .ttfts
            .iter()
            .filter(|x| x.0 > from && x.0 <= now)
            .map(|x| x.1)
            .collect();
        let e2e: Vec<f64> = recs.iter().map(|r| r.e2e).collect();
        let queue: Vec<f64> = recs.iter().map(|r| r.queue).collect();
        let errors = recs.iter().filter(|r| r.outcome == Outcome::Error).count() as u64;
        let aborts = recs.iter().filter(|r| r.outcome == Outcome::Abort).count() as u64;
        // Generated tokens: difference of the cumulative marks at the window's ends.
        let at = |t: f64| -> u64 {
            self.token_marks
                .iter()
                .rev()
                .find(|m| m.0 <= t)
                .map(|m| m.1)
                .unwrap_or_else(|| {
                    self.token_marks
                        .front()
                        .map(|m| m.1.min(self.generated_tokens))
                        .unwrap_or(0)
                })
        };
        let gen = at(now).saturating_sub(at(from));
        let finished = recs.len() as u64;
        WindowTruth {
            seconds: w,
            requests_finished: finished,
            errors,
            aborts,
            error_ratio: if finished == 0 {
                None
            } else {
                Some(errors as f64 / finished as f64)
            },
            requests_per_second: finished as f64 / w,
            generated_tokens_per_second: gen as f64 / w,
            preemptions: self
                .preemption_times
                .iter()
                .filter(|t| **t > from && **t <= now)
                .count() as u64,
            ttft: Quantiles::of(ttfts),
            e2e: Quantiles::of(e2e),
            queue_time: Quantiles::of(queue),
        }
    }
}

/// Exact statistics of a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowTruth {
    pub seconds: f64,
    pub requests_finished: u64,
    pub errors: u64,
    pub aborts: u64,
    pub error_ratio: Option<f64>,
    pub requests_per_second: f64,
    pub generated_tokens_per_second: f64,
    pub preemptions: u64,
    pub ttft: Quantiles,
    pub e2e: Quantiles,
    pub queue_time: Quantiles,
}

/// Nearest-rank quantiles of raw observations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quantiles {
    pub count: u64,
    pub mean: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

impl Quantiles {
    pub fn of(mut v: Vec<f64>) -> Quantiles {
        v.sort_by(f64::total_cmp);
        let q = |p: f64| nearest_rank(&v, p);
        Quantiles {
            count: v.len() as u64,
            mean: if v.is_empty() {
                None
            } else {
                Some(v.iter().sum::<f64>() / v.len() as f64)
            },
            p50: q(0.5),
            p90: q(0.9),
            p95: q(0.95),
            p99: q(0.99),
            max: v.last().copied(),
        }
    }
}

/// Nearest-rank quantile of sorted values: the value at rank ⌈q·n⌉.
pub fn nearest_rank(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(t: f64, e2e: f64, outcome: Outcome) -> TruthRecord {
        TruthRecord {
            t,
            ttft: Some(0.1),
            e2e,
            queue: 0.0,
            outcome,
            prompt: 10,
            generated: 5,
        }
    }

    #[test]
    fn windows_and_totals_are_exact() {
        let mut log = TruthLog::new(Some(3600.0));
        for i in 0..100 {
            let t = f64::from(i);
            log.on_first_token(t, f64::from(i) / 100.0);
            log.on_finish(rec(
                t,
                f64::from(i) / 10.0,
                if i % 10 == 0 {
                    Outcome::Error
                } else {
                    Outcome::Ok
                },
            ));
            log.add_generated(t, 5);
        }
        let w = log.window(99.0, 50.0);
        assert_eq!(w.requests_finished, 50);
        assert_eq!(w.errors, 5);
        assert_eq!(w.e2e.p50, Some(7.4));
        assert_eq!(w.ttft.max, Some(0.99));
        assert!((w.generated_tokens_per_second - 5.0).abs() < 1e-9);
        let a = log.total.attainment();
        assert_eq!(a.e2e_within_5s, Some(0.51));
        assert_eq!(a.without_error, Some(0.9));
        assert_eq!(log.first_ttfts(3), Some(vec![0.0, 0.01, 0.02]));
    }

    #[test]
    fn nearest_rank_quantiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(nearest_rank(&v, 0.95), Some(95.0));
        assert_eq!(nearest_rank(&v, 0.0), Some(1.0));
        assert_eq!(nearest_rank(&[], 0.5), None);
    }
}
