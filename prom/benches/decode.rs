//! Decode benchmark on a REAL Prometheus answer (prints figures; asserts nothing about time).
//!
//! 1. Generates 200 gauge series and 200 counter series × 1 100 points at 15 s (seeded random walk), backfills
//!    them with `promtool tsdb create-blocks-from openmetrics` and starts Prometheus 2.42 on the blocks.
//! 2. Fetches the `query_range` JSON once per query (`bench_gauge`, `rate(bench_requests_total[1m])`).
//! 3. Decodes each body N times (env `BENCH_ITERS`, default 30) with
//!    - `infermon_prom::parse_query_response` (typed, columnar: labels + Vec<i64> + Vec<f64> per series),
//!    - `serde_json::from_slice::<serde_json::Value>` (the DOM baseline), and
//!    - the DOM plus converting it to the same columns (the full job done the slow way),
//!    - `serde::de::IgnoredAny` (validating scan without building anything: the floor for serde_json),
//!      and prints median/min time, MB/s, points/s and the ratios, all measured in this one run.
//! 4. Times the whole client call (HTTP + decode) against the bare HTTP fetch, to show how much of a dashboard
//!    query is ours, and prints `stats.samples.totalQueryableSamples`.
//!
//! Run: `cargo bench -p infermon-prom --bench decode` (release build). The machine is shared with other builds:
//! compare rows within one run (ratios), not absolute numbers across runs.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use infermon_prom::{parse_query_response, Client, ClientConfig, QueryData};
use infermon_testkit::openmetrics::{MetricType, Writer};
use infermon_testkit::{promtool, Prometheus};

const SERIES: usize = 200;
const POINTS: i64 = 1100;
const STEP_MS: i64 = 15_000;

/// xorshift64*: deterministic test data without a `rand` dependency.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn generate(start_ms: i64) -> Writer {
    let mut rng = Rng(42);
    let mut w = Writer::new();
    {
        let mut f = w.family("bench_gauge", MetricType::Gauge, "random walk");
        for s in 0..SERIES {
            let inst = format!("i-{s:03}");
            let mut v = 50.0;
            for i in 0..POINTS {
                v = (v + (rng.next_f64() - 0.5) * 4.0).max(0.0);
                let v3 = (v * 1000.0).round() / 1000.0;
                f.sample(
                    &[("instance", &inst), ("job", "bench")],
                    v3,
                    start_ms + i * STEP_MS,
                );
            }
        }
    }
    {
        let mut f = w.family("bench_requests", MetricType::Counter, "counter");
        for s in 0..SERIES {
            let inst = format!("i-{s:03}");
            let mut v = 0.0;
            for i in 0..POINTS {
                v += (rng.next_f64() * 40.0).floor();
                f.sample(
                    &[("instance", &inst), ("job", "bench")],
                    v,
                    start_ms + i * STEP_MS,
                );
            }
        }
    }
    w
}

/// This thread's CPU time: unlike wall time, it does not count time spent waiting for a core while other builds
/// share the machine, so it is the stable figure here.
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Medians (and the wall minimum) of repeated runs.
struct Timing {
    cpu: Duration,
    wall: Duration,
    wall_min: Duration,
}

fn measure<T>(n: usize, warmup: usize, mut f: impl FnMut() -> T) -> Timing {
    for _ in 0..warmup {
        std::hint::black_box(f());
    }
    let mut cpu = Vec::with_capacity(n);
    let mut wall = Vec::with_capacity(n);
    for _ in 0..n {
        let (c, w) = (thread_cpu(), Instant::now());
        std::hint::black_box(f());
        wall.push(w.elapsed());
        cpu.push(thread_cpu() - c);
    }
    cpu.sort();
    wall.sort();
    Timing {
        cpu: cpu[n / 2],
        wall: wall[n / 2],
        wall_min: wall[0],
    }
}

fn time_n<T>(n: usize, f: impl FnMut() -> T) -> Timing {
    measure(n, 2, f)
}

/// One series as (labels, timestamps, values).
type Columns = (Vec<(String, String)>, Vec<i64>, Vec<f64>);

/// DOM → the same columnar shape, to compare the complete job.
fn value_to_columns(v: &serde_json::Value) -> Vec<Columns> {
    v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let labels = s["metric"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            let pts = s["values"].as_array().unwrap();
            let mut ts = Vec::with_capacity(pts.len());
            let mut vals = Vec::with_capacity(pts.len());
            for p in pts {
                ts.push((p[0].as_f64().unwrap() * 1000.0).round() as i64);
                vals.push(infermon_prom::parse_sample_value(p[1].as_str().unwrap()).unwrap());
            }
            (labels, ts, vals)
        })
        .collect()
}

