//! End to end, through the Grafana plugin protocol: the built `gpx_infermon` binary launched like Grafana does,
//! against real Prometheus 2.42 and real VictoriaMetrics holding the same known data (`common::data`).
//! Values are checked against the data's ground truth; labels, units, display names and frame types field by
//! field on the decoded Arrow frames.

mod common;

use std::collections::BTreeMap;

use common::data::{engines, STEP_MS, TGI_MODEL};
use common::{dq, ds, frames_of, PluginProcess};
use serde_json::{json, Value};

/// (engine name, URL).
fn engine_urls() -> Vec<(&'static str, String)> {
    let e = engines();
    vec![
        ("prometheus", e.prometheus.url().to_string()),
        ("victoria", e.victoria.url().to_string()),
    ]
}

/// One hour ending at "now" (the data runs 10 minutes past now).
fn window() -> (i64, i64) {
    let to = engines().data.last_ms - 600_000;
    (to - 3_600_000, to)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_health_describes_the_fleet_on_both_engines() {
    let mut p = PluginProcess::start().await;
    for (engine, url) in engine_urls() {
        let (status, msg, details) = p.health(ds(&url, json!({}), &[])).await;
        assert_eq!(status, 1, "{engine}: {msg}");
        assert!(msg.contains("reachable"), "{engine}: {msg}");
        assert!(msg.contains("vLLM (2 models; V1)"), "{engine}: {msg}");
        assert!(msg.contains("TGI (1 model)"), "{engine}: {msg}");
        assert!(msg.contains("recording rules: absent"), "{engine}: {msg}");
        assert_eq!(details["models"], json!({"vllm": 2, "tgi": 1}), "{engine}");
    }
}

/// Asserts every point of every series equals `truth[display name]` within `tol`.
fn assert_values(
    engine: &str,
    what: &str,
    frames: &[common::DFrame],
    truth: &[(&str, f64)],
    tol: f64,
) {
    let got = common::by_display_name(frames);
    let names: Vec<&String> = got.keys().collect();
    assert_eq!(
        names.len(),
        truth.len(),
        "{engine} {what}: series {names:?}"
    );
    for (name, want) in truth {
        let (_, values) = got
            .get(*name)
            .unwrap_or_else(|| panic!("{engine} {what}: no series {name} in {names:?}"));
        assert!(
            values.len() > 200,
            "{engine} {what} {name}: {} points",
            values.len()
        );
        for v in values {
            assert!(
                (v - want).abs() <= tol,
                "{engine} {what} {name}: {v} vs truth {want}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metric_queries_give_ground_truth_with_labels_units_and_types_on_both_engines() {
    let mut p = PluginProcess::start().await;
    let (from, to) = window();
    for (engine, url) in engine_urls() {
        let q = |r: &str, j: Value| dq(r, j, from, to, 15_000, 240);
        let resp = p
            .query(
                ds(&url, json!({"scrapeInterval": "15s"}), &[]),
                vec![
                    q("A", json!({"queryType": "metric", "concept": "ttft", "stat": "p95", "backend": "vllm"})),
                    q("B", json!({"queryType": "metric", "concept": "generation_tokens_rate"})),
                    q("C", json!({"queryType": "metric", "concept": "request_rate"})),
                    q("D", json!({"queryType": "metric", "concept": "error_ratio", "backend": "vllm"})),
                    q("E", json!({"queryType": "metric", "concept": "queue_depth"})),
                    q("F", json!({"queryType": "metric", "concept": "kv_cache_usage"})),
                    q("G", json!({"queryType": "metric", "concept": "e2e_latency", "stat": "p50"})),
                    q("H", json!({"queryType": "metric", "concept": "ttft", "stat": "avg", "backend": "vllm"})),
                    q("I", json!({"queryType": "metric", "concept": "running_requests", "groupBy": ["model", "namespace"],
                                  "legend": "{{model}} in {{namespace}}"})),
                    q("J", json!({"queryType": "metric", "concept": "ttft", "stat": "p95", "backend": "tgi"})),
                ],
                &[],
            )
            .await;
        assert_eq!(resp.len(), 10, "{engine}");

        // A: TTFT p95, field by field.
        let a = frames_of(&resp["A"]);
        assert_eq!(a.len(), 2, "{engine}: one frame per series");
        for f in &a {
            assert_eq!(f.ref_id, "A");
            assert_eq!(f.frame_type(), "timeseries-multi");
            assert_eq!(f.meta["typeVersion"], json!([0, 1]));
            assert_eq!(f.fields.len(), 2);
            let (t, v) = (&f.fields[0], &f.fields[1]);
            assert_eq!((t.name.as_str(), v.name.as_str()), ("Time", "Value"));
            assert_eq!(format!("{:?}", t.data_type), "Timestamp(Nanosecond, None)");
            assert_eq!(format!("{:?}", v.data_type), "Float64");
            assert_eq!(t.config.as_ref().unwrap()["interval"], json!(15_000.0));
            assert!(
                t.times_ns.iter().all(|ns| ns % (STEP_MS * 1_000_000) == 0),
                "aligned to the step"
            );
            assert!(
                t.times_ns.first().unwrap() / 1_000_000 >= from - STEP_MS
                    && t.times_ns.last().unwrap() / 1_000_000 <= to
            );
            let labels = v.labels.as_ref().expect("labels survive next to a config");
            let model = labels["model"].clone();
            assert_eq!(labels.len(), 1, "{labels:?}");
            let cfg = v.config.as_ref().unwrap();
            assert_eq!(cfg["unit"], "s");
            assert_eq!(cfg["displayNameFromDS"], model.as_str());
            assert_eq!(f.name, model);
        }
        let executed = a[0].meta["executedQueryString"].as_str().unwrap();
        assert!(
            executed.starts_with("Expr: ")
                && executed.contains("histogram_quantile(0.95")
                && executed.ends_with("\nStep: 15s"),
            "{executed}"
        );
        // p95 of llama: 20 obs in (0.08, 0.1], 10 in (0.1, 0.25] -> inside (0.1, 0.25]; Prometheus interpolates
        // linearly to 0.1 + 0.85 × 0.15. mistral: 10 in (0.04, 0.06], 10 in (0.06, 0.08] -> (0.06, 0.08].
        let got = common::by_display_name(&a);
        for (name, lo, hi, interp) in [
            ("llama-3-8b", 0.1, 0.25, 0.2275),
            ("mistral-7b", 0.06, 0.08, 0.078),
        ] {
            for v in &got[name].1 {
                assert!(
                    *v > lo && *v <= hi,
                    "{engine} ttft p95 {name}: {v} outside the true bucket ({lo}, {hi}]"
                );
                if engine == "prometheus" {
                    assert!((v - interp).abs() < 1e-9, "{engine} {name}: {v}");
                }
            }
        }

        assert_values(
            engine,
            "generation tokens/s",
            &frames_of(&resp["B"]),
            &[("llama-3-8b", 10.0), ("mistral-7b", 5.0)],
            1e-9,
        );
        let b = frames_of(&resp["B"]);
        assert_eq!(
            b[0].field("Value").config.as_ref().unwrap()["unit"],
            "tokens/s"
        );
        assert_values(
            engine,
            "requests/s",
            &frames_of(&resp["C"]),
            &[("llama-3-8b", 2.0), ("mistral-7b", 1.0), (TGI_MODEL, 3.0)],
            1e-9,
        );
        assert_values(
            engine,
            "error ratio",
            &frames_of(&resp["D"]),
            &[("llama-3-8b", 0.1), ("mistral-7b", 1.0 / 15.0)],
            1e-9,
        );
        assert_values(
            engine,
            "queue depth",
            &frames_of(&resp["E"]),
            &[("llama-3-8b", 3.0), ("mistral-7b", 1.0), (TGI_MODEL, 7.0)],
            0.0,
        );
        let f = frames_of(&resp["F"]);
        assert_values(
            engine,
            "kv cache",
            &f,
            &[("llama-3-8b", 0.5), ("mistral-7b", 0.25)],
            0.0,
        );
        assert_eq!(
            f[0].field("Value").config.as_ref().unwrap()["unit"],
            "percentunit"
        );
        // e2e p50: llama 30 obs in (1.0, 1.5]; mistral 15 obs in (2.0, 2.5].
        let g = common::by_display_name(&frames_of(&resp["G"]));
        for (name, lo, hi) in [("llama-3-8b", 1.0, 1.5), ("mistral-7b", 2.0, 2.5)] {
            assert!(
                g[name].1.iter().all(|v| *v > lo && *v <= hi),
                "{engine} e2e p50 {name}: {:?}",
                &g[name].1[..3]
            );
        }
        assert_values(
            engine,
            "ttft avg",
            &frames_of(&resp["H"]),
            &[("llama-3-8b", 3.8 / 30.0), ("mistral-7b", 0.06)],
            1e-9,
        );

        // I: custom legend and two output labels.
        let i = frames_of(&resp["I"]);
        let got = common::by_display_name(&i);
        let want: BTreeMap<String, String> = [("model", "llama-3-8b"), ("namespace", "prod")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got["llama-3-8b in prod"].0, want, "{engine}");
        assert!(got["llama-3-8b in prod"].1.iter().all(|v| *v == 4.0));
        assert!(
            got["mixtral-8x7b in prod"].1.iter().all(|v| *v == 5.0),
            "{engine}: {:?}",
            got.keys()
        );

        // J: TGI TTFT is an approximation and says so.
        let j = frames_of(&resp["J"]);
        let notices = j[0].meta["notices"].as_array().expect("notices");
        assert!(
            notices.iter().any(|n| n["text"]
                .as_str()
                .unwrap()
                .contains("Approximation for TGI")),
            "{notices:?}"
        );
        assert_eq!(
            common::by_display_name(&j).keys().collect::<Vec<_>>(),
            vec![TGI_MODEL]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_query_is_one_table_with_a_row_per_model() {
    let mut p = PluginProcess::start().await;
    let (from, to) = window();
    for (engine, url) in engine_urls() {
        let resp = p
            .query(
                ds(&url, json!({}), &[]),
                vec![dq(
                    "T",
                    json!({"queryType": "fleet"}),
                    from,
                    to,
                    15_000,
                    240,
                )],
                &[],
            )
            .await;
        let frames = frames_of(&resp["T"]);
        assert_eq!(frames.len(), 1, "{engine}");
        let t = &frames[0];
        assert_eq!(t.frame_type(), "numeric-long");
        assert_eq!(t.fields[0].name, "model");
        assert_eq!(
            t.fields[0].strings,
            vec!["llama-3-8b", "mistral-7b", TGI_MODEL]
        );
        let col = |k: &str| t.field(k).numbers.clone();
        assert_eq!(
            col("queue_depth"),
            vec![Some(3.0), Some(1.0), Some(7.0)],
            "{engine}"
        );
        assert_eq!(
            col("running_requests"),
            vec![Some(4.0), Some(2.0), Some(5.0)],
            "{engine}"
        );
        let rr = col("request_rate");
        for (got, want) in rr.iter().zip([2.0, 1.0, 3.0]) {
            assert!(
                (got.unwrap() - want).abs() < 1e-9,
                "{engine} request_rate {rr:?}"
            );
        }
        assert_eq!(
            col("kv_cache_usage")[2],
            None,
            "TGI has no KV-cache usage: {engine}"
        );
        assert_eq!(t.field("ttft_p95").config.as_ref().unwrap()["unit"], "s");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_translate_catalog_models_namespaces() {
    let mut p = PluginProcess::start().await;
    let url = engines().prometheus.url().to_string();
    let d = || ds(&url, json!({}), &[]);
    let body = json!({"queryType": "metric", "concept": "ttft", "stat": "p95", "models": ["llama-3-8b"], "backend": "vllm"});
    let (code, t) = p
        .resource(d(), "POST", "translate", body.to_string().as_bytes())
        .await;
    assert_eq!(code, 200, "{t}");
    let expr = t["queries"][0]["expr"].as_str().unwrap();
    assert!(
        expr.contains("histogram_quantile(0.95") && expr.contains("llama-3-8b"),
        "{expr}"
    );
    assert!(
        !expr.contains("sglang"),
        "detection limits the query to present backends: {expr}"
    );
    assert_eq!(t["queries"][0]["unit"], "s");
    assert_eq!(t["queries"][0]["legend"], "{{model}}");
    assert_eq!(t["approximate"], false);
    // Without a backend the query also covers the detected TGI server, whose TTFT is an approximation.
    let body = json!({"queryType": "metric", "concept": "ttft"});
    let (_, t) = p
        .resource(d(), "POST", "translate", body.to_string().as_bytes())
        .await;
    assert_eq!(t["approximate"], true, "{t}");
    assert!(
        t["notices"][0]["text"]
            .as_str()
            .unwrap()
            .contains("TGI does not expose TTFT"),
        "{t}"
    );
    assert!(
        t["queries"][0]["expr"]
            .as_str()
            .unwrap()
            .contains("tgi_request_queue_duration_bucket"),
        "{t}"
    );

    let (code, e) = p.resource(d(), "POST", "translate", br#"{"queryType":"slo","sli":"ttft","threshold":0.5,"objective":99,"view":"attainment"}"#).await;
    assert_eq!(code, 400);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("`objective` must be a fraction in (0, 1)"),
        "{e}"
    );

    let (code, c) = p.resource(d(), "GET", "catalog", b"").await;
    assert_eq!(code, 200);
    let ttft = c["concepts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "ttft")
        .unwrap();
    assert_eq!(ttft["backends"]["vllm"]["support"], "exact");
    assert_eq!(ttft["backends"]["tgi"]["support"], "approximate");
    assert_eq!(ttft["backends"]["llamacpp"]["support"], "unsupported");
    assert!(ttft["backends"]["vllm"]["buckets"]
        .as_array()
        .unwrap()
        .contains(&json!(0.5)));
    assert_eq!(ttft["stats"][2], "p95");

    let (code, m) = p.resource(d(), "GET", "models", b"").await;
    assert_eq!(code, 200);
    assert_eq!(
        m["models"],
        json!([{"model": "llama-3-8b", "backend": "vllm", "namespace": "prod"},
               {"model": "mistral-7b", "backend": "vllm", "namespace": "staging"},
               {"model": TGI_MODEL, "backend": "tgi", "namespace": "prod"}])
    );
    let (_, m) = p
        .resource(d(), "GET", "models?namespace=prod&backend=vllm", b"")
        .await;
    assert_eq!(m["models"].as_array().unwrap().len(), 1, "{m}");
    let (_, n) = p.resource(d(), "GET", "namespaces", b"").await;
    assert_eq!(n["namespaces"], json!(["prod", "staging"]));
    let (code, _) = p.resource(d(), "GET", "nope", b"").await;
    assert_eq!(code, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerting_requests_get_labelled_typed_frames_and_no_data_instead_of_errors() {
    let mut p = PluginProcess::start().await;
    let (from, to) = window();
    let url = engines().prometheus.url().to_string();
    let ctx_req = |queries| grafana_plugin_sdk::pluginv2::QueryDataRequest {
        plugin_context: Some(grafana_plugin_sdk::pluginv2::PluginContext {
            user: None,
            ..common::ctx(ds(&url, json!({}), &[]))
        }),
        headers: [("FromAlert".to_string(), "true".to_string())].into(),
        queries,
    };
    let req = ctx_req(vec![
        dq(
            "A",
            json!({"queryType": "metric", "concept": "queue_depth"}),
            from,
            to,
            1_000,
            43_200,
        ),
        dq(
            "B",
            json!({"queryType": "metric", "concept": "spec_decode_acceptance_rate"}),
            from,
            to,
            1_000,
            43_200,
        ),
    ]);
    let resp = p.data.query_data(req).await.unwrap().into_inner().responses;
    let a = frames_of(&resp["A"]);
    let labels: Vec<_> = a
        .iter()
        .map(|f| f.field("Value").labels.clone().unwrap()["model"].clone())
        .collect();
    assert_eq!(labels, vec!["llama-3-8b", "mistral-7b", TGI_MODEL]);
    assert!(a
        .iter()
        .all(|f| f.frame_type() == "timeseries-multi" && f.meta["typeVersion"] == json!([0, 1])));
    assert!(
        a.iter()
            .all(|f| f.fields.iter().all(|x| x.strings.is_empty())),
        "no string fields for SSE"
    );
    let b = frames_of(&resp["B"]);
    assert_eq!(b.len(), 1);
    assert!(b[0].fields.is_empty(), "no data = one frame without fields");
    assert_eq!(b[0].frame_type(), "timeseries-multi");
}
