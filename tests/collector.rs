//! The collector of every managed namespace as `obsc build --all` renders it for the shipped
//! platform: its Alloy pipeline ships to its own environment's backends and nowhere else, it
//! opens exactly the receivers its signals need, and its RBAC and NetworkPolicy grant no more.
//!
//! Where to add a test: a new collector behaviour gets an assertion here, for every managed
//! namespace of `common::SHIPPED`; behaviour that depends on switches the shipped platform does not
//! flip goes through `build_variant`.

mod common;

use std::collections::BTreeSet;

use common::{
    find, list, mounted_config, namespace_objects, namespaces_with, obsc, pod_labels, reachable, resolve, text,
    Environment, SHIPPED,
};
use serde_json::Value;

// ---- a reader for the Alloy configs obsc writes (one block or attribute per line) ----

#[derive(Debug, Default)]
struct Block {
    /// `loki.write`, `endpoint`...
    kind: String,
    /// The label of a component (`"environment"`), without quotes.
    label: Option<String>,
    /// `name = value`, the value as written.
    attrs: Vec<(String, String)>,
    blocks: Vec<Block>,
}

impl Block {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// A string attribute without its quotes.
    fn string(&self, name: &str) -> &str {
        let value = self.attr(name).unwrap_or_else(|| panic!("{} has no {name}", self.kind));
        value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or_else(|| panic!("{name} = {value}"))
    }

    fn nested(&self, kind: &str) -> Option<&Block> {
        self.blocks.iter().find(|b| b.kind == kind)
    }

    fn all(&self, kind: &str) -> Vec<&Block> {
        self.blocks.iter().filter(|b| b.kind == kind).collect()
    }
}

/// The whole config as one unnamed block holding the components.
fn parse_alloy(text: &str) -> Block {
    let mut stack = vec![Block::default()];
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        if line == "}" {
            let done = stack.pop().unwrap();
            stack.last_mut().unwrap_or_else(|| panic!("line {}: unbalanced }}", number + 1)).blocks.push(done);
        } else if let Some(header) = line.strip_suffix('{') {
            let mut words = header.split_whitespace();
            let kind = words.next().unwrap_or_else(|| panic!("line {}: a block without a name", number + 1));
            let label = words.next().map(|l| l.trim_matches('"').to_string());
            stack.push(Block { kind: kind.to_string(), label, ..Block::default() });
        } else if let Some((name, value)) = line.split_once('=') {
            let block = stack.last_mut().unwrap();
            block.attrs.push((name.trim().to_string(), value.trim().to_string()));
        } else {
            panic!("line {}: not a block or an attribute: {line}", number + 1);
        }
    }
    assert_eq!(stack.len(), 1, "unclosed blocks");
    stack.pop().unwrap()
}

/// The collector's config of a managed namespace of the shipped build, checked to be what the
/// collector reads.
fn alloy(env: &Environment, namespace: &str) -> Block {
    parse_alloy(&mounted_config(env.target, namespace, "collector.alloy", "monitoring-collector", "config.alloy"))
}

/// The only component of `kind` in the config.
fn component<'a>(config: &'a Block, kind: &str) -> &'a Block {
    let found = config.all(kind);
    assert_eq!(found.len(), 1, "expected one {kind}, found {}", found.len());
    found[0]
}

/// The port of a `host:port` endpoint.
fn port_of(endpoint: &str) -> u64 {
    endpoint.rsplit_once(':').and_then(|(_, p)| p.parse().ok()).unwrap_or_else(|| panic!("{endpoint}: no port"))
}

/// The ports the config's receivers listen on: OTLP gRPC and HTTP, Faro, Pyroscope.
fn receiver_ports(config: &Block) -> BTreeSet<u64> {
    let mut ports = BTreeSet::new();
    for otlp in config.all("otelcol.receiver.otlp") {
        for protocol in ["grpc", "http"] {
            let endpoint =
                otlp.nested(protocol).unwrap_or_else(|| panic!("OTLP without {protocol}")).string("endpoint");
            // Alloy listens on localhost unless told otherwise; the apps are in other pods.
            assert!(endpoint.starts_with("0.0.0.0:"), "{endpoint}");
            ports.insert(port_of(endpoint));
        }
    }
    for (kind, server) in [("faro.receiver", "server"), ("pyroscope.receive_http", "http")] {
        for receiver in config.all(kind) {
            let server = receiver.nested(server).unwrap();
            assert_eq!(server.string("listen_address"), "0.0.0.0", "{kind}");
            ports.insert(server.attr("listen_port").unwrap().parse().unwrap());
        }
    }
    ports
}

