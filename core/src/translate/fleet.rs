//! Fleet tables: one row per model with its current key figures, each column an instant query.

use super::{metric, Context, Severity, Target, TranslateError, Translation};
use crate::catalog::Concept;
use crate::query::{FleetQuery, MetricQuery, Query, Stat};

/// The columns of a fleet table: (key, concept, statistic).
pub const FLEET_COLUMNS: &[(&str, Concept, Stat)] = &[
    ("request_rate", Concept::RequestRate, Stat::Rate),
    (
        "generation_tokens_rate",
        Concept::GenerationTokensRate,
        Stat::Rate,
    ),
    ("ttft_p95", Concept::Ttft, Stat::Quantile(0.95)),
    (
        "inter_token_latency_p95",
        Concept::InterTokenLatency,
        Stat::Quantile(0.95),
    ),
    ("e2e_latency_p95", Concept::E2eLatency, Stat::Quantile(0.95)),
    ("queue_depth", Concept::QueueDepth, Stat::Current),
    ("running_requests", Concept::RunningRequests, Stat::Current),
    ("kv_cache_usage", Concept::KvCacheUsage, Stat::Current),
    ("preemption_rate", Concept::PreemptionRate, Stat::Rate),
    ("error_ratio", Concept::ErrorRatio, Stat::Ratio),
];

pub(super) fn translate(q: &FleetQuery, ctx: &Context) -> Result<Translation, TranslateError> {
    let mut out = Translation {
        targets: Vec::new(),
        notices: Vec::new(),
        approximate: false,
    };
    for (key, concept, stat) in FLEET_COLUMNS {
        let column = MetricQuery {
            concept: *concept,
            stat: Some(*stat),
            models: q.models.clone(),
            namespaces: q.namespaces.clone(),
            backend: q.backend,
            filters: q.filters.clone(),
            group_by: vec![crate::catalog::names::labels::MODEL.to_string()],
            legend: None,
            window: None,
        };
        debug_assert!(Query::Metric(column.clone()).validate().is_ok());
        match metric::translate(&column, ctx) {
            Ok(t) => {
                out.approximate |= t.approximate;
                for n in t.notices {
                    out.notice(n.severity, format!("{}: {}", concept.label(), n.text));
                }
                out.targets
                    .extend(t.targets.into_iter().map(|target| Target {
                        key: key.to_string(),
                        instant: true,
                        legend: concept.label().to_string(),
                        ..target
                    }));
            }
            Err(e) => out.notice(Severity::Info, format!("{}: {e}", concept.label())),
        }
    }
    Ok(out)
}
