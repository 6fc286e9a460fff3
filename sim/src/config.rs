//! Fleet configuration: which models, backends and replicas to simulate, with which workload and engine
//! parameters, and an optional scenario timeline.
//!
//! A fleet file is YAML (see `sim/examples/fleet.yaml` and `docs/simulator.md`). Everything has a default, so
//! `models: [{name: m, backend: vllm}]` is a complete fleet. Validation happens once, here, so that the
//! engine never sees an impossible parameter: every error names the offending field and what is accepted.

use crate::scenario::Scenario;
use infermon_core::duration::PromDuration;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Which server the replica imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Vllm,
    Tgi,
    Sglang,
    Llamacpp,
}

impl BackendKind {
    pub const ACCEPTED: &'static str = "vllm, tgi, sglang, llamacpp";

    pub fn id(self) -> &'static str {
        match self {
            BackendKind::Vllm => "vllm",
            BackendKind::Tgi => "tgi",
            BackendKind::Sglang => "sglang",
            BackendKind::Llamacpp => "llamacpp",
        }
    }

    /// The catalog's backend.
    pub fn catalog(self) -> infermon_core::catalog::Backend {
        use infermon_core::catalog::Backend;
        match self {
            BackendKind::Vllm => Backend::Vllm,
            BackendKind::Tgi => Backend::Tgi,
            BackendKind::Sglang => Backend::Sglang,
            BackendKind::Llamacpp => Backend::Llamacpp,
        }
    }

    /// Servers without a model label: the model comes from the `model` target label (catalog `ModelSource`).
    pub fn model_from_target(self) -> bool {
        matches!(self, BackendKind::Tgi | BackendKind::Llamacpp)
    }
}

/// Exposition generation (which metric names are emitted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Version {
    /// vLLM 0.10.x: deprecated `gpu_*` names and `time_per_output_token_seconds` alongside the new ones.
    Vllm010,
    /// Today's vLLM: `kv_cache_usage_perc`, `inter_token_latency_seconds`, `request_time_per_output_token_seconds`.
    VllmLatest,
    /// TGI 3.x (`metrics-exporter-prometheus` 0.15).
    Tgi3,
    /// SGLang `--enable-metrics` (`collector.py` at commit 00ae9c15, multiprocess prometheus_client).
    SglangLatest,
    /// llama.cpp `llama-server --metrics` today: `n_decode_total`, `n_tokens_max`, `n_busy_slots_per_decode`,
    /// no KV-cache gauges.
    LlamacppLatest,
    /// Older llama.cpp builds (`examples/server/server.cpp`): `kv_cache_usage_ratio` and `kv_cache_tokens`
    /// gauges, "Number of request processing." HELP texts.
    LlamacppLegacy,
}

impl Version {
    pub fn parse(backend: BackendKind, s: &str) -> Result<Version, String> {
        match (backend, s.trim()) {
            (BackendKind::Vllm, "0.10" | "0.10.x") => Ok(Version::Vllm010),
            (BackendKind::Vllm, "latest") => Ok(Version::VllmLatest),
            (BackendKind::Tgi, "3" | "3.x" | "3.3" | "latest") => Ok(Version::Tgi3),
            (BackendKind::Sglang, "latest") => Ok(Version::SglangLatest),
            (BackendKind::Llamacpp, "latest") => Ok(Version::LlamacppLatest),
            (BackendKind::Llamacpp, "legacy") => Ok(Version::LlamacppLegacy),
            (BackendKind::Vllm, other) => Err(format!(
                "unknown vLLM version {other:?}: accepted values are \"0.10\", \"latest\""
            )),
            (BackendKind::Tgi, other) => Err(format!(
                "unknown TGI version {other:?}: accepted values are \"3\", \"latest\""
            )),
            (BackendKind::Sglang, other) => Err(format!(
                "unknown SGLang version {other:?}: accepted values are \"latest\""
            )),
            (BackendKind::Llamacpp, other) => Err(format!(
                "unknown llama.cpp version {other:?}: accepted values are \"latest\", \"legacy\""
            )),
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            Version::Vllm010 => "0.10",
            Version::VllmLatest => "latest",
            Version::Tgi3 => "3",
            Version::SglangLatest | Version::LlamacppLatest => "latest",
            Version::LlamacppLegacy => "legacy",
        }
    }
}

