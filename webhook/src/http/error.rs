//! The one HTTP error type. 4xx answers are specific (field, expectation); 5xx answers are generic and their cause
//! is logged once, here. Every 5xx is a 503: Alertmanager retries 5xx, never 4xx (alert-webhook.md §2.2).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::outbox::StoreError;
use crate::payload::PayloadError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Payload(#[from] PayloadError),
    #[error("missing or invalid credentials; send `Authorization: Bearer <token>` or basic auth")]
    Unauthorized,
    #[error("request body is larger than max_body_bytes ({0} bytes); raise max_body_bytes or set max_alerts in Alertmanager")]
    TooLarge(usize),
    #[error("cannot read request body: {0}")]
    Body(String),
    #[error("store unavailable")]
    Store(#[from] StoreError),
    #[error("timed out waiting for the outbox")]
    Timeout,
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Payload(_) => (StatusCode::BAD_REQUEST, "bad_payload"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::Body(_) => (StatusCode::BAD_REQUEST, "bad_body"),
            ApiError::Store(StoreError::ShuttingDown) => {
                (StatusCode::SERVICE_UNAVAILABLE, "shutting_down")
            }
            ApiError::Store(StoreError::QueueFull) | ApiError::Timeout => {
                (StatusCode::SERVICE_UNAVAILABLE, "overloaded")
            }
            ApiError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = if status.is_server_error() {
            // Logged once here; the client gets a generic message and retries.
            match &self {
                ApiError::Store(StoreError::ShuttingDown) => {}
                ApiError::Store(e) => {
                    tracing::error!(error = %e, "Notification not accepted; answered 503.")
                }
                e => tracing::warn!(error = %e, "Notification not accepted; answered 503."),
            }
            match code {
                "shutting_down" => "service is shutting down; retry".to_string(),
                "overloaded" => "service is overloaded; retry".to_string(),
                _ => "notification store unavailable; retry".to_string(),
            }
        } else {
            self.to_string()
        };
        let mut resp = (
            status,
            Json(json!({"status": "error", "error": code, "message": message})),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                "www-authenticate",
                axum::http::HeaderValue::from_static("Bearer, Basic realm=\"infermon\""),
            );
        }
        resp
    }
}
