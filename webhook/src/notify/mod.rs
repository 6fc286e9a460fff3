//! Destinations. One file per destination renders the documented request body (a pure function, golden-tested) and
//! sends it through the shared [`post`] helper; [`crate::outbox::retry::classify_status`] decides retry or fail.
//!
//! Destination URLs and keys come only from the config; nothing here reads a URL from an alert.

pub mod log;
pub mod pagerduty;
pub mod slack;
pub mod teams;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER};

use crate::config::{ReceiverConfig, ReceiverKind};
use crate::enrich::{Context, ContextStatus, Figure};
use crate::outbox::retry::{classify_status, parse_retry_after, Outcome, Reason};
use crate::payload::{Notification, Status};

/// Everything a destination needs to render one delivery.
pub struct Message<'a> {
    pub notification: &'a Notification,
    pub context: &'a Context,
    /// A `repeat_interval` reminder of content delivered before.
    pub reminder: bool,
    /// Stable per delivery, sent where the destination supports it (generic webhook `Idempotency-Key`).
    pub idempotency_key: String,
}

/// A destination.
pub trait Notifier: Send + Sync {
    fn send<'a>(&'a self, msg: &'a Message<'a>) -> BoxFuture<'a, Outcome>;

    /// Minimum time between two messages to this destination (Slack: 1 s per channel).
    fn min_interval(&self) -> Duration {
        Duration::ZERO
    }
}

/// Builds the notifier for a configured receiver.
pub fn build(r: &ReceiverConfig, client: reqwest::Client) -> Arc<dyn Notifier> {
    match &r.kind {
        ReceiverKind::Slack { url, min_interval } => Arc::new(slack::Slack {
            client,
            url: url.clone(),
            min_interval: *min_interval,
        }),
        ReceiverKind::PagerDuty {
            url,
            routing_key,
            severity_map,
            default_severity,
            min_interval,
        } => Arc::new(pagerduty::PagerDuty {
            client,
            url: url.clone(),
            routing_key: routing_key.clone(),
            severity_map: severity_map.clone(),
            default_severity: default_severity.clone(),
            min_interval: *min_interval,
        }),
        ReceiverKind::Teams { url, min_interval } => Arc::new(teams::Teams {
            client,
            url: url.clone(),
            min_interval: *min_interval,
        }),
        ReceiverKind::Webhook {
            url,
            hmac_secret,
            signature_header,
        } => Arc::new(webhook::Webhook {
            client,
            url: url.clone(),
            hmac_secret: hmac_secret.clone(),
            signature_header: signature_header.clone(),
        }),
        ReceiverKind::Log => Arc::new(log::Log),
    }
}

/// The HTTP client for destinations: no redirects (a redirect could point a secret-bearing request elsewhere),
/// a per-request timeout, rustls.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .user_agent(concat!("infermon-webhook/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("TLS backend initialises")
}

/// A destination's answer, for destinations that inspect the body.
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: String,
}

/// POSTs a JSON body. Transport errors become `Retry` (timeout/network); the error text never contains the URL,
/// which is a secret for Slack and Teams.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    headers: HeaderMap,
    body: Vec<u8>,
) -> Result<Reply, Outcome> {
    let resp = client
        .post(url)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .headers(headers)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            let reason = if e.is_timeout() {
                Reason::Timeout
            } else {
                Reason::Network
            };
            Outcome::Retry {
                reason,
                detail: e.without_url().to_string(),
                retry_after: None,
            }
        })?;
    let status = resp.status().as_u16();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let retry_after = resp
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now));
    let mut body = resp.text().await.unwrap_or_default();
    truncate(&mut body, 512);
    Ok(Reply {
        status,
        retry_after,
        body,
    })
}

/// The shared status table applied to a reply.
pub fn classify(reply: Reply) -> Outcome {
    let detail = format!("HTTP {}: {}", reply.status, reply.body.trim());
    classify_status(reply.status, reply.retry_after, detail)
}

