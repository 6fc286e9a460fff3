//! CheckHealth ("Save & test"): reach the engine, say what it is and what inference data it holds, in words.
//!
//! The failure messages are distinct per cause, because each needs a different fix: the URL (nothing listens,
//! DNS, TLS), the credentials (401/403), or the path (something answers, but it is not a Prometheus API).

use infermon_prom::Error as PromError;
use serde_json::json;

use crate::detect::{describe, model_counts};
use crate::instance::Instance;

/// Health status values of the protocol.
pub const OK: i32 = 1;
pub const ERROR: i32 = 2;

/// (status, message, details JSON).
pub async fn check(inst: &Instance) -> (i32, String, serde_json::Value) {
    let url = &inst.settings.url;
    let engine = match inst.client.buildinfo().await {
        Ok(b) => format!("Prometheus-compatible engine (version {})", b.data.version),
        Err(
            e @ (PromError::NotFound(_)
            | PromError::NotPrometheusApi { .. }
            | PromError::UnexpectedStatus { .. }),
        ) => {
            // Some engines (older VictoriaMetrics, proxies) lack buildinfo: fall back to a trivial query.
            match inst.client.query("1", None, false).await {
                Ok(_) => "Prometheus-compatible engine".to_string(),
                Err(_) => return (ERROR, explain(url, &e), json!({ "error": e.to_string() })),
            }
        }
        Err(e) => return (ERROR, explain(url, &e), json!({ "error": e.to_string() })),
    };
    match inst.detection().await {
        Ok(d) => {
            let rules = match (inst.settings.recording_rules, d.recording_rules) {
                (crate::settings::RecordingRules::Off, _) => "recording rules: not used (turned off)",
                (_, true) => "recording rules: present",
                (crate::settings::RecordingRules::On, false) => {
                    "recording rules: NOT found although the data source is set to use them — load infermon's rules"
                }
                (_, false) => "recording rules: absent (queries read raw series)",
            };
            let message = format!("{engine} reachable at {url}; {}; {rules}", describe(&d));
            (
                OK,
                message,
                json!({ "backends": d.backends, "models": model_counts(&d), "recordingRules": d.recording_rules }),
            )
        }
        Err(e) => (
            ERROR,
            format!(
                "{engine} reachable at {url}, but detection failed: {}",
                explain(url, &e)
            ),
            json!({}),
        ),
    }
}

/// A message that says what to fix.
pub fn explain(url: &str, e: &PromError) -> String {
    match e {
        PromError::ConnectionRefused { .. } | PromError::Dns { .. } | PromError::Connect { .. } => {
            format!("Cannot reach {url}: {e}. Check the URL (host and port) and that the engine is running.")
        }
        PromError::RequestTimeout { .. } => {
            format!("No answer from {url} in time: {e}. Check the URL, the network, or raise timeoutSeconds.")
        }
        PromError::Tls { .. } => format!("TLS problem with {url}: {e}"),
        PromError::Unauthorized { status, .. } => format!(
            "Authentication failed at {url} (HTTP {status}): check the basic-auth user and password, the bearer \
             token, or the tenant header."
        ),
        PromError::NotPrometheusApi { .. } | PromError::UnexpectedStatus { .. } | PromError::Decode { .. } | PromError::NotFound(_) => format!(
            "{url} answered, but it is not a Prometheus API ({e}). Check the URL and its path prefix \
             (e.g. Mimir needs /prometheus)."
        ),
        other => format!("The engine at {url} returned an error: {other}"),
    }
}
