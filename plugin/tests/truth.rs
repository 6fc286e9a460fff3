//! Ground truth end to end: the simulator's backfill of one model per backend (vLLM, TGI, SGLang, llama.cpp) in
//! real Prometheus 2.42 and real VictoriaMetrics, queried through the built `gpx_infermon` over gRPC for EVERY
//! concept × statistic × backend cell (iterated from the catalog and the statistic list, not hand-listed), and
//! compared point by point with the exact truth the simulator recorded for the same 10-minute windows.
//!
//! Per cell: unsupported cells and inapplicable statistics give the translator's specific error on that refId;
//! cells whose series the simulated server does not expose (vLLM speculative decoding) give the "nothing on this
//! engine answers" error; every other cell returns `timeseries-multi` frames whose value field carries exactly the
//! labels `model` and `namespace` (plus `reason` for finished requests), the concept's unit and the legend's
//! display name; approximate cells carry the catalog's note as a notice. Values:
//! - quantiles: inside the bucket that holds the true nearest-rank quantile (the bucket bound);
//! - means, rates and ratios: relative 1e-6 (2e-3 for llama.cpp, whose counters print 6 significant digits);
//! - gauge levels: exact; growth (`deriv`): between the least-squares slopes with and without the window's
//!   first scrape (Prometheus includes it, VictoriaMetrics does not);
//! - approximations the truth cannot state exactly (TGI TTFT/ITL/TPOT/prefill/KV, SGLang queue time, observed at
//!   first scheduling): finite and ≥ 0.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::sim_data::{sim_engines, NAMESPACE, STEP_S, WINDOW_S};
use common::{dq, ds, frames_of, PluginProcess};
use infermon_core::catalog::{support, Backend, BucketSet, Concept, Fidelity, Source, Support};
use infermon_core::query::Query;
use infermon_core::translate::{translate, Context};
use infermon_sim::backfill::ProbeTruth;
use infermon_sim::stats::TGI_VALIDATION_S;
use infermon_sim::truth::{Outcome, TruthRecord};
use serde_json::{json, Value};

/// Every statistic the query model accepts (`ACCEPTED_STATS`), quantiles at the usual percentiles.
const STATS: &[&str] = &[
    "p50", "p90", "p95", "p99", "avg", "rate", "ratio", "current", "max", "min", "growth",
];

/// What a point must satisfy.
#[derive(Debug, Clone)]
enum Expect {
    /// Inside [lo, hi].
    Within(f64, f64),
    /// Equal within a relative tolerance.
    Near(f64, f64),
    /// Any finite value ≥ 0 (approximations whose exact value the truth does not define).
    Sane,
    /// No value expected (undefined truth, e.g. a ratio over zero events).
    Undefined,
}

fn merged<T: Clone>(
    p: &ProbeTruth,
    f: impl Fn(&infermon_sim::truth::ReplicaWindow) -> Vec<T>,
) -> Vec<T> {
    p.replicas.iter().flat_map(|r| f(&r.events)).collect()
}

fn finished(p: &ProbeTruth) -> Vec<TruthRecord> {
    merged(p, |e| e.finished.clone())
}

fn sum_u(p: &ProbeTruth, f: impl Fn(&infermon_sim::truth::ReplicaWindow) -> u64) -> f64 {
    p.replicas.iter().map(|r| f(&r.events) as f64).sum()
}

/// The bucket-bound interval of the q-quantile of weighted observations.
fn quantile_bounds(obs: &[(f64, u64)], q: f64, buckets: &BucketSet) -> Expect {
    let mut v: Vec<(f64, u64)> = obs.iter().copied().filter(|(_, w)| *w > 0).collect();
    let n: u64 = v.iter().map(|x| x.1).sum();
    if n == 0 {
        return Expect::Undefined;
    }
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let at_rank = |rank: u64| {
        let mut c = 0;
        for (x, w) in &v {
            c += w;
            if c >= rank {
                return *x;
            }
        }
        v.last().unwrap().0
    };
    let r = q * n as f64;
    let lo_rank = ((r - 1e-6).ceil() as u64).clamp(1, n);
    let hi_rank = ((r + 1e-6).ceil() as u64).clamp(1, n);
    let bounds = buckets.bounds();
    let bucket = |x: f64| -> (f64, f64) {
        match bounds.iter().position(|b| x <= *b * (1.0 + 1e-12)) {
            Some(0) => (0.0, bounds[0]),
            Some(i) => (bounds[i - 1], bounds[i]),
            // +Inf bucket: Prometheus answers the highest finite bound.
            None => (*bounds.last().unwrap(), *bounds.last().unwrap()),
        }
    };
    Expect::Within(bucket(at_rank(lo_rank)).0, bucket(at_rank(hi_rank)).1)
}

