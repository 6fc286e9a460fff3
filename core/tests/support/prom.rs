//! Real Prometheus helpers for core's tests: instant queries, and a `/metrics` server that replays a capture.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Runs `expr` as an instant query; `Err` carries Prometheus's error message.
pub fn instant_query(prom_url: &str, expr: &str) -> Result<serde_json::Value, String> {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("query", expr)
        .finish();
    let resp = infermon_testkit::http::post(
        &format!("{prom_url}/api/v1/query"),
        "application/x-www-form-urlencoded",
        body.as_bytes(),
    )
    .map_err(|e| e.to_string())?;
    let json: serde_json::Value = serde_json::from_str(&resp.text()).map_err(|e| e.to_string())?;
    if json["status"] == "success" {
        Ok(json["data"]["result"].clone())
    } else {
        Err(format!("{}: {}", json["errorType"], json["error"]))
    }
}

/// Serves `capture` on `/metrics` of a free loopback port. Every scrape multiplies the values of cumulative
/// series (`_total`, `_bucket`, `_sum`, `_count` of counters and histograms) by the scrape number, so a static
/// capture of a real server becomes a live one whose rates are non-zero while every name, label and bucket stays
/// exactly as captured. Returns `host:port`.
pub fn serve_capture(capture: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let scrapes = Arc::new(AtomicU64::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let n = scrapes.fetch_add(1, Ordering::SeqCst) + 1;
            let body = scale_cumulative(&capture, n as f64);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                body.len(),
                body
            );
        }
    });
    addr
}

fn scale_cumulative(capture: &str, factor: f64) -> String {
    let mut out = String::with_capacity(capture.len());
    for line in capture.lines() {
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let name = &line[..name_end];
        let cumulative = !line.starts_with('#')
            && !name.ends_with("_created")
            && [
                "_total",
                "_bucket",
                "_sum",
                "_count",
                "tgi_request_count",
                "tgi_request_success",
                "tgi_request_failure",
            ]
            .iter()
            .any(|s| name.ends_with(s));
        match (cumulative, line.rsplit_once(' ')) {
            (true, Some((head, value))) if value.parse::<f64>().is_ok() => {
                let v: f64 = value.parse().unwrap();
                out.push_str(&format!("{head} {}", v * factor));
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}
