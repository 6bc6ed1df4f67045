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
    // OpenShift's Route and the Prometheus Operator's PodMonitor and PrometheusRule have no
    // schema in the package (the last two are validated against their CRDs' below); every
    // other kind must validate, and the exit code must say so.
    let (custom, files): (Vec<PathBuf>, Vec<PathBuf>) = files.into_iter().partition(|f| is_custom(f));
    let routes = custom.iter().filter(|f| f.file_name().is_some_and(|n| n.to_string_lossy().starts_with("route-")));
    assert!(routes.count() > 0, "the shipped platform has Routes");
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

/// The custom kinds kubernetes-validate has no schema for, by their files' prefix.
fn is_custom(file: &Path) -> bool {
    file.file_name().is_some_and(|n| {
        let n = n.to_string_lossy();
        ["route-", "podmonitor-", "prometheusrule-"].iter().any(|p| n.starts_with(p))
    })
}

/// Validates YAML files against a JSON schema with Python's jsonschema (kubernetes-validate's
/// own dependency, so scripts/test installs it); returns each file's verdict.
fn json_schema_verdicts(schema: &Path, files: &[PathBuf]) -> Vec<String> {
    let script = r#"
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
for path in sys.argv[2:]:
    errors = sorted(e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(yaml.safe_load(open(path))))
    print(path + ": " + ("ok" if not errors else "; ".join(errors)))
"#;
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(schema)
        .args(files)
        .output()
        .expect("python3 with jsonschema and PyYAML (kubernetes-validate's) must be installed: run scripts/test");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect()
}

/// The committed render's objects of one custom kind (their files start with `prefix`), each
/// valid against the `schema` subset of its CRD; and each of `breakages` (a text and what
/// replaces its first occurrence in the first object) refused as an unknown field.
fn crd_objects_pass(prefix: &str, expected: usize, schema: &str, breakages: &[(&str, &str)]) {
    let mut files = Vec::new();
    yaml_objects(&root().join("rendered"), &mut files);
    files.retain(|f| f.file_name().is_some_and(|n| n.to_string_lossy().starts_with(prefix)));
    files.sort();
    assert_eq!(files.len(), expected, "{files:#?}");
    let schema = root().join("tests/schemas").join(schema);
    for verdict in json_schema_verdicts(&schema, &files) {
        assert!(verdict.ends_with(": ok"), "{verdict}");
    }
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(&files[0]).unwrap();
    let mut broken = Vec::new();
    for (i, (from, to)) in breakages.iter().enumerate() {
        let text = good.replacen(from, to, 1);
        assert_ne!(text, good, "the edit `{from}` applies");
        let path = dir.path().join(format!("broken-{i}.yaml"));
        std::fs::write(&path, text).unwrap();
        broken.push(path);
    }
    for verdict in json_schema_verdicts(&schema, &broken) {
        assert!(verdict.contains("Additional properties are not allowed"), "{verdict}");
    }
}

#[test]
fn every_pod_monitor_passes_its_crd_schema() {
    // Every component the shipped platform runs on the licence-plate cluster: 9 collectors,
    // Loki, Tempo and Mimir of dev, test and prod, the Grafana, the single SeaweedFS server and
    // the HA instance's 4 roles; kind does not scrape (no Prometheus Operator there). An unknown
    // field, a misspelt selector: refused.
    crd_objects_pass(
        "podmonitor-",
        9 + 3 * 3 + 1 + 1 + 4,
        "podmonitor-v1.json",
        &[("- port: ", "- prot: "), ("  selector:", "  selektor:")],
    );
}

#[test]
fn every_prometheus_rule_passes_its_crd_schema() {
    // One in every namespace scraped: 9 managed, 3 monitoring, the tools namespace.
    crd_objects_pass("prometheusrule-", 9 + 3 + 1, "prometheusrule-v1.json", &[("      for: ", "      fro: ")]);
}
