//! Delivery against stub destinations that check the documented request shapes: routing, retries, dead letters,
//! Retry-After, Slack's rate limit, HMAC signatures, and enrichment (fake context source; the real-Prometheus path
//! is in tests/alertmanager.rs).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use futures::future::BoxFuture;
use infermon_webhook::enrich::{ContextRequest, ContextSource, EnrichError, Fetched, Figure};
use infermon_webhook::StartOptions;

/// The four stub destinations (each checking its documented request shape) and the service's data dir.
struct Destinations {
    slack: Stub,
    pd: Stub,
    teams: Stub,
    hook: Stub,
    dir: tempfile::TempDir,
}

impl Destinations {
    async fn start() -> Destinations {
        Destinations {
            slack: Stub::start("slack", slack_ok(), Some(slack_shape)).await,
            pd: Stub::start("pagerduty", pagerduty_ok(), Some(pagerduty_shape)).await,
            teams: Stub::start("teams", Answer::status(202, ""), Some(teams_shape)).await,
            hook: Stub::start("hook", Answer::status(200, ""), None).await,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Routes critical alerts to PagerDuty (and on), `team` slack/teams to those, the rest to the HMAC-signed
    /// hook; retries back off 100-400 ms for at most an hour; enrichment waits 300 ms.
    fn config(&self) -> String {
        format!(
            r#"
retry: {{initial_backoff: 100ms, max_backoff: 400ms, max_age: 1h}}
enrichment: {{grafana_url: "https://grafana.example", timeout: 300ms}}
route:
  receiver: hook
  routes:
    - matchers: ['severity="critical"']
      receiver: pagerduty
      continue: true
    - matchers: ['team="slack"']
      receiver: slack
    - matchers: ['team="teams"']
      receiver: teams
receivers:
  - name: slack
    slack: {{url: "{}", min_interval: 1s}}
  - name: pagerduty
    pagerduty: {{url: "{}", routing_key: "0123456789abcdef0123456789abcdef"}}
  - name: teams
    teams: {{url: "{}"}}
  - name: hook
    webhook: {{url: "{}", hmac_secret: "hook-secret"}}
"#,
            self.slack.url("/services/T0/B0/SECRETSLACK"),
            self.pd.url("/v2/enqueue"),
            self.teams.url("/workflows/x/invoke?sig=SECRETTEAMS"),
            self.hook.url("/hook"),
        )
    }

    /// The service running `yaml` on the data dir.
    async fn service_with(&self, yaml: &str, opts: StartOptions) -> Running {
        start_service(yaml, self.dir.path(), opts).await
    }

    /// The service running [`Self::config`] on the data dir.
    async fn service(&self, opts: StartOptions) -> Running {
        self.service_with(&self.config(), opts).await
    }
}

/// POSTs one firing notification for `model` whose alert is labelled `team` and `severity`.
async fn fire(
    svc: &Running,
    group: &str,
    alerts: usize,
    model: &str,
    team: &str,
    severity: &str,
) -> u16 {
    let body = with_team(notification(group, alerts, model, "firing"), team, severity);
    post(&svc.url("/api/v1/alerts"), body, None).await.0
}

fn with_team(body: String, team: &str, severity: &str) -> String {
    body.replace(
        "\"severity\":\"critical\"",
        &format!("\"severity\":\"{severity}\",\"team\":\"{team}\""),
    )
}

/// Answers every figure for every requested model; counts calls.
struct FakeProm {
    calls: std::sync::atomic::AtomicUsize,
}

impl ContextSource for FakeProm {
    fn fetch<'a>(&'a self, req: &'a ContextRequest) -> BoxFuture<'a, Result<Fetched, EnrichError>> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move {
            let mut f = Fetched {
                queries: Figure::ALL.len() as u32,
                ..Default::default()
            };
            for k in &req.targets {
                f.values.insert(
                    k.clone(),
                    [(Figure::QueueDepth, 7.0), (Figure::KvCacheUsage, 0.95)]
                        .into_iter()
                        .collect(),
                );
            }
            Ok(f)
        })
    }
}

/// Never answers: Prometheus hanging.
struct HangingProm;

impl ContextSource for HangingProm {
    fn fetch<'a>(&'a self, _: &'a ContextRequest) -> BoxFuture<'a, Result<Fetched, EnrichError>> {
        Box::pin(futures::future::pending())
    }
}

