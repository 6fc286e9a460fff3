//! Client configuration and its validation.
//!
//! The config comes from users (Grafana data-source settings, CLI flags, the webhook's config file), so every
//! field is checked up front with an error naming the field and what was expected, and secrets are wrapped in
//! [`Secret`] so that `{:?}` of a config is safe to log.

use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use url::Url;

use crate::secret::Secret;

/// HTTP method used for the query endpoints (`/api/v1/query`, `/api/v1/query_range`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpMethod {
    /// Parameters in the URL; some proxies cache GETs, but long PromQL can hit URL length limits.
    Get,
    /// Form-encoded body; Grafana's default, no URL length limit.
    #[default]
    Post,
}

impl std::str::FromStr for HttpMethod {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "GET" => Ok(HttpMethod::Get),
            "POST" => Ok(HttpMethod::Post),
            _ => Err(ConfigError::Invalid {
                field: "method",
                reason: format!("expected GET or POST, got {s:?}"),
            }),
        }
    }
}

/// HTTP basic-auth credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// User name (must not contain `:`).
    pub user: String,
    /// Password (never printed).
    pub password: Secret,
}

/// Everything needed to build a [`crate::Client`]. Construct with [`ClientConfig::new`] and the chained setters,
/// or fill the public fields directly.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `http(s)://host[:port][/prefix]`; the API is reached at `<base_url>/api/v1/...`. Mimir: `.../prometheus`.
    pub base_url: String,
    /// Method for the query endpoints (default POST, as Grafana).
    pub method: HttpMethod,
    /// Whole-request timeout (default 60 s, Grafana's `queryTimeout` default).
    pub timeout: Duration,
    /// Basic auth; mutually exclusive with `bearer_token`.
    pub basic_auth: Option<BasicAuth>,
    /// `Authorization: Bearer <token>`; mutually exclusive with `basic_auth`.
    pub bearer_token: Option<Secret>,
    /// Extra headers sent with every request, e.g. `X-Scope-OrgID` for Mimir/Cortex tenants.
    pub headers: Vec<(String, Secret)>,
    /// Accept any TLS certificate (self-signed test setups only).
    pub tls_skip_verify: bool,
    /// Extra trusted CA certificate(s), PEM.
    pub ca_cert_pem: Option<String>,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Refuse response bodies larger than this (default 512 MiB) instead of exhausting memory.
    pub max_response_bytes: usize,
}

/// Default `User-Agent`.
pub const DEFAULT_USER_AGENT: &str = concat!("infermon-prom/", env!("CARGO_PKG_VERSION"));

