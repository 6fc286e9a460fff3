//! A live fleet: every replica serves `/metrics`, `/truth`, `/control` and `/health` on its own 127.0.0.1 port,
//! driven by the wall clock.
//!
//! The engines are advanced lazily: each request first advances the replica's engine to "now", then answers.
//! Between requests nothing runs, so an idle fleet costs no CPU, and a scrape sees exactly the state at its
//! time. A [`Fleet`] also writes the Prometheus `file_sd` JSON with the labels a Kubernetes ServiceMonitor would
//! attach (`namespace`, `pod`, `service`, `job`, and `model` for TGI, whose metrics
//! carry no model label).

use crate::config::{BackendKind, FleetConfig, ReplicaSpec};
use crate::engine::Engine;
use crate::expo::llamacpp::LlamacppExposition;
use crate::expo::sglang::SglangExposition;
use crate::expo::text::{
    CppStreamText, PythonText, RustExporterText, CONTENT_TYPE_PYTHON, CONTENT_TYPE_RUST,
};
use crate::expo::tgi::TgiExposition;
use crate::expo::vllm::VllmExposition;
use crate::scenario::Scenario;
use crate::truth::{Attainment, Totals, WindowTruth};
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Renders a replica's `/metrics` body as the real server would (content type, body).
pub fn render_metrics(engine: &Engine) -> (&'static str, String) {
    let now = engine.now();
    match engine.spec.backend {
        BackendKind::Vllm => {
            let mut sink = PythonText::default();
            VllmExposition {
                engine,
                now,
                runtime_families: true,
                created: true,
            }
            .write(&mut sink, &|_| true);
            (CONTENT_TYPE_PYTHON, sink.out)
        }
        BackendKind::Tgi => {
            let mut sink = RustExporterText::default();
            TgiExposition {
                engine,
                all_series: false,
            }
            .write(&mut sink, &|_| true);
            (CONTENT_TYPE_RUST, sink.finish())
        }
        BackendKind::Sglang => {
            let mut sink = PythonText::default();
            SglangExposition {
                engine,
                all_series: false,
            }
            .write(&mut sink, &|_| true);
            (CONTENT_TYPE_PYTHON, sink.out)
        }
        BackendKind::Llamacpp => {
            let mut sink = CppStreamText::default();
            LlamacppExposition { engine }.write(&mut sink, &|_| true);
            // llama.cpp sends `text/plain; version=0.0.4`, like TGI's exporter.
            (CONTENT_TYPE_RUST, sink.out)
        }
    }
}

/// How the fleet's clock runs.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// Simulated seconds per wall-clock second (1.0 = real time).
    pub speed: f64,
    /// Raw observations kept for `/truth` windows, seconds of simulated time.
    pub truth_keep_s: f64,
    /// Optional fleet-wide control port (0 = pick one, None = no fleet control endpoint).
    pub control_port: Option<u16>,
}

impl Default for FleetOptions {
    fn default() -> Self {
        FleetOptions {
            speed: 1.0,
            truth_keep_s: 3900.0,
            control_port: None,
        }
    }
}

/// Why a fleet could not start.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("cannot listen on 127.0.0.1:{port} for replica {pod}: {source}")]
    Bind {
        port: u16,
        pod: String,
        source: std::io::Error,
    },
    #[error("invalid option {field}: {message}")]
    Option {
        field: &'static str,
        message: String,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// One running replica.
#[derive(Debug)]
pub struct Replica {
    pub spec: ReplicaSpec,
    pub addr: SocketAddr,
    namespace: String,
    engine: Mutex<Engine>,
    clock: Clock,
}

#[derive(Debug, Clone, Copy)]
struct Clock {
    start: Instant,
    speed: f64,
}

impl Clock {
    fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * self.speed
    }
}

impl Replica {
    /// Runs `f` on the engine advanced to now.
    pub fn with_engine<T>(&self, f: impl FnOnce(&mut Engine) -> T) -> T {
        let mut e = self.engine.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.clock.now();
        e.advance_to(now);
        f(&mut e)
    }

