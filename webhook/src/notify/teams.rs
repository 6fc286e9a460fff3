//! Microsoft Teams through a Workflows (Power Automate) webhook: a `message` envelope with one Adaptive Card, the
//! shape Alertmanager's `msteamsv2` sends (alert-webhook.md §4.3). Cards must stay under 28 672 bytes, so alert
//! lines are dropped (and counted in "+N more") until the card fits. The URL carries its own `sig=` secret.

use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{json, Value};

use super::{
    alert_line, classify, context_note, context_rows, more_text, post, summary, title, truncated,
    Message, Notifier,
};
use crate::outbox::retry::Outcome;
use crate::payload::Status;

/// Teams rejects larger messages ("max allowed size is 28672 bytes", MicrosoftDocs/msteams-docs#11274).
pub const MAX_CARD_BYTES: usize = 28_672;

pub struct Teams {
    pub client: reqwest::Client,
    pub url: String,
    pub min_interval: Duration,
}

/// Escapes the Markdown subset Adaptive Card TextBlocks interpret, so alert text cannot add links or formatting.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '`' | '<' | '>'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn card(msg: &Message<'_>, max_lines: usize) -> Value {
    let n = msg.notification;
    let color = match n.status {
        Status::Firing => "Attention",
        Status::Resolved => "Good",
    };
    let mut body = vec![
        json!({"type": "TextBlock", "text": escape(&title(n, msg.reminder)), "weight": "Bolder", "size": "Medium", "wrap": true, "style": "heading", "color": color}),
    ];
    if let Some(s) = summary(n) {
        body.push(json!({"type": "TextBlock", "text": escape(&truncated(s, 1000)), "wrap": true}));
    }
    let shown = n.alerts.len().min(max_lines);
    for i in 0..shown {
        body.push(json!({"type": "TextBlock", "text": format!("- {}", escape(&alert_line(n, i))), "wrap": true, "spacing": "None"}));
    }
    if let Some(more) = more_text(shown, n) {
        body.push(
            json!({"type": "TextBlock", "text": escape(&more), "wrap": true, "isSubtle": true}),
        );
    }
    for (model, figs) in context_rows(msg.context).into_iter().take(10) {
        if figs.is_empty() {
            continue;
        }
        body.push(json!({"type": "TextBlock", "text": format!("Model {}", escape(&model)), "weight": "Bolder", "wrap": true}));
        let facts: Vec<Value> = figs
            .into_iter()
            .map(|(k, v)| json!({"title": k, "value": v}))
            .collect();
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    if let Some(note) = context_note(msg.context) {
        body.push(
            json!({"type": "TextBlock", "text": escape(&note), "wrap": true, "isSubtle": true}),
        );
    }
    let l = &msg.context.links;
    let actions: Vec<Value> = [
        ("Dashboard", &l.dashboard),
        ("Runbook", &l.runbook),
        ("Silence", &l.silence),
    ]
    .into_iter()
    .filter_map(|(t, u)| {
        u.as_ref()
            .map(|u| json!({"type": "Action.OpenUrl", "title": t, "url": u}))
    })
    .collect();
    let mut content = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.2",
        "body": body,
        "msteams": {"width": "full"},
    });
    if !actions.is_empty() {
        content["actions"] = Value::Array(actions);
    }
    json!({"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": content}]})
}

/// The request body, shrunk to fit [`MAX_CARD_BYTES`].
pub fn render(msg: &Message<'_>) -> Value {
    let mut lines = msg.notification.alerts.len().min(100);
    loop {
        let c = card(msg, lines);
        if lines == 0
            || serde_json::to_vec(&c)
                .map(|v| v.len())
                .unwrap_or(usize::MAX)
                <= MAX_CARD_BYTES
        {
            return c;
        }
        lines /= 2;
    }
}

impl Notifier for Teams {
    fn send<'a>(&'a self, msg: &'a Message<'a>) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let body = serde_json::to_vec(&render(msg)).expect("JSON values serialize");
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

    #[test]
    fn renders_adaptive_card_golden() {
        let n = hostile();
        let c = context();
        assert_golden(
            "teams_firing.json",
            &render(&Message {
                notification: &n,
                context: &c,
                reminder: false,
                idempotency_key: "k".into(),
            }),
        );
    }

    #[test]
    fn large_groups_shrink_under_the_size_limit() {
        let mut n = hostile();
        let a = n.alerts[0].clone();
        n.alerts = (0..2000)
            .map(|i| {
                let mut a = a.clone();
                a.labels
                    .insert("pod".into(), format!("vllm-{i}-{}", "x".repeat(100)));
                a
            })
            .collect();
        let c = context();
        let v = render(&Message {
            notification: &n,
            context: &c,
            reminder: false,
            idempotency_key: "k".into(),
        });
        let size = serde_json::to_vec(&v).unwrap().len();
        assert!(size <= MAX_CARD_BYTES, "{size}");
        assert!(v.to_string().contains("1 truncated by Alertmanager"), "{v}");
    }
}
