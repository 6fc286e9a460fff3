//! End to end (issue 4, "Proof"): a real Prometheus 2.42 loads the generated rule files, over two days of
//! simulator history imported with `promtool tsdb create-blocks-from openmetrics`, and
//! - the generated error-budget-remaining expressions, evaluated at the end of the period, match the simulator's
//!   ground-truth attainment within the bucket error bound (0 for a threshold that is a bucket boundary, the
//!   neighbouring TGI boundaries bracket the truth otherwise);
//! - an alert of the default rule set fires on the scenario made for it: the recording rules are backfilled over
//!   the scenario with `promtool tsdb create-blocks-from rules` (Prometheus evaluates rules only going forward),
//!   and `InferenceErrorRatioHigh` holds for longer than its `for:` on the model in the `errors` scenario only.

use infermon_sim::backfill::{self, BackfillOptions, Profile};
use infermon_sim::FleetConfig;
use infermon_testkit::{promtool, Prometheus};
use std::path::Path;
use std::process::Command;

const FLEET: &str = "
seed: 5
namespace: llm
models:
  - name: test/llama
    backend: vllm
    service: llama
    workload: {rate: 0.6}
  - name: test/qwen
    backend: vllm
    service: qwen
    workload: {rate: 0.6}
  - name: test/mistral
    backend: tgi
    service: mistral
    workload: {rate: 0.5}
timeline:
  - {start: 20h, duration: 4h, scenario: slow-prefill, models: [test/llama]}
  - {start: 1d12h, duration: 3h, scenario: errors, models: [test/qwen]}
";

/// SLOs of this test: the default e2e and no-error SLOs, and TGI latency SLOs at the two TGI bucket boundaries
/// around 5 s (TGI's buckets are 0.0001·1.5^k s; 5 s is none of them), which must bracket the true share ≤ 5 s.
const SPEC: &str = "
slos:
- {name: e2e-latency-5s, sli: e2e_latency, threshold: 5.0, objective: 0.95, window: 30d, backends: [vllm]}
- {name: errors, sli: error_ratio, objective: 0.999, window: 30d}
- {name: tgi-e2e-below, sli: e2e_latency, threshold: 3.787675244106352, objective: 0.95, window: 30d, backends: [tgi]}
- {name: tgi-e2e-above, sli: e2e_latency, threshold: 5.681512866159528, objective: 0.95, window: 30d, backends: [tgi]}
";

/// The only error between the generated SLI and the truth when the threshold is a bucket boundary: `increase()`
/// over the 30d window sees the counters from their first sample (≤ one 15 s scrape of events missing) and
/// extrapolates by at most half a scrape interval, for numerator and denominator alike. With ≥ 100 000 requests
/// per model that is far below 1e-4 of attainment; the bound keeps a margin.
const ATTAINMENT_BOUND: f64 = 1e-4;

fn api(prom: &Prometheus, path_and_query: &str) -> serde_json::Value {
    let url = format!("{}{path_and_query}", prom.url());
    let resp = infermon_testkit::http::get(&url).unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let v: serde_json::Value =
        serde_json::from_str(&resp.text()).unwrap_or_else(|e| panic!("{url}: {e}"));
    assert_eq!(v["status"], "success", "{url}: {v}");
    v["data"].clone()
}

/// Instant query at `t`: model label → value.
fn query(prom: &Prometheus, expr: &str, t: i64) -> std::collections::BTreeMap<String, f64> {
    let data = api(
        prom,
        &format!(
            "/api/v1/query?query={}&time={t}",
            infermon_testkit::http::encode(expr)
        ),
    );
    data["result"]
        .as_array()
        .expect("vector")
        .iter()
        .map(|r| {
            let model = r["metric"]["model"].as_str().unwrap_or("").to_string();
            (
                model,
                r["value"][1].as_str().unwrap().parse::<f64>().unwrap(),
            )
        })
        .collect()
}

