//! What a dashboard *is*, independent of the data source that will answer it: rows of panels, each with a title,
//! a question it answers, a concept (for unit and description) and targets written in the query model.
//!
//! Both variants (Inference data source, and Grafana's Prometheus data source on infermon's recorded series) are
//! rendered from these definitions by [`super::render`], so they cannot drift apart.

use crate::catalog::{support, Backend, Concept, Fidelity, Support};
use crate::query::{SloView, Stat};
use crate::rules::spec::Slo;

/// One dashboard.
#[derive(Debug, Clone)]
pub struct DashboardDef {
    /// The uid of the plugin variant; the Prometheus-only variant inserts `prom-` after `infermon-`.
    pub uid: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub tags: &'static [&'static str],
    pub time_from: &'static str,
    /// `$model` is a single choice (detail) rather than a multi-select with "All".
    pub single_model: bool,
    /// Dashboards linked from the top bar (uids of plugin variants), carrying time range and variables.
    pub links: Vec<(&'static str, &'static str)>,
    pub rows: Vec<RowDef>,
}

/// A titled row of panels; panels flow left to right and wrap at the grid's 24 columns.
#[derive(Debug, Clone)]
pub struct RowDef {
    pub title: String,
    pub panels: Vec<PanelDef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelKind {
    Timeseries,
    Stat,
    BarGauge,
    Table,
}

impl PanelKind {
    pub fn grafana_type(self) -> &'static str {
        match self {
            PanelKind::Timeseries => "timeseries",
            PanelKind::Stat => "stat",
            PanelKind::BarGauge => "bargauge",
            PanelKind::Table => "table",
        }
    }
}

/// A threshold step: from `value` (None = base) upwards, `color`.
pub type Step = (Option<f64>, &'static str);

#[derive(Debug, Clone)]
pub struct PanelDef {
    pub title: String,
    /// The question this panel answers (docs/dashboards.md and the panel description).
    pub question: String,
    pub kind: PanelKind,
    /// The concept whose unit and catalog description the panel carries.
    pub concept: Option<Concept>,
    /// Grafana unit id; default: the concept's.
    pub unit: Option<&'static str>,
    pub width: u32,
    pub height: u32,
    pub targets: Vec<TargetDef>,
    pub thresholds: Vec<Step>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Time range override (e.g. `30d` for a budget burn-down).
    pub time_from: Option<&'static str>,
    /// Links from this panel to another dashboard (plugin-variant uid), with the model of the clicked row/series.
    pub drilldown: Option<&'static str>,
    /// Per-target thresholds (refId index → steps), e.g. each burn-rate window against its own alert factor.
    pub target_thresholds: Vec<(usize, Vec<Step>)>,
    /// Stack the series (a breakdown that adds up).
    pub stacked: bool,
    /// What Grafana shows instead of an empty panel, when the catalog's text does not fit (SLO panels).
    pub no_value_text: Option<String>,
}

impl PanelDef {
    pub fn new(kind: PanelKind, title: impl Into<String>, question: impl Into<String>) -> Self {
        PanelDef {
            title: title.into(),
            question: question.into(),
            kind,
            concept: None,
            unit: None,
            width: 8,
            height: 8,
            targets: Vec::new(),
            thresholds: Vec::new(),
            min: None,
            max: None,
            time_from: None,
            drilldown: None,
            target_thresholds: Vec::new(),
            stacked: false,
            no_value_text: None,
        }
    }

    pub fn no_value_text(mut self, text: String) -> Self {
        self.no_value_text = Some(text);
        self
    }

    pub fn concept(mut self, c: Concept) -> Self {
        self.concept = Some(c);
        self
    }
    pub fn unit(mut self, u: &'static str) -> Self {
        self.unit = Some(u);
        self
    }
    pub fn size(mut self, w: u32, h: u32) -> Self {
        self.width = w;
        self.height = h;
        self
    }
    pub fn target(mut self, t: TargetDef) -> Self {
        self.targets.push(t);
        self
    }
    pub fn thresholds(mut self, steps: &[Step]) -> Self {
        self.thresholds = steps.to_vec();
        self
    }
    pub fn range(mut self, min: Option<f64>, max: Option<f64>) -> Self {
        self.min = min;
        self.max = max;
        self
    }
    pub fn time_from(mut self, t: &'static str) -> Self {
        self.time_from = Some(t);
        self
    }
    pub fn drilldown(mut self, uid: &'static str) -> Self {
        self.drilldown = Some(uid);
        self
    }
    pub fn stacked(mut self) -> Self {
        self.stacked = true;
        self
    }

    /// The Grafana unit of the panel.
    pub fn unit_id(&self) -> &'static str {
        self.unit
            .or_else(|| self.concept.map(|c| c.unit()))
            .unwrap_or("short")
    }

    /// The panel description: the question, the metric in one sentence, and where it is approximate or absent.
    pub fn description(&self) -> String {
        let mut out = self.question.clone();
        if let Some(c) = self.concept {
            out.push_str(&format!(" {}", c.description()));
            let notes = availability_notes(c);
            if !notes.is_empty() {
                out.push(' ');
                out.push_str(&notes);
            }
        }
        out
    }

    /// What Grafana shows instead of an empty panel (the plugin's per-query notices say more).
    pub fn no_value(&self) -> String {
        if let Some(t) = &self.no_value_text {
            return t.clone();
        }
        match self.concept {
            Some(c) => {
                let absent: Vec<String> = Backend::ALL
                    .into_iter()
                    .filter_map(|b| match support(c, b) {
                        Support::Unsupported(_) => Some(b.display_name().to_string()),
                        Support::Supported {
                            requires: Some(r), ..
                        } => Some(format!("{} without {r}", b.display_name())),
                        _ => None,
                    })
                    .collect();
                // Data can also be missing because it is young (a new server, a window longer than its
                // history, no traffic yet): say so too, so a fleet of one backend is not told about the others only.
                if absent.is_empty() {
                    format!(
                        "No data: no server in scope has exposed {} in this range yet",
                        c.label().to_lowercase()
                    )
                } else {
                    format!(
                        "No data: {} is not available on {}; other servers have not exposed it in this range yet",
                        c.label(),
                        absent.join(", ")
                    )
                }
            }
            None => "No data for the selected models".to_string(),
        }
    }
}

