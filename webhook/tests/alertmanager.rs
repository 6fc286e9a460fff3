//! With a real Alertmanager 0.25 (Debian `prometheus-alertmanager`) in front: alerts POSTed to Alertmanager's API
//! are routed to the service and on to stub Slack/PagerDuty/Teams servers that check the documented shapes; and
//! two clustered Alertmanagers behind a slow path send duplicates that the service delivers exactly once.

mod common;

use std::time::{Duration, Instant};

use common::*;
use infermon_testkit::Alertmanager;
use infermon_webhook::StartOptions;
use serde_json::json;

const TOKEN: &str = "am-to-infermon-token";

fn am_config(webhook_url: &str) -> String {
    format!(
        r#"
route:
  receiver: infermon
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: infermon
    webhook_configs:
      - url: "{webhook_url}"
        send_resolved: true
        http_config:
          authorization:
            credentials: "{TOKEN}"
"#
    )
}

async fn start_am(builder: infermon_testkit::AlertmanagerBuilder) -> Alertmanager {
    tokio::task::spawn_blocking(move || builder.start().expect("alertmanager starts"))
        .await
        .unwrap()
}

fn alert(
    name: &str,
    pod: &str,
    extra: serde_json::Value,
    ends_at: Option<&str>,
) -> serde_json::Value {
    let mut labels =
        json!({"alertname": name, "model_name": "llama-3-8b", "namespace": "ml", "pod": pod});
    for (k, v) in extra.as_object().unwrap() {
        labels[k] = v.clone();
    }
    let mut a = json!({
        "labels": labels,
        "annotations": {"summary": "KV cache above 90% for 5m", "runbook_url": "https://runbooks.example/kv-cache"},
        "generatorURL": "http://prometheus:9090/graph"
    });
    if let Some(e) = ends_at {
        a["endsAt"] = json!(e);
    }
    a
}

