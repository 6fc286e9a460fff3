//! Shared test support: recording stub destinations, an in-process service, and an HTTP client.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use infermon_webhook::{Config, Service, StartOptions};

pub fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// One request received by a stub.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Recorded {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("stub received JSON")
    }
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Answer {
    pub fn status(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: vec![],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }
}

#[derive(Default)]
struct StubState {
    requests: Vec<Recorded>,
    script: VecDeque<Answer>,
    default: Option<Answer>,
}

/// A destination stub on 127.0.0.1 that records requests and answers from a script, then with a default.
#[derive(Clone)]
pub struct Stub {
    pub addr: SocketAddr,
    state: Arc<Mutex<StubState>>,
    /// Optional validator: returns an error message if the request does not have the documented shape
    /// (answered 400, like the real API would).
    pub name: &'static str,
}

type Validator = fn(&serde_json::Value, &HeaderMap) -> Result<(), String>;

impl Stub {
    pub async fn start(name: &'static str, default: Answer, validator: Option<Validator>) -> Stub {
        let state = Arc::new(Mutex::new(StubState {
            default: Some(default),
            ..Default::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let st = state.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let st = st.clone();
            async move { handle(st, validator, uri, headers, body).await }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Stub { addr, state, name }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.state.lock().unwrap().script.extend(answers);
    }

    pub fn set_default(&self, a: Answer) {
        self.state.lock().unwrap().default = Some(a);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn count(&self) -> usize {
        self.state.lock().unwrap().requests.len()
    }

    /// Waits until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let deadline = Instant::now() + timeout;
        loop {
            let r = self.requests();
            if r.len() >= n {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "{}: expected {n} requests, got {} after {timeout:?}",
                self.name,
                r.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn handle(
    st: Arc<Mutex<StubState>>,
    validator: Option<Validator>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let rec = Recorded {
        path: uri.to_string(),
        headers: headers.clone(),
        body: body.clone(),
        at: Instant::now(),
    };
    if let Some(v) = validator {
        let check = serde_json::from_slice::<serde_json::Value>(&body)
            .map_err(|e| e.to_string())
            .and_then(|j| v(&j, &headers));
        if let Err(e) = check {
            st.lock().unwrap().requests.push(rec);
            return (
                StatusCode::BAD_REQUEST,
                format!("invalid request shape: {e}"),
            )
                .into_response();
        }
    }
    let answer = {
        let mut s = st.lock().unwrap();
        s.requests.push(rec);
        s.script.pop_front().or_else(|| s.default.clone()).unwrap()
    };
    if !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    let mut resp = (StatusCode::from_u16(answer.status).unwrap(), answer.body).into_response();
    for (k, v) in answer.headers {
        resp.headers_mut().insert(k, v.parse().unwrap());
    }
    resp
}

// ---- documented request shapes (alert-webhook.md §4) ----

fn need_str<'a>(v: &'a serde_json::Value, path: &str) -> Result<&'a str, String> {
    let mut cur = v;
    for p in path.split('.') {
        cur = match p.parse::<usize>() {
            Ok(i) => cur.get(i),
            Err(_) => cur.get(p),
        }
        .ok_or_else(|| format!("missing {path}"))?;
    }
    cur.as_str()
        .ok_or_else(|| format!("{path} is not a string"))
}

/// Slack incoming webhook: `text` fallback plus Block Kit `blocks` (≤ 50, known block types, section text ≤ 3000).
pub fn slack_shape(v: &serde_json::Value, _: &HeaderMap) -> Result<(), String> {
    need_str(v, "text")?;
    let blocks = v
        .get("blocks")
        .and_then(|b| b.as_array())
        .ok_or("blocks must be an array")?;
    if blocks.is_empty() || blocks.len() > 50 {
        return Err(format!("{} blocks", blocks.len()));
    }
    for b in blocks {
        match need_str(b, "type")? {
            "header" => {
                if need_str(b, "text.type")? != "plain_text"
                    || need_str(b, "text.text")?.chars().count() > 150
                {
                    return Err("header must be plain_text ≤ 150".into());
                }
            }
            "section" => {
                if let Ok(t) = need_str(b, "text.text") {
                    if t.chars().count() > 3000 {
                        return Err("section text > 3000".into());
                    }
                }
                if let Some(f) = b.get("fields") {
                    if f.as_array().map(|a| a.len()).unwrap_or(99) > 10 {
                        return Err("more than 10 fields".into());
                    }
                }
            }
            "context" => {
                b.get("elements")
                    .and_then(|e| e.as_array())
                    .ok_or("context needs elements")?;
            }
            other => return Err(format!("unexpected block type {other}")),
        }
    }
    Ok(())
}

/// PagerDuty Events v2 (developer-docs 02-Trigger-Events).
pub fn pagerduty_shape(v: &serde_json::Value, _: &HeaderMap) -> Result<(), String> {
    if need_str(v, "routing_key")?.is_empty() {
        return Err("empty routing_key".into());
    }
    let dedup = need_str(v, "dedup_key")?;
    if dedup.len() > 255 {
        return Err("dedup_key > 255".into());
    }
    match need_str(v, "event_action")? {
        "trigger" => {
            let summary = need_str(v, "payload.summary")?;
            if summary.is_empty() || summary.chars().count() > 1024 {
                return Err("summary must be 1..=1024 chars".into());
            }
            need_str(v, "payload.source")?;
            let sev = need_str(v, "payload.severity")?;
            if !["critical", "error", "warning", "info"].contains(&sev) {
                return Err(format!("bad severity {sev}"));
            }
            if let Some(cd) = v["payload"].get("custom_details") {
                if !cd.is_object() {
                    return Err("custom_details must be an object".into());
                }
            }
            for l in v
                .get("links")
                .and_then(|l| l.as_array())
                .into_iter()
                .flatten()
            {
                need_str(l, "href")?;
            }
            Ok(())
        }
        "resolve" | "acknowledge" => Ok(()),
        other => Err(format!("bad event_action {other}")),
    }
}

/// Teams Workflows webhook with one Adaptive Card (msteamsv2 shape), under 28 672 bytes.
pub fn teams_shape(v: &serde_json::Value, _: &HeaderMap) -> Result<(), String> {
    if need_str(v, "type")? != "message" {
        return Err("type must be message".into());
    }
    if need_str(v, "attachments.0.contentType")? != "application/vnd.microsoft.card.adaptive" {
        return Err("bad contentType".into());
    }
    if need_str(v, "attachments.0.content.type")? != "AdaptiveCard" {
        return Err("content must be an AdaptiveCard".into());
    }
    need_str(v, "attachments.0.content.version")?;
    if serde_json::to_vec(v).unwrap().len() > 28_672 {
        return Err("card larger than 28672 bytes".into());
    }
    Ok(())
}

/// Slack's success answer.
pub fn slack_ok() -> Answer {
    Answer::status(200, "ok")
}

pub fn pagerduty_ok() -> Answer {
    Answer::status(
        202,
        r#"{"status":"success","message":"Event processed","dedup_key":"x"}"#,
    )
}

// ---- the service ----

/// A service running in this process on 127.0.0.1:<free port>.
pub struct Running {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub state: infermon_webhook::AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Graceful shutdown, waiting for it to finish.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.unwrap().unwrap();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Parses the YAML (with `data_dir` set to `data_dir`) and starts the service.
pub async fn start_service(yaml: &str, data_dir: &Path, opts: StartOptions) -> Running {
    let mut config = Config::from_yaml_str(yaml, "test").expect("test config is valid");
    config.data_dir = data_dir.to_owned();
    let service = Service::start(config, opts);
    let state = service.state();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(service.serve(listener, async move {
        let _ = rx.await;
    }));
    let r = Running {
        addr,
        data_dir: data_dir.to_owned(),
        state,
        stop: Some(tx),
        handle: Some(handle),
    };
    wait_ready(&r.url("/readyz"), Duration::from_secs(10)).await;
    r
}

pub async fn wait_ready(url: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let c = reqwest::Client::new();
    loop {
        if let Ok(r) = c.get(url).send().await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{url} not ready after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub async fn post(
    url: &str,
    body: impl Into<reqwest::Body>,
    auth: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

/// Counts deliveries in the outbox by state (0 pending, 1 delivered, 2 dead).
pub fn delivery_states(data_dir: &Path) -> (i64, i64, i64) {
    let c = rusqlite_open(data_dir);
    let q = |s: i64| {
        c.query_row(
            "SELECT count(*) FROM deliveries WHERE state = ?1",
            [s],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
    };
    (q(0), q(1), q(2))
}

pub fn rusqlite_open(data_dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(data_dir.join("outbox.db")).unwrap()
}

/// A minimal valid notification for group `group` with `n` firing alerts for `model`.
pub fn notification(group: &str, n: usize, model: &str, status: &str) -> String {
    let alerts: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"status":"{status}","labels":{{"alertname":"{group}","model_name":"{model}","namespace":"ml","pod":"vllm-{i}","severity":"critical"}},"annotations":{{"summary":"KV cache above 90%","runbook_url":"https://runbooks.example/kv"}},"startsAt":"2024-05-01T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"{:016x}"}}"#,
                i + 1
            )
        })
        .collect();
    format!(
        r#"{{"version":"4","groupKey":"{{}}:{{alertname=\"{group}\"}}","truncatedAlerts":0,"status":"{status}","receiver":"infermon","groupLabels":{{"alertname":"{group}"}},"commonLabels":{{"alertname":"{group}","severity":"critical","namespace":"ml"}},"commonAnnotations":{{"summary":"KV cache above 90%"}},"externalURL":"http://am:9093","alerts":[{}]}}"#,
        alerts.join(",")
    )
}
