//! NetworkPolicies derived from the flow table: a workload's policy admits exactly the flows
//! whose far end dials it, and (when it owns its egress) lets out exactly the flows it dials.
//! Policies are additive, so a pod selected by several (Loki's write pods: the ring's policy
//! and the push policy) gets the union.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta::{self, Labels};
use super::network;
use crate::plan::{Endpoint, Flow, Protocol};

/// A policy to derive: its name, the pods it selects, and whether it also rules their egress.
#[derive(Debug, Clone)]
pub struct Owner {
    pub name: String,
    pub namespace: String,
    pub pods: Labels,
    /// Egress too (the workload's own policy); `false`: an extra ingress allow.
    pub egress: bool,
}

impl Owner {
    fn endpoint(&self) -> Endpoint {
        Endpoint::pods(&self.namespace, &self.pods)
    }
}

/// Who is on the other side of a rule, before it becomes a peer: pods by their labels in a set
/// of namespaces (by name, or by namespace labels), or an address block. Borrowed from the flow
/// table: a backend's policy groups thousands of collector flows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Other<'a> {
    Pods { namespace_labels: &'a BTreeMap<String, String>, pods: &'a Labels },
    Block(&'a str),
}

/// The ports of a rule.
type Ports = BTreeSet<(Protocol, u16)>;

/// The flow table, indexed by each end: the flows' positions sorted by the end, so a lookup is
/// a binary search and the index holds no copy of an endpoint (copies of every endpoint's
/// labels were a good part of a large platform's memory).
#[derive(Debug, Default)]
pub struct Flows {
    pub all: Vec<Flow>,
    /// Positions in `all`, by `to` (stable: table order among equal ends).
    into: Vec<usize>,
    /// Positions in `all`, by `from`.
    out_of: Vec<usize>,
}

impl Flows {
    pub fn new(all: Vec<Flow>) -> Flows {
        let mut into: Vec<usize> = (0..all.len()).collect();
        into.sort_by(|&a, &b| all[a].to.cmp(&all[b].to));
        let mut out_of: Vec<usize> = (0..all.len()).collect();
        out_of.sort_by(|&a, &b| all[a].from.cmp(&all[b].from));
        Flows { all, into, out_of }
    }

    fn into<'s>(&'s self, e: &'s Endpoint) -> impl Iterator<Item = &'s Flow> {
        Self::ending(&self.all, &self.into, e, |f| &*f.to)
    }

    fn out_of<'s>(&'s self, e: &'s Endpoint) -> impl Iterator<Item = &'s Flow> {
        Self::ending(&self.all, &self.out_of, e, |f| &*f.from)
    }

    /// The flows whose `end` is `e`, in table order.
    fn ending<'s>(
        all: &'s [Flow],
        index: &'s [usize],
        e: &'s Endpoint,
        end: fn(&Flow) -> &Endpoint,
    ) -> impl Iterator<Item = &'s Flow> {
        let start = index.partition_point(|&i| end(&all[i]) < e);
        index[start..].iter().map(move |&i| &all[i]).take_while(move |f| end(f) == e)
    }
}

/// The policy of one owner from the flow table.
pub fn derive(owner: &Owner, flows: &Flows) -> NetworkPolicy {
    let me = owner.endpoint();
    let ingress_flows = flows.into(&me).map(|f| (&*f.from, f));
    let egress_flows = flows.out_of(&me).map(|f| (&*f.to, f));
    let ingress = rules(&owner.namespace, ingress_flows)
        .into_iter()
        .map(|(peers, ports)| NetworkPolicyIngressRule { from: Some(peers), ports: Some(ports) })
        .collect();
    let egress: Vec<NetworkPolicyEgressRule> = rules(&owner.namespace, egress_flows)
        .into_iter()
        .map(|(peers, ports)| NetworkPolicyEgressRule { to: Some(peers), ports: Some(ports) })
        .collect();
    let types = if owner.egress { vec!["Ingress", "Egress"] } else { vec!["Ingress"] };
    NetworkPolicy {
        metadata: meta::object(&owner.name, &owner.namespace, &owner.pods),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(meta::match_labels(&owner.pods)),
            policy_types: Some(types.into_iter().map(str::to_string).collect()),
            ingress: Some(ingress),
            egress: owner.egress.then_some(egress),
        }),
    }
}

