//! Secrets: obsc never holds a secret value. Renderers refer to Secrets by the names made here
//! ([`known`] describes every Secret the topology implies: its keys, what it holds, how to make
//! it). `obsc secrets <target>` lists the Secrets the target's objects actually read
//! ([`inventory`], from the objects' own references), so the list cannot drift from the render;
//! the plan check proves every reference is described.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodSpec;
use serde::Serialize;

use crate::buckets;
use crate::model::Platform;
use crate::names::Backend;
use crate::plan::Object;

/// A Secret that must exist in the cluster, as obsc describes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SecretRef {
    pub namespace: String,
    pub name: String,
    pub keys: Vec<&'static str>,
    /// What it holds, for the operator.
    pub purpose: String,
    /// How to make it, where that is not obvious.
    pub hint: Option<String>,
}

/// Every Secret obsc describes, by namespace and name.
pub type Known = BTreeMap<(String, String), SecretRef>;

/// One row of `obsc secrets`: a described Secret and the objects that read it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Expected {
    pub secret: SecretRef,
    /// The objects that read it (`StatefulSet/loki-write`).
    pub readers: Vec<String>,
}

/// One reference a pod makes to a Secret: its name and, for a single key, the key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reference {
    pub name: String,
    /// `None`: the whole Secret (a volume or `envFrom`).
    pub key: Option<String>,
}

