//! The Alertmanager webhook payload (version "4"): the wire struct and its conversion into [`Notification`].
//!
//! Parsing is lenient on purpose: Alertmanager 0.21–0.34 and older captures differ in which optional keys they send
//! (`truncatedAlerts`, per-alert `status`/`fingerprint`/`generatorURL`, `notification_reason`, `routeLabels`), and a
//! 4xx from us makes Alertmanager drop the notification until the next `group_interval`
//! (`../shared/reference/alert-webhook.md` §1–2). Quirks are handled here and nowhere else. No IO here.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Label or annotation set; ordered so that rendering and hashing are deterministic.
pub type Labels = BTreeMap<String, String>;

/// Why a body was rejected. Every message names the field and what was expected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PayloadError {
    #[error("request body is empty; expected an Alertmanager webhook notification (a JSON object with \"version\": \"4\")")]
    Empty,
    #[error(
        "expected an Alertmanager webhook notification object (version \"4\"), got a JSON array; this looks like raw \
         Prometheus alerts: point Prometheus at Alertmanager and Alertmanager's webhook_configs at this service"
    )]
    RawAlertArray,
    #[error("body is not valid JSON: {0}")]
    Syntax(String),
    #[error("field `{path}`: {message}")]
    Field { path: String, message: String },
    #[error("field `version` must be \"4\" (Alertmanager webhook payload v4, the default body of Alertmanager 0.21–0.34); got {0:?}")]
    Version(String),
    #[error("field `version` is missing; expected \"4\" (the default Alertmanager webhook body; custom `payload:` templates are not supported)")]
    MissingVersion,
    #[error("field `alerts[{index}].status` must be \"firing\" or \"resolved\"; got {value:?}")]
    AlertStatus { index: usize, value: String },
    #[error("field `status` must be \"firing\" or \"resolved\"; got {0:?}")]
    Status(String),
    #[error("field `alerts[{index}].{field}` must be an RFC 3339 time such as \"2024-05-01T10:00:00Z\"; got {value:?}")]
    Time {
        index: usize,
        field: &'static str,
        value: String,
    },
}

/// Firing or resolved, for a whole group or one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Firing,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Firing => "firing",
            Status::Resolved => "resolved",
        }
    }

    fn parse(s: &str) -> Option<Status> {
        match s {
            "firing" => Some(Status::Firing),
            "resolved" => Some(Status::Resolved),
            _ => None,
        }
    }
}

/// Wire shape of one alert. Every key is optional because old payloads lack some of them.
#[derive(Debug, Deserialize)]
struct RawAlert {
    #[serde(default)]
    status: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    labels: Labels,
    #[serde(default, deserialize_with = "null_default")]
    annotations: Labels,
    #[serde(rename = "startsAt", default)]
    starts_at: Option<String>,
    #[serde(rename = "endsAt", default)]
    ends_at: Option<String>,
    #[serde(rename = "generatorURL", default, deserialize_with = "null_default")]
    generator_url: String,
    #[serde(default)]
    fingerprint: Option<String>,
}

/// Wire shape of the notification. Unknown keys are ignored (future Alertmanager versions add keys).
#[derive(Debug, Deserialize)]
struct RawNotification {
    #[serde(default)]
    version: Option<String>,
    #[serde(rename = "groupKey", default)]
    group_key: Option<String>,
    #[serde(rename = "truncatedAlerts", default, deserialize_with = "null_default")]
    truncated_alerts: u64,
    #[serde(default)]
    status: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    receiver: String,
    #[serde(rename = "groupLabels", default, deserialize_with = "null_default")]
    group_labels: Labels,
    #[serde(rename = "commonLabels", default, deserialize_with = "null_default")]
    common_labels: Labels,
    #[serde(
        rename = "commonAnnotations",
        default,
        deserialize_with = "null_default"
    )]
    common_annotations: Labels,
    #[serde(rename = "externalURL", default, deserialize_with = "null_default")]
    external_url: String,
    /// Alertmanager ≥ 0.32 (snake_case on the wire, unlike the other keys).
    #[serde(default)]
    notification_reason: Option<String>,
    /// Alertmanager ≥ 0.34.
    #[serde(rename = "routeLabels", default, deserialize_with = "null_default")]
    route_labels: Labels,
    #[serde(default, deserialize_with = "null_default")]
    alerts: Vec<RawAlert>,
}

