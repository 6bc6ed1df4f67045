//! NetworkPolicy building blocks. Every workload obsc renders is selected by a policy of its
//! own with both Ingress and Egress types, so it is default-deny, and every flow it needs is
//! one of the explicit allows made here.

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta::{self, Labels};
use crate::model::Target;

/// A policy for the pods matching `pods`, admitting exactly `ingress` and `egress`.
pub fn policy(
    name: &str,
    namespace: &str,
    pods: &Labels,
    ingress: Vec<NetworkPolicyIngressRule>,
    egress: Vec<NetworkPolicyEgressRule>,
) -> NetworkPolicy {
    NetworkPolicy {
        metadata: meta::object(name, namespace, pods),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(meta::match_labels(pods)),
            policy_types: Some(vec!["Ingress".to_string(), "Egress".to_string()]),
            ingress: Some(ingress),
            egress: Some(egress),
        }),
    }
}

/// An extra allow for some pods: adds ingress to what their main policy admits (policies are
/// additive) without touching their egress.
pub fn ingress_only(
    name: &str,
    namespace: &str,
    pods: &Labels,
    ingress: Vec<NetworkPolicyIngressRule>,
) -> NetworkPolicy {
    NetworkPolicy {
        metadata: meta::object(name, namespace, pods),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(meta::match_labels(pods)),
            policy_types: Some(vec!["Ingress".to_string()]),
            ingress: Some(ingress),
            egress: None,
        }),
    }
}

/// A namespace that obsc owns starts from nothing allowed; every workload's policy then adds
/// its flows.
pub fn default_deny(namespace: &str) -> NetworkPolicy {
    NetworkPolicy {
        metadata: meta::object("default-deny", namespace, &meta::selector("obsc", "network", namespace)),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Ingress".to_string(), "Egress".to_string()]),
            ingress: None,
            egress: None,
        }),
    }
}

pub fn tcp(port: u16) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(i32::from(port))),
        protocol: Some("TCP".to_string()),
        ..Default::default()
    }
}

pub fn udp(port: u16) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(i32::from(port))),
        protocol: Some("UDP".to_string()),
        ..Default::default()
    }
}

/// Pods matching `pods` in the policy's own namespace (an empty selector: any pod there).
pub fn same_namespace(pods: Option<&Labels>) -> NetworkPolicyPeer {
    NetworkPolicyPeer { pod_selector: Some(pods.map(meta::match_labels).unwrap_or_default()), ..Default::default() }
}

/// Pods matching `pods` (any pod if `None`) in the namespace named `namespace`.
pub fn in_namespace(namespace: &str, pods: Option<&Labels>) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(meta::match_labels(&Labels::from([(
            meta::NAMESPACE_NAME.to_string(),
            namespace.to_string(),
        )]))),
        pod_selector: Some(pods.map(meta::match_labels).unwrap_or_default()),
        ..Default::default()
    }
}

/// Pods matching `pods` in any of `namespaces` (given sorted), as one peer.
pub fn in_namespaces(namespaces: &[&str], pods: Option<&Labels>) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: meta::NAMESPACE_NAME.to_string(),
                operator: "In".to_string(),
                values: Some(namespaces.iter().map(|n| n.to_string()).collect()),
            }]),
            ..LabelSelector::default()
        }),
        pod_selector: Some(pods.map(meta::match_labels).unwrap_or_default()),
        ..Default::default()
    }
}

pub fn allow_in(from: Vec<NetworkPolicyPeer>, ports: Vec<NetworkPolicyPort>) -> NetworkPolicyIngressRule {
    NetworkPolicyIngressRule { from: Some(from), ports: Some(ports) }
}

pub fn allow_out(to: Vec<NetworkPolicyPeer>, ports: Vec<NetworkPolicyPort>) -> NetworkPolicyEgressRule {
    NetworkPolicyEgressRule { to: Some(to), ports: Some(ports) }
}

/// Name resolution through the cluster's DNS pods.
pub fn dns(target: &Target) -> NetworkPolicyEgressRule {
    let port = target.cluster_dns.port;
    allow_out(vec![in_namespace(&target.cluster_dns.namespace, None)], vec![udp(port), tcp(port)])
}
