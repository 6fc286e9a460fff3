//! The client against a REAL Prometheus 2.42 (started by infermon-testkit) with backfilled, known data.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use infermon_prom::{Client, ClientConfig, Error, HttpMethod, QueryData, QueryOptions, Rule};
use infermon_testkit::openmetrics::{MetricType, Writer};
use infermon_testkit::{promtool, wait_until_async, Prometheus, PrometheusBuilder};

const STEP_MS: i64 = 15_000;
/// Points per series: one hour at 15 s, both ends included.
const POINTS: i64 = 241;

struct Data {
    start_ms: i64,
    end_ms: i64,
    _dir: tempfile::TempDir,
}

fn at(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms as u64)
}

/// Value of series m1 at point i; m2 cycles through the special values.
fn m1(i: i64) -> f64 {
    i as f64 * 0.5
}

fn m2(i: i64) -> f64 {
    match i % 4 {
        0 => f64::NAN,
        1 => f64::INFINITY,
        2 => f64::NEG_INFINITY,
        _ => 1e-3,
    }
}

/// Backfills two series of `infermon_test_gauge` and starts Prometheus on that TSDB.
fn start(builder: PrometheusBuilder) -> (Prometheus, Data) {
    let dir = tempfile::tempdir().unwrap();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // End 2-3 h ago on a minute boundary, so nothing overlaps the (empty) head block.
    let end_ms = (now_ms / 60_000) * 60_000 - 2 * 3_600_000;
    let start_ms = end_ms - (POINTS - 1) * STEP_MS;
    let mut w = Writer::new();
    {
        let mut f = w.family("infermon_test_gauge", MetricType::Gauge, "test data");
        for i in 0..POINTS {
            f.sample(&[("model", "m1")], m1(i), start_ms + i * STEP_MS);
        }
        for i in 0..POINTS {
            f.sample(&[("model", "m2")], m2(i), start_ms + i * STEP_MS);
        }
    }
    let input = dir.path().join("data.om");
    std::fs::write(&input, w.to_openmetrics()).unwrap();
    let tsdb = dir.path().join("tsdb");
    promtool::create_blocks_from_openmetrics(&input, &tsdb).expect("backfill");
    let prom = builder.data_dir(&tsdb).start().expect("prometheus starts");
    (
        prom,
        Data {
            start_ms,
            end_ms,
            _dir: dir,
        },
    )
}

fn client(url: &str, method: HttpMethod) -> Client {
    Client::new(ClientConfig::new(url).method(method)).unwrap()
}

#[tokio::test]
async fn query_range_decodes_real_matrix_specials_and_stats() {
    let (prom, d) = start(Prometheus::builder());
    for method in [HttpMethod::Post, HttpMethod::Get] {
        let c = client(prom.url(), method);
        let r = c
            .query_range(
                "infermon_test_gauge",
                at(d.start_ms),
                at(d.end_ms),
                Duration::from_millis(STEP_MS as u64),
                true,
            )
            .await
            .unwrap_or_else(|e| panic!("{method:?}: {e}"));
        let series = r.data.as_matrix();
        assert_eq!(series.len(), 2, "{method:?}");
        for s in series {
            assert_eq!(s.labels.metric_name(), Some("infermon_test_gauge"));
            assert_eq!(s.timestamps_ms.len(), POINTS as usize);
            assert_eq!(s.values.len(), POINTS as usize);
            let expected: fn(i64) -> f64 = match s.labels.get("model") {
                Some("m1") => m1,
                Some("m2") => m2,
                other => panic!("unexpected series {other:?}"),
            };
            for i in 0..POINTS {
                let k = i as usize;
                assert_eq!(s.timestamps_ms[k], d.start_ms + i * STEP_MS);
                let (got, want) = (s.values[k], expected(i));
                assert!(
                    got == want || (got.is_nan() && want.is_nan()),
                    "{}[{i}]: got {got}, want {want}",
                    s.labels
                );
            }
        }
        // stats=all: a plain selector reads exactly one sample per series and step.
        let stats = r.stats.as_ref().expect("stats requested");
        let samples = stats.samples.as_ref().expect("stats.samples");
        assert_eq!(samples.total_queryable_samples, 2 * POINTS);
        assert!(stats.timings.as_ref().unwrap().eval_total_time > 0.0);
        assert!(r.warnings.is_empty());
        assert_eq!(r.is_partial, None);
    }
    // Without stats=all, Prometheus sends none.
    let r = client(prom.url(), HttpMethod::Post)
        .query_range(
            "infermon_test_gauge",
            at(d.start_ms),
            at(d.end_ms),
            Duration::from_secs(60),
            false,
        )
        .await
        .unwrap();
    assert!(r.stats.is_none());
}