fn mean(obs: &[(f64, u64)], tol: f64) -> Expect {
    let n: u64 = obs.iter().map(|x| x.1).sum();
    if n == 0 {
        return Expect::Undefined;
    }
    Expect::Near(
        obs.iter().map(|(x, w)| x * *w as f64).sum::<f64>() / n as f64,
        tol,
    )
}

fn ratio(num: f64, den: f64, tol: f64) -> Expect {
    if den == 0.0 {
        Expect::Undefined
    } else {
        Expect::Near(num / den, tol)
    }
}

fn ols_slope(pts: &[(f64, f64)]) -> f64 {
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let cov: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let var: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    cov / var
}

/// Gauge statistics over the replicas' levels at the probe time.
fn gauge(
    p: &ProbeTruth,
    concept: Concept,
    stat: &str,
    level: impl Fn(&infermon_sim::backfill::GaugeSample) -> f64,
) -> Expect {
    let now: Vec<f64> = p
        .replicas
        .iter()
        .map(|r| level(r.gauges.last().expect("a scrape at the probe time")))
        .collect();
    let (sum, n) = (now.iter().sum::<f64>(), now.len() as f64);
    let max = now.iter().copied().fold(f64::MIN, f64::max);
    let min = now.iter().copied().fold(f64::MAX, f64::min);
    let v = match stat {
        "current" => match concept.gauge_aggregation() {
            infermon_core::catalog::GaugeAggregation::Sum => sum,
            infermon_core::catalog::GaugeAggregation::Max => max,
            infermon_core::catalog::GaugeAggregation::Avg => sum / n,
        },
        "avg" | "ratio" => sum / n,
        "max" => max,
        "min" => min,
        "growth" => {
            let slopes = |skip: usize| -> f64 {
                p.replicas
                    .iter()
                    .map(|r| {
                        let pts: Vec<(f64, f64)> = r
                            .gauges
                            .iter()
                            .skip(skip)
                            .map(|g| (g.t_unix as f64, level(g)))
                            .collect();
                        ols_slope(&pts)
                    })
                    .sum()
            };
            let (a, b) = (slopes(0), slopes(1));
            return Expect::Within(a.min(b) - 1e-9, a.max(b) + 1e-9);
        }
        other => panic!("gauge stat {other}"),
    };
    Expect::Near(v, 1e-9)
}

