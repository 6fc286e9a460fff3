//! A live fleet scraped by a real Prometheus 2.42 (started by infermon-testkit): target labels, faithful `le`
//! strings, ground truth vs what Prometheus computes, and scenario switches over the HTTP control endpoint.
//!
//! Error bound of the ground-truth comparison: a classic histogram only says that the q-quantile lies in the
//! bucket (lower, upper] whose cumulative count first reaches q·N; `histogram_quantile` interpolates inside that
//! bucket. So for the same N observations the estimate and the true (nearest-rank) quantile lie in the same
//! bucket: |estimate − truth| ≤ upper − lower of the bucket that holds the true value. The histogram `_sum` is
//! exact: sum/count equals the true mean up to float rounding (relative 1e-9).

mod common;

use common::{maybe, query, scalar, wait_for};
use infermon_core::catalog::buckets;
use infermon_sim::truth::nearest_rank;

const FLEET: &str = "
seed: 3
namespace: llm-serving
models:
  - name: test/llama
    backend: vllm
    service: llama
    workload: {rate: 4, error_ratio: 0, abort_ratio: 0}
  - name: test/mistral
    backend: tgi
    service: mistral
    workload: {rate: 3}
";

/// The bucket (lower, upper] of `bounds` holding `v`.
fn bucket_of(bounds: &[f64], v: f64) -> (f64, f64) {
    let i = bounds.partition_point(|b| *b < v);
    let lower = if i == 0 { 0.0 } else { bounds[i - 1] };
    let upper = bounds.get(i).copied().unwrap_or(f64::INFINITY);
    (lower, upper)
}

fn post(url: &str) -> (u16, String) {
    let r = infermon_testkit::http::post(url, "text/plain", b"")
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    (r.status, r.text())
}

