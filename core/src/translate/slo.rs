//! SLO queries: attainment, error budget remaining and burn rate, always events-weighted.
//!
//! A latency SLI counts the requests in the threshold's bucket (`le`) against all requests (`_count`); the
//! threshold must be a real bucket boundary (else the bucket selector matches nothing and the SLI silently
//! disappears — slo-rules.md §2(f)). Error budget remaining is `1 - error_ratio / (1 - objective)`
//! (SRE Workbook; Sloth and Pyrra use the same shape), with the error ratio taken as a ratio of event counts
//! over the whole window, never as an average of ratios.

use super::scope::{backends_in_scope, known_present, Selectors};
use super::{default_legend, error_budget, Context, Severity, Target, TranslateError, Translation};
use crate::catalog::buckets::{same_bound, BucketSet};
use crate::catalog::{support, Backend, Concept, Fidelity, Histogram, Source, Support};
use crate::duration::PromDuration;
use crate::promql::escape::regex_any_of;
use crate::promql::{AggOp, BinOp, Expr, MatchOp, Matcher, Selector};
use crate::query::{SloQuery, SloView};
use std::ops::{Add, Div, Mul, Sub};

/// The `le` label values a boundary may have: as exposed, and as Prometheus 3 normalises classic-histogram
/// `le` values to float form (`5` → `5.0`), so one matcher works on both.
pub fn le_spellings(exposed: &str) -> Vec<String> {
    let mut forms = vec![exposed.to_string()];
    if let Ok(v) = exposed.parse::<f64>() {
        let shortest = format!("{v}");
        let float_form = if v.fract() == 0.0 && v.abs() < 1e15 {
            format!("{v:.1}")
        } else {
            shortest.clone()
        };
        for f in [shortest, float_form] {
            if !forms.contains(&f) {
                forms.push(f);
            }
        }
    }
    forms
}

/// A matcher on `le` for the boundary `exposed`.
pub fn le_matcher(exposed: &str) -> Matcher {
    let forms = le_spellings(exposed);
    if forms.len() == 1 {
        Matcher::eq(crate::catalog::names::labels::LE, exposed)
    } else {
        Matcher::new(
            crate::catalog::names::labels::LE,
            MatchOp::Re,
            regex_any_of(&forms),
        )
    }
}

