//! The simulator's `/metrics` against the real captures in `../shared/fixtures`: the set of family names, their
//! types, label keys and bucket boundaries must match exactly (values differ), and for vLLM the HELP/TYPE lines
//! and every sample line's name and label set (model name aside) must be byte-identical.

use infermon_sim::expo::shape::{parse, Exposition};
use infermon_sim::fleet::render_metrics;
use infermon_sim::{Engine, FleetConfig, Scenario};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// A replica of the given backend/version that has seen errors, aborts, preemption-free load and concatenated
/// batches, so every lazily created series exists.
fn engine(backend: &str, version: &str, max_model_len: u32) -> Engine {
    let yaml = format!(
        "models: [{{name: Qwen/Qwen3-4B-Instruct-2507-FP8, backend: {backend}, version: '{version}', \
         engine: {{max_model_len: {max_model_len}, kv_blocks: 850}}, workload: {{rate: 6, prompt_tokens: {{mean: 300, max: 2000}}, \
         output_tokens: {{mean: 80, max: 1000}}, abort_ratio: 0.05}}}}]"
    );
    let cfg = FleetConfig::from_yaml(&yaml, "test").unwrap();
    let mut e = Engine::new(cfg.replicas().remove(0), 1, 1_771_042_382.34, Some(600.0));
    e.set_scenario(Scenario::Errors, 0.0);
    e.advance_to(120.0);
    e
}

type Shape = BTreeMap<String, (String, Vec<String>, Vec<String>, Vec<String>)>;

fn shape(e: &Exposition) -> Shape {
    e.families
        .iter()
        .map(|(k, f)| {
            (
                k.clone(),
                (
                    f.kind.clone(),
                    f.label_keys.iter().cloned().collect(),
                    f.le.clone(),
                    f.quantiles.clone(),
                ),
            )
        })
        .collect()
}

fn diff(ours: &Shape, theirs: &Shape) -> String {
    let mut out = String::new();
    for (k, v) in theirs {
        match ours.get(k) {
            None => out += &format!("missing family {k}\n"),
            Some(o) if o != v => {
                out += &format!("family {k} differs:\n  ours   {o:?}\n  theirs {v:?}\n")
            }
            _ => {}
        }
    }
    for k in ours.keys() {
        if !theirs.contains_key(k) {
            out += &format!("extra family {k}\n");
        }
    }
    out
}

#[test]
fn vllm_0_10_matches_the_real_capture() {
    let theirs = parse(&fixture("vllm-0.10.x-ngc25.09-metrics.txt")).unwrap();
    let e = engine("vllm", "0.10", 8192);
    let (ct, body) = render_metrics(&e);
    assert_eq!(ct, "text/plain; version=0.0.4; charset=utf-8");
    let ours = parse(&body).unwrap();
    let d = diff(&shape(&ours), &shape(&theirs));
    assert!(d.is_empty(), "{d}");
}

#[test]
fn vllm_0_10_help_type_and_sample_keys_are_byte_identical() {
    let text = fixture("vllm-0.10.x-ngc25.09-metrics.txt");
    let e = engine("vllm", "0.10", 8192);
    let (_, body) = render_metrics(&e);
    // Metadata lines: identical sets.
    let meta = |t: &str| -> std::collections::BTreeSet<String> {
        t.lines()
            .filter(|l| l.starts_with("# HELP") || l.starts_with("# TYPE"))
            .map(String::from)
            .collect()
    };
    assert_eq!(
        meta(&body),
        meta(&text)
            .into_iter()
            .filter(|l| !l.starts_with("# SOURCE"))
            .collect()
    );
    // Sample lines of the engine families, without their values, in order.
    let keys = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with("vllm:"))
            .map(|l| l[..l.rfind(' ').unwrap()].to_string())
            .collect()
    };
    let (ours, theirs) = (keys(&body), keys(&text));
    let first = ours.iter().zip(&theirs).position(|(a, b)| a != b);
    assert!(
        first.is_none() && ours.len() == theirs.len(),
        "first difference at {first:?}: {:?} vs {:?} ({} vs {} lines)",
        first.map(|i| &ours[i]),
        first.map(|i| &theirs[i]),
        ours.len(),
        theirs.len()
    );
}

#[test]
fn vllm_latest_is_the_capture_with_todays_renames() {
    let mut theirs = shape(&parse(&fixture("vllm-0.10.x-ngc25.09-metrics.txt")).unwrap());
    for gone in [
        "vllm:gpu_cache_usage_perc",
        "vllm:gpu_prefix_cache_queries_total",
        "vllm:gpu_prefix_cache_queries_created",
        "vllm:gpu_prefix_cache_hits_total",
        "vllm:gpu_prefix_cache_hits_created",
    ] {
        theirs
            .remove(gone)
            .unwrap_or_else(|| panic!("{gone} in the capture"));
    }
    // time_per_output_token_seconds was renamed inter_token_latency_seconds (same buckets); the per-request
    // TPOT histogram uses the same bucket family.
    let tpot = theirs.remove("vllm:time_per_output_token_seconds").unwrap();
    let tpot_created = theirs
        .remove("vllm:time_per_output_token_seconds_created")
        .unwrap();
    for name in [
        "vllm:inter_token_latency_seconds",
        "vllm:request_time_per_output_token_seconds",
    ] {
        theirs.insert(name.to_string(), tpot.clone());
        theirs.insert(format!("{name}_created"), tpot_created.clone());
    }
    let e = engine("vllm", "latest", 8192);
    let body = render_metrics(&e).1;
    let ours = parse(&body).unwrap();
    let d = diff(&shape(&ours), &theirs);
    assert!(d.is_empty(), "{d}");
    // finished_reason values: today's set includes error (observed in the errors scenario).
    assert!(
        ours.sum(
            "vllm:request_success_total",
            &[("finished_reason", "error")]
        ) > 0.0
    );
    assert!(body.contains("le=\"5.0\""), "vLLM prints le=\"5.0\"");
}

#[test]
fn tgi_matches_the_rendered_exporter_output() {
    let theirs = parse(&fixture("tgi-3.3.x-SYNTHETIC-rendered-metrics.txt")).unwrap();
    // The fixture was rendered with max_input_tokens=4095, max_total_tokens=4096.
    let e = engine("tgi", "3", 4096);
    let (ct, body) = render_metrics(&e);
    assert_eq!(ct, "text/plain; version=0.0.4");
    let ours = parse(&body).unwrap();
    let d = diff(&shape(&ours), &shape(&theirs));
    assert!(d.is_empty(), "{d}");
    // HELP presence is part of the shape: undescribed families have none.
    for (k, f) in &theirs.families {
        assert_eq!(ours.families[k].help, f.help, "HELP of {k}");
    }
    assert!(
        body.ends_with("\n\n"),
        "the exporter ends every family with a blank line"
    );
}

#[test]
fn a_fresh_tgi_exposes_only_what_tgi_creates_at_startup() {
    let cfg = FleetConfig::from_yaml(
        "models: [{name: m, backend: tgi, workload: {rate: 0}}]",
        "t",
    )
    .unwrap();
    let e = Engine::new(cfg.replicas().remove(0), 1, 1.7e9, None);
    let ours = parse(&render_metrics(&e).1).unwrap();
    assert_eq!(
        ours.families.keys().collect::<Vec<_>>(),
        ["tgi_batch_max_total_tokens"]
    );
}
