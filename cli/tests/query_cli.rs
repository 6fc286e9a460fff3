//! `infermon query` against a real Prometheus 2.42 scraping the simulator's default fleet: tables, JSON, CSV,
//! `--explain`, and a Prometheus error shown with the PromQL that caused it.

mod common;

use infermon_testkit::Prometheus;
use std::process::Command;
use std::time::Duration;

fn infermon(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_infermon"))
        .args(args)
        .output()
        .expect("infermon runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn query_answers_from_a_real_prometheus_scraping_the_simulator() {
    // Fast simulated time so counters move and latency histograms fill within seconds.
    let live =
        common::scraped_default_fleet("global:\n  scrape_interval: 1s\n", Prometheus::builder());
    let url = live.prom.url().to_string();
    let models = live.models();

    // Wait until every model has a non-empty rate (≥ 2 scrapes per replica).
    infermon_testkit::wait_until(Duration::from_secs(60), || {
        let (ok, out, err) = infermon(&[
            "query",
            "request_rate",
            "--output",
            "json",
            "--prometheus-url",
            &url,
        ]);
        let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap_or_default();
        if ok && rows.len() == models.len() {
            Ok(())
        } else {
            Err(format!("{} rows; {err}", rows.len()))
        }
    })
    .expect("every simulated model answers");

    // JSON: one row per model, the uniform `model` label for vLLM and TGI alike.
    let (ok, out, err) = infermon(&[
        "query",
        "queue_depth",
        "--output",
        "json",
        "--prometheus-url",
        &url,
    ]);
    assert!(ok, "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let mut seen: Vec<String> = rows
        .iter()
        .map(|r| r["model"].as_str().unwrap().to_string())
        .collect();
    seen.sort();
    let mut expected = models.clone();
    expected.sort();
    assert_eq!(seen, expected);
    assert!(
        rows.iter()
            .all(|r| r["value"].as_f64().is_some_and(|v| v >= 0.0)),
        "{out}"
    );

    // Table with --explain: the PromQL goes to stderr, the table to stdout, with human units.
    let (ok, out, err) = infermon(&[
        "query",
        "kv_cache_usage",
        "--explain",
        "--model",
        &models[0],
        "--prometheus-url",
        &url,
    ]);
    assert!(ok, "{err}");
    assert!(
        err.contains("PromQL (value, unit percentunit)")
            && err.contains("vllm:kv_cache_usage_perc"),
        "{err}"
    );
    assert!(
        out.starts_with("MODEL") && out.contains(&models[0]) && out.contains(" %"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 2, "one model asked, one row: {out}");

    // A range summary: last/min/avg/max columns.
    let (ok, out, err) = infermon(&[
        "query",
        "ttft",
        "--stat",
        "p95",
        "--since",
        "30s",
        "--output",
        "csv",
        "--prometheus-url",
        &url,
    ]);
    assert!(ok, "{err}");
    assert!(out.lines().next().unwrap().starts_with("model,"), "{out}");

    // Fleet: one row per model, one column per figure.
    let (ok, out, err) = infermon(&[
        "query",
        "fleet",
        "--output",
        "json",
        "--prometheus-url",
        &url,
    ]);
    assert!(ok, "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.len(), models.len(), "{out}");
    assert!(
        rows.iter()
            .all(|r| r.get("queue_depth").is_some() && r.get("request_rate").is_some()),
        "{out}"
    );

    // Errors: Prometheus's message and the PromQL that caused it; bad input named precisely.
    let (ok, _, err) = infermon(&[
        "query",
        "--json",
        r#"{"queryType":"promql","expr":"sum(rate(x[5m])"}"#,
        "--prometheus-url",
        &url,
    ]);
    assert!(!ok);
    assert!(
        err.contains("PromQL: sum(rate(x[5m])") && err.contains("bad_data"),
        "{err}"
    );
    let (ok, _, err) = infermon(&["query", "ttft", "--stat", "p950", "--prometheus-url", &url]);
    assert!(
        !ok && err.contains("--stat") && err.contains("p95"),
        "{err}"
    );
    let (ok, _, err) = infermon(&["query", "latency", "--prometheus-url", &url]);
    assert!(
        !ok && err.contains("unknown concept \"latency\"") && err.contains("e2e_latency"),
        "{err}"
    );

    live.stop();
}
