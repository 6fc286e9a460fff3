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

/// vLLM 0.10-style gauges with known values for MODEL in namespace `ml`, and other values for the same model in
/// `ml-staging` (a second deployment whose figures must never leak into `ml`'s).
fn exposition() -> String {
    format!(
        "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n# TYPE vllm:num_requests_waiting gauge\n\
vllm:num_requests_waiting{{engine=\"0\",model_name=\"{MODEL}\",namespace=\"ml\"}} 7.0\n\
vllm:num_requests_waiting{{engine=\"0\",model_name=\"{MODEL}\",namespace=\"ml-staging\"}} 2.0\n\
# HELP vllm:num_requests_running Number of requests in model execution batches.\n# TYPE vllm:num_requests_running gauge\n\
vllm:num_requests_running{{engine=\"0\",model_name=\"{MODEL}\",namespace=\"ml\"}} 3.0\n\
vllm:num_requests_running{{engine=\"0\",model_name=\"{MODEL}\",namespace=\"ml-staging\"}} 1.0\n\
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.\n# TYPE vllm:kv_cache_usage_perc gauge\n\
vllm:kv_cache_usage_perc{{engine=\"0\",model_name=\"{MODEL}\",namespace=\"ml\"}} 0.42\n\
vllm:kv_cache_usage_perc{{engine=\"0\",model_name=\"{MODEL}\",namespace=\"ml-staging\"}} 0.9\n\
# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.\n# TYPE vllm:gpu_cache_usage_perc gauge\n\
vllm:gpu_cache_usage_perc{{engine=\"0\",model_name=\"{MODEL}\",namespace=\"ml\"}} 0.42\n\
vllm:gpu_cache_usage_perc{{engine=\"0\",model_name=\"{MODEL}\",namespace=\"ml-staging\"}} 0.9\n"
    )
}

/// (namespace, queue depth, running, KV-cache usage) as [`exposition`] serves them.
const DEPLOYMENTS: [(&str, f64, f64, f64); 2] =
    [("ml", 7.0, 3.0, 0.42), ("ml-staging", 2.0, 1.0, 0.9)];

/// One alert for MODEL in each of `namespaces`.
fn notification_across(group: &str, namespaces: &[&str]) -> String {
    let alerts: Vec<String> = namespaces
        .iter()
        .enumerate()
        .map(|(i, ns)| {
            format!(
                r#"{{"status":"firing","labels":{{"alertname":"{group}","model_name":"{MODEL}","namespace":"{ns}","pod":"vllm-{i}"}},"annotations":{{}},"startsAt":"2024-05-01T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"{:016x}"}}"#,
                i + 1
            )
        })
        .collect();
    format!(
        r#"{{"version":"4","groupKey":"{{}}:{{alertname=\"{group}\"}}","truncatedAlerts":0,"status":"firing","receiver":"infermon","groupLabels":{{"alertname":"{group}"}},"commonLabels":{{"alertname":"{group}"}},"commonAnnotations":{{}},"externalURL":"http://am:9093","alerts":[{}]}}"#,
        alerts.join(",")
    )
}

