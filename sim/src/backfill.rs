//! Backfill: weeks of history as timestamped OpenMetrics that `promtool tsdb create-blocks-from openmetrics`
//! imports, plus the ground truth of the whole period.
//!
//! Each replica is simulated as fast as possible (in parallel, one thread per core) and "scraped" every
//! `interval` seconds: the same family builders as the live `/metrics` write into a column store (one column per
//! series), then each replica's columns are streamed to `DIR/<pod>.om`, series by series, as OpenMetrics
//! requires (a family's samples contiguous, each series in time order). One file per replica keeps memory
//! bounded and lets promtool import the files one by one.
//!
//! Size is `series × period / interval` samples (≈ 150 bytes each with the target labels) and does not depend
//! on the request rate. The default `slo` profile keeps the families SLOs, alerts and the main dashboard panels
//! need; `full` keeps everything the live server exposes except the process/python/http collectors.
//!
//! Target labels (`namespace`, `pod`, `service`, `job`, `instance`, `model` for TGI and llama.cpp)
//! are written into the data because no scrape adds them. An `up` series per replica records outages.

use crate::config::{BackendKind, FleetConfig, ReplicaSpec};
use crate::engine::Engine;
use crate::expo::llamacpp::LlamacppExposition;
use crate::expo::sglang::SglangExposition;
use crate::expo::tgi::TgiExposition;
use crate::expo::vllm::VllmExposition;
use crate::expo::{Kind, Sink};
use crate::hist::Hist;
use crate::scenario::Scenario;
use crate::truth::{Attainment, Totals};
use infermon_core::catalog::names::{tgi as tn, vllm as vn};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Which families are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// The `slo` families, with histograms reduced to the buckets at the default SLO thresholds (e2e 5 s,
    /// TTFT 0.5 s; for TGI the two boundaries around 5 s) plus `+Inf`, `_sum` and `_count` — as if scraped with
    /// a `metric_relabel_configs` rule dropping the other buckets. The smallest faithful data for 30-day SLOs.
    Minimal,
    /// What SLOs, the rules' alerts and the main dashboard panels need (complete histograms).
    Slo,
    /// Every engine family of the live exposition (not the process/python/http collectors).
    Full,
    /// Exactly the families the catalog reads for each backend (complete histograms): what every inference query
    /// needs, without TGI's 1 024-bucket batch-size histogram and the like.
    Catalog,
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "minimal" => Ok(Profile::Minimal),
            "slo" => Ok(Profile::Slo),
            "full" => Ok(Profile::Full),
            "catalog" => Ok(Profile::Catalog),
            other => Err(format!(
                "unknown profile {other:?}: accepted values are minimal, slo, full, catalog"
            )),
        }
    }
}

const SLO_VLLM: &[&str] = &[
    vn::NUM_REQUESTS_RUNNING,
    vn::NUM_REQUESTS_WAITING,
    vn::KV_CACHE_USAGE_PERC,
    vn::GPU_CACHE_USAGE_PERC,
    vn::NUM_PREEMPTIONS_TOTAL,
    vn::PROMPT_TOKENS_TOTAL,
    vn::GENERATION_TOKENS_TOTAL,
    vn::REQUEST_SUCCESS_TOTAL,
    vn::TIME_TO_FIRST_TOKEN_SECONDS,
    vn::E2E_REQUEST_LATENCY_SECONDS,
];
const SLO_TGI: &[&str] = &[
    tn::REQUEST_COUNT,
    tn::REQUEST_SUCCESS,
    tn::REQUEST_FAILURE,
    tn::QUEUE_SIZE,
    tn::BATCH_CURRENT_SIZE,
    tn::BATCH_MAX_TOTAL_TOKENS,
    tn::REQUEST_DURATION,
    tn::REQUEST_QUEUE_DURATION,
];

