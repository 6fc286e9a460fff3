//! Request handlers. The receive path is: authenticate → parse and validate → route → durable accept (group
//! commit) → answer. Nothing on it waits for Prometheus or a destination.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use super::error::ApiError;
use crate::outbox::{AcceptRequest, Accepted};
use crate::payload;
use crate::AppState;

/// Longest a request waits for its batch to commit before answering 503 (far below Alertmanager's 15 s
/// peer_timeout, so an HA peer does not also send while we are stuck).
const ACCEPT_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn receive(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let started = Instant::now();
    let result = accept(&s, &headers, body).await;
    let label = match &result {
        Ok(Accepted::Stored { .. }) => "accepted",
        Ok(Accepted::Duplicate) => "duplicate",
        Err(ApiError::Unauthorized) => "unauthorized",
        Err(ApiError::Payload(_) | ApiError::TooLarge(_) | ApiError::Body(_)) => "rejected",
        Err(_) => "unavailable",
    };
    s.metrics().received(label);
    s.metrics()
        .accept_seconds
        .observe(started.elapsed().as_secs_f64());
    match result? {
        Accepted::Stored {
            notification_id,
            reminder,
        } => Ok((
            StatusCode::OK,
            Json(AcceptAnswer {
                status: "accepted",
                id: Some(notification_id),
                reminder: Some(reminder),
            }),
        )),
        Accepted::Duplicate => {
            s.metrics().duplicates.inc();
            Ok((
                StatusCode::OK,
                Json(AcceptAnswer {
                    status: "duplicate",
                    id: None,
                    reminder: None,
                }),
            ))
        }
    }
}

/// The 200 answer (a struct rather than `json!`, which builds a map per request).
#[derive(serde::Serialize)]
struct AcceptAnswer {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reminder: Option<bool>,
}

async fn accept(
    s: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Accepted, ApiError> {
    // 1. Authenticate before reading anything else.
    if !s.auth().check(headers) {
        return Err(ApiError::Unauthorized);
    }
    // 2. The body, within the configured limit.
    let body = body.map_err(|e| match e {
        BytesRejection::FailedToBufferBody(ref f)
            if f.status() == StatusCode::PAYLOAD_TOO_LARGE =>
        {
            ApiError::TooLarge(s.max_body_bytes())
        }
        e => ApiError::Body(e.body_text()),
    })?;
    // 3. Parse and validate (400 with the field on failure).
    // Only what this path needs is extracted; the worker parses the stored body in full.
    let (group_key, content_key, receivers) = {
        let r = payload::parse_received(&body)?;
        // 4. Route on the group's labels.
        let receivers = s.route_received(&r);
        (r.group_key, r.content_key, receivers)
    };
    // 5. Durable accept: answered only after the group commit holding it.
    let req = AcceptRequest {
        received_ms: crate::outbox::writer::now_ms(),
        group_key,
        content_key,
        body,
        receivers,
    };
    tokio::time::timeout(ACCEPT_TIMEOUT, s.writer().accept(req))
        .await
        .map_err(|_| ApiError::Timeout)?
        .map_err(ApiError::Store)
}

pub async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// Ready when the outbox accepts writes and the service is not shutting down. Prometheus reachability is reported
/// but does not fail readiness: without Prometheus we still accept and deliver (without context), and an unready
/// pod would be taken out of the Service, making Alertmanager fail instead.
pub async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    let store_ok = s.writer().is_available();
    let closing = s.is_closing();
    let prometheus = s.prometheus_reachable().await;
    let ready = store_ok && !closing;
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        Json(
            json!({"ready": ready, "outbox": store_ok, "shutting_down": closing, "prometheus": prometheus}),
        ),
    )
}

pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics().encode(),
    )
}

/// Dead deliveries (most recent first), so nothing is dropped out of sight.
pub async fn dead(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    if !s.auth().check(&headers) {
        return Err(ApiError::Unauthorized);
    }
    let dir = s.data_dir().to_owned();
    let rows = tokio::task::spawn_blocking(move || {
        let c = crate::outbox::store::open_reader(&dir)?;
        crate::outbox::store::dead_deliveries(&c, 500).map_err(crate::outbox::StoreError::from)
    })
    .await
    .map_err(|_| ApiError::Timeout)??;
    Ok(Json(json!({"dead": rows})))
}
