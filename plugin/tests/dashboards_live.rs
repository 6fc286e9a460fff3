//! Every panel of the provisioned plugin dashboards, through the plugin binary over the Grafana protocol, against a
//! real Prometheus 2.42 with infermon's recording and SLO rules scraping the simulator's live default fleet (two vLLM
//! models × 2 replicas, one TGI model; the Llama model in the `errors` scenario) at 10× speed, with the data source's
//! recording rules on auto (detected present) and off. Every target returns data or says why not; key overview
//! panels are compared with the simulator's ground truth over the very window each point covers:
//! - requests/s and generated tokens/s: what Prometheus' `rate` must give from the true counts, summed over the
//!   model's replicas. The test reads the sample times of each replica's scrapes in the window from Prometheus and
//!   counts the true events between the first and the last (finished requests for vLLM, arrived ones for TGI,
//!   whose `tgi_request_count` counts arrivals; tokens of the engine steps), extrapolated to the window's edges as
//!   Prometheus 2.42 does (per series: a finished reason whose counter starts at 0 in the window is not
//!   extrapolated before it); the only slack is the scrape's own duration (the counters are read after the sample's
//!   timestamp), 0.2 to 0.7 % of the value seen. (A fixed 10 % was ~3 standard deviations of the requests of the
//!   window's unscraped second for TGI at the daily low of the diurnal pattern, ~5.6 requests per wall second:
//!   whether it held depended on the clock.)
//! - TTFT p95: inside the buckets spanned by the replicas' true p90…p99 of that window (a classic histogram only
//!   places a quantile in its bucket);
//! - error ratio (the `errors` scenario makes it ≈ 0.25): the errors' rate over the finished requests' rate, each
//!   as Prometheus' rate of the true counts, like requests/s;
//! - KV-cache usage (max over replicas) and running requests (sum): between the lowest and highest true values
//!   polled (every 50 ms) in the second around the scrape the point shows, with a small slack for the values
//!   between two polls.
//!
//! Time: at 10× speed, a wall second is 10 simulated seconds, so a rate per wall second is 10× the simulated rate;
//! the truth is taken in simulated time and divided by the wall-clock window.

mod common;

#[path = "../../core/tests/dashboards_support/mod.rs"]
mod dashboards_support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::panels::{plugin_dashboards, run_dashboards, series, step_ms, Range, Report};
use common::{ds, PluginProcess};
use dashboards_support::{file_sd_job, prometheus_with_rules};
use infermon_core::catalog::buckets;
use infermon_sim::fleet::{Fleet, FleetOptions, Replica};
use infermon_sim::{FleetConfig, Scenario};
use serde_json::json;

const SPEED: f64 = 10.0;
const SCRAPE_MS: i64 = 1_000;
const LLAMA: &str = "meta-llama/Llama-3.1-8B-Instruct";
/// How far a sample's timestamp may be from the moment its scrape started (ms): rounding to milliseconds and
/// Prometheus' alignment of timestamps within 2 ms of its scrape grid.
const STAMP_MS: f64 = 3.0;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// (unix ms, KV usage, running) per replica, sampled every 50 ms.
type Gauges = Arc<Mutex<Vec<Vec<(i64, f64, f64)>>>>;

/// The bucket (lower, upper] of `bounds` holding `v`.
fn bucket_of(bounds: &[f64], v: f64) -> (f64, f64) {
    let i = bounds.partition_point(|b| *b < v);
    let lower = if i == 0 { 0.0 } else { bounds[i - 1] };
    (lower, bounds.get(i).copied().unwrap_or(f64::INFINITY))
}

struct Truth<'a> {
    fleet: &'a Fleet,
    epoch_unix: f64,
}

impl Truth<'_> {
    /// Simulated time of a wall-clock instant.
    fn sim_t(&self, ms: i64) -> f64 {
        (ms as f64 / 1000.0 - self.epoch_unix) * SPEED
    }
    /// The model's replicas' truth over the wall-clock window (t − w, t].
    fn windows(&self, model: &str, t_ms: i64, w_ms: i64) -> Vec<infermon_sim::truth::WindowTruth> {
        let (t, w) = (self.sim_t(t_ms), w_ms as f64 / 1000.0 * SPEED);
        self.fleet
            .replicas
            .iter()
            .filter(|r| r.spec.model == model)
            .map(|r| r.with_engine(|e| e.truth.window(t, w)))
            .collect()
    }
    /// What each of a replica's counter series counted over the wall-clock interval (from, to] (unix ms), by series
    /// (vLLM's finished requests: one series per finished reason).
    fn count(&self, r: &Replica, what: Counted, from_ms: f64, to_ms: f64) -> BTreeMap<String, f64> {
        let t = (to_ms / 1000.0 - self.epoch_unix) * SPEED;
        let w = (to_ms - from_ms.max(self.epoch_unix * 1000.0 - 1000.0)) / 1000.0 * SPEED;
        let events = r.with_engine(|e| e.truth.window_events(t, w));
        match what {
            Counted::Finished => {
                let mut by_reason = BTreeMap::new();
                for f in &events.finished {
                    *by_reason.entry(f.reason.to_string()).or_insert(0.0) += 1.0;
                }
                by_reason
            }
            Counted::Arrivals => BTreeMap::from([(String::new(), events.arrivals as f64)]),
            Counted::Tokens => BTreeMap::from([(String::new(), events.step_tokens as f64)]),
        }
    }
}

