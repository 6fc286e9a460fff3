//! SLO rules from a spec: SLI error ratios over the alert windows and the whole period (events-weighted),
//! error budget remaining, and multi-window multi-burn-rate alerts (SRE Workbook table 5-8 plus its 1d/2h ticket
//! pair, as Sloth generates them for 30 days).
//!
//! Every series carries `namespace`, `model` and `slo`; the window is in the record name, never a label, so the
//! long- and short-window sides of an alert match one-to-one.

use super::alerts::{annotations, AlertOptions};
use super::model::{Rule, RuleFile, RuleGroup};
use super::spec::{Slo, SloSpec};
use crate::catalog::Backend;
use crate::duration::PromDuration;
use crate::promql::format_number;
use crate::query::{BackendChoice, Query, SloQuery, SloView};
use crate::translate::{translate, Context, TranslateError};
use std::collections::BTreeMap;

/// The SLO records' names live with the translator's other record names (it reads them); re-exported here, where
/// the rules that write them are generated.
pub use crate::translate::recorded::{
    error_ratio_record, error_ratio_record_window, BUDGET_RECORD, ERROR_RATIO_RECORD_PREFIX,
    SLI_WINDOWS, SLO_LABEL,
};

/// A burn-rate alert: both windows above `factor × (1 - objective)`.
pub struct BurnWindow {
    pub severity: &'static str,
    pub long: &'static str,
    pub short: &'static str,
    pub factor: f64,
}

pub const BURN_WINDOWS: [BurnWindow; 4] = [
    BurnWindow {
        severity: "page",
        long: "1h",
        short: "5m",
        factor: 14.4,
    },
    BurnWindow {
        severity: "page",
        long: "6h",
        short: "30m",
        factor: 6.0,
    },
    BurnWindow {
        severity: "ticket",
        long: "1d",
        short: "2h",
        factor: 3.0,
    },
    BurnWindow {
        severity: "ticket",
        long: "3d",
        short: "6h",
        factor: 1.0,
    },
];

/// A burn factor can only fire if `factor × (1 - objective) < 1`: an error ratio cannot exceed 1.
pub fn can_fire(factor: f64, objective: f64) -> bool {
    factor * (1.0 - objective) < 1.0
}

fn budget(objective: f64) -> f64 {
    ((1.0 - objective) * 1e12).round() / 1e12
}

/// The error ratio of `slo` over `window`, events-weighted: `1 - good/total` from increases over the window.
fn error_ratio_expr(slo: &Slo, window: PromDuration) -> Result<String, TranslateError> {
    let backends: Vec<Backend> = if slo.backends.is_empty() {
        Backend::ALL.to_vec()
    } else {
        slo.backends.clone()
    };
    // Backends named in the spec are "known present": a threshold that is no bucket boundary of one of them is
    // refused with the nearest boundaries, never silently dropped.
    let ctx = Context {
        backends: Some(backends.iter().copied().collect()),
        ..Context::default()
    };
    let query = SloQuery {
        slo: None,
        sli: slo.sli,
        threshold: slo.threshold,
        objective: slo.objective,
        window,
        view: SloView::Attainment,
        burn_window: None,
        interpolate: false,
        models: slo.models.clone(),
        namespaces: vec![],
        backend: match backends.as_slice() {
            [one] => BackendChoice::from_backend(*one),
            _ => BackendChoice::Auto,
        },
        filters: vec![],
        group_by: vec!["namespace".into(), "model".into()],
        legend: None,
    };
    let t = translate(&Query::Slo(query), &ctx)?;
    let attainment = t
        .targets
        .into_iter()
        .next()
        .map(|t| t.expr)
        .ok_or_else(|| {
            TranslateError::Slo(format!(
                "SLO {}: no backend among {backends:?} can measure it",
                slo.name
            ))
        })?;
    Ok(format!("1 - (\n{attainment}\n)"))
}

/// Why rules could not be generated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("SLO {slo}: {source}")]
pub struct SloRuleError {
    pub slo: String,
    #[source]
    pub source: Box<TranslateError>,
}

