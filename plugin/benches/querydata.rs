//! Benchmark (prints figures; not a timed test): plugin QueryData end to end vs the raw `query_range` HTTP call
//! for the same PromQL on the same Prometheus 2.42, 200 series × 1 100 points (performance.md §7.1 P1/P2).
//!
//! What it prints, all measured in this one run:
//! - **ratio**: median of per-pair ratios plugin ÷ raw over interleaved rounds (raw, both plugin clients and the
//!   in-process Prometheus client; the order rotates and every measured call starts 150 ms after the previous
//!   one ended, see the rounds). The plugin is reached over the real gRPC protocol from another process, as
//!   Grafana does, with two clients: tonic's defaults (64 KiB HTTP/2 windows) and an adaptive window, which is
//!   what Grafana's grpc-go client does by default (BDP estimation). The raw call is reqwest without gzip.
//! - **peak memory**: the plugin process' VmHWM growth during one query over its VmRSS just before it
//!   (`/proc/PID/clear_refs` resets the high-water mark), ÷ the JSON response size. Reported for the first
//!   big query of a fresh process (after a small warm-up query) and over the repeated queries.
//! - **conversion throughput** in-process on the same body: JSON → columnar series → data-plane Arrow IPC
//!   frames, and each step alone, plus the protobuf encode/decode of the resulting QueryDataResponse.
//! - **what dominates the rest**: plugin − raw split into the Prometheus client's cost over the raw call
//!   (`infermon_prom::Client::query_range` timed in this process in the same rounds: decode, body handling),
//!   frames + Arrow IPC (in-process), the gRPC hop alone (the same QueryDataResponse served by a canned Data
//!   service in this process) and the remainder; and the plugin process' CPU time per query.
//!
//! Run: `cargo bench -p infermon-plugin --bench querydata` (env `QUERYDATA_PAIRS`, default 25).

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use grafana_plugin_sdk::pluginv2::{
    self, data_client::DataClient, data_server::Data, data_server::DataServer, QueryDataRequest,
    QueryDataResponse,
};
use infermon_core::translate::Target;
use infermon_plugin::frames::FrameMeta;
use infermon_plugin::step::grid;
use infermon_testkit::openmetrics::{MetricType, Writer};
use infermon_testkit::Prometheus;
use prost::Message;
use serde_json::json;

