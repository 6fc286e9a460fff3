//! Every generated expression against a real Prometheus 2.42: accepted by its parser and evaluator (2.42 has no
//! parse endpoint, so each expression is run through `/api/v1/query`), and — on the real vLLM 0.10 capture and the
//! TGI capture — every concept the catalog claims returns data, or says why not.

mod support;

use infermon_core::catalog::{support as cell, Backend, Concept, Support};
use infermon_core::query::Query;
use infermon_core::translate::{translate, Context};
use infermon_testkit::captures::{fixture, serve_capture, TGI_3_3, VLLM_0_10};
use infermon_testkit::Prometheus;
use std::collections::BTreeSet;
use support::per_model_query;
use support::prom::instant_query;

#[test]
fn prometheus_accepts_every_generated_expression() {
    let prom = Prometheus::builder().start().expect("prometheus starts");
    let mut exprs: Vec<(String, String)> = Vec::new();
    for case in support::all_cases() {
        let t = translate(&Query::Metric(case.query.clone()), &Context::default()).unwrap();
        exprs.extend(t.targets.into_iter().map(|t| (case.name(), t.expr)));
    }
    for json in [
        serde_json::json!({"queryType": "metric", "concept": "ttft"}),
        serde_json::json!({"queryType": "metric", "concept": "kv_cache_usage", "models": ["a\"b\\c.*", "x|y"],
            "filters": [{"label": "pod", "op": "=~", "value": "vllm-.*"}], "groupBy": ["model", "namespace"]}),
        serde_json::json!({"queryType": "fleet"}),
        serde_json::json!({"queryType": "slo", "sli": "ttft", "threshold": 0.5, "objective": 0.99,
            "view": "budgetRemaining", "backend": "vllm"}),
        serde_json::json!({"queryType": "slo", "sli": "e2e_latency", "threshold": 5.0, "objective": 0.95,
            "view": "attainment", "interpolate": true}),
        serde_json::json!({"queryType": "slo", "sli": "error_ratio", "objective": 0.999, "view": "burnRate"}),
    ] {
        let t = translate(&Query::from_json(&json).unwrap(), &Context::default()).unwrap();
        exprs.extend(t.targets.into_iter().map(|t| (json.to_string(), t.expr)));
    }
    let mut failures = Vec::new();
    for (name, expr) in &exprs {
        if let Err(e) = instant_query(prom.url(), expr) {
            failures.push(format!("{name}: {e}\n  {expr}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rejected:\n{}",
        failures.len(),
        exprs.len(),
        failures.join("\n")
    );
    eprintln!("Prometheus 2.42 accepted all {} expressions", exprs.len());
}

/// Concepts that return data for `backend` on a scraped capture; the rest must carry a notice.
fn concepts_with_data(
    prom_url: &str,
    backend: Backend,
    ctx: &Context,
) -> (BTreeSet<Concept>, BTreeSet<Concept>) {
    let (mut with_data, mut explained) = (BTreeSet::new(), BTreeSet::new());
    for &concept in Concept::ALL {
        if !cell(concept, backend).is_supported() {
            continue;
        }
        let q = per_model_query(concept, backend, None, Some("1m".parse().unwrap()));
        let t = translate(&Query::Metric(q), ctx).unwrap();
        if t.targets.is_empty() {
            assert!(!t.notices.is_empty(), "{concept}: no query and no notice");
            explained.insert(concept);
            continue;
        }
        let result = instant_query(prom_url, &t.targets[0].expr).unwrap();
        let series = result.as_array().unwrap();
        if !series.is_empty() {
            assert!(
                series.iter().all(|s| s["metric"]["model"].is_string()),
                "{concept}: no model label {result}"
            );
            with_data.insert(concept);
        }
    }
    (with_data, explained)
}

#[test]
fn every_claimed_concept_returns_data_on_real_captures() {
    let vllm = serve_capture(fixture(VLLM_0_10));
    let tgi = serve_capture(fixture(TGI_3_3));
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: vllm\n    static_configs:\n      - targets: ['{vllm}']\n        labels: {{namespace: prod}}\n  - job_name: tgi-llama\n    static_configs:\n      - targets: ['{tgi}']\n        labels: {{namespace: prod}}\n"
    );
    let prom = Prometheus::builder()
        .config_yaml(config)
        .start()
        .expect("prometheus starts");
    prom.wait_for_results(
        &[
            "count_over_time(tgi_queue_size[1m]) >= 4",
            "count_over_time(vllm:num_requests_running[1m]) >= 4",
        ],
        std::time::Duration::from_secs(30),
    )
    .expect("both captures scraped at least 4 times");

    // Detection as the plugin does it: which metric names exist.
    let names = instant_query(
        prom.url(),
        "group by (__name__) ({__name__=~\"(vllm:|tgi_).+\"})",
    )
    .unwrap();
    let present: BTreeSet<String> = names
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["metric"]["__name__"].as_str().unwrap().to_string())
        .collect();
    let ctx = Context {
        backends: Some([Backend::Vllm, Backend::Tgi].into()),
        present_metrics: Some(present),
        ..Context::default()
    };

    let (vllm_data, vllm_explained) = concepts_with_data(prom.url(), Backend::Vllm, &ctx);
    let expected_explained: BTreeSet<Concept> =
        [Concept::Tpot, Concept::SpecDecodeAcceptanceRate].into();
    assert_eq!(
        vllm_explained, expected_explained,
        "vLLM 0.10 has no TPOT histogram and no speculative decoding"
    );
    let supported: BTreeSet<Concept> = Concept::ALL
        .iter()
        .copied()
        .filter(|c| cell(*c, Backend::Vllm).is_supported())
        .collect();
    assert_eq!(
        vllm_data,
        &supported - &expected_explained,
        "every other vLLM concept returns data"
    );

    let (tgi_data, tgi_explained) = concepts_with_data(prom.url(), Backend::Tgi, &ctx);
    let tgi_supported: BTreeSet<Concept> = Concept::ALL
        .iter()
        .copied()
        .filter(|c| matches!(cell(*c, Backend::Tgi), Support::Supported { .. }))
        .collect();
    assert!(tgi_explained.is_empty(), "{tgi_explained:?}");
    assert_eq!(
        tgi_data, tgi_supported,
        "every TGI concept returns data (model from the job label)"
    );

    // TGI has no model label: the uniform `model` comes from the job.
    let q = Query::from_json(
        &serde_json::json!({"queryType": "metric", "concept": "queue_depth", "backend": "tgi"}),
    )
    .unwrap();
    let r = instant_query(prom.url(), &translate(&q, &ctx).unwrap().targets[0].expr).unwrap();
    assert_eq!(r[0]["metric"]["model"], "tgi-llama");
    // vLLM's model comes from model_name, and the data-parallel engine label is aggregated away.
    let q = Query::from_json(
        &serde_json::json!({"queryType": "metric", "concept": "kv_cache_usage", "backend": "vllm"}),
    )
    .unwrap();
    let r = instant_query(prom.url(), &translate(&q, &ctx).unwrap().targets[0].expr).unwrap();
    assert_eq!(r.as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r[0]["metric"]["model"], "Qwen/Qwen3-4B-Instruct-2507-FP8");
    assert_eq!(
        r[0]["value"][1], "0.0011764705882353343",
        "the 0..1 fraction as captured"
    );
}
