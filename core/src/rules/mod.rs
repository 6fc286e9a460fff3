//! Rule generation from the catalog: recording rules, alerting rules, SLO rules from a spec, and the Kubernetes
//! manifests that carry them (prometheus-operator `PrometheusRule`, `ServiceMonitor`, `PodMonitor`).
//!
//! Pipeline (`generate`): validate the spec → recording rules → alerting rules → SLO rules → files.

pub mod alerts;
pub mod manifests;
pub mod model;
pub mod recording;
pub mod slo;
pub mod spec;

pub use model::{Rule, RuleFile, RuleGroup};
pub use spec::{default_spec, SloSpec};

/// Generated files: (path relative to the repository root, contents).
pub type Files = Vec<(String, String)>;

/// Every generated rule and manifest file for `spec`.
pub fn generate(
    spec: &SloSpec,
    opts: &manifests::ManifestOptions,
) -> Result<Files, slo::SloRuleError> {
    let recording = recording::recording_rules();
    let alerting = alerts::alerting_rules(&opts.alerts);
    let slos = slo::slo_rules(spec, &opts.alerts)?;
    Ok(manifests::files(&recording, &alerting, &slos, opts))
}