#[tokio::test]
async fn instant_vector_scalar_string_and_path_prefix() {
    let (prom, d) = start(Prometheus::builder().route_prefix("/prometheus"));
    assert!(prom.url().ends_with("/prometheus"));
    let c = client(prom.url(), HttpMethod::Post);
    let t = at(d.start_ms + 10 * STEP_MS);
    let r = c
        .query(r#"infermon_test_gauge{model="m1"} * 2"#, Some(t), false)
        .await
        .unwrap();
    let v = r.data.as_vector();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].value, m1(10) * 2.0);
    assert_eq!(v[0].timestamp_ms, d.start_ms + 10 * STEP_MS);
    assert_eq!(v[0].labels.get("model"), Some("m1"));

    let r = c.query("1 + 2", Some(t), false).await.unwrap();
    assert!(matches!(r.data, QueryData::Scalar(p) if p.value == 3.0));
    let r = c.query("\"hello\"", Some(t), false).await.unwrap();
    assert!(matches!(r.data, QueryData::String(ref s) if s.value == "hello"));
    // An instant query of a range selector is a matrix; in 2.x the 1m window includes both ends (5 points).
    let r = c
        .query(r#"infermon_test_gauge{model="m1"}[1m]"#, Some(t), false)
        .await
        .unwrap();
    assert_eq!(r.data.as_matrix()[0].values.len(), 5);

    // Without the prefix, the server answers 404 on /api/v1/...: not a Prometheus API.
    let root = prom.url().trim_end_matches("/prometheus").to_string();
    let e = client(&root, HttpMethod::Post)
        .query("up", None, false)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::NotPrometheusApi { status: 404, .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn real_error_answers_are_typed() {
    let (prom, d) = start(Prometheus::builder().flag("--query.max-samples=300"));
    let c = client(prom.url(), HttpMethod::Post);

    let e = c.query("sum(rate(x[5m])", None, false).await.unwrap_err();
    match &e {
        Error::BadData(se) => {
            assert_eq!((se.status, se.error_type.as_str()), (400, "bad_data"));
            assert!(se.message.contains("parse error"), "{}", se.message);
            assert_eq!(se.query.as_deref(), Some("sum(rate(x[5m])"));
        }
        other => panic!("{other:?}"),
    }

    // 11 001 steps: over Prometheus' per-series resolution limit.
    let e = c
        .query_range("up", at(0), at(11_001_000), Duration::from_secs(1), false)
        .await
        .unwrap_err();
    match &e {
        Error::BadData(se) => assert!(
            se.message
                .contains("exceeded maximum resolution of 11,000 points"),
            "{}",
            se.message
        ),
        other => panic!("{other:?}"),
    }

    // 2 series × 241 points loaded at once > --query.max-samples=300.
    let e = c
        .query_range(
            "infermon_test_gauge",
            at(d.start_ms),
            at(d.end_ms),
            Duration::from_millis(STEP_MS as u64),
            false,
        )
        .await
        .unwrap_err();
    match &e {
        Error::Execution(se) => {
            assert_eq!((se.status, se.error_type.as_str()), (422, "execution"));
            assert!(se.message.contains("too many samples"), "{}", se.message);
        }
        other => panic!("{other:?}"),
    }
    assert!(!e.is_retryable());

    // Server-side evaluation timeout.
    let opts = QueryOptions {
        timeout: Some(Duration::from_nanos(1)),
        ..Default::default()
    };
    let e = c
        .query_with(
            "count_over_time(infermon_test_gauge[2h])",
            Some(at(d.end_ms)),
            &opts,
        )
        .await;
    if let Err(e) = e {
        // A 1 ns budget normally expires before evaluation; Prometheus reports `timeout` (503).
        assert!(matches!(e, Error::QueryTimeout(_)), "{e:?}");
    }
}

#[tokio::test]
async fn metadata_rules_and_buildinfo() {
    let (prom, d) = start(
        Prometheus::builder()
            .evaluation_interval("1s")
            .rule_file(
                "rules.yml",
                "groups:\n  - name: infermon\n    rules:\n      - record: model:infermon_test_gauge:count\n        expr: count by (model) (infermon_test_gauge)\n      - alert: AlwaysFiring\n        expr: vector(1)\n        labels: {severity: info}\n",
            ),
    );
    let c = client(prom.url(), HttpMethod::Post);
    let (s, e) = (at(d.start_ms), at(d.end_ms));
    let series = c.series(&["infermon_test_gauge"], s, e).await.unwrap().data;
    let mut models: Vec<_> = series.iter().filter_map(|l| l.get("model")).collect();
    models.sort();
    assert_eq!(models, vec!["m1", "m2"]);
    let labels = c.labels(&[], None).await.unwrap().data;
    assert!(labels.contains(&"model".to_string()), "{labels:?}");
    let values = c
        .label_values(
            "model",
            &["infermon_test_gauge"],
            Some(infermon_prom::TimeRange { start: s, end: e }),
        )
        .await
        .unwrap()
        .data;
    assert_eq!(values, vec!["m1", "m2"]);

    let bi = c.buildinfo().await.unwrap().data;
    assert!(bi.version.starts_with("2.42"), "{bi:?}");

    let rules = wait_until_async(Duration::from_secs(20), || {
        let c = c.clone();
        async move {
            let r = c.rules().await.map_err(|e| e.to_string())?.data;
            let firing = r.groups.iter().flat_map(|g| &g.rules).any(|rule| {
                matches!(rule, Rule::Alerting(a) if a.name == "AlwaysFiring" && a.state == "firing")
            });
            if firing {
                Ok(r)
            } else {
                Err(format!("not firing yet: {r:?}"))
            }
        }
    })
    .await
    .expect("alert fires");
    let g = &rules.groups[0];
    assert_eq!(g.name, "infermon");
    assert_eq!(g.interval, 1.0);
    assert!(g.file.ends_with("rules.yml"));
    assert_eq!(g.rules[0].name(), "model:infermon_test_gauge:count");
    assert_eq!(g.rules[0].health(), "ok");
    match &g.rules[1] {
        Rule::Alerting(a) => {
            assert_eq!(a.labels.get("severity").map(String::as_str), Some("info"));
            assert_eq!(a.alerts[0].value, "1e+00");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn basic_auth_against_real_prometheus() {
    // bcrypt hash of "test" (Prometheus' basic-auth guide).
    let (prom, _d) = start(Prometheus::builder().web_config_yaml(
        "basic_auth_users:\n  admin: $2b$12$hNf2lSsxfm0.i4a.1kVpSOVyBCfIB51VRjgBUyv6kdnyTlgWj81Ay\n",
    ));
    let e = Client::new(ClientConfig::new(prom.url()).basic_auth("admin", "wrong-password"))
        .unwrap()
        .query("1", None, false)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Unauthorized { status: 401, .. }),
        "{e:?}"
    );
    assert!(!e.to_string().contains("wrong-password"));
    let e = client(prom.url(), HttpMethod::Get)
        .query("1", None, false)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Unauthorized { status: 401, .. }),
        "{e:?}"
    );
    let r = Client::new(ClientConfig::new(prom.url()).basic_auth("admin", "test"))
        .unwrap()
        .query("1", None, false)
        .await
        .expect("right password is accepted");
    assert!(matches!(r.data, QueryData::Scalar(p) if p.value == 1.0));
}
