//! Diff: a target's render compared with a directory of YAML, object by object.
//!
//! Objects are matched by apiVersion, kind, namespace and name, never by file name, so the
//! other side may be a previous render or manifests exported from a cluster. Fields a cluster
//! adds on its own are dropped before comparing. Both sides are compared in one canonical form
//! (keys sorted), and a changed object is shown as a unified diff of that form's YAML.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};
use similar::TextDiff;

use crate::diag::{Diagnostic, Diagnostics};
use crate::plan::{Object, ObjectKey};

/// What differs between a render and a directory.
#[derive(Debug, Default, Serialize)]
pub struct ObjectDiff {
    pub target: String,
    pub changed: Vec<Change>,
    pub added: Vec<ObjectKey>,
    pub removed: Vec<ObjectKey>,
}

#[derive(Debug, Serialize)]
pub struct Change {
    pub object: ObjectKey,
    /// Unified diff of the object's YAML, `against` first.
    pub diff: String,
}

impl ObjectDiff {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.added.is_empty() && self.removed.is_empty()
    }

    pub fn summary(&self) -> String {
        format!(
            "{}: {} changed, {} added, {} removed",
            self.target,
            self.changed.len(),
            self.added.len(),
            self.removed.len()
        )
    }

    /// The human report; `color` adds ANSI colours for a terminal.
    pub fn render(&self, color: bool) -> String {
        let paint =
            |code: &str, text: &str| if color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() };
        let mut out = String::new();
        for key in &self.added {
            let _ = writeln!(out, "{}", paint("32", &format!("+ added {key}")));
        }
        for key in &self.removed {
            let _ = writeln!(out, "{}", paint("31", &format!("- removed {key}")));
        }
        for change in &self.changed {
            let _ = writeln!(out, "{}", paint("33", &format!("~ changed {}", change.object)));
            for line in change.diff.lines() {
                let colored = if line.starts_with("+++") || line.starts_with("---") {
                    paint("1", line)
                } else if line.starts_with('+') {
                    paint("32", line)
                } else if line.starts_with('-') {
                    paint("31", line)
                } else if line.starts_with("@@") {
                    paint("36", line)
                } else {
                    line.to_string()
                };
                let _ = writeln!(out, "{colored}");
            }
        }
        let _ = writeln!(out, "{}", self.summary());
        out
    }
}

/// Compares the objects of a render with the documents found under `against`.
pub fn compare(target: &str, rendered: &[Object], against: &Path) -> Result<ObjectDiff, Diagnostics> {
    let theirs = read_objects(against)?;
    let mut ours = BTreeMap::new();
    for o in rendered {
        let value = serde_json::to_value(o).map_err(|e| one(format!("cannot compare {}: {e}", o.key())))?;
        ours.insert(o.key(), canonical(value));
    }
    let mut diff = ObjectDiff { target: target.to_string(), ..ObjectDiff::default() };
    for (key, value) in &ours {
        match theirs.get(key) {
            None => diff.added.push(key.clone()),
            Some(old) if old != value => {
                let old_text = crate::serial::yaml(old).unwrap_or_default();
                let new_text = crate::serial::yaml(value).unwrap_or_default();
                let text = TextDiff::from_lines(&old_text, &new_text)
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("{} (against)", key), &format!("{} (rendered)", key))
                    .to_string();
                diff.changed.push(Change { object: key.clone(), diff: text });
            }
            Some(_) => {}
        }
    }
    diff.removed = theirs.keys().filter(|k| !ours.contains_key(*k)).cloned().collect();
    Ok(diff)
}

fn one(message: String) -> Diagnostics {
    Diagnostics(vec![Diagnostic::error(message)])
}

/// Every Kubernetes object in the YAML files under `dir` (a `List` is opened up), keyed by
/// identity and in canonical form.
pub fn read_objects(dir: &Path) -> Result<BTreeMap<ObjectKey, Value>, Diagnostics> {
    let files = crate::emit::read_dir(dir).map_err(|e| one(format!("cannot read `{}`: {e}", dir.display())))?;
    let mut objects = BTreeMap::new();
    let mut problems = Diagnostics::default();
    for (path, bytes) in files {
        if !(path.ends_with(".yaml") || path.ends_with(".yml")) || path.ends_with("kustomization.yaml") {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        let documents: Vec<Value> = match serde_saphyr::from_multiple(&text) {
            Ok(docs) => docs,
            Err(e) => {
                problems.push(Diagnostic::error(format!("`{}/{path}` is not YAML: {e}", dir.display())));
                continue;
            }
        };
        for doc in documents {
            let items = match (doc.get("kind").and_then(Value::as_str), doc.get("items")) {
                (Some("List"), Some(Value::Array(items))) => items.clone(),
                _ => vec![doc],
            };
            for item in items {
                // Component config files (loki.yaml...) are YAML too, but not objects.
                let Some(key) = key_of(&item) else { continue };
                objects.insert(key, canonical(strip_cluster_fields(item)));
            }
        }
    }
    if problems.has_errors() {
        Err(problems)
    } else {
        Ok(objects)
    }
}

fn key_of(v: &Value) -> Option<ObjectKey> {
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    Some(ObjectKey {
        api_version: s(v.get("apiVersion"))?,
        kind: s(v.get("kind"))?,
        namespace: s(v.pointer("/metadata/namespace")).unwrap_or_default(),
        name: s(v.pointer("/metadata/name"))?,
    })
}

/// Drops what a cluster adds to an object on its own.
pub fn strip_cluster_fields(mut v: Value) -> Value {
    if let Some(map) = v.as_object_mut() {
        map.remove("status");
        if let Some(Value::Object(meta)) = map.get_mut("metadata") {
            for field in ["managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink"] {
                meta.remove(field);
            }
            if let Some(Value::Object(annotations)) = meta.get_mut("annotations") {
                annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
                if annotations.is_empty() {
                    meta.remove("annotations");
                }
            }
        }
    }
    v
}

/// Keys sorted at every level, so field order never shows as a difference.
fn canonical(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().map(|(k, v)| (k, canonical(v))).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().collect::<Map<String, Value>>())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// How a directory differs from the render of one target: objects compared as objects, every
/// other file (configs, values, kustomization) byte for byte.
#[derive(Debug, Default)]
pub struct Freshness {
    pub objects: ObjectDiff,
    pub other_files: Vec<String>,
}

impl Freshness {
    pub fn is_fresh(&self) -> bool {
        self.objects.is_empty() && self.other_files.is_empty()
    }
}

/// Compares `dir` with the files obsc would write there for `objects` (`build --check`).
pub fn freshness(
    target: &str,
    objects: &[Object],
    files: &crate::emit::Files,
    dir: &Path,
) -> Result<Freshness, Diagnostics> {
    let existing = crate::emit::read_dir(dir).unwrap_or_default();
    let diff = if dir.is_dir() {
        compare(target, objects, dir)?
    } else {
        ObjectDiff {
            target: target.to_string(),
            added: objects.iter().map(|o| o.key()).collect(),
            ..Default::default()
        }
    };
    let object_files: BTreeSet<String> = objects.iter().map(crate::emit::object_path).collect();
    let other_files: BTreeSet<String> = files
        .keys()
        .chain(existing.keys())
        .filter(|p| !object_files.contains(*p) && files.get(*p) != existing.get(*p))
        .cloned()
        .collect();
    Ok(Freshness { objects: diff, other_files: other_files.into_iter().collect() })
}
