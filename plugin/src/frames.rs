//! Data-plane frames encoded as Arrow IPC files, the way Grafana's Go SDK writes them.
//!
//! Why not the SDK's `Frame`: grafana-plugin-sdk 0.5.0 drops a field's labels when the field also has a config,
//! and cannot set the frame `type`/`typeVersion` (grafana-plugin.md §0, §2.6). Without labels series cannot be
//! told apart (and alerting breaks); without a type Grafana's server-side expressions fall back to the legacy
//! frame rules. So frames are encoded here with the SDK's re-exported arrow2: schema metadata `name`, `refId`,
//! `meta` (JSON with `type`, `typeVersion`, `executedQueryString`, `notices`, `custom`), and per field `labels`
//! plus `config` JSON. Time is `Timestamp(Nanosecond)` like Go's `time.Time` fields.

use std::collections::BTreeMap;

use grafana_plugin_sdk::arrow2::array::{Array, Float64Array, PrimitiveArray, Utf8Array};
use grafana_plugin_sdk::arrow2::chunk::Chunk;
use grafana_plugin_sdk::arrow2::datatypes::{DataType, Field, Metadata, Schema, TimeUnit};
use grafana_plugin_sdk::arrow2::io::ipc::write::{FileWriter, WriteOptions};
use serde::Serialize;
use serde_json::{json, Value};

/// Data-plane frame types used by the plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameType {
    /// One series per frame: `[Time, Value{labels}]`.
    TimeseriesMulti,
    /// One frame, string dimension columns plus numeric value columns (fleet tables, instant values).
    NumericLong,
}

impl FrameType {
    pub fn as_str(self) -> &'static str {
        match self {
            FrameType::TimeseriesMulti => "timeseries-multi",
            FrameType::NumericLong => "numeric-long",
        }
    }
}

/// A notice shown by Grafana on the panel (frame meta `notices`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameNotice {
    pub severity: NoticeSeverity,
    pub text: String,
}

/// Grafana's `NoticeSeverity`. It is serialised as a **string**: the Go SDK's `NoticeSeverity.UnmarshalJSON`, which
/// Grafana runs on every frame a plugin returns, accepts only `"info"`, `"warning"` and `"error"` and fails the
/// whole frame on anything else (a number included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeSeverity {
    Info,
    Warning,
}

impl FrameNotice {
    pub fn info(text: impl Into<String>) -> Self {
        FrameNotice {
            severity: NoticeSeverity::Info,
            text: text.into(),
        }
    }
    pub fn warning(text: impl Into<String>) -> Self {
        FrameNotice {
            severity: NoticeSeverity::Warning,
            text: text.into(),
        }
    }
}

/// Frame-level metadata (serialized into the schema's `meta`).
#[derive(Debug, Clone, Default)]
pub struct FrameMeta {
    pub executed_query_string: Option<String>,
    pub notices: Vec<FrameNotice>,
    pub custom: Option<Value>,
}

impl FrameMeta {
    fn to_json(&self, ty: FrameType) -> String {
        let mut m = serde_json::Map::new();
        m.insert("type".into(), json!(ty.as_str()));
        m.insert("typeVersion".into(), json!([0, 1]));
        if let Some(q) = &self.executed_query_string {
            m.insert("executedQueryString".into(), json!(q));
        }
        if !self.notices.is_empty() {
            m.insert("notices".into(), json!(self.notices));
        }
        if let Some(c) = &self.custom {
            m.insert("custom".into(), c.clone());
        }
        Value::Object(m).to_string()
    }
}

/// Field config keys Grafana reads (`FieldConfig` JSON, camelCase).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldConfig {
    #[serde(rename = "displayNameFromDS", skip_serializing_if = "Option::is_none")]
    pub display_name_from_ds: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Step in milliseconds (on the time field), as Grafana's Prometheus source sets it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<f64>,
}

impl FieldConfig {
    fn is_empty(&self) -> bool {
        self.display_name_from_ds.is_none() && self.unit.is_none() && self.interval.is_none()
    }
}

/// Why a frame could not be encoded (a bug, reported as a 500 on the refId).
#[derive(Debug, thiserror::Error)]
#[error("cannot encode the Arrow frame: {0}")]
pub struct EncodeError(String);

