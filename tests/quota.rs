//! `obsc quota`: the table, the JSON and the request, byte for byte on small platforms (the
//! check cases' quota platforms), and the shipped platform fitting its quotas.
//! `OBSC_BLESS=1 cargo test --test quota` rewrites the expected files and fails on purpose.

mod common;

use common::{obsc, root, text};

/// Runs `obsc --platform <platform> quota <args>` and compares its stdout with
/// `tests/quota/<expected>`.
fn expect(platform: &str, args: &[&str], expected: &str) {
    let mut all = vec!["--platform", platform, "quota"];
    all.extend_from_slice(args);
    let out = obsc(&all);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let file = root().join("tests/quota").join(expected);
    let actual = text(&out.stdout);
    if std::env::var_os("OBSC_BLESS").is_some() {
        std::fs::write(&file, &actual).unwrap();
        panic!("blessed {}: review it, then run again without OBSC_BLESS", file.display());
    }
    assert_eq!(actual, std::fs::read_to_string(&file).unwrap(), "{}", file.display());
}

#[test]
fn the_table_shows_quota_steady_peak_and_free_share() {
    expect("tests/cases/quota-rollout.ncl", &["prod"], "rollout-prod.txt");
}

#[test]
fn the_request_asks_for_what_the_rollout_needs_with_headroom() {
    // No sizes declared: values, rounded up to whole cores and GiB.
    expect("tests/cases/quota-over.ncl", &["prod", "--request"], "over-prod-request.txt");
}

#[test]
fn the_request_says_when_no_size_is_large_enough() {
    // Sizes declared, none large enough for Grafana's rollout: values again, said so.
    expect("tests/cases/quota-rollout.ncl", &["prod", "--request"], "rollout-prod-request.txt");
}

#[test]
fn the_request_rounds_up_to_the_next_standard_size() {
    expect("tests/quota/sized.ncl", &["prod", "--request"], "sized-prod-request.txt");
}

#[test]
fn the_json_carries_every_figure() {
    let out = obsc(&["--platform", "tests/cases/quota-over.ncl", "quota", "prod", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let prod = report["namespaces"].as_array().unwrap().iter().find(|n| n["namespace"] == "0b5c0b-prod").unwrap();
    assert_eq!(prod["quota_from"], "quota.namespaces.\"0b5c0b-prod\"");
    let cpu = prod["resources"].as_array().unwrap().iter().find(|l| l["resource"] == "requests.cpu").unwrap();
    assert_eq!(
        (cpu["quota"].as_str(), cpu["steady"].as_str(), cpu["free_percent"].as_i64()),
        (Some("500m"), Some("600m"), Some(-20))
    );
    assert_eq!(prod["ask"]["values"]["requests.cpu"], "1");
    assert_eq!(prod["consumers"][0]["object"], "StatefulSet/loki");
    assert_eq!(prod["consumers"][0]["each"]["requests.cpu"], "100m");
}

#[test]
fn the_shipped_platform_fits_its_quotas() {
    for target in ["dev", "test", "prod", "tools"] {
        let out = obsc(&["quota", target, "--request"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            format!("every namespace of target `{target}` fits its quota with headroom: nothing to request\n")
        );
    }
    let check = obsc(&["check"]);
    assert!(check.status.success());
    assert!(!text(&check.stderr).contains("quota"), "{}", text(&check.stderr));
}
