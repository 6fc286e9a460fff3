//! Grafana-protocol harness: launches the built `gpx_infermon` exactly as Grafana (go-plugin) does, checks the
//! handshake line, talks gRPC with the SDK's generated `pluginv2` clients and decodes the Arrow frames.
//! Also: the test data (a small vLLM + TGI fleet with known counters and histograms) loaded into real
//! Prometheus 2.42 (promtool backfill) and real VictoriaMetrics (import), fed the same samples.

#![allow(dead_code)]

pub mod data;
pub mod panels;
pub mod sim_data;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use grafana_plugin_sdk::arrow2::array::{Float64Array, PrimitiveArray, Utf8Array};
use grafana_plugin_sdk::arrow2::datatypes::DataType;
use grafana_plugin_sdk::arrow2::io::ipc::read::{read_file_metadata, FileReader};
use grafana_plugin_sdk::pluginv2::{
    self, data_client::DataClient, diagnostics_client::DiagnosticsClient,
    resource_client::ResourceClient,
};
use serde_json::Value;
use tonic::transport::Channel;

/// A running plugin process.
pub struct PluginProcess {
    child: Child,
    pub address: String,
    pub data: DataClient<Channel>,
    pub diag: DiagnosticsClient<Channel>,
    pub res: ResourceClient<Channel>,
    pub stderr: Arc<Mutex<String>>,
}

