//! `infermon-webhook`: loads the config (or embedded defaults), initialises logging and runs the service.

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

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    infermon_webhook::init_tracing(cli.args.log_format);
    let config = match cli.args.load_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("infermon-webhook: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match infermon_webhook::run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("infermon-webhook: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
