//! A deliberately tiny blocking HTTP/1.0 client for test plumbing (readiness probes, `/-/reload`, VictoriaMetrics
//! imports, fetching `/metrics`).
//!
//! Why not reqwest: the blocking reqwest client owns a tokio runtime and panics when dropped inside another
//! runtime, which is exactly where `#[tokio::test]`s call us. HTTP/1.0 with `Connection: close` makes Go servers
//! answer with a plain body delimited by the connection close, so no keep-alive or chunking logic is needed
//! (chunked bodies are still decoded, defensively). Only `http://host:port/path?query` URLs are supported.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Socket timeout for connect, read and write.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// A response: status code, headers (names lower-cased) and body.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Header (lower-cased name, value) pairs in order.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// Body as (lossy) UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// First header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Transport-level failure (never an HTTP status: any status is a [`Response`]).
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// URL is not `http://host:port/...`.
    #[error("unsupported URL {0:?} (expected http://host:port/path)")]
    BadUrl(String),
    /// Connect/read/write failed.
    #[error("{method} {url}: {source}")]
    Io {
        /// Method used.
        method: String,
        /// URL requested.
        url: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The server's answer was not HTTP.
    #[error("{method} {url}: malformed HTTP response: {reason}")]
    Malformed {
        /// Method used.
        method: String,
        /// URL requested.
        url: String,
        /// What was wrong.
        reason: String,
    },
}

/// `GET url`.
pub fn get(url: &str) -> Result<Response, HttpError> {
    request("GET", url, &[], &[])
}

/// `POST url` with the given content type and body.
pub fn post(url: &str, content_type: &str, body: &[u8]) -> Result<Response, HttpError> {
    request("POST", url, &[("Content-Type", content_type)], body)
}

/// Sends one request with extra headers and returns the full response.
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Response, HttpError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| HttpError::BadUrl(url.to_string()))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || !authority.contains(':') {
        return Err(HttpError::BadUrl(url.to_string()));
    }
    let io_err = |source| HttpError::Io {
        method: method.to_string(),
        url: url.to_string(),
        source,
    };
    let addr = authority
        .to_socket_addrs()
        .map_err(io_err)?
        .next()
        .ok_or_else(|| HttpError::BadUrl(url.to_string()))?;
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).map_err(io_err)?;
    stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(io_err)?;
    stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(io_err)?;

    let mut req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {authority}\r\nConnection: close\r\nUser-Agent: infermon-testkit\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(k);
        req.push_str(": ");
        req.push_str(v);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).map_err(io_err)?;
    stream.write_all(body).map_err(io_err)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(io_err)?;
    parse_response(&raw).map_err(|reason| HttpError::Malformed {
        method: method.to_string(),
        url: url.to_string(),
        reason,
    })
}

fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = std::str::from_utf8(&raw[..head_end]).map_err(|_| "headers are not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or("empty response")?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[head_end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(data.len());
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk size")?;
        let size_str = std::str::from_utf8(&data[..line_end]).map_err(|_| "bad chunk size")?;
        let size = usize::from_str_radix(size_str.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {size_str:?}"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_chunked() {
        let r =
            parse_response(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello").unwrap();
        assert_eq!((r.status, r.text().as_str()), (200, "hello"));
        assert_eq!(r.header("content-type"), Some("text/plain"));
        let r = parse_response(
            b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((r.status, r.text().as_str()), (503, "hello world"));
        assert!(parse_response(b"garbage").is_err());
    }

    #[test]
    fn rejects_non_http_urls() {
        assert!(matches!(get("https://x:1/"), Err(HttpError::BadUrl(_))));
        assert!(matches!(get("http://nohost/"), Err(HttpError::BadUrl(_))));
    }

    #[test]
    fn connection_refused_is_an_io_error() {
        let port = crate::free_port();
        let err = get(&format!("http://127.0.0.1:{port}/")).unwrap_err();
        assert!(matches!(err, HttpError::Io { .. }), "{err}");
    }
}

/// `s` percent-encoded for a URL query component or a form body: RFC 3986's unreserved characters stay, every
/// other byte becomes `%XX` (so PromQL's braces, quotes, `=~` and spaces survive both).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `k=v&…` with keys and values [`encode`]d: a query string or an `application/x-www-form-urlencoded` body.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod encode_tests {
    use super::*;

    #[test]
    fn promql_survives_encoding() {
        assert_eq!(
            encode(r#"sum by (le) (x{a=~"b|c"})"#),
            "sum%20by%20%28le%29%20%28x%7Ba%3D~%22b%7Cc%22%7D%29"
        );
        assert_eq!(
            form(&[("query", "up"), ("a b", "é")]),
            "query=up&a%20b=%C3%A9"
        );
    }
}
