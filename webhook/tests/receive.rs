//! The receive path against a running service: auth, validation, body limit, durable accept, HA dedupe and the
//! 503 cases (store unavailable, store full, shutting down).

mod common;

use std::time::Duration;

use common::*;
use infermon_webhook::StartOptions;

const AUTH: &str =
    "auth:\n  bearer_tokens: [old-token, new-token]\n  basic: [{username: am, password: s3cret}]\n";

#[tokio::test]
async fn accepts_fixtures_and_stores_them_before_answering() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start_service("{}", dir.path(), StartOptions::default()).await;
    for f in [
        "alertmanager-firing-3alerts-cloudeon.json",
        "alertmanager-resolved-cloudeon.json",
        "alertmanager-resolved-alertmanager-bot.json",
        "alertmanager-firing-legacy-prometheus-msteams.json",
    ] {
        let (status, body) = post(&svc.url("/api/v1/alerts"), fixture(f), None).await;
        assert_eq!(status, 200, "{f}: {body}");
        assert_eq!(body["status"], "accepted", "{f}");
        // 2xx means committed: the row is visible to another connection right now.
        let id = body["id"].as_i64().unwrap();
        let c = rusqlite_open(dir.path());
        let stored: Vec<u8> = c
            .query_row("SELECT body FROM notifications WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(stored, fixture(f), "{f}: stored byte for byte");
    }
    // The /alerts alias works too.
    let (status, _) = post(
        &svc.url("/alerts"),
        notification("Other", 1, "m", "firing"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    svc.stop().await;
}

#[tokio::test]
async fn requires_a_valid_bearer_token_or_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start_service(AUTH, dir.path(), StartOptions::default()).await;
    let url = svc.url("/api/v1/alerts");
    let body = || notification("Auth", 1, "m", "firing");
    for (auth, want) in [
        (None, 401),
        (Some("Bearer wrong"), 401),
        (Some("Bearer old-token"), 200),
        (Some("Bearer new-token"), 200),
        (Some("Basic YW06czNjcmV0"), 200),
        (Some("Basic YW06bm9wZQ=="), 401),
    ] {
        let (status, resp) = post(&url, body(), auth).await;
        assert_eq!(status, want, "{auth:?}: {resp}");
        if want == 401 {
            assert_eq!(resp["error"], "unauthorized");
        }
    }
    svc.stop().await;
}

#[tokio::test]
async fn bad_input_gets_specific_4xx_and_never_kills_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start_service(
        "max_body_bytes: 1048576\n",
        dir.path(),
        StartOptions::default(),
    )
    .await;
    let url = svc.url("/api/v1/alerts");
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "malformed JSON",
            b"{\"version\":\"4\",".to_vec(),
            400,
            "not valid JSON",
        ),
        (
            "raw alert array",
            br#"[{"labels":{"alertname":"X"}}]"#.to_vec(),
            400,
            "raw Prometheus alerts",
        ),
        (
            "other version",
            br#"{"version":"1","alerts":[]}"#.to_vec(),
            400,
            "must be \"4\"",
        ),
        (
            "wrong type",
            br#"{"version":"4","alerts":[{"labels":{"a":["x"]}}]}"#.to_vec(),
            400,
            "alerts[0].labels.a",
        ),
        (
            "bad time",
            br#"{"version":"4","alerts":[{"startsAt":"noon"}]}"#.to_vec(),
            400,
            "RFC 3339",
        ),
        ("empty", b"".to_vec(), 400, "empty"),
        (
            "deep nesting",
            format!(
                "{{\"version\":\"4\",\"alerts\":{}{}}}",
                "[".repeat(50_000),
                "]".repeat(50_000)
            )
            .into_bytes(),
            400,
            "alerts",
        ),
        ("too large", vec![b' '; 2 << 20], 413, "max_body_bytes"),
    ];
    for (name, body, want, needle) in cases {
        let (status, resp) = post(&url, body, None).await;
        assert_eq!(status, want, "{name}: {resp}");
        assert!(
            resp["message"].as_str().unwrap_or("").contains(needle),
            "{name}: {resp}"
        );
    }
    let (status, _) = post(&url, notification("StillAlive", 1, "m", "firing"), None).await;
    assert_eq!(status, 200);
    svc.stop().await;
}

#[tokio::test]
async fn default_body_limit_takes_an_alert_storm() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start_service("{}", dir.path(), StartOptions::default()).await;
    // 30 000 alerts ≈ 10 MB: larger than axum's 2 MB default, within our 32 MiB default.
    let body = notification("Storm", 30_000, "llama", "firing");
    assert!(body.len() > 8 << 20, "{}", body.len());
    let (status, resp) = post(&svc.url("/api/v1/alerts"), body, None).await;
    assert_eq!(status, 200, "{resp}");
    svc.stop().await;
}