/// The events a rate panel's counter counts.
#[derive(Debug, Clone, Copy)]
enum Counted {
    /// vLLM's finished requests.
    Finished,
    /// TGI's `tgi_request_count`: requests as they arrive.
    Arrivals,
    /// vLLM's generated tokens.
    Tokens,
}

/// Prometheus 2.42's `rate` over [t − w, t] (seconds) of a counter sampled at `ts` that was `first_value` at the
/// first sample and grew by `increase` up to the last (`extrapolatedRate`): extrapolated to each edge of the window
/// when the edge lies within 1.1 average intervals of a sample, else by half an interval, and towards the start
/// no further than where the counter would reach zero (a series that starts at 0 in the window, e.g. the first
/// aborted request, is not extrapolated before its first sample).
fn prometheus_rate(first_value: f64, increase: f64, ts: &[f64], t: f64, w: f64) -> f64 {
    let (first, last) = (ts[0], ts[ts.len() - 1]);
    let sampled = last - first;
    let average = sampled / (ts.len() - 1) as f64;
    let edge = |d: f64| if d < average * 1.1 { d } else { average / 2.0 };
    let mut to_start = edge(first - (t - w));
    if increase > 0.0 {
        to_start = to_start.min(sampled * first_value / increase);
    }
    increase * (sampled + to_start + edge(t - last)) / sampled / w
}

