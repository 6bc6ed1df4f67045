//! Peers: who talks to whom across components, as NetworkPolicy peers and egress rules. A
//! component's policy asks here for its clients (collectors of an environment, the Grafanas that
//! query it, the backends that use a storage instance) and for the rules that reach a backend,
//! so both ends of every flow are made from one place.

use k8s_openapi::api::networking::v1::{NetworkPolicyEgressRule, NetworkPolicyPeer};

use super::network;
use super::Context;
use crate::facts::addresses::{self, collector, loki, mimir, pyroscope, seaweedfs, tempo, Labels};
use crate::model::Environment;
use crate::names::Backend;

/// How a client uses a backend: collectors push, Grafana queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dial {
    Push,
    Query,
}

/// The pods and port a client dials to use an environment's backend; `None` where the
/// environment does not run it.
pub fn backend_endpoint(environment: &str, env: &Environment, backend: Backend, dial: Dial) -> Option<(Labels, u16)> {
    if !env.has(backend) {
        return None;
    }
    Some(match (backend, dial) {
        (Backend::Loki, Dial::Push) => (loki::push_pods(environment, &env.loki), loki::HTTP_PORT),
        (Backend::Loki, Dial::Query) => (loki::query_pods(environment, &env.loki), loki::HTTP_PORT),
        (Backend::Tempo, Dial::Push) => (tempo::pods(environment), tempo::OTLP_GRPC_PORT),
        (Backend::Tempo, Dial::Query) => (tempo::pods(environment), tempo::HTTP_PORT),
        (Backend::Mimir, _) => (mimir::pods(environment), mimir::HTTP_PORT),
        (Backend::Pyroscope, _) => (pyroscope::pods(environment), pyroscope::HTTP_PORT),
    })
}

/// The egress rule to an environment's backend, for a client in any namespace.
pub fn to_backend(
    environment: &str,
    env: &Environment,
    backend: Backend,
    dial: Dial,
) -> Option<NetworkPolicyEgressRule> {
    let (pods, port) = backend_endpoint(environment, env, backend, dial)?;
    Some(network::allow_out(
        vec![network::in_namespace(&env.monitoring_namespace, Some(&pods))],
        vec![network::tcp(port)],
    ))
}

/// The collectors of an environment's managed namespaces: one peer whose namespace selector
/// lists them all (`kubernetes.io/metadata.name In [...]`, sorted), so a namespace added to the
/// topology adds one word to each backend's policy, not a block. Empty when there are none.
pub fn collectors_of(cx: &Context, environment: &str) -> Vec<NetworkPolicyPeer> {
    let namespaces: Vec<&str> = cx
        .platform
        .namespaces
        .iter()
        .filter(|(_, ns)| ns.environment == environment)
        .map(|(name, _)| name.as_str())
        .collect();
    if namespaces.is_empty() {
        return Vec::new();
    }
    vec![network::in_namespaces(&namespaces, Some(&collector::pods()))]
}

/// Who queries an environment's backends: the Grafanas that serve it.
pub fn query_clients(cx: &Context, environment: &str) -> Vec<NetworkPolicyPeer> {
    cx.platform
        .grafana
        .iter()
        .filter(|(_, g)| g.environments.iter().any(|e| e == environment))
        .map(|(name, g)| network::in_namespace(&g.namespace, Some(&addresses::grafana::pods(name))))
        .collect()
}

/// The pods of every backend of an environment: the clients of its S3 gateway.
pub fn backend_pods(environment: &str, env: &Environment) -> Vec<Labels> {
    let mut out = vec![loki::ring(environment)];
    if env.has(Backend::Tempo) {
        out.push(tempo::pods(environment));
    }
    if env.has(Backend::Mimir) {
        out.push(mimir::pods(environment));
    }
    if env.has(Backend::Pyroscope) {
        out.push(pyroscope::pods(environment));
    }
    out
}

/// The backends of every environment a storage instance serves.
pub fn s3_clients(cx: &Context, instance: &str) -> Vec<NetworkPolicyPeer> {
    let mut clients = Vec::new();
    for (env_name, env) in &cx.platform.environments {
        if env.storage == instance {
            for pods in backend_pods(env_name, env) {
                clients.push(network::in_namespace(&env.monitoring_namespace, Some(&pods)));
            }
        }
    }
    clients
}

/// A backend reaching its environment's S3 gateway.
pub fn s3_egress(cx: &Context, env: &Environment) -> NetworkPolicyEgressRule {
    let storage = &cx.platform.storage[&env.storage];
    network::allow_out(
        vec![network::in_namespace(&storage.namespace, Some(&seaweedfs::s3_pods(&env.storage, storage)))],
        vec![network::tcp(seaweedfs::S3_PORT)],
    )
}
