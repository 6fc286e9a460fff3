//! infermon-webhook: receives Alertmanager webhook notifications, stores them durably, drops HA duplicates,
//! enriches them with live model context from Prometheus and delivers them to Slack, PagerDuty, Microsoft Teams,
//! generic webhooks or the log, retrying until delivered or dead. It never loses an accepted notification.
//!
//! Data flow:
//! - receive ([`http::handlers::receive`]): authenticate → [`payload::parse_received`] → [`route::Route::receivers_by`] →
//!   [`outbox::Writer::accept`] (group commit; dedupe decided in the writer) → 200, or 4xx/503;
//! - deliver ([`outbox::worker::Worker`]): due → [`enrich::Enricher::enrich`] (once per notification) → rate gate →
//!   [`notify::Notifier::send`] → [`outbox::retry::classify_status`] → mark delivered / retry / dead.
//!
//! Entry points: [`router`] for the axum routes, [`Service`] to start and serve, [`run`] for the whole program
//! (used by the `infermon-webhook` binary and by `infermon webhook`).

pub mod config;
pub mod dedupe;
pub mod enrich;
pub mod http;
pub mod metrics;
pub mod notify;
pub mod outbox;
pub mod payload;
pub mod prom_context;
pub mod route;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use config::{Config, ConfigError};
pub use http::router;

use enrich::{ContextSource, Enricher};
use http::auth::Auth;
use metrics::Metrics;
use outbox::worker::Worker;
use outbox::{Writer, WriterConfig};
use payload::Notification;

/// How long in-flight deliveries may run after a shutdown signal before they are left in the outbox.
pub const SHUTDOWN_DRAIN: Duration = Duration::from_secs(10);

/// Shared state of the HTTP handlers; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    writer: Writer,
    metrics: Arc<Metrics>,
    auth: Auth,
    closing: AtomicBool,
    source: Option<Arc<dyn ContextSource>>,
}

impl AppState {
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }
    pub fn writer(&self) -> &Writer {
        &self.inner.writer
    }
    pub fn auth(&self) -> &Auth {
        &self.inner.auth
    }
    pub fn max_body_bytes(&self) -> usize {
        self.inner.config.max_body_bytes
    }
    pub fn data_dir(&self) -> &Path {
        &self.inner.config.data_dir
    }
    pub fn is_closing(&self) -> bool {
        self.inner.closing.load(Ordering::Relaxed)
    }
    /// Receivers for a notification: routed on its common and group labels.
    pub fn route_receivers(&self, n: &Notification) -> Vec<String> {
        self.inner
            .config
            .route
            .receivers_for_group(&n.common_labels, &n.group_labels)
    }
    /// [`AppState::route_receivers`] for what the receive path parsed ([`payload::parse_received`]).
    pub fn route_received(&self, r: &payload::Received<'_>) -> Vec<String> {
        self.inner.config.route.receivers_by(&|name| {
            r.group_labels
                .get(name)
                .or_else(|| r.common_labels.get(name))
                .map(|v| v.as_ref())
        })
    }
    pub async fn prometheus_reachable(&self) -> serde_json::Value {
        match &self.inner.source {
            None => serde_json::json!("not_configured"),
            Some(s) => {
                let ok = tokio::time::timeout(Duration::from_secs(1), s.reachable())
                    .await
                    .unwrap_or(false);
                serde_json::json!(if ok { "reachable" } else { "unreachable" })
            }
        }
    }
}

/// A started service: outbox writer and checkpointer running, ready to serve a listener.
pub struct Service {
    state: AppState,
    worker: Option<Arc<Worker>>,
    writer_thread: std::thread::JoinHandle<()>,
    checkpoint_stop: Arc<AtomicBool>,
    checkpoint_thread: std::thread::JoinHandle<()>,
}

/// Options for [`Service::start`] that are not part of the config file.
#[derive(Default, Clone)]
pub struct StartOptions {
    /// The model-context source; `None` delivers without context and says so.
    pub context_source: Option<Arc<dyn ContextSource>>,
    /// Caps the database size (tests use it to make the store "full").
    pub max_db_bytes: Option<u64>,
    /// Accept only, deliver nothing (the accept-path benchmark). Accepted work stays in the outbox.
    pub disable_delivery: bool,
}

