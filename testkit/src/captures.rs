//! Real server captures (`../shared/fixtures`) served as live `/metrics` endpoints, so tests can point a real
//! Prometheus at a real vLLM 0.10 or TGI exposition whose counters keep growing.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A real vLLM 0.10 server's `/metrics` (NGC 25.09 build).
pub const VLLM_0_10: &str = "vllm-0.10.x-ngc25.09-metrics.txt";
/// A TGI 3.3 exposition rendered from its source (no model label, like the real server).
pub const TGI_3_3: &str = "tgi-3.3.x-SYNTHETIC-rendered-metrics.txt";

/// The text of a shared fixture; panics naming the path when it is missing.
pub fn fixture(name: &str) -> String {
    let path = crate::shared_fixtures_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Serves both captures and returns the `scrape_configs` entries (YAML list items) that scrape them as a
/// Kubernetes deployment would be labelled: the vLLM one as job `vllm` with `namespace: prod`, the TGI one as job
/// `tgi` with `namespace: prod` and the target label `model: <tgi_model>` (TGI exposes no model label).
pub fn vllm_and_tgi_scrape_configs(tgi_model: &str) -> String {
    let vllm = serve_capture(fixture(VLLM_0_10));
    let tgi = serve_capture(fixture(TGI_3_3));
    format!(
        "  - job_name: vllm\n    static_configs:\n      - targets: ['{vllm}']\n        labels: {{namespace: prod}}\n  - job_name: tgi\n    static_configs:\n      - targets: ['{tgi}']\n        labels: {{namespace: prod, model: {tgi_model}}}\n"
    )
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
