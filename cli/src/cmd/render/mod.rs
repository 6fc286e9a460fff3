//! `infermon render`: the provisioned dashboards drawn as SVG images from real query results, for the README
//! (`make docs` writes `docs/img/dashboards/<uid>.svg`).
//!
//! Why this exists: the README should show what a user will see in Grafana, and a picture drawn by hand (or a
//! screenshot of a hand-tuned Grafana) can drift from the definitions. Here every panel of the plugin-variant
//! dashboards ([`infermon_core::dashboards`]) is answered exactly as the plugin answers it ([`data`]) and drawn on
//! the dashboard's grid ([`svg`]); a panel that cannot be answered shows the plugin's notice or its no-value
//! text, as Grafana would.
//!
//! Where the data comes from:
//! - by default a reproducible stack: the simulator's default fleet backfilled over the rendered window
//!   (`--hours`, ending at a fixed time, with a scenario timeline: a burst, KV pressure and slow prefill on
//!   Llama, errors on Mistral), imported with promtool into a temporary Prometheus 2.42 data directory, and
//!   Prometheus started on it. Same inputs, same images byte for byte. No recording rules: Prometheus cannot
//!   evaluate them over imported history, so the plugin's detection finds none and it translates to raw
//!   expressions, as it does on any engine without them (their equivalence is tested in core);
//! - with `--prometheus-url`: any Prometheus (e.g. `infermon demo`'s, or a real fleet's), range ending now.

mod data;
mod svg;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;
use infermon_core::dashboards::{dashboards, Variant};
use infermon_core::query::{BackendChoice, MetricQuery, Query, Stat};
use infermon_core::rules::default_spec;
use infermon_core::{translate, Concept};
use infermon_plugin::detect::Detection;
use infermon_prom::{Client, ClientConfig};
use infermon_sim::backfill::{self, BackfillOptions, Profile};
use infermon_sim::config::TimelineEntry;
use infermon_sim::{FleetConfig, Scenario};

use data::{Content, Kind, PanelSpec, Source};

/// End of the rendered window by default: a fixed time, so that `make docs` reproduces the committed images.
pub const DEFAULT_END_UNIX: i64 = 1_793_642_400; // 2026-11-02 18:00 UTC

/// History the built-in stack backfills: the window is its last `--hours`. A day of requests gives the SLO
/// panels (30-day windows over what exists) a realistic denominator: a 15-minute incident is then about 1 % of
/// the requests, not a quarter of them.
const HISTORY: Duration = Duration::from_secs(24 * 3600);

/// Scrape interval of the built-in stack's backfill, and the data source's `scrapeInterval` setting to match
/// (Grafana's `$__rate_interval` is at least 4 × it). 30 s keeps a day of every engine family (3 094 series of
/// the default fleet) near 9 M samples.
const BACKFILL_SCRAPE: Duration = Duration::from_secs(30);

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  infermon render                                   # the README images (make docs)\n  infermon render --prometheus-url http://127.0.0.1:9090 --hours 1 --out /tmp/dash"
)]
pub struct RenderArgs {
    /// Directory of the images (`<dashboard uid>.svg`).
    #[arg(long, default_value = "docs/img/dashboards")]
    out: PathBuf,
    /// Length of the rendered window, hours (default: each dashboard's own default range: 3 h for the overview
    /// and model detail, 1 day for SLOs). Panels with their own range (the 30-day burn-down) keep it, within
    /// the history the Prometheus holds.
    #[arg(long)]
    hours: Option<f64>,
    /// End of the window, unix seconds (default: 2026-11-02 18:00 UTC for the built-in stack, now with
    /// --prometheus-url).
    #[arg(long)]
    end: Option<i64>,
    /// Render from this Prometheus instead of starting the built-in backfilled stack.
    #[arg(long)]
    prometheus_url: Option<String>,
    /// The data source's `scrapeInterval` setting for --prometheus-url (Grafana's `$__rate_interval` is at
    /// least 4 × it); the built-in stack uses its backfill's 30 s.
    #[arg(long, default_value = "15s")]
    scrape_interval: infermon_core::PromDuration,
    /// Model of the model-detail dashboard (default: the first vLLM model found).
    #[arg(long)]
    model: Option<String>,
    /// Prometheus and promtool binaries of the built-in stack (Debian `prometheus`).
    #[arg(long, default_value = "prometheus")]
    prometheus_bin: PathBuf,
    #[arg(long, default_value = "promtool")]
    promtool_bin: PathBuf,
}