/// How the "good" bucket of a threshold is read from one bucket layout.
#[derive(Debug, Clone, PartialEq)]
pub enum ThresholdBucket {
    /// The threshold is a boundary: its exposed `le` string.
    Exact(&'static str),
    /// Between two boundaries: interpolate linearly (`fraction` of the way from `below` to `above`).
    Interpolated {
        below: &'static str,
        above: &'static str,
        fraction: f64,
    },
}

/// Finds the threshold in `set`, or explains which boundaries are nearest.
pub fn threshold_bucket(
    threshold: f64,
    set: &BucketSet,
    backend: Backend,
    interpolate: bool,
) -> Result<ThresholdBucket, TranslateError> {
    if let Some(le) = set.exposed(threshold) {
        return Ok(ThresholdBucket::Exact(le));
    }
    let (below, above) = set.neighbours(threshold);
    let find = |v: Option<f64>| {
        v.and_then(|v| {
            set.le
                .iter()
                .copied()
                .find(|s| same_bound(s.parse().unwrap(), v))
        })
    };
    match (interpolate, find(below), find(above), below, above) {
        (true, Some(lo), Some(hi), Some(b), Some(a)) => Ok(ThresholdBucket::Interpolated {
            below: lo,
            above: hi,
            fraction: (threshold - b) / (a - b),
        }),
        _ => Err(TranslateError::ThresholdNotBoundary {
            threshold,
            backend,
            generation: set.generation.to_string(),
            below: below
                .map(|v| format!("{v}"))
                .unwrap_or_else(|| "(none)".into()),
            above: above
                .map(|v| format!("{v}"))
                .unwrap_or_else(|| "(none)".into()),
            hint: if backend == Backend::Tgi {
                "; TGI's buckets are 0.0001 × 1.5^k seconds, so no round number is a boundary"
                    .into()
            } else {
                String::new()
            },
        }),
    }
}

pub(super) fn translate(q: &SloQuery, ctx: &Context) -> Result<Translation, TranslateError> {
    let mut out = Translation {
        targets: Vec::new(),
        notices: Vec::new(),
        approximate: false,
    };
    let (backends, explicit) = backends_in_scope(&q.scope(), ctx);
    let window = match q.view {
        SloView::BurnRate => q.burn_window.unwrap_or(PromDuration::from_secs(3600)),
        _ => q.window,
    };
    let mut attainments = Vec::new();
    let mut reasons = Vec::new();
    for backend in backends {
        let cell = support(q.sli, backend);
        let (source, fidelity) = match cell {
            Support::Supported {
                source, fidelity, ..
            } => (source, fidelity),
            Support::Unsupported(reason) => {
                if explicit {
                    return Err(TranslateError::Unsupported {
                        concept: q.sli,
                        backend,
                        reason: reason.into(),
                    });
                }
                if known_present(ctx, backend) {
                    out.notice(
                        Severity::Info,
                        format!("No {} SLO on {backend}: {reason}.", q.sli.label()),
                    );
                }
                reasons.push(format!("{backend}: {reason}"));
                continue;
            }
        };
        let sel = Selectors::new(backend, ctx, q.scope(), &q.group_by);
        let sli = Sli {
            sel: &sel,
            group_by: &q.group_by,
            window,
        };
        let good_ratio = match (q.sli, source) {
            (
                Concept::ErrorRatio,
                Source::CounterRatio {
                    numerator,
                    denominator,
                },
            ) => {
                let bad = sli.increase_sum(&numerator, "");
                let total = sli.increase_sum(&denominator, "");
                match (bad, total) {
                    (bad, Some(total)) => {
                        let bad = bad.map(|b| {
                            Expr::binary(BinOp::Or, b, Expr::Number(0.0).mul(total.clone()))
                        });
                        let bad = bad.unwrap_or_else(|| Expr::Number(0.0).mul(total.clone()));
                        Some(Expr::Number(1.0).sub(bad.div(positive(total))))
                    }
                    _ => None,
                }
            }
            (_, Source::Histogram(h)) => {
                let threshold = q
                    .threshold
                    .expect("validated: latency SLIs have a threshold");
                let buckets: Result<Vec<_>, _> = h
                    .buckets
                    .iter()
                    .map(|set| threshold_bucket(threshold, set, backend, q.interpolate))
                    .collect();
                let bucket = match buckets {
                    Ok(mut b) => b.remove(0),
                    // A backend that is only possibly present (detection unknown) is skipped, with the reason.
                    Err(e) if !explicit && !known_present(ctx, backend) => {
                        out.notice(Severity::Info, format!("Not computed for {backend}: {e}."));
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                if let ThresholdBucket::Interpolated { .. } = bucket {
                    out.approximate = true;
                    out.notice(
                        Severity::Info,
                        format!(
                            "Approximation for {backend}: {threshold} s is not a bucket boundary; the share below it \
                             is interpolated linearly between the neighbouring buckets."
                        ),
                    );
                }
                sli.latency_good_ratio(&h, &bucket)
            }
            (_, _) => {
                let reason = "an SLO needs a single histogram (or error counters), and this backend only approximates \
                              the SLI from several series";
                if explicit {
                    return Err(TranslateError::Unsupported {
                        concept: q.sli,
                        backend,
                        reason: reason.into(),
                    });
                }
                out.notice(
                    Severity::Info,
                    format!("No {} SLO on {backend}: {reason}.", q.sli.label()),
                );
                reasons.push(format!("{backend}: {reason}"));
                continue;
            }
        };
        if let Fidelity::Approximate(note) = fidelity {
            out.approximate = true;
            out.notice(
                Severity::Info,
                format!("Approximation for {backend}: {note}"),
            );
        }
        match good_ratio {
            Some(e) => attainments.push(e),
            None => out.notice(
                Severity::Warning,
                format!("No {} series found on {backend} servers.", q.sli.label()),
            ),
        }
    }
    if attainments.is_empty() {
        if out.notices.is_empty() {
            return Err(TranslateError::UnsupportedEverywhere {
                concept: q.sli,
                reasons: reasons.join("; "),
            });
        }
        return Ok(out);
    }
    let attainment = Expr::or_all(attainments);
    let budget = error_budget(q.objective);
    let unit = match q.view {
        SloView::Attainment | SloView::BudgetRemaining => "percentunit",
        SloView::BurnRate => "x",
    };
    // With infermon's rules loaded, a query naming its SLO reads the SLO's recorded error ratio instead (same
    // answer, one sample per series and step); the notices about backends and approximations above still apply.
    let recorded = match super::recorded::try_recorded_slo(q, ctx) {
        Ok(expr) => expr,
        Err((severity, reason)) => {
            out.notice(severity, reason);
            None
        }
    };
    let (expr, unit) = match (recorded, q.view) {
        (Some(expr), _) => (expr, unit),
        (None, SloView::Attainment) => (attainment, unit),
        // 1 - (1 - attainment) / (1 - objective)
        (None, SloView::BudgetRemaining) => (
            Expr::Number(1.0).sub(Expr::Number(1.0).sub(attainment).div(Expr::Number(budget))),
            unit,
        ),
        (None, SloView::BurnRate) => (
            Expr::Number(1.0).sub(attainment).div(Expr::Number(budget)),
            unit,
        ),
    };
    out.targets.push(Target {
        key: "value".into(),
        expr: expr.to_string(),
        legend: q
            .legend
            .clone()
            .unwrap_or_else(|| default_legend(&q.group_by)),
        unit: unit.into(),
        instant: false,
    });
    Ok(out)
}

/// `expr > 0`: an idle window yields no value instead of NaN.
fn positive(e: Expr) -> Expr {
    Expr::binary(BinOp::Gt, e, Expr::Number(0.0))
}

struct Sli<'a> {
    sel: &'a Selectors<'a>,
    group_by: &'a [String],
    window: PromDuration,
}

impl Sli<'_> {
    fn increase_sum_with(
        &self,
        series: &crate::catalog::Series,
        suffix: &str,
        extra: Option<Matcher>,
    ) -> Option<Expr> {
        let window = self.window;
        let inner = move |s: Selector| {
            let s = match &extra {
                Some(m) => s.with(m.clone()),
                None => s,
            };
            Expr::range_fn("increase", s, window)
        };
        Some(Expr::agg(
            AggOp::Sum,
            self.group_by,
            self.sel.each_name(series, suffix, &inner)?,
        ))
    }

    fn increase_sum(&self, series: &crate::catalog::Series, suffix: &str) -> Option<Expr> {
        self.increase_sum_with(series, suffix, None)
    }

    /// Good requests (at or below the threshold bucket) over all requests.
    fn latency_good_ratio(&self, h: &Histogram, bucket: &ThresholdBucket) -> Option<Expr> {
        let total = self.increase_sum(&h.series, "_count")?;
        let bucket_at =
            |le: &str| self.increase_sum_with(&h.series, "_bucket", Some(le_matcher(le)));
        let good = match bucket {
            ThresholdBucket::Exact(le) => bucket_at(le)?,
            ThresholdBucket::Interpolated {
                below,
                above,
                fraction,
            } => {
                let lo = bucket_at(below)?;
                let hi = bucket_at(above)?;
                lo.clone().add(hi.sub(lo).mul(Expr::Number(*fraction)))
            }
        };
        Some(good.div(positive(total)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::buckets::{TGI_DURATION, VLLM_REQUEST_LATENCY};

    #[test]
    fn le_spellings_cover_prometheus_3_normalisation() {
        assert_eq!(le_spellings("5.0"), vec!["5.0", "5"]);
        assert_eq!(le_spellings("0.5"), vec!["0.5"]);
        assert_eq!(le_matcher("5.0").to_string(), r#"le=~"5\\.0|5""#);
    }

    #[test]
    fn threshold_off_the_boundaries_names_the_nearest() {
        let e = threshold_bucket(5.0, &TGI_DURATION, Backend::Tgi, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("3.787675244106352 and 5.681512866159528"), "{e}");
        assert!(e.contains("0.0001 × 1.5^k"), "{e}");
        assert_eq!(
            threshold_bucket(5.0, &VLLM_REQUEST_LATENCY, Backend::Vllm, false).unwrap(),
            ThresholdBucket::Exact("5.0")
        );
        let e = threshold_bucket(3.0, &VLLM_REQUEST_LATENCY, Backend::Vllm, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("2.5 and 5"), "{e}");
    }
}
