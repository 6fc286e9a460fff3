//! A small parser of the Prometheus 0.0.4 text format that extracts the *shape* of an exposition — family
//! names, types, HELP, label keys, `le`/`quantile` values — and the samples. Used to compare the simulator with
//! the real captures in `../shared/fixtures` and by tests that read `/metrics`.

use std::collections::{BTreeMap, BTreeSet};

/// One parsed sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The shape of one family.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FamilyShape {
    pub kind: String,
    pub help: Option<String>,
    /// Label keys of the family's samples, without `le` and `quantile`.
    pub label_keys: BTreeSet<String>,
    /// `le` values in order of first appearance (histograms).
    pub le: Vec<String>,
    /// `quantile` values in order of first appearance (summaries).
    pub quantiles: Vec<String>,
}

/// A parsed exposition.
#[derive(Debug, Clone, Default)]
pub struct Exposition {
    pub families: BTreeMap<String, FamilyShape>,
    pub samples: Vec<Sample>,
}

impl Exposition {
    /// Samples whose name is `name` and whose labels include every `(key, value)` of `filter`.
    pub fn find<'a>(
        &'a self,
        name: &'a str,
        filter: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples
            .iter()
            .filter(move |s| s.name == name && filter.iter().all(|(k, v)| s.label(k) == Some(*v)))
    }

    /// Sum of the matching samples' values.
    pub fn sum(&self, name: &str, filter: &[(&str, &str)]) -> f64 {
        self.find(name, filter).map(|s| s.value).sum()
    }
}

/// Why a line could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}: {text:?}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
    pub text: String,
}

fn family_of<'a>(sample: &'a str, families: &BTreeMap<String, FamilyShape>) -> &'a str {
    if families.contains_key(sample) {
        return sample;
    }
    for suffix in ["_bucket", "_count", "_sum"] {
        if let Some(base) = sample.strip_suffix(suffix) {
            if families.contains_key(base) {
                return base;
            }
        }
    }
    sample
}

/// Parses a 0.0.4 text exposition.
pub fn parse(text: &str) -> Result<Exposition, ParseError> {
    let mut exp = Exposition::default();
    for (i, raw) in text.lines().enumerate() {
        let err = |m: &str| ParseError {
            line: i + 1,
            message: m.to_string(),
            text: raw.to_string(),
        };
        let line = raw.trim_end();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            exp.families.entry(name.to_string()).or_default().help = Some(help.to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest
                .split_once(' ')
                .ok_or_else(|| err("TYPE without a type"))?;
            exp.families.entry(name.to_string()).or_default().kind = kind.to_string();
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (name, labels, rest) = match line.find('{') {
            Some(open) => {
                let close = line.rfind('}').ok_or_else(|| err("unclosed label set"))?;
                (
                    &line[..open],
                    parse_labels(&line[open + 1..close]).map_err(|m| err(&m))?,
                    &line[close + 1..],
                )
            }
            None => {
                let sp = line.find(' ').ok_or_else(|| err("sample without value"))?;
                (&line[..sp], Vec::new(), &line[sp..])
            }
        };
        let value_str = rest
            .split_whitespace()
            .next()
            .ok_or_else(|| err("sample without value"))?;
        let value = match value_str {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v.parse::<f64>().map_err(|_| err("bad value"))?,
        };
        let fam_name = family_of(name, &exp.families).to_string();
        let fam = exp.families.entry(fam_name).or_default();
        for (k, v) in &labels {
            match k.as_str() {
                "le" => {
                    if !fam.le.contains(v) {
                        fam.le.push(v.clone());
                    }
                }
                "quantile" => {
                    if !fam.quantiles.contains(v) {
                        fam.quantiles.push(v.clone());
                    }
                }
                _ => {
                    fam.label_keys.insert(k.clone());
                }
            }
        }
        exp.samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(exp)
}

fn parse_labels(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let eq = s[i..].find('=').ok_or("label without '='")? + i;
        let key = s[i..eq].trim().trim_start_matches(',').trim().to_string();
        if b.get(eq + 1) != Some(&b'"') {
            return Err("label value not quoted".into());
        }
        let mut j = eq + 2;
        let mut val = String::new();
        while j < b.len() && b[j] != b'"' {
            if b[j] == b'\\' && j + 1 < b.len() {
                val.push(match b[j + 1] {
                    b'n' => '\n',
                    c => c as char,
                });
                j += 2;
            } else {
                let ch = s[j..].chars().next().expect("in bounds");
                val.push(ch);
                j += ch.len_utf8();
            }
        }
        if j >= b.len() {
            return Err("unterminated label value".into());
        }
        out.push((key, val));
        i = j + 1;
        while i < b.len() && (b[i] == b',' || b[i] == b' ') {
            i += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_families_labels_and_buckets() {
        let text = "# HELP x_seconds Help.\n# TYPE x_seconds histogram\nx_seconds_bucket{a=\"1\",le=\"0.5\"} 1.0\nx_seconds_bucket{a=\"1\",le=\"+Inf\"} 2.0\nx_seconds_count{a=\"1\"} 2.0\nx_seconds_sum{a=\"1\"} 3.5\n# TYPE y gauge\ny{b=\"q\\\"uote\"} 7\n";
        let e = parse(text).unwrap();
        let x = &e.families["x_seconds"];
        assert_eq!(x.kind, "histogram");
        assert_eq!(x.le, ["0.5", "+Inf"]);
        assert_eq!(x.label_keys.iter().collect::<Vec<_>>(), ["a"]);
        assert_eq!(e.sum("x_seconds_sum", &[("a", "1")]), 3.5);
        assert_eq!(e.find("y", &[]).next().unwrap().label("b"), Some("q\"uote"));
    }
}
