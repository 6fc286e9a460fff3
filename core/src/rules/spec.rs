//! The SLO spec file (`slo.yaml`), close to Sloth's and OpenSLO's vocabulary: each SLO names an SLI concept, a
//! threshold (latency SLIs), an objective as a fraction, a window, and optionally the backends and models it covers.

use crate::catalog::{Backend, Concept};
use crate::duration::PromDuration;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloSpec {
    pub slos: Vec<Slo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// Identifier, used as the `slo` label: lowercase letters, digits and dashes.
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// `ttft`, `inter_token_latency`, `tpot`, `e2e_latency`, `queue_time` or `error_ratio`.
    pub sli: Concept,
    /// Seconds; required for latency SLIs; must be a bucket boundary of every backend covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Fraction of good events, in (0, 1): `0.99`, not `99`.
    pub objective: f64,
    #[serde(default = "default_window")]
    pub window: PromDuration,
    /// Backends covered (default: every backend that supports the SLI).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backends: Vec<Backend>,
    /// Models covered (default: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
}

fn default_window() -> PromDuration {
    PromDuration::from_secs(30 * 24 * 3600)
}

/// infermon's default SLOs: 95 % of requests end-to-end within 5 s, 99 % of TTFTs within 0.5 s, 99.9 % of requests
/// without error, over 30 days. The latency SLOs cover vLLM only: 5 s and 0.5 s are not TGI bucket boundaries
/// (`0.0001 × 1.5^k`) and 0.5 s is not an SGLang TTFT boundary, so they cannot be measured exactly there.
pub fn default_spec() -> SloSpec {
    SloSpec {
        slos: vec![
            Slo {
                name: "e2e-latency-5s".into(),
                description: "95 % of requests complete end-to-end within 5 s".into(),
                sli: Concept::E2eLatency,
                threshold: Some(5.0),
                objective: 0.95,
                window: default_window(),
                backends: vec![Backend::Vllm],
                models: vec![],
            },
            Slo {
                name: "ttft-500ms".into(),
                description: "99 % of time-to-first-token within 0.5 s".into(),
                sli: Concept::Ttft,
                threshold: Some(0.5),
                objective: 0.99,
                window: default_window(),
                backends: vec![Backend::Vllm],
                models: vec![],
            },
            Slo {
                name: "errors".into(),
                description: "99.9 % of requests finish without error".into(),
                sli: Concept::ErrorRatio,
                threshold: None,
                objective: 0.999,
                window: default_window(),
                backends: vec![],
                models: vec![],
            },
        ],
    }
}

/// Why a spec was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    #[error("invalid SLO spec: {0}")]
    Yaml(String),
    #[error("slos[{index}] ({name}): `{field}` {problem}")]
    Invalid {
        index: usize,
        name: String,
        field: &'static str,
        problem: String,
    },
}

impl SloSpec {
    pub fn from_yaml(text: &str) -> Result<SloSpec, SpecError> {
        let spec: SloSpec =
            serde_norway::from_str(text).map_err(|e| SpecError::Yaml(e.to_string()))?;
        spec.validate()?;
        Ok(spec)
    }

    pub fn to_yaml(&self) -> String {
        serde_norway::to_string(self).expect("specs serialise")
    }

    pub fn validate(&self) -> Result<(), SpecError> {
        let mut seen = std::collections::BTreeSet::new();
        for (index, slo) in self.slos.iter().enumerate() {
            let bad = |field, problem: String| SpecError::Invalid {
                index,
                name: slo.name.clone(),
                field,
                problem,
            };
            if slo.name.is_empty()
                || !slo
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                return Err(bad("name", format!("must be lowercase letters, digits and dashes, e.g. \"ttft-500ms\"; got {:?}", slo.name)));
            }
            if !seen.insert(slo.name.clone()) {
                return Err(bad("name", "is used twice".into()));
            }
            let query = crate::query::SloQuery {
                slo: None,
                sli: slo.sli,
                threshold: slo.threshold,
                objective: slo.objective,
                window: slo.window,
                view: crate::query::SloView::Attainment,
                burn_window: None,
                interpolate: false,
                models: slo.models.clone(),
                namespaces: vec![],
                backend: crate::query::BackendChoice::Auto,
                filters: vec![],
                group_by: vec!["model".into()],
                legend: None,
            };
            if let Err(crate::query::QueryError::Invalid { field, problem }) =
                crate::query::Query::Slo(query).validate()
            {
                let field = match field.as_str() {
                    "objective" => "objective",
                    "threshold" => "threshold",
                    "sli" => "sli",
                    _ => "models",
                };
                return Err(bad(field, problem));
            }
        }
        Ok(())
    }
}
