//! What `infermon top` shows, fetched from Prometheus: the fleet table (core's `fleet` query: one instant target
//! per column), the remaining error budget (core's default budget SLO, as the webhook's enrichment shows it) and
//! the active alerts (`/api/v1/rules`: firing and pending, with their annotations).
//!
//! Kept apart from the drawing so the view can be tested on real snapshots and the demo can print the same data
//! without a terminal.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use infermon_core::query::Query;
use infermon_core::translate::Target;
use infermon_core::{translate, Context, PromDuration};
use infermon_prom::{Client, ClientConfig, QueryData};

/// Why `top` cannot start (errors while running are shown on screen instead).
#[derive(Debug, thiserror::Error)]
pub enum TopError {
    #[error("--prometheus-url {url:?}: {message}")]
    Url { url: String, message: String },
    #[error("cannot translate the fleet query: {0}")]
    Translate(String),
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
    #[error(
        "`infermon top` needs a terminal on stdout; for plain output use `infermon query fleet`"
    )]
    NotATerminal,
}

/// A column of the model table: key of the value, header, unit (for formatting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub key: &'static str,
    pub header: &'static str,
    pub unit: &'static str,
}

/// Key of the error-budget column (not a fleet-query column).
pub const BUDGET: &str = "error_budget_remaining";

/// The value columns, in display order (the model name comes first, the trend last).
pub const COLUMNS: &[Column] = &[
    Column {
        key: "request_rate",
        header: "REQ/S",
        unit: "reqps",
    },
    Column {
        key: "generation_tokens_rate",
        header: "TOK/S",
        unit: "tokens/s",
    },
    Column {
        key: "ttft_p95",
        header: "TTFT p95",
        unit: "s",
    },
    Column {
        key: "inter_token_latency_p95",
        header: "ITL p95",
        unit: "s",
    },
    Column {
        key: "queue_depth",
        header: "QUEUE",
        unit: "none",
    },
    Column {
        key: "kv_cache_usage",
        header: "KV CACHE",
        unit: "percentunit",
    },
    Column {
        key: "preemption_rate",
        header: "PREEMPT/S",
        unit: "ops",
    },
    Column {
        key: "error_ratio",
        header: "ERRORS",
        unit: "percentunit",
    },
    Column {
        key: BUDGET,
        header: "BUDGET",
        unit: "percentunit",
    },
];

/// The column whose history is drawn as a sparkline.
pub const TREND_KEY: &str = "generation_tokens_rate";

/// One model's figures (missing keys: no data).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelRow {
    pub model: String,
    pub values: BTreeMap<String, f64>,
}

impl ModelRow {
    pub fn get(&self, key: &str) -> Option<f64> {
        self.values.get(key).copied().filter(|v| v.is_finite())
    }
}

/// A pending or firing alert.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveAlert {
    pub name: String,
    /// `firing` or `pending`.
    pub state: String,
    pub severity: String,
    pub model: String,
    /// Other identifying labels (`slo=errors`, `slo_severity=page`).
    pub detail: String,
    pub summary: String,
    pub active_at: String,
}

/// One refresh.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub rows: Vec<ModelRow>,
    pub alerts: Vec<ActiveAlert>,
    /// Query failures of this refresh (shown on screen).
    pub errors: Vec<String>,
    pub at: Option<SystemTime>,
}

/// Runs the queries of a refresh.
pub struct Source {
    client: Client,
    targets: Vec<Target>,
}

impl Source {
    pub fn new(
        prometheus_url: &str,
        rate_window: PromDuration,
        timeout: Duration,
    ) -> Result<Source, TopError> {
        let client =
            Client::new(ClientConfig::new(prometheus_url).timeout(timeout)).map_err(|e| {
                TopError::Url {
                    url: prometheus_url.to_string(),
                    message: e.to_string(),
                }
            })?;
        let ctx = Context {
            rate_window,
            ..Context::default()
        };
        let fleet = Query::from_json(&serde_json::json!({"queryType": "fleet"}))
            .map_err(|e| TopError::Translate(e.to_string()))?;
        let mut targets = translate(&fleet, &ctx)
            .map_err(|e| TopError::Translate(e.to_string()))?
            .targets;
        // One row per model, like the fleet query's columns: the budget over all of the model's namespaces
        // (events-weighted from the raw counters). The default groups by (namespace, model), whose two series for
        // a model in two namespaces would overwrite each other in the row.
        let budget = Query::Slo(infermon_core::query::SloQuery {
            group_by: vec![infermon_core::catalog::names::labels::MODEL.to_string()],
            ..infermon_core::context::default_budget_slo()
        });
        if let Ok(t) = translate(&budget, &ctx) {
            targets.extend(t.targets.into_iter().map(|t| Target {
                key: BUDGET.to_string(),
                instant: true,
                ..t
            }));
        }
        Ok(Source { client, targets })
    }

