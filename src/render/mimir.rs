//! Mimir: one per environment, monolithic (`-target=all,alertmanager`) with replicas in one
//! memberlist ring. Mimir 3 removed read-write mode; its Kafka ingest storage stays off.
//! Keys: grafana/mimir docs/sources/mimir/configure/configuration-parameters (3.x). Mimir reads
//! its config strictly, so an unknown key stops it from starting.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde::Serialize;

use super::dskit::{Memberlist, Server};
use super::meta::Labels;
use super::{bug, pod, workload, Context, Image, Rendered};
use crate::buckets::{self, Purpose};
use crate::diag::Diagnostic;
use crate::facts::addresses::mimir::{self as address, GRPC_PORT, HTTP_PORT, MEMBERLIST_PORT};
use crate::facts::addresses::seaweedfs;
use crate::facts::addresses::seaweedfs::BucketAddressing;
use crate::model::{Environment, Mimir};
use crate::names::{object, Backend};
use crate::secrets;

const DATA: &str = "/data";
const CONFIG_DIR: &str = "/etc/mimir";
const CONFIG_FILE: &str = "mimir.yaml";

#[derive(Serialize)]
struct Config {
    /// Off: one tenant, `anonymous`.
    multitenancy_enabled: bool,
    server: Server,
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
    memberlist: Memberlist,
    limits: Limits,
    usage_stats: UsageStats,
}

/// Anonymous usage reporting to Grafana Labs, on by default (configuration reference,
/// `usage_stats` block); the NetworkPolicy blocks the egress anyway, so it would only fail and log.
#[derive(Serialize)]
struct UsageStats {
    enabled: bool,
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
    bucket_lookup_type: BucketLookup,
}

/// Mimir's spelling of the bucket addressing: thanos-io/objstore `s3.BucketLookupType`, which
/// reads exactly `auto`, `virtual-hosted` and `path` (providers/s3/s3.go `UnmarshalYAML`; Mimir's
/// pkg/storage/bucket/s3/config.go flag help lists the same). Not Pyroscope's `path-style`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum BucketLookup {
    #[allow(dead_code)] // Mimir's default; named so the spelling of every value is here.
    Auto,
    VirtualHosted,
    Path,
}

impl From<BucketAddressing> for BucketLookup {
    fn from(addressing: BucketAddressing) -> Self {
        match addressing {
            BucketAddressing::Path => BucketLookup::Path,
            BucketAddressing::VirtualHost => BucketLookup::VirtualHosted,
        }
    }
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
    /// Where the ruler sends alerts; empty by default, and then they reach no Alertmanager.
    alertmanager_url: String,
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

fn config_text(cx: &Context, env_name: &str, env: &Environment, mimir: &Mimir) -> Result<String, Box<Diagnostic>> {
    let storage = cx.storage(&env.storage)?;
    let bucket = |purpose: Purpose| BucketName { bucket_name: buckets::name(Backend::Mimir, env_name, purpose) };
    let rf = || ReplicationFactor { replication_factor: mimir.replication_factor };
    let config = Config {
        multitenancy_enabled: false,
        server: Server { http_listen_port: HTTP_PORT, grpc_listen_port: GRPC_PORT },
        common: Common {
            storage: CommonStorage {
                backend: "s3",
                s3: S3 {
                    endpoint: seaweedfs::s3_endpoint(&env.storage, &storage.namespace),
                    access_key_id: "${S3_ACCESS_KEY_ID}",
                    secret_access_key: "${S3_SECRET_ACCESS_KEY}",
                    insecure: true,
                    bucket_lookup_type: seaweedfs::BUCKET_ADDRESSING.into(),
                },
            },
        },
        blocks_storage: BlocksStorage {
            s3: bucket(Purpose::Blocks),
            tsdb: DirOnly { dir: format!("{DATA}/tsdb") },
            bucket_store: SyncDir { sync_dir: format!("{DATA}/tsdb-sync") },
        },
        ruler_storage: BucketOnly { s3: bucket(Purpose::Ruler) },
        alertmanager_storage: BucketOnly { s3: bucket(Purpose::Alertmanager) },
        ingester: Ingester { ring: rf() },
        store_gateway: StoreGateway { sharding_ring: rf() },
        alertmanager: Alertmanager { data_dir: format!("{DATA}/alertmanager"), sharding_ring: rf() },
        compactor: DataDir { data_dir: format!("{DATA}/compactor") },
        ruler: Ruler { rule_path: format!("{DATA}/rules"), alertmanager_url: address::local_alertmanager_url() },
        activity_tracker: ActivityTracker { filepath: format!("{DATA}/activity.log") },
        memberlist: Memberlist { join_members: vec![address::memberlist_join(&env.monitoring_namespace)] },
        limits: Limits { max_global_exemplars_per_user: mimir.max_exemplars },
        usage_stats: UsageStats { enabled: false },
    };
    crate::serial::yaml(&config).map_err(|e| bug(format!("Mimir config of `{env_name}`: {e}")))
}

pub fn render(cx: &Context, env_name: &str, env: &Environment, mimir: &Mimir) -> Result<Rendered, Box<Diagnostic>> {
    let ns = env.monitoring_namespace.as_str();
    let pods = address::pods(env_name);
    let config = config_text(cx, env_name, env, mimir)?;
    let credentials = secrets::s3_credentials(cx.platform, env_name, Backend::Mimir);
    let c = workload::backend_container(
        "mimir",
        cx.image(Image::Mimir),
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
    let mut out = Rendered::default();
    out.push(workload::config_map("mimir", ns, &pods, BTreeMap::from([(CONFIG_FILE.to_string(), config.clone())])));
    out.push(workload::headless(
        address::MEMBERLIST_SERVICE,
        ns,
        &pods,
        &[("memberlist", MEMBERLIST_PORT), ("grpc", GRPC_PORT)],
    ));
    out.push(workload::stateful_set(
        "mimir",
        ns,
        &pods,
        mimir.replicas,
        address::MEMBERLIST_SERVICE,
        template,
        &mimir.volume,
    ));
    out.push(workload::service(object::MIMIR, ns, &pods, &[("http", HTTP_PORT), ("grpc", GRPC_PORT)]));
    out.push(policy(cx, env, &pods));
    out.config_file(ns, CONFIG_FILE, &config);
    Ok(out)
}

/// Derived from the flow table: who dials it, and what it dials.
fn policy(cx: &Context, env: &Environment, pods: &Labels) -> NetworkPolicy {
    cx.policy("mimir", &env.monitoring_namespace, pods, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(lookup: BucketLookup) -> String {
        crate::serial::yaml(&lookup).unwrap_or_default()
    }

    #[test]
    fn the_bucket_lookup_is_spelled_as_mimir_reads_it() {
        assert_eq!(yaml(BucketLookup::from(BucketAddressing::Path)), "path\n");
        assert_eq!(yaml(BucketLookup::from(BucketAddressing::VirtualHost)), "virtual-hosted\n");
        assert_eq!(yaml(BucketLookup::Auto), "auto\n");
    }

    #[test]
    fn the_ruler_sends_alerts_to_the_alertmanager_in_its_own_process() {
        assert_eq!(address::local_alertmanager_url(), "http://localhost:8080/alertmanager");
    }
}
