//! Regression: a full-screen demo whose terminal went away (SSH dropped, tmux killed) must still stop every process
//! it started on SIGTERM. crossterm's event reader can spin on a hung-up terminal without returning, so the demo's
//! watchdog, not its main loop, has to act.

use std::process::Command;
use std::time::{Duration, Instant};

fn pids_mentioning(needle: &str) -> Vec<u32> {
    let out = Command::new("pgrep")
        .args(["-f", needle])
        .output()
        .expect("pgrep runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

#[test]
fn a_demo_whose_terminal_went_away_still_stops_on_sigterm() {
    let data = std::env::temp_dir().join(format!("infermon-demo-hangup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let socket = format!("infermon-hangup-{}", std::process::id());
    let cmd = format!(
        "{} demo --data {}",
        env!("CARGO_BIN_EXE_infermon"),
        data.display()
    );
    let ok = Command::new("tmux")
        .args([
            "-L",
            &socket,
            "new-session",
            "-d",
            "-x",
            "160",
            "-y",
            "40",
            &cmd,
        ])
        .status()
        .expect("tmux runs (Debian package tmux)");
    assert!(ok.success());

    // Wait until the demo's Prometheus runs (its command line names the data directory).
    let needle = data.display().to_string();
    let t0 = Instant::now();
    while pids_mentioning(&format!("prometheus --config.file={needle}")).is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the demo's Prometheus did not start"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    std::thread::sleep(Duration::from_secs(3));
    // `^binary`: the demo itself, not the shell tmux started it with.
    let demo = pids_mentioning(&format!(
        "^{} demo --data {needle}",
        env!("CARGO_BIN_EXE_infermon")
    ));
    assert_eq!(demo.len(), 1, "one demo process: {demo:?}");

    // The terminal goes away, then the demo is asked to stop.
    Command::new("tmux")
        .args(["-L", &socket, "kill-server"])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    Command::new("kill")
        .args(["-TERM", &demo[0].to_string()])
        .status()
        .unwrap();

    let t0 = Instant::now();
    loop {
        let left = pids_mentioning(&needle);
        if left.is_empty() {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(75),
            "processes of the demo remain after SIGTERM: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = std::fs::remove_dir_all(&data);
}
