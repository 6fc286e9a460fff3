//! `infermon demo`: a complete, live inference-monitoring stack on loopback in one command — the simulator's
//! default fleet (in process), a real Prometheus with infermon's generated rules, a real Alertmanager and the
//! alert webhook (log receiver, enrichment from the demo's Prometheus) — then `infermon top` (or plain periodic
//! output with `--no-tui`). A scripted scenario makes an alert fire; its enriched notification is shown.
//!
//! Why this shape: the components are the real ones a user deploys (Debian `prometheus`,
//! `prometheus-alertmanager`, the webhook binary code path), so the demo shows what production does. The
//! webhook runs as a child (`infermon demo --serve-webhook CONFIG`, hidden) because its log receiver writes to
//! stdout, which the demo reads through a pipe instead of letting it scribble over the full-screen view.
//! Children are supervised by [`supervisor`]: no orphans on any exit path.

pub mod configs;
pub mod supervisor;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Args;
use infermon_core::PromDuration;
use infermon_sim::fleet::{Fleet, FleetOptions};
use infermon_sim::{FleetConfig, Scenario};

use crate::cmd::top::{self, view, Source, TopError, ViewState};
use supervisor::{find_binary, free_port, Stdout, Supervisor};

#[derive(Debug, Args)]
#[command(after_help = "\
What happens: the simulated fleet (2 vLLM models × 2 replicas + 1 TGI model) starts on free 127.0.0.1 ports,
Prometheus scrapes it every 5 s and evaluates infermon's recording, alerting and SLO rules (unchanged, as
generated in manifests/prometheus/), Alertmanager routes alerts with a `model` label to the webhook (5 s
group_wait), and the webhook logs each notification enriched with live model context. After --scenario-after,
the scenario is switched on for one model; with the default (`errors`: 25 % of requests fail) the SLO page alert
InferenceSLOErrorBudgetBurn (for: 2m) fires about 2.5 minutes after the start and its enriched notification
appears. Ctrl-C, `q` or SIGTERM stop every process the demo started.

Scenarios: errors (SLO burn on errors, ~2.5 min), slow-prefill (TTFT SLO burn, ~2.5 min), burst, kv-pressure,
  stall, outage (their alerts have for: 5–15 min), steady (no alert).

Examples:
  infermon demo                                   # live view; q to stop
  infermon demo --no-tui --duration 4m            # plain output every 10 s, stops cleanly after 4 minutes
  infermon demo --scenario slow-prefill --scenario-model Qwen/Qwen3-4B-Instruct-2507-FP8
  infermon demo --data ./demo-data                # keep Prometheus/Alertmanager/webhook data between runs

Requires the Debian packages prometheus and prometheus-alertmanager (or INFERMON_PROMETHEUS_BIN /
INFERMON_ALERTMANAGER_BIN pointing to the binaries).")]
pub struct DemoArgs {
    /// Scenario switched on for one model after --scenario-after.
    #[arg(long, default_value = "errors")]
    scenario: String,
    /// Model (or pod) that gets the scenario; default: the first model of the fleet.
    #[arg(long)]
    scenario_model: Option<String>,
    /// When to switch the scenario on, after the start.
    #[arg(long, default_value = "15s")]
    scenario_after: PromDuration,
    /// Stop cleanly after this long (e.g. 4m) and exit 0; default: run until Ctrl-C / q / SIGTERM.
    #[arg(long)]
    duration: Option<PromDuration>,
    /// Keep all data (configs, logs, Prometheus TSDB, webhook outbox) in this directory instead of a temporary
    /// one that is removed on exit.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Plain periodic output instead of the full-screen view (for scripts and CI).
    #[arg(long)]
    no_tui: bool,
    /// Refresh interval of the view (and of the plain output: every 5 refreshes).
    #[arg(long, default_value = "2s")]
    refresh: PromDuration,
    /// Prometheus binary.
    #[arg(long, env = "INFERMON_PROMETHEUS_BIN", default_value = "prometheus")]
    prometheus_bin: PathBuf,
    /// Alertmanager binary.
    #[arg(
        long,
        env = "INFERMON_ALERTMANAGER_BIN",
        default_value = "prometheus-alertmanager"
    )]
    alertmanager_bin: PathBuf,
    /// Internal: run the webhook with this config (the demo starts itself this way).
    #[arg(long, hide = true)]
    serve_webhook: Option<PathBuf>,
}