/// Why a fleet could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read fleet file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("fleet file {path}: {field}: {message}")]
    Parse {
        path: String,
        field: String,
        message: String,
    },
    #[error("fleet {origin}: {field}: {message}")]
    Invalid {
        origin: String,
        field: String,
        message: String,
    },
}

/// A length distribution: log-normal with the given mean, clamped to [min, max].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LengthDist {
    pub mean: f64,
    #[serde(default = "default_sigma")]
    pub sigma: f64,
    #[serde(default = "one")]
    pub min: u32,
    pub max: u32,
}

fn default_sigma() -> f64 {
    0.7
}
fn one() -> u32 {
    1
}

/// The request stream of one replica (each replica gets its own, as behind a round-robin load balancer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Workload {
    /// Mean arrival rate per replica, requests per second (Poisson).
    pub rate: f64,
    /// Diurnal modulation: rate × (1 + a·cos(2π(h − peak)/24)), 0 ≤ a < 1.
    pub diurnal_amplitude: f64,
    pub diurnal_peak_hour: f64,
    pub prompt_tokens: LengthDist,
    pub output_tokens: LengthDist,
    /// Share of requests whose first `prefix_tokens` prompt tokens hit the prefix cache.
    pub prefix_hit_ratio: f64,
    pub prefix_tokens: u32,
    /// Share of requests the client aborts mid-generation (vLLM `finished_reason="abort"`).
    pub abort_ratio: f64,
    /// Share of requests that fail in the engine (vLLM `finished_reason="error"` on `latest`, `abort` on 0.10;
    /// TGI `tgi_request_failure{err="generation"}`).
    pub error_ratio: f64,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            rate: 2.0,
            diurnal_amplitude: 0.3,
            diurnal_peak_hour: 15.0,
            prompt_tokens: LengthDist {
                mean: 600.0,
                sigma: 0.8,
                min: 4,
                max: 4000,
            },
            output_tokens: LengthDist {
                mean: 160.0,
                sigma: 0.7,
                min: 1,
                max: 1024,
            },
            prefix_hit_ratio: 0.3,
            prefix_tokens: 256,
            abort_ratio: 0.004,
            error_ratio: 0.001,
        }
    }
}

/// Cost and capacity model of one engine (one GPU worker).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineParams {
    /// vLLM `--max-num-seqs` / TGI `max_batch_size`.
    pub max_batch_size: u32,
    /// KV-cache capacity in blocks of `block_size` tokens.
    pub kv_blocks: u32,
    pub block_size: u32,
    pub max_model_len: u32,
    /// Prefill token budget per engine step (`--max-num-batched-tokens`).
    pub max_batched_tokens: u32,
    /// Prefill cost per computed (non-cached) prompt token, seconds.
    pub prefill_seconds_per_token: f64,
    /// Fixed cost of one engine step, seconds.
    pub decode_step_seconds: f64,
    /// Extra step cost per running sequence, seconds (decode slows down as the batch grows).
    pub decode_seconds_per_seq: f64,
}

impl Default for EngineParams {
    fn default() -> Self {
        EngineParams {
            max_batch_size: 64,
            kv_blocks: 2600,
            block_size: 16,
            max_model_len: 8192,
            max_batched_tokens: 8192,
            prefill_seconds_per_token: 0.00008,
            decode_step_seconds: 0.014,
            decode_seconds_per_seq: 0.00035,
        }
    }
}

