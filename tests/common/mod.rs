//! What every test binary shares: the project root, running the real `obsc`, the shipped
//! platform built once per test binary, and readers for what a build writes.
//!
//! A test file uses it with `mod common;` and takes what it needs; each binary uses a different
//! part, hence the `dead_code` allowance.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// The project root: where `environments/`, `rendered/` and `tests/cases/` are.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `obsc` binary of this build from the project root, without colour.
pub fn obsc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_obsc"))
        .current_dir(root())
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run obsc {args:?}: {e}"))
}

/// Copies a directory tree (files and directories only).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Output bytes as text (lossy: a test compares it, never trusts it).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The shipped platform (`environments/platform.ncl`) as `obsc build --all` writes it today:
/// one directory per target. Built once per test binary, on first use, into a fresh directory
/// under Cargo's temporary directory for tests (`target/tmp`, removed by `cargo clean`).
///
/// A static is never dropped, so the directory outlives the run (and can be inspected after a
/// failure); each build first removes the builds of earlier runs, those older than an hour.
pub fn shipped() -> &'static Path {
    static BUILD: OnceLock<PathBuf> = OnceLock::new();
    BUILD.get_or_init(|| {
        let parent = Path::new(env!("CARGO_TARGET_TMPDIR"));
        sweep(parent, "shipped-", std::time::Duration::from_secs(3600));
        let dir = tempfile::Builder::new()
            .prefix(concat!("shipped-", env!("CARGO_CRATE_NAME"), "-"))
            .tempdir_in(parent)
            .expect("a temporary directory under target/tmp")
            .keep();
        let out = obsc(&["build", "--all", "-o", dir.to_str().expect("a UTF-8 path")]);
        assert!(out.status.success(), "obsc build --all failed:\n{}", text(&out.stderr));
        dir
    })
}

/// Removes the directories in `parent` named `<prefix>...` that were last changed longer ago than
/// `age` (a concurrent run's build is younger; a failure to remove is not this run's problem).
fn sweep(parent: &Path, prefix: &str, age: std::time::Duration) {
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let old = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().is_ok_and(|e| e > age));
        if old && entry.file_name().to_string_lossy().starts_with(prefix) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A file's text; a relative path is taken from the project root (`rendered/...`), an absolute
/// one as it is (`shipped().join(...)`).
pub fn read(path: impl AsRef<Path>) -> String {
    let path = root().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// One YAML document as a JSON value (numbers, strings and booleans as YAML 1.2 reads them).
pub fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"))
}

/// A file of the shipped build, relative to its root: `shipped_file("prod/ca7f8f-prod/config/loki.yaml")`.
pub fn shipped_file(rel: &str) -> String {
    read(shipped().join(rel))
}

/// The objects a build wrote for one namespace of one target (`<target>/<namespace>/*.yaml`;
/// the `config/` and `values/` files beside them are not objects), in file order.
pub fn objects(target: &str, namespace: &str) -> Vec<Value> {
    objects_in(&shipped().join(target).join(namespace))
}

/// The objects in one namespace directory of any build.
pub fn objects_in(dir: &Path) -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files.iter().map(|f| yaml(&read(f))).collect()
}

/// The object of `kind` named `name` among `objects`, or a panic that says which is missing.
pub fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name} among {} objects", objects.len()))
}

/// Every object of `kind` among `objects`.
pub fn all_of<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

