//! A 2-day backfill imported by the real `promtool tsdb create-blocks-from openmetrics` (Prometheus 2.42) and
//! queried through a real Prometheus with 30-day ranges: counts, SLO attainment and error totals equal the
//! ground truth exactly (counters are exact; no bucket error is involved when the SLO threshold is a bucket
//! boundary), and the scenario timeline is visible.

mod common;

use common::scalar;
use infermon_sim::backfill::{self, BackfillOptions, Profile};
use infermon_sim::FleetConfig;
use infermon_testkit::Prometheus;

const FLEET: &str = "
seed: 11
models:
  - name: test/llama
    backend: vllm
    service: llama
    workload: {rate: 0.5, error_ratio: 0.002}
  - name: test/mistral
    backend: tgi
    service: mistral
    workload: {rate: 0.4, error_ratio: 0.01}
timeline:
  - {start: 1d, duration: 3h, scenario: errors, models: [test/llama]}
  - {start: 1d12h, duration: 1h, scenario: outage, models: [test/mistral]}
";

#[test]
fn promtool_imports_the_backfill_and_30_day_queries_match_the_truth() {
    let cfg = FleetConfig::from_yaml(FLEET, "test").unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // End an hour ago, on a 15 s boundary, so the data lies inside the TSDB's retention and before its head.
    let end = now - 3600 - (now - 3600).rem_euclid(15);
    let out = tempfile::tempdir().unwrap();
    let opts = BackfillOptions {
        days: 2.0,
        interval_s: 15,
        profile: Profile::Slo,
        end_unix: Some(end),
        out_dir: out.path().to_path_buf(),
        threads: 2,
    };
    let report = backfill::run(&cfg, &opts, &|_| {}).unwrap();
    assert_eq!(report.end_unix, end);
    assert_eq!(report.files.len(), 2);
    assert!(out.path().join("truth.json").exists() && out.path().join("import.sh").exists());

    let data = tempfile::tempdir().unwrap();
    backfill::import_with_promtool(std::path::Path::new("promtool"), &report, data.path())
        .expect("promtool imports");
    let prom = Prometheus::builder()
        .data_dir(data.path())
        .retention("400d")
        .start()
        .expect("prometheus starts on the imported data");
    let at = Some(end as f64);

    let llama = report
        .truth
        .iter()
        .find(|m| m.model == "test/llama")
        .unwrap();
    let mistral = report
        .truth
        .iter()
        .find(|m| m.model == "test/mistral")
        .unwrap();
    // Counters at the last sample = totals of the whole period.
    let finished = scalar(
        &prom,
        "max_over_time(vllm:e2e_request_latency_seconds_count[30d])",
        at,
    );
    assert_eq!(finished as u64, llama.totals.finished);
    let within = scalar(
        &prom,
        r#"max_over_time(vllm:e2e_request_latency_seconds_bucket{le="5.0"}[30d])"#,
        at,
    );
    assert_eq!(within as u64, llama.totals.e2e_within_slo);
    let ttft_att = scalar(
        &prom,
        r#"sum(max_over_time(vllm:time_to_first_token_seconds_bucket{le="0.5"}[30d])) / sum(max_over_time(vllm:time_to_first_token_seconds_count[30d]))"#,
        at,
    );
    assert!((ttft_att - llama.attainment.ttft_within_0_5s.unwrap()).abs() < 1e-12);
    let errors = scalar(
        &prom,
        r#"max_over_time(vllm:request_success_total{finished_reason="error"}[30d])"#,
        at,
    );
    assert_eq!(errors as u64, llama.totals.errors);
    let all = scalar(
        &prom,
        "sum(max_over_time(vllm:request_success_total[30d]))",
        at,
    );
    assert_eq!(all as u64, llama.totals.finished);
    let tgi_fail = scalar(
        &prom,
        r#"max_over_time(tgi_request_failure{err="generation",model="test/mistral"}[30d])"#,
        at,
    );
    assert_eq!(tgi_fail as u64, mistral.totals.errors);

    // One sample per 15 s per series; the TGI replica has no samples during its 1 h outage (up = 0 then).
    let ticks = 2 * 86_400 / 15;
    assert_eq!(
        scalar(&prom, r#"count_over_time(up{pod="llama-0"}[30d])"#, at) as i64,
        ticks
    );
    assert_eq!(
        scalar(&prom, r#"count_over_time(tgi_queue_size[30d])"#, at) as i64,
        ticks - 3600 / 15
    );
    assert_eq!(
        scalar(
            &prom,
            r#"count_over_time(up{pod="mistral-0"}[30d]) - sum_over_time(up{pod="mistral-0"}[30d])"#,
            at
        ),
        240.0
    );

    // The error window (day 1, 3 h) burns the no-error budget: far more errors in it than in any other 3 h.
    let start = report.start_unix as f64;
    let in_window = scalar(
        &prom,
        r#"increase(vllm:request_success_total{finished_reason="error"}[3h])"#,
        Some(start + 86_400.0 + 3.0 * 3600.0),
    );
    let before = scalar(
        &prom,
        r#"increase(vllm:request_success_total{finished_reason="error"}[3h])"#,
        Some(start + 12.0 * 3600.0),
    );
    assert!(
        in_window > 20.0 * before.max(1.0),
        "errors in the bad window {in_window} vs before {before}"
    );
}