/// One model served by `replicas` identical replicas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Served model name (vLLM/SGLang `model_name` label; TGI and llama.cpp get it as the `model` target label).
    pub name: String,
    pub backend: BackendKind,
    /// "0.10" or "latest" for vLLM, "3" for TGI, "latest" for SGLang, "latest" or "legacy" for llama.cpp.
    /// Default: latest.
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default = "one")]
    pub replicas: u32,
    /// Kubernetes Service name (the `service` and `job` labels). Default: derived from `name`.
    #[serde(default)]
    pub service: Option<String>,
    /// Scenario at start.
    #[serde(default)]
    pub scenario: Scenario,
    #[serde(default)]
    pub workload: Workload,
    #[serde(default)]
    pub engine: EngineParams,
}

/// A scenario switched on for a while (backfill timeline; offsets from the start of the backfilled period).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineEntry {
    /// Offset from the start, e.g. "12d" or "12d6h" ("0s" allowed).
    pub start: String,
    pub duration: PromDuration,
    pub scenario: Scenario,
    /// Model names it applies to; empty = all models.
    #[serde(default)]
    pub models: Vec<String>,
}

/// The whole fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetConfig {
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Kubernetes namespace label of every target.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// First port of the fleet on 127.0.0.1 (replica i gets base_port + i); 0 = ephemeral ports.
    #[serde(default)]
    pub base_port: u16,
    pub models: Vec<ModelSpec>,
    #[serde(default)]
    pub timeline: Vec<TimelineEntry>,
}

fn default_seed() -> u64 {
    42
}
fn default_namespace() -> String {
    "llm-serving".to_string()
}

/// One replica, resolved from a [`ModelSpec`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaSpec {
    /// Index in the fleet (stable; seeds the replica's random stream).
    pub index: usize,
    pub model: String,
    pub backend: BackendKind,
    pub version: Version,
    pub service: String,
    pub pod: String,
    pub scenario: Scenario,
    pub workload: Workload,
    pub engine: EngineParams,
}

/// A validated timeline entry in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub start_s: f64,
    pub end_s: f64,
    pub scenario: Scenario,
    pub models: Vec<String>,
}

impl FleetConfig {
    /// The built-in fleet: two vLLM models with 2 replicas each and one TGI model, plus one bad day on day 12.
    pub fn default_fleet() -> FleetConfig {
        let text = include_str!("../examples/fleet.yaml");
        FleetConfig::from_yaml(text, "built-in default").expect("the built-in fleet is valid")
    }

