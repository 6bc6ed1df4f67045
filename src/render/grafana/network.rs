//! Grafana's NetworkPolicies. In: users through the router on 3000, the other replicas on the
//! alerting port. Out: DNS, the API server (the sidecar), every served backend's query port, and
//! each service it dials at its endpoint (database, cache, Keycloak, the Thanos querier).
//!
//! An endpoint in the cluster is allowed on both ends: Grafana's egress selects its namespace and
//! pods, and an ingress policy in that namespace ([`admissions`]) admits exactly Grafana's pods
//! on its port. obsc renders that policy where it owns the namespace; elsewhere it is the
//! owner's to apply ([`owner_policies`], `obsc owner-policies`). An endpoint outside the cluster
//! is allowed by its CIDR alone: Kubernetes documents `ipBlock` for cluster-external addresses
//! and leaves undefined whether it sees pod IPs at all (kubernetes/website,
//! content/en/docs/concepts/services-networking/network-policies.md, "ipBlock"), so a service in
//! the cluster must be reached through selectors, never through an address block.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyPeer};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::NAME;
use crate::facts::addresses::grafana::{pods, ALERTING_PORT, HTTP_PORT};
use crate::facts::addresses::Labels;
use crate::facts::datasources::{backends_of, served_environments};
use crate::facts::placement;
use crate::model::{Dependency, Endpoint, Grafana, InCluster, Platform, Tenancy};
use crate::render::meta;
use crate::render::peers::{self, Dial};
use crate::render::{network, Context};

/// The label OpenShift puts on the namespaces of its ingress routers.
pub const OPENSHIFT_INGRESS_LABEL: &str = "policy-group.network.openshift.io/ingress";
/// Where ingress-nginx runs on a cluster of one's own (kind).
pub const INGRESS_NGINX_NAMESPACE: &str = "ingress-nginx";

/// The egress rule to one endpoint. `None` for an outside endpoint without a CIDR, which the
/// checker refuses: the flow stays closed rather than open to every address.
fn to_endpoint(endpoint: &Endpoint) -> Option<NetworkPolicyEgressRule> {
    match endpoint {
        Endpoint::InCluster(e) => Some(network::allow_out(
            vec![network::in_namespace(&e.namespace, Some(&e.pod_labels))],
            vec![network::tcp(e.pod_port())],
        )),
        Endpoint::Outside(e) => {
            let cidr = e.cidr.as_ref()?;
            Some(network::allow_out(
                vec![NetworkPolicyPeer {
                    ip_block: Some(IPBlock { cidr: cidr.clone(), except: None }),
                    ..Default::default()
                }],
                vec![network::tcp(e.port)],
            ))
        }
    }
}

pub fn policy(cx: &Context, g: &Grafana, labels: &Labels, tenancy: Tenancy) -> NetworkPolicy {
    let router = match tenancy {
        Tenancy::Namespaced => NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(OPENSHIFT_INGRESS_LABEL.to_string(), String::new())])),
                ..LabelSelector::default()
            }),
            ..Default::default()
        },
        Tenancy::Cluster => network::in_namespace(INGRESS_NGINX_NAMESPACE, None),
    };
    let replicas = vec![network::same_namespace(Some(labels))];
    let gossip = vec![network::tcp(ALERTING_PORT), network::udp(ALERTING_PORT)];
    let ingress = vec![
        network::allow_in(vec![router], vec![network::tcp(HTTP_PORT)]),
        network::allow_in(replicas.clone(), gossip.clone()),
    ];
    let mut egress = Vec::new();
    if let Some(target) = cx.platform.targets.get(&g.target) {
        egress.push(network::dns(target));
        egress.push(network::api_server(target));
    }
    egress.push(network::allow_out(replicas, gossip));
    for (env_name, env) in served_environments(cx.platform, g) {
        for backend in backends_of(env) {
            egress.extend(peers::to_backend(env_name, env, backend, Dial::Query));
        }
    }
    for (_, endpoint) in g.endpoints() {
        // Two services behind the same pods and port (one PostgreSQL for two uses) need one rule.
        if let Some(rule) = to_endpoint(endpoint).filter(|r| !egress.contains(r)) {
            egress.push(rule);
        }
    }
    network::policy(NAME, &g.namespace, labels, ingress, egress)
}

/// A policy some namespace needs so that Grafana reaches a service there.
#[derive(Debug, Clone, PartialEq)]
pub struct Admission {
    /// Where it applies: the endpoint's namespace.
    pub namespace: String,
    pub grafana: String,
    pub dependency: Dependency,
    pub policy: NetworkPolicy,
}

