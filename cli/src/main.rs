//! `infermon`: one command for the simulator, rules, dashboards and queries.
//!
//! This file only parses the command line and dispatches: every subcommand lives in its own module under
//! `cmd/` (add a variant to [`Command`] and a module there).

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "infermon",
    version,
    about = "Monitoring for LLM inference servers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulated vLLM/TGI servers: serve a fleet, or backfill history (`infermon sim backfill`).
    Sim(cmd::sim::SimArgs),
    /// Ask a question (TTFT p95 per model, fleet table, SLO budget) and print the answer.
    Query(cmd::query::QueryArgs),
    /// Grafana dashboards (Inference data source and Prometheus-only variants) and provisioning files.
    Dashboards(cmd::dashboards::DashboardsArgs),
    /// Recording, alerting and SLO rules plus Kubernetes manifests, generated from the catalog.
    Rules(cmd::rules::RulesArgs),
    /// Alertmanager webhook receiver (durable outbox, HA dedupe, enrichment, Slack/PagerDuty/Teams/webhook).
    Webhook(cmd::webhook::WebhookArgs),
    /// Live full-screen view of the fleet: one row per model, sparklines, firing alerts.
    Top(cmd::top::TopArgs),
    /// A live stack on this machine: simulated fleet, Prometheus with infermon's rules, Alertmanager, webhook.
    Demo(cmd::demo::DemoArgs),
    /// Draw the dashboards as SVG images from real query results (the README's images; `make docs`).
    Render(cmd::render::RenderArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sim(args) => cmd::sim::run(args),
        Command::Rules(args) => cmd::rules::run(args).map_err(Into::into),
        Command::Webhook(args) => cmd::webhook::run(args).map_err(Into::into),
        Command::Dashboards(args) => cmd::dashboards::run(args).map_err(Into::into),
        Command::Query(args) => cmd::query::run(args).map_err(Into::into),
        Command::Top(args) => cmd::top::run(args).map_err(Into::into),
        Command::Demo(args) => cmd::demo::run(args).map_err(Into::into),
        Command::Render(args) => cmd::render::run(args).map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("infermon: {e}");
            ExitCode::FAILURE
        }
    }
}
