//! Routing: a tree of routes with Alertmanager-style label matchers (`=`, `!=`, `=~`, `!~`) and `continue`.
//!
//! A notification is routed on its group's labels (`commonLabels` ∪ `groupLabels`): labels that differ between the
//! alerts of one group cannot select a receiver for the group. Pure functions; no IO here.

use std::fmt;

use regex::Regex;
use serde::{Deserialize, Deserializer};

use crate::payload::Labels;

/// Comparison of a [`Matcher`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Eq,
    NotEq,
    Re,
    NotRe,
}

/// One label matcher, written like Alertmanager's: `severity="critical"`, `model=~"llama.*"`.
#[derive(Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    /// Anchored like Alertmanager's and Prometheus' regex matchers.
    regex: Option<Regex>,
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            MatchOp::Eq => "=",
            MatchOp::NotEq => "!=",
            MatchOp::Re => "=~",
            MatchOp::NotRe => "!~",
        };
        write!(f, "{}{}{:?}", self.name, op, self.value)
    }
}

/// Why a matcher string was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MatcherError {
    #[error("matcher {0:?} has no operator; expected e.g. `severity=\"critical\"` (operators =, !=, =~, !~)")]
    NoOperator(String),
    #[error("matcher {0:?} has an empty label name")]
    EmptyName(String),
    #[error("matcher {input:?}: the value must be a double-quoted string or bare word: {reason}")]
    BadValue { input: String, reason: String },
    #[error("matcher {input:?}: invalid regex: {reason}")]
    BadRegex { input: String, reason: String },
}

impl Matcher {
    pub fn parse(input: &str) -> Result<Matcher, MatcherError> {
        let s = input.trim();
        let pos = s
            .find(['=', '!'])
            .ok_or_else(|| MatcherError::NoOperator(input.to_string()))?;
        let name = s[..pos].trim();
        let rest = &s[pos..];
        let (op, rest) = if let Some(r) = rest.strip_prefix("=~") {
            (MatchOp::Re, r)
        } else if let Some(r) = rest.strip_prefix("!~") {
            (MatchOp::NotRe, r)
        } else if let Some(r) = rest.strip_prefix("!=") {
            (MatchOp::NotEq, r)
        } else if let Some(r) = rest.strip_prefix('=') {
            (MatchOp::Eq, r)
        } else {
            return Err(MatcherError::NoOperator(input.to_string()));
        };
        if name.is_empty() {
            return Err(MatcherError::EmptyName(input.to_string()));
        }
        let rest = rest.trim();
        let value = if rest.starts_with('"') {
            serde_json::from_str::<String>(rest).map_err(|e| MatcherError::BadValue {
                input: input.to_string(),
                reason: e.to_string(),
            })?
        } else {
            rest.to_string()
        };
        let regex = match op {
            MatchOp::Re | MatchOp::NotRe => Some(Regex::new(&format!("^(?:{value})$")).map_err(
                |e| MatcherError::BadRegex {
                    input: input.to_string(),
                    reason: e.to_string(),
                },
            )?),
            _ => None,
        };
        Ok(Matcher {
            name: name.to_string(),
            op,
            value,
            regex,
        })
    }

    /// A missing label counts as the empty string, as in Alertmanager.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matches_value(labels.get(&self.name).map(String::as_str).unwrap_or(""))
    }

    /// The comparison on a label's value (the empty string for a missing label).
    fn matches_value(&self, v: &str) -> bool {
        match self.op {
            MatchOp::Eq => v == self.value,
            MatchOp::NotEq => v != self.value,
            MatchOp::Re => self.regex.as_ref().is_some_and(|r| r.is_match(v)),
            MatchOp::NotRe => !self.regex.as_ref().is_some_and(|r| r.is_match(v)),
        }
    }
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Matcher::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A node of the routing tree. The root has no matchers.
#[derive(Debug, Clone)]
pub struct Route {
    pub receiver: String,
    pub matchers: Vec<Matcher>,
    pub continue_: bool,
    pub routes: Vec<Route>,
}

impl Route {
    /// Receiver names for a label set, in routing order, without duplicates (Alertmanager semantics: the first
    /// matching child wins unless it has `continue: true`; a node whose children all miss uses its own receiver).
    pub fn receivers_for(&self, labels: &Labels) -> Vec<String> {
        self.receivers_by(&|name| labels.get(name).map(String::as_str))
    }

    /// [`Route::receivers_for`] on a group's labels, `commonLabels` ∪ `groupLabels` (a group label wins), looked up
    /// in both maps rather than merged into a new one: the receive path runs this per request (issue 8, W1).
    pub fn receivers_for_group(&self, common: &Labels, group: &Labels) -> Vec<String> {
        self.receivers_by(&|name| {
            group
                .get(name)
                .or_else(|| common.get(name))
                .map(String::as_str)
        })
    }

