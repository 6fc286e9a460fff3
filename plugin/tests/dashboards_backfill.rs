//! Every panel of the provisioned plugin dashboards, through the plugin binary over the Grafana protocol, over 30
//! days of simulator history: a small fleet (one vLLM replica, one TGI replica; the vLLM model in the `errors`
//! scenario for 6 h on day 20) backfilled at a 60 s scrape interval (`infermon_sim::backfill`, profile `slo`:
//! complete histograms), imported with the real `promtool tsdb create-blocks-from openmetrics` into a real
//! Prometheus 2.42. No recording rules: Prometheus evaluates rules only going forward, so on history the plugin
//! reads raw series (detected: recording rules absent).
//!
//! Runs: the whole 30 days and the last 6 h of the period (time ranges ending at the backfill's end, 10 minutes
//! from now). Every target returns data or says why not. Against `truth.json`:
//! - at the end of the period, every model's SLO attainment (30-day window) equals the true share of good requests
//!   within 1e-4 (counters are exact and the thresholds are bucket boundaries; the window misses at most the first
//!   scrape interval of 43 200), and the budget left equals 1 − (1 − attainment) / (1 − objective);
//! - the 30-day budget burn-down at every day boundary equals the budget computed from the true per-day counts
//!   since the start, within the random error of the requests between the boundary and the nearest point (points
//!   sit on 20-minute steps, up to 10 minutes from the boundary: on day 1 that is a few errors of ~86), and the
//!   errors window of day 20 burns the vLLM model's budget;
//! - the mean request rate over the 30 days equals the true number of finished requests over the period's length
//!   within 2 %.

mod common;

use common::panels::{plugin_dashboards, run_dashboards, series, Range, Report};
use common::{ds, PluginProcess};
use infermon_sim::backfill::{self, BackfillOptions, BackfillReport, ModelTruth, Profile};
use infermon_sim::FleetConfig;
use infermon_testkit::Prometheus;
use serde_json::json;

const FLEET: &str = "
seed: 9
namespace: llm-serving
models:
  - name: test/llama
    backend: vllm
    service: llama
    workload: {rate: 1.0, error_ratio: 0.001}
  - name: test/mistral
    backend: tgi
    service: mistral
    workload: {rate: 0.5, error_ratio: 0.002}
timeline:
  - {start: 20d6h, duration: 6h, scenario: errors, models: [test/llama]}
";
const INTERVAL_S: i64 = 60;
const DAY_S: i64 = 86_400;

/// The true error share of `m` from the start of the period to the end of day `d` (days 0..d).
fn errors_until(m: &ModelTruth, d: usize) -> (f64, f64) {
    m.per_day[..d].iter().fold((0.0, 0.0), |(e, f), day| {
        let bad = 1.0 - day.attainment.without_error.unwrap_or(1.0);
        (e + bad * day.finished as f64, f + day.finished as f64)
    })
}

