//! A real Alertmanager (Debian `prometheus-alertmanager`, 0.25) on 127.0.0.1 for tests, alone or as an HA pair.
//!
//! Clustering is off by default (`--cluster.listen-address=`), which makes start-up immediate. With
//! [`AlertmanagerBuilder::cluster`] it listens for gossip on a free TCP+UDP port, and [`AlertmanagerBuilder::peer`]
//! joins other instances ([`Alertmanager::ha_pair`] does both for two instances). The default config routes
//! everything to a receiver that does nothing; pass a real one (e.g. a webhook at a test server) with
//! [`AlertmanagerBuilder::config_yaml`].

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use tempfile::TempDir;

use crate::error::Error;
use crate::process::{self, Launch, ManagedProcess};
use crate::prometheus::{admin_post, write, write_relative};

/// Config used when none is given: one receiver without integrations.
pub const DEFAULT_CONFIG: &str = "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n";

/// Builder for [`Alertmanager`].
#[derive(Debug, Clone)]
pub struct AlertmanagerBuilder {
    config_yaml: String,
    files: Vec<(String, String)>,
    cluster: bool,
    peers: Vec<String>,
    extra_flags: Vec<String>,
    ready_timeout: Duration,
}

impl Default for AlertmanagerBuilder {
    fn default() -> Self {
        AlertmanagerBuilder {
            config_yaml: DEFAULT_CONFIG.into(),
            files: Vec::new(),
            cluster: false,
            peers: Vec::new(),
            extra_flags: Vec::new(),
            ready_timeout: Duration::from_secs(60),
        }
    }
}

impl AlertmanagerBuilder {
    /// `alertmanager.yml` contents.
    pub fn config_yaml(mut self, yaml: impl Into<String>) -> Self {
        self.config_yaml = yaml.into();
        self
    }

    /// Writes an extra file (templates, …) next to the config.
    pub fn file(mut self, name: impl Into<String>, contents: impl Into<String>) -> Self {
        self.files.push((name.into(), contents.into()));
        self
    }

    /// Enables gossip on `127.0.0.1:<free port>` (see [`Alertmanager::cluster_address`]).
    pub fn cluster(mut self) -> Self {
        self.cluster = true;
        self
    }

    /// Joins a peer (`host:port` of its cluster address); implies [`Self::cluster`].
    pub fn peer(mut self, address: impl Into<String>) -> Self {
        self.cluster = true;
        self.peers.push(address.into());
        self
    }

    /// Adds a raw flag, e.g. `--cluster.settle-timeout=2s`.
    pub fn flag(mut self, flag: impl Into<String>) -> Self {
        self.extra_flags.push(flag.into());
        self
    }

    /// How long to wait for `/-/ready` (default 60 s).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Starts Alertmanager on `127.0.0.1:<free port>` and waits for `/-/ready`. Panics if the binary is missing
    /// (naming the Debian package).
    pub fn start(self) -> Result<Alertmanager, Error> {
        let bin = process::locate(&process::ALERTMANAGER);
        let dir = tempfile::Builder::new()
            .prefix("infermon-alertmanager-")
            .tempdir()
            .map_err(|e| Error::io("create temp dir", e))?;
        let config_path = dir.path().join("alertmanager.yml");
        write(&config_path, &self.config_yaml)?;
        for (name, contents) in &self.files {
            write_relative(dir.path(), name, contents)?;
        }
        let storage = dir.path().join("data");
        let mut port = 0;
        let mut cluster_port = None;
        let proc = process::start(
            "alertmanager",
            &bin,
            dir.path().join("alertmanager.log"),
            self.ready_timeout,
            || {
                port = crate::free_port();
                let mut args = vec![
                    format!("--config.file={}", config_path.display()),
                    format!("--storage.path={}", storage.display()),
                    format!("--web.listen-address=127.0.0.1:{port}"),
                    "--log.level=debug".to_string(),
                ];
                if self.cluster {
                    let cp = crate::wait::free_tcp_udp_port();
                    cluster_port = Some(cp);
                    args.push(format!("--cluster.listen-address=127.0.0.1:{cp}"));
                    args.push(format!("--cluster.advertise-address=127.0.0.1:{cp}"));
                    // Short gossip timings so HA tests converge in seconds, not a minute.
                    args.push("--cluster.settle-timeout=2s".into());
                    args.push("--cluster.pushpull-interval=2s".into());
                    args.push("--cluster.gossip-interval=100ms".into());
                    for p in &self.peers {
                        args.push(format!("--cluster.peer={p}"));
                    }
                } else {
                    cluster_port = None;
                    args.push("--cluster.listen-address=".into());
                }
                args.extend(self.extra_flags.iter().cloned());
                Launch {
                    args,
                    port,
                    ready_url: format!("http://127.0.0.1:{port}/-/ready"),
                    ready_on_unauthorized: false,
                }
            },
        )?;
        Ok(Alertmanager {
            proc,
            url: format!("http://127.0.0.1:{port}"),
            port,
            cluster_address: cluster_port.map(|p| format!("127.0.0.1:{p}")),
            config_path,
            dir,
        })
    }
}

