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
//! - approximations the truth cannot state exactly (TGI TTFT/ITL/TPOT/prefill/KV): finite and ≥ 0.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::sim_data::{sim_engines, NAMESPACE, STEP_S, WINDOW_S};
use common::{dq, ds, frames_of, PluginProcess};
use infermon_core::catalog::{
    support, Backend, BucketSet, Concept, ConceptKind, Fidelity, Source, Support,
};
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
                            if !(r.status >= 400
                                && r.error.contains("nothing on this engine answers"))
                            {
                                failures.push(format!(
                                    "{what}: series absent, want the no-answer error, got {} {:?}",
                                    r.status, r.error
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
                            format!("{}/s", concept.unit())
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
                        let _ = (ConceptKind::Gauge, &j);
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