/// Every base family name the catalog reads for `backend` (histograms without `_bucket`).
fn catalog_families(backend: BackendKind) -> &'static std::collections::BTreeSet<&'static str> {
    use infermon_core::catalog::{support, Backend, Concept, Support};
    use std::collections::BTreeSet;
    static SETS: std::sync::OnceLock<Vec<(Backend, BTreeSet<&'static str>)>> =
        std::sync::OnceLock::new();
    let sets = SETS.get_or_init(|| {
        Backend::ALL
            .into_iter()
            .map(|b| {
                let names = Concept::ALL
                    .iter()
                    .filter_map(|c| match support(*c, b) {
                        Support::Supported { source, .. } => Some(source.metric_names()),
                        Support::Unsupported(_) => None,
                    })
                    .flatten()
                    .collect();
                (b, names)
            })
            .collect()
    });
    let b = backend.catalog();
    &sets.iter().find(|(x, _)| *x == b).expect("every backend").1
}

/// Buckets kept by [`Profile::Minimal`]: (family, `le`).
const MINIMAL_BUCKETS: &[(&str, &str)] = &[
    (vn::E2E_REQUEST_LATENCY_SECONDS, "5.0"),
    (vn::TIME_TO_FIRST_TOKEN_SECONDS, "0.5"),
    (tn::REQUEST_DURATION, "3.787675244106352"),
    (tn::REQUEST_DURATION, "5.681512866159528"),
    (tn::REQUEST_QUEUE_DURATION, "0.49878850951194753"),
];

impl Profile {
    fn keeps_bucket(self, family: &str, le: &str) -> bool {
        self != Profile::Minimal || le == "+Inf" || MINIMAL_BUCKETS.contains(&(family, le))
    }

    fn wants(self, backend: BackendKind, family: &str) -> bool {
        match self {
            Profile::Full => true,
            Profile::Catalog => {
                let set = catalog_families(backend);
                // TGI's token counters are the `_sum` of a histogram: keep the histogram.
                set.contains(family) || set.contains(format!("{family}_sum").as_str())
            }
            Profile::Slo | Profile::Minimal => match backend {
                BackendKind::Vllm => SLO_VLLM.contains(&family),
                BackendKind::Tgi => SLO_TGI.contains(&family),
                // Small expositions: every family the catalog reads.
                BackendKind::Sglang | BackendKind::Llamacpp => {
                    catalog_families(backend).contains(family)
                }
            },
        }
    }
}

/// Backfill parameters.
#[derive(Debug, Clone)]
pub struct BackfillOptions {
    pub days: f64,
    /// Scrape interval, seconds.
    pub interval_s: u32,
    pub profile: Profile,
    /// Unix time (seconds) of the end of the period; default: now rounded down to the interval.
    pub end_unix: Option<i64>,
    pub out_dir: PathBuf,
    /// Worker threads (default: available cores).
    pub threads: usize,
}

/// Why a backfill failed.
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error("invalid option {field}: {message}")]
    Option {
        field: &'static str,
        message: String,
    },
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Progress of a running backfill.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub simulated_s: f64,
    pub total_s: f64,
    pub replicas_done: usize,
    pub replicas: usize,
}

