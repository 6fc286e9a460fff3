//! Display names from legend templates, as Grafana's Prometheus data source computes them (§6.2 `getName`):
//! `{{label}}` is replaced by the label's value (a missing label becomes empty); an empty template or result
//! falls back to `metric{k="v", …}` (label names sorted), and a series without labels to the expression.

use std::collections::BTreeMap;

/// Renders `template` for one series.
pub fn display_name(template: &str, labels: &BTreeMap<String, String>, expr: &str) -> String {
    let rendered = render(template, labels);
    if !rendered.trim().is_empty() {
        return rendered;
    }
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    let name = labels.get("__name__").map(String::as_str).unwrap_or("");
    if rest.is_empty() && name.is_empty() {
        return expr.to_string();
    }
    format!("{name}{{{}}}", rest.join(", "))
}

fn render(template: &str, labels: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        match after.find("}}") {
            Some(close) => {
                let key = after[..close].trim();
                if let Some(v) = labels.get(key) {
                    out.push_str(v);
                }
                rest = &after[close + 2..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn templates_and_fallbacks() {
        let labels = l(&[("model", "llama"), ("namespace", "prod")]);
        assert_eq!(
            display_name("{{model}} ({{ namespace }})", &labels, "x"),
            "llama (prod)"
        );
        assert_eq!(display_name("{{model}} {{pod}}", &labels, "x"), "llama ");
        assert_eq!(
            display_name("", &labels, "x"),
            "{model=\"llama\", namespace=\"prod\"}"
        );
        assert_eq!(display_name("{{pod}}", &l(&[]), "sum(up)"), "sum(up)");
        assert_eq!(display_name("a {{b", &labels, "x"), "a {{b");
        assert_eq!(
            display_name("", &l(&[("__name__", "up"), ("job", "a\"b")]), "x"),
            "up{job=\"a\\\"b\"}"
        );
    }
}
