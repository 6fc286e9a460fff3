//! The live model context an alert notification is enriched with: a fixed set of figures, each ONE query covering
//! every model of the notification (so the number of queries never depends on how many alerts it holds).

use crate::catalog::Concept;
use crate::duration::PromDuration;
use crate::query::{BackendChoice, MetricQuery, Query, SloQuery, SloView, Stat};
use crate::translate::{translate, Context};

/// What the enricher asks about.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextRequest {
    pub models: Vec<String>,
    pub namespaces: Vec<String>,
    /// The SLO whose remaining error budget is shown (default: 99 % of TTFTs within 0.5 s over 30 days).
    pub budget_slo: Option<SloQuery>,
}

/// One figure: an instant query grouped by `model`, evaluated `offset` in the past when set.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextQuery {
    /// Stable key, e.g. `ttft_p95`, `ttft_p95_1h_ago`.
    pub key: &'static str,
    pub label: &'static str,
    /// Grafana unit id of the value.
    pub unit: String,
    pub expr: String,
    pub offset: Option<PromDuration>,
}

const FIGURES: &[(&str, &str, Concept, Stat, Option<u64>)] = &[
    (
        "queue_depth",
        "Queue depth",
        Concept::QueueDepth,
        Stat::Current,
        None,
    ),
    (
        "running_requests",
        "Running requests",
        Concept::RunningRequests,
        Stat::Current,
        None,
    ),
    (
        "kv_cache_usage",
        "KV-cache usage",
        Concept::KvCacheUsage,
        Stat::Current,
        None,
    ),
    (
        "ttft_p95",
        "TTFT p95",
        Concept::Ttft,
        Stat::Quantile(0.95),
        None,
    ),
    (
        "ttft_p95_1h_ago",
        "TTFT p95 1 h ago",
        Concept::Ttft,
        Stat::Quantile(0.95),
        Some(3600),
    ),
    (
        "inter_token_latency_p95",
        "Inter-token p95",
        Concept::InterTokenLatency,
        Stat::Quantile(0.95),
        None,
    ),
    (
        "generation_tokens_rate",
        "Tokens/s",
        Concept::GenerationTokensRate,
        Stat::Rate,
        None,
    ),
    (
        "error_ratio",
        "Error ratio",
        Concept::ErrorRatio,
        Stat::Ratio,
        None,
    ),
];

/// The default SLO of the budget figure.
pub fn default_budget_slo() -> SloQuery {
    SloQuery {
        slo: None,
        sli: Concept::Ttft,
        threshold: Some(0.5),
        objective: 0.99,
        window: PromDuration::from_secs(30 * 24 * 3600),
        view: SloView::BudgetRemaining,
        burn_window: None,
        interpolate: false,
        models: vec![],
        namespaces: vec![],
        backend: BackendChoice::Auto,
        filters: vec![],
        group_by: vec!["model".into()],
        legend: None,
    }
}

/// The context queries for `req`: at most `FIGURES.len() + 1`, whatever the number of models. Figures no backend
/// can answer are left out.
pub fn context_queries(req: &ContextRequest, ctx: &Context) -> Vec<ContextQuery> {
    let mut out = Vec::new();
    for (key, label, concept, stat, offset) in FIGURES {
        let q = Query::Metric(MetricQuery {
            concept: *concept,
            stat: Some(*stat),
            models: req.models.clone(),
            namespaces: req.namespaces.clone(),
            backend: BackendChoice::Auto,
            filters: vec![],
            group_by: vec!["model".into()],
            legend: None,
            window: None,
        });
        if let Ok(t) = translate(&q, ctx) {
            out.extend(t.targets.into_iter().map(|t| ContextQuery {
                key,
                label,
                unit: t.unit,
                expr: t.expr,
                offset: offset.map(PromDuration::from_secs),
            }));
        }
    }
    let mut slo = req.budget_slo.clone().unwrap_or_else(default_budget_slo);
    slo.models = req.models.clone();
    slo.namespaces = req.namespaces.clone();
    slo.view = SloView::BudgetRemaining;
    slo.group_by = vec!["model".into()];
    if let Ok(t) = translate(&Query::Slo(slo), ctx) {
        out.extend(t.targets.into_iter().map(|t| ContextQuery {
            key: "error_budget_remaining",
            label: "Error budget left",
            unit: t.unit,
            expr: t.expr,
            offset: None,
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_number_of_queries_does_not_depend_on_the_number_of_models() {
        let one = ContextRequest {
            models: vec!["a".into()],
            namespaces: vec![],
            budget_slo: None,
        };
        let many = ContextRequest {
            models: (0..1000).map(|i| format!("model-{i}")).collect(),
            namespaces: vec![],
            budget_slo: None,
        };
        let ctx = Context::default();
        assert_eq!(
            context_queries(&one, &ctx).len(),
            context_queries(&many, &ctx).len()
        );
        assert_eq!(context_queries(&one, &ctx).len(), FIGURES.len() + 1);
    }
}
