//! Flows through NetworkPolicies, with Kubernetes' own semantics: a pod selected by no policy
//! of a direction is open in that direction; once selected, only what some rule of some
//! selecting policy allows gets through; a rule's peers are pod selectors (in the policy's own
//! namespace), namespace selectors (with or without a pod selector) or ipBlocks, which match
//! addresses outside the pod network only (most network plugins never match them against pod
//! IPs); ports match by number, range or the destination's named container port.
//! Reference: kubernetes.io/docs/concepts/services-networking/network-policies.
//!
//! Every flow of the plan must pass the egress of its source and the ingress of its
//! destination. Ends in namespaces obsc does not render have no policies obsc knows: they pass
//! here, and `obsc flows` lists them for their owners.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::references::Templates;
use super::Problem;
use crate::plan::{Endpoint, Flow, Object, Protocol};

/// Set on every Namespace by Kubernetes itself.
const NAMESPACE_NAME: &str = "kubernetes.io/metadata.name";

/// Whether a label selector selects `labels` (matchLabels and matchExpressions: In, NotIn,
/// Exists, DoesNotExist). An empty selector selects everything.
pub fn selects(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let by_label = selector.match_labels.iter().flatten().all(|(k, v)| labels.get(k) == Some(v));
    let by_expression = selector.match_expressions.iter().flatten().all(|e| {
        let value = labels.get(&e.key);
        let values = e.values.as_deref().unwrap_or_default();
        match e.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    by_label && by_expression
}

/// One concrete end of a flow, as the policies see it.
#[derive(Debug, Clone)]
enum Peer<'a> {
    Pod {
        namespace: String,
        namespace_labels: BTreeMap<String, String>,
        labels: BTreeMap<String, String>,
        /// Named container ports, for rules that name a port.
        ports: Vec<(String, i32, String)>,
        /// What it is, for messages.
        shown: String,
        _owner: Option<&'a Object>,
    },
    Address {
        cidr: String,
    },
}

/// Checks `flows` against the NetworkPolicies of `visible`, whose pods are `templates`. An end in
/// a namespace of `rendered` (every namespace obsc renders into) must be pods of `visible`.
pub fn check(visible: &[&Object], templates: &Templates, flows: &[&Flow], rendered: &BTreeSet<&str>) -> Vec<Problem> {
    let mut policies: BTreeMap<&str, Vec<&NetworkPolicy>> = BTreeMap::new();
    for o in visible {
        if let Object::NetworkPolicy(p) = o {
            policies.entry(o.namespace()).or_default().push(p);
        }
    }
    let mut found = Vec::new();
    for flow in flows {
        let subject = format!("flow `{}`", flow.why);
        let (sources, problem) = resolve(&flow.from, templates, rendered);
        if let Some(p) = problem {
            found.push(Problem { subject: subject.clone(), problem: p });
        }
        let (destinations, problem) = resolve(&flow.to, templates, rendered);
        if let Some(p) = problem {
            found.push(Problem { subject: subject.clone(), problem: p });
        }
        for s in &sources {
            for d in &destinations {
                if let Some(blocked) = blocked(s, d, flow.port, flow.protocol, &policies) {
                    found.push(Problem {
                        subject: subject.clone(),
                        problem: format!(
                            "{} to {} on {}/{}: {blocked}",
                            shown(s),
                            shown(d),
                            flow.port,
                            flow.protocol.as_str()
                        ),
                    });
                }
            }
        }
    }
    found
}

fn shown(p: &Peer) -> String {
    match p {
        Peer::Pod { shown, .. } => shown.clone(),
        Peer::Address { cidr } => format!("address {cidr}"),
    }
}

/// The pods an endpoint stands for: the plan's own where obsc renders into its namespace (a
/// selector that matches none of them is a problem), else one pod with the endpoint's labels.
fn resolve<'a>(
    endpoint: &Endpoint,
    templates: &'a Templates,
    rendered: &BTreeSet<&str>,
) -> (Vec<Peer<'a>>, Option<String>) {
    let (namespace, namespace_labels, selector, ours) = match endpoint {
        Endpoint::Address { cidr, .. } => return (vec![Peer::Address { cidr: cidr.clone() }], None),
        Endpoint::Pods { namespace, namespace_labels, pods, ours } => (namespace, namespace_labels, pods, *ours),
    };
    let mut ns_labels = namespace_labels.clone();
    ns_labels.insert(NAMESPACE_NAME.to_string(), namespace.clone());
    if ours && rendered.contains(namespace.as_str()) && !selector.is_empty() {
        let matching: Vec<Peer> = templates
            .in_namespace(namespace)
            .filter(|p| selector.iter().all(|(k, v)| p.labels.get(k) == Some(v)))
            .map(|p| Peer::Pod {
                namespace: namespace.clone(),
                namespace_labels: ns_labels.clone(),
                labels: p.labels.clone(),
                ports: p
                    .ports
                    .iter()
                    .filter_map(|c| {
                        Some((
                            c.name.clone()?,
                            c.container_port,
                            c.protocol.clone().unwrap_or_else(|| "TCP".to_string()),
                        ))
                    })
                    .collect(),
                shown: p.owner.key().to_string(),
                _owner: Some(p.owner),
            })
            .collect();
        if matching.is_empty() {
            return (Vec::new(), Some(format!("{endpoint} matches no pod of the plan")));
        }
        return (matching, None);
    }
    let pod = Peer::Pod {
        namespace: namespace.clone(),
        namespace_labels: ns_labels,
        labels: selector.clone(),
        ports: Vec::new(),
        shown: endpoint.to_string(),
        _owner: None,
    };
    (vec![pod], None)
}

