//! Kubernetes manifests for prometheus-operator (kube-prometheus-stack) and plain Prometheus rule files.
//!
//! kube-prometheus-stack selects ServiceMonitors, PodMonitors and PrometheusRules by `release: <Helm release
//! name>` (not the literal chart name; slo-rules.md §4), so that label is an option. TGI and llama.cpp expose no model
//! label: the monitors copy it from the `infermon.io/model` label of the Service or Pod into the target label
//! `model`, which the translator reads.

use super::alerts::AlertOptions;
use super::model::{RuleFile, GENERATED_HEADER};
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct ManifestOptions {
    /// Value of the `release` label kube-prometheus-stack selects on: your Helm release name.
    pub release: String,
    /// Namespace of the PrometheusRule objects.
    pub namespace: String,
    pub scrape_interval: String,
    pub alerts: AlertOptions,
}

impl Default for ManifestOptions {
    fn default() -> Self {
        ManifestOptions {
            release: "kube-prometheus-stack".into(),
            namespace: "monitoring".into(),
            scrape_interval: "15s".into(),
            alerts: AlertOptions::default(),
        }
    }
}

/// The Kubernetes label on TGI/llama.cpp Services and Pods that names the model.
pub const MODEL_LABEL_KEY: &str = "infermon.io/model";

fn yaml(v: &Value) -> String {
    format!(
        "{GENERATED_HEADER}{}",
        serde_norway::to_string(v).expect("manifests serialise")
    )
}

fn metadata(name: &str, opts: &ManifestOptions, namespace: bool) -> Value {
    let mut m = json!({
        "name": name,
        "labels": {"release": opts.release, "app.kubernetes.io/part-of": "infermon"},
    });
    if namespace {
        m["namespace"] = json!(opts.namespace);
    }
    m
}

fn prometheus_rule(name: &str, rules: &RuleFile, opts: &ManifestOptions) -> String {
    yaml(&json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata(name, opts, true),
        "spec": serde_json::to_value(rules).expect("rules serialise"),
    }))
}

/// A backend's scrape endpoint as its Kubernetes objects name it.
struct Scrape {
    backend: &'static str,
    /// Selector label of the servers' Services/Pods.
    app: &'static str,
    /// Service port name (ServiceMonitor) / container port name (PodMonitor).
    port: &'static str,
    /// The model comes from a Kubernetes label (servers without a model label).
    model_from_label: bool,
}

const SCRAPES: [Scrape; 2] = [
    Scrape {
        backend: "vllm",
        app: "vllm",
        port: "http",
        model_from_label: false,
    },
    // TGI serves /metrics on its HTTP port and on --prometheus-port (default 9000); we scrape the dedicated one.
    Scrape {
        backend: "tgi",
        app: "tgi",
        port: "metrics",
        model_from_label: true,
    },
];

fn monitor(kind: &str, s: &Scrape, opts: &ManifestOptions) -> String {
    let (endpoints_key, meta_prefix) = match kind {
        "ServiceMonitor" => ("endpoints", "__meta_kubernetes_service_label_"),
        _ => ("podMetricsEndpoints", "__meta_kubernetes_pod_label_"),
    };
    let mut endpoint =
        json!({"port": s.port, "path": "/metrics", "interval": opts.scrape_interval});
    if s.model_from_label {
        let source = format!("{meta_prefix}{}", MODEL_LABEL_KEY.replace(['.', '/'], "_"));
        endpoint["relabelings"] = json!([{
            "sourceLabels": [source],
            "targetLabel": "model",
            "action": "replace",
        }]);
    }
    let name = format!("infermon-{}", s.backend);
    yaml(&json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": kind,
        "metadata": metadata(&name, opts, false),
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": s.app}},
            "namespaceSelector": {"any": true},
            endpoints_key: [endpoint],
        },
    }))
}

/// Every generated file: (path, contents).
pub fn files(
    recording: &RuleFile,
    alerting: &RuleFile,
    slos: &RuleFile,
    opts: &ManifestOptions,
) -> Vec<(String, String)> {
    let mut out = vec![
        (
            "manifests/prometheus/infermon-recording.rules.yml".to_string(),
            recording.to_yaml(),
        ),
        (
            "manifests/prometheus/infermon-alerts.rules.yml".to_string(),
            alerting.to_yaml(),
        ),
        (
            "manifests/prometheus/infermon-slo.rules.yml".to_string(),
            slos.to_yaml(),
        ),
        (
            "manifests/kubernetes/prometheusrule-recording.yaml".to_string(),
            prometheus_rule("infermon-recording", recording, opts),
        ),
        (
            "manifests/kubernetes/prometheusrule-alerts.yaml".to_string(),
            prometheus_rule("infermon-alerts", alerting, opts),
        ),
        (
            "manifests/kubernetes/prometheusrule-slo.yaml".to_string(),
            prometheus_rule("infermon-slo", slos, opts),
        ),
    ];
    let mut resources = vec![
        "prometheusrule-recording.yaml".to_string(),
        "prometheusrule-alerts.yaml".to_string(),
        "prometheusrule-slo.yaml".to_string(),
    ];
    for s in &SCRAPES {
        let sm = format!("servicemonitor-{}.yaml", s.backend);
        out.push((
            format!("manifests/kubernetes/{sm}"),
            monitor("ServiceMonitor", s, opts),
        ));
        resources.push(sm);
        // PodMonitors are the alternative for servers without a Service; not in the kustomization (scraping both
        // would ingest every series twice).
        out.push((
            format!("manifests/kubernetes/podmonitor-{}.yaml", s.backend),
            monitor("PodMonitor", s, opts),
        ));
    }
    out.push((
        "manifests/kubernetes/kustomization.yaml".to_string(),
        yaml(&json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": resources,
        })),
    ));
    out
}
