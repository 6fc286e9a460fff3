//! The discrete-event model of one continuous-batching inference server (one replica, one engine).
//!
//! The engine alternates *steps*, as vLLM's scheduler and TGI's router do:
//! - at a step boundary, waiting requests are admitted first-come-first-served while the running batch has a
//!   free slot (`max_batch_size`), the prefill token budget allows (`max_batched_tokens`) and the KV cache has
//!   the blocks for the prompt plus the first generated token;
//! - a step costs `decode_step_seconds + decode_seconds_per_seq × batch + prefill_seconds_per_token ×
//!   computed prompt tokens` (prefix-cache hits are not computed), and every running request gains one token;
//! - when a running request needs a new KV block and none is free, the most recently admitted request is
//!   preempted (recompute mode: its blocks are freed, it goes back to the head of the queue and will prefill its
//!   prompt plus the tokens generated so far again).
//!
//! Steps without admissions are identical until something changes (an arrival, a completion, a KV block
//! boundary that cannot be served), so runs of them are taken as one *macro step* with weighted observations:
//! the result is exactly what single-stepping gives, at a cost per event instead of per token. That is what
//! makes 30 days of a fleet take seconds. Time is a plain `f64` of seconds since the replica started; the caller
//! decides whether it follows the wall clock (live) or runs as fast as possible (backfill).

use crate::config::{BackendKind, ReplicaSpec};
use crate::request::Request;
use crate::rng::Rng;
use crate::scenario::{Effects, Scenario};
use crate::stats::Stats;
use crate::truth::{Outcome, TruthLog, TruthRecord};
use std::collections::VecDeque;

/// One replica's engine.
#[derive(Debug)]
pub struct Engine {
    pub spec: ReplicaSpec,
    rng: Rng,
    /// Engine time: the end of the last completed step, or the last time the engine was idle.
    t: f64,
    /// The time the caller last advanced to (≥ `now`).
    horizon: f64,
    next_arrival: f64,
    next_id: u64,
    pub waiting: VecDeque<Request>,
    pub running: Vec<Request>,
    used_blocks: u32,
    scenario: Scenario,
    scenario_since: f64,
    /// Unix time of engine time 0 (diurnal pattern, `_created` timestamps).
    pub epoch_unix: f64,
    pub stats: Stats,
    pub truth: TruthLog,
    /// Number of processed events (arrivals, steps or macro steps, completions, preemptions) — for benchmarks.
    pub events: u64,
}

impl Engine {
    /// A new engine with its own random stream (seed, replica index) starting at unix time `epoch_unix`.
    pub fn new(spec: ReplicaSpec, seed: u64, epoch_unix: f64, truth_keep_s: Option<f64>) -> Engine {
        let rng = Rng::derive(seed, spec.index as u64 + 1);
        let stats = Stats::new(&spec, epoch_unix);
        let scenario = spec.scenario;
        let mut e = Engine {
            rng,
            t: 0.0,
            horizon: 0.0,
            next_arrival: f64::INFINITY,
            next_id: 0,
            waiting: VecDeque::new(),
            running: Vec::new(),
            used_blocks: 0,
            scenario,
            scenario_since: 0.0,
            epoch_unix,
            stats,
            truth: TruthLog::new(truth_keep_s),
            events: 0,
            spec,
        };
        e.next_arrival = e.draw_arrival(0.0);
        e
    }

    pub fn scenario(&self) -> Scenario {
        self.scenario
    }

    pub fn now(&self) -> f64 {
        self.horizon
    }

    /// Switches the scenario at engine time `at` (≥ the current time).
    pub fn set_scenario(&mut self, scenario: Scenario, at: f64) {
        if scenario == self.scenario {
            return;
        }
        self.advance_to(at);
        self.scenario = scenario;
        self.scenario_since = at;
        // Arrivals are memoryless: redraw the next one under the new rate.
        self.next_arrival = self.draw_arrival(at.max(self.t));
    }

    fn effects(&self, t: f64) -> Effects {
        self.scenario.effects(t - self.scenario_since)
    }

    pub fn is_outage(&self) -> bool {
        self.effects(self.horizon).outage
    }

