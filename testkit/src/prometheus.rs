//! A real Prometheus server (Debian `prometheus`, 2.42) on 127.0.0.1 for tests.
//!
//! The configuration is either generated from builder calls (scrape targets, rule files, Alertmanager URLs,
//! intervals) or given verbatim with [`PrometheusBuilder::config_yaml`]. Extra files (rule files, …) are written
//! next to `prometheus.yml` in a temp dir, so relative `rule_files` paths resolve. Lifecycle API is on, so
//! [`Prometheus::reload`] and [`Prometheus::set_config`] work, and retention defaults to 10 years so that
//! backfilled 30-day (or older) blocks from [`crate::promtool::create_blocks_from_openmetrics`] are kept.
//!
//! Two query helpers serve what most tests repeated: [`Prometheus::wait_for_result`] (poll an instant query until
//! it returns series, e.g. until a target is scraped or a rule has recorded, failing with the last answer) and
//! [`query_requests_served`] (how many `/api/v1/query` requests Prometheus counted itself, to measure how many
//! queries a component sends).

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use tempfile::TempDir;

use crate::error::Error;
use crate::process::{self, Launch, ManagedProcess};

/// Builder for [`Prometheus`]; see the module docs.
#[derive(Debug, Clone)]
pub struct PrometheusBuilder {
    config_yaml: Option<String>,
    scrape_interval: String,
    evaluation_interval: String,
    scrapes: Vec<(String, String, String)>,
    rule_files: Vec<String>,
    alertmanagers: Vec<String>,
    files: Vec<(String, String)>,
    data_dir: Option<PathBuf>,
    retention: String,
    admin_api: bool,
    route_prefix: String,
    web_config: Option<String>,
    alert_resend_delay: String,
    extra_flags: Vec<String>,
    ready_timeout: Duration,
}

impl Default for PrometheusBuilder {
    fn default() -> Self {
        PrometheusBuilder {
            config_yaml: None,
            scrape_interval: "15s".into(),
            evaluation_interval: "15s".into(),
            scrapes: Vec::new(),
            rule_files: Vec::new(),
            alertmanagers: Vec::new(),
            files: Vec::new(),
            data_dir: None,
            retention: "3650d".into(),
            admin_api: false,
            route_prefix: String::new(),
            web_config: None,
            alert_resend_delay: "1s".into(),
            extra_flags: Vec::new(),
            ready_timeout: Duration::from_secs(60),
        }
    }
}

impl PrometheusBuilder {
    /// Use this YAML verbatim as `prometheus.yml` (the generated scrape/rule/alerting parts are then ignored,
    /// but files added with [`Self::file`]/[`Self::rule_file`] are still written next to it).
    pub fn config_yaml(mut self, yaml: impl Into<String>) -> Self {
        self.config_yaml = Some(yaml.into());
        self
    }

    /// `global.scrape_interval` of the generated config (default `15s`).
    pub fn scrape_interval(mut self, interval: impl Into<String>) -> Self {
        self.scrape_interval = interval.into();
        self
    }

    /// `global.evaluation_interval` of the generated config (default `15s`).
    pub fn evaluation_interval(mut self, interval: impl Into<String>) -> Self {
        self.evaluation_interval = interval.into();
        self
    }

    /// Adds a scrape job `job` for `target` (`host:port`), path `/metrics`.
    pub fn scrape(self, job: impl Into<String>, target: impl Into<String>) -> Self {
        self.scrape_path(job, target, "/metrics")
    }

    /// Adds a scrape job with an explicit metrics path.
    pub fn scrape_path(
        mut self,
        job: impl Into<String>,
        target: impl Into<String>,
        metrics_path: impl Into<String>,
    ) -> Self {
        self.scrapes
            .push((job.into(), target.into(), metrics_path.into()));
        self
    }

    /// Writes `contents` to `name` next to the config and lists it under `rule_files`.
    pub fn rule_file(mut self, name: impl Into<String>, contents: impl Into<String>) -> Self {
        let name = name.into();
        self.rule_files.push(name.clone());
        self.files.push((name, contents.into()));
        self
    }