/// Ground truth of one model over the whole period.
#[derive(Debug, Clone, Serialize)]
pub struct ModelTruth {
    pub model: String,
    pub backend: &'static str,
    pub replicas: usize,
    pub totals: Totals,
    pub attainment: Attainment,
    /// Attainment per day (day 0 = the first day of the period).
    pub per_day: Vec<DayTruth>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DayTruth {
    pub day: usize,
    pub finished: u64,
    pub attainment: Attainment,
}

/// What a backfill wrote.
#[derive(Debug, Clone, Serialize)]
pub struct BackfillReport {
    pub start_unix: i64,
    pub end_unix: i64,
    pub interval_s: u32,
    pub profile: Profile,
    pub files: Vec<PathBuf>,
    pub series: u64,
    pub samples: u64,
    pub bytes: u64,
    pub events: u64,
    pub elapsed_s: f64,
    /// The scenario timeline as applied (unix seconds).
    pub timeline: Vec<TimelineApplied>,
    pub truth: Vec<ModelTruth>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelineApplied {
    pub start_unix: i64,
    pub end_unix: i64,
    pub scenario: Scenario,
    pub models: Vec<String>,
}

/// One series' column: key (OpenMetrics sample name and labels) and one value per tick (NaN = absent).
struct Column {
    key: String,
    values: Vec<f64>,
}

struct FamilyCols {
    om_name: String,
    om_type: &'static str,
    first: usize,
    len: usize,
}

/// A [`Sink`] that appends each tick's values to per-series columns.
struct ColumnSink {
    target: String,
    families: Vec<FamilyCols>,
    cols: Vec<Column>,
    /// Position within the current tick.
    pos: usize,
    recording: bool,
    tick: usize,
    current: String,
    /// The current family's name as emitted (for bucket filtering while recording).
    current_family: String,
    profile: Profile,
    /// For each potential value of a tick (in emission order): whether it is kept.
    mask: Vec<bool>,
    ppos: usize,
}

impl ColumnSink {
    fn new(target: String, profile: Profile) -> ColumnSink {
        ColumnSink {
            target,
            families: Vec::new(),
            cols: Vec::new(),
            pos: 0,
            recording: true,
            tick: 0,
            current: String::new(),
            current_family: String::new(),
            profile,
            mask: Vec::new(),
            ppos: 0,
        }
    }

    /// Fast path after the first tick: the series are known, only values are appended.
    fn value(&mut self, v: f64) {
        if self.mask[self.ppos] {
            self.cols[self.pos].values.push(v);
            self.pos += 1;
        }
        self.ppos += 1;
    }

    fn key(&self, sample: &str, labels: &[(&str, &str)], extra: Option<(&str, &str)>) -> String {
        let mut k = String::with_capacity(128);
        k.push_str(sample);
        k.push('{');
        for (name, v) in labels.iter().chain(extra.iter()) {
            k.push_str(name);
            k.push_str("=\"");
            crate::expo::format::escape_label_value(v, &mut k);
            k.push_str("\",");
        }
        k.push_str(&self.target);
        k.push('}');
        k
    }

    fn push(&mut self, sample: &str, labels: &[(&str, &str)], extra: Option<(&str, &str)>, v: f64) {
        if self.recording {
            let keep = match extra {
                Some(("le", le)) => self.profile.keeps_bucket(&self.current_family, le),
                _ => true,
            };
            self.mask.push(keep);
            self.ppos += 1;
            if !keep {
                return;
            }
            let key = self.key(sample, labels, extra);
            let mut values = vec![f64::NAN; self.tick];
            values.push(v);
            self.cols.push(Column { key, values });
            if let Some(f) = self.families.last_mut() {
                f.len += 1;
            }
        } else {
            let col = &mut self.cols[self.pos];
            col.values.push(v);
        }
        self.pos += 1;
    }

    fn begin_tick(&mut self) {
        self.pos = 0;
        self.ppos = 0;
    }

    fn end_tick(&mut self) {
        assert_eq!(
            self.pos,
            self.cols.len(),
            "the set of series changed between ticks"
        );
        assert_eq!(
            self.ppos,
            self.mask.len(),
            "the set of series changed between ticks"
        );
        self.recording = false;
        self.tick += 1;
    }

    /// A tick without samples (the replica is down).
    fn absent_tick(&mut self) {
        if self.recording {
            self.tick += 1;
            return;
        }
        for c in &mut self.cols {
            c.values.push(f64::NAN);
        }
        self.tick += 1;
    }
}

impl Sink for ColumnSink {
    fn family(&mut self, name: &str, _help: Option<&str>, kind: Kind) {
        if !self.recording {
            return;
        }
        // OpenMetrics: a counter family is named without `_total`; TGI's suffix-less counters are declared
        // `unknown` (OpenMetrics requires `_total` on counter samples).
        let (om_name, om_type) = match kind {
            Kind::Counter => match name.strip_suffix("_total") {
                Some(base) => (base.to_string(), "counter"),
                None => (name.to_string(), "unknown"),
            },
            Kind::Gauge => (name.to_string(), "gauge"),
            Kind::Histogram => (name.to_string(), "histogram"),
            Kind::Summary => (name.to_string(), "summary"),
        };
        self.families.push(FamilyCols {
            om_name,
            om_type,
            first: self.cols.len(),
            len: 0,
        });
        self.current = name.to_string();
        self.current_family = name.to_string();
    }

