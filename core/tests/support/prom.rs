//! Real Prometheus helpers for core's tests: instant queries (captures are served by `infermon_testkit::captures`).

/// Runs `expr` as an instant query; `Err` carries Prometheus's error message.
pub fn instant_query(prom_url: &str, expr: &str) -> Result<serde_json::Value, String> {
    let body = infermon_testkit::http::form(&[("query", expr)]);
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
