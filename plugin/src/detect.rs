//! Detection: which inference servers (and which generations of their metrics) an engine holds, which models,
//! and whether infermon's recording rules are loaded. The translator uses it to query only what exists, the
//! health check reports it in plain words, and `/models` lists its models.
//!
//! Three cheap requests: metric names restricted to the inference prefixes (`/api/v1/label/__name__/values` with
//! a `match[]`), the vLLM `engine` label (V1 servers label every series with it, V0 servers do not), and one
//! instant query per backend for its models (plus one for the SLOs infermon's rules record, when they are loaded).
//! Results are cached per data-source instance ([`crate::instance`]).

use std::collections::{BTreeMap, BTreeSet};

use infermon_core::catalog::names::labels;
use infermon_core::query::{BackendChoice, MetricQuery, Query, Stat};
use infermon_core::rules::slo::{error_ratio_record_window, ERROR_RATIO_RECORD_PREFIX, SLO_LABEL};
use infermon_core::{translate, Backend, Concept, Context, PromDuration};
use infermon_prom::{Client, Error, QueryData};
use serde::Serialize;

/// Prefix of infermon's recorded series (`namespace_model:inference_…`), named once in core.
pub use infermon_core::translate::recorded::RECORD_PREFIX as RECORDED_PREFIX;

const NAME_MATCH: &str =
    r#"{__name__=~"vllm:.+|tgi_.+|sglang:.+|llamacpp:.+|namespace_model:inference_.+"}"#;

/// A model served on the engine.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ModelInfo {
    pub model: String,
    pub backend: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// What one backend looks like on the engine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackendFound {
    pub backend: Backend,
    /// Metric generations seen, in words (e.g. "V1 (engine label)", "≥ 0.11 names").
    pub generations: Vec<String>,
    pub models: usize,
}

/// The detection result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detection {
    pub backends: Vec<BackendFound>,
    pub models: Vec<ModelInfo>,
    pub recording_rules: bool,
    #[serde(skip)]
    pub names: BTreeSet<String>,
    /// infermon's SLO records: SLO name → windows its error ratio is recorded over; `None` when not asked (no
    /// recording rules) or the engine refused the query. Lets an SLO query naming an SLO the rules do not record
    /// fall back to raw series with a notice instead of an empty panel.
    #[serde(skip)]
    pub slo_records: Option<BTreeMap<String, BTreeSet<PromDuration>>>,
}

impl Detection {
    pub fn backend_set(&self) -> BTreeSet<Backend> {
        self.backends.iter().map(|b| b.backend).collect()
    }
}

fn backend_of(name: &str) -> Option<Backend> {
    [
        ("vllm:", Backend::Vllm),
        ("tgi_", Backend::Tgi),
        ("sglang:", Backend::Sglang),
        ("llamacpp:", Backend::Llamacpp),
    ]
    .into_iter()
    .find(|(p, _)| name.starts_with(p))
    .map(|(_, b)| b)
}

/// Runs detection against the engine.
pub async fn detect(client: &Client, model_label: &str) -> Result<Detection, Error> {
    let names: BTreeSet<String> = client
        .label_values("__name__", &[NAME_MATCH], None)
        .await?
        .data
        .into_iter()
        .collect();
    let present: BTreeSet<Backend> = names.iter().filter_map(|n| backend_of(n)).collect();
    let mut recording_rules = names.iter().any(|n| n.starts_with(RECORDED_PREFIX));
    if !recording_rules {
        // Rules loaded but not evaluated yet (or an engine that answers /rules but keeps no names).
        if let Ok(r) = client.rules().await {
            recording_rules = r
                .data
                .groups
                .iter()
                .flat_map(|g| &g.rules)
                .any(|r| r.name().starts_with(RECORDED_PREFIX));
        }
    }

    let slo_records = if recording_rules {
        slo_records(client).await
    } else {
        None
    };

    let ctx = Context {
        backends: Some(present.clone()),
        present_metrics: Some(names.clone()),
        model_label: model_label.to_string(),
        ..Context::default()
    };
    let mut models = BTreeSet::new();
    let mut found = Vec::new();
    for backend in &present {
        let mut generations = Vec::new();
        let mut per_backend = 0;
        if let Some(expr) = models_expr(*backend, &ctx) {
            let r = client.query(&expr, None, false).await?;
            if let QueryData::Vector(samples) = r.data {
                for s in samples {
                    let model = s.labels.get(labels::MODEL).unwrap_or("").to_string();
                    if model.is_empty() {
                        continue;
                    }
                    let namespace = s
                        .labels
                        .get(labels::NAMESPACE)
                        .filter(|n| !n.is_empty())
                        .map(str::to_string);
                    if models.insert(ModelInfo {
                        model,
                        backend: backend.id().into(),
                        namespace,
                    }) {
                        per_backend += 1;
                    }
                }
            }
        }
        if *backend == Backend::Vllm {
            let r = client
                .query(
                    "count by (engine) (last_over_time(vllm:num_requests_running[1h]))",
                    None,
                    false,
                )
                .await?;
            let engines: Vec<bool> = r
                .data
                .as_vector()
                .iter()
                .map(|s| s.labels.get("engine").is_some())
                .collect();
            if engines.iter().any(|e| *e) {
                generations.push("V1".to_string());
            }
            if engines.iter().any(|e| !*e) {
                generations.push("V0".to_string());
            }
            if names.contains("vllm:inter_token_latency_seconds_bucket") {
                generations.push("≥ 0.11 metric names".to_string());
            }
            if names.contains("vllm:gpu_cache_usage_perc")
                && !names.contains("vllm:kv_cache_usage_perc")
            {
                generations.push("pre-0.9 KV-cache name".to_string());
            }
        }
        found.push(BackendFound {
            backend: *backend,
            generations,
            models: per_backend,
        });
    }
    Ok(Detection {
        backends: found,
        models: models.into_iter().collect(),
        recording_rules,
        names,
        slo_records,
    })
}

