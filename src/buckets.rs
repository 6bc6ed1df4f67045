//! Buckets: derived from the topology, never typed twice.
//!
//! Every bucket of the platform is listed by [`of_platform`]: the checker validates the list,
//! the SeaweedFS renderer creates it, the backends' configs and the S3 identities use it.

use crate::model::{Environment, Platform};
use crate::names::{bucket, Backend};

/// One S3 bucket and who uses it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bucket {
    pub name: String,
    pub backend: Backend,
    pub environment: String,
    pub purpose: Purpose,
    /// The SeaweedFS instance it lives on: its environment's.
    pub storage: String,
}

/// What a bucket holds: the `{purpose}` of `dts-{type}-{env}-{purpose}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Purpose {
    Chunks,
    Blocks,
    Ruler,
    Alertmanager,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Chunks => "chunks",
            Purpose::Blocks => "blocks",
            Purpose::Ruler => "ruler",
            Purpose::Alertmanager => "alertmanager",
        }
    }
}

/// What each backend keeps in object storage. Loki's `admin` bucket of the original design is
/// only used by Grafana Enterprise Logs, so it is not here.
pub fn purposes(backend: Backend) -> &'static [Purpose] {
    match backend {
        Backend::Loki => &[Purpose::Chunks, Purpose::Ruler],
        Backend::Tempo => &[Purpose::Blocks],
        Backend::Mimir => &[Purpose::Blocks, Purpose::Ruler, Purpose::Alertmanager],
        Backend::Pyroscope => &[Purpose::Blocks],
    }
}

/// The buckets of one environment's backends.
pub fn of_environment(name: &str, env: &Environment) -> Vec<Bucket> {
    let mut out = Vec::new();
    for backend in [Backend::Loki, Backend::Tempo, Backend::Mimir, Backend::Pyroscope] {
        if !env.has(backend) {
            continue;
        }
        for &purpose in purposes(backend) {
            out.push(Bucket {
                name: bucket(backend, name, purpose.as_str()),
                backend,
                environment: name.to_string(),
                purpose,
                storage: env.storage.clone(),
            });
        }
    }
    out
}

/// Every bucket of the platform, sorted by name.
pub fn of_platform(platform: &Platform) -> Vec<Bucket> {
    let mut all: Vec<Bucket> = platform.environments.iter().flat_map(|(name, env)| of_environment(name, env)).collect();
    all.sort();
    all
}

/// The bucket a backend of an environment uses for a purpose.
pub fn name(backend: Backend, environment: &str, purpose: Purpose) -> String {
    bucket(backend, environment, purpose.as_str())
}
