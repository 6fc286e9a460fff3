//! Benchmark (prints figures; not a timed test): samples Prometheus touches to load a dashboard once —
//! the sum of `stats.samples.totalQueryableSamples` (`stats=all`) over all its queries, as range queries over 6 h —
//! with infermon's recording rules present vs absent, on the same backfilled data.
//!
//! Data: the simulator's default fleet backfilled for 8 h (`infermon sim backfill`, profile `full`, 15 s), imported
//! with `promtool tsdb create-blocks-from openmetrics`; then infermon's recording and SLO rules are backfilled with
//! `promtool tsdb create-blocks-from rules` (SLI records first, then the budget record that reads them), and
//! Prometheus 2.42 is restarted on the combined blocks.
//!
//! Figures:
//! - raw: every overview target translated by core without recording rules (what the plugin runs when the rules
//!   are absent);
//! - recorded (Prometheus-only variant): the generated expressions, which read recorded series only;
//! - plugin with rules: core's translation with `recording_rules: true` (SLO panels name their SLO, so they read
//!   its recorded error ratios).
//!
//! Both the Inference overview and the SLOs and error budgets dashboard are measured.
//!
//! Run: `cargo run --release -p infermon-cli --example dashboards_samples`

use infermon_core::dashboards::{dashboards, Dashboard, Variant};
use infermon_core::query::Query;
use infermon_core::rules::alerts::AlertOptions;
use infermon_core::rules::{default_spec, Rule};
use infermon_core::translate::{translate, Context};
use infermon_sim::backfill::{self, BackfillOptions, Profile};
use infermon_sim::FleetConfig;
use infermon_testkit::Prometheus;
use serde_json::Value;
use std::path::{Path, PathBuf};

const RANGE_S: i64 = 6 * 3600;
const STEP_S: i64 = 30;

/// Runs a range query with `stats=all`; returns (series, totalQueryableSamples).
fn samples(url: &str, expr: &str, start: i64, end: i64) -> (usize, u64) {
    let body = format!(
        "query={}&start={start}&end={end}&step={STEP_S}&stats=all",
        infermon_testkit::http::encode(expr)
    );
    let resp = infermon_testkit::http::post(
        &format!("{url}/api/v1/query_range"),
        "application/x-www-form-urlencoded",
        body.as_bytes(),
    )
    .unwrap();
    let j: Value = serde_json::from_str(&resp.text()).unwrap();
    assert_eq!(j["status"], "success", "{expr}: {j}");
    (
        j["data"]["result"].as_array().map_or(0, |a| a.len()),
        j["data"]["stats"]["samples"]["totalQueryableSamples"]
            .as_u64()
            .unwrap_or(0),
    )
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("infermon-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn move_blocks(from: &Path, to: &Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().join("meta.json").exists() {
            std::fs::rename(e.path(), to.join(e.file_name())).unwrap();
            n += 1;
        }
    }
    n
}

fn backfill_rules(prom: &Prometheus, rules: &Path, out: &Path, start: i64, end: i64) {
    let _ = infermon_testkit::promtool::run([
        "tsdb".to_string(),
        "create-blocks-from".into(),
        "rules".into(),
        format!("--start={start}"),
        format!("--end={end}"),
        format!("--url={}", prom.url()),
        format!("--output-dir={}", out.display()),
        "--eval-interval=30s".into(),
        rules.display().to_string(),
    ])
    .unwrap_or_else(|e| panic!("promtool rules backfill: {e}"));
}

fn board<'a>(all: &'a [Dashboard], variant: Variant, name: &str) -> &'a Dashboard {
    all.iter()
        .find(|d| d.variant == variant && d.uid.ends_with(name))
        .unwrap()
}

fn targets(d: &Dashboard) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for p in d.json["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().into_iter().flatten() {
            out.push((p["title"].as_str().unwrap().to_string(), t.clone()));
        }
    }
    out
}

