//! A small typed PromQL builder.
//!
//! Queries are built as an expression tree and printed once, so label values are always escaped (see [`escape`]),
//! parentheses are always right, and golden files stay readable. Only the PromQL that infermon generates is
//! modelled; it is not a parser.

pub mod escape;

use crate::duration::PromDuration;
use std::fmt::{self, Display, Formatter};

/// A label matcher operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Eq,
    Ne,
    Re,
    Nre,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Eq => "=",
            MatchOp::Ne => "!=",
            MatchOp::Re => "=~",
            MatchOp::Nre => "!~",
        }
    }
}

/// One label matcher. `value` is the raw value (for `=~`/`!~`: the RE2 pattern); quoting happens when printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    pub label: String,
    pub op: MatchOp,
    pub value: String,
}

impl Matcher {
    pub fn new(label: impl Into<String>, op: MatchOp, value: impl Into<String>) -> Self {
        Matcher {
            label: label.into(),
            op,
            value: value.into(),
        }
    }
    pub fn eq(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(label, MatchOp::Eq, value)
    }
    pub fn ne(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(label, MatchOp::Ne, value)
    }
    /// Matches exactly one of `values`, taken literally (regex metacharacters are quoted).
    pub fn any_of<S: AsRef<str>>(label: impl Into<String>, values: &[S]) -> Self {
        match values {
            [one] => Self::eq(label, one.as_ref()),
            _ => Self::new(label, MatchOp::Re, escape::regex_any_of(values)),
        }
    }
}

impl Display for Matcher {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}",
            self.label,
            self.op.as_str(),
            escape::quote(&self.value)
        )
    }
}

/// An instant-vector selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub metric: String,
    pub matchers: Vec<Matcher>,
}

impl Selector {
    pub fn new(metric: impl Into<String>) -> Self {
        Selector {
            metric: metric.into(),
            matchers: Vec::new(),
        }
    }
    pub fn with(mut self, m: Matcher) -> Self {
        self.matchers.push(m);
        self
    }
    pub fn with_all(mut self, ms: impl IntoIterator<Item = Matcher>) -> Self {
        self.matchers.extend(ms);
        self
    }
}

impl Display for Selector {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.metric)?;
        if !self.matchers.is_empty() {
            let parts: Vec<String> = self.matchers.iter().map(ToString::to_string).collect();
            write!(f, "{{{}}}", parts.join(", "))?;
        }
        Ok(())
    }
}

/// Aggregation operators infermon uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggOp {
    Sum,
    Max,
    Min,
    Avg,
    Count,
    Group,
}

impl AggOp {
    pub fn as_str(self) -> &'static str {
        match self {
            AggOp::Sum => "sum",
            AggOp::Max => "max",
            AggOp::Min => "min",
            AggOp::Avg => "avg",
            AggOp::Count => "count",
            AggOp::Group => "group",
        }
    }
}

/// Binary operators infermon uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Gt,
    Lt,
    Ge,
    Le,
    And,
    Or,
    Unless,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Gt => ">",
            BinOp::Lt => "<",
            BinOp::Ge => ">=",
            BinOp::Le => "<=",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Unless => "unless",
        }
    }
}

/// `on (…)` / `ignoring (…)` with optional `group_left`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorMatching {
    pub on: bool,
    pub labels: Vec<String>,
    pub group_left: bool,
}

/// A PromQL expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Vector(Selector),
    /// A range-vector selector `sel[window]`.
    Range(Selector, PromDuration),
    /// A subquery `expr[range:step]`.
    Subquery(Box<Expr>, PromDuration, Option<PromDuration>),
    Call(&'static str, Vec<Expr>),
    Agg {
        op: AggOp,
        by: Vec<String>,
        expr: Box<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        matching: Option<VectorMatching>,
    },
    Number(f64),
    Str(String),
}

