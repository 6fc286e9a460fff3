//! The live model context an alert notification is enriched with: a fixed set of figures, each ONE query covering
//! every model of the notification (so the number of queries never depends on how many alerts it holds).
//!
//! The budget figure is the default spec's `ttft-500ms` SLO by name, grouped at its records' level when the request
//! does not pin one namespace: a context with infermon's recording rules loaded (`Context::recording_rules`) then
//! reads the SLO's recorded 30-day error ratio (one sample per model) instead of 30 days of raw buckets.

use crate::catalog::names::labels;
use crate::catalog::Concept;
use crate::duration::PromDuration;
use crate::query::{BackendChoice, MetricQuery, Query, SloQuery, SloView, Stat};
use crate::rules::spec::default_spec;
use crate::translate::{translate, Context};

/// What the enricher asks about.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextRequest {
    pub models: Vec<String>,
    pub namespaces: Vec<String>,
    /// The SLO whose remaining error budget is shown (default: [`DEFAULT_BUDGET_SLO`] of the default spec, 99 % of
    /// TTFTs within 0.5 s over 30 days).
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

/// The default spec's SLO whose budget the context shows.
pub const DEFAULT_BUDGET_SLO: &str = "ttft-500ms";

/// The default SLO of the budget figure: [`DEFAULT_BUDGET_SLO`] as the default spec defines it (SLI, threshold,
/// objective, window, backends), named so that its records answer when infermon's rules are loaded, grouped by
/// namespace and model (the records' level: an error ratio cannot be re-aggregated across namespaces).
pub fn default_budget_slo() -> SloQuery {
    let spec = default_spec();
    let slo = spec
        .slos
        .iter()
        .find(|s| s.name == DEFAULT_BUDGET_SLO)
        .expect("the default spec defines the context's budget SLO");
    SloQuery {
        slo: Some(slo.name.clone()),
        sli: slo.sli,
        threshold: slo.threshold,
        objective: slo.objective,
        window: slo.window,
        view: SloView::BudgetRemaining,
        burn_window: None,
        interpolate: false,
        models: slo.models.clone(),
        namespaces: vec![],
        backend: match slo.backends.as_slice() {
            [one] => BackendChoice::from_backend(*one),
            _ => BackendChoice::Auto,
        },
        filters: vec![],
        group_by: record_level_grouping(&[]),
        legend: None,
    }
}

/// Grouping of an SLO figure that keeps one series per model and lets the SLO records answer: by `model` when the
/// request pins one namespace (each model's series is then one record series), else by namespace and model (a
/// model's budget in two namespaces is two budgets, as its alerts are).
fn record_level_grouping(namespaces: &[String]) -> Vec<String> {
    if namespaces.len() == 1 {
        vec![labels::MODEL.into()]
    } else {
        vec![labels::NAMESPACE.into(), labels::MODEL.into()]
    }
}

/// Grouping of a metric figure: one series per model, or per (namespace, model) when the request names several
/// namespaces (the same model deployed in two namespaces has two queues, caches and latencies; summing them would
/// describe neither). Without a namespace the model is taken across namespaces, as the alert does.
fn figure_grouping(namespaces: &[String]) -> Vec<String> {
    if namespaces.len() > 1 {
        vec![labels::NAMESPACE.into(), labels::MODEL.into()]
    } else {
        vec![labels::MODEL.into()]
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
            group_by: figure_grouping(&req.namespaces),
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
    slo.group_by = record_level_grouping(&req.namespaces);
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
        let rules = Context {
            recording_rules: true,
            ..Context::default()
        };
        assert_eq!(context_queries(&many, &rules).len(), FIGURES.len() + 1);
    }

    #[test]
    fn figures_are_per_namespace_and_model_when_the_alerts_span_several_namespaces() {
        let req = |namespaces: &[&str]| ContextRequest {
            models: vec!["llama".into()],
            namespaces: namespaces.iter().map(|n| n.to_string()).collect(),
            budget_slo: None,
        };
        for ctx in [
            Context::default(),
            Context {
                recording_rules: true,
                ..Context::default()
            },
        ] {
            for q in context_queries(&req(&["prod", "staging"]), &ctx) {
                // Aggregated by (…, namespace, model), or a (namespace, model)-level record read as is.
                let per_namespace = q.expr.contains("namespace, model)")
                    || (q.expr.starts_with("namespace_model:") && !q.expr.contains(" by ("));
                assert!(
                    per_namespace && !q.expr.contains("by (model)"),
                    "{}: {}",
                    q.key,
                    q.expr
                );
                assert!(q.expr.contains("prod|staging"), "{}: {}", q.key, q.expr);
            }
            for q in context_queries(&req(&["prod"]), &ctx) {
                if q.key != "error_budget_remaining" {
                    assert!(
                        !q.expr.contains("namespace, model"),
                        "{}: {}",
                        q.key,
                        q.expr
                    );
                }
            }
        }
    }

    fn budget(req: &ContextRequest, ctx: &Context) -> String {
        let q = context_queries(req, ctx);
        let b: Vec<_> = q
            .iter()
            .filter(|q| q.key == "error_budget_remaining")
            .collect();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].unit, "percentunit");
        b[0].expr.clone()
    }

    #[test]
    fn the_budget_reads_the_default_slos_records_when_the_rules_are_loaded() {
        let rules = Context {
            recording_rules: true,
            ..Context::default()
        };
        // No namespace pinned: grouped at the records' level (namespace, model).
        let req = ContextRequest {
            models: vec!["a".into(), "b".into()],
            namespaces: vec![],
            budget_slo: None,
        };
        let expr = budget(&req, &rules);
        assert!(
            expr.contains("namespace_model:inference_slo_errors:ratio_rate30d{")
                && expr.contains("slo=\"ttft-500ms\"")
                && expr.contains("sum by (namespace, model)"),
            "{expr}"
        );
        assert!(!expr.contains("_bucket"), "{expr}");
        // One namespace pinned: one record series per model, grouped by model like the other figures.
        let pinned = ContextRequest {
            namespaces: vec!["prod".into()],
            ..req.clone()
        };
        let expr = budget(&pinned, &rules);
        assert!(
            expr.contains("ratio_rate30d{") && expr.contains("sum by (model)"),
            "{expr}"
        );
        // Without the rules: the same SLO from raw vLLM buckets (the default spec covers vLLM only).
        let raw = budget(&req, &Context::default());
        assert!(
            raw.contains("vllm:time_to_first_token_seconds_bucket")
                && !raw.contains("ratio_rate30d"),
            "{raw}"
        );
        assert!(!raw.contains("sglang") && !raw.contains("tgi_"), "{raw}");
    }

    #[test]
    fn the_default_budget_slo_is_the_default_specs() {
        let q = default_budget_slo();
        let spec = default_spec();
        let slo = spec
            .slos
            .iter()
            .find(|s| s.name == DEFAULT_BUDGET_SLO)
            .unwrap();
        assert_eq!(q.slo.as_deref(), Some(DEFAULT_BUDGET_SLO));
        assert_eq!(
            (q.sli, q.threshold, q.objective, q.window),
            (slo.sli, slo.threshold, slo.objective, slo.window)
        );
        assert_eq!(q.group_by, vec!["namespace", "model"]);
    }
}
