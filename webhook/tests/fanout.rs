//! Delivery rows are created after the accept's commit (issue 8: the accept transaction writes one notification
//! row, the per-receiver fan-out follows in its own transaction). These tests put the outbox in the states a crash
//! or an older version leaves and check that the service delivers everything exactly once from there.

mod common;

use std::time::{Duration, Instant};

use common::*;
use infermon_webhook::outbox::store;
use infermon_webhook::StartOptions;

fn two_receivers(a: &Stub, b: &Stub) -> String {
    format!(
        r#"
enrichment: {{enabled: false}}
route:
  receiver: a
  routes:
    - matchers: ['severity="critical"']
      receiver: a
      continue: true
    - matchers: ['severity="critical"']
      receiver: b
receivers:
  - name: a
    webhook: {{url: "{}"}}
  - name: b
    webhook: {{url: "{}"}}
"#,
        a.url("/a"),
        b.url("/b")
    )
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Group and alert count of a delivered generic-webhook request.
fn group_and_size(r: &Recorded) -> (String, usize) {
    let j = r.json();
    (
        j["notification"]["group_labels"]["alertname"]
            .as_str()
            .unwrap()
            .to_string(),
        j["notification"]["alerts"].as_array().unwrap().len(),
    )
}

async fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn scalar(data_dir: &std::path::Path, sql: &str) -> i64 {
    rusqlite_open(data_dir)
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_committed_before_their_fan_out_are_delivered_after_a_restart() {
    let a = Stub::start("a", Answer::status(200, ""), None).await;
    let b = Stub::start("b", Answer::status(200, ""), None).await;
    let dir = tempfile::tempdir().unwrap();

    // The state kill -9 leaves between an accept's commit (its 2xx went out) and the fan-out transaction: the
    // notification rows, written exactly as the writer writes them, and no delivery rows.
    {
        let mut c = store::open_writer(dir.path(), None).unwrap();
        let tx = c.transaction().unwrap();
        let t = now_ms();
        let rows = [
            ("G", 1, r#"["a","b"]"#),
            ("G", 2, r#"["a","b"]"#),
            ("H", 1, r#"["a"]"#),
            ("G", 3, r#"["a","b"]"#),
        ];
        for (i, (group, n, receivers)) in rows.iter().enumerate() {
            let body = notification(group, *n, "m", "firing");
            let group_key = format!("{{}}:{{alertname=\"{group}\"}}");
            store::insert_notification(
                &tx,
                i as i64 + 1,
                t,
                &group_key,
                false,
                body.as_bytes(),
                receivers,
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    assert_eq!(scalar(dir.path(), "SELECT count(*) FROM deliveries"), 0);
    assert_eq!(
        scalar(
            dir.path(),
            "SELECT value FROM meta WHERE name = 'fanned_out'"
        ),
        0
    );

    let svc = start_service(&two_receivers(&a, &b), dir.path(), StartOptions::default()).await;
    let got_a = a.wait_for(4, Duration::from_secs(10)).await;
    let got_b = b.wait_for(3, Duration::from_secs(10)).await;
    // Per (receiver, group) in arrival order.
    let g_a: Vec<_> = got_a
        .iter()
        .map(group_and_size)
        .filter(|(g, _)| g == "G")
        .collect();
    let g_b: Vec<_> = got_b.iter().map(group_and_size).collect();
    let want: Vec<_> = (1..=3).map(|n| ("G".to_string(), n)).collect();
    assert_eq!(g_a, want);
    assert_eq!(g_b, want);
    wait_until("all deliveries recorded", Duration::from_secs(5), || {
        delivery_states(dir.path()) == (0, 7, 0)
    })
    .await;
    assert_eq!(
        scalar(
            dir.path(),
            "SELECT value FROM meta WHERE name = 'fanned_out'"
        ),
        4
    );

    // A new notification after the recovery gets the next id and is delivered once to each receiver too.
    let (status, body) = post(
        &svc.url("/api/v1/alerts"),
        notification("H", 2, "m", "firing"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], 5);
    a.wait_for(5, Duration::from_secs(10)).await;
    b.wait_for(4, Duration::from_secs(10)).await;
    wait_until(
        "the new deliveries recorded",
        Duration::from_secs(5),
        || delivery_states(dir.path()) == (0, 9, 0),
    )
    .await;
    svc.stop().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        (a.count(), b.count()),
        (5, 4),
        "each delivered exactly once"
    );
}

/// The schema before issue 8: a keyed `dedupe` table and no `notifications.receivers`.
const OLD_SCHEMA: &str = "
CREATE TABLE notifications(
    id INTEGER PRIMARY KEY,
    received_ms INTEGER NOT NULL,
    group_key TEXT NOT NULL,
    reminder INTEGER NOT NULL DEFAULT 0,
    body BLOB NOT NULL,
    context TEXT
);
CREATE TABLE deliveries(
    id INTEGER PRIMARY KEY,
    notification_id INTEGER NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
    receiver TEXT NOT NULL,
    group_key TEXT NOT NULL,
    state INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    last_error TEXT
);
CREATE INDEX deliveries_due ON deliveries(state, next_attempt_ms);
CREATE INDEX deliveries_order ON deliveries(receiver, group_key, state, id);
CREATE INDEX deliveries_notification ON deliveries(notification_id);
CREATE TABLE dedupe(
    key BLOB PRIMARY KEY,
    accepted_ms INTEGER NOT NULL
) WITHOUT ROWID;
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_from_before_issue_8_is_upgraded_without_redelivery_or_forgotten_dedupe_keys() {
    let a = Stub::start("a", Answer::status(200, ""), None).await;
    let b = Stub::start("b", Answer::status(200, ""), None).await;
    let dir = tempfile::tempdir().unwrap();
    let done = notification("Old", 1, "m", "firing");
    let pending = notification("Old", 2, "m", "firing");
    let key = infermon_webhook::payload::parse(pending.as_bytes())
        .unwrap()
        .content_key();
    let t = now_ms();
    {
        let c = rusqlite_open(dir.path());
        c.execute_batch("PRAGMA journal_mode=WAL;").unwrap();
        c.execute_batch(OLD_SCHEMA).unwrap();
        let gk = "{}:{alertname=\"Old\"}";
        c.execute(
            "INSERT INTO notifications(id, received_ms, group_key, body) VALUES (1, ?1, ?2, ?3), (2, ?1, ?2, ?4)",
            rusqlite::params![t, gk, done.as_bytes(), pending.as_bytes()],
        )
        .unwrap();
        // Notification 1 was delivered to `a`; notification 2 is pending for `a`.
        c.execute(
            "INSERT INTO deliveries(notification_id, receiver, group_key, state, created_ms, next_attempt_ms, updated_ms)
             VALUES (1, 'a', ?1, 1, ?2, ?2, ?2), (2, 'a', ?1, 0, ?2, ?2, ?2)",
            rusqlite::params![gk, t],
        )
        .unwrap();
        c.execute(
            "INSERT INTO dedupe(key, accepted_ms) VALUES (?1, ?2)",
            rusqlite::params![&key[..], t],
        )
        .unwrap();
    }

    let svc = start_service(&two_receivers(&a, &b), dir.path(), StartOptions::default()).await;
    let got = a.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(group_and_size(&got[0]), ("Old".to_string(), 2));
    // The dedupe key moved to the new table: the same content inside the window is still a duplicate.
    let (status, body) = post(&svc.url("/api/v1/alerts"), pending.clone(), None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("duplicate")));
    // New content is stored above the old ids and fanned out to both receivers.
    let (status, body) = post(
        &svc.url("/api/v1/alerts"),
        notification("Old", 3, "m", "firing"),
        None,
    )
    .await;
    assert_eq!((status, body["id"].as_i64()), (200, Some(3)), "{body}");
    a.wait_for(2, Duration::from_secs(10)).await;
    b.wait_for(1, Duration::from_secs(10)).await;
    wait_until("the deliveries recorded", Duration::from_secs(5), || {
        delivery_states(dir.path()) == (0, 4, 0)
    })
    .await;
    svc.stop().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        (a.count(), b.count()),
        (2, 1),
        "old notifications were not fanned out again"
    );
    assert_eq!(delivery_states(dir.path()), (0, 4, 0));
    assert_eq!(
        scalar(
            dir.path(),
            "SELECT count(*) FROM sqlite_master WHERE name = 'dedupe'"
        ),
        0
    );
    assert_eq!(
        scalar(
            dir.path(),
            "SELECT value FROM meta WHERE name = 'fanned_out'"
        ),
        3
    );
}
