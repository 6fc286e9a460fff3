//! The gRPC services Grafana calls, implemented directly on the SDK's generated `pluginv2` traits (the
//! low-level route of grafana-plugin.md §2.6 item 8): Data (own Arrow frames), Diagnostics (CheckHealth,
//! CollectMetrics) and Resource (CallResource). Nothing here fails a whole RPC for one bad query: missing time
//! ranges, bad JSON and bad settings all become per-refId errors.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use grafana_plugin_sdk::pluginv2::{
    self, data_server::Data, diagnostics_server::Diagnostics, resource_server::Resource,
    CallResourceRequest, CallResourceResponse, CheckHealthRequest, CheckHealthResponse,
    CollectMetricsRequest, CollectMetricsResponse, DataResponse, QueryDataRequest,
    QueryDataResponse, StringList,
};
use tonic::{Request, Response, Status};

use crate::instance::Instances;
use crate::query::{run_all, RequestKind};

/// The plugin: shared by all services.
#[derive(Clone, Default)]
pub struct Plugin {
    instances: Arc<Instances>,
}

fn ds_settings(
    ctx: Option<&pluginv2::PluginContext>,
) -> Option<&pluginv2::DataSourceInstanceSettings> {
    ctx.and_then(|c| c.data_source_instance_settings.as_ref())
}

/// `FromAlert: true` (header names are case-insensitive over HTTP; Grafana sends `FromAlert`).
fn from_alert(headers: &HashMap<String, String>) -> bool {
    headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("FromAlert") && v.eq_ignore_ascii_case("true"))
}

#[tonic::async_trait]
impl Data for Plugin {
    async fn query_data(
        &self,
        request: Request<QueryDataRequest>,
    ) -> Result<Response<QueryDataResponse>, Status> {
        let req = request.into_inner();
        let kind = RequestKind {
            from_alert: from_alert(&req.headers),
        };
        let responses: HashMap<String, DataResponse> =
            match self.instances.get(ds_settings(req.plugin_context.as_ref())) {
                Ok(inst) => run_all(&inst, req.queries, kind)
                    .await
                    .into_iter()
                    .collect(),
                Err(e) => req
                    .queries
                    .into_iter()
                    .map(|q| {
                        (
                            q.ref_id,
                            DataResponse {
                                status: 400,
                                error: e.to_string(),
                                ..Default::default()
                            },
                        )
                    })
                    .collect(),
            };
        Ok(Response::new(QueryDataResponse { responses }))
    }
}

#[tonic::async_trait]
impl Diagnostics for Plugin {
    async fn check_health(
        &self,
        request: Request<CheckHealthRequest>,
    ) -> Result<Response<CheckHealthResponse>, Status> {
        let req = request.into_inner();
        let (status, message, details) =
            match self.instances.get(ds_settings(req.plugin_context.as_ref())) {
                Ok(inst) => crate::health::check(&inst).await,
                Err(e) => (
                    crate::health::ERROR,
                    format!("Invalid settings: {e}"),
                    serde_json::json!({}),
                ),
            };
        Ok(Response::new(CheckHealthResponse {
            status,
            message,
            json_details: serde_json::to_vec(&details).unwrap_or_default(),
        }))
    }

    async fn collect_metrics(
        &self,
        _: Request<CollectMetricsRequest>,
    ) -> Result<Response<CollectMetricsResponse>, Status> {
        Ok(Response::new(CollectMetricsResponse { metrics: None }))
    }
}

type ResourceStream =
    Pin<Box<dyn Stream<Item = Result<CallResourceResponse, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl Resource for Plugin {
    type CallResourceStream = ResourceStream;

    async fn call_resource(
        &self,
        request: Request<CallResourceRequest>,
    ) -> Result<Response<ResourceStream>, Status> {
        let req = request.into_inner();
        let (path, query) = match req.url.split_once('?') {
            Some((p, q)) if !req.url.is_empty() => (p.to_string(), q.to_string()),
            _ if !req.url.is_empty() => (req.url.clone(), String::new()),
            _ => (req.path.clone(), String::new()),
        };
        let answer = match self.instances.get(ds_settings(req.plugin_context.as_ref())) {
            Ok(inst) => {
                crate::resources::handle(&inst, &req.method, &path, &query, &req.body).await
            }
            Err(e) => crate::resources::Answer {
                status: 400,
                body: serde_json::json!({ "error": format!("Invalid settings: {e}") }),
            },
        };
        let mut headers = HashMap::new();
        headers.insert(
            "Content-Type".to_string(),
            StringList {
                values: vec!["application/json".into()],
            },
        );
        let resp = CallResourceResponse {
            code: i32::from(answer.status),
            headers,
            body: serde_json::to_vec(&answer.body).unwrap_or_default().into(),
        };
        Ok(Response::new(Box::pin(futures::stream::once(async move {
            Ok(resp)
        }))))
    }
}