impl Expr {
    pub fn vector(sel: Selector) -> Expr {
        Expr::Vector(sel)
    }
    pub fn range(sel: Selector, window: PromDuration) -> Expr {
        Expr::Range(sel, window)
    }
    pub fn call(func: &'static str, args: Vec<Expr>) -> Expr {
        Expr::Call(func, args)
    }
    /// `func(sel[window])`, e.g. `rate(x[5m])`.
    pub fn range_fn(func: &'static str, sel: Selector, window: PromDuration) -> Expr {
        Expr::call(func, vec![Expr::range(sel, window)])
    }
    pub fn agg(op: AggOp, by: &[impl AsRef<str>], expr: Expr) -> Expr {
        Expr::Agg {
            op,
            by: by.iter().map(|s| s.as_ref().to_string()).collect(),
            expr: Box::new(expr),
        }
    }
    pub fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
        Expr::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
            matching: None,
        }
    }
    pub fn binary_on(op: BinOp, lhs: Expr, rhs: Expr, on: &[impl AsRef<str>]) -> Expr {
        Expr::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
            matching: Some(VectorMatching {
                on: true,
                labels: on.iter().map(|s| s.as_ref().to_string()).collect(),
                group_left: false,
            }),
        }
    }
    /// `lhs or rhs` over a non-empty list (left to right).
    pub fn or_all(mut exprs: Vec<Expr>) -> Expr {
        let first = exprs.remove(0);
        exprs
            .into_iter()
            .fold(first, |acc, e| Expr::binary(BinOp::Or, acc, e))
    }
    /// `histogram_quantile(q, buckets)`.
    pub fn histogram_quantile(q: f64, buckets: Expr) -> Expr {
        Expr::call("histogram_quantile", vec![Expr::Number(q), buckets])
    }
    /// `label_replace(v, dst, replacement, src, regex)`.
    pub fn label_replace(v: Expr, dst: &str, replacement: &str, src: &str, regex: &str) -> Expr {
        Expr::call(
            "label_replace",
            vec![
                v,
                Expr::Str(dst.to_string()),
                Expr::Str(replacement.to_string()),
                Expr::Str(src.to_string()),
                Expr::Str(regex.to_string()),
            ],
        )
    }

    fn is_binary(&self) -> bool {
        matches!(self, Expr::Binary { .. })
    }
}

macro_rules! arithmetic {
    ($($trait:ident $method:ident $op:ident),*) => {$(
        impl std::ops::$trait for Expr {
            type Output = Expr;
            fn $method(self, rhs: Expr) -> Expr {
                Expr::binary(BinOp::$op, self, rhs)
            }
        }
    )*};
}
arithmetic!(Add add Add, Sub sub Sub, Mul mul Mul, Div div Div);

/// Shortest round-trip form; Prometheus accepts `NaN`, `Inf`, `-Inf`.
pub fn format_number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Vector(sel) => write!(f, "{sel}"),
            Expr::Range(sel, w) => write!(f, "{sel}[{w}]"),
            Expr::Subquery(e, range, step) => match step {
                Some(s) => write!(f, "({e})[{range}:{s}]"),
                None => write!(f, "({e})[{range}:]"),
            },
            Expr::Call(func, args) => {
                let parts: Vec<String> = args.iter().map(ToString::to_string).collect();
                write!(f, "{func}({})", parts.join(", "))
            }
            Expr::Agg { op, by, expr } => {
                if by.is_empty() {
                    write!(f, "{} ({expr})", op.as_str())
                } else {
                    write!(f, "{} by ({}) ({expr})", op.as_str(), by.join(", "))
                }
            }
            Expr::Binary {
                op,
                lhs,
                rhs,
                matching,
            } => {
                let side = |e: &Expr| {
                    if e.is_binary() {
                        format!("({e})")
                    } else {
                        e.to_string()
                    }
                };
                write!(f, "{} {}", side(lhs), op.as_str())?;
                if let Some(m) = matching {
                    write!(
                        f,
                        " {} ({})",
                        if m.on { "on" } else { "ignoring" },
                        m.labels.join(", ")
                    )?;
                    if m.group_left {
                        f.write_str(" group_left")?;
                    }
                }
                write!(f, " {}", side(rhs))
            }
            Expr::Number(v) => f.write_str(&format_number(*v)),
            Expr::Str(s) => f.write_str(&escape::quote(s)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_a_quantile_with_grouping_and_escaped_matchers() {
        let sel = Selector::new("vllm:time_to_first_token_seconds_bucket")
            .with(Matcher::any_of("model_name", &["a\"b", "c.*"]));
        let e = Expr::histogram_quantile(
            0.95,
            Expr::agg(
                AggOp::Sum,
                &["le", "model"],
                Expr::range_fn("rate", sel, PromDuration::from_secs(300)),
            ),
        );
        assert_eq!(
            e.to_string(),
            r#"histogram_quantile(0.95, sum by (le, model) (rate(vllm:time_to_first_token_seconds_bucket{model_name=~"a\"b|c\\.\\*"}[5m])))"#
        );
    }

    #[test]
    fn nested_binaries_are_parenthesised() {
        let a = Expr::vector(Selector::new("a"));
        let b = Expr::vector(Selector::new("b"));
        let c = Expr::vector(Selector::new("c"));
        assert_eq!((a / (b + c)).to_string(), "a / (b + c)");
    }
}
