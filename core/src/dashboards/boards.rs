//! The three dashboards as definitions: Inference overview (the fleet), Model detail (one model: why), and SLOs
//! and error budgets. Each panel states the question it answers; docs/dashboards.md is generated from the same
//! list and checked by a test.

use super::def::*;
use crate::catalog::Concept as C;
use crate::query::{SloView, Stat};
use crate::rules::slo::{can_fire, BURN_WINDOWS};
use crate::rules::spec::{Slo, SloSpec};

pub const OVERVIEW_UID: &str = "infermon-overview";
pub const DETAIL_UID: &str = "infermon-model-detail";
pub const SLOS_UID: &str = "infermon-slos";

const P50: Stat = Stat::Quantile(0.5);
const P90: Stat = Stat::Quantile(0.9);
const P95: Stat = Stat::Quantile(0.95);
const P99: Stat = Stat::Quantile(0.99);

/// Thresholds of a latency panel from the spec's SLO on that concept, if any.
fn slo_steps(spec: &SloSpec, c: C) -> Vec<Step> {
    spec.slos
        .iter()
        .find(|s| s.sli == c)
        .and_then(|s| s.threshold)
        .map(latency_steps)
        .unwrap_or_default()
}

fn percent(p: Stat) -> String {
    p.id()
}