    /// KV capacity in blocks under the current scenario.
    pub fn kv_capacity(&self) -> u32 {
        let cap = (f64::from(self.spec.engine.kv_blocks) * self.effects(self.horizon).kv_mult)
            .floor() as u32;
        cap.max(
            self.spec
                .engine
                .max_batch_size
                .min(self.spec.engine.kv_blocks),
        )
        .max(1)
    }

    /// KV-cache usage, 0..1 (the `kv_cache_usage_perc` gauge).
    pub fn kv_usage(&self) -> f64 {
        (f64::from(self.used_blocks) / f64::from(self.kv_capacity())).min(1.0)
    }

    fn rate_at(&self, t: f64) -> f64 {
        let w = &self.spec.workload;
        let hour = ((self.epoch_unix + t) / 3600.0).rem_euclid(24.0);
        let diurnal = 1.0
            + w.diurnal_amplitude
                * (std::f64::consts::TAU * (hour - w.diurnal_peak_hour) / 24.0).cos();
        w.rate * diurnal * self.effects(t).rate_mult
    }

    /// Next arrival after `t` (non-homogeneous Poisson process by thinning).
    fn draw_arrival(&mut self, t: f64) -> f64 {
        let w = &self.spec.workload;
        let max = w.rate * (1.0 + w.diurnal_amplitude) * self.scenario.max_rate_mult();
        if max <= 0.0 {
            return f64::INFINITY;
        }
        let mut t = t;
        loop {
            t += self.rng.exp(max);
            let accept = self.rate_at(t) / max;
            if self.rng.uniform() < accept {
                return t;
            }
            if t - self.horizon > 86_400.0 * 365.0 {
                return f64::INFINITY;
            }
        }
    }

    fn new_request(&mut self, arrival: f64) -> Request {
        let w = self.spec.workload.clone();
        let eff = self.effects(arrival);
        let len = |rng: &mut Rng, d: &crate::config::LengthDist| -> u32 {
            let v = rng
                .lognormal_mean(d.mean * eff.length_mult, d.sigma)
                .round();
            (v as u32).clamp(d.min, d.max)
        };
        let prompt = len(&mut self.rng, &w.prompt_tokens);
        let natural = len(&mut self.rng, &w.output_tokens);
        // max_tokens: usually a generous cap; ~15 % of requests hit it (finished_reason="length").
        let max_tokens = if self.rng.bernoulli(0.15) {
            natural
        } else {
            (natural * 2).min(w.output_tokens.max).max(natural)
        };
        let cached = if prompt > w.prefix_tokens && self.rng.bernoulli(w.prefix_hit_ratio) {
            w.prefix_tokens
        } else {
            0
        };
        let error_ratio = eff.error_ratio.unwrap_or(w.error_ratio);
        let u = self.rng.uniform();
        let (outcome, target) = if u < error_ratio {
            (Outcome::Error, self.rng.range_u32(1, natural.max(1)))
        } else if u < error_ratio + w.abort_ratio {
            (Outcome::Abort, self.rng.range_u32(1, natural.max(1)))
        } else {
            (Outcome::Ok, natural.max(1))
        };
        let id = self.next_id;
        self.next_id += 1;
        Request {
            id,
            arrival,
            prompt,
            cached,
            target,
            max_tokens,
            outcome,
            generated: 0,
            first_scheduled: None,
            first_token: None,
            last_token: arrival,
            blocks: 0,
            preemptions: 0,
            prefill_now: 0,
        }
    }

    fn deliver_arrivals(&mut self, until: f64) {
        while self.next_arrival <= until {
            let t = self.next_arrival;
            if self.effects(t).outage {
                // A replica that is down gets no traffic (the load balancer routes around it).
                self.next_arrival = self.draw_arrival(t);
                continue;
            }
            let r = self.new_request(t);
            self.stats.on_arrival(&r);
            self.truth.on_arrival(t, r.prompt);
            self.waiting.push_back(r);
            self.events += 1;
            self.next_arrival = self.draw_arrival(t);
        }
    }

    fn blocks_for(&self, tokens: u32) -> u32 {
        tokens.div_ceil(self.spec.engine.block_size)
    }

    /// New blocks the running batch needs to run `k` more decode steps.
    fn growth_blocks(&self, k: u32) -> u64 {
        self.running
            .iter()
            .map(|r| u64::from(self.blocks_for(r.tokens() + k).saturating_sub(r.blocks)))
            .sum()
    }

