//! What every renderer may consult: the checked platform, its images resolved to pinned
//! references, and where each namespace renders.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use k8s_openapi::api::networking::v1::NetworkPolicy;

use super::policies::{Flows, Owner};
use crate::diag::{Diagnostic, Diagnostics};
use crate::facts::addresses::Labels;
use crate::facts::placement::{self, Place};
use crate::facts::scrape::{self, Scraped};
use crate::model::{Environment, Platform, StorageInstance, Target};
use crate::pins::Pins;

/// The images obsc runs, by their key in the pins file. A renderer names an image by this enum,
/// so the list of images that must be pinned is the list of variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Image {
    Alloy,
    Loki,
    Tempo,
    Mimir,
    Pyroscope,
    Seaweedfs,
    Grafana,
    K8sSidecar,
}

impl Image {
    pub const ALL: [Image; 8] = [
        Image::Alloy,
        Image::Loki,
        Image::Tempo,
        Image::Mimir,
        Image::Pyroscope,
        Image::Seaweedfs,
        Image::Grafana,
        Image::K8sSidecar,
    ];

    /// The key of its pin in `nix/pins.nix`.
    pub fn key(self) -> &'static str {
        match self {
            Image::Alloy => "alloy",
            Image::Loki => "loki",
            Image::Tempo => "tempo",
            Image::Mimir => "mimir",
            Image::Pyroscope => "pyroscope",
            Image::Seaweedfs => "seaweedfs",
            Image::Grafana => "grafana",
            Image::K8sSidecar => "k8s-sidecar",
        }
    }
}

/// Every [`Image`] as its pinned reference (`repo:tag@sha256:...`).
pub struct Images([String; Image::ALL.len()]);

impl Images {
    /// Resolves every image, or says which are not pinned.
    pub fn resolve(pins: &Pins) -> Result<Images, Diagnostics> {
        let mut problems = Diagnostics::default();
        let references = Image::ALL.map(|image| match pins.image(image.key()) {
            Some(pin) => pin.reference(),
            None => {
                let key = image.key();
                problems.push(
                    Diagnostic::error(format!("image `{key}` is not pinned"))
                        .help(format!("add `images.{key} = {{ repository, tag, digest }}` to the pins file")),
                );
                String::new()
            }
        });
        if problems.has_errors() {
            Err(problems)
        } else {
            Ok(Images(references))
        }
    }

    pub fn get(&self, image: Image) -> &str {
        &self.0[image as usize]
    }
}

pub struct Context<'a> {
    pub platform: &'a Platform,
    pub images: Images,
    /// Every namespace obsc renders into: its target and role.
    pub placement: BTreeMap<String, Place>,
    /// Every flow the configs dial; the NetworkPolicies are derived from it.
    pub flows: Flows,
    /// What the cluster's monitoring stack scrapes, by namespace.
    pub scraped: BTreeMap<String, Vec<Scraped>>,
}

impl<'a> Context<'a> {
    pub fn new(platform: &'a Platform, pins: &Pins) -> Result<Context<'a>, Diagnostics> {
        let mut cx = Context {
            platform,
            images: Images::resolve(pins)?,
            placement: placement::of_platform(platform),
            flows: Flows::default(),
            scraped: BTreeMap::new(),
        };
        for s in scrape::of_platform(platform) {
            cx.scraped.entry(s.namespace.clone()).or_default().push(s);
        }
        cx.flows = Flows::new(super::flows::of_platform(&cx).map_err(|d| Diagnostics(vec![*d]))?);
        Ok(cx)
    }

    /// The NetworkPolicy of some pods, derived from the flow table.
    pub fn policy(&self, name: &str, namespace: &str, pods: &Labels, egress: bool) -> NetworkPolicy {
        let owner = Owner { name: name.to_string(), namespace: namespace.to_string(), pods: pods.clone(), egress };
        super::policies::derive(&owner, &self.flows)
    }

    pub fn image(&self, image: Image) -> &str {
        self.images.get(image)
    }

    /// The cluster an environment runs on (its DNS and API server). The checker proved that
    /// every environment's target is declared.
    pub fn target_of_environment(&self, environment: &str) -> Result<&'a Target, Box<Diagnostic>> {
        let env = proven(&self.platform.environments, environment, "environment")?;
        proven(&self.platform.targets, env.target(environment), "target")
    }

    /// The environment named `name` (a namespace's, a Grafana's): the checker proved it exists.
    pub fn environment(&self, name: &str) -> Result<&'a Environment, Box<Diagnostic>> {
        proven(&self.platform.environments, name, "environment")
    }

    /// The storage instance named `name` (an environment's): the checker proved it exists.
    pub fn storage(&self, name: &str) -> Result<&'a StorageInstance, Box<Diagnostic>> {
        proven(&self.platform.storage, name, "storage instance")
    }

    /// The target named `name` (a storage instance's, a Grafana's): the checker proved it exists.
    pub fn target(&self, name: &str) -> Result<&'a Target, Box<Diagnostic>> {
        proven(&self.platform.targets, name, "target")
    }
}

/// The entry `key` of one of the platform's maps, which a reference elsewhere names and the
/// checker proved exists: a missing one is a bug in obsc, reported as such rather than a panic.
pub fn proven<'m, V>(map: &'m BTreeMap<String, V>, key: &str, what: &str) -> Result<&'m V, Box<Diagnostic>> {
    map.get(key).ok_or_else(|| bug(format!("{what} `{key}` is named but not defined, and the checker let it pass")))
}

/// The hex SHA-256 of a text: config hashes (pods roll when their config changes) and the
/// names of immutable objects.
pub fn sha256(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A failure that only a bug in obsc can cause (the checker accepted the platform).
pub fn bug(what: impl std::fmt::Display) -> Box<Diagnostic> {
    Box::new(
        Diagnostic::error(format!("internal error: {what}"))
            .help("this is a bug in obsc, not in the topology: please report it with the topology that shows it"),
    )
}
