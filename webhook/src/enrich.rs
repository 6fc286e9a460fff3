//! Enrichment: the live model context and the links attached to a notification before it is delivered.
//!
//! The models and namespaces come from the alerts' labels; the figures come from a [`ContextSource`] that issues a
//! fixed number of batched PromQL queries per notification (one per figure covering all its models), whatever the
//! number of alerts. The whole fetch has one short timeout; on timeout or error the notification goes out without
//! context and says so. Enrichment runs in the delivery worker, never on the receive path.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::EnrichmentConfig;
use crate::metrics::{Metrics, ReasonLabel};
use crate::payload::Notification;

/// Label names that carry the model (vLLM uses `model_name`; our rules use `model`).
pub const MODEL_LABELS: [&str; 2] = ["model", "model_name"];
/// Label name that carries the Kubernetes namespace.
pub const NAMESPACE_LABEL: &str = "namespace";
/// Upper bound on models per notification sent to Prometheus; more would make the regex matcher huge.
pub const MAX_MODELS: usize = 50;

/// The figures shown for a model, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    QueueDepth,
    RunningRequests,
    KvCacheUsage,
    TtftP95,
    TtftP95HourAgo,
    InterTokenP95,
    TokensPerSecond,
    ErrorRatio,
    SloBudgetRemaining,
}

impl Figure {
    pub const ALL: [Figure; 9] = [
        Figure::QueueDepth,
        Figure::RunningRequests,
        Figure::KvCacheUsage,
        Figure::TtftP95,
        Figure::TtftP95HourAgo,
        Figure::InterTokenP95,
        Figure::TokensPerSecond,
        Figure::ErrorRatio,
        Figure::SloBudgetRemaining,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Figure::QueueDepth => "Queue depth",
            Figure::RunningRequests => "Running requests",
            Figure::KvCacheUsage => "KV-cache usage",
            Figure::TtftP95 => "TTFT p95",
            Figure::TtftP95HourAgo => "TTFT p95 1h ago",
            Figure::InterTokenP95 => "Inter-token p95",
            Figure::TokensPerSecond => "Tokens/s",
            Figure::ErrorRatio => "Error ratio",
            Figure::SloBudgetRemaining => "Error budget left",
        }
    }

    /// Human formatting of a value of this figure.
    pub fn format(self, v: f64) -> String {
        if !v.is_finite() {
            return "n/a".to_string();
        }
        match self {
            Figure::QueueDepth | Figure::RunningRequests => format!("{v:.0}"),
            Figure::KvCacheUsage | Figure::ErrorRatio | Figure::SloBudgetRemaining => {
                format!("{:.1}%", v * 100.0)
            }
            Figure::TtftP95 | Figure::TtftP95HourAgo | Figure::InterTokenP95 => {
                if v < 1.0 {
                    format!("{:.0} ms", v * 1000.0)
                } else {
                    format!("{v:.2} s")
                }
            }
            Figure::TokensPerSecond => format!("{v:.1}"),
        }
    }
}

/// What a context source is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextRequest {
    /// Every model named by the alerts (the queries' model matcher).
    pub models: Vec<String>,
    /// Every namespace named by the alerts (the queries' namespace matcher).
    pub namespaces: Vec<String>,
    /// The rows to show: one per model, or per (namespace, model) pair the alerts name when they span several
    /// namespaces (the same model in two namespaces is two deployments with their own queue, cache and budget).
    pub targets: Vec<ModelKey>,
}

impl ContextRequest {
    /// Whether figures are keyed by namespace as well as model (the alerts span more than one namespace).
    pub fn by_namespace(&self) -> bool {
        self.namespaces.len() > 1
    }
}

/// A context row's identity: the model, and its namespace when the notification spans several.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModelKey {
    pub namespace: Option<String>,
    pub model: String,
}

/// What a context source returns: per row, the figures it could compute, and how many PromQL queries it issued.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    pub values: BTreeMap<ModelKey, BTreeMap<Figure, f64>>,
    pub queries: u32,
}

/// Why context could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    #[error("Prometheus is unreachable: {0}")]
    Unreachable(String),
    #[error("Prometheus answered with an error: {0}")]
    Query(String),
    #[error("enrichment is not available: {0}")]
    NotConfigured(String),
}

/// A source of model context (Prometheus through the `prom` crate in production, fakes in tests).
pub trait ContextSource: Send + Sync {
    fn fetch<'a>(&'a self, req: &'a ContextRequest) -> BoxFuture<'a, Result<Fetched, EnrichError>>;

    /// Whether Prometheus answers at all (for `/readyz`; informational).
    fn reachable(&self) -> BoxFuture<'_, bool> {
        Box::pin(async { false })
    }
}