    fn scalar(&mut self, labels: &[(&str, &str)], value: f64) {
        if !self.recording {
            self.value(value);
            return;
        }
        let name = std::mem::take(&mut self.current);
        self.push(&name, labels, None, value);
        self.current = name;
    }

    fn histogram(&mut self, labels: &[(&str, &str)], h: &Hist) {
        if !self.recording {
            for c in h.cumulative() {
                self.value(c as f64);
            }
            self.value(h.count as f64);
            self.value(h.sum);
            self.value(h.count as f64);
            return;
        }
        let name = std::mem::take(&mut self.current);
        let bucket = format!("{name}_bucket");
        let layout = h.layout.clone();
        for (le, c) in layout.le.iter().zip(h.cumulative()) {
            self.push(&bucket, labels, Some(("le", le)), c as f64);
        }
        self.push(&bucket, labels, Some(("le", "+Inf")), h.count as f64);
        self.push(&format!("{name}_sum"), labels, None, h.sum);
        self.push(&format!("{name}_count"), labels, None, h.count as f64);
        self.current = name;
    }

    fn summary(
        &mut self,
        labels: &[(&str, &str)],
        quantiles: &[(&str, f64)],
        sum: f64,
        count: u64,
    ) {
        if !self.recording {
            for (_, v) in quantiles {
                self.value(*v);
            }
            self.value(sum);
            self.value(count as f64);
            return;
        }
        let name = std::mem::take(&mut self.current);
        for (q, v) in quantiles {
            self.push(&name, labels, Some(("quantile", q)), *v);
        }
        self.push(&format!("{name}_sum"), labels, None, sum);
        self.push(&format!("{name}_count"), labels, None, count as f64);
        self.current = name;
    }
}

/// Simulates one replica over the whole period and returns its columns and truth.
struct ReplicaRun {
    spec: ReplicaSpec,
    sink: ColumnSink,
    up: Vec<f64>,
    engine_truth: crate::truth::TruthLog,
    events: u64,
    probes: Vec<(i64, ReplicaProbe)>,
}

/// When to capture windowed ground truth during a backfill ([`run_with_truth`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probes {
    /// Capture at every scrape whose unix time is a multiple of this (seconds).
    pub every_s: i64,
    /// The window `(t − window_s, t]` each capture covers (only captured once a whole window has elapsed).
    pub window_s: i64,
}

/// The engine's levels at one scrape (what the gauges report).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GaugeSample {
    pub t_unix: i64,
    /// Requests waiting to be scheduled.
    pub waiting: usize,
    /// Requests in the running batch.
    pub running: usize,
    /// KV-cache usage 0..1.
    pub kv_usage: f64,
}

/// Ground truth of one replica at one probe.
#[derive(Debug, Clone, Serialize)]
pub struct ReplicaProbe {
    pub pod: String,
    /// Exact events of the window.
    pub events: crate::truth::ReplicaWindow,
    /// Levels at every scrape in `[t − window_s, t]`, oldest first.
    pub gauges: Vec<GaugeSample>,
}

/// Ground truth of one model over the window ending at one probe time.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeTruth {
    pub model: String,
    pub backend: &'static str,
    pub version: &'static str,
    pub t_unix: i64,
    pub window_s: i64,
    pub replicas: Vec<ReplicaProbe>,
}

