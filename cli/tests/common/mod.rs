//! The set-up of the CLI's live tests (`infermon query`, `infermon top`, the dashboards): the simulator's default
//! fleet served live at several simulated seconds per wall second, so counters move and histograms fill within
//! seconds, and a real Prometheus 2.42 scraping it every second through the fleet's file_sd targets.
//!
//! Included with `#[path]` by the `top` unit tests in `src/cmd/top/tests.rs` too, so it uses only dependencies
//! both kinds of test have.
#![allow(dead_code)]

use std::path::Path;

use infermon_sim::fleet::{Fleet, FleetOptions};
use infermon_sim::FleetConfig;
use infermon_testkit::{Prometheus, PrometheusBuilder};

/// The running fleet and its Prometheus. Fields drop in declaration order: Prometheus first, the runtime last.
pub struct ScrapedFleet {
    pub prom: Prometheus,
    pub fleet: Fleet,
    /// The fleet's config (`FleetConfig::default_fleet()`).
    pub config: FleetConfig,
    /// Holds the file_sd targets file Prometheus reads.
    _targets: tempfile::TempDir,
    pub rt: tokio::runtime::Runtime,
}

/// Starts the default fleet at 20 simulated seconds per wall second and a Prometheus whose `prometheus.yml` is
/// `head` (global settings, `rule_files`) followed by the fleet's scrape config (1 s interval); `builder` adds
/// files such as rule files.
pub fn scraped_default_fleet(head: &str, builder: PrometheusBuilder) -> ScrapedFleet {
    default_fleet_scraped_by(20.0, |sd| {
        builder
            .config_yaml(format!(
                "{head}{}",
                Fleet::scrape_config_yaml(sd.to_str().unwrap(), "1s")
            ))
            .start()
            .expect("prometheus starts")
    })
}

/// Starts the default fleet at `speed` simulated seconds per wall second, writes its file_sd targets file and
/// starts the Prometheus that `start_prometheus` makes for that file.
pub fn default_fleet_scraped_by(
    speed: f64,
    start_prometheus: impl FnOnce(&Path) -> Prometheus,
) -> ScrapedFleet {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let config = FleetConfig::default_fleet();
    let fleet = rt
        .block_on(Fleet::start(
            &config,
            FleetOptions {
                speed,
                ..FleetOptions::default()
            },
        ))
        .expect("fleet starts");
    let targets = tempfile::tempdir().unwrap();
    let sd = targets.path().join("fleet.json");
    fleet.write_file_sd(&sd).unwrap();
    let prom = start_prometheus(&sd);
    ScrapedFleet {
        prom,
        fleet,
        config,
        _targets: targets,
        rt,
    }
}

impl ScrapedFleet {
    /// The names of the fleet's models.
    pub fn models(&self) -> Vec<String> {
        self.config.models.iter().map(|m| m.name.clone()).collect()
    }

    /// Stops Prometheus, then shuts the fleet down.
    pub fn stop(self) {
        drop(self.prom);
        self.rt.block_on(self.fleet.shutdown());
    }
}
