//! infermon's recording rules as the translator sees them: what each recorded series holds, its name, the raw
//! expression that records it, and when a query can read it instead of raw series.
//!
//! Names follow Prometheus's `level:metric:operations` convention with the uniform labels `namespace` and `model`:
//! `namespace_model:inference_ttft_seconds:p95_rate5m`. The full table is in `docs/rules.md`. Recorded series are
//! backend-agnostic: one name covers vLLM, TGI, SGLang and llama.cpp models alike.
//!
//! SLO queries that name their SLO (`"slo": "ttft-500ms"`) read the SLO records (named below, written by `core::rules::slo`) instead:
//! `namespace_model:inference_slo_errors:ratio_rate<window>{slo="…"}` holds the events-weighted error ratio per
//! namespace and model, so every view is one arithmetic step from it ([`try_recorded_slo`]). Being ratios, these
//! records cannot be re-aggregated to a coarser level (an average of ratios is not the ratio of the sums), so they
//! are read only where each output series is exactly one record series.

use super::build::Build;
use super::scope::Selectors;
use super::{Context, Severity};
use crate::catalog::names::labels;
use crate::catalog::{support, Backend, Concept, Source, Support};
use crate::duration::PromDuration;
use crate::promql::{AggOp, BinOp, Expr, Matcher, Selector};
use crate::query::{BackendChoice, MetricQuery, Query, SloQuery, SloView, Stat};
use std::ops::{Div, Mul, Sub};

/// Every recorded series name starts with this (detection of infermon's rules on an engine).
pub const RECORD_PREFIX: &str = "namespace_model:inference_";

/// The window every recorded rate uses.
pub const RECORD_WINDOW: PromDuration = PromDuration::from_secs(300);
/// The output labels of every recorded series (plus `le` for buckets).
pub const RECORD_LEVEL: [&str; 2] = [labels::NAMESPACE, labels::MODEL];
/// Quantiles recorded for latency concepts.
pub const RECORDED_QUANTILES: [f64; 4] = [0.5, 0.9, 0.95, 0.99];

/// The SLI windows recorded for every SLO.
pub const SLI_WINDOWS: [&str; 7] = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

/// Every recorded SLI error ratio is named this plus its window (`5m`, …, or the SLO window, as
/// [`PromDuration`] prints it: `30d`). Written by the SLO rules (`rules::slo`), read by the translator for SLO queries
/// that name their SLO, and by detection, which lists the SLOs and windows an engine records.
pub const ERROR_RATIO_RECORD_PREFIX: &str = "namespace_model:inference_slo_errors:ratio_rate";

/// The label carrying the SLO's name on every SLO record and alert.
pub const SLO_LABEL: &str = "slo";

/// Name of the recorded SLI error ratio over `window` (`5m`, …, or the SLO window).
pub fn error_ratio_record(window: &str) -> String {
    format!("{ERROR_RATIO_RECORD_PREFIX}{window}")
}

/// The window of a recorded SLI error ratio from its name (`…:ratio_rate30d` → 30d); `None` for other names.
pub fn error_ratio_record_window(name: &str) -> Option<PromDuration> {
    name.strip_prefix(ERROR_RATIO_RECORD_PREFIX)?.parse().ok()
}

/// The recorded error budget remaining of every SLO over its whole window.
pub const BUDGET_RECORD: &str = "namespace_model:inference_slo_error_budget_remaining:ratio";

/// One recorded series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Recorded {
    /// `sum by (namespace, model) (rate(counter[5m]))`.
    Rate(Concept),
    /// A gauge aggregated per model (sum for counts, max for pressure).
    Gauge(Concept),
    /// Histogram bucket rates `sum by (le, namespace, model)`, from which any quantile can be computed.
    Buckets(Concept),
    Quantile(Concept, f64),
    /// Numerator and denominator rates of a ratio concept, so ratios can be re-aggregated correctly.
    Numerator(Concept),
    Denominator(Concept),
    Ratio(Concept),
}

const RATES: [Concept; 4] = [
    Concept::GenerationTokensRate,
    Concept::PromptTokensRate,
    Concept::RequestRate,
    Concept::PreemptionRate,
];
const GAUGES: [Concept; 3] = [
    Concept::QueueDepth,
    Concept::RunningRequests,
    Concept::KvCacheUsage,
];
const LATENCIES: [Concept; 4] = [
    Concept::Ttft,
    Concept::InterTokenLatency,
    Concept::E2eLatency,
    Concept::QueueTime,
];
const RATIOS: [Concept; 2] = [Concept::ErrorRatio, Concept::PrefixCacheHitRate];