fn target_labels(cfg: &FleetConfig, spec: &ReplicaSpec) -> String {
    let mut t = String::new();
    let mut add = |k: &str, v: &str| {
        if !t.is_empty() {
            t.push(',');
        }
        t.push_str(k);
        t.push_str("=\"");
        crate::expo::format::escape_label_value(v, &mut t);
        t.push('"');
    };
    add(
        "instance",
        &format!("10.42.{}.{}:8000", spec.index / 200, 10 + spec.index % 200),
    );
    add("job", &spec.service);
    if spec.backend.model_from_target() {
        add(infermon_core::catalog::names::labels::MODEL, &spec.model);
    }
    add("namespace", &cfg.namespace);
    add("pod", &spec.pod);
    add("service", &spec.service);
    t
}

fn simulate_replica(
    cfg: &FleetConfig,
    spec: ReplicaSpec,
    opts: &BackfillOptions,
    start_unix: i64,
    ticks: usize,
    progress: &AtomicU64,
    probes: Option<Probes>,
) -> ReplicaRun {
    let windows: Vec<_> = cfg
        .windows()
        .into_iter()
        .filter(|w| w.models.is_empty() || w.models.contains(&spec.model))
        .collect();
    // Raw observations are only kept when probing (a few windows' worth, not the whole period).
    let keep = probes.map(|p| (p.window_s + 2 * i64::from(opts.interval_s)) as f64);
    let mut engine = Engine::new(spec.clone(), cfg.seed, start_unix as f64, keep);
    let mut gauges: Vec<GaugeSample> = Vec::new();
    let mut captured = Vec::new();
    let mut sink = ColumnSink::new(target_labels(cfg, &spec), opts.profile);
    let mut up = Vec::with_capacity(ticks);
    let interval = f64::from(opts.interval_s);
    let profile = opts.profile;
    let backend = spec.backend;
    let wants = move |name: &str| profile.wants(backend, name);
    for i in 0..ticks {
        let t = i as f64 * interval;
        let scenario = windows
            .iter()
            .rev()
            .find(|w| t >= w.start_s && t < w.end_s)
            .map(|w| w.scenario)
            .unwrap_or(spec.scenario);
        if scenario != engine.scenario() {
            engine.set_scenario(scenario, t);
        }
        engine.advance_to(t);
        if let Some(p) = probes {
            let t_unix = start_unix + (i as i64) * i64::from(opts.interval_s);
            if !engine.is_outage() {
                gauges.push(GaugeSample {
                    t_unix,
                    waiting: engine.waiting.len(),
                    running: engine.running.len(),
                    kv_usage: engine.kv_usage(),
                });
            }
            if t_unix.rem_euclid(p.every_s) == 0 && t_unix - start_unix >= p.window_s {
                let from = t_unix - p.window_s;
                gauges.retain(|g| g.t_unix >= from);
                captured.push((
                    t_unix,
                    ReplicaProbe {
                        pod: spec.pod.clone(),
                        events: engine.truth.window_events(t, p.window_s as f64),
                        gauges: gauges.clone(),
                    },
                ));
            }
        }
        if engine.is_outage() {
            sink.absent_tick();
            up.push(0.0);
        } else {
            sink.begin_tick();
            match backend {
                BackendKind::Vllm => VllmExposition {
                    engine: &engine,
                    now: t,
                    runtime_families: false,
                    created: profile == Profile::Full,
                }
                .write(&mut sink, &wants),
                BackendKind::Tgi => TgiExposition {
                    engine: &engine,
                    all_series: true,
                }
                .write(&mut sink, &wants),
                BackendKind::Sglang => SglangExposition {
                    engine: &engine,
                    all_series: true,
                }
                .write(&mut sink, &wants),
                BackendKind::Llamacpp => {
                    LlamacppExposition { engine: &engine }.write(&mut sink, &wants)
                }
            }
            sink.end_tick();
            up.push(1.0);
        }
        if i % 2048 == 0 {
            progress.fetch_add(2048, Ordering::Relaxed);
        }
    }
    ReplicaRun {
        spec,
        sink,
        up,
        events: engine.events,
        engine_truth: engine.truth,
        probes: captured,
    }
}