/// Why rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("--{field}: {message}")]
    Option {
        field: &'static str,
        message: String,
    },
    #[error("dashboard definition: {0}")]
    Dashboard(String),
    #[error("panel {panel:?}: Prometheus refused the query: {message}\n  PromQL: {expr}")]
    Query {
        panel: String,
        expr: String,
        message: String,
    },
    #[error("Prometheus at {url}: {message}")]
    Prometheus { url: String, message: String },
    #[error("backfill: {0}")]
    Backfill(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> RenderError {
    let what = what.into();
    move |source| RenderError::Io { what, source }
}

pub fn run(args: RenderArgs) -> Result<(), RenderError> {
    if let Some(h) = args
        .hours
        .filter(|h| !(h.is_finite() && *h > 0.0 && *h <= 24.0 * 31.0))
    {
        return Err(RenderError::Option {
            field: "hours",
            message: format!("{h} is invalid: accepted 0 < hours ≤ 744"),
        });
    }
    let started = Instant::now();
    let range = args.hours.map(|h| Duration::from_secs_f64(h * 3600.0));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io("start the async runtime"))?;
    let (url, end_unix, history, scrape, _stack) = match &args.prometheus_url {
        Some(url) => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs() as i64;
            let scrape = Duration::from_millis(args.scrape_interval.as_millis());
            (
                url.clone(),
                args.end.unwrap_or(now / 60 * 60),
                None,
                scrape,
                None,
            )
        }
        None => {
            let end = args.end.unwrap_or(DEFAULT_END_UNIX);
            let history = HISTORY.max(range.unwrap_or_default());
            let stack = Stack::start(&args, end, history)?;
            (
                stack.url.clone(),
                end,
                Some(history),
                BACKFILL_SCRAPE,
                Some(stack),
            )
        }
    };
    if history.is_some() {
        eprintln!(
            "Prometheus ready with the backfill after {:.1} s; rendering …",
            started.elapsed().as_secs_f64()
        );
    }
    let client = Client::new(ClientConfig::new(&url)).map_err(|e| RenderError::Prometheus {
        url: url.clone(),
        message: e.to_string(),
    })?;
    let written = rt.block_on(render_all(
        &args, &client, &url, end_unix, range, history, scrape,
    ))?;
    for (path, bytes, panels, messages) in &written {
        eprintln!(
            "wrote {} ({:.1} KiB, {panels} panels, {messages} showing a notice or no-data text)",
            path.display(),
            *bytes as f64 / 1024.0
        );
    }
    eprintln!("rendered in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Renders the three plugin-variant dashboards: (path, bytes, panels, panels showing a message).
async fn render_all(
    args: &RenderArgs,
    client: &Client,
    url: &str,
    end_unix: i64,
    range: Option<Duration>,
    history: Option<Duration>,
    scrape: Duration,
) -> Result<Vec<(PathBuf, usize, usize, usize)>, RenderError> {
    let detection = infermon_plugin::detect::detect(client, "model")
        .await
        .map_err(|e| RenderError::Prometheus {
            url: url.to_string(),
            message: format!("detection failed: {e}"),
        })?;
    if detection.backends.is_empty() {
        return Err(RenderError::Prometheus {
            url: url.to_string(),
            message: infermon_plugin::detect::describe(&detection),
        });
    }
    let model = match &args.model {
        Some(m) => m.clone(),
        None => first_model(client, &detection, end_unix)
            .await
            .ok_or_else(|| RenderError::Prometheus {
                url: url.to_string(),
                message: "no model has series at the end of the window; pass --model".into(),
            })?,
    };
    let all = dashboards(&default_spec()).map_err(|e| RenderError::Dashboard(e.to_string()))?;
    std::fs::create_dir_all(&args.out).map_err(io(format!("create {}", args.out.display())))?;
    let mut out = Vec::new();
    for d in all.iter().filter(|d| d.variant == Variant::Plugin) {
        let single_model = d.json["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|v| v["name"] == "model" && v["multi"] == false);
        let scope = single_model.then_some(model.as_str());
        let from = d.json["time"]["from"].as_str().unwrap_or("now-3h");
        let range = match range {
            Some(r) => r,
            None => from
                .trim_start_matches("now-")
                .parse::<infermon_core::PromDuration>()
                .map(|d| Duration::from_millis(d.as_millis()))
                .map_err(|e| {
                    RenderError::Dashboard(format!("{}: time.from {from:?}: {e}", d.uid))
                })?,
        };
        let src = Source {
            client,
            detection: &detection,
            end_ms: end_unix * 1000,
            range,
            history,
            scrape,
        };
        let mut panels = Vec::new();
        for p in d.json["panels"].as_array().into_iter().flatten() {
            let Some(spec) = PanelSpec::from_json(p) else {
                continue;
            };
            if spec.kind == Kind::Row {
                panels.push(data::Panel {
                    spec,
                    content: Content::Message(String::new()),
                    notices: vec![],
                    start_ms: 0,
                    end_ms: 0,
                    step_ms: 1,
                    range_note: None,
                });
                continue;
            }
            panels.push(data::fetch(&src, &spec, scope).await?);
        }
        let title = d.json["title"].as_str().unwrap_or(&d.uid).to_string();
        let mut subtitle = format!(
            "{} – {}",
            svg::utc((end_unix * 1000) - range.as_millis() as i64),
            svg::utc(end_unix * 1000)
        );
        if let Some(m) = scope {
            subtitle.push_str(&format!(" · model = {m}"));
        }
        subtitle.push_str(if history.is_some() {
            " · the simulator's default fleet (backfill), answered by the plugin's translation on Prometheus · infermon render"
        } else {
            " · answered by the plugin's translation on Prometheus · infermon render"
        });
        let image = svg::dashboard(&title, &subtitle, &panels);
        let path = args.out.join(format!("{}.svg", d.uid));
        std::fs::write(&path, &image).map_err(io(format!("write {}", path.display())))?;
        let drawn: Vec<&data::Panel> = panels.iter().filter(|p| p.spec.kind != Kind::Row).collect();
        let messages = drawn
            .iter()
            .filter(|p| matches!(p.content, Content::Message(_)))
            .count();
        out.push((path, image.len(), drawn.len(), messages));
    }
    Ok(out)
}

/// The first model (a vLLM one if any) with series at the end of the window. The plugin's detection lists
/// models at the current time, and the built-in stack's window ends in the past.
async fn first_model(client: &Client, detection: &Detection, end_unix: i64) -> Option<String> {
    let ctx = data::context(detection, 60_000);
    for backend in [BackendChoice::Vllm, BackendChoice::Auto] {
        let q = Query::Metric(MetricQuery {
            concept: Concept::RunningRequests,
            stat: Some(Stat::Current),
            models: vec![],
            namespaces: vec![],
            backend,
            filters: vec![],
            group_by: vec!["model".into()],
            legend: None,
            window: None,
        });
        let Ok(t) = translate(&q, &ctx) else { continue };
        for target in &t.targets {
            let at = UNIX_EPOCH + Duration::from_secs(end_unix.max(0) as u64);
            let Ok(r) = client.query(&target.expr, Some(at), false).await else {
                continue;
            };
            let mut models: Vec<String> = r
                .data
                .as_vector()
                .iter()
                .filter_map(|s| s.labels.get("model").map(str::to_string))
                .filter(|m| !m.is_empty())
                .collect();
            models.sort_by_key(|m| m.to_lowercase());
            if let Some(m) = models.into_iter().next() {
                return Some(m);
            }
        }
    }
    None
}

/// The built-in stack's incidents, all in the last 3 hours (the overview's default range): (seconds before the
/// end, seconds, scenario, models; none = all).
const TIMELINE: &[(u64, u64, Scenario, &[&str])] = &[
    (9_600, 1_800, Scenario::Burst, &[]),
    (
        6_600,
        900,
        Scenario::KvPressure,
        &["meta-llama/Llama-3.1-8B-Instruct"],
    ),
    // On Mistral (TGI): vLLM 0.10 (Qwen) reports engine errors as aborts, so its error ratio would not move.
    (
        4_500,
        600,
        Scenario::Errors,
        &["mistralai/Mistral-7B-Instruct-v0.3"],
    ),
    (
        2_400,
        900,
        Scenario::SlowPrefill,
        &["meta-llama/Llama-3.1-8B-Instruct"],
    ),
];

/// A backfilled Prometheus in a temporary directory, stopped and removed on drop.
struct Stack {
    url: String,
    child: Child,
    dir: tempfile::TempDir,
}

impl Stack {
    fn start(args: &RenderArgs, end_unix: i64, history: Duration) -> Result<Stack, RenderError> {
        let dir = tempfile::Builder::new()
            .prefix("infermon-render-")
            .tempdir()
            .map_err(io("create a temporary directory"))?;
        let mut fleet = FleetConfig::default_fleet();
        fleet.timeline = TIMELINE
            .iter()
            .map(|(before_end, len, scenario, models)| {
                Ok(TimelineEntry {
                    start: format!("{}s", history.as_secs().saturating_sub(*before_end)),
                    duration: format!("{len}s")
                        .parse()
                        .map_err(|e| RenderError::Backfill(format!("timeline: {e}")))?,
                    scenario: *scenario,
                    models: models.iter().map(|m| m.to_string()).collect(),
                })
            })
            .collect::<Result<_, RenderError>>()?;
        let days = history.as_secs_f64() / 86_400.0;
        eprintln!(
            "backfilling {:.1} h of the default fleet (full profile, every {} s) and importing it with promtool …",
            days * 24.0,
            BACKFILL_SCRAPE.as_secs()
        );
        let opts = BackfillOptions {
            days,
            interval_s: BACKFILL_SCRAPE.as_secs() as u32,
            profile: Profile::Full,
            end_unix: Some(end_unix),
            out_dir: dir.path().join("openmetrics"),
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        };
        let report = backfill::run(&fleet, &opts, &|_| {})
            .map_err(|e| RenderError::Backfill(e.to_string()))?;
        let data_dir = dir.path().join("data");
        backfill::import_with_promtool(&args.promtool_bin, &report, &data_dir)
            .map_err(RenderError::Backfill)?;
        let _ = std::fs::remove_dir_all(dir.path().join("openmetrics"));
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, "global:\n  scrape_interval: 30s\n")
            .map_err(io("write prometheus.yml"))?;
        let port = free_port()?;
        let log = std::fs::File::create(dir.path().join("prometheus.log"))
            .map_err(io("create prometheus.log"))?;
        let child = Command::new(&args.prometheus_bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data_dir.display()))
            // The window ends in the past (fixed end): keep every imported block.
            .arg("--storage.tsdb.retention.time=100y")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(io(format!(
                "start {} (Debian package `prometheus`, or pass --prometheus-bin)",
                args.prometheus_bin.display()
            )))?;
        let mut stack = Stack {
            url: format!("http://127.0.0.1:{port}"),
            child,
            dir,
        };
        stack
            .wait_ready(port, Duration::from_secs(60))
            .map_err(|message| RenderError::Prometheus {
                url: stack.url.clone(),
                message: format!(
                    "{message}; its log ends with:\n{}",
                    tail(&stack.dir.path().join("prometheus.log"))
                ),
            })?;
        Ok(stack)
    }

    /// Polls `/-/ready` (plain HTTP/1.0 over loopback) until it answers 200.
    fn wait_ready(&mut self, port: u16, timeout: Duration) -> Result<(), String> {
        use std::io::{Read, Write};
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("Prometheus exited ({status})"));
            }
            let ok = std::net::TcpStream::connect(("127.0.0.1", port))
                .and_then(|mut c| {
                    c.write_all(b"GET /-/ready HTTP/1.0\r\n\r\n")?;
                    let mut head = [0u8; 12];
                    c.read_exact(&mut head)?;
                    Ok(head.ends_with(b" 200"))
                })
                .unwrap_or(false);
            if ok {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("not ready after {} s", timeout.as_secs()));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join("\n")
}

fn free_port() -> Result<u16, RenderError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(io("find a free port"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(io("find a free port"))
}
