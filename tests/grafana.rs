//! The shared Grafana as rendered in `rendered/test`: every datasource link and every dashboard
//! datasource reference resolves to a provisioned datasource, and `$` is written the way
//! Grafana's provisioning reads it.

mod common;

use std::collections::BTreeSet;

use common::{obsc, read, root, yaml};
use serde_json::Value;

const CONFIG: &str = "rendered/test/ca7f8f-test/config";

/// Every provisioning file of the datasources folder, by file name.
fn datasource_files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(root().join(CONFIG))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("datasources"))
        .map(|n| {
            let text = read(format!("{CONFIG}/{n}"));
            (n, text)
        })
        .collect();
    // The backends' file first, then the Thanos shares in order: the order Grafana's volume lists them.
    files.sort_by_key(|(n, _)| (n != "datasources.yaml", n.clone()));
    files
}

/// Every provisioned datasource, across the files, and their UIDs.
fn provisioned() -> (Value, BTreeSet<String>) {
    let mut all = Vec::new();
    for (name, text) in datasource_files() {
        let file = yaml(&text);
        assert_eq!(file["apiVersion"], 1, "{name}");
        assert_eq!(file["prune"], true, "{name}");
        all.extend(file["datasources"].as_array().unwrap().iter().cloned());
    }
    let uids: BTreeSet<String> = all.iter().map(|d| d["uid"].as_str().unwrap().to_string()).collect();
    (serde_json::json!({ "datasources": all }), uids)
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
    let (file, _) = provisioned();
    let loki = file["datasources"].as_array().unwrap().iter().find(|d| d["uid"] == "loki-test").unwrap();
    // `$$` is one literal `$` to Grafana: the link template reaches it as `${__value.raw}`.
    assert_eq!(loki["jsonData"]["derivedFields"][0]["url"], "$${__value.raw}");
    let thanos = file["datasources"].as_array().unwrap().iter().find(|d| d["uid"] == "thanos-orders-test").unwrap();
    // A single `$` is an environment reference: the token comes from a Secret through env.
    assert_eq!(thanos["secureJsonData"]["httpHeaderValue1"], "Bearer ${THANOS_TOKEN}");
    // Every other `$` in every file is doubled.
    for (name, text) in datasource_files() {
        let stripped = text.replace("$$", "").replace("${THANOS_TOKEN}", "").replace("${THANOS_CA}", "");
        assert!(!stripped.contains('$'), "a lone `$` Grafana would expand in {name}:\n{text}");
    }
}