/// The truth of one cell at one probe.
fn expected(
    backend: Backend,
    concept: Concept,
    stat: &str,
    p: &ProbeTruth,
) -> BTreeMap<String, Expect> {
    use Concept::*;
    let w = WINDOW_S as f64;
    let tol = if backend == Backend::Llamacpp {
        2e-3
    } else {
        1e-6
    };
    let fin = finished(p);
    let ok_fin: Vec<&TruthRecord> = fin.iter().filter(|r| r.outcome != Outcome::Error).collect();
    let one = |e: Expect| BTreeMap::from([(String::new(), e)]);
    let source = match support(concept, backend) {
        Support::Supported { source, .. } => source,
        Support::Unsupported(_) => unreachable!(),
    };
    let latency = |obs: Vec<(f64, u64)>| -> Expect {
        match (stat, &source) {
            ("avg", _) => mean(&obs, tol),
            (q, Source::Histogram(h)) => {
                quantile_bounds(&obs, q[1..].parse::<f64>().unwrap() / 100.0, &h.buckets[0])
            }
            _ => Expect::Sane,
        }
    };
    let w1 = |v: f64| (v, 1u64);
    let gauges =
        |level: fn(&infermon_sim::backfill::GaugeSample) -> f64| gauge(p, concept, stat, level);
    let rate = |events: f64| Expect::Near(events / w, tol);
    match (concept, backend) {
        (Ttft, Backend::Vllm | Backend::Sglang) => one(latency(merged(p, |e| {
            e.ttft.iter().map(|x| w1(*x)).collect()
        }))),
        (InterTokenLatency, Backend::Vllm | Backend::Sglang) => {
            one(latency(merged(p, |e| e.itl.clone())))
        }
        (Tpot, Backend::Vllm) => one(latency(
            fin.iter().filter_map(|r| r.tpot()).map(w1).collect(),
        )),
        (E2eLatency, Backend::Vllm | Backend::Sglang) => {
            one(latency(fin.iter().map(|r| w1(r.e2e)).collect()))
        }
        (E2eLatency, Backend::Tgi) => one(latency(
            ok_fin
                .iter()
                .map(|r| w1(r.e2e + TGI_VALIDATION_S))
                .collect(),
        )),
        (QueueTime, Backend::Vllm) => one(latency(fin.iter().map(|r| w1(r.queue)).collect())),
        (QueueTime, Backend::Tgi) => one(latency(ok_fin.iter().map(|r| w1(r.queue)).collect())),
        // SGLang observes queue time when a request is first scheduled; the probe truth keeps queue times of the
        // requests *finished* in the window only, so its exact value is not stated here (finite and ≥ 0 below).
        (PrefillTime, Backend::Vllm) => one(latency(
            fin.iter().filter_map(|r| r.prefill).map(w1).collect(),
        )),
        (DecodeTime, Backend::Vllm) => one(latency(
            fin.iter().filter_map(|r| r.decode).map(w1).collect(),
        )),
        // llama.cpp: summed per-slot times over summed tokens (what its counters measure).
        (InterTokenLatency | Tpot, Backend::Llamacpp) => one(ratio(
            fin.iter().filter_map(|r| r.decode).sum(),
            fin.iter().map(|r| f64::from(r.generated)).sum(),
            tol,
        )),
        (PrefillTime, Backend::Llamacpp) => one(ratio(
            p.replicas.iter().map(|r| r.events.prefill_seconds).sum(),
            sum_u(p, |e| e.prefill_computed_tokens),
            tol,
        )),
        (GenerationTokensRate, Backend::Vllm) => one(rate(sum_u(p, |e| e.step_tokens))),
        (GenerationTokensRate, Backend::Sglang | Backend::Llamacpp) => {
            one(rate(fin.iter().map(|r| f64::from(r.generated)).sum()))
        }
        (GenerationTokensRate, Backend::Tgi) => {
            one(rate(ok_fin.iter().map(|r| f64::from(r.generated)).sum()))
        }
        (PromptTokensRate, Backend::Vllm) => one(rate(sum_u(p, |e| e.scheduled_prompt_tokens))),
        (PromptTokensRate, Backend::Tgi) => one(rate(sum_u(p, |e| e.arrival_prompt_tokens))),
        (PromptTokensRate, Backend::Sglang) => {
            one(rate(fin.iter().map(|r| f64::from(r.prompt)).sum()))
        }
        (PromptTokensRate, Backend::Llamacpp) => one(rate(sum_u(p, |e| e.prefill_computed_tokens))),
        (RequestRate, Backend::Vllm | Backend::Sglang) => one(rate(fin.len() as f64)),
        (RequestRate, Backend::Tgi) => one(rate(sum_u(p, |e| e.arrivals))),
        (FinishedRequests, Backend::Vllm) => ["stop", "length", "abort", "error", "repetition"]
            .iter()
            .map(|reason| {
                (
                    reason.to_string(),
                    rate(fin.iter().filter(|r| r.reason == *reason).count() as f64),
                )
            })
            .collect(),
        (FinishedRequests, Backend::Tgi) => BTreeMap::from([
            ("success".to_string(), rate(ok_fin.len() as f64)),
            (
                "generation".to_string(),
                rate((fin.len() - ok_fin.len()) as f64),
            ),
        ]),
        (ErrorRatio, Backend::Vllm) => one(ratio(
            fin.iter().filter(|r| r.reason == "error").count() as f64,
            fin.len() as f64,
            tol,
        )),
        (ErrorRatio, Backend::Tgi) => one(ratio(
            (fin.len() - ok_fin.len()) as f64,
            sum_u(p, |e| e.arrivals),
            tol,
        )),
        (ErrorRatio, Backend::Sglang) => one(ratio(
            fin.iter().filter(|r| r.outcome != Outcome::Ok).count() as f64,
            fin.len() as f64,
            tol,
        )),
        (QueueDepth, _) => one(gauges(|g| g.waiting as f64)),
        (RunningRequests | BatchSize, _) => one(gauges(|g| g.running as f64)),
        (KvCacheUsage, Backend::Vllm | Backend::Sglang | Backend::Llamacpp) => {
            one(gauges(|g| g.kv_usage))
        }
        (PreemptionRate, Backend::Vllm) => one(rate(sum_u(p, |e| e.preemptions))),
        (PrefixCacheHitRate, Backend::Vllm) => one(ratio(
            sum_u(p, |e| e.scheduled_cached_tokens),
            sum_u(p, |e| e.scheduled_prompt_tokens),
            tol,
        )),
        (PrefixCacheHitRate, Backend::Sglang) => one(ratio(
            fin.iter().map(|r| f64::from(r.cached)).sum(),
            fin.iter().map(|r| f64::from(r.prompt)).sum(),
            tol,
        )),
        // No draft model: SGLang reports 0.
        (SpecDecodeAcceptanceRate, Backend::Sglang) => one(Expect::Near(0.0, 0.0)),
        // TGI TTFT/ITL/TPOT/prefill and KV usage: approximations of something TGI does not measure.
        _ => one(Expect::Sane),
    }
}

