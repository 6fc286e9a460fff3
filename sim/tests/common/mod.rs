//! Helpers shared by the integration tests: Prometheus HTTP API queries over testkit's blocking client.

#![allow(dead_code)]

use infermon_testkit::Prometheus;

pub use infermon_testkit::http::encode;

/// An instant query at `time` (unix seconds, or now): (labels, value) per series.
pub fn query(
    prom: &Prometheus,
    expr: &str,
    time: Option<f64>,
) -> Vec<(serde_json::Map<String, serde_json::Value>, f64)> {
    let mut url = format!("{}/api/v1/query?query={}", prom.url(), encode(expr));
    if let Some(t) = time {
        url.push_str(&format!("&time={t:.3}"));
    }
    let resp = infermon_testkit::http::get(&url).unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let v: serde_json::Value = serde_json::from_str(&resp.text())
        .unwrap_or_else(|e| panic!("{expr}: {e}: {}", resp.text()));
    assert_eq!(v["status"], "success", "{expr}: {v}");
    v["data"]["result"]
        .as_array()
        .unwrap_or_else(|| panic!("{expr}: not a vector: {v}"))
        .iter()
        .map(|r| {
            let labels = r["metric"].as_object().cloned().unwrap_or_default();
            let val: f64 = r["value"][1].as_str().unwrap().parse().unwrap_or(f64::NAN);
            (labels, val)
        })
        .collect()
}

/// The single value of `expr` (panics unless exactly one series).
pub fn scalar(prom: &Prometheus, expr: &str, time: Option<f64>) -> f64 {
    let r = query(prom, expr, time);
    assert_eq!(r.len(), 1, "{expr}: expected one series, got {r:?}");
    r[0].1
}

/// Like [`scalar`] but None when the result is empty.
pub fn maybe(prom: &Prometheus, expr: &str, time: Option<f64>) -> Option<f64> {
    let r = query(prom, expr, time);
    r.first().map(|x| x.1)
}

pub fn wait_for(what: &str, timeout_s: f64, mut f: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while start.elapsed().as_secs_f64() < timeout_s {
        if f() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    panic!("timed out after {timeout_s} s waiting for {what}");
}

/// A fleet served live at 10 simulated seconds per wall second and scraped every second by a real Prometheus 2.42
/// through the fleet's file_sd targets. Fields drop in declaration order: Prometheus first, the runtime last.
pub struct ScrapedFleet {
    pub prom: Prometheus,
    pub fleet: infermon_sim::fleet::Fleet,
    _targets_dir: tempfile::TempDir,
    pub rt: tokio::runtime::Runtime,
}

/// Starts the fleet described by `fleet_yaml` and a Prometheus scraping it.
pub fn scraped_fleet(fleet_yaml: &str) -> ScrapedFleet {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cfg = infermon_sim::FleetConfig::from_yaml(fleet_yaml, "test").unwrap();
    let fleet = rt
        .block_on(infermon_sim::fleet::Fleet::start(
            &cfg,
            infermon_sim::fleet::FleetOptions {
                speed: 10.0,
                ..Default::default()
            },
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sd = dir.path().join("targets.json");
    fleet.write_file_sd(&sd).unwrap();
    let yaml = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: infermon-sim\n    file_sd_configs:\n      - files: ['{}']\n        refresh_interval: 1s\n",
        sd.display()
    );
    let prom = Prometheus::builder()
        .config_yaml(yaml)
        .start()
        .expect("prometheus starts");
    ScrapedFleet {
        prom,
        fleet,
        _targets_dir: dir,
        rt,
    }
}

impl ScrapedFleet {
    /// Stops Prometheus, then the fleet gracefully.
    pub fn shutdown(self) {
        drop(self.prom);
        self.rt.block_on(self.fleet.shutdown());
    }
}
