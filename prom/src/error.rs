//! Errors of the client, one variant per thing a user must do differently.
//!
//! Server errors keep Prometheus' `errorType` and `error` message (Display is `"<errorType>: <error>"`, the form
//! Grafana shows) plus the HTTP status, the endpoint and, for queries, the PromQL. They are mapped from
//! `errorType` first and the HTTP status second, covering Prometheus (400 `bad_data`, 422 `execution`, 503
//! `timeout`/`unavailable`, 500 `internal`), Mimir/Cortex (429 `too_many_requests`, 413 `too_large_entry`, 499
//! `canceled`, 406 `not_acceptable`) and VictoriaMetrics (whose `errorType` is the status number). Transport
//! failures (refused, DNS, timeout, TLS), bad credentials (401/403) and "this is not a Prometheus API" (HTML, a 404
//! without a Prometheus body) are distinct variants. No variant ever contains a secret: configs hold them in
//! [`crate::Secret`], URLs may not carry credentials, and header values are never echoed.

use std::fmt;
use std::time::Duration;

use crate::config::ConfigError;

/// Longest PromQL kept in an error (the rest is elided).
const MAX_QUERY_IN_ERROR: usize = 500;
/// Longest response-body excerpt kept in an error.
const MAX_SNIPPET: usize = 300;

/// A Prometheus-style error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// HTTP status code.
    pub status: u16,
    /// `errorType` (`bad_data`, `execution`, …); empty when the body was not a Prometheus error envelope.
    pub error_type: String,
    /// `error`, or a body excerpt when the body was not a Prometheus error envelope.
    pub message: String,
    /// API path, e.g. `/api/v1/query_range`.
    pub endpoint: &'static str,
    /// The PromQL of the failed query (truncated), for query endpoints.
    pub query: Option<String>,
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.error_type.is_empty() {
            write!(f, "HTTP {}: {}", self.status, self.message)?;
        } else {
            write!(f, "{}: {}", self.error_type, self.message)?;
        }
        write!(f, " (HTTP {} from {}", self.status, self.endpoint)?;
        if let Some(q) = &self.query {
            write!(f, ", query: {q}")?;
        }
        f.write_str(")")
    }
}

