//! Generic outbound webhook: the enriched notification as JSON, an `Idempotency-Key`, and optionally an
//! HMAC-SHA256 signature in the style Grafana added (grafana/grafana#100960): `X-Infermon-Timestamp: <unix secs>`
//! and `<signature_header>: sha256=<hex of HMAC(secret, "<timestamp>:<body>")>`.

use futures::future::BoxFuture;
use hmac::{Hmac, Mac};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use sha2::Sha256;

use super::{classify, header, post, Message, Notifier};
use crate::outbox::retry::Outcome;

pub const TIMESTAMP_HEADER: &str = "X-Infermon-Timestamp";

pub struct Webhook {
    pub client: reqwest::Client,
    pub url: String,
    pub hmac_secret: Option<String>,
    pub signature_header: String,
}

/// The request body: `{"version":"1","reminder":…,"notification":…,"context":…}`.
pub fn render(msg: &Message<'_>) -> Value {
    json!({"version": "1", "reminder": msg.reminder, "notification": msg.notification, "context": msg.context})
}

/// `sha256=<hex>` over `"<timestamp>:<body>"`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl Notifier for Webhook {
    fn send<'a>(&'a self, msg: &'a Message<'a>) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let body = serde_json::to_vec(&render(msg)).expect("JSON values serialize");
            let mut headers = HeaderMap::new();
            if let Some((k, v)) = header("Idempotency-Key", &msg.idempotency_key) {
                headers.insert(k, v);
            }
            if let Some(secret) = &self.hmac_secret {
                let ts = time::OffsetDateTime::now_utc().unix_timestamp();
                for (k, v) in [
                    (TIMESTAMP_HEADER.to_string(), ts.to_string()),
                    (self.signature_header.clone(), sign(secret, ts, &body)),
                ] {
                    if let Some((k, v)) = header(&k, &v) {
                        headers.insert(k, v);
                    }
                }
            }
            match post(&self.client, &self.url, headers, body).await {
                Err(o) => o,
                Ok(r) => classify(r),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_vector() {
        // printf '1700000000:{}' | openssl dgst -sha256 -hmac key
        assert_eq!(
            sign("key", 1_700_000_000, b"{}"),
            format!("sha256={}", {
                let mut m = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
                m.update(b"1700000000:{}");
                hex::encode(m.finalize().into_bytes())
            })
        );
        assert_ne!(
            sign("key", 1_700_000_000, b"{}"),
            sign("key", 1_700_000_001, b"{}")
        );
    }
}