fn check(e: &Expect, v: f64) -> bool {
    match e {
        Expect::Within(lo, hi) => v >= lo - 1e-12 && v <= hi + 1e-12,
        Expect::Near(want, rel) => (v - want).abs() <= rel * want.abs().max(1e-9) + 1e-12,
        Expect::Sane => v.is_finite() && v >= 0.0,
        Expect::Undefined => true,
    }
}

fn model_of(backend: Backend) -> String {
    let e = sim_engines();
    e.fleet
        .models
        .iter()
        .find(|m| m.backend.catalog() == backend)
        .unwrap()
        .name
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_catalog_cell_agrees_with_the_simulators_ground_truth_on_both_engines() {
    let started = std::time::Instant::now();
    let e = sim_engines();
    let setup = started.elapsed();
    let mut p = PluginProcess::start().await;
    let to_ms = e.end_unix * 1000;
    let from_ms = to_ms - 60 * 60 * 1000;
    let mut summary: BTreeMap<(Backend, String), (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for (engine, url) in [
        ("prometheus", e.prometheus.url().to_string()),
        ("victoria", e.victoria.url().to_string()),
    ] {
        let settings = ds(&url, json!({"scrapeInterval": "15s"}), &[]);
        for backend in Backend::ALL {
            let model = model_of(backend);
            let mut queries = Vec::new();
            let mut cells = Vec::new();
            for &concept in Concept::ALL {
                for &stat in STATS {
                    let ref_id = format!("{}-{}", concept.id(), stat);
                    let legend = if concept == Concept::FinishedRequests {
                        "{{model}}/{{namespace}}/{{reason}}"
                    } else {
                        "{{model}}/{{namespace}}"
                    };
                    let j = json!({"queryType": "metric", "concept": concept.id(), "stat": stat,
                        "backend": backend.id(), "models": [model], "groupBy": ["model", "namespace"],
                        "legend": legend, "window": "10m"});
                    queries.push(dq(&ref_id, j.clone(), from_ms, to_ms, STEP_S * 1000, 1000));
                    cells.push((ref_id, concept, stat, j));
                }
            }
            let resp = p.query(settings.clone(), queries, &[]).await;
            for (ref_id, concept, stat, j) in cells {
                let r = &resp[&ref_id];
                let what = format!("{engine} {backend} {ref_id}");
                let q = Query::from_json(&j).expect("valid query JSON");
                let ctx = Context {
                    rate_window: infermon_core::duration::PromDuration::from_secs(600),
                    ..Context::default()
                };
                let translated = translate(&q, &ctx);
                let entry = summary
                    .entry((backend, concept.id().to_string()))
                    .or_default();
                match (&translated, support(concept, backend)) {
                    (Err(err), _) => {
                        // Unsupported cell or inapplicable statistic: the translator's own message, on this refId.
                        if !(r.status >= 400 && r.error.contains(&err.to_string())) {
                            failures.push(format!(
                                "{what}: want error {err:?}, got {} {:?}",
                                r.status, r.error
                            ));
                        }
                        continue;
                    }
                    (
                        Ok(_),
                        Support::Supported {
                            source, fidelity, ..
                        },
                    ) => {
                        let present = source.metric_names().iter().any(|n| {
                            e.names.contains(*n) || e.names.contains(&format!("{n}_bucket"))
                        });
                        if !present {
                            // No data, typed, with the reason as a warning notice (not an error).
                            let frames = frames_of(r);
                            let warned = frames.iter().any(|f| {
                                f.meta["notices"].as_array().into_iter().flatten().any(|n| {
                                    n["severity"] == "warning"
                                        && n["text"].as_str().is_some_and(|t| {
                                            t.starts_with("Nothing on this engine answers")
                                        })
                                })
                            });
                            let points: usize = frames
                                .iter()
                                .flat_map(|f| &f.fields)
                                .map(|fl| fl.numbers.len() + fl.strings.len() + fl.times_ns.len())
                                .sum();
                            if r.status != 200 || !warned || points != 0 || frames.is_empty() {
                                failures.push(format!(
                                    "{what}: series absent, want no data with the no-answer notice, got {} {:?} {} frames",
                                    r.status, r.error, frames.len()
                                ));
                            }
                            continue;
                        }
                        if r.status != 200 || !r.error.is_empty() {
                            failures.push(format!("{what}: {} {}", r.status, r.error));
                            continue;
                        }
                        let frames = frames_of(r);
                        let unit = if stat == "growth" {
                            concept.growth_unit().to_string()
                        } else {
                            concept.unit().to_string()
                        };
                        if let Fidelity::Approximate(note) = fidelity {
                            let notices = frames
                                .first()
                                .map(|f| f.meta["notices"].to_string())
                                .unwrap_or_default();
                            if !notices.contains(&note[..40.min(note.len())]) {
                                failures.push(format!(
                                    "{what}: approximation notice missing: {notices}"
                                ));
                            }
                        }
                        let series: Vec<_> =
                            frames.iter().filter(|f| !f.fields.is_empty()).collect();
                        if series.is_empty() {
                            failures.push(format!("{what}: no series"));
                            continue;
                        }
                        for f in series {
                            assert_eq!(f.frame_type(), "timeseries-multi", "{what}");
                            assert_eq!(f.ref_id, ref_id);
                            let (t, v) = (f.field("Time"), f.field("Value"));
                            let labels = v.labels.clone().expect("labels next to the config");
                            let reason = labels.get("reason").cloned();
                            let mut want_labels =
                                BTreeSet::from(["model".to_string(), "namespace".to_string()]);
                            if concept == Concept::FinishedRequests {
                                want_labels.insert("reason".into());
                            }
                            assert_eq!(
                                labels.keys().cloned().collect::<BTreeSet<_>>(),
                                want_labels,
                                "{what}"
                            );
                            assert_eq!(labels["model"], model, "{what}");
                            assert_eq!(labels["namespace"], NAMESPACE, "{what}");
                            let cfg = v.config.as_ref().expect("field config");
                            assert_eq!(cfg["unit"], Value::from(unit.clone()), "{what}");
                            let display = match &reason {
                                Some(r) => format!("{model}/{NAMESPACE}/{r}"),
                                None => format!("{model}/{NAMESPACE}"),
                            };
                            assert_eq!(cfg["displayNameFromDS"], Value::from(display), "{what}");
                            for (ns, val) in t.times_ns.iter().zip(&v.numbers) {
                                let ts = ns / 1_000_000_000;
                                let Some(val) = val else { continue };
                                let Some(truth) = e.truth.get(&(model.clone(), ts)) else {
                                    failures.push(format!("{what}: point at {ts} has no truth"));
                                    continue;
                                };
                                let exp = expected(backend, concept, stat, truth);
                                let want = exp
                                    .get(reason.as_deref().unwrap_or(""))
                                    .cloned()
                                    .unwrap_or(Expect::Undefined);
                                entry.0 += 1;
                                if !check(&want, *val) {
                                    entry.1 += 1;
                                    failures.push(format!("{what} @{ts}: {val} vs truth {want:?}"));
                                }
                            }
                        }
                    }
                    (Ok(_), Support::Unsupported(_)) => unreachable!("explicit backend"),
                }
            }
        }
    }
    let checked: usize = summary.values().map(|v| v.0).sum();
    eprintln!(
        "setup {:.1?}, total {:.1?}, {checked} points checked",
        setup,
        started.elapsed()
    );
    for ((b, c), (n, bad)) in &summary {
        if *n > 0 {
            eprintln!("{b:>9} {c:<28} {n:>4} points, {bad} off");
        }
    }
    // Information for the catalog: how far llama.cpp's "TPOT" (summed decode time over summed generated tokens)
    // is from the per-request TPOT vLLM records (decode time / (tokens − 1), averaged over requests).
    let llama = model_of(Backend::Llamacpp);
    let mut worst: f64 = 0.0;
    for ((m, _), p) in &e.truth {
        if *m != llama {
            continue;
        }
        let fin = finished(p);
        let tpots: Vec<f64> = fin.iter().filter_map(|r| r.tpot()).collect();
        let per_request = tpots.iter().sum::<f64>() / tpots.len() as f64;
        let counters = fin.iter().filter_map(|r| r.decode).sum::<f64>()
            / fin.iter().map(|r| f64::from(r.generated)).sum::<f64>();
        worst = worst.max((counters - per_request).abs() / per_request);
    }
    eprintln!(
        "llama.cpp TPOT from counters vs per-request TPOT: up to {:.1} % apart",
        worst * 100.0
    );
    assert!(checked > 2000, "{checked} points");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures
            .iter()
            .take(60)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The recording-rule path: infermon's generated recording rules evaluated over the same backfill
/// (`promtool tsdb create-blocks-from rules`, 15 s evaluations on the scrape grid) and loaded into a second
/// Prometheus 2.42 with the raw blocks; every (concept, statistic) the rules record, for every backend's model,
/// queried through the plugin with `recordingRules: on` (the plugin then reads `namespace_model:inference_*`)
/// and with an explicit `window: 5m` (raw series, same window): the two agree point by point.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_series_give_the_same_values_as_raw_series() {
    use infermon_core::query::Stat;
    use infermon_core::translate::recorded::{self, Recorded};
    let e = sim_engines();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // The raw blocks (immutable directories with a meta.json) …
    for entry in std::fs::read_dir(e.prometheus.data_dir()).unwrap() {
        let src = entry.unwrap().path();
        if src.join("meta.json").exists() {
            let dst = data.join(src.file_name().unwrap());
            std::fs::create_dir_all(dst.join("chunks")).unwrap();
            for f in ["meta.json", "index", "tombstones"] {
                if src.join(f).exists() {
                    std::fs::copy(src.join(f), dst.join(f)).unwrap();
                }
            }
            for c in std::fs::read_dir(src.join("chunks")).unwrap() {
                let c = c.unwrap().path();
                std::fs::copy(&c, dst.join("chunks").join(c.file_name().unwrap())).unwrap();
            }
        }
    }
    // … plus the recording rules evaluated over them.
    let rules = dir.path().join("recording.rules.yml");
    std::fs::write(
        &rules,
        infermon_core::rules::recording::recording_rules().to_yaml(),
    )
    .unwrap();
    let from = e.start_unix + 600;
    infermon_testkit::promtool::run([
        "tsdb".to_string(),
        "create-blocks-from".into(),
        "rules".into(),
        format!("--url={}", e.prometheus.url()),
        format!("--start={from}"),
        format!("--end={}", e.end_unix),
        "--eval-interval=15s".into(),
        format!("--output-dir={}", data.display()),
        rules.display().to_string(),
    ])
    .expect("promtool evaluates the recording rules over the backfill");
    let prom = infermon_testkit::Prometheus::builder()
        .data_dir(&data)
        .retention("400d")
        .start()
        .expect("prometheus with raw and recorded blocks");

    let mut p = PluginProcess::start().await;
    let settings = ds(
        prom.url(),
        json!({"scrapeInterval": "15s", "recordingRules": "on"}),
        &[],
    );
    let to_ms = e.end_unix * 1000;
    let from_ms = to_ms - 60 * 60 * 1000;
    // Every (concept, statistic) the rules record, from core's table of recorded series.
    let mut cells: Vec<(Concept, Stat)> = Vec::new();
    for r in recorded::all() {
        let cell = match r {
            Recorded::Rate(c) => (c, Stat::Rate),
            Recorded::Gauge(c) => (c, Stat::Current),
            Recorded::Quantile(c, q) => (c, Stat::Quantile(q)),
            Recorded::Ratio(c) => (c, Stat::Ratio),
            Recorded::Buckets(_) | Recorded::Numerator(_) | Recorded::Denominator(_) => continue,
        };
        if !cells.contains(&cell) {
            cells.push(cell);
        }
    }
    let mut compared = 0usize;
    let mut lag_diff = 0usize;
    let mut failures = Vec::new();
    // Rule groups evaluate at a per-group offset from the scrape grid: the recorded sample read at T was
    // evaluated δ earlier.
    let probe = "timestamp(namespace_model:inference_requests:rate5m)";
    let evaluated = prom_range(
        prom.url(),
        probe,
        e.end_unix as f64,
        e.end_unix as f64,
        STEP_S,
    );
    let delta = e.end_unix as f64 - evaluated.values().next().expect("recorded series exist");
    assert!((0.0..15.0).contains(&delta), "evaluation lag {delta}");
    for backend in Backend::ALL {
        let model = model_of(backend);
        let mut queries = Vec::new();
        let mut expect = Vec::new();
        for (i, (concept, stat)) in cells.iter().enumerate() {
            if !support(*concept, backend).is_supported() {
                continue;
            }
            let base = json!({"queryType": "metric", "concept": concept.id(), "stat": stat.id(),
                "models": [model], "groupBy": ["namespace", "model"]});
            let mut raw = base.clone();
            raw["window"] = json!("5m");
            queries.push(dq(
                &format!("rec{i}"),
                base,
                from_ms,
                to_ms,
                STEP_S * 1000,
                1000,
            ));
            queries.push(dq(
                &format!("raw{i}"),
                raw,
                from_ms,
                to_ms,
                STEP_S * 1000,
                1000,
            ));
            expect.push((i, *concept, stat.id()));
        }
        let resp = p.query(settings.clone(), queries, &[]).await;
        for (i, concept, stat) in expect {
            let what = format!("{backend} {} {stat}", concept.id());
            let (rec, raw) = (&resp[&format!("rec{i}")], &resp[&format!("raw{i}")]);
            if rec.status != 200 || raw.status != 200 {
                // A cell the raw data cannot answer must fail the same way on both paths.
                if rec.status == 200 || raw.status == 200 {
                    failures.push(format!(
                        "{what}: recorded {} {:?} vs raw {} {:?}",
                        rec.status, rec.error, raw.status, raw.error
                    ));
                }
                continue;
            }
            let (rec, raw) = (frames_of(rec), frames_of(raw));
            let executed = rec
                .first()
                .map(|f| f.meta["executedQueryString"].to_string())
                .unwrap_or_default();
            if !executed.contains(recorded::RECORD_PREFIX) {
                failures.push(format!(
                    "{what}: the recorded series were not used: {executed}"
                ));
            }
            let points = |frames: &[common::DFrame]| -> BTreeMap<(String, i64), f64> {
                frames
                    .iter()
                    .filter(|f| !f.fields.is_empty())
                    .flat_map(|f| {
                        let labels = f.field("Value").labels.clone().unwrap();
                        let key = format!("{labels:?}");
                        let t = f.field("Time").times_ns.clone();
                        let v = f.field("Value").numbers.clone();
                        t.into_iter().zip(v).filter_map(move |(t, v)| {
                            v.map(|v| ((key.clone(), t / 1_000_000_000), v))
                        })
                    })
                    .collect()
            };
            let (a, b) = (points(&rec), points(&raw));
            // Information only: the recorded value at T is the rule evaluated up to one interval earlier.
            for (k, x) in &a {
                if b.get(k)
                    .is_some_and(|y| (x - y).abs() > 1e-9 * y.abs().max(1e-9))
                {
                    lag_diff += 1;
                }
            }
            // The raw expression the plugin ran, evaluated at the recorded samples' own instants.
            let raw_expr = raw[0].meta["executedQueryString"]
                .as_str()
                .unwrap()
                .to_string();
            let raw_expr = raw_expr
                .strip_prefix("Expr: ")
                .unwrap()
                .split("\nStep: ")
                .next()
                .unwrap()
                .to_string();
            let times: BTreeSet<i64> = a.keys().map(|k| k.1).collect();
            let (Some(first), Some(last)) = (times.first(), times.last()) else {
                // e.g. a quantile of llama.cpp, which has no histograms: empty on both paths.
                if !b.is_empty() {
                    failures.push(format!(
                        "{what}: no recorded points, {} raw points",
                        b.len()
                    ));
                }
                continue;
            };
            let at_eval = prom_range(
                prom.url(),
                &raw_expr,
                *first as f64 - delta,
                *last as f64 - delta,
                STEP_S,
            );
            for (k, x) in &a {
                compared += 1;
                match at_eval.get(&(k.0.clone(), k.1)) {
                    Some(y) if (x - y).abs() <= 1e-9 * y.abs().max(1e-9) => {}
                    other => failures.push(format!(
                        "{what} {k:?}: recorded {x} vs raw at the evaluation instant {other:?}"
                    )),
                }
            }
        }
    }
    eprintln!(
        "recorded vs raw: {compared} points compared over {} cells; evaluation lag {delta:.3} s; {lag_diff} of the points differ from raw evaluated at T (the lag)",
        cells.len(),
    );
    assert!(compared > 300, "{compared} points");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// `query_range` straight to the engine: (labels as the plugin's `Debug` of a `BTreeMap`, time rounded to the
/// scrape grid + lag) → value; keyed by the *grid* time the point belongs to (t + δ rounded to the step).
fn prom_range(
    base: &str,
    expr: &str,
    start: f64,
    end: f64,
    step: i64,
) -> BTreeMap<(String, i64), f64> {
    let url = format!(
        "{base}/api/v1/query_range?query={}&start={start:.3}&end={end:.3}&step={step}",
        infermon_testkit::http::encode(expr)
    );
    let r = infermon_testkit::http::get(&url).expect("query_range");
    assert_eq!(r.status, 200, "{}", r.text());
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    let mut out = BTreeMap::new();
    for series in v["data"]["result"].as_array().unwrap() {
        let labels: BTreeMap<String, String> = series["metric"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        for p in series["values"].as_array().unwrap() {
            let t = p[0].as_f64().unwrap();
            let grid = ((t / step as f64).round() as i64) * step;
            let x: f64 = p[1].as_str().unwrap().parse().unwrap();
            out.insert((format!("{labels:?}"), grid), x);
        }
    }
    out
}

/// The `$model` variable's options come from `/models`: data that stopped ten minutes ago (this backfill) is
/// outside an instant query's 5-minute lookback, yet a dashboard looking at the last hours must still list its
/// models, with their backends, on both engines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_that_stopped_reporting_minutes_ago_are_still_listed() {
    let e = sim_engines();
    let mut p = PluginProcess::start().await;
    for url in [e.prometheus.url().to_string(), e.victoria.url().to_string()] {
        let settings = ds(&url, json!({"scrapeInterval": "15s"}), &[]);
        let (code, body) = p.resource(settings, "GET", "models", b"").await;
        assert_eq!(code, 200, "{url}: {body}");
        let listed: BTreeSet<(String, String, String)> = body["models"]
            .as_array()
            .unwrap_or_else(|| panic!("{url}: {body}"))
            .iter()
            .map(|m| {
                let s = |k: &str| m[k].as_str().unwrap_or_default().to_string();
                (s("model"), s("backend"), s("namespace"))
            })
            .collect();
        let expected: BTreeSet<(String, String, String)> = Backend::ALL
            .iter()
            .map(|b| (model_of(*b), b.id().to_string(), NAMESPACE.to_string()))
            .collect();
        assert_eq!(listed, expected, "{url}");
    }
}