#[test]
fn datasources_are_split_by_a_stable_share_and_all_mounted_in_one_folder() {
    let files = datasource_files();
    // The backends in one file; each managed namespace's Thanos datasource in its share's file.
    assert_eq!(files[0].0, "datasources.yaml");
    assert!(!files[0].1.contains("thanos-"), "backends only");
    let thanos_files: Vec<&str> = files[1..].iter().map(|(n, _)| n.as_str()).collect();
    assert!(thanos_files.len() > 1, "{thanos_files:?}");
    for name in &thanos_files {
        let share: u32 =
            name.strip_prefix("datasources-thanos-").unwrap().strip_suffix(".yaml").unwrap().parse().unwrap();
        assert!(share < obsc::facts::datasources::THANOS_FILES);
    }
    // Each file is one ConfigMap; the Deployment shows them all in the provisioning folder.
    let deployment = yaml(&read("rendered/test/ca7f8f-test/deployment-grafana.yaml"));
    let volumes = deployment["spec"]["template"]["spec"]["volumes"].as_array().unwrap();
    let folder = volumes.iter().find(|v| v["name"] == "datasources").unwrap();
    let shown: Vec<&str> = folder["projected"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["configMap"]["name"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = files.iter().map(|(n, _)| format!("grafana-{}", n.trim_end_matches(".yaml"))).collect();
    assert_eq!(shown, expected);
    for (name, text) in &files {
        let cm =
            yaml(&read(format!("rendered/test/ca7f8f-test/configmap-grafana-{}.yaml", name.trim_end_matches(".yaml"))));
        assert_eq!(cm["data"][name.as_str()].as_str(), Some(text.as_str()), "{name}: the ConfigMap carries the file");
    }
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
    // Per environment the overview, services, traces, namespace and health boards; the
    // hand-written one.
    assert_eq!(boards, 3 * 5 + 1);
    let overview: Value = serde_json::from_str(&config_map_data(
        "rendered/test/ca7f8f-test/configmap-grafana-dashboard-env-prod.yaml",
        "env-prod.json",
    ))
    .unwrap();
    // Variables, not a row per namespace: the namespace is chosen from Loki's label values,
    // and a hidden datasource variable picks that namespace's Thanos datasource by name.
    assert!(overview["panels"].as_array().unwrap().iter().all(|p| p["type"] != "row"));
    let variables = overview["templating"]["list"].as_array().unwrap();
    let names: Vec<&str> = variables.iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["namespace", "thanos", "service"]);
    assert_eq!(variables[0]["type"], "query");
    assert_eq!(variables[0]["datasource"]["uid"], "loki-prod");
    assert_eq!(variables[0]["query"]["type"], 1);
    assert_eq!(variables[0]["query"]["label"], "namespace");
    assert_eq!(variables[1]["type"], "datasource");
    assert_eq!(variables[1]["query"], "prometheus");
    assert_eq!(variables[1]["regex"], "/^Thanos ${namespace}$/");
    assert_eq!(variables[1]["hide"], 2);
    assert_eq!(variables[2]["datasource"]["uid"], "mimir-prod");
    let (file, _) = provisioned();
    let names: BTreeSet<&str> =
        file["datasources"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    for ns in ["orders-prod", "partner-portal-prod", "payments-prod"] {
        assert!(names.contains(format!("Thanos {ns}").as_str()), "the variable finds {ns}'s datasource");
    }
    for p in overview["panels"].as_array().unwrap() {
        let uid = p["datasource"]["uid"].as_str().unwrap();
        assert!(uids.contains(uid) || uid == "${thanos}", "panel {} uses {uid}", p["title"]);
        assert!(p["targets"][0]["expr"].as_str().unwrap().contains("\"$namespace\""), "{}", p["title"]);
    }
}

#[test]
fn the_dashboards_do_not_grow_with_the_namespaces() {
    // The same platform with 200 more managed namespaces in prod: the overview is byte for byte
    // the same, so its size does not depend on how many namespaces there are.
    let dir = tempfile::tempdir().unwrap();
    let platform = common::with_namespaces(
        dir.path(),
        (0..200).map(|i| (format!("many-{i:03}"), "environment = \"prod\"".to_string())),
    );
    let out = dir.path().join("out");
    let run = obsc(&["--platform", platform.to_str().unwrap(), "build", "test", "-o", out.to_str().unwrap()]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    for board in ["env-prod", "services-prod", "traces-prod", "namespace-prod", "health-prod"] {
        let file = format!("test/ca7f8f-test/configmap-grafana-dashboard-{board}.yaml");
        assert_eq!(std::fs::read_to_string(out.join(&file)).unwrap(), read(format!("rendered/{file}")), "{board}");
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

fn container_env(deployment: &Value) -> Vec<Value> {
    deployment["spec"]["template"]["spec"]["containers"][0]["env"].as_array().unwrap().clone()
}

#[test]
fn automatic_login_uses_the_generic_oauth_key() {
    for rel in
        ["rendered/test/ca7f8f-test/deployment-grafana.yaml", "rendered/kind/obsc-monitoring/deployment-grafana.yaml"]
    {
        let env = container_env(&yaml(&read(rel)));
        let auto = env.iter().find(|e| e["name"] == "GF_AUTH_GENERIC_OAUTH_AUTO_LOGIN");
        assert_eq!(auto.map(|e| e["value"].clone()), Some(Value::from("true")), "{rel}");
        // `[auth] oauth_auto_login` is deprecated since Grafana 10.
        assert!(env.iter().all(|e| e["name"] != "GF_AUTH_OAUTH_AUTO_LOGIN"), "{rel}");
    }
}

fn labels(pairs: &[(&str, &str)]) -> Value {
    Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), Value::from(*v))).collect())
}

fn grafana_pods(name: &str) -> Value {
    labels(&[
        ("app.kubernetes.io/component", "server"),
        ("app.kubernetes.io/instance", name),
        ("app.kubernetes.io/name", "grafana"),
    ])
}

const POSTGRES: &[(&str, &str)] =
    &[("app.kubernetes.io/instance", "grafana-postgres"), ("app.kubernetes.io/name", "postgresql")];
const REDIS: &[(&str, &str)] = &[("app.kubernetes.io/instance", "grafana-redis"), ("app.kubernetes.io/name", "redis")];

/// The egress rule of a policy that reaches `pods` in `namespace` on `port`, if there is one.
fn egress_to<'a>(policy: &'a Value, namespace: &str, pods: &Value, port: u64) -> Option<&'a Value> {
    policy["spec"]["egress"].as_array().unwrap().iter().find(|rule| {
        let to = &rule["to"][0];
        to["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == namespace
            && to["podSelector"]["matchLabels"] == *pods
            && rule["ports"][0]["port"] == port
    })
}

