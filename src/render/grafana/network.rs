//! Grafana's NetworkPolicy. In: users through the router on 3000, the other replicas on the
//! alerting port. Out: DNS, the API server (the sidecar), every served backend's query port, the
//! Thanos querier, the database, the cache and Keycloak.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::{IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyPeer};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::NAME;
use crate::facts::addresses::grafana::{ALERTING_PORT, HTTP_PORT};
use crate::facts::addresses::Labels;
use crate::facts::datasources::{backends_of, served_environments};
use crate::model::{Grafana, Tenancy};
use crate::render::peers::{self, Dial};
use crate::render::{network, Context};

/// The label OpenShift puts on the namespaces of its ingress routers.
pub const OPENSHIFT_INGRESS_LABEL: &str = "policy-group.network.openshift.io/ingress";
/// Where ingress-nginx runs on a cluster of one's own (kind).
pub const INGRESS_NGINX_NAMESPACE: &str = "ingress-nginx";

/// The port of an `http(s)://host[:port]/...` URL or a `host:port` address.
pub fn url_port(url: &str, default: u16) -> u16 {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let scheme_default = if url.starts_with("https://") {
        443
    } else if url.starts_with("http://") {
        80
    } else {
        default
    };
    match authority.rsplit_once(':') {
        Some((_, port)) => port.parse().unwrap_or(scheme_default),
        None => scheme_default,
    }
}

/// Any address on one port: PostgreSQL, Redis and Keycloak run outside the platform (often
/// outside the cluster), where no namespace or pod selector reaches.
fn anywhere(port: u16) -> NetworkPolicyEgressRule {
    network::allow_out(
        vec![NetworkPolicyPeer {
            ip_block: Some(IPBlock { cidr: "0.0.0.0/0".to_string(), except: None }),
            ..Default::default()
        }],
        vec![network::tcp(port)],
    )
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
    if let Some(thanos) = &g.thanos {
        egress.push(network::allow_out(
            vec![network::in_namespace(&thanos.namespace, None)],
            vec![network::tcp(url_port(&thanos.url, 9092))],
        ));
    }
    let external: BTreeSet<u16> =
        [g.database.port, url_port(&g.redis.address, 6379), url_port(&g.keycloak.realm_url, 443)].into_iter().collect();
    egress.extend(external.into_iter().map(anywhere));
    network::policy(NAME, &g.namespace, labels, ingress, egress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_of_urls() {
        assert_eq!(url_port("https://thanos-querier.openshift-monitoring.svc:9092", 0), 9092);
        assert_eq!(url_port("https://sso.example.org/realms/x", 0), 443);
        assert_eq!(url_port("http://x/realms/y:1", 0), 80);
        assert_eq!(url_port("redis.example.org:6380", 6379), 6380);
        assert_eq!(url_port("redis.example.org", 6379), 6379);
        assert_eq!(url_port("redis:notaport", 6379), 6379);
    }
}
