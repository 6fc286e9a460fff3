//! The `log` receiver: one JSON line per notification on stdout. It is the default receiver, so the service is
//! useful (and observable) with no configuration at all.

use std::io::Write;

use futures::future::BoxFuture;
use serde_json::json;

use super::{Message, Notifier};
use crate::outbox::retry::{Outcome, Reason};

pub struct Log;

impl Notifier for Log {
    fn send<'a>(&'a self, msg: &'a Message<'a>) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let line = json!({
                "title": super::title(msg.notification, msg.reminder),
                "reminder": msg.reminder,
                "notification": msg.notification,
                "context": msg.context,
            });
            let mut out = std::io::stdout().lock();
            match writeln!(out, "{line}").and_then(|_| out.flush()) {
                Ok(()) => Outcome::Delivered,
                Err(e) => Outcome::Retry { reason: Reason::Network, detail: format!("stdout: {e}"), retry_after: None },
            }
        })
    }
}