/// The collector's pods (the Deployment's template labels).
fn collector_pods(objects: &[Value]) -> &Value {
    pod_labels(find(objects, "Deployment", "monitoring-collector"))
}

/// The ports of Service `alloy` (none when there is no such Service), and of the ingress of the
/// collector's NetworkPolicy, which must admit only pods of the namespace itself (the
/// monitoring stack's rule admits its namespace to the metrics port alone).
fn exposed_ports(objects: &[Value]) -> (BTreeSet<u64>, BTreeSet<u64>) {
    let service = objects.iter().find(|o| o["kind"] == "Service" && o["metadata"]["name"] == "alloy");
    let service_ports = service
        .map_or(BTreeSet::new(), |s| list(&s["spec"]["ports"]).iter().map(|p| p["port"].as_u64().unwrap()).collect());
    let policy = find(objects, "NetworkPolicy", "monitoring-collector");
    let mut ingress_ports = BTreeSet::new();
    let stack = serde_json::json!([{
        "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": "openshift-user-workload-monitoring" } },
        "podSelector": {}
    }]);
    for rule in list(&policy["spec"]["ingress"]) {
        if rule["from"] == stack {
            assert_eq!(
                rule["ports"],
                serde_json::json!([{ "port": 12345, "protocol": "TCP" }]),
                "the stack scrapes, nothing more"
            );
            continue;
        }
        assert_eq!(rule["from"], serde_json::json!([{ "podSelector": {} }]), "receivers admit only their namespace");
        ingress_ports.extend(list(&rule["ports"]).iter().map(|p| p["port"].as_u64().unwrap()));
    }
    (service_ports, ingress_ports)
}

#[test]
fn the_managed_namespaces_are_the_ones_these_tests_know() {
    let expected: BTreeSet<String> =
        SHIPPED.iter().flat_map(|e| e.managed.iter().map(|(ns, _)| format!("{}/{ns}", e.target))).collect();
    assert_eq!(namespaces_with("collector.alloy"), expected, "update common::SHIPPED with environments/*.ncl");
}

#[test]
fn logs_go_to_the_loki_of_the_namespaces_own_environment_only() {
    for env in &SHIPPED {
        for (ns, _) in env.managed {
            let config = alloy(env, ns);
            let write = component(&config, "loki.write");
            let url = write.nested("endpoint").unwrap().string("url");
            assert!(url.ends_with("/loki/api/v1/push"), "{ns}: {url}");
            let loki = resolve(url);
            assert_eq!(loki.service["metadata"]["namespace"], env.namespace, "{ns} ships logs to {url}");
            for w in &loki.workloads {
                assert_eq!(w["metadata"]["labels"]["app.kubernetes.io/name"], "loki", "{ns}: {url}");
                let target = common::args(w).into_iter().find(|a| a.starts_with("-target=")).unwrap_or_default();
                assert!(["-target=write", "-target=all"].contains(&target), "{ns}: {url} reaches {target}");
            }
            // The pod logs flow into that writer.
            let label = write.label.as_deref().unwrap();
            let source = component(&config, "loki.source.kubernetes");
            assert_eq!(source.attr("forward_to"), Some(format!("[loki.write.{label}.receiver]").as_str()), "{ns}");

            let objects = namespace_objects(ns);
            let me = (*ns, collector_pods(&objects));
            for w in &loki.workloads {
                assert!(reachable(me, (env.namespace, pod_labels(w)), loki.target_port), "{ns} cannot reach {url}");
            }
            // The network keeps it from every other environment's Loki.
            for other in SHIPPED.iter().filter(|o| o.name != env.name) {
                let theirs = resolve(&format!("http://loki-write.{}.svc:3100", other.namespace));
                for w in &theirs.workloads {
                    assert!(
                        !reachable(me, (other.namespace, pod_labels(w)), theirs.target_port),
                        "{ns} can reach the Loki of {}",
                        other.name
                    );
                }
            }
        }
    }
}

