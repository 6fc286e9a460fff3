//! Starts each real component, exercises its lifecycle API and checks that no process is left after drop.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use infermon_testkit::openmetrics::{MetricType, Writer};
use infermon_testkit::{
    http, promtool, wait_until, Alertmanager, Prometheus, PromtoolError, VictoriaMetrics,
};

/// A reaped child disappears from /proc.
fn assert_gone(pid: u32) {
    wait_until(Duration::from_secs(10), || {
        if Path::new(&format!("/proc/{pid}")).exists() {
            Err(format!("pid {pid} still exists"))
        } else {
            Ok(())
        }
    })
    .expect("process is gone after drop");
}

fn assert_alive(pid: u32) {
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} should be running"
    );
}

fn get_ok(url: &str) -> String {
    let r = http::get(url).unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(r.status, 200, "GET {url}: {}", r.text());
    r.text()
}

#[test]
fn prometheus_starts_scrapes_itself_reloads_and_stops() {
    let prom = Prometheus::builder()
        .scrape_interval("1s")
        .evaluation_interval("1s")
        .rule_file(
            "rules.yml",
            "groups:\n  - name: t\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up)\n",
        )
        .start()
        .expect("prometheus starts");
    let pid = prom.pid();
    assert_alive(pid);
    assert!(prom.url().starts_with("http://127.0.0.1:"));
    // Scrape itself after a config change + reload.
    let cfg = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [rules.yml]\n\
         scrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['{}']\n",
        prom.address()
    );
    prom.set_config(&cfg).expect("reload with valid config");
    let recorded = prom
        .wait_for_result(r#"job:up:sum{job="self"}"#, Duration::from_secs(20))
        .expect("recording rule over the self-scrape produces a series");
    assert_eq!(recorded[0]["value"][1], "1", "{recorded}");

    // An invalid config is rejected by reload, with Prometheus' message.
    prom.write_file("prometheus.yml", "scrape_configs: [[[")
        .unwrap();
    let err = prom
        .reload()
        .expect_err("invalid config must fail to reload");
    assert!(err.to_string().contains("/-/reload"), "{err}");
    assert!(prom.logs().contains("Server is ready"), "log is captured");

    drop(prom);
    assert_gone(pid);
}

