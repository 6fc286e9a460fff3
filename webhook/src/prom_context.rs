//! The production [`ContextSource`]: the context queries come from `infermon-core` (one instant query per figure,
//! covering every model of the notification, label values escaped by core's PromQL builder) and are executed by
//! `infermon-prom`, all figures concurrently. PromQL is never written in this crate.
//!
//! When infermon's recording rules are loaded on the engine, core translates the figures to the recorded series
//! (a storm of notifications then costs Prometheus a few samples per query instead of raw histogram buckets). Whether
//! they are loaded, and over which windows the budget SLO is recorded, is asked through the label-values API (not a
//! PromQL query, so the per-notification query count stays fixed) at most once per [`RULES_TTL`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::future::BoxFuture;
use infermon_core::context::{context_queries, ContextRequest as CoreRequest, DEFAULT_BUDGET_SLO};
use infermon_core::rules::slo::{error_ratio_record_window, ERROR_RATIO_RECORD_PREFIX, SLO_LABEL};
use infermon_core::translate::recorded::RECORD_PREFIX;

use crate::enrich::{ContextRequest, ContextSource, EnrichError, Fetched, Figure, ModelKey};
use crate::Config;

/// Label carrying the model in every context query's result (core groups them `by (model)`).
const MODEL_LABEL: &str = infermon_core::catalog::names::labels::MODEL;
/// Label carrying the namespace when core groups them `by (namespace, model)` (alerts from several namespaces).
const NAMESPACE_LABEL: &str = infermon_core::catalog::names::labels::NAMESPACE;

/// How long the engine's answer about infermon's recording rules is reused.
pub const RULES_TTL: Duration = Duration::from_secs(60);

/// Prometheus through `infermon-prom`.
pub struct PromContext {
    client: infermon_prom::Client,
    translate: infermon_core::Context,
    /// The last answer about recording rules and when it was asked.
    rules: tokio::sync::Mutex<Option<(Instant, RulesFound)>>,
}

/// infermon's recorded series on the engine.
#[derive(Debug, Clone, Default)]
struct RulesFound {
    present: bool,
    /// Windows over which the budget SLO's error ratio is recorded.
    budget_windows: std::collections::BTreeSet<infermon_core::PromDuration>,
}

impl PromContext {
    /// A client for `base_url` whose requests time out after `timeout` (the enrichment timeout).
    pub fn new(
        base_url: &str,
        timeout: Duration,
    ) -> Result<PromContext, infermon_prom::ConfigError> {
        let client = infermon_prom::Client::new(
            infermon_prom::ClientConfig::new(base_url).timeout(timeout),
        )?;
        Ok(PromContext {
            client,
            translate: infermon_core::Context::default(),
            rules: tokio::sync::Mutex::new(None),
        })
    }

    /// The translator's context: recorded series when the engine holds infermon's records (asked at most once per
    /// [`RULES_TTL`]; an engine that does not answer is not cached, and meanwhile raw series are read).
    pub async fn translation_context(&self) -> infermon_core::Context {
        let mut cached = self.rules.lock().await;
        let found = match cached.as_ref() {
            Some((at, found)) if at.elapsed() < RULES_TTL => found.clone(),
            _ => match self.find_rules().await {
                Ok(found) => {
                    *cached = Some((Instant::now(), found.clone()));
                    found
                }
                Err(e) => {
                    tracing::debug!(error = %e, "Could not ask the engine for infermon's recorded series.");
                    RulesFound::default()
                }
            },
        };
        let mut ctx = self.translate.clone();
        ctx.recording_rules = found.present;
        if found.present {
            ctx.slo_records = Some(BTreeMap::from([(
                DEFAULT_BUDGET_SLO.to_string(),
                found.budget_windows,
            )]));
        }
        ctx
    }