    /// The Prometheus target labels a ServiceMonitor would give this replica.
    pub fn target_labels(&self) -> BTreeMap<String, String> {
        let mut l = BTreeMap::new();
        l.insert("namespace".into(), self.namespace.clone());
        l.insert("pod".into(), self.spec.pod.clone());
        l.insert("service".into(), self.spec.service.clone());
        l.insert("job".into(), self.spec.service.clone());
        if self.spec.backend.model_from_target() {
            l.insert(
                infermon_core::catalog::names::labels::MODEL.into(),
                self.spec.model.clone(),
            );
        }
        l
    }

    pub fn metrics_url(&self) -> String {
        format!("http://{}/metrics", self.addr)
    }

    pub fn set_scenario(&self, s: Scenario) {
        self.with_engine(|e| {
            let t = e.now();
            e.set_scenario(s, t)
        });
    }

    /// Ground truth now.
    pub fn truth(&self) -> TruthSnapshot {
        self.with_engine(|e| TruthSnapshot::of(e))
    }
}

/// `/truth` body.
#[derive(Debug, Clone, Serialize)]
pub struct TruthSnapshot {
    pub model: String,
    pub pod: String,
    pub backend: &'static str,
    pub version: &'static str,
    pub scenario: &'static str,
    pub time_unix: f64,
    pub engine_seconds: f64,
    pub queue_depth: usize,
    pub running: usize,
    pub kv_usage: f64,
    pub preemptions_total: u64,
    pub generated_tokens_total: u64,
    pub totals: Totals,
    pub attainment: Attainment,
    /// "1m", "5m", "15m", "1h".
    pub windows: BTreeMap<String, WindowTruth>,
}

impl TruthSnapshot {
    pub fn of(e: &Engine) -> TruthSnapshot {
        let now = e.now();
        let windows = [("1m", 60.0), ("5m", 300.0), ("15m", 900.0), ("1h", 3600.0)]
            .into_iter()
            .map(|(k, w)| (k.to_string(), e.truth.window(now, w)))
            .collect();
        TruthSnapshot {
            model: e.spec.model.clone(),
            pod: e.spec.pod.clone(),
            backend: e.spec.backend.id(),
            version: e.spec.version.id(),
            scenario: e.scenario().id(),
            time_unix: e.epoch_unix + now,
            engine_seconds: now,
            queue_depth: e.waiting.len(),
            running: e.running.len(),
            kv_usage: e.kv_usage(),
            preemptions_total: e.truth.preemptions,
            generated_tokens_total: e.truth.generated_tokens,
            totals: e.truth.total,
            attainment: e.truth.total.attainment(),
            windows,
        }
    }
}

/// A running fleet. Dropping it stops the servers.
pub struct Fleet {
    pub replicas: Vec<Arc<Replica>>,
    pub control_addr: Option<SocketAddr>,
    shutdown: Option<tokio::sync::watch::Sender<bool>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("replicas", &self.replicas.len())
            .finish()
    }
}

impl Fleet {
    /// Binds every replica's port and starts serving (inside the current tokio runtime).
    pub async fn start(cfg: &FleetConfig, opts: FleetOptions) -> Result<Fleet, FleetError> {
        if !(opts.speed.is_finite() && opts.speed > 0.0 && opts.speed <= 10_000.0) {
            return Err(FleetError::Option {
                field: "speed",
                message: format!("{} is invalid: accepted 0 < speed ≤ 10000", opts.speed),
            });
        }
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let clock = Clock {
            start: Instant::now(),
            speed: opts.speed,
        };
        let (tx, rx) = tokio::sync::watch::channel(false);
        let mut replicas = Vec::new();
        let mut listeners = Vec::new();
        for spec in cfg.replicas() {
            let port = if cfg.base_port == 0 {
                0
            } else {
                cfg.base_port + spec.index as u16
            };
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .map_err(|source| FleetError::Bind {
                    port,
                    pod: spec.pod.clone(),
                    source,
                })?;
            let addr = listener.local_addr().map_err(|source| FleetError::Bind {
                port,
                pod: spec.pod.clone(),
                source,
            })?;
            let engine = Engine::new(spec.clone(), cfg.seed, epoch, Some(opts.truth_keep_s));
            replicas.push(Arc::new(Replica {
                spec,
                addr,
                namespace: cfg.namespace.clone(),
                engine: Mutex::new(engine),
                clock,
            }));
            listeners.push(listener);
        }
        let mut tasks = Vec::new();
        for (r, listener) in replicas.iter().zip(listeners) {
            let app = replica_router(r.clone());
            tasks.push(spawn_server(listener, app, rx.clone()));
        }
        let mut control_addr = None;
        if let Some(port) = opts.control_port {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .map_err(|source| FleetError::Bind {
                    port,
                    pod: "(fleet control)".into(),
                    source,
                })?;
            control_addr = listener.local_addr().ok();
            tasks.push(spawn_server(
                listener,
                fleet_router(replicas.clone()),
                rx.clone(),
            ));
        }
        Ok(Fleet {
            replicas,
            control_addr,
            shutdown: Some(tx),
            tasks,
        })
    }

