//! Targets of the Prometheus-only variant: the same definitions, answered from infermon's recorded series only
//! (`core::translate::recorded` and the SLO records of `core::rules::slo`), for users who cannot install plugins.
//!
//! Metric targets go through the real translator with `recording_rules: true`; a result that still reads a raw
//! server metric (a concept or grouping no rule records) is refused, so the panel says it needs the plugin instead
//! of silently querying series that may not exist. The model and namespace filters are written with placeholders
//! and then turned into Grafana's `=~"$model"` multi-value matchers.

use super::def::TargetDef;
use crate::catalog::{support, Backend, Concept, Support};
use crate::query::{BackendChoice, MetricQuery, Query, SloView};
use crate::rules::slo::{error_ratio_record, BUDGET_RECORD};
use crate::translate::{translate, Context, FLEET_COLUMNS};

/// The recorded series the `$namespace` / `$model` variables list values from (every backend has it).
pub const VARIABLE_SERIES: &str = "namespace_model:inference_running_requests:sum";

const MODEL_PLACEHOLDER: &str = "__infermon_model__";
const NAMESPACE_PLACEHOLDER: &str = "__infermon_namespace__";

/// One PromQL target of the Prometheus-only variant.
#[derive(Debug, Clone, PartialEq)]
pub struct PromTarget {
    pub expr: String,
    pub legend: String,
    pub instant: bool,
    /// The fleet column this target fills (fleet tables only).
    pub column: Option<String>,
}

/// Every raw metric name any backend exposes, from the catalog.
fn raw_names() -> Vec<&'static str> {
    let mut out = Vec::new();
    for &c in Concept::ALL {
        for b in Backend::ALL {
            if let Support::Supported { source, .. } = support(c, b) {
                out.extend(source.metric_names());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// True when `expr` reads recorded series only.
pub fn reads_only_recorded(expr: &str) -> bool {
    expr.contains("namespace_model:") && !raw_names().iter().any(|n| expr.contains(n))
}

fn scoped(expr: String) -> Option<String> {
    let out = expr
        .replace(
            &format!("model=\"{MODEL_PLACEHOLDER}\""),
            "model=~\"$model\"",
        )
        .replace(
            &format!("namespace=\"{NAMESPACE_PLACEHOLDER}\""),
            "namespace=~\"$namespace\"",
        );
    (!out.contains(MODEL_PLACEHOLDER) && !out.contains(NAMESPACE_PLACEHOLDER)).then_some(out)
}

/// A metric query answered from recorded series, trying the panel's grouping first and then the recorded
/// `namespace, model` level (where quantiles are recorded).
fn recorded_metric(
    concept: Concept,
    stat: crate::query::Stat,
    group_by: &[&str],
) -> Option<String> {
    let ctx = Context {
        recording_rules: true,
        ..Context::default()
    };
    let mut groupings = vec![group_by.to_vec()];
    if group_by.iter().all(|l| *l == "model" || *l == "namespace") {
        groupings.push(vec!["namespace", "model"]);
    }
    for g in groupings {
        let q = Query::Metric(MetricQuery {
            concept,
            stat: Some(stat),
            models: vec![MODEL_PLACEHOLDER.into()],
            namespaces: vec![NAMESPACE_PLACEHOLDER.into()],
            backend: BackendChoice::Auto,
            filters: vec![],
            group_by: g.iter().map(|s| s.to_string()).collect(),
            legend: None,
            window: None,
        });
        let Ok(t) = translate(&q, &ctx) else { continue };
        let Some(target) = t.targets.into_iter().next() else {
            continue;
        };
        if reads_only_recorded(&target.expr) {
            return scoped(target.expr);
        }
    }
    None
}

/// The targets of `t` in the Prometheus-only variant; `None` when no recorded series answers it.
pub fn prometheus_targets(t: &TargetDef) -> Option<Vec<PromTarget>> {
    match t {
        TargetDef::Metric {
            concept,
            stat,
            group_by,
            legend,
        } => {
            let expr = recorded_metric(*concept, *stat, group_by)?;
            let legend = legend.clone().unwrap_or_else(|| {
                group_by
                    .iter()
                    .map(|l| format!("{{{{{l}}}}}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            });
            Some(vec![PromTarget {
                expr,
                legend,
                instant: false,
                column: None,
            }])
        }
        TargetDef::Slo {
            slo,
            view,
            burn_window,
            legend,
        } => {
            let sel = |record: &str| {
                format!(
                    "{record}{{slo=\"{}\",namespace=~\"$namespace\",model=~\"$model\"}}",
                    slo.name
                )
            };
            let budget =
                crate::promql::format_number(((1.0 - slo.objective) * 1e12).round() / 1e12);
            let expr = match view {
                SloView::Attainment => {
                    format!("1 - {}", sel(&error_ratio_record(&slo.window.to_string())))
                }
                SloView::BudgetRemaining => sel(BUDGET_RECORD),
                SloView::BurnRate => {
                    let w = burn_window.unwrap_or("1h");
                    if !crate::rules::slo::SLI_WINDOWS.contains(&w) {
                        return None;
                    }
                    format!("{} / {budget}", sel(&error_ratio_record(w)))
                }
            };
            Some(vec![PromTarget {
                expr,
                legend: legend.clone().unwrap_or_else(|| "{{model}}".into()),
                instant: false,
                column: None,
            }])
        }
        TargetDef::Fleet => {
            let mut out = Vec::new();
            for (key, concept, stat) in FLEET_COLUMNS {
                if let Some(expr) = recorded_metric(*concept, *stat, &["namespace", "model"]) {
                    out.push(PromTarget {
                        expr,
                        legend: String::new(),
                        instant: true,
                        column: Some(key.to_string()),
                    });
                }
            }
            (!out.is_empty()).then_some(out)
        }
    }
}
