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

use super::meta::{self, Labels};
use super::{network, pod, workload, Context};
use crate::model::{Environment, Loki, LokiMode, Resources};
use crate::names::{object, period_hours, service_host, Backend};
use crate::plan::Object;
use crate::secrets;

pub const HTTP_PORT: u16 = 3100;
pub const GRPC_PORT: u16 = 9095;
pub const MEMBERLIST_PORT: u16 = 7946;
const DATA: &str = "/var/loki";
const CONFIG_DIR: &str = "/etc/loki";
const CONFIG_FILE: &str = "loki.yaml";
/// The first day of the tsdb v13 schema. Fixed: moving it would orphan stored chunks.
const SCHEMA_FROM: &str = "2024-04-01";

/// The pods that accept pushes: the write target, or every replica in monolithic mode.
pub fn push_pods(environment: &str, loki: &Loki) -> Labels {
    meta::selector("loki", push_component(loki), &Backend::Loki.instance(environment))
}

/// The pods that answer queries.
pub fn query_pods(environment: &str, loki: &Loki) -> Labels {
    let component = match loki.mode {
        LokiMode::SimpleScalable => "read",
        LokiMode::Monolithic => "all",
    };
    meta::selector("loki", component, &Backend::Loki.instance(environment))
}

fn push_component(loki: &Loki) -> &'static str {
    match loki.mode {
        LokiMode::SimpleScalable => "write",
        LokiMode::Monolithic => "all",
    }
}

pub fn push_url(monitoring_namespace: &str) -> String {
    format!("http://{}:{HTTP_PORT}/loki/api/v1/push", service_host(object::LOKI_PUSH, monitoring_namespace))
}