    pub fn load(path: &Path) -> Result<FleetConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        FleetConfig::from_yaml(&text, &path.display().to_string())
    }

    pub fn from_yaml(text: &str, origin: &str) -> Result<FleetConfig, ConfigError> {
        let de = serde_norway::Deserializer::from_str(text);
        let cfg: FleetConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner().to_string();
            // serde_norway already names the field in some messages; say it once.
            let inner = inner
                .strip_prefix(&format!("{field}: "))
                .map(str::to_string)
                .unwrap_or(inner);
            ConfigError::Parse {
                path: origin.to_string(),
                field: if field.is_empty() || field == "." {
                    "(document)".into()
                } else {
                    field
                },
                message: inner,
            }
        })?;
        cfg.validate(origin)?;
        Ok(cfg)
    }

    fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let bad = |field: String, message: String| ConfigError::Invalid {
            origin: origin.to_string(),
            field,
            message,
        };
        if self.models.is_empty() {
            return Err(bad(
                "models".into(),
                "at least one model is required".into(),
            ));
        }
        let mut names = std::collections::HashSet::new();
        for (i, m) in self.models.iter().enumerate() {
            let f = |s: &str| format!("models[{i}].{s}");
            if m.name.trim().is_empty() {
                return Err(bad(f("name"), "must not be empty".into()));
            }
            if !names.insert(m.name.clone()) {
                return Err(bad(f("name"), format!("duplicate model name {:?}", m.name)));
            }
            let version = m.version.as_deref().unwrap_or("latest");
            Version::parse(m.backend, version).map_err(|msg| bad(f("version"), msg))?;
            if m.replicas == 0 || m.replicas > 64 {
                return Err(bad(
                    f("replicas"),
                    format!("{} is out of range: accepted 1..=64", m.replicas),
                ));
            }
            if let Some(s) = &m.service {
                if !is_dns_label(s) {
                    return Err(bad(
                        f("service"),
                        format!("{s:?} is not a DNS label (lowercase a-z, 0-9, '-', ≤ 63)"),
                    ));
                }
            }
            validate_engine(&m.engine).map_err(|(field, msg)| bad(f(&field), msg))?;
            validate_workload(&m.workload, &m.engine)
                .map_err(|(field, msg)| bad(f(&field), msg))?;
        }
        for (i, t) in self.timeline.iter().enumerate() {
            let f = |s: &str| format!("timeline[{i}].{s}");
            parse_offset(&t.start).map_err(|msg| bad(f("start"), msg))?;
            for (j, name) in t.models.iter().enumerate() {
                if !names.contains(name) {
                    let known: Vec<&str> = self.models.iter().map(|m| m.name.as_str()).collect();
                    return Err(bad(
                        f(&format!("models[{j}]")),
                        format!("unknown model {name:?}: fleet models are {known:?}"),
                    ));
                }
            }
        }
        let total: u32 = self.models.iter().map(|m| m.replicas).sum();
        if self.base_port != 0 && u32::from(self.base_port) + total > 65535 {
            return Err(bad(
                "base_port".into(),
                format!("{} + {total} replicas exceeds 65535", self.base_port),
            ));
        }
        if !is_dns_label(&self.namespace) {
            return Err(bad(
                "namespace".into(),
                format!("{:?} is not a DNS label", self.namespace),
            ));
        }
        Ok(())
    }

    /// Every replica of the fleet in a stable order.
    pub fn replicas(&self) -> Vec<ReplicaSpec> {
        let mut out = Vec::new();
        for m in &self.models {
            let version = Version::parse(m.backend, m.version.as_deref().unwrap_or("latest"))
                .expect("validated");
            let service = m.service.clone().unwrap_or_else(|| service_name(&m.name));
            for r in 0..m.replicas {
                out.push(ReplicaSpec {
                    index: out.len(),
                    model: m.name.clone(),
                    backend: m.backend,
                    version,
                    pod: format!("{service}-{r}"),
                    service: service.clone(),
                    scenario: m.scenario,
                    workload: m.workload.clone(),
                    engine: m.engine.clone(),
                });
            }
        }
        out
    }

    /// The timeline in seconds from the start.
    pub fn windows(&self) -> Vec<Window> {
        self.timeline
            .iter()
            .map(|t| {
                let start_s = parse_offset(&t.start).expect("validated");
                Window {
                    start_s,
                    end_s: start_s + t.duration.as_secs_f64(),
                    scenario: t.scenario,
                    models: t.models.clone(),
                }
            })
            .collect()
    }
}

/// `"0"`, `"0s"` or a Prometheus duration.
pub fn parse_offset(s: &str) -> Result<f64, String> {
    let t = s.trim();
    if t == "0" || t == "0s" {
        return Ok(0.0);
    }
    t.parse::<PromDuration>()
        .map(|d| d.as_secs_f64())
        .map_err(|e| e.to_string())
}

fn validate_dist(d: &LengthDist, name: &str) -> Result<(), (String, String)> {
    if !(d.mean.is_finite() && d.mean >= 1.0) {
        return Err((
            format!("{name}.mean"),
            format!("{} is invalid: must be a number ≥ 1", d.mean),
        ));
    }
    if !(d.sigma.is_finite() && (0.0..=3.0).contains(&d.sigma)) {
        return Err((
            format!("{name}.sigma"),
            format!("{} is invalid: accepted 0..=3", d.sigma),
        ));
    }
    if d.min == 0 || d.min > d.max {
        return Err((
            format!("{name}.min"),
            format!("{} is invalid: accepted 1..=max ({})", d.min, d.max),
        ));
    }
    Ok(())
}

