//! The shared Grafana as rendered in `rendered/test`: every datasource link and every dashboard
//! datasource reference resolves to a provisioned datasource, and `$` is written the way
//! Grafana's provisioning reads it.

mod common;

use std::collections::BTreeSet;

use common::{obsc, read, root, yaml};
use serde_json::Value;

const DATASOURCES: &str = "rendered/test/ca7f8f-test/config/datasources.yaml";

fn provisioned() -> (Value, BTreeSet<String>) {
    let file = yaml(&read(DATASOURCES));
    assert_eq!(file["apiVersion"], 1);
    let uids: BTreeSet<String> =
        file["datasources"].as_array().unwrap().iter().map(|d| d["uid"].as_str().unwrap().to_string()).collect();
    (file, uids)
}

#[test]
fn every_datasource_link_resolves() {
    let (file, uids) = provisioned();
    let list = file["datasources"].as_array().unwrap();
    assert_eq!(uids.len(), list.len(), "UIDs are unique");
    for uid in ["loki-dev", "tempo-test", "mimir-prod", "thanos-orders-test", "thanos-partner-portal-prod"] {
        assert!(uids.contains(uid), "{uid} is provisioned");
    }
    let mut followed = 0;
    for d in list {
        let j = &d["jsonData"];
        let mut links: Vec<&Value> = Vec::new();
        links.extend(j["derivedFields"].as_array().into_iter().flatten().map(|f| &f["datasourceUid"]));
        links.extend(j["exemplarTraceIdDestinations"].as_array().into_iter().flatten().map(|f| &f["datasourceUid"]));
        for key in ["tracesToLogsV2", "tracesToMetrics", "serviceMap", "lokiSearch", "tracesToProfiles"] {
            if !j[key].is_null() {
                links.push(&j[key]["datasourceUid"]);
            }
        }
        for link in links {
            let uid = link.as_str().unwrap_or_else(|| panic!("{}: a link without a UID", d["name"]));
            assert!(uids.contains(uid), "{} links to {uid}, which is not provisioned", d["name"]);
            followed += 1;
        }
    }
    // Per environment: 2 derived fields, logs, metrics, service map, Loki search, exemplars.
    assert_eq!(followed, 3 * 7);
    let tempo = list.iter().find(|d| d["uid"] == "tempo-prod").unwrap();
    assert_eq!(tempo["jsonData"]["tracesToLogsV2"]["datasourceUid"], "loki-prod");
    assert_eq!(tempo["jsonData"]["serviceMap"]["datasourceUid"], "mimir-prod");
    assert_eq!(tempo["jsonData"]["nodeGraph"]["enabled"], true);
    let thanos = list.iter().find(|d| d["uid"] == "thanos-orders-prod").unwrap();
    assert_eq!(thanos["jsonData"]["customQueryParameters"], "namespace=orders-prod");
    assert_eq!(thanos["jsonData"]["httpMethod"], "GET");
    assert_eq!(thanos["jsonData"]["httpHeaderName1"], "Authorization");
    assert_eq!(thanos["url"], "https://thanos-querier.openshift-monitoring.svc:9092");
}

#[test]
fn dollars_are_literal_except_the_secret_references() {
    let text = read(DATASOURCES);
    let file = yaml(&text);
    let loki = file["datasources"].as_array().unwrap().iter().find(|d| d["uid"] == "loki-test").unwrap();
    // `$$` is one literal `$` to Grafana: the link template reaches it as `${__value.raw}`.
    assert_eq!(loki["jsonData"]["derivedFields"][0]["url"], "$${__value.raw}");
    let thanos = file["datasources"].as_array().unwrap().iter().find(|d| d["uid"] == "thanos-orders-test").unwrap();
    // A single `$` is an environment reference: the token comes from a Secret through env.
    assert_eq!(thanos["secureJsonData"]["httpHeaderValue1"], "Bearer ${THANOS_TOKEN}");
    // Every other `$` in the file is doubled.
    let stripped = text.replace("$$", "").replace("${THANOS_TOKEN}", "").replace("${THANOS_CA}", "");
    assert!(!stripped.contains('$'), "a lone `$` Grafana would expand:\n{text}");
}

