//! The service's YAML configuration: wire structs (`deny_unknown_fields`, defaults written next to each field) and
//! their validation into [`Config`], with errors that name the line and the field.
//!
//! Destination URLs and secrets come only from here (inline, `*_file` or `*_env`), never from alert content.
//! Without any file the service runs on [`Config::embedded_default`]. No network IO here.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::route::{Matcher, Route};

/// Configuration errors; each names the file, line or field and shows what is expected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: field `{field}`: {message}")]
    Parse {
        path: String,
        field: String,
        message: String,
    },
    #[error("field `{field}`: {message}")]
    Invalid { field: String, message: String },
    #[error("field `{field}`: cannot read secret file {file}: {source}")]
    SecretFile {
        field: String,
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("field `{field}`: environment variable {var} is not set")]
    SecretEnv { field: String, var: String },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// Parses `"30s"`, `"5m"`, `"1h 30m"` into a [`Duration`].
pub(crate) fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s).map_err(|e| {
        serde::de::Error::custom(format!(
            "expected a duration such as \"30s\" or \"5m\"; got {s:?} ({e})"
        ))
    })
}

// ---------------------------------------------------------------- wire structs

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// Default `0.0.0.0:9095`.
    listen: Option<SocketAddr>,
    /// Default `./data`.
    data_dir: Option<PathBuf>,
    /// Default `http://localhost:9090`.
    prometheus_url: Option<String>,
    /// Default 32 MiB: an alert storm with `max_alerts: 0` is ~600 B per alert (alert-webhook.md §5.4).
    max_body_bytes: Option<usize>,
    #[serde(default)]
    auth: RawAuth,
    #[serde(default)]
    dedupe: RawDedupe,
    #[serde(default)]
    outbox: RawOutbox,
    #[serde(default)]
    retry: RawRetry,
    #[serde(default)]
    enrichment: RawEnrichment,
    route: Option<RawRoute>,
    #[serde(default)]
    receivers: Vec<RawReceiver>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    /// Accepted `Authorization: Bearer` tokens; several for rotation.
    #[serde(default)]
    bearer_tokens: Vec<String>,
    #[serde(default)]
    bearer_token_files: Vec<PathBuf>,
    #[serde(default)]
    basic: Vec<RawBasic>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBasic {
    username: String,
    password: Option<String>,
    password_file: Option<PathBuf>,
    password_env: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDedupe {
    /// Default `5m`: well above (replicas − 1) × peer_timeout (15 s) and below any sane repeat_interval.
    #[serde(default, deserialize_with = "opt_duration")]
    window: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutbox {
    /// Default 65 536 accepts waiting for the writer; beyond that the service answers 503.
    queue_capacity: Option<usize>,
    /// Default `7d`: delivered and dead deliveries older than this are pruned.
    #[serde(default, deserialize_with = "opt_duration")]
    retention: Option<Duration>,
    /// Default 1 000 000 notifications; beyond that new ones get 503 (the store is "full").
    max_notifications: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetry {
    /// Default `1s`.
    #[serde(default, deserialize_with = "opt_duration")]
    initial_backoff: Option<Duration>,
    /// Default `5m`.
    #[serde(default, deserialize_with = "opt_duration")]
    max_backoff: Option<Duration>,
    /// Default `24h`: a delivery still failing after this is marked dead (counted and listed, never dropped silently).
    #[serde(default, deserialize_with = "opt_duration")]
    max_age: Option<Duration>,
    /// Default `10s`: timeout of one HTTP request to a destination.
    #[serde(default, deserialize_with = "opt_duration")]
    request_timeout: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnrichment {
    /// Default true.
    enabled: Option<bool>,
    /// Default `2s`: total time enrichment may add before a delivery goes out without context.
    #[serde(default, deserialize_with = "opt_duration")]
    timeout: Option<Duration>,
    /// Grafana base URL for links; no links without it.
    grafana_url: Option<String>,
    /// Default `infermon-overview`.
    dashboard_uid: Option<String>,
    /// Alertmanager base URL used for silence links when the payload's `externalURL` is empty.
    alertmanager_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    receiver: Option<String>,
    #[serde(default)]
    matchers: Vec<Matcher>,
    #[serde(default, rename = "continue")]
    continue_: bool,
    #[serde(default)]
    routes: Vec<RawRoute>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReceiver {
    name: String,
    slack: Option<RawSlack>,
    pagerduty: Option<RawPagerDuty>,
    teams: Option<RawTeams>,
    webhook: Option<RawWebhook>,
    log: Option<RawLog>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlack {
    url: Option<String>,
    url_file: Option<PathBuf>,
    url_env: Option<String>,
    /// Default `1s`: Slack allows about one message per second per channel.
    #[serde(default, deserialize_with = "opt_duration")]
    min_interval: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPagerDuty {
    /// Default `https://events.pagerduty.com/v2/enqueue`.
    url: Option<String>,
    routing_key: Option<String>,
    routing_key_file: Option<PathBuf>,
    routing_key_env: Option<String>,
    /// Alert `severity` label → PagerDuty severity. Defaults: critical→critical, error→error, warning→warning,
    /// info→info, page→critical; anything else → `default_severity` (default `error`, as Alertmanager does).
    #[serde(default)]
    severity_map: BTreeMap<String, String>,
    default_severity: Option<String>,
    /// Default 500 ms: PagerDuty allows about 120 events per minute per integration key.
    #[serde(default, deserialize_with = "opt_duration")]
    min_interval: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTeams {
    url: Option<String>,
    url_file: Option<PathBuf>,
    url_env: Option<String>,
    #[serde(default, deserialize_with = "opt_duration")]
    min_interval: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    url: Option<String>,
    url_file: Option<PathBuf>,
    url_env: Option<String>,
    hmac_secret: Option<String>,
    hmac_secret_file: Option<PathBuf>,
    hmac_secret_env: Option<String>,
    /// Default `X-Infermon-Signature`.
    signature_header: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {}

fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    de_duration(d).map(Some)
}

// ---------------------------------------------------------------- validated config

/// Accepted credentials. Empty = no authentication required.
#[derive(Clone, Default)]
pub struct AuthConfig {
    pub bearer_tokens: Vec<String>,
    pub basic: Vec<(String, String)>,
}

impl std::fmt::Debug for AuthConfig {
    // Secrets are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("bearer_tokens", &self.bearer_tokens.len())
            .field(
                "basic_users",
                &self
                    .basic
                    .iter()
                    .map(|(u, _)| u.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Retry policy shared by all receivers.
#[derive(Debug, Clone, Copy)]
pub struct RetryConfig {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub max_age: Duration,
    pub request_timeout: Duration,
}

/// Enrichment settings.
#[derive(Debug, Clone)]
pub struct EnrichmentConfig {
    pub enabled: bool,
    pub timeout: Duration,
    pub grafana_url: Option<String>,
    pub dashboard_uid: String,
    pub alertmanager_url: Option<String>,
}

/// One destination, with its secrets resolved.
#[derive(Clone)]
pub enum ReceiverKind {
    Slack {
        url: String,
        min_interval: Duration,
    },
    PagerDuty {
        url: String,
        routing_key: String,
        severity_map: BTreeMap<String, String>,
        default_severity: String,
        min_interval: Duration,
    },
    Teams {
        url: String,
        min_interval: Duration,
    },
    Webhook {
        url: String,
        hmac_secret: Option<String>,
        signature_header: String,
    },
    Log,
}

impl ReceiverKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            ReceiverKind::Slack { .. } => "slack",
            ReceiverKind::PagerDuty { .. } => "pagerduty",
            ReceiverKind::Teams { .. } => "teams",
            ReceiverKind::Webhook { .. } => "webhook",
            ReceiverKind::Log => "log",
        }
    }
}

/// A named receiver.
#[derive(Clone)]
pub struct ReceiverConfig {
    pub name: String,
    pub kind: ReceiverKind,
}

impl std::fmt::Debug for ReceiverConfig {
    // URLs of Slack/Teams webhooks and PagerDuty keys are secrets: print only name and type.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.kind.type_name())
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub prometheus_url: String,
    pub max_body_bytes: usize,
    pub auth: AuthConfig,
    pub dedupe_window: Duration,
    pub queue_capacity: usize,
    pub retention: Duration,
    pub max_notifications: u64,
    pub retry: RetryConfig,
    pub enrichment: EnrichmentConfig,
    pub route: Route,
    pub receivers: Vec<ReceiverConfig>,
    /// Where the config came from, for the start-up banner.
    pub source: String,
}

/// An example configuration shipped in the crate; a test parses it.
pub const EXAMPLE_CONFIG: &str = include_str!("../config.example.yaml");

impl Config {
    /// Defaults used with no config file: listen on :9095, log receiver, Prometheus on localhost:9090, `./data`.
    pub fn embedded_default() -> Config {
        Config::from_yaml_str("{}", "embedded defaults").expect("embedded defaults are valid")
    }

    /// Loads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::from_yaml_str(&text, &path.display().to_string())
    }

    /// Parses and validates YAML text; `origin` names it in errors.
    pub fn from_yaml_str(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let de = serde_norway::Deserializer::from_str(text);
        let raw: RawConfig = match serde_path_to_error::deserialize(de) {
            Ok(r) => r,
            Err(e) => {
                let field = e.path().to_string();
                let inner = e.into_inner();
                // serde_norway puts "at line L column C" in the message.
                return Err(ConfigError::Parse {
                    path: origin.to_string(),
                    field,
                    message: inner.to_string(),
                });
            }
        };
        // An empty document deserializes as unit for some YAML inputs; treat it like `{}`.
        let mut cfg = validate(raw)?;
        cfg.source = origin.to_string();
        Ok(cfg)
    }

    pub fn receiver(&self, name: &str) -> Option<&ReceiverConfig> {
        self.receivers.iter().find(|r| r.name == name)
    }
}

fn secret(
    field: &str,
    inline: Option<String>,
    file: Option<PathBuf>,
    env: Option<String>,
) -> Result<Option<String>, ConfigError> {
    let set = [inline.is_some(), file.is_some(), env.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    if set > 1 {
        return Err(invalid(
            field,
            format!("set only one of `{field}`, `{field}_file` and `{field}_env`"),
        ));
    }
    if let Some(v) = inline {
        return Ok(Some(v));
    }
    if let Some(f) = file {
        let v = std::fs::read_to_string(&f).map_err(|source| ConfigError::SecretFile {
            field: format!("{field}_file"),
            file: f.clone(),
            source,
        })?;
        return Ok(Some(v.trim().to_string()));
    }
    if let Some(var) = env {
        let v = std::env::var(&var).map_err(|_| ConfigError::SecretEnv {
            field: format!("{field}_env"),
            var,
        })?;
        return Ok(Some(v.trim().to_string()));
    }
    Ok(None)
}

fn required_url(field: &str, v: Option<String>) -> Result<String, ConfigError> {
    let v = v.ok_or_else(|| invalid(field, "is required (inline, `_file` or `_env`), e.g. `https://hooks.slack.com/services/T0/B0/XXX`"))?;
    check_url(field, &v)?;
    Ok(v)
}

fn check_url(field: &str, v: &str) -> Result<(), ConfigError> {
    let u =
        url::Url::parse(v).map_err(|e| invalid(field, format!("must be an http(s) URL: {e}")))?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(invalid(
            field,
            format!("must use http or https; got scheme {:?}", u.scheme()),
        ));
    }
    Ok(())
}

fn validate(raw: RawConfig) -> Result<Config, ConfigError> {
    let prometheus_url = raw
        .prometheus_url
        .unwrap_or_else(|| "http://localhost:9090".to_string());
    check_url("prometheus_url", &prometheus_url)?;

    let mut auth = AuthConfig {
        bearer_tokens: raw.auth.bearer_tokens,
        basic: vec![],
    };
    for (i, f) in raw.auth.bearer_token_files.into_iter().enumerate() {
        let field = format!("auth.bearer_token_files[{i}]");
        let v = std::fs::read_to_string(&f).map_err(|source| ConfigError::SecretFile {
            field,
            file: f.clone(),
            source,
        })?;
        auth.bearer_tokens.push(v.trim().to_string());
    }
    if let Some(i) = auth.bearer_tokens.iter().position(|t| t.is_empty()) {
        return Err(invalid(
            format!("auth.bearer_tokens[{i}]"),
            "must not be empty",
        ));
    }
    for (i, b) in raw.auth.basic.into_iter().enumerate() {
        let field = format!("auth.basic[{i}].password");
        let pw = secret(&field, b.password, b.password_file, b.password_env)?
            .ok_or_else(|| invalid(&field, "is required (inline, `_file` or `_env`)"))?;
        auth.basic.push((b.username, pw));
    }

    let mut receivers = Vec::new();
    for (i, r) in raw.receivers.into_iter().enumerate() {
        let base = format!("receivers[{i}]");
        if r.name.is_empty() {
            return Err(invalid(format!("{base}.name"), "must not be empty"));
        }
        if receivers.iter().any(|x: &ReceiverConfig| x.name == r.name) {
            return Err(invalid(
                format!("{base}.name"),
                format!("duplicate receiver name {:?}", r.name),
            ));
        }
        let set = [
            r.slack.is_some(),
            r.pagerduty.is_some(),
            r.teams.is_some(),
            r.webhook.is_some(),
            r.log.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if set != 1 {
            return Err(invalid(
                &base,
                format!("receiver {:?} must have exactly one of `slack`, `pagerduty`, `teams`, `webhook`, `log`; found {set}", r.name),
            ));
        }
        let kind = if let Some(s) = r.slack {
            let url = required_url(
                &format!("{base}.slack.url"),
                secret(&format!("{base}.slack.url"), s.url, s.url_file, s.url_env)?,
            )?;
            ReceiverKind::Slack {
                url,
                min_interval: s.min_interval.unwrap_or(Duration::from_secs(1)),
            }
        } else if let Some(p) = r.pagerduty {
            let url = p
                .url
                .unwrap_or_else(|| "https://events.pagerduty.com/v2/enqueue".to_string());
            check_url(&format!("{base}.pagerduty.url"), &url)?;
            let f = format!("{base}.pagerduty.routing_key");
            let routing_key = secret(&f, p.routing_key, p.routing_key_file, p.routing_key_env)?
                .ok_or_else(|| {
                    invalid(
                        &f,
                        "is required (inline, `_file` or `_env`): the 32-character integration key",
                    )
                })?;
            let allowed = ["critical", "error", "warning", "info"];
            let default_severity = p.default_severity.unwrap_or_else(|| "error".to_string());
            if !allowed.contains(&default_severity.as_str()) {
                return Err(invalid(
                    format!("{base}.pagerduty.default_severity"),
                    format!("must be one of {allowed:?}; got {default_severity:?}"),
                ));
            }
            let mut severity_map: BTreeMap<String, String> = [
                ("critical", "critical"),
                ("error", "error"),
                ("warning", "warning"),
                ("info", "info"),
                ("page", "critical"),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
            for (k, v) in p.severity_map {
                if !allowed.contains(&v.as_str()) {
                    return Err(invalid(
                        format!("{base}.pagerduty.severity_map.{k}"),
                        format!("must be one of {allowed:?}; got {v:?}"),
                    ));
                }
                severity_map.insert(k, v);
            }
            ReceiverKind::PagerDuty {
                url,
                routing_key,
                severity_map,
                default_severity,
                min_interval: p.min_interval.unwrap_or(Duration::from_millis(500)),
            }
        } else if let Some(t) = r.teams {
            let url = required_url(
                &format!("{base}.teams.url"),
                secret(&format!("{base}.teams.url"), t.url, t.url_file, t.url_env)?,
            )?;
            ReceiverKind::Teams {
                url,
                min_interval: t.min_interval.unwrap_or(Duration::ZERO),
            }
        } else if let Some(w) = r.webhook {
            let url = required_url(
                &format!("{base}.webhook.url"),
                secret(&format!("{base}.webhook.url"), w.url, w.url_file, w.url_env)?,
            )?;
            let hmac_secret = secret(
                &format!("{base}.webhook.hmac_secret"),
                w.hmac_secret,
                w.hmac_secret_file,
                w.hmac_secret_env,
            )?;
            let signature_header = w
                .signature_header
                .unwrap_or_else(|| "X-Infermon-Signature".to_string());
            if reqwest::header::HeaderName::from_bytes(signature_header.as_bytes()).is_err() {
                return Err(invalid(
                    format!("{base}.webhook.signature_header"),
                    format!("is not a valid HTTP header name: {signature_header:?}"),
                ));
            }
            ReceiverKind::Webhook {
                url,
                hmac_secret,
                signature_header,
            }
        } else {
            ReceiverKind::Log
        };
        receivers.push(ReceiverConfig { name: r.name, kind });
    }
    if receivers.is_empty() {
        receivers.push(ReceiverConfig {
            name: "log".to_string(),
            kind: ReceiverKind::Log,
        });
    }

    let raw_route = raw.route.unwrap_or(RawRoute {
        receiver: None,
        matchers: vec![],
        continue_: false,
        routes: vec![],
    });
    if !raw_route.matchers.is_empty() {
        return Err(invalid(
            "route.matchers",
            "the root route matches every notification and takes no matchers",
        ));
    }
    let default_receiver = raw_route
        .receiver
        .clone()
        .unwrap_or_else(|| receivers[0].name.clone());
    let route = build_route(raw_route, &default_receiver, "route", &receivers)?;

    let retry = RetryConfig {
        initial_backoff: raw.retry.initial_backoff.unwrap_or(Duration::from_secs(1)),
        max_backoff: raw.retry.max_backoff.unwrap_or(Duration::from_secs(300)),
        max_age: raw.retry.max_age.unwrap_or(Duration::from_secs(24 * 3600)),
        request_timeout: raw.retry.request_timeout.unwrap_or(Duration::from_secs(10)),
    };
    if retry.initial_backoff.is_zero() || retry.max_backoff < retry.initial_backoff {
        return Err(invalid("retry", "need 0 < initial_backoff <= max_backoff, e.g. `initial_backoff: 1s`, `max_backoff: 5m`"));
    }
    if let Some(u) = &raw.enrichment.grafana_url {
        check_url("enrichment.grafana_url", u)?;
    }
    if let Some(u) = &raw.enrichment.alertmanager_url {
        check_url("enrichment.alertmanager_url", u)?;
    }
    let max_body_bytes = raw.max_body_bytes.unwrap_or(32 << 20);
    if max_body_bytes < 64 << 10 {
        return Err(invalid(
            "max_body_bytes",
            format!("must be at least 65536 (alert storms are large); got {max_body_bytes}"),
        ));
    }
    let queue_capacity = raw.outbox.queue_capacity.unwrap_or(65_536);
    if queue_capacity == 0 {
        return Err(invalid("outbox.queue_capacity", "must be at least 1"));
    }
    Ok(Config {
        listen: raw
            .listen
            .unwrap_or_else(|| "0.0.0.0:9095".parse().expect("valid")),
        data_dir: raw.data_dir.unwrap_or_else(|| PathBuf::from("./data")),
        prometheus_url,
        max_body_bytes,
        auth,
        dedupe_window: raw.dedupe.window.unwrap_or(Duration::from_secs(300)),
        queue_capacity,
        retention: raw
            .outbox
            .retention
            .unwrap_or(Duration::from_secs(7 * 24 * 3600)),
        max_notifications: raw.outbox.max_notifications.unwrap_or(1_000_000),
        retry,
        enrichment: EnrichmentConfig {
            enabled: raw.enrichment.enabled.unwrap_or(true),
            timeout: raw.enrichment.timeout.unwrap_or(Duration::from_secs(2)),
            grafana_url: raw.enrichment.grafana_url,
            dashboard_uid: raw
                .enrichment
                .dashboard_uid
                .unwrap_or_else(|| "infermon-overview".to_string()),
            alertmanager_url: raw.enrichment.alertmanager_url,
        },
        route,
        receivers,
        source: String::new(),
    })
}

fn build_route(
    raw: RawRoute,
    inherited: &str,
    field: &str,
    receivers: &[ReceiverConfig],
) -> Result<Route, ConfigError> {
    let receiver = raw.receiver.unwrap_or_else(|| inherited.to_string());
    if !receivers.iter().any(|r| r.name == receiver) {
        let known: Vec<&str> = receivers.iter().map(|r| r.name.as_str()).collect();
        return Err(invalid(
            format!("{field}.receiver"),
            format!("unknown receiver {receiver:?}; defined receivers: {known:?}"),
        ));
    }
    let mut routes = Vec::new();
    for (i, child) in raw.routes.into_iter().enumerate() {
        routes.push(build_route(
            child,
            &receiver,
            &format!("{field}.routes[{i}]"),
            receivers,
        )?);
    }
    Ok(Route {
        receiver,
        matchers: raw.matchers,
        continue_: raw.continue_,
        routes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_route_everything_to_log() {
        let c = Config::embedded_default();
        assert_eq!(c.listen.port(), 9095);
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert_eq!(c.prometheus_url, "http://localhost:9090");
        assert_eq!(c.receivers.len(), 1);
        assert_eq!(c.route.receiver, "log");
        assert!(c.max_body_bytes >= 16 << 20);
    }

    #[test]
    fn example_config_parses() {
        std::env::set_var(
            "INFERMON_TEST_SLACK_URL",
            "https://hooks.slack.com/services/T0/B0/X",
        );
        let c = Config::from_yaml_str(EXAMPLE_CONFIG, "config.example.yaml").unwrap();
        assert!(c.receivers.len() >= 4);
    }

    #[test]
    fn unknown_field_error_names_field_and_line() {
        let e = Config::from_yaml_str("listen: 0.0.0.0:1\nretry:\n  max_agee: 1h\n", "x.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_agee") && e.contains("line 3"), "{e}");
    }

    #[test]
    fn bad_matcher_error_names_line() {
        let y = "receivers:\n  - name: a\n    log: {}\nroute:\n  routes:\n    - receiver: a\n      matchers: ['model=~\"(\"']\n";
        let e = Config::from_yaml_str(y, "x.yaml").unwrap_err().to_string();
        assert!(e.contains("line 7") && e.contains("regex"), "{e}");
    }

    #[test]
    fn bad_duration_error_is_specific() {
        let e = Config::from_yaml_str("dedupe:\n  window: soon\n", "x.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("dedupe.window") && e.contains("\"30s\""), "{e}");
    }

    #[test]
    fn unknown_receiver_reference_names_the_route() {
        let y = "receivers:\n  - name: a\n    log: {}\nroute:\n  receiver: a\n  routes:\n    - receiver: b\n";
        let e = Config::from_yaml_str(y, "x.yaml").unwrap_err().to_string();
        assert!(
            e.contains("route.routes[0].receiver") && e.contains("\"b\""),
            "{e}"
        );
    }

    #[test]
    fn receiver_needs_exactly_one_type_and_a_url() {
        let e = Config::from_yaml_str("receivers:\n  - name: a\n", "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("exactly one"), "{e}");
        let e = Config::from_yaml_str("receivers:\n  - name: a\n    slack: {}\n", "x")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("receivers[0].slack.url") && e.contains("required"),
            "{e}"
        );
        let e = Config::from_yaml_str(
            "receivers:\n  - name: a\n    slack: {url: 'file:///etc/passwd'}\n",
            "x",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("http"), "{e}");
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let y = "auth:\n  bearer_tokens: [tok-SECRET]\nreceivers:\n  - name: s\n    slack: {url: 'https://hooks.slack.com/services/SECRET'}\n";
        let c = Config::from_yaml_str(y, "x").unwrap();
        let d = format!("{c:?}");
        assert!(!d.contains("SECRET"), "{d}");
    }
}
