//! Request shape and error mapping against a local recording stub server (things a real Prometheus cannot be made
//! to do on demand: Mimir's 429/413/499, Thanos warnings, VictoriaMetrics isPartial, HTML pages, TLS).

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{success, Canned, Stub, MATRIX};
use infermon_prom::{Client, ClientConfig, Error, HttpMethod, QueryData, QueryOptions, TimeRange};

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn client(cfg: ClientConfig) -> Client {
    Client::new(cfg).expect("valid config")
}

#[tokio::test]
async fn post_form_encoding_path_prefix_and_auth_headers() {
    let stub = Stub::fixed(Canned::json(200, success(MATRIX))).await;
    let c = client(
        ClientConfig::new(format!("{}/prometheus/", stub.url))
            .basic_auth("alice", "s3cret-pw")
            .header("X-Scope-OrgID", "tenant-1"),
    );
    let expr =
        r#"sum by (model_name) (rate(vllm:generation_tokens_total{model_name=~"a|b&c"}[5m]))"#;
    let r = c
        .query_range(
            expr,
            t(1_700_000_000),
            t(1_700_003_600),
            Duration::from_secs(15),
            true,
        )
        .await
        .unwrap();
    assert_eq!(r.data.point_count(), 2);
    let req = stub.last();
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/prometheus/api/v1/query_range");
    assert_eq!(req.query, None);
    assert_eq!(
        req.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        req.params(),
        vec![
            ("query".to_string(), expr.to_string()),
            ("start".into(), "1700000000.000".into()),
            ("end".into(), "1700003600.000".into()),
            ("step".into(), "15".into()),
            ("stats".into(), "all".into()),
        ]
    );
    // base64("alice:s3cret-pw")
    assert_eq!(
        req.header("authorization"),
        Some("Basic YWxpY2U6czNjcmV0LXB3")
    );
    assert_eq!(req.header("x-scope-orgid"), Some("tenant-1"));
    assert_eq!(req.header("accept"), Some("application/json"));
    assert!(req
        .header("user-agent")
        .unwrap()
        .starts_with("infermon-prom/"));
    assert_eq!(
        req.header("accept-encoding"),
        None,
        "no compression may be requested (performance.md §2.5)"
    );
}