#[tokio::test]
async fn routes_to_each_destination_in_its_documented_shape() {
    let d = Destinations::start().await;
    let (slack, pd, teams, hook) = (&d.slack, &d.pd, &d.teams, &d.hook);
    let fake = Arc::new(FakeProm {
        calls: Default::default(),
    });
    let opts = StartOptions {
        context_source: Some(fake.clone()),
        ..Default::default()
    };
    let svc = d.service(opts).await;
    // critical + team=slack → pagerduty (continue) and slack
    assert_eq!(fire(&svc, "KV", 2, "llama", "slack", "critical").await, 200);
    // warning + team=teams → teams
    assert_eq!(fire(&svc, "Q", 1, "mistral", "teams", "warning").await, 200);
    // warning, no team → hook (root receiver)
    assert_eq!(fire(&svc, "T", 1, "qwen", "none", "warning").await, 200);

    let s = slack.wait_for(1, Duration::from_secs(10)).await;
    let p = pd.wait_for(1, Duration::from_secs(10)).await;
    let t = teams.wait_for(1, Duration::from_secs(10)).await;
    let h = hook.wait_for(1, Duration::from_secs(10)).await;
    // Each stub answers 400 on a shape violation; those would have been retried/dead, so check the first answers.
    let sj = s[0].json();
    assert!(slack_shape(&sj, &s[0].headers).is_ok());
    assert!(
        sj.to_string().contains("*Queue depth*\\n7"),
        "context table in Slack: {sj}"
    );
    assert!(sj.to_string().contains("|Dashboard>"), "{sj}");
    let pj = p[0].json();
    assert_eq!(pj["event_action"], "trigger");
    assert_eq!(pj["payload"]["severity"], "critical");
    assert_eq!(
        pj["payload"]["custom_details"]["model_context"]["llama"]["KV-cache usage"],
        "95.0%"
    );
    assert_eq!(pj["dedup_key"].as_str().unwrap().len(), 64);
    assert!(teams_shape(&t[0].json(), &t[0].headers).is_ok());
    // Generic webhook: enriched JSON, Idempotency-Key, valid HMAC over "<ts>:<body>".
    let hj = h[0].json();
    assert_eq!(hj["notification"]["group_labels"]["alertname"], "T");
    assert_eq!(hj["context"]["status"], "ok");
    assert!(h[0].headers.get("idempotency-key").is_some());
    let ts: i64 = h[0].headers["x-infermon-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let sig = h[0].headers["x-infermon-signature"].to_str().unwrap();
    assert_eq!(
        sig,
        infermon_webhook::notify::webhook::sign("hook-secret", ts, &h[0].body)
    );
    // One context fetch per notification, shared by its two deliveries (pagerduty + slack).
    assert_eq!(fake.calls.load(std::sync::atomic::Ordering::SeqCst), 3);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        (slack.count(), pd.count(), teams.count(), hook.count()),
        (1, 1, 1, 1),
        "exactly once each"
    );
    svc.stop().await;
}

