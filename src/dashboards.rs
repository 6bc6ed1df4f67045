//! Dashboards: JSON files from a directory of the project, and the ones obsc generates from the
//! topology (an overview per environment). Both become ConfigMaps the Grafana sidecar collects.
//!
//! A directory is read relative to the project root, the parent of the platform file's
//! directory (`environments/platform.ncl` -> `.`), so `dashboards/` sits beside `environments/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::diag::{Diagnostic, Diagnostics, Location};
use crate::load::SourceMap;
use crate::model::{Grafana, Platform};
use crate::names::{is_dns_label, Backend};
use crate::render::grafana::{backend_uid, managed_namespaces, thanos_uid, MAX_UID};

/// The schema version obsc writes generated dashboards in.
pub const SCHEMA_VERSION: u32 = 41;

/// One dashboard, ready for a ConfigMap.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    /// The ConfigMap suffix and file name stem: a DNS label.
    pub name: String,
    pub folder: String,
    pub text: String,
    /// Where it was read from (`None`: generated).
    pub source: Option<String>,
}

/// Dashboards read from disk, by the directory as the topology writes it.
pub type Files = BTreeMap<String, Vec<Dashboard>>;

/// The project root of a platform file.
pub fn project_root(platform_file: &Path) -> PathBuf {
    platform_file.parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default()
}

/// Reads every Grafana's dashboard directory. Problems (a missing directory, a file that is not
/// a JSON object, a name that cannot be a ConfigMap name) come back as diagnostics.
pub fn read(platform_file: &Path, platform: &Platform, sources: &SourceMap) -> (Files, Diagnostics) {
    let root = project_root(platform_file);
    let mut files = Files::new();
    let mut problems = Diagnostics::default();
    for (name, g) in &platform.grafana {
        let Some(dir) = &g.dashboards.directory else { continue };
        if files.contains_key(dir) {
            continue;
        }
        let path = root.join(dir);
        let field = ["grafana", name.as_str(), "dashboards", "directory"];
        let entries = match std::fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) => {
                problems.push(
                    Diagnostic::error(format!("cannot read dashboard directory `{}`: {e}", path.display()))
                        .at(sources.value(&field), crate::load::field_path(&field))
                        .help("the directory is relative to the project root, the parent of the platform file's directory"),
                );
                continue;
            }
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        let mut found = Vec::new();
        for file in paths {
            let shown = file.display().to_string();
            let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            let text = match std::fs::read_to_string(&file) {
                Ok(text) => text,
                Err(e) => {
                    problems.push(Diagnostic::error(format!("cannot read dashboard `{shown}`: {e}")));
                    continue;
                }
            };
            let at = |line: usize, column: usize| {
                Some(Location { file: shown.clone(), line: line as u32, column: column as u32 })
            };
            match serde_json::from_str::<Value>(&text) {
                Err(e) => problems.push(
                    Diagnostic::error(format!("dashboard `{shown}` is not valid JSON: {e}"))
                        .at(at(e.line(), e.column()), crate::load::field_path(&field))
                        .help("export the dashboard from Grafana as JSON (Share > Export) and save it unchanged"),
                ),
                Ok(Value::Object(map)) if map.get("title").is_some_and(Value::is_string) => {
                    if !is_dns_label(&format!("grafana-dashboard-{stem}")) {
                        problems.push(
                            Diagnostic::error(format!("dashboard file name `{stem}` cannot name a ConfigMap"))
                                .at(at(1, 1), crate::load::field_path(&field))
                                .help("name the file with lowercase letters, digits and '-' (at most 45)"),
                        );
                        continue;
                    }
                    found.push(Dashboard {
                        name: stem,
                        folder: g.dashboards.folder.clone(),
                        text,
                        source: Some(shown),
                    });
                }
                Ok(_) => problems.push(
                    Diagnostic::error(format!("dashboard `{shown}` is not a dashboard: no `title`"))
                        .at(at(1, 1), crate::load::field_path(&field))
                        .help("a dashboard file is one JSON object with at least `title` and `panels`"),
                ),
            }
        }
        files.insert(dir.clone(), found);
    }
    (files, problems)
}

/// A datasource reference inside a dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The UID (or, in old dashboards, the name) it names.
    pub target: String,
}

/// Every concrete datasource a dashboard names, in document order. Template variables (`$ds`,
/// `${ds}`), Grafana's built-in ones (`-- Grafana --`, `-- Mixed --`, `-- Dashboard --`,
/// `grafana`) and empty values name no provisioned datasource and are skipped.
pub fn references(dashboard: &Value) -> Vec<Reference> {
    let mut out = Vec::new();
    walk(dashboard, &mut out);
    out
}

fn walk(value: &Value, out: &mut Vec<Reference>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "datasource" {
                    let named = match v {
                        Value::String(s) => Some(s.as_str()),
                        Value::Object(d) => d.get("uid").and_then(Value::as_str),
                        _ => None,
                    };
                    if let Some(target) = named.filter(|t| concrete(t)) {
                        out.push(Reference { target: target.to_string() });
                    }
                }
                walk(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
        _ => {}
    }
}