    /// Lists an existing rule file (absolute path, or a glob) under `rule_files`.
    pub fn rule_file_path(mut self, path: impl AsRef<Path>) -> Self {
        self.rule_files
            .push(path.as_ref().to_string_lossy().into_owned());
        self
    }

    /// Sends alerts to this Alertmanager (`http://host:port[/prefix]`).
    pub fn alertmanager(mut self, url: impl Into<String>) -> Self {
        self.alertmanagers.push(url.into());
        self
    }

    /// Writes an extra file next to `prometheus.yml` (relative name).
    pub fn file(mut self, name: impl Into<String>, contents: impl Into<String>) -> Self {
        self.files.push((name.into(), contents.into()));
        self
    }

    /// Uses an existing TSDB directory (e.g. blocks made by `promtool tsdb create-blocks-from`). It is used in
    /// place, not copied, and not deleted afterwards.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// `--storage.tsdb.retention.time` (default `3650d`).
    pub fn retention(mut self, retention: impl Into<String>) -> Self {
        self.retention = retention.into();
        self
    }

    /// Adds `--web.enable-admin-api` (snapshots, delete_series).
    pub fn enable_admin_api(mut self) -> Self {
        self.admin_api = true;
        self
    }

    /// Serves everything under this path (`--web.route-prefix`), like Mimir's `/prometheus`; [`Prometheus::url`]
    /// then includes the prefix.
    pub fn route_prefix(mut self, prefix: impl Into<String>) -> Self {
        let p = prefix.into();
        let p = p.trim_matches('/');
        self.route_prefix = if p.is_empty() {
            String::new()
        } else {
            format!("/{p}")
        };
        self
    }

    /// Writes `web.yml` and passes `--web.config.file` (TLS, `basic_auth_users` with bcrypt hashes). Readiness then
    /// also accepts a 401 answer.
    pub fn web_config_yaml(mut self, yaml: impl Into<String>) -> Self {
        self.web_config = Some(yaml.into());
        self
    }

    /// `--rules.alert.resend-delay` (default here `1s`, Prometheus' own default is `1m`). Prometheus drops the
    /// first notification of a firing alert if the Alertmanager was not discovered yet at that evaluation, and
    /// only resends after this delay; 1 s keeps alert-delivery tests fast. Alertmanager deduplicates resends.
    pub fn alert_resend_delay(mut self, delay: impl Into<String>) -> Self {
        self.alert_resend_delay = delay.into();
        self
    }

    /// Adds a raw command-line flag, e.g. `--enable-feature=promql-per-step-stats`.
    pub fn flag(mut self, flag: impl Into<String>) -> Self {
        self.extra_flags.push(flag.into());
        self
    }

    /// How long to wait for `/-/ready` (default 60 s; a large backfill takes a while to load).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// The `prometheus.yml` this builder would write.
    pub fn render_config(&self) -> String {
        if let Some(yaml) = &self.config_yaml {
            return yaml.clone();
        }
        let mut y = format!(
            "global:\n  scrape_interval: {}\n  evaluation_interval: {}\n",
            q(&self.scrape_interval),
            q(&self.evaluation_interval)
        );
        if !self.rule_files.is_empty() {
            y.push_str("rule_files:\n");
            for f in &self.rule_files {
                y.push_str(&format!("  - {}\n", q(f)));
            }
        }
        if !self.alertmanagers.is_empty() {
            y.push_str("alerting:\n  alertmanagers:\n");
            for url in &self.alertmanagers {
                let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
                let (host, prefix) = match rest.find('/') {
                    Some(i) => (&rest[..i], &rest[i..]),
                    None => (rest, ""),
                };
                y.push_str(&format!(
                    "    - scheme: {}\n      path_prefix: {}\n      static_configs:\n        - targets: [{}]\n",
                    q(scheme),
                    q(if prefix.is_empty() { "/" } else { prefix }),
                    q(host)
                ));
            }
        }
        y.push_str("scrape_configs:");
        if self.scrapes.is_empty() {
            y.push_str(" []\n");
        } else {
            y.push('\n');
            for (job, target, path) in &self.scrapes {
                y.push_str(&format!(
                    "  - job_name: {}\n    metrics_path: {}\n    static_configs:\n      - targets: [{}]\n",
                    q(job),
                    q(path),
                    q(target)
                ));
            }
        }
        y
    }

