//! Golden PromQL for every concept × backend × statistic, one file per case (easy to review), plus the
//! unsupported cells' error messages.

mod support;

use infermon_core::catalog::{support as cell, Backend, Concept, Support};
use infermon_core::query::Query;
use infermon_core::translate::{translate, Context};
use support::{all_cases, assert_golden, per_model_query};

fn render(t: &infermon_core::Translation) -> String {
    let mut out = String::new();
    for n in &t.notices {
        out.push_str(&format!("# {:?}: {}\n", n.severity, n.text));
    }
    for target in &t.targets {
        out.push_str(&format!(
            "# unit: {}, legend: {}\n{}\n",
            target.unit, target.legend, target.expr
        ));
    }
    out
}

#[test]
fn every_supported_cell_translates_to_its_golden_promql() {
    let ctx = Context::default();
    let cases = all_cases();
    assert!(cases.len() > 50, "the matrix shrank: {} cases", cases.len());
    for case in cases {
        let t = translate(&Query::Metric(case.query.clone()), &ctx)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name()));
        assert_eq!(t.targets.len(), 1, "{}", case.name());
        assert_golden(&format!("translate/{}.promql", case.name()), &render(&t));
    }
}

#[test]
fn unsupported_cells_fail_with_the_reason_when_the_backend_is_explicit() {
    let mut out = String::new();
    for &concept in Concept::ALL {
        for backend in Backend::ALL {
            if let Support::Unsupported(reason) = cell(concept, backend) {
                let q = per_model_query(concept, backend, None, None);
                let e = translate(&Query::Metric(q), &Context::default())
                    .unwrap_err()
                    .to_string();
                assert!(e.contains(reason), "{e}");
                out.push_str(&format!("{} × {}: {e}\n", concept.id(), backend.id()));
            }
        }
    }
    assert_golden("translate/unsupported.txt", &out);
}

#[test]
fn auto_backend_combines_backends_with_or_and_marks_approximations() {
    let q = Query::from_json(
        &serde_json::json!({"queryType": "metric", "concept": "ttft", "stat": "p95"}),
    )
    .unwrap();
    let t = translate(&q, &Context::default()).unwrap();
    assert!(t.approximate);
    assert_golden("translate/auto__ttft__p95.promql", &render(&t));
}

#[test]
fn detected_metric_names_drop_absent_renames_and_explain_missing_concepts() {
    let present = ["vllm:kv_cache_usage_perc", "vllm:num_requests_running"]
        .map(String::from)
        .into();
    let ctx = Context {
        backends: Some([Backend::Vllm].into()),
        present_metrics: Some(present),
        ..Context::default()
    };
    let kv =
        Query::from_json(&serde_json::json!({"queryType": "metric", "concept": "kv_cache_usage"}))
            .unwrap();
    let t = translate(&kv, &ctx).unwrap();
    assert!(
        !t.targets[0].expr.contains("gpu_cache_usage_perc"),
        "{}",
        t.targets[0].expr
    );
    let spec = Query::from_json(
        &serde_json::json!({"queryType": "metric", "concept": "spec_decode_acceptance_rate"}),
    )
    .unwrap();
    let t = translate(&spec, &ctx).unwrap();
    assert!(t.targets.is_empty());
    assert!(
        t.notices[0].text.contains("speculative decoding"),
        "{:?}",
        t.notices
    );
}

#[test]
fn slo_queries_translate_to_golden_promql() {
    let cases = [
        (
            "slo__ttft_0.5__budget_remaining__vllm",
            serde_json::json!({"queryType": "slo", "sli": "ttft", "threshold": 0.5,
            "objective": 0.99, "view": "budgetRemaining", "backend": "vllm"}),
        ),
        (
            "slo__e2e_5__attainment__auto",
            serde_json::json!({"queryType": "slo", "sli": "e2e_latency", "threshold": 5.0,
            "objective": 0.95, "view": "attainment", "window": "30d", "interpolate": true}),
        ),
        (
            "slo__errors__burn_rate_1h__auto",
            serde_json::json!({"queryType": "slo", "sli": "error_ratio",
            "objective": 0.999, "view": "burnRate", "burnWindow": "1h", "models": ["llama-3"]}),
        ),
    ];
    for (name, json) in cases {
        let t = translate(&Query::from_json(&json).unwrap(), &Context::default()).unwrap();
        assert_golden(&format!("translate/{name}.promql"), &render(&t));
    }
}

