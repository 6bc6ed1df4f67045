//! Loki: one per environment in its monitoring namespace.
//!
//! Simple Scalable mode (the seed's): `write` StatefulSet with a WAL volume, `read` Deployment,
//! `backend` StatefulSet; HA monolithic mode: one StatefulSet of `-target=all` replicas. Both
//! join one memberlist ring, store chunks and the tsdb index in S3, and apply retention per
//! `log_source` tier in the compactor.
//! Keys: grafana/loki docs/sources/shared/configuration.md (v3.7).

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde::Serialize;

use super::dskit::{Memberlist, Ring, Server};
use super::meta::Labels;
use super::peers;
use super::{bug, pod, workload, Context, Image, Rendered};
use crate::buckets::{self, Purpose};
use crate::diag::Diagnostic;
use crate::facts::addresses::loki::{self as address, GRPC_PORT, HTTP_PORT, MEMBERLIST_PORT};
use crate::facts::addresses::seaweedfs;
use crate::facts::retention;
use crate::model::{Environment, LokiMode, Resources};
use crate::names::{object, Backend, LOG_SOURCE_LABEL};
use crate::secrets;

const DATA: &str = "/var/loki";
const CONFIG_DIR: &str = "/etc/loki";
const CONFIG_FILE: &str = "loki.yaml";
/// The first day of the tsdb v13 schema. Fixed: moving it would orphan stored chunks.
const SCHEMA_FROM: &str = "2024-04-01";

// ---- the config file, typed ----

#[derive(Serialize)]
struct Config {
    auth_enabled: bool,
    server: Server,
    common: Common,
    memberlist: Memberlist,
    schema_config: SchemaConfig,
    compactor: Compactor,
    limits_config: Limits,
    ruler: Ruler,
}

#[derive(Serialize)]
struct Common {
    path_prefix: &'static str,
    replication_factor: u32,
    /// Where read and write targets reach the compactor (delete requests).
    compactor_address: String,
    storage: CommonStorage,
    ring: Ring,
}

#[derive(Serialize)]
struct CommonStorage {
    s3: S3,
}

/// `s3_storage_config`.
#[derive(Serialize)]
struct S3 {
    endpoint: String,
    bucketnames: String,
    access_key_id: &'static str,
    secret_access_key: &'static str,
    /// SeaweedFS serves buckets by path, not by virtual host.
    s3forcepathstyle: bool,
    /// Plain HTTP to the in-cluster gateway.
    insecure: bool,
}

#[derive(Serialize)]
struct SchemaConfig {
    configs: Vec<PeriodConfig>,
}

#[derive(Serialize)]
struct PeriodConfig {
    from: &'static str,
    store: &'static str,
    object_store: &'static str,
    schema: &'static str,
    index: Index,
}

#[derive(Serialize)]
struct Index {
    prefix: &'static str,
    /// Retention needs a 24h index period.
    period: &'static str,
}

#[derive(Serialize)]
struct Compactor {
    working_directory: String,
    retention_enabled: bool,
    /// Required once retention is enabled.
    delete_request_store: &'static str,
}

#[derive(Serialize)]
struct Limits {
    retention_period: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    retention_stream: Vec<RetentionStream>,
}

#[derive(Serialize)]
struct RetentionStream {
    selector: String,
    priority: u32,
    period: String,
}

/// The legacy ruler storage: the top-level `ruler_storage` is only read with the Thanos object
/// store client, so the ruler bucket is set here.
#[derive(Serialize)]
struct Ruler {
    storage: RulerStorage,
}

#[derive(Serialize)]
struct RulerStorage {
    #[serde(rename = "type")]
    kind: &'static str,
    s3: S3,
}

fn config_text(cx: &Context, env_name: &str, env: &Environment) -> Result<String, Box<Diagnostic>> {
    let ns = env.monitoring_namespace.as_str();
    let storage = &cx.platform.storage[&env.storage];
    let s3 = |bucket: String| S3 {
        endpoint: seaweedfs::s3_endpoint(&env.storage, &storage.namespace),
        bucketnames: bucket,
        access_key_id: "${S3_ACCESS_KEY_ID}",
        secret_access_key: "${S3_SECRET_ACCESS_KEY}",
        s3forcepathstyle: true,
        insecure: true,
    };
    let tiers = retention::of_environment(cx.platform, env)
        .ok_or_else(|| bug(format!("the default retention tier of environment `{env_name}` does not exist")))?;
    let config = Config {
        auth_enabled: false,
        server: Server { http_listen_port: HTTP_PORT, grpc_listen_port: GRPC_PORT },
        common: Common {
            path_prefix: DATA,
            replication_factor: env.loki.replication_factor,
            compactor_address: address::compactor_url(ns, &env.loki),
            storage: CommonStorage { s3: s3(buckets::name(Backend::Loki, env_name, Purpose::Chunks)) },
            ring: Ring::memberlist(),
        },
        memberlist: Memberlist { join_members: vec![address::memberlist_join(ns)] },
        schema_config: SchemaConfig {
            configs: vec![PeriodConfig {
                from: SCHEMA_FROM,
                store: "tsdb",
                object_store: "s3",
                schema: "v13",
                index: Index { prefix: "index_", period: "24h" },
            }],
        },
        compactor: Compactor {
            working_directory: format!("{DATA}/compactor"),
            retention_enabled: true,
            delete_request_store: "s3",
        },
        limits_config: Limits {
            retention_period: tiers.default.period.in_hours(),
            retention_stream: tiers
                .others
                .iter()
                .map(|t| RetentionStream {
                    selector: format!("{{{LOG_SOURCE_LABEL}=\"{}\"}}", t.tier),
                    priority: 1,
                    period: t.period.in_hours(),
                })
                .collect(),
        },
        ruler: Ruler {
            storage: RulerStorage { kind: "s3", s3: s3(buckets::name(Backend::Loki, env_name, Purpose::Ruler)) },
        },
    };
    crate::serial::yaml(&config).map_err(|e| bug(format!("Loki config of `{env_name}`: {e}")))
}

