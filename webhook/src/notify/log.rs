//! The `log` receiver: one JSON line per notification on stdout. It is the default receiver, so the service is
//! useful (and observable) with no configuration at all.

use std::io::Write;

use futures::future::BoxFuture;
use serde_json::json;

use super::{Message, Notifier};
use crate::outbox::retry::{Outcome, Reason};

/// Most alert lines printed per notification.
const MAX_ALERT_LINES: usize = 20;

pub struct Log;

impl Notifier for Log {
    fn send<'a>(&'a self, msg: &'a Message<'a>) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let n = msg.notification;
            // A compact line: a storm of 30 000 alerts must not become a 10 MB log line.
            let shown = n.alerts.len().min(MAX_ALERT_LINES);
            let line = json!({
                "title": super::title(n, msg.reminder),
                "group_key": n.group_key,
                "status": n.status,
                "reminder": msg.reminder,
                "firing": n.firing_count(),
                "alerts": (0..shown).map(|i| super::alert_line(n, i)).collect::<Vec<_>>(),
                "more": super::more_text(shown, n),
                "context": msg.context,
            });
            let mut out = std::io::stdout().lock();
            match writeln!(out, "{line}").and_then(|_| out.flush()) {
                Ok(()) => Outcome::Delivered,
                Err(e) => Outcome::Retry {
                    reason: Reason::Network,
                    detail: format!("stdout: {e}"),
                    retry_after: None,
                },
            }
        })
    }
}