/// A hook stub and the service delivering to it, enriching from `source` with an enrichment timeout of `timeout`
/// (e.g. `3s`). The temp dir holds the service's data.
async fn service_enriching_from(
    source: PromContext,
    timeout: &str,
) -> (Stub, tempfile::TempDir, Running) {
    let hook = Stub::start("hook", Answer::status(200, ""), None).await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "enrichment: {{timeout: {timeout}}}\nreceivers:\n  - name: hook\n    webhook: {{url: \"{}\"}}\n",
        hook.url("/hook")
    );
    let svc = start_service(
        &yaml,
        dir.path(),
        StartOptions {
            context_source: Some(Arc::new(source)),
            ..Default::default()
        },
    )
    .await;
    (hook, dir, svc)
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
    // Wait until the gauges are scraped (block_in_place: the runtime keeps serving the exporter meanwhile).
    tokio::task::block_in_place(|| {
        prom.wait_for_result("vllm:num_requests_waiting", Duration::from_secs(30))
    })
    .expect("the exporter is scraped");
    // `/api/v1/query` requests served so far, counted by Prometheus itself (exact, not scraped).
    let query_count = || {
        tokio::task::block_in_place(|| prom.query_requests_served()).expect("Prometheus' /metrics")
    };
    let source = PromContext::new(prom.url(), Duration::from_secs(3)).unwrap();
    let (hook, _dir, svc) = service_enriching_from(source, "3s").await;

    let mut per_notification = vec![];
    for (i, alerts) in [1usize, 1000].into_iter().enumerate() {
        let before = query_count();
        post(
            &svc.url("/api/v1/alerts"),
            notification(&format!("Ctx{alerts}"), alerts, MODEL, "firing"),
            None,
        )
        .await;
        let r = hook.wait_for(i + 1, Duration::from_secs(20)).await;
        let after = query_count();
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

    // The same model alerting in two namespaces: one context row per deployment, each with its own figures, for
    // the same number of queries.
    let before = query_count();
    post(
        &svc.url("/api/v1/alerts"),
        notification_across("CtxTwoNamespaces", &["ml", "ml-staging"]),
        None,
    )
    .await;
    let r = hook.wait_for(3, Duration::from_secs(20)).await;
    assert_eq!(query_count() - before, per_notification[0]);
    let ctx = &r[2].json()["context"];
    assert_eq!(ctx["status"], "ok", "{ctx}");
    let rows = ctx["models"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{ctx}");
    for (row, (ns, queue, running, kv)) in rows.iter().zip(DEPLOYMENTS) {
        assert_eq!(row["model"], MODEL, "{ctx}");
        assert_eq!(row["namespace"], ns, "{ctx}");
        assert_eq!(row["figures"]["queue_depth"], queue, "{ctx}");
        assert_eq!(row["figures"]["running_requests"], running, "{ctx}");
        assert_eq!(row["figures"]["kv_cache_usage"], kv, "{ctx}");
    }
    svc.stop().await;
    tokio::task::spawn_blocking(move || drop(prom))
        .await
        .unwrap();
}

#[tokio::test]
async fn prometheus_down_means_prompt_delivery_without_context() {
    // Nothing listens on this port: connection refused.
    let port = infermon_testkit::free_port();
    let source =
        PromContext::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(2)).unwrap();
    let (hook, _dir, svc) = service_enriching_from(source, "2s").await;
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
        namespaces: vec!["ml".into()],
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
    // The recorded figures answer with the exporter's values: for one namespace, and per namespace for two.
    use infermon_webhook::enrich::{ContextRequest as Asked, Figure, ModelKey};
    let source = PromContext::new(prom.url(), Duration::from_secs(3)).unwrap();
    let one = Asked {
        models: vec![MODEL.into()],
        namespaces: vec!["ml".into()],
        targets: vec![ModelKey {
            namespace: None,
            model: MODEL.into(),
        }],
    };
    let key = |ns: &str| ModelKey {
        namespace: Some(ns.into()),
        model: MODEL.into(),
    };
    let two = Asked {
        namespaces: DEPLOYMENTS.iter().map(|d| d.0.to_string()).collect(),
        targets: DEPLOYMENTS.iter().map(|d| key(d.0)).collect(),
        ..one.clone()
    };
    let matches = |figures: Option<&std::collections::BTreeMap<Figure, f64>>,
                   d: (&str, f64, f64, f64)| {
        figures.is_some_and(|f| {
            f.get(&Figure::QueueDepth) == Some(&d.1)
                && f.get(&Figure::RunningRequests) == Some(&d.2)
                && f.get(&Figure::KvCacheUsage) == Some(&d.3)
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let f1 = infermon_webhook::enrich::ContextSource::fetch(&source, &one)
            .await
            .unwrap();
        let f2 = infermon_webhook::enrich::ContextSource::fetch(&source, &two)
            .await
            .unwrap();
        if matches(f1.values.get(&one.targets[0]), DEPLOYMENTS[0])
            && DEPLOYMENTS
                .iter()
                .all(|d| matches(f2.values.get(&key(d.0)), *d))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "recorded figures never matched the exporter: {:?} / {:?}",
            f1.values,
            f2.values
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::task::spawn_blocking(move || drop(prom))
        .await
        .unwrap();
}
