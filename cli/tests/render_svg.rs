//! `infermon render` against a real Prometheus 2.42 holding one simulated hour of the default fleet (backfilled,
//! imported with promtool): one well-formed SVG per plugin-variant dashboard, every data panel drawn with its
//! title, time series as non-empty paths, stats and gauges with values, the fleet table with one row per
//! model, and the panels no server here can answer showing the plugin's notice instead of an empty chart.

use infermon_core::dashboards::{dashboards, Variant};
use infermon_core::rules::default_spec;
use infermon_sim::backfill::{self, BackfillOptions, Profile};
use infermon_sim::FleetConfig;
use infermon_testkit::{promtool, Prometheus};
use std::collections::BTreeMap;
use std::process::Command;

const END: i64 = 1_793_642_400;

#[test]
fn renders_every_panel_of_every_dashboard_from_real_query_results() {
    let dir = tempfile::tempdir().unwrap();
    let report = backfill::run(
        &FleetConfig::default_fleet(),
        &BackfillOptions {
            days: 1.5 / 24.0,
            interval_s: 15,
            profile: Profile::Full,
            end_unix: Some(END),
            out_dir: dir.path().join("om"),
            threads: 2,
        },
        &|_| {},
    )
    .unwrap();
    let data = dir.path().join("data");
    for f in &report.files {
        promtool::create_blocks_from_openmetrics(f, &data).unwrap();
    }
    let prom = Prometheus::builder()
        .data_dir(&data)
        .retention("100y")
        .start()
        .expect("prometheus starts");
    let out = dir.path().join("img");
    let run = Command::new(env!("CARGO_BIN_EXE_infermon"))
        .args(["render", "--prometheus-url", prom.url(), "--hours", "1"])
        .args(["--end", &END.to_string(), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");

    for d in dashboards(&default_spec())
        .unwrap()
        .iter()
        .filter(|d| d.variant == Variant::Plugin)
    {
        let path = out.join(format!("{}.svg", d.uid));
        let text = std::fs::read_to_string(&path).unwrap();
        let doc = roxmltree::Document::parse(&text)
            .unwrap_or_else(|e| panic!("{}: not well-formed: {e}", path.display()));
        let drawn: BTreeMap<String, roxmltree::Node> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("panel"))
            .map(|n| (n.attribute("data-title").unwrap().to_string(), n))
            .collect();
        let texts = |n: &roxmltree::Node| -> Vec<String> {
            n.descendants()
                .filter(|t| t.has_tag_name("text"))
                .filter_map(|t| t.text().map(str::to_string))
                .collect()
        };
        let mut messages = Vec::new();
        for p in d.json["panels"].as_array().unwrap() {
            let (title, kind) = (p["title"].as_str().unwrap(), p["type"].as_str().unwrap());
            if kind == "row" {
                continue;
            }
            let node = drawn
                .get(title)
                .unwrap_or_else(|| panic!("{}: panel {title:?} not drawn", d.uid));
            let words = texts(node);
            let lines = node
                .descendants()
                .filter(|n| n.has_tag_name("path") && n.attribute("stroke") != Some("none"))
                // A drawn series: a path of two points or more (`M x y l dx dy …`). (The 30-day burn-down holds
                // only the backfilled 1.5 h here, a few points at its right edge, as Grafana would show it.)
                .filter(|n| n.attribute("d").unwrap_or("").contains('l'))
                .count();
            let has_values = words.iter().any(|w| w.chars().any(|c| c.is_ascii_digit()));
            match kind {
                "timeseries" if lines > 0 => {}
                "stat" | "bargauge" | "table" if has_values => {}
                _ => messages.push((title.to_string(), words.join(" "))),
            }
        }
        // The only panels without data here must say why: nothing in this fleet does speculative decoding.
        match d.uid.as_str() {
            "infermon-model-detail" => {
                assert_eq!(messages.len(), 1, "{messages:#?}");
                assert_eq!(messages[0].0, "Speculative-decoding acceptance");
                assert!(
                    messages[0].1.contains("speculative decoding"),
                    "{messages:#?}"
                );
            }
            _ => assert!(messages.is_empty(), "{}: {messages:#?}", d.uid),
        }
        if d.uid == "infermon-overview" {
            let fleet = texts(&drawn["Fleet"]);
            for model in [
                "meta-llama/Llama-3.1-8B-Instruct",
                "Qwen/Qwen3-4B-Instruct-2507-FP8",
                "mistralai/Mistral-7B-Instruct-v0.3",
            ] {
                assert!(
                    fleet.iter().any(|t| t == model),
                    "fleet table lacks {model}: {fleet:?}"
                );
            }
            let ttft = texts(&drawn["Time to first token p50 / p95"]);
            assert!(
                ttft.iter().any(|t| t.ends_with(" ms")),
                "TTFT axis in ms: {ttft:?}"
            );
        }
    }
    eprintln!("{stderr}");
}