/// Whether context is present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContextStatus {
    Ok,
    Unavailable,
    NoModels,
    Disabled,
}

/// One model's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelContext {
    pub model: String,
    /// Set when the notification spans several namespaces (each row is then one namespace's deployment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub figures: BTreeMap<Figure, f64>,
}

/// Links attached to a notification. Only http(s) URLs from the config or from annotations (never fetched).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Links {
    pub dashboard: Option<String>,
    pub runbook: Option<String>,
    pub silence: Option<String>,
}

/// The enrichment of one notification, stored with it so retries and all receivers show the same context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Context {
    pub status: ContextStatus,
    /// Shown to humans when context is missing, e.g. "Prometheus did not answer within 2s".
    pub note: Option<String>,
    pub models: Vec<ModelContext>,
    pub namespaces: Vec<String>,
    pub links: Links,
    pub promql_queries: u32,
}

/// Models, namespaces and (namespace, model) rows named by the alerts' labels, deduplicated and sorted.
pub fn context_request(n: &Notification) -> ContextRequest {
    let mut models = BTreeSet::new();
    let mut namespaces = BTreeSet::new();
    let mut pairs = BTreeSet::new();
    for a in &n.alerts {
        let ns = a.labels.get(NAMESPACE_LABEL).filter(|v| !v.is_empty());
        if let Some(ns) = ns {
            namespaces.insert(ns.clone());
        }
        for l in MODEL_LABELS {
            if let Some(m) = a.labels.get(l).filter(|m| !m.is_empty()) {
                models.insert(m.clone());
                pairs.insert((m.clone(), ns.cloned()));
            }
        }
    }
    let models: Vec<String> = models.into_iter().take(MAX_MODELS).collect();
    let by_namespace = namespaces.len() > 1;
    let targets: BTreeSet<ModelKey> = pairs
        .into_iter()
        .filter(|(m, _)| models.binary_search(m).is_ok())
        .map(|(model, ns)| ModelKey {
            namespace: ns.filter(|_| by_namespace),
            model,
        })
        .collect();
    ContextRequest {
        models,
        namespaces: namespaces.into_iter().collect(),
        targets: targets.into_iter().collect(),
    }
}

/// Fetches context and builds links for notifications.
#[derive(Clone)]
pub struct Enricher {
    source: Option<Arc<dyn ContextSource>>,
    cfg: EnrichmentConfig,
    metrics: Arc<Metrics>,
}

impl Enricher {
    pub fn new(
        source: Option<Arc<dyn ContextSource>>,
        cfg: EnrichmentConfig,
        metrics: Arc<Metrics>,
    ) -> Enricher {
        Enricher {
            source,
            cfg,
            metrics,
        }
    }

    /// Never fails and never takes longer than the configured timeout (plus scheduling).
    pub async fn enrich(&self, n: &Notification, now: OffsetDateTime) -> Context {
        let req = context_request(n);
        let links = links(n, &self.cfg, req.models.first().map(String::as_str), now);
        let base = |status, note: Option<String>| Context {
            status,
            note,
            models: vec![],
            namespaces: req.namespaces.clone(),
            links: links.clone(),
            promql_queries: 0,
        };
        if !self.cfg.enabled {
            return base(ContextStatus::Disabled, None);
        }
        if req.models.is_empty() {
            return base(ContextStatus::NoModels, None);
        }
        let Some(source) = &self.source else {
            self.metrics
                .enrichment_failures
                .get_or_create(&ReasonLabel {
                    reason: "not_configured",
                })
                .inc();
            return base(
                ContextStatus::Unavailable,
                Some("Model context unavailable: no Prometheus client configured.".into()),
            );
        };
        let started = Instant::now();
        let result = tokio::time::timeout(self.cfg.timeout, source.fetch(&req)).await;
        self.metrics
            .enrichment_seconds
            .observe(started.elapsed().as_secs_f64());
        match result {
            Ok(Ok(f)) => {
                self.metrics.promql_queries.inc_by(u64::from(f.queries));
                let models = req
                    .targets
                    .iter()
                    .map(|k| ModelContext {
                        model: k.model.clone(),
                        namespace: k.namespace.clone(),
                        figures: f.values.get(k).cloned().unwrap_or_default(),
                    })
                    .collect();
                Context {
                    status: ContextStatus::Ok,
                    note: None,
                    models,
                    namespaces: req.namespaces,
                    links,
                    promql_queries: f.queries,
                }
            }
            Ok(Err(e)) => {
                let reason = match e {
                    EnrichError::Unreachable(_) => "unreachable",
                    EnrichError::Query(_) => "query_error",
                    EnrichError::NotConfigured(_) => "not_configured",
                };
                self.metrics
                    .enrichment_failures
                    .get_or_create(&ReasonLabel { reason })
                    .inc();
                tracing::warn!(error = %e, "Enrichment failed; delivering without model context.");
                base(
                    ContextStatus::Unavailable,
                    Some(format!("Model context unavailable: {e}.")),
                )
            }
            Err(_) => {
                self.metrics
                    .enrichment_failures
                    .get_or_create(&ReasonLabel { reason: "timeout" })
                    .inc();
                tracing::warn!(timeout = ?self.cfg.timeout, "Enrichment timed out; delivering without model context.");
                base(
                    ContextStatus::Unavailable,
                    Some(format!(
                        "Model context unavailable: Prometheus did not answer within {}.",
                        humantime::format_duration(self.cfg.timeout)
                    )),
                )
            }
        }
    }
}

