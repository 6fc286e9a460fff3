//! Data-source settings: Grafana's `DataSourceInstanceSettings` (standard `url`, `basicAuth*`, raw `jsonData`,
//! decrypted `secureJsonData`) validated into [`Settings`] and turned into a Prometheus client config.
//!
//! Key names are the contract in `frontend/README.md` ("Settings contract"). Parsing is done here rather than by
//! the SDK's typed settings because the SDK fails the *whole* RPC on a mismatch; here every problem becomes a
//! specific message naming the key. Secrets are held in [`infermon_prom::Secret`] and never appear in errors.

use std::collections::HashMap;
use std::time::Duration;

use infermon_core::{Backend, PromDuration};
use infermon_prom::{ClientConfig, HttpMethod, Secret};
use serde_json::Value;

use grafana_plugin_sdk::pluginv2::DataSourceInstanceSettings;

/// `recordingRules`: use infermon's recorded series when detected / always / never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingRules {
    Auto,
    On,
    Off,
}

/// Validated settings of one data-source instance.
#[derive(Debug, Clone)]
pub struct Settings {
    pub url: String,
    pub method: HttpMethod,
    pub timeout: Duration,
    pub tls_skip_verify: bool,
    pub basic_auth: Option<(String, Secret)>,
    pub bearer_token: Option<Secret>,
    pub headers: Vec<(String, Secret)>,
    pub tgi_model_label: String,
    /// `None` = auto (detection decides).
    pub backend_override: Option<Backend>,
    pub recording_rules: RecordingRules,
    pub scrape_interval: Duration,
    /// Refuse answers with more points than this per query (protects the plugin and Grafana's 16 MiB gRPC cap).
    pub max_points_per_query: usize,
    /// Bounded pool: at most this many engine requests of one QueryData call run at once.
    pub concurrency: usize,
}

/// Why the settings are unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettingsError {
    #[error("data source settings missing from the request (not a data-source plugin context)")]
    Missing,
    #[error("the data source URL is empty: set it to the Prometheus-compatible API root, e.g. http://prometheus:9090")]
    NoUrl,
    #[error("jsonData is not a JSON object: {0}")]
    JsonData(String),
    #[error("jsonData.{key}: {problem}")]
    Invalid { key: String, problem: String },
    #[error("invalid client settings: {0}")]
    Client(String),
}

pub const DEFAULT_MAX_POINTS: usize = 5_000_000;

fn invalid(key: &str, problem: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        key: key.to_string(),
        problem: problem.into(),
    }
}

fn get_str<'a>(
    j: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, SettingsError> {
    match j.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim())),
        Some(other) => Err(invalid(key, format!("expected a string, got {other}"))),
    }
}

fn get_bool(j: &serde_json::Map<String, Value>, key: &str) -> Result<bool, SettingsError> {
    match j.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
        Some(other) => Err(invalid(key, format!("expected true or false, got {other}"))),
    }
}

fn get_positive(
    j: &serde_json::Map<String, Value>,
    key: &str,
) -> Result<Option<u64>, SettingsError> {
    let v = match j.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match v {
        Some(x) if x >= 1.0 && x.fract() == 0.0 && x <= u32::MAX as f64 => Ok(Some(x as u64)),
        _ => Err(invalid(
            key,
            format!("expected a positive whole number, got {}", j[key]),
        )),
    }
}

/// A secret: `""` counts as absent (Grafana's reset pattern).
fn secret(secure: &HashMap<String, String>, key: &str) -> Option<Secret> {
    secure
        .get(key)
        .filter(|v| !v.is_empty())
        .map(|v| Secret::new(v.clone()))
}

impl Settings {
    /// Validates Grafana's instance settings.
    pub fn from_instance(ds: &DataSourceInstanceSettings) -> Result<Settings, SettingsError> {
        let url = ds.url.trim().trim_end_matches('/').to_string();
        if url.is_empty() {
            return Err(SettingsError::NoUrl);
        }
        let json: Value = if ds.json_data.is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(&ds.json_data)
                .map_err(|e| SettingsError::JsonData(e.to_string()))?
        };
        let Value::Object(j) = json else {
            return Err(SettingsError::JsonData(format!(
                "expected an object, got {json}"
            )));
        };
        let secure = &ds.decrypted_secure_json_data;