/// Why the demo stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("`{name}` not found on PATH or in /usr/bin: install the Debian package `{package}` (apt-get install -y {package}) or set {env}")]
    MissingBinary {
        name: String,
        package: &'static str,
        env: &'static str,
    },
    #[error("--scenario: {0}")]
    Scenario(String),
    #[error("--scenario-model: no model or pod named {name:?} in the fleet; accepted: {accepted}")]
    ScenarioModel { name: String, accepted: String },
    #[error("simulator: {0}")]
    Sim(#[from] infermon_sim::fleet::FleetError),
    #[error("{component} did not become ready within {waited:?} {details}")]
    NotReady {
        component: &'static str,
        waited: Duration,
        /// Where it was probed, the last answer, and the log tail.
        details: String,
    },
    #[error("{component} exited ({status}); log {log}:\n{tail}")]
    Exited {
        component: &'static str,
        status: String,
        log: String,
        tail: String,
    },
    #[error(transparent)]
    Top(#[from] TopError),
    #[error("webhook: {0}")]
    Webhook(#[from] infermon_webhook::RunError),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> DemoError {
    let what = what.into();
    move |source| DemoError::Io { what, source }
}

pub fn run(args: DemoArgs) -> Result<(), DemoError> {
    if let Some(config) = &args.serve_webhook {
        return serve_webhook(config);
    }
    let started = Instant::now();
    let scenario: Scenario = args.scenario.parse().map_err(DemoError::Scenario)?;
    let prometheus_bin = locate(
        &args.prometheus_bin,
        "prometheus",
        "INFERMON_PROMETHEUS_BIN",
    )?;
    let alertmanager_bin = locate(
        &args.alertmanager_bin,
        "prometheus-alertmanager",
        "INFERMON_ALERTMANAGER_BIN",
    )?;
    let self_exe = std::env::current_exe().map_err(io("locate the infermon binary"))?;

    let (_tmp, dir) = match &args.data {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(io(format!("create --data {}", d.display())))?;
            (
                None,
                d.canonicalize()
                    .map_err(io(format!("resolve --data {}", d.display())))?,
            )
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("infermon-demo-")
                .tempdir()
                .map_err(io("create a temporary directory"))?;
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(io("start the async runtime"))?;
    let stop = top::stop_on_signals(&rt);

    // The simulated fleet, in process.
    let fleet_cfg = FleetConfig::default_fleet();
    let fleet = rt.block_on(Fleet::start(
        &fleet_cfg,
        FleetOptions {
            control_port: Some(0),
            ..FleetOptions::default()
        },
    ))?;
    let target_model = match &args.scenario_model {
        Some(m) => {
            if !fleet
                .replicas
                .iter()
                .any(|r| &r.spec.model == m || &r.spec.pod == m)
            {
                let mut names: Vec<String> =
                    fleet_cfg.models.iter().map(|m| m.name.clone()).collect();
                names.extend(fleet.replicas.iter().map(|r| r.spec.pod.clone()));
                return Err(DemoError::ScenarioModel {
                    name: m.clone(),
                    accepted: names.join(", "),
                });
            }
            m.clone()
        }
        None => fleet_cfg.models[0].name.clone(),
    };
    let file_sd = dir.join("targets.json");
    fleet.write_file_sd(&file_sd)?;
    let rules_dir = dir.join("rules");
    std::fs::create_dir_all(&rules_dir).map_err(io(format!("create {}", rules_dir.display())))?;
    for (name, text) in configs::RULE_FILES {
        let p = rules_dir.join(name);
        std::fs::write(&p, text).map_err(io(format!("write {}", p.display())))?;
    }

    let mut sup = Supervisor::default();
    let child_pids = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let deadline = args
        .duration
        .map(|d| started + Duration::from_millis(d.as_millis()));
    let watchdog = spawn_watchdog(stop.clone(), deadline, finished.clone(), child_pids.clone());
    let result = (|| {
        let stack = start_stack(
            &mut sup,
            &rt,
            &dir,
            &file_sd,
            &rules_dir,
            &prometheus_bin,
            &alertmanager_bin,
            &self_exe,
        )?;
        *child_pids.lock().unwrap_or_else(|e| e.into_inner()) =
            sup.pids().iter().map(|(_, pid)| *pid).collect();
        let prom_url = format!("http://127.0.0.1:{}", stack.prometheus_port);
        let (up, total) = wait_for_targets(
            &rt,
            &prom_url,
            fleet.replicas.len(),
            Duration::from_secs(20),
        );
        print_banner(
            &stack,
            &prom_url,
            &dir,
            started,
            &fleet,
            up,
            total,
            &sup,
            scenario,
            &target_model,
            &args,
        );
        run_loop(
            &args,
            &rt,
            &mut sup,
            &fleet,
            scenario,
            &target_model,
            &prom_url,
            stack.notifications,
            started,
            &stop,
        )
    })();
    // Every exit path: stop the children (Prometheus first, the webhook last so it can deliver), then the fleet.
    if !args.no_tui {
        let _ = ratatui::crossterm::terminal::disable_raw_mode();
    }
    println!("infermon demo: stopping");
    let stopped = sup.stop_all(&["prometheus", "alertmanager", "webhook"]);
    for (name, how) in &stopped {
        println!("infermon demo: {name} {how}");
    }
    rt.block_on(fleet.shutdown());
    rt.shutdown_timeout(Duration::from_secs(2));
    finished.store(true, Ordering::Relaxed);
    let _ = watchdog.join();
    match &args.data {
        Some(d) => println!("infermon demo: stopped; data kept in {}", d.display()),
        None => println!("infermon demo: stopped; temporary data removed"),
    }
    result
}

/// How long the main loop may take to notice a stop request before the watchdog acts.
const WATCHDOG_GRACE: Duration = Duration::from_secs(30);

/// Guarantees that a stop request (signal, hang-up, `--duration`) stops the demo even when the main loop cannot
/// notice it — e.g. crossterm's event reader spinning on a terminal that went away. If the main loop has not
/// finished [`WATCHDOG_GRACE`] after the request, the watchdog sends SIGTERM to every child, SIGKILL to those still
/// alive 5 s later, and exits the process.
fn spawn_watchdog(
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    deadline: Option<Instant>,
    finished: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pids: std::sync::Arc<std::sync::Mutex<Vec<u32>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let requested =
            || stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d);
        while !requested() {
            if finished.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let asked = Instant::now();
        while asked.elapsed() < WATCHDOG_GRACE {
            if finished.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("infermon demo: the main loop did not stop in time (terminal gone?); stopping the children");
        let pids = pids.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for signal in [rustix::process::Signal::TERM, rustix::process::Signal::KILL] {
            for pid in pids
                .iter()
                .filter_map(|p| rustix::process::Pid::from_raw(*p as i32))
            {
                let _ = rustix::process::kill_process(pid, signal);
            }
            std::thread::sleep(Duration::from_secs(5));
        }
        std::process::exit(if stop.load(Ordering::Relaxed) { 130 } else { 0 });
    })
}

fn locate(bin: &Path, package: &'static str, env: &'static str) -> Result<PathBuf, DemoError> {
    let found = if bin.components().count() > 1 {
        bin.is_file().then(|| bin.to_path_buf())
    } else {
        find_binary(&bin.to_string_lossy())
    };
    found.ok_or_else(|| DemoError::MissingBinary {
        name: bin.display().to_string(),
        package,
        env,
    })
}

/// The webhook child: the service exactly as `infermon-webhook --config FILE` runs it.
fn serve_webhook(config: &Path) -> Result<(), DemoError> {
    infermon_webhook::init_tracing(infermon_webhook::LogFormat::Text);
    let config =
        infermon_webhook::Config::load(config).map_err(infermon_webhook::RunError::Config)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(io("start the async runtime"))?;
    rt.block_on(infermon_webhook::run(config))?;
    Ok(())
}

struct Stack {
    prometheus_port: u16,
    alertmanager_port: u16,
    webhook_port: u16,
    notifications: mpsc::Receiver<String>,
}

/// Starts Alertmanager, Prometheus and the webhook, each retried on new ports if its port was taken meanwhile.
/// Alertmanager is configured with a reserved webhook port; should the webhook land elsewhere, Alertmanager's
/// config is rewritten and reloaded.
#[allow(clippy::too_many_arguments)]
fn start_stack(
    sup: &mut Supervisor,
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    file_sd: &Path,
    rules_dir: &Path,
    prometheus_bin: &Path,
    alertmanager_bin: &Path,
    self_exe: &Path,
) -> Result<Stack, DemoError> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| DemoError::Io {
            what: "HTTP client".into(),
            source: std::io::Error::other(e),
        })?;
    let webhook_port_reserved = free_port()?;

    let am_cfg = dir.join("alertmanager.yml");
    let am_data = dir.join("alertmanager");
    write(&am_cfg, &configs::alertmanager_yml(webhook_port_reserved))?;
    let alertmanager_port = start_with_retry(
        sup,
        rt,
        &http,
        Component {
            name: "alertmanager",
            ready_path: "/-/ready",
            log: &dir.join("alertmanager.log"),
            first_port: None,
        },
        |sup, port| {
            let args = vec![
                format!("--config.file={}", am_cfg.display()),
                format!("--storage.path={}", am_data.display()),
                format!("--web.listen-address=127.0.0.1:{port}"),
                "--cluster.listen-address=".into(),
                format!("--web.external-url=http://127.0.0.1:{port}"),
            ];
            sup.spawn(
                "alertmanager",
                alertmanager_bin,
                &args,
                &dir.join("alertmanager.log"),
                Stdout::Log,
            )?;
            Ok(())
        },
    )?;

    let prom_cfg = dir.join("prometheus.yml");
    let prom_data = dir.join("prometheus");
    write(
        &prom_cfg,
        &configs::prometheus_yml(file_sd, rules_dir, alertmanager_port),
    )?;
    let prometheus_port = start_with_retry(
        sup,
        rt,
        &http,
        Component {
            name: "prometheus",
            ready_path: "/-/ready",
            log: &dir.join("prometheus.log"),
            first_port: None,
        },
        |sup, port| {
            let args = vec![
                format!("--config.file={}", prom_cfg.display()),
                format!("--storage.tsdb.path={}", prom_data.display()),
                format!("--web.listen-address=127.0.0.1:{port}"),
                format!("--web.external-url=http://127.0.0.1:{port}"),
                "--web.enable-lifecycle".into(),
            ];
            sup.spawn(
                "prometheus",
                prometheus_bin,
                &args,
                &dir.join("prometheus.log"),
                Stdout::Log,
            )?;
            Ok(())
        },
    )?;

    let webhook_data = dir.join("webhook");
    std::fs::create_dir_all(&webhook_data)
        .map_err(io(format!("create {}", webhook_data.display())))?;
    let webhook_cfg = dir.join("webhook.yml");
    let mut pipe = None;
    let webhook_port = start_with_retry(
        sup,
        rt,
        &http,
        Component {
            name: "webhook",
            ready_path: "/readyz",
            log: &dir.join("webhook.log"),
            first_port: Some(webhook_port_reserved),
        },
        |sup, port| {
            write(
                &webhook_cfg,
                &configs::webhook_yml(port, &webhook_data, prometheus_port, alertmanager_port),
            )?;
            let args = vec![
                "demo".to_string(),
                "--serve-webhook".into(),
                webhook_cfg.display().to_string(),
            ];
            let (_, out) = sup.spawn(
                "webhook",
                self_exe,
                &args,
                &dir.join("webhook.log"),
                Stdout::Piped,
            )?;
            pipe = out;
            Ok(())
        },
    )?;
    if webhook_port != webhook_port_reserved {
        write(&am_cfg, &configs::alertmanager_yml(webhook_port))?;
        let url = format!("http://127.0.0.1:{alertmanager_port}/-/reload");
        rt.block_on(async { http.post(&url).send().await })
            .map_err(|e| DemoError::Io {
                what: format!("reload Alertmanager ({url})"),
                source: std::io::Error::other(e),
            })?;
    }
    let (tx, notifications) = mpsc::channel();
    if let Some(out) = pipe.take() {
        let jsonl = dir.join("notifications.jsonl");
        std::thread::Builder::new()
            .name("webhook-stdout".into())
            .spawn(move || read_notifications(out, &jsonl, tx))
            .map_err(io("start the notification reader"))?;
    }
    Ok(Stack {
        prometheus_port,
        alertmanager_port,
        webhook_port,
        notifications,
    })
}

