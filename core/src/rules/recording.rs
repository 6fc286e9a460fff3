//! Recording rules: one group with every series in [`crate::translate::recorded`], per namespace and model, across
//! every backend. The plugin reads these names when they exist; the alerts below are written on them.

use super::model::{Rule, RuleFile, RuleGroup};
use crate::translate::recorded;

pub const GROUP: &str = "infermon-recording";

pub fn recording_rules() -> RuleFile {
    let rules = recorded::all()
        .into_iter()
        .filter_map(|r| Some(Rule::record(r.name(), r.expr()?)))
        .collect();
    RuleFile {
        groups: vec![RuleGroup {
            name: GROUP.into(),
            interval: None,
            rules,
        }],
    }
}
