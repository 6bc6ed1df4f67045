//! What every test binary shares: the project root, running the real `obsc`, the shipped
//! platform built once per test binary, and readers for what a build writes.
//!
//! A test file uses it with `mod common;` and takes what it needs; each binary uses a different
//! part, hence the `dead_code` allowance.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// The project root: where `environments/`, `rendered/` and `tests/cases/` are.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `obsc` binary of this build from the project root, without colour.
pub fn obsc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_obsc"))
        .current_dir(root())
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run obsc {args:?}: {e}"))
}

/// Output bytes as text (lossy: a test compares it, never trusts it).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The shipped platform (`environments/platform.ncl`) as `obsc build --all` writes it today:
/// one directory per target. Built once per test binary, on first use, into a fresh directory
/// under Cargo's temporary directory for tests (`target/tmp`, removed by `cargo clean`). A static
/// is never dropped, so the directory outlives the run and can be inspected after a failure.
pub fn shipped() -> &'static Path {
    static BUILD: OnceLock<PathBuf> = OnceLock::new();
    BUILD.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix(concat!("shipped-", env!("CARGO_CRATE_NAME"), "-"))
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("a temporary directory under target/tmp")
            .keep();
        let out = obsc(&["build", "--all", "-o", dir.to_str().expect("a UTF-8 path")]);
        assert!(out.status.success(), "obsc build --all failed:\n{}", text(&out.stderr));
        dir
    })
}

/// A file's text; a relative path is taken from the project root (`rendered/...`), an absolute
/// one as it is (`shipped().join(...)`).
pub fn read(path: impl AsRef<Path>) -> String {
    let path = root().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// One YAML document as a JSON value (numbers, strings and booleans as YAML 1.2 reads them).
pub fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"))
}

/// A file of the shipped build, relative to its root: `shipped_file("prod/ca7f8f-prod/config/loki.yaml")`.
pub fn shipped_file(rel: &str) -> String {
    read(shipped().join(rel))
}

/// The objects a build wrote for one namespace of one target (`<target>/<namespace>/*.yaml`;
/// the `config/` and `values/` files beside them are not objects), in file order.
pub fn objects(target: &str, namespace: &str) -> Vec<Value> {
    let dir = shipped().join(target).join(namespace);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files.iter().map(|f| yaml(&read(f))).collect()
}

/// The object of `kind` named `name` among `objects`, or a panic that says which is missing.
pub fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name} among {} objects", objects.len()))
}

/// Every object of `kind` among `objects`.
pub fn all_of<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

/// Whether a label selector (`spec.selector` of a Service, `matchLabels` of a workload) picks
/// pods carrying `labels`: every key of the selector has the same value there.
pub fn selects(selector: &Value, labels: &Value) -> bool {
    let Some(wanted) = selector.as_object() else { return false };
    !wanted.is_empty() && wanted.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// A JSON array as a slice (empty when the value is missing or not an array).
pub fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}
