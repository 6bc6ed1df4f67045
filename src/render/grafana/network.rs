//! Grafana's NetworkPolicies. Its own policy is derived from the flow table (`render::flows`):
//! in, users through the router on 3000 and the other replicas on the alerting port; out, DNS,
//! the API server (the sidecar), every served backend's query port, and each service it dials
//! at its endpoint (database, cache, Keycloak, the Thanos querier).
//!
//! An endpoint in the cluster is allowed on both ends: Grafana's egress selects its namespace and
//! pods, and an ingress policy in that namespace ([`admissions`]) admits exactly Grafana's pods
//! on its port. obsc renders that policy where it owns the namespace; elsewhere it is the
//! owner's to apply ([`owner_policies`], `obsc owner-policies`). An endpoint outside the cluster
//! is allowed by its CIDR alone: Kubernetes documents `ipBlock` for cluster-external addresses
//! and leaves undefined whether it sees pod IPs at all (kubernetes/website,
//! content/en/docs/concepts/services-networking/network-policies.md, "ipBlock"), so a service in
//! the cluster must be reached through selectors, never through an address block.

use k8s_openapi::api::networking::v1::NetworkPolicy;

use super::NAME;
use crate::facts::addresses::grafana::pods;
use crate::facts::placement;
use crate::model::{Dependency, Endpoint, Grafana, InCluster, Platform};
use crate::render::meta;
use crate::render::network;

/// The label OpenShift puts on the namespaces of its ingress routers.
pub const OPENSHIFT_INGRESS_LABEL: &str = "policy-group.network.openshift.io/ingress";
/// Where ingress-nginx runs on a cluster of one's own (kind).
pub const INGRESS_NGINX_NAMESPACE: &str = "ingress-nginx";

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
    use crate::facts::addresses::Labels;

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