    /// Advances the engine to time `t` (seconds since start), processing every event up to it.
    pub fn advance_to(&mut self, t: f64) {
        if t <= self.horizon {
            return;
        }
        self.horizon = t;
        loop {
            let eff = self.effects(self.t);
            if eff.outage || eff.stall {
                // Outage: nothing happens on the replica. Stall: requests still arrive and queue up, but the
                // engine makes no progress (a hung GPU); its HTTP server keeps answering.
                if eff.stall {
                    self.deliver_arrivals(t);
                } else {
                    self.deliver_arrivals_dropped(t);
                }
                self.t = self.t.max(t);
                // Leave when the scenario changes only through set_scenario (which calls advance_to first).
                return;
            }
            self.deliver_arrivals(self.t);
            if self.running.is_empty() && self.waiting.is_empty() {
                if self.next_arrival > t {
                    self.t = t;
                    return;
                }
                self.t = self.next_arrival;
                continue;
            }
            if !self.step_once(t) {
                // The next step would end after `t`: it is in progress at `t`. Queue the arrivals up to `t`.
                self.deliver_arrivals(t);
                return;
            }
        }
    }

    fn deliver_arrivals_dropped(&mut self, until: f64) {
        while self.next_arrival <= until {
            let t = self.next_arrival;
            self.next_arrival = self.draw_arrival(t);
        }
    }

    /// Plans this step's admissions without changing anything: (how many, prompt tokens to compute).
    fn plan_admissions(&self) -> (usize, u32) {
        let e = &self.spec.engine;
        let capacity = self.kv_capacity();
        let mut budget = e.max_batched_tokens;
        let mut prefill = 0u32;
        let mut used = self.used_blocks + self.growth_blocks(1) as u32;
        let mut count = 0usize;
        for r in self.waiting.iter() {
            if r.arrival > self.t || self.running.len() + count >= e.max_batch_size as usize {
                break;
            }
            let compute = Self::prefill_tokens(r);
            if prefill > 0 && compute > budget {
                break;
            }
            let need = self.blocks_for(r.tokens() + 1);
            if used + need > capacity {
                break;
            }
            used += need;
            prefill += compute;
            budget = budget.saturating_sub(compute);
            count += 1;
        }
        (count, prefill)
    }

    /// Prompt tokens a (re-)admission computes: prefix-cache hits only count on the first admission.
    fn prefill_tokens(r: &Request) -> u32 {
        let cached = if r.first_scheduled.is_none() {
            r.cached
        } else {
            0
        };
        r.tokens() - cached.min(r.tokens().saturating_sub(1))
    }

    /// Moves the first `count` waiting requests into the running batch (by the step that ends at `end`).
    fn commit_admissions(&mut self, count: usize, end: f64) {
        for _ in 0..count {
            let mut r = self.waiting.pop_front().expect("planned");
            r.prefill_now = Self::prefill_tokens(&r);
            if r.first_scheduled.is_none() {
                r.first_scheduled = Some(self.t);
                self.stats.on_first_scheduled(&r);
                self.truth.on_scheduled(end, r.prompt, r.cached);
            }
            r.blocks = self.blocks_for(r.tokens() + 1);
            self.used_blocks += r.blocks;
            self.running.push(r);
        }
    }

    /// Earliest arrival after `now` (already queued or still to come).
    fn next_arrival_after_now(&self) -> f64 {
        let queued = self
            .waiting
            .iter()
            .rev()
            .take_while(|r| r.arrival > self.t)
            .map(|r| r.arrival)
            .fold(f64::INFINITY, f64::min);
        queued.min(self.next_arrival)
    }

    /// Preempts the most recently admitted running request (recompute mode).
    fn preempt_last(&mut self) {
        let mut r = self.running.pop().expect("running is not empty");
        self.used_blocks -= r.blocks;
        r.blocks = 0;
        r.prefill_now = 0;
        r.preemptions += 1;
        self.stats.on_preempt();
        self.truth.on_preempt(self.t);
        self.events += 1;
        self.waiting.push_front(r);
    }