/// "Approximate on TGI (…). Not available on llama.cpp (…)." from the catalog.
pub fn availability_notes(c: Concept) -> String {
    let mut approx = Vec::new();
    let mut unsupported = Vec::new();
    let mut conditional = Vec::new();
    for b in Backend::ALL {
        match support(c, b) {
            Support::Supported {
                fidelity: Fidelity::Approximate(note),
                ..
            } => approx.push(format!("{}: {}", b.display_name(), note)),
            Support::Supported {
                requires: Some(r), ..
            } => conditional.push(format!("{}: {r}", b.display_name())),
            Support::Unsupported(_) => unsupported.push(b.display_name()),
            _ => {}
        }
    }
    let mut parts = Vec::new();
    if !approx.is_empty() {
        parts.push(format!("Approximation on {}.", approx.join("; ")));
    }
    if !conditional.is_empty() {
        parts.push(format!("Needs {}.", conditional.join("; ")));
    }
    if !unsupported.is_empty() {
        parts.push(format!("Not available on {}.", unsupported.join(", ")));
    }
    parts.join(" ")
}

/// One target, in the query model's vocabulary. Scope (`$model`, `$namespace`) comes from the dashboard.
#[derive(Debug, Clone)]
pub enum TargetDef {
    Metric {
        concept: Concept,
        stat: Stat,
        group_by: Vec<&'static str>,
        legend: Option<String>,
    },
    Slo {
        slo: Slo,
        view: SloView,
        burn_window: Option<&'static str>,
        legend: Option<String>,
    },
    Fleet,
}

/// A metric target grouped by model.
pub fn metric(concept: Concept, stat: Stat) -> TargetDef {
    TargetDef::Metric {
        concept,
        stat,
        group_by: vec!["model"],
        legend: None,
    }
}

/// A metric target with its own grouping and legend.
pub fn metric_by(
    concept: Concept,
    stat: Stat,
    group_by: &[&'static str],
    legend: &str,
) -> TargetDef {
    TargetDef::Metric {
        concept,
        stat,
        group_by: group_by.to_vec(),
        legend: Some(legend.to_string()),
    }
}

pub fn slo(
    slo: &Slo,
    view: SloView,
    burn_window: Option<&'static str>,
    legend: Option<&str>,
) -> TargetDef {
    TargetDef::Slo {
        slo: slo.clone(),
        view,
        burn_window,
        legend: legend.map(str::to_string),
    }
}

/// The no-data text of an SLO panel: which servers the SLO covers, and why a model shows nothing.
pub fn slo_no_value(slo: &Slo) -> String {
    if slo.backends.is_empty() {
        return format!(
            "No data: no request of the selected models finished in the window of SLO {}",
            slo.name
        );
    }
    let covered: Vec<&str> = slo.backends.iter().map(|b| b.display_name()).collect();
    let others: Vec<&str> = Backend::ALL
        .into_iter()
        .filter(|b| !slo.backends.contains(b))
        .map(|b| b.display_name())
        .collect();
    format!(
        "No data: SLO {} covers {} only; models served by {} are not measured against it",
        slo.name,
        covered.join(", "),
        others.join(", ")
    )
}

pub const GREEN: &str = "green";
pub const ORANGE: &str = "orange";
pub const RED: &str = "red";

/// KV-cache usage as a fraction: preemptions start near full.
pub const KV_STEPS: &[Step] = &[(None, GREEN), (Some(0.9), ORANGE), (Some(0.95), RED)];
/// Error ratio: 0.1 % is the default errors SLO's whole budget.
pub const ERROR_STEPS: &[Step] = &[(None, GREEN), (Some(0.001), ORANGE), (Some(0.01), RED)];
/// Budget remaining: overspent red, last quarter orange.
pub const BUDGET_STEPS: &[Step] = &[(None, RED), (Some(0.0), ORANGE), (Some(0.25), GREEN)];

/// Attainment: red below the objective.
pub fn attainment_steps(objective: f64) -> Vec<Step> {
    vec![(None, RED), (Some(objective), GREEN)]
}

/// A latency with an SLO threshold: orange at the threshold, red at twice it.
pub fn latency_steps(threshold: f64) -> Vec<Step> {
    vec![
        (None, GREEN),
        (Some(threshold), ORANGE),
        (Some(threshold * 2.0), RED),
    ]
}