pub(crate) fn header(name: &str, value: &str) -> Option<(HeaderName, HeaderValue)> {
    Some((
        HeaderName::from_bytes(name.as_bytes()).ok()?,
        HeaderValue::from_str(value).ok()?,
    ))
}

/// Truncates to at most `max` bytes on a char boundary, marking the cut with "…".
pub fn truncate(s: &mut String, max: usize) {
    if s.len() <= max {
        return;
    }
    let mut cut = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    s.push('…');
}

pub fn truncated(s: &str, max: usize) -> String {
    let mut s = s.to_string();
    truncate(&mut s, max);
    s
}

/// `[FIRING:2] VLLMKVCacheHigh` (with a reminder marker), the title every destination uses.
pub fn title(n: &Notification, reminder: bool) -> String {
    let name = n.label("alertname").unwrap_or("alert");
    let count = match n.status {
        Status::Firing => n.firing_count(),
        Status::Resolved => n.alerts.len(),
    };
    let mut t = format!("[{}:{}] {}", n.status.as_str().to_uppercase(), count, name);
    if reminder {
        t.push_str(" (reminder)");
    }
    t
}

/// The one-line description: `summary`, else `description`, else `message` annotation.
pub fn summary(n: &Notification) -> Option<&str> {
    n.annotation("summary")
        .or_else(|| n.annotation("description"))
        .or_else(|| n.annotation("message"))
}

/// "+N more" text when alerts were left out (by us for size, or by Alertmanager's `max_alerts`).
pub fn more_text(shown: usize, n: &Notification) -> Option<String> {
    let hidden = n.alerts.len() - shown.min(n.alerts.len());
    let total = hidden as u64 + n.truncated_alerts;
    (total > 0).then(|| match n.truncated_alerts {
        0 => format!("+{total} more"),
        k => format!("+{total} more ({k} truncated by Alertmanager max_alerts)"),
    })
}