    /// Runs one step (with admissions) or one macro step (pure decode). Returns false if the step would end
    /// after `limit`; then nothing but due preemptions has changed.
    fn step_once(&mut self, limit: f64) -> bool {
        let e = self.spec.engine.clone();
        let eff = self.effects(self.t);
        // Make room for the running batch's next token: preempt while the KV cache cannot hold it.
        while !self.running.is_empty()
            && u64::from(self.used_blocks) + self.growth_blocks(1) > u64::from(self.kv_capacity())
        {
            self.preempt_last();
        }
        let (n_prefill, prefill) = self.plan_admissions();
        let n = self.running.len() + n_prefill;
        if n == 0 {
            if let Some(front) = self.waiting.front() {
                if front.arrival <= self.t
                    && self.blocks_for(front.tokens() + 1) > self.kv_capacity()
                {
                    // Larger than the whole (shrunken) KV cache: the engine rejects it.
                    let mut r = self.waiting.pop_front().expect("front");
                    r.outcome = Outcome::Error;
                    self.finish(r, self.t);
                    return true;
                }
            }
            let next = self.next_arrival_after_now();
            if next > limit {
                return false;
            }
            self.t = next;
            return true;
        }
        let decode_cost = e.decode_step_seconds + e.decode_seconds_per_seq * n as f64;
        let prefill_cost = e.prefill_seconds_per_token * eff.prefill_mult * f64::from(prefill);
        let d = decode_cost + prefill_cost;
        if self.t + d > limit {
            return false;
        }
        let k: u32 = if n_prefill > 0 {
            1
        } else {
            // Macro step: identical decode steps until the first completion, the next arrival, the KV limit or
            // the caller's horizon.
            let to_finish = self
                .running
                .iter()
                .map(|r| r.target - r.generated)
                .min()
                .unwrap_or(1)
                .max(1);
            let next = self.next_arrival_after_now();
            let to_arrival = if next.is_finite() {
                (((next - self.t) / d).ceil() as u64).clamp(1, u64::from(u32::MAX)) as u32
            } else {
                u32::MAX
            };
            let to_limit = ((limit - self.t) / d)
                .floor()
                .clamp(1.0, f64::from(u32::MAX)) as u32;
            let mut k = to_finish.min(to_arrival).min(to_limit);
            let free = u64::from(self.kv_capacity().saturating_sub(self.used_blocks));
            if self.growth_blocks(k) > free {
                // Largest k whose growth fits (k = 1 fits: the preemption above guaranteed it).
                let (mut lo, mut hi) = (1u32, k);
                while lo < hi {
                    let mid = lo + (hi - lo).div_ceil(2);
                    if self.growth_blocks(mid) <= free {
                        lo = mid;
                    } else {
                        hi = mid - 1;
                    }
                }
                k = lo;
            }
            k
        };
        self.commit_admissions(n_prefill, self.t + d);
        self.apply_steps(d, k, prefill, n_prefill);
        true
    }

    fn apply_steps(&mut self, d: f64, k: u32, prefill: u32, n_prefill: usize) {
        let end = self.t + d * f64::from(k);
        let n = self.running.len();
        let n_decode = n - n_prefill;
        self.events += 1;
        self.stats
            .on_step(prefill, n_prefill as u32, n_decode as u32, d, k);
        self.truth.add_generated(end, u64::from(k) * n as u64);
        // Tokens, first tokens and inter-token gaps. Decoders whose previous token ended exactly at the step
        // start (the common case) all see gaps of exactly `d`: they are observed in one weighted call.
        let step_start = self.t;
        let mut contiguous = 0u64;
        let mut any_finished = false;
        for (i, r) in self.running.iter_mut().enumerate() {
            let is_prefill = i >= n_decode;
            r.generated += k;
            let blocks_needed = r.tokens().div_ceil(self.spec.engine.block_size);
            if blocks_needed > r.blocks {
                self.used_blocks += blocks_needed - r.blocks;
                r.blocks = blocks_needed;
            }
            if is_prefill {
                if r.first_token.is_none() {
                    r.first_token = Some(end);
                    self.stats.on_first_token(r, end - r.arrival);
                    self.truth.on_first_token(end, end - r.arrival);
                    let prefill = end - r.first_scheduled.unwrap_or(end);
                    self.stats.on_prompt_done(r.prefill_now, prefill);
                    self.truth.on_prefill(end, prefill, r.prefill_now);
                } else {
                    self.stats.on_itl(end - r.last_token, 1);
                    self.truth.on_itl(end, end - r.last_token, 1);
                }
                r.prefill_now = 0;
            } else if r.last_token == step_start {
                contiguous += 1;
            } else {
                // The first step's gap is longer than `d` (after a stall); the rest are exactly `d`.
                let first_gap = step_start + d - r.last_token;
                self.stats.on_itl(first_gap, 1);
                self.stats.on_itl(d, u64::from(k - 1));
                self.truth.on_itl(end, first_gap, 1);
                self.truth.on_itl(end, d, u64::from(k - 1));
            }
            r.last_token = end;
            any_finished |= r.generated >= r.target;
        }
        self.stats.on_itl(d, contiguous * u64::from(k));
        self.truth.on_itl(end, d, contiguous * u64::from(k));
        self.t = end;
        if any_finished {
            let mut i = 0;
            while i < self.running.len() {
                if self.running[i].generated >= self.running[i].target {
                    let r = self.running.remove(i);
                    self.used_blocks -= r.blocks;
                    self.finish(r, end);
                } else {
                    i += 1;
                }
            }
        }
    }

