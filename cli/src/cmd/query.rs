//! `infermon query`: ask a query-model question from the terminal and read a table (or JSON/CSV).
//!
//! It shares the plugin's translation (`infermon_core::translate`) and Prometheus client (`infermon_prom`);
//! `--explain` prints the PromQL, and a Prometheus error is shown with the PromQL that caused it.

use clap::{Args, ValueEnum};
use infermon_core::query::{BackendChoice, MetricQuery, Query, Stat};
use infermon_core::translate::{Target, Translation};
use infermon_core::{translate, Concept, Context, PromDuration};
use infermon_prom::{Client, ClientConfig, QueryData};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  infermon query ttft --stat p95 --by model --since 15m\n  infermon query kv_cache_usage --model llama-3-8b --explain\n  infermon query fleet\n  infermon query --json '{\"queryType\":\"slo\",\"sli\":\"ttft\",\"threshold\":0.5,\"objective\":0.99,\"view\":\"budgetRemaining\",\"backend\":\"vllm\"}'\n\nConcepts: ttft, inter_token_latency, tpot, e2e_latency, queue_time, prefill_time, decode_time,\n  generation_tokens_rate, prompt_tokens_rate, request_rate, finished_requests, error_ratio, queue_depth,\n  running_requests, kv_cache_usage, preemption_rate, prefix_cache_hit_rate, spec_decode_acceptance_rate,\n  batch_size — or `fleet` for one row per model."
)]
pub struct QueryArgs {
    /// A concept id (see below), or `fleet`. Omit when using --json.
    concept: Option<String>,
    /// A whole query-model JSON object (docs/query-model.md) instead of the flags.
    #[arg(long, conflicts_with = "concept")]
    json: Option<String>,
    /// Statistic: p50, p95, p99.9, avg, rate, ratio, current, max, min, growth (default: by concept).
    #[arg(long)]
    stat: Option<String>,
    /// Only these models (repeatable).
    #[arg(long = "model")]
    models: Vec<String>,
    /// Only these namespaces (repeatable).
    #[arg(long = "namespace")]
    namespaces: Vec<String>,
    /// auto, vllm, tgi, sglang, llamacpp.
    #[arg(long, default_value = "auto")]
    backend: String,
    /// Output labels, comma-separated (`model`, `model,namespace`, or `` for one fleet-wide value).
    #[arg(long = "by", default_value = "model")]
    group_by: String,
    /// Summarise a range ending now (last, min, avg, max per series) instead of one instant value.
    #[arg(long)]
    since: Option<PromDuration>,
    /// Rate window (Grafana's $__rate_interval equivalent: 4 × the scrape interval).
    #[arg(long, default_value = "1m")]
    rate_window: PromDuration,
    /// Label that carries the model of TGI/llama.cpp targets.
    #[arg(long, default_value = "model")]
    model_label: String,
    #[arg(
        long,
        env = "INFERMON_PROMETHEUS_URL",
        default_value = "http://127.0.0.1:9090"
    )]
    prometheus_url: String,
    #[arg(long, value_enum, default_value = "table")]
    output: Output,
    /// Print the PromQL (and notices) before the result.
    #[arg(long)]
    explain: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Output {
    Table,
    Json,
    Csv,
}

pub fn run(args: QueryArgs) -> Result<(), String> {
    let query = build_query(&args)?;
    let ctx = Context {
        rate_window: args.rate_window,
        model_label: args.model_label.clone(),
        ..Context::default()
    };
    let translation = translate(&query, &ctx).map_err(|e| e.to_string())?;
    if args.explain {
        explain(&translation);
    }
    for n in &translation.notices {
        eprintln!("note: {}", n.text);
    }
    if translation.targets.is_empty() {
        return Err("nothing on this engine can answer that query (see the notes above)".into());
    }
    let client = Client::new(ClientConfig::new(&args.prometheus_url)).map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let rows = rt.block_on(execute(&client, &translation.targets, args.since))?;
    print!("{}", render(&rows, &translation.targets, args.output));
    Ok(())
}