#[tokio::test]
async fn get_encoding_bearer_and_no_stats_unless_asked() {
    let stub = Stub::fixed(Canned::json(
        200,
        success(r#"{"resultType":"vector","result":[]}"#),
    ))
    .await;
    let c = client(
        ClientConfig::new(&stub.url)
            .method(HttpMethod::Get)
            .bearer_token("tok-123"),
    );
    c.query("up == 1", Some(t(1_700_000_000)), false)
        .await
        .unwrap();
    let req = stub.last();
    assert_eq!(req.method, "GET");
    assert_eq!(req.path, "/api/v1/query");
    assert_eq!(
        req.query.as_deref(),
        Some("query=up+%3D%3D+1&time=1700000000.000")
    );
    assert_eq!(req.header("authorization"), Some("Bearer tok-123"));
    assert_eq!(req.param("stats"), None);

    let opts = QueryOptions {
        partial_response: Some(false),
        timeout: Some(Duration::from_millis(1500)),
        extra_params: vec![("nocache".into(), "1".into())],
        ..Default::default()
    };
    c.query_with("up", None, &opts).await.unwrap();
    let req = stub.last();
    assert_eq!(req.param("time"), None, "no time means server now");
    assert_eq!(req.param("partial_response").as_deref(), Some("false"));
    assert_eq!(req.param("deny_partial_response").as_deref(), Some("1"));
    assert_eq!(req.param("timeout").as_deref(), Some("1.5"));
    assert_eq!(req.param("nocache").as_deref(), Some("1"));
}

#[tokio::test]
async fn metadata_endpoints_shape() {
    let stub = Stub::start(|req| match req.path.as_str() {
        "/api/v1/series" => Canned::json(200, success(r#"[{"__name__":"up","job":"a"}]"#)),
        "/api/v1/labels" => Canned::json(200, success(r#"["__name__","job"]"#)),
        "/api/v1/label/model_name/values" => Canned::json(200, success(r#"["m1","m2"]"#)),
        "/api/v1/status/buildinfo" => Canned::json(200, success(r#"{"version":"2.42.0"}"#)),
        "/api/v1/rules" => Canned::json(
            200,
            success(
                r#"{"groups":[{"name":"g","file":"f.yml","interval":15,"rules":[
                {"type":"recording","name":"r:x","query":"sum(x)","health":"ok"},
                {"type":"alerting","name":"A","query":"x>1","duration":60,"state":"firing","health":"ok",
                 "alerts":[{"labels":{"alertname":"A"},"state":"firing","value":"2e+00","activeAt":"2023-01-01T00:00:00Z"}]}]}]}"#,
            ),
        ),
        _ => Canned::json(404, "404 page not found"),
    })
    .await;
    let c = client(ClientConfig::new(&stub.url).method(HttpMethod::Get));
    let s = c.series(&["up", r#"{job="a"}"#], t(1), t(2)).await.unwrap();
    assert_eq!(s.data[0].get("job"), Some("a"));
    let req = stub.last();
    assert_eq!(
        req.params(),
        vec![
            ("match[]".to_string(), "up".to_string()),
            ("match[]".into(), r#"{job="a"}"#.into()),
            ("start".into(), "1.000".into()),
            ("end".into(), "2.000".into()),
        ]
    );
    assert_eq!(
        c.labels(&[], None).await.unwrap().data,
        vec!["__name__", "job"]
    );
    let v = c
        .label_values(
            "model_name",
            &["vllm:num_requests_running"],
            Some(TimeRange {
                start: t(10),
                end: t(20),
            }),
        )
        .await
        .unwrap();
    assert_eq!(v.data, vec!["m1", "m2"]);
    assert_eq!(stub.last().param("start").as_deref(), Some("10.000"));
    assert_eq!(c.buildinfo().await.unwrap().data.version, "2.42.0");
    let rules = c.rules().await.unwrap().data;
    let g = &rules.groups[0];
    assert_eq!((g.name.as_str(), g.interval), ("g", 15.0));
    assert_eq!(g.rules[0].name(), "r:x");
    match &g.rules[1] {
        infermon_prom::Rule::Alerting(a) => {
            assert_eq!(a.alerts[0].state, "firing");
            assert_eq!(a.duration, 60.0);
        }
        other => panic!("{other:?}"),
    }
    // Invalid arguments never reach the server.
    let n = stub.requests().len();
    assert!(matches!(
        c.label_values("bad-name", &[], None).await,
        Err(Error::InvalidRequest {
            field: "label name",
            ..
        })
    ));
    assert!(matches!(
        c.series(&[], t(1), t(2)).await,
        Err(Error::InvalidRequest {
            field: "matchers",
            ..
        })
    ));
    assert!(matches!(
        c.query("  ", None, false).await,
        Err(Error::InvalidRequest { field: "expr", .. })
    ));
    assert!(matches!(
        c.query_range("up", t(10), t(5), Duration::from_secs(1), false)
            .await,
        Err(Error::InvalidRequest { field: "end", .. })
    ));
    assert!(matches!(
        c.query_range("up", t(1), t(5), Duration::ZERO, false).await,
        Err(Error::InvalidRequest { field: "step", .. })
    ));
    assert_eq!(stub.requests().len(), n);
}

#[tokio::test]
async fn warnings_infos_and_is_partial_are_surfaced() {
    let stub = Stub::fixed(Canned::json(
        200,
        format!(
            r#"{{"status":"success","isPartial":true,"warnings":["No StoreAPIs matched for this query"],"infos":["PromQL info: metric might not be a counter"],"data":{MATRIX}}}"#
        ),
    ))
    .await;
    let r = client(ClientConfig::new(&stub.url))
        .query("up", None, false)
        .await
        .unwrap();
    assert_eq!(r.warnings, vec!["No StoreAPIs matched for this query"]);
    assert_eq!(r.infos, vec!["PromQL info: metric might not be a counter"]);
    assert_eq!(r.is_partial, Some(true));
    assert!(r.partial());
    assert!(r.stats.is_none());
    assert!(matches!(r.data, QueryData::Matrix(_)));
}

async fn error_for(status: u16, content_type: &'static str, body: &str) -> Error {
    let stub = Stub::fixed(Canned {
        status,
        content_type,
        body: body.to_string(),
        delay_ms: 0,
    })
    .await;
    client(ClientConfig::new(&stub.url).bearer_token("tok-secret-value"))
        .query_range("rate(x[5m])", t(0), t(60), Duration::from_secs(15), false)
        .await
        .expect_err("error status must fail")
}

fn envelope(error_type: &str, msg: &str) -> String {
    format!(r#"{{"status":"error","errorType":"{error_type}","error":"{msg}"}}"#)
}

/// Checks that an error is the expected variant.
type IsVariant = fn(&Error) -> bool;

#[tokio::test]
async fn maps_error_bodies_and_statuses_to_variants() {
    let cases: Vec<(u16, String, IsVariant)> = vec![
        (
            400,
            envelope("bad_data", "1:6: parse error: unexpected end of input"),
            |e| matches!(e, Error::BadData(_)),
        ),
        (
            422,
            envelope(
                "execution",
                "query processing would load too many samples into memory in query execution",
            ),
            |e| matches!(e, Error::Execution(_)),
        ),
        (
            503,
            envelope("timeout", "query timed out in expression evaluation"),
            |e| matches!(e, Error::QueryTimeout(_)),
        ),
        (503, envelope("unavailable", "shutting down"), |e| {
            matches!(e, Error::Unavailable(_))
        }),
        (
            429,
            envelope(
                "too_many_requests",
                "the query hit the max number of chunks limit",
            ),
            |e| matches!(e, Error::TooManyRequests(_)),
        ),
        (
            413,
            envelope(
                "too_large_entry",
                "response larger than the max message size",
            ),
            |e| matches!(e, Error::TooLarge(_)),
        ),
        (499, envelope("canceled", "context canceled"), |e| {
            matches!(e, Error::Canceled(_))
        }),
        (406, envelope("not_acceptable", "not acceptable"), |e| {
            matches!(e, Error::NotAcceptable(_))
        }),
        (500, envelope("internal", "boom"), |e| {
            matches!(e, Error::Internal(_))
        }),
        (
            422,
            envelope(
                "422",
                "error when executing query=\\\"rate(x[5m])\\\": VictoriaMetrics style",
            ),
            |e| matches!(e, Error::Execution(_)),
        ),
    ];
    for (status, body, check) in cases {
        let err = error_for(status, "application/json", &body).await;
        assert!(check(&err), "HTTP {status} {body} -> {err:?}");
        let se = err.server_error().expect("server error details");
        assert_eq!(se.status, status);
        assert_eq!(se.query.as_deref(), Some("rate(x[5m])"));
        assert_eq!(se.endpoint, "/api/v1/query_range");
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!("{}: ", se.error_type)),
            "{shown}"
        );
        assert!(
            !shown.contains("tok-secret-value") && !format!("{err:?}").contains("tok-secret-value")
        );
    }
}

#[tokio::test]
async fn auth_failures_non_prometheus_servers_and_proxies_are_distinct() {
    let e = error_for(401, "text/plain", "Unauthorized").await;
    assert!(
        matches!(e, Error::Unauthorized { status: 401, .. }),
        "{e:?}"
    );
    let e = error_for(403, "application/json", &envelope("forbidden", "no org id")).await;
    match &e {
        Error::Unauthorized {
            status: 403,
            message,
            ..
        } => assert_eq!(message, "no org id"),
        other => panic!("{other:?}"),
    }
    let e = error_for(200, "text/html", "<!doctype html><title>Grafana</title>").await;
    assert!(
        matches!(e, Error::NotPrometheusApi { status: 200, .. }),
        "{e:?}"
    );
    let e = error_for(404, "text/plain; charset=utf-8", "404 page not found").await;
    match &e {
        Error::NotPrometheusApi {
            url, status: 404, ..
        } => {
            assert!(url.ends_with("/api/v1/query_range"), "{url}")
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("path prefix"), "{e}");
    let e = error_for(200, "application/json", r#"{"hello":"world"}"#).await;
    assert!(matches!(e, Error::NotPrometheusApi { .. }), "{e:?}");
    let e = error_for(502, "text/html", "<html>Bad Gateway</html>").await;
    assert!(
        matches!(e, Error::UnexpectedStatus { status: 502, .. }),
        "{e:?}"
    );
    assert!(e.is_retryable());
    let e = error_for(429, "text/plain", "too many outstanding requests").await;
    assert!(matches!(e, Error::TooManyRequests(_)), "{e:?}");
    let e = error_for(
        200,
        "application/json",
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"x"]]}]}}"#,
    )
    .await;
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
}

#[tokio::test]
async fn transport_failures_are_distinct() {
    // Connection refused: a port nobody listens on.
    let port = infermon_testkit::free_port();
    let e = client(ClientConfig::new(format!("http://127.0.0.1:{port}")))
        .query("up", None, false)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::ConnectionRefused { .. }), "{e:?}");
    assert!(e.is_retryable());

    // Client-side timeout.
    let stub = Stub::fixed(Canned {
        delay_ms: 3000,
        ..Canned::json(200, success(MATRIX))
    })
    .await;
    let e = client(ClientConfig::new(&stub.url).timeout(Duration::from_millis(300)))
        .query("up", None, false)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::RequestTimeout { .. }), "{e:?}");

    // Response size limit.
    let stub = Stub::fixed(Canned::json(200, success(MATRIX))).await;
    let e = client(ClientConfig::new(&stub.url).max_response_bytes(50))
        .query("up", None, false)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::ResponseTooLarge { limit: 50, .. }),
        "{e:?}"
    );
}

/// A one-shot-per-connection HTTPS server with a self-signed certificate for 127.0.0.1.
async fn tls_stub() -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cert_pem = cert.cert.pem();
    let der = cert.cert.der().clone();
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![der], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = vec![0u8; 16384];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let body = success(r#"{"resultType":"scalar","result":[1700000000,"1"]}"#);
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(resp.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (format!("https://{addr}"), cert_pem)
}

#[tokio::test]
async fn tls_untrusted_ca_and_skip_verify() {
    let (url, pem) = tls_stub().await;
    let e = client(ClientConfig::new(&url))
        .query("1", None, false)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Tls { .. }), "{e:?}");
    assert!(e.to_string().contains("ca_cert_pem"), "{e}");

    let r = client(ClientConfig::new(&url).ca_cert_pem(pem))
        .query("1", None, false)
        .await
        .expect("trusted via ca_cert_pem");
    assert!(matches!(r.data, QueryData::Scalar(p) if p.value == 1.0));

    client(ClientConfig::new(&url).tls_skip_verify(true))
        .query("1", None, false)
        .await
        .expect("accepted with tls_skip_verify");
}