    async fn find_rules(&self) -> Result<RulesFound, infermon_prom::Error> {
        let records = format!(r#"{{__name__=~"{RECORD_PREFIX}.+"}}"#);
        let present = !self
            .client
            .label_values("__name__", &[&records], None)
            .await?
            .data
            .is_empty();
        if !present {
            return Ok(RulesFound::default());
        }
        let budget = format!(
            r#"{{__name__=~"{ERROR_RATIO_RECORD_PREFIX}.+",{SLO_LABEL}="{DEFAULT_BUDGET_SLO}"}}"#
        );
        let budget_windows = self
            .client
            .label_values("__name__", &[&budget], None)
            .await?
            .data
            .iter()
            .filter_map(|n| error_ratio_record_window(n))
            .collect();
        Ok(RulesFound {
            present,
            budget_windows,
        })
    }
}

/// Core's stable figure keys → ours.
pub fn figure_for_key(key: &str) -> Option<Figure> {
    Some(match key {
        "queue_depth" => Figure::QueueDepth,
        "running_requests" => Figure::RunningRequests,
        "kv_cache_usage" => Figure::KvCacheUsage,
        "ttft_p95" => Figure::TtftP95,
        "ttft_p95_1h_ago" => Figure::TtftP95HourAgo,
        "inter_token_latency_p95" => Figure::InterTokenP95,
        "generation_tokens_rate" => Figure::TokensPerSecond,
        "error_ratio" => Figure::ErrorRatio,
        "error_budget_remaining" => Figure::SloBudgetRemaining,
        _ => return None,
    })
}

impl ContextSource for PromContext {
    fn fetch<'a>(&'a self, req: &'a ContextRequest) -> BoxFuture<'a, Result<Fetched, EnrichError>> {
        Box::pin(async move {
            let core_req = CoreRequest {
                models: req.models.clone(),
                namespaces: req.namespaces.clone(),
                budget_slo: None,
            };
            let translate = self.translation_context().await;
            let queries = context_queries(&core_req, &translate);
            let now = SystemTime::now();
            let calls = queries.iter().map(|q| {
                let at = q.offset.map(|o| now - Duration::from_millis(o.as_millis()));
                self.client.query(&q.expr, at, false)
            });
            let results = futures::future::join_all(calls).await;
            let mut fetched = Fetched {
                queries: queries.len() as u32,
                values: BTreeMap::new(),
            };
            let mut first_error = None;
            let mut ok = 0;
            for (q, r) in queries.iter().zip(results) {
                match r {
                    Ok(resp) => {
                        ok += 1;
                        let Some(fig) = figure_for_key(q.key) else {
                            continue;
                        };
                        for s in resp.data.as_vector() {
                            if let Some(model) = s.labels.get(MODEL_LABEL) {
                                let key = ModelKey {
                                    namespace: req
                                        .by_namespace()
                                        .then(|| {
                                            s.labels.get(NAMESPACE_LABEL).map(|v| v.to_string())
                                        })
                                        .flatten(),
                                    model: model.to_string(),
                                };
                                fetched.values.entry(key).or_default().insert(fig, s.value);
                            }
                        }
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            match first_error {
                // Every query failed: say why. Some failed: keep what answered.
                Some(e) if ok == 0 => {
                    let unreachable = matches!(
                        e,
                        infermon_prom::Error::ConnectionRefused { .. }
                            | infermon_prom::Error::Connect { .. }
                            | infermon_prom::Error::Dns { .. }
                            | infermon_prom::Error::RequestTimeout { .. }
                            | infermon_prom::Error::Transport { .. }
                    );
                    Err(if unreachable {
                        EnrichError::Unreachable(e.to_string())
                    } else {
                        EnrichError::Query(e.to_string())
                    })
                }
                Some(e) => {
                    tracing::warn!(error = %e, "Some context queries failed; delivering the figures that answered.");
                    Ok(fetched)
                }
                None => Ok(fetched),
            }
        })
    }

    fn reachable(&self) -> BoxFuture<'_, bool> {
        Box::pin(async move { self.client.buildinfo().await.is_ok() })
    }
}

/// The context source for a config: Prometheus at `prometheus_url`, unless enrichment is disabled.
pub fn source_for(config: &Config) -> Option<Arc<dyn ContextSource>> {
    if !config.enrichment.enabled {
        return None;
    }
    match PromContext::new(&config.prometheus_url, config.enrichment.timeout) {
        Ok(p) => Some(Arc::new(p)),
        Err(e) => {
            tracing::error!(error = %e, "Cannot build the Prometheus client; delivering without model context.");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_figure_maps_to_one_of_ours() {
        let req = CoreRequest {
            models: vec!["m".into()],
            namespaces: vec![],
            budget_slo: None,
        };
        let qs = context_queries(&req, &infermon_core::Context::default());
        assert!(!qs.is_empty());
        for q in &qs {
            assert!(
                figure_for_key(q.key).is_some(),
                "unmapped core figure {}",
                q.key
            );
        }
    }

    #[test]
    fn hostile_model_names_are_escaped_by_core() {
        let req = CoreRequest {
            models: vec!["a\"} or vector(1) #".into(), "b|c".into()],
            namespaces: vec![],
            budget_slo: None,
        };
        for q in context_queries(&req, &infermon_core::Context::default()) {
            assert!(
                !q.expr.contains("a\"} or vector(1)"),
                "unescaped: {}",
                q.expr
            );
        }
    }
}
