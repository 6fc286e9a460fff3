//! The async client: builds requests (GET query string or POST form), sends them with auth and custom headers,
//! buffers the body (with a size limit) and turns the answer into a typed [`Response`] or a typed [`Error`].
//!
//! Compression is never requested: reqwest is built without `gzip` here and `no_gzip()`/`no_brotli()`/
//! `no_deflate()` are called anyway, in case another crate in the build enables those features (Cargo unifies
//! features). On a co-located Prometheus, gzip makes a 5 MB answer ~5× slower (performance.md §2.5).

use std::error::Error as StdError;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use serde::Deserialize;
use url::Url;

use crate::config::{ClientConfig, ConfigError, HttpMethod};
use crate::decode::{decode, Decoded, QueryDataWithStats, TakeStats};
use crate::error::{classify_server_error, clip_query, snippet, Error, ServerError};
use crate::secret::Secret;
use crate::types::{BuildInfo, Labels, QueryData, Response, RulesData};

const EP_QUERY: &str = "/api/v1/query";
const EP_QUERY_RANGE: &str = "/api/v1/query_range";
const EP_SERIES: &str = "/api/v1/series";
const EP_LABELS: &str = "/api/v1/labels";
const EP_LABEL_VALUES: &str = "/api/v1/label/{name}/values";
const EP_RULES: &str = "/api/v1/rules";
const EP_BUILDINFO: &str = "/api/v1/status/buildinfo";

/// Per-query options beyond the expression and times.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryOptions {
    /// Send `stats=all` (Prometheus returns `data.stats`, see [`Response::stats`]).
    pub stats: bool,
    /// Server-side evaluation timeout (`timeout` parameter).
    pub timeout: Option<Duration>,
    /// `Some(false)`: refuse partial answers — sends Thanos' `partial_response=false` and VictoriaMetrics'
    /// `deny_partial_response=1` (use for error-budget numbers). `Some(true)`: allow them
    /// (`partial_response=true`). `None`: server default.
    pub partial_response: Option<bool>,
    /// Extra parameters passed as-is (e.g. Thanos `dedup`, `max_source_resolution`; VictoriaMetrics `nocache`).
    pub extra_params: Vec<(String, String)>,
}

/// A half-open time range for the metadata endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// Start.
    pub start: SystemTime,
    /// End.
    pub end: SystemTime,
}

#[derive(Clone)]
enum Auth {
    None,
    Basic(String, Secret),
    Bearer(Secret),
}