/// The ingress policy that admits Grafana `name` to one in-cluster endpoint: exactly its pods on
/// its port, from exactly this Grafana's pods. It adds to whatever else selects those pods
/// (policies are additive) and leaves their egress alone. Its labels say it is Grafana's, not
/// the service's (tools that track objects by `app.kubernetes.io/instance` would claim it).
fn admission(name: &str, grafana_namespace: &str, dependency: Dependency, endpoint: &InCluster) -> NetworkPolicy {
    let grafana = pods(name);
    let mut policy = network::ingress_only(
        &format!("{NAME}-{name}-to-{}", dependency.field()),
        &endpoint.namespace,
        &endpoint.pod_labels,
        vec![network::allow_in(
            vec![network::in_namespace(grafana_namespace, Some(&grafana))],
            vec![network::tcp(endpoint.pod_port())],
        )],
    );
    policy.metadata.labels = Some(meta::labels(&grafana));
    policy
}

/// Every ingress policy Grafana `name`'s in-cluster endpoints need, one per endpoint.
pub fn admissions(name: &str, g: &Grafana) -> Vec<Admission> {
    g.endpoints()
        .into_iter()
        .filter_map(|(dependency, endpoint)| match endpoint {
            Endpoint::InCluster(e) => Some(Admission {
                namespace: e.namespace.clone(),
                grafana: name.to_string(),
                dependency,
                policy: admission(name, &g.namespace, dependency, e),
            }),
            Endpoint::Outside(_) => None,
        })
        .collect()
}

/// The policies that namespaces obsc does not own must apply for the Grafanas of `target` to
/// reach their services: the same policies obsc renders where it owns the namespace.
pub fn owner_policies(platform: &Platform, target: &str) -> Vec<Admission> {
    let places = placement::of_platform(platform);
    platform
        .grafana
        .iter()
        .filter(|(_, g)| g.target == target)
        .flat_map(|(name, g)| admissions(name, g))
        .filter(|a| !places.get(&a.namespace).is_some_and(|p| p.role.owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Outside;

    fn postgres(pod_port: Option<u16>) -> InCluster {
        InCluster {
            namespace: "tools".to_string(),
            pod_labels: Labels::from([("app.kubernetes.io/name".to_string(), "postgresql".to_string())]),
            host: "pg.tools.svc".to_string(),
            port: 5432,
            pod_port,
        }
    }

    #[test]
    fn an_outside_endpoint_is_its_cidr_and_nothing_wider() {
        let outside = |cidr: Option<&str>| {
            Endpoint::Outside(Outside { host: "sso".to_string(), port: 443, cidr: cidr.map(str::to_string) })
        };
        let rule = to_endpoint(&outside(Some("203.0.113.0/24"))).unwrap();
        let to = rule.to.unwrap();
        assert_eq!(to[0].ip_block.as_ref().unwrap().cidr, "203.0.113.0/24");
        assert_eq!(rule.ports.unwrap(), vec![network::tcp(443)]);
        // Without a CIDR (the checker refuses it) the flow stays closed.
        assert_eq!(to_endpoint(&outside(None)), None);
    }

    #[test]
    fn an_in_cluster_endpoint_is_its_pods_on_the_pods_port() {
        let rule = to_endpoint(&Endpoint::InCluster(postgres(Some(15432)))).unwrap();
        let to = rule.to.unwrap();
        assert!(to[0].ip_block.is_none());
        assert_eq!(to[0].pod_selector, Some(meta::match_labels(&postgres(None).pod_labels)));
        assert_eq!(rule.ports.unwrap(), vec![network::tcp(15432)]);
    }

    #[test]
    fn the_admission_selects_exactly_the_pods_and_admits_exactly_grafana() {
        let p = admission("shared", "mon", Dependency::Database, &postgres(None));
        assert_eq!(p.metadata.name.as_deref(), Some("grafana-shared-to-database"));
        assert_eq!(p.metadata.namespace.as_deref(), Some("tools"));
        let spec = p.spec.unwrap();
        assert_eq!(spec.pod_selector, Some(meta::match_labels(&postgres(None).pod_labels)));
        assert_eq!(spec.policy_types, Some(vec!["Ingress".to_string()]));
        let ingress = spec.ingress.unwrap();
        assert_eq!(ingress.len(), 1);
        assert_eq!(ingress[0].from, Some(vec![network::in_namespace("mon", Some(&pods("shared")))]));
        assert_eq!(ingress[0].ports, Some(vec![network::tcp(5432)]));
    }
}