/// Every Secret reference of a pod: env `secretKeyRef`, `envFrom.secretRef`, secret volumes and
/// projected secret sources.
pub fn references(spec: &PodSpec) -> Vec<Reference> {
    let mut out = Vec::new();
    for c in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
        for e in c.env.iter().flatten() {
            if let Some(r) = e.value_from.as_ref().and_then(|v| v.secret_key_ref.as_ref()) {
                out.push(Reference { name: r.name.clone(), key: Some(r.key.clone()) });
            }
        }
        for f in c.env_from.iter().flatten() {
            if let Some(r) = &f.secret_ref {
                out.push(Reference { name: r.name.clone(), key: None });
            }
        }
    }
    for v in spec.volumes.iter().flatten() {
        if let Some(name) = v.secret.as_ref().and_then(|s| s.secret_name.clone()) {
            out.push(Reference { name, key: None });
        }
        for source in v.projected.iter().flat_map(|p| p.sources.iter().flatten()) {
            if let Some(s) = &source.secret {
                out.push(Reference { name: s.name.clone(), key: None });
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The Secrets a target's objects read, each with its readers, described from `known`. A
/// reference `known` does not describe is left out here; the plan check reports it.
pub fn inventory(objects: &[Object], known: &Known) -> Vec<Expected> {
    let mut readers: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for o in objects {
        let Some(spec) = o.pod_spec() else { continue };
        for r in references(spec) {
            readers.entry((o.namespace().to_string(), r.name)).or_default().push(format!("{}/{}", o.kind(), o.name()));
        }
    }
    readers
        .into_iter()
        .filter_map(|(id, mut readers)| {
            readers.sort();
            readers.dedup();
            known.get(&id).map(|secret| Expected { secret: secret.clone(), readers })
        })
        .collect()
}

/// Keys of a backend's S3 credentials Secret.
pub const ACCESS_KEY_ID: &str = "access_key_id";
pub const SECRET_ACCESS_KEY: &str = "secret_access_key";
/// Keys of Grafana's Secrets.
pub const PASSWORD: &str = "password";
pub const CLIENT_SECRET: &str = "client_secret";
pub const TOKEN: &str = "token";
/// Key of a storage instance's identities file.
pub const S3_IDENTITIES: &str = "s3.json";

/// The S3 credentials a backend of an environment uses: its own identity on the storage
/// instance, allowed only its own buckets.
pub fn s3_credentials(platform: &Platform, environment: &str, backend: Backend) -> SecretRef {
    let env = &platform.environments[environment];
    SecretRef {
        namespace: env.monitoring_namespace.clone(),
        name: format!("{}-s3", backend.as_str()),
        keys: vec![ACCESS_KEY_ID, SECRET_ACCESS_KEY],
        purpose: format!(
            "S3 keys of identity `{}` on storage instance `{}`",
            s3_identity(environment, backend),
            env.storage
        ),
        hint: None,
    }
}

/// The identity name a backend uses on its storage instance.
pub fn s3_identity(environment: &str, backend: Backend) -> String {
    backend.instance(environment)
}

/// The identities file of a storage instance (SeaweedFS accepts any key without one).
pub fn storage_identities(platform: &Platform, instance: &str) -> SecretRef {
    let storage = &platform.storage[instance];
    SecretRef {
        namespace: storage.namespace.clone(),
        name: storage.credentials_secret.clone(),
        keys: vec![S3_IDENTITIES],
        purpose: format!("SeaweedFS S3 identities of `{instance}`; without it the gateway would accept any key"),
        hint: Some(identities_hint(platform, instance)),
    }
}

/// Which identity may do what on which bucket: the shape of `s3.json`, keys left to the operator.
fn identities_hint(platform: &Platform, instance: &str) -> String {
    let mut by_identity: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for bucket in buckets::of_platform(platform).into_iter().filter(|b| b.storage == instance) {
        by_identity.entry(s3_identity(&bucket.environment, bucket.backend)).or_default().push(bucket.name);
    }
    let mut out = String::from("identities (each with its own accessKey/secretKey, each limited to its buckets):");
    for (identity, names) in by_identity {
        let actions: Vec<String> =
            names.iter().flat_map(|b| ["Read", "Write", "List", "Tagging"].map(|a| format!("{a}:{b}"))).collect();
        out.push_str(&format!("\n  {identity}: {}", actions.join(", ")));
    }
    out
}

/// Every Secret the topology implies, described. Fields that name the same Secret (a Grafana's
/// Redis password and Thanos token in one Secret) describe one Secret with every key they read.
pub fn known(platform: &Platform) -> Known {
    let mut out = Vec::new();
    for name in platform.storage.keys() {
        out.push(storage_identities(platform, name));
    }
    for (env_name, env) in &platform.environments {
        for backend in [Backend::Loki, Backend::Tempo, Backend::Mimir, Backend::Pyroscope] {
            if env.has(backend) {
                out.push(s3_credentials(platform, env_name, backend));
            }
        }
    }
    for g in platform.grafana.values() {
        out.extend(grafana(g));
    }
    let mut known = Known::new();
    for s in out {
        match known.entry((s.namespace.clone(), s.name.clone())) {
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(s);
            }
            std::collections::btree_map::Entry::Occupied(mut e) => {
                let merged = e.get_mut();
                for key in s.keys {
                    if !merged.keys.contains(&key) {
                        merged.keys.push(key);
                    }
                }
                if !merged.purpose.contains(&s.purpose) {
                    merged.purpose = format!("{}; {}", merged.purpose, s.purpose);
                }
                merged.hint = match (merged.hint.take(), s.hint) {
                    (Some(a), Some(b)) if a != b => Some(format!("{a}\n{b}")),
                    (a, b) => a.or(b),
                };
            }
        }
    }
    known
}

/// The Secrets a Grafana reads: database password, OAuth client secret, and where configured the
/// Redis password and the Thanos querier token.
pub fn grafana(g: &crate::model::Grafana) -> Vec<SecretRef> {
    let secret = |secret: &str, key: &'static str, purpose: String, hint: Option<String>| SecretRef {
        namespace: g.namespace.clone(),
        name: secret.to_string(),
        keys: vec![key],
        purpose,
        hint,
    };
    let mut out = vec![
        secret(
            &g.database.secret,
            PASSWORD,
            format!("password of PostgreSQL user `{}` on {}", g.database.user, g.database.endpoint.address()),
            None,
        ),
        secret(
            &g.keycloak.client_secret_secret,
            CLIENT_SECRET,
            format!("OAuth client secret of Keycloak client `{}` ({})", g.keycloak.client_id, g.keycloak.realm_url),
            None,
        ),
    ];
    if let Some(redis) = &g.redis.secret {
        out.push(secret(redis, PASSWORD, format!("password of Redis at {}", g.redis.endpoint.address()), None));
    }
    if let Some(thanos) = &g.thanos {
        out.push(secret(
            &thanos.token_secret,
            TOKEN,
            format!("bearer token for the Thanos querier {}", thanos.url()),
            Some(
                "a ServiceAccount token allowed to view metrics (role `view`, or `cluster-monitoring-view` where granted)\n\
                 in every managed namespace, e.g. from a Secret of type kubernetes.io/service-account-token"
                    .to_string(),
            ),
        ));
    }
    out
}