impl Service {
    /// Starts the outbox writer and builds the state. Fails only on programming errors; an unavailable store
    /// is not fatal (the service answers 503 and keeps trying to open it).
    pub fn start(config: Config, opts: StartOptions) -> Service {
        let metrics = Arc::new(Metrics::new());
        let (writer, writer_thread) = Writer::spawn(
            WriterConfig {
                data_dir: config.data_dir.clone(),
                queue_capacity: config.queue_capacity,
                dedupe_window: config.dedupe_window,
                retention: config.retention,
                max_notifications: config.max_notifications,
                max_db_bytes: opts.max_db_bytes,
            },
            metrics.clone(),
        );
        let checkpoint_stop = Arc::new(AtomicBool::new(false));
        let checkpoint_thread = outbox::writer::spawn_checkpointer(
            config.data_dir.clone(),
            writer.wal_restart_flag(),
            checkpoint_stop.clone(),
        );
        let client = notify::http_client(config.retry.request_timeout);
        let notifiers: HashMap<_, _> = config
            .receivers
            .iter()
            .map(|r| (r.name.clone(), notify::build(r, client.clone())))
            .collect();
        let enricher = Enricher::new(
            opts.context_source.clone(),
            config.enrichment.clone(),
            metrics.clone(),
        );
        let worker = Arc::new(Worker::new(
            config.data_dir.clone(),
            writer.clone(),
            notifiers,
            enricher,
            config.retry,
            metrics.clone(),
        ));
        let state = AppState {
            inner: Arc::new(Inner {
                auth: Auth::new(&config.auth),
                config,
                writer,
                metrics,
                closing: AtomicBool::new(false),
                source: opts.context_source,
            }),
        };
        let worker = (!opts.disable_delivery).then_some(worker);
        Service {
            state,
            worker,
            writer_thread,
            checkpoint_stop,
            checkpoint_thread,
        }
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until `shutdown` resolves, then: stop accepting (503 for late requests), finish in-flight HTTP
    /// requests, let in-flight deliveries finish within [`SHUTDOWN_DRAIN`], and close the outbox.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let worker = self
            .worker
            .clone()
            .map(|w| tokio::spawn(w.run(stop_rx, SHUTDOWN_DRAIN)));
        let state = self.state.clone();
        let result = axum::serve(listener, router(self.state.clone()))
            .with_graceful_shutdown(async move {
                shutdown.await;
                tracing::info!("Shutting down: no longer accepting notifications.");
                state.inner.closing.store(true, Ordering::Relaxed);
                state.inner.writer.close();
            })
            .await;
        let _ = stop_tx.send(true);
        if let Some(w) = worker {
            let _ = w.await;
        }
        self.state.inner.writer.shutdown();
        self.checkpoint_stop.store(true, Ordering::Relaxed);
        let (w, c) = (self.writer_thread, self.checkpoint_thread);
        let _ = tokio::task::spawn_blocking(move || {
            let _ = w.join();
            let _ = c.join();
        })
        .await;
        tracing::info!("Stopped.");
        result
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Command-line flags (each with an environment variable). Embeddable in the `infermon` CLI with
/// `#[command(flatten)]` or as a subcommand's args.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// YAML config file; without it the embedded defaults are used.
    #[arg(long, env = "INFERMON_WEBHOOK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Listen address, e.g. 0.0.0.0:9095 (overrides the config).
    #[arg(long, env = "INFERMON_WEBHOOK_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory of the outbox database (overrides the config).
    #[arg(long, env = "INFERMON_WEBHOOK_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Prometheus base URL for model context (overrides the config).
    #[arg(long, env = "INFERMON_WEBHOOK_PROMETHEUS_URL")]
    pub prometheus_url: Option<String>,
    /// Log format.
    #[arg(long, env = "INFERMON_WEBHOOK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl Args {
    /// The config file (or embedded defaults) with the flags applied on top.
    pub fn load_config(&self) -> Result<Config, ConfigError> {
        let mut c = match &self.config {
            Some(p) => Config::load(p)?,
            None => Config::embedded_default(),
        };
        if let Some(l) = self.listen {
            c.listen = l;
        }
        if let Some(d) = &self.data_dir {
            c.data_dir = d.clone();
        }
        if let Some(u) = &self.prometheus_url {
            url::Url::parse(u).map_err(|e| ConfigError::Invalid {
                field: "--prometheus-url".into(),
                message: e.to_string(),
            })?;
            c.prometheus_url = u.clone();
        }
        Ok(c)
    }
}

/// Initialises tracing (RUST_LOG filters; default `info`).
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => b.json().try_init(),
        LogFormat::Text => b.try_init(),
    };
}

/// Errors that stop the program.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// Everything `main` does, for the `infermon-webhook` binary and `infermon webhook`: logging, config (file or
/// embedded defaults, flags on top), a tokio runtime, and [`run`] until SIGINT/SIGTERM.
pub fn run_blocking(args: Args) -> Result<(), RunError> {
    init_tracing(args.log_format);
    let config = args.load_config()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    rt.block_on(run(config))
}

/// Prints what the service is using (to stderr, no secrets).
pub fn print_banner(c: &Config) {
    eprintln!(
        "infermon-webhook {} using {}:",
        env!("CARGO_PKG_VERSION"),
        c.source
    );
    eprintln!("  listen:          {}", c.listen);
    eprintln!("  data dir:        {}", c.data_dir.display());
    eprintln!("  prometheus:      {}", c.prometheus_url);
    eprintln!("  receivers:       {:?}", c.receivers);
    eprintln!(
        "  auth:            {}",
        if c.auth.bearer_tokens.is_empty() && c.auth.basic.is_empty() {
            "none (set auth: in the config)"
        } else {
            "required"
        }
    );
    eprintln!(
        "  max body:        {} bytes; dedupe window {}",
        c.max_body_bytes,
        humantime::format_duration(c.dedupe_window)
    );
}

/// The whole program: banner, start, serve until SIGINT/SIGTERM, drain, exit.
pub async fn run(config: Config) -> Result<(), RunError> {
    print_banner(&config);
    let source = prom_context::source_for(&config);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| RunError::Listen {
            addr: config.listen,
            source,
        })?;
    tracing::info!(addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "Listening.");
    let service = Service::start(
        config,
        StartOptions {
            context_source: source,
            ..Default::default()
        },
    );
    service
        .serve(listener, shutdown_signal())
        .await
        .map_err(RunError::Serve)
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