const SERIES: usize = 200;
const POINTS: i64 = 1_100;
const STEP_MS: i64 = 15_000;
/// Pause before each measured call (see the rounds).
const SETTLE: Duration = Duration::from_millis(150);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn status_kib(pid: u32, key: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0); false if the kernel refused.
fn reset_hwm(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// utime + stime of a process, in seconds.
fn cpu_s(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

async fn query_data(
    client: &mut DataClient<tonic::transport::Channel>,
    req: pluginv2::QueryDataRequest,
) -> HashMap<String, pluginv2::DataResponse> {
    client
        .query_data(req)
        .await
        .expect("QueryData RPC")
        .into_inner()
        .responses
}

/// A Data service answering every QueryData with the same prepared response: the gRPC hop alone (protobuf
/// encode, HTTP/2 over loopback TCP, client decode), without Prometheus or conversion.
struct Canned(QueryDataResponse);

#[tonic::async_trait]
impl Data for Canned {
    async fn query_data(
        &self,
        _: tonic::Request<QueryDataRequest>,
    ) -> Result<tonic::Response<QueryDataResponse>, tonic::Status> {
        Ok(tonic::Response::new(self.0.clone()))
    }
}

/// Serves `Canned` on a free loopback port in this process; a client with the adaptive window, or with fixed
/// 16 MiB windows (`big_windows`, to show what HTTP/2 flow control costs).
async fn canned_client(
    resp: QueryDataResponse,
    big_windows: bool,
) -> DataClient<tonic::transport::Channel> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let incoming = futures::stream::unfold(listener, |l| async move {
        let r = l.accept().await.map(|(s, _)| {
            let _ = s.set_nodelay(true);
            s
        });
        Some((r, l))
    });
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(DataServer::new(Canned(resp)))
            .serve_with_incoming(incoming),
    );
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap();
    let endpoint = if big_windows {
        endpoint
            .initial_stream_window_size(16 << 20)
            .initial_connection_window_size(16 << 20)
    } else {
        endpoint.http2_adaptive_window(true)
    };
    let chan = endpoint.connect().await.unwrap();
    DataClient::new(chan).max_decoding_message_size(usize::MAX)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let pairs: usize = std::env::var("QUERYDATA_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25);
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

    let plugin = common::PluginProcess::start().await;
    let pid = plugin.pid();
    let mut tonic_default = plugin.data.clone();
    let chan = tonic::transport::Endpoint::from_shared(format!("http://{}", plugin.address))
        .unwrap()
        .http2_adaptive_window(true)
        .connect()
        .await
        .expect("connect to the plugin");
    let mut adaptive = DataClient::new(chan).max_decoding_message_size(usize::MAX);
    let request = |from: i64, points: i64| pluginv2::QueryDataRequest {
        plugin_context: Some(common::ctx(common::ds(
            prom.url(),
            json!({"scrapeInterval": "15s"}),
            &[],
        ))),
        headers: HashMap::new(),
        queries: vec![common::dq(
            "A",
            json!({"queryType": "promql", "expr": expr}),
            from,
            last,
            STEP_MS,
            points,
        )],
    };
    let big = || request(first, POINTS);

    // Fresh process: a small query (detection, connections, allocator warm-up), then the first big one.
    let small = query_data(&mut adaptive, request(last - 10 * STEP_MS, 11)).await;
    assert_eq!(small["A"].status, 200, "{}", small["A"].error);
    let rss_idle = status_kib(pid, "VmRSS:");
    let hwm_supported = reset_hwm(pid);
    let first_resp = query_data(&mut adaptive, big()).await;
    let hwm_first = status_kib(pid, "VmHWM:");
    let frames = common::frames_of(&first_resp["A"]);
    assert_eq!(frames.len(), SERIES, "plugin returns one frame per series");
    assert!(frames
        .iter()
        .all(|f| f.field("Value").numbers.len() == POINTS as usize
            && f.field("Time").times_ns.len() == POINTS as usize));
    let arrow_bytes: usize = first_resp["A"].frames.iter().map(Vec::len).sum();
    let canned = QueryDataResponse {
        responses: first_resp.clone(),
    };
    let proto_bytes = canned.encoded_len();
    drop(frames);
    drop(first_resp);

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
    let body = raw().await;
    if let Ok(path) = std::env::var("QUERYDATA_SAVE_BODY") {
        std::fs::write(path, &body).unwrap();
    }
    let _ = query_data(&mut tonic_default, big()).await;

    let mut hop = canned_client(canned.clone(), false).await;
    let mut hop_big = canned_client(canned, true).await;
    for _ in 0..3 {
        let _ = query_data(&mut hop, big()).await;
        let _ = query_data(&mut hop_big, big()).await;
    }

    // The plugin's own Prometheus client in this process (HTTP + decode, no frames, no gRPC).
    let prom_client =
        infermon_prom::Client::new(infermon_prom::ClientConfig::new(prom.url())).unwrap();
    let client_call = || {
        prom_client.query_range(
            expr,
            UNIX_EPOCH + Duration::from_millis(first as u64),
            UNIX_EPOCH + Duration::from_millis(last as u64),
            Duration::from_millis(STEP_MS as u64),
            false,
        )
    };
    let _ = client_call().await.unwrap();

    // Interleaved rounds: raw, plugin (adaptive window), plugin (tonic defaults), the in-process Prometheus
    // client, order rotating (so none of them always runs right after a query that just made Prometheus
    // serve 7 MB — Go's GC and the plugin's cleanup then still compete for the 2 cores); then the canned gRPC hop.
    // What a 7 MB answer leaves behind: Prometheus' CPU time (its own `process_cpu_seconds_total`, 10 ms
    // resolution) in the 200 ms after the last byte, against 200 ms of idling; the same after a plugin query, also
    // for the plugin process.
    let prom_cpu = || async {
        let text = http
            .get(format!("{}/metrics", prom.url()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("process_cpu_seconds_total "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    let (mut cpu_after, mut cpu_idle, mut plugin_after) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..5 {
        tokio::time::sleep(SETTLE).await;
        let c0 = prom_cpu().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        cpu_idle.push(prom_cpu().await - c0);
        let _ = raw().await;
        let c0 = prom_cpu().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        cpu_after.push(prom_cpu().await - c0);
        let _ = query_data(&mut adaptive, big()).await;
        let c0 = (prom_cpu().await, cpu_s(pid));
        tokio::time::sleep(Duration::from_millis(200)).await;
        plugin_after.push((prom_cpu().await - c0.0, cpu_s(pid) - c0.1));
    }

    let load_before = loadavg();
    let (mut t_raw, mut t_ad, mut t_def) = (Vec::new(), Vec::new(), Vec::new());
    let (mut r_ad, mut r_def, mut t_hop, mut t_client) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // Per-round differences to the raw call of the same round (paired, so machine noise cancels better).
    let (mut d_plugin, mut d_client, mut t_hop_big) = (Vec::new(), Vec::new(), Vec::new());
    let mut growth_kib = Vec::new();
    let cpu0 = cpu_s(pid);
    let mut plugin_queries = 0;
    for round in 0..pairs {
        let (mut raw_s, mut ad_s, mut def_s, mut client_s) = (0.0, 0.0, 0.0, 0.0);
        for k in 0..4 {
            // Each measured call starts SETTLE after the previous one ended, so all start from the same state.
            // Single calls vary by ±10 ms (Prometheus' own time), so over 15 rounds the client's paired
            // difference to raw came out anywhere from 4 to 20 ms; measured on their own over 50 rounds the
            // client was raw + its decode (8.7 ms over raw, decode alone 8.7 ms), and a call right after a
            // plugin query was not slower than one after a pause (20 rounds). Hence also 25 rounds by default.
            tokio::time::sleep(SETTLE).await;
            match (round + k) % 4 {
                0 => {
                    let t = Instant::now();
                    let b = raw().await;
                    raw_s = t.elapsed().as_secs_f64();
                    assert_eq!(b.len(), body.len());
                }
                3 => {
                    let t = Instant::now();
                    let r = client_call().await.unwrap();
                    client_s = t.elapsed().as_secs_f64();
                    assert_eq!(r.data.as_matrix().len(), SERIES);
                }
                which => {
                    let rss = status_kib(pid, "VmRSS:");
                    reset_hwm(pid);
                    let client = if which == 1 {
                        &mut adaptive
                    } else {
                        &mut tonic_default
                    };
                    let t = Instant::now();
                    let resp = query_data(client, big()).await;
                    let s = t.elapsed().as_secs_f64();
                    growth_kib.push(status_kib(pid, "VmHWM:").saturating_sub(rss) as f64);
                    assert_eq!(resp["A"].frames.len(), SERIES);
                    plugin_queries += 1;
                    if which == 1 {
                        ad_s = s;
                    } else {
                        def_s = s;
                    }
                }
            }
        }
        t_client.push(client_s);
        let t = Instant::now();
        let r = query_data(&mut hop, big()).await;
        t_hop.push(t.elapsed().as_secs_f64());
        assert_eq!(r["A"].frames.len(), SERIES);
        drop(r);
        let t = Instant::now();
        let r = query_data(&mut hop_big, big()).await;
        t_hop_big.push(t.elapsed().as_secs_f64());
        assert_eq!(r["A"].frames.len(), SERIES);
        d_plugin.push(ad_s - raw_s);
        d_client.push(t_client.last().unwrap() - raw_s);
        t_raw.push(raw_s);
        t_ad.push(ad_s);
        t_def.push(def_s);
        r_ad.push(ad_s / raw_s);
        r_def.push(def_s / raw_s);
    }
    let cpu_per_query = (cpu_s(pid) - cpu0) / plugin_queries as f64;
    let rss_end = status_kib(pid, "VmRSS:");
    let load_after = loadavg();

    // In-process conversion of the same body: decode, frames + Arrow IPC, protobuf.
    let target = Target {
        key: "value".into(),
        expr: expr.into(),
        legend: String::new(),
        unit: String::new(),
        instant: false,
    };
    let g = grid(first, last, STEP_MS, POINTS, Duration::from_secs(15));
    let (mut conv, mut dec, mut fr, mut enc, mut pdec, mut scan) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..41 {
        let t = Instant::now();
        let _: serde::de::IgnoredAny = serde_json::from_slice(&body).unwrap();
        scan.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let r = infermon_prom::parse_query_response(&body).unwrap();
        let d = t.elapsed().as_secs_f64();
        let t2 = Instant::now();
        let out =
            infermon_plugin::query::series_frames("A", &target, r.data, &g, FrameMeta::default())
                .unwrap();
        let f = t2.elapsed().as_secs_f64();
        conv.push(t.elapsed().as_secs_f64());
        dec.push(d);
        fr.push(f);
        assert_eq!(out.len(), SERIES);
        let msg = QueryDataResponse {
            responses: HashMap::from([(
                "A".to_string(),
                pluginv2::DataResponse {
                    frames: out,
                    status: 200,
                    ..Default::default()
                },
            )]),
        };
        let t = Instant::now();
        let bytes = msg.encode_to_vec();
        enc.push(t.elapsed().as_secs_f64());
        drop(msg);
        let t = Instant::now();
        let back = QueryDataResponse::decode(bytes.as_slice()).unwrap();
        pdec.push(t.elapsed().as_secs_f64());
        assert_eq!(back.responses["A"].frames.len(), SERIES);
    }
    let conv_min = conv.iter().cloned().fold(f64::INFINITY, f64::min);
    let (conv_s, dec_s, fr_s, enc_s, pdec_s, scan_s) = (
        median(conv),
        median(dec),
        median(fr),
        median(enc),
        median(pdec),
        median(scan),
    );
    let points = SERIES as f64 * POINTS as f64;
    let mb = body.len() as f64 / 1e6;
    let (raw_m, ad_m, def_m) = (
        median(t_raw.clone()),
        median(t_ad.clone()),
        median(t_def.clone()),
    );
    let fmt_ratios = |r: &[f64]| {
        r.iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let body_kib = body.len() as f64 / 1024.0;

    println!("querydata benchmark: {SERIES} series x {POINTS} points, Prometheus 2.42, {pairs} interleaved rounds");
    println!(
        "  JSON response {} bytes; Arrow frames {} bytes ({:.2}x); QueryDataResponse protobuf {} bytes",
        body.len(),
        arrow_bytes,
        arrow_bytes as f64 / body.len() as f64,
        proto_bytes
    );
    println!(
        "  raw query_range HTTP            median {:>6.1} ms",
        raw_m * 1e3
    );
    println!(
        "  plugin QueryData, adaptive win. median {:>6.1} ms  RATIO {:.3} (per round: {})",
        ad_m * 1e3,
        median(r_ad.clone()),
        fmt_ratios(&r_ad)
    );
    println!(
        "  plugin QueryData, tonic default median {:>6.1} ms  RATIO {:.3} (per round: {})",
        def_m * 1e3,
        median(r_def.clone()),
        fmt_ratios(&r_def)
    );
    println!(
        "  CONVERSION in-process {:.2} ms = {:.0} MB/s of JSON, {:.1} M points/s: decode {:.2} ms ({:.0} MB/s; \
         serde_json's bare validating scan of the same body {:.2} ms), frames + Arrow IPC {:.2} ms; \
         fastest of 41: {:.2} ms = {:.0} MB/s",
        conv_s * 1e3,
        mb / conv_s,
        points / conv_s / 1e6,
        dec_s * 1e3,
        mb / dec_s,
        scan_s * 1e3,
        fr_s * 1e3,
        conv_min * 1e3,
        mb / conv_min
    );
    println!(
        "  protobuf QueryDataResponse: encode {:.2} ms, decode {:.2} ms (in-process)",
        enc_s * 1e3,
        pdec_s * 1e3
    );
    let extra = median(d_plugin.clone());
    let hop_m = median(t_hop.clone());
    let client_m = median(t_client.clone());
    println!(
        "  infermon-prom client in-process (HTTP + decode): median {:.1} ms; median per-round difference to raw {:.1} ms \
         (its decode of the same body alone: {:.1} ms)",
        client_m * 1e3,
        median(d_client.clone()) * 1e3,
        dec_s * 1e3
    );
    println!(
        "  gRPC hop alone (same response from an in-process canned Data service): adaptive window median {:.1} ms; \
         fixed 16 MiB windows {:.1} ms",
        hop_m * 1e3,
        median(t_hop_big.clone()) * 1e3
    );
    // Where plugin - raw goes: the Prometheus client's own cost over the raw call (decode, body handling),
    // frames + Arrow IPC, the gRPC hop, and what is left (request handling, hand-offs, scheduling).
    let client_extra = median(d_client.clone());
    let rest = extra - client_extra - fr_s - hop_m;
    let pct = |x: f64| 100.0 * x / extra.max(1e-9);
    println!(
        "  WHAT DOMINATES plugin - raw (median per-round difference) = {:.1} ms: Prometheus client over raw HTTP (decode, body) {:.1} ms ({:.0}%), \
         frames + Arrow IPC {:.1} ms ({:.0}%), gRPC hop {:.1} ms ({:.0}%), the rest {:.1} ms ({:.0}%: request \
         handling, thread hand-offs, scheduling on the shared cores); plugin CPU {:.1} ms per query",
        extra * 1e3,
        client_extra * 1e3,
        pct(client_extra),
        fr_s * 1e3,
        pct(fr_s),
        hop_m * 1e3,
        pct(hop_m),
        rest * 1e3,
        pct(rest),
        cpu_per_query * 1e3
    );
    if hwm_supported {
        let first_growth = hwm_first.saturating_sub(rss_idle) as f64;
        println!(
            "  PEAK MEMORY: VmHWM growth over VmRSS before the query: first big query {:.0} KiB = {:.2}x the JSON \
             (baseline VmRSS {} KiB after a small warm-up query); repeated queries median {:.0} KiB = {:.2}x, max {:.2}x",
            first_growth,
            first_growth / body_kib,
            rss_idle,
            median(growth_kib.clone()),
            median(growth_kib.clone()) / body_kib,
            growth_kib.iter().cloned().fold(0.0, f64::max) / body_kib
        );
    } else {
        println!("  PEAK MEMORY: the kernel refused clear_refs; VmHWM {hwm_first} KiB overall");
    }
    println!(
        "  plugin VmRSS after all {} big queries {} KiB: {:.2}x the JSON above the {} KiB baseline (what the \
         allocator keeps between queries)",
        plugin_queries + 3,
        rss_end,
        rss_end.saturating_sub(rss_idle) as f64 / body_kib,
        rss_idle
    );
    println!(
        "  Prometheus CPU in the 200 ms after a raw answer's last byte: median {:.0} ms (idle 200 ms: {:.0} ms); \
         every measured call here starts {} ms after the previous one ended",
        median(cpu_after) * 1e3,
        median(cpu_idle) * 1e3,
        SETTLE.as_millis()
    );
    println!(
        "  CPU in the 200 ms after a plugin QueryData answer arrived: Prometheus {:?} ms, plugin process {:?} ms",
        plugin_after.iter().map(|c| (c.0 * 1e3).round()).collect::<Vec<_>>(),
        plugin_after.iter().map(|c| (c.1 * 1e3).round()).collect::<Vec<_>>()
    );
    println!("  load average before: {load_before}; after: {load_after}");
}