/// Writes one replica's columns as OpenMetrics; returns (series, samples, bytes).
fn write_replica(
    run: &ReplicaRun,
    path: &Path,
    start_unix: i64,
    interval: i64,
) -> std::io::Result<(u64, u64)> {
    let file = std::fs::File::create(path)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut samples = 0u64;
    let mut line = String::with_capacity(256);
    let mut write_col = |w: &mut std::io::BufWriter<std::fs::File>,
                         key: &str,
                         values: &[f64]|
     -> std::io::Result<u64> {
        let mut n = 0;
        for (i, v) in values.iter().enumerate() {
            if v.is_nan() {
                continue;
            }
            use std::fmt::Write as _;
            line.clear();
            line.push_str(key);
            line.push(' ');
            if v.fract() == 0.0 && v.abs() < 9.0e15 {
                let _ = write!(line, "{}", *v as i64);
            } else {
                let _ = write!(line, "{v}");
            }
            let _ = writeln!(line, " {}", start_unix + i as i64 * interval);
            w.write_all(line.as_bytes())?;
            n += 1;
        }
        Ok(n)
    };
    for f in &run.sink.families {
        writeln!(w, "# TYPE {} {}", f.om_name, f.om_type)?;
        for c in &run.sink.cols[f.first..f.first + f.len] {
            samples += write_col(&mut w, &c.key, &c.values)?;
        }
    }
    writeln!(w, "# TYPE up gauge")?;
    samples += write_col(&mut w, &format!("up{{{}}}", run.sink.target), &run.up)?;
    w.write_all(b"# EOF\n")?;
    w.flush()?;
    Ok((run.sink.cols.len() as u64 + 1, samples))
}

/// Runs a backfill of `cfg` and writes `DIR/<pod>.om`, `DIR/truth.json` and `DIR/import.sh`.
pub fn run(
    cfg: &FleetConfig,
    opts: &BackfillOptions,
    on_progress: &(dyn Fn(Progress) + Sync),
) -> Result<BackfillReport, BackfillError> {
    run_inner(cfg, opts, None, on_progress).map(|(r, _)| r)
}

/// [`run`], plus the exact ground truth of every model over a sliding window, captured at the scrapes `probes`
/// selects: what a query over the backfilled data must answer (tests compare both). Raw observations are kept
/// in memory only for the window, so this suits hours, not months.
pub fn run_with_truth(
    cfg: &FleetConfig,
    opts: &BackfillOptions,
    probes: Probes,
    on_progress: &(dyn Fn(Progress) + Sync),
) -> Result<(BackfillReport, Vec<ProbeTruth>), BackfillError> {
    if probes.every_s <= 0 || probes.window_s <= 0 {
        return Err(BackfillError::Option {
            field: "probes",
            message: format!(
                "every {}s, window {}s: both must be positive",
                probes.every_s, probes.window_s
            ),
        });
    }
    run_inner(cfg, opts, Some(probes), on_progress)
}