fn concrete(target: &str) -> bool {
    !(target.is_empty()
        || target.starts_with('$')
        || target.starts_with("-- ")
        || target == "grafana"
        || target == "default")
}

/// Line and column of the first place `needle` occurs in `text` (1-based), for diagnostics.
pub fn position_of(text: &str, needle: &str) -> (u32, u32) {
    match text.find(needle) {
        Some(at) => {
            let before = &text[..at];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
            (line as u32, column as u32)
        }
        None => (1, 1),
    }
}

// ---- generated dashboards ----

fn uid_of(kind: &str, name: &str) -> String {
    format!("obsc-{kind}-{name}").chars().take(MAX_UID).collect()
}

fn ds(kind: &str, uid: &str) -> Value {
    json!({ "type": kind, "uid": uid })
}

fn timeseries(id: u32, title: &str, datasource: Value, expr: &str, x: u32, y: u32) -> Value {
    json!({
        "id": id,
        "type": "timeseries",
        "title": title,
        "datasource": datasource.clone(),
        "gridPos": { "h": 6, "w": 8, "x": x, "y": y },
        "targets": [{ "refId": "A", "datasource": datasource, "expr": expr }],
    })
}

/// The overview of one environment: a row per managed namespace with its collector's health
/// (Thanos: the collector Deployment's available replicas), its log rate (Loki) and its span
/// rate (Mimir span metrics from Tempo's generator).
pub fn environment_overview(platform: &Platform, grafana: &Grafana, environment: &str) -> Option<Dashboard> {
    let env = platform.environments.get(environment)?;
    let loki = ds("loki", &backend_uid(Backend::Loki, environment));
    let mimir = env.mimir.is_some().then(|| ds("prometheus", &backend_uid(Backend::Mimir, environment)));
    let mut panels = Vec::new();
    let mut id = 1;
    let mut y = 0;
    let served = managed_namespaces(platform, grafana);
    for (ns, _) in
        platform.namespaces.iter().filter(|(n, ns)| ns.environment == environment && served.contains(&n.as_str()))
    {
        panels.push(json!({
            "id": id,
            "type": "row",
            "title": format!("{ns}"),
            "collapsed": false,
            "gridPos": { "h": 1, "w": 24, "x": 0, "y": y },
            "panels": [],
        }));
        id += 1;
        y += 1;
        if grafana.thanos.is_some() {
            panels.push(timeseries(
                id,
                "Collector replicas available",
                ds("prometheus", &thanos_uid(ns)),
                &format!(
                    "sum(kube_deployment_status_replicas_available{{namespace=\"{ns}\", deployment=\"{}\"}})",
                    crate::names::object::COLLECTOR
                ),
                0,
                y,
            ));
            id += 1;
        }
        panels.push(timeseries(
            id,
            "Log lines per second",
            loki.clone(),
            &format!("sum(rate({{namespace=\"{ns}\"}}[5m]))"),
            8,
            y,
        ));
        id += 1;
        if let Some(mimir) = &mimir {
            panels.push(timeseries(
                id,
                "Spans per second",
                mimir.clone(),
                &format!("sum(rate(traces_spanmetrics_calls_total{{k8s_namespace_name=\"{ns}\"}}[5m]))"),
                16,
                y,
            ));
            id += 1;
        }
        y += 6;
    }
    let dashboard = json!({
        "uid": uid_of("env", environment),
        "title": format!("Environment {environment}"),
        "description": "Generated by obsc from the platform topology: edit the topology, not this dashboard.",
        "tags": ["obsc", "environment"],
        "schemaVersion": SCHEMA_VERSION,
        "editable": false,
        "time": { "from": "now-6h", "to": "now" },
        "refresh": "1m",
        "panels": panels,
    });
    let text = serde_json::to_string_pretty(&dashboard).ok()? + "\n";
    Some(Dashboard { name: format!("env-{environment}"), folder: "Environments".to_string(), text, source: None })
}

/// Every dashboard obsc generates for a Grafana.
pub fn generated(platform: &Platform, grafana: &Grafana) -> Vec<Dashboard> {
    platform
        .environments
        .keys()
        .filter(|e| grafana.environments.contains(e))
        .filter_map(|e| environment_overview(platform, grafana, e))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_skip_variables_and_builtins() {
        let d = json!({
            "panels": [
                { "datasource": { "type": "loki", "uid": "loki-prod" }, "targets": [{ "datasource": "mimir-prod" }] },
                { "datasource": { "uid": "${ds}" } },
                { "datasource": "-- Grafana --" },
                { "datasource": null },
            ],
            "annotations": { "list": [{ "datasource": { "type": "grafana", "uid": "grafana" } }] },
        });
        let found: Vec<String> = references(&d).into_iter().map(|r| r.target).collect();
        assert_eq!(found, vec!["loki-prod", "mimir-prod"]);
    }

    #[test]
    fn positions_are_one_based() {
        assert_eq!(position_of("{\n  \"uid\": \"x\"\n}", "\"x\""), (2, 10));
        assert_eq!(position_of("abc", "zzz"), (1, 1));
    }
}
