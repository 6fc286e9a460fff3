//! infermon-testkit: start **real** monitoring components for tests.
//!
//! The house rule is "real parts, not mocks": tests talk to the Debian builds of Prometheus 2.42, promtool,
//! Alertmanager 0.25 and VictoriaMetrics 1.79, each started on `127.0.0.1` with a free port and a temporary
//! directory, and stopped again when the handle is dropped (also while a test panics). This crate hides the
//! process plumbing so every crate's tests can do
//!
//! ```no_run
//! use infermon_testkit::Prometheus;
//! let prom = Prometheus::builder()
//!     .scrape("sim", "127.0.0.1:9400")
//!     .rule_file("slo.yml", "groups: []\n")
//!     .start()
//!     .expect("prometheus starts");
//! println!("query it at {}", prom.url());
//! // dropped here: SIGTERM, then SIGKILL after 5 s, then reaped; no orphan is left.
//! ```
//!
//! Design choices:
//! - Processes are spawned from one long-lived thread through `setpriv --pdeathsig KILL`, so even when the test
//!   binary itself is killed (SIGKILL, CI timeout) the kernel kills the children: no orphans.
//! - Blocking API (std processes and a tiny HTTP/1.0 client in [`http`]): it works from plain `#[test]`s and from
//!   `#[tokio::test]`s alike without creating nested runtimes. [`wait_until_async`] is there for async tests that
//!   must keep their own runtime responsive while waiting.
//! - A missing binary is never a silent skip: it panics and names the Debian package to install.

pub mod alertmanager;
pub mod captures;
mod error;
pub mod http;
pub mod openmetrics;
mod process;
pub mod prometheus;
pub mod promtool;
pub mod victoria;
mod wait;

pub use alertmanager::{Alertmanager, AlertmanagerBuilder};
pub use error::Error;
pub use prometheus::{Prometheus, PrometheusBuilder};
pub use promtool::PromtoolError;
pub use victoria::{VictoriaMetrics, VictoriaMetricsBuilder};
pub use wait::{free_port, wait_until, wait_until_async, TimedOut};

/// Path to the shared fixtures directory (`/work/shared/fixtures` in the dev layout, i.e. `../shared/fixtures`
/// next to the repository root), computed from this crate's manifest directory.
pub fn shared_fixtures_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures")
}