        let method = match get_str(&j, "httpMethod")?.map(|s| s.to_ascii_uppercase()) {
            None => HttpMethod::Post,
            Some(m) if m == "POST" => HttpMethod::Post,
            Some(m) if m == "GET" => HttpMethod::Get,
            Some(m) => {
                return Err(invalid(
                    "httpMethod",
                    format!("expected \"POST\" or \"GET\", got {m:?}"),
                ))
            }
        };
        let timeout = Duration::from_secs(get_positive(&j, "timeoutSeconds")?.unwrap_or(60));
        let tls_skip_verify = get_bool(&j, "tlsSkipVerify")?;

        // Grafana keeps basicAuth/basicAuthUser as top-level fields; accept them in jsonData too (provisioning
        // files written by hand sometimes put them there).
        let basic_on = ds.basic_auth_enabled || get_bool(&j, "basicAuth")?;
        let basic_user = if ds.basic_auth_user.is_empty() {
            get_str(&j, "basicAuthUser")?.unwrap_or("").to_string()
        } else {
            ds.basic_auth_user.clone()
        };
        let basic_auth = if basic_on {
            if basic_user.is_empty() {
                return Err(invalid(
                    "basicAuthUser",
                    "basic auth is on but the user is empty",
                ));
            }
            let password = secret(secure, "basicAuthPassword").unwrap_or_else(|| Secret::new(""));
            Some((basic_user, password))
        } else {
            None
        };
        let bearer_token = if basic_auth.is_none() {
            secret(secure, "bearerToken")
        } else {
            None
        };

        let mut headers = Vec::new();
        let mut indices: Vec<u32> = j
            .keys()
            .filter_map(|k| {
                k.strip_prefix("httpHeaderName")
                    .and_then(|n| n.parse().ok())
            })
            .collect();
        indices.sort_unstable();
        for i in indices {
            let key = format!("httpHeaderName{i}");
            let Some(name) = get_str(&j, &key)? else {
                continue;
            };
            let valid = name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !valid {
                return Err(invalid(
                    &key,
                    format!("{name:?} is not a valid HTTP header name"),
                ));
            }
            let value =
                secret(secure, &format!("httpHeaderValue{i}")).unwrap_or_else(|| Secret::new(""));
            headers.push((name.to_string(), value));
        }

        let tgi_model_label = get_str(&j, "tgiModelLabel")?.unwrap_or("model").to_string();
        if !infermon_core::promql::escape::is_label_name(&tgi_model_label) {
            return Err(invalid(
                "tgiModelLabel",
                format!("must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*), got {tgi_model_label:?}"),
            ));
        }
        let backend_override = match get_str(&j, "backendOverride")? {
            None | Some("auto") => None,
            Some(id) => Some(Backend::from_id(id).ok_or_else(|| {
                invalid(
                    "backendOverride",
                    format!("expected auto, vllm, tgi, sglang or llamacpp, got {id:?}"),
                )
            })?),
        };
        let recording_rules = match get_str(&j, "recordingRules")? {
            None | Some("auto") => RecordingRules::Auto,
            Some("on") => RecordingRules::On,
            Some("off") => RecordingRules::Off,
            Some(o) => {
                return Err(invalid(
                    "recordingRules",
                    format!("expected auto, on or off, got {o:?}"),
                ))
            }
        };
        let scrape_interval = match get_str(&j, "scrapeInterval")? {
            None => Duration::from_secs(15),
            Some(s) => {
                let d: PromDuration =
                    s.parse()
                        .map_err(|e: infermon_core::duration::DurationError| {
                            invalid("scrapeInterval", e.to_string())
                        })?;
                Duration::from_millis(d.as_millis())
            }
        };
        let max_points_per_query = get_positive(&j, "maxPointsPerQuery")?
            .map(|n| n as usize)
            .unwrap_or(DEFAULT_MAX_POINTS);
        let concurrency = get_positive(&j, "concurrentQueries")?
            .map(|n| n.min(64) as usize)
            .unwrap_or(10);