/// Prometheus HTTP API client. Cheap to clone (shares the connection pool).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    host: String,
    method: HttpMethod,
    timeout: Duration,
    max_response_bytes: usize,
    auth: Auth,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base.as_str())
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Validates the config and builds the client.
    pub fn new(config: ClientConfig) -> Result<Client, ConfigError> {
        let base = config.validate()?;
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        for (name, value) in &config.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| ConfigError::Build(format!("header name: {e}")))?;
            let mut value =
                HeaderValue::from_str(value.expose()).map_err(|_| ConfigError::Invalid {
                    field: "headers",
                    reason: format!("the value of {name:?} is not a valid header value"),
                })?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(config.user_agent.clone())
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .no_gzip()
            .no_brotli()
            .no_deflate()
            .danger_accept_invalid_certs(config.tls_skip_verify);
        if let Some(pem) = &config.ca_cert_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
                ConfigError::Invalid {
                    field: "ca_cert_pem",
                    reason: format!("cannot be loaded: {e}"),
                }
            })? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| ConfigError::Build(error_chain(&e)))?;
        let host = match (base.host_str(), base.port_or_known_default()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => String::new(),
        };
        let auth = match (config.basic_auth, config.bearer_token) {
            (Some(b), _) => Auth::Basic(b.user, b.password),
            (None, Some(t)) => Auth::Bearer(t),
            (None, None) => Auth::None,
        };
        Ok(Client {
            http,
            base,
            host,
            method: config.method,
            timeout: config.timeout,
            max_response_bytes: config.max_response_bytes,
            auth,
        })
    }

    /// The normalized base URL (ends in `/`).
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// Instant query (`/api/v1/query`) at `time` (server "now" if `None`).
    pub async fn query(
        &self,
        expr: &str,
        time: Option<SystemTime>,
        stats: bool,
    ) -> Result<Response<QueryData>, Error> {
        self.query_with(
            expr,
            time,
            &QueryOptions {
                stats,
                ..Default::default()
            },
        )
        .await
    }

    /// Instant query with options.
    pub async fn query_with(
        &self,
        expr: &str,
        time: Option<SystemTime>,
        opts: &QueryOptions,
    ) -> Result<Response<QueryData>, Error> {
        check_expr(expr)?;
        let mut params = vec![("query".to_string(), expr.to_string())];
        if let Some(t) = time {
            params.push(("time".into(), format_time(t, "time")?));
        }
        push_options(&mut params, opts);
        let r: Response<QueryDataWithStats> = self
            .call(
                EP_QUERY,
                self.url("api/v1/query"),
                self.method,
                &params,
                Some(expr),
            )
            .await?;
        Ok(r.map(|d| d.data))
    }

    /// Range query (`/api/v1/query_range`). `step` must be positive; Prometheus refuses more than 11 000 steps
    /// (VictoriaMetrics: 30 000) with [`Error::BadData`].
    pub async fn query_range(
        &self,
        expr: &str,
        start: SystemTime,
        end: SystemTime,
        step: Duration,
        stats: bool,
    ) -> Result<Response<QueryData>, Error> {
        self.query_range_with(
            expr,
            start,
            end,
            step,
            &QueryOptions {
                stats,
                ..Default::default()
            },
        )
        .await
    }

    /// Range query with options.
    pub async fn query_range_with(
        &self,
        expr: &str,
        start: SystemTime,
        end: SystemTime,
        step: Duration,
        opts: &QueryOptions,
    ) -> Result<Response<QueryData>, Error> {
        check_expr(expr)?;
        if step.is_zero() {
            return Err(Error::InvalidRequest {
                field: "step",
                reason: "must be greater than zero".into(),
            });
        }
        if end < start {
            return Err(Error::InvalidRequest {
                field: "end",
                reason: "must not be before start".into(),
            });
        }
        let mut params = vec![
            ("query".to_string(), expr.to_string()),
            ("start".into(), format_time(start, "start")?),
            ("end".into(), format_time(end, "end")?),
            ("step".into(), format_duration(step)),
        ];
        push_options(&mut params, opts);
        let r: Response<QueryDataWithStats> = self
            .call(
                EP_QUERY_RANGE,
                self.url("api/v1/query_range"),
                self.method,
                &params,
                Some(expr),
            )
            .await?;
        Ok(r.map(|d| d.data))
    }

    /// Series matching any of `matchers` (`match[]`, at least one) in `[start, end]`.
    pub async fn series(
        &self,
        matchers: &[&str],
        start: SystemTime,
        end: SystemTime,
    ) -> Result<Response<Vec<Labels>>, Error> {
        if matchers.is_empty() || matchers.iter().any(|m| m.trim().is_empty()) {
            return Err(Error::InvalidRequest {
                field: "matchers",
                reason: "need at least one non-empty series selector, e.g. {job=\"vllm\"}".into(),
            });
        }
        let mut params = matcher_params(matchers);
        params.push(("start".into(), format_time(start, "start")?));
        params.push(("end".into(), format_time(end, "end")?));
        self.call(
            EP_SERIES,
            self.url("api/v1/series"),
            self.method,
            &params,
            None,
        )
        .await
    }

    /// Label names, optionally restricted to series matching `matchers` and to a time range.
    pub async fn labels(
        &self,
        matchers: &[&str],
        range: Option<TimeRange>,
    ) -> Result<Response<Vec<String>>, Error> {
        let mut params = matcher_params(matchers);
        push_range(&mut params, range)?;
        self.call(
            EP_LABELS,
            self.url("api/v1/labels"),
            self.method,
            &params,
            None,
        )
        .await
    }

    /// Values of label `name`, optionally restricted by `matchers` and a time range.
    pub async fn label_values(
        &self,
        name: &str,
        matchers: &[&str],
        range: Option<TimeRange>,
    ) -> Result<Response<Vec<String>>, Error> {
        let valid = name
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit()));
        if name.is_empty() || !valid {
            return Err(Error::InvalidRequest {
                field: "label name",
                reason: format!("{name:?} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)"),
            });
        }
        let mut url = self.url("api/v1/label");
        url.path_segments_mut()
            .expect("http(s) base URL has path segments")
            .push(name)
            .push("values");
        let mut params = matcher_params(matchers);
        push_range(&mut params, range)?;
        self.call(EP_LABEL_VALUES, url, HttpMethod::Get, &params, None)
            .await
    }

    /// Recording and alerting rules with their health and active alerts (`/api/v1/rules`).
    pub async fn rules(&self) -> Result<Response<RulesData>, Error> {
        self.call(
            EP_RULES,
            self.url("api/v1/rules"),
            HttpMethod::Get,
            &[],
            None,
        )
        .await
    }

    /// Server build information (`/api/v1/status/buildinfo`).
    pub async fn buildinfo(&self) -> Result<Response<BuildInfo>, Error> {
        self.call(
            EP_BUILDINFO,
            self.url("api/v1/status/buildinfo"),
            HttpMethod::Get,
            &[],
            None,
        )
        .await
    }

    fn url(&self, relative: &str) -> Url {
        self.base
            .join(relative)
            .expect("relative API path joins onto a validated base URL")
    }

    async fn call<T>(
        &self,
        endpoint: &'static str,
        mut url: Url,
        method: HttpMethod,
        params: &[(String, String)],
        query: Option<&str>,
    ) -> Result<Response<T>, Error>
    where
        T: for<'de> Deserialize<'de> + TakeStats,
    {
        let shown_url = url.to_string();
        let req = match method {
            HttpMethod::Get => {
                if !params.is_empty() {
                    url.query_pairs_mut().extend_pairs(params);
                }
                self.http.get(url)
            }
            HttpMethod::Post => {
                let body = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(params)
                    .finish();
                self.http
                    .post(url)
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(body)
            }
        };
        let req = match &self.auth {
            Auth::None => req,
            Auth::Basic(user, password) => req.basic_auth(user, Some(password.expose())),
            Auth::Bearer(token) => req.bearer_auth(token.expose()),
        };
        let mut resp = req
            .send()
            .await
            .map_err(|e| self.transport_error(&e, endpoint))?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let limit = self.max_response_bytes;
        if resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(Error::ResponseTooLarge { endpoint, limit });
        }
        let mut body = Vec::with_capacity(
            resp.content_length()
                .map(|n| n as usize)
                .unwrap_or(64 * 1024),
        );
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| self.transport_error(&e, endpoint))?
        {
            if body.len() + chunk.len() > limit {
                return Err(Error::ResponseTooLarge { endpoint, limit });
            }
            body.extend_from_slice(&chunk);
        }
        interpret(endpoint, &shown_url, status, &content_type, &body, query)
    }

    fn transport_error(&self, e: &reqwest::Error, endpoint: &'static str) -> Error {
        let host = self.host.clone();
        if e.is_timeout() {
            return Error::RequestTimeout {
                endpoint,
                timeout: self.timeout,
            };
        }
        let mut source: Option<&(dyn StdError + 'static)> = e.source();
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::ConnectionRefused {
                    return Error::ConnectionRefused { host };
                }
                if io.kind() == std::io::ErrorKind::TimedOut {
                    return Error::RequestTimeout {
                        endpoint,
                        timeout: self.timeout,
                    };
                }
                if wraps_rustls_error(io) {
                    return Error::Tls {
                        host,
                        reason: io.to_string(),
                    };
                }
            }
            if s.downcast_ref::<rustls::Error>().is_some() {
                return Error::Tls {
                    host,
                    reason: s.to_string(),
                };
            }
            source = s.source();
        }
        let reason = error_chain(e);
        if reason.contains("dns error") || reason.contains("failed to lookup address") {
            let name = self.base.host_str().unwrap_or_default().to_string();
            return Error::Dns { host: name, reason };
        }
        if e.is_connect() {
            Error::Connect { host, reason }
        } else {
            Error::Transport { host, reason }
        }
    }
}

