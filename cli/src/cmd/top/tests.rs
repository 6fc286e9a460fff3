//! `infermon top` drawn from real query results: the simulator's default fleet scraped by a real Prometheus
//! (Debian 2.42) with a rule that fires for every model, rendered into ratatui's `TestBackend`.

use std::time::Duration;

use infermon_testkit::Prometheus;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::data::Source;
use super::view::{self, ViewState};
use infermon_core::PromDuration;

#[path = "../../../tests/common/mod.rs"]
mod common;

const RULE: &str = r#"groups:
- name: top-test
  rules:
  - alert: TopTestRunning
    expr: sum by (model) (label_replace(vllm:num_requests_running, "model", "$1", "model_name", "(.*)")) >= 0
    labels: { severity: critical }
    annotations: { summary: '{{ $labels.model }} is being watched' }
"#;

fn screen(state: &ViewState, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view::draw(f, state)).unwrap();
    let buf = t.backend().buffer().clone();
    (0..h)
        .map(|y| {
            (0..w)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn frames_from_a_real_prometheus_show_every_model_its_figures_and_the_firing_alert() {
    let live = common::scraped_default_fleet(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [top-test.rules.yml]\n",
        Prometheus::builder().rule_file("top-test.rules.yml", RULE),
    );
    let (prom, rt) = (&live.prom, &live.rt);
    let source = Source::new(
        prom.url(),
        PromDuration::from_secs(15),
        Duration::from_secs(5),
    )
    .unwrap();
    let mut state = ViewState::new(prom.url(), Duration::from_secs(1), false);
    let models = live.models();
    // Wait until every model has a request rate and the alert fires (a few scrapes).
    let ok = infermon_testkit::wait_until(Duration::from_secs(60), || {
        state.update(rt.block_on(source.fetch()));
        let s = &state.snapshot;
        let done = s.rows.len() == models.len()
            && s.rows
                .iter()
                .all(|r| r.get("request_rate").is_some_and(|v| v > 0.0))
            && s.alerts.iter().filter(|a| a.state == "firing").count() == 2;
        if done {
            Ok(())
        } else {
            Err(format!("{} rows, {} alerts", s.rows.len(), s.alerts.len()))
        }
    });
    assert!(ok.is_ok(), "snapshot never complete: {:?}", state.snapshot);
    assert!(
        state.snapshot.errors.is_empty(),
        "{:?}",
        state.snapshot.errors
    );

    // Wide terminal: every column, every model, values as the snapshot has them, the alert at the bottom.
    let wide = screen(&state, 160, 30);
    println!("{wide}");
    for h in [
        "MODEL",
        "REQ/S",
        "TOK/S",
        "TTFT p95",
        "ITL p95",
        "QUEUE",
        "KV CACHE",
        "PREEMPT/S",
        "ERRORS",
        "BUDGET",
        "TOK/S TREND",
    ] {
        assert!(wide.contains(h), "header {h} missing:\n{wide}");
    }
    for r in &state.snapshot.rows {
        let line = wide
            .lines()
            .find(|l| l.starts_with(&r.model))
            .unwrap_or_else(|| panic!("row for {}:\n{wide}", r.model));
        let rate = view::cell_text("reqps", r.get("request_rate"));
        assert!(line.contains(&rate), "{line} should show req/s {rate}");
        let kv = view::bar(r.get("kv_cache_usage"), 15, false);
        assert!(line.contains(&kv), "{line} should show the KV bar {kv}");
    }
    assert!(wide.contains("Alerts: 2 firing, 0 pending"), "{wide}");
    assert!(wide.contains("FIRING critical TopTestRunning"), "{wide}");
    assert!(wide.contains("is being watched"), "{wide}");

    // Sorted by request rate (default): the busiest model first; `m` sorts by name.
    let first = |s: &str| {
        s.lines()
            .find(|l| models.iter().any(|m| l.starts_with(m.as_str())))
            .unwrap()
            .to_string()
    };
    let busiest = state.sorted_rows()[0].model.clone();
    assert!(first(&wide).starts_with(&busiest));
    state.key('m');
    let by_name = screen(&state, 160, 30);
    let mut sorted = models.clone();
    sorted.sort();
    assert!(first(&by_name).starts_with(&sorted[0]), "{by_name}");

    // Narrow terminal (SSH on a phone): no wrapping, the least important columns go, the essentials stay.
    let narrow = screen(&state, 60, 20);
    println!("{narrow}");
    assert!(narrow.lines().all(|l| l.chars().count() <= 60));
    for h in ["MODEL", "REQ/S", "TTFT p95", "KV CACHE"] {
        assert!(narrow.contains(h), "narrow view keeps {h}:\n{narrow}");
    }
    assert!(
        !narrow.contains("PREEMPT/S") && !narrow.contains("TREND"),
        "{narrow}"
    );
    assert!(narrow.contains("Alerts: 2 firing"), "{narrow}");
    live.stop();
}