pub fn overview(spec: &SloSpec) -> DashboardDef {
    use PanelKind::{BarGauge, Table, Timeseries};
    let mut slo_row = Vec::new();
    for s in &spec.slos {
        slo_row.push(
            PanelDef::new(
                PanelKind::Stat,
                format!("{}: attainment", s.name),
                format!(
                    "Is the SLO \"{}\" met over its {} window, per model?",
                    slo_text(s),
                    s.window
                ),
            )
            .unit("percentunit")
            .size(4, 5)
            .thresholds(&attainment_steps(s.objective))
            .drilldown(SLOS_UID)
            .no_value_text(slo_no_value(s))
            .target(slo(s, SloView::Attainment, None, Some("{{model}}"))),
        );
        slo_row.push(
            PanelDef::new(
                BarGauge,
                format!("{}: budget left", s.name),
                format!(
                    "How much of the {} error budget of \"{}\" is left, per model (1 = untouched, 0 = spent)?",
                    s.window,
                    slo_text(s)
                ),
            )
            .unit("percentunit")
            .size(4, 5)
            .range(Some(-0.5), Some(1.0))
            .thresholds(BUDGET_STEPS)
            .drilldown(SLOS_UID)
            .no_value_text(slo_no_value(s))
            .target(slo(s, SloView::BudgetRemaining, None, Some("{{model}}"))),
        );
    }
    DashboardDef {
        uid: OVERVIEW_UID,
        title: "Inference overview",
        description: "Is inference healthy, for which model is it not, and why: the whole fleet at a glance.",
        tags: &["infermon", "inference"],
        time_from: "now-3h",
        single_model: false,
        links: vec![(DETAIL_UID, "Model detail"), (SLOS_UID, "SLOs and error budgets")],
        rows: vec![
            RowDef {
                title: "Fleet".into(),
                panels: vec![PanelDef::new(
                    Table,
                    "Fleet",
                    "Which model is unhealthy right now? One row per model with its key figures, coloured by threshold; click a model for its detail.",
                )
                .size(24, 8)
                .drilldown(DETAIL_UID)
                .target(TargetDef::Fleet)],
            },
            RowDef {
                title: "SLO status".into(),
                panels: slo_row,
            },
            RowDef {
                title: "Traffic".into(),
                panels: vec![
                    PanelDef::new(Timeseries, "Request rate", "How many requests per second does each model serve?")
                        .concept(C::RequestRate)
                        .drilldown(DETAIL_UID)
                        .target(metric(C::RequestRate, Stat::Rate)),
                    PanelDef::new(Timeseries, "Generated tokens/s", "How many output tokens per second does each model generate?")
                        .concept(C::GenerationTokensRate)
                        .drilldown(DETAIL_UID)
                        .target(metric(C::GenerationTokensRate, Stat::Rate)),
                    PanelDef::new(Timeseries, "Prompt tokens/s", "How many prompt tokens per second does each model process?")
                        .concept(C::PromptTokensRate)
                        .drilldown(DETAIL_UID)
                        .target(metric(C::PromptTokensRate, Stat::Rate)),
                ],
            },
            RowDef {
                title: "Latency".into(),
                panels: vec![
                    PanelDef::new(Timeseries, "Time to first token p50 / p95", "How long do users wait for the first token?")
                        .concept(C::Ttft)
                        .thresholds(&slo_steps(spec, C::Ttft))
                        .drilldown(DETAIL_UID)
                        .target(metric_by(C::Ttft, P50, &["model"], "{{model}} p50"))
                        .target(metric_by(C::Ttft, P95, &["model"], "{{model}} p95")),
                    PanelDef::new(Timeseries, "Inter-token latency p95", "How smoothly do tokens stream once generation started?")
                        .concept(C::InterTokenLatency)
                        .drilldown(DETAIL_UID)
                        .target(metric(C::InterTokenLatency, P95)),
                    PanelDef::new(Timeseries, "End-to-end latency p95", "How long do whole requests take?")
                        .concept(C::E2eLatency)
                        .thresholds(&slo_steps(spec, C::E2eLatency))
                        .drilldown(DETAIL_UID)
                        .target(metric(C::E2eLatency, P95)),
                ],
            },
            RowDef {
                title: "Saturation".into(),
                panels: vec![
                    PanelDef::new(Timeseries, "Queue depth", "Are requests piling up waiting for a slot?")
                        .concept(C::QueueDepth)
                        .size(6, 8)
                        .drilldown(DETAIL_UID)
                        .target(metric(C::QueueDepth, Stat::Current)),
                    PanelDef::new(Timeseries, "Queue time p95", "How long do requests wait before they are scheduled?")
                        .concept(C::QueueTime)
                        .size(6, 8)
                        .drilldown(DETAIL_UID)
                        .target(metric(C::QueueTime, P95)),
                    PanelDef::new(Timeseries, "Running requests", "How many requests are being generated at once?")
                        .concept(C::RunningRequests)
                        .size(6, 8)
                        .drilldown(DETAIL_UID)
                        .target(metric(C::RunningRequests, Stat::Current)),
                    PanelDef::new(Timeseries, "KV-cache usage (most loaded replica)", "Is any replica about to run out of KV cache?")
                        .concept(C::KvCacheUsage)
                        .size(6, 8)
                        .range(Some(0.0), Some(1.0))
                        .thresholds(KV_STEPS)
                        .drilldown(DETAIL_UID)
                        .target(metric(C::KvCacheUsage, Stat::Current)),
                ],
            },
            RowDef {
                title: "Efficiency and errors".into(),
                panels: vec![
                    PanelDef::new(Timeseries, "Preemptions/s", "Are requests being evicted because the KV cache ran out?")
                        .concept(C::PreemptionRate)
                        .drilldown(DETAIL_UID)
                        .target(metric(C::PreemptionRate, Stat::Rate)),
                    PanelDef::new(Timeseries, "Prefix-cache hit rate", "How much prompt work does the prefix cache save?")
                        .concept(C::PrefixCacheHitRate)
                        .range(Some(0.0), Some(1.0))
                        .drilldown(DETAIL_UID)
                        .target(metric(C::PrefixCacheHitRate, Stat::Ratio)),
                    PanelDef::new(Timeseries, "Error ratio", "Which share of requests fails?")
                        .concept(C::ErrorRatio)
                        .thresholds(ERROR_STEPS)
                        .drilldown(DETAIL_UID)
                        .target(metric(C::ErrorRatio, Stat::Ratio)),
                ],
            },
        ],
    }
}

