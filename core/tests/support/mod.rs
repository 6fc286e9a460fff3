//! Shared helpers of core's integration tests: golden files and the concept × backend case list.
#![allow(dead_code)]

use infermon_core::catalog::{support, Backend, Concept, Source, Support};
use infermon_core::query::{BackendChoice, MetricQuery, Stat};
use infermon_core::PromDuration;
use std::path::{Path, PathBuf};

/// Compares `actual` with the golden file `name` (rewritten when `UPDATE_GOLDEN=1`).
pub fn assert_golden(name: &str, actual: &str) {
    let path = golden_dir().join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden file {} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "golden {} differs\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// `concept` on `backend` over every model and namespace, one series per model (`group_by: [model]`): the query of
/// the tests that walk the whole concept × backend matrix.
pub fn per_model_query(
    concept: Concept,
    backend: Backend,
    stat: Option<Stat>,
    window: Option<PromDuration>,
) -> MetricQuery {
    MetricQuery {
        concept,
        stat,
        models: vec![],
        namespaces: vec![],
        backend: BackendChoice::from_backend(backend),
        filters: vec![],
        group_by: vec!["model".into()],
        legend: None,
        window,
    }
}

/// One translation case: a concept on one backend with one statistic.
pub struct Case {
    pub concept: Concept,
    pub backend: Backend,
    pub stat: Stat,
    pub query: MetricQuery,
}

impl Case {
    pub fn name(&self) -> String {
        format!(
            "{}__{}__{}",
            self.concept.id(),
            self.backend.id(),
            self.stat.id()
        )
    }
}

/// The statistics worth a golden file for a source.
fn stats_for(concept: Concept, source: &Source) -> Vec<Stat> {
    match source {
        Source::Histogram(_) | Source::SumOfHistograms(_) => vec![Stat::Quantile(0.95), Stat::Avg],
        Source::MeanOfCounters { .. } => vec![Stat::Avg],
        Source::Counter(_) | Source::ReasonCounters(_) => vec![Stat::Rate],
        Source::CounterRatio { .. } => vec![Stat::Ratio],
        Source::Gauge(_) if concept.kind() == infermon_core::catalog::ConceptKind::Ratio => {
            vec![Stat::Ratio]
        }
        Source::Gauge(_) => vec![Stat::Current, Stat::Growth],
        Source::GaugeRatio { .. } => vec![Stat::Current],
    }
}

/// Every supported concept × backend × statistic, scoped to one model and one namespace so the golden files
/// show the model filter and the uniform `model` label.
pub fn all_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for &concept in Concept::ALL {
        for backend in Backend::ALL {
            if let Support::Supported { source, .. } = support(concept, backend) {
                for stat in stats_for(concept, &source) {
                    let query = MetricQuery {
                        concept,
                        stat: Some(stat),
                        models: vec!["llama-3".into()],
                        namespaces: vec!["prod".into()],
                        backend: BackendChoice::from_backend(backend),
                        filters: vec![],
                        group_by: vec!["model".into()],
                        legend: None,
                        window: None,
                    };
                    cases.push(Case {
                        concept,
                        backend,
                        stat,
                        query,
                    });
                }
            }
        }
    }
    cases
}
pub mod prom;