#[test]
fn grafana_reaches_its_services_by_selector_or_by_their_cidr() {
    let policy = yaml(&read("rendered/test/ca7f8f-test/networkpolicy-grafana.yaml"));
    assert!(egress_to(&policy, "ca7f8f-tools", &labels(POSTGRES), 5432).is_some(), "PostgreSQL by selector");
    assert!(egress_to(&policy, "ca7f8f-tools", &labels(REDIS), 6379).is_some(), "Redis by selector");
    let thanos = labels(&[
        ("app.kubernetes.io/component", "query-layer"),
        ("app.kubernetes.io/instance", "thanos-querier"),
        ("app.kubernetes.io/name", "thanos-query"),
        ("app.kubernetes.io/part-of", "openshift-monitoring"),
    ]);
    assert!(egress_to(&policy, "openshift-monitoring", &thanos, 9092).is_some(), "the Thanos querier's pods");
    let mut blocks: Vec<(String, u64)> = policy["spec"]["egress"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| Some((r["to"][0]["ipBlock"]["cidr"].as_str()?.to_string(), r["ports"][0]["port"].as_u64()?)))
        .collect();
    blocks.sort();
    // Keycloak by its CIDR; the only address-wide rule is the API server's (host network).
    assert_eq!(blocks, vec![("0.0.0.0/0".to_string(), 6443), ("203.0.113.0/24".to_string(), 443)]);
}

#[test]
fn the_namespace_obsc_owns_admits_exactly_grafana_to_postgres_and_redis() {
    for (file, pods, port) in [("database", POSTGRES, 5432), ("redis", REDIS, 6379)] {
        let rel = format!("rendered/tools/ca7f8f-tools/networkpolicy-grafana-shared-to-{file}.yaml");
        let policy = yaml(&read(&rel));
        let spec = &policy["spec"];
        assert_eq!(spec["podSelector"], serde_json::json!({ "matchLabels": labels(pods) }), "{rel}: exactly its pods");
        assert_eq!(spec["policyTypes"], serde_json::json!(["Ingress"]), "{rel}: their egress is left alone");
        assert_eq!(
            spec["ingress"],
            serde_json::json!([{
                "from": [{
                    "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": "ca7f8f-test" } },
                    "podSelector": { "matchLabels": grafana_pods("shared") },
                }],
                "ports": [{ "port": port, "protocol": "TCP" }],
            }]),
            "{rel}: exactly Grafana's pods on exactly its port"
        );
        // The policy is Grafana's, not the database's: it carries none of the service's labels.
        assert_eq!(policy["metadata"]["labels"]["app.kubernetes.io/name"], "grafana", "{rel}");
    }
    // kind: the same in obsc-storage, and nothing for a namespace obsc does not own.
    let kind = yaml(&read("rendered/kind/obsc-storage/networkpolicy-grafana-kind-to-database.yaml"));
    assert_eq!(kind["spec"]["ingress"][0]["ports"][0]["port"], 5432);
    let listed = std::fs::read_to_string(root().join("rendered/test/kustomization.yaml")).unwrap();
    assert!(!listed.contains("openshift-monitoring"), "obsc writes nothing into openshift-monitoring");
}

