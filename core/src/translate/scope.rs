//! Per-backend selectors: model/namespace/user filters, renamed metrics, and the uniform `model` label.

use super::Context;
use crate::catalog::names::labels;
use crate::catalog::{Backend, ModelSource, Series};
use crate::promql::{Expr, MatchOp, Matcher, Selector};
use crate::query::{FilterOp, Scope};
use std::collections::BTreeSet;

/// Builds the selectors of one backend for one query.
pub(crate) struct Selectors<'a> {
    pub backend: Backend,
    pub ctx: &'a Context,
    scope: Scope<'a>,
    /// The output needs the uniform `model` label (it is grouped by or legend-referenced).
    needs_model: bool,
}

impl<'a> Selectors<'a> {
    pub fn new(backend: Backend, ctx: &'a Context, scope: Scope<'a>, group_by: &[String]) -> Self {
        let needs_model = group_by.iter().any(|l| l == labels::MODEL);
        Selectors {
            backend,
            ctx,
            scope,
            needs_model,
        }
    }

    /// The names of `series` worth querying: all of them when the engine's metric names are unknown, else the
    /// present ones (in preference order).
    pub fn names(&self, series: &Series, suffix: &str) -> Vec<String> {
        let all = series.names.iter().map(|n| format!("{n}{suffix}"));
        match &self.ctx.present_metrics {
            None => all.collect(),
            Some(present) => all.filter(|n| present.contains(n)).collect(),
        }
    }

    fn base_matchers(&self, series: &Series) -> Vec<Matcher> {
        let mut ms: Vec<Matcher> = series
            .matchers
            .iter()
            .map(|(l, v)| Matcher::eq(*l, *v))
            .collect();
        if !self.scope.models.is_empty() {
            ms.push(Matcher::any_of(
                self.model_filter_label(),
                self.scope.models,
            ));
        }
        if !self.scope.namespaces.is_empty() {
            ms.push(Matcher::any_of(labels::NAMESPACE, self.scope.namespaces));
        }
        for f in self.scope.filters {
            let op = match f.op {
                FilterOp::Eq => MatchOp::Eq,
                FilterOp::Ne => MatchOp::Ne,
                FilterOp::Re => MatchOp::Re,
                FilterOp::Nre => MatchOp::Nre,
            };
            ms.push(Matcher::new(f.label.clone(), op, f.value.clone()));
        }
        ms
    }

    fn model_filter_label(&self) -> String {
        match self.backend.model_source() {
            ModelSource::ExposedLabel(l) => l.to_string(),
            ModelSource::TargetLabel => self.ctx.model_label.clone(),
        }
    }

    /// `inner` applied to every present name of `series` (suffixed), each projected onto the uniform `model`
    /// label, combined with `or` so a server exposing both an old and a new name is counted once (`or` matches
    /// label sets ignoring the metric name). `None` when no name is present.
    pub fn each_name(
        &self,
        series: &Series,
        suffix: &str,
        inner: &dyn Fn(Selector) -> Expr,
    ) -> Option<Expr> {
        let exprs: Vec<Expr> = self
            .names(series, suffix)
            .into_iter()
            .map(|n| self.projected(series, &n, inner))
            .collect();
        (!exprs.is_empty()).then(|| Expr::or_all(exprs))
    }

    /// `inner(selector)` with the model label made uniform.
    fn projected(&self, series: &Series, name: &str, inner: &dyn Fn(Selector) -> Expr) -> Expr {
        let sel = Selector::new(name).with_all(self.base_matchers(series));
        if !self.needs_model {
            return inner(sel);
        }
        match self.backend.model_source() {
            ModelSource::ExposedLabel(l) => {
                Expr::label_replace(inner(sel), labels::MODEL, "$1", l, "(.*)")
            }
            ModelSource::TargetLabel => {
                let label = self.ctx.model_label.as_str();
                let relabel = |e: Expr| {
                    if label == labels::MODEL {
                        e
                    } else {
                        Expr::label_replace(e, labels::MODEL, "$1", label, "(.*)")
                    }
                };
                if !self.scope.models.is_empty() || label == labels::JOB {
                    return relabel(inner(sel));
                }
                // Targets without the model label fall back to their job name.
                let labelled = relabel(inner(sel.clone().with(Matcher::ne(label, ""))));
                let unlabelled = Expr::label_replace(
                    inner(sel.with(Matcher::eq(label, ""))),
                    labels::MODEL,
                    "$1",
                    labels::JOB,
                    "(.*)",
                );
                Expr::or_all(vec![labelled, unlabelled])
            }
        }
    }
}

/// The backends a query covers.
pub(super) fn backends_in_scope(scope: &Scope<'_>, ctx: &Context) -> (Vec<Backend>, bool) {
    match scope.backend.backend() {
        Some(b) => (vec![b], true),
        None => match &ctx.backends {
            Some(found) => (found.iter().copied().collect(), false),
            None => (Backend::ALL.to_vec(), false),
        },
    }
}

/// Whether detection says `backend` is present (unknown counts as not known present).
pub(super) fn known_present(ctx: &Context, backend: Backend) -> bool {
    ctx.backends
        .as_ref()
        .map(|b: &BTreeSet<Backend>| b.contains(&backend))
        .unwrap_or(false)
}
