//! The committed render (`rendered/`) is what `obsc build --all` produces today, and every file
//! in it passes the real Kubernetes OpenAPI schema of the target version in strict mode and
//! `kubectl kustomize`. These tools must be installed (scripts/test does it); a missing tool is a
//! failure, not a skip.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{obsc, root};

/// The Kubernetes version obsc targets (k8s-openapi feature `v1_33`).
const KUBERNETES_VERSION: &str = "1.33.0";

/// The object files of every target under `dir`: exactly what each kustomization.yaml lists
/// (the config and values files beside them are not Kubernetes objects).
fn yaml_objects(dir: &Path, out: &mut Vec<PathBuf>) {
    let kustomization = dir.join("kustomization.yaml");
    if kustomization.is_file() {
        let text = std::fs::read_to_string(&kustomization).unwrap();
        out.extend(text.lines().filter_map(|l| l.strip_prefix("- ")).map(|r| dir.join(r)));
        return;
    }
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_objects(&path, out);
        }
    }
}

#[test]
fn committed_render_is_current() {
    let output = obsc(&["build", "--all", "-o", "rendered", "--check"]);
    assert!(
        output.status.success(),
        "rendered/ is stale: run `cargo run --release -- build --all -o rendered`\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_object_passes_strict_openapi_validation() {
    let mut files = Vec::new();
    yaml_objects(&root().join("rendered"), &mut files);
    files.sort();
    assert!(files.len() > 50, "expected the whole render, found {} files", files.len());
    // OpenShift's Route has no schema in the package; every other kind must validate, and the
    // exit code must say so.
    let (routes, files): (Vec<PathBuf>, Vec<PathBuf>) =
        files.into_iter().partition(|f| f.file_name().is_some_and(|n| n.to_string_lossy().starts_with("route-")));
    assert!(!routes.is_empty(), "the shipped platform has Routes");
    let output = Command::new("kubernetes-validate")
        .args(["--strict", "-k", KUBERNETES_VERSION])
        .args(&files)
        .output()
        .expect("kubernetes-validate must be installed: run scripts/test");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let passed = text.lines().filter(|l| l.starts_with("INFO") && l.contains(" passed for resource ")).count();
    assert_eq!(passed, files.len(), "every file must be reported valid:\n{text}");
    assert!(output.status.success(), "kubernetes-validate failed:\n{text}");
}

#[test]
fn every_target_builds_with_kubectl_kustomize() {
    let mut targets: Vec<PathBuf> =
        std::fs::read_dir(root().join("rendered")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    targets.sort();
    assert!(targets.len() >= 4);
    for target in targets {
        let output = Command::new("kubectl").arg("kustomize").arg(&target).output().expect("kubectl must be installed");
        assert!(
            output.status.success(),
            "kubectl kustomize {} failed:\n{}",
            target.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        let documents = String::from_utf8_lossy(&output.stdout).matches("\nkind: ").count()
            + usize::from(String::from_utf8_lossy(&output.stdout).starts_with("kind: "));
        let mut files = Vec::new();
        yaml_objects(&target, &mut files);
        assert!(
            documents >= files.len(),
            "{}: kustomize emitted {documents} objects for {} files",
            target.display(),
            files.len()
        );
    }
}
