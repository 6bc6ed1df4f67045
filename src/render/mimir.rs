//! Mimir: one per environment, monolithic (`-target=all,alertmanager`) with replicas in one
//! memberlist ring. Mimir 3 removed read-write mode; its Kafka ingest storage stays off.
//! Keys: grafana/mimir docs/sources/mimir/configure/configuration-parameters (3.x). Mimir reads
//! its config strictly, so an unknown key stops it from starting.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde::Serialize;

use super::meta::{self, Labels};
use super::{network, pod, workload, Context};
use crate::model::Environment;
use crate::names::{object, service_host, Backend};
use crate::plan::Object;
use crate::secrets;

pub const HTTP_PORT: u16 = 8080;
pub const GRPC_PORT: u16 = 9095;
pub const MEMBERLIST_PORT: u16 = 7946;
const DATA: &str = "/data";
const CONFIG_DIR: &str = "/etc/mimir";
const CONFIG_FILE: &str = "mimir.yaml";

pub fn pods(environment: &str) -> Labels {
    meta::selector("mimir", "all", &Backend::Mimir.instance(environment))
}

/// Prometheus remote-write endpoint.
pub fn push_url(monitoring_namespace: &str) -> String {
    format!("http://{}:{HTTP_PORT}/api/v1/push", service_host(object::MIMIR, monitoring_namespace))
}

/// What Grafana queries (Prometheus API under `/prometheus`).
pub fn query_url(monitoring_namespace: &str) -> String {
    format!("http://{}:{HTTP_PORT}/prometheus", service_host(object::MIMIR, monitoring_namespace))
}

#[derive(Serialize)]
struct Config {
    /// Off: one tenant, `anonymous`.
    multitenancy_enabled: bool,
    server: super::loki::Server,
    common: Common,
    blocks_storage: BlocksStorage,
    ruler_storage: BucketOnly,
    alertmanager_storage: BucketOnly,
    ingester: Ingester,
    store_gateway: StoreGateway,
    alertmanager: Alertmanager,
    compactor: DataDir,
    ruler: Ruler,
    activity_tracker: ActivityTracker,
    memberlist: super::loki::Memberlist,
    limits: Limits,
}

#[derive(Serialize)]
struct Common {
    storage: CommonStorage,
}

#[derive(Serialize)]
struct CommonStorage {
    backend: &'static str,
    s3: S3,
}

#[derive(Serialize)]
struct S3 {
    endpoint: String,
    access_key_id: &'static str,
    secret_access_key: &'static str,
    insecure: bool,
    /// SeaweedFS serves buckets by path.
    bucket_lookup_type: &'static str,
}

/// Blocks, ruler and alertmanager must not share a bucket: each names its own.
#[derive(Serialize)]
struct BlocksStorage {
    s3: BucketName,
    tsdb: DirOnly,
    bucket_store: SyncDir,
}

#[derive(Serialize)]
struct BucketOnly {
    s3: BucketName,
}

#[derive(Serialize)]
struct BucketName {
    bucket_name: String,
}

#[derive(Serialize)]
struct DirOnly {
    dir: String,
}

#[derive(Serialize)]
struct SyncDir {
    sync_dir: String,
}

#[derive(Serialize)]
struct DataDir {
    data_dir: String,
}

#[derive(Serialize)]
struct Ruler {
    rule_path: String,
}

#[derive(Serialize)]
struct Alertmanager {
    data_dir: String,
    sharding_ring: ReplicationFactor,
}

#[derive(Serialize)]
struct Ingester {
    ring: ReplicationFactor,
}

#[derive(Serialize)]
struct StoreGateway {
    sharding_ring: ReplicationFactor,
}

#[derive(Serialize)]
struct ReplicationFactor {
    replication_factor: u32,
}

#[derive(Serialize)]
struct ActivityTracker {
    filepath: String,
}

#[derive(Serialize)]
struct Limits {
    /// 0 (Mimir's default) drops every exemplar and with them metric-to-trace links.
    max_global_exemplars_per_user: u64,
}

