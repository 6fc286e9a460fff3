//! The generated rules through the real promtool 2.42 (issue 4, "Proof"): `promtool check rules` on every plain
//! rule file and on the `.spec` of every PrometheusRule manifest, and the `promtool test rules` unit tests in
//! `tests/rules/` (every alert fired by a series set made for it and silent on a near miss; recording rules
//! checked for exact values on vLLM-shaped, TGI-shaped and renamed-metric input).

use infermon_testkit::promtool;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Files in `dir` whose name ends with `suffix`, sorted; panics when there are none (a test must not pass on
/// an empty set).
fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no {suffix} file in {}", dir.display());
    out
}

fn yaml(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn must_pass(out: Result<promtool::Output, promtool::PromtoolError>) -> String {
    match out {
        Ok(o) => o.stdout + &o.stderr,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn every_plain_rule_file_passes_promtool_check_rules() {
    let rule_files = files(&repo().join("manifests/prometheus"), ".rules.yml");
    assert_eq!(
        rule_files.len(),
        3,
        "recording, alerts and slo: {rule_files:?}"
    );
    let out = must_pass(promtool::check_rules(&rule_files));
    assert_eq!(out.matches("SUCCESS").count(), 3, "{out}");
}

#[test]
fn the_spec_of_every_prometheusrule_passes_promtool_check_rules_and_equals_the_plain_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut checked = 0;
    for manifest in files(&repo().join("manifests/kubernetes"), ".yaml") {
        let doc = yaml(&manifest);
        if doc["kind"] != "PrometheusRule" {
            continue;
        }
        // promtool rejects the manifest itself (apiVersion/kind/metadata are not rule-file fields): pass `.spec`.
        let spec = &doc["spec"];
        let name = manifest
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".yaml", ".spec.yml");
        let spec_file = dir.path().join(name);
        std::fs::write(&spec_file, serde_norway::to_string(spec).unwrap()).unwrap();
        must_pass(promtool::check_rules(&[&spec_file]));

        // The operator object and the plain file carry the same groups (no drift between the two outputs).
        let metadata_name = doc["metadata"]["name"].as_str().expect("metadata.name");
        let plain = repo().join(format!("manifests/prometheus/{metadata_name}.rules.yml"));
        assert_eq!(
            yaml(&plain),
            *spec,
            "{} differs from {}",
            manifest.display(),
            plain.display()
        );
        checked += 1;
    }
    assert_eq!(checked, 3, "recording, alerts and slo PrometheusRules");
}

#[test]
fn the_rule_unit_tests_pass() {
    let tests = files(&repo().join("tests/rules"), ".test.yml");
    let out = must_pass(promtool::test_rules(&tests));
    assert_eq!(out.matches("SUCCESS").count(), tests.len(), "{out}");
}

/// Every alert name of the generated rules is exercised by some `alert_rule_test` with at least one expected
/// firing alert, so a new alert without a unit test fails here.
#[test]
fn every_generated_alert_has_a_firing_unit_test() {
    let mut names = std::collections::BTreeSet::new();
    for f in files(&repo().join("manifests/prometheus"), ".rules.yml") {
        for g in yaml(&f)["groups"].as_array().expect("groups") {
            for r in g["rules"].as_array().expect("rules") {
                if let Some(a) = r["alert"].as_str() {
                    names.insert(a.to_string());
                }
            }
        }
    }
    assert!(names.len() >= 10, "{names:?}");
    let mut fired = std::collections::BTreeSet::new();
    let mut severities = std::collections::BTreeSet::new();
    for f in files(&repo().join("tests/rules"), ".test.yml") {
        for t in yaml(&f)["tests"].as_array().expect("tests") {
            for a in t["alert_rule_test"].as_array().into_iter().flatten() {
                let alerts = a["exp_alerts"].as_array().expect("exp_alerts");
                if !alerts.is_empty() {
                    fired.insert(a["alertname"].as_str().unwrap().to_string());
                }
                for x in alerts {
                    if let Some(s) = x["exp_labels"]["slo_severity"].as_str() {
                        severities.insert(s.to_string());
                    }
                }
            }
        }
    }
    let missing: Vec<_> = names.difference(&fired).collect();
    assert!(
        missing.is_empty(),
        "alerts without a firing unit test: {missing:?}"
    );
    assert_eq!(
        severities.into_iter().collect::<Vec<_>>(),
        ["page", "ticket"],
        "SLO burn alerts are tested at both severities"
    );
}

/// The unit tests are not vacuous: the same test with one expected value changed fails.
#[test]
fn a_wrong_expected_value_fails_the_unit_tests() {
    let text = std::fs::read_to_string(repo().join("tests/rules/recording.test.yml")).unwrap();
    let manifests = repo().join("manifests/prometheus");
    let text = text.replace("../../manifests/prometheus", &manifests.to_string_lossy());
    let wrong = text.replacen("            value: 15\n", "            value: 16\n", 1);
    assert_ne!(wrong, text, "the sample to change was found");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wrong.test.yml");
    std::fs::write(&path, wrong).unwrap();
    let err = promtool::test_rules(&[&path]).expect_err("a wrong expected value must fail");
    assert!(
        err.to_string()
            .contains("namespace_model:inference_generation_tokens:rate5m"),
        "{err}"
    );
}

/// Every `runbook_url` of the generated alerts points at a runbook in `docs/runbooks/`.
#[test]
fn every_alert_links_an_existing_runbook() {
    let mut linked = 0;
    for f in files(&repo().join("manifests/prometheus"), ".rules.yml") {
        for g in yaml(&f)["groups"].as_array().expect("groups") {
            for r in g["rules"].as_array().expect("rules") {
                let Some(alert) = r["alert"].as_str() else {
                    continue;
                };
                let url = r["annotations"]["runbook_url"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{alert}: no runbook_url"));
                assert!(
                    url.ends_with(&format!("/docs/runbooks/{alert}.md")),
                    "{alert}: {url}"
                );
                let doc = repo().join(format!("docs/runbooks/{alert}.md"));
                let text = std::fs::read_to_string(&doc)
                    .unwrap_or_else(|e| panic!("{}: {e}", doc.display()));
                for section in ["## What it means", "## How to confirm", "## What to do"] {
                    assert!(text.contains(section), "{}: no {section:?}", doc.display());
                }
                for annotation in ["summary", "description", "dashboard"] {
                    assert!(
                        r["annotations"][annotation].is_string(),
                        "{alert}: no {annotation}"
                    );
                }
                linked += 1;
            }
        }
    }
    assert!(linked >= 15, "{linked}");
}