async fn push(am_url: &str, alerts: &serde_json::Value) {
    let r = reqwest::Client::new()
        .post(format!("{am_url}/api/v2/alerts"))
        .json(alerts)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

fn past() -> String {
    (time::OffsetDateTime::now_utc() - Duration::from_secs(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_alertmanager_routes_through_the_service_to_slack_pagerduty_and_teams() {
    let slack = Stub::start("slack", slack_ok(), Some(slack_shape)).await;
    let pd = Stub::start("pagerduty", pagerduty_ok(), Some(pagerduty_shape)).await;
    let teams = Stub::start("teams", Answer::status(202, ""), Some(teams_shape)).await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        r#"
auth: {{bearer_tokens: ["{TOKEN}"]}}
route:
  receiver: teams
  routes:
    - matchers: ['severity="critical"']
      receiver: pagerduty
      continue: true
    - matchers: ['team="ml-platform"']
      receiver: slack
receivers:
  - name: slack
    slack: {{url: "{}"}}
  - name: pagerduty
    pagerduty: {{url: "{}", routing_key: "0123456789abcdef0123456789abcdef"}}
  - name: teams
    teams: {{url: "{}"}}
"#,
        slack.url("/services/T/B/X"),
        pd.url("/v2/enqueue"),
        teams.url("/workflows/invoke?sig=S")
    );
    let svc = start_service(&yaml, dir.path(), StartOptions::default()).await;
    let am =
        start_am(Alertmanager::builder().config_yaml(am_config(&svc.url("/api/v1/alerts")))).await;

    let crit = json!({"severity": "critical", "team": "ml-platform"});
    push(
        am.url(),
        &json!([
            alert("VLLMKVCacheHigh", "vllm-0", crit.clone(), None),
            alert("VLLMKVCacheHigh", "vllm-1", crit.clone(), None)
        ]),
    )
    .await;
    push(
        am.url(),
        &json!([alert(
            "VLLMQueueDeep",
            "vllm-2",
            json!({"severity": "warning", "team": "other"}),
            None
        )]),
    )
    .await;

    let p = pd.wait_for(1, Duration::from_secs(20)).await;
    let trigger = p[0].json();
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["payload"]["class"], "VLLMKVCacheHigh");
    assert_eq!(trigger["payload"]["custom_details"]["firing"], 2);
    assert!(trigger["links"]
        .to_string()
        .contains("https://runbooks.example/kv-cache"));
    assert!(
        trigger["links"]
            .to_string()
            .contains("/#/silences/new?filter=%7Balertname%3D%22VLLMKVCacheHigh%22%7D"),
        "{trigger}"
    );
    let s = slack.wait_for(1, Duration::from_secs(20)).await;
    assert!(s[0].json()["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap()
        .starts_with("[FIRING:2] VLLMKVCacheHigh"));
    let t = teams.wait_for(1, Duration::from_secs(20)).await;
    assert!(t[0].json().to_string().contains("VLLMQueueDeep"));

    // Resolve: Alertmanager sends the resolved group; PagerDuty gets `resolve` with the same dedup_key.
    let end = past();
    push(
        am.url(),
        &json!([
            alert("VLLMKVCacheHigh", "vllm-0", crit.clone(), Some(&end)),
            alert("VLLMKVCacheHigh", "vllm-1", crit, Some(&end))
        ]),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let resolve = loop {
        if let Some(r) = pd
            .requests()
            .iter()
            .map(|r| r.json())
            .find(|j| j["event_action"] == "resolve")
        {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "no resolve; AM log:\n{}",
            am.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(resolve["dedup_key"], trigger["dedup_key"]);
    // Every notification Alertmanager sent was accepted (no 4xx/5xx from us).
    let m = reqwest::get(svc.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !m.contains("result=\"rejected\"") && !m.contains("result=\"unauthorized\""),
        "{m}"
    );
    svc.stop().await;
    tokio::task::spawn_blocking(move || drop(am)).await.unwrap();
}

/// Forwards every request to `target` after `delay`: the "slow path" that makes an HA peer send too.
async fn slow_proxy(target: String, delay: Duration) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let target = target.clone();
            async move {
                tokio::time::sleep(delay).await;
                let mut req = reqwest::Client::new()
                    .post(format!("{target}{}", uri.path()))
                    .body(body);
                for (k, v) in headers.iter() {
                    if k != "host" && k != "content-length" {
                        req = req.header(k.as_str(), v.as_bytes());
                    }
                }
                let r = req.send().await.unwrap();
                (
                    axum::http::StatusCode::from_u16(r.status().as_u16()).unwrap(),
                    r.text().await.unwrap_or_default(),
                )
            }
        },
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clustered_alertmanagers_behind_a_slow_path_deliver_exactly_once() {
    let hook = Stub::start("hook", Answer::status(200, ""), None).await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "auth: {{bearer_tokens: [\"{TOKEN}\"]}}\nenrichment: {{enabled: false}}\nreceivers:\n  - name: hook\n    webhook: {{url: \"{}\"}}\n",
        hook.url("/hook")
    );
    let svc = start_service(&yaml, dir.path(), StartOptions::default()).await;
    // Answering takes 2.5 s, longer than the 1 s peer_timeout: the second replica sends too (alert-webhook.md §2.5).
    let proxy = slow_proxy(format!("http://{}", svc.addr), Duration::from_millis(2500)).await;
    let cfg = am_config(&format!("http://{proxy}/api/v1/alerts"));
    let a = start_am(
        Alertmanager::builder()
            .config_yaml(cfg.clone())
            .cluster()
            .flag("--cluster.peer-timeout=1s"),
    )
    .await;
    let peer = a.cluster_address().unwrap().to_string();
    let b = start_am(
        Alertmanager::builder()
            .config_yaml(cfg)
            .peer(peer)
            .flag("--cluster.peer-timeout=1s"),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while a.cluster_peers().unwrap_or(0) < 2 || b.cluster_peers().unwrap_or(0) < 2 {
        assert!(Instant::now() < deadline, "cluster did not form");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Prometheus sends every alert to every replica.
    let alerts = json!([alert(
        "VLLMTTFTHigh",
        "vllm-0",
        json!({"severity": "warning"}),
        None
    )]);
    push(a.url(), &alerts).await;
    push(b.url(), &alerts).await;

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = reqwest::get(svc.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if m.contains("infermon_webhook_duplicates_total 1") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no HA duplicate reached the service:\n{m}\nA:\n{}\nB:\n{}",
            a.logs(),
            b.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Both replicas' POSTs arrived; one delivery went out.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = hook.requests();
    assert_eq!(r.len(), 1, "exactly one delivery");
    assert_eq!(
        r[0].json()["notification"]["group_labels"]["alertname"],
        "VLLMTTFTHigh"
    );
    svc.stop().await;
    tokio::task::spawn_blocking(move || drop((a, b)))
        .await
        .unwrap();
}