    /// [`Route::receivers_for`] with labels read through `label` (name → value, `None` when missing).
    pub fn receivers_by<'l>(&self, label: &dyn Fn(&str) -> Option<&'l str>) -> Vec<String> {
        let mut out: Vec<&str> = Vec::new();
        self.walk(label, &mut out);
        // A handful of names: a linear scan beats hashing, and only the kept ones are copied.
        let mut kept: Vec<String> = Vec::with_capacity(out.len());
        for r in out {
            if !kept.iter().any(|k| k == r) {
                kept.push(r.to_string());
            }
        }
        kept
    }

    fn walk<'s, 'l>(
        &'s self,
        label: &dyn Fn(&str) -> Option<&'l str>,
        out: &mut Vec<&'s str>,
    ) -> bool {
        if !self
            .matchers
            .iter()
            .all(|m| m.matches_value(label(&m.name).unwrap_or("")))
        {
            return false;
        }
        let mut any_child = false;
        for child in &self.routes {
            if child.walk(label, out) {
                any_child = true;
                if !child.continue_ {
                    break;
                }
            }
        }
        if !any_child {
            out.push(&self.receiver);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn route(receiver: &str, matchers: &[&str], cont: bool, routes: Vec<Route>) -> Route {
        Route {
            receiver: receiver.into(),
            matchers: matchers
                .iter()
                .map(|m| Matcher::parse(m).unwrap())
                .collect(),
            continue_: cont,
            routes,
        }
    }

    #[test]
    fn parses_all_four_operators_and_quoting() {
        let cases = [
            ("severity=\"critical\"", MatchOp::Eq, "critical"),
            ("severity!=warning", MatchOp::NotEq, "warning"),
            ("model=~\"llama.*\"", MatchOp::Re, "llama.*"),
            ("model !~ \"a\\\"b\"", MatchOp::NotRe, "a\"b"),
        ];
        for (input, op, value) in cases {
            let m = Matcher::parse(input).unwrap();
            assert_eq!((m.op, m.value.as_str()), (op, value), "{input}");
        }
        assert!(matches!(
            Matcher::parse("severity"),
            Err(MatcherError::NoOperator(_))
        ));
        assert!(matches!(
            Matcher::parse("=x"),
            Err(MatcherError::EmptyName(_))
        ));
        assert!(matches!(
            Matcher::parse("a=~\"(\""),
            Err(MatcherError::BadRegex { .. })
        ));
    }

    #[test]
    fn regex_matchers_are_anchored_and_missing_labels_are_empty() {
        let m = Matcher::parse("model=~\"llama\"").unwrap();
        assert!(m.matches(&labels(&[("model", "llama")])));
        assert!(!m.matches(&labels(&[("model", "llama-3")])));
        assert!(Matcher::parse("team=\"\"").unwrap().matches(&labels(&[])));
        assert!(Matcher::parse("team!~\"ml\"")
            .unwrap()
            .matches(&labels(&[])));
    }

    #[test]
    fn first_match_wins_unless_continue() {
        let tree = route(
            "default",
            &[],
            false,
            vec![
                route("pager", &["severity=\"critical\""], true, vec![]),
                route("slack", &["team=\"ml\""], false, vec![]),
                route("never", &["team=~\"m.*\""], false, vec![]),
            ],
        );
        assert_eq!(
            tree.receivers_for(&labels(&[("severity", "critical"), ("team", "ml")])),
            ["pager", "slack"]
        );
        assert_eq!(
            tree.receivers_for(&labels(&[("severity", "critical")])),
            ["pager"]
        );
        assert_eq!(tree.receivers_for(&labels(&[("team", "mx")])), ["never"]);
        assert_eq!(tree.receivers_for(&labels(&[])), ["default"]);
    }

    #[test]
    fn group_routing_reads_both_maps_and_a_group_label_wins() {
        let tree = route(
            "default",
            &[],
            false,
            vec![
                route("pager", &["severity=\"critical\""], true, vec![]),
                route("slack", &["team=\"ml\""], false, vec![]),
            ],
        );
        let common = labels(&[("severity", "critical"), ("team", "web")]);
        let group = labels(&[("team", "ml")]);
        assert_eq!(
            tree.receivers_for_group(&common, &group),
            ["pager", "slack"]
        );
        let mut merged = common.clone();
        merged.extend(group.clone());
        assert_eq!(
            tree.receivers_for_group(&common, &group),
            tree.receivers_for(&merged)
        );
        assert_eq!(
            tree.receivers_for_group(&group, &common),
            ["pager"],
            "the group's team=web wins over common team=ml"
        );
    }

    #[test]
    fn a_receiver_reached_twice_is_listed_once() {
        let tree = route(
            "default",
            &[],
            false,
            vec![
                route("pager", &["severity=\"critical\""], true, vec![]),
                route("pager", &["team=\"ml\""], false, vec![]),
            ],
        );
        assert_eq!(
            tree.receivers_for(&labels(&[("severity", "critical"), ("team", "ml")])),
            ["pager"]
        );
    }

    #[test]
    fn nested_routes_fall_back_to_the_parent_receiver() {
        let tree = route(
            "root",
            &[],
            false,
            vec![route(
                "inference",
                &["model!=\"\""],
                false,
                vec![route("big", &["model=\"70b\""], false, vec![])],
            )],
        );
        assert_eq!(
            tree.receivers_for(&labels(&[("model", "7b")])),
            ["inference"]
        );
        assert_eq!(tree.receivers_for(&labels(&[("model", "70b")])), ["big"]);
    }
}