/// Everything that can go wrong calling the API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A call argument is invalid (checked before sending).
    #[error("invalid request: {field} {reason}")]
    InvalidRequest {
        /// The argument.
        field: &'static str,
        /// What was expected.
        reason: String,
    },

    /// 400 `bad_data`: PromQL syntax, bad parameters, too many points per series (11 000 on Prometheus).
    #[error("{0}")]
    BadData(ServerError),
    /// 422 `execution`: evaluation failed (e.g. too many samples loaded, many-to-many matching).
    #[error("{0}")]
    Execution(ServerError),
    /// 503 `timeout`: the server's query timeout was hit.
    #[error("{0}")]
    QueryTimeout(ServerError),
    /// 499 / `canceled`: the query was cancelled.
    #[error("{0}")]
    Canceled(ServerError),
    /// 503 `unavailable` (or a bare 503): the server cannot answer now; retry later.
    #[error("{0}")]
    Unavailable(ServerError),
    /// 429 `too_many_requests` (Mimir/Cortex tenant limits); retry later.
    #[error("{0}")]
    TooManyRequests(ServerError),
    /// 413 `too_large_entry`: the request or result exceeds a size limit.
    #[error("{0}")]
    TooLarge(ServerError),
    /// 406 `not_acceptable`.
    #[error("{0}")]
    NotAcceptable(ServerError),
    /// 500 `internal`.
    #[error("{0}")]
    Internal(ServerError),
    /// 404 with a Prometheus error body (`not_found`).
    #[error("{0}")]
    NotFound(ServerError),
    /// Any other Prometheus-style error.
    #[error("{0}")]
    Server(ServerError),

    /// 401/403: missing or wrong credentials, or no permission (e.g. wrong tenant).
    #[error("authentication failed: HTTP {status} from {endpoint}: {message}; check basic auth / bearer token / tenant header")]
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// API path.
        endpoint: &'static str,
        /// Server message or body excerpt.
        message: String,
    },
    /// The server answered, but not like a Prometheus API (HTML page, 404 on `/api/v1/...`, JSON without
    /// `status`): wrong URL or missing path prefix.
    #[error("not a Prometheus API at {url}: HTTP {status}, content-type {content_type:?}: {detail}; check the URL and path prefix (Mimir: /prometheus)")]
    NotPrometheusApi {
        /// The URL requested (no query string).
        url: String,
        /// HTTP status.
        status: u16,
        /// `Content-Type` of the answer.
        content_type: String,
        /// Why it is not Prometheus, with a body excerpt.
        detail: String,
    },
    /// An unexpected HTTP status with a non-Prometheus body (e.g. a proxy's 502 page).
    #[error("unexpected HTTP {status} from {endpoint}: {snippet}")]
    UnexpectedStatus {
        /// HTTP status.
        status: u16,
        /// API path.
        endpoint: &'static str,
        /// Body excerpt.
        snippet: String,
    },
    /// A success answer whose data could not be decoded.
    #[error("cannot decode {endpoint} response: {reason}")]
    Decode {
        /// API path.
        endpoint: &'static str,
        /// Decoder message (with line/column).
        reason: String,
    },
    /// The answer exceeded `max_response_bytes`.
    #[error("response from {endpoint} exceeds the {limit}-byte limit")]
    ResponseTooLarge {
        /// API path.
        endpoint: &'static str,
        /// The configured limit.
        limit: usize,
    },

    /// Nothing listens at the address.
    #[error("connection refused by {host}: is the server running and the port right?")]
    ConnectionRefused {
        /// `host:port`.
        host: String,
    },
    /// The host name did not resolve.
    #[error("cannot resolve host {host}: {reason}")]
    Dns {
        /// Host name.
        host: String,
        /// Resolver message.
        reason: String,
    },
    /// The client-side timeout elapsed (connect or whole request).
    #[error("request to {endpoint} timed out after {timeout:?}")]
    RequestTimeout {
        /// API path.
        endpoint: &'static str,
        /// The configured timeout.
        timeout: Duration,
    },
    /// TLS handshake failed (untrusted or invalid certificate, protocol mismatch).
    #[error(
        "TLS error talking to {host}: {reason}; set ca_cert_pem or (tests only) tls_skip_verify"
    )]
    Tls {
        /// `host:port`.
        host: String,
        /// Details.
        reason: String,
    },
    /// Could not connect for another reason.
    #[error("cannot connect to {host}: {reason}")]
    Connect {
        /// `host:port`.
        host: String,
        /// Details.
        reason: String,
    },
    /// Other transport failure (connection reset, protocol error).
    #[error("HTTP transport error talking to {host}: {reason}")]
    Transport {
        /// `host:port`.
        host: String,
        /// Details.
        reason: String,
    },
}

impl Error {
    /// The server's error details, for server-side errors.
    pub fn server_error(&self) -> Option<&ServerError> {
        match self {
            Error::BadData(e)
            | Error::Execution(e)
            | Error::QueryTimeout(e)
            | Error::Canceled(e)
            | Error::Unavailable(e)
            | Error::TooManyRequests(e)
            | Error::TooLarge(e)
            | Error::NotAcceptable(e)
            | Error::Internal(e)
            | Error::NotFound(e)
            | Error::Server(e) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status, when the server answered.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Unauthorized { status, .. }
            | Error::NotPrometheusApi { status, .. }
            | Error::UnexpectedStatus { status, .. } => Some(*status),
            _ => self.server_error().map(|e| e.status),
        }
    }

    /// Whether retrying the same request later may succeed (overload, unavailability, transport trouble).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Unavailable(_)
                | Error::TooManyRequests(_)
                | Error::QueryTimeout(_)
                | Error::ConnectionRefused { .. }
                | Error::RequestTimeout { .. }
                | Error::Connect { .. }
                | Error::Transport { .. }
        ) || matches!(self, Error::UnexpectedStatus { status, .. } if *status == 502 || *status == 504)
    }
}

/// Truncates PromQL for error messages.
pub(crate) fn clip_query(q: &str) -> String {
    clip(q, MAX_QUERY_IN_ERROR)
}