/// The output of a successful obsc run.
fn stdout(args: &[&str]) -> String {
    let out = obsc(args);
    assert!(out.status.success(), "obsc {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The YAML documents of `obsc owner-policies`, each with the comment line that introduces it.
fn owner_policies(args: &[&str]) -> Vec<(String, Value)> {
    stdout(args)
        .split("\n---\n")
        .filter(|doc| doc.lines().any(|l| !l.starts_with('#') && !l.trim().is_empty()))
        .map(|doc| (doc.lines().next().unwrap().to_string(), yaml(doc)))
        .collect()
}

#[test]
fn owner_policies_list_what_namespaces_obsc_does_not_own_must_admit() {
    let test = owner_policies(&["owner-policies", "test"]);
    assert_eq!(test.len(), 1, "only the Thanos querier is outside obsc's namespaces: {test:?}");
    let (comment, policy) = &test[0];
    assert!(comment.contains("`openshift-monitoring`") && comment.contains("Thanos querier"), "{comment}");
    assert_eq!(policy["kind"], "NetworkPolicy");
    assert_eq!(policy["metadata"]["namespace"], "openshift-monitoring");
    assert_eq!(policy["metadata"]["name"], "grafana-shared-to-thanos");
    assert_eq!(policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"], "thanos-query");
    assert_eq!(policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"], grafana_pods("shared"));
    assert_eq!(policy["spec"]["ingress"][0]["ports"][0]["port"], 9092);

    // kind's services are in obsc-storage, which obsc owns: nothing for anyone else.
    assert!(stdout(&["owner-policies", "kind"]).starts_with("# target `kind` needs no policy"));

    // A database in a namespace obsc neither owns nor renders into passes the checker, and its
    // owner gets the policy.
    let elsewhere =
        owner_policies(&["--platform", "tests/cases/grafana-endpoint-elsewhere.ncl", "owner-policies", "prod"]);
    let databases: Vec<&Value> =
        elsewhere.iter().map(|(_, p)| p).filter(|p| p["metadata"]["namespace"] == "shared-databases").collect();
    assert_eq!(databases.len(), 1, "{elsewhere:?}");
    assert_eq!(databases[0]["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/instance"], "grafana");
    assert_eq!(
        databases[0]["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]
            ["kubernetes.io/metadata.name"],
        "0b5c0b-grafana"
    );
    assert_eq!(databases[0]["spec"]["ingress"][0]["ports"][0]["port"], 5432);
}

#[test]
fn the_promised_dashboards_are_generated_per_environment() {
    let board = |name: &str| -> Value {
        serde_json::from_str(&config_map_data(
            &format!("rendered/test/ca7f8f-test/configmap-grafana-dashboard-{name}.yaml"),
            &format!("{name}.json"),
        ))
        .unwrap()
    };
    let variables = |b: &Value| -> Vec<String> {
        b["templating"]["list"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap().to_string()).collect()
    };
    // Services: RED from Tempo's span metrics in Mimir; the latency's exemplars link to traces.
    let services = board("services-prod");
    assert_eq!(variables(&services), vec!["namespace", "service"]);
    let targets: Vec<&Value> = services["panels"].as_array().unwrap().iter().map(|p| &p["targets"][0]).collect();
    assert!(targets.iter().all(|t| t["datasource"]["uid"] == "mimir-prod"));
    assert!(targets[1]["expr"].as_str().unwrap().contains("status_code=\"STATUS_CODE_ERROR\""));
    assert!(targets[2]["expr"].as_str().unwrap().starts_with("histogram_quantile(0.95"));
    assert_eq!(targets[2]["exemplar"], true);
    // Traces: a TraceQL search of the namespace and Tempo's service graph.
    let traces = board("traces-prod");
    let panels = traces["panels"].as_array().unwrap();
    assert_eq!((panels[0]["type"].as_str(), panels[1]["type"].as_str()), (Some("table"), Some("nodeGraph")));
    assert_eq!(panels[0]["targets"][0]["queryType"], "traceql");
    assert_eq!(panels[0]["targets"][0]["query"], "{ resource.k8s.namespace.name = \"$namespace\" }");
    assert_eq!(panels[1]["targets"][0]["queryType"], "serviceMap");
    assert!(panels.iter().all(|p| p["datasource"]["uid"] == "tempo-prod"));
    // Namespace metrics: the chosen namespace's own Thanos datasource.
    let namespace = board("namespace-prod");
    assert_eq!(variables(&namespace), vec!["namespace", "thanos"]);
    assert!(namespace["panels"].as_array().unwrap().iter().all(|p| p["datasource"]["uid"] == "${thanos}"));
    // Platform health: the alerts' signals, a row per component, through the Thanos
    // datasource of the monitoring namespace.
    let health = board("health-prod");
    let panels = health["panels"].as_array().unwrap();
    let rows: std::collections::BTreeSet<u64> = panels.iter().map(|p| p["gridPos"]["y"].as_u64().unwrap()).collect();
    assert_eq!(rows.len(), 4, "scrapes and claims, Loki, Mimir, Tempo");
    let uid = panels[0]["datasource"]["uid"].as_str().unwrap().to_string();
    assert!(panels.iter().all(|p| p["datasource"]["uid"] == uid.as_str()));
    assert!(provisioned().1.contains(&uid), "{uid} is provisioned");
    let titles: Vec<&str> = panels.iter().map(|p| p["title"].as_str().unwrap()).collect();
    assert!(
        titles.contains(&"Loki: hours since retention ran") && titles.contains(&"Mimir: pushes failed (%)"),
        "{titles:?}"
    );
}