#[test]
fn slo_threshold_off_tgi_boundaries_is_refused_with_the_nearest_boundaries() {
    let q = Query::from_json(
        &serde_json::json!({"queryType": "slo", "sli": "e2e_latency", "threshold": 5.0,
        "objective": 0.95, "view": "attainment"}),
    )
    .unwrap();
    // Refused when TGI is known to be there…
    let ctx = Context {
        backends: Some([Backend::Vllm, Backend::Tgi].into()),
        ..Context::default()
    };
    let e = translate(&q, &ctx).unwrap_err().to_string();
    assert!(
        e.contains("TGI") && e.contains("3.787675244106352 and 5.681512866159528"),
        "{e}"
    );
    // …and skipped with the same explanation when it only might be.
    let t = translate(&q, &Context::default()).unwrap();
    assert_eq!(t.targets.len(), 1);
    assert!(
        t.notices
            .iter()
            .any(|n| n.text.contains("3.787675244106352 and 5.681512866159528")),
        "{:?}",
        t.notices
    );
}

#[test]
fn fleet_query_has_one_instant_target_per_column() {
    let q =
        Query::from_json(&serde_json::json!({"queryType": "fleet", "backend": "vllm"})).unwrap();
    let t = translate(&q, &Context::default()).unwrap();
    assert!(t.targets.iter().all(|t| t.instant));
    let keys: Vec<&str> = t.targets.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(
        keys.len(),
        infermon_core::translate::FLEET_COLUMNS.len(),
        "{keys:?}"
    );
}

#[test]
fn recording_rules_are_read_when_loaded_and_notices_survive() {
    let ctx = Context {
        recording_rules: true,
        backends: Some([Backend::Vllm, Backend::Tgi].into()),
        ..Context::default()
    };
    let mut out = String::new();
    for json in [
        serde_json::json!({"queryType": "metric", "concept": "kv_cache_usage"}),
        serde_json::json!({"queryType": "metric", "concept": "ttft", "stat": "p95"}),
        serde_json::json!({"queryType": "metric", "concept": "ttft", "stat": "p95", "groupBy": ["namespace", "model"]}),
        serde_json::json!({"queryType": "metric", "concept": "preemption_rate", "models": ["llama-3"]}),
        serde_json::json!({"queryType": "metric", "concept": "error_ratio", "groupBy": []}),
        // Not what the rules hold: raw series.
        serde_json::json!({"queryType": "metric", "concept": "queue_depth", "groupBy": ["pod"]}),
    ] {
        let t = translate(&Query::from_json(&json).unwrap(), &ctx).unwrap();
        out.push_str(&format!("## {json}\n{}\n", render(&t)));
    }
    assert!(
        out.contains("Not available on TGI: TGI does not preempt"),
        "{out}"
    );
    assert_golden("translate/recorded.promql", &out);
}

