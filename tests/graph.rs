//! `obsc graph`: the shipped platform's drawing is committed (docs/topology.mmd), stays current,
//! and is valid Mermaid according to Mermaid's own parser (npm, offline; scripts/test installs it).

mod common;

use std::process::Command;

use common::{obsc, root};

fn graph(format: &str) -> String {
    let out = obsc(&["graph", "--format", format]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_committed_mermaid_drawing_is_current() {
    let committed = std::fs::read_to_string(root().join("docs/topology.mmd")).unwrap();
    assert_eq!(graph("mermaid"), committed, "run `cargo run -- graph > docs/topology.mmd`");
}

#[test]
fn the_drawing_parses_as_a_mermaid_flowchart() {
    let out = Command::new("node")
        .current_dir(root())
        .args(["tests/mermaid/parse.mjs", "docs/topology.mmd"])
        .output()
        .expect("node must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.trim(), "parsed: flowchart-v2");
}

#[test]
fn the_parser_rejects_a_broken_drawing() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.mmd");
    std::fs::write(&broken, graph("mermaid").replace("-->|logs|", "-->|logs")).unwrap();
    let out = Command::new("node").current_dir(root()).arg("tests/mermaid/parse.mjs").arg(&broken).output().unwrap();
    assert!(!out.status.success());
}

#[test]
fn flows_follow_the_topology() {
    let mermaid = graph("mermaid");
    // Logs are the original pipeline (solid); traces and metrics are Phase 1 (dashed).
    assert!(mermaid.contains("  ns_orders_prod -->|logs| loki_prod\n"));
    assert!(mermaid.contains("  ns_orders_prod -.->|traces| tempo_prod\n"));
    assert!(mermaid.contains("  ns_orders_prod -.->|metrics| mimir_prod\n"));
    assert!(mermaid.contains("  loki_prod -->|S3| storage_seaweedfs_ha\n"));
    assert!(mermaid.contains("  loki_dev -->|S3| storage_seaweedfs_dev\n"));
    // Phase 3 is off in the shipped environments; only kind's profiling service sends profiles.
    let profiles: Vec<&str> = mermaid.lines().filter(|l| l.contains("|profiles|")).collect();
    assert_eq!(profiles, vec!["  ns_demo_shop -.->|profiles| pyroscope_kind"]);
    // Browser telemetry goes where a service opted in.
    assert!(mermaid.contains("  ns_orders_prod -.->|faro| loki_prod\n"));
    assert!(!mermaid.contains("  ns_payments_prod -.->|faro|"));
    // No namespace ever ships to another environment.
    for line in mermaid.lines().filter(|l| l.starts_with("  ns_")) {
        let node = line.split_whitespace().next().unwrap();
        // The shipped namespaces end in their environment's name, but kind's demo namespaces.
        let env = if node.starts_with("ns_demo_") { "kind" } else { node.rsplit('_').next().unwrap() };
        assert!(line.ends_with(&format!("_{env}")), "{line}");
    }
    let dot = graph("dot");
    assert!(dot.starts_with("digraph platform {\n"));
    assert!(dot.contains("  ns_orders_prod -> tempo_prod [label=\"traces\", style=dashed];\n"));
    assert_eq!(graph("mermaid"), mermaid, "deterministic");
}

#[test]
fn with_monitoring_the_drawing_shows_what_the_stack_scrapes() {
    assert!(!graph("mermaid").contains("scrapes"), "only when asked");
    let out = obsc(&["graph", "--with-monitoring"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    // 9 collectors, Loki, Tempo and Mimir of 3 environments, the Grafana, 2 storage instances.
    assert_eq!(text.matches("|scrapes|").count(), 9 + 9 + 1 + 2, "{text}");
    assert!(text.contains("scraper_openshift_user_workload_monitoring -.->|scrapes| ns_orders_prod\n"), "{text}");
    assert!(text.contains("scraper_openshift_user_workload_monitoring -.->|scrapes| storage_seaweedfs_ha\n"), "{text}");
    assert!(!text.contains("|scrapes| ns_demo_shop"), "kind does not scrape: {text}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("monitoring.mmd");
    std::fs::write(&file, &text).unwrap();
    let out = Command::new("node").current_dir(root()).arg("tests/mermaid/parse.mjs").arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "parsed: flowchart-v2");
}
