//! The Nickel sources are as `nickel format` (1.18) writes them, so a review diff shows only
//! what changed. scripts/test installs the nickel CLI; a missing one is a failure, not a skip.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::root;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "ncl") {
            out.push(path);
        }
    }
}

#[test]
fn every_nickel_file_is_formatted() {
    let mut files = Vec::new();
    for dir in ["modules", "environments", "tests/cases"] {
        sources(&root().join(dir), &mut files);
    }
    files.sort();
    // The malformed-Nickel case cannot be formatted, by design.
    files.retain(|f| !f.ends_with("tests/cases/load-syntax-error.ncl"));
    assert!(files.len() > 40, "found only {} Nickel files", files.len());
    let unformatted: Vec<String> = files
        .iter()
        .filter(|f| {
            let status = Command::new("nickel")
                .args(["format", "--check"])
                .arg(f)
                .output()
                .expect("the nickel CLI must be installed: run scripts/test");
            !status.status.success()
        })
        .map(|f| f.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert!(unformatted.is_empty(), "not as `nickel format` writes them: {unformatted:?}");
}
