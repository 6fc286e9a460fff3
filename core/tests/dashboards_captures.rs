//! Every panel of every generated dashboard against a real Prometheus 2.42 with infermon's recording and SLO rules
//! loaded, scraping the real vLLM 0.10 capture and the TGI capture (replayed with growing counters): the
//! Prometheus-only variant returns data everywhere; every plugin target returns data or carries a notice saying
//! why not, both for all models and for each model alone (the model-detail view), with and without recording rules.

mod dashboards_support;

use dashboards_support::{
    check_plugin_variant, check_prometheus_variant, detect, prometheus_with_rules,
};
use infermon_core::catalog::Backend;
use infermon_core::dashboards::dashboards;
use infermon_core::rules::default_spec;

const VLLM_MODEL: &str = "Qwen/Qwen3-4B-Instruct-2507-FP8";
const TGI_MODEL: &str = "tgi-llama";

#[test]
fn every_panel_returns_data_or_a_notice_on_real_vllm_and_tgi_captures() {
    let prom = prometheus_with_rules(&infermon_testkit::captures::vllm_and_tgi_scrape_configs(
        TGI_MODEL,
    ));
    // Scrapes and rule evaluations.
    prom.wait_for_results(
        &[
            "count_over_time(up[1m]) >= 6",
            &format!(r#"namespace_model:inference_slo_error_budget_remaining:ratio{{slo="ttft-500ms",model="{VLLM_MODEL}"}}"#),
            &format!(r#"namespace_model:inference_requests:rate5m{{model="{TGI_MODEL}"}}"#),
            "count_over_time(namespace_model:inference_ttft_seconds:p95_rate5m[1m]) >= 3",
        ],
        std::time::Duration::from_secs(40),
    )
    .unwrap();

    let all = dashboards(&default_spec()).unwrap();
    let n = check_prometheus_variant(prom.url(), &all);
    eprintln!(
        "Prometheus-only variant: all {n} expressions return data on the vLLM 0.10 + TGI captures"
    );

    let with_rules = detect(prom.url(), "1m");
    assert!(with_rules.recording_rules);
    let mut raw = with_rules.clone();
    raw.recording_rules = false;
    for (ctx, label) in [(&with_rules, "recorded"), (&raw, "raw")] {
        for scope in [
            None,
            Some((VLLM_MODEL, Backend::Vllm)),
            Some((TGI_MODEL, Backend::Tgi)),
        ] {
            let model = scope.map(|(m, _)| m);
            let r = check_plugin_variant(prom.url(), &all, scope, ctx);
            eprintln!(
                "plugin variant ({label}, model {model:?}): {} targets, {} with data, {} explained by a notice, {} by the panel's no-data text",
                r.targets,
                r.with_data,
                r.explained.len(),
                r.no_data_text.len()
            );
            for e in &r.no_data_text {
                eprintln!("  no-data text: {e}");
            }
            for e in &r.explained {
                eprintln!("  notice: {e}");
            }
            if model.is_none() {
                // With both servers in scope, everything the fleet can show has data: only the speculative-decoding
                // panel (not enabled on the captured vLLM server, not available on TGI) is explained.
                assert!(r.with_data + 2 >= r.targets, "{label}: {:#?}", r.explained);
            }
            if model == Some(TGI_MODEL) {
                // TGI has no prefix cache, preemptions or speculative decoding: these must be explained, not empty.
                // The latency SLOs cover vLLM only: their panels say so for a TGI model.
                let all_explanations = format!("{:?} {:?}", r.explained, r.no_data_text);
                for expected in [
                    "Prefix-cache",
                    "Preemptions",
                    "Speculative",
                    "ttft-500ms: budget",
                    "TGI records only",
                ] {
                    assert!(
                        all_explanations.contains(expected),
                        "{expected}: {all_explanations}"
                    );
                }
            }
        }
    }
}