#[tokio::test]
async fn ha_duplicates_are_accepted_once_and_reminders_are_not_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start_service(
        "dedupe:\n  window: 1s\n",
        dir.path(),
        StartOptions::default(),
    )
    .await;
    let url = svc.url("/api/v1/alerts");
    let a = notification("HA", 3, "m", "firing");
    // The second replica's copy differs in externalURL and startsAt only.
    let b = a
        .replace("http://am:9093", "http://am-2:9093")
        .replace("2024-05-01T10:00:00Z", "2024-05-01T10:00:02Z");
    let (_, r1) = post(&url, a.clone(), None).await;
    let (_, r2) = post(&url, b, None).await;
    assert_eq!(r1["status"], "accepted");
    assert_eq!(r2["status"], "duplicate");
    // A different status set is new content, not a duplicate.
    let (_, r3) = post(&url, notification("HA", 3, "m", "resolved"), None).await;
    assert_eq!(r3["status"], "accepted");
    // After the window, the same content is a repeat_interval reminder.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, r4) = post(&url, a, None).await;
    assert_eq!(
        (r4["status"].as_str(), r4["reminder"].as_bool()),
        (Some("accepted"), Some(true))
    );
    let c = rusqlite_open(dir.path());
    let n: i64 = c
        .query_row("SELECT count(*) FROM notifications", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3);
    svc.stop().await;
}

#[tokio::test]
async fn unwritable_store_answers_503_and_is_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    // The data dir is a regular file: the database cannot be created (this works as root too).
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let mut config = infermon_webhook::Config::embedded_default();
    config.data_dir = blocker.clone();
    let service = infermon_webhook::Service::start(config, StartOptions::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let h = tokio::spawn(service.serve(listener, async move {
        let _ = rx.await;
    }));
    let (status, body) = post(
        &format!("http://{addr}/api/v1/alerts"),
        notification("X", 1, "m", "firing"),
        None,
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "store_unavailable");
    let ready = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let _ = tx.send(());
    h.await.unwrap().unwrap();
}

#[tokio::test]
async fn full_store_answers_503() {
    let dir = tempfile::tempdir().unwrap();
    // SQLite's own limit (max_page_count) makes inserts fail with SQLITE_FULL, like a full disk.
    let opts = StartOptions {
        max_db_bytes: Some(256 << 10),
        ..Default::default()
    };
    let svc = start_service("{}", dir.path(), opts).await;
    let url = svc.url("/api/v1/alerts");
    let mut statuses = vec![];
    for i in 0..40 {
        let (s, _) = post(
            &url,
            notification(&format!("Full{i}"), 40, "m", "firing"),
            None,
        )
        .await;
        statuses.push(s);
        if s == 503 {
            break;
        }
    }
    assert_eq!(statuses.first(), Some(&200));
    assert_eq!(statuses.last(), Some(&503), "{statuses:?}");
    // The logical limit works too.
    let dir2 = tempfile::tempdir().unwrap();
    let svc2 = start_service(
        "outbox:\n  max_notifications: 2\n",
        dir2.path(),
        StartOptions::default(),
    )
    .await;
    let url2 = svc2.url("/api/v1/alerts");
    let mut s2 = vec![];
    for i in 0..3 {
        s2.push(
            post(
                &url2,
                notification(&format!("L{i}"), 1, "m", "firing"),
                None,
            )
            .await
            .0,
        );
    }
    assert_eq!(s2, [200, 200, 503]);
    svc.stop().await;
    svc2.stop().await;
}

#[tokio::test]
async fn shutting_down_answers_503() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start_service("{}", dir.path(), StartOptions::default()).await;
    svc.state.writer().close();
    let (status, body) = post(
        &svc.url("/api/v1/alerts"),
        notification("Bye", 1, "m", "firing"),
        None,
    )
    .await;
    assert_eq!(status, 503);
    assert_eq!(body["error"], "shutting_down");
    svc.stop().await;
}

#[tokio::test]
async fn metrics_expose_receive_and_outbox_figures() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start_service("{}", dir.path(), StartOptions::default()).await;
    let url = svc.url("/api/v1/alerts");
    post(&url, notification("M", 1, "m", "firing"), None).await;
    post(&url, notification("M", 1, "m", "firing"), None).await;
    post(&url, b"[]".to_vec(), None).await;
    let text = reqwest::get(svc.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "infermon_webhook_notifications_received_total{result=\"accepted\"} 1",
        "infermon_webhook_notifications_received_total{result=\"duplicate\"} 1",
        "infermon_webhook_notifications_received_total{result=\"rejected\"} 1",
        "infermon_webhook_duplicates_total 1",
        "infermon_webhook_outbox_pending",
        "infermon_webhook_outbox_oldest_pending_age_seconds",
        "infermon_webhook_accept_duration_seconds_bucket",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
    let health = reqwest::get(svc.url("/healthz")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    svc.stop().await;
}