fn validate_workload(w: &Workload, e: &EngineParams) -> Result<(), (String, String)> {
    let field = |s: &str| format!("workload.{s}");
    if !(w.rate.is_finite() && w.rate >= 0.0 && w.rate <= 10_000.0) {
        return Err((
            field("rate"),
            format!(
                "{} is invalid: requests per second per replica, accepted 0..=10000",
                w.rate
            ),
        ));
    }
    if !(w.diurnal_amplitude.is_finite() && (0.0..1.0).contains(&w.diurnal_amplitude)) {
        return Err((
            field("diurnal_amplitude"),
            format!("{} is invalid: accepted 0 ≤ a < 1", w.diurnal_amplitude),
        ));
    }
    if !(w.diurnal_peak_hour.is_finite() && (0.0..24.0).contains(&w.diurnal_peak_hour)) {
        return Err((
            field("diurnal_peak_hour"),
            format!("{} is invalid: accepted 0 ≤ h < 24", w.diurnal_peak_hour),
        ));
    }
    validate_dist(&w.prompt_tokens, "prompt_tokens").map_err(|(f, m)| (field(&f), m))?;
    validate_dist(&w.output_tokens, "output_tokens").map_err(|(f, m)| (field(&f), m))?;
    for (name, v) in [
        ("prefix_hit_ratio", w.prefix_hit_ratio),
        ("abort_ratio", w.abort_ratio),
        ("error_ratio", w.error_ratio),
    ] {
        if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
            return Err((
                field(name),
                format!("{v} is invalid: a ratio, accepted 0..=1"),
            ));
        }
    }
    if w.abort_ratio + w.error_ratio > 1.0 {
        return Err((
            field("error_ratio"),
            "abort_ratio + error_ratio must not exceed 1".into(),
        ));
    }
    let longest = u64::from(w.prompt_tokens.max) + u64::from(w.output_tokens.max);
    if longest > u64::from(e.max_model_len) {
        return Err((
            field("prompt_tokens.max"),
            format!("prompt_tokens.max + output_tokens.max = {longest} exceeds engine.max_model_len = {}", e.max_model_len),
        ));
    }
    if longest > u64::from(e.kv_blocks) * u64::from(e.block_size) {
        return Err((
            field("prompt_tokens.max"),
            format!(
                "the longest request ({longest} tokens) does not fit in the KV cache (engine.kv_blocks × engine.block_size = {})",
                u64::from(e.kv_blocks) * u64::from(e.block_size)
            ),
        ));
    }
    Ok(())
}

