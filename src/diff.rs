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
use crate::facts::addresses;
use crate::model::Platform;
use crate::plan::{Object, ObjectKey, Plan};

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
        ours.insert(o.key(), value_of(o)?);
    }
    Ok(between(target, &ours, &theirs, ("against", "rendered")))
}

fn value_of(o: &Object) -> Result<Value, Diagnostics> {
    let value = serde_json::to_value(o).map_err(|e| one(format!("cannot compare {}: {e}", o.key())))?;
    Ok(canonical(value))
}

/// What differs from `theirs` to `ours`, object by object; `labels` name the two sides in
/// each object's diff header.
fn between(
    target: &str,
    ours: &BTreeMap<ObjectKey, Value>,
    theirs: &BTreeMap<ObjectKey, Value>,
    (their_label, our_label): (&str, &str),
) -> ObjectDiff {
    let mut diff = ObjectDiff { target: target.to_string(), ..ObjectDiff::default() };
    for (key, value) in ours {
        match theirs.get(key) {
            None => diff.added.push(key.clone()),
            Some(old) if old != value => {
                let old_text = crate::serial::yaml(old).unwrap_or_default();
                let new_text = crate::serial::yaml(value).unwrap_or_default();
                let text = TextDiff::from_lines(&old_text, &new_text)
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("{key} ({their_label})"), &format!("{key} ({our_label})"))
                    .to_string();
                diff.changed.push(Change { object: key.clone(), diff: text });
            }
            Some(_) => {}
        }
    }
    diff.removed = theirs.keys().filter(|k| !ours.contains_key(*k)).cloned().collect();
    diff
}

/// What promoting environment `from` to `to` would change in `to` (`obsc promote`): each
/// environment's own objects (those in its monitoring namespace and its managed namespaces;
/// a Grafana's are no environment's own: it serves several) with the environment's name
/// written `<env>` wherever it stands as a word (`ca7f8f-test`, `loki-test`, `orders-test.svc`,
/// `(environment test)`: not inside a longer word or a path), then compared object by object
/// as `obsc diff` compares. Pod templates' config hashes are left out: the configs are
/// compared in their ConfigMaps. A namespace whose name does not carry its environment's shows
/// as added on one side and removed on the other.
pub fn promotion(platform: &Platform, plan: &Plan, from: &str, to: &str) -> Result<ObjectDiff, Diagnostics> {
    let ours = neutral_objects(platform, plan, from)?;
    let theirs = neutral_objects(platform, plan, to)?;
    Ok(between(&format!("{from} -> {to}"), &ours, &theirs, (&format!("{to} now"), &format!("{from} promoted"))))
}

fn neutral_objects(platform: &Platform, plan: &Plan, env: &str) -> Result<BTreeMap<ObjectKey, Value>, Diagnostics> {
    let Some(environment) = platform.environments.get(env) else {
        return Err(one(format!("`{env}` is not an environment")));
    };
    let mut namespaces: BTreeSet<&str> = platform.namespaces_of(env).map(|(name, _)| name.as_str()).collect();
    namespaces.insert(&environment.monitoring_namespace);
    let grafana = |o: &Object| {
        o.metadata().labels.as_ref().and_then(|l| l.get(addresses::NAME_LABEL)).map(String::as_str)
            == Some(addresses::grafana::NAME)
    };
    let mut out = BTreeMap::new();
    for o in plan.targets.values().flat_map(|t| &t.objects) {
        if !namespaces.contains(o.namespace()) || grafana(o) {
            continue;
        }
        let mut value = neutral(value_of(o)?, env);
        // The config hash follows the config text, which differs by the environment's name
        // and is compared in its ConfigMap beside.
        if let Some(Value::Object(annotations)) = value.pointer_mut("/spec/template/metadata/annotations") {
            annotations.remove(crate::names::CONFIG_HASH_ANNOTATION);
        }
        if let Some(key) = key_of(&value) {
            out.insert(key, value);
        }
    }
    Ok(out)
}

/// `value` with `env` written `<env>` where it stands as a word of a string or key.
fn neutral(value: Value, env: &str) -> Value {
    match value {
        Value::String(s) => Value::String(neutral_text(&s, env)),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| neutral(v, env)).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (neutral_text(&k, env), neutral(v, env))).collect())
        }
        other => other,
    }
}

fn neutral_text(text: &str, env: &str) -> String {
    if env.is_empty() || !text.contains(env) {
        return text.to_string();
    }
    // A word ends at anything but a letter, a digit or `/` (`/dev/shm` is a path, not `dev`).
    let joiner = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '/'));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut before: Option<char> = None;
    while let Some(at) = rest.find(env) {
        let prior = rest[..at].chars().next_back().or(if at == 0 { before } else { None });
        let after = rest[at + env.len()..].chars().next();
        out.push_str(&rest[..at]);
        if joiner(prior) && joiner(after) {
            out.push_str("<env>");
        } else {
            out.push_str(env);
        }
        before = env.chars().next_back();
        rest = &rest[at + env.len()..];
    }
    out.push_str(rest);
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_environment_is_neutral_where_it_stands_as_a_word() {
        let cases = [
            ("ca7f8f-test", "ca7f8f-<env>"),
            ("http://loki-read.ca7f8f-test.svc:3100", "http://loki-read.ca7f8f-<env>.svc:3100"),
            (
                "// Collector of namespace orders-test (environment test).",
                "// Collector of namespace orders-<env> (environment <env>).",
            ),
            ("\"test\"", "\"<env>\""),
            ("latest contest tests test1", "latest contest tests test1"),
            ("/test/data and /var/test", "/test/data and /var/test"),
            ("testtest", "testtest"),
            ("test-test", "<env>-<env>"),
        ];
        for (text, expected) in cases {
            assert_eq!(neutral_text(text, "test"), expected, "{text}");
        }
    }
}