impl PluginProcess {
    /// Spawns the binary with go-plugin's environment and connects.
    pub async fn start() -> PluginProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gpx_infermon"))
            .env_clear()
            .env("grafana_plugin_type", "datasource")
            .env("PLUGIN_PROTOCOL_VERSIONS", "2")
            .env("PLUGIN_MIN_PORT", "10000")
            .env("PLUGIN_MAX_PORT", "25000")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gpx_infermon");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).expect("read handshake");
        // Keep draining stdout and stderr so the pipes never fill.
        std::thread::spawn(move || {
            let mut sink = String::new();
            let _ = out.read_to_string(&mut sink);
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let log = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                log.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let p: Vec<&str> = line.trim_end_matches('\n').split('|').collect();
        assert!(line.ends_with('\n'), "handshake must be one line: {line:?}");
        assert_eq!(p.len(), 5, "handshake {line:?}");
        assert_eq!(
            (p[0], p[1], p[2], p[4]),
            ("1", "2", "tcp", "grpc"),
            "handshake {line:?}"
        );
        let address = p[3].to_string();
        let chan = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
            .unwrap()
            .connect()
            .await
            .expect("connect to the plugin");
        PluginProcess {
            child,
            address,
            data: DataClient::new(chan.clone()).max_decoding_message_size(usize::MAX),
            diag: DiagnosticsClient::new(chan.clone()),
            res: ResourceClient::new(chan),
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CheckHealth: (status, message, details).
    pub async fn health(
        &mut self,
        ds: pluginv2::DataSourceInstanceSettings,
    ) -> (i32, String, Value) {
        let r = self
            .diag
            .check_health(pluginv2::CheckHealthRequest {
                plugin_context: Some(ctx(ds)),
                headers: HashMap::new(),
            })
            .await
            .expect("CheckHealth RPC")
            .into_inner();
        let details = serde_json::from_slice(&r.json_details).unwrap_or(Value::Null);
        (r.status, r.message, details)
    }

    /// QueryData; returns the responses by refId.
    pub async fn query(
        &mut self,
        ds: pluginv2::DataSourceInstanceSettings,
        queries: Vec<pluginv2::DataQuery>,
        headers: &[(&str, &str)],
    ) -> HashMap<String, pluginv2::DataResponse> {
        let req = pluginv2::QueryDataRequest {
            plugin_context: Some(ctx(ds)),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            queries,
        };
        self.data
            .query_data(req)
            .await
            .expect("QueryData RPC")
            .into_inner()
            .responses
    }

    /// CallResource: (code, JSON body).
    pub async fn resource(
        &mut self,
        ds: pluginv2::DataSourceInstanceSettings,
        method: &str,
        url: &str,
        body: &[u8],
    ) -> (i32, Value) {
        let path = url.split('?').next().unwrap().to_string();
        let mut stream = self
            .res
            .call_resource(pluginv2::CallResourceRequest {
                plugin_context: Some(ctx(ds)),
                path,
                method: method.into(),
                url: url.into(),
                headers: HashMap::new(),
                body: body.to_vec().into(),
            })
            .await
            .expect("CallResource RPC")
            .into_inner();
        let first = stream.message().await.unwrap().expect("a first message");
        let mut body = first.body.to_vec();
        while let Some(m) = stream.message().await.unwrap() {
            body.extend_from_slice(&m.body);
        }
        (
            first.code,
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        )
    }
}

impl Drop for PluginProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Plugin context of a data-source request (user present, like a dashboard request).
pub fn ctx(ds: pluginv2::DataSourceInstanceSettings) -> pluginv2::PluginContext {
    pluginv2::PluginContext {
        org_id: 1,
        plugin_id: "infermon-inference-datasource".into(),
        user: Some(pluginv2::User {
            login: "admin".into(),
            name: "admin".into(),
            email: String::new(),
            role: "Admin".into(),
        }),
        app_instance_settings: None,
        data_source_instance_settings: Some(ds),
    }
}

/// Data-source settings as Grafana sends them.
pub fn ds(
    url: &str,
    json_data: Value,
    secure: &[(&str, &str)],
) -> pluginv2::DataSourceInstanceSettings {
    pluginv2::DataSourceInstanceSettings {
        id: 7,
        uid: "infermon".into(),
        name: "Inference".into(),
        url: url.into(),
        json_data: serde_json::to_vec(&json_data).unwrap(),
        decrypted_secure_json_data: secure
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        last_updated_ms: 1,
        ..Default::default()
    }
}

/// A DataQuery as Grafana builds it from a panel target.
pub fn dq(
    ref_id: &str,
    json: Value,
    from_ms: i64,
    to_ms: i64,
    interval_ms: i64,
    max_data_points: i64,
) -> pluginv2::DataQuery {
    let mut json = json;
    if let Some(o) = json.as_object_mut() {
        o.insert("refId".into(), ref_id.into());
        o.insert(
            "datasource".into(),
            serde_json::json!({"type": "infermon-inference-datasource", "uid": "infermon"}),
        );
        o.insert("intervalMs".into(), interval_ms.into());
        o.insert("maxDataPoints".into(), max_data_points.into());
    }
    pluginv2::DataQuery {
        ref_id: ref_id.into(),
        max_data_points,
        interval_ms,
        time_range: Some(pluginv2::TimeRange {
            from_epoch_ms: from_ms,
            to_epoch_ms: to_ms,
        }),
        json: serde_json::to_vec(&json).unwrap(),
        query_type: json
            .get("queryType")
            .and_then(Value::as_str)
            .unwrap_or("")
            .into(),
    }
}

/// A decoded field.
#[derive(Debug, Clone)]
pub struct DField {
    pub name: String,
    pub data_type: DataType,
    pub labels: Option<BTreeMap<String, String>>,
    pub config: Option<Value>,
    pub times_ns: Vec<i64>,
    pub numbers: Vec<Option<f64>>,
    pub strings: Vec<String>,
}

/// A decoded Arrow frame.
#[derive(Debug, Clone)]
pub struct DFrame {
    pub name: String,
    pub ref_id: String,
    pub meta: Value,
    pub fields: Vec<DField>,
}

impl DFrame {
    pub fn field(&self, name: &str) -> &DField {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no field {name} in {self:?}"))
    }
    pub fn frame_type(&self) -> &str {
        self.meta["type"].as_str().unwrap_or("")
    }
}

/// The frame meta fields whose types the Go SDK's `FrameMeta` enforces when Grafana unmarshals a plugin's frame
/// (one wrong type fails the whole frame): notices' `severity` is one of the strings "info", "warning", "error"
/// (`NoticeSeverity.UnmarshalJSON`), `text` a string; `typeVersion` two unsigned integers; `type` and
/// `executedQueryString` strings.
pub fn assert_meta_as_grafana_reads_it(meta: &Value) {
    if meta.is_null() {
        return;
    }
    for n in meta["notices"].as_array().into_iter().flatten() {
        assert!(
            matches!(n["severity"].as_str(), Some("info" | "warning" | "error")),
            "notice severity must be \"info\", \"warning\" or \"error\" for Grafana: {n}"
        );
        assert!(n["text"].is_string(), "notice text must be a string: {n}");
    }
    if let Some(v) = meta.get("typeVersion") {
        let ok = v
            .as_array()
            .is_some_and(|a| a.len() == 2 && a.iter().all(|x| x.is_u64()));
        assert!(ok, "typeVersion must be [major, minor]: {v}");
    }
    for k in ["type", "executedQueryString"] {
        if let Some(v) = meta.get(k) {
            assert!(v.is_string(), "meta {k} must be a string: {v}");
        }
    }
}

/// Decodes one Arrow IPC file the way Grafana does.
pub fn decode(bytes: &[u8]) -> DFrame {
    let mut cur = std::io::Cursor::new(bytes);
    let md = read_file_metadata(&mut cur).expect("Arrow file metadata");
    let schema = md.schema.clone();
    let meta = schema
        .metadata
        .get("meta")
        .map(|m| serde_json::from_str(m).expect("meta JSON"))
        .unwrap_or(Value::Null);
    assert_meta_as_grafana_reads_it(&meta);
    let mut fields: Vec<DField> = schema
        .fields
        .iter()
        .map(|f| DField {
            name: f.name.clone(),
            data_type: f.data_type.clone(),
            labels: f
                .metadata
                .get("labels")
                .map(|l| serde_json::from_str(l).expect("labels JSON")),
            config: f
                .metadata
                .get("config")
                .map(|c| serde_json::from_str(c).expect("config JSON")),
            times_ns: vec![],
            numbers: vec![],
            strings: vec![],
        })
        .collect();
    for chunk in FileReader::new(cur, md, None, None) {
        let chunk = chunk.expect("Arrow chunk");
        for (i, arr) in chunk.arrays().iter().enumerate() {
            let any = arr.as_any();
            if let Some(a) = any.downcast_ref::<PrimitiveArray<i64>>() {
                fields[i].times_ns.extend(a.iter().map(|v| *v.unwrap()));
            } else if let Some(a) = any.downcast_ref::<Float64Array>() {
                fields[i].numbers.extend(a.iter().map(|v| v.copied()));
            } else if let Some(a) = any.downcast_ref::<Utf8Array<i32>>() {
                fields[i]
                    .strings
                    .extend(a.iter().map(|v| v.unwrap_or("").to_string()));
            } else {
                panic!("unexpected array type {:?}", arr.data_type());
            }
        }
    }
    DFrame {
        name: schema.metadata.get("name").cloned().unwrap_or_default(),
        ref_id: schema.metadata.get("refId").cloned().unwrap_or_default(),
        meta,
        fields,
    }
}

/// Decodes all frames of a successful response, asserting status 200.
pub fn frames_of(r: &pluginv2::DataResponse) -> Vec<DFrame> {
    assert_eq!(r.status, 200, "error: {}", r.error);
    assert!(r.error.is_empty(), "{}", r.error);
    r.frames.iter().map(|f| decode(f)).collect()
}

/// The frames' display names → (labels, values).
pub fn by_display_name(
    frames: &[DFrame],
) -> BTreeMap<String, (BTreeMap<String, String>, Vec<f64>)> {
    frames
        .iter()
        .filter(|f| !f.fields.is_empty())
        .map(|f| {
            let v = f.field("Value");
            let name = v.config.as_ref().unwrap()["displayNameFromDS"]
                .as_str()
                .unwrap()
                .to_string();
            (
                name,
                (
                    v.labels.clone().unwrap(),
                    v.numbers.iter().map(|x| x.unwrap()).collect(),
                ),
            )
        })
        .collect()
}
