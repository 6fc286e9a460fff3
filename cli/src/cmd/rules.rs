//! `infermon rules`: generate the recording, alerting and SLO rules and the Kubernetes manifests from the catalog
//! and an SLO spec; `--check` fails when the files on disk are stale (CI runs it).

use clap::Args;
use infermon_core::rules::manifests::ManifestOptions;
use infermon_core::rules::{default_spec, generate};
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  infermon rules                         # write manifests/ with the default SLOs\n  infermon rules --spec slo.yaml --release kube-prom-stack\n  infermon rules --check                 # exit 1 if manifests/ is stale\n  infermon rules --print-default-spec > slo.yaml"
)]
pub struct RulesArgs {
    /// SLO spec file (YAML); default: infermon's built-in SLOs (also written to manifests/slo.yaml).
    #[arg(long, env = "INFERMON_SLO_SPEC")]
    spec: Option<PathBuf>,
    /// Directory the `manifests/` tree is written under.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// `release` label of the monitors and rules: your kube-prometheus-stack Helm release name.
    #[arg(long, default_value = "kube-prometheus-stack")]
    release: String,
    /// Namespace of the PrometheusRule objects.
    #[arg(long, default_value = "monitoring")]
    namespace: String,
    /// Base URL of the runbooks linked from every alert.
    #[arg(long)]
    runbook_base_url: Option<String>,
    /// Compare instead of writing; exit non-zero and list the stale files.
    #[arg(long)]
    check: bool,
    /// Print the built-in SLO spec and exit.
    #[arg(long)]
    print_default_spec: bool,
}

pub fn run(args: RulesArgs) -> Result<(), String> {
    if args.print_default_spec {
        print!("{}", default_spec().to_yaml());
        return Ok(());
    }
    let spec = super::generated::load_spec(args.spec.as_deref())?;
    let mut opts = ManifestOptions {
        release: args.release,
        namespace: args.namespace,
        ..Default::default()
    };
    if let Some(url) = args.runbook_base_url {
        opts.alerts.runbook_base_url = url;
    }
    let mut files = generate(&spec, &opts).map_err(|e| e.to_string())?;
    files.push((
        "manifests/slo.yaml".into(),
        format!(
            "# The SLO spec the rules were generated from (`infermon rules --spec`).\n{}",
            spec.to_yaml()
        ),
    ));
    super::generated::write_or_check(&files, &args.out, args.check, "rules")
}