/// Whether a label selector (`spec.selector` of a Service, `matchLabels` of a workload) picks
/// pods carrying `labels`: every key of the selector has the same value there.
pub fn selects(selector: &Value, labels: &Value) -> bool {
    let Some(wanted) = selector.as_object() else { return false };
    !wanted.is_empty() && wanted.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// A JSON array as a slice (empty when the value is missing or not an array).
pub fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

// ---- the shipped topology, as the component tests expect the render to follow it ----

/// One environment of the shipped platform as `environments/*.ncl` writes it, with the defaults
/// of `modules/` filled in. The component tests (loki, tempo, mimir, collector) check the render
/// against these facts; `namespaces_with` keeps the list honest.
pub struct Environment {
    pub name: &'static str,
    pub target: &'static str,
    /// Where Loki, Tempo and Mimir run.
    pub namespace: &'static str,
    /// The SeaweedFS instance it stores in, and that instance's namespace.
    pub storage: &'static str,
    pub storage_namespace: &'static str,
    /// Where the target's DNS runs: OpenShift's, or kind's CoreDNS.
    pub dns_namespace: &'static str,
    /// Its managed namespaces with their default retention tier.
    pub managed: &'static [(&'static str, &'static str)],
    /// The retention of the default tier `cdt` and of `partner-team` here (overrides applied).
    pub cdt: &'static str,
    pub partner_team: &'static str,
    /// Loki in HA monolithic mode (`-target=all`) rather than Simple Scalable.
    pub loki_monolithic: bool,
    /// Tempo's block retention (`tempo.retention`, default 336h).
    pub tempo_retention: &'static str,
}

pub const SHIPPED: [Environment; 4] = [
    // environments/dev.ncl: cdt shortened to 168h, the non-HA storage.
    Environment {
        name: "dev",
        target: "dev",
        namespace: "ca7f8f-dev",
        storage: "seaweedfs-dev",
        storage_namespace: "ca7f8f-tools",
        dns_namespace: "openshift-dns",
        managed: &[("orders-dev", "cdt"), ("partner-portal-dev", "partner-team"), ("payments-dev", "cdt")],
        cdt: "168h",
        partner_team: "2160h",
        loki_monolithic: false,
        tempo_retention: "336h",
    },
    // environments/test.ncl: the tiers of common.ncl unchanged.
    Environment {
        name: "test",
        target: "test",
        namespace: "ca7f8f-test",
        storage: "seaweedfs-ha",
        storage_namespace: "ca7f8f-tools",
        dns_namespace: "openshift-dns",
        managed: &[("orders-test", "cdt"), ("partner-portal-test", "partner-team"), ("payments-test", "cdt")],
        cdt: "744h",
        partner_team: "2160h",
        loki_monolithic: false,
        tempo_retention: "336h",
    },
    // environments/prod.ncl: cdt raised to 2160h.
    Environment {
        name: "prod",
        target: "prod",
        namespace: "ca7f8f-prod",
        storage: "seaweedfs-ha",
        storage_namespace: "ca7f8f-tools",
        dns_namespace: "openshift-dns",
        managed: &[("orders-prod", "cdt"), ("partner-portal-prod", "partner-team"), ("payments-prod", "cdt")],
        cdt: "2160h",
        partner_team: "2160h",
        loki_monolithic: false,
        tempo_retention: "336h",
    },
    // environments/kind.ncl: everything short, monolithic Loki, its own storage and DNS.
    Environment {
        name: "kind",
        target: "kind",
        namespace: "obsc-monitoring",
        storage: "seaweedfs-kind",
        storage_namespace: "obsc-storage",
        dns_namespace: "kube-system",
        managed: &[("demo-partner", "partner-team"), ("demo-shop", "cdt")],
        cdt: "48h",
        partner_team: "96h",
        loki_monolithic: true,
        tempo_retention: "48h",
    },
];

/// Every `<target>/<namespace>` of the shipped build that holds `config/<file>`.
pub fn namespaces_with(file: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for target in std::fs::read_dir(shipped()).unwrap() {
        let target = target.unwrap().path();
        if !target.is_dir() {
            continue;
        }
        for ns in std::fs::read_dir(&target).unwrap() {
            let ns = ns.unwrap().path();
            if ns.join("config").join(file).is_file() {
                let name = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
                found.insert(format!("{}/{}", name(&target), name(&ns)));
            }
        }
    }
    found
}

// ---- objects across the shipped build ----

/// The objects of a namespace, wherever its target is (a namespace belongs to one target).
pub fn namespace_objects(namespace: &str) -> Vec<Value> {
    let target = std::fs::read_dir(shipped())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|t| t.join(namespace).is_dir())
        .unwrap_or_else(|| panic!("no target of the shipped build has namespace {namespace}"));
    objects(&target.file_name().unwrap().to_string_lossy(), namespace)
}

/// The text of a ConfigMap key: what a pod that mounts it reads.
pub fn config_map_data(objects: &[Value], name: &str, key: &str) -> String {
    let cm = find(objects, "ConfigMap", name);
    cm["data"][key].as_str().unwrap_or_else(|| panic!("ConfigMap {name} has no key {key}")).to_string()
}

/// The workloads (Deployments and StatefulSets) among `objects`.
pub fn workloads(objects: &[Value]) -> Vec<&Value> {
    objects.iter().filter(|o| o["kind"] == "Deployment" || o["kind"] == "StatefulSet").collect()
}

/// The labels a workload gives its pods.
pub fn pod_labels(workload: &Value) -> &Value {
    &workload["spec"]["template"]["metadata"]["labels"]
}

/// The workload's first container (every obsc pod has one main container first).
pub fn main_container(workload: &Value) -> &Value {
    &workload["spec"]["template"]["spec"]["containers"][0]
}

/// The container arguments of a workload's first container.
pub fn args(workload: &Value) -> Vec<&str> {
    list(&main_container(workload)["args"]).iter().filter_map(Value::as_str).collect()
}

/// The number of a named container port of a workload's first container.
pub fn container_port(workload: &Value, name: &str) -> Option<u64> {
    list(&main_container(workload)["ports"])
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["containerPort"].as_u64())
}