#[test]
fn every_log_line_gets_the_namespaces_default_tier_unless_its_pod_names_a_tier() {
    for env in &SHIPPED {
        for (ns, tier) in env.managed {
            let config = alloy(env, ns);
            let relabel = component(&config, "discovery.relabel");
            let rules: Vec<&Block> =
                relabel.all("rule").into_iter().filter(|r| r.attr("target_label") == Some("\"log_source\"")).collect();
            assert_eq!(rules.len(), 2, "{ns}: a default, then the pod's own label");
            assert_eq!(rules[0].string("replacement"), *tier, "{ns}");
            assert_eq!(rules[1].string("regex"), "(cdt|partner-team)", "{ns}: only known tiers");
        }
    }
}

#[test]
fn traces_and_metrics_go_to_the_tempo_and_mimir_of_the_own_environment() {
    for env in &SHIPPED {
        for (ns, _) in env.managed {
            let config = alloy(env, ns);
            let objects = namespace_objects(ns);
            let me = (*ns, collector_pods(&objects));
            let tempo_endpoint =
                component(&config, "otelcol.exporter.otlp").nested("client").unwrap().string("endpoint");
            let mimir_url = component(&config, "prometheus.remote_write").nested("endpoint").unwrap().string("url");
            for (address, backend) in [(tempo_endpoint, "tempo"), (mimir_url, "mimir")] {
                let resolved = resolve(address);
                assert_eq!(resolved.service["metadata"]["namespace"], env.namespace, "{ns} sends to {address}");
                for w in &resolved.workloads {
                    assert_eq!(w["metadata"]["labels"]["app.kubernetes.io/name"], backend, "{ns}: {address}");
                    assert!(reachable(me, (env.namespace, pod_labels(w)), resolved.target_port), "{ns}: {address}");
                }
            }
        }
    }
}

#[test]
fn the_alloy_service_and_the_policy_expose_exactly_the_receivers() {
    for env in &SHIPPED {
        for (ns, _) in env.managed {
            let config = alloy(env, ns);
            let receivers = receiver_ports(&config);
            // Every shipped environment has traces and metrics on.
            assert!(receivers.is_superset(&BTreeSet::from([4317, 4318])), "{ns}: {receivers:?}");
            let objects = namespace_objects(ns);
            let (service, ingress) = exposed_ports(&objects);
            assert_eq!(service, receivers, "{ns}: Service alloy");
            assert_eq!(ingress, receivers, "{ns}: NetworkPolicy ingress");
            for port in &receivers {
                // Each Service port reaches the collector container on the receiver's own port.
                assert_eq!(resolve(&format!("alloy.{ns}.svc:{port}")).target_port, *port, "{ns}");
            }
        }
    }
}

#[test]
fn the_role_reads_pods_and_their_logs_and_nothing_else() {
    let strings = |v: &Value| -> BTreeSet<String> { list(v).iter().map(|s| s.as_str().unwrap().to_string()).collect() };
    for env in &SHIPPED {
        for (ns, _) in env.managed {
            let objects = namespace_objects(ns);
            let account = find(&objects, "Deployment", "monitoring-collector")["spec"]["template"]["spec"]
                ["serviceAccountName"]
                .as_str()
                .unwrap()
                .to_string();
            // Whatever binds the collector's account, binds this one Role.
            let bindings: Vec<&Value> = common::all_of(&objects, "RoleBinding")
                .into_iter()
                .filter(|b| list(&b["subjects"]).iter().any(|s| s["kind"] == "ServiceAccount" && s["name"] == account))
                .collect();
            assert_eq!(bindings.len(), 1, "{ns}");
            assert_eq!(bindings[0]["roleRef"]["kind"], "Role", "{ns}");
            let role = find(&objects, "Role", bindings[0]["roleRef"]["name"].as_str().unwrap());
            let rules = list(&role["rules"]);
            assert_eq!(rules.len(), 1, "{ns}: {rules:?}");
            assert_eq!(strings(&rules[0]["apiGroups"]), BTreeSet::from([String::new()]), "{ns}");
            assert_eq!(strings(&rules[0]["resources"]), BTreeSet::from(["pods".into(), "pods/log".into()]), "{ns}");
            assert_eq!(
                strings(&rules[0]["verbs"]),
                BTreeSet::from(["get".into(), "list".into(), "watch".into()]),
                "{ns}"
            );
            assert!(rules[0]["resourceNames"].is_null(), "{ns}");
        }
    }
}

