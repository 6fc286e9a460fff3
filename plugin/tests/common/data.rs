//! Test data with a known ground truth, loaded into real engines.
//!
//! A fleet of two vLLM V1 models and one TGI model, 3 hours at a 15 s scrape interval, every counter growing
//! by a fixed amount per scrape and every histogram receiving a fixed set of observations per scrape. So the
//! true rates, ratios and bucket-bounded quantiles are known exactly (`Truth`), independently of the code under
//! test. The same samples go to Prometheus 2.42 (promtool OpenMetrics backfill) and VictoriaMetrics (import).

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use infermon_core::catalog::buckets::{TGI_DURATION, VLLM_REQUEST_LATENCY, VLLM_TTFT};
use infermon_testkit::openmetrics::{MetricType, Writer};
use infermon_testkit::{Prometheus, VictoriaMetrics};

pub const STEP_MS: i64 = 15_000;
pub const SAMPLES: i64 = 721; // 3 h

/// One vLLM model's behaviour per scrape interval.
pub struct VllmModel {
    pub name: &'static str,
    pub namespace: &'static str,
    pub running: f64,
    pub waiting: f64,
    pub kv: f64,
    pub gen_tokens_per_step: f64,
    pub stop_per_step: f64,
    pub error_per_step: f64,
    /// TTFT observations per step: (value, count).
    pub ttft_obs: &'static [(f64, u64)],
    pub e2e_obs: &'static [(f64, u64)],
}

pub const VLLM: [VllmModel; 2] = [
    VllmModel {
        name: "llama-3-8b",
        namespace: "prod",
        running: 4.0,
        waiting: 3.0,
        kv: 0.5,
        gen_tokens_per_step: 150.0,
        stop_per_step: 27.0,
        error_per_step: 3.0,
        ttft_obs: &[(0.09, 20), (0.2, 10)],
        e2e_obs: &[(1.2, 30)],
    },
    VllmModel {
        name: "mistral-7b",
        namespace: "staging",
        running: 2.0,
        waiting: 1.0,
        kv: 0.25,
        gen_tokens_per_step: 75.0,
        stop_per_step: 14.0,
        error_per_step: 1.0,
        ttft_obs: &[(0.05, 10), (0.07, 10)],
        e2e_obs: &[(2.2, 15)],
    },
];

pub const TGI_MODEL: &str = "mixtral-8x7b";
pub const TGI_QUEUE: f64 = 7.0;
pub const TGI_BATCH: f64 = 5.0;
pub const TGI_REQUESTS_PER_STEP: f64 = 45.0;

/// The sample times (ms), shared by both engines.
pub struct Data {
    pub first_ms: i64,
    pub last_ms: i64,
    pub writer: Writer,
}

fn bucket_counts(le: &[&str], obs: &[(f64, u64)]) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = le
        .iter()
        .map(|b| {
            let bound: f64 = b.parse().unwrap();
            (
                b.to_string(),
                obs.iter()
                    .filter(|(v, _)| *v <= bound)
                    .map(|(_, c)| c)
                    .sum(),
            )
        })
        .collect();
    out.push(("+Inf".into(), obs.iter().map(|(_, c)| c).sum()));
    out
}

/// One histogram series: its labels and the observations (value, count) it receives per scrape.
type HistSeries<'a> = (Vec<(&'a str, &'a str)>, &'a [(f64, u64)]);