fn slo_value(r: &Report, title: &str, model: &str, at_ms: i64) -> f64 {
    let t = r.find("infermon-slos", "All", title, "A");
    let s = series(&t.frames);
    let (_, pts) = s
        .iter()
        .find(|(l, _)| l.get("model").map(String::as_str) == Some(model))
        .unwrap_or_else(|| panic!("{title}: no series for {model}: {}", t.executed()));
    pts.iter()
        .find(|p| p.0 == at_ms)
        .unwrap_or_else(|| panic!("{title} {model}: no point at the end {at_ms}: {pts:?}"))
        .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_through_the_plugin_over_30_days_of_backfill_with_slos_checked_against_the_truth(
) {
    let started = std::time::Instant::now();
    let cfg = FleetConfig::from_yaml(FLEET, "test").unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // End 10 minutes from now on a scrape boundary, as `common::data` does: the plugin lists the models (the
    // dashboards' variables) from an instant query at "now", which sees only the last 5 minutes of samples.
    let end = now + 600 - (now + 600).rem_euclid(INTERVAL_S);
    let work = tempfile::tempdir().unwrap();
    let opts = BackfillOptions {
        days: 30.0,
        interval_s: INTERVAL_S as u32,
        profile: Profile::Slo,
        end_unix: Some(end),
        out_dir: work.path().join("history"),
        threads: 2,
    };
    let report: BackfillReport =
        tokio::task::spawn_blocking(move || backfill::run(&cfg, &opts, &|_| {}).unwrap())
            .await
            .unwrap();
    let simulated = started.elapsed();
    let data = work.path().join("data");
    {
        let (report, data) = (report.clone(), data.clone());
        tokio::task::spawn_blocking(move || {
            backfill::import_with_promtool(std::path::Path::new("promtool"), &report, &data)
        })
        .await
        .unwrap()
        .expect("promtool imports the history");
    }
    for f in &report.files {
        let _ = std::fs::remove_file(f);
    }
    let imported = started.elapsed();
    let prom = Prometheus::builder()
        .data_dir(&data)
        .retention("400d")
        .start()
        .expect("prometheus starts on the imported history");
    eprintln!(
        "backfill: {} series, {} samples, simulated and written in {simulated:.1?}, imported by promtool in {:.1?}",
        report.series,
        report.samples,
        imported - simulated
    );

    let dashboards = plugin_dashboards();
    let mut plugin = PluginProcess::start().await;
    let settings = ds(
        prom.url(),
        json!({"scrapeInterval": "60s", "recordingRules": "auto"}),
        &[],
    );
    let (status, msg, _) = plugin.health(settings.clone()).await;
    assert_eq!(status, 1, "{msg}");
    assert!(msg.contains("recording rules: absent"), "{msg}");
    let end_ms = end * 1000;
    let mut reports = Vec::new();
    for (name, length_s) in [("30 days", 30 * DAY_S), ("last 6 h", 6 * 3600)] {
        let r = run_dashboards(
            &format!("backfill, {name}"),
            &mut plugin,
            &settings,
            &dashboards,
            Range {
                now_ms: end_ms,
                length_ms: Some(length_s * 1000),
                override_panel_time: false,
            },
        )
        .await;
        eprintln!("{}\n{}", r.summary(), r.explanations());
        reports.push(r);
    }
    for r in &reports {
        if !r.failures().is_empty() {
            eprintln!("\n{}\n{}", r.summary(), r.table());
        }
        r.assert_ok();
    }
    let (month, last6h) = (&reports[0], &reports[1]);

    // SLO attainment and budget at the end of the period (the 6 h run's points are on 60 s steps: the last is
    // the end itself).
    let mut checked = 0;
    for m in &report.truth {
        let att = &m.attainment;
        let mut slos = vec![("errors", att.without_error.unwrap(), 0.999)];
        if m.backend == "vllm" {
            slos.push(("ttft-500ms", att.ttft_within_0_5s.unwrap(), 0.99));
            slos.push(("e2e-latency-5s", att.e2e_within_5s.unwrap(), 0.95));
        }
        for (slo, truth, objective) in slos {
            let got = slo_value(last6h, &format!("{slo}: attainment"), &m.model, end_ms);
            assert!(
                (got - truth).abs() <= 1e-4,
                "{slo} attainment of {}: plugin {got} vs truth {truth}",
                m.model
            );
            let budget = slo_value(
                last6h,
                &format!("{slo}: budget remaining"),
                &m.model,
                end_ms,
            );
            let want = 1.0 - (1.0 - truth) / (1.0 - objective);
            assert!(
                (budget - want).abs() <= 1e-4 / (1.0 - objective),
                "{slo} budget of {}: plugin {budget} vs truth {want}",
                m.model
            );
            eprintln!(
                "{slo} / {}: attainment {got:.6} (truth {truth:.6}), budget left {budget:.4} (truth {want:.4})",
                m.model
            );
            checked += 2;
        }
    }

    // The 30-day burn-down of the errors SLO at every day boundary.
    let t = month.find(
        "infermon-slos",
        "All",
        "errors: budget burn-down (30 days)",
        "A",
    );
    let burn = series(&t.frames);
    let start_ms = report.start_unix * 1000;
    for m in &report.truth {
        let (_, pts) = burn
            .iter()
            .find(|(l, _)| l.get("model") == Some(&m.model))
            .unwrap_or_else(|| panic!("burn-down: no series for {}", m.model));
        assert!(
            pts.len() > 1000,
            "{}: {} points over 30 days",
            m.model,
            pts.len()
        );
        let mut by_day = Vec::new();
        for d in 1..m.per_day.len() {
            let boundary = start_ms + d as i64 * DAY_S * 1000;
            let Some(p) = pts.iter().min_by_key(|p| (p.0 - boundary).abs()) else {
                continue;
            };
            if (p.0 - boundary).abs() > 15 * 60_000 {
                continue;
            }
            let (e, f) = errors_until(m, d);
            let want = 1.0 - (e / f) / 0.001;
            // The point sits `offset` from the boundary, so its window holds that many seconds of requests more or
            // fewer than the truth counts. Their errors are random (Poisson, mean from the neighbouring day's rate
            // and error share): allow the mean plus 5 standard deviations, and one more error for the extrapolation
            // at the window's edges. On day 1 of the TGI model that is ~6 errors of ~86, late in the month < 0.01.
            let near = &m.per_day[if p.0 < boundary { d - 1 } else { d }];
            let offset_s = (p.0 - boundary).abs() as f64 / 1000.0;
            let err_share = 1.0 - near.attainment.without_error.unwrap_or(1.0);
            let mean = offset_s * near.finished as f64 / DAY_S as f64 * err_share;
            let tolerance = (mean + 5.0 * mean.sqrt() + 1.0) / (f * 0.001) + 0.01;
            assert!(
                (p.1 - want).abs() <= tolerance,
                "errors budget of {} at day {d}: plugin {} vs truth {want} (point {offset_s} s from the boundary, \
                 tolerance {tolerance})",
                m.model,
                p.1
            );
            by_day.push(p.1);
            checked += 1;
        }
        assert!(
            by_day.len() >= 25,
            "{}: {} day boundaries",
            m.model,
            by_day.len()
        );
        if m.backend == "vllm" {
            // Day 20 holds the 6 h errors window: the budget drops by far more than on any normal day.
            let drop = by_day[19] - by_day[20];
            assert!(drop > 1.0, "the errors window burns the budget: {by_day:?}");
        }
    }

    // Mean request rate over the 30 days.
    let t = month.find("infermon-overview", "All", "Request rate", "A");
    let period_s = (report.end_unix - report.start_unix + INTERVAL_S) as f64;
    for (labels, pts) in series(&t.frames) {
        let model = labels.get("model").cloned().unwrap_or_default();
        let m = report.truth.iter().find(|m| m.model == model).unwrap();
        // Points whose window lies inside the period.
        let inside: Vec<f64> = pts
            .iter()
            .filter(|p| p.0 >= start_ms + 2 * 3_600_000)
            .map(|p| p.1)
            .collect();
        let mean = inside.iter().sum::<f64>() / inside.len() as f64;
        let want = m.totals.finished as f64 / period_s;
        assert!(
            (mean - want).abs() <= 0.02 * want,
            "mean request rate of {model}: plugin {mean} vs truth {want}"
        );
        eprintln!("request rate / {model}: 30-day mean {mean:.4}/s (truth {want:.4}/s)");
        checked += 1;
    }
    eprintln!(
        "{checked} values agree with truth.json; backfill test {:.1?} in total",
        started.elapsed()
    );
    drop(plugin);
    drop(prom);
}