    /// Writes the config and files to a temp dir, starts Prometheus on `127.0.0.1:<free port>` and waits for
    /// `/-/ready`. Panics if the `prometheus` binary is missing (naming the Debian package).
    pub fn start(self) -> Result<Prometheus, Error> {
        let bin = process::locate(&process::PROMETHEUS);
        let dir = tempfile::Builder::new()
            .prefix("infermon-prometheus-")
            .tempdir()
            .map_err(|e| Error::io("create temp dir", e))?;
        let config_path = dir.path().join("prometheus.yml");
        write(&config_path, &self.render_config())?;
        for (name, contents) in &self.files {
            write_relative(dir.path(), name, contents)?;
        }
        let web_config_path = match &self.web_config {
            Some(yaml) => Some(write_relative(dir.path(), "web.yml", yaml)?),
            None => None,
        };
        let data_dir = match &self.data_dir {
            Some(d) => d.clone(),
            None => dir.path().join("data"),
        };
        let mut port = 0;
        let proc = process::start(
            "prometheus",
            &bin,
            dir.path().join("prometheus.log"),
            self.ready_timeout,
            || {
                port = crate::free_port();
                let mut args = vec![
                    format!("--config.file={}", config_path.display()),
                    format!("--storage.tsdb.path={}", data_dir.display()),
                    format!("--storage.tsdb.retention.time={}", self.retention),
                    format!("--web.listen-address=127.0.0.1:{port}"),
                    "--web.enable-lifecycle".to_string(),
                    format!("--rules.alert.resend-delay={}", self.alert_resend_delay),
                    "--log.level=info".to_string(),
                ];
                if self.admin_api {
                    args.push("--web.enable-admin-api".into());
                }
                if let Some(p) = &web_config_path {
                    args.push(format!("--web.config.file={}", p.display()));
                }
                if !self.route_prefix.is_empty() {
                    args.push(format!("--web.route-prefix={}", self.route_prefix));
                }
                args.extend(self.extra_flags.iter().cloned());
                Launch {
                    args,
                    port,
                    ready_url: format!("http://127.0.0.1:{port}{}/-/ready", self.route_prefix),
                    ready_on_unauthorized: web_config_path.is_some(),
                }
            },
        )?;
        Ok(Prometheus {
            proc,
            url: format!("http://127.0.0.1:{port}{}", self.route_prefix),
            port,
            config_path,
            data_dir,
            dir,
        })
    }
}

/// A running Prometheus; stopped (SIGTERM, then SIGKILL) and its temp dir removed on drop.
pub struct Prometheus {
    // Field order matters: the process must stop before its temp dir is removed.
    proc: ManagedProcess,
    url: String,
    port: u16,
    config_path: PathBuf,
    data_dir: PathBuf,
    dir: TempDir,
}

impl std::fmt::Debug for Prometheus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prometheus")
            .field("url", &self.url)
            .field("pid", &self.proc.pid())
            .finish()
    }
}

impl Prometheus {
    /// Starts building; see [`PrometheusBuilder`].
    pub fn builder() -> PrometheusBuilder {
        PrometheusBuilder::default()
    }

    /// Base URL, `http://127.0.0.1:<port>[route prefix]` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `127.0.0.1:<port>`, e.g. for scrape configs of another Prometheus.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The listening port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// OS process id (for orphan checks).
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Directory holding `prometheus.yml` and the extra files.
    pub fn config_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Path of `prometheus.yml`.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The TSDB directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Prometheus' own log (stdout + stderr) so far.
    pub fn logs(&self) -> String {
        self.proc.logs()
    }

    /// Path of the log file.
    pub fn log_path(&self) -> &Path {
        self.proc.log_path()
    }