    fn finish(&mut self, r: Request, t: f64) {
        self.events += 1;
        self.stats.on_finish(&r, t);
        self.truth.on_finish(TruthRecord {
            t,
            ttft: r.first_token.map(|f| f - r.arrival),
            e2e: t - r.arrival,
            queue: r.first_scheduled.map(|s| s - r.arrival).unwrap_or(0.0),
            outcome: r.outcome,
            prompt: r.prompt,
            generated: r.generated,
            prefill: r.first_token.map(|f| f - r.first_scheduled.unwrap_or(f)),
            decode: r.first_token.map(|f| t - f),
            cached: r.cached,
            reason: r.finished_reason(self.spec.version),
        });
    }

    pub fn backend(&self) -> BackendKind {
        self.spec.backend
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FleetConfig;

    fn engine(scenario: Scenario) -> Engine {
        let mut spec = FleetConfig::default_fleet().replicas().remove(0);
        spec.scenario = scenario;
        Engine::new(spec, 7, 1_700_000_000.0, Some(4000.0))
    }

    #[test]
    fn steady_load_is_served_with_the_configured_rate_and_little_queueing() {
        let mut e = engine(Scenario::Steady);
        e.advance_to(3600.0);
        let done = e.truth.total.finished;
        let rate = e.spec.workload.rate;
        // Diurnal modulation of ±30 % within one hour: allow a wide band around the base rate.
        assert!(
            done as f64 > rate * 3600.0 * 0.5 && (done as f64) < rate * 3600.0 * 1.5,
            "{done}"
        );
        assert!(e.waiting.len() < 20, "queue {}", e.waiting.len());
        assert_eq!(e.truth.preemptions, 0);
    }

    #[test]
    fn kv_pressure_causes_preemptions_and_high_kv_usage() {
        let mut e = engine(Scenario::KvPressure);
        let mut max_usage: f64 = 0.0;
        for i in 1..=120 {
            e.advance_to(f64::from(i) * 15.0);
            max_usage = max_usage.max(e.kv_usage());
        }
        assert!(e.truth.preemptions > 0, "no preemption");
        assert!(max_usage > 0.9, "max KV usage {max_usage}");
    }

    #[test]
    fn stall_keeps_requests_running_without_tokens() {
        let mut e = engine(Scenario::Steady);
        e.advance_to(600.0);
        let gen = e.truth.generated_tokens;
        e.set_scenario(Scenario::Stall, 600.0);
        e.advance_to(900.0);
        assert_eq!(e.truth.generated_tokens, gen);
        assert!(!e.running.is_empty() || !e.waiting.is_empty());
    }

    #[test]
    fn macro_steps_produce_the_same_result_as_fine_advancing() {
        let mut a = engine(Scenario::Burst);
        let mut b = engine(Scenario::Burst);
        a.advance_to(1800.0);
        let mut t: f64 = 0.0;
        while t < 1800.0 {
            t += 0.25;
            b.advance_to(t.min(1800.0));
        }
        assert_eq!(a.truth.total.finished, b.truth.total.finished);
        assert_eq!(a.truth.generated_tokens, b.truth.generated_tokens);
        assert!((a.truth.total.ttft_sum - b.truth.total.ttft_sum).abs() < 1e-6);
    }
}