#[test]
fn egress_names_only_dns_the_api_server_and_the_own_monitoring_namespace() {
    for env in &SHIPPED {
        for (ns, _) in env.managed {
            let objects = namespace_objects(ns);
            let policy = find(&objects, "NetworkPolicy", "monitoring-collector");
            let mut named = BTreeSet::new();
            let (mut dns, mut api) = (false, false);
            for rule in list(&policy["spec"]["egress"]) {
                let ports: BTreeSet<u64> = list(&rule["ports"]).iter().map(|p| p["port"].as_u64().unwrap()).collect();
                assert!(!ports.is_empty(), "{ns}: an egress rule open on every port");
                for peer in list(&rule["to"]) {
                    if peer.get("ipBlock").is_some() {
                        // The API server's address is not a pod: an ipBlock, on its port only.
                        assert_eq!(ports, BTreeSet::from([6443]), "{ns}: {peer}");
                        api = true;
                        continue;
                    }
                    let namespace = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{ns}: egress to a peer without a namespace: {peer}"));
                    if namespace == env.dns_namespace {
                        assert!(ports.is_subset(&BTreeSet::from([53, 5353])), "{ns}: DNS on {ports:?}");
                        dns = true;
                    } else {
                        assert!(peer["podSelector"]["matchLabels"].is_object(), "{ns}: every pod of {namespace}");
                        named.insert(namespace.to_string());
                    }
                }
            }
            assert!(dns && api, "{ns}: DNS {dns}, API server {api}");
            assert_eq!(named, BTreeSet::from([env.namespace.to_string()]), "{ns}");
        }
    }
}

// ---- switches the shipped platform does not flip ----

/// `tests/cases/base.ncl` with `overrides` merged in, built into a temporary directory.
fn build_variant(overrides: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let platform = dir.path().join("platform.ncl");
    let base = common::root().join("tests/cases/base.ncl");
    std::fs::write(&platform, format!("(import \"{}\") & {overrides}\n", base.display())).unwrap();
    let out = dir.path().join("out");
    let run = obsc(&["--platform", platform.to_str().unwrap(), "build", "--all", "-o", out.to_str().unwrap()]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    dir
}

#[test]
fn the_otlp_receiver_exists_exactly_when_traces_or_metrics_are_on() {
    // base.ncl turns traces and metrics on in both environments; one namespace switches both
    // off, one keeps only traces, one keeps both.
    let variant = build_variant(
        "{ namespaces.shop-dev.signals = { traces = false, metrics = false }, namespaces.partner-prod.signals.metrics = false }",
    );
    for (target, ns, traces, metrics) in
        [("dev", "shop-dev", false, false), ("prod", "partner-prod", true, false), ("prod", "shop-prod", true, true)]
    {
        let dir = variant.path().join("out").join(target).join(ns);
        let config = parse_alloy(&common::read(dir.join("config/collector.alloy")));
        let objects = common::objects_in(&dir);
        let otlp = config.all("otelcol.receiver.otlp");
        assert_eq!(otlp.len(), usize::from(traces || metrics), "{ns}");
        if let Some(receiver) = otlp.first() {
            let output = receiver.nested("output").unwrap();
            assert_eq!(output.attr("traces").is_some(), traces, "{ns}");
            assert_eq!(output.attr("metrics").is_some(), metrics, "{ns}");
        }
        assert_eq!(config.all("otelcol.exporter.otlp").len(), usize::from(traces), "{ns}");
        assert_eq!(config.all("prometheus.remote_write").len(), usize::from(metrics), "{ns}");
        let receivers = receiver_ports(&config);
        let (service, ingress) = exposed_ports(&objects);
        assert_eq!(service, receivers, "{ns}: Service alloy");
        assert_eq!(ingress, receivers, "{ns}: NetworkPolicy ingress");
        assert_eq!(receivers.contains(&4317), traces || metrics, "{ns}");
        // Logs flow either way.
        component(&config, "loki.write");
    }
}
