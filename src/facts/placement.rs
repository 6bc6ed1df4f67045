//! Placement: the target each namespace renders into, and the role obsc plays there. The
//! checker proves that no namespace is claimed twice; the renderer files every object into the
//! target of its namespace and starts the namespaces obsc owns from deny-all.

use std::collections::BTreeMap;

use crate::model::Platform;

/// What obsc does in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// An environment's monitoring namespace (its backends): obsc owns it.
    Monitoring,
    /// A storage instance's namespace: obsc owns it.
    Storage,
    /// A Grafana's own namespace: obsc owns it.
    Grafana,
    /// A team's application namespace: obsc adds its collector and nothing namespace-wide.
    Managed,
    /// A namespace only a Grafana's dashboard sidecar reads (`dashboards.extra_namespaces`).
    Watched,
}

impl Role {
    /// Whether obsc owns the whole namespace (and so starts it from deny-all).
    pub fn owned(self) -> bool {
        matches!(self, Role::Monitoring | Role::Storage | Role::Grafana)
    }

    /// The role in words, for messages.
    pub fn what(self) -> &'static str {
        match self {
            Role::Monitoring => "an environment's monitoring namespace",
            Role::Storage => "a storage instance's namespace",
            Role::Grafana => "a Grafana's namespace",
            Role::Managed => "a managed namespace",
            Role::Watched => "a namespace a Grafana's dashboard sidecar reads",
        }
    }
}

/// Where a namespace renders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub target: String,
    pub role: Role,
}

/// Every namespace obsc renders into. Where a checked platform cannot have two claims, the first
/// in the order below wins.
pub fn of_platform(platform: &Platform) -> BTreeMap<String, Place> {
    let mut out: BTreeMap<String, Place> = BTreeMap::new();
    let mut claim = |namespace: &str, target: &str, role: Role| {
        out.entry(namespace.to_string()).or_insert_with(|| Place { target: target.to_string(), role });
    };
    for (name, env) in &platform.environments {
        claim(&env.monitoring_namespace, env.target(name), Role::Monitoring);
    }
    for storage in platform.storage.values() {
        claim(&storage.namespace, &storage.target, Role::Storage);
    }
    for g in platform.grafana.values() {
        claim(&g.namespace, &g.target, Role::Grafana);
    }
    for (name, ns) in &platform.namespaces {
        if let Some(env) = platform.environments.get(&ns.environment) {
            claim(name, env.target(&ns.environment), Role::Managed);
        }
    }
    for g in platform.grafana.values() {
        for extra in &g.dashboards.extra_namespaces {
            claim(extra, &g.target, Role::Watched);
        }
    }
    out
}
