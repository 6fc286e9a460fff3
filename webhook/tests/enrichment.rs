//! Enrichment against a real Prometheus 2.42 scraping a vLLM-format exporter: the context in the delivered
//! notification matches the exporter's state, the number of PromQL queries per notification (counted by Prometheus
//! itself) is the same for 1 and 1000 alerts, and with Prometheus down the notification is delivered promptly
//! without context.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use infermon_testkit::Prometheus;
use infermon_webhook::prom_context::PromContext;
use infermon_webhook::StartOptions;

const MODEL: &str = "llama-3-8b";

/// vLLM 0.10-style gauges with known values for MODEL.
fn exposition() -> String {
    format!(
        "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n# TYPE vllm:num_requests_waiting gauge\n\
vllm:num_requests_waiting{{engine=\"0\",model_name=\"{MODEL}\",namespace=\"ml\"}} 7.0\n\
# HELP vllm:num_requests_running Number of requests in model execution batches.\n# TYPE vllm:num_requests_running gauge\n\
vllm:num_requests_running{{engine=\"0\",model_name=\"{MODEL}\",namespace=\"ml\"}} 3.0\n\
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.\n# TYPE vllm:kv_cache_usage_perc gauge\n\
vllm:kv_cache_usage_perc{{engine=\"0\",model_name=\"{MODEL}\",namespace=\"ml\"}} 0.42\n\
# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.\n# TYPE vllm:gpu_cache_usage_perc gauge\n\
vllm:gpu_cache_usage_perc{{engine=\"0\",model_name=\"{MODEL}\",namespace=\"ml\"}} 0.42\n"
    )
}

