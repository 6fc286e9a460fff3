//! The raw-series expression of one concept on one backend for one statistic: quantiles after `sum by (le, …)`,
//! events-weighted ratios of counters, `deriv` (not `rate`) on gauges, and so on (`docs/promql-notes.md`). Used by
//! the metric translator for every backend in scope and by [`super::recorded`] where a recording rule needs the
//! raw expression it stands for.

use super::scope::Selectors;
use super::TranslateError;
use crate::catalog::names::labels;
use crate::catalog::{Concept, ConceptKind, GaugeAggregation, Histogram, Reason, Series, Source};
use crate::duration::PromDuration;
use crate::promql::{AggOp, BinOp, Expr, Selector};
use crate::query::Stat;
use std::ops::{Add, Div, Mul};

/// Builds the expression of one backend.
pub(crate) struct Build<'a> {
    pub sel: &'a Selectors<'a>,
    pub group_by: &'a [String],
    pub window: PromDuration,
    pub concept: Concept,
}

impl Build<'_> {
    /// `Ok(None)`: none of the source's series exist on the engine.
    pub fn expr(&self, source: &Source, stat: Stat) -> Result<Option<Expr>, TranslateError> {
        let not_applicable = |accepted: &str| TranslateError::StatNotApplicable {
            concept: self.concept,
            stat: stat.id(),
            accepted: accepted.to_string(),
        };
        Ok(match (source, stat) {
            (Source::Histogram(h), Stat::Quantile(q)) => self.quantile(h, q),
            (Source::Histogram(h), Stat::Avg) => self.histogram_mean(h),
            (Source::Histogram(_), _) => return Err(not_applicable("pNN quantiles, avg")),
            (Source::SumOfHistograms(parts), Stat::Quantile(q)) => {
                sum_all(parts.iter().map(|h| self.quantile(h, q)).collect())
            }
            (Source::SumOfHistograms(parts), Stat::Avg) => {
                sum_all(parts.iter().map(|h| self.histogram_mean(h)).collect())
            }
            (Source::SumOfHistograms(_), _) => return Err(not_applicable("pNN quantiles, avg")),
            (
                Source::MeanOfCounters {
                    numerator,
                    denominator,
                },
                Stat::Avg,
            ) => self.ratio(numerator, denominator, false),
            (Source::MeanOfCounters { .. }, _) => {
                return Err(not_applicable(
                    "avg (this backend exposes no distribution, only totals)",
                ))
            }
            (Source::Counter(s), Stat::Rate) => self.rate_sum(s, ""),
            (Source::Counter(_), _) => return Err(not_applicable("rate")),
            (Source::ReasonCounters(list), Stat::Rate) => self.reason_rates(list),
            (Source::ReasonCounters(_), _) => return Err(not_applicable("rate")),
            (
                Source::CounterRatio {
                    numerator,
                    denominator,
                },
                Stat::Ratio,
            ) => self.ratio(numerator, denominator, true),
            (Source::CounterRatio { .. }, _) => return Err(not_applicable("ratio")),
            (Source::Gauge(s), stat) => self.gauge(s, stat).ok_or_else(|| {
                not_applicable(if self.concept.kind() == ConceptKind::Ratio {
                    "ratio"
                } else {
                    "current, avg, max, min, growth"
                })
            })?,
            (
                Source::GaugeRatio {
                    numerator,
                    denominator,
                },
                stat,
            ) => {
                let op = match stat {
                    Stat::Current => self.gauge_agg(),
                    Stat::Max => AggOp::Max,
                    Stat::Min => AggOp::Min,
                    Stat::Avg => AggOp::Avg,
                    _ => return Err(not_applicable("current, avg, max, min")),
                };
                self.gauge_ratio(numerator, denominator, op)
            }
        })
    }

    fn rate(&self) -> impl Fn(Selector) -> Expr + '_ {
        move |s| Expr::range_fn("rate", s, self.window)
    }

    /// `histogram_quantile(q, sum by (le, G) (rate(x_bucket[w])))`: aggregate buckets first, then interpolate.
    fn quantile(&self, h: &Histogram, q: f64) -> Option<Expr> {
        Some(Expr::histogram_quantile(q, self.bucket_rates(h)?))
    }

    /// `sum by (le, G) (rate(x_bucket[w]))`.
    pub fn bucket_rates(&self, h: &Histogram) -> Option<Expr> {
        let mut by = vec![labels::LE.to_string()];
        by.extend(self.group_by.iter().cloned());
        let buckets = self.sel.each_name(&h.series, "_bucket", &self.rate())?;
        Some(Expr::agg(AggOp::Sum, &by, buckets))
    }

    /// `sum(rate(_sum)) / sum(rate(_count))`: aggregate numerator and denominator, then divide.
    fn histogram_mean(&self, h: &Histogram) -> Option<Expr> {
        let sum = self.rate_sum(&h.series, "_sum")?;
        let count = self.rate_sum(&h.series, "_count")?;
        Some(sum.div(count))
    }

    /// `sum by (G) (rate(x[w]))`.
    pub fn rate_sum(&self, s: &Series, suffix: &str) -> Option<Expr> {
        Some(Expr::agg(
            AggOp::Sum,
            self.group_by,
            self.sel.each_name(s, suffix, &self.rate())?,
        ))
    }

    /// Events-weighted ratio of two counters. With `fill_zero`, groups whose numerator has no series (no error
    /// was ever counted) read 0 instead of vanishing; an idle denominator gives no value rather than NaN.
    fn ratio(&self, num: &Series, den: &Series, fill_zero: bool) -> Option<Expr> {
        let d = self.rate_sum(den, "")?;
        let n = match (self.rate_sum(num, ""), fill_zero) {
            (Some(n), true) => Expr::binary(BinOp::Or, n, Expr::Number(0.0).mul(d.clone())),
            (Some(n), false) => n,
            (None, true) => Expr::Number(0.0).mul(d.clone()),
            (None, false) => return None,
        };
        Some(n.div(Expr::binary(BinOp::Gt, d, Expr::Number(0.0))))
    }

    /// Finished requests per reason: every counter's samples get the uniform `reason` label.
    fn reason_rates(&self, list: &[(Series, Reason)]) -> Option<Expr> {
        let parts: Vec<Expr> = list
            .iter()
            .filter_map(|(s, reason)| {
                let e = self.sel.each_name(s, "", &self.rate())?;
                Some(match reason {
                    Reason::Label(l) => Expr::label_replace(e, labels::REASON, "$1", l, "(.*)"),
                    Reason::Fixed(v) => Expr::label_replace(e, labels::REASON, v, "", ""),
                })
            })
            .collect();
        (!parts.is_empty()).then(|| Expr::agg(AggOp::Sum, self.group_by, Expr::or_all(parts)))
    }

    fn gauge_agg(&self) -> AggOp {
        match self.concept.gauge_aggregation() {
            GaugeAggregation::Sum => AggOp::Sum,
            GaugeAggregation::Max => AggOp::Max,
            GaugeAggregation::Avg => AggOp::Avg,
        }
    }

    /// Gauges: aggregate the level across replicas; growth is `deriv` (a gauge is never `rate`d).
    fn gauge(&self, s: &Series, stat: Stat) -> Option<Option<Expr>> {
        let op = match stat {
            Stat::Current => self.gauge_agg(),
            Stat::Ratio if self.concept.kind() == ConceptKind::Ratio => AggOp::Avg,
            Stat::Max => AggOp::Max,
            Stat::Min => AggOp::Min,
            Stat::Avg => AggOp::Avg,
            Stat::Growth => {
                let deriv = move |sel| Expr::range_fn("deriv", sel, self.window);
                return Some(
                    self.sel
                        .each_name(s, "", &deriv)
                        .map(|e| Expr::agg(AggOp::Sum, self.group_by, e)),
                );
            }
            _ => return None,
        };
        Some(
            self.sel
                .each_name(s, "", &Expr::vector)
                .map(|e| Expr::agg(op, self.group_by, e)),
        )
    }

    /// A per-replica ratio of two gauges (label sets match ignoring the metric name), then aggregated.
    fn gauge_ratio(&self, num: &Series, den: &Series, op: AggOp) -> Option<Expr> {
        let den_name = self.sel.names(den, "").into_iter().next()?;
        let per_replica = move |sel: Selector| {
            let den_sel = Selector {
                metric: den_name.clone(),
                matchers: sel.matchers.clone(),
            };
            Expr::vector(sel).div(Expr::vector(den_sel))
        };
        Some(Expr::agg(
            op,
            self.group_by,
            self.sel.each_name(num, "", &per_replica)?,
        ))
    }
}

fn sum_all(parts: Vec<Option<Expr>>) -> Option<Expr> {
    let parts: Option<Vec<Expr>> = parts.into_iter().collect();
    let mut parts = parts?;
    let first = parts.remove(0);
    Some(parts.into_iter().fold(first, Expr::add))
}