        Ok(Settings {
            url,
            method,
            timeout,
            tls_skip_verify,
            basic_auth,
            bearer_token,
            headers,
            tgi_model_label,
            backend_override,
            recording_rules,
            scrape_interval,
            max_points_per_query,
            concurrency,
        })
    }

    /// The Prometheus client configuration.
    pub fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new(self.url.clone())
            .method(self.method)
            .timeout(self.timeout)
            .tls_skip_verify(self.tls_skip_verify)
            .user_agent(concat!("infermon-plugin/", env!("CARGO_PKG_VERSION")));
        if let Some((user, password)) = &self.basic_auth {
            c = c.basic_auth(user.clone(), password.clone());
        } else if let Some(token) = &self.bearer_token {
            c = c.bearer_token(token.clone());
        }
        for (name, value) in &self.headers {
            c = c.header(name.clone(), value.clone());
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(json: &str, secure: &[(&str, &str)]) -> DataSourceInstanceSettings {
        DataSourceInstanceSettings {
            url: "http://prom:9090/".into(),
            json_data: json.as_bytes().to_vec(),
            decrypted_secure_json_data: secure
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_and_contract_keys() {
        let s = Settings::from_instance(&ds("", &[])).unwrap();
        assert_eq!(s.url, "http://prom:9090");
        assert_eq!(s.method, HttpMethod::Post);
        assert_eq!(s.timeout, Duration::from_secs(60));
        assert_eq!(s.scrape_interval, Duration::from_secs(15));
        assert_eq!(s.tgi_model_label, "model");
        let s = Settings::from_instance(&ds(
            r#"{"httpMethod":"GET","timeoutSeconds":5,"scrapeInterval":"30s","backendOverride":"tgi",
                "recordingRules":"off","httpHeaderName1":"X-Scope-OrgID","httpHeaderName3":"X-B","tgiModelLabel":"job"}"#,
            &[("httpHeaderValue1", "tenant"), ("bearerToken", "tok")],
        ))
        .unwrap();
        assert_eq!(s.method, HttpMethod::Get);
        assert_eq!(s.timeout, Duration::from_secs(5));
        assert_eq!(s.scrape_interval, Duration::from_secs(30));
        assert_eq!(s.backend_override, Some(Backend::Tgi));
        assert_eq!(s.recording_rules, RecordingRules::Off);
        assert_eq!(s.headers.len(), 2);
        assert_eq!(s.headers[0].1.expose(), "tenant");
        assert_eq!(s.headers[1].1.expose(), "");
        assert_eq!(s.bearer_token.as_ref().unwrap().expose(), "tok");
    }

    #[test]
    fn bad_values_name_the_key_and_never_echo_secrets() {
        for (json, key) in [
            (r#"{"httpMethod":"PUT"}"#, "jsonData.httpMethod"),
            (r#"{"timeoutSeconds":0}"#, "jsonData.timeoutSeconds"),
            (
                r#"{"scrapeInterval":"15 seconds"}"#,
                "jsonData.scrapeInterval",
            ),
            (
                r#"{"backendOverride":"ollama"}"#,
                "jsonData.backendOverride",
            ),
            (r#"{"recordingRules":"yes"}"#, "jsonData.recordingRules"),
            (
                r#"{"tgiModelLabel":"model-name"}"#,
                "jsonData.tgiModelLabel",
            ),
            (r#"{"httpHeaderName1":"X Bad"}"#, "jsonData.httpHeaderName1"),
            (r#"{"basicAuth":true}"#, "jsonData.basicAuthUser"),
        ] {
            let e = Settings::from_instance(&ds(json, &[("bearerToken", "s3cr3t")]))
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(key), "{json}: {e}");
            assert!(!e.contains("s3cr3t"));
        }
        assert_eq!(
            Settings::from_instance(&DataSourceInstanceSettings::default()).unwrap_err(),
            SettingsError::NoUrl
        );
    }
}
