//! kill -9 of the real binary while notifications are being accepted and delivered: after a restart every
//! acknowledged notification is delivered, and duplicates stay within the at-least-once bound (deliveries that
//! were in flight at the kill: at most 16 per receiver).

mod common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

fn spawn(config: &std::path::Path, data: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_infermon-webhook"))
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start infermon-webhook")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_notification() {
    // A slow destination, so deliveries are pending and in flight when the process dies.
    let hook = Stub::start(
        "hook",
        Answer {
            status: 200,
            headers: vec![],
            body: String::new(),
            delay: Duration::from_millis(50),
        },
        None,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.yaml");
    std::fs::write(
        &cfg,
        format!("retry: {{initial_backoff: 100ms, max_backoff: 500ms}}\nenrichment: {{enabled: false}}\nreceivers:\n  - name: hook\n    webhook: {{url: \"{}\"}}\n", hook.url("/hook")),
    )
    .unwrap();
    let data = dir.path().join("data");
    let port = infermon_testkit::free_port();
    let mut child = spawn(&cfg, &data, port);
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&format!("{base}/readyz"), Duration::from_secs(20)).await;

    // Post 300 distinct groups, 8 at a time, and kill -9 in the middle.
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut posters = vec![];
    for w in 0..8 {
        let acked = acked.clone();
        let url = format!("{base}/api/v1/alerts");
        posters.push(tokio::spawn(async move {
            let c = reqwest::Client::new();
            for i in (w..300).step_by(8) {
                let g = format!("Crash{i}");
                match c
                    .post(&url)
                    .body(notification(&g, 2, "m", "firing"))
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => acked.lock().unwrap().push(g),
                    _ => return,
                }
            }
        }));
    }
    let t0 = Instant::now();
    while acked.lock().unwrap().len() < 120 {
        assert!(t0.elapsed() < Duration::from_secs(30), "service too slow");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for p in posters {
        let _ = p.await;
    }
    let acked = acked.lock().unwrap().clone();
    let before_restart = hook.count();
    assert!(
        before_restart < acked.len(),
        "some acknowledged notifications were still pending at the kill"
    );

    let mut child = spawn(&cfg, &data, port);
    wait_ready(&format!("{base}/readyz"), Duration::from_secs(20)).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let per_group = loop {
        let mut per_group: HashMap<String, usize> = HashMap::new();
        for r in hook.requests() {
            let g = r.json()["notification"]["group_labels"]["alertname"]
                .as_str()
                .unwrap()
                .to_string();
            *per_group.entry(g).or_default() += 1;
        }
        if acked.iter().all(|g| per_group.contains_key(g)) {
            break per_group;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {} acknowledged groups delivered",
            acked.iter().filter(|g| per_group.contains_key(*g)).count(),
            acked.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let duplicates: usize = per_group.values().map(|n| n - 1).sum();
    assert!(
        duplicates <= 16,
        "{duplicates} duplicates exceed the in-flight bound"
    );
    eprintln!(
        "acked {}, delivered before kill {before_restart}, duplicates after restart {duplicates}",
        acked.len()
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn runs_with_no_config_and_prints_what_it_uses_and_rejects_bad_config() {
    let dir = tempfile::tempdir().unwrap();
    let port = infermon_testkit::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_infermon-webhook"))
        .current_dir(dir.path())
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while infermon_testkit::http::get(&format!("http://127.0.0.1:{port}/readyz"))
        .map(|r| r.status)
        .ok()
        != Some(200)
    {
        assert!(Instant::now() < deadline, "not ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        dir.path().join("data/outbox.db").exists(),
        "default data dir ./data"
    );
    // SIGTERM: graceful stop, exit code 0.
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{status:?} {err}");
    for needle in [
        "using embedded defaults",
        "data dir:        ./data",
        "prometheus:      http://localhost:9090",
        "log (log)",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in banner:\n{err}");
    }
    // A bad config is refused with the field and line, exit code 2.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "retry:\n  max_agee: 1h\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_infermon-webhook"))
        .arg("--config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let msg = String::from_utf8_lossy(&out.stderr);
    assert!(msg.contains("max_agee") && msg.contains("line 2"), "{msg}");
}