    /// Prometheus `file_sd` JSON: one target group per replica with its ServiceMonitor-like labels.
    pub fn file_sd_json(&self) -> String {
        let groups: Vec<serde_json::Value> = self
            .replicas
            .iter()
            .map(|r| serde_json::json!({ "targets": [r.addr.to_string()], "labels": r.target_labels() }))
            .collect();
        serde_json::to_string_pretty(&groups).expect("JSON") + "\n"
    }

    /// A `scrape_configs` snippet reading the file_sd file at `path`.
    pub fn scrape_config_yaml(path: &str, interval: &str) -> String {
        format!(
            "scrape_configs:\n  - job_name: infermon-sim\n    scrape_interval: {interval}\n    honor_labels: false\n    file_sd_configs:\n      - files: ['{path}']\n"
        )
    }

    pub fn write_file_sd(&self, path: &std::path::Path) -> Result<(), FleetError> {
        std::fs::write(path, self.file_sd_json()).map_err(|source| FleetError::Write {
            path: path.display().to_string(),
            source,
        })
    }

    /// Switches the scenario of the replicas of `model` (all models when None).
    pub fn set_scenario(&self, model: Option<&str>, s: Scenario) -> usize {
        let mut n = 0;
        for r in &self.replicas {
            if model.is_none_or(|m| m == r.spec.model || m == r.spec.pod) {
                r.set_scenario(s);
                n += 1;
            }
        }
        n
    }

    /// Stops the servers and waits for them.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn spawn_server(
    listener: tokio::net::TcpListener,
    app: Router,
    mut rx: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.wait_for(|stop| *stop).await;
            })
            .await;
    })
}

fn replica_router(r: Arc<Replica>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/truth", get(truth))
        .route("/health", get(health))
        .route("/control", get(get_control).post(post_control))
        .with_state(r)
}

async fn metrics(State(r): State<Arc<Replica>>) -> Response {
    let out = r.with_engine(|e| {
        if e.is_outage() {
            None
        } else {
            Some(render_metrics(e))
        }
    });
    match out {
        // An outage: the replica does not answer scrapes (Prometheus records up == 0).
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "replica is down (scenario outage)\n",
        )
            .into_response(),
        Some((ct, body)) => ([(header::CONTENT_TYPE, ct)], body).into_response(),
    }
}

async fn truth(State(r): State<Arc<Replica>>) -> Json<TruthSnapshot> {
    Json(r.truth())
}