/// What Grafana queries.
pub fn query_url(monitoring_namespace: &str) -> String {
    format!("http://{}:{HTTP_PORT}", service_host(object::LOKI_QUERY, monitoring_namespace))
}

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
pub(crate) struct Server {
    pub http_listen_port: u16,
    pub grpc_listen_port: u16,
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
struct Ring {
    kvstore: KvStore,
}

#[derive(Serialize)]
pub(crate) struct KvStore {
    pub store: &'static str,
}

/// `dns+` makes dskit resolve the headless Service to every member's address.
#[derive(Serialize)]
pub(crate) struct Memberlist {
    pub join_members: Vec<String>,
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

/// The effective period of every tier in this environment, default tier first: the
/// environment's override where it has one, the platform's otherwise.
pub fn tier_periods(cx: &Context, environment: &Environment) -> Vec<(String, String, bool)> {
    let mut tiers: Vec<(String, String, bool)> = cx
        .platform
        .retention
        .tiers
        .iter()
        .map(|(name, tier)| {
            let period = environment.retention.get(name).cloned().unwrap_or_else(|| tier.period.clone());
            (name.clone(), period, tier.default)
        })
        .collect();
    tiers.sort_by_key(|(name, _, default)| (!*default, name.clone()));
    tiers
}

/// Loki writes durations as hours.
fn hours(period: &str) -> String {
    format!("{}h", period_hours(period).unwrap_or(0))
}

fn config_text(cx: &Context, env_name: &str, env: &Environment) -> String {
    let ns = env.monitoring_namespace.as_str();
    let storage = &cx.platform.storage[&env.storage];
    let s3 = |bucket: String| S3 {
        endpoint: super::seaweedfs::s3_endpoint(&env.storage, &storage.namespace),
        bucketnames: bucket,
        access_key_id: "${S3_ACCESS_KEY_ID}",
        secret_access_key: "${S3_SECRET_ACCESS_KEY}",
        s3forcepathstyle: true,
        insecure: true,
    };
    let tiers = tier_periods(cx, env);
    let default_period = tiers.iter().find(|t| t.2).map(|t| hours(&t.1)).unwrap_or_default();
    let compactor_host = match env.loki.mode {
        LokiMode::SimpleScalable => service_host("loki-backend", ns),
        LokiMode::Monolithic => service_host(object::LOKI_QUERY, ns),
    };
    let config = Config {
        auth_enabled: false,
        server: Server { http_listen_port: HTTP_PORT, grpc_listen_port: GRPC_PORT },
        common: Common {
            path_prefix: DATA,
            replication_factor: env.loki.replication_factor,
            compactor_address: format!("http://{compactor_host}:{HTTP_PORT}"),
            storage: CommonStorage { s3: s3(crate::buckets::name(Backend::Loki, env_name, "chunks")) },
            ring: Ring { kvstore: KvStore { store: "memberlist" } },
        },
        memberlist: Memberlist {
            join_members: vec![format!("dns+{}:{MEMBERLIST_PORT}", service_host("loki-memberlist", ns))],
        },
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
            retention_period: default_period,
            retention_stream: tiers
                .iter()
                .filter(|t| !t.2)
                .map(|(name, period, _)| RetentionStream {
                    selector: format!("{{log_source=\"{name}\"}}"),
                    priority: 1,
                    period: hours(period),
                })
                .collect(),
        },
        ruler: Ruler {
            storage: RulerStorage { kind: "s3", s3: s3(crate::buckets::name(Backend::Loki, env_name, "ruler")) },
        },
    };
    crate::emit::yaml(&config).unwrap_or_default()
}

pub fn render(cx: &Context, env_name: &str, env: &Environment) -> (Vec<Object>, String) {
    let ns = env.monitoring_namespace.as_str();
    let loki = &env.loki;
    let instance = Backend::Loki.instance(env_name);
    let config = config_text(cx, env_name, env);
    let hash = super::sha256(&config);
    let ring = meta::instance("loki", &instance);
    let credentials = secrets::s3_credentials(cx.platform, env_name, Backend::Loki);
    let container = |target: &str, resources: &Resources| {
        workload::backend_container(
            "loki",
            &cx.image("loki"),
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
    let mut objects: Vec<Object> =
        vec![
            workload::config_map("loki", ns, &ring, BTreeMap::from([(CONFIG_FILE.to_string(), config.clone())])).into()
        ];
    objects.push(
        workload::headless("loki-memberlist", ns, &ring, &[("memberlist", MEMBERLIST_PORT), ("grpc", GRPC_PORT)])
            .into(),
    );
    match loki.mode {
        LokiMode::SimpleScalable => {
            let write = meta::selector("loki", "write", &instance);
            let read = meta::selector("loki", "read", &instance);
            let backend = meta::selector("loki", "backend", &instance);
            objects.push(
                workload::stateful_set(
                    "loki-write",
                    ns,
                    &write,
                    loki.write.replicas,
                    "loki-memberlist",
                    workload::template(
                        &write,
                        vec![container("write", &loki.write.resources)],
                        volumes(),
                        Some(hash.clone()),
                    ),
                    &loki.write.volume,
                )
                .into(),
            );
            let mut read_volumes = volumes();
            read_volumes.push(pod::empty_dir("data", "5Gi"));
            objects.push(
                workload::deployment(
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
                )
                .into(),
            );
            objects.push(
                workload::stateful_set(
                    "loki-backend",
                    ns,
                    &backend,
                    loki.backend.replicas,
                    "loki-memberlist",
                    workload::template(
                        &backend,
                        vec![container("backend", &loki.backend.resources)],
                        volumes(),
                        Some(hash.clone()),
                    ),
                    &loki.backend.volume,
                )
                .into(),
            );
            objects.push(
                workload::service(object::LOKI_PUSH, ns, &write, &[("http", HTTP_PORT), ("grpc", GRPC_PORT)]).into(),
            );
            objects.push(
                workload::service(object::LOKI_QUERY, ns, &read, &[("http", HTTP_PORT), ("grpc", GRPC_PORT)]).into(),
            );
            objects.push(
                workload::service("loki-backend", ns, &backend, &[("http", HTTP_PORT), ("grpc", GRPC_PORT)]).into(),
            );
        }
        LokiMode::Monolithic => {
            let all = meta::selector("loki", "all", &instance);
            let m = &loki.monolithic;
            objects.push(
                workload::stateful_set(
                    "loki",
                    ns,
                    &all,
                    m.replicas,
                    "loki-memberlist",
                    workload::template(&all, vec![container("all", &m.resources)], volumes(), Some(hash.clone())),
                    &m.volume,
                )
                .into(),
            );
            objects.push(
                workload::service(object::LOKI_PUSH, ns, &all, &[("http", HTTP_PORT), ("grpc", GRPC_PORT)]).into(),
            );
            objects.push(
                workload::service(object::LOKI_QUERY, ns, &all, &[("http", HTTP_PORT), ("grpc", GRPC_PORT)]).into(),
            );
        }
    }
    objects.extend(policies(cx, env_name, env, &ring).into_iter().map(Object::from));
    (objects, config)
}

/// Loki's pods talk among themselves (ring, queries, compactor) and reach their S3 gateway;
/// collectors of the environment reach only the push pods, query clients only the query pods.
fn policies(cx: &Context, env_name: &str, env: &Environment, ring: &Labels) -> Vec<NetworkPolicy> {
    let ns = env.monitoring_namespace.as_str();
    let peers = vec![network::same_namespace(Some(ring))];
    let own_ports = vec![network::tcp(HTTP_PORT), network::tcp(GRPC_PORT), network::tcp(MEMBERLIST_PORT)];
    let target = cx.target_of_environment(env_name);
    let mut out = vec![network::policy(
        "loki",
        ns,
        ring,
        vec![network::allow_in(peers.clone(), own_ports.clone())],
        vec![network::dns(target), network::allow_out(peers, own_ports), super::s3_egress(cx, env)],
    )];
    let collectors = super::collectors_of(cx, env_name);
    if !collectors.is_empty() {
        out.push(network::ingress_only(
            "loki-push",
            ns,
            &push_pods(env_name, &env.loki),
            vec![network::allow_in(collectors, vec![network::tcp(HTTP_PORT)])],
        ));
    }
    let queriers = super::query_clients(cx, env_name);
    if !queriers.is_empty() {
        out.push(network::ingress_only(
            "loki-query",
            ns,
            &query_pods(env_name, &env.loki),
            vec![network::allow_in(queriers, vec![network::tcp(HTTP_PORT)])],
        ));
    }
    out
}

/// Loki's SSD mode is deprecated upstream (removed in Loki 4.0).
pub fn is_deprecated_mode(loki: &Loki) -> bool {
    loki.mode == LokiMode::SimpleScalable
}
