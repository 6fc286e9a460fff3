//! Alerting rules, per model, on the recorded series. The six names users know from the original design,
//! corrected (slo-rules.md §2), plus what a serving team would miss.

use super::model::{Rule, RuleFile, RuleGroup};
use crate::catalog::Concept;
use crate::translate::recorded::Recorded;
use std::collections::BTreeMap;

pub const GROUP: &str = "infermon-alerts";

/// Where runbook and dashboard links point; the Grafana part is resolved by the webhook against its Grafana URL.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertOptions {
    pub runbook_base_url: String,
    pub dashboard_uid: String,
}

impl Default for AlertOptions {
    fn default() -> Self {
        AlertOptions {
            runbook_base_url: "https://github.com/infermon/infermon/blob/main/docs/runbooks".into(),
            dashboard_uid: "infermon-model-detail".into(),
        }
    }
}

/// One alert definition, before rendering.
pub struct AlertDef {
    pub name: &'static str,
    pub expr: String,
    pub for_: &'static str,
    pub severity: &'static str,
    pub summary: &'static str,
    pub description: &'static str,
}

/// The alert definitions, in file order.
pub fn definitions() -> Vec<AlertDef> {
    let n = |r: Recorded| r.name();
    let e2e_p95 = n(Recorded::Quantile(Concept::E2eLatency, 0.95));
    let queue = n(Recorded::Gauge(Concept::QueueDepth));
    let kv = n(Recorded::Gauge(Concept::KvCacheUsage));
    let preemptions = n(Recorded::Rate(Concept::PreemptionRate));
    let tokens = n(Recorded::Rate(Concept::GenerationTokensRate));
    let running = n(Recorded::Gauge(Concept::RunningRequests));
    let errors = n(Recorded::Numerator(Concept::ErrorRatio));
    let finished = n(Recorded::Denominator(Concept::ErrorRatio));
    let requests = n(Recorded::Rate(Concept::RequestRate));
    vec![
        AlertDef {
            name: "HighInferenceLatency",
            expr: format!("{e2e_p95} > 10"),
            for_: "5m",
            severity: "warning",
            summary: "{{ $labels.model }}: p95 end-to-end latency is {{ $value | humanizeDuration }}",
            description: "The 95th percentile end-to-end latency of {{ $labels.model }} in {{ $labels.namespace }} has been above 10 s for 5 minutes (now {{ $value | humanizeDuration }}).",
        },
        AlertDef {
            name: "InferenceQueueBuildingUp",
            expr: format!("{queue} > 20"),
            for_: "5m",
            severity: "warning",
            summary: "{{ $labels.model }}: {{ $value | humanize }} requests waiting",
            description: "More than 20 requests of {{ $labels.model }} in {{ $labels.namespace }} have been waiting to be scheduled for 5 minutes (now {{ $value | humanize }}).",
        },
        AlertDef {
            name: "InferenceQueueCritical",
            expr: format!("{queue} > 50"),
            for_: "2m",
            severity: "critical",
            summary: "{{ $labels.model }}: {{ $value | humanize }} requests waiting",
            description: "More than 50 requests of {{ $labels.model }} in {{ $labels.namespace }} have been waiting for 2 minutes (now {{ $value | humanize }}); users are seeing long time-to-first-token.",
        },
        AlertDef {
            name: "HighKVCacheUsage",
            expr: format!("{kv} > 0.95"),
            for_: "10m",
            severity: "warning",
            summary: "{{ $labels.model }}: KV cache {{ $value | humanizePercentage }} full",
            description: "The most loaded replica of {{ $labels.model }} in {{ $labels.namespace }} has used more than 95 % of its KV cache for 10 minutes (now {{ $value | humanizePercentage }}); expect preemptions.",
        },
        AlertDef {
            name: "FrequentPreemptions",
            expr: format!("{preemptions} > 0.1"),
            for_: "5m",
            severity: "warning",
            summary: "{{ $labels.model }}: {{ printf \"%.2f\" $value }} preemptions/s",
            description: "Requests of {{ $labels.model }} in {{ $labels.namespace }} have been preempted more than 0.1 times per second for 5 minutes (now {{ printf \"%.2f\" $value }}/s): the KV cache is too small for the load.",
        },
        AlertDef {
            name: "LowTokenThroughput",
            expr: format!("{tokens} < 1\nand on (namespace, model)\n{running} > 0"),
            for_: "10m",
            severity: "warning",
            summary: "{{ $labels.model }}: generation stalled at {{ printf \"%.2f\" $value }} tokens/s with requests running",
            description: "{{ $labels.model }} in {{ $labels.namespace }} has generated less than 1 token/s for 10 minutes while requests are running: the engine looks stalled.",
        },
        AlertDef {
            name: "InferenceErrorRatioHigh",
            expr: format!(
                "sum by (namespace, model) ({errors})\n/\n(sum by (namespace, model) ({finished}) > 0)\n> 0.05"
            ),
            for_: "5m",
            severity: "warning",
            summary: "{{ $labels.model }}: {{ $value | humanizePercentage }} of requests fail",
            description: "More than 5 % of the requests of {{ $labels.model }} in {{ $labels.namespace }} have failed for 5 minutes (now {{ $value | humanizePercentage }}).",
        },
        AlertDef {
            name: "InferenceQueueGrowing",
            expr: format!("deriv({queue}[15m]) > 0.05\nand on (namespace, model)\n{queue} > 5"),
            for_: "15m",
            severity: "warning",
            summary: "{{ $labels.model }}: queue growing by {{ printf \"%.2f\" $value }} requests/s",
            description: "The queue of {{ $labels.model }} in {{ $labels.namespace }} has grown steadily for 15 minutes: arrivals exceed capacity.",
        },
        AlertDef {
            name: "InferenceMetricsMissing",
            expr: format!(
                "max_over_time({requests}[1h] offset 10m) > 0\nunless on (namespace, model)\n{running}"
            ),
            for_: "5m",
            severity: "critical",
            summary: "{{ $labels.model }}: had traffic but reports no metrics",
            description: "{{ $labels.model }} in {{ $labels.namespace }} served requests in the last hour but none of its servers has been scraped for 10 minutes: the servers are down or not scraped.",
        },
    ]
}

pub fn alerting_rules(opts: &AlertOptions) -> RuleFile {
    let rules = definitions()
        .into_iter()
        .map(|d| Rule::Alert {
            alert: d.name.into(),
            expr: d.expr,
            for_: d.for_.into(),
            labels: BTreeMap::from([("severity".to_string(), d.severity.to_string())]),
            annotations: annotations(opts, d.name, d.summary, d.description),
        })
        .collect();
    RuleFile {
        groups: vec![RuleGroup {
            name: GROUP.into(),
            interval: None,
            rules,
        }],
    }
}

/// summary, description, runbook_url and dashboard (a Grafana path the webhook turns into a link).
pub fn annotations(
    opts: &AlertOptions,
    name: &str,
    summary: &str,
    description: &str,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("summary".to_string(), summary.to_string()),
        ("description".to_string(), description.to_string()),
        (
            "runbook_url".to_string(),
            format!("{}/{name}.md", opts.runbook_base_url),
        ),
        (
            "dashboard".to_string(),
            format!(
                "/d/{}?var-model={{{{ $labels.model | urlquery }}}}&var-namespace={{{{ $labels.namespace | urlquery }}}}",
                opts.dashboard_uid
            ),
        ),
    ])
}