pub fn detail(spec: &SloSpec) -> DashboardDef {
    use PanelKind::Timeseries;
    let bands = |c: C, title: &str, question: &str| {
        let mut p = PanelDef::new(Timeseries, title, question)
            .concept(c)
            .thresholds(&slo_steps(spec, c));
        for q in [P50, P90, P95, P99] {
            p = p.target(metric_by(
                c,
                q,
                &["model"],
                &format!("{} {{{{model}}}}", percent(q)),
            ));
        }
        p
    };
    let spread = |c: C, stat: Stat, title: &str, question: &str| {
        PanelDef::new(Timeseries, title, question)
            .concept(c)
            .size(6, 8)
            .target(metric_by(
                c,
                stat,
                &["model", "instance"],
                "{{model}} {{instance}}",
            ))
    };
    DashboardDef {
        uid: DETAIL_UID,
        title: "Inference model detail",
        description: "Why one model is slow or saturated: latency breakdown, percentile bands, replica spread, capacity.",
        tags: &["infermon", "inference"],
        time_from: "now-3h",
        single_model: true,
        links: vec![(OVERVIEW_UID, "Inference overview"), (SLOS_UID, "SLOs and error budgets")],
        rows: vec![
            RowDef {
                title: "Latency breakdown".into(),
                panels: vec![
                    PanelDef::new(Timeseries, "Where the time goes (p95 per phase)", "Is the time spent queueing, on the prompt (prefill), or generating (decode)?")
                        .unit("s")
                        .size(12, 8)
                        .target(metric_by(C::QueueTime, P95, &["model"], "queue {{model}}"))
                        .target(metric_by(C::PrefillTime, P95, &["model"], "prefill {{model}}"))
                        .target(metric_by(C::DecodeTime, P95, &["model"], "decode {{model}}"))
                        .target(metric_by(C::E2eLatency, P95, &["model"], "end-to-end {{model}}")),
                    PanelDef::new(Timeseries, "Mean time per phase (stacked)", "On average, how does a request's time split into queue, prefill and decode?")
                        .unit("s")
                        .size(12, 8)
                        .stacked()
                        .target(metric_by(C::QueueTime, Stat::Avg, &["model"], "queue {{model}}"))
                        .target(metric_by(C::PrefillTime, Stat::Avg, &["model"], "prefill {{model}}"))
                        .target(metric_by(C::DecodeTime, Stat::Avg, &["model"], "decode {{model}}")),
                ],
            },
            RowDef {
                title: "Percentile bands".into(),
                panels: vec![
                    bands(C::Ttft, "Time to first token p50–p99", "How spread out is the wait for the first token: typical vs tail?"),
                    bands(C::InterTokenLatency, "Inter-token latency p50–p99", "Is streaming uniformly smooth, or are there stalls in the tail?"),
                    bands(C::E2eLatency, "End-to-end latency p50–p99", "How long do typical and slowest requests take?"),
                    PanelDef::new(Timeseries, "Time per output token p50 / p95", "Per finished request, how fast is decoding per token?")
                        .concept(C::Tpot)
                        .target(metric_by(C::Tpot, P50, &["model"], "p50 {{model}}"))
                        .target(metric_by(C::Tpot, P95, &["model"], "p95 {{model}}")),
                    PanelDef::new(Timeseries, "Queue time p50–p99", "How long do typical and unlucky requests wait for a slot?")
                        .concept(C::QueueTime)
                        .target(metric_by(C::QueueTime, P50, &["model"], "p50 {{model}}"))
                        .target(metric_by(C::QueueTime, P99, &["model"], "p99 {{model}}")),
                    PanelDef::new(Timeseries, "Finished requests by reason", "Why do requests end: stop, length limit, abort or error?")
                        .concept(C::FinishedRequests)
                        .stacked()
                        .target(metric_by(C::FinishedRequests, Stat::Rate, &["model", "reason"], "{{reason}}")),
                ],
            },
            RowDef {
                title: "Replica and engine spread".into(),
                panels: vec![
                    spread(C::KvCacheUsage, Stat::Max, "KV-cache usage per replica", "Is one replica much fuller than the others (unbalanced routing)?")
                        .range(Some(0.0), Some(1.0))
                        .thresholds(KV_STEPS),
                    spread(C::RunningRequests, Stat::Current, "Running requests per replica", "Is load spread evenly across replicas?"),
                    spread(C::QueueDepth, Stat::Current, "Queue depth per replica", "Which replica has requests waiting?"),
                    spread(C::Ttft, P95, "Time to first token p95 per replica", "Is one replica slower than its peers?"),
                ],
            },
            RowDef {
                title: "Tokens, capacity and pressure".into(),
                panels: vec![
                    PanelDef::new(Timeseries, "Tokens/s (prompt and generated)", "How much token work does the model do, in and out?")
                        .unit("tokens/s")
                        .size(6, 8)
                        .target(metric_by(C::PromptTokensRate, Stat::Rate, &["model"], "prompt {{model}}"))
                        .target(metric_by(C::GenerationTokensRate, Stat::Rate, &["model"], "generated {{model}}")),
                    PanelDef::new(Timeseries, "KV-cache usage max / avg / min", "How full is the KV cache on the most, average and least loaded replica?")
                        .concept(C::KvCacheUsage)
                        .size(6, 8)
                        .range(Some(0.0), Some(1.0))
                        .thresholds(KV_STEPS)
                        .target(metric_by(C::KvCacheUsage, Stat::Max, &["model"], "max {{model}}"))
                        .target(metric_by(C::KvCacheUsage, Stat::Avg, &["model"], "avg {{model}}"))
                        .target(metric_by(C::KvCacheUsage, Stat::Min, &["model"], "min {{model}}")),
                    PanelDef::new(Timeseries, "Preemptions/s", "Is the KV cache too small for the batch (requests evicted and recomputed)?")
                        .concept(C::PreemptionRate)
                        .size(6, 8)
                        .target(metric(C::PreemptionRate, Stat::Rate)),
                    PanelDef::new(Timeseries, "Batch size", "How many requests share each running batch?")
                        .concept(C::BatchSize)
                        .size(6, 8)
                        .target(metric(C::BatchSize, Stat::Current)),
                    PanelDef::new(Timeseries, "Queue depth vs running", "Is the model at its concurrency limit (queue grows while running stays flat)?")
                        .unit("short")
                        .size(12, 8)
                        .target(metric_by(C::QueueDepth, Stat::Current, &["model"], "waiting {{model}}"))
                        .target(metric_by(C::RunningRequests, Stat::Current, &["model"], "running {{model}}")),
                    PanelDef::new(Timeseries, "Queue growth", "Is the queue growing or draining (requests per second)?")
                        .concept(C::QueueDepth)
                        .unit("reqps")
                        .size(12, 8)
                        .target(metric(C::QueueDepth, Stat::Growth)),
                ],
            },
            RowDef {
                title: "Caching and speculative decoding".into(),
                panels: vec![
                    PanelDef::new(Timeseries, "Prefix-cache hit rate", "How much prompt work does the prefix cache save for this model?")
                        .concept(C::PrefixCacheHitRate)
                        .size(12, 8)
                        .range(Some(0.0), Some(1.0))
                        .target(metric(C::PrefixCacheHitRate, Stat::Ratio)),
                    PanelDef::new(Timeseries, "Speculative-decoding acceptance", "Is speculative decoding paying off (share of drafted tokens accepted)?")
                        .concept(C::SpecDecodeAcceptanceRate)
                        .size(12, 8)
                        .range(Some(0.0), Some(1.0))
                        .target(metric(C::SpecDecodeAcceptanceRate, Stat::Ratio)),
                ],
            },
        ],
    }
}

