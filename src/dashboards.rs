//! Dashboards: the hand-written JSON files of a directory of the project, read once with the
//! datasource references each one makes (so the checker can prove they resolve). They become
//! ConfigMaps the Grafana sidecar collects; the dashboards obsc generates are the renderer's
//! (`render::grafana::dashboards`). The only place besides `load` that sees JSON values.
//!
//! A directory is read relative to the project root, the parent of the platform file's
//! directory (`environments/platform.ncl` -> `.`), so `dashboards/` sits beside `environments/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::diag::{field_path, Diagnostic, Diagnostics, Location};
use crate::load::SourceMap;
use crate::model::Platform;
use crate::names::is_dns_label;

/// One dashboard file, ready for a ConfigMap.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    /// The ConfigMap suffix and file name stem: a DNS label.
    pub name: String,
    pub folder: String,
    pub text: String,
    /// Where it was read from.
    pub source: String,
    /// The concrete datasources it names, each once, in document order.
    pub references: Vec<Reference>,
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
                        .at(sources.value(&field), field_path(&field))
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
                        .at(at(e.line(), e.column()), field_path(&field))
                        .help("export the dashboard from Grafana as JSON (Share > Export) and save it unchanged"),
                ),
                Ok(Value::Object(map)) if map.get("title").is_some_and(Value::is_string) => {
                    if !is_dns_label(&format!("grafana-dashboard-{stem}")) {
                        problems.push(
                            Diagnostic::error(format!("dashboard file name `{stem}` cannot name a ConfigMap"))
                                .at(at(1, 1), field_path(&field))
                                .help("name the file with lowercase letters, digits and '-' (at most 45)"),
                        );
                        continue;
                    }
                    let references = references(&Value::Object(map), &text);
                    found.push(Dashboard {
                        name: stem,
                        folder: g.dashboards.folder.clone(),
                        text,
                        source: shown,
                        references,
                    });
                }
                Ok(_) => problems.push(
                    Diagnostic::error(format!("dashboard `{shown}` is not a dashboard: no `title`"))
                        .at(at(1, 1), field_path(&field))
                        .help("a dashboard file is one JSON object with at least `title` and `panels`"),
                ),
            }
        }
        files.insert(dir.clone(), found);
    }
    (files, problems)
}

/// A datasource reference inside a dashboard file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The UID (or, in old dashboards, the name) it names.
    pub target: String,
    /// Where it is first written (1-based).
    pub line: u32,
    pub column: u32,
}

/// Every concrete datasource a dashboard names, each once, in document order. Template
/// variables (`$ds`, `${ds}`), Grafana's built-in ones (`-- Grafana --`, `-- Mixed --`,
/// `-- Dashboard --`, `grafana`) and empty values name no provisioned datasource and are skipped.
pub fn references(dashboard: &Value, text: &str) -> Vec<Reference> {
    let mut targets = Vec::new();
    walk(dashboard, &mut targets);
    let mut seen = std::collections::BTreeSet::new();
    targets
        .into_iter()
        .filter(|t| seen.insert(t.clone()))
        .map(|target| {
            let (line, column) = position_of(text, &format!("\"{target}\""));
            Reference { target, line, column }
        })
        .collect()
}

fn walk(value: &Value, out: &mut Vec<String>) {
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
                        out.push(target.to_string());
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
fn position_of(text: &str, needle: &str) -> (u32, u32) {
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

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

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
        let found: Vec<String> = references(&d, "").into_iter().map(|r| r.target).collect();
        assert_eq!(found, vec!["loki-prod", "mimir-prod"]);
    }

    #[test]
    fn positions_are_one_based() {
        assert_eq!(position_of("{\n  \"uid\": \"x\"\n}", "\"x\""), (2, 10));
        assert_eq!(position_of("abc", "zzz"), (1, 1));
    }
}