/// Go encodes nil maps and slices as `null`; treat that like an absent key.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One alert, validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub status: Status,
    pub labels: Labels,
    pub annotations: Labels,
    #[serde(with = "time::serde::rfc3339::option")]
    pub starts_at: Option<OffsetDateTime>,
    /// `None` for Alertmanager's zero time (`0001-01-01T00:00:00Z`), which it sends for firing alerts.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
    pub generator_url: String,
    /// Alertmanager's fingerprint, or a hash of the sorted labels when the payload predates fingerprints.
    pub fingerprint: String,
}

/// One Alertmanager notification (a full snapshot of one aggregation group), validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    pub receiver: String,
    pub status: Status,
    pub group_key: String,
    pub group_labels: Labels,
    pub common_labels: Labels,
    pub common_annotations: Labels,
    pub external_url: String,
    pub truncated_alerts: u64,
    pub notification_reason: Option<String>,
    pub route_labels: Labels,
    pub alerts: Vec<Alert>,
}

/// Parses and validates a webhook body.
pub fn parse(body: &[u8]) -> Result<Notification, PayloadError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        None => return Err(PayloadError::Empty),
        Some(b'[') => return Err(PayloadError::RawAlertArray),
        _ => {}
    }
    // Fast path: plain serde_json. Only a body that fails is parsed again with path tracking, for an error that
    // names the field; tracking every key of every valid body cost the receive path measurable CPU (issue 8, W1).
    if let Ok(raw) = serde_json::from_slice::<RawNotification>(body) {
        return validate(raw);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let raw: RawNotification = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() || path == "." {
            PayloadError::Syntax(inner.to_string())
        } else {
            PayloadError::Field {
                path,
                message: inner.to_string(),
            }
        }
    })?;
    de.end().map_err(|e| PayloadError::Syntax(e.to_string()))?;
    validate(raw)
}

fn validate(raw: RawNotification) -> Result<Notification, PayloadError> {
    match raw.version.as_deref() {
        Some("4") => {}
        Some(other) => return Err(PayloadError::Version(other.to_string())),
        None => return Err(PayloadError::MissingVersion),
    }
    let group_status = match raw.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(Status::parse(s).ok_or_else(|| PayloadError::Status(s.to_string()))?),
    };
    let mut alerts = Vec::with_capacity(raw.alerts.len());
    for (index, a) in raw.alerts.into_iter().enumerate() {
        // Very old payloads have no per-alert status; the group status is the best evidence then.
        let status = match a.status.as_deref() {
            None | Some("") => group_status.unwrap_or(Status::Firing),
            Some(s) => Status::parse(s).ok_or_else(|| PayloadError::AlertStatus {
                index,
                value: s.to_string(),
            })?,
        };
        let starts_at = parse_time(index, "startsAt", a.starts_at.as_deref())?;
        let ends_at = parse_time(index, "endsAt", a.ends_at.as_deref())?;
        let fingerprint = match a.fingerprint {
            Some(f) if !f.is_empty() => f,
            _ => label_fingerprint(&a.labels),
        };
        alerts.push(Alert {
            status,
            labels: a.labels,
            annotations: a.annotations,
            starts_at,
            ends_at,
            generator_url: a.generator_url,
            fingerprint,
        });
    }
    // Alertmanager: "firing" iff at least one included alert is firing.
    let status = group_status.unwrap_or_else(|| {
        if alerts.iter().any(|a| a.status == Status::Firing) {
            Status::Firing
        } else {
            Status::Resolved
        }
    });
    let group_key = match raw.group_key {
        Some(k) if !k.is_empty() => k,
        _ => synthetic_group_key(&raw.group_labels),
    };
    Ok(Notification {
        receiver: raw.receiver,
        status,
        group_key,
        group_labels: raw.group_labels,
        common_labels: raw.common_labels,
        common_annotations: raw.common_annotations,
        external_url: raw.external_url,
        truncated_alerts: raw.truncated_alerts,
        notification_reason: raw.notification_reason.filter(|r| !r.is_empty()),
        route_labels: raw.route_labels,
        alerts,
    })
}

/// A group's labels as the receive path reads them: borrowed from the body where the JSON string has no escapes.
pub type BorrowedLabels<'a> = BTreeMap<Cow<'a, str>, Cow<'a, str>>;