/// A printable excerpt of a body.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let collapsed: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if collapsed.is_empty() {
        "(empty body)".into()
    } else {
        clip(&collapsed, MAX_SNIPPET)
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// Maps a Prometheus-style error (errorType first, HTTP status second) to its variant.
pub(crate) fn classify_server_error(e: ServerError) -> Error {
    let by_type = match e.error_type.as_str() {
        "bad_data" => Some(Error::BadData as fn(ServerError) -> Error),
        "execution" => Some(Error::Execution as fn(ServerError) -> Error),
        "timeout" => Some(Error::QueryTimeout as fn(ServerError) -> Error),
        "canceled" => Some(Error::Canceled as fn(ServerError) -> Error),
        "unavailable" => Some(Error::Unavailable as fn(ServerError) -> Error),
        "too_many_requests" => Some(Error::TooManyRequests as fn(ServerError) -> Error),
        "too_large_entry" => Some(Error::TooLarge as fn(ServerError) -> Error),
        "not_acceptable" => Some(Error::NotAcceptable as fn(ServerError) -> Error),
        "internal" => Some(Error::Internal as fn(ServerError) -> Error),
        "not_found" => Some(Error::NotFound as fn(ServerError) -> Error),
        _ => None,
    };
    if let Some(ctor) = by_type {
        return ctor(e);
    }
    match e.status {
        400 => Error::BadData(e),
        404 => Error::NotFound(e),
        406 => Error::NotAcceptable(e),
        413 => Error::TooLarge(e),
        422 => Error::Execution(e),
        429 => Error::TooManyRequests(e),
        499 => Error::Canceled(e),
        500 => Error::Internal(e),
        503 => Error::Unavailable(e),
        504 => Error::QueryTimeout(e),
        _ => Error::Server(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn se(status: u16, t: &str) -> ServerError {
        ServerError {
            status,
            error_type: t.into(),
            message: "m".into(),
            endpoint: "/api/v1/query",
            query: Some("up".into()),
        }
    }

    #[test]
    fn maps_error_type_before_status() {
        assert!(matches!(
            classify_server_error(se(400, "bad_data")),
            Error::BadData(_)
        ));
        assert!(matches!(
            classify_server_error(se(422, "execution")),
            Error::Execution(_)
        ));
        assert!(matches!(
            classify_server_error(se(503, "timeout")),
            Error::QueryTimeout(_)
        ));
        assert!(matches!(
            classify_server_error(se(503, "canceled")),
            Error::Canceled(_)
        ));
        assert!(matches!(
            classify_server_error(se(499, "canceled")),
            Error::Canceled(_)
        ));
        assert!(matches!(
            classify_server_error(se(503, "unavailable")),
            Error::Unavailable(_)
        ));
        assert!(matches!(
            classify_server_error(se(429, "too_many_requests")),
            Error::TooManyRequests(_)
        ));
        assert!(matches!(
            classify_server_error(se(413, "too_large_entry")),
            Error::TooLarge(_)
        ));
        assert!(matches!(
            classify_server_error(se(406, "not_acceptable")),
            Error::NotAcceptable(_)
        ));
        // VictoriaMetrics sends the status number as errorType.
        assert!(matches!(
            classify_server_error(se(422, "422")),
            Error::Execution(_)
        ));
        assert!(matches!(
            classify_server_error(se(400, "400")),
            Error::BadData(_)
        ));
        assert!(matches!(
            classify_server_error(se(418, "teapot")),
            Error::Server(_)
        ));
    }

    #[test]
    fn display_is_grafana_like_with_context() {
        let e = classify_server_error(se(400, "bad_data"));
        assert_eq!(
            e.to_string(),
            "bad_data: m (HTTP 400 from /api/v1/query, query: up)"
        );
        assert_eq!(e.http_status(), Some(400));
        assert!(!e.is_retryable());
        assert!(classify_server_error(se(429, "too_many_requests")).is_retryable());
    }

    #[test]
    fn snippets_are_short_and_printable() {
        let long = "x".repeat(1000);
        assert_eq!(snippet(long.as_bytes()).chars().count(), MAX_SNIPPET + 1);
        assert_eq!(
            snippet(b"<html>\n  <b>502</b>\n</html>"),
            "<html> <b>502</b> </html>"
        );
        assert_eq!(snippet(b""), "(empty body)");
        assert_eq!(clip_query("up"), "up");
    }
}
