//! `infermon sim`: serve a simulated fleet on loopback ports, or write a backfill.

use clap::{Args, Subcommand};
use infermon_sim::backfill::{self, BackfillOptions, Profile};
use infermon_sim::fleet::{Fleet, FleetOptions};
use infermon_sim::{FleetConfig, Scenario};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SimArgs {
    #[command(subcommand)]
    action: Option<SimAction>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum SimAction {
    /// Write timestamped OpenMetrics (one file per replica) for `promtool tsdb create-blocks-from openmetrics`.
    Backfill(BackfillArgs),
    /// Validate a fleet file and print the replicas it defines.
    Check {
        /// Fleet file (YAML); the built-in default fleet when omitted.
        #[arg(long)]
        fleet: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Fleet file (YAML); the built-in default fleet (2 vLLM models × 2 replicas, 1 TGI model) when omitted.
    #[arg(long)]
    fleet: Option<PathBuf>,
    /// Scenario of every replica at start (overrides the fleet file).
    #[arg(long)]
    scenario: Option<String>,
    /// Override the version of every vLLM model: "0.10" or "latest".
    #[arg(long)]
    vllm_version: Option<String>,
    /// Simulated seconds per wall-clock second.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Write the Prometheus file_sd JSON here.
    #[arg(long, default_value = "infermon-sim-targets.json")]
    file_sd: PathBuf,
    /// Fleet-wide control endpoint port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    control_port: u16,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    duration: Option<f64>,
}

#[derive(Debug, Args)]
struct BackfillArgs {
    /// Fleet file (YAML); the built-in default fleet when omitted.
    #[arg(long)]
    fleet: Option<PathBuf>,
    /// Length of the period, days.
    #[arg(long, default_value_t = 30.0)]
    days: f64,
    /// Output directory (one `<pod>.om` per replica, `truth.json`, `import.sh`).
    #[arg(long)]
    out: PathBuf,
    /// Scrape interval in seconds.
    #[arg(long, default_value_t = 15)]
    interval: u32,
    /// Series to write: minimal (SLO families, SLO-threshold buckets only), slo (complete histograms) or full.
    #[arg(long, default_value = "minimal")]
    profile: String,
    /// End of the period as a unix time (default: now).
    #[arg(long)]
    end: Option<i64>,
    /// Override the version of every vLLM model: "0.10" or "latest".
    #[arg(long)]
    vllm_version: Option<String>,
    /// Import into this Prometheus data directory with promtool when done.
    #[arg(long)]
    import: Option<PathBuf>,
    /// promtool binary used by --import.
    #[arg(long, default_value = "promtool")]
    promtool: PathBuf,
}

type Error = Box<dyn std::error::Error>;

fn load(fleet: Option<&PathBuf>, vllm_version: Option<&str>) -> Result<FleetConfig, Error> {
    let mut cfg = match fleet {
        Some(p) => FleetConfig::load(p)?,
        None => FleetConfig::default_fleet(),
    };
    if let Some(v) = vllm_version {
        infermon_sim::Version::parse(infermon_sim::BackendKind::Vllm, v)
            .map_err(|m| format!("--vllm-version: {m}"))?;
        for m in cfg
            .models
            .iter_mut()
            .filter(|m| m.backend == infermon_sim::BackendKind::Vllm)
        {
            m.version = Some(v.to_string());
        }
    }
    Ok(cfg)
}

pub fn run(args: SimArgs) -> Result<(), Error> {
    match args.action {
        Some(SimAction::Backfill(b)) => run_backfill(b),
        Some(SimAction::Check { fleet }) => {
            let cfg = load(fleet.as_ref(), None)?;
            for r in cfg.replicas() {
                println!(
                    "{:<28} {:<5} {:<7} {:<40} scenario={}",
                    r.pod,
                    r.backend.id(),
                    r.version.id(),
                    r.model,
                    r.scenario
                );
            }
            Ok(())
        }
        None => serve(args.serve),
    }
}

fn serve(a: ServeArgs) -> Result<(), Error> {
    let mut cfg = load(a.fleet.as_ref(), a.vllm_version.as_deref())?;
    if let Some(s) = &a.scenario {
        let s: Scenario = s.parse().map_err(|m| format!("--scenario: {m}"))?;
        for m in &mut cfg.models {
            m.scenario = s;
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let opts = FleetOptions { speed: a.speed, control_port: Some(a.control_port), ..FleetOptions::default() };
        let fleet = Fleet::start(&cfg, opts).await?;
        fleet.write_file_sd(&a.file_sd)?;
        println!("infermon sim: {} replicas (seed {})", fleet.replicas.len(), cfg.seed);
        for r in &fleet.replicas {
            println!(
                "  {:<26} {:<4} {:<6} {:<38} {}  (/truth, /control)",
                r.spec.pod,
                r.spec.backend.id(),
                r.spec.version.id(),
                r.spec.model,
                r.metrics_url()
            );
        }
        if let Some(addr) = fleet.control_addr {
            println!("fleet control: curl -X POST 'http://{addr}/control?scenario=burst&model=<model or pod>'");
        }
        println!("file_sd targets written to {}; scrape config:\n{}", a.file_sd.display(), Fleet::scrape_config_yaml(&a.file_sd.display().to_string(), "15s"));
        match a.duration {
            Some(d) => tokio::time::sleep(std::time::Duration::from_secs_f64(d.max(0.0))).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        fleet.shutdown().await;
        Ok::<(), Error>(())
    })
}

fn run_backfill(b: BackfillArgs) -> Result<(), Error> {
    let cfg = load(b.fleet.as_ref(), b.vllm_version.as_deref())?;
    let profile: Profile = b.profile.parse().map_err(|m| format!("--profile: {m}"))?;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let opts = BackfillOptions {
        days: b.days,
        interval_s: b.interval,
        profile,
        end_unix: b.end,
        out_dir: b.out.clone(),
        threads,
    };
    let last = std::sync::atomic::AtomicU64::new(u64::MAX);
    let report = backfill::run(&cfg, &opts, &|p| {
        // One line per 10 % (and per finished replica), readable in logs as well as on a terminal.
        let step = (10.0 * p.simulated_s / p.total_s).floor() as u64 * 100 + p.replicas_done as u64;
        if last.swap(step, std::sync::atomic::Ordering::Relaxed) != step {
            eprintln!(
                "backfill: {:3.0}% simulated ({:.1} of {:.1} days), {}/{} replicas written",
                100.0 * p.simulated_s / p.total_s,
                p.simulated_s / 86_400.0,
                p.total_s / 86_400.0,
                p.replicas_done,
                p.replicas
            );
            let _ = std::io::stderr().flush();
        }
    })?;
    println!(
        "wrote {} files to {}: {} series, {} samples, {:.1} MB in {:.1} s ({} requests simulated)",
        report.files.len(),
        b.out.display(),
        report.series,
        report.samples,
        report.bytes as f64 / 1e6,
        report.elapsed_s,
        report.events
    );
    for m in &report.truth {
        let pct = |v: Option<f64>| {
            v.map(|x| format!("{:.3}%", x * 100.0))
                .unwrap_or_else(|| "n/a".into())
        };
        println!(
            "  {:<40} e2e≤5s {}  ttft≤0.5s {}  no-error {}  ({} requests)",
            m.model,
            pct(m.attainment.e2e_within_5s),
            pct(m.attainment.ttft_within_0_5s),
            pct(m.attainment.without_error),
            m.totals.finished
        );
    }
    println!("ground truth: {}", b.out.join("truth.json").display());
    match &b.import {
        Some(dir) => {
            let t = std::time::Instant::now();
            backfill::import_with_promtool(&b.promtool, &report, dir)?;
            println!(
                "imported into {} with promtool in {:.1} s",
                dir.display(),
                t.elapsed().as_secs_f64()
            );
        }
        None => println!("import: sh {} DATA_DIR", b.out.join("import.sh").display()),
    }
    Ok(())
}