#[test]
fn prometheus_scrapes_the_fleet_and_agrees_with_ground_truth() {
    let live = common::scraped_fleet(FLEET);
    let (prom, fleet) = (&live.prom, &live.fleet);

    wait_for("both targets up with traffic", 40.0, || {
        maybe(prom, "count(up == 1)", None) == Some(2.0)
            && maybe(prom, "vllm:time_to_first_token_seconds_count", None).unwrap_or(0.0) > 200.0
            && maybe(prom, "tgi_request_count", None).unwrap_or(0.0) > 50.0
            // Scraped for more than the 2 s the ground-truth comparison below looks back.
            && maybe(prom, "vllm:time_to_first_token_seconds_count offset 3s", None).is_some()
    });

    // ServiceMonitor-like target labels; TGI gets its model from the target.
    assert_eq!(
        scalar(
            prom,
            r#"up{job="llama",namespace="llm-serving",pod="llama-0",service="llama"}"#,
            None
        ),
        1.0
    );
    assert!(
        scalar(
            prom,
            r#"tgi_request_count{job="mistral",model="test/mistral",pod="mistral-0"}"#,
            None
        ) > 0.0
    );
    // The exposed le strings reach Prometheus unchanged: le="5.0" (vLLM), TGI's shortest round-trip floats.
    assert_eq!(
        query(
            prom,
            r#"vllm:e2e_request_latency_seconds_bucket{le="5.0"}"#,
            None
        )
        .len(),
        1
    );
    assert_eq!(
        query(
            prom,
            r#"vllm:e2e_request_latency_seconds_bucket{le="5"}"#,
            None
        )
        .len(),
        0
    );
    assert_eq!(
        query(
            prom,
            r#"tgi_request_duration_bucket{le="0.49878850951194753"}"#,
            None
        )
        .len(),
        1
    );
    let kv = scalar(prom, "vllm:kv_cache_usage_perc", None);
    assert!((0.0..=1.0).contains(&kv), "kv usage is a fraction: {kv}");

    // Ground truth vs Prometheus, on the same N observations (those of the last scrape at time t). Every query
    // below must read the same scrape, so t lies 2 s in the past: a scrape is stamped with its start and stored
    // at its end, so at t = now one still in flight would change the values "at t" between two of the queries
    // (measured: 3 of 933 reads at now changed on a second read 30 ms later, none at now − 2 s). With 1 s
    // scrapes the scrape timeout is 1 s, so every scrape stamped before now − 2 s has been stored.
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        - 2.0;
    let llama = fleet
        .replicas
        .iter()
        .find(|r| r.spec.model == "test/llama")
        .unwrap();
    let ttft_bounds = buckets::VLLM_TTFT.bounds();
    let n = scalar(prom, "vllm:time_to_first_token_seconds_count", Some(t)) as u64;
    let sum = scalar(prom, "vllm:time_to_first_token_seconds_sum", Some(t));
    let mut ttfts = llama
        .with_engine(|e| e.truth.first_ttfts(n))
        .expect("truth keeps the first N TTFTs");
    let true_mean = ttfts.iter().sum::<f64>() / n as f64;
    assert!(
        ((sum / n as f64) - true_mean).abs() <= 1e-9 * true_mean,
        "mean TTFT {} vs truth {true_mean}",
        sum / n as f64
    );
    ttfts.sort_by(f64::total_cmp);
    for q in [0.5, 0.9, 0.95, 0.99] {
        let est = scalar(
            prom,
            &format!("histogram_quantile({q}, vllm:time_to_first_token_seconds_bucket)"),
            Some(t),
        );
        let truth = nearest_rank(&ttfts, q).unwrap();
        let (lo, hi) = bucket_of(&ttft_bounds, truth);
        assert!(
            est >= lo - 1e-12 && est <= hi + 1e-12,
            "TTFT p{q}: Prometheus {est} vs truth {truth}: must share the bucket ({lo}, {hi}]"
        );
    }
    let e2e_bounds = buckets::VLLM_REQUEST_LATENCY.bounds();
    let n = scalar(prom, "vllm:e2e_request_latency_seconds_count", Some(t)) as u64;
    let recs = llama
        .with_engine(|e| e.truth.first_records(n))
        .expect("truth keeps the first N requests");
    let mut e2e: Vec<f64> = recs.iter().map(|r| r.e2e).collect();
    e2e.sort_by(f64::total_cmp);
    for q in [0.5, 0.95] {
        let est = scalar(
            prom,
            &format!("histogram_quantile({q}, vllm:e2e_request_latency_seconds_bucket)"),
            Some(t),
        );
        let truth = nearest_rank(&e2e, q).unwrap();
        let (lo, hi) = bucket_of(&e2e_bounds, truth);
        assert!(
            est >= lo - 1e-12 && est <= hi + 1e-12,
            "e2e p{q}: Prometheus {est} vs truth {truth}: must share the bucket ({lo}, {hi}]"
        );
    }
    // SLO attainment from the le="5.0" bucket is exact.
    let good = scalar(
        prom,
        r#"vllm:e2e_request_latency_seconds_bucket{le="5.0"}"#,
        Some(t),
    );
    assert_eq!(good as usize, e2e.iter().filter(|v| **v <= 5.0).count());

    // /truth over HTTP.
    let truth: serde_json::Value = serde_json::from_str(
        &infermon_testkit::http::get(&format!("http://{}/truth", llama.addr))
            .unwrap()
            .text(),
    )
    .unwrap();
    assert_eq!(truth["model"], "test/llama");
    assert!(
        truth["windows"]["1m"]["ttft"]["count"].as_u64().unwrap() > 0,
        "{truth}"
    );
    assert!(truth["totals"]["finished"].as_u64().unwrap() >= n);

    // Scenario switches at run time through the control endpoint.
    let (status, body) = post(&format!("http://{}/control?scenario=meltdown", llama.addr));
    assert_eq!(status, 400);
    assert!(body.contains("kv-pressure"), "{body}");
    assert_eq!(
        scalar(
            prom,
            r#"sum(vllm:request_success_total{finished_reason="error"})"#,
            None
        ),
        0.0
    );
    let (status, _) = post(&format!("http://{}/control?scenario=errors", llama.addr));
    assert_eq!(status, 200);
    let mistral = fleet
        .replicas
        .iter()
        .find(|r| r.spec.model == "test/mistral")
        .unwrap();
    let (status, _) = post(&format!("http://{}/control?scenario=outage", mistral.addr));
    assert_eq!(status, 200);
    wait_for(
        "errors to show up and the TGI replica to go down",
        30.0,
        || {
            maybe(
                prom,
                r#"sum(vllm:request_success_total{finished_reason="error"})"#,
                None,
            )
            .unwrap_or(0.0)
                > 0.0
                && maybe(prom, r#"up{job="mistral"}"#, None) == Some(0.0)
        },
    );
    live.shutdown();
}