fn yaml(path: &Path) -> serde_json::Value {
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The expression of the rule `record`/`alert` named `name` (with label `slo` = `slo`, if given).
fn rule_expr(file: &Path, key: &str, name: &str, slo: Option<&str>) -> String {
    for g in yaml(file)["groups"].as_array().unwrap() {
        for r in g["rules"].as_array().unwrap() {
            if r[key] == name && slo.is_none_or(|s| r["labels"]["slo"] == s) {
                return r["expr"].as_str().unwrap().to_string();
            }
        }
    }
    panic!("no {key} {name} (slo {slo:?}) in {}", file.display())
}

/// Error budget remaining of `slo` as the generated rules compute it, at `t`: the budget rule's expression
/// with the whole-window SLI record replaced by that record's own expression (the history was imported, so
/// the recording rules never ran over it).
fn budget_remaining(
    prom: &Prometheus,
    slo_file: &Path,
    slo: &str,
    t: i64,
) -> std::collections::BTreeMap<String, f64> {
    let budget = rule_expr(
        slo_file,
        "record",
        "namespace_model:inference_slo_error_budget_remaining:ratio",
        Some(slo),
    );
    let sli = rule_expr(
        slo_file,
        "record",
        "namespace_model:inference_slo_errors:ratio_rate30d",
        Some(slo),
    );
    let selector = format!("namespace_model:inference_slo_errors:ratio_rate30d{{slo=\"{slo}\"}}");
    assert!(budget.contains(&selector), "{budget}");
    query(prom, &budget.replace(&selector, &format!("({sli})")), t)
}

#[test]
fn generated_rules_match_the_simulator_truth_and_fire_on_the_errors_scenario() {
    // 1. Rules from the spec, through the real CLI.
    let work = tempfile::tempdir().unwrap();
    let spec = work.path().join("slo.yaml");
    std::fs::write(&spec, SPEC).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_infermon"))
        .args(["rules", "--spec"])
        .arg(&spec)
        .arg("--out")
        .arg(work.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rules = work.path().join("manifests/prometheus");
    let (recording, alerts, slo_file) = (
        rules.join("infermon-recording.rules.yml"),
        rules.join("infermon-alerts.rules.yml"),
        rules.join("infermon-slo.rules.yml"),
    );

    // 2. Two days of history, ending 3 h ago on a scrape boundary (inside retention, before the TSDB head).
    let cfg = FleetConfig::from_yaml(FLEET, "test").unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let end = now - 3 * 3600 - (now - 3 * 3600).rem_euclid(15);
    let history = work.path().join("history");
    let opts = BackfillOptions {
        days: 2.0,
        interval_s: 15,
        profile: Profile::Slo,
        end_unix: Some(end),
        out_dir: history,
        threads: 2,
    };
    let report = backfill::run(&cfg, &opts, &|_| {}).unwrap();
    let data = work.path().join("data");
    backfill::import_with_promtool(Path::new("promtool"), &report, &data)
        .expect("promtool imports the history");

    // 3. Prometheus loads every generated rule file.
    let prom = Prometheus::builder()
        .data_dir(&data)
        .retention("400d")
        .evaluation_interval("1s")
        .rule_file_path(&recording)
        .rule_file_path(&alerts)
        .rule_file_path(&slo_file)
        .start()
        .expect("prometheus starts with the generated rules");
    let groups = api(&prom, "/api/v1/rules")["groups"]
        .as_array()
        .unwrap()
        .clone();
    let rule_count: usize = groups
        .iter()
        .map(|g| g["rules"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        groups.len(),
        1 + 1 + 2 * 4,
        "recording, alerts and two groups per SLO: {groups:?}"
    );
    assert!(rule_count > 70, "{rule_count}");

    // 4. Error budget remaining vs ground truth at the end of the period.
    let truth = |model: &str| {
        report
            .truth
            .iter()
            .find(|m| m.model == model)
            .unwrap_or_else(|| panic!("{model}"))
    };
    let e2e = budget_remaining(&prom, &slo_file, "e2e-latency-5s", end);
    let errors = budget_remaining(&prom, &slo_file, "errors", end);
    for model in ["test/llama", "test/qwen"] {
        let t = truth(model);
        assert!(
            t.totals.finished > 100_000,
            "{model}: {} requests",
            t.totals.finished
        );
        // 5.0 is a vLLM bucket boundary (le="5.0"): the bucket error is zero.
        let expected = 1.0 - (1.0 - t.attainment.e2e_within_5s.unwrap()) / 0.05;
        let got = e2e[model];
        eprintln!("{model}: e2e budget remaining {got:.6}, truth {expected:.6}");
        assert!(
            (got - expected).abs() <= ATTAINMENT_BOUND / 0.05,
            "{model}: e2e budget {got} vs truth {expected}"
        );
        let expected = 1.0 - (1.0 - t.attainment.without_error.unwrap()) / 0.001;
        let got = errors[model];
        eprintln!("{model}: no-error budget remaining {got:.6}, truth {expected:.6}");
        assert!(
            (got - expected).abs() <= ATTAINMENT_BOUND / 0.001,
            "{model}: error budget {got} vs truth {expected}"
        );
    }
    // The slow-prefill day burnt llama's latency budget, the errors window qwen's no-error budget.
    assert!(e2e["test/llama"] < e2e["test/qwen"], "{e2e:?}");
    assert!(
        errors["test/qwen"] < 0.0 && errors["test/qwen"] < errors["test/llama"],
        "{errors:?}"
    );
    // TGI: 5 s lies between the boundaries 3.787… and 5.681…; the true share ≤ 5 s lies between their shares.
    let mistral = truth("test/mistral");
    let below = 1.0
        - (1.0 - budget_remaining(&prom, &slo_file, "tgi-e2e-below", end)["test/mistral"]) * 0.05;
    let above = 1.0
        - (1.0 - budget_remaining(&prom, &slo_file, "tgi-e2e-above", end)["test/mistral"]) * 0.05;
    let within = mistral.attainment.e2e_within_5s.unwrap();
    eprintln!("test/mistral: share ≤ 3.79 s {below:.6}, true share ≤ 5 s {within:.6}, share ≤ 5.68 s {above:.6}");
    assert!(
        below - ATTAINMENT_BOUND <= within && within <= above + ATTAINMENT_BOUND,
        "{below} ≤ {within} ≤ {above}"
    );
    let errors_tgi = errors["test/mistral"];
    let expected = 1.0 - (1.0 - mistral.attainment.without_error.unwrap()) / 0.001;
    assert!(
        (errors_tgi - expected).abs() <= ATTAINMENT_BOUND / 0.001,
        "TGI error budget {errors_tgi} vs truth {expected}"
    );

    // 5. The errors scenario fires InferenceErrorRatioHigh: backfill the recording rules over it.
    let window = report
        .timeline
        .iter()
        .find(|w| w.models == ["test/qwen"])
        .expect("errors window");
    let (from, to) = (window.start_unix - 3600, window.end_unix + 1800);
    promtool::run([
        "tsdb".to_string(),
        "create-blocks-from".into(),
        "rules".into(),
        format!("--url={}", prom.url()),
        format!("--start={from}"),
        format!("--end={to}"),
        "--eval-interval=60s".into(),
        format!("--output-dir={}", data.display()),
        recording.display().to_string(),
    ])
    .expect("promtool backfills the recording rules");
    drop(prom);
    let prom = Prometheus::builder()
        .data_dir(&data)
        .retention("400d")
        .start()
        .expect("prometheus restarts with the new blocks");
    let expr = rule_expr(&alerts, "alert", "InferenceErrorRatioHigh", None);
    let range = api(
        &prom,
        &format!(
            "/api/v1/query_range?query={}&start={from}&end={to}&step=60",
            infermon_testkit::http::encode(&expr)
        ),
    );
    let series = range["result"].as_array().unwrap();
    let models: Vec<&str> = series
        .iter()
        .map(|s| s["metric"]["model"].as_str().unwrap())
        .collect();
    assert_eq!(
        models,
        ["test/qwen"],
        "only the model in the errors scenario: {range}"
    );
    // `for: 5m`: the condition must hold at ≥ 6 consecutive 1-minute evaluations for the alert to fire.
    let ts: Vec<i64> = series[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v[0].as_f64().unwrap() as i64)
        .collect();
    let longest = ts
        .windows(2)
        .fold((1, 1), |(best, run), w| {
            let run = if w[1] - w[0] == 60 { run + 1 } else { 1 };
            (best.max(run), run)
        })
        .0;
    eprintln!("InferenceErrorRatioHigh condition held for {longest} consecutive minutes in the errors window");
    assert!(
        longest >= 6 + 60,
        "held {longest} min, the errors scenario lasts 3 h"
    );
    let inside = ts
        .iter()
        .all(|&t| t >= window.start_unix && t <= window.end_unix + 600);
    assert!(
        inside,
        "the condition holds only during the scenario (and the 5m rate window after it)"
    );
}