/// Context rows `(title, [(figure label, formatted value)])`: the title is the model, with its namespace when the
/// notification spans several.
pub fn context_rows(ctx: &Context) -> Vec<(String, Vec<(&'static str, String)>)> {
    ctx.models
        .iter()
        .map(|m| {
            let figs = Figure::ALL
                .iter()
                .filter_map(|f| m.figures.get(f).map(|v| (f.label(), f.format(*v))))
                .collect();
            let title = match &m.namespace {
                Some(ns) => format!("{} ({ns})", m.model),
                None => m.model.clone(),
            };
            (title, figs)
        })
        .collect()
}

/// A short line saying why context is missing, if it is.
pub fn context_note(ctx: &Context) -> Option<String> {
    match ctx.status {
        ContextStatus::Ok if ctx.models.iter().all(|m| m.figures.is_empty()) => {
            Some("Model context: Prometheus returned no data for these models.".into())
        }
        ContextStatus::Ok | ContextStatus::NoModels | ContextStatus::Disabled => None,
        ContextStatus::Unavailable => ctx
            .note
            .clone()
            .or_else(|| Some("Model context unavailable.".into())),
    }
}

/// Alert line: the distinguishing labels (not those common to the group) and the summary.
pub fn alert_line(n: &Notification, i: usize) -> String {
    let a = &n.alerts[i];
    let labels: Vec<String> = a
        .labels
        .iter()
        .filter(|(k, _)| !n.common_labels.contains_key(*k))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mut s = format!("{} {}", a.status.as_str(), labels.join(" "));
    if let Some(d) = a
        .annotations
        .get("summary")
        .or_else(|| a.annotations.get("description"))
    {
        s.push_str(" — ");
        s.push_str(d);
    }
    // Newlines in label values could forge extra lines in a chat message: flatten control characters.
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    truncated(s.trim(), 300)
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Shared fixtures for the destination tests and the golden-file helper.
    use super::*;
    use crate::enrich::{Links, ModelContext};

    /// A notification with hostile label values: quotes, newlines, PromQL and mrkdwn/markdown injection.
    pub fn hostile() -> Notification {
        let body = br#"{"version":"4","groupKey":"{}:{alertname=\"VLLMKVCacheHigh\"}","status":"firing","receiver":"infermon","truncatedAlerts":1,
        "groupLabels":{"alertname":"VLLMKVCacheHigh"},"commonLabels":{"alertname":"VLLMKVCacheHigh","severity":"critical","namespace":"ml"},
        "commonAnnotations":{"summary":"KV cache > 90% <!channel> *bold* [x](http://evil)","runbook_url":"https://runbooks.example/kv"},
        "externalURL":"http://am:9093","alerts":[
        {"status":"firing","labels":{"alertname":"VLLMKVCacheHigh","severity":"critical","namespace":"ml","model_name":"llama\"} or vector(1) #","pod":"vllm-0\nINJECT"},"annotations":{"summary":"KV cache > 90% <!channel> *bold* [x](http://evil)","runbook_url":"https://runbooks.example/kv"},"startsAt":"2024-05-01T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom:9090/graph","fingerprint":"0000000000000001"},
        {"status":"resolved","labels":{"alertname":"VLLMKVCacheHigh","severity":"critical","namespace":"ml","model_name":"mistral","pod":"vllm-1"},"annotations":{"summary":"KV cache > 90% <!channel> *bold* [x](http://evil)","runbook_url":"https://runbooks.example/kv"},"startsAt":"2024-05-01T09:50:00Z","endsAt":"2024-05-01T10:05:00Z","generatorURL":"","fingerprint":"0000000000000002"}]}"#;
        crate::payload::parse(body).unwrap()
    }

    pub fn context() -> Context {
        Context {
            status: ContextStatus::Ok,
            note: None,
            models: vec![ModelContext {
                model: "mistral".into(),
                namespace: None,
                figures: [
                    (Figure::QueueDepth, 12.0),
                    (Figure::KvCacheUsage, 0.934),
                    (Figure::TtftP95, 0.41),
                    (Figure::TtftP95HourAgo, 0.12),
                ]
                .into_iter()
                .collect(),
            }],
            namespaces: vec!["ml".into()],
            links: Links {
                dashboard: Some(
                    "https://grafana.example/d/infermon-overview?var-model=mistral&from=1&to=2"
                        .into(),
                ),
                runbook: Some("https://runbooks.example/kv".into()),
                silence: Some(
                    "http://am:9093/#/silences/new?filter=%7Balertname%3D%22VLLMKVCacheHigh%22%7D"
                        .into(),
                ),
            },
            promql_queries: 9,
        }
    }

    /// Compares with `testdata/<name>`; `UPDATE_GOLDEN=1` rewrites it.
    pub fn assert_golden(name: &str, actual: &serde_json::Value) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(name);
        let text = serde_json::to_string_pretty(actual).unwrap() + "\n";
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &text).unwrap();
            return;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "missing golden {} ({e}); run with UPDATE_GOLDEN=1",
                path.display()
            )
        });
        assert!(
            want == text,
            "golden {} differs.\n--- expected\n{want}\n--- actual\n{text}",
            path.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::ModelContext;

    #[test]
    fn context_rows_name_the_namespace_when_the_alerts_span_several() {
        let mut ctx = testutil::context();
        let row = |ns: &str, queue: f64| ModelContext {
            model: "llama".into(),
            namespace: Some(ns.into()),
            figures: [(Figure::QueueDepth, queue)].into_iter().collect(),
        };
        ctx.models = vec![row("prod", 7.0), row("staging", 2.0)];
        let rows = context_rows(&ctx);
        assert_eq!(rows[0].0, "llama (prod)");
        assert_eq!(rows[1].0, "llama (staging)");
        assert_eq!(rows[1].1, [("Queue depth", "2".to_string())]);
        // One namespace: the model alone.
        assert_eq!(context_rows(&testutil::context())[0].0, "mistral");
    }
}