async fn health(State(r): State<Arc<Replica>>) -> StatusCode {
    if r.with_engine(|e| e.is_outage()) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

#[derive(Serialize)]
struct ControlState {
    pod: String,
    model: String,
    scenario: &'static str,
    accepted: Vec<&'static str>,
}

async fn get_control(State(r): State<Arc<Replica>>) -> Json<ControlState> {
    let scenario = r.with_engine(|e| e.scenario().id());
    Json(ControlState {
        pod: r.spec.pod.clone(),
        model: r.spec.model.clone(),
        scenario,
        accepted: Scenario::ALL.iter().map(|s| s.id()).collect(),
    })
}

fn parse_scenario(q: &HashMap<String, String>) -> Result<Scenario, (StatusCode, String)> {
    let s = q.get("scenario").ok_or_else(|| {
        (
            StatusCode::BAD_REQUEST,
            format!(
                "missing query parameter scenario: accepted values are {}\n",
                Scenario::accepted()
            ),
        )
    })?;
    s.parse::<Scenario>()
        .map_err(|m| (StatusCode::BAD_REQUEST, m + "\n"))
}

async fn post_control(
    State(r): State<Arc<Replica>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match parse_scenario(&q) {
        Ok(s) => {
            r.set_scenario(s);
            get_control(State(r)).await.into_response()
        }
        Err(resp) => resp.into_response(),
    }
}

fn fleet_router(replicas: Vec<Arc<Replica>>) -> Router {
    Router::new()
        .route("/control", get(fleet_get).post(fleet_post))
        .with_state(Arc::new(replicas))
}

async fn fleet_get(State(rs): State<Arc<Vec<Arc<Replica>>>>) -> Json<Vec<ControlState>> {
    let mut out = Vec::new();
    for r in rs.iter() {
        out.push(get_control(State(r.clone())).await.0);
    }
    Json(out)
}

async fn fleet_post(
    State(rs): State<Arc<Vec<Arc<Replica>>>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = match parse_scenario(&q) {
        Ok(s) => s,
        Err(resp) => return resp.into_response(),
    };
    let filter = q.get("model").or(q.get("pod"));
    let matched: Vec<&Arc<Replica>> = rs
        .iter()
        .filter(|r| filter.is_none_or(|m| *m == r.spec.model || *m == r.spec.pod))
        .collect();
    if matched.is_empty() {
        let known: Vec<&str> = rs.iter().map(|r| r.spec.pod.as_str()).collect();
        return (
            StatusCode::NOT_FOUND,
            format!("no replica matches {filter:?}: pods are {known:?} (or use a model name)\n"),
        )
            .into_response();
    }
    for r in &matched {
        r.set_scenario(s);
    }
    fleet_get(State(rs.clone())).await.into_response()
}

/// A fleet with its own tokio runtime, for synchronous callers (tests, demos): dropping it stops everything.
pub struct BackgroundFleet {
    fleet: Option<Fleet>,
    rt: tokio::runtime::Runtime,
}

impl BackgroundFleet {
    /// Starts `cfg` on a private 2-thread runtime.
    pub fn start(cfg: &FleetConfig, opts: FleetOptions) -> Result<BackgroundFleet, FleetError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("infermon-sim")
            .enable_all()
            .build()
            .map_err(|source| FleetError::Bind {
                port: 0,
                pod: "(runtime)".into(),
                source,
            })?;
        let fleet = rt.block_on(Fleet::start(cfg, opts))?;
        Ok(BackgroundFleet {
            fleet: Some(fleet),
            rt,
        })
    }

    pub fn fleet(&self) -> &Fleet {
        self.fleet.as_ref().expect("running")
    }
}

impl std::ops::Deref for BackgroundFleet {
    type Target = Fleet;
    fn deref(&self) -> &Fleet {
        self.fleet()
    }
}

impl Drop for BackgroundFleet {
    fn drop(&mut self) {
        if let Some(f) = self.fleet.take() {
            self.rt.block_on(f.shutdown());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_background_fleet_serves_metrics_truth_and_control_and_stops_on_drop() {
        let cfg = FleetConfig::from_yaml("models: [{name: m/x, backend: vllm, service: x}]", "t")
            .unwrap();
        let addr;
        {
            let f = BackgroundFleet::start(
                &cfg,
                FleetOptions {
                    speed: 50.0,
                    ..FleetOptions::default()
                },
            )
            .unwrap();
            addr = f.replicas[0].addr;
            std::thread::sleep(std::time::Duration::from_millis(300));
            let get = |path: &str| {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                use std::io::{Read, Write};
                write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
                let mut out = String::new();
                s.read_to_string(&mut out).unwrap();
                out
            };
            let m = get("/metrics");
            assert!(
                m.starts_with("HTTP/1.0 200") || m.starts_with("HTTP/1.1 200"),
                "{m}"
            );
            assert!(m.contains("vllm:num_requests_running{engine=\"0\",model_name=\"m/x\"}"));
            assert!(get("/truth").contains("\"windows\""));
            assert!(f.file_sd_json().contains("\"job\": \"x\""));
            assert_eq!(f.set_scenario(Some("m/x"), Scenario::Outage), 1);
            assert!(get("/metrics").contains(" 503 "));
        }
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "stopped on drop"
        );
    }
}