fn run_inner(
    cfg: &FleetConfig,
    opts: &BackfillOptions,
    probes: Option<Probes>,
    on_progress: &(dyn Fn(Progress) + Sync),
) -> Result<(BackfillReport, Vec<ProbeTruth>), BackfillError> {
    if !(opts.days.is_finite() && opts.days > 0.0 && opts.days <= 400.0) {
        return Err(BackfillError::Option {
            field: "days",
            message: format!("{} is invalid: accepted 0 < days ≤ 400", opts.days),
        });
    }
    if !(1..=3600).contains(&opts.interval_s) {
        return Err(BackfillError::Option {
            field: "interval",
            message: format!("{}s is invalid: accepted 1s..=1h", opts.interval_s),
        });
    }
    let started = Instant::now();
    let interval = i64::from(opts.interval_s);
    let end = opts.end_unix.unwrap_or_else(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        now - now.rem_euclid(interval)
    });
    let ticks = ((opts.days * 86_400.0) / interval as f64).floor() as usize;
    let start = end - (ticks as i64 - 1) * interval;
    std::fs::create_dir_all(&opts.out_dir).map_err(|source| BackfillError::Io {
        path: opts.out_dir.display().to_string(),
        source,
    })?;
    let replicas = cfg.replicas();
    let n = replicas.len();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let progress = AtomicU64::new(0);
    let results: Mutex<Vec<ReplicaResult>> = Mutex::new(Vec::new());
    let error: Mutex<Option<BackfillError>> = Mutex::new(None);
    let threads = opts.threads.max(1).min(n);
    let total_ticks = (ticks * n) as u64;
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    break;
                }
                let spec = replicas[i].clone();
                let mut run = simulate_replica(cfg, spec, opts, start, ticks, &progress, probes);
                let path = opts.out_dir.join(format!("{}.om", run.spec.pod));
                match write_replica(&run, &path, start, interval) {
                    Ok((series, samples)) => {
                        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                        let truth = ReplicaTruth {
                            model: run.spec.model.clone(),
                            backend: run.spec.backend.id(),
                            version: run.spec.version.id(),
                            probes: std::mem::take(&mut run.probes),
                            truth: run.engine_truth,
                        };
                        results
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push((i, path, series, samples, bytes, truth));
                        let _ = run.events;
                    }
                    Err(source) => {
                        *error.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(BackfillError::Io {
                                path: path.display().to_string(),
                                source,
                            });
                    }
                }
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        // Progress reporter (in this thread) until every replica is written.
        loop {
            let d = done.load(Ordering::SeqCst);
            let p = progress.load(Ordering::Relaxed).min(total_ticks);
            on_progress(Progress {
                simulated_s: p as f64 * interval as f64 / n as f64,
                total_s: ticks as f64 * interval as f64,
                replicas_done: d,
                replicas: n,
            });
            if d >= n {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    });
    if let Some(e) = error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|r| r.0);
    let mut by_model: BTreeMap<String, (usize, &'static str, Totals, Vec<Totals>)> =
        BTreeMap::new();
    let mut events = 0;
    for (_, _, _, _, _, rt) in &results {
        let e = by_model.entry(rt.model.clone()).or_insert((
            0,
            rt.backend,
            Totals::default(),
            Vec::new(),
        ));
        e.0 += 1;
        e.2.add(&rt.truth.total);
        for (d, t) in rt.truth.per_day.iter().enumerate() {
            if e.3.len() <= d {
                e.3.resize(d + 1, Totals::default());
            }
            e.3[d].add(t);
        }
        events += rt.truth.total.finished;
    }
    // Keep the models in fleet order.
    let truth: Vec<ModelTruth> = cfg
        .models
        .iter()
        .filter_map(|m| by_model.remove(&m.name).map(|v| (m.name.clone(), v)))
        .map(|(model, (replicas, backend, totals, days))| ModelTruth {
            model,
            backend,
            replicas,
            attainment: totals.attainment(),
            totals,
            per_day: days
                .iter()
                .enumerate()
                .map(|(day, t)| DayTruth {
                    day,
                    finished: t.finished,
                    attainment: t.attainment(),
                })
                .collect(),
        })
        .collect();
    let timeline = cfg
        .windows()
        .into_iter()
        .map(|w| TimelineApplied {
            start_unix: start + w.start_s as i64,
            end_unix: start + w.end_s as i64,
            scenario: w.scenario,
            models: w.models,
        })
        .collect();
    let report = BackfillReport {
        start_unix: start,
        end_unix: end,
        interval_s: opts.interval_s,
        profile: opts.profile,
        files: results.iter().map(|r| r.1.clone()).collect(),
        series: results.iter().map(|r| r.2).sum(),
        samples: results.iter().map(|r| r.3).sum(),
        bytes: results.iter().map(|r| r.4).sum(),
        events,
        elapsed_s: started.elapsed().as_secs_f64(),
        timeline,
        truth,
    };
    let truth_path = opts.out_dir.join("truth.json");
    std::fs::write(
        &truth_path,
        serde_json::to_string_pretty(&report).expect("JSON") + "\n",
    )
    .map_err(|source| BackfillError::Io {
        path: truth_path.display().to_string(),
        source,
    })?;
    let script = import_script(&report);
    let script_path = opts.out_dir.join("import.sh");
    std::fs::write(&script_path, script).map_err(|source| BackfillError::Io {
        path: script_path.display().to_string(),
        source,
    })?;
    // Windowed truth per model and probe time, models in fleet order, replicas in fleet order.
    let mut probe_truth: Vec<ProbeTruth> = Vec::new();
    for m in &cfg.models {
        let mut times: BTreeMap<i64, ProbeTruth> = BTreeMap::new();
        for (_, _, _, _, _, rt) in results.iter_mut() {
            if rt.model != m.name {
                continue;
            }
            for (t, p) in std::mem::take(&mut rt.probes) {
                times
                    .entry(t)
                    .or_insert_with(|| ProbeTruth {
                        model: m.name.clone(),
                        backend: rt.backend,
                        version: rt.version,
                        t_unix: t,
                        window_s: probes.map(|p| p.window_s).unwrap_or(0),
                        replicas: Vec::new(),
                    })
                    .replicas
                    .push(p);
            }
        }
        probe_truth.extend(times.into_values());
    }
    Ok((report, probe_truth))
}