    /// Writes (or overwrites) a file next to `prometheus.yml`; call [`Self::reload`] afterwards.
    pub fn write_file(&self, name: &str, contents: &str) -> Result<PathBuf, Error> {
        write_relative(self.dir.path(), name, contents)
    }

    /// `POST /-/reload`; fails with the server's message if the new config or rules are invalid.
    pub fn reload(&self) -> Result<(), Error> {
        admin_post("prometheus", &format!("{}/-/reload", self.url))
    }

    /// Replaces `prometheus.yml` and reloads.
    pub fn set_config(&self, yaml: &str) -> Result<(), Error> {
        write(&self.config_path, yaml)?;
        self.reload()
    }

    /// Stops now (SIGTERM, then SIGKILL after 5 s) and returns the exit status.
    pub fn stop(mut self) -> Option<ExitStatus> {
        self.proc.stop()
    }

    /// Runs the instant query `query` every 50 ms (at least once) until its result is non-empty, and returns that
    /// result (`data.result`, a JSON array): the "wait until scraped / until recorded" step of most tests.
    ///
    /// Blocking; from an async test use `tokio::task::block_in_place` (or `spawn_blocking`) so the runtime keeps
    /// serving what Prometheus scrapes. Errors: [`Error::NoResult`] after `timeout`, naming the query and showing
    /// Prometheus' last answer; [`Error::BadQuery`] at once when Prometheus rejects the expression.
    pub fn wait_for_result(
        &self,
        query: &str,
        timeout: Duration,
    ) -> Result<serde_json::Value, Error> {
        let mut results = self.wait_for_results(&[query], timeout)?;
        Ok(results.remove(0))
    }

    /// [`Self::wait_for_result`] for several queries at once: they must all be non-empty in the same round, within
    /// one `timeout` for all. Returns their results in order; the timeout error names the first query still empty.
    pub fn wait_for_results(
        &self,
        queries: &[&str],
        timeout: Duration,
    ) -> Result<Vec<serde_json::Value>, Error> {
        let mut pending = "";
        let outcome = crate::wait_until(timeout, || {
            let mut results = Vec::with_capacity(queries.len());
            for &query in queries {
                match instant_query(&self.url, query) {
                    Answer::Result(r) => results.push(r),
                    Answer::Rejected(detail) => {
                        return Ok(Err(Error::BadQuery {
                            query: query.to_string(),
                            detail,
                        }))
                    }
                    Answer::Empty(answer) | Answer::Failed(answer) => {
                        pending = query;
                        return Err(answer);
                    }
                }
            }
            Ok(Ok(results))
        });
        match outcome {
            Ok(done) => done,
            Err(t) => Err(Error::NoResult {
                query: pending.to_string(),
                waited: t.waited,
                attempts: t.attempts,
                last_answer: t.last_error,
            }),
        }
    }

    /// `/api/v1/query` requests this Prometheus has served so far; see [`query_requests_served`].
    pub fn query_requests_served(&self) -> Result<f64, Error> {
        query_requests_served(&self.url)
    }
}

/// `/api/v1/query` requests the Prometheus at `prometheus_url` has served so far (every status code), read from its
/// own `/metrics` (`prometheus_http_requests_total{handler="/api/v1/query"}`): exact and immediate, unlike a scraped
/// copy. Tests count the PromQL queries a component sends by taking the difference around an action.
pub fn query_requests_served(prometheus_url: &str) -> Result<f64, Error> {
    let url = format!("{prometheus_url}/metrics");
    let failed = |detail: String| Error::Admin {
        component: "prometheus",
        what: format!("GET {url}"),
        detail,
    };
    let r = crate::http::get(&url).map_err(|e| failed(e.to_string()))?;
    if r.status != 200 {
        return Err(failed(format!("HTTP {}", r.status)));
    }
    let mut served = 0.0;
    for line in r.text().lines().filter(|l| {
        l.starts_with("prometheus_http_requests_total{") && l.contains("handler=\"/api/v1/query\"")
    }) {
        let value = line.rsplit(' ').next().unwrap_or_default();
        served += value
            .parse::<f64>()
            .map_err(|_| failed(format!("unreadable sample {line:?}")))?;
    }
    Ok(served)
}

