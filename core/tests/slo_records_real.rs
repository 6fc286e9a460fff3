//! SLO queries that name their SLO, against a real Prometheus 2.42 with infermon's generated recording and SLO rules
//! loaded, scraping the real vLLM 0.10 capture and the TGI capture (replayed with growing counters):
//!
//! - every SLO target of the generated SLO dashboard (plugin variant) is answered from the SLO records when the
//!   rules are detected, with the same series and values as the raw translation (evaluated at the same instant),
//!   while Prometheus touches far fewer samples (`stats=all`, `totalQueryableSamples`; the figures are printed);
//! - a query naming an SLO the engine does not record, or a window it does not record, is computed from raw series
//!   with a notice, and returns data rather than an empty panel.

mod dashboards_support;

use dashboards_support::{api, detect, instant, interpolate, prometheus_with_rules};
use infermon_core::dashboards::{dashboards, Variant};
use infermon_core::query::Query;
use infermon_core::rules::default_spec;
use infermon_core::translate::{translate, Context, Severity};
use infermon_testkit::Prometheus;
use serde_json::Value;
use std::collections::BTreeMap;

const VLLM_MODEL: &str = "Qwen/Qwen3-4B-Instruct-2507-FP8";
const TGI_MODEL: &str = "tgi-llama";
const RECORD: &str = "namespace_model:inference_slo_errors:ratio_rate";

/// Instant query at `time` with `stats=all`: (value per label set, totalQueryableSamples).
fn query_with_stats(url: &str, expr: &str, time: f64) -> (BTreeMap<String, f64>, u64) {
    let j = api(
        url,
        "/api/v1/query",
        &[
            ("query", expr),
            ("time", &format!("{time}")),
            ("stats", "all"),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}\n  {expr}"));
    let values = j["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["metric"].to_string(),
                s["value"][1].as_str().unwrap().parse::<f64>().unwrap(),
            )
        })
        .collect();
    let samples = j["data"]["stats"]["samples"]["totalQueryableSamples"]
        .as_u64()
        .expect("stats=all reports totalQueryableSamples");
    (values, samples)
}

fn start() -> Prometheus {
    let prom = prometheus_with_rules(&infermon_testkit::captures::vllm_and_tgi_scrape_configs(
        TGI_MODEL,
    ));
    // Scrapes and SLO rule evaluations.
    prom.wait_for_results(
        &[
            "count_over_time(up[1m]) >= 20",
            &format!(
                r#"count_over_time({RECORD}30d{{slo="ttft-500ms",model="{VLLM_MODEL}"}}[1m]) >= 10"#
            ),
            &format!(
                r#"count_over_time({RECORD}5m{{slo="errors",model="{TGI_MODEL}"}}[1m]) >= 10"#
            ),
        ],
        std::time::Duration::from_secs(60),
    )
    .unwrap();
    prom
}