#[test]
fn prometheus_query_helpers_wait_fail_with_the_last_answer_and_count_queries() {
    let prom = Prometheus::builder().start().expect("prometheus starts");
    // A constant expression answers at once, with its value.
    let r = prom
        .wait_for_result("vector(42)", Duration::from_secs(5))
        .unwrap();
    assert_eq!(r[0]["value"][1], "42", "{r}");
    let rs = prom
        .wait_for_results(&["vector(1)", "vector(2)"], Duration::from_secs(5))
        .unwrap();
    assert_eq!(
        (rs[0][0]["value"][1].as_str(), rs[1][0]["value"][1].as_str()),
        (Some("1"), Some("2"))
    );

    // A series that never appears: the error names the query (the first one still empty) and shows the answer.
    let err = prom
        .wait_for_results(&["vector(1)", "no_such_series"], Duration::from_millis(300))
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("\"no_such_series\""), "{msg}");
    assert!(msg.contains(r#""result":[]"#), "last answer shown: {msg}");
    assert!(
        matches!(err, infermon_testkit::Error::NoResult { attempts, .. } if attempts >= 2),
        "{msg}"
    );

    // An invalid expression fails at once with Prometheus' message instead of waiting out the timeout.
    let t0 = std::time::Instant::now();
    let err = prom
        .wait_for_result("sum(", Duration::from_secs(30))
        .unwrap_err();
    assert!(
        matches!(err, infermon_testkit::Error::BadQuery { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("parse error"), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());

    // Every /api/v1/query request is counted (whatever its status), other handlers are not.
    let before = prom.query_requests_served().unwrap();
    get_ok(&format!("{}/api/v1/query?query=up", prom.url()));
    let _ = http::get(&format!("{}/api/v1/query?query=sum(", prom.url())).unwrap();
    get_ok(&format!(
        "{}/api/v1/query_range?query=up&start=0&end=1&step=1",
        prom.url()
    ));
    assert_eq!(prom.query_requests_served().unwrap() - before, 2.0);
    assert!(infermon_testkit::prometheus::query_requests_served("http://127.0.0.1:1").is_err());
}

#[test]
fn prometheus_stop_returns_status_and_early_exit_is_reported() {
    let prom = Prometheus::builder().start().unwrap();
    let pid = prom.pid();
    let status = prom.stop().expect("exit status");
    assert!(status.success() || status.code().is_none(), "{status}");
    assert_gone(pid);

    let err = Prometheus::builder()
        .flag("--no-such-flag")
        .start()
        .expect_err("bad flag makes prometheus exit");
    let msg = err.to_string();
    assert!(msg.contains("exited during start-up"), "{msg}");
    assert!(msg.contains("no-such-flag"), "log tail is included: {msg}");
}

#[test]
fn prometheus_panic_in_test_still_stops_process() {
    let pid = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let p2 = pid.clone();
    let joined = std::thread::spawn(move || {
        let prom = Prometheus::builder().start().unwrap();
        p2.store(prom.pid(), std::sync::atomic::Ordering::SeqCst);
        panic!("simulated test failure");
    })
    .join();
    assert!(joined.is_err());
    assert_gone(pid.load(std::sync::atomic::Ordering::SeqCst));
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn promtool_backfill_feeds_prometheus_and_reports_errors() {
    let dir = tempfile::tempdir().unwrap();
    // One sample a day for 30 days, ending one hour ago. promtool 2.42 writes one block per 2 h window that has
    // data, so daily samples keep this at 31 blocks (hourly data would be 361 blocks and take ~25-50 s); the
    // default 15-day retention would drop half of them.
    let end = (now_ms() / 3_600_000 - 1) * 3_600_000;
    let start = end - 30 * 24 * 3_600_000;
    let mut w = Writer::new();
    {
        let mut f = w.family("backfill_test", MetricType::Gauge, "test");
        let mut t = start;
        while t <= end {
            f.sample(&[("model", "m1")], ((t - start) / 86_400_000) as f64, t);
            t += 86_400_000;
        }
    }
    let input = dir.path().join("data.om");
    std::fs::write(&input, w.to_openmetrics()).unwrap();
    let tsdb = dir.path().join("tsdb");
    promtool::create_blocks_from_openmetrics(&input, &tsdb).expect("backfill succeeds");

    let prom = Prometheus::builder().data_dir(&tsdb).start().unwrap();
    let url = format!(
        "{}/api/v1/query?query=count_over_time(backfill_test[31d])&time={}",
        prom.url(),
        end / 1000
    );
    let body = get_ok(&url);
    assert!(
        body.contains("\"31\""),
        "30 days of daily samples are all kept (retention): {body}"
    );

    std::fs::write(dir.path().join("bad.om"), "not openmetrics\n").unwrap();
    match promtool::create_blocks_from_openmetrics(dir.path().join("bad.om"), dir.path().join("t2"))
    {
        Err(PromtoolError::Failed { stderr, stdout, .. }) => {
            assert!(!(stderr.is_empty() && stdout.is_empty()))
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[test]
fn promtool_checks_and_tests_rules() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: g\n    rules:\n      - alert: Down\n        expr: up == 0\n        for: 1m\n",
    )
    .unwrap();
    promtool::check_rules(&[&rules]).expect("valid rules pass");

    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "groups:\n  - name: g\n    rules:\n      - record: x\n        expr: sum(\n",
    )
    .unwrap();
    let err = promtool::check_rules(&[&bad]).expect_err("invalid PromQL fails");
    assert!(err.to_string().contains("bad.yml"), "{err}");

    let test = dir.path().join("test.yml");
    std::fs::write(
        &test,
        "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n      \
         - series: 'up{job=\"a\"}'\n        values: '0x5'\n    alert_rule_test:\n      - eval_time: 3m\n        \
         alertname: Down\n        exp_alerts:\n          - exp_labels: {job: a}\n",
    )
    .unwrap();
    promtool::test_rules(&[&test]).expect("rule unit test passes");

    let failing = dir.path().join("failing.yml");
    std::fs::write(
        &failing,
        "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n      \
         - series: 'up{job=\"a\"}'\n        values: '1x5'\n    alert_rule_test:\n      - eval_time: 3m\n        \
         alertname: Down\n        exp_alerts:\n          - exp_labels: {job: a}\n",
    )
    .unwrap();
    match promtool::test_rules(&[&failing]) {
        Err(PromtoolError::Failed { stdout, stderr, .. }) => {
            let out = format!("{stdout}{stderr}");
            assert!(out.contains("Down"), "{out}");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[test]
fn victoria_metrics_imports_and_answers() {
    let vm = VictoriaMetrics::builder().start().expect("vm starts");
    let pid = vm.pid();
    let t = now_ms() - 60_000;
    let mut w = Writer::new();
    w.family("vm_test", MetricType::Gauge, "t")
        .sample(&[("model", "a")], 7.0, t);
    vm.import_prometheus(&w.to_prometheus_ms()).expect("import");
    let url = format!(
        "{}/api/v1/query?query=vm_test&time={}",
        vm.url(),
        t / 1000 + 1
    );
    let body = get_ok(&url);
    assert!(body.contains("\"7\""), "{body}");
    assert!(body.contains("\"model\":\"a\""), "{body}");
    drop(vm);
    assert_gone(pid);
}

#[test]
fn alertmanager_single_and_ha_pair() {
    let am = Alertmanager::builder()
        .start()
        .expect("alertmanager starts");
    let pid = am.pid();
    assert!(am.cluster_address().is_none());
    assert_eq!(am.cluster_peers().unwrap(), 0);
    let r = http::post(
        &format!("{}/api/v2/alerts", am.url()),
        "application/json",
        br#"[{"labels":{"alertname":"TestAlert","severity":"page"}}]"#,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let alerts = get_ok(&format!("{}/api/v2/alerts", am.url()));
    assert!(alerts.contains("TestAlert"), "{alerts}");
    am.reload().expect("reload");
    drop(am);
    assert_gone(pid);

    let (a, b) =
        Alertmanager::ha_pair(infermon_testkit::alertmanager::DEFAULT_CONFIG).expect("HA pair");
    let (pa, pb) = (a.pid(), b.pid());
    // A silence created on one instance is gossiped to the other.
    let r = http::post(
        &format!("{}/api/v2/silences", a.url()),
        "application/json",
        br#"{"matchers":[{"name":"alertname","value":"X","isRegex":false}],"startsAt":"2020-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z","createdBy":"t","comment":"c"}"#,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    wait_until(Duration::from_secs(20), || {
        let s = get_ok(&format!("{}/api/v2/silences", b.url()));
        if s.contains("\"alertname\"") {
            Ok(())
        } else {
            Err(s)
        }
    })
    .expect("silence replicated to the peer");
    drop(a);
    drop(b);
    assert_gone(pa);
    assert_gone(pb);
}

#[test]
fn prometheus_sends_alerts_to_alertmanager() {
    let am = Alertmanager::builder().start().unwrap();
    let prom = Prometheus::builder()
        .evaluation_interval("1s")
        .rule_file(
            "alerts.yml",
            "groups:\n  - name: g\n    rules:\n      - alert: TestkitAlwaysFiring\n        expr: vector(1)\n        labels: {severity: page}\n",
        )
        .alertmanager(am.url())
        .start()
        .unwrap();
    wait_until(Duration::from_secs(30), || {
        let alerts = get_ok(&format!("{}/api/v2/alerts", am.url()));
        if alerts.contains("TestkitAlwaysFiring") {
            Ok(())
        } else {
            Err(alerts)
        }
    })
    .unwrap_or_else(|e| {
        panic!(
            "the generated alerting config delivers alerts: {e}\nprometheus log:\n{}\nalertmanager log:\n{}",
            prom.logs(),
            am.logs()
        )
    });
    drop(prom);
}

#[test]
fn victoria_metrics_scrapes_with_promscrape_config() {
    // Something to scrape: a Prometheus' own /metrics.
    let prom = Prometheus::builder().start().unwrap();
    let vm = VictoriaMetrics::builder()
        .scrape_config_yaml(format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: prom\n    static_configs:\n      - targets: ['{}']\n",
            prom.address()
        ))
        .start()
        .unwrap();
    let url = format!("{}/api/v1/query?query=up%7Bjob%3D%22prom%22%7D", vm.url());
    wait_until(Duration::from_secs(30), || {
        vm.flush().map_err(|e| e.to_string())?;
        let body = get_ok(&url);
        if body.contains("\"job\":\"prom\"") && body.contains("\"1\"]") {
            Ok(())
        } else {
            Err(body)
        }
    })
    .unwrap_or_else(|e| panic!("VictoriaMetrics scraped the target: {e}\n{}", vm.logs()));
}

#[test]
fn prometheus_verbatim_config_and_alertmanager_set_config() {
    let prom = Prometheus::builder()
        .config_yaml("global:\n  external_labels: {cluster: testkit}\nscrape_configs: []\n")
        .start()
        .unwrap();
    let cfg = get_ok(&format!("{}/api/v1/status/config", prom.url()));
    assert!(cfg.contains("cluster: testkit"), "{cfg}");

    let am = Alertmanager::builder().start().unwrap();
    am.set_config(
        "route:\n  receiver: hook\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: http://127.0.0.1:9/hook\n",
    )
    .expect("valid config reloads");
    let status = get_ok(&format!("{}/api/v2/status", am.url()));
    assert!(status.contains("127.0.0.1:9/hook"), "{status}");
    let err = am
        .set_config("route: [")
        .expect_err("invalid config is refused");
    assert!(err.to_string().contains("/-/reload"), "{err}");
}
