//! The client against a REAL VictoriaMetrics 1.79 (single node, started by infermon-testkit) with imported data.
//! Documents the client-visible differences from Prometheus: no `stats`, parse errors as 422 with a numeric
//! `errorType`, a 30 000-point limit instead of 11 000.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use infermon_prom::{Client, ClientConfig, Error, HttpMethod, QueryOptions, TimeRange};
use infermon_testkit::openmetrics::{MetricType, Writer};
use infermon_testkit::VictoriaMetrics;

const STEP_MS: i64 = 15_000;
const POINTS: i64 = 41;

fn at(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms as u64)
}

fn value(model: usize, i: i64) -> f64 {
    match (model, i) {
        (1, 7) => f64::INFINITY,
        (1, 8) => f64::NEG_INFINITY,
        _ => model as f64 * 100.0 + i as f64 * 0.25,
    }
}

/// Imports two series of 41 points (10 minutes at 15 s) ending 1 h ago.
fn start() -> (VictoriaMetrics, i64, i64) {
    let vm = VictoriaMetrics::builder().start().expect("vm starts");
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let end_ms = (now_ms / 60_000) * 60_000 - 3_600_000;
    let start_ms = end_ms - (POINTS - 1) * STEP_MS;
    let mut w = Writer::new();
    {
        let mut f = w.family("infermon_vm_gauge", MetricType::Gauge, "t");
        for model in [1usize, 2] {
            let m = format!("m{model}");
            for i in 0..POINTS {
                f.sample(&[("model", &m)], value(model, i), start_ms + i * STEP_MS);
            }
        }
    }
    vm.import_prometheus(&w.to_prometheus_ms()).expect("import");
    (vm, start_ms, end_ms)
}

#[tokio::test]
async fn queries_errors_and_metadata_on_victoria_metrics() {
    let (vm, start_ms, end_ms) = start();
    for method in [HttpMethod::Post, HttpMethod::Get] {
        let c = Client::new(ClientConfig::new(vm.url()).method(method)).unwrap();
        let opts = QueryOptions {
            stats: true,
            partial_response: Some(false),
            extra_params: vec![("nocache".into(), "1".into())],
            ..Default::default()
        };
        let r = c
            .query_range_with(
                "infermon_vm_gauge",
                at(start_ms),
                at(end_ms),
                Duration::from_millis(STEP_MS as u64),
                &opts,
            )
            .await
            .unwrap_or_else(|e| panic!("{method:?}: {e}"));
        let mut series = r.data.as_matrix().to_vec();
        series.sort_by(|a, b| a.labels.get("model").cmp(&b.labels.get("model")));
        assert_eq!(series.len(), 2);
        for (k, s) in series.iter().enumerate() {
            let model = k + 1;
            assert_eq!(s.labels.get("model"), Some(format!("m{model}").as_str()));
            assert_eq!(s.values.len(), POINTS as usize, "{}", s.labels);
            for i in 0..POINTS {
                assert_eq!(s.timestamps_ms[i as usize], start_ms + i * STEP_MS);
                assert_eq!(s.values[i as usize], value(model, i), "{}[{i}]", s.labels);
            }
        }
        assert!(r.stats.is_none(), "VictoriaMetrics sends no stats");
        assert!(r.warnings.is_empty());

        let r = c
            .query(r#"infermon_vm_gauge{model="m2"}"#, Some(at(end_ms)), false)
            .await
            .unwrap();
        assert_eq!(r.data.as_vector()[0].value, value(2, POINTS - 1));
    }

    let c = Client::new(ClientConfig::new(vm.url())).unwrap();
    // VictoriaMetrics reports parse errors as 422 with errorType "422".
    let e = c.query("sum(", None, false).await.unwrap_err();
    match &e {
        Error::Execution(se) => {
            assert_eq!((se.status, se.error_type.as_str()), (422, "422"));
            assert!(se.message.contains("sum("), "{}", se.message);
        }
        other => panic!("{other:?}"),
    }
    // More than -search.maxPointsPerTimeseries (30 000) points.
    let e = c
        .query_range(
            "infermon_vm_gauge",
            at(0),
            at(40_000_000),
            Duration::from_secs(1),
            false,
        )
        .await
        .unwrap_err();
    match &e {
        Error::Execution(se) => assert!(
            se.message.contains("maxPointsPerTimeseries"),
            "{}",
            se.message
        ),
        other => panic!("{other:?}"),
    }

    let range = TimeRange {
        start: at(start_ms),
        end: at(end_ms),
    };
    let series = c
        .series(&["infermon_vm_gauge"], range.start, range.end)
        .await
        .unwrap()
        .data;
    assert_eq!(series.len(), 2);
    let labels = c.labels(&[], Some(range)).await.unwrap().data;
    assert!(labels.contains(&"model".to_string()), "{labels:?}");
    let mut values = c
        .label_values("model", &["infermon_vm_gauge"], Some(range))
        .await
        .unwrap()
        .data;
    values.sort();
    assert_eq!(values, vec!["m1", "m2"]);
    // Single-node VM answers buildinfo (without a version) and an empty rule list.
    c.buildinfo().await.expect("buildinfo answers");
    assert!(c.rules().await.unwrap().data.groups.is_empty());
}
