//! Peers: who dials whom across components. The flow table (`super::flows`) asks here which pods
//! and port a client dials to use a backend, and which backends use S3; SeaweedFS's hand-built
//! S3 policy asks for the backends of the environments it serves.

use k8s_openapi::api::networking::v1::NetworkPolicyPeer;

use super::network;
use super::Context;
use crate::facts::addresses::{loki, mimir, pyroscope, tempo, Labels};
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
