//! Every panel of every generated dashboard against a real Prometheus 2.42 with infermon's recording and SLO rules,
//! scraping the simulator's live default fleet (2 vLLM models × 2 replicas, 1 TGI model) for a few seconds at 10×
//! speed: every Prometheus-only expression returns data, and every plugin target translated by core (with what the
//! plugin would detect) returns data or carries a notice / a no-data text naming the server that cannot answer.

#[path = "../../core/tests/dashboards_support/mod.rs"]
mod dashboards_support;

use dashboards_support::{
    check_plugin_variant, check_prometheus_variant, config_with_rules, detect, instant,
};
use infermon_core::dashboards::dashboards;
use infermon_core::rules::default_spec;
use infermon_sim::fleet::{Fleet, FleetOptions};
use infermon_sim::FleetConfig;
use infermon_testkit::Prometheus;

#[test]
fn every_panel_returns_data_or_a_notice_on_the_live_simulated_fleet() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cfg = FleetConfig::default_fleet();
    let fleet = rt
        .block_on(Fleet::start(
            &cfg,
            FleetOptions {
                speed: 10.0,
                ..FleetOptions::default()
            },
        ))
        .unwrap();
    let sd = std::env::temp_dir().join(format!("infermon-dash-live-{}.json", std::process::id()));
    fleet.write_file_sd(&sd).unwrap();
    let scrapes = format!(
        "  - job_name: infermon-sim\n    file_sd_configs:\n      - files: ['{}']\n        refresh_interval: 1s\n",
        sd.display()
    );
    let prom = Prometheus::builder()
        .config_yaml(config_with_rules("1s", &scrapes))
        .start()
        .expect("prometheus starts");
    infermon_testkit::wait_until(std::time::Duration::from_secs(60), || {
        let has = |e: &str| {
            instant(prom.url(), e)
                .map(|r| !r.is_empty())
                .unwrap_or(false)
        };
        if has("count(up == 1) >= 5")
            && has("count_over_time(namespace_model:inference_ttft_seconds:p95_rate5m[1m]) >= 3")
            && has(
                r#"namespace_model:inference_slo_error_budget_remaining:ratio{slo="ttft-500ms"}"#,
            )
            && has("namespace_model:inference_errors:rate5m")
        {
            Ok(())
        } else {
            Err("waiting for scrapes and rule evaluations")
        }
    })
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

    drop(prom);
    let _ = std::fs::remove_file(&sd);
    rt.block_on(fleet.shutdown());
}