pub fn render(cx: &Context, env_name: &str, env: &Environment) -> Result<Rendered, Box<Diagnostic>> {
    let ns = env.monitoring_namespace.as_str();
    let loki = &env.loki;
    let config = config_text(cx, env_name, env)?;
    let hash = super::sha256(&config);
    let ring = address::ring(env_name);
    let credentials = secrets::s3_credentials(cx.platform, env_name, Backend::Loki);
    let container = |target: &str, resources: &Resources| {
        workload::backend_container(
            "loki",
            cx.image(Image::Loki),
            vec![
                format!("-config.file={CONFIG_DIR}/{CONFIG_FILE}"),
                "-config.expand-env=true".to_string(),
                format!("-target={target}"),
            ],
            &credentials,
            &[("http", HTTP_PORT), ("grpc", GRPC_PORT), ("memberlist", MEMBERLIST_PORT)],
            resources,
            vec![
                pod::mount("config", CONFIG_DIR, true),
                pod::mount("data", DATA, false),
                pod::mount("tmp", "/tmp", false),
            ],
        )
    };
    let volumes = || vec![pod::config_map_volume("config", "loki"), pod::empty_dir("tmp", "1Gi")];
    let mut out = Rendered::default();
    out.push(workload::config_map("loki", ns, &ring, BTreeMap::from([(CONFIG_FILE.to_string(), config.clone())])));
    out.push(workload::headless(
        address::MEMBERLIST_SERVICE,
        ns,
        &ring,
        &[("memberlist", MEMBERLIST_PORT), ("grpc", GRPC_PORT)],
    ));
    match loki.mode {
        LokiMode::SimpleScalable => {
            let write = address::role_pods(env_name, "write");
            let read = address::role_pods(env_name, "read");
            let backend = address::role_pods(env_name, "backend");
            out.push(workload::stateful_set(
                "loki-write",
                ns,
                &write,
                loki.write.replicas,
                address::MEMBERLIST_SERVICE,
                workload::template(
                    &write,
                    vec![container("write", &loki.write.resources)],
                    volumes(),
                    Some(hash.clone()),
                ),
                &loki.write.volume,
            ));
            let mut read_volumes = volumes();
            read_volumes.push(pod::empty_dir("data", "5Gi"));
            out.push(workload::deployment(
                "loki-read",
                ns,
                &read,
                loki.read.replicas,
                workload::template(
                    &read,
                    vec![container("read", &loki.read.resources)],
                    read_volumes,
                    Some(hash.clone()),
                ),
            ));
            out.push(workload::stateful_set(
                address::BACKEND_SERVICE,
                ns,
                &backend,
                loki.backend.replicas,
                address::MEMBERLIST_SERVICE,
                workload::template(
                    &backend,
                    vec![container("backend", &loki.backend.resources)],
                    volumes(),
                    Some(hash.clone()),
                ),
                &loki.backend.volume,
            ));
            out.push(workload::service(object::LOKI_PUSH, ns, &write, &[("http", HTTP_PORT), ("grpc", GRPC_PORT)]));
            out.push(workload::service(object::LOKI_QUERY, ns, &read, &[("http", HTTP_PORT), ("grpc", GRPC_PORT)]));
            out.push(workload::service(
                address::BACKEND_SERVICE,
                ns,
                &backend,
                &[("http", HTTP_PORT), ("grpc", GRPC_PORT)],
            ));
        }
        LokiMode::Monolithic => {
            let all = address::role_pods(env_name, "all");
            let m = &loki.monolithic;
            out.push(workload::stateful_set(
                "loki",
                ns,
                &all,
                m.replicas,
                address::MEMBERLIST_SERVICE,
                workload::template(&all, vec![container("all", &m.resources)], volumes(), Some(hash.clone())),
                &m.volume,
            ));
            out.push(workload::service(object::LOKI_PUSH, ns, &all, &[("http", HTTP_PORT), ("grpc", GRPC_PORT)]));
            out.push(workload::service(object::LOKI_QUERY, ns, &all, &[("http", HTTP_PORT), ("grpc", GRPC_PORT)]));
        }
    }
    for policy in policies(cx, env_name, env, &ring) {
        out.push(policy);
    }
    out.config_file(ns, CONFIG_FILE, &config);
    Ok(out)
}

/// Loki's pods talk among themselves (ring, queries, compactor) and reach their S3 gateway;
/// collectors reach the push pods, query clients the query pods. Each policy is derived from
/// the flow table.
fn policies(cx: &Context, env_name: &str, env: &Environment, ring: &Labels) -> Vec<NetworkPolicy> {
    let ns = env.monitoring_namespace.as_str();
    let mut out = vec![cx.policy("loki", ns, ring, true)];
    let push = address::push_pods(env_name, &env.loki);
    let query = address::query_pods(env_name, &env.loki);
    if !peers::collectors_of(cx, env_name).is_empty() {
        out.push(cx.policy("loki-push", ns, &push, false));
    }
    // In monolithic mode every replica both takes pushes and answers queries: one policy.
    if query != push && !peers::query_clients(cx, env_name).is_empty() {
        out.push(cx.policy("loki-query", ns, &query, false));
    }
    out
}
