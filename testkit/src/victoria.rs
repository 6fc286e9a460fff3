//! A real single-node VictoriaMetrics (Debian `victoria-metrics`, 1.79) on 127.0.0.1 for tests.
//!
//! It is started with `-search.latencyOffset=0s` so that freshly imported samples are queryable at once (the
//! default hides the last 30 s), a long retention for backfills, and optionally a scrape config. Data goes in
//! through [`VictoriaMetrics::import_prometheus`] (exposition text with millisecond timestamps, e.g. from
//! [`crate::openmetrics::Writer::to_prometheus_ms`]) followed by a flush, so the next query sees it.

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use tempfile::TempDir;

use crate::error::Error;
use crate::process::{self, Launch, ManagedProcess};
use crate::prometheus::{write, write_relative};

/// Builder for [`VictoriaMetrics`].
#[derive(Debug, Clone)]
pub struct VictoriaMetricsBuilder {
    retention_period: String,
    scrape_config: Option<String>,
    files: Vec<(String, String)>,
    extra_flags: Vec<String>,
    ready_timeout: Duration,
}

impl Default for VictoriaMetricsBuilder {
    fn default() -> Self {
        VictoriaMetricsBuilder {
            retention_period: "100y".into(),
            scrape_config: None,
            files: Vec::new(),
            extra_flags: Vec::new(),
            ready_timeout: Duration::from_secs(60),
        }
    }
}

impl VictoriaMetricsBuilder {
    /// `-retentionPeriod` (default `100y`).
    pub fn retention_period(mut self, period: impl Into<String>) -> Self {
        self.retention_period = period.into();
        self
    }

    /// Enables scraping with this Prometheus-style YAML (`-promscrape.config`).
    pub fn scrape_config_yaml(mut self, yaml: impl Into<String>) -> Self {
        self.scrape_config = Some(yaml.into());
        self
    }

    /// Writes an extra file in the config dir (e.g. file_sd targets referenced from the scrape config).
    pub fn file(mut self, name: impl Into<String>, contents: impl Into<String>) -> Self {
        self.files.push((name.into(), contents.into()));
        self
    }

    /// Adds a raw flag, e.g. `-search.maxPointsPerTimeseries=100`.
    pub fn flag(mut self, flag: impl Into<String>) -> Self {
        self.extra_flags.push(flag.into());
        self
    }

    /// How long to wait for `/health` (default 60 s).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Starts VictoriaMetrics on `127.0.0.1:<free port>` and waits for `/health`. Panics if the binary is
    /// missing (naming the Debian package).
    pub fn start(self) -> Result<VictoriaMetrics, Error> {
        let bin = process::locate(&process::VICTORIA_METRICS);
        let dir = tempfile::Builder::new()
            .prefix("infermon-vm-")
            .tempdir()
            .map_err(|e| Error::io("create temp dir", e))?;
        for (name, contents) in &self.files {
            write_relative(dir.path(), name, contents)?;
        }
        let scrape_path = match &self.scrape_config {
            Some(yaml) => {
                let p = dir.path().join("scrape.yml");
                write(&p, yaml)?;
                Some(p)
            }
            None => None,
        };
        let data_dir = dir.path().join("data");
        let mut port = 0;
        let proc = process::start(
            "victoria-metrics",
            &bin,
            dir.path().join("victoria-metrics.log"),
            self.ready_timeout,
            || {
                port = crate::free_port();
                let mut args = vec![
                    format!("-httpListenAddr=127.0.0.1:{port}"),
                    format!("-storageDataPath={}", data_dir.display()),
                    format!("-retentionPeriod={}", self.retention_period),
                    "-search.latencyOffset=0s".to_string(),
                    "-loggerLevel=INFO".to_string(),
                ];
                if let Some(p) = &scrape_path {
                    args.push(format!("-promscrape.config={}", p.display()));
                }
                args.extend(self.extra_flags.iter().cloned());
                Launch {
                    args,
                    port,
                    ready_url: format!("http://127.0.0.1:{port}/health"),
                    ready_on_unauthorized: false,
                }
            },
        )?;
        Ok(VictoriaMetrics {
            proc,
            url: format!("http://127.0.0.1:{port}"),
            port,
            data_dir,
            dir,
        })
    }
}

/// A running VictoriaMetrics; stopped and its temp dir removed on drop.
pub struct VictoriaMetrics {
    proc: ManagedProcess,
    url: String,
    port: u16,
    data_dir: PathBuf,
    dir: TempDir,
}

impl std::fmt::Debug for VictoriaMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VictoriaMetrics")
            .field("url", &self.url)
            .field("pid", &self.proc.pid())
            .finish()
    }
}

impl VictoriaMetrics {
    /// Starts building; see [`VictoriaMetricsBuilder`].
    pub fn builder() -> VictoriaMetricsBuilder {
        VictoriaMetricsBuilder::default()
    }

    /// Base URL `http://127.0.0.1:<port>`; the Prometheus API is under `/api/v1/...`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The listening port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// OS process id.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// `-storageDataPath`.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Directory with the scrape config and extra files.
    pub fn config_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server log so far.
    pub fn logs(&self) -> String {
        self.proc.logs()
    }

    /// Imports Prometheus exposition text (millisecond timestamps) via `/api/v1/import/prometheus`, then
    /// flushes and drops the rollup cache so the data is visible to the next query.
    pub fn import_prometheus(&self, text: &str) -> Result<(), Error> {
        let url = format!("{}/api/v1/import/prometheus", self.url);
        let what = format!("POST {url}");
        match crate::http::post(&url, "text/plain", text.as_bytes()) {
            Ok(r) if (200..300).contains(&r.status) => {}
            Ok(r) => {
                return Err(Error::Admin {
                    component: "victoria-metrics",
                    what,
                    detail: format!("HTTP {}: {}", r.status, r.text().trim()),
                })
            }
            Err(e) => {
                return Err(Error::Admin {
                    component: "victoria-metrics",
                    what,
                    detail: e.to_string(),
                })
            }
        }
        self.flush()
    }

    /// `/internal/force_flush` + `/internal/resetRollupResultCache`.
    pub fn flush(&self) -> Result<(), Error> {
        for path in ["/internal/force_flush", "/internal/resetRollupResultCache"] {
            let url = format!("{}{path}", self.url);
            match crate::http::get(&url) {
                Ok(r) if (200..300).contains(&r.status) => {}
                Ok(r) => {
                    return Err(Error::Admin {
                        component: "victoria-metrics",
                        what: format!("GET {url}"),
                        detail: format!("HTTP {}: {}", r.status, r.text().trim()),
                    })
                }
                Err(e) => {
                    return Err(Error::Admin {
                        component: "victoria-metrics",
                        what: format!("GET {url}"),
                        detail: e.to_string(),
                    })
                }
            }
        }
        Ok(())
    }

    /// Stops now and returns the exit status.
    pub fn stop(mut self) -> Option<ExitStatus> {
        self.proc.stop()
    }
}
