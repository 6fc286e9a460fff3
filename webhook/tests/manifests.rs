//! The shipped Kubernetes manifests stay consistent with the service: the example Secret's config parses, and
//! the Deployment, Service and AlertmanagerConfig agree on names, port and paths.

use std::path::PathBuf;

fn manifest(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../manifests/webhook")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

fn docs(name: &str) -> Vec<serde_norway::Value> {
    let text = manifest(name);
    serde_norway::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect()
}

#[test]
fn example_secret_config_is_valid() {
    let secret = &docs("secret.example.yaml")[0];
    let config = secret["stringData"]["config.yaml"].as_str().unwrap();
    // The token file is mounted from the same Secret in the cluster; point it at a temp file here.
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("alertmanager-token");
    std::fs::write(
        &token,
        secret["stringData"]["alertmanager-token"].as_str().unwrap(),
    )
    .unwrap();
    let config = config.replace(
        "/etc/infermon-webhook/alertmanager-token",
        token.to_str().unwrap(),
    );
    let c = infermon_webhook::Config::from_yaml_str(&config, "secret.example.yaml").unwrap();
    assert_eq!(c.listen.port(), 9095);
    assert_eq!(c.auth.bearer_tokens.len(), 1);
}

#[test]
fn deployment_service_and_alertmanagerconfig_agree() {
    let dep = docs("deployment.yaml");
    let deployment = dep.iter().find(|d| d["kind"] == "Deployment").unwrap();
    let pvc = dep
        .iter()
        .find(|d| d["kind"] == "PersistentVolumeClaim")
        .unwrap();
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["ports"][0]["containerPort"], 9095);
    let claim = deployment["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]
        ["claimName"]
        .clone();
    assert_eq!(claim, pvc["metadata"]["name"]);
    let svc = &docs("service.yaml")[0];
    assert_eq!(svc["spec"]["ports"][0]["port"], 9095);
    let amc = &docs("alertmanagerconfig.yaml")[0];
    let url = amc["spec"]["receivers"][0]["webhookConfigs"][0]["url"]
        .as_str()
        .unwrap();
    assert!(
        url.starts_with(&format!(
            "http://{}.",
            svc["metadata"]["name"].as_str().unwrap()
        )),
        "{url}"
    );
    assert!(url.ends_with(":9095/api/v1/alerts"), "{url}");
}
