//! SGLang and llama.cpp expositions: every metric the catalog reads for the backend is served with the type,
//! HELP, label keys and buckets the real server uses; the text follows each server's format byte for byte
//! (llama.cpp's `# HELP`/`# TYPE`/value triplets with C++ numbers, SGLang's prometheus_client text); the
//! output is deterministic; `/truth`-style snapshots and windowed truth cover both backends.

use infermon_core::catalog::buckets::{SGLANG_E2E, SGLANG_ITL, SGLANG_TTFT};
use infermon_core::catalog::names::{llamacpp as ln, sglang as sn};
use infermon_core::catalog::{support, Backend, Concept, Source, Support};
use infermon_sim::backfill::{self, BackfillOptions, Probes, Profile};
use infermon_sim::expo::shape::parse;
use infermon_sim::fleet::{render_metrics, TruthSnapshot};
use infermon_sim::{Engine, FleetConfig};

fn engine(backend: &str, version: &str) -> Engine {
    let yaml = format!(
        "models: [{{name: Qwen/Qwen3-8B, backend: {backend}, version: '{version}', \
         workload: {{rate: 4, abort_ratio: 0.05, error_ratio: 0.02}}, engine: {{kv_blocks: 900}}}}]"
    );
    let cfg = FleetConfig::from_yaml(&yaml, "test").unwrap();
    let mut e = Engine::new(cfg.replicas().remove(0), 3, 1_771_042_382.0, Some(600.0));
    e.advance_to(300.0);
    e
}

/// Base names (histograms without suffix) of every series the catalog reads for `backend`.
fn catalog_names(backend: Backend) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Concept::ALL
        .iter()
        .filter_map(|c| match support(*c, backend) {
            Support::Supported { source, .. } => Some(source.metric_names()),
            Support::Unsupported(_) => None,
        })
        .flatten()
        .collect();
    v.sort();
    v.dedup();
    v
}

fn histograms(backend: Backend) -> Vec<(&'static str, Vec<&'static str>)> {
    Concept::ALL
        .iter()
        .filter_map(|c| match support(*c, backend) {
            Support::Supported {
                source: Source::Histogram(h),
                ..
            } => Some((h.series.names[0], h.buckets[0].le.to_vec())),
            _ => None,
        })
        .collect()
}