/// A running Alertmanager; stopped and its temp dir removed on drop.
pub struct Alertmanager {
    proc: ManagedProcess,
    url: String,
    port: u16,
    cluster_address: Option<String>,
    config_path: PathBuf,
    dir: TempDir,
}

impl std::fmt::Debug for Alertmanager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alertmanager")
            .field("url", &self.url)
            .field("cluster_address", &self.cluster_address)
            .field("pid", &self.proc.pid())
            .finish()
    }
}

impl Alertmanager {
    /// Starts building; see [`AlertmanagerBuilder`].
    pub fn builder() -> AlertmanagerBuilder {
        AlertmanagerBuilder::default()
    }

    /// Starts two clustered instances with the same config, the second peering with the first, and waits until
    /// each reports 2 cluster members.
    pub fn ha_pair(config_yaml: &str) -> Result<(Alertmanager, Alertmanager), Error> {
        let a = Alertmanager::builder()
            .config_yaml(config_yaml)
            .cluster()
            .start()?;
        let b = Alertmanager::builder()
            .config_yaml(config_yaml)
            .peer(a.cluster_address().expect("clustered"))
            .start()?;
        for am in [&a, &b] {
            crate::wait_until(Duration::from_secs(30), || {
                let peers = am.cluster_peers()?;
                if peers == 2 {
                    Ok(())
                } else {
                    Err(Error::Admin {
                        component: "alertmanager",
                        what: "cluster join".into(),
                        detail: format!("{peers} peers"),
                    })
                }
            })
            .map_err(|e| Error::Admin {
                component: "alertmanager",
                what: "HA pair formation".into(),
                detail: e.to_string(),
            })?;
        }
        Ok((a, b))
    }

    /// Base URL `http://127.0.0.1:<port>` (API under `/api/v2`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The web port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Gossip address `127.0.0.1:<port>` when clustered.
    pub fn cluster_address(&self) -> Option<&str> {
        self.cluster_address.as_deref()
    }

    /// OS process id.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Path of `alertmanager.yml`.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// Directory holding the config and extra files.
    pub fn config_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server log so far (debug level: shows notifications being sent).
    pub fn logs(&self) -> String {
        self.proc.logs()
    }

    /// Number of cluster members this instance sees (from `GET /api/v2/status`), 0 when not clustered.
    pub fn cluster_peers(&self) -> Result<usize, Error> {
        let url = format!("{}/api/v2/status", self.url);
        let r = crate::http::get(&url).map_err(|e| Error::Admin {
            component: "alertmanager",
            what: format!("GET {url}"),
            detail: e.to_string(),
        })?;
        let body = r.text();
        // The status JSON lists members as {"address":...,"name":...}; count them without a JSON dependency.
        let peers_section = body.split("\"peers\":").nth(1).unwrap_or("");
        let peers_array = peers_section.split(']').next().unwrap_or("");
        Ok(peers_array.matches("\"address\"").count())
    }

    /// `POST /-/reload`.
    pub fn reload(&self) -> Result<(), Error> {
        admin_post("alertmanager", &format!("{}/-/reload", self.url))
    }

    /// Replaces the config and reloads.
    pub fn set_config(&self, yaml: &str) -> Result<(), Error> {
        write(&self.config_path, yaml)?;
        self.reload()
    }

    /// Stops now and returns the exit status.
    pub fn stop(mut self) -> Option<ExitStatus> {
        self.proc.stop()
    }
}
