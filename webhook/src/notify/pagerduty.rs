//! PagerDuty Events API v2: `trigger` while any alert of the group fires, `resolve` when all are resolved, with
//! `dedup_key = sha256(groupKey)` (the same key Alertmanager's own PagerDuty notifier uses), so one incident per
//! group and retries are idempotent on PagerDuty's side.
//!
//! API facts (PagerDuty developer-docs events-API-v2, alert-webhook.md §4.2): `202` accepted; `400` invalid (do not
//! retry); `429` retry later; 5xx retry. `summary` ≤ 1024 chars; severity one of critical|error|warning|info;
//! payload ≤ 512 KB.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{json, Map, Value};

use super::{
    alert_line, classify, context_note, context_rows, more_text, post, summary, title, truncated,
    Message, Notifier,
};
use crate::outbox::retry::Outcome;
use crate::payload::Status;

const MAX_ALERTS_IN_DETAILS: usize = 50;
/// PagerDuty rejects events above 512 KB; stay well below.
const MAX_EVENT_BYTES: usize = 500_000;

pub struct PagerDuty {
    pub client: reqwest::Client,
    pub url: String,
    pub routing_key: String,
    pub severity_map: BTreeMap<String, String>,
    pub default_severity: String,
    pub min_interval: Duration,
}

/// The event body.
pub fn render(
    msg: &Message<'_>,
    routing_key: &str,
    severity_map: &BTreeMap<String, String>,
    default_severity: &str,
) -> Value {
    let n = msg.notification;
    let dedup_key = n.group_hash();
    if n.status == Status::Resolved {
        return json!({"routing_key": routing_key, "event_action": "resolve", "dedup_key": dedup_key});
    }
    let severity = n
        .label("severity")
        .and_then(|s| severity_map.get(&s.to_ascii_lowercase()))
        .map(String::as_str)
        .unwrap_or(default_severity);
    let mut summary_text = title(n, msg.reminder);
    if let Some(s) = summary(n) {
        summary_text.push_str(": ");
        summary_text.push_str(s);
    }
    let mut details = Map::new();
    details.insert("firing".into(), json!(n.firing_count()));
    details.insert("resolved".into(), json!(n.alerts.len() - n.firing_count()));
    details.insert("group_labels".into(), json!(n.group_labels));
    let shown = n.alerts.len().min(MAX_ALERTS_IN_DETAILS);
    let mut alerts: Vec<Value> = (0..shown).map(|i| json!(alert_line(n, i))).collect();
    if let Some(more) = more_text(shown, n) {
        alerts.push(json!(more));
    }
    details.insert("alerts".into(), Value::Array(alerts));
    let ctx: Map<String, Value> = context_rows(msg.context)
        .into_iter()
        .map(|(model, figs)| {
            (
                model,
                Value::Object(
                    figs.into_iter()
                        .map(|(k, v)| (k.to_string(), json!(v)))
                        .collect(),
                ),
            )
        })
        .collect();
    if !ctx.is_empty() {
        details.insert("model_context".into(), Value::Object(ctx));
    }
    if let Some(note) = context_note(msg.context) {
        details.insert("context_note".into(), json!(note));
    }
    let l = &msg.context.links;
    let links: Vec<Value> = [
        ("Grafana dashboard", &l.dashboard),
        ("Runbook", &l.runbook),
        ("Silence in Alertmanager", &l.silence),
    ]
    .into_iter()
    .filter_map(|(text, u)| u.as_ref().map(|u| json!({"href": u, "text": text})))
    .collect();
    let mut payload = json!({
        "summary": truncated(&summary_text, 1024),
        "source": n.label("namespace").map(|ns| format!("namespace/{ns}")).unwrap_or_else(|| "infermon".to_string()),
        "severity": severity,
        "component": msg.context.models.first().map(|m| m.model.clone()).or_else(|| n.label("model_name").or(n.label("model")).map(String::from)),
        "group": n.label("namespace"),
        "class": n.label("alertname"),
        "custom_details": Value::Object(details),
    });
    if let Some(t) = n.earliest_start().and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    }) {
        payload["timestamp"] = json!(t);
    }
    let mut event = json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": payload,
        "client": "infermon",
        "links": links,
    });
    if let Some(u) = crate::enrich::safe_link(&n.external_url) {
        event["client_url"] = json!(u);
    }
    // Like Alertmanager: drop custom details rather than have the event rejected for size.
    if serde_json::to_vec(&event).map(|v| v.len()).unwrap_or(0) > MAX_EVENT_BYTES {
        event["payload"]["custom_details"] =
            json!({"note": "details dropped: event exceeded 512 KB"});
    }
    event
}

impl Notifier for PagerDuty {
    fn send<'a>(&'a self, msg: &'a Message<'a>) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let body = render(
                msg,
                &self.routing_key,
                &self.severity_map,
                &self.default_severity,
            );
            let body = serde_json::to_vec(&body).expect("JSON values serialize");
            match post(&self.client, &self.url, Default::default(), body).await {
                Err(o) => o,
                Ok(r) => classify(r),
            }
        })
    }

    fn min_interval(&self) -> Duration {
        self.min_interval
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::testutil::{assert_golden, context, hostile};

    fn map() -> BTreeMap<String, String> {
        [("critical", "critical"), ("warning", "warning")]
            .into_iter()
            .map(|(a, b)| (a.into(), b.into()))
            .collect()
    }

    #[test]
    fn renders_trigger_golden() {
        let n = hostile();
        let c = context();
        let msg = Message {
            notification: &n,
            context: &c,
            reminder: false,
            idempotency_key: "k".into(),
        };
        assert_golden(
            "pagerduty_trigger.json",
            &render(&msg, "R0UTINGKEY", &map(), "error"),
        );
    }

    #[test]
    fn resolve_uses_the_same_dedup_key() {
        let mut n = hostile();
        let c = context();
        let trigger = render(
            &Message {
                notification: &n,
                context: &c,
                reminder: false,
                idempotency_key: "k".into(),
            },
            "K",
            &map(),
            "error",
        );
        n.status = Status::Resolved;
        let resolve = render(
            &Message {
                notification: &n,
                context: &c,
                reminder: false,
                idempotency_key: "k".into(),
            },
            "K",
            &map(),
            "error",
        );
        assert_eq!(resolve["event_action"], "resolve");
        assert_eq!(trigger["dedup_key"], resolve["dedup_key"]);
        assert_eq!(trigger["dedup_key"].as_str().unwrap().len(), 64);
    }

    #[test]
    fn unknown_severity_maps_to_default() {
        let mut n = hostile();
        n.common_labels
            .insert("severity".into(), "exception".into());
        let c = context();
        let e = render(
            &Message {
                notification: &n,
                context: &c,
                reminder: false,
                idempotency_key: "k".into(),
            },
            "K",
            &map(),
            "error",
        );
        assert_eq!(e["payload"]["severity"], "error");
    }
}
