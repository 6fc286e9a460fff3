//! `infermon demo --no-tui` end to end, with the real Debian Prometheus and Alertmanager: every process comes
//! up, Prometheus scrapes every simulated replica and loaded infermon's rules, the scripted `errors` scenario
//! makes the SLO page alert fire, its notification reaches the webhook enriched with live figures (the error
//! ratio of the affected model is the one the scenario produces), and after SIGTERM no process of the demo is
//! left. A second test checks `--duration` (clean stop, exit 0) and a third a bad flag.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn demo(args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_infermon"))
        .arg("demo")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("infermon demo starts");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("demo| {line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Lines until one matches `pred` (all lines seen are appended to `seen`).
fn wait_line(
    rx: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    timeout: Duration,
    pred: impl Fn(&str) -> bool,
) -> Option<String> {
    let deadline = Instant::now() + timeout;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(l) => {
                seen.push(l.clone());
                if pred(&l) {
                    return Some(l);
                }
            }
            Err(_) => return None,
        }
    }
    None
}

fn get_json(url: &str) -> serde_json::Value {
    let out = Command::new("curl")
        .args(["-sf", "--max-time", "5", url])
        .output()
        .expect("curl runs");
    assert!(out.status.success(), "GET {url} failed");
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn alive(pid: u32) -> bool {
    // A zombie is not a running process: it is reaped by its parent (the demo) or by init.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

fn pids_of(banner: &[String]) -> Vec<(String, u32)> {
    let line = banner
        .iter()
        .find(|l| l.trim_start().starts_with("pids"))
        .expect("pids line");
    line.split_whitespace()
        .skip(1)
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("name=pid");
            (k.to_string(), v.parse().expect("pid"))
        })
        .collect()
}

fn term(child: &Child) {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
}