/// Why the policies block `from` -> `to`, if they do: the source's egress, then the
/// destination's ingress, each judged by the policies that select that end.
fn blocked(
    from: &Peer,
    to: &Peer,
    port: u16,
    protocol: Protocol,
    policies: &BTreeMap<&str, Vec<&NetworkPolicy>>,
) -> Option<String> {
    for (direction, end, other) in [("Egress", from, to), ("Ingress", to, from)] {
        let Peer::Pod { namespace, labels, .. } = end else { continue };
        let selecting = selecting(policies, namespace, labels, direction);
        if selecting.is_empty() {
            continue;
        }
        let allowed = selecting
            .iter()
            .filter_map(|p| p.spec.as_ref())
            .flat_map(|s| rules(s, direction))
            .any(|(peers, ports)| peers_match(peers, namespace, other) && ports_match(ports, port, protocol, to));
        if !allowed {
            return Some(format!("no {} rule of {} allows it", direction.to_lowercase(), names(&selecting)));
        }
    }
    None
}

/// A policy's rules of one direction, as (peers, ports).
type Rule<'a> = (Option<&'a [NetworkPolicyPeer]>, Option<&'a [NetworkPolicyPort]>);

fn rules<'a>(spec: &'a NetworkPolicySpec, direction: &str) -> Vec<Rule<'a>> {
    if direction == "Egress" {
        spec.egress.iter().flatten().map(|r| (r.to.as_deref(), r.ports.as_deref())).collect()
    } else {
        spec.ingress.iter().flatten().map(|r| (r.from.as_deref(), r.ports.as_deref())).collect()
    }
}

fn names(policies: &[&NetworkPolicy]) -> String {
    let names: Vec<String> =
        policies.iter().map(|p| format!("NetworkPolicy/{}", p.metadata.name.as_deref().unwrap_or_default())).collect();
    names.join(", ")
}

/// The policies of a namespace that select a pod for a direction. A policy without
/// `policyTypes` is an Ingress policy, and an Egress one too when it has egress rules.
fn selecting<'a>(
    policies: &BTreeMap<&str, Vec<&'a NetworkPolicy>>,
    namespace: &str,
    labels: &BTreeMap<String, String>,
    direction: &str,
) -> Vec<&'a NetworkPolicy> {
    policies
        .get(namespace)
        .into_iter()
        .flatten()
        .filter(|p| {
            let Some(spec) = &p.spec else { return false };
            let applies = match &spec.policy_types {
                Some(types) => types.iter().any(|t| t == direction),
                None => direction == "Ingress" || spec.egress.is_some(),
            };
            applies && selects(spec.pod_selector.as_ref().unwrap_or(&LabelSelector::default()), labels)
        })
        .copied()
        .collect()
}

