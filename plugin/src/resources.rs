//! CallResource routes for the editors (shapes agreed in `frontend/README.md`, "Resources"):
//!
//! - `GET /catalog`: concepts, statistics and per-backend support (with histogram buckets);
//! - `GET /models[?namespace=…&backend=…]`: models seen on the engine, with backend and namespace;
//! - `GET /namespaces`: namespaces of those models (variable support);
//! - `POST /translate`: the PromQL a query becomes (body: the query JSON), or 400 `{"error": …}`.

use std::collections::BTreeSet;
use std::time::Duration;

use infermon_core::catalog::{support, ConceptKind, Source, Support};
use infermon_core::query::Query;
use infermon_core::{Backend, Concept};
use serde_json::{json, Value};

use crate::instance::Instance;

/// A resource answer: HTTP status and JSON body.
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

fn ok(body: Value) -> Answer {
    Answer { status: 200, body }
}

fn err(status: u16, msg: impl Into<String>) -> Answer {
    Answer {
        status,
        body: json!({ "error": msg.into() }),
    }
}

/// Dispatches one request. `path` has no leading slash and no query string.
pub async fn handle(inst: &Instance, method: &str, path: &str, query: &str, body: &[u8]) -> Answer {
    let params: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    match (method.to_ascii_uppercase().as_str(), path.trim_matches('/')) {
        ("GET", "catalog") => ok(catalog()),
        ("GET", "models") => match inst.detection().await {
            Ok(d) => {
                let models: Vec<_> = d
                    .models
                    .iter()
                    .filter(|m| param("namespace").is_none_or(|n| m.namespace.as_deref() == Some(n)))
                    .filter(|m| param("backend").is_none_or(|b| b == "auto" || m.backend == b))
                    .collect();
                ok(json!({ "models": models }))
            }
            Err(e) => err(502, crate::health::explain(&inst.settings.url, &e)),
        },
        ("GET", "namespaces") => match inst.detection().await {
            Ok(d) => {
                let ns: BTreeSet<&str> = d.models.iter().filter_map(|m| m.namespace.as_deref()).collect();
                ok(json!({ "namespaces": ns }))
            }
            Err(e) => err(502, crate::health::explain(&inst.settings.url, &e)),
        },
        ("POST", "translate") => translate(inst, body).await,
        (_, "catalog" | "models" | "namespaces" | "translate") => err(405, format!("{method} is not allowed on /{path}")),
        _ => err(404, format!("no resource /{path}; available: GET /catalog, GET /models, GET /namespaces, POST /translate")),
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn translate(inst: &Instance, body: &[u8]) -> Answer {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return err(400, format!("invalid query JSON: {e}")),
    };
    let query = match Query::from_json(&v) {
        Ok(q) => q,
        Err(e) => return err(400, e.to_string()),
    };
    let detection = inst.detection().await.ok();
    let scrape = inst.settings.scrape_interval;
    // The editor preview has no panel step: use Grafana's floor for $__rate_interval, 4 × scrape interval.
    let ctx = inst.context(
        detection.as_deref(),
        Duration::from_millis(4 * scrape.as_millis() as u64),
    );
    match infermon_core::translate(&query, &ctx) {
        Ok(t) => ok(json!({
            "queries": t.targets,
            "notices": t.notices,
            "approximate": t.approximate,
        })),
        Err(e) => err(400, e.to_string()),
    }
}

fn stats_for(kind: ConceptKind) -> &'static [&'static str] {
    match kind {
        ConceptKind::Latency => &["p50", "p90", "p95", "p99", "avg"],
        ConceptKind::Throughput => &["rate"],
        ConceptKind::Ratio => &["ratio"],
        ConceptKind::Gauge => &["current", "max", "min", "avg", "growth"],
    }
}

/// The catalog for editors.
pub fn catalog() -> Value {
    let concepts: Vec<Value> = Concept::ALL
        .iter()
        .map(|c| {
            let mut backends = serde_json::Map::new();
            for b in Backend::ALL {
                let cell = match support(*c, b) {
                    Support::Unsupported(reason) => {
                        json!({ "support": "unsupported", "note": reason })
                    }
                    Support::Supported {
                        source,
                        fidelity,
                        requires,
                    } => {
                        let mut o = serde_json::Map::new();
                        match fidelity {
                            infermon_core::catalog::Fidelity::Exact => {
                                o.insert("support".into(), json!("exact"))
                            }
                            infermon_core::catalog::Fidelity::Approximate(note) => {
                                o.insert("note".into(), json!(note));
                                o.insert("support".into(), json!("approximate"))
                            }
                        };
                        if let Some(r) = requires {
                            o.entry("note").or_insert(json!(format!("requires {r}")));
                        }
                        if let Source::Histogram(h) = source {
                            // Boundaries shared by every generation's layout (SLO thresholds must be one).
                            let mut common: Option<Vec<f64>> = None;
                            for set in h.buckets {
                                let b: Vec<f64> =
                                    set.bounds().into_iter().filter(|x| x.is_finite()).collect();
                                common = Some(match common {
                                    None => b,
                                    Some(prev) => prev
                                        .into_iter()
                                        .filter(|x| b.iter().any(|y| (x - y).abs() < 1e-12))
                                        .collect(),
                                });
                            }
                            o.insert("buckets".into(), json!(common.unwrap_or_default()));
                        }
                        Value::Object(o)
                    }
                };
                backends.insert(b.id().into(), cell);
            }
            json!({
                "id": c.id(), "label": c.label(), "group": c.group(), "unit": c.unit(),
                "kind": c.kind(), "description": c.description(),
                "stats": stats_for(c.kind()), "slo": c.slo_capable(), "backends": backends,
            })
        })
        .collect();
    json!({ "concepts": concepts })
}

#[cfg(test)]
mod tests {
    #[test]
    fn percent_decoding() {
        assert_eq!(super::decode("a%20b+c%2Fd%"), "a b c/d%");
        assert_eq!(super::decode("%zz"), "%zz");
    }
}
