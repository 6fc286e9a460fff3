//! HTTP surface: the receive endpoint, health, readiness, metrics and the dead-letter listing.

pub mod auth;
pub mod error;
pub mod handlers;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tower_http::trace::TraceLayer;

use crate::AppState;

/// The service's routes. Layer order: the body limit applies to the receive routes; tracing wraps everything.
pub fn router(state: AppState) -> Router {
    let limit = state.max_body_bytes();
    let receive = Router::new()
        .route("/api/v1/alerts", post(handlers::receive))
        .route("/alerts", post(handlers::receive))
        // Set on purpose: axum's 2 MB default would turn an alert storm into a 413, which Alertmanager never
        // retries (alert-webhook.md §5.4). The handler maps the rejection to our JSON error.
        .layer(DefaultBodyLimit::max(limit));
    Router::new()
        .merge(receive)
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/metrics", get(handlers::metrics))
        .route("/api/v1/dead", get(handlers::dead))
        .layer(
            // The path is looked up inside the macro, which evaluates fields only when the span is enabled: at info
            // level a request no longer pays for a String it never logs.
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                tracing::debug_span!(
                    "http",
                    method = %req.method(),
                    path = req
                        .extensions()
                        .get::<axum::extract::MatchedPath>()
                        .map_or("unmatched", |p| p.as_str())
                )
            }),
        )
        .with_state(state)
}