#[test]
fn sglang_serves_every_catalog_series_with_its_type_labels_and_buckets() {
    let e = engine("sglang", "latest");
    let (ctype, text) = render_metrics(&e);
    assert_eq!(ctype, "text/plain; version=0.0.4; charset=utf-8");
    let exp = parse(&text).unwrap();
    for name in catalog_names(Backend::Sglang) {
        let fam = exp
            .families
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing from\n{text}"));
        assert!(
            fam.label_keys.contains("model_name"),
            "{name}: {:?}",
            fam.label_keys
        );
        let want = if name.ends_with("_total") {
            "counter"
        } else if name.ends_with("_seconds") {
            "histogram"
        } else {
            "gauge"
        };
        assert_eq!(fam.kind, want, "{name}");
        assert!(fam.help.as_deref().is_some_and(|h| !h.is_empty()), "{name}");
        assert!(
            exp.find(name, &[("model_name", "Qwen/Qwen3-8B")])
                .next()
                .is_some()
                || exp
                    .find(&format!("{name}_count"), &[("model_name", "Qwen/Qwen3-8B")])
                    .next()
                    .is_some(),
            "{name} has no sample for the model"
        );
    }
    for (name, le) in histograms(Backend::Sglang) {
        let mut want: Vec<String> = le.iter().map(|s| s.to_string()).collect();
        want.push("+Inf".into());
        assert_eq!(exp.families[name].le, want, "{name}");
    }
    assert_eq!(
        SGLANG_TTFT.le[0],
        exp.families[sn::TIME_TO_FIRST_TOKEN_SECONDS].le[0]
    );
    assert_eq!(
        SGLANG_ITL.le.len() + 1,
        exp.families[sn::INTER_TOKEN_LATENCY_SECONDS].le.len()
    );
    assert_eq!(
        SGLANG_E2E.le.len() + 1,
        exp.families[sn::E2E_REQUEST_LATENCY_SECONDS].le.len()
    );
    // Exact lines as prometheus_client prints them (sorted labels, floatToGoString, `_count` before `_sum`).
    assert!(text.contains("# HELP sglang:prompt_tokens_total Number of prefill tokens processed.\n# TYPE sglang:prompt_tokens_total counter\nsglang:prompt_tokens_total{model_name=\"Qwen/Qwen3-8B\"} "), "{text}");
    assert!(text.contains("# HELP sglang:token_usage The token usage.\n# TYPE sglang:token_usage gauge\nsglang:token_usage{engine_type=\"unified\",model_name=\"Qwen/Qwen3-8B\",pp_rank=\"0\",tp_rank=\"0\"} "), "{text}");
    assert!(text.contains(
        "sglang:time_to_first_token_seconds_bucket{le=\"0.1\",model_name=\"Qwen/Qwen3-8B\"} "
    ));
    assert!(
        !text.contains("_created"),
        "multiprocess mode has no _created series"
    );
    // Counters agree with the truth: every finished request is counted, aborted ones (aborts + errors) too.
    let snap = TruthSnapshot::of(&e);
    assert!(snap.totals.finished > 500, "{}", snap.totals.finished);
    assert_eq!(
        exp.sum(sn::NUM_REQUESTS_TOTAL, &[]),
        snap.totals.finished as f64
    );
    assert_eq!(
        exp.sum(sn::NUM_ABORTED_REQUESTS_TOTAL, &[]),
        (snap.totals.aborts + snap.totals.errors) as f64
    );
    assert_eq!(exp.sum(sn::NUM_QUEUE_REQS, &[]), snap.queue_depth as f64);
    assert_eq!(exp.sum(sn::NUM_RUNNING_REQS, &[]), snap.running as f64);
    assert_eq!(exp.sum(sn::TOKEN_USAGE, &[]), snap.kv_usage);
    assert_eq!(
        exp.sum("sglang:time_to_first_token_seconds_count", &[]),
        snap.totals.ttft_count as f64
    );
}

#[test]
fn llamacpp_prints_help_type_value_triplets_without_labels() {
    for (version, kv) in [("latest", false), ("legacy", true)] {
        let e = engine("llamacpp", version);
        let (ctype, text) = render_metrics(&e);
        assert_eq!(ctype, "text/plain; version=0.0.4");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len() % 3, 0, "{text}");
        for t in lines.chunks(3) {
            let name = t[0]
                .strip_prefix("# HELP ")
                .unwrap()
                .split(' ')
                .next()
                .unwrap();
            assert!(name.starts_with("llamacpp:"), "{name}");
            assert!(t[1].starts_with(&format!("# TYPE {name} ")), "{t:?}");
            let (n, v) = t[2].split_once(' ').unwrap();
            assert_eq!(n, name);
            assert!(!v.contains('{') && !v.contains(".0e"), "{t:?}");
            // C++ stream numbers: at most 6 significant digits.
            let digits = v
                .split('e')
                .next()
                .unwrap()
                .chars()
                .filter(|c| c.is_ascii_digit())
                .count();
            assert!(
                digits <= 6 || v.trim_start_matches('0').replace('.', "").len() <= 6,
                "{t:?}"
            );
        }
        let exp = parse(&text).unwrap();
        for name in catalog_names(Backend::Llamacpp) {
            if name == ln::KV_CACHE_USAGE_RATIO {
                assert_eq!(exp.families.contains_key(name), kv, "{version}: {name}");
                continue;
            }
            let fam = exp
                .families
                .get(name)
                .unwrap_or_else(|| panic!("{version}: {name} missing"));
            let want = if name.ends_with("_total") {
                "counter"
            } else {
                "gauge"
            };
            assert_eq!(fam.kind, want, "{name}");
            assert!(fam.label_keys.is_empty(), "{name}");
        }
        let first = [
            "# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.",
            "# TYPE llamacpp:prompt_tokens_total counter",
        ];
        assert_eq!(&lines[..2], &first);
        let processing = if kv {
            "# HELP llamacpp:requests_processing Number of request processing."
        } else {
            "# HELP llamacpp:requests_processing Number of requests processing."
        };
        assert!(lines.contains(&processing), "{version}");
        assert_eq!(exp.families.contains_key("llamacpp:n_decode_total"), !kv);
        let snap = TruthSnapshot::of(&e);
        assert_eq!(exp.sum(ln::REQUESTS_DEFERRED, &[]), snap.queue_depth as f64);
        assert_eq!(exp.sum(ln::REQUESTS_PROCESSING, &[]), snap.running as f64);
        assert!(exp.sum(ln::TOKENS_PREDICTED_TOTAL, &[]) > 1000.0);
    }
}