/// Every recorded series, in rule-file order.
pub fn all() -> Vec<Recorded> {
    let mut out: Vec<Recorded> = RATES.iter().map(|c| Recorded::Rate(*c)).collect();
    out.extend(GAUGES.iter().map(|c| Recorded::Gauge(*c)));
    for c in LATENCIES {
        out.push(Recorded::Buckets(c));
        out.extend(RECORDED_QUANTILES.iter().map(|q| Recorded::Quantile(c, *q)));
    }
    for c in RATIOS {
        out.extend([
            Recorded::Numerator(c),
            Recorded::Denominator(c),
            Recorded::Ratio(c),
        ]);
    }
    out
}

fn metric_stem(c: Concept) -> &'static str {
    match c {
        Concept::GenerationTokensRate => "inference_generation_tokens",
        Concept::PromptTokensRate => "inference_prompt_tokens",
        Concept::RequestRate => "inference_requests",
        Concept::PreemptionRate => "inference_preemptions",
        Concept::Ttft => "inference_ttft_seconds",
        Concept::InterTokenLatency => "inference_inter_token_latency_seconds",
        Concept::E2eLatency => "inference_e2e_latency_seconds",
        Concept::QueueTime => "inference_queue_time_seconds",
        Concept::ErrorRatio => "inference_errors",
        Concept::PrefixCacheHitRate => "inference_prefix_cache_hits",
        other => other.id(),
    }
}

impl Recorded {
    /// The recorded series name.
    pub fn name(self) -> String {
        let level = "namespace_model";
        match self {
            Recorded::Rate(c) => format!("{level}:{}:rate5m", metric_stem(c)),
            Recorded::Gauge(c) => {
                let op = match c.gauge_aggregation() {
                    crate::catalog::GaugeAggregation::Sum => "sum",
                    crate::catalog::GaugeAggregation::Max => "max",
                    crate::catalog::GaugeAggregation::Avg => "avg",
                };
                format!("{level}:inference_{}:{op}", c.id())
            }
            Recorded::Buckets(c) => format!("{level}:{}_bucket:rate5m", metric_stem(c)),
            Recorded::Quantile(c, q) => {
                format!("{level}:{}:p{}_rate5m", metric_stem(c), (q * 100.0).round())
            }
            Recorded::Numerator(c) => format!("{level}:{}:rate5m", metric_stem(c)),
            Recorded::Denominator(c) => match c {
                Concept::ErrorRatio => format!("{level}:inference_finished_requests:rate5m"),
                _ => format!("{level}:inference_prefix_cache_queries:rate5m"),
            },
            Recorded::Ratio(c) => format!("{level}:{}:ratio_rate5m", metric_stem(c)),
        }
    }

    pub fn concept(self) -> Concept {
        match self {
            Recorded::Rate(c)
            | Recorded::Gauge(c)
            | Recorded::Buckets(c)
            | Recorded::Quantile(c, _)
            | Recorded::Numerator(c)
            | Recorded::Denominator(c)
            | Recorded::Ratio(c) => c,
        }
    }

    /// The raw expression that records this series, across every backend. `None` if no backend provides it.
    pub fn expr(self) -> Option<String> {
        let ctx = Context {
            rate_window: RECORD_WINDOW,
            ..Context::default()
        };
        let level: Vec<String> = RECORD_LEVEL.iter().map(|s| s.to_string()).collect();
        let metric = |concept, stat| {
            let q = Query::Metric(MetricQuery {
                concept,
                stat: Some(stat),
                models: vec![],
                namespaces: vec![],
                backend: BackendChoice::Auto,
                filters: vec![],
                group_by: level.clone(),
                legend: None,
                window: None,
            });
            super::translate(&q, &ctx)
                .ok()?
                .targets
                .into_iter()
                .next()
                .map(|t| t.expr)
        };
        match self {
            Recorded::Rate(c) => metric(c, Stat::Rate),
            Recorded::Gauge(c) => metric(c, Stat::Current),
            Recorded::Quantile(c, q) => metric(c, Stat::Quantile(q)),
            Recorded::Ratio(c) => metric(c, Stat::Ratio),
            Recorded::Buckets(c) => per_backend(&ctx, &level, c, |b, source| match source {
                Source::Histogram(h) => b.bucket_rates(h),
                _ => None,
            }),
            Recorded::Numerator(c) => per_backend(&ctx, &level, c, |b, source| match source {
                Source::CounterRatio { numerator, .. } => b.rate_sum(numerator, ""),
                _ => None,
            }),
            Recorded::Denominator(c) => per_backend(&ctx, &level, c, |b, source| match source {
                Source::CounterRatio { denominator, .. } => b.rate_sum(denominator, ""),
                _ => None,
            }),
        }
    }
}