/// A Service address as written in a config: `http://name.ns.svc:port/path`, `dns+name.ns.svc:port`
/// or `name.ns.svc:port`, as (Service name, namespace, port).
pub fn service_address(address: &str) -> (String, String, u64) {
    let rest = address.strip_prefix("http://").or_else(|| address.strip_prefix("dns+")).unwrap_or(address);
    let authority = rest.split('/').next().unwrap();
    let (host, port) = authority.rsplit_once(':').unwrap_or_else(|| panic!("{address}: no port"));
    let parts: Vec<&str> = host.split('.').collect();
    let [name, namespace, "svc"] = parts.as_slice() else { panic!("{address}: not <service>.<namespace>.svc") };
    (name.to_string(), namespace.to_string(), port.parse().unwrap_or_else(|_| panic!("{address}: port")))
}

/// What a Service address reaches: the Service (which must exist in the build), the port's number
/// in the pods (its `targetPort` resolved by name), and the workloads whose pods it selects.
pub struct Resolved {
    pub service: Value,
    pub target_port: u64,
    pub workloads: Vec<Value>,
}

pub fn resolve(address: &str) -> Resolved {
    let (name, namespace, port) = service_address(address);
    let objects = namespace_objects(&namespace);
    let service = find(&objects, "Service", &name).clone();
    let service_port = list(&service["spec"]["ports"])
        .iter()
        .find(|p| p["port"] == port)
        .unwrap_or_else(|| panic!("{address}: Service {name} in {namespace} has no port {port}"))
        .clone();
    let workloads: Vec<Value> = workloads(&objects)
        .into_iter()
        .filter(|w| selects(&service["spec"]["selector"], pod_labels(w)))
        .cloned()
        .collect();
    assert!(!workloads.is_empty(), "{address}: Service {name} in {namespace} selects no pods of the build");
    let target_port = match &service_port["targetPort"] {
        Value::String(named) => {
            let ports: BTreeSet<Option<u64>> = workloads.iter().map(|w| container_port(w, named)).collect();
            assert_eq!(ports.len(), 1, "{address}: the selected pods disagree on port {named}: {ports:?}");
            ports.into_iter().next().unwrap().unwrap_or_else(|| panic!("{address}: no pod port named {named}"))
        }
        other => other.as_u64().unwrap_or(port),
    };
    Resolved { service, target_port, workloads }
}

// ---- NetworkPolicy, evaluated the way Kubernetes does for the shapes obsc writes ----

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Direction {
    Ingress,
    Egress,
}

fn label_selector_matches(selector: &Value, labels: &Value) -> bool {
    let by_labels = match selector.get("matchLabels").and_then(Value::as_object) {
        None => true,
        Some(wanted) => wanted.iter().all(|(k, v)| labels.get(k) == Some(v)),
    };
    let by_expressions = list(selector.get("matchExpressions").unwrap_or(&Value::Null)).iter().all(|e| {
        let value = e["key"].as_str().and_then(|k| labels.get(k));
        let values = list(&e["values"]);
        match e["operator"].as_str() {
            Some("In") => value.is_some_and(|v| values.contains(v)),
            Some("NotIn") => value.is_none_or(|v| !values.contains(v)),
            Some("Exists") => value.is_some(),
            Some("DoesNotExist") => value.is_none(),
            other => panic!("unknown selector operator {other:?}"),
        }
    });
    by_labels && by_expressions
}

fn peer_matches(peer: &Value, policy_namespace: &str, namespace: &str, labels: &Value) -> bool {
    if peer.get("ipBlock").is_some() {
        return false;
    }
    let namespace_labels = serde_json::json!({ "kubernetes.io/metadata.name": namespace });
    let in_namespace = match peer.get("namespaceSelector") {
        Some(selector) => label_selector_matches(selector, &namespace_labels),
        None => namespace == policy_namespace,
    };
    in_namespace && peer.get("podSelector").is_none_or(|s| label_selector_matches(s, labels))
}

/// Whether a rule's port list admits TCP `port` (no list: every port).
fn rule_has_port(rule: &Value, port: u64) -> bool {
    let ports = list(&rule["ports"]);
    ports.is_empty() || ports.iter().any(|p| p["port"] == port && p.get("protocol").is_none_or(|t| t == "TCP"))
}