#[test]
fn new_backends_are_deterministic_and_their_backfill_carries_windowed_truth() {
    let yaml = "seed: 9\nmodels:\n  - {name: qwen, backend: sglang, replicas: 2}\n  - {name: phi, backend: llamacpp, version: legacy}\n";
    let cfg = FleetConfig::from_yaml(yaml, "test").unwrap();
    let run = |dir: &std::path::Path| {
        let opts = BackfillOptions {
            days: 1.0 / 24.0,
            interval_s: 15,
            profile: Profile::Full,
            end_unix: Some(1_790_000_100),
            out_dir: dir.to_path_buf(),
            threads: 2,
        };
        let probes = Probes {
            every_s: 600,
            window_s: 600,
        };
        let (report, truth) = backfill::run_with_truth(&cfg, &opts, probes, &|_| {}).unwrap();
        let files: Vec<Vec<u8>> = report
            .files
            .iter()
            .map(|f| std::fs::read(f).unwrap())
            .collect();
        (files, serde_json::to_string(&truth).unwrap(), report, truth)
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (fa, ta, report, truth) = run(a.path());
    let (fb, tb, _, _) = run(b.path());
    assert_eq!(fa, fb, "same seed, same files");
    assert_eq!(ta, tb, "same seed, same truth");
    assert_eq!(report.files.len(), 3);
    let om = String::from_utf8(fa[2].clone()).unwrap();
    // llama.cpp gets the model from the target label, like TGI.
    assert!(
        om.contains("llamacpp:requests_processing{instance="),
        "{}",
        &om[..400]
    );
    assert!(om.contains("model=\"phi\""));
    // Probes every 10 min once a full window has elapsed: 5 per model, 2 replicas for qwen.
    assert_eq!(truth.len(), 10, "{}", truth.len());
    for p in &truth {
        assert_eq!(p.t_unix % 600, 0);
        assert_eq!(p.replicas.len(), if p.model == "qwen" { 2 } else { 1 });
        for r in &p.replicas {
            assert!(
                r.events.finished.len() > 100,
                "{} {}",
                p.model,
                r.events.finished.len()
            );
            assert_eq!(r.gauges.len(), 41, "scrapes in [t − 10m, t]");
            assert!(r
                .events
                .finished
                .iter()
                .all(|f| f.t > r.events.from && f.t <= r.events.to));
        }
    }
}

#[test]
fn unknown_versions_of_the_new_backends_are_rejected_with_the_accepted_values() {
    for (backend, version, accepted) in [
        ("sglang", "0.4", "\"latest\""),
        ("llamacpp", "b9999", "\"legacy\""),
    ] {
        let yaml = format!("models: [{{name: m, backend: {backend}, version: '{version}'}}]");
        let e = FleetConfig::from_yaml(&yaml, "t").unwrap_err().to_string();
        assert!(
            e.contains("models[0].version") && e.contains(accepted),
            "{e}"
        );
    }
    let e = FleetConfig::from_yaml("models: [{name: m, backend: ollama}]", "t")
        .unwrap_err()
        .to_string();
    assert!(e.contains("sglang") && e.contains("llamacpp"), "{e}");
}