fn config_map_data(rel: &str, key: &str) -> String {
    let cm = yaml(&read(rel));
    assert_eq!(cm["metadata"]["labels"]["grafana_dashboard"], "1");
    assert!(cm["metadata"]["annotations"]["grafana_folder"].is_string());
    cm["data"][key].as_str().unwrap().to_string()
}

#[test]
fn every_dashboard_names_provisioned_datasources() {
    let (_, uids) = provisioned();
    let dir = root().join("rendered/test/ca7f8f-test");
    let mut boards = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        let Some(stem) = name.strip_prefix("configmap-grafana-dashboard-").and_then(|n| n.strip_suffix(".yaml")) else {
            continue;
        };
        if stem == "providers" {
            continue;
        }
        let text = config_map_data(&format!("rendered/test/ca7f8f-test/{name}"), &format!("{stem}.json"));
        let dashboard: Value = serde_json::from_str(&text).unwrap();
        assert!(dashboard["schemaVersion"].as_u64().is_some(), "{stem}: schemaVersion");
        assert!(dashboard["title"].is_string());
        for r in obsc::dashboards::references(&dashboard, &text) {
            assert!(uids.contains(&r.target), "{stem} uses {}, which is not provisioned", r.target);
        }
        boards += 1;
    }
    // One overview per environment, and the hand-written one.
    assert_eq!(boards, 4);
    let overview: Value = serde_json::from_str(&config_map_data(
        "rendered/test/ca7f8f-test/configmap-grafana-dashboard-env-prod.yaml",
        "env-prod.json",
    ))
    .unwrap();
    let panels = overview["panels"].as_array().unwrap();
    let rows: Vec<&str> = panels.iter().filter(|p| p["type"] == "row").map(|p| p["title"].as_str().unwrap()).collect();
    assert_eq!(rows, vec!["orders-prod", "partner-portal-prod", "payments-prod"]);
    for p in panels.iter().filter(|p| p["type"] != "row") {
        let uid = p["datasource"]["uid"].as_str().unwrap();
        assert!(uids.contains(uid), "panel {} uses {uid}", p["title"]);
        assert!(p["targets"][0]["expr"].as_str().unwrap().contains("-prod\""));
    }
}

#[test]
fn the_role_mapping_reaches_grafana_as_jmespath() {
    let deployment = yaml(&read("rendered/test/ca7f8f-test/deployment-grafana.yaml"));
    let env = deployment["spec"]["template"]["spec"]["containers"][0]["env"].as_array().unwrap();
    let value = |name: &str| env.iter().find(|e| e["name"] == name).map(|e| e["value"].clone()).unwrap_or(Value::Null);
    assert_eq!(
        value("GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_PATH"),
        "contains(realm_access.roles[*], 'platform-admin') && 'Admin' || contains(realm_access.roles[*], 'developer') && 'Editor' || 'Viewer'"
    );
    assert_eq!(
        value("GF_AUTH_GENERIC_OAUTH_TOKEN_URL"),
        "https://sso.example.org/realms/ca7f8f/protocol/openid-connect/token"
    );
    assert_eq!(value("GF_DATABASE_TYPE"), "postgres");
    let password = env.iter().find(|e| e["name"] == "GF_DATABASE_PASSWORD").unwrap();
    assert_eq!(password["valueFrom"]["secretKeyRef"]["name"], "grafana-db");
    assert!(deployment["spec"]["replicas"].is_null(), "the HPA owns the replica count");
}

#[test]
fn secrets_lists_what_grafana_reads() {
    let out = obsc(&["secrets", "test"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for (secret, key) in [
        ("grafana-db", "password"),
        ("grafana-oauth", "client_secret"),
        ("grafana-redis", "password"),
        ("grafana-thanos", "token"),
    ] {
        let at = text.find(&format!("ca7f8f-test/{secret}\n")).unwrap_or_else(|| panic!("{secret} listed:\n{text}"));
        assert!(text[at..].lines().nth(1).unwrap().ends_with(key), "{secret} has key {key}");
    }
    // kind's Grafana has no Redis password and no Thanos.
    let kind = obsc(&["secrets", "kind"]);
    let kind = String::from_utf8_lossy(&kind.stdout);
    assert!(kind.contains("obsc-monitoring/grafana-db\n") && !kind.contains("grafana-thanos"));
}