fn histogram(w: &mut Writer, name: &str, le: &[&str], series: &[HistSeries<'_>], first: i64) {
    for (suffix, what) in [("_bucket", 0), ("_sum", 1), ("_count", 2)] {
        let mut f = w.family(
            &format!("{name}{suffix}"),
            MetricType::Unknown,
            "test histogram",
        );
        for (labels, obs) in series {
            let per_step_sum: f64 = obs.iter().map(|(v, c)| v * *c as f64).sum();
            let per_step_count: u64 = obs.iter().map(|(_, c)| c).sum();
            if what == 0 {
                for (b, c) in bucket_counts(le, obs) {
                    let mut l = labels.clone();
                    l.push(("le", &b));
                    for k in 0..SAMPLES {
                        f.sample(&l, (c * k as u64) as f64, first + k * STEP_MS);
                    }
                }
            } else {
                for k in 0..SAMPLES {
                    let v = if what == 1 {
                        per_step_sum * k as f64
                    } else {
                        (per_step_count * k as u64) as f64
                    };
                    f.sample(labels, v, first + k * STEP_MS);
                }
            }
        }
    }
}

/// Builds the samples: the last one 10 minutes after "now" (so instant queries at now see data while the
/// tests run), the first 3 hours earlier.
pub fn build() -> Data {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let last_ms = now / STEP_MS * STEP_MS + 600_000;
    let first_ms = last_ms - (SAMPLES - 1) * STEP_MS;
    let mut w = Writer::new();
    let vl = |m: &'static VllmModel| {
        vec![
            ("job", "vllm"),
            ("instance", m.name),
            ("namespace", m.namespace),
            ("model_name", m.name),
            ("engine", "0"),
        ]
    };
    let gauge = |w: &mut Writer, name: &str, get: &dyn Fn(&VllmModel) -> f64| {
        let mut f = w.family(name, MetricType::Gauge, "test gauge");
        for m in &VLLM {
            for k in 0..SAMPLES {
                f.sample(&vl(m), get(m), first_ms + k * STEP_MS);
            }
        }
    };
    gauge(&mut w, "vllm:num_requests_running", &|m| m.running);
    gauge(&mut w, "vllm:num_requests_waiting", &|m| m.waiting);
    gauge(&mut w, "vllm:kv_cache_usage_perc", &|m| m.kv);
    {
        let mut f = w.family(
            "vllm:generation_tokens",
            MetricType::Counter,
            "test counter",
        );
        for m in &VLLM {
            for k in 0..SAMPLES {
                f.sample(
                    &vl(m),
                    m.gen_tokens_per_step * k as f64,
                    first_ms + k * STEP_MS,
                );
            }
        }
    }
    {
        let mut f = w.family("vllm:request_success", MetricType::Counter, "test counter");
        for m in &VLLM {
            for (reason, per) in [("stop", m.stop_per_step), ("error", m.error_per_step)] {
                let mut l = vl(m);
                l.push(("finished_reason", reason));
                for k in 0..SAMPLES {
                    f.sample(&l, per * k as f64, first_ms + k * STEP_MS);
                }
            }
        }
    }
    let ttft: Vec<_> = VLLM.iter().map(|m| (vl(m), m.ttft_obs)).collect();
    histogram(
        &mut w,
        "vllm:time_to_first_token_seconds",
        VLLM_TTFT.le,
        &ttft,
        first_ms,
    );
    let e2e: Vec<_> = VLLM.iter().map(|m| (vl(m), m.e2e_obs)).collect();
    histogram(
        &mut w,
        "vllm:e2e_request_latency_seconds",
        VLLM_REQUEST_LATENCY.le,
        &e2e,
        first_ms,
    );

    let tl = vec![
        ("job", "tgi"),
        ("instance", "tgi-0:80"),
        ("namespace", "prod"),
        ("model", TGI_MODEL),
    ];
    for (name, v) in [
        ("tgi_queue_size", TGI_QUEUE),
        ("tgi_batch_current_size", TGI_BATCH),
    ] {
        let mut f = w.family(name, MetricType::Gauge, "test gauge");
        for k in 0..SAMPLES {
            f.sample(&tl, v, first_ms + k * STEP_MS);
        }
    }
    {
        let mut f = w.family(
            "tgi_request_count",
            MetricType::Unknown,
            "TGI counter without _total",
        );
        for k in 0..SAMPLES {
            f.sample(
                &tl,
                TGI_REQUESTS_PER_STEP * k as f64,
                first_ms + k * STEP_MS,
            );
        }
    }
    let q_obs: &[(f64, u64)] = &[(0.01, 10)];
    histogram(
        &mut w,
        "tgi_request_queue_duration",
        TGI_DURATION.le,
        &[(tl.clone(), q_obs)],
        first_ms,
    );
    let mut pl = tl.clone();
    pl.push(("method", "prefill"));
    let p_obs: &[(f64, u64)] = &[(0.02, 10)];
    histogram(
        &mut w,
        "tgi_batch_inference_duration",
        TGI_DURATION.le,
        &[(pl, p_obs)],
        first_ms,
    );
    Data {
        first_ms,
        last_ms,
        writer: w,
    }
}

/// Both engines with the same data, started once per test binary.
pub struct Engines {
    pub data: Data,
    pub prometheus: Prometheus,
    pub victoria: VictoriaMetrics,
    _dir: tempfile::TempDir,
}

pub fn engines() -> &'static Engines {
    static E: OnceLock<Engines> = OnceLock::new();
    E.get_or_init(|| {
        let data = build();
        let dir = tempfile::tempdir().unwrap();
        let om = dir.path().join("data.om");
        std::fs::write(&om, data.writer.to_openmetrics()).unwrap();
        let tsdb = dir.path().join("tsdb");
        infermon_testkit::promtool::create_blocks_from_openmetrics(&om, &tsdb)
            .expect("promtool backfill");
        let prometheus = Prometheus::builder()
            .data_dir(&tsdb)
            .start()
            .expect("prometheus starts");
        let victoria = VictoriaMetrics::builder()
            .start()
            .expect("victoria-metrics starts");
        victoria
            .import_prometheus(&data.writer.to_prometheus_ms())
            .expect("import into VictoriaMetrics");
        Engines {
            data,
            prometheus,
            victoria,
            _dir: dir,
        }
    })
}
