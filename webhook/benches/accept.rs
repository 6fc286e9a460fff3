//! Accept-path benchmark (prints figures; not a timed test). Run: `cargo bench -p infermon-webhook --bench accept`.
//!
//! 1. Durable accepts/s of the real service (each 200 only after its fsync'd group commit) vs a bare axum handler
//!    that answers 200, interleaved rounds in one run, same load generator (32 keep-alive connections).
//!    Goal (issue 8): ratio ≥ 0.45 (performance.md §7.2 W1 proposes ≥ 0.30 for fsync'd commits). Each round also measures the receive path without the
//!    store (parse, validate, route, content key, JSON answer): the ceiling the durable rate can approach here; and
//!    the durable service a second time with the WAL left growing (no writer-side checkpoint, `growing_wal`), in
//!    alternating order, with the WAL file's size at the end of each. When `wrk` is installed (Debian `wrk`), the
//!    bare/durable pair is measured again with it as the load generator, the method of performance.md §6.3 (a
//!    separate C process instead of clients on the service's own runtime).
//! 2. p99 accept latency at half the measured durable rate, open loop (latency counted from each request's
//!    scheduled time, so a stall is not hidden). Goal W2: p99 ≤ 25 ms, max ≤ 1 s.
//! 3. PromQL queries per notification for 1 vs 1000 alerts, through the real worker, enricher and Prometheus client,
//!    counted by a real Prometheus 2.42 (its own `prometheus_http_requests_total`). Goal W3: equal.
//!
//! Environment: BENCH_SECS (per round, default 5), BENCH_ROUNDS (default 3), BENCH_LATENCY_SECS (default 20).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use infermon_webhook::prom_context::PromContext;
use infermon_webhook::{Config, Service, StartOptions};

const CONNECTIONS: usize = 32;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A real Alertmanager 0.25-shaped body (~1.3 KB, 2 alerts); `i` makes each group distinct so nothing is deduped.
fn body(i: u64) -> String {
    body_of_group(&format!("g{i}"))
}