#[test]
fn named_slo_queries_read_the_records_with_the_raw_values_and_a_fraction_of_the_samples() {
    let prom = start();
    let recorded = detect(prom.url(), "1m");
    let slos = recorded
        .slo_records
        .as_ref()
        .expect("detection lists the recorded SLOs");
    for s in default_spec().slos {
        let windows = slos
            .get(&s.name)
            .unwrap_or_else(|| panic!("{}: {slos:?}", s.name));
        assert!(windows.contains(&s.window), "{}: {windows:?}", s.name);
        assert!(
            windows.contains(&"5m".parse().unwrap()),
            "{}: {windows:?}",
            s.name
        );
    }
    let raw = Context {
        recording_rules: false,
        ..recorded.clone()
    };

    // The same instant for both sides, a little in the past so that the rules have evaluated up to it.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let at = now - 3.0;
    let board = dashboards(&default_spec())
        .unwrap()
        .into_iter()
        .find(|d| d.variant == Variant::Plugin && d.uid == "infermon-slos")
        .unwrap();
    let (mut raw_total, mut rec_total, mut targets, mut series) = (0u64, 0u64, 0, 0);
    let mut per_view: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for panel in board.json["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().into_iter().flatten() {
            let q = Query::from_json(&interpolate(t, None)).unwrap();
            let Query::Slo(slo) = &q else { continue };
            let title = format!(
                "{} [{}]",
                panel["title"].as_str().unwrap(),
                t["refId"].as_str().unwrap()
            );
            let r = translate(&q, &recorded).unwrap();
            let w = translate(&q, &raw).unwrap();
            let (rec_expr, raw_expr) = (&r.targets[0].expr, &w.targets[0].expr);
            assert!(
                rec_expr.contains(RECORD)
                    && !rec_expr.contains("vllm:")
                    && !rec_expr.contains("tgi_"),
                "{title}: not read from the records: {rec_expr}"
            );
            assert!(!raw_expr.contains(RECORD), "{title}: {raw_expr}");
            assert!(
                !r.notices
                    .iter()
                    .any(|n| n.text.contains("computed from raw")),
                "{title}: {:?}",
                r.notices
            );
            let (rec_values, rec_samples) = query_with_stats(prom.url(), rec_expr, at);
            let (raw_values, raw_samples) = query_with_stats(prom.url(), raw_expr, at);
            assert!(
                !raw_values.is_empty(),
                "{title}: raw is empty\n  {raw_expr}"
            );
            assert_eq!(
                rec_values.keys().collect::<Vec<_>>(),
                raw_values.keys().collect::<Vec<_>>(),
                "{title}: other series\n  {rec_expr}\n  {raw_expr}"
            );
            for (labels, v) in &raw_values {
                let rv = rec_values[labels];
                assert!(
                    (rv - v).abs() <= 1e-9 * v.abs().max(1.0),
                    "{title} {labels}: records {rv}, raw {v}\n  {rec_expr}\n  {raw_expr}"
                );
            }
            assert!(
                rec_samples < raw_samples,
                "{title}: records touched {rec_samples} samples, raw {raw_samples}"
            );
            targets += 1;
            series += raw_values.len();
            raw_total += raw_samples;
            rec_total += rec_samples;
            let view = format!(
                "{:?} {}",
                slo.view,
                slo.burn_window.map(|w| w.to_string()).unwrap_or_default()
            );
            let e = per_view.entry(view).or_default();
            e.0 += raw_samples;
            e.1 += rec_samples;
        }
    }
    assert!(targets >= 20, "only {targets} SLO targets");
    eprintln!(
        "SLO dashboard, {targets} targets ({series} series), instant queries at one time: raw {raw_total} samples, \
         records {rec_total} ({:.2} %)",
        100.0 * rec_total as f64 / raw_total as f64
    );
    for (view, (w, r)) in &per_view {
        eprintln!("  {view:<24} raw {w:>8}  records {r:>6}");
    }
    // Data-dependent but not close: the raw side reads every sample of the bucket and count series in the window
    // (here about a minute at 1 s scrapes), the records one sample per series.
    assert!(
        rec_total * 10 < raw_total,
        "records {rec_total} vs raw {raw_total}"
    );
}

#[test]
fn an_unrecorded_slo_or_window_falls_back_to_raw_series_with_a_notice_and_data() {
    let prom = start();
    let ctx = detect(prom.url(), "1m");
    assert!(ctx.recording_rules);
    let base = serde_json::json!({"queryType": "slo", "slo": "ttft-500ms", "sli": "ttft", "threshold": 0.5,
        "objective": 0.99, "backend": "vllm", "groupBy": ["namespace", "model"], "view": "attainment"});
    let with = |extra: Value| {
        let mut q = base.clone();
        q.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        Query::from_json(&q).unwrap()
    };
    for (what, q, severity, text) in [
        (
            "an SLO the rules do not define",
            with(serde_json::json!({"slo": "ttft-250ms"})),
            Severity::Warning,
            "record no SLO named \"ttft-250ms\" (recorded: e2e-latency-5s, errors, ttft-500ms)",
        ),
        (
            "a burn window the rules do not record",
            with(serde_json::json!({"view": "burnRate", "burnWindow": "4h"})),
            Severity::Info,
            "not recorded over 4h (recorded: 5m, 30m, 1h, 2h, 6h, 1d, 3d, 30d)",
        ),
        (
            "per model across namespaces",
            with(serde_json::json!({"groupBy": ["model"]})),
            Severity::Info,
            "ratios cannot be re-aggregated into grouping by model",
        ),
    ] {
        let t = translate(&q, &ctx).unwrap();
        let expr = &t.targets[0].expr;
        assert!(
            !expr.contains(RECORD) && expr.contains("vllm:"),
            "{what}: {expr}"
        );
        assert!(
            t.notices
                .iter()
                .any(|n| n.severity == severity && n.text.contains(text)),
            "{what}: {:?}",
            t.notices
        );
        let r = instant(prom.url(), expr).unwrap();
        assert!(!r.is_empty(), "{what}: no data\n  {expr}");
    }
    // Without detection of the SLOs, a name the rules do not record would read an absent record: the notice above
    // is what detection buys.
    let blind = Context {
        slo_records: None,
        ..ctx
    };
    let t = translate(&with(serde_json::json!({"slo": "ttft-250ms"})), &blind).unwrap();
    assert!(t.targets[0].expr.contains(RECORD));
    assert!(instant(prom.url(), &t.targets[0].expr).unwrap().is_empty());
}
