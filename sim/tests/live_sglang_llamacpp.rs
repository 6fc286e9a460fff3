//! SGLang and llama.cpp replicas served live and scraped by a real Prometheus 2.42: both text formats parse
//! (Prometheus marks the targets up and ingests every catalog series), llama.cpp's model arrives as the `model`
//! target label, and the counters Prometheus stores agree with the replicas' `/truth`.

mod common;

use common::{maybe, scalar, wait_for};

const FLEET: &str = "
seed: 4
namespace: llm-serving
models:
  - name: Qwen/Qwen3-8B
    backend: sglang
    service: qwen
    # SGLang creates the labelled aborted-requests counter at the first abort (prometheus_client), and so does the
    # simulator: 5 % aborts make sure one happens early (the default 0.4 % left it to chance within 100 requests).
    workload: {rate: 4, abort_ratio: 0.05}
  - name: phi-3-mini
    backend: llamacpp
    version: legacy
    service: phi
    workload: {rate: 2, prefix_hit_ratio: 0}
";

#[test]
fn prometheus_scrapes_sglang_and_llamacpp_replicas() {
    let live = common::scraped_fleet(FLEET);
    let (prom, fleet) = (&live.prom, &live.fleet);
    wait_for("both targets up with traffic", 40.0, || {
        maybe(prom, "count(up == 1)", None) == Some(2.0)
            && maybe(prom, "sglang:num_requests_total", None).unwrap_or(0.0) > 100.0
            && maybe(prom, "sglang:num_aborted_requests_total", None).is_some()
            && maybe(prom, "llamacpp:tokens_predicted_total", None).unwrap_or(0.0) > 1000.0
    });
    for (backend, model_selector) in [
        (
            infermon_core::catalog::Backend::Sglang,
            "model_name=\"Qwen/Qwen3-8B\"",
        ),
        (
            infermon_core::catalog::Backend::Llamacpp,
            "model=\"phi-3-mini\"",
        ),
    ] {
        for c in infermon_core::catalog::Concept::ALL {
            let infermon_core::catalog::Support::Supported { source, .. } =
                infermon_core::catalog::support(*c, backend)
            else {
                continue;
            };
            for name in source.metric_names() {
                let expr =
                    format!("count({{__name__=~\"{name}|{name}_count\", {model_selector}}})");
                assert!(
                    maybe(prom, &expr, None).unwrap_or(0.0) >= 1.0,
                    "{backend} {name}: {expr}"
                );
            }
        }
    }
    // Stored counters agree with the replica's own truth at (about) the same moment: both only grow, so the
    // scraped value is at most the truth read just after it.
    let truth_after = |i: usize| fleet.replicas[i].truth();
    let scraped = scalar(prom, "sglang:num_requests_total", None);
    let t = truth_after(0);
    // At most ~3 s of wall time (30 simulated s at 4 req/s) between the scrape and the truth read.
    let finished = t.totals.finished as f64;
    assert!(
        scraped <= finished && finished - scraped <= 150.0,
        "{scraped} vs {finished}"
    );
    assert_eq!(t.backend, "sglang");
    assert_eq!(truth_after(1).version, "legacy");
    live.shutdown();
}
