//! Benchmark (prints figures; not a timed test): plugin QueryData end to end vs the raw `query_range` HTTP call
//! for the same PromQL on the same Prometheus 2.42, 200 series × 1 100 points, interleaved A/B pairs in one
//! run (performance.md §7.1 P1/P2). Also the plugin process' peak RSS (VmHWM) and the in-process conversion
//! throughput (JSON → columnar series → data-plane Arrow frames) on the same response body.
//!
//! Run: `cargo bench -p infermon-plugin --bench querydata`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use infermon_core::translate::Target;
use infermon_plugin::frames::FrameMeta;
use infermon_plugin::step::grid;
use infermon_testkit::openmetrics::{MetricType, Writer};
use infermon_testkit::Prometheus;
use serde_json::json;

const SERIES: usize = 200;
const POINTS: i64 = 1_100;
const STEP_MS: i64 = 15_000;
const PAIRS: usize = 9;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn vm_hwm_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let last = now / STEP_MS * STEP_MS;
    let first = last - (POINTS - 1) * STEP_MS;
    let mut w = Writer::new();
    {
        let mut f = w.family("bench_gauge", MetricType::Gauge, "benchmark gauge");
        for s in 0..SERIES {
            let id = format!("{s:03}");
            let labels = [
                ("job", "bench"),
                ("instance", "host:9400"),
                ("series", id.as_str()),
            ];
            for k in 0..POINTS {
                f.sample(
                    &labels,
                    100.0 + (k as f64 * 0.37 + s as f64).sin() * 42.5,
                    first + k * STEP_MS,
                );
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let om = dir.path().join("bench.om");
    std::fs::write(&om, w.to_openmetrics()).unwrap();
    let tsdb = dir.path().join("tsdb");
    infermon_testkit::promtool::create_blocks_from_openmetrics(&om, &tsdb).expect("backfill");
    let prom = Prometheus::builder()
        .data_dir(&tsdb)
        .start()
        .expect("prometheus");
    let expr = "bench_gauge";

    let mut plugin = common::PluginProcess::start().await;
    let hwm_idle = vm_hwm_kib(plugin.pid());
    let settings = || common::ds(prom.url(), json!({"scrapeInterval": "15s"}), &[]);
    let query = || {
        vec![common::dq(
            "A",
            json!({"queryType": "promql", "expr": expr}),
            first,
            last,
            STEP_MS,
            POINTS,
        )]
    };

    let http = reqwest::Client::new();
    let raw_url = format!("{}/api/v1/query_range", prom.url());
    let form = [
        ("query", expr.to_string()),
        ("start", format!("{}", first / 1000)),
        ("end", format!("{}", last / 1000)),
        ("step", "15".to_string()),
    ];
    let raw = || async {
        let r = http.post(&raw_url).form(&form).send().await.unwrap();
        r.bytes().await.unwrap()
    };

    // Warm-up (connections, Prometheus caches, detection cache of the plugin).
    let body = raw().await;
    let warm = plugin.query(settings(), query(), &[]).await;
    let frames = common::frames_of(&warm["A"]);
    assert_eq!(frames.len(), SERIES, "plugin returns one frame per series");
    assert!(frames
        .iter()
        .all(|f| f.field("Value").numbers.len() == POINTS as usize));
    let arrow_bytes: usize = warm["A"].frames.iter().map(Vec::len).sum();

    let mut ratios = Vec::new();
    let mut t_raw = Vec::new();
    let mut t_plugin = Vec::new();
    for _ in 0..PAIRS {
        let t = Instant::now();
        let b = raw().await;
        let r = t.elapsed().as_secs_f64();
        assert_eq!(b.len(), body.len());
        let t = Instant::now();
        let resp = plugin.query(settings(), query(), &[]).await;
        let p = t.elapsed().as_secs_f64();
        assert_eq!(resp["A"].frames.len(), SERIES);
        t_raw.push(r);
        t_plugin.push(p);
        ratios.push(p / r);
    }
    let hwm = vm_hwm_kib(plugin.pid());

    // In-process conversion of the same body: decode + frames + Arrow IPC.
    let target = Target {
        key: "value".into(),
        expr: expr.into(),
        legend: String::new(),
        unit: String::new(),
        instant: false,
    };
    let g = grid(first, last, STEP_MS, POINTS, Duration::from_secs(15));
    let mut conv = Vec::new();
    let mut decode_only = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let r = infermon_prom::parse_query_response(&body).unwrap();
        decode_only.push(t.elapsed().as_secs_f64());
        let out =
            infermon_plugin::query::series_frames("A", &target, r.data, &g, FrameMeta::default())
                .unwrap();
        conv.push(t.elapsed().as_secs_f64());
        assert_eq!(out.len(), SERIES);
    }
    let conv_s = median(conv);
    let dec_s = median(decode_only);
    let points = SERIES as f64 * POINTS as f64;
    let mb = body.len() as f64 / 1e6;

    println!("querydata benchmark: {SERIES} series x {POINTS} points, Prometheus 2.42, {PAIRS} interleaved pairs");
    println!(
        "  JSON response          {:>10} bytes; Arrow frames {} bytes",
        body.len(),
        arrow_bytes
    );
    println!(
        "  raw query_range HTTP   median {:>7.1} ms",
        median(t_raw.clone()) * 1e3
    );
    println!(
        "  plugin QueryData gRPC  median {:>7.1} ms",
        median(t_plugin.clone()) * 1e3
    );
    println!(
        "  RATIO plugin/raw       median {:>7.3} (per-pair: {})",
        median(ratios.clone()),
        ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("  conversion in-process  {:>7.2} ms = {:.0} MB/s of JSON, {:.1} M points/s (decode alone {:.2} ms = {:.0} MB/s)",
        conv_s * 1e3, mb / conv_s, points / conv_s / 1e6, dec_s * 1e3, mb / dec_s);
    println!("  plugin peak RSS (VmHWM) {} KiB idle -> {} KiB after the runs = {:.2}x the JSON response ({:.2}x for the growth)",
        hwm_idle, hwm, hwm as f64 * 1024.0 / body.len() as f64, (hwm - hwm_idle) as f64 * 1024.0 / body.len() as f64);
    println!(
        "  load average: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}
