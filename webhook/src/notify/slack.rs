//! Slack incoming webhook: a Block Kit message with the alert list, the model-context table and links.
//!
//! API facts (alert-webhook.md §4.1): success is `200` with the plain-text body `ok`; errors are 4xx with text;
//! 429 carries `Retry-After`; about one message per second per channel; at most 50 blocks and 3000 characters per
//! section text. mrkdwn needs `&`, `<`, `>` escaped, which also neutralises `<!channel>` and link injection.

use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{json, Value};

use super::{
    alert_line, classify, context_note, context_rows, more_text, post, summary, title, truncated,
    Message, Notifier,
};
use crate::outbox::retry::{Outcome, Reason};
use crate::payload::Status;

/// Most alerts listed in one message.
const MAX_ALERT_LINES: usize = 20;

pub struct Slack {
    pub client: reqwest::Client,
    pub url: String,
    pub min_interval: Duration,
}

/// Slack mrkdwn escaping (api.slack.com "Escaping text").
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The request body.
pub fn render(msg: &Message<'_>) -> Value {
    let n = msg.notification;
    let ctx = msg.context;
    let title = title(n, msg.reminder);
    let icon = match n.status {
        Status::Firing => ":red_circle:",
        Status::Resolved => ":large_green_circle:",
    };
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": truncated(&title, 150), "emoji": true}}),
    ];
    if let Some(s) = summary(n) {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": truncated(&format!("{icon} {}", escape(s)), 3000)}}));
    }
    let shown = n.alerts.len().min(MAX_ALERT_LINES);
    let mut lines: Vec<String> = (0..shown)
        .map(|i| format!("• {}", escape(&alert_line(n, i))))
        .collect();
    if let Some(more) = more_text(shown, n) {
        lines.push(format!("_{more}_"));
    }
    if !lines.is_empty() {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": truncated(&lines.join("\n"), 3000)}}));
    }
    // The context table: one section per model, figures as fields (Slack allows 10 fields per section).
    for (model, figs) in context_rows(ctx).into_iter().take(10) {
        if figs.is_empty() {
            continue;
        }
        let fields: Vec<Value> = figs
            .iter()
            .take(10)
            .map(|(label, value)| json!({"type": "mrkdwn", "text": format!("*{label}*\n{value}")}))
            .collect();
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*Model* `{}`", escape(&model).replace('`', "'"))}, "fields": fields}));
    }
    let mut context_elems = vec![];
    if let Some(note) = context_note(ctx) {
        context_elems.push(json!({"type": "mrkdwn", "text": escape(&note)}));
    }
    let links = &ctx.links;
    let mut link_texts = vec![];
    for (name, url) in [
        ("Dashboard", &links.dashboard),
        ("Runbook", &links.runbook),
        ("Silence", &links.silence),
    ] {
        if let Some(u) = url {
            // URLs are http(s)-checked upstream; `|` and `>` would end the link, so escape them.
            link_texts.push(format!(
                "<{}|{name}>",
                u.replace('>', "%3E").replace('|', "%7C")
            ));
        }
    }
    if !link_texts.is_empty() {
        context_elems.push(json!({"type": "mrkdwn", "text": link_texts.join(" · ")}));
    }
    if !context_elems.is_empty() {
        blocks.push(json!({"type": "context", "elements": context_elems}));
    }
    blocks.truncate(50);
    let fallback = match summary(n) {
        Some(s) => format!("{title}: {}", escape(s)),
        None => title.clone(),
    };
    json!({"text": truncated(&fallback, 3000), "blocks": blocks})
}

impl Notifier for Slack {
    fn send<'a>(&'a self, msg: &'a Message<'a>) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let body = serde_json::to_vec(&render(msg)).expect("JSON values serialize");
            match post(&self.client, &self.url, Default::default(), body).await {
                Err(o) => o,
                // Incoming webhooks answer 200 "ok"; Alertmanager's Slack notifier also treats any other 2xx
                // body as an error (notify/slack/slack.go checkTextResponseError).
                Ok(r) if (200..300).contains(&r.status) && r.body.trim() != "ok" => Outcome::Fail {
                    reason: Reason::ClientError,
                    detail: format!("HTTP {} with unexpected body: {}", r.status, r.body.trim()),
                },
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

    #[test]
    fn renders_block_kit_golden() {
        let n = hostile();
        let c = context();
        let msg = Message {
            notification: &n,
            context: &c,
            reminder: false,
            idempotency_key: "k".into(),
        };
        assert_golden("slack_firing.json", &render(&msg));
    }

    #[test]
    fn escapes_mrkdwn_injection() {
        let n = hostile();
        let c = context();
        let msg = Message {
            notification: &n,
            context: &c,
            reminder: false,
            idempotency_key: "k".into(),
        };
        let text = render(&msg).to_string();
        assert!(!text.contains("<!channel>"), "{text}");
        assert!(text.contains("&lt;!channel&gt;"));
    }
}