/// One answer to an instant query, as [`Prometheus::wait_for_results`] sees it.
enum Answer {
    /// `data.result` is a non-empty array.
    Result(serde_json::Value),
    /// Success, but no series: the (shortened) body.
    Empty(String),
    /// Prometheus says the expression is invalid (`bad_data`): its message.
    Rejected(String),
    /// Anything else (transport error, other API error, not JSON): what happened, shortened.
    Failed(String),
}

fn instant_query(url: &str, query: &str) -> Answer {
    let url = format!(
        "{url}/api/v1/query?{}",
        crate::http::form(&[("query", query)])
    );
    let r = match crate::http::get(&url) {
        Ok(r) => r,
        Err(e) => return Answer::Failed(e.to_string()),
    };
    let text = r.text();
    let failed = || Answer::Failed(format!("HTTP {}: {}", r.status, shorten(&text)));
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return failed();
    };
    if json["status"] == "success" {
        let result = &json["data"]["result"];
        if result.as_array().is_some_and(|a| !a.is_empty()) {
            Answer::Result(result.clone())
        } else {
            Answer::Empty(shorten(&text))
        }
    } else if json["errorType"] == "bad_data" {
        Answer::Rejected(json["error"].as_str().unwrap_or(&text).to_string())
    } else {
        failed()
    }
}

/// At most 2000 characters of `s` (an answer shown in an error), marked when cut.
fn shorten(s: &str) -> String {
    const MAX: usize = 2000;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}… ({} bytes)", &s[..i], s.len()),
        None => s.to_string(),
    }
}

/// YAML double-quoted scalar (JSON string syntax is valid YAML).
pub(crate) fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(crate) fn write(path: &Path, contents: &str) -> Result<(), Error> {
    std::fs::write(path, contents).map_err(|e| Error::io(format!("write {}", path.display()), e))
}

pub(crate) fn write_relative(dir: &Path, name: &str, contents: &str) -> Result<PathBuf, Error> {
    let rel = Path::new(name);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(Error::InvalidInput {
            field: "file name",
            reason: format!("{name:?} must be a relative path without `..`"),
        });
    }
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io(format!("create {}", parent.display()), e))?;
    }
    write(&path, contents)?;
    Ok(path)
}

pub(crate) fn admin_post(component: &'static str, url: &str) -> Result<(), Error> {
    let what = format!("POST {url}");
    match crate::http::post(url, "text/plain", b"") {
        Ok(r) if (200..300).contains(&r.status) => Ok(()),
        Ok(r) => Err(Error::Admin {
            component,
            what,
            detail: format!("HTTP {}: {}", r.status, r.text().trim()),
        }),
        Err(e) => Err(Error::Admin {
            component,
            what,
            detail: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_generated_config() {
        let b = Prometheus::builder()
            .scrape_interval("1s")
            .scrape("sim", "127.0.0.1:9400")
            .rule_file("rules/slo.yml", "groups: []")
            .alertmanager("http://127.0.0.1:9093/am");
        let y = b.render_config();
        assert_eq!(
            y,
            "global:\n  scrape_interval: \"1s\"\n  evaluation_interval: \"15s\"\nrule_files:\n  - \"rules/slo.yml\"\n\
             alerting:\n  alertmanagers:\n    - scheme: \"http\"\n      path_prefix: \"/am\"\n      static_configs:\n        - targets: [\"127.0.0.1:9093\"]\n\
             scrape_configs:\n  - job_name: \"sim\"\n    metrics_path: \"/metrics\"\n    static_configs:\n      - targets: [\"127.0.0.1:9400\"]\n"
        );
    }

    #[test]
    fn quotes_yaml_scalars() {
        assert_eq!(q("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }

    #[test]
    fn rejects_escaping_file_names() {
        let d = tempfile::tempdir().unwrap();
        assert!(write_relative(d.path(), "../x", "").is_err());
        assert!(write_relative(d.path(), "/etc/x", "").is_err());
        assert!(write_relative(d.path(), "a/b.yml", "x").is_ok());
    }
}