impl ClientConfig {
    /// A config with defaults: POST, 60 s timeout, no auth, verify TLS.
    pub fn new(base_url: impl Into<String>) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            method: HttpMethod::Post,
            timeout: Duration::from_secs(60),
            basic_auth: None,
            bearer_token: None,
            headers: Vec::new(),
            tls_skip_verify: false,
            ca_cert_pem: None,
            user_agent: DEFAULT_USER_AGENT.to_string(),
            max_response_bytes: 512 << 20,
        }
    }

    /// Sets the method for query endpoints.
    pub fn method(mut self, method: HttpMethod) -> Self {
        self.method = method;
        self
    }

    /// Sets the whole-request timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets basic auth.
    pub fn basic_auth(mut self, user: impl Into<String>, password: impl Into<Secret>) -> Self {
        self.basic_auth = Some(BasicAuth {
            user: user.into(),
            password: password.into(),
        });
        self
    }

    /// Sets a bearer token.
    pub fn bearer_token(mut self, token: impl Into<Secret>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// Adds a header sent with every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Secret>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Accepts any TLS certificate.
    pub fn tls_skip_verify(mut self, skip: bool) -> Self {
        self.tls_skip_verify = skip;
        self
    }

    /// Trusts this CA (PEM, one or more certificates).
    pub fn ca_cert_pem(mut self, pem: impl Into<String>) -> Self {
        self.ca_cert_pem = Some(pem.into());
        self
    }

    /// Sets the `User-Agent`.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Sets the response size limit.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Checks every field; returns the normalized base URL (path ending in `/`).
    pub fn validate(&self) -> Result<Url, ConfigError> {
        let invalid = |field: &'static str, reason: String| ConfigError::Invalid { field, reason };
        let raw = self.base_url.trim();
        if raw.is_empty() {
            return Err(invalid(
                "base_url",
                "is empty; expected http(s)://host[:port][/prefix]".into(),
            ));
        }
        let mut url = Url::parse(raw).map_err(|e| {
            invalid(
                "base_url",
                format!(
                    "{:?} is not a URL ({e}); expected http(s)://host[:port][/prefix]",
                    redact_userinfo(raw)
                ),
            )
        })?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(invalid(
                "base_url",
                format!(
                    "scheme {:?} is not supported; expected http or https",
                    url.scheme()
                ),
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("base_url", "has no host".into()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "base_url",
                "must not contain credentials (user:password@); use basic_auth instead".into(),
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid(
                "base_url",
                format!(
                    "{:?} must not have a query string or fragment",
                    url.as_str()
                ),
            ));
        }
        let path = url.path().trim_end_matches('/');
        if path.ends_with("/api/v1") {
            return Err(invalid(
                "base_url",
                format!(
                    "{:?} ends in /api/v1; give the server root or prefix (e.g. http://mimir/prometheus)",
                    url.as_str()
                ),
            ));
        }
        let normalized = format!("{path}/");
        url.set_path(&normalized);

        if self.timeout.is_zero() {
            return Err(invalid("timeout", "must be greater than zero".into()));
        }
        if self.max_response_bytes == 0 {
            return Err(invalid(
                "max_response_bytes",
                "must be greater than zero".into(),
            ));
        }
        if let Some(b) = &self.basic_auth {
            if b.user.is_empty() {
                return Err(invalid("basic_auth.user", "is empty".into()));
            }
            if b.user.contains(':') {
                return Err(invalid("basic_auth.user", "must not contain ':'".into()));
            }
            if b.user.chars().any(char::is_control)
                || b.password.expose().chars().any(char::is_control)
            {
                return Err(invalid(
                    "basic_auth",
                    "user or password contains control characters".into(),
                ));
            }
        }
        if let Some(t) = &self.bearer_token {
            if t.is_empty() {
                return Err(invalid("bearer_token", "is empty".into()));
            }
            if reqwest::header::HeaderValue::from_str(&format!("Bearer {}", t.expose())).is_err() {
                return Err(invalid(
                    "bearer_token",
                    "contains characters not allowed in an HTTP header".into(),
                ));
            }
        }
        if self.basic_auth.is_some() && self.bearer_token.is_some() {
            return Err(invalid(
                "bearer_token",
                "basic_auth and bearer_token are mutually exclusive; set only one".into(),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (name, value) in &self.headers {
            let parsed =
                reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                    invalid(
                        "headers",
                        format!("{name:?} is not a valid HTTP header name"),
                    )
                })?;
            let lower = parsed.as_str().to_string();
            if FORBIDDEN_HEADERS.contains(&lower.as_str()) {
                return Err(invalid(
                    "headers",
                    format!("{name:?} is managed by the client and cannot be set"),
                ));
            }
            if lower == "authorization"
                && (self.basic_auth.is_some() || self.bearer_token.is_some())
            {
                return Err(invalid(
                    "headers",
                    "Authorization header conflicts with basic_auth/bearer_token".into(),
                ));
            }
            if !seen.insert(lower) {
                return Err(invalid("headers", format!("{name:?} is set twice")));
            }
            if reqwest::header::HeaderValue::from_str(value.expose()).is_err() {
                return Err(invalid(
                    "headers",
                    format!(
                        "the value of {name:?} contains characters not allowed in an HTTP header"
                    ),
                ));
            }
        }
        if let Some(pem) = &self.ca_cert_pem {
            let mut count = 0;
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                cert.map_err(|e| invalid("ca_cert_pem", format!("is not valid PEM: {e}")))?;
                count += 1;
            }
            if count == 0 {
                return Err(invalid(
                    "ca_cert_pem",
                    "contains no -----BEGIN CERTIFICATE----- block".into(),
                ));
            }
        }
        if reqwest::header::HeaderValue::from_str(&self.user_agent).is_err() {
            return Err(invalid(
                "user_agent",
                "contains characters not allowed in an HTTP header".into(),
            ));
        }
        Ok(url)
    }
}

/// Headers the client sets itself; overriding them would break requests (e.g. `Accept-Encoding` would make the
/// server compress a body we do not decompress).
const FORBIDDEN_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "accept-encoding",
    "connection",
];