fn field_with(
    name: &str,
    ty: DataType,
    nullable: bool,
    labels: Option<&BTreeMap<String, String>>,
    config: &FieldConfig,
) -> Field {
    let mut md = Metadata::new();
    if let Some(l) = labels {
        md.insert(
            "labels".into(),
            serde_json::to_string(l).expect("string map serializes"),
        );
    }
    if !config.is_empty() {
        md.insert(
            "config".into(),
            serde_json::to_string(config).expect("config serializes"),
        );
    }
    Field::new(name, ty, nullable).with_metadata(md)
}

fn write(
    name: &str,
    ref_id: &str,
    ty: FrameType,
    meta: &FrameMeta,
    fields: Vec<Field>,
    arrays: Vec<Box<dyn Array>>,
) -> Result<Vec<u8>, EncodeError> {
    let mut md = Metadata::new();
    md.insert("name".into(), name.to_string());
    md.insert("refId".into(), ref_id.to_string());
    md.insert("meta".into(), meta.to_json(ty));
    let schema = Schema::from(fields).with_metadata(md);
    let rows = arrays.first().map(|a| a.len()).unwrap_or(0);
    let mut buf = Vec::with_capacity(rows * 16 + 2048);
    let mut w = FileWriter::try_new(&mut buf, schema, None, WriteOptions { compression: None })
        .map_err(|e| EncodeError(e.to_string()))?;
    if !arrays.is_empty() {
        let chunk = Chunk::try_new(arrays).map_err(|e| EncodeError(e.to_string()))?;
        w.write(&chunk, None)
            .map_err(|e| EncodeError(e.to_string()))?;
    }
    w.finish().map_err(|e| EncodeError(e.to_string()))?;
    Ok(buf)
}

/// One `timeseries-multi` frame: `Time` (ns) and `Value` (f64, with labels and config). The columns are moved
/// into the Arrow arrays (milliseconds become nanoseconds in place), so the only copy is the IPC encoding.
#[allow(clippy::too_many_arguments)]
pub fn series_frame(
    ref_id: &str,
    name: &str,
    mut timestamps_ms: Vec<i64>,
    values: Vec<f64>,
    labels: &BTreeMap<String, String>,
    value_config: &FieldConfig,
    step_ms: Option<i64>,
    meta: &FrameMeta,
) -> Result<Vec<u8>, EncodeError> {
    for t in &mut timestamps_ms {
        *t = t.saturating_mul(1_000_000);
    }
    let ts = timestamps_ms;
    let time_cfg = FieldConfig {
        interval: step_ms.map(|s| s as f64),
        ..Default::default()
    };
    let ts_type = DataType::Timestamp(TimeUnit::Nanosecond, None);
    let fields = vec![
        field_with("Time", ts_type.clone(), false, None, &time_cfg),
        field_with(
            "Value",
            DataType::Float64,
            false,
            Some(labels),
            value_config,
        ),
    ];
    let arrays: Vec<Box<dyn Array>> = vec![
        PrimitiveArray::<i64>::from_vec(ts).to(ts_type).boxed(),
        Float64Array::from_vec(values).boxed(),
    ];
    write(
        name,
        ref_id,
        FrameType::TimeseriesMulti,
        meta,
        fields,
        arrays,
    )
}

/// The "no data" frame: no fields, only the type and metadata (data-plane contract).
pub fn empty_frame(ref_id: &str, ty: FrameType, meta: &FrameMeta) -> Result<Vec<u8>, EncodeError> {
    write("", ref_id, ty, meta, Vec::new(), Vec::new())
}

/// A column of a [`table_frame`].
pub enum Column {
    Strings {
        name: String,
        values: Vec<String>,
    },
    Numbers {
        name: String,
        values: Vec<Option<f64>>,
        config: FieldConfig,
    },
}

/// One `numeric-long` table frame.
pub fn table_frame(
    ref_id: &str,
    name: &str,
    columns: Vec<Column>,
    meta: &FrameMeta,
) -> Result<Vec<u8>, EncodeError> {
    let mut fields = Vec::new();
    let mut arrays: Vec<Box<dyn Array>> = Vec::new();
    for c in columns {
        match c {
            Column::Strings { name, values } => {
                fields.push(field_with(
                    &name,
                    DataType::Utf8,
                    false,
                    None,
                    &FieldConfig::default(),
                ));
                arrays.push(Utf8Array::<i32>::from_slice(&values).boxed());
            }
            Column::Numbers {
                name,
                values,
                config,
            } => {
                fields.push(field_with(&name, DataType::Float64, true, None, &config));
                arrays.push(Float64Array::from(values).boxed());
            }
        }
    }
    write(name, ref_id, FrameType::NumericLong, meta, fields, arrays)
}