fn report(name: &str, bytes: usize, points: usize, t: Timing) -> f64 {
    let c = t.cpu.as_secs_f64();
    println!(
        "  {name:<46} CPU {:>7.2} ms  {:>5.0} MB/s  {:>5.1} M points/s   (wall median {:>7.2} ms, min {:>6.2})",
        c * 1e3,
        bytes as f64 / c / 1e6,
        points as f64 / c / 1e6,
        t.wall.as_secs_f64() * 1e3,
        t.wall_min.as_secs_f64() * 1e3
    );
    c
}

fn main() {
    let iters: usize = std::env::var("BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let end_ms = (now_ms / 3_600_000) * 3_600_000 - 3_600_000;
    let start_ms = end_ms - (POINTS - 1) * STEP_MS;

    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let w = generate(start_ms);
    let input = dir.path().join("bench.om");
    std::fs::write(&input, w.to_openmetrics()).unwrap();
    let tsdb = dir.path().join("tsdb");
    promtool::create_blocks_from_openmetrics(&input, &tsdb).expect("backfill");
    println!(
        "data: {} samples, {} series, backfilled in {:.1} s",
        w.samples(),
        2 * SERIES,
        t.elapsed().as_secs_f64()
    );
    let prom = Prometheus::builder()
        .data_dir(&tsdb)
        .start()
        .expect("prometheus");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let http = reqwest::Client::new();
    let client = Client::new(ClientConfig::new(prom.url())).unwrap();
    let (start, end) = (
        UNIX_EPOCH + Duration::from_millis(start_ms as u64),
        UNIX_EPOCH + Duration::from_millis(end_ms as u64),
    );
    let step = Duration::from_millis(STEP_MS as u64);
    println!(
        "iterations: {iters} (+2 warm-up); medians of this thread's CPU time (stable on a shared machine), wall \
         time in brackets; all figures from this one run\n"
    );

    for expr in ["bench_gauge", "rate(bench_requests_total[1m])"] {
        let form = [
            ("query", expr.to_string()),
            ("start", format!("{}", start_ms / 1000)),
            ("end", format!("{}", end_ms / 1000)),
            ("step", "15".to_string()),
        ];
        let fetch = || async {
            let r = http
                .post(format!("{}/api/v1/query_range", prom.url()))
                .form(&form)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            r.bytes().await.unwrap()
        };
        let body = rt.block_on(fetch());
        let parsed = parse_query_response(&body).expect("decodes");
        let points = parsed.data.point_count();
        let n_series = parsed.data.as_matrix().len();
        println!(
            "query_range {expr}: {} bytes, {n_series} series, {points} points ({:.1} B/point)",
            body.len(),
            body.len() as f64 / points as f64
        );

        let typed = report(
            "typed columnar, serde_json",
            body.len(),
            points,
            time_n(iters, || parse_query_response(&body).unwrap()),
        );
        report(
            "serde_json IgnoredAny (scan only, lower bound)",
            body.len(),
            points,
            time_n(iters, || {
                serde_json::from_slice::<serde::de::IgnoredAny>(&body).unwrap()
            }),
        );
        let dom = report(
            "serde_json::Value",
            body.len(),
            points,
            time_n(iters, || {
                serde_json::from_slice::<serde_json::Value>(&body).unwrap()
            }),
        );
        let dom_cols = report(
            "serde_json::Value + columns",
            body.len(),
            points,
            time_n(iters, || {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                value_to_columns(&v)
            }),
        );
        // Same answer both ways.
        let cols = {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            value_to_columns(&v)
        };
        if let QueryData::Matrix(m) = &parsed.data {
            assert_eq!(m.len(), cols.len());
            assert_eq!(m[0].timestamps_ms, cols[0].1);
            assert_eq!(m[0].values, cols[0].2);
        }
        println!(
            "  => typed uses {:.1}x less CPU than Value, {:.1}x less than Value + columns",
            dom / typed,
            dom_cols / typed
        );

        let fetch_only = measure(iters.min(15), 1, || rt.block_on(fetch()));
        let with_client = measure(iters.min(15), 1, || {
            rt.block_on(client.query_range(expr, start, end, step, false))
                .unwrap()
        });
        println!(
            "  end to end (wall medians): bare HTTP fetch {:.1} ms, Client::query_range {:.1} ms; our CPU per call: \
             fetch {:.1} ms, fetch + decode {:.1} ms",
            fetch_only.wall.as_secs_f64() * 1e3,
            with_client.wall.as_secs_f64() * 1e3,
            fetch_only.cpu.as_secs_f64() * 1e3,
            with_client.cpu.as_secs_f64() * 1e3,
        );
        let stats = rt
            .block_on(client.query_range(expr, start, end, step, true))
            .unwrap()
            .stats
            .and_then(|s| s.samples)
            .map(|s| s.total_queryable_samples);
        println!("  stats.samples.totalQueryableSamples = {stats:?}\n");
    }
}