fn config_text(cx: &Context, env_name: &str, env: &Environment) -> String {
    let mimir = env.mimir.as_ref().expect("rendered only where Mimir exists");
    let storage = &cx.platform.storage[&env.storage];
    let bucket = |purpose: &str| BucketName { bucket_name: crate::buckets::name(Backend::Mimir, env_name, purpose) };
    let rf = || ReplicationFactor { replication_factor: mimir.replication_factor };
    let config = Config {
        multitenancy_enabled: false,
        server: super::loki::Server { http_listen_port: HTTP_PORT, grpc_listen_port: GRPC_PORT },
        common: Common {
            storage: CommonStorage {
                backend: "s3",
                s3: S3 {
                    endpoint: super::seaweedfs::s3_endpoint(&env.storage, &storage.namespace),
                    access_key_id: "${S3_ACCESS_KEY_ID}",
                    secret_access_key: "${S3_SECRET_ACCESS_KEY}",
                    insecure: true,
                    bucket_lookup_type: "path",
                },
            },
        },
        blocks_storage: BlocksStorage {
            s3: bucket("blocks"),
            tsdb: DirOnly { dir: format!("{DATA}/tsdb") },
            bucket_store: SyncDir { sync_dir: format!("{DATA}/tsdb-sync") },
        },
        ruler_storage: BucketOnly { s3: bucket("ruler") },
        alertmanager_storage: BucketOnly { s3: bucket("alertmanager") },
        ingester: Ingester { ring: rf() },
        store_gateway: StoreGateway { sharding_ring: rf() },
        alertmanager: Alertmanager { data_dir: format!("{DATA}/alertmanager"), sharding_ring: rf() },
        compactor: DataDir { data_dir: format!("{DATA}/compactor") },
        ruler: Ruler { rule_path: format!("{DATA}/rules") },
        activity_tracker: ActivityTracker { filepath: format!("{DATA}/activity.log") },
        memberlist: super::loki::Memberlist {
            join_members: vec![format!(
                "dns+{}:{MEMBERLIST_PORT}",
                service_host("mimir-memberlist", &env.monitoring_namespace)
            )],
        },
        limits: Limits { max_global_exemplars_per_user: mimir.max_exemplars },
    };
    crate::emit::yaml(&config).unwrap_or_default()
}

pub fn render(cx: &Context, env_name: &str, env: &Environment) -> (Vec<Object>, String) {
    let mimir = env.mimir.as_ref().expect("rendered only where Mimir exists");
    let ns = env.monitoring_namespace.as_str();
    let pods = pods(env_name);
    let config = config_text(cx, env_name, env);
    let credentials = secrets::s3_credentials(cx.platform, env_name, Backend::Mimir);
    let c = workload::backend_container(
        "mimir",
        &cx.image("mimir"),
        vec![
            format!("-config.file={CONFIG_DIR}/{CONFIG_FILE}"),
            "-config.expand-env=true".to_string(),
            // `all` leaves the alertmanager out; it has a bucket of its own here.
            "-target=all,alertmanager".to_string(),
        ],
        &credentials,
        &[("http", HTTP_PORT), ("grpc", GRPC_PORT), ("memberlist", MEMBERLIST_PORT)],
        &mimir.resources,
        vec![pod::mount("config", CONFIG_DIR, true), pod::mount("data", DATA, false), pod::mount("tmp", "/tmp", false)],
    );
    let template = workload::template(
        &pods,
        vec![c],
        vec![pod::config_map_volume("config", "mimir"), pod::empty_dir("tmp", "1Gi")],
        Some(super::sha256(&config)),
    );
    let objects: Vec<Object> = vec![
        workload::config_map("mimir", ns, &pods, BTreeMap::from([(CONFIG_FILE.to_string(), config.clone())])).into(),
        workload::headless("mimir-memberlist", ns, &pods, &[("memberlist", MEMBERLIST_PORT), ("grpc", GRPC_PORT)])
            .into(),
        workload::stateful_set("mimir", ns, &pods, mimir.replicas, "mimir-memberlist", template, &mimir.volume).into(),
        workload::service(object::MIMIR, ns, &pods, &[("http", HTTP_PORT), ("grpc", GRPC_PORT)]).into(),
        policy(cx, env_name, env, &pods).into(),
    ];
    (objects, config)
}

/// Collectors and Tempo's metrics generator push; query clients read; replicas talk among
/// themselves; Mimir reaches its S3 gateway.
fn policy(cx: &Context, env_name: &str, env: &Environment, pods: &Labels) -> NetworkPolicy {
    let ns = env.monitoring_namespace.as_str();
    let peers = vec![network::same_namespace(Some(pods))];
    let own_ports = vec![network::tcp(HTTP_PORT), network::tcp(GRPC_PORT), network::tcp(MEMBERLIST_PORT)];
    let mut ingress = vec![network::allow_in(peers.clone(), own_ports.clone())];
    let mut pushers = super::collectors_of(cx, env_name);
    if env.tempo.is_some() {
        pushers.push(network::same_namespace(Some(&super::tempo::pods(env_name))));
    }
    if !pushers.is_empty() {
        ingress.push(network::allow_in(pushers, vec![network::tcp(HTTP_PORT)]));
    }
    let queriers = super::query_clients(cx, env_name);
    if !queriers.is_empty() {
        ingress.push(network::allow_in(queriers, vec![network::tcp(HTTP_PORT)]));
    }
    let target = cx.target_of_environment(env_name);
    let egress = vec![network::dns(target), network::allow_out(peers, own_ports), super::s3_egress(cx, env)];
    network::policy("mimir", ns, pods, ingress, egress)
}