fn build_query(args: &QueryArgs) -> Result<Query, String> {
    if let Some(json) = &args.json {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| format!("--json: {e}"))?;
        return Query::from_json(&value).map_err(|e| format!("--json: {e}"));
    }
    let concept = args
        .concept
        .as_deref()
        .ok_or("name a concept (e.g. `ttft`), `fleet`, or pass --json")?;
    let backend: BackendChoice =
        serde_json::from_value(serde_json::json!(args.backend)).map_err(|_| {
            format!(
                "--backend: expected auto, vllm, tgi, sglang or llamacpp; got {:?}",
                args.backend
            )
        })?;
    if concept == "fleet" {
        let q = serde_json::json!({"queryType": "fleet", "models": args.models, "namespaces": args.namespaces,
            "backend": backend});
        return Query::from_json(&q).map_err(|e| e.to_string());
    }
    let concept = Concept::from_id(concept).ok_or_else(|| {
        let ids: Vec<&str> = Concept::ALL.iter().map(|c| c.id()).collect();
        format!(
            "unknown concept {concept:?}: expected one of {}, or fleet",
            ids.join(", ")
        )
    })?;
    let stat = match &args.stat {
        Some(s) => Some(s.parse::<Stat>().map_err(|e| format!("--stat: {e}"))?),
        None => None,
    };
    let query = Query::Metric(MetricQuery {
        concept,
        stat,
        models: args.models.clone(),
        namespaces: args.namespaces.clone(),
        backend,
        filters: vec![],
        group_by: args
            .group_by
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        legend: None,
        window: None,
    });
    query.validate().map_err(|e| e.to_string())?;
    Ok(query)
}

fn explain(t: &Translation) {
    for target in &t.targets {
        eprintln!(
            "PromQL ({}, unit {}):\n  {}\n",
            target.key, target.unit, target.expr
        );
    }
}

/// One output row: the series labels and, per target key, the value(s).
#[derive(Debug, Default, Clone)]
struct Row {
    labels: BTreeMap<String, String>,
    values: BTreeMap<String, Summary>,
}

#[derive(Debug, Clone, Copy)]
struct Summary {
    last: f64,
    min: f64,
    avg: f64,
    max: f64,
}