    pub fn base_url(&self) -> &str {
        self.client.base_url()
    }

    /// The PromQL of each column (for `--explain`).
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// All columns and the alerts, concurrently. Failures become `errors`, never a panic.
    pub async fn fetch(&self) -> Snapshot {
        let queries = self
            .targets
            .iter()
            .map(|t| async move { (t, self.client.query(&t.expr, None, false).await) });
        let (answers, rules) =
            tokio::join!(futures::future::join_all(queries), self.client.rules());
        let mut rows: BTreeMap<String, ModelRow> = BTreeMap::new();
        let mut errors = Vec::new();
        for (target, answer) in answers {
            match answer {
                Ok(resp) => {
                    if let QueryData::Vector(samples) = resp.data {
                        for s in samples {
                            let model = s.labels.get("model").unwrap_or("").to_string();
                            if model.is_empty() {
                                continue;
                            }
                            rows.entry(model.clone())
                                .or_insert_with(|| ModelRow {
                                    model,
                                    ..ModelRow::default()
                                })
                                .values
                                .insert(target.key.clone(), s.value);
                        }
                    }
                }
                Err(e) => errors.push(format!("{}: {e}", target.key)),
            }
        }
        let alerts = match rules {
            Ok(r) => active_alerts(&r.data),
            Err(e) => {
                errors.push(format!("alerts: {e}"));
                Vec::new()
            }
        };
        errors.dedup();
        Snapshot {
            rows: rows.into_values().collect(),
            alerts,
            errors,
            at: Some(SystemTime::now()),
        }
    }

    /// The last `span` of the trend column per model, one point per `step` (to start the sparklines filled).
    pub async fn trend_history(
        &self,
        span: Duration,
        step: Duration,
    ) -> BTreeMap<String, Vec<f64>> {
        let mut out = BTreeMap::new();
        let Some(t) = self.targets.iter().find(|t| t.key == TREND_KEY) else {
            return out;
        };
        let end = SystemTime::now();
        if let Ok(resp) = self
            .client
            .query_range(&t.expr, end - span, end, step, false)
            .await
        {
            if let QueryData::Matrix(series) = resp.data {
                for s in series {
                    if let Some(m) = s.labels.get("model") {
                        out.insert(m.to_string(), s.values.clone());
                    }
                }
            }
        }
        out
    }
}

/// Firing first, then pending; most severe first; then by name and model.
pub fn active_alerts(rules: &infermon_prom::types::RulesData) -> Vec<ActiveAlert> {
    let mut out = Vec::new();
    for g in &rules.groups {
        for r in &g.rules {
            let infermon_prom::types::Rule::Alerting(rule) = r else {
                continue;
            };
            for a in &rule.alerts {
                let model = a.labels.get("model").cloned().unwrap_or_default();
                let detail: Vec<String> = a
                    .labels
                    .iter()
                    .filter(|(k, _)| {
                        !matches!(k.as_str(), "alertname" | "model" | "severity" | "namespace")
                    })
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                out.push(ActiveAlert {
                    name: rule.name.clone(),
                    state: a.state.clone(),
                    severity: a.labels.get("severity").cloned().unwrap_or_default(),
                    model,
                    detail: detail.join(" "),
                    summary: a.annotations.get("summary").cloned().unwrap_or_default(),
                    active_at: a.active_at.clone().unwrap_or_default(),
                });
            }
        }
    }
    let rank = |a: &ActiveAlert| {
        (
            a.state != "firing",
            match a.severity.as_str() {
                "critical" => 0,
                "warning" => 1,
                _ => 2,
            },
        )
    };
    out.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then(a.name.cmp(&b.name))
            .then(a.model.cmp(&b.model))
    });
    out.dedup();
    out
}

#[cfg(test)]
mod budget_tests {
    use super::*;

    #[test]
    fn the_budget_column_is_one_value_per_model_like_the_rest_of_the_row() {
        let s = Source::new(
            "http://127.0.0.1:9",
            PromDuration::from_secs(300),
            Duration::from_secs(1),
        )
        .unwrap();
        let budget: Vec<&Target> = s.targets().iter().filter(|t| t.key == BUDGET).collect();
        assert_eq!(budget.len(), 1);
        let expr = &budget[0].expr;
        assert!(expr.contains("sum by (model)"), "{expr}");
        assert!(!expr.contains("namespace, model"), "{expr}");
    }
}