fn per_backend(
    ctx: &Context,
    level: &[String],
    concept: Concept,
    f: impl Fn(&Build<'_>, &Source) -> Option<Expr>,
) -> Option<String> {
    let scope_models: Vec<String> = vec![];
    let exprs: Vec<Expr> = Backend::ALL
        .into_iter()
        .filter_map(|backend| {
            let Support::Supported { source, .. } = support(concept, backend) else {
                return None;
            };
            let scope = crate::query::Scope {
                models: &scope_models,
                namespaces: &scope_models,
                backend: BackendChoice::Auto,
                filters: &[],
            };
            let sel = Selectors::new(backend, ctx, scope, level);
            let build = Build {
                sel: &sel,
                group_by: level,
                window: ctx.rate_window,
                concept,
            };
            f(&build, &source)
        })
        .collect();
    (!exprs.is_empty()).then(|| Expr::or_all(exprs).to_string())
}

/// Reads recorded series for `q` when infermon's rules are loaded and the query asks for exactly what they hold:
/// the default window, no free filters, grouping by `namespace` and/or `model`. `None`: use raw series.
pub(super) fn try_recorded(q: &MetricQuery, stat: Stat, ctx: &Context) -> Option<String> {
    if !ctx.recording_rules
        || q.window.is_some()
        || !q.filters.is_empty()
        || q.backend != BackendChoice::Auto
        || !q
            .group_by
            .iter()
            .all(|l| RECORD_LEVEL.contains(&l.as_str()))
    {
        return None;
    }
    let mut matchers = Vec::new();
    if !q.models.is_empty() {
        matchers.push(Matcher::any_of(labels::MODEL, &q.models));
    }
    if !q.namespaces.is_empty() {
        matchers.push(Matcher::any_of(labels::NAMESPACE, &q.namespaces));
    }
    let sel = |r: Recorded| Expr::vector(Selector::new(r.name()).with_all(matchers.clone()));
    let by = &q.group_by;
    let c = q.concept;
    let expr = match stat {
        Stat::Rate if RATES.contains(&c) => Expr::agg(AggOp::Sum, by, sel(Recorded::Rate(c))),
        Stat::Current if GAUGES.contains(&c) => {
            let op = if c.gauge_aggregation() == crate::catalog::GaugeAggregation::Max {
                AggOp::Max
            } else {
                AggOp::Sum
            };
            Expr::agg(op, by, sel(Recorded::Gauge(c)))
        }
        Stat::Quantile(p) if LATENCIES.contains(&c) => {
            let level_grouping = by.len() == 2;
            if level_grouping && RECORDED_QUANTILES.contains(&p) {
                sel(Recorded::Quantile(c, p))
            } else {
                let mut le_by = vec![labels::LE.to_string()];
                le_by.extend(by.iter().cloned());
                let from_buckets = Expr::histogram_quantile(
                    p,
                    Expr::agg(AggOp::Sum, &le_by, sel(Recorded::Buckets(c))),
                );
                if c != Concept::Ttft {
                    from_buckets
                } else if RECORDED_QUANTILES.contains(&p) {
                    // TGI's TTFT is approximated from two histograms and has no bucket record: add its models from
                    // the per-(namespace, model) quantile record (`or` only adds models the buckets lack).
                    Expr::binary(
                        BinOp::Or,
                        from_buckets,
                        Expr::agg(AggOp::Max, by, sel(Recorded::Quantile(c, p))),
                    )
                } else {
                    return None;
                }
            }
        }
        Stat::Ratio if RATIOS.contains(&c) => {
            let num = Expr::agg(AggOp::Sum, by, sel(Recorded::Numerator(c)));
            let den = Expr::agg(AggOp::Sum, by, sel(Recorded::Denominator(c)));
            Expr::binary(BinOp::Or, num, Expr::Number(0.0).mul(den.clone())).div(Expr::binary(
                BinOp::Gt,
                den,
                Expr::Number(0.0),
            ))
        }
        _ => return None,
    };
    Some(expr.to_string())
}

/// Why an SLO query naming its SLO is still computed from raw series: a warning when the engine does not record
/// the SLO at all (a misspelt name, or rules from another spec), else information.
fn slo_fallback(
    q: &SloQuery,
    name: &str,
    window: PromDuration,
    ctx: &Context,
) -> Option<(Severity, String)> {
    let info = |s: String| Some((Severity::Info, s));
    if !q.filters.is_empty() {
        return info("label filters apply to raw series only".into());
    }
    let level_or_pinned = |l: &str| {
        q.group_by.iter().any(|g| g == l)
            || match l {
                labels::NAMESPACE => q.namespaces.len() == 1,
                _ => q.models.len() == 1,
            }
    };
    if !q
        .group_by
        .iter()
        .all(|l| RECORD_LEVEL.contains(&l.as_str()))
        || !RECORD_LEVEL.iter().all(|l| level_or_pinned(l))
    {
        let by = if q.group_by.is_empty() {
            "one fleet-wide series".to_string()
        } else {
            format!("grouping by {}", q.group_by.join(", "))
        };
        return info(format!(
            "its records hold one error ratio per namespace and model, and ratios cannot be re-aggregated into {by} \
             (group by namespace and model, or select a single namespace and model, to read them)"
        ));
    }
    let record = error_ratio_record(&window.to_string());
    match &ctx.slo_records {
        Some(slos) => match slos.get(name) {
            None => {
                let known: Vec<&str> = slos.keys().map(String::as_str).collect();
                return Some((
                    Severity::Warning,
                    format!(
                        "the rules on this engine record no SLO named {name:?} (recorded: {})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
            Some(windows) if !windows.contains(&window) => {
                let w: Vec<String> = windows.iter().map(|w| w.to_string()).collect();
                return info(format!(
                    "its error ratio is not recorded over {window} (recorded: {})",
                    w.join(", ")
                ));
            }
            Some(_) => {}
        },
        None => {
            // Unknown to detection: the rules record the SLI windows and the SLO's own window (the query's).
            let recorded = SLI_WINDOWS.contains(&window.to_string().as_str()) || window == q.window;
            let absent = ctx
                .present_metrics
                .as_ref()
                .is_some_and(|names| !names.contains(&record));
            if !recorded || absent {
                return info(format!("its error ratio is not recorded over {window}"));
            }
        }
    }
    None
}

/// The SLO records' answer to `q` when it names its SLO, infermon's rules are loaded, and the records answer it
/// exactly: no free filters; grouping ⊆ {namespace, model}, every record-level label not grouped by pinned to one
/// value (so each output series is one record series: ratios cannot be summed); the window recorded.
///
/// `Ok(None)`: the query does not ask for records. `Err(notice)`: it does, but raw series must answer, and the
/// notice says why.
pub(super) fn try_recorded_slo(
    q: &SloQuery,
    ctx: &Context,
) -> Result<Option<Expr>, (Severity, String)> {
    let Some(name) = q.slo.as_deref() else {
        return Ok(None);
    };
    if !ctx.recording_rules {
        return Ok(None);
    }
    let window = match q.view {
        SloView::BurnRate => q.burn_window.unwrap_or(PromDuration::from_secs(3600)),
        SloView::Attainment | SloView::BudgetRemaining => q.window,
    };
    if let Some((severity, reason)) = slo_fallback(q, name, window, ctx) {
        return Err((
            severity,
            format!("SLO {name:?} computed from raw series, not from its recorded error ratios: {reason}."),
        ));
    }
    let mut matchers = vec![Matcher::eq(SLO_LABEL, name)];
    if !q.namespaces.is_empty() {
        matchers.push(Matcher::any_of(labels::NAMESPACE, &q.namespaces));
    }
    if !q.models.is_empty() {
        matchers.push(Matcher::any_of(labels::MODEL, &q.models));
    }
    // One record series per output series (checked above): `sum by` only sets the output labels to the grouping,
    // as the raw translation's.
    let ratio = Expr::agg(
        AggOp::Sum,
        &q.group_by,
        Expr::vector(Selector::new(error_ratio_record(&window.to_string())).with_all(matchers)),
    );
    let budget = super::error_budget(q.objective);
    Ok(Some(match q.view {
        SloView::Attainment => Expr::Number(1.0).sub(ratio),
        SloView::BudgetRemaining => Expr::Number(1.0).sub(ratio.div(Expr::Number(budget))),
        SloView::BurnRate => ratio.div(Expr::Number(budget)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_recorded_series_has_an_expression_and_a_unique_name() {
        let all = all();
        let mut names: Vec<String> = all.iter().map(|r| r.name()).collect();
        for r in &all {
            assert!(r.expr().is_some(), "{}", r.name());
        }
        assert!(names.iter().all(|n| n.starts_with(RECORD_PREFIX)));
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
    }
}