/// Only absolute http(s) URLs are shown as links; anything else from an annotation is dropped.
pub fn safe_link(s: &str) -> Option<String> {
    let u = url::Url::parse(s.trim()).ok()?;
    matches!(u.scheme(), "http" | "https").then(|| u.to_string())
}

/// Escapes a label value for a matcher inside a silence filter (`\` and `"`, like PromQL strings).
fn matcher_value(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// Grafana dashboard link (model variable, ±1 h around the first `startsAt`), runbook and Alertmanager silence link.
pub fn links(
    n: &Notification,
    cfg: &EnrichmentConfig,
    model: Option<&str>,
    now: OffsetDateTime,
) -> Links {
    let dashboard = cfg.grafana_url.as_ref().and_then(|g| {
        let start = n.earliest_start().unwrap_or(now);
        let from = (start - Duration::from_secs(3600)).unix_timestamp() * 1000;
        let to = (start + Duration::from_secs(3600))
            .min(now.max(start))
            .unix_timestamp()
            * 1000;
        let to = to.max(from + 1);
        let mut u = url::Url::parse(g).ok()?;
        u.path_segments_mut()
            .ok()?
            .pop_if_empty()
            .push("d")
            .push(&cfg.dashboard_uid);
        {
            let mut q = u.query_pairs_mut();
            if let Some(m) = model {
                q.append_pair("var-model", m);
            }
            q.append_pair("from", &from.to_string())
                .append_pair("to", &to.to_string());
        }
        Some(u.to_string())
    });
    let runbook = n
        .annotation("runbook_url")
        .or_else(|| n.annotation("runbook"))
        .and_then(safe_link);
    let am = if n.external_url.is_empty() {
        cfg.alertmanager_url.clone()
    } else {
        Some(n.external_url.clone())
    };
    let silence = am.and_then(|base| {
        let base = safe_link(&base)?;
        let labels = if n.group_labels.is_empty() {
            &n.common_labels
        } else {
            &n.group_labels
        };
        let filter: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", matcher_value(v)))
            .collect();
        let filter = format!("{{{}}}", filter.join(","));
        let encoded: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
        Some(format!(
            "{}/#/silences/new?filter={}",
            base.trim_end_matches('/'),
            encoded
        ))
    });
    Links {
        dashboard,
        runbook,
        silence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::parse;

    fn cfg() -> EnrichmentConfig {
        EnrichmentConfig {
            enabled: true,
            timeout: Duration::from_millis(200),
            grafana_url: Some("https://grafana.example/".into()),
            dashboard_uid: "infermon-overview".into(),
            alertmanager_url: None,
        }
    }

    fn notification(models: &[&str]) -> Notification {
        let alerts: Vec<String> = models
            .iter()
            .enumerate()
            .map(|(i, m)| {
                format!(
                    r#"{{"status":"firing","labels":{{"alertname":"VLLMKVCacheHigh","model_name":{m:?},"namespace":"ml","pod":"p{i}"}},"annotations":{{"runbook_url":"https://runbooks.example/kv"}},"startsAt":"2024-05-01T10:00:00Z"}}"#
                )
            })
            .collect();
        let body = format!(
            r#"{{"version":"4","groupKey":"{{}}:{{alertname=\"VLLMKVCacheHigh\"}}","status":"firing","receiver":"r","groupLabels":{{"alertname":"VLLMKVCacheHigh"}},"externalURL":"http://am:9093","alerts":[{}]}}"#,
            alerts.join(",")
        );
        parse(body.as_bytes()).unwrap()
    }

    struct Counting;
    impl ContextSource for Counting {
        fn fetch<'a>(
            &'a self,
            req: &'a ContextRequest,
        ) -> BoxFuture<'a, Result<Fetched, EnrichError>> {
            Box::pin(async move {
                let mut f = Fetched {
                    queries: Figure::ALL.len() as u32,
                    ..Default::default()
                };
                for k in &req.targets {
                    f.values
                        .insert(k.clone(), [(Figure::QueueDepth, 3.0)].into_iter().collect());
                }
                Ok(f)
            })
        }
    }

    struct Hanging;
    impl ContextSource for Hanging {
        fn fetch<'a>(
            &'a self,
            _: &'a ContextRequest,
        ) -> BoxFuture<'a, Result<Fetched, EnrichError>> {
            Box::pin(futures::future::pending())
        }
    }

    #[test]
    fn rows_are_per_namespace_only_when_the_alerts_span_several() {
        let key = |ns: Option<&str>, m: &str| ModelKey {
            namespace: ns.map(String::from),
            model: m.into(),
        };
        let one = context_request(&notification(&["b", "a"]));
        assert!(!one.by_namespace());
        assert_eq!(one.targets, [key(None, "a"), key(None, "b")]);
        let body = br#"{"version":"4","groupKey":"g","status":"firing","alerts":[
            {"status":"firing","labels":{"model_name":"a","namespace":"prod"}},
            {"status":"firing","labels":{"model_name":"a","namespace":"staging"}},
            {"status":"firing","labels":{"model_name":"b","namespace":"prod"}},
            {"status":"firing","labels":{"model_name":"b","namespace":"prod","pod":"p2"}}]}"#;
        let two = context_request(&parse(body).unwrap());
        assert!(two.by_namespace());
        assert_eq!(two.models, ["a", "b"]);
        assert_eq!(two.namespaces, ["prod", "staging"]);
        // (b, staging) is not a row: no alert names it, even though the queries' matchers would cover it.
        assert_eq!(
            two.targets,
            [
                key(Some("prod"), "a"),
                key(Some("prod"), "b"),
                key(Some("staging"), "a")
            ]
        );
    }

    #[test]
    fn request_dedupes_models_and_caps_them() {
        let n = notification(&["a", "b", "a", "\"weird\\model"]);
        let r = context_request(&n);
        assert_eq!(r.models, ["\"weird\\model", "a", "b"]);
        assert_eq!(r.namespaces, ["ml"]);
        let many: Vec<String> = (0..200).map(|i| format!("m{i:03}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            context_request(&notification(&refs)).models.len(),
            MAX_MODELS
        );
    }

    #[test]
    fn links_point_at_dashboard_runbook_and_silence() {
        let n = notification(&["llama"]);
        let l = links(
            &n,
            &cfg(),
            Some("llama"),
            OffsetDateTime::from_unix_timestamp(1_714_560_000 + 600).unwrap(),
        );
        let d = l.dashboard.unwrap();
        assert!(d.starts_with("https://grafana.example/d/infermon-overview?var-model=llama&from=1714554000000&to=1714560600000"), "{d}");
        assert_eq!(l.runbook.as_deref(), Some("https://runbooks.example/kv"));
        assert_eq!(
            l.silence.as_deref(),
            Some("http://am:9093/#/silences/new?filter=%7Balertname%3D%22VLLMKVCacheHigh%22%7D")
        );
    }

    #[test]
    fn non_http_runbooks_are_not_linked() {
        assert_eq!(safe_link("javascript:alert(1)"), None);
        assert_eq!(safe_link("/relative"), None);
    }

    #[tokio::test]
    async fn query_count_does_not_depend_on_alert_count() {
        let e = Enricher::new(Some(Arc::new(Counting)), cfg(), Arc::new(Metrics::new()));
        let now = OffsetDateTime::now_utc();
        let one = e.enrich(&notification(&["m"]), now).await;
        let names: Vec<String> = (0..1000).map(|i| format!("m{}", i % 7)).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let thousand = e.enrich(&notification(&refs), now).await;
        assert_eq!(one.promql_queries, thousand.promql_queries);
        assert_eq!(thousand.models.len(), 7);
        assert_eq!(thousand.models[0].figures[&Figure::QueueDepth], 3.0);
    }

    #[tokio::test(start_paused = true)]
    async fn slow_prometheus_means_no_context_after_the_timeout() {
        let e = Enricher::new(Some(Arc::new(Hanging)), cfg(), Arc::new(Metrics::new()));
        let c = e
            .enrich(&notification(&["m"]), OffsetDateTime::now_utc())
            .await;
        assert_eq!(c.status, ContextStatus::Unavailable);
        assert!(c.note.unwrap().contains("did not answer within 200ms"));
        assert!(
            c.links.runbook.is_some(),
            "links survive a Prometheus outage"
        );
    }
}