/// Whether the NetworkPolicies of `namespace` let its pods with `labels` talk in `direction` to
/// (or from) pods with `peer_labels` in `peer_namespace` on TCP `port`. No policy selecting the
/// pods means no isolation.
pub fn allows(
    direction: Direction,
    namespace: &str,
    labels: &Value,
    peer_namespace: &str,
    peer_labels: &Value,
    port: u64,
) -> bool {
    let (kind, rules_key, peers_key) = match direction {
        Direction::Ingress => ("Ingress", "ingress", "from"),
        Direction::Egress => ("Egress", "egress", "to"),
    };
    let objects = namespace_objects(namespace);
    let policies: Vec<&Value> = all_of(&objects, "NetworkPolicy")
        .into_iter()
        .filter(|p| label_selector_matches(&p["spec"]["podSelector"], labels))
        .filter(|p| list(&p["spec"]["policyTypes"]).iter().any(|t| t == kind))
        .collect();
    policies.is_empty()
        || policies.iter().any(|p| {
            list(&p["spec"][rules_key]).iter().any(|rule| {
                let peers = list(&rule[peers_key]);
                rule_has_port(rule, port)
                    && (peers.is_empty()
                        || peers.iter().any(|x| peer_matches(x, namespace, peer_namespace, peer_labels)))
            })
        })
}

/// Whether pods `from` may open a TCP connection to pods `to` on `port`: the sender's egress
/// and the receiver's ingress both allow it. Each side is (namespace, pod labels).
pub fn reachable(from: (&str, &Value), to: (&str, &Value), port: u64) -> bool {
    allows(Direction::Egress, from.0, from.1, to.0, to.1, port)
        && allows(Direction::Ingress, to.0, to.1, from.0, from.1, port)
}

/// The config file a build wrote for a component (`<target>/<namespace>/config/<file>`), after
/// checking that it is what the pods read: the text of key `key` of ConfigMap `config_map`, and
/// every workload that mounts that ConfigMap names `<mount path>/<key>` in its arguments.
pub fn mounted_config(target: &str, namespace: &str, file: &str, config_map: &str, key: &str) -> String {
    let text = shipped_file(&format!("{target}/{namespace}/config/{file}"));
    let objects = objects(target, namespace);
    assert_eq!(
        config_map_data(&objects, config_map, key),
        text,
        "{namespace}/config/{file} and ConfigMap {config_map} differ"
    );
    let readers: Vec<&Value> = workloads(&objects)
        .into_iter()
        .filter(|w| {
            list(&w["spec"]["template"]["spec"]["volumes"]).iter().any(|v| v["configMap"]["name"] == config_map)
        })
        .collect();
    assert!(!readers.is_empty(), "no workload in {namespace} mounts ConfigMap {config_map}");
    for w in readers {
        let volume = list(&w["spec"]["template"]["spec"]["volumes"])
            .iter()
            .find(|v| v["configMap"]["name"] == config_map)
            .map(|v| v["name"].clone())
            .unwrap();
        let mount = list(&main_container(w)["volumeMounts"])
            .iter()
            .find(|m| m["name"] == volume)
            .and_then(|m| m["mountPath"].as_str())
            .unwrap_or_else(|| panic!("{}: ConfigMap {config_map} is not mounted", w["metadata"]["name"]));
        let path = format!("{mount}/{key}");
        assert!(
            args(w).iter().any(|a| a.ends_with(&path)),
            "{} does not read {path}: {:?}",
            w["metadata"]["name"],
            args(w)
        );
    }
    text
}

/// A ring config's memberlist join address: exactly one `dns+` name (dskit resolves it to every
/// address behind it) of a headless Service in `namespace` that publishes pods before they are
/// ready (members must find each other to become ready), on the memberlist port 7946. Returns
/// what the name resolves to.
pub fn ring_of(config: &Value, namespace: &str, what: &str) -> Resolved {
    let members = list(&config["memberlist"]["join_members"]);
    assert_eq!(members.len(), 1, "{what}");
    let member = members[0].as_str().unwrap();
    assert!(member.starts_with("dns+"), "{what}: {member}");
    let ring = resolve(member);
    assert_eq!(ring.service["metadata"]["namespace"], namespace, "{what}: {member}");
    assert_eq!(ring.service["spec"]["clusterIP"], "None", "{what}: {member} is not headless");
    assert_eq!(ring.service["spec"]["publishNotReadyAddresses"], true, "{what}: a starting pod must be found");
    assert_eq!(ring.target_port, 7946, "{what}");
    ring
}

/// The shipped platform with more managed namespaces, written into `dir` (beside a link to the
/// dashboards, which are read relative to the project root): each entry is a namespace's name
/// and its record's fields (`environment = "prod"`). Returns the platform file.
pub fn with_namespaces(dir: &Path, namespaces: impl IntoIterator<Item = (String, String)>) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("environments")).unwrap();
    std::os::unix::fs::symlink(root().join("dashboards"), dir.join("dashboards")).unwrap();
    let mut platform =
        format!("(import \"{}\") & {{ namespaces = {{\n", root().join("environments/platform.ncl").display());
    for (name, fields) in namespaces {
        platform.push_str(&format!("  \"{name}\" = {{ {fields} }},\n"));
    }
    platform.push_str("} }\n");
    let file = dir.join("environments/platform.ncl");
    std::fs::write(&file, platform).unwrap();
    file
}