fn wait_exit(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the demo did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn demo_fires_an_enriched_alert_and_leaves_no_process_after_sigterm() {
    let data = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let (mut child, rx) = demo(&[
        "--no-tui",
        "--duration",
        "6m",
        "--scenario-after",
        "5s",
        "--data",
        data.path().to_str().unwrap(),
    ]);
    let mut seen = Vec::new();
    wait_line(&rx, &mut seen, Duration::from_secs(60), |l| {
        l.starts_with("scenario:")
    })
    .expect("banner printed");
    let pids = pids_of(&seen);
    let names: Vec<&str> = pids.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["alertmanager", "prometheus", "webhook"]);
    for (name, pid) in &pids {
        assert!(alive(*pid), "{name} (pid {pid}) is running");
    }
    let prom = seen
        .iter()
        .find_map(|l| {
            l.trim_start()
                .strip_prefix("Prometheus")
                .map(|r| r.split_whitespace().next().unwrap().to_string())
        })
        .expect("Prometheus URL");

    // Every simulated replica is a target that is up.
    let replicas = infermon_sim::FleetConfig::default_fleet().replicas().len();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let t = get_json(&format!("{prom}/api/v1/targets?state=active"));
        let targets = t["data"]["activeTargets"].as_array().unwrap().clone();
        let up = targets.iter().filter(|t| t["health"] == "up").count();
        if up == replicas && targets.len() == replicas {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{up}/{} targets up, want {replicas}",
            targets.len()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // infermon's rules are loaded and healthy.
    let rules = get_json(&format!("{prom}/api/v1/rules"));
    let groups = rules["data"]["groups"].as_array().unwrap();
    let group_names: Vec<&str> = groups.iter().map(|g| g["name"].as_str().unwrap()).collect();
    for want in [
        "infermon-recording",
        "infermon-alerts",
        "infermon-slo-errors-alerts",
    ] {
        assert!(
            group_names.contains(&want),
            "rule group {want} loaded: {group_names:?}"
        );
    }
    let rule_count: usize = groups
        .iter()
        .map(|g| g["rules"].as_array().unwrap().len())
        .sum();
    assert!(rule_count > 50, "{rule_count} rules");
    std::thread::sleep(Duration::from_secs(6)); // one evaluation
    let rules = get_json(&format!("{prom}/api/v1/rules"));
    for g in rules["data"]["groups"].as_array().unwrap() {
        for r in g["rules"].as_array().unwrap() {
            assert_ne!(
                r["health"], "err",
                "rule {} failed: {}",
                r["name"], r["lastError"]
            );
        }
    }

    // The SLO page alert fires and reaches the webhook, enriched.
    let line = wait_line(&rx, &mut seen, Duration::from_secs(210), |l| {
        l.contains("webhook notification [FIRING")
            && l.contains("InferenceSLOErrorBudgetBurn")
            && l.contains("enriched (")
    })
    .unwrap_or_else(|| {
        panic!(
            "no enriched notification within {:?}; output:\n{}",
            t0.elapsed(),
            seen.join("\n")
        )
    });
    println!(
        "first enriched alert after {:.0} s: {line}",
        t0.elapsed().as_secs_f64()
    );
    assert!(line.contains("meta-llama/Llama-3.1-8B-Instruct"), "{line}");
    let jsonl = std::fs::read_to_string(data.path().join("notifications.jsonl")).unwrap();
    let n: serde_json::Value = jsonl
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|n| {
            n["status"] == "firing"
                && n["title"]
                    .as_str()
                    .unwrap()
                    .contains("InferenceSLOErrorBudgetBurn")
        })
        .expect("the firing notification is in the webhook's log");
    assert_eq!(n["context"]["status"], "ok", "{n}");
    let models = n["context"]["models"].as_array().unwrap();
    let llama = models
        .iter()
        .find(|m| m["model"] == "meta-llama/Llama-3.1-8B-Instruct")
        .expect("context for the alerting model");
    let err = llama["figures"]["error_ratio"]
        .as_f64()
        .expect("error ratio figure");
    // The scenario makes 25 % of requests fail (plus the configured 0.1 %); a 1-minute-ish window is noisy.
    assert!(
        (0.08..=0.5).contains(&err),
        "error ratio in the context: {err}"
    );
    assert!(llama["figures"]["queue_depth"].is_number(), "{llama}");
    assert!(n["context"]["promql_queries"].as_u64().unwrap() > 0);

    // SIGTERM: the demo stops everything and exits 0; no process of it remains.
    term(&child);
    let status = wait_exit(&mut child, Duration::from_secs(60));
    assert!(status.success(), "demo exit status {status}");
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(1)) {
        seen.push(l);
    }
    for name in ["prometheus", "alertmanager", "webhook"] {
        assert!(
            seen.iter()
                .any(|l| l.contains(&format!("infermon demo: {name} stopped"))),
            "{name} stopped cleanly; output:\n{}",
            seen.join("\n")
        );
    }
    for (name, pid) in &pids {
        assert!(
            !alive(*pid),
            "{name} (pid {pid}) still running after the demo exited"
        );
    }
    println!("demo e2e: {:.0} s", t0.elapsed().as_secs_f64());
}

#[test]
fn duration_stops_cleanly_with_exit_0() {
    let (mut child, rx) = demo(&["--no-tui", "--duration", "5s", "--scenario", "steady"]);
    let status = wait_exit(&mut child, Duration::from_secs(90));
    let lines: Vec<String> = rx.try_iter().collect();
    assert!(
        status.success(),
        "exit status {status}; output:\n{}",
        lines.join("\n")
    );
    let pids = pids_of(&lines);
    assert_eq!(pids.len(), 3);
    for (name, pid) in &pids {
        assert!(!alive(*pid), "{name} (pid {pid}) still running");
    }
    assert!(
        lines.iter().any(|l| l.contains("temporary data removed")),
        "{}",
        lines.join("\n")
    );
}

#[test]
fn bad_scenario_is_a_clear_error_and_starts_nothing() {
    let out = Command::new(env!("CARGO_BIN_EXE_infermon"))
        .args(["demo", "--no-tui", "--scenario", "meltdown"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--scenario") && err.contains("meltdown") && err.contains("errors"),
        "{err}"
    );
}