/// Which SLOs the engine records, over which windows: one instant query, `count by (__name__, slo)` of the SLI
/// error-ratio records (`namespace_model:inference_slo_errors:ratio_rate<window>`). An engine that refuses it
/// leaves the answer unknown (`None`), as before detection knew about SLOs.
async fn slo_records(client: &Client) -> Option<BTreeMap<String, BTreeSet<PromDuration>>> {
    let expr = format!(
        r#"count by (__name__, {SLO_LABEL}) ({{__name__=~"{ERROR_RATIO_RECORD_PREFIX}.+"}})"#
    );
    let r = client.query(&expr, None, false).await.ok()?;
    let mut out: BTreeMap<String, BTreeSet<PromDuration>> = BTreeMap::new();
    for s in r.data.as_vector() {
        let (Some(name), Some(slo)) = (s.labels.get("__name__"), s.labels.get(SLO_LABEL)) else {
            continue;
        };
        if let Some(window) = error_ratio_record_window(name) {
            out.entry(slo.to_string()).or_default().insert(window);
        }
    }
    Some(out)
}

/// `count by (model, namespace)` of a gauge every server of `backend` exposes, with the uniform model label.
fn models_expr(backend: Backend, ctx: &Context) -> Option<String> {
    for concept in [Concept::RunningRequests, Concept::QueueDepth] {
        let q = Query::Metric(MetricQuery {
            concept,
            stat: Some(Stat::Current),
            models: vec![],
            namespaces: vec![],
            backend: match backend {
                Backend::Vllm => BackendChoice::Vllm,
                Backend::Tgi => BackendChoice::Tgi,
                Backend::Sglang => BackendChoice::Sglang,
                Backend::Llamacpp => BackendChoice::Llamacpp,
            },
            filters: vec![],
            group_by: vec![labels::MODEL.into(), labels::NAMESPACE.into()],
            legend: None,
            window: None,
        });
        if let Ok(t) = translate(&q, ctx) {
            if let Some(target) = t.targets.first() {
                return Some(models_over_lookback(&target.expr));
            }
        }
    }
    None
}

/// How far back a model still counts as served: the `$model` list of a dashboard looking at the last hours must
/// not be empty just because the servers stopped a few minutes ago (an instant query sees only the last 5 minutes).
const MODELS_LOOKBACK: &str = "1h:5m";

/// `count by (model, namespace)` of `expr` now, or at any 5-minute step of the last hour (the subquery alone
/// could miss a model that appeared after its last aligned step, hence the `or`).
fn models_over_lookback(expr: &str) -> String {
    format!("count by (model, namespace) (({expr}) or max_over_time(({expr})[{MODELS_LOOKBACK}]))")
}

/// One sentence: "found vLLM (2 models; V1, ≥ 0.11 metric names), TGI (1 model)".
pub fn describe(d: &Detection) -> String {
    if d.backends.is_empty() {
        return "no inference server metrics found (vLLM, TGI, SGLang, llama.cpp): check that Prometheus scrapes \
                them"
            .to_string();
    }
    let parts: Vec<String> = d
        .backends
        .iter()
        .map(|b| {
            let models = format!("{} model{}", b.models, if b.models == 1 { "" } else { "s" });
            if b.generations.is_empty() {
                format!("{} ({models})", b.backend)
            } else {
                format!("{} ({models}; {})", b.backend, b.generations.join(", "))
            }
        })
        .collect();
    format!("found {}", parts.join(", "))
}

/// Model counts per backend id, for health details.
pub fn model_counts(d: &Detection) -> BTreeMap<String, usize> {
    d.backends
        .iter()
        .map(|b| (b.backend.id().to_string(), b.models))
        .collect()
}