/// Whether an io::Error carries a rustls error, possibly through nested io::Errors (hyper-rustls wraps the
/// handshake's `InvalidData` io::Error into another one).
fn wraps_rustls_error(io: &std::io::Error) -> bool {
    let mut inner = io.get_ref();
    while let Some(e) = inner {
        if e.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        inner = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref());
    }
    false
}

/// The causes of an error joined by `: `, without the URL reqwest adds at the top.
fn error_chain(e: &(dyn StdError + 'static)) -> String {
    let mut parts = Vec::new();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

/// Turns status + body into the typed result.
fn interpret<T>(
    endpoint: &'static str,
    url: &str,
    status: u16,
    content_type: &str,
    body: &[u8],
    query: Option<&str>,
) -> Result<Response<T>, Error>
where
    T: for<'de> Deserialize<'de> + TakeStats,
{
    let ok = (200..300).contains(&status);
    let server_error = |error_type: String, message: String| ServerError {
        status,
        error_type,
        message,
        endpoint,
        query: query.map(clip_query),
    };
    if status == 401 || status == 403 {
        let message = match decode::<serde::de::IgnoredAny>(body) {
            Decoded::ApiError { message, .. } if !message.is_empty() => message,
            _ => snippet(body),
        };
        return Err(Error::Unauthorized {
            status,
            endpoint,
            message,
        });
    }
    match decode::<T>(body) {
        Decoded::Success(r) if ok => Ok(r),
        Decoded::Success(_) => Err(Error::UnexpectedStatus {
            status,
            endpoint,
            snippet: snippet(body),
        }),
        Decoded::ApiError {
            error_type,
            message,
        } => Err(classify_server_error(server_error(error_type, message))),
        Decoded::BadData(reason) if ok => Err(Error::Decode { endpoint, reason }),
        Decoded::BadData(_) => Err(Error::UnexpectedStatus {
            status,
            endpoint,
            snippet: snippet(body),
        }),
        Decoded::NotEnvelope(reason) => {
            if ok || status == 404 {
                Err(Error::NotPrometheusApi {
                    url: url.to_string(),
                    status,
                    content_type: content_type.to_string(),
                    detail: format!("{reason}; body: {}", snippet(body)),
                })
            } else if matches!(status, 400 | 406 | 413 | 422 | 429 | 499 | 500 | 503 | 504) {
                Err(classify_server_error(server_error(
                    String::new(),
                    snippet(body),
                )))
            } else {
                Err(Error::UnexpectedStatus {
                    status,
                    endpoint,
                    snippet: snippet(body),
                })
            }
        }
    }
}

impl TakeStats for serde::de::IgnoredAny {}

/// Decodes a saved `query`/`query_range` response body as if it came with HTTP 200 (benchmarks, fixtures,
/// replaying recorded answers). Error envelopes become the same typed errors as from the client.
pub fn parse_query_response(body: &[u8]) -> Result<Response<QueryData>, Error> {
    interpret::<QueryDataWithStats>(
        EP_QUERY_RANGE,
        "(buffer)",
        200,
        "application/json",
        body,
        None,
    )
    .map(|r| r.map(|d| d.data))
}

fn check_expr(expr: &str) -> Result<(), Error> {
    if expr.trim().is_empty() {
        return Err(Error::InvalidRequest {
            field: "expr",
            reason: "is empty; expected a PromQL expression".into(),
        });
    }
    Ok(())
}

fn matcher_params(matchers: &[&str]) -> Vec<(String, String)> {
    matchers
        .iter()
        .map(|m| ("match[]".to_string(), m.to_string()))
        .collect()
}

fn push_range(params: &mut Vec<(String, String)>, range: Option<TimeRange>) -> Result<(), Error> {
    if let Some(r) = range {
        if r.end < r.start {
            return Err(Error::InvalidRequest {
                field: "range.end",
                reason: "must not be before range.start".into(),
            });
        }
        params.push(("start".into(), format_time(r.start, "range.start")?));
        params.push(("end".into(), format_time(r.end, "range.end")?));
    }
    Ok(())
}

fn push_options(params: &mut Vec<(String, String)>, opts: &QueryOptions) {
    if opts.stats {
        params.push(("stats".into(), "all".into()));
    }
    if let Some(t) = opts.timeout {
        params.push(("timeout".into(), format_duration(t)));
    }
    match opts.partial_response {
        Some(false) => {
            params.push(("partial_response".into(), "false".into()));
            params.push(("deny_partial_response".into(), "1".into()));
        }
        Some(true) => params.push(("partial_response".into(), "true".into())),
        None => {}
    }
    params.extend(opts.extra_params.iter().cloned());
}

/// Unix seconds with millisecond precision, e.g. `1700000000.123`.
fn format_time(t: SystemTime, field: &'static str) -> Result<String, Error> {
    let d = t
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Error::InvalidRequest {
            field,
            reason: "is before 1970-01-01".into(),
        })?;
    Ok(format!("{}.{:03}", d.as_secs(), d.subsec_millis()))
}

/// Seconds, integral when possible (`15`, `0.5`).
fn format_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        d.as_secs().to_string()
    } else {
        format!("{}", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_and_steps() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(format_time(t, "time").unwrap(), "1700000000.123");
        assert_eq!(format_duration(Duration::from_secs(15)), "15");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5");
        assert!(matches!(
            format_time(UNIX_EPOCH - Duration::from_secs(1), "start"),
            Err(Error::InvalidRequest { field: "start", .. })
        ));
    }

    #[test]
    fn interprets_statuses_and_bodies() {
        let q = Some("sum(rate(x[5m]))");
        let r = interpret::<QueryDataWithStats>(
            EP_QUERY,
            "u",
            422,
            "application/json",
            br#"{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory in query execution"}"#,
            q,
        );
        match r {
            Err(Error::Execution(e)) => {
                assert_eq!(e.status, 422);
                assert_eq!(e.query.as_deref(), q);
                assert!(e.message.contains("too many samples"));
            }
            other => panic!("{other:?}"),
        }
        let r = interpret::<QueryDataWithStats>(
            EP_QUERY,
            "u",
            200,
            "text/html",
            b"<html>Grafana</html>",
            q,
        );
        assert!(
            matches!(r, Err(Error::NotPrometheusApi { status: 200, .. })),
            "{r:?}"
        );
        let r = interpret::<QueryDataWithStats>(
            EP_QUERY,
            "u",
            404,
            "text/plain",
            b"404 page not found",
            q,
        );
        assert!(
            matches!(r, Err(Error::NotPrometheusApi { status: 404, .. })),
            "{r:?}"
        );
        let r = interpret::<QueryDataWithStats>(
            EP_QUERY,
            "u",
            429,
            "text/plain",
            b"too many outstanding requests",
            q,
        );
        match r {
            Err(Error::TooManyRequests(e)) => {
                assert_eq!(e.error_type, "");
                assert_eq!(e.message, "too many outstanding requests");
            }
            other => panic!("{other:?}"),
        }
        let r = interpret::<QueryDataWithStats>(
            EP_QUERY,
            "u",
            502,
            "text/html",
            b"<html>Bad Gateway</html>",
            q,
        );
        assert!(
            matches!(r, Err(Error::UnexpectedStatus { status: 502, .. })),
            "{r:?}"
        );
        let r =
            interpret::<QueryDataWithStats>(EP_QUERY, "u", 401, "text/plain", b"Unauthorized", q);
        assert!(
            matches!(r, Err(Error::Unauthorized { status: 401, .. })),
            "{r:?}"
        );
    }

    #[test]
    fn parse_query_response_maps_error_envelopes() {
        let e = parse_query_response(
            br#"{"status":"error","errorType":"bad_data","error":"1:1: parse error"}"#,
        )
        .unwrap_err();
        assert!(matches!(e, Error::BadData(_)));
        let r = parse_query_response(
            br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
        )
        .unwrap();
        assert_eq!(r.data, QueryData::Vector(vec![]));
    }
}
