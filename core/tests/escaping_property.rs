//! Property: arbitrary label values can neither break nor widen a query.
//!
//! For any model name, the generated selector's string literal decodes back to exactly the intended value (Go
//! `strconv.Unquote` rules, mirrored here), and for `=~` the decoded regex, anchored as Prometheus anchors it,
//! matches the name and nothing longer or different.

use infermon_core::promql::escape::{quote, regex_any_of};
use proptest::prelude::*;

/// Decodes a PromQL double-quoted string the way Prometheus's lexer + strconv.Unquote do for our escapes.
fn unquote(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return None, // an unescaped quote would end the string early
            '\\' => match chars.next()? {
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'x' => {
                    let hex: String = chars.by_ref().take(2).collect();
                    out.push(u8::from_str_radix(&hex, 16).ok()? as char);
                }
                _ => return None,
            },
            c => out.push(c),
        }
    }
    Some(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn quoted_values_round_trip(value in any::<String>()) {
        prop_assert_eq!(unquote(&quote(&value)), Some(value));
    }

    #[test]
    fn regex_alternations_match_exactly_the_given_names(
        names in prop::collection::vec("[ -~\u{a0}-\u{2ff}]{1,12}", 1..4),
        other in "[ -~]{0,12}",
    ) {
        let pattern = unquote(&quote(&regex_any_of(&names))).unwrap();
        let re = regex::Regex::new(&format!("^(?:{pattern})$")).unwrap();
        for n in &names {
            prop_assert!(re.is_match(n), "{:?} does not match {:?}", pattern, n);
            let widened = format!("{n}x");
            prop_assert_eq!(re.is_match(&widened), names.contains(&widened));
        }
        prop_assert_eq!(re.is_match(&other), names.contains(&other));
    }

    #[test]
    fn hostile_model_names_stay_inside_their_matcher(model in any::<String>().prop_filter("non-empty", |s| !s.is_empty())) {
        let q = infermon_core::Query::from_json(&serde_json::json!({
            "queryType": "metric", "concept": "queue_depth", "backend": "vllm", "models": [model.clone(), "other"]
        })).unwrap();
        let t = infermon_core::translate(&q, &Default::default()).unwrap();
        let expr = &t.targets[0].expr;
        // The selector has exactly the one model matcher we asked for, whatever the name contains.
        let quoted = quote(&regex_any_of(&[model.as_str(), "other"]));
        let expected = format!("model_name=~{quoted}");
        prop_assert!(expr.contains(&expected), "{}", expr);
    }
}