/// What the receive path needs from a body: the keys it stores under and the labels it routes on. The rest of the
/// notification is stored as the raw body and parsed in full by the worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Received<'a> {
    pub group_key: String,
    /// [`Notification::content_key`].
    pub content_key: [u8; 32],
    pub common_labels: BorrowedLabels<'a>,
    pub group_labels: BorrowedLabels<'a>,
}

/// Validates a body exactly as [`parse`] does (same acceptance, same errors) and returns what the receive path
/// needs. Why not `parse`: building the whole [`Notification`] (every annotation, URL and label as an owned
/// `String` in a fresh map) was most of the handler's own CPU (issue 8, W1). This reads the same wire shape with
/// strings borrowed from the body and the fields the receive path does not use only type-checked. Any failure
/// falls back to [`parse`], so a rejected body gets `parse`'s error and nothing is accepted that `parse` rejects.
pub fn parse_received(body: &[u8]) -> Result<Received<'_>, PayloadError> {
    if let Some(r) = fast_received(body) {
        return Ok(r);
    }
    let n = parse(body)?;
    let owned = |l: Labels| -> BorrowedLabels<'static> {
        l.into_iter()
            .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)))
            .collect()
    };
    Ok(Received {
        content_key: n.content_key(),
        group_key: n.group_key,
        common_labels: owned(n.common_labels),
        group_labels: owned(n.group_labels),
    })
}

/// `None` whenever [`parse`] might say anything else than success (the caller then asks `parse`).
fn fast_received(body: &[u8]) -> Option<Received<'_>> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if matches!(first, None | Some(b'[')) {
        return None;
    }
    let raw: FastNotification<'_> = serde_json::from_slice(body).ok()?;
    if raw.version.as_ref().map(|v| v.0.as_ref()) != Some("4") {
        return None;
    }
    let group_status = match raw.status.as_ref().map(|s| s.0.as_ref()) {
        None | Some("") => None,
        Some(s) => Some(Status::parse(s)?),
    };
    let alerts = raw.alerts.unwrap_or_default();
    let mut pairs: Vec<(Cow<'_, str>, Status)> = Vec::with_capacity(alerts.len());
    for (index, a) in alerts.into_iter().enumerate() {
        let status = match a.status.as_ref().map(|s| s.0.as_ref()) {
            None | Some("") => group_status.unwrap_or(Status::Firing),
            Some(s) => Status::parse(s)?,
        };
        parse_time(
            index,
            "startsAt",
            a.starts_at.as_ref().map(|t| t.0.as_ref()),
        )
        .ok()?;
        parse_time(index, "endsAt", a.ends_at.as_ref().map(|t| t.0.as_ref())).ok()?;
        let fingerprint = match a.fingerprint {
            Some(Text(f)) if !f.is_empty() => f,
            _ => Cow::Owned(label_fingerprint_of(
                a.labels
                    .as_ref()
                    .into_iter()
                    .flat_map(|l| l.0.iter())
                    .map(|(k, v)| (k.as_ref(), v.as_ref())),
            )),
        };
        pairs.push((fingerprint, status));
    }
    let group_labels = raw.group_labels.map(|l| l.0).unwrap_or_default();
    let group_key = match raw.group_key {
        Some(Text(k)) if !k.is_empty() => k.into_owned(),
        _ => synthetic_group_key_of(group_labels.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))),
    };
    let reason = raw.notification_reason.as_ref().map(|r| r.0.as_ref());
    let content_key = content_key_of(
        &group_key,
        pairs.iter().map(|(f, s)| (f.as_ref(), *s)).collect(),
        reason.filter(|r| !r.is_empty()),
    );
    Some(Received {
        group_key,
        content_key,
        common_labels: raw.common_labels.map(|l| l.0).unwrap_or_default(),
        group_labels,
    })
}

