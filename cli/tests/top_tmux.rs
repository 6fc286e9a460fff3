//! `infermon top` in a real terminal: tmux (Debian `tmux`) runs it against a real Prometheus scraping the
//! simulator; keys are sent with `send-keys` and the screen is read with `capture-pane`.

use std::process::Command;
use std::time::{Duration, Instant};

mod common;

use infermon_testkit::Prometheus;

struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs (Debian package `tmux`)")
    }
    fn capture(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "top"]).stdout).into()
    }
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Only the server on our own socket.
        let _ = self.run(&["kill-server"]);
    }
}

#[test]
fn top_runs_in_tmux_sorts_on_keys_and_quits_with_q() {
    let live =
        common::scraped_default_fleet("global:\n  scrape_interval: 1s\n", Prometheus::builder());
    let prom = &live.prom;

    let tmux = Tmux {
        socket: format!("infermon-top-test-{}", std::process::id()),
    };
    let cmd = format!(
        "{} top --prometheus-url {} --refresh 1s --rate-window 15s",
        env!("CARGO_BIN_EXE_infermon"),
        prom.url()
    );
    let out = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "top",
        "-x",
        "132",
        "-y",
        "30",
        "-e",
        "LANG=C.UTF-8",
        &cmd,
    ]);
    assert!(
        out.status.success(),
        "tmux new-session: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let models = live.models();
    let screen = tmux.wait_for("a row with a request rate for every model", |s| {
        models.iter().all(|m| {
            s.lines()
                .any(|l| l.starts_with(m.as_str()) && l.contains(" ms "))
        })
    });
    println!("{screen}");
    assert!(
        screen.contains("infermon top |") && screen.contains("REQ/Sv"),
        "{screen}"
    );
    assert!(screen.contains("Alerts: 0 firing, 0 pending"), "{screen}");

    // `m`: sort by model name, ascending.
    tmux.run(&["send-keys", "-t", "top", "m"]);
    let screen = tmux.wait_for("sort by model", |s| s.contains("MODEL^"));
    let order: Vec<&str> = screen
        .lines()
        .filter_map(|l| {
            models
                .iter()
                .find(|m| l.starts_with(m.as_str()))
                .map(|m| m.as_str())
        })
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "{screen}");
    // `r`: reversed.
    tmux.run(&["send-keys", "-t", "top", "r"]);
    tmux.wait_for("reverse order", |s| s.contains("MODELv"));

    // Resize to a narrow terminal: columns are dropped, nothing wraps.
    tmux.run(&["resize-window", "-t", "top", "-x", "60", "-y", "20"]);
    let narrow = tmux.wait_for("narrow layout", |s| {
        !s.contains("PREEMPT/S") && s.contains("KV CACHE")
    });
    assert!(narrow.lines().all(|l| l.chars().count() <= 60), "{narrow}");

    // `q` quits and restores the terminal: the session (whose only command is top) ends.
    tmux.run(&["send-keys", "-t", "top", "q"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tmux.run(&["has-session", "-t", "top"]).status.success() {
        assert!(Instant::now() < deadline, "top did not quit on q");
        std::thread::sleep(Duration::from_millis(100));
    }
    live.stop();
}
