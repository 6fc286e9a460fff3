//! `infermon-webhook`: parses the flags and runs the service (see [`infermon_webhook::run_blocking`]).

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "infermon-webhook",
    version,
    about = "Alertmanager webhook receiver for LLM-inference alerts"
)]
struct Cli {
    #[command(flatten)]
    args: infermon_webhook::Args,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match infermon_webhook::run_blocking(cli.args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e @ infermon_webhook::RunError::Config(_)) => {
            eprintln!("infermon-webhook: {e}");
            std::process::ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("infermon-webhook: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
