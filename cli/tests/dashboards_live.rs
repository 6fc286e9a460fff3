//! Every panel of every generated dashboard against a real Prometheus 2.42 with infermon's recording and SLO rules,
//! scraping the simulator's live default fleet (2 vLLM models × 2 replicas, 1 TGI model) for a few seconds at 10×
//! speed: every Prometheus-only expression returns data, and every plugin target translated by core (with what the
//! plugin would detect) returns data or carries a notice / a no-data text naming the server that cannot answer.

mod common;
#[path = "../../core/tests/dashboards_support/mod.rs"]
mod dashboards_support;

use dashboards_support::{
    check_plugin_variant, check_prometheus_variant, detect, file_sd_job, prometheus_with_rules,
};
use infermon_core::dashboards::dashboards;
use infermon_core::rules::default_spec;

#[test]
fn every_panel_returns_data_or_a_notice_on_the_live_simulated_fleet() {
    let live = common::default_fleet_scraped_by(10.0, |sd| prometheus_with_rules(&file_sd_job(sd)));
    let prom = &live.prom;
    // Scrapes and rule evaluations.
    prom.wait_for_results(
        &[
            "count(up == 1) >= 5",
            "count_over_time(namespace_model:inference_ttft_seconds:p95_rate5m[1m]) >= 3",
            r#"namespace_model:inference_slo_error_budget_remaining:ratio{slo="ttft-500ms"}"#,
            "namespace_model:inference_errors:rate5m",
        ],
        std::time::Duration::from_secs(60),
    )
    .unwrap();

    let all = dashboards(&default_spec()).unwrap();
    let n = check_prometheus_variant(prom.url(), &all);
    eprintln!("Prometheus-only variant: all {n} expressions return data on the live fleet");

    let ctx = detect(prom.url(), "1m");
    assert!(ctx.recording_rules);
    let r = check_plugin_variant(prom.url(), &all, None, &ctx);
    eprintln!(
        "plugin variant, all models: {} targets, {} with data, {} explained",
        r.targets,
        r.with_data,
        r.explained.len()
    );
    assert!(r.with_data + 3 >= r.targets, "{:#?}", r.explained);
    let mut raw = ctx.clone();
    raw.recording_rules = false;
    let r = check_plugin_variant(prom.url(), &all, None, &raw);
    eprintln!(
        "plugin variant raw, all models: {} targets, {} with data",
        r.targets, r.with_data
    );

    live.stop();
}