fn write(path: &Path, text: &str) -> Result<(), DemoError> {
    std::fs::write(path, text).map_err(io(format!("write {}", path.display())))
}

/// A child process of the demo as `start_with_retry` probes it.
struct Component<'a> {
    name: &'static str,
    /// Answers 200 once the component is ready.
    ready_path: &'a str,
    log: &'a Path,
    /// Port to try first (else a free one).
    first_port: Option<u16>,
}

/// Spawns a component on a free port (via `spawn(sup, port)`) and waits until `ready_path` answers 200.
/// A start that fails because the port was taken in the meantime is retried on another port (3 attempts).
fn start_with_retry(
    sup: &mut Supervisor,
    rt: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    component: Component<'_>,
    mut spawn: impl FnMut(&mut Supervisor, u16) -> Result<(), DemoError>,
) -> Result<u16, DemoError> {
    let Component {
        name,
        ready_path,
        log,
        first_port,
    } = component;
    for attempt in 1..=3 {
        let port = match first_port {
            Some(p) if attempt == 1 => p,
            _ => free_port()?,
        };
        spawn(sup, port)?;
        let url = format!("http://127.0.0.1:{port}{ready_path}");
        let t0 = Instant::now();
        let timeout = Duration::from_secs(30);
        let mut last;
        loop {
            if let Some((status, tail)) = sup.exited_named(name) {
                sup.remove(name);
                if attempt < 3 && tail.to_lowercase().contains("address already in use") {
                    break;
                }
                return Err(DemoError::Exited {
                    component: name,
                    status: status.to_string(),
                    log: log.display().to_string(),
                    tail,
                });
            }
            match rt.block_on(async { http.get(&url).send().await }) {
                Ok(r) if r.status().as_u16() == 200 => {
                    // A 200 from a process that took the port first (e.g. another demo) is not our child being
                    // ready: our child then fails with "address already in use". Check who listens.
                    let pid = sup
                        .pids()
                        .into_iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, pid)| pid);
                    match pid.and_then(|pid| supervisor::owns_listening_port(pid, port)) {
                        Some(false) if attempt < 3 => {
                            sup.remove(name);
                            break;
                        }
                        Some(false) => {
                            sup.remove(name);
                            return Err(DemoError::NotReady {
                                component: name,
                                waited: t0.elapsed(),
                                details: format!("at {url}: another process holds port {port}"),
                            });
                        }
                        _ => return Ok(port),
                    }
                }
                Ok(r) => last = format!("HTTP {}", r.status()),
                Err(e) => last = e.to_string(),
            }
            if t0.elapsed() > timeout {
                let tail = supervisor::tail(log, 15);
                sup.remove(name);
                return Err(DemoError::NotReady {
                    component: name,
                    waited: t0.elapsed(),
                    details: format!("at {url} (last: {last}); log {}:\n{tail}", log.display()),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    unreachable!("the last attempt returns")
}

/// Waits until Prometheus reports `want` targets up (or the timeout); returns (up, total).
fn wait_for_targets(
    rt: &tokio::runtime::Runtime,
    prom_url: &str,
    want: usize,
    timeout: Duration,
) -> (usize, usize) {
    let url = format!("{prom_url}/api/v1/targets?state=active");
    let t0 = Instant::now();
    let mut last = (0, 0);
    while t0.elapsed() < timeout {
        if let Ok(v) =
            rt.block_on(async { reqwest::get(&url).await?.json::<serde_json::Value>().await })
        {
            let targets = v["data"]["activeTargets"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let up = targets.iter().filter(|t| t["health"] == "up").count();
            last = (up, targets.len());
            if up >= want {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    last
}

fn expected_alert(s: Scenario) -> &'static str {
    match s {
        Scenario::Errors => "InferenceSLOErrorBudgetBurn{slo=\"errors\"} (page, for: 2m): ~2.5 min after the switch",
        Scenario::SlowPrefill => "InferenceSLOErrorBudgetBurn{slo=\"ttft-500ms\"} (page, for: 2m): ~2.5 min after the switch",
        Scenario::Burst => "InferenceQueueBuildingUp / InferenceQueueCritical when the queue stays high (for: 5m / 2m)",
        Scenario::KvPressure => "FrequentPreemptions (for: 5m), HighKVCacheUsage (for: 10m)",
        Scenario::Stall => "LowTokenThroughput (for: 10m)",
        Scenario::Outage => "the replicas' targets go down (InferenceMetricsMissing after 10+ min)",
        Scenario::Steady => "none (steady traffic)",
    }
}

#[allow(clippy::too_many_arguments)]
fn print_banner(
    stack: &Stack,
    prom_url: &str,
    dir: &Path,
    started: Instant,
    fleet: &Fleet,
    up: usize,
    total: usize,
    sup: &Supervisor,
    scenario: Scenario,
    target_model: &str,
    args: &DemoArgs,
) {
    let models: std::collections::BTreeSet<&str> = fleet
        .replicas
        .iter()
        .map(|r| r.spec.model.as_str())
        .collect();
    let pids: Vec<String> = sup.pids().iter().map(|(n, p)| format!("{n}={p}")).collect();
    let mut out = String::new();
    out += &format!(
        "infermon demo: up in {:.1} s; data in {}\n",
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    out += &format!(
        "  simulator     {} replicas of {} models (vLLM latest, vLLM 0.10, TGI 3)",
        fleet.replicas.len(),
        models.len()
    );
    if let Some(c) = fleet.control_addr {
        out +=
            &format!("; control: curl -X POST 'http://{c}/control?scenario=burst&model=<model>'");
    }
    out += "\n";
    out += &format!(
        "  Prometheus    {prom_url}   targets {up}/{total} up; rules: {}\n",
        dir.join("rules").display()
    );
    out += &format!(
        "  Alertmanager  http://127.0.0.1:{}\n",
        stack.alertmanager_port
    );
    out += &format!("  webhook       http://127.0.0.1:{}/api/v1/alerts (log receiver, enrichment from Prometheus)\n", stack.webhook_port);
    out += &format!("  pids          {}\n", pids.join(" "));
    out += &format!(
        "scenario: `{}` on {target_model} at +{}s; expected alert: {}\n",
        scenario.id(),
        args.scenario_after.as_secs_f64(),
        expected_alert(scenario)
    );
    out += &format!("try:  infermon query fleet --prometheus-url {prom_url}\n");
    out += &format!("      infermon top --prometheus-url {prom_url}\n");
    out += "add infermon's data source to your Grafana (docs/plugin.md):\n";
    out += "      scripts/package-plugin.sh                        # builds dist/infermon-inference-datasource\n";
    out += "      cp -r dist/infermon-inference-datasource /var/lib/grafana/plugins/\n";
    out += "      GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS=infermon-inference-datasource   # or grafana.ini [plugins]\n";
    out += &format!("      then add a data source of type \"Inference\" with URL {prom_url} (restart Grafana first)\n");
    print!("{out}");
    let _ = std::io::stdout().flush();
}

/// Reads the webhook's stdout: one JSON line per delivered notification (the `log` receiver). Each line is
/// appended to `notifications.jsonl` and sent, formatted, to the demo's output.
fn read_notifications(out: std::process::ChildStdout, jsonl: &Path, tx: mpsc::Sender<String>) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(jsonl)
        .ok();
    for line in BufReader::new(out).lines() {
        let Ok(line) = line else { break };
        if let Some(f) = file.as_mut() {
            let _ = writeln!(f, "{line}");
            let _ = f.flush();
        }
        if tx.send(format_notification(&line)).is_err() {
            break;
        }
    }
}

/// `[FIRING:1] InferenceSLOErrorBudgetBurn — enriched: meta-llama/…: Queue depth 0 · KV-cache usage 3.1% · …`
pub fn format_notification(line: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
        return format!("webhook: {line}");
    };
    let title = v["title"].as_str().unwrap_or("notification");
    let ctx: Option<infermon_webhook::enrich::Context> =
        serde_json::from_value(v["context"].clone()).ok();
    let mut s = format!("webhook notification {title}");
    if let Some(a) = v["alerts"]
        .as_array()
        .and_then(|a| a.first())
        .and_then(|a| a.as_str())
    {
        s += &format!(" | {a}");
    }
    match ctx {
        Some(c) if c.status == infermon_webhook::enrich::ContextStatus::Ok => {
            s += &format!(" | enriched ({} PromQL queries):", c.promql_queries);
            for (model, figs) in infermon_webhook::notify::context_rows(&c) {
                let figs: Vec<String> = figs.iter().map(|(l, v)| format!("{l} {v}")).collect();
                s += &format!("\n    {model}: {}", figs.join(" · "));
            }
        }
        Some(c) => {
            s += &format!(
                " | not enriched: {}",
                c.note.unwrap_or_else(|| format!("{:?}", c.status))
            )
        }
        None => s += " | no context",
    }
    s
}

#[allow(clippy::too_many_arguments)]
fn run_loop(
    args: &DemoArgs,
    rt: &tokio::runtime::Runtime,
    sup: &mut Supervisor,
    fleet: &Fleet,
    scenario: Scenario,
    target_model: &str,
    prom_url: &str,
    notifications: mpsc::Receiver<String>,
    started: Instant,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<(), DemoError> {
    let refresh = Duration::from_millis(args.refresh.as_millis().max(1000));
    let source = Source::new(
        prom_url,
        PromDuration::from_secs(60),
        top::query_timeout(refresh),
    )?;
    let deadline = args
        .duration
        .map(|d| started + Duration::from_millis(d.as_millis()));
    let switch_at = started + Duration::from_millis(args.scenario_after.as_millis());
    let mut switched = false;
    let mut failure: Option<DemoError> = None;
    // Shared per-tick work: scenario switch, notifications, stop conditions. Returns false to stop.
    let mut tick = |events: &mut dyn FnMut(String)| -> bool {
        if !switched && Instant::now() >= switch_at {
            switched = true;
            let n = fleet.set_scenario(Some(target_model), scenario);
            events(format!(
                "scenario `{}` switched on for {target_model} ({n} replicas) at +{:.0}s; expected: {}",
                scenario.id(),
                started.elapsed().as_secs_f64(),
                expected_alert(scenario)
            ));
        }
        while let Ok(text) = notifications.try_recv() {
            let at = started.elapsed().as_secs_f64();
            for (i, line) in text.lines().enumerate() {
                events(if i == 0 {
                    format!("+{at:.0}s {line}")
                } else {
                    line.to_string()
                });
            }
        }
        if let Some((name, status, tail)) = sup.exited() {
            failure = Some(DemoError::Exited {
                component: name,
                status: status.to_string(),
                log: format!("{name}.log"),
                tail,
            });
            return false;
        }
        if stop.load(Ordering::Relaxed) {
            events("signal received".into());
            return false;
        }
        deadline.is_none_or(|d| Instant::now() < d)
    };
    let ascii = !view::locale_is_utf8();
    let mut state = ViewState::new(prom_url, refresh, ascii);
    state.events_title = Some("Demo: scenario and webhook notifications (enriched alerts)".into());
    if args.no_tui {
        let plain_every = refresh * 5;
        let mut next_plain = Instant::now();
        loop {
            let mut cont = true;
            let mut out = Vec::new();
            cont &= tick(&mut |e| out.push(e));
            for e in out {
                println!("{e}");
            }
            if !cont {
                break;
            }
            if Instant::now() >= next_plain {
                state.update(rt.block_on(source.fetch()));
                println!(
                    "--- +{:.0}s fleet ({prom_url})",
                    started.elapsed().as_secs_f64()
                );
                print!("{}", view::plain(&state));
                let _ = std::io::stdout().flush();
                next_plain = Instant::now() + plain_every;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    } else {
        let mut pending: Vec<String> = Vec::new();
        top::run_tui(&mut state, &source, rt, |st| {
            let cont = tick(&mut |e| pending.push(e));
            for e in pending.drain(..) {
                st.push_event(e);
            }
            cont
        })?;
        // The full-screen view is gone: repeat the notifications in the scrollback.
        for e in &state.events {
            println!("{e}");
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