fn main() {
    let t0 = std::time::Instant::now();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let end = now - 1800 - (now - 1800).rem_euclid(15);
    let om = tmpdir("om");
    let data = tmpdir("data");
    let cfg = FleetConfig::default_fleet();
    let opts = BackfillOptions {
        days: 8.0 / 24.0,
        interval_s: 15,
        profile: Profile::Full,
        end_unix: Some(end),
        out_dir: om.clone(),
        threads: 2,
    };
    let report = backfill::run(&cfg, &opts, &|_| {}).expect("backfill");
    backfill::import_with_promtool(Path::new("promtool"), &report, &data).expect("promtool import");
    eprintln!(
        "backfilled 8 h of the default fleet in {:.0?}",
        t0.elapsed()
    );

    // Rule files: recording + SLO SLIs first; then the budget records, which read the SLI records.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/prometheus");
    let spec = default_spec();
    let slo = infermon_core::rules::slo::slo_rules(&spec, &AlertOptions::default()).unwrap();
    let mut sli = slo.clone();
    sli.groups.retain(|g| g.name.ends_with("-sli"));
    let mut budget = slo;
    budget.groups.retain(|g| g.name.ends_with("-alerts"));
    for g in &mut budget.groups {
        g.rules.retain(|r| matches!(r, Rule::Record { .. }));
    }
    let rules_dir = tmpdir("rules");
    std::fs::write(rules_dir.join("sli.yml"), sli.to_yaml()).unwrap();
    std::fs::write(rules_dir.join("budget.yml"), budget.to_yaml()).unwrap();
    let start = end - RANGE_S - 3600;
    for (i, files) in [
        vec![
            root.join("infermon-recording.rules.yml"),
            rules_dir.join("sli.yml"),
        ],
        vec![rules_dir.join("budget.yml")],
    ]
    .iter()
    .enumerate()
    {
        let prom = Prometheus::builder()
            .data_dir(&data)
            .retention("400d")
            .start()
            .expect("prometheus starts");
        for f in files {
            let out = tmpdir(&format!("blocks{i}"));
            backfill_rules(&prom, f, &out, start, end);
            let n = move_blocks(&out, &data);
            eprintln!("rules backfill {}: {n} block(s)", f.display());
        }
        drop(prom);
    }
    eprintln!("rules backfilled after {:.0?}", t0.elapsed());

    let prom = Prometheus::builder()
        .data_dir(&data)
        .retention("400d")
        .start()
        .expect("prometheus starts");
    let all = dashboards(&spec).unwrap();
    let (qs, qe) = (end - RANGE_S, end);
    let rate_window = format!("{}s", (4 * 15).max(STEP_S + 15));
    let raw_ctx = Context {
        rate_window: rate_window.parse().unwrap(),
        ..Context::default()
    };
    let rec_ctx = Context {
        recording_rules: true,
        ..raw_ctx.clone()
    };
    for name in ["overview", "slos"] {
        let plugin = board(&all, Variant::Plugin, name);
        let mut total = [0u64; 3];
        let mut empty = [0usize; 3];
        println!(
            "{:<44} {:>12} {:>12} {:>12}",
            format!("panel ({name})"),
            "raw",
            "plugin+rules",
            "prom-only"
        );
        let prom_targets = targets(board(&all, Variant::Prometheus, name));
        for (title, t) in targets(plugin) {
            let q = Query::from_json(&{
                let mut t = t.clone();
                t["models"] = serde_json::json!([]);
                t["namespaces"] = serde_json::json!([]);
                t
            })
            .unwrap();
            let mut row = [0u64; 3];
            for (k, ctx) in [&raw_ctx, &rec_ctx].into_iter().enumerate() {
                for target in translate(&q, ctx).unwrap().targets {
                    let (series, s) = samples(prom.url(), &target.expr, qs, qe);
                    row[k] += s;
                    empty[k] += usize::from(series == 0);
                }
            }
            // The same panel in the Prometheus-only variant: the target with the same title and refId, and for
            // the fleet table also its other columns (one target per column there).
            for (_, ptarget) in prom_targets
                .iter()
                .filter(|(pt, pq)| *pt == title && (pq["refId"] == t["refId"] || title == "Fleet"))
            {
                let expr = ptarget["expr"]
                    .as_str()
                    .unwrap()
                    .replace("$model", ".*")
                    .replace("$namespace", ".*");
                let (series, s) = samples(prom.url(), &expr, qs, qe);
                row[2] += s;
                empty[2] += usize::from(series == 0);
            }
            println!(
                "{:<44} {:>12} {:>12} {:>12}",
                format!("{title} [{}]", t["refId"].as_str().unwrap()),
                row[0],
                row[1],
                row[2]
            );
            for k in 0..3 {
                total[k] += row[k];
            }
        }
        println!(
            "\nTOTAL samples to load the {name} once (6 h, step {STEP_S}s): raw {} | plugin with rules {} ({:.2} % of raw) | Prometheus-only variant on recorded series {} ({:.2} % of raw; target ≤ 2 %)",
            total[0],
            total[1],
            100.0 * total[1] as f64 / total[0] as f64,
            total[2],
            100.0 * total[2] as f64 / total[0] as f64
        );
        println!(
            "queries returning no series: raw {}, plugin+rules {}, prom-only {}",
            empty[0], empty[1], empty[2]
        );
    }
    eprintln!("done in {:.0?}", t0.elapsed());
    drop(prom);
    for d in [&om, &data, &rules_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}
