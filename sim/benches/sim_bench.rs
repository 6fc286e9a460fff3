//! Simulator benchmark (run with `cargo bench -p infermon-sim`): prints figures, asserts nothing.
//!
//! 1. Engine throughput: events (arrivals, steps/macro steps, completions, preemptions) and requests simulated
//!    per second of CPU, for the default fleet over `SIM_BENCH_DAYS` (default 30) days, one thread.
//! 2. Backfill: wall time, size and samples of `infermon sim backfill` of the default fleet over the same
//!    period (profile `minimal`, 15 s), on all cores.

use infermon_sim::backfill::{self, BackfillOptions, Profile};
use infermon_sim::{Engine, FleetConfig};
use std::time::Instant;

fn main() {
    let days: f64 = std::env::var("SIM_BENCH_DAYS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30.0);
    let cfg = FleetConfig::default_fleet();
    let horizon = days * 86_400.0;

    // 1. Engine only, ticking every 15 s like a scrape (no exposition).
    let t = Instant::now();
    let (mut events, mut requests) = (0u64, 0u64);
    for spec in cfg.replicas() {
        let mut e = Engine::new(spec, cfg.seed, 1.7e9, None);
        let mut now = 0.0;
        while now < horizon {
            now += 15.0;
            e.advance_to(now);
        }
        events += e.events;
        requests += e.truth.total.finished;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "engine: {} replicas × {days} days: {events} events, {requests} requests in {secs:.2} s = {:.2} M events/s, {:.2} M requests/s (1 thread)",
        cfg.replicas().len(),
        events as f64 / secs / 1e6,
        requests as f64 / secs / 1e6
    );

    // 2. The whole backfill.
    let dir = std::env::temp_dir().join(format!("infermon-sim-bench-{}", std::process::id()));
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    {
        let profile = Profile::Minimal;
        let opts = BackfillOptions {
            days,
            interval_s: 15,
            profile,
            end_unix: Some(1_790_000_000),
            out_dir: dir.clone(),
            threads,
        };
        let r = backfill::run(&cfg, &opts, &|_| {}).expect("backfill");
        println!(
            "backfill: default fleet, {days} days, profile {profile:?}, {threads} threads: {:.1} s, {} series, {} samples, {:.0} MB ({:.0} bytes/sample), {:.2} M samples/s",
            r.elapsed_s,
            r.series,
            r.samples,
            r.bytes as f64 / 1e6,
            r.bytes as f64 / r.samples as f64,
            r.samples as f64 / r.elapsed_s / 1e6
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