/// (replica index, file, series, samples, bytes, truth)
type ReplicaResult = (usize, PathBuf, u64, u64, u64, ReplicaTruth);

struct ReplicaTruth {
    model: String,
    backend: &'static str,
    version: &'static str,
    probes: Vec<(i64, ReplicaProbe)>,
    truth: crate::truth::TruthLog,
}

/// The promtool flags used for import: blocks as long as the period allows (promtool re-reads the whole input
/// once per block window, so few long blocks import much faster than the default 2 h blocks).
pub fn promtool_args(file: &Path, data_dir: &Path, days: f64) -> Vec<String> {
    let hours = ((days * 24.0).ceil() as u64).max(2);
    vec![
        "tsdb".into(),
        "create-blocks-from".into(),
        "openmetrics".into(),
        format!("--max-block-duration={hours}h"),
        file.display().to_string(),
        data_dir.display().to_string(),
    ]
}

fn import_script(r: &BackfillReport) -> String {
    let days = (r.end_unix - r.start_unix) as f64 / 86_400.0;
    let mut s = String::from("#!/bin/sh\n# Import this backfill into a Prometheus data directory: sh import.sh DATA_DIR\nset -eu\nDATA=\"${1:?usage: sh import.sh DATA_DIR}\"\ncd \"$(dirname \"$0\")\"\n");
    for f in &r.files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let args = promtool_args(Path::new(&name), Path::new("$DATA"), days);
        s.push_str(&format!(
            "promtool {}\n",
            args.join(" ").replace("$DATA", "\"$DATA\"")
        ));
    }
    s.push_str("echo \"imported into $DATA: start Prometheus with --storage.tsdb.path=$DATA --storage.tsdb.retention.time=400d\"\n");
    s
}

/// Imports every file of a backfill report with `promtool` into `data_dir`.
pub fn import_with_promtool(
    promtool: &Path,
    report: &BackfillReport,
    data_dir: &Path,
) -> Result<(), String> {
    let days = (report.end_unix - report.start_unix) as f64 / 86_400.0;
    for f in &report.files {
        let out = std::process::Command::new(promtool)
            .args(promtool_args(f, data_dir, days))
            .output()
            .map_err(|e| format!("cannot run {}: {e}", promtool.display()))?;
        if !out.status.success() {
            return Err(format!(
                "promtool failed on {}: {}{}",
                f.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    Ok(())
}
