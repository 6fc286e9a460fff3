//! Every manifest under `manifests/` validated strictly against real schemas (issue 4, "Proof") by
//! `tools/validate-manifests/run.sh`: prometheus-operator objects against the OpenAPI schemas of
//! `@kubernetes-models/prometheus-operator` with undeclared fields rejected, core objects with
//! `kubernetes-validate --strict`. The script installs its tools on first use (npm ci, pip into a venv); when
//! node, npm or python3 is missing it fails, and so does this test: it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs the validator on `paths` (default: the repository's manifests/); (success, stdout + stderr).
fn validate(paths: &[&Path]) -> (bool, String) {
    let script = repo().join("tools/validate-manifests/run.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args(paths)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(
        out.status.code(),
        Some(2),
        "the validator's tools are missing (install nodejs, npm, python3-venv):\n{text}"
    );
    (out.status.success(), text)
}

/// A copy of manifests/ in a temp dir with `from` replaced by `to` in `file` (exactly once).
fn mutated(file: &str, from: &str, to: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for sub in ["kubernetes", "webhook"] {
        let src = repo().join("manifests").join(sub);
        let dst = dir.path().join(sub);
        std::fs::create_dir_all(&dst).unwrap();
        for e in std::fs::read_dir(&src).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, dst.join(p.file_name().unwrap())).unwrap();
        }
    }
    let path = dir.path().join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "{from:?} occurs once in {file}"
    );
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    dir
}

#[test]
fn every_manifest_is_valid_against_the_real_schemas() {
    let (ok, out) = validate(&[]);
    assert!(ok, "{out}");
    // ServiceMonitor ×2, PodMonitor ×2, PrometheusRule ×3 and the webhook's AlertmanagerConfig.
    assert!(
        out.contains("8 prometheus-operator objects checked, 0 invalid"),
        "{out}"
    );
    for core in [
        "deployment/infermon-webhook",
        "service/infermon-webhook",
        "secret/infermon-webhook",
        "persistentvolumeclaim/infermon-webhook-outbox",
    ] {
        assert!(
            out.contains(&format!("passed for resource {core}")),
            "{core} was not validated:\n{out}"
        );
    }
    assert!(out.contains("All manifests valid."), "{out}");
}

#[test]
fn a_misspelt_field_of_a_servicemonitor_is_rejected() {
    let dir = mutated(
        "kubernetes/servicemonitor-vllm.yaml",
        "  endpoints:",
        "  endpointz:",
    );
    let (ok, out) = validate(&[dir.path()]);
    assert!(!ok, "a typo must fail:\n{out}");
    assert!(out.contains(".spec.endpointz: unknown field"), "{out}");
}

#[test]
fn a_misspelt_field_deep_in_a_prometheusrule_is_rejected() {
    // The schema declares no `fro` on a rule: the validator of the package alone would accept it.
    let dir = mutated("kubernetes/prometheusrule-alerts.yaml", "      for: 10m\n      labels:\n        severity: warning\n    - alert: FrequentPreemptions", "      fro: 10m\n      labels:\n        severity: warning\n    - alert: FrequentPreemptions");
    let (ok, out) = validate(&[dir.path()]);
    assert!(!ok, "a typo must fail:\n{out}");
    assert!(
        out.contains(".spec.groups[0].rules[3].fro: unknown field"),
        "{out}"
    );
}

#[test]
fn a_misspelt_field_of_a_core_object_is_rejected() {
    let dir = mutated(
        "webhook/service.yaml",
        "targetPort: http",
        "targetport: http",
    );
    let (ok, out) = validate(&[dir.path()]);
    assert!(!ok, "a typo must fail:\n{out}");
    assert!(out.contains("'targetport' was unexpected"), "{out}");
}

#[test]
fn a_kind_no_schema_knows_is_rejected_not_skipped() {
    let dir = mutated("webhook/service.yaml", "kind: Service", "kind: Servce");
    let (ok, out) = validate(&[dir.path()]);
    assert!(!ok, "an unknown kind must fail:\n{out}");
    assert!(
        out.contains("a document has a kind no schema knows"),
        "{out}"
    );
}