/// [`RawNotification`]'s wire shape, read by [`fast_received`]: the same keys with the same types (an `Option` for
/// each `null_default`), so it accepts exactly what `RawNotification` accepts; unused fields are only checked.
#[derive(Deserialize)]
struct FastNotification<'a> {
    #[serde(default, borrow)]
    version: Option<Text<'a>>,
    #[serde(rename = "groupKey", default, borrow)]
    group_key: Option<Text<'a>>,
    #[serde(rename = "truncatedAlerts", default)]
    _truncated_alerts: Option<u64>,
    #[serde(default, borrow)]
    status: Option<Text<'a>>,
    #[serde(rename = "receiver", default)]
    _receiver: Option<AnyText>,
    #[serde(rename = "groupLabels", default, borrow)]
    group_labels: Option<TextMap<'a>>,
    #[serde(rename = "commonLabels", default, borrow)]
    common_labels: Option<TextMap<'a>>,
    #[serde(rename = "commonAnnotations", default)]
    _common_annotations: Option<AnyTextMap>,
    #[serde(rename = "externalURL", default)]
    _external_url: Option<AnyText>,
    #[serde(default, borrow)]
    notification_reason: Option<Text<'a>>,
    #[serde(rename = "routeLabels", default)]
    _route_labels: Option<AnyTextMap>,
    #[serde(default, borrow)]
    alerts: Option<Vec<FastAlert<'a>>>,
}

/// [`RawAlert`]'s wire shape, for [`FastNotification`].
#[derive(Deserialize)]
struct FastAlert<'a> {
    #[serde(default, borrow)]
    status: Option<Text<'a>>,
    #[serde(default, borrow)]
    labels: Option<TextMap<'a>>,
    #[serde(rename = "annotations", default)]
    _annotations: Option<AnyTextMap>,
    #[serde(rename = "startsAt", default, borrow)]
    starts_at: Option<Text<'a>>,
    #[serde(rename = "endsAt", default, borrow)]
    ends_at: Option<Text<'a>>,
    #[serde(rename = "generatorURL", default)]
    _generator_url: Option<AnyText>,
    #[serde(default, borrow)]
    fingerprint: Option<Text<'a>>,
}

/// A JSON string, borrowed from the body unless it had escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_string(V(std::marker::PhantomData))
    }
}

/// A JSON string that is checked and dropped.
struct AnyText;

impl<'de> Deserialize<'de> for AnyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = AnyText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(AnyText)
            }
        }
        d.deserialize_string(V)
    }
}

/// A JSON object of strings, like [`Labels`] (a repeated key keeps its last value, as `BTreeMap::insert` does).
struct TextMap<'a>(BorrowedLabels<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for TextMap<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = TextMap<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((Text(k), Text(v))) = m.next_entry::<Text<'a>, Text<'a>>()? {
                    out.insert(k, v);
                }
                Ok(TextMap(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// A JSON object of strings that is checked and dropped.
struct AnyTextMap;

impl<'de> Deserialize<'de> for AnyTextMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AnyTextMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                while m.next_entry::<AnyText, AnyText>()?.is_some() {}
                Ok(AnyTextMap)
            }
        }
        d.deserialize_map(V)
    }
}

fn parse_time(
    index: usize,
    field: &'static str,
    value: Option<&str>,
) -> Result<Option<OffsetDateTime>, PayloadError> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let t = OffsetDateTime::parse(v, &Rfc3339).map_err(|_| PayloadError::Time {
        index,
        field,
        value: v.to_string(),
    })?;
    // Go's zero time.Time: Alertmanager's way of saying "not ended".
    Ok(if t.year() <= 1 { None } else { Some(t) })
}