impl Summary {
    fn of(values: &[f64]) -> Option<Summary> {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let last = *values.last()?;
        if finite.is_empty() {
            return Some(Summary {
                last,
                min: f64::NAN,
                avg: f64::NAN,
                max: f64::NAN,
            });
        }
        Some(Summary {
            last,
            min: finite.iter().copied().fold(f64::INFINITY, f64::min),
            avg: finite.iter().sum::<f64>() / finite.len() as f64,
            max: finite.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
    }
}

async fn execute(
    client: &Client,
    targets: &[Target],
    since: Option<PromDuration>,
) -> Result<Vec<Row>, String> {
    let mut rows: BTreeMap<Vec<(String, String)>, Row> = BTreeMap::new();
    for target in targets {
        let fail = |e: infermon_prom::Error| {
            format!(
                "Prometheus refused the query: {e}\n  PromQL: {}",
                target.expr
            )
        };
        let data = match since.filter(|_| !target.instant) {
            Some(range) => {
                let end = SystemTime::now();
                let span = Duration::from_millis(range.as_millis());
                let step = Duration::from_secs((span.as_secs() / 60).max(15));
                client
                    .query_range(&target.expr, end - span, end, step, false)
                    .await
                    .map_err(fail)?
                    .data
            }
            None => {
                client
                    .query(&target.expr, None, false)
                    .await
                    .map_err(fail)?
                    .data
            }
        };
        let mut add = |labels: &infermon_prom::Labels, summary: Option<Summary>| {
            let key: Vec<(String, String)> = labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let row = rows.entry(key).or_insert_with(|| Row {
                labels: labels.to_map(),
                ..Row::default()
            });
            if let Some(s) = summary {
                row.values.insert(target.key.clone(), s);
            }
        };
        match data {
            QueryData::Vector(samples) => {
                for s in samples {
                    add(&s.labels, Summary::of(&[s.value]));
                }
            }
            QueryData::Matrix(series) => {
                for s in series {
                    add(&s.labels, Summary::of(&s.values));
                }
            }
            QueryData::Scalar(p) => add(&infermon_prom::Labels::default(), Summary::of(&[p.value])),
            QueryData::String(_) => {}
        }
    }
    Ok(rows.into_values().collect())
}

/// A value in human units: `512 ms`, `87.5 %`, `1.2k tokens/s`.
pub fn human(value: f64, unit: &str) -> String {
    if !value.is_finite() {
        return if value.is_nan() {
            "–".into()
        } else {
            format!("{value}")
        };
    }
    match unit {
        "s" if value.abs() < 1.0 => format!("{:.0} ms", value * 1000.0),
        "s" => format!("{value:.2} s"),
        "percentunit" => format!("{:.1} %", value * 100.0),
        "reqps" => format!("{} req/s", compact(value)),
        "tokens/s" => format!("{} tok/s", compact(value)),
        "ops" => format!("{}/s", compact(value)),
        "x" => format!("{value:.2}×"),
        _ => compact(value),
    }
}

fn compact(v: f64) -> String {
    match v.abs() {
        a if a >= 1e6 => format!("{:.1}M", v / 1e6),
        a if a >= 1e4 => format!("{:.1}k", v / 1e3),
        a if a >= 100.0 || v.fract() == 0.0 => format!("{v:.0}"),
        _ => format!("{v:.2}"),
    }
}

fn render(rows: &[Row], targets: &[Target], output: Output) -> String {
    let label_cols: Vec<String> = {
        let mut set: Vec<String> = rows.iter().flat_map(|r| r.labels.keys().cloned()).collect();
        set.sort();
        set.dedup();
        set
    };
    let summarised = rows
        .iter()
        .any(|r| r.values.values().any(|s| s.min != s.max));
    let mut header: Vec<String> = label_cols.clone();
    let mut cells: Vec<Vec<String>> = Vec::new();
    for t in targets {
        if summarised && !t.instant {
            header.extend(
                ["last", "min", "avg", "max"]
                    .iter()
                    .map(|s| format!("{} {s}", t.key)),
            );
        } else {
            header.push(t.key.clone());
        }
    }
    if targets.len() == 1 && !summarised {
        header.pop();
        header.push("value".into());
    }
    for r in rows {
        let mut line: Vec<String> = label_cols
            .iter()
            .map(|c| r.labels.get(c).cloned().unwrap_or_default())
            .collect();
        for t in targets {
            let s = r.values.get(&t.key);
            let fmt = |v: f64| match output {
                Output::Table => human(v, &t.unit),
                _ => format!("{v}"),
            };
            if summarised && !t.instant {
                for pick in [
                    |s: &Summary| s.last,
                    |s: &Summary| s.min,
                    |s: &Summary| s.avg,
                    |s: &Summary| s.max,
                ] {
                    line.push(s.map(|s| fmt(pick(s))).unwrap_or_default());
                }
            } else {
                line.push(s.map(|s| fmt(s.last)).unwrap_or_default());
            }
        }
        cells.push(line);
    }
    match output {
        Output::Json => {
            let objs: Vec<serde_json::Value> = cells
                .iter()
                .map(|line| {
                    let map: serde_json::Map<String, serde_json::Value> = header
                        .iter()
                        .zip(line)
                        .map(|(h, v)| {
                            let value = v.parse::<f64>().ok().filter(|_| !label_cols.contains(h));
                            (
                                h.clone(),
                                value
                                    .map(serde_json::Value::from)
                                    .unwrap_or_else(|| serde_json::json!(v)),
                            )
                        })
                        .collect();
                    serde_json::Value::Object(map)
                })
                .collect();
            serde_json::to_string_pretty(&objs).expect("JSON") + "\n"
        }
        Output::Csv => {
            let esc = |s: &str| {
                if s.contains([',', '"', '\n']) {
                    format!("\"{}\"", s.replace('"', "\"\""))
                } else {
                    s.to_string()
                }
            };
            let mut out = header.iter().map(|h| esc(h)).collect::<Vec<_>>().join(",") + "\n";
            for line in &cells {
                out += &(line.iter().map(|c| esc(c)).collect::<Vec<_>>().join(",") + "\n");
            }
            out
        }
        Output::Table => {
            if cells.is_empty() {
                return "(no data)\n".into();
            }
            let widths: Vec<usize> = (0..header.len())
                .map(|i| {
                    cells
                        .iter()
                        .map(|l| l[i].chars().count())
                        .chain([header[i].chars().count()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let fmt_line = |line: &[String]| {
                line.iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_string()
                    + "\n"
            };
            let mut out = fmt_line(&header.iter().map(|h| h.to_uppercase()).collect::<Vec<_>>());
            for line in &cells {
                out += &fmt_line(line);
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(human(0.512, "s"), "512 ms");
        assert_eq!(human(2.5, "s"), "2.50 s");
        assert_eq!(human(0.875, "percentunit"), "87.5 %");
        assert_eq!(human(12345.0, "tokens/s"), "12.3k tok/s");
        assert_eq!(human(f64::NAN, "s"), "–");
    }
}
