//! infermon-plugin: the Grafana backend data-source plugin `gpx_infermon` (plugin id
//! `infermon-inference-datasource`).
//!
//! Grafana launches the binary, reads the go-plugin handshake line from stdout and calls its gRPC services
//! ([`service`]). Queries are parsed and translated by `infermon-core`, run on a Prometheus-compatible engine
//! with `infermon-prom`, and answered as data-plane Arrow frames encoded here ([`frames`]) because SDK 0.5.0
//! loses labels next to a field config and cannot declare frame types.
//!
//! Module map: [`settings`] (jsonData/secureJsonData), [`instance`] (per-data-source client + detection cache),
//! [`detect`] (backends, generations, models, recording rules), [`step`] (Grafana's step rules), [`legend`]
//! (display names), [`query`] (QueryData), [`frames`] (Arrow), [`health`] (CheckHealth), [`resources`]
//! (CallResource), [`service`] (gRPC glue). See `docs/plugin.md`.

pub mod detect;
pub mod frames;
pub mod health;
pub mod instance;
pub mod legend;
pub mod query;
pub mod resources;
pub mod service;
pub mod settings;
pub mod step;

/// Grafana's plugin id.
pub const PLUGIN_ID: &str = "infermon-inference-datasource";

/// Serves the plugin on `listener` (from [`grafana_plugin_sdk::backend::initialize`]) until the process ends.
pub async fn serve(listener: tokio::net::TcpListener) -> Result<(), tonic::transport::Error> {
    use grafana_plugin_sdk::pluginv2::{
        data_server::DataServer, diagnostics_server::DiagnosticsServer,
        resource_server::ResourceServer,
    };
    let plugin = service::Plugin::default();
    let (mut reporter, health) = tonic_health::server::health_reporter();
    reporter.set_serving::<DataServer<service::Plugin>>().await;
    reporter
        .set_serving::<DiagnosticsServer<service::Plugin>>()
        .await;
    reporter
        .set_serving::<ResourceServer<service::Plugin>>()
        .await;
    tonic::transport::Server::builder()
        .add_service(health)
        .add_service(DataServer::new(plugin.clone()).max_decoding_message_size(64 << 20))
        .add_service(DiagnosticsServer::new(plugin.clone()))
        .add_service(ResourceServer::new(plugin).max_decoding_message_size(64 << 20))
        .serve_with_incoming(tokio_stream_listener(listener))
        .await
}

fn tokio_stream_listener(
    listener: tokio::net::TcpListener,
) -> impl futures::Stream<Item = Result<tokio::net::TcpStream, std::io::Error>> {
    futures::stream::unfold(listener, |l| async move {
        let r = l.accept().await.map(|(s, _)| {
            let _ = s.set_nodelay(true);
            s
        });
        Some((r, l))
    })
}