/// Stand-in fingerprint for payloads that predate Alertmanager's: the first 16 hex digits of a hash of the labels.
fn label_fingerprint(labels: &Labels) -> String {
    label_fingerprint_of(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// [`label_fingerprint`] over sorted (name, value) pairs, whatever map holds them.
fn label_fingerprint_of<'a>(labels: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut h = Sha256::new();
    for (k, v) in labels {
        h.update(k.as_bytes());
        h.update([0xff]);
        h.update(v.as_bytes());
        h.update([0xff]);
    }
    hex::encode(&h.finalize()[..8])
}

/// `{}:{alertname="X"}`, the shape Alertmanager uses for a top-level route, for payloads without `groupKey`.
fn synthetic_group_key(group_labels: &Labels) -> String {
    synthetic_group_key_of(group_labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// [`synthetic_group_key`] over sorted (name, value) pairs, whatever map holds them.
fn synthetic_group_key_of<'a>(group_labels: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let inner: Vec<String> = group_labels.map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{}}:{{{}}}", inner.join(","))
}

/// [`Notification::content_key`] from its parts: the group key, each alert's (fingerprint, status), the reason.
fn content_key_of(
    group_key: &str,
    mut pairs: Vec<(&str, Status)>,
    reason: Option<&str>,
) -> [u8; 32] {
    pairs.sort();
    pairs.dedup();
    let mut h = Sha256::new();
    h.update(group_key.as_bytes());
    h.update([0]);
    for (fp, st) in pairs {
        h.update(fp.as_bytes());
        h.update([b':']);
        h.update(st.as_str().as_bytes());
        h.update([0]);
    }
    h.update(reason.unwrap_or("").as_bytes());
    h.finalize().into()
}

impl Notification {
    /// The dedupe identity: `groupKey`, the sorted set of (fingerprint, status) and `notification_reason`.
    /// `externalURL` and `startsAt` are left out because they differ between HA replicas (alert-webhook.md §2.5).
    pub fn content_key(&self) -> [u8; 32] {
        content_key_of(
            &self.group_key,
            self.alerts
                .iter()
                .map(|a| (a.fingerprint.as_str(), a.status))
                .collect(),
            self.notification_reason.as_deref(),
        )
    }

    /// `sha256(groupKey)` as hex: the same key Alertmanager's own PagerDuty notifier uses as `dedup_key`.
    pub fn group_hash(&self) -> String {
        hex::encode(Sha256::digest(self.group_key.as_bytes()))
    }

    /// Number of firing alerts included in this snapshot.
    pub fn firing_count(&self) -> usize {
        self.alerts
            .iter()
            .filter(|a| a.status == Status::Firing)
            .count()
    }

    /// A label value shared by the group, falling back to the first alert that has it.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.common_labels
            .get(name)
            .or_else(|| self.alerts.iter().find_map(|a| a.labels.get(name)))
            .map(String::as_str)
    }

    /// An annotation shared by the group, falling back to the first alert that has it.
    pub fn annotation(&self, name: &str) -> Option<&str> {
        self.common_annotations
            .get(name)
            .or_else(|| self.alerts.iter().find_map(|a| a.annotations.get(name)))
            .map(String::as_str)
    }

    /// Earliest `startsAt` among the alerts.
    pub fn earliest_start(&self) -> Option<OffsetDateTime> {
        self.alerts.iter().filter_map(|a| a.starts_at).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures")
            .join(name);
        std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
    }

    #[test]
    fn parses_current_payload_with_quoted_receiver_and_cjk_labels() {
        let n = parse(&fixture("alertmanager-firing-3alerts-cloudeon.json")).unwrap();
        assert_eq!(n.receiver, "web\\.hook");
        assert_eq!(n.status, Status::Firing);
        assert_eq!(n.alerts.len(), 3);
        assert_eq!(n.alerts[0].labels["alertname"], "主机CPU使用率");
        assert_eq!(n.alerts[0].fingerprint, "72a2002704e27a2e");
        assert_eq!(n.alerts[0].ends_at, None, "zero endsAt means not ended");
        assert_eq!(n.alerts[0].starts_at.unwrap().offset().whole_hours(), 8);
        assert!(
            n.alerts[0].generator_url.contains("&g0.tab=1"),
            "\\u0026 decoded"
        );
    }

    #[test]
    fn parses_old_payload_without_truncated_alerts_or_fingerprint() {
        let n = parse(&fixture("alertmanager-resolved-alertmanager-bot.json")).unwrap();
        assert_eq!(n.status, Status::Resolved);
        assert_eq!(n.truncated_alerts, 0);
        assert_eq!(
            n.alerts[0].fingerprint.len(),
            16,
            "synthetic fingerprint from labels"
        );
        assert!(n.alerts[0].ends_at.is_some());
    }

    #[test]
    fn parses_legacy_payload_without_alert_status() {
        let n = parse(&fixture(
            "alertmanager-firing-legacy-prometheus-msteams.json",
        ))
        .unwrap();
        assert_eq!(n.alerts[0].status, Status::Firing);
        assert_eq!(n.alerts[0].generator_url, "");
    }

    #[test]
    fn parses_resolved_payload_with_real_ends_at() {
        let n = parse(&fixture("alertmanager-resolved-cloudeon.json")).unwrap();
        assert_eq!(n.alerts[0].status, Status::Resolved);
        assert_eq!(n.alerts[0].ends_at.unwrap().offset().whole_hours(), 8);
    }

    #[test]
    fn accepts_newer_keys_and_nulls() {
        let body = br#"{"version":"4","groupKey":"{}:{a=\"b\"}","status":"firing","receiver":"x","groupLabels":null,
            "commonLabels":{},"commonAnnotations":{},"externalURL":"","notification_reason":"first notification",
            "routeLabels":{"team":"ml"},"futureKey":[1,2],"alerts":[{"status":"firing","labels":{"model":"m"},
            "annotations":null,"startsAt":"2024-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"0123456789abcdef"}]}"#;
        let n = parse(body).unwrap();
        assert_eq!(n.notification_reason.as_deref(), Some("first notification"));
        assert_eq!(n.route_labels["team"], "ml");
    }

    #[test]
    fn rejects_raw_alert_array_with_a_hint() {
        let e = parse(b" [{\"labels\":{}}]").unwrap_err();
        assert_eq!(e, PayloadError::RawAlertArray);
        assert!(e.to_string().contains("raw Prometheus alerts"));
    }

    #[test]
    fn rejects_other_versions_and_missing_version() {
        assert_eq!(
            parse(br#"{"version":"1","alerts":[]}"#).unwrap_err(),
            PayloadError::Version("1".into())
        );
        assert_eq!(
            parse(br#"{"alerts":[]}"#).unwrap_err(),
            PayloadError::MissingVersion
        );
    }

    #[test]
    fn names_the_field_with_the_wrong_type() {
        let e = parse(br#"{"version":"4","alerts":[{"labels":{"severity":1}}]}"#).unwrap_err();
        match e {
            PayloadError::Field { path, .. } => assert_eq!(path, "alerts[0].labels.severity"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn rejects_bad_times_and_statuses_naming_the_alert() {
        let e = parse(br#"{"version":"4","alerts":[{"startsAt":"yesterday"}]}"#).unwrap_err();
        assert!(e.to_string().contains("alerts[0].startsAt"), "{e}");
        let e = parse(br#"{"version":"4","alerts":[{"status":"pending"}]}"#).unwrap_err();
        assert!(e.to_string().contains("alerts[0].status"), "{e}");
    }

    #[test]
    fn rejects_deep_nesting_and_trailing_garbage_without_panicking() {
        // Unknown keys are skipped without recursion, so deep nesting there cannot overflow the stack.
        let deep = format!(
            "{{\"version\":\"4\",\"x\":{}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(parse(deep.as_bytes()).is_ok());
        let deep = format!(
            "{{\"version\":\"4\",\"alerts\":{}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(parse(deep.as_bytes()).is_err());
        assert!(matches!(
            parse(br#"{"version":"4"} {}"#),
            Err(PayloadError::Syntax(_))
        ));
        assert_eq!(parse(b"  \n").unwrap_err(), PayloadError::Empty);
    }

    /// What `parse_received` must return: the same as deriving it from `parse`.
    fn via_parse(body: &[u8]) -> Result<Received<'static>, PayloadError> {
        let n = parse(body)?;
        let owned = |l: &Labels| -> BorrowedLabels<'static> {
            l.iter()
                .map(|(k, v)| (Cow::Owned(k.clone()), Cow::Owned(v.clone())))
                .collect()
        };
        Ok(Received {
            group_key: n.group_key.clone(),
            content_key: n.content_key(),
            common_labels: owned(&n.common_labels),
            group_labels: owned(&n.group_labels),
        })
    }

    #[test]
    fn parse_received_agrees_with_parse_on_valid_bodies_without_building_a_notification() {
        let mut bodies: Vec<Vec<u8>> = [
            "alertmanager-firing-3alerts-cloudeon.json",
            "alertmanager-resolved-alertmanager-bot.json",
            "alertmanager-firing-legacy-prometheus-msteams.json",
            "alertmanager-resolved-cloudeon.json",
        ]
        .iter()
        .map(|f| fixture(f))
        .collect();
        for b in [
            // Escaped groupKey and label values, \u0026 in a skipped URL, nulls, unknown and newer keys.
            r#"{"version":"4","groupKey":"{}:{a=\"b\"}","status":"firing","receiver":"x","groupLabels":null,
               "commonLabels":{"team":"m\u006c","a":"b"},"commonAnnotations":null,"externalURL":"","routeLabels":{"t":"x"},
               "notification_reason":"first notification","futureKey":[1,{"x":2}],"truncatedAlerts":null,
               "alerts":[{"status":"firing","labels":{"model":"m"},"annotations":null,"generatorURL":"http://x?a=1\u0026b=2",
               "startsAt":"2024-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"0123456789abcdef"}]}"#,
            // No groupKey, no fingerprints, no per-alert status: synthetic keys from labels, group status used.
            r#"{"version":"4","status":"resolved","groupLabels":{"alertname":"A\"q","b":"c"},"alerts":[
               {"labels":{"z":"1","a":"2"}},{"labels":{"a":"2","z":"1"},"fingerprint":""},{"labels":null}]}"#,
            // Repeated keys keep the last value; an empty reason is no reason.
            r#"{"version":"4","groupKey":"","commonLabels":{"a":"1","a":"2"},"notification_reason":"","alerts":[]}"#,
            r#" {"version":"4"} "#,
        ] {
            bodies.push(b.as_bytes().to_vec());
        }
        for b in &bodies {
            let text = String::from_utf8_lossy(b);
            assert!(fast_received(b).is_some(), "fast path not taken for {text}");
            assert_eq!(parse_received(b), via_parse(b), "{text}");
        }
    }

    #[test]
    fn parse_received_rejects_what_parse_rejects_with_the_same_error() {
        let deep = format!(
            "{{\"version\":\"4\",\"alerts\":{}{}}}",
            "[".repeat(1_000),
            "]".repeat(1_000)
        );
        let bodies: Vec<&[u8]> = vec![
            b"",
            b" \n",
            b" [{\"labels\":{}}]",
            b"{",
            b"null",
            br#"{"version":"4"} {}"#,
            br#"{"version":"1","alerts":[]}"#,
            br#"{"alerts":[]}"#,
            br#"{"version":null}"#,
            br#"{"version":4}"#,
            br#"{"version":"4","version":"4"}"#,
            br#"{"version":"4","status":"pending"}"#,
            br#"{"version":"4","groupKey":1}"#,
            br#"{"version":"4","truncatedAlerts":-1}"#,
            br#"{"version":"4","receiver":1}"#,
            br#"{"version":"4","externalURL":[]}"#,
            br#"{"version":"4","commonAnnotations":{"a":1}}"#,
            br#"{"version":"4","routeLabels":[]}"#,
            br#"{"version":"4","groupLabels":{"a":null}}"#,
            br#"{"version":"4","commonLabels":"x"}"#,
            br#"{"version":"4","notification_reason":2}"#,
            br#"{"version":"4","alerts":{}}"#,
            br#"{"version":"4","alerts":[1]}"#,
            br#"{"version":"4","alerts":[{"labels":{"severity":1}}]}"#,
            br#"{"version":"4","alerts":[{"annotations":{"s":true}}]}"#,
            br#"{"version":"4","alerts":[{"generatorURL":5}]}"#,
            br#"{"version":"4","alerts":[{"fingerprint":5}]}"#,
            br#"{"version":"4","alerts":[{"status":"pending"}]}"#,
            br#"{"version":"4","alerts":[{"startsAt":"yesterday"}]}"#,
            br#"{"version":"4","alerts":[{},{"endsAt":"2024-13-01T00:00:00Z"}]}"#,
            br#"{"version":"4","alerts":[{"status":"firing","status":"firing"}]}"#,
            deep.as_bytes(),
        ];
        for b in bodies {
            let text = String::from_utf8_lossy(b);
            let want = parse(b).expect_err(&text);
            assert!(fast_received(b).is_none(), "fast path accepted {text}");
            assert_eq!(parse_received(b), Err(want), "{text}");
        }
    }

    #[test]
    fn content_key_ignores_external_url_and_starts_at() {
        let a = parse(&fixture("alertmanager-firing-3alerts-cloudeon.json")).unwrap();
        let mut b = a.clone();
        b.external_url = "http://replica-2:9093".into();
        b.alerts[0].starts_at = None;
        b.alerts.reverse();
        assert_eq!(a.content_key(), b.content_key());
        b.alerts[0].status = Status::Resolved;
        assert_ne!(a.content_key(), b.content_key());
    }
}