/// The scrapes of a replica in the window [t − w, t] (ms): their timestamps (seconds) and their longest duration
/// (seconds), from Prometheus' own `scrape_duration_seconds` series.
fn scrapes_in(prom: &str, pod: &str, t_ms: i64, w_ms: i64) -> (Vec<f64>, f64) {
    let expr = format!(r#"scrape_duration_seconds{{pod="{pod}"}}[{w_ms}ms]"#);
    let url = format!(
        "{prom}/api/v1/query?query={}&time={:.3}",
        infermon_testkit::http::encode(&expr),
        t_ms as f64 / 1000.0
    );
    let r = infermon_testkit::http::get(&url).expect("query Prometheus");
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON answer");
    let values = v["data"]["result"][0]["values"]
        .as_array()
        .unwrap_or_else(|| panic!("{expr}: {v}"));
    let ts: Vec<f64> = values.iter().map(|p| p[0].as_f64().unwrap()).collect();
    let longest = values
        .iter()
        .map(|p| p[1].as_str().unwrap().parse::<f64>().unwrap())
        .fold(0.0, f64::max);
    (ts, longest)
}

/// The lowest and highest value Prometheus' `rate` over [t − w, t] (ms) can give from the true counts, per counter
/// series (summed over the model's replicas): per replica, the true events between its first and last sample in
/// the window, extrapolated as [`prometheus_rate`] does. A counter is read after its sample's timestamp, within
/// the scrape's duration, so each end of that interval may lie up to that much later; and `STAMP_MS` either way.
fn rate_bracket(
    prom: &str,
    truth: &Truth,
    model: &str,
    counted: Counted,
    t: i64,
    w: i64,
) -> BTreeMap<String, (f64, f64)> {
    let mut out: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    let (t_s, w_s) = (t as f64 / 1000.0, w as f64 / 1000.0);
    for r in truth
        .fleet
        .replicas
        .iter()
        .filter(|r| r.spec.model == model)
    {
        let (ts, longest) = scrapes_in(prom, &r.spec.pod, t, w);
        assert!(ts.len() >= 2, "{model} at {t}: scrapes {ts:?}");
        let (first, last) = (ts[0] * 1000.0, ts[ts.len() - 1] * 1000.0);
        let late = longest * 1000.0 + STAMP_MS;
        // Each series from the fewest events (and the lowest value at the first sample) to the most: the rate
        // grows with both.
        let low_start = truth.count(r, counted, f64::MIN, first - STAMP_MS);
        let high_start = truth.count(r, counted, f64::MIN, first + late);
        let fewest = truth.count(r, counted, first + late, last - STAMP_MS);
        let most = truth.count(r, counted, first - STAMP_MS, last + late);
        let at = |m: &BTreeMap<String, f64>, k: &str| m.get(k).copied().unwrap_or(0.0);
        for k in most.keys() {
            let e = out.entry(k.clone()).or_default();
            e.0 += prometheus_rate(at(&low_start, k), at(&fewest, k), &ts, t_s, w_s);
            e.1 += prometheus_rate(at(&high_start, k), at(&most, k), &ts, t_s, w_s);
        }
    }
    out
}

/// Last `n` points of every series of a target, by model.
fn points_by_model(r: &Report, panel: &str, ref_id: &str) -> BTreeMap<String, Vec<(i64, f64)>> {
    let t = r.find("infermon-overview", "All", panel, ref_id);
    series(&t.frames)
        .into_iter()
        .map(|(labels, pts)| (labels.get("model").cloned().unwrap_or_default(), pts))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_through_the_plugin_on_the_live_fleet_with_values_checked_against_the_truth() {
    let started = std::time::Instant::now();
    let cfg = FleetConfig::default_fleet();
    let fleet = Fleet::start(
        &cfg,
        FleetOptions {
            speed: SPEED,
            ..FleetOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(fleet.set_scenario(Some(LLAMA), Scenario::Errors), 2);
    let epoch_unix = fleet.replicas[0].with_engine(|e| e.epoch_unix);
    let truth = Truth {
        fleet: &fleet,
        epoch_unix,
    };
    // Gauge poller: every replica's KV usage and running requests, every 50 ms.
    let gauges: Gauges = Arc::new(Mutex::new(vec![Vec::new(); fleet.replicas.len()]));
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let replicas = fleet.replicas.clone();
        let (gauges, stop) = (gauges.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for (i, r) in replicas.iter().enumerate() {
                    let (kv, running) = r.with_engine(|e| (e.kv_usage(), e.running.len() as f64));
                    gauges.lock().unwrap()[i].push((now_ms(), kv, running));
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        })
    };

    let dir = tempfile::tempdir().unwrap();
    let sd = dir.path().join("targets.json");
    fleet.write_file_sd(&sd).unwrap();
    let prom = prometheus_with_rules(&file_sd_job(&sd));
    let scraping_since_ms = now_ms();
    // Scrapes and rule evaluations (block_in_place: the runtime keeps serving meanwhile).
    tokio::task::block_in_place(|| {
        prom.wait_for_results(
            &[
                "count(up == 1) >= 5",
                "count_over_time(namespace_model:inference_ttft_seconds:p95_rate5m[1m]) >= 3",
                r#"namespace_model:inference_slo_error_budget_remaining:ratio{slo="ttft-500ms"}"#,
                "namespace_model:inference_errors:rate5m",
                // A minute of history: the overview's points sit on multiples of 15 s over its 3 h, and the value
                // checks need points whose whole rate window was scraped.
                "count_over_time(namespace_model:inference_slo_errors:ratio_rate30d[1m]) >= 30",
                "count_over_time(up[2m]) >= 60",
            ],
            std::time::Duration::from_secs(90),
        )
    })
    .unwrap();
    let warm = started.elapsed();

    let dashboards = plugin_dashboards();
    let overview: Vec<_> = dashboards
        .iter()
        .filter(|d| d.uid == "infermon-overview")
        .cloned()
        .collect();
    let mut plugin = PluginProcess::start().await;
    let mut reports = Vec::new();
    for rules in ["auto", "off"] {
        let settings = ds(
            prom.url(),
            json!({"scrapeInterval": "1s", "recordingRules": rules}),
            &[],
        );
        let (status, msg, _) = plugin.health(settings.clone()).await;
        assert_eq!(status, 1, "{msg}");
        assert!(msg.contains("vLLM (2 models"), "{msg}");
        assert!(msg.contains("TGI (1 model)"), "{msg}");
        if rules == "auto" {
            assert!(msg.contains("recording rules: present"), "{msg}");
        }
        // Every dashboard over the last hour (the fleet is a minute old: see `Range::override_panel_time`).
        let all = run_dashboards(
            &format!("live fleet, last hour, recording rules {rules}"),
            &mut plugin,
            &settings,
            &dashboards,
            Range {
                now_ms: now_ms(),
                length_ms: Some(3_600_000),
                override_panel_time: true,
            },
        )
        .await;
        eprintln!("{}\n{}", all.summary(), all.explanations());
        // The overview as Grafana opens it (its own 3 h range; points every 15 s or less).
        let default = run_dashboards(
            &format!("live fleet, overview at its default range, recording rules {rules}"),
            &mut plugin,
            &settings,
            &overview,
            Range {
                now_ms: now_ms(),
                length_ms: None,
                override_panel_time: false,
            },
        )
        .await;
        eprintln!("{}", default.summary());
        reports.push((rules, all, default));
    }
    stop.store(true, Ordering::Relaxed);
    poller.join().unwrap();
    for (_, all, default) in &reports {
        if !all.failures().is_empty() || !default.failures().is_empty() {
            eprintln!("\n{}\n{}", all.summary(), all.table());
            eprintln!("\n{}\n{}", default.summary(), default.table());
        }
        all.assert_ok();
        default.assert_ok();
    }

    // Values against the truth, on the raw expressions (recording rules off: the windows are the plugin's own).
    let (_, _, raw) = reports.iter().find(|r| r.0 == "off").unwrap();
    let gauges = std::mem::take(&mut *gauges.lock().unwrap());
    let vllm_models: Vec<String> = cfg
        .models
        .iter()
        .filter(|m| m.backend == infermon_sim::BackendKind::Vllm)
        .map(|m| m.name.clone())
        .collect();
    let all_models: Vec<String> = cfg.models.iter().map(|m| m.name.clone()).collect();
    let mut checked = 0;
    // Points whose rate window lies inside the scraped history (at its start, Prometheus extrapolates from the
    // few samples there are, by design).
    let covered = |t: i64, w: i64| t - w >= scraping_since_ms + 5 * SCRAPE_MS;
    let window_of = |panel: &str, ref_id: &str| {
        let step = step_ms(&raw.find("infermon-overview", "All", panel, ref_id).frames)
            .expect("a step on the Time field");
        (step + SCRAPE_MS).max(4 * SCRAPE_MS)
    };
    // Requests/s and generated tokens/s: every point whose window was scraped, for every model.
    for (panel, what) in [
        ("Request rate", "requests"),
        ("Generated tokens/s", "tokens"),
    ] {
        let w = window_of(panel, "A");
        let got = points_by_model(raw, panel, "A");
        let models = if what == "tokens" {
            &vllm_models
        } else {
            &all_models
        };
        // The widest bracket seen relative to the value (information: how exact the comparison is).
        let mut widest: f64 = 0.0;
        for m in models {
            let pts = got
                .get(m)
                .unwrap_or_else(|| panic!("{panel}: no series for {m}: {got:?}"));
            let backend = cfg.models.iter().find(|c| c.name == *m).unwrap().backend;
            let counted = match (what, backend) {
                ("tokens", _) => Counted::Tokens,
                (_, infermon_sim::BackendKind::Tgi) => Counted::Arrivals,
                _ => Counted::Finished,
            };
            for (t, v) in pts.iter().filter(|p| covered(p.0, w)) {
                // Relative 1e-6 beyond the bracket: float rounding (the two sides differ by ~1e-9).
                let (lo, hi) = rate_bracket(prom.url(), &truth, m, counted, *t, w)
                    .values()
                    .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
                assert!(
                    *v >= lo * (1.0 - 1e-6) && *v <= hi * (1.0 + 1e-6),
                    "{panel} {m} at {t}: plugin {v}, Prometheus' rate of the true counts in [{lo}, {hi}] ({counted:?})"
                );
                widest = widest.max((hi - lo) / v);
                checked += 1;
            }
        }
        eprintln!(
            "{panel}: every point within the rate of the true counts (brackets up to {:.2} % wide)",
            widest * 100.0
        );
    }
    // TTFT p95 (vLLM: exact histograms).
    let w = window_of("Time to first token p50 / p95", "B");
    let got = points_by_model(raw, "Time to first token p50 / p95", "B");
    let bounds = buckets::VLLM_TTFT.bounds();
    for m in &vllm_models {
        let pts = &got[m];
        for (t, v) in pts.iter().filter(|p| covered(p.0, w)) {
            let wins = truth.windows(m, *t, w);
            let lo = wins
                .iter()
                .filter_map(|x| x.ttft.p90)
                .map(|p| bucket_of(&bounds, p).0)
                .fold(f64::INFINITY, f64::min);
            let hi = wins
                .iter()
                .filter_map(|x| x.ttft.p99)
                .map(|p| bucket_of(&bounds, p).1)
                .fold(0.0, f64::max);
            assert!(
                *v >= lo - 1e-9 && *v <= hi + 1e-9,
                "TTFT p95 {m} at {t}: plugin {v} outside the true p90…p99 buckets ({lo}, {hi}]"
            );
            checked += 1;
        }
    }
    // Error ratio: Llama in the errors scenario; the errors' rate over all finished requests' rate, each as
    // Prometheus' rate of the true counts.
    let w = window_of("Error ratio", "A");
    let got = points_by_model(raw, "Error ratio", "A");
    for (t, v) in got[LLAMA].iter().filter(|p| covered(p.0, w)) {
        let by_reason = rate_bracket(prom.url(), &truth, LLAMA, Counted::Finished, *t, w);
        let errors = by_reason.get("error").copied().unwrap_or_default();
        let all = by_reason
            .values()
            .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        let (lo, hi) = (errors.0 / all.1, errors.1 / all.0);
        assert!(lo > 0.1, "the errors scenario runs: {lo}");
        assert!(
            *v >= lo * (1.0 - 1e-6) && *v <= hi * (1.0 + 1e-6),
            "error ratio {LLAMA} at {t}: plugin {v}, Prometheus' ratio of the true counts' rates in [{lo}, {hi}]"
        );
        checked += 1;
    }
    // Gauges: KV usage is the most loaded replica, running requests the sum over replicas.
    // The poller samples every 50 ms (0.5 simulated s): a scrape can catch a value between two polls, one
    // admission or a few decode steps away, hence the slack (KV: ~50 of 2 600 blocks; running: 3 requests).
    for (panel, agg_max, idx, slack) in [
        ("KV-cache usage (most loaded replica)", true, 1, 0.02),
        ("Running requests", false, 2, 3.0),
    ] {
        let got = points_by_model(raw, panel, "A");
        for m in &vllm_models {
            let (t, v) = *got[m].last().unwrap();
            let (mut lo, mut hi) = (0.0_f64, 0.0_f64);
            for (i, r) in fleet.replicas.iter().enumerate() {
                if r.spec.model != *m {
                    continue;
                }
                let vals: Vec<f64> = gauges[i]
                    .iter()
                    .filter(|g| g.0 > t - 1_500 && g.0 <= t + 300)
                    .map(|g| if idx == 1 { g.1 } else { g.2 })
                    .collect();
                assert!(!vals.is_empty(), "no gauge sample around {t}");
                let (mn, mx) = (
                    vals.iter().cloned().fold(f64::INFINITY, f64::min),
                    vals.iter().cloned().fold(0.0, f64::max),
                );
                if agg_max {
                    lo = f64::max(lo, mn);
                    hi = f64::max(hi, mx);
                } else {
                    lo += mn;
                    hi += mx;
                }
            }
            assert!(
                v >= lo - slack && v <= hi + slack,
                "{panel} {m} at {t}: plugin {v} outside the true range [{lo}, {hi}] ± {slack}"
            );
            checked += 1;
        }
    }
    // The errors SLO's attainment over its 30-day window (all the history there is), read from the recorded
    // error ratios (auto) and from the raw counters (off): the true share of requests without error since the
    // fleet started, at the point's time (the scenario is steady, so the first scrape's missing second hardly
    // matters).
    for (rules, all, _) in &reports {
        let t = all.find("infermon-slos", "All", "errors: attainment", "A");
        let s = series(&t.frames);
        let (_, pts) = s
            .iter()
            .find(|(l, _)| l.get("model").map(String::as_str) == Some(LLAMA))
            .unwrap_or_else(|| panic!("errors attainment ({rules}): no {LLAMA}: {}", t.executed()));
        let (at, v) = *pts.last().unwrap();
        let wins = truth.windows(LLAMA, at, at);
        let errors: u64 = wins.iter().map(|x| x.errors).sum();
        let finished: u64 = wins.iter().map(|x| x.requests_finished).sum();
        let want = 1.0 - errors as f64 / finished as f64;
        assert!(
            (v - want).abs() <= 0.03,
            "errors attainment of {LLAMA} (recording rules {rules}) at {at}: plugin {v} vs truth {want}\n{}",
            t.executed()
        );
        eprintln!(
            "errors attainment of {LLAMA}, recording rules {rules}: {v:.4} (truth {want:.4})"
        );
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} points checked");
    eprintln!(
        "{checked} points of 6 overview panels and the errors SLO agree with the simulator's truth"
    );
    eprintln!(
        "live: {:.1?} in total ({warm:.1?} waiting for scrapes and rules)",
        started.elapsed()
    );
    drop(plugin);
    drop(prom);
    fleet.shutdown().await;
}
