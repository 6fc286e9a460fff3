//! `gpx_infermon`: the executable Grafana starts. Prints the go-plugin handshake line (nothing may reach stdout
//! before it), then serves gRPC. Logs go to stderr as hclog JSON, which Grafana forwards to its own log.

use tracing_subscriber::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(grafana_plugin_sdk::backend::layer())
        .with(filter)
        .init();
    let listener = grafana_plugin_sdk::backend::initialize().await?;
    tracing::info!(plugin = infermon_plugin::PLUGIN_ID, "serving");
    infermon_plugin::serve(listener).await?;
    Ok(())
}
