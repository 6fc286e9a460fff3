//! Escaping of values that reach PromQL text.
//!
//! Every label value infermon puts into a query goes through here, so that a model named `a"b\c.*` can neither
//! break the query (string escaping) nor widen it (regex escaping for `=~`). PromQL strings follow Go's
//! `strconv.Unquote` rules; regexes are RE2, fully anchored by Prometheus.

use std::fmt::Write;

/// `value` as a double-quoted PromQL string literal.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `literal` as an RE2 pattern that matches exactly that string.
pub fn regex_literal(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len());
    for c in literal.chars() {
        // Exactly the characters Go's regexp.QuoteMeta escapes.
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// An RE2 alternation matching exactly one of `literals`.
pub fn regex_any_of<S: AsRef<str>>(literals: &[S]) -> String {
    literals
        .iter()
        .map(|l| regex_literal(l.as_ref()))
        .collect::<Vec<_>>()
        .join("|")
}

/// True when `name` is a valid Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`).
pub fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_hostile_values() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quote("x\ny"), r#""x\ny""#);
        assert_eq!(quote("\u{1}"), r#""\x01""#);
    }

    #[test]
    fn regex_literal_quotes_metacharacters() {
        assert_eq!(regex_literal("llama-3.1*"), r"llama-3\.1\*");
        assert_eq!(regex_any_of(&["a|b", "c"]), r"a\|b|c");
    }
}
