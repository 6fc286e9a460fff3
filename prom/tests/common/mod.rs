//! A recording HTTP stub (axum on 127.0.0.1:0) for the client's request-shape and error-mapping tests.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Parameters from the query string (GET) or the form body (POST), in order.
    pub fn params(&self) -> Vec<(String, String)> {
        let raw = if self.method == "POST" {
            self.body.clone()
        } else {
            self.query.clone().unwrap_or_default()
        };
        url::form_urlencoded::parse(raw.as_bytes())
            .into_owned()
            .collect()
    }

    pub fn param(&self, name: &str) -> Option<String> {
        self.params()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// The canned answer.
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub delay_ms: u64,
}

impl Canned {
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Canned {
            status,
            content_type: "application/json",
            body: body.into(),
            delay_ms: 0,
        }
    }
}

type Responder = Arc<dyn Fn(&Recorded) -> Canned + Send + Sync>;

#[derive(Clone)]
struct Shared {
    log: Arc<Mutex<Vec<Recorded>>>,
    respond: Responder,
}

pub struct Stub {
    pub url: String,
    log: Arc<Mutex<Vec<Recorded>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl Stub {
    /// Starts a stub answering every request with `respond(request)`.
    pub async fn start(respond: impl Fn(&Recorded) -> Canned + Send + Sync + 'static) -> Stub {
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            log: log.clone(),
            respond: Arc::new(respond),
        };
        let app = Router::new().fallback(handle).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Stub {
            url: format!("http://{addr}"),
            log,
            _task: task,
        }
    }

    /// Always the same answer.
    pub async fn fixed(canned: Canned) -> Stub {
        Stub::start(move |_| canned.clone()).await
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    pub fn last(&self) -> Recorded {
        self.requests().pop().expect("the stub received a request")
    }
}

async fn handle(State(shared): State<Shared>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let rec = Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers.clone(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    shared.log.lock().unwrap().push(rec.clone());
    let canned = (shared.respond)(&rec);
    if canned.delay_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(canned.delay_ms)).await;
    }
    (
        StatusCode::from_u16(canned.status).unwrap(),
        [("content-type", canned.content_type)],
        Body::from(canned.body),
    )
        .into_response()
}

/// A success envelope around `data`.
pub fn success(data: &str) -> String {
    format!(r#"{{"status":"success","data":{data}}}"#)
}

/// A small matrix answer.
pub const MATRIX: &str = r#"{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"a"},"values":[[1700000000,"1"],[1700000015,"NaN"]]}]}"#;
