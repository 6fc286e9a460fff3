//! Simulator data with exact ground truth, loaded into real engines: a small fleet with one model per backend
//! (vLLM `latest` with 2 replicas, TGI 3, SGLang, llama.cpp `legacy` so its KV-cache gauge exists), backfilled for
//! 90 minutes at a 15 s scrape interval by `infermon_sim::backfill::run_with_truth`, which also captures the
//! exact truth of every model over the 10-minute window ending at every 5-minute mark. The same samples go to
//! Prometheus 2.42 (promtool OpenMetrics backfill) and VictoriaMetrics (`/api/v1/import/prometheus`).
//!
//! The llama.cpp model has no prefix-cache hits: llama.cpp counts only evaluated prompt tokens, and its per-slot
//! prompt reuse is not modelled, so with hits its prompt counter would not be the catalog's "prompt tokens".

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use infermon_sim::backfill::{self, BackfillOptions, ProbeTruth, Probes, Profile};
use infermon_sim::FleetConfig;
use infermon_testkit::{Prometheus, VictoriaMetrics};

pub const INTERVAL_S: i64 = 15;
/// The query window (`"window": "10m"`) and the truth window.
pub const WINDOW_S: i64 = 600;
/// Truth is captured every 5 minutes; the test's range queries use the same step.
pub const STEP_S: i64 = 300;
pub const NAMESPACE: &str = "llm-serving";

pub const FLEET: &str = r#"
seed: 5
namespace: llm-serving
models:
  - name: meta-llama/Llama-3.1-8B-Instruct
    backend: vllm
    version: latest
    replicas: 2
    workload: {rate: 3, abort_ratio: 0.02, error_ratio: 0.02}
  - name: mixtral-8x7b
    backend: tgi
    workload: {rate: 3, abort_ratio: 0.02, error_ratio: 0.03}
  - name: Qwen/Qwen3-8B
    backend: sglang
    workload: {rate: 3, abort_ratio: 0.02, error_ratio: 0.02}
  - name: phi-3-mini
    backend: llamacpp
    version: legacy
    workload: {rate: 1.5, prefix_hit_ratio: 0}
    engine: {max_batch_size: 8, kv_blocks: 1200}
"#;

pub struct SimEngines {
    pub fleet: FleetConfig,
    pub start_unix: i64,
    pub end_unix: i64,
    /// (model, probe time) → truth.
    pub truth: BTreeMap<(String, i64), ProbeTruth>,
    pub prometheus: Prometheus,
    pub victoria: VictoriaMetrics,
    /// Metric names present in the data (for "no series" expectations).
    pub names: std::collections::BTreeSet<String>,
    _dir: tempfile::TempDir,
}

/// OpenMetrics (seconds) → Prometheus text with millisecond timestamps, for VictoriaMetrics.
fn om_to_prometheus_ms(om: &str) -> String {
    let mut out = String::with_capacity(om.len() + om.len() / 8);
    for line in om.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (rest, ts) = line.rsplit_once(' ').expect("sample with timestamp");
        out.push_str(rest);
        out.push(' ');
        out.push_str(ts);
        out.push_str("000\n");
    }
    out
}

pub fn sim_engines() -> &'static SimEngines {
    static E: OnceLock<SimEngines> = OnceLock::new();
    E.get_or_init(|| {
        let fleet = FleetConfig::from_yaml(FLEET, "truth fleet").expect("fleet");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        // Ends 10 minutes in the past (VictoriaMetrics hides the latest 30 s of data from queries).
        let end_unix = now - now.rem_euclid(STEP_S) - 600;
        let dir = tempfile::tempdir().unwrap();
        let opts = BackfillOptions {
            days: 1.5 / 24.0,
            interval_s: INTERVAL_S as u32,
            profile: Profile::Catalog,
            end_unix: Some(end_unix),
            out_dir: dir.path().join("om"),
            threads: 2,
        };
        let probes = Probes {
            every_s: STEP_S,
            window_s: WINDOW_S,
        };
        let (report, probes) =
            backfill::run_with_truth(&fleet, &opts, probes, &|_| {}).expect("backfill");
        let tsdb = dir.path().join("tsdb");
        let mut vm_text = String::new();
        let mut names = std::collections::BTreeSet::new();
        for f in &report.files {
            infermon_testkit::promtool::create_blocks_from_openmetrics(f, &tsdb)
                .expect("promtool backfill");
            let om = std::fs::read_to_string(f).unwrap();
            for l in om.lines().filter(|l| l.starts_with("# TYPE ")) {
                names.insert(l.split(' ').nth(2).unwrap().to_string());
            }
            for l in om.lines().filter(|l| !l.starts_with('#')) {
                let name = l.split(['{', ' ']).next().unwrap();
                names.insert(name.to_string());
            }
            vm_text.push_str(&om_to_prometheus_ms(&om));
        }
        let prometheus = Prometheus::builder()
            .data_dir(&tsdb)
            .start()
            .expect("prometheus starts");
        let victoria = VictoriaMetrics::builder()
            .start()
            .expect("victoria-metrics starts");
        victoria
            .import_prometheus(&vm_text)
            .expect("import into VictoriaMetrics");
        let truth = probes
            .into_iter()
            .map(|p| ((p.model.clone(), p.t_unix), p))
            .collect();
        SimEngines {
            fleet,
            start_unix: report.start_unix,
            end_unix: report.end_unix,
            truth,
            prometheus,
            victoria,
            names,
            _dir: dir,
        }
    })
}