fn validate_engine(e: &EngineParams) -> Result<(), (String, String)> {
    let field = |s: &str| format!("engine.{s}");
    if e.max_batch_size == 0 || e.max_batch_size > 4096 {
        return Err((
            field("max_batch_size"),
            format!("{} is invalid: accepted 1..=4096", e.max_batch_size),
        ));
    }
    if !(1..=256).contains(&e.block_size) {
        return Err((
            field("block_size"),
            format!("{} is invalid: accepted 1..=256", e.block_size),
        ));
    }
    if e.kv_blocks == 0 {
        return Err((field("kv_blocks"), "must be ≥ 1".into()));
    }
    if e.max_batch_size > e.kv_blocks {
        return Err((
            field("max_batch_size"),
            format!(
                "batch of {} sequences is larger than the KV capacity of {} blocks (each running sequence holds ≥ 1 block)",
                e.max_batch_size, e.kv_blocks
            ),
        ));
    }
    if e.max_model_len == 0 {
        return Err((field("max_model_len"), "must be ≥ 1".into()));
    }
    if e.max_batched_tokens == 0 {
        return Err((field("max_batched_tokens"), "must be ≥ 1".into()));
    }
    for (name, v) in [
        ("prefill_seconds_per_token", e.prefill_seconds_per_token),
        ("decode_step_seconds", e.decode_step_seconds),
        ("decode_seconds_per_seq", e.decode_seconds_per_seq),
    ] {
        if !(v.is_finite() && (0.0..=10.0).contains(&v)) {
            return Err((
                field(name),
                format!("{v} is invalid: seconds, accepted 0..=10"),
            ));
        }
    }
    if e.decode_step_seconds < 1e-4 {
        return Err((
            field("decode_step_seconds"),
            format!(
                "{} is too small: accepted ≥ 0.0001 s",
                e.decode_step_seconds
            ),
        ));
    }
    Ok(())
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A Kubernetes-style service name from a model name (`meta-llama/Llama-3.1-8B` → `llama-3-1-8b`).
pub fn service_name(model: &str) -> String {
    let base = model.rsplit('/').next().unwrap_or(model);
    let mut out = String::new();
    for c in base.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').chars().take(50).collect::<String>();
    if out.is_empty() {
        "model".into()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_fleet_is_two_vllm_models_times_two_and_one_tgi() {
        let f = FleetConfig::default_fleet();
        let r = f.replicas();
        assert_eq!(r.len(), 5);
        assert_eq!(
            r.iter().filter(|x| x.backend == BackendKind::Vllm).count(),
            4
        );
        assert_eq!(
            r.iter().filter(|x| x.backend == BackendKind::Tgi).count(),
            1
        );
        assert!(!f.windows().is_empty());
    }

    #[test]
    fn service_names_are_dns_labels() {
        assert_eq!(
            service_name("meta-llama/Llama-3.1-8B-Instruct"),
            "llama-3-1-8b-instruct"
        );
        assert!(is_dns_label(&service_name(
            "Qwen/Qwen3-4B-Instruct-2507-FP8"
        )));
    }

    fn err(yaml: &str) -> String {
        FleetConfig::from_yaml(yaml, "t.yaml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_input_names_the_field_and_the_accepted_values() {
        let e = err("models: [{name: m, backend: ollama}]");
        assert!(
            e.contains("models[0].backend")
                && ["vllm", "tgi", "sglang", "llamacpp"]
                    .iter()
                    .all(|b| e.contains(b)),
            "{e}"
        );
        let e = err("models: [{name: m, backend: vllm, version: '0.9'}]");
        assert!(
            e.contains("models[0].version") && e.contains("\"0.10\", \"latest\""),
            "{e}"
        );
        let e = err("models: [{name: m, backend: vllm, workload: {rate: -1}}]");
        assert!(
            e.contains("models[0].workload.rate") && e.contains("accepted 0..=10000"),
            "{e}"
        );
        let e = err(
            "models: [{name: m, backend: vllm, engine: {max_batch_size: 512, kv_blocks: 100}}]",
        );
        assert!(
            e.contains("models[0].engine.max_batch_size")
                && e.contains("larger than the KV capacity"),
            "{e}"
        );
        let e = err("models: [{name: m, backend: vllm, scenario: meltdown}]");
        assert!(
            e.contains("models[0].scenario") && e.contains("kv-pressure"),
            "{e}"
        );
        let e = err("models: [{name: m, backend: vllm, replica: 2}]");
        assert!(e.contains("models[0]") && e.contains("replica"), "{e}");
        let e = err("models: []");
        assert!(e.contains("models") && e.contains("at least one"), "{e}");
        let e = err("models: [{name: m, backend: vllm}]\ntimeline: [{start: 1d, duration: 1d, scenario: errors, models: [x]}]");
        assert!(e.contains("timeline[0].models[0]"), "{e}");
        let e = err("models: [{name: m, backend: vllm}]\ntimeline: [{start: 1x, duration: 1d, scenario: errors}]");
        assert!(e.contains("timeline[0].start"), "{e}");
    }
}
