//! Metric queries: one concept, one statistic, per model (or any grouping).

use super::build::Build;
use super::scope::{backends_in_scope, known_present, Selectors};
use super::{default_legend, default_stat, Context, Severity, Target, TranslateError, Translation};
use crate::catalog::names::labels;
use crate::catalog::{support, Concept, Fidelity, Support};
use crate::promql::Expr;
use crate::query::{MetricQuery, Stat};

/// Translates a metric query into one expression (backends combined with `or`).
pub(super) fn translate(q: &MetricQuery, ctx: &Context) -> Result<Translation, TranslateError> {
    let stat = q.stat.unwrap_or_else(|| default_stat(q.concept));
    let window = q.window.unwrap_or(ctx.rate_window);
    let mut out = Translation {
        targets: Vec::new(),
        notices: Vec::new(),
        approximate: false,
    };
    let (backends, explicit) = backends_in_scope(&q.scope(), ctx);
    let mut group_by = q.group_by.clone();
    if q.concept == Concept::FinishedRequests && !group_by.iter().any(|l| l == labels::REASON) {
        group_by.push(labels::REASON.to_string());
    }

    let mut exprs = Vec::new();
    let mut unsupported = Vec::new();
    let mut first_error = None;
    for backend in backends {
        let (source, fidelity, requires) = match support(q.concept, backend) {
            Support::Unsupported(reason) => {
                if explicit {
                    return Err(TranslateError::Unsupported {
                        concept: q.concept,
                        backend,
                        reason: reason.to_string(),
                    });
                }
                if known_present(ctx, backend) {
                    out.notice(
                        Severity::Info,
                        format!("Not available on {backend}: {reason}."),
                    );
                }
                unsupported.push(format!("{backend}: {reason}"));
                continue;
            }
            Support::Supported {
                source,
                fidelity,
                requires,
            } => (source, fidelity, requires),
        };
        let sel = Selectors::new(backend, ctx, q.scope(), &group_by);
        let build = Build {
            sel: &sel,
            group_by: &group_by,
            window,
            concept: q.concept,
        };
        let built = match build.expr(&source, stat) {
            Ok(built) => built,
            Err(e) if explicit => return Err(e),
            // One backend of several cannot compute this statistic (e.g. a quantile from llama.cpp's totals):
            // say so, and answer from the others.
            Err(e) => {
                if known_present(ctx, backend) {
                    out.notice(Severity::Info, format!("Not available on {backend}: {e}."));
                }
                first_error.get_or_insert(e);
                continue;
            }
        };
        match built {
            Some(e) => {
                if let Fidelity::Approximate(note) = fidelity {
                    out.approximate = true;
                    out.notice(
                        Severity::Info,
                        format!("Approximation for {backend}: {note}"),
                    );
                }
                exprs.push(e);
            }
            None => {
                let why = requires
                    .map(|r| format!(" (it needs {r})"))
                    .unwrap_or_default();
                out.notice(
                    Severity::Warning,
                    format!(
                        "No {} series found on {backend} servers{why}.",
                        q.concept.label()
                    ),
                );
            }
        }
    }
    if exprs.is_empty() && out.notices.is_empty() {
        if let Some(e) = first_error {
            return Err(e);
        }
        return Err(TranslateError::UnsupportedEverywhere {
            concept: q.concept,
            reasons: unsupported.join("; "),
        });
    }
    if !exprs.is_empty() {
        // With infermon's recording rules loaded, read the recorded series instead (same answer, a fraction of the
        // samples); the notices about backends and approximations above still apply.
        let expr = super::recorded::try_recorded(q, stat, ctx)
            .unwrap_or_else(|| Expr::or_all(exprs).to_string());
        out.targets.push(Target {
            key: "value".into(),
            expr,
            legend: q
                .legend
                .clone()
                .unwrap_or_else(|| default_legend(&q.group_by)),
            unit: unit_for(q.concept, stat),
            instant: false,
        });
    }
    Ok(out)
}

fn unit_for(concept: Concept, stat: Stat) -> String {
    match stat {
        Stat::Growth => concept.growth_unit().to_string(),
        _ => concept.unit().to_string(),
    }
}
