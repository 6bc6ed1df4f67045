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

/// The name of a managed namespace's Thanos datasource is this and the namespace; the generated
/// dashboards select it by that name.
pub const THANOS_NAME_PREFIX: &str = "Thanos ";

/// How many provisioning files the Thanos datasources are spread over. A namespace's file is
/// chosen by a hash of its name alone, so adding or removing one namespace rewrites one file and
/// no namespace ever moves; changing this number would move most of them, so it is fixed. 32
/// files keep each one far below a ConfigMap's 1 MiB (about 480 bytes a datasource: 10,000
/// namespaces make files of 147 to 167 KB, measured with bench/scale.sh).
pub const THANOS_FILES: u32 = 32;

/// The provisioning file a datasource is written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProvisioningFile {
    /// The environments' backends: a handful, whatever the number of namespaces.
    Backends,
    /// One of the [`THANOS_FILES`] shares of the managed namespaces' Thanos datasources.
    Thanos(u32),
}

impl ProvisioningFile {
    /// The file's name in Grafana's provisioning folder (and its key in the ConfigMap).
    pub fn file_name(self) -> String {
        match self {
            ProvisioningFile::Backends => "datasources.yaml".to_string(),
            ProvisioningFile::Thanos(share) => format!("datasources-thanos-{share:02}.yaml"),
        }
    }
}

impl DatasourceId {
    pub fn file(&self) -> ProvisioningFile {
        match &self.about {
            About::Backend(..) => ProvisioningFile::Backends,
            About::Thanos(namespace) => ProvisioningFile::Thanos(share_of(namespace)),
        }
    }
}

/// A namespace's share: 32-bit FNV-1a of its name, modulo [`THANOS_FILES`]. Written out here
/// (not a library hasher) because it must never change between obsc versions.
fn share_of(namespace: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in namespace.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash % THANOS_FILES
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
/// its backends, then, when Thanos is configured, a Thanos datasource per managed namespace and
/// per served environment's monitoring namespace (the platform's own metrics: the platform
/// health dashboards).
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
        let monitoring = served_environments(platform, grafana).map(|(_, env)| env.monitoring_namespace.as_str());
        let namespaces: std::collections::BTreeSet<&str> =
            managed_namespaces(platform, grafana).into_iter().chain(monitoring).collect();
        for ns in namespaces {
            out.push(DatasourceId {
                name: format!("{THANOS_NAME_PREFIX}{ns}"),
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

    #[test]
    fn a_namespace_keeps_its_file_whatever_else_exists() {
        // Pinned values: a different hash would move every namespace to another ConfigMap.
        assert_eq!(share_of(""), 0x811c_9dc5 % THANOS_FILES);
        assert_eq!(share_of("a"), 0xe40c_292c % THANOS_FILES);
        assert_eq!(share_of("foobar"), 0xbf9c_f968 % THANOS_FILES);
        let id =
            |ns: &str| DatasourceId { name: String::new(), uid: String::new(), about: About::Thanos(ns.to_string()) };
        assert_eq!(id("orders-prod").file(), ProvisioningFile::Thanos(share_of("orders-prod")));
        let backend = DatasourceId {
            name: String::new(),
            uid: String::new(),
            about: About::Backend(Backend::Loki, "dev".to_string()),
        };
        assert_eq!(backend.file().file_name(), "datasources.yaml");
        // The shares are used evenly enough: 10,000 names, no share over twice its due.
        let mut counts = [0u32; THANOS_FILES as usize];
        for i in 0..10_000 {
            counts[share_of(&format!("bench-{i:05}-prod")) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c > 0 && c < 2 * 10_000 / THANOS_FILES), "{counts:?}");
    }
}
