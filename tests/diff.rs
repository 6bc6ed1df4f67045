//! `obsc diff`: a small platform's render, edited in known ways, compared object by object.

mod common;

use std::fs;
use std::path::Path;

use common::obsc;

const SMALL: &str = "tests/cases/base.ncl";

/// Renders the small platform's dev target into a temporary directory.
fn render_dev() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = obsc(&["--platform", SMALL, "build", "dev", "-o", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dir
}

fn diff(against: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--platform", SMALL, "--color", "never", "diff", "dev", "--against", against.to_str().unwrap()];
    args.extend_from_slice(extra);
    obsc(&args)
}

#[test]
fn an_unchanged_render_has_no_difference() {
    let dir = render_dev();
    let out = diff(&dir.path().join("dev"), &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "dev: 0 changed, 0 added, 0 removed\n");
}

#[test]
fn changed_added_removed_and_cluster_fields_only() {
    let dir = render_dev();
    let dev = dir.path().join("dev");
    // Changed: the collector Service's OTLP gRPC port, in a renamed file (matching is by object).
    let service = fs::read_to_string(dev.join("shop-dev/service-alloy.yaml")).unwrap();
    fs::remove_file(dev.join("shop-dev/service-alloy.yaml")).unwrap();
    fs::write(dev.join("shop-dev/renamed.yaml"), service.replace("port: 4317", "port: 4327")).unwrap();
    // Added (by the render): its file is gone from the other side.
    fs::remove_file(dev.join("shop-dev/role-monitoring-collector.yaml")).unwrap();
    // Removed (from the render): an object only the other side has.
    fs::write(
        dev.join("shop-dev/legacy.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: legacy\n  namespace: shop-dev\ndata:\n  a: b\n",
    )
    .unwrap();
    // Cluster-added fields only: not a difference.
    let account = fs::read_to_string(dev.join("shop-dev/serviceaccount-monitoring-collector.yaml")).unwrap();
    let exported = account.replace(
        "metadata:\n",
        "metadata:\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{}'\n  creationTimestamp: \"2026-01-01T00:00:00Z\"\n  generation: 3\n  managedFields:\n  - manager: kubectl\n  resourceVersion: \"12345\"\n  uid: 0f4c7a3e-1b2d-4e5f-8a9b-0c1d2e3f4a5b\n",
    ) + "status: {}\n";
    fs::write(dev.join("shop-dev/serviceaccount-monitoring-collector.yaml"), exported).unwrap();

    let out = diff(&dev, &[]);
    assert_eq!(out.status.code(), Some(1));
    let expected = "\
+ added Role/monitoring-collector in shop-dev
- removed ConfigMap/legacy in shop-dev
~ changed Service/alloy in shop-dev
--- Service/alloy in shop-dev (against)
+++ Service/alloy in shop-dev (rendered)
@@ -12,7 +12,7 @@
 spec:
   ports:
   - name: otlp-grpc
-    port: 4327
+    port: 4317
     protocol: TCP
     targetPort: otlp-grpc
   - name: otlp-http
dev: 1 changed, 1 added, 1 removed
";
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);

    let json = diff(&dev, &["--format", "json"]);
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["target"], "dev");
    assert_eq!(v["added"][0]["kind"], "Role");
    assert_eq!(v["removed"][0]["name"], "legacy");
    assert_eq!(v["changed"][0]["object"]["kind"], "Service");
    assert_eq!(v["changed"].as_array().unwrap().len(), 1);
}

#[test]
fn colour_is_used_only_when_asked() {
    let dir = render_dev();
    let dev = dir.path().join("dev");
    fs::remove_file(dev.join("shop-dev/role-monitoring-collector.yaml")).unwrap();
    let plain = diff(&dev, &[]);
    assert!(!String::from_utf8_lossy(&plain.stdout).contains('\x1b'));
    let args = ["--platform", SMALL, "--color", "always", "diff", "dev", "--against", dev.to_str().unwrap()];
    let colored = obsc(&args);
    assert!(String::from_utf8_lossy(&colored.stdout)
        .contains("\x1b[32m+ added Role/monitoring-collector in shop-dev\x1b[0m"));
}

#[test]
fn errors_exit_2() {
    let missing = diff(Path::new("/nonexistent/render"), &[]);
    assert_eq!(missing.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("bad.yaml"), "a: [unclosed\n").unwrap();
    assert_eq!(diff(dir.path(), &[]).status.code(), Some(2));
    let invalid = obsc(&[
        "--platform",
        "tests/cases/routing-unknown-environment.ncl",
        "diff",
        "dev",
        "--against",
        "rendered/dev",
    ]);
    assert_eq!(invalid.status.code(), Some(2));
}