/// Whether a rule's peers admit `other` (seen from a policy in `namespace`). No peers: anyone.
fn peers_match(peers: Option<&[NetworkPolicyPeer]>, namespace: &str, other: &Peer) -> bool {
    let Some(peers) = peers.filter(|p| !p.is_empty()) else { return true };
    peers.iter().any(|peer| match (other, &peer.ip_block) {
        (Peer::Address { cidr }, Some(block)) => {
            contains(&block.cidr, cidr) && !block.except.iter().flatten().any(|e| contains(e, cidr))
        }
        (Peer::Address { .. }, None) | (Peer::Pod { .. }, Some(_)) => false,
        (Peer::Pod { namespace: other_ns, namespace_labels, labels, .. }, None) => {
            let namespace_ok = match &peer.namespace_selector {
                None => other_ns == namespace,
                Some(selector) => selects(selector, namespace_labels),
            };
            let pod_ok = peer.pod_selector.as_ref().is_none_or(|s| selects(s, labels));
            namespace_ok && pod_ok
        }
    })
}

/// Whether a rule's ports admit `port`/`protocol` at `destination`. No ports: every port.
fn ports_match(ports: Option<&[NetworkPolicyPort]>, port: u16, protocol: Protocol, destination: &Peer) -> bool {
    let Some(ports) = ports.filter(|p| !p.is_empty()) else { return true };
    ports.iter().any(|p| {
        if p.protocol.as_deref().unwrap_or("TCP") != protocol.as_str() {
            return false;
        }
        match &p.port {
            None => true,
            Some(IntOrString::Int(n)) => {
                let end = p.end_port.unwrap_or(*n);
                (*n..=end).contains(&i32::from(port))
            }
            Some(IntOrString::String(name)) => match destination {
                Peer::Pod { ports, .. } => ports
                    .iter()
                    .any(|(n, number, proto)| n == name && *number == i32::from(port) && proto == protocol.as_str()),
                Peer::Address { .. } => false,
            },
        }
    })
}