/// Rules for the flows' far ends: far ends with the same ports share a rule, and pods with the
/// same labels in several namespaces share one peer (`kubernetes.io/metadata.name In [...]`)
/// when they dial the same ports: a peer admits its namespaces to every port of its rule, so
/// namespaces whose flows differ in ports (the applications and the monitoring stack, at a
/// collector) get a peer each.
fn rules<'a>(
    own_namespace: &str,
    flows: impl Iterator<Item = (&'a Endpoint, &'a Flow)>,
) -> Vec<(Vec<NetworkPolicyPeer>, Vec<NetworkPolicyPort>)> {
    // far end (without its namespace name) -> its namespace -> ports
    let mut by_other: BTreeMap<Other<'a>, BTreeMap<Option<&'a str>, Ports>> = BTreeMap::new();
    for (other, flow) in flows {
        let (key, namespace) = match other {
            Endpoint::Pods { namespace, namespace_labels, pods, .. } => {
                (Other::Pods { namespace_labels, pods }, Some(namespace.as_str()))
            }
            Endpoint::Address { cidr, .. } => (Other::Block(cidr), None),
        };
        by_other.entry(key).or_default().entry(namespace).or_default().insert((flow.protocol, flow.port));
    }
    // ports -> peers
    let mut by_ports: BTreeMap<Ports, Vec<NetworkPolicyPeer>> = BTreeMap::new();
    for (other, per_namespace) in by_other {
        let mut namespaces_by_ports: BTreeMap<Ports, BTreeSet<&str>> = BTreeMap::new();
        for (namespace, ports) in per_namespace {
            namespaces_by_ports.entry(ports).or_default().extend(namespace);
        }
        for (ports, namespaces) in namespaces_by_ports {
            by_ports.entry(ports).or_default().push(peer(&other, namespaces, own_namespace));
        }
    }
    by_ports
        .into_iter()
        .map(|(ports, peers)| {
            let ports = ports
                .into_iter()
                .map(|(protocol, port)| NetworkPolicyPort {
                    port: Some(IntOrString::Int(i32::from(port))),
                    protocol: Some(protocol.as_str().to_string()),
                    end_port: None,
                })
                .collect();
            (peers, ports)
        })
        .collect()
}

/// The peer of a far end in its namespaces.
fn peer(other: &Other, namespaces: BTreeSet<&str>, own_namespace: &str) -> NetworkPolicyPeer {
    match other {
        Other::Block(cidr) => NetworkPolicyPeer {
            ip_block: Some(IPBlock { cidr: cidr.to_string(), except: None }),
            ..NetworkPolicyPeer::default()
        },
        Other::Pods { namespace_labels, pods } => {
            let selector = (!pods.is_empty()).then_some(*pods);
            if !namespace_labels.is_empty() {
                // A namespace known by its labels (OpenShift's router namespaces), not its name.
                NetworkPolicyPeer {
                    namespace_selector: Some(meta::match_labels(namespace_labels)),
                    pod_selector: Some(selector.map(meta::match_labels).unwrap_or_default()),
                    ..NetworkPolicyPeer::default()
                }
            } else {
                match namespaces.into_iter().collect::<Vec<&str>>().as_slice() {
                    [only] if *only == own_namespace => network::same_namespace(selector),
                    [only] => network::in_namespace(only, selector),
                    names => network::in_namespaces(names, selector),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn flow(from: Endpoint, to: Endpoint, port: u16) -> Flow {
        Flow { from: from.into(), to: to.into(), port, protocol: Protocol::Tcp, why: String::new() }
    }

    #[test]
    fn a_policy_admits_exactly_its_flows_and_groups_namespaces() {
        let loki = labels(&[("app", "loki")]);
        let collector = labels(&[("app", "alloy")]);
        let owner = Owner { name: "loki".into(), namespace: "mon".into(), pods: loki.clone(), egress: true };
        let flows = vec![
            flow(Endpoint::pods("a", &collector), Endpoint::pods("mon", &loki), 3100),
            flow(Endpoint::pods("b", &collector), Endpoint::pods("mon", &loki), 3100),
            flow(Endpoint::pods("mon", &loki), Endpoint::pods("mon", &loki), 7946),
            flow(
                Endpoint::pods("mon", &loki),
                Endpoint::Address { what: "s3".into(), cidr: "10.0.0.0/8".into() },
                8333,
            ),
            flow(Endpoint::pods("x", &collector), Endpoint::pods("x", &labels(&[])), 1),
        ];
        let policy = derive(&owner, &Flows::new(flows));
        let text = crate::serial::yaml(&policy).unwrap();
        assert!(text.contains("operator: In"), "{text}");
        assert!(text.contains("- a\n") && text.contains("- b\n"), "{text}");
        assert!(text.contains("cidr: 10.0.0.0/8"), "{text}");
        let spec = policy.spec.unwrap();
        assert_eq!(spec.ingress.as_ref().unwrap().len(), 2, "collectors on 3100, the ring on 7946");
        assert_eq!(spec.egress.as_ref().unwrap().len(), 2, "the ring on 7946, S3 on 8333");
        assert_eq!(spec.policy_types.unwrap(), vec!["Ingress", "Egress"]);
    }

    #[test]
    fn namespaces_that_dial_different_ports_do_not_share_a_peer() {
        // Applications in `app` send OTLP to their collector; the monitoring stack scrapes its
        // metrics port. Neither may reach the other's port.
        let collector = labels(&[("app", "alloy")]);
        let any = labels(&[]);
        let owner = Owner { name: "c".into(), namespace: "app".into(), pods: collector.clone(), egress: false };
        let flows = vec![
            flow(Endpoint::pods("app", &any), Endpoint::pods("app", &collector), 4317),
            flow(Endpoint::pods("monitoring", &any), Endpoint::pods("app", &collector), 12345),
        ];
        let ingress = derive(&owner, &Flows::new(flows)).spec.unwrap().ingress.unwrap();
        assert_eq!(ingress.len(), 2, "{ingress:?}");
        assert_eq!(ingress[0].from, Some(vec![network::same_namespace(None)]));
        assert_eq!(ingress[0].ports, Some(vec![network::tcp(4317)]));
        assert_eq!(ingress[1].from, Some(vec![network::in_namespace("monitoring", None)]));
        assert_eq!(ingress[1].ports, Some(vec![network::tcp(12345)]));
    }
}
