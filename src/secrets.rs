//! Secrets: obsc never holds a secret value. Renderers refer to Secrets by the names made here,
//! and `obsc secrets <target>` lists them all so an operator can create them before applying.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::buckets;
use crate::model::Platform;
use crate::names::Backend;

/// A Secret that must exist in the cluster.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SecretRef {
    pub namespace: String,
    pub name: String,
    pub keys: Vec<&'static str>,
    /// The workloads that read it.
    pub readers: Vec<String>,
    /// What it holds, for the operator.
    pub purpose: String,
    /// How to make it, where that is not obvious.
    pub hint: Option<String>,
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
        readers: vec![backend.instance(environment)],
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
        readers: vec![format!("{instance}-s3"), format!("{instance}-buckets")],
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

/// Every Secret a target's objects read.
pub fn of_target(platform: &Platform, target: &str) -> Vec<SecretRef> {
    let mut out = Vec::new();
    for (name, storage) in &platform.storage {
        if storage.target == target {
            out.push(storage_identities(platform, name));
        }
    }
    for (env_name, env) in &platform.environments {
        if env.target(env_name) != target {
            continue;
        }
        for backend in [Backend::Loki, Backend::Tempo, Backend::Mimir, Backend::Pyroscope] {
            if env.has(backend) {
                out.push(s3_credentials(platform, env_name, backend));
            }
        }
    }
    for (name, g) in &platform.grafana {
        if g.target == target {
            out.extend(grafana(name, g));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The Secrets a Grafana reads: database password, OAuth client secret, and where configured the
/// Redis password and the Thanos querier token.
pub fn grafana(name: &str, g: &crate::model::Grafana) -> Vec<SecretRef> {
    let secret = |secret: &str, key: &'static str, purpose: String, hint: Option<String>| SecretRef {
        namespace: g.namespace.clone(),
        name: secret.to_string(),
        keys: vec![key],
        readers: vec![format!("grafana ({name})")],
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
