//! Error paths through the Grafana protocol: each failure lands on its own refId with a specific status and
//! message while the other queries of the same request still succeed; CheckHealth tells wrong URL, bad
//! credentials and non-Prometheus servers apart. Real Prometheus 2.42 (with basic auth from a web config) and
//! small local stub servers (an HTML page, a server that never answers in time).

mod common;

use std::time::Duration;

use axum::routing::any;
use axum::Router;
use common::data::engines;
use common::{dq, ds, frames_of, PluginProcess};
use infermon_testkit::Prometheus;
use serde_json::json;

fn window() -> (i64, i64) {
    let to = engines().data.last_ms - 600_000;
    (to - 3_600_000, to)
}

/// A local HTTP server answering every path with `handler`.
async fn stub(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_refid_errors_leave_the_other_queries_intact() {
    let mut p = PluginProcess::start().await;
    let (from, to) = window();
    let url = engines().prometheus.url().to_string();
    let q = |r: &str, j: serde_json::Value| dq(r, j, from, to, 15_000, 240);
    let hostile = "llama\"} or vector(1) or {__name__=~\".+";
    let mut bad_json = q("F", json!({}));
    bad_json.json = b"{\"queryType\": \"metric\", ".to_vec();
    let mut no_range = q(
        "G",
        json!({"queryType": "metric", "concept": "queue_depth"}),
    );
    no_range.time_range = None;
    let resp = p
        .query(
            ds(&url, json!({}), &[]),
            vec![
                q("A", json!({"queryType": "metric", "concept": "queue_depth"})),
                q("B", json!({"queryType": "metric", "concept": "ttft", "stats": "p95"})),
                q("C", json!({"queryType": "promql", "expr": "sum(rate(vllm:generation_tokens_total[5m])"})),
                q("D", json!({"queryType": "metric", "concept": "queue_depth", "models": [hostile]})),
                q("E", json!({"queryType": "metric", "concept": "ttft", "backend": "llamacpp"})),
                bad_json,
                no_range,
                q("H", json!({"queryType": "slo", "sli": "ttft", "threshold": 0.3, "objective": 0.99, "view": "attainment", "backend": "vllm"})),
            ],
            &[],
        )
        .await;
    assert_eq!(
        frames_of(&resp["A"]).len(),
        3,
        "the good query still answers"
    );

    let b = &resp["B"];
    assert_eq!(b.status, 400);
    assert!(b.error.contains("unknown field `stats`"), "{}", b.error);
    assert!(b.frames.is_empty());

    let c = &resp["C"];
    assert_eq!(c.status, 400);
    assert!(
        c.error.starts_with("bad_data: ") && c.error.contains("parse error"),
        "{}",
        c.error
    );

    // The hostile name is escaped into one label value: no series match, nothing is injected.
    let d = frames_of(&resp["D"]);
    assert_eq!(d.len(), 1, "one empty frame");
    assert!(d[0].fields.is_empty());
    let executed = d[0].meta["executedQueryString"].as_str().unwrap();
    assert!(
        executed.contains(r#"llama\"} or vector(1) or {__name__=~\".+"#),
        "{executed}"
    );

    let e = &resp["E"];
    assert_eq!(e.status, 400);
    assert!(
        e.error.contains("not available on llama.cpp"),
        "{}",
        e.error
    );

    let f = &resp["F"];
    assert_eq!(f.status, 400);
    assert!(f.error.starts_with("invalid query JSON"), "{}", f.error);
    assert_eq!(resp["G"].status, 400);
    assert!(
        resp["G"].error.contains("no time range"),
        "{}",
        resp["G"].error
    );

    // 0.3 s is not a vLLM TTFT bucket boundary: the error names the nearest ones.
    let h = &resp["H"];
    assert_eq!(h.status, 400, "{}", h.error);
    assert!(
        h.error.contains("0.25") && h.error.contains("0.5"),
        "{}",
        h.error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn points_cap_and_prometheus_resolution_limit() {
    let mut p = PluginProcess::start().await;
    let (from, to) = window();
    let url = engines().prometheus.url().to_string();
    // 241 points per series; cap 300 per query: one model fits, three do not.
    let settings = ds(&url, json!({"maxPointsPerQuery": 300}), &[]);
    let resp = p
        .query(
            settings,
            vec![
                dq("A", json!({"queryType": "metric", "concept": "queue_depth", "models": ["llama-3-8b"]}), from, to, 15_000, 240),
                dq("B", json!({"queryType": "metric", "concept": "queue_depth"}), from, to, 15_000, 240),
            ],
            &[],
        )
        .await;
    assert_eq!(frames_of(&resp["A"]).len(), 1);
    assert_eq!(resp["B"].status, 413);
    assert!(
        resp["B"].error.contains("723 points in 3 series")
            && resp["B"].error.contains("limit of 300"),
        "{}",
        resp["B"].error
    );

    // 30 days at intervalMs 1 ms and 1M data points would be 2.6 billion points: the step is raised so
    // Prometheus never refuses with its 11 000-points error.
    let resp = p
        .query(
            ds(&url, json!({"scrapeInterval": "1s"}), &[]),
            vec![dq(
                "A",
                json!({"queryType": "metric", "concept": "queue_depth"}),
                to - 30 * 86_400_000,
                to,
                1,
                1_000_000,
            )],
            &[],
        )
        .await;
    let a = frames_of(&resp["A"]);
    let exec = a[0].meta["executedQueryString"].as_str().unwrap();
    assert!(exec.ends_with("Step: 5m"), "{exec}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_down_wrong_server_timeout() {
    let mut p = PluginProcess::start().await;
    let (from, to) = window();
    let q = || {
        vec![
            dq(
                "A",
                json!({"queryType": "metric", "concept": "queue_depth"}),
                from,
                to,
                15_000,
                240,
            ),
            dq(
                "B",
                json!({"queryType": "promql", "expr": "1"}),
                from,
                to,
                15_000,
                240,
            ),
        ]
    };

    // Nothing listens.
    let down = format!("http://127.0.0.1:{}", infermon_testkit::free_port());
    let (status, msg, _) = p.health(ds(&down, json!({}), &[])).await;
    assert_eq!(status, 2);
    assert!(
        msg.starts_with("Cannot reach") && msg.contains("connection refused"),
        "{msg}"
    );
    let resp = p.query(ds(&down, json!({}), &[]), q(), &[]).await;
    for r in ["A", "B"] {
        assert_eq!(resp[r].status, 502, "{}", resp[r].error);
        assert!(
            resp[r].error.contains("connection refused"),
            "{}",
            resp[r].error
        );
    }

    // Something answers, but it is a web page.
    let html = stub(Router::new().fallback(any(|| async {
        (
            [("content-type", "text/html")],
            "<html><body>Welcome to nginx!</body></html>",
        )
    })))
    .await;
    let (status, msg, _) = p.health(ds(&html, json!({}), &[])).await;
    assert_eq!(status, 2);
    assert!(
        msg.contains("it is not a Prometheus API") && msg.contains("path prefix"),
        "{msg}"
    );
    let resp = p.query(ds(&html, json!({}), &[]), q(), &[]).await;
    assert_eq!(resp["B"].status, 502);
    assert!(
        resp["B"].error.contains("not a Prometheus API"),
        "{}",
        resp["B"].error
    );

    // Too slow: the data source's timeout applies per request.
    let slow = stub(Router::new().fallback(any(|| async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        "late"
    })))
    .await;
    let started = std::time::Instant::now();
    let resp = p
        .query(ds(&slow, json!({"timeoutSeconds": 1}), &[]), q(), &[])
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "queries ran concurrently with a 1 s timeout"
    );
    for r in ["A", "B"] {
        assert_eq!(resp[r].status, 504, "{}", resp[r].error);
        assert!(
            resp[r].error.contains("timed out after 1s"),
            "{}",
            resp[r].error
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_are_told_apart_and_never_echoed() {
    // bcrypt hash of "test" (Prometheus' basic-auth guide), also used by prom's tests.
    let prom = Prometheus::builder()
        .web_config_yaml("basic_auth_users:\n  admin: $2b$12$hNf2lSsxfm0.i4a.1kVpSOVyBCfIB51VRjgBUyv6kdnyTlgWj81Ay\n")
        .start()
        .expect("prometheus with basic auth");
    let mut p = PluginProcess::start().await;
    let settings = |password: &str| {
        let mut d = ds(prom.url(), json!({}), &[("basicAuthPassword", password)]);
        d.basic_auth_enabled = true;
        d.basic_auth_user = "admin".into();
        d
    };
    let (status, msg, _) = p.health(settings("hunter2-wrong")).await;
    assert_eq!(status, 2);
    assert!(
        msg.starts_with("Authentication failed") && msg.contains("HTTP 401"),
        "{msg}"
    );
    assert!(!msg.contains("hunter2-wrong"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let resp = p
        .query(
            settings("hunter2-wrong"),
            vec![dq(
                "A",
                json!({"queryType": "promql", "expr": "1"}),
                now - 60_000,
                now,
                15_000,
                100,
            )],
            &[],
        )
        .await;
    assert_eq!(resp["A"].status, 401);
    assert!(!resp["A"].error.contains("hunter2-wrong"));
    assert!(
        !p.stderr.lock().unwrap().contains("hunter2-wrong"),
        "secrets never logged"
    );

    // Same data source with the right password: a settings change takes effect at once.
    let mut right = settings("test");
    right.last_updated_ms = 2;
    let (status, msg, _) = p.health(right).await;
    assert_eq!(status, 1, "{msg}");
    assert!(msg.contains("no inference server metrics found"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_settings_fail_each_query_with_the_key_named() {
    let mut p = PluginProcess::start().await;
    let url = engines().prometheus.url().to_string();
    let (from, to) = window();
    let resp = p
        .query(
            ds(&url, json!({"recordingRules": "sometimes"}), &[]),
            vec![dq(
                "A",
                json!({"queryType": "promql", "expr": "1"}),
                from,
                to,
                15_000,
                100,
            )],
            &[],
        )
        .await;
    assert_eq!(resp["A"].status, 400);
    assert!(
        resp["A"]
            .error
            .contains("jsonData.recordingRules: expected auto, on or off"),
        "{}",
        resp["A"].error
    );
    let (status, msg, _) = p.health(ds("", json!({}), &[])).await;
    assert_eq!(status, 2);
    assert!(msg.contains("URL is empty"), "{msg}");
}