/// Whether IPv4 block `outer` contains block `inner` (both `a.b.c.d/n`).
fn contains(outer: &str, inner: &str) -> bool {
    let parse = |s: &str| -> Option<(u32, u32)> {
        let (ip, len) = s.split_once('/')?;
        let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
        let octets: Vec<u32> = ip.split('.').map(|o| o.parse::<u8>().map(u32::from)).collect::<Result<_, _>>().ok()?;
        if octets.len() != 4 {
            return None;
        }
        Some((octets.iter().fold(0, |a, o| (a << 8) | o), len))
    };
    let (Some((outer_ip, outer_len)), Some((inner_ip, inner_len))) = (parse(outer), parse(inner)) else {
        return false;
    };
    let mask = if outer_len == 0 { 0 } else { u32::MAX << (32 - outer_len) };
    outer_len <= inner_len && (outer_ip & mask) == (inner_ip & mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object<T: serde::de::DeserializeOwned + Into<Object>>(v: serde_json::Value) -> Object {
        serde_json::from_value::<T>(v).unwrap().into()
    }

    fn workload(name: &str, ns: &str, labels: serde_json::Value) -> Object {
        object::<k8s_openapi::api::apps::v1::Deployment>(json!({
            "metadata": { "name": name, "namespace": ns },
            "spec": { "selector": { "matchLabels": labels }, "template": { "metadata": { "labels": labels },
                "spec": { "containers": [{ "name": "c", "ports": [{ "name": "http", "containerPort": 5432 }] }] } } }
        }))
    }

    fn policy(name: &str, ns: &str, spec: serde_json::Value) -> Object {
        object::<NetworkPolicy>(json!({ "metadata": { "name": name, "namespace": ns }, "spec": spec }))
    }

    fn flow(from: Endpoint, to: Endpoint, port: u16) -> Flow {
        Flow {
            from: from.into(),
            to: to.into(),
            port,
            protocol: Protocol::Tcp,
            why: "grafana reads its database".to_string(),
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn problems(objects: &[Object], flows: &[Flow]) -> Vec<String> {
        let refs: Vec<&Object> = objects.iter().collect();
        let rendered = refs.iter().map(|o| o.namespace()).filter(|n| !n.is_empty()).collect();
        let flows: Vec<&Flow> = flows.iter().collect();
        check(&refs, &Templates::of(&refs), &flows, &rendered).into_iter().map(|p| p.problem).collect()
    }

    /// Grafana in `mon` dials PostgreSQL in `tools`, which obsc default-denies.
    fn setting() -> (Vec<Object>, Flow) {
        let objects = vec![
            workload("grafana", "mon", json!({ "app": "grafana" })),
            workload("postgres", "tools", json!({ "app": "postgres" })),
            policy("default-deny", "tools", json!({ "podSelector": {}, "policyTypes": ["Ingress", "Egress"] })),
            policy(
                "grafana",
                "mon",
                json!({ "podSelector": { "matchLabels": { "app": "grafana" } }, "policyTypes": ["Ingress", "Egress"],
                "egress": [{ "to": [{ "ipBlock": { "cidr": "0.0.0.0/0" } }], "ports": [{ "port": 5432, "protocol": "TCP" }] }] }),
            ),
        ];
        let f = flow(
            Endpoint::pods("mon", &labels(&[("app", "grafana")])),
            Endpoint::pods("tools", &labels(&[("app", "postgres")])),
            5432,
        );
        (objects, f)
    }

    #[test]
    fn an_ip_block_does_not_reach_pods_and_default_deny_blocks_ingress() {
        let (objects, f) = setting();
        assert_eq!(
            problems(&objects, &[f]),
            vec!["Deployment/grafana in mon to Deployment/postgres in tools on 5432/TCP: no egress rule of NetworkPolicy/grafana allows it"]
        );
    }

    #[test]
    fn allows_at_both_ends_let_the_flow_through() {
        let (mut objects, f) = setting();
        objects[3] = policy(
            "grafana",
            "mon",
            json!({ "podSelector": { "matchLabels": { "app": "grafana" } }, "policyTypes": ["Egress"],
            "egress": [{ "to": [{ "namespaceSelector": { "matchLabels": { NAMESPACE_NAME: "tools" } },
                                   "podSelector": { "matchLabels": { "app": "postgres" } } }],
                         "ports": [{ "port": "http", "protocol": "TCP" }] }] }),
        );
        // Egress allowed by the named port; ingress still denied by default-deny.
        assert_eq!(
            problems(&objects, std::slice::from_ref(&f)),
            vec!["Deployment/grafana in mon to Deployment/postgres in tools on 5432/TCP: no ingress rule of NetworkPolicy/default-deny allows it"]
        );
        objects.push(policy("postgres", "tools", json!({ "podSelector": { "matchLabels": { "app": "postgres" } }, "policyTypes": ["Ingress"],
            "ingress": [{ "from": [{ "namespaceSelector": { "matchExpressions": [{ "key": NAMESPACE_NAME, "operator": "In", "values": ["mon"] }] },
                                     "podSelector": { "matchLabels": { "app": "grafana" } } }],
                          "ports": [{ "port": 5432 }] }] })));
        assert!(problems(&objects, &[f]).is_empty());
    }

    #[test]
    fn a_flow_to_pods_that_do_not_exist_is_found() {
        let (objects, _) = setting();
        let f = flow(
            Endpoint::pods("mon", &labels(&[("app", "grafana")])),
            Endpoint::pods("tools", &labels(&[("app", "redis")])),
            6379,
        );
        assert_eq!(problems(&objects, &[f]), vec!["pods {app=redis} in `tools` matches no pod of the plan"]);
    }

    #[test]
    fn addresses_need_an_ip_block_that_contains_them() {
        let (objects, _) = setting();
        let outside = |cidr: &str| Endpoint::Address { what: "db".to_string(), cidr: cidr.to_string() };
        assert!(problems(
            &objects,
            &[flow(Endpoint::pods("mon", &labels(&[("app", "grafana")])), outside("10.1.2.3/32"), 5432)]
        )
        .is_empty());
        assert_eq!(
            problems(
                &objects,
                &[flow(Endpoint::pods("mon", &labels(&[("app", "grafana")])), outside("10.1.2.3/32"), 5433)]
            )
            .len(),
            1
        );
        assert!(contains("10.0.0.0/8", "10.1.0.0/16"));
        assert!(!contains("10.1.0.0/16", "10.0.0.0/8"));
        assert!(!contains("192.168.0.0/16", "10.0.0.1/32"));
    }
}