/// Replaces `user:pass@` in a URL-ish string by `***@`.
fn redact_userinfo(s: &str) -> String {
    match (s.find("://"), s.find('@')) {
        (Some(i), Some(j)) if j > i => format!("{}***{}", &s[..i + 3], &s[j..]),
        (None, Some(j)) => format!("***{}", &s[j..]),
        _ => s.to_string(),
    }
}

/// An invalid [`ClientConfig`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A field is invalid.
    #[error("invalid client config: {field} {reason}")]
    Invalid {
        /// The config field.
        field: &'static str,
        /// What is wrong and what was expected (never contains secret values).
        reason: String,
    },
    /// The HTTP client could not be built from a valid-looking config (e.g. a CA certificate rustls rejects).
    #[error("cannot build HTTP client: {0}")]
    Build(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(cfg: &ClientConfig) -> &'static str {
        match cfg.validate() {
            Err(ConfigError::Invalid { field, .. }) => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn normalizes_prefix() {
        let u = ClientConfig::new("https://mimir.example/prometheus")
            .validate()
            .unwrap();
        assert_eq!(u.as_str(), "https://mimir.example/prometheus/");
        let u = ClientConfig::new("http://127.0.0.1:9090/")
            .validate()
            .unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:9090/");
        let u = ClientConfig::new("http://h:1/a/b//").validate().unwrap();
        assert_eq!(u.as_str(), "http://h:1/a/b/");
    }

    #[test]
    fn rejects_bad_fields_naming_them() {
        assert_eq!(field_of(&ClientConfig::new("")), "base_url");
        assert_eq!(field_of(&ClientConfig::new("localhost:9090")), "base_url");
        assert_eq!(field_of(&ClientConfig::new("ftp://h/")), "base_url");
        assert_eq!(field_of(&ClientConfig::new("http://h/?x=1")), "base_url");
        assert_eq!(field_of(&ClientConfig::new("http://h/api/v1")), "base_url");
        let base = || ClientConfig::new("http://h:9090");
        assert_eq!(field_of(&base().timeout(Duration::ZERO)), "timeout");
        assert_eq!(field_of(&base().basic_auth("", "p")), "basic_auth.user");
        assert_eq!(field_of(&base().basic_auth("a:b", "p")), "basic_auth.user");
        assert_eq!(field_of(&base().bearer_token("")), "bearer_token");
        assert_eq!(
            field_of(&base().basic_auth("u", "p").bearer_token("t")),
            "bearer_token"
        );
        assert_eq!(field_of(&base().header("bad header", "v")), "headers");
        assert_eq!(field_of(&base().header("X-A", "line\nbreak")), "headers");
        assert_eq!(
            field_of(&base().header("Accept-Encoding", "gzip")),
            "headers"
        );
        assert_eq!(
            field_of(&base().header("X-A", "1").header("x-a", "2")),
            "headers"
        );
        assert_eq!(
            field_of(&base().bearer_token("t").header("Authorization", "x")),
            "headers"
        );
        assert_eq!(field_of(&base().ca_cert_pem("not a pem")), "ca_cert_pem");
        assert_eq!(field_of(&base().user_agent("a\nb")), "user_agent");
        assert_eq!(
            "put".parse::<HttpMethod>().unwrap_err(),
            ConfigError::Invalid {
                field: "method",
                reason: "expected GET or POST, got \"put\"".into()
            }
        );
        assert_eq!("get".parse::<HttpMethod>().unwrap(), HttpMethod::Get);
    }

    #[test]
    fn errors_and_debug_never_show_secrets() {
        let err = ClientConfig::new("http://user:hunter2@h/")
            .validate()
            .unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = ClientConfig::new("http://user:hunter2@h:notaport/")
            .validate()
            .unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = ClientConfig::new("http://h/")
            .header("X-Scope-OrgID", "tenant\u{7}secret")
            .validate()
            .unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        let cfg = ClientConfig::new("http://h/")
            .basic_auth("u", "hunter2")
            .header("X-Scope-OrgID", "tenant-secret");
        let dbg = format!("{cfg:?}");
        assert!(
            !dbg.contains("hunter2") && !dbg.contains("tenant-secret"),
            "{dbg}"
        );
        let cfg = ClientConfig::new("http://h/").bearer_token("tok-secret");
        assert!(!format!("{cfg:?}").contains("tok-secret"));
    }
}