/// "99 % of time-to-first-token within 0.5 s".
fn slo_text(s: &Slo) -> String {
    if s.description.is_empty() {
        s.name.clone()
    } else {
        s.description.clone()
    }
}

/// The burn-rate windows of the alerts that can fire for `s`, long window first, deduplicated.
pub fn alert_windows(s: &Slo) -> Vec<(&'static str, f64, &'static str)> {
    let mut out: Vec<(&'static str, f64, &'static str)> = Vec::new();
    for w in BURN_WINDOWS
        .iter()
        .filter(|w| can_fire(w.factor, s.objective))
    {
        for win in [w.long, w.short] {
            if !out.iter().any(|(x, _, _)| *x == win) {
                out.push((win, w.factor, w.severity));
            }
        }
    }
    out
}

pub fn slos(spec: &SloSpec) -> DashboardDef {
    use PanelKind::{BarGauge, Timeseries};
    let mut rows = Vec::new();
    for s in &spec.slos {
        let windows = alert_windows(s);
        let mut burn = PanelDef::new(
            Timeseries,
            format!("{}: burn rates over the alert windows", s.name),
            format!(
                "How fast is \"{}\" spending its error budget, over each alert window (1 = exactly on budget)?",
                slo_text(s)
            ),
        )
        .unit("x")
        .size(8, 8)
        .no_value_text(slo_no_value(s));
        let mut alerts = PanelDef::new(
            BarGauge,
            format!("{}: which alerts would page", s.name),
            format!(
                "Which burn-rate alerts of \"{}\" are firing? An alert fires when both its long and short window exceed its factor (red); page: 1h/5m > 14.4 or 6h/30m > 6; ticket: 1d/2h > 3 or 3d/6h > 1.",
                slo_text(s)
            ),
        )
        .unit("x")
        .size(6, 8)
        .no_value_text(slo_no_value(s));
        for (i, (win, factor, severity)) in windows.iter().enumerate() {
            burn = burn.target(slo(
                s,
                SloView::BurnRate,
                Some(win),
                Some(&format!("{win} {{{{model}}}}")),
            ));
            alerts = alerts.target(slo(
                s,
                SloView::BurnRate,
                Some(win),
                Some(&format!("{severity} {win} > {factor} {{{{model}}}}")),
            ));
            alerts
                .target_thresholds
                .push((i, vec![(None, GREEN), (Some(*factor), RED)]));
        }
        rows.push(RowDef {
            title: format!("SLO {}: {}", s.name, slo_text(s)),
            panels: vec![
                PanelDef::new(
                    PanelKind::Stat,
                    format!("{}: attainment", s.name),
                    format!(
                        "Over the last {}, which share of events met \"{}\" (objective {})?",
                        s.window,
                        slo_text(s),
                        crate::promql::format_number(s.objective)
                    ),
                )
                .unit("percentunit")
                .size(5, 8)
                .thresholds(&attainment_steps(s.objective))
                .no_value_text(slo_no_value(s))
            .target(slo(s, SloView::Attainment, None, Some("{{model}}"))),
                PanelDef::new(
                    BarGauge,
                    format!("{}: budget remaining", s.name),
                    format!(
                        "How much of the {} error budget of \"{}\" is left (1 = untouched, 0 = spent, below 0 = overspent)?",
                        s.window,
                        slo_text(s)
                    ),
                )
                .unit("percentunit")
                .size(5, 8)
                .range(Some(-0.5), Some(1.0))
                .thresholds(BUDGET_STEPS)
                .no_value_text(slo_no_value(s))
            .target(slo(s, SloView::BudgetRemaining, None, Some("{{model}}"))),
                burn,
                alerts,
                PanelDef::new(
                    Timeseries,
                    format!("{}: budget burn-down (30 days)", s.name),
                    format!(
                        "How has the error budget of \"{}\" been spent over the last 30 days, and will it last?",
                        slo_text(s)
                    ),
                )
                .unit("percentunit")
                .size(24, 7)
                .time_from("30d")
                .thresholds(BUDGET_STEPS)
                .no_value_text(slo_no_value(s))
            .target(slo(s, SloView::BudgetRemaining, None, Some("{{model}}"))),
            ],
        });
    }
    DashboardDef {
        uid: SLOS_UID,
        title: "Inference SLOs and error budgets",
        description: "Per SLO and model: attainment, budget left, burn rates over the alert windows, which alerts would page, and the 30-day burn-down.",
        tags: &["infermon", "inference", "slo"],
        time_from: "now-1d",
        single_model: false,
        links: vec![(OVERVIEW_UID, "Inference overview"), (DETAIL_UID, "Model detail")],
        rows,
    }
}

/// All dashboards, in file order.
pub fn all(spec: &SloSpec) -> Vec<DashboardDef> {
    vec![overview(spec), detail(spec), slos(spec)]
}
