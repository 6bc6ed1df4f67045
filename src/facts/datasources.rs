//! Datasources: which ones a Grafana provisions, their names and UIDs. The renderer writes them
//! into the provisioning file (with their links), the checker proves that no two UIDs are alike
//! and that every dashboard names a provisioned one, and the generated dashboards refer to them.

use crate::model::{Environment, Grafana, Platform};
use crate::names::Backend;

/// Grafana's limit on datasource and dashboard UIDs.
pub const MAX_UID: usize = 40;

/// A UID Grafana accepts: at most 40 characters. Names are DNS labels, so only the length can be
/// wrong; a longer one is cut, and the checker reports two names cut to the same UID.
pub fn fit_uid(uid: String) -> String {
    uid.chars().take(MAX_UID).collect()
}

/// The datasource UID of an environment's backend: its instance name (`loki-prod`).
pub fn backend_uid(backend: Backend, environment: &str) -> String {
    fit_uid(backend.instance(environment))
}

/// The Thanos datasource UID of a managed namespace: `thanos-<namespace>`.
pub fn thanos_uid(namespace: &str) -> String {
    fit_uid(format!("thanos-{namespace}"))
}

/// Which topology value a datasource comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum About {
    /// An environment's backend.
    Backend(Backend, String),
    /// A managed namespace's metrics through the Thanos querier.
    Thanos(String),
}

/// One provisioned datasource: what identifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasourceId {
    pub name: String,
    pub uid: String,
    pub about: About,
}

/// The environments a Grafana serves that exist, in name order.
pub fn served_environments<'a>(
    platform: &'a Platform,
    grafana: &'a Grafana,
) -> impl Iterator<Item = (&'a String, &'a Environment)> {
    platform.environments.iter().filter(|(name, _)| grafana.environments.contains(name))
}

/// The managed namespaces a Grafana serves (those of its environments), in name order.
pub fn managed_namespaces<'a>(platform: &'a Platform, grafana: &'a Grafana) -> Vec<&'a str> {
    platform
        .namespaces
        .iter()
        .filter(|(_, ns)| grafana.environments.contains(&ns.environment))
        .map(|(name, _)| name.as_str())
        .collect()
}

/// The backends of an environment that have a datasource, in provisioning order.
pub fn backends_of(environment: &Environment) -> Vec<Backend> {
    [Backend::Loki, Backend::Tempo, Backend::Mimir, Backend::Pyroscope]
        .into_iter()
        .filter(|b| environment.has(*b))
        .collect()
}

/// Every datasource of a Grafana, in the order of its provisioning file: per served environment
/// its backends, then per managed namespace a Thanos datasource when Thanos is configured.
pub fn of_grafana(platform: &Platform, grafana: &Grafana) -> Vec<DatasourceId> {
    let mut out = Vec::new();
    for (env_name, env) in served_environments(platform, grafana) {
        for backend in backends_of(env) {
            out.push(DatasourceId {
                name: format!("{} {env_name}", backend.title()),
                uid: backend_uid(backend, env_name),
                about: About::Backend(backend, env_name.clone()),
            });
        }
    }
    if grafana.thanos.is_some() {
        for ns in managed_namespaces(platform, grafana) {
            out.push(DatasourceId {
                name: format!("Thanos {ns}"),
                uid: thanos_uid(ns),
                about: About::Thanos(ns.to_string()),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_fit_grafanas_limit() {
        assert_eq!(backend_uid(Backend::Loki, "prod"), "loki-prod");
        assert_eq!(thanos_uid("orders-prod"), "thanos-orders-prod");
        assert_eq!(thanos_uid(&"a".repeat(63)).len(), MAX_UID);
    }
}