fn body_of_group(group: &str) -> String {
    let i = group;
    format!(
        r#"{{"receiver":"infermon","status":"firing","alerts":[{{"status":"firing","labels":{{"alertname":"VLLMKVCacheHigh","model_name":"llama-3-8b","namespace":"ml","pod":"vllm-0","severity":"critical","group":"g{i}"}},"annotations":{{"runbook_url":"https://runbooks.example/kv-cache","summary":"KV cache usage above 90% for 5 minutes on vllm-0"}},"startsAt":"2024-05-01T10:00:00.123456789Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph?g0.expr=vllm%3Agpu_cache_usage_perc+%3E+0.9\u0026g0.tab=1","fingerprint":"14d88ef70e20e60c"}},{{"status":"firing","labels":{{"alertname":"VLLMKVCacheHigh","model_name":"llama-3-8b","namespace":"ml","pod":"vllm-1","severity":"critical","group":"g{i}"}},"annotations":{{"runbook_url":"https://runbooks.example/kv-cache","summary":"KV cache usage above 90% for 5 minutes on vllm-1"}},"startsAt":"2024-05-01T10:00:00.123456789Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph?g0.expr=vllm%3Agpu_cache_usage_perc+%3E+0.9\u0026g0.tab=1","fingerprint":"24d88ef70e20e60d"}}],"groupLabels":{{"alertname":"VLLMKVCacheHigh","group":"g{i}"}},"commonLabels":{{"alertname":"VLLMKVCacheHigh","model_name":"llama-3-8b","namespace":"ml","severity":"critical","group":"g{i}"}},"commonAnnotations":{{"runbook_url":"https://runbooks.example/kv-cache"}},"externalURL":"http://alertmanager-0:9093","version":"4","groupKey":"{{}}:{{alertname=\"VLLMKVCacheHigh\",group=\"g{i}\"}}","truncatedAlerts":0}}"#
    ) + "\n"
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// The load generator of performance.md §6.3 (`wrk -t1 -c32`, Debian `wrk`): a separate C process, so the client
/// does not share the service's runtime. Each request is the body above with a fixed-width unique group (a salt per
/// wrk thread and a counter), so nothing is deduped and Content-Length is constant.
const WRK_SCRIPT: &str = r#"
local f = assert(io.open(os.getenv("INFERMON_BENCH_BODY"), "rb"))
local tmpl = f:read("*a")
f:close()
local parts = {}
for p in string.gmatch(tmpl .. "NNN", "(.-)NNN") do parts[#parts + 1] = p end
math.randomseed(os.time() * 1000 + math.floor(os.clock() * 1e6))
local salt = string.format("%09d", math.random(1, 999999999))
local n = 0
local head
init = function(args)
  local len = #table.concat(parts, salt .. "-" .. string.format("%010d", 0))
  local h = wrk.format("POST", nil, {["Content-Type"] = "application/json"}, string.rep("x", len))
  head = string.sub(h, 1, #h - len)
end
request = function()
  n = n + 1
  return head .. table.concat(parts, salt .. "-" .. string.format("%010d", n))
end
"#;

/// Requests/s wrk measured against `url` for `secs` with [`CONNECTIONS`] connections; None if wrk is not installed.
/// Panics on any non-2xx answer or socket error (a benchmark of failures would be meaningless).
fn wrk_rate(dir: &std::path::Path, url: &str, secs: u64) -> Option<f64> {
    let script = dir.join("post.lua");
    let template = dir.join("body.json");
    if !script.exists() {
        std::fs::write(&script, WRK_SCRIPT).unwrap();
        std::fs::write(&template, body_of_group("gNNN")).unwrap();
    }
    let out = std::process::Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{secs}s"),
            "-s",
        ])
        .arg(&script)
        .arg(url)
        .env("INFERMON_BENCH_BODY", &template)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !text.contains("Non-2xx") && !text.contains("Socket errors"),
        "wrk against {url}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Closed loop: CONNECTIONS clients post as fast as answers come back for `secs`. Returns requests/s.
async fn saturate(url: &str, secs: u64) -> f64 {
    let stop = Instant::now() + Duration::from_secs(secs);
    let done = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let mut tasks = vec![];
    for _ in 0..CONNECTIONS {
        let (url, done, errors) = (url.to_string(), done.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let c = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            while Instant::now() < stop {
                let b = body(SEQ.fetch_add(1, Ordering::Relaxed));
                match c
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(b)
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    let t0 = Instant::now();
    for t in tasks {
        t.await.unwrap();
    }
    let e = errors.load(Ordering::Relaxed);
    assert_eq!(e, 0, "{e} non-2xx answers");
    done.load(Ordering::Relaxed) as f64 / t0.elapsed().as_secs_f64()
}

/// Open loop at `rate`/s for `secs`: latencies (ms) from each request's scheduled time to its answer.
async fn fixed_rate(url: &str, rate: f64, secs: u64) -> Vec<f64> {
    let total = (rate * secs as f64) as u64;
    let interval = Duration::from_secs_f64(CONNECTIONS as f64 / rate);
    let start = Instant::now() + Duration::from_millis(100);
    let mut tasks = vec![];
    for w in 0..CONNECTIONS as u64 {
        let url = url.to_string();
        tasks.push(tokio::spawn(async move {
            let c = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut lat = vec![];
            let offset = Duration::from_secs_f64(w as f64 / rate);
            let mut k = 0u64;
            while w + k * CONNECTIONS as u64 <= total {
                let scheduled = start + offset + interval * k as u32;
                tokio::time::sleep_until(scheduled.into()).await;
                let b = body(SEQ.fetch_add(1, Ordering::Relaxed));
                let r = c
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(b)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                let _ = r.bytes().await;
                lat.push(scheduled.elapsed().as_secs_f64() * 1000.0);
                k += 1;
            }
            lat
        }));
    }
    let mut all = vec![];
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_by(|a, b| a.partial_cmp(b).unwrap());
    all
}

fn pct(v: &[f64], p: f64) -> f64 {
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

async fn start_bare() -> (String, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new().route(
        "/api/v1/alerts",
        axum::routing::post(|_b: axum::body::Bytes| async { "ok" }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1/alerts", l.local_addr().unwrap());
    (
        url,
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() }),
    )
}

/// The receive path without the store: the same parse, validation, routing, content key, receivers' JSON and JSON
/// answer as the real handler, then 200 at once. Its rate over bare is the ceiling W1 can reach on this machine with
/// this load generator: what is left between it and the durable rate is the outbox.
async fn start_handler_only(cfg: Config) -> (String, tokio::task::JoinHandle<()>) {
    let cfg = Arc::new(cfg);
    let app = axum::Router::new().route(
        "/api/v1/alerts",
        axum::routing::post(move |b: axum::body::Bytes| {
            let cfg = cfg.clone();
            async move {
                let r = infermon_webhook::payload::parse_received(&b).expect("valid bench body");
                let receivers = cfg.route.receivers_by(&|name| {
                    r.group_labels
                        .get(name)
                        .or_else(|| r.common_labels.get(name))
                        .map(|v| v.as_ref())
                });
                let json = serde_json::to_string(&receivers).unwrap();
                std::hint::black_box((r.content_key, r.group_key, json));
                std::hint::black_box(b);
                axum::Json(serde_json::json!({"status": "accepted", "id": 1, "reminder": false}))
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1/alerts", l.local_addr().unwrap());
    (
        url,
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() }),
    )
}

struct Durable {
    url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn start_durable(config: Config, opts: StartOptions) -> Durable {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config;
    config.data_dir = dir.path().to_owned();
    let svc = Service::start(config, opts);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(svc.serve(l, async move {
        let _ = rx.await;
    }));
    for _ in 0..200 {
        if reqwest::get(format!("{url}/readyz"))
            .await
            .map(|r| r.status().is_success())
            .unwrap_or(false)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Durable {
        url,
        stop,
        handle,
        _dir: dir,
    }
}

/// The real service with delivery off: what is measured is the accept path alone.
async fn start_accepting(cfg: &Config) -> Durable {
    start_durable(
        cfg.clone(),
        StartOptions {
            disable_delivery: true,
            ..Default::default()
        },
    )
    .await
}

impl Durable {
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.handle.await;
    }
}

/// `/api/v1/query` requests Prometheus has served, from its own /metrics (exact).
async fn prom_queries(prom_url: &str) -> f64 {
    tokio::task::block_in_place(|| {
        infermon_testkit::prometheus::query_requests_served(prom_url).expect("Prometheus' /metrics")
    })
}

/// PromQL queries Prometheus served for one notification of `alerts` alerts (10 distinct models), delivered
/// through the real worker, enricher and `infermon-prom` client.
async fn queries_per_notification(prom_url: &str, alerts: usize) -> f64 {
    let hook = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/", hook.local_addr().unwrap());
    let delivered = Arc::new(tokio::sync::Notify::new());
    let d2 = delivered.clone();
    let app = axum::Router::new().fallback(move || {
        let d = d2.clone();
        async move {
            d.notify_one();
            "ok"
        }
    });
    let hook_task = tokio::spawn(async move { axum::serve(hook, app).await.unwrap() });
    let cfg = Config::from_yaml_str(
        &format!("receivers:\n  - name: hook\n    webhook: {{url: \"{hook_url}\"}}\n"),
        "bench",
    )
    .unwrap();
    let source = Arc::new(PromContext::new(prom_url, Duration::from_secs(5)).unwrap());
    let svc = start_durable(
        cfg,
        StartOptions {
            context_source: Some(source),
            ..Default::default()
        },
    )
    .await;
    let alerts_json: Vec<String> = (0..alerts)
        .map(|i| format!(r#"{{"status":"firing","labels":{{"alertname":"KV","model_name":"model-{}","pod":"p{i}"}},"fingerprint":"{i:016x}"}}"#, i % 10))
        .collect();
    let body = format!(
        r#"{{"version":"4","groupKey":"{{}}:{{alertname=\"KV{alerts}\"}}","status":"firing","alerts":[{}]}}"#,
        alerts_json.join(",")
    );
    let before = prom_queries(prom_url).await;
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/alerts", svc.url))
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    tokio::time::timeout(Duration::from_secs(20), delivered.notified())
        .await
        .expect("delivered");
    let after = prom_queries(prom_url).await;
    svc.stop().await;
    hook_task.abort();
    after - before
}

/// Median latency (ms) of overwriting 16 KB of a file and fsyncing it, as a WAL commit does, on the disk the outbox
/// uses. The disk is shared with everything else on the machine; when its fsync latency is high, a closed loop of
/// `CONNECTIONS` clients cannot exceed `CONNECTIONS / fsync` durable accepts per second, whatever the service does.
fn fsync_p50_ms() -> f64 {
    use std::io::{Seek, SeekFrom, Write};
    let dir = tempfile::tempdir().unwrap();
    let mut f = std::fs::File::create(dir.path().join("probe")).unwrap();
    let block = vec![7u8; 16 << 10];
    for _ in 0..8 {
        f.write_all(&block).unwrap();
    }
    f.sync_all().unwrap();
    let mut lat = vec![];
    for i in 0..100u64 {
        let t = Instant::now();
        f.seek(SeekFrom::Start((i % 8) * block.len() as u64))
            .unwrap();
        f.write_all(&block).unwrap();
        f.sync_all().unwrap();
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    pct(&lat, 0.5)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass nothing else. Run either way.
    let secs = env_u64("BENCH_SECS", 5);
    let rounds = env_u64("BENCH_ROUNDS", 3);
    let lat_secs = env_u64("BENCH_LATENCY_SECS", 20);
    println!("infermon-webhook accept benchmark: {CONNECTIONS} connections, {secs} s per round, {rounds} interleaved rounds; loadavg {}", loadavg());
    println!(
        "body: {} bytes (Alertmanager 0.25 shape, 2 alerts)",
        body(0).len()
    );

    let cfg = Config::embedded_default();
    let (bare_url, bare) = start_bare().await;
    let (handler_url, handler) = start_handler_only(cfg.clone()).await;
    let mut ratios = vec![];
    let mut growing_ratios = vec![];
    let mut ceilings = vec![];
    let mut durable_rates = vec![];
    for round in 1..=rounds {
        let b = saturate(&bare_url, secs).await;
        let h = saturate(&handler_url, secs).await;
        ceilings.push(h / b);
        println!(
            "round {round}: bare {b:>8.0} req/s | handler without store {h:>8.0} req/s ({:.2}) | loadavg {}",
            h / b,
            loadavg()
        );
        // Both WAL policies in every round, in alternating order.
        let order = if round % 2 == 1 {
            [false, true]
        } else {
            [true, false]
        };
        for growing_wal in order {
            let fsync = tokio::task::spawn_blocking(fsync_p50_ms).await.unwrap();
            let d_svc = start_durable(
                cfg.clone(),
                StartOptions {
                    disable_delivery: true,
                    growing_wal,
                    ..Default::default()
                },
            )
            .await;
            let d = saturate(&format!("{}/api/v1/alerts", d_svc.url), secs).await;
            let (batches, ops, txn_s, sync_s) = batch_stats(&d_svc.url).await;
            let wal_mb = std::fs::metadata(d_svc._dir.path().join("outbox.db-wal"))
                .map(|m| m.len() as f64 / 1e6)
                .unwrap_or(0.0);
            d_svc.stop().await;
            if growing_wal {
                growing_ratios.push(d / b);
            } else {
                ratios.push(d / b);
                durable_rates.push(d);
            }
            println!(
                "   durable (WAL, synchronous=FULL, group commit{}) {d:>8.0} req/s | ratio {:.2} | {:.1} accepts per commit, {:.2} ms per commit: transaction {:.2} ms of which COMMIT (WAL write + fsync) {:.2} ms | WAL file {wal_mb:.1} MB | disk fsync p50 just before {fsync:.2} ms (bound {:.0}/s) | loadavg {}",
                if growing_wal { ", WAL left growing" } else { ", WAL restarted" },
                d / b,
                ops / batches.max(1.0),
                secs as f64 * 1000.0 / batches.max(1.0),
                txn_s * 1000.0 / batches.max(1.0),
                sync_s * 1000.0 / batches.max(1.0),
                CONNECTIONS as f64 / fsync * 1000.0,
                loadavg()
            );
        }
    }
    handler.abort();
    ceilings.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "   ceiling (handler without store / bare): median {:.2}",
        ceilings[ceilings.len() / 2]
    );
    ratios.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = ratios[ratios.len() / 2];
    growing_ratios.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "   same rounds with the WAL left growing (no writer-side checkpoint): median ratio {:.2}",
        growing_ratios[growing_ratios.len() / 2]
    );
    println!(
        "W1 durable/bare ratio: median {median:.2} (goal >= 0.45) [{}]",
        if median >= 0.45 { "met" } else { "NOT met" }
    );

    // The same comparison with wrk as the load generator (performance.md §6.3), when it is installed.
    let wrk_dir = tempfile::tempdir().unwrap();
    let mut wrk_ratios = vec![];
    for round in 1..=rounds {
        let url = bare_url.clone();
        let dir = wrk_dir.path().to_owned();
        let Some(b) = tokio::task::spawn_blocking(move || wrk_rate(&dir, &url, secs))
            .await
            .unwrap()
        else {
            println!("   (wrk is not installed: `apt-get install wrk` to also measure with it, as performance.md §6.3 does)");
            break;
        };
        let d_svc = start_accepting(&cfg).await;
        let url = format!("{}/api/v1/alerts", d_svc.url);
        let dir = wrk_dir.path().to_owned();
        let d = tokio::task::spawn_blocking(move || wrk_rate(&dir, &url, secs))
            .await
            .unwrap()
            .unwrap();
        let (batches, ops, _, _) = batch_stats(&d_svc.url).await;
        d_svc.stop().await;
        wrk_ratios.push(d / b);
        println!(
            "   wrk round {round}: bare {b:>8.0} req/s | durable {d:>8.0} req/s | ratio {:.2} | {:.1} accepts per commit | loadavg {}",
            d / b,
            ops / batches.max(1.0),
            loadavg()
        );
    }
    if !wrk_ratios.is_empty() {
        wrk_ratios.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let m = wrk_ratios[wrk_ratios.len() / 2];
        println!(
            "W1 with wrk -t1 -c{CONNECTIONS} (performance.md §6.3): median {m:.2} (goal >= 0.45) [{}]",
            if m >= 0.45 { "met" } else { "NOT met" }
        );
    }

    bare.abort();
    durable_rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let half = durable_rates[durable_rates.len() / 2] / 2.0;
    let d_svc = start_accepting(&cfg).await;
    let lat = fixed_rate(&format!("{}/api/v1/alerts", d_svc.url), half, lat_secs).await;
    let server_p99 = server_side_p99(&d_svc.url).await;
    d_svc.stop().await;
    let p99 = pct(&lat, 0.99);
    let max = *lat.last().unwrap();
    println!(
        "W2 latency at half max rate ({half:.0} req/s, {lat_secs} s, {} requests): p50 {:.2} ms, p99 {p99:.2} ms, max {max:.1} ms (goal p99 <= 25 ms, max <= 1000 ms) [{}]",
        lat.len(),
        pct(&lat, 0.5),
        if p99 <= 25.0 && max <= 1000.0 { "met" } else { "NOT met" }
    );
    println!("   server-side accept p99 (handler start to answer, histogram bucket bound): <= {server_p99:.1} ms; loadavg now {}", loadavg());

    let prom = tokio::task::spawn_blocking(|| {
        infermon_testkit::Prometheus::builder()
            .start()
            .expect("prometheus starts")
    })
    .await
    .unwrap();
    let q1 = queries_per_notification(prom.url(), 1).await;
    let q1000 = queries_per_notification(prom.url(), 1000).await;
    println!(
        "W3 PromQL queries per notification (counted by Prometheus 2.42): 1 alert -> {q1}, 1000 alerts (10 models) -> {q1000} [{}]",
        if q1 == q1000 { "equal: met" } else { "NOT equal" }
    );
    tokio::task::spawn_blocking(move || drop(prom))
        .await
        .unwrap();
}

/// Upper bound of the histogram bucket holding the 99th percentile of `accept_duration_seconds`, in ms.
async fn server_side_p99(url: &str) -> f64 {
    let text = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let buckets: Vec<(f64, f64)> = text
        .lines()
        .filter(|l| l.starts_with("infermon_webhook_accept_duration_seconds_bucket{"))
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, l.rsplit(' ').next()?.parse().ok()?))
        })
        .collect();
    let total = buckets.last().map(|b| b.1).unwrap_or(0.0);
    buckets
        .iter()
        .find(|(_, c)| *c >= total * 0.99)
        .map(|(le, _)| le * 1000.0)
        .unwrap_or(f64::NAN)
}

/// Reads the writer's histograms from /metrics: (transactions, operations, seconds in transactions, seconds in
/// COMMIT).
async fn batch_stats(url: &str) -> (f64, f64, f64, f64) {
    let text = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let get = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (
        get("infermon_webhook_outbox_commit_batch_size_count"),
        get("infermon_webhook_outbox_commit_batch_size_sum"),
        get("infermon_webhook_outbox_commit_duration_seconds_sum"),
        get("infermon_webhook_outbox_commit_sync_duration_seconds_sum"),
    )
}
