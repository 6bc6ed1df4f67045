//! The collector's Alloy config and storage: browser logs labelled like pod logs, read positions
//! that outlive the pod, and no OTLP logs anywhere (issue 11, defects 12, 13 and 15).

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn obsc(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_obsc")).current_dir(root()).args(args).output().unwrap()
}

fn rendered(path: &str) -> String {
    std::fs::read_to_string(root().join("rendered").join(path)).unwrap()
}

/// Every managed namespace of the shipped platform, as `<target>/<namespace>`.
fn managed_namespaces() -> Vec<String> {
    let mut found = Vec::new();
    for target in ["dev", "test", "prod", "kind"] {
        for entry in std::fs::read_dir(root().join("rendered").join(target)).unwrap() {
            let dir = entry.unwrap().path();
            if dir.join("deployment-monitoring-collector.yaml").exists() {
                found.push(format!("{target}/{}", dir.file_name().unwrap().to_string_lossy()));
            }
        }
    }
    found.sort();
    assert!(found.len() >= 10, "found only {found:?}");
    found
}

/// Builds `target` of a platform made of the check cases' base and `extra` (Nickel merged into
/// it), returning the output directory.
fn build_with(extra: &str, target: &str) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    let base = root().join("tests/cases/base.ncl");
    let platform = dir.path().join("platform.ncl");
    std::fs::write(&platform, format!("(import \"{}\") & {extra}\n", base.display())).unwrap();
    let out = dir.path().join("out");
    let output = obsc(&["--platform", platform.to_str().unwrap(), "build", target, "-o", out.to_str().unwrap()]);
    (dir, output)
}

#[test]
fn browser_logs_carry_the_namespace_its_tier_and_a_known_app() {
    let config = rendered("prod/orders-prod/config/collector.alloy");
    // Fixed labels for the namespace and its tier; `app_name` copied from the Faro payload.
    assert!(
        config.contains(
            "faro.receiver \"browser\" {\n\textra_log_labels = {\n\t\tnamespace  = \"orders-prod\",\n\t\tlog_source = \"cdt\",\n\t\tapp_name   = \"\",\n\t}\n"
        ),
        "{config}"
    );
    // Browser logs go through the relabel step, which keeps only the namespace's Faro services
    // as `app` and never ships the raw payload field.
    assert!(config.contains("\toutput {\n\t\tlogs   = [loki.relabel.browser.receiver]\n"), "{config}");
    assert!(
        config.contains(
            "loki.relabel \"browser\" {\n\tforward_to = [loki.write.environment.receiver]\n\n\trule {\n\t\tsource_labels = [\"app_name\"]\n\t\ttarget_label  = \"app\"\n\t\tregex         = \"(orders-web)\"\n\t}\n\n\trule {\n\t\taction = \"labeldrop\"\n\t\tregex  = \"app_name\"\n\t}\n}\n"
        ),
        "{config}"
    );
}

#[test]
fn browser_logs_of_a_partner_namespace_get_its_tier() {
    let (dir, out) = build_with(
        r#"{ namespaces.partner-prod.services.portal = { language = 'nodejs, public_url = "https://portal.example.org", faro = { enabled = true, proxy = { enabled = true, upstreamUrl = "http://alloy:12347" } } } }"#,
        "prod",
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let config = std::fs::read_to_string(dir.path().join("out/prod/partner-prod/config/collector.alloy")).unwrap();
    assert!(config.contains("\t\tnamespace  = \"partner-prod\",\n\t\tlog_source = \"partner-team\",\n"), "{config}");
    assert!(config.contains("\t\tregex         = \"(portal)\"\n"), "{config}");
}

#[test]
fn every_collector_keeps_its_storage_on_a_claim() {
    for ns in managed_namespaces() {
        let claim = rendered(&format!("{ns}/persistentvolumeclaim-monitoring-collector-storage.yaml"));
        let name = ns.split('/').nth(1).unwrap();
        assert!(
            claim.contains(&format!("  name: monitoring-collector-storage\n  namespace: {name}\n")),
            "{ns}:\n{claim}"
        );
        assert!(claim.contains("  accessModes:\n  - ReadWriteOnce\n"), "{ns}:\n{claim}");
        assert!(claim.contains("      storage: 1Gi\n"), "{ns}:\n{claim}");
        // No class in the topology: the cluster's default class provisions it.
        assert!(!claim.contains("storageClassName"), "{ns}:\n{claim}");

        let deployment = rendered(&format!("{ns}/deployment-monitoring-collector.yaml"));
        assert!(deployment.contains("        - --storage.path=/var/lib/alloy/data\n"), "{ns}:\n{deployment}");
        assert!(
            deployment.contains("        - mountPath: /var/lib/alloy\n          name: storage\n"),
            "{ns}:\n{deployment}"
        );
        assert!(
            deployment.contains(
                "      - name: storage\n        persistentVolumeClaim:\n          claimName: monitoring-collector-storage\n"
            ),
            "{ns}:\n{deployment}"
        );
        // The old pod releases the claim before the new one mounts it.
        assert!(deployment.contains("  replicas: 1\n"), "{ns}:\n{deployment}");
        assert!(deployment.contains("  strategy:\n    type: Recreate\n"), "{ns}:\n{deployment}");
    }
}

#[test]
fn the_claim_takes_its_size_and_class_from_the_topology() {
    let (dir, out) = build_with(
        r#"{ collector.storage.class = "fast.ssd-1", namespaces.partner-prod.collector.storage.size = "5Gi" }"#,
        "prod",
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let claim = |ns: &str| {
        std::fs::read_to_string(
            dir.path().join(format!("out/prod/{ns}/persistentvolumeclaim-monitoring-collector-storage.yaml")),
        )
        .unwrap()
    };
    let shop = claim("shop-prod");
    assert!(shop.contains("      storage: 1Gi\n  storageClassName: fast.ssd-1\n"), "{shop}");
    // A namespace's own storage replaces the platform's, class included.
    let partner = claim("partner-prod");
    assert!(partner.contains("      storage: 5Gi\n"), "{partner}");
    assert!(!partner.contains("storageClassName"), "{partner}");
}

#[test]
fn a_storage_class_that_is_no_name_is_refused_at_its_line() {
    let (_dir, out) = build_with(r#"{ collector.storage.class = "Fast SSD" }"#, "prod");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`Fast SSD` is not a StorageClass name"), "{stderr}");
    assert!(stderr.contains("platform.ncl:1:"), "{stderr}");
}

#[test]
fn no_service_is_pointed_at_an_otlp_logs_receiver_that_does_not_exist() {
    for ns in managed_namespaces() {
        let config = rendered(&format!("{ns}/config/collector.alloy"));
        // The design keeps logs off OTLP: the receiver has no logs output...
        let Some(start) = config.find("otelcol.receiver.otlp \"apps\" {") else { continue };
        let receiver = &config[start..start + config[start..].find("\n}\n").unwrap()];
        assert!(!receiver.contains("logs"), "{ns}:\n{receiver}");
        // ...so every service that sends OTLP here is told not to export logs.
        for entry in std::fs::read_dir(root().join("rendered").join(&ns)).unwrap() {
            let path = entry.unwrap().path();
            let file = path.file_name().unwrap().to_string_lossy().to_string();
            if file.starts_with("configmap-otel-") {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(text.contains("  OTEL_LOGS_EXPORTER: none\n"), "{ns}/{file}:\n{text}");
            }
        }
    }
}