#[test]
fn slo_queries_naming_their_slo_read_its_records_where_they_answer_exactly() {
    let slo_records = [
        (
            "ttft-500ms",
            vec!["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"],
        ),
        (
            "errors",
            vec!["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"],
        ),
    ]
    .into_iter()
    .map(|(n, ws)| {
        (
            n.to_string(),
            ws.into_iter().map(|w| w.parse().unwrap()).collect(),
        )
    })
    .collect();
    let detected = Context {
        recording_rules: true,
        backends: Some([Backend::Vllm, Backend::Tgi].into()),
        slo_records: Some(slo_records),
        ..Context::default()
    };
    let undetected = Context {
        recording_rules: true,
        ..Context::default()
    };
    let ttft = serde_json::json!({"queryType": "slo", "slo": "ttft-500ms", "sli": "ttft", "threshold": 0.5,
        "objective": 0.99, "backend": "vllm", "groupBy": ["namespace", "model"]});
    let with = |extra: serde_json::Value| {
        let mut q = ttft.clone();
        q.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        q
    };
    let mut out = String::new();
    for (title, ctx, json) in [
        // Records: every view, at the record level or with the other labels pinned.
        (
            "budget, record level",
            &detected,
            with(serde_json::json!({"view": "budgetRemaining"})),
        ),
        (
            "attainment, one model in one namespace, fleet-wide",
            &detected,
            with(
                serde_json::json!({"view": "attainment", "models": ["llama-3"], "namespaces": ["prod"], "groupBy": []}),
            ),
        ),
        (
            "burn rate 5m per model in one namespace",
            &detected,
            with(
                serde_json::json!({"view": "burnRate", "burnWindow": "5m", "namespaces": ["prod"], "groupBy": ["model"]}),
            ),
        ),
        (
            "error-ratio SLO burn rate 1h, detection unknown",
            &undetected,
            serde_json::json!({"queryType": "slo", "slo": "errors", "sli": "error_ratio", "objective": 0.999,
                "view": "burnRate", "groupBy": ["namespace", "model"]}),
        ),
        // Raw, with the reason.
        (
            "per model across namespaces",
            &detected,
            with(serde_json::json!({"view": "attainment", "groupBy": ["model"]})),
        ),
        (
            "burn window the rules do not record",
            &detected,
            with(serde_json::json!({"view": "burnRate", "burnWindow": "4h"})),
        ),
        (
            "SLO window the rules do not record",
            &detected,
            with(serde_json::json!({"view": "budgetRemaining", "window": "7d"})),
        ),
        (
            "burn window unknown to the rules, detection unknown",
            &undetected,
            with(serde_json::json!({"view": "burnRate", "burnWindow": "4h"})),
        ),
        (
            "free filters",
            &detected,
            with(
                serde_json::json!({"view": "attainment", "filters": [{"label": "pod", "op": "=", "value": "vllm-0"}]}),
            ),
        ),
        (
            "an SLO the engine does not record",
            &detected,
            with(serde_json::json!({"view": "attainment", "slo": "ttft-250ms"})),
        ),
        (
            "recording rules off",
            &Context {
                recording_rules: false,
                ..detected.clone()
            },
            with(serde_json::json!({"view": "attainment"})),
        ),
    ] {
        let t = translate(&Query::from_json(&json).unwrap(), ctx).unwrap();
        assert_eq!(t.targets.len(), 1, "{title}");
        let recorded = t.targets[0]
            .expr
            .contains("namespace_model:inference_slo_errors:ratio_rate");
        assert_eq!(
            recorded,
            !t.targets[0].expr.contains("vllm:") && !t.targets[0].expr.contains("_total"),
            "{title}: records and raw series mixed: {}",
            t.targets[0].expr
        );
        out.push_str(&format!(
            "## {title} ({})\n## {json}\n{}\n",
            if recorded { "records" } else { "raw" },
            render(&t)
        ));
    }
    assert!(
        out.contains("# Warning: SLO \"ttft-250ms\" computed from raw series")
            && out.contains("(recorded: errors, ttft-500ms)"),
        "{out}"
    );
    assert_golden("translate/slo_recorded.promql", &out);
}

#[test]
fn the_slo_name_reaches_promql_escaped_and_is_validated() {
    let q = |slo: &str| {
        Query::from_json(
            &serde_json::json!({"queryType": "slo", "slo": slo, "sli": "error_ratio",
            "objective": 0.999, "view": "attainment", "groupBy": ["namespace", "model"]}),
        )
    };
    for bad in [
        "",
        "TTFT",
        "ttft 500ms",
        "a\"} or vector(1) #",
        "ttft_500ms",
    ] {
        let e = q(bad).unwrap_err().to_string();
        assert!(
            e.starts_with("`slo` must be the name of an SLO in infermon's rules spec"),
            "{bad:?}: {e}"
        );
    }
    let ctx = Context {
        recording_rules: true,
        ..Context::default()
    };
    let t = translate(&q("errors").unwrap(), &ctx).unwrap();
    assert!(
        t.targets[0].expr.contains(r#"{slo="errors"}"#),
        "{}",
        t.targets[0].expr
    );
}