/// `/api/v1/query` requests served so far, from Prometheus' own /metrics (exact, not scraped).
async fn query_count(prom_url: &str) -> f64 {
    let text = reqwest::get(format!("{prom_url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("prometheus_http_requests_total{")
                && l.contains("handler=\"/api/v1/query\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_matches_the_exporter_and_query_count_is_fixed() {
    let exporter = Stub::start("exporter", Answer::status(200, &exposition()), None).await;
    let target = exporter.addr.to_string();
    let prom = tokio::task::spawn_blocking(move || {
        Prometheus::builder()
            .scrape_interval("1s")
            .scrape("vllm", target)
            .start()
            .expect("prometheus starts")
    })
    .await
    .unwrap();
    // Wait until the gauges are scraped.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let j: serde_json::Value = reqwest::get(format!(
            "{}/api/v1/query?query=vllm:num_requests_waiting",
            prom.url()
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        if j["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
        {
            break;
        }
        assert!(Instant::now() < deadline, "no scrape");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let hook = Stub::start("hook", Answer::status(200, ""), None).await;
    let dir = tempfile::tempdir().unwrap();
    let source = Arc::new(PromContext::new(prom.url(), Duration::from_secs(3)).unwrap());
    let yaml = format!(
        "enrichment: {{timeout: 3s}}\nreceivers:\n  - name: hook\n    webhook: {{url: \"{}\"}}\n",
        hook.url("/hook")
    );
    let svc = start_service(
        &yaml,
        dir.path(),
        StartOptions {
            context_source: Some(source),
            ..Default::default()
        },
    )
    .await;

    let mut per_notification = vec![];
    for (i, alerts) in [1usize, 1000].into_iter().enumerate() {
        let before = query_count(prom.url()).await;
        post(
            &svc.url("/api/v1/alerts"),
            notification(&format!("Ctx{alerts}"), alerts, MODEL, "firing"),
            None,
        )
        .await;
        let r = hook.wait_for(i + 1, Duration::from_secs(20)).await;
        let after = query_count(prom.url()).await;
        per_notification.push(after - before);
        let ctx = &r[i].json()["context"];
        assert_eq!(ctx["status"], "ok", "{ctx}");
        let figures = &ctx["models"][0]["figures"];
        assert_eq!(ctx["models"][0]["model"], MODEL);
        assert_eq!(figures["queue_depth"], 7.0, "{ctx}");
        assert_eq!(figures["running_requests"], 3.0, "{ctx}");
        assert_eq!(figures["kv_cache_usage"], 0.42, "{ctx}");
        assert_eq!(
            ctx["promql_queries"].as_u64().unwrap() as f64,
            per_notification[i],
            "reported = counted by Prometheus"
        );
    }
    assert_eq!(
        per_notification[0], per_notification[1],
        "queries for 1 vs 1000 alerts: {per_notification:?}"
    );
    assert!(
        per_notification[0] >= 3.0 && per_notification[0] <= 12.0,
        "{per_notification:?}"
    );
    svc.stop().await;
    tokio::task::spawn_blocking(move || drop(prom))
        .await
        .unwrap();
}

#[tokio::test]
async fn prometheus_down_means_prompt_delivery_without_context() {
    let hook = Stub::start("hook", Answer::status(200, ""), None).await;
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on this port: connection refused.
    let port = infermon_testkit::free_port();
    let source = Arc::new(
        PromContext::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(2)).unwrap(),
    );
    let yaml = format!(
        "enrichment: {{timeout: 2s}}\nreceivers:\n  - name: hook\n    webhook: {{url: \"{}\"}}\n",
        hook.url("/hook")
    );
    let svc = start_service(
        &yaml,
        dir.path(),
        StartOptions {
            context_source: Some(source),
            ..Default::default()
        },
    )
    .await;
    let t0 = Instant::now();
    post(
        &svc.url("/api/v1/alerts"),
        notification("Down", 2, MODEL, "firing"),
        None,
    )
    .await;
    let r = hook.wait_for(1, Duration::from_secs(10)).await;
    assert!(
        r[0].at - t0 < Duration::from_secs(2),
        "delivered after {:?}",
        r[0].at - t0
    );
    let ctx = &r[0].json()["context"];
    assert_eq!(ctx["status"], "unavailable");
    assert!(
        ctx["note"]
            .as_str()
            .unwrap()
            .contains("Prometheus is unreachable"),
        "{ctx}"
    );
    let ready: serde_json::Value = reqwest::get(svc.url("/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["prometheus"], "unreachable");
    assert_eq!(
        ready["ready"], true,
        "Prometheus down does not make the service unready"
    );
    svc.stop().await;
}

/// With infermon's generated recording rules loaded (the checked-in `manifests/prometheus/*.rules.yml`), the
/// context figures are read from the recorded series — and still match the exporter; without them, raw series.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_infermons_rules_loaded_the_context_reads_recorded_series() {
    use infermon_core::context::{context_queries, ContextRequest};
    use infermon_core::translate::recorded::RECORD_PREFIX;

    let exporter = Stub::start("exporter", Answer::status(200, &exposition()), None).await;
    let target = exporter.addr.to_string();
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/prometheus");
    let prom = tokio::task::spawn_blocking(move || {
        Prometheus::builder()
            .scrape_interval("1s")
            .evaluation_interval("1s")
            .scrape("vllm", target)
            .rule_file_path(rules.join("infermon-recording.rules.yml"))
            .rule_file_path(rules.join("infermon-slo.rules.yml"))
            .start()
            .expect("prometheus starts")
    })
    .await
    .unwrap();
    let request = ContextRequest {
        models: vec![MODEL.into()],
        namespaces: vec![],
        budget_slo: None,
    };
    // Until the first evaluation has written records, the engine holds none: raw series. (The answer is cached
    // for a minute per source, so each round asks through a new one.)
    let deadline = Instant::now() + Duration::from_secs(30);
    let recorded = loop {
        let ctx = PromContext::new(prom.url(), Duration::from_secs(3))
            .unwrap()
            .translation_context()
            .await;
        if ctx.recording_rules {
            break ctx;
        }
        let raw = context_queries(&request, &ctx);
        assert!(
            raw.iter().all(|q| !q.expr.contains(RECORD_PREFIX)),
            "no records yet, yet {raw:?}"
        );
        assert!(Instant::now() < deadline, "the rules never recorded");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let queries = context_queries(&request, &recorded);
    for key in ["queue_depth", "running_requests", "kv_cache_usage"] {
        let q = queries.iter().find(|q| q.key == key).unwrap();
        assert!(q.expr.contains(RECORD_PREFIX), "{key}: {}", q.expr);
    }
    // The recorded figures answer with the exporter's values.
    let source = PromContext::new(prom.url(), Duration::from_secs(3)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let fetched = infermon_webhook::enrich::ContextSource::fetch(
            &source,
            &infermon_webhook::enrich::ContextRequest {
                models: vec![MODEL.into()],
                namespaces: vec![],
            },
        )
        .await
        .unwrap();
        let figures = fetched.values.get(MODEL).cloned().unwrap_or_default();
        use infermon_webhook::enrich::Figure;
        if figures.get(&Figure::QueueDepth) == Some(&7.0)
            && figures.get(&Figure::RunningRequests) == Some(&3.0)
            && figures.get(&Figure::KvCacheUsage) == Some(&0.42)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "recorded figures never matched the exporter: {figures:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::task::spawn_blocking(move || drop(prom))
        .await
        .unwrap();
}
