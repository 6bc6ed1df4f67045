//! `obsc promote`: two environments' own objects, names made neutral, compared as `obsc diff`
//! compares, with its exit codes.

mod common;

use common::{obsc, text};

const SMALL: &str = "tests/cases/base.ncl";

fn promote(platform: &str, from: &str, to: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--platform", platform, "--color", "never", "promote", from, to];
    args.extend_from_slice(extra);
    obsc(&args)
}

#[test]
fn an_environment_promoted_onto_itself_changes_nothing() {
    let out = promote(SMALL, "prod", "prod", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "prod -> prod: 0 changed, 0 added, 0 removed\n");
}

#[test]
fn promoting_dev_to_prod_shows_what_prod_would_gain_and_lose() {
    // The small platform's dev and prod differ in their storage (dev's single SeaweedFS,
    // prod's HA one), their managed namespaces (prod has partner-prod, dev none like it) and
    // their retention; the names that carry the environment (`0b5c0b-dev`, `shop-dev`) match.
    let out = promote(SMALL, "dev", "prod", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    let summary = report.lines().last().unwrap();
    assert!(summary.starts_with("dev -> prod: "), "{summary}");
    assert!(report.contains("- removed Deployment/monitoring-collector in partner-<env>"), "{report}");
    assert!(
        !report.contains("Deployment/monitoring-collector in shop-<env>\n"),
        "shop-dev and shop-prod match: {report}"
    );
    assert!(
        report.contains(
            "--- ConfigMap/loki in 0b5c0b-<env> (prod now)\n+++ ConfigMap/loki in 0b5c0b-<env> (dev promoted)"
        ),
        "{report}"
    );
    assert!(!report.contains("config-sha256"), "config hashes are compared as their configs: {report}");
    assert!(!report.contains("grafana"), "a Grafana is no environment's own: {report}");
}

#[test]
fn the_json_lists_changed_added_and_removed() {
    let out = promote(SMALL, "dev", "prod", &["--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let diff: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(diff["target"], "dev -> prod");
    let removed: Vec<&str> =
        diff["removed"].as_array().unwrap().iter().map(|k| k["namespace"].as_str().unwrap()).collect();
    assert!(removed.iter().all(|ns| *ns == "partner-<env>"), "{removed:?}");
}

#[test]
fn an_unknown_environment_is_an_error() {
    let out = promote(SMALL, "dev", "staging", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "error: `staging` is not an environment\n1 error\n");
}