#[tokio::test]
async fn resolve_after_trigger_reuses_the_pagerduty_dedup_key_in_order() {
    let d = Destinations::start().await;
    let pd = &d.pd;
    let svc = d.service(StartOptions::default()).await;
    let url = svc.url("/api/v1/alerts");
    // The first trigger fails twice with 503; the resolve must wait behind it (per-group order).
    pd.script([Answer::status(503, "busy"), Answer::status(503, "busy")]);
    post(&url, notification("Order", 1, "llama", "firing"), None).await;
    post(&url, notification("Order", 1, "llama", "resolved"), None).await;
    let r = pd.wait_for(4, Duration::from_secs(10)).await;
    let actions: Vec<String> = r
        .iter()
        .map(|x| x.json()["event_action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["trigger", "trigger", "trigger", "resolve"]);
    assert_eq!(r[0].json()["dedup_key"], r[3].json()["dedup_key"]);
    svc.stop().await;
}

#[tokio::test]
async fn retries_on_500_then_delivers_once_after_recovery() {
    let d = Destinations::start().await;
    let hook = &d.hook;
    hook.script([
        Answer::status(500, "down"),
        Answer::status(500, "down"),
        Answer::status(502, "down"),
    ]);
    let svc = d.service(StartOptions::default()).await;
    fire(&svc, "R", 1, "m", "x", "warning").await;
    let r = hook.wait_for(4, Duration::from_secs(10)).await;
    // Same idempotency key on every attempt.
    let keys: Vec<_> = r
        .iter()
        .map(|x| x.headers["idempotency-key"].clone())
        .collect();
    assert!(keys.windows(2).all(|w| w[0] == w[1]));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(hook.count(), 4, "delivered once after recovery, not again");
    let c = rusqlite_open(d.dir.path());
    let (state, attempts): (i64, i64) = c
        .query_row("SELECT state, attempts FROM deliveries", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((state, attempts), (1, 4));
    svc.stop().await;
}

#[tokio::test]
async fn client_errors_and_max_age_mark_deliveries_dead_visibly() {
    let d = Destinations::start().await;
    let (hook, teams, dir) = (&d.hook, &d.teams, &d.dir);
    hook.set_default(Answer::status(400, "bad request"));
    teams.set_default(Answer::status(503, "always down"));
    let yaml = d.config().replace("max_age: 1h", "max_age: 600ms");
    let svc = d.service_with(&yaml, StartOptions::default()).await;
    fire(&svc, "Dead400", 1, "m", "x", "warning").await;
    fire(&svc, "Dead503", 1, "m", "teams", "warning").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if delivery_states(dir.path()).2 == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{:?}",
            delivery_states(dir.path())
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(hook.count(), 1, "400 is not retried");
    assert!(teams.count() >= 2, "503 retried until max_age");
    let dead: serde_json::Value = reqwest::get(svc.url("/api/v1/dead"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = dead.to_string();
    assert!(
        text.contains("HTTP 400: bad request") && text.contains("gave up after max_age"),
        "{text}"
    );
    assert!(
        !text.contains("SECRETTEAMS") && !text.contains("SECRETSLACK"),
        "no secret URL in errors: {text}"
    );
    let metrics = reqwest::get(svc.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains(r#"infermon_webhook_deliveries_total{receiver="hook",outcome="dead",reason="client_error"} 1"#), "{metrics}");
    svc.stop().await;
}

#[tokio::test]
async fn honours_retry_after() {
    let d = Destinations::start().await;
    let hook = &d.hook;
    hook.script([Answer {
        status: 429,
        headers: vec![("retry-after", "2".into())],
        body: "slow down".into(),
        delay: Duration::ZERO,
    }]);
    let svc = d.service(StartOptions::default()).await;
    fire(&svc, "RA", 1, "m", "x", "warning").await;
    let r = hook.wait_for(2, Duration::from_secs(10)).await;
    let gap = r[1].at - r[0].at;
    assert!(
        gap >= Duration::from_millis(1900),
        "retried after {gap:?}, backoff alone would be ~100 ms"
    );
    svc.stop().await;
}

#[tokio::test]
async fn slack_gets_at_most_one_message_per_second() {
    let d = Destinations::start().await;
    let svc = d.service(StartOptions::default()).await;
    for i in 0..3 {
        fire(&svc, &format!("S{i}"), 1, "m", "slack", "warning").await;
    }
    let r = d.slack.wait_for(3, Duration::from_secs(10)).await;
    for w in r.windows(2) {
        assert!(
            w[1].at - w[0].at >= Duration::from_millis(950),
            "{:?}",
            w[1].at - w[0].at
        );
    }
    svc.stop().await;
}

#[tokio::test]
async fn prometheus_hanging_means_prompt_delivery_without_context() {
    let d = Destinations::start().await;
    let opts = StartOptions {
        context_source: Some(Arc::new(HangingProm)),
        ..Default::default()
    };
    let svc = d.service(opts).await;
    let t0 = Instant::now();
    let status = fire(&svc, "NoCtx", 1, "llama", "x", "warning").await;
    assert_eq!(status, 200);
    assert!(
        t0.elapsed() < Duration::from_millis(250),
        "receive path does not wait for Prometheus"
    );
    let r = d.hook.wait_for(1, Duration::from_secs(5)).await;
    let waited = r[0].at - t0;
    assert!(
        waited < Duration::from_millis(1500),
        "delivered {waited:?} after receipt (enrichment timeout 300 ms)"
    );
    let j = r[0].json();
    assert_eq!(j["context"]["status"], "unavailable");
    assert!(
        j["context"]["note"]
            .as_str()
            .unwrap()
            .contains("did not answer within 300ms"),
        "{j}"
    );
    svc.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_leaves_undelivered_work_in_the_outbox() {
    let d = Destinations::start().await;
    let (hook, dir) = (&d.hook, &d.dir);
    hook.set_default(Answer::status(503, "down"));
    let svc = d.service(StartOptions::default()).await;
    fire(&svc, "Later", 1, "m", "x", "warning").await;
    hook.wait_for(1, Duration::from_secs(5)).await;
    svc.stop().await;
    assert_eq!(
        delivery_states(dir.path()).0,
        1,
        "still pending after shutdown"
    );
    // Restart with the destination healthy: the pending delivery goes out.
    hook.set_default(Answer::status(200, ""));
    let before = hook.count();
    let svc = d.service(StartOptions::default()).await;
    hook.wait_for(before + 1, Duration::from_secs(10)).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while delivery_states(dir.path()).1 != 1 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    svc.stop().await;
}