pub fn slo_rules(spec: &SloSpec, opts: &AlertOptions) -> Result<RuleFile, SloRuleError> {
    let mut groups = Vec::new();
    for slo in &spec.slos {
        let err = |source| SloRuleError {
            slo: slo.name.clone(),
            source: Box::new(source),
        };
        let labels = BTreeMap::from([(SLO_LABEL.to_string(), slo.name.clone())]);
        let period = slo.window.to_string();

        // 1. SLI error ratios per window, and over the whole period.
        let mut sli_rules = Vec::new();
        let mut windows: Vec<String> = SLI_WINDOWS.iter().map(|w| w.to_string()).collect();
        if !windows.contains(&period) {
            windows.push(period.clone());
        }
        for w in &windows {
            let expr =
                error_ratio_expr(slo, w.parse().expect("window literals parse")).map_err(err)?;
            sli_rules.push(Rule::Record {
                record: error_ratio_record(w),
                expr,
                labels: labels.clone(),
            });
        }
        groups.push(RuleGroup {
            name: format!("infermon-slo-{}-sli", slo.name),
            interval: None,
            rules: sli_rules,
        });

        // 2. Budget remaining and burn-rate alerts.
        let b = budget(slo.objective);
        let sel = |w: &str| format!("{}{{slo=\"{}\"}}", error_ratio_record(w), slo.name);
        let mut meta = vec![Rule::Record {
            record: BUDGET_RECORD.into(),
            expr: format!("1 - {} / {}", sel(&period), format_number(b)),
            labels: labels.clone(),
        }];
        for severity in ["page", "ticket"] {
            let conditions: Vec<String> = BURN_WINDOWS
                .iter()
                .filter(|w| w.severity == severity && can_fire(w.factor, slo.objective))
                .map(|w| {
                    let threshold = format_number(((w.factor * b) * 1e12).round() / 1e12);
                    format!(
                        "(\n  {} > {threshold}\nand\n  {} > {threshold}\n)",
                        sel(w.long),
                        sel(w.short)
                    )
                })
                .collect();
            if conditions.is_empty() {
                continue;
            }
            let alert = "InferenceSLOErrorBudgetBurn";
            let mut alert_labels = labels.clone();
            alert_labels.insert(
                "severity".into(),
                if severity == "page" {
                    "critical"
                } else {
                    "warning"
                }
                .into(),
            );
            alert_labels.insert("slo_severity".into(), severity.into());
            meta.push(Rule::Alert {
                alert: alert.into(),
                expr: conditions.join("\nor\n"),
                for_: if severity == "page" { "2m".into() } else { "15m".into() },
                labels: alert_labels,
                annotations: annotations(
                    opts,
                    alert,
                    &format!("{{{{ $labels.model }}}}: SLO {} burning its error budget ({severity})", slo.name),
                    &format!(
                        "{} ({}) is failing for {{{{ $labels.model }}}} in {{{{ $labels.namespace }}}} fast enough \
                         to spend its {} error budget early; the error ratio over the long window is {{{{ $value | humanizePercentage }}}} against a budget of {} %.",
                        slo.name,
                        if slo.description.is_empty() { "SLO" } else { &slo.description },
                        period,
                        format_number((b * 100.0 * 1e9).round() / 1e9),
                    ),
                ),
            });
        }
        groups.push(RuleGroup {
            name: format!("infermon-slo-{}-alerts", slo.name),
            interval: None,
            rules: meta,
        });
    }
    Ok(RuleFile { groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burn_factors_that_cannot_fire_are_skipped() {
        assert!(can_fire(14.4, 0.99));
        assert!(!can_fire(14.4, 0.9), "14.4 × 10 % > 100 %");
        assert!(can_fire(6.0, 0.9));
    }

    #[test]
    fn a_tgi_latency_slo_off_the_boundaries_is_refused_with_the_nearest() {
        let mut spec = super::super::spec::default_spec();
        spec.slos[0].backends = vec![Backend::Vllm, Backend::Tgi];
        let e = slo_rules(&spec, &AlertOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("e2e-latency-5s") && e.contains("3.787675244106352 and 5.681512866159528"),
            "{e}"
        );
    }
}
