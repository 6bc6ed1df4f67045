//! Loki: one per environment in its monitoring namespace.
//!
//! Simple Scalable mode (the seed's): `write` StatefulSet with a WAL volume, `read` Deployment,
//! `backend` StatefulSet; HA monolithic mode: one StatefulSet of `-target=all` replicas. Both
//! join one memberlist ring, store chunks and the tsdb index in S3, and apply retention per
//! `log_source` tier in the compactor.
//! Keys: grafana/loki docs/sources/shared/configuration.md (v3.7).
//!
//! Limits follow the topology, not Loki's defaults: the WAL replay ceiling from the ingesting
//! pods' memory limit, the longest query from the longest retention tier, the ingestion limits
//! from the contract (`loki.limits`).

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde::Serialize;

use super::dskit::{Memberlist, Ring, Server};
use super::meta::Labels;
use super::{bug, pod, workload, Context, Image, Rendered};
use crate::buckets::{self, Purpose};
use crate::diag::Diagnostic;
use crate::facts::addresses::loki::{self as address, GRPC_PORT, HTTP_PORT, MEMBERLIST_PORT};
use crate::facts::addresses::seaweedfs::{self, BucketAddressing};
use crate::facts::retention;
use crate::model::{Environment, Loki, LokiBytes, LokiLimits, LokiMode, Resources};
use crate::names::{object, Backend, LOG_SOURCE_LABEL};
use crate::period::Period;
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
    ingester: Ingester,
    compactor: Compactor,
    limits_config: Limits,
    ruler: Ruler,
    analytics: Analytics,
}

/// `analytics`: anonymous usage reporting to Grafana Labs is on by default
/// (`reporting_enabled`, configuration.md `### analytics`); the NetworkPolicies block the egress
/// anyway, so it would only fail and log.
#[derive(Serialize)]
struct Analytics {
    reporting_enabled: bool,
}

#[derive(Serialize)]
struct Ingester {
    wal: Wal,
}

/// The WAL itself is on by default and lives under `common.path_prefix`.
#[derive(Serialize)]
struct Wal {
    /// Memory the WAL replay may hold before it flushes to storage (default 4GB,
    /// pkg/ingester/wal.go). Loki suggests about 75% of the memory available
    /// (docs/sources/operations/storage/wal.md); above the pod's limit a replay after a crash
    /// gets the pod OOM-killed, over and over.
    replay_memory_ceiling: LokiBytes,
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
    /// The legacy S3 client's only switch for path-style requests (configuration.md
    /// `### s3_storage_config`); `bucket_lookup_type` exists only for the Thanos client, off here.
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

/// `limits_config`, for tenant `fake` (auth is off): every namespace of the environment.
/// Defaults and units: grafana/loki v3.7.6 pkg/validation/limits.go.
#[derive(Serialize)]
struct Limits {
    retention_period: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    retention_stream: Vec<RetentionStream>,
    /// The longest span a query may cover (default 721h: 30 days and an hour). A query over a
    /// longer tier's whole period would be refused with HTTP 400 (pkg/querier/queryrange/limits.go).
    max_query_length: String,
    /// How far back a query may reach; an older start is moved up, not refused. Loki's retention
    /// guide asks for at most the retention period (docs/sources/operations/storage/retention.md),
    /// so nothing past the longest tier is read while the compactor has yet to delete it.
    max_query_lookback: String,
    ingestion_rate_mb: f64,
    ingestion_burst_size_mb: f64,
    per_stream_rate_limit: LokiBytes,
    per_stream_rate_limit_burst: LokiBytes,
    max_global_streams_per_user: u32,
    shard_streams: ShardStreams,
}

/// Stream sharding (on by default) splits a stream above `desired_rate` into more streams, each
/// with its own per-stream limit, without bound (pkg/distributor/distributor.go `shardCountFor`):
/// a runaway stream would then draw on the shared tenant rate instead of meeting its own limit.
/// Off, the per-stream limit holds each stream.
#[derive(Serialize)]
struct ShardStreams {
    enabled: bool,
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
    let storage = cx.storage(&env.storage)?;
    let s3 = |bucket: String| S3 {
        endpoint: seaweedfs::s3_endpoint(&env.storage, &storage.namespace),
        bucketnames: bucket,
        access_key_id: "${S3_ACCESS_KEY_ID}",
        secret_access_key: "${S3_SECRET_ACCESS_KEY}",
        s3forcepathstyle: seaweedfs::BUCKET_ADDRESSING == BucketAddressing::Path,
        insecure: true,
    };
    let tiers = retention::of_environment(cx.platform, env)
        .ok_or_else(|| bug(format!("the default retention tier of environment `{env_name}` does not exist")))?;
    let longest = tiers.longest();
    let ceiling = replay_memory_ceiling(&env.loki)
        .ok_or_else(|| bug(format!("the Loki memory limit of `{env_name}` is not a binary quantity")))?;
    let LokiLimits {
        ingestion_rate_mb,
        ingestion_burst_size_mb,
        per_stream_rate_limit,
        per_stream_rate_limit_burst,
        max_global_streams_per_user,
    } = env.loki.limits;
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
        ingester: Ingester { wal: Wal { replay_memory_ceiling: ceiling } },
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
            max_query_length: max_query_length(longest),
            max_query_lookback: longest.in_hours(),
            ingestion_rate_mb,
            ingestion_burst_size_mb,
            per_stream_rate_limit,
            per_stream_rate_limit_burst,
            max_global_streams_per_user,
            shard_streams: ShardStreams { enabled: false },
        },
        ruler: Ruler {
            storage: RulerStorage { kind: "s3", s3: s3(buckets::name(Backend::Loki, env_name, Purpose::Ruler)) },
        },
        analytics: Analytics { reporting_enabled: false },
    };
    crate::serial::yaml(&config).map_err(|e| bug(format!("Loki config of `{env_name}`: {e}")))
}

/// Three quarters of the ingesting pods' memory limit, as Loki's WAL guide suggests. `None` only
/// for a limit the contract would not admit.
fn replay_memory_ceiling(loki: &Loki) -> Option<LokiBytes> {
    let (ingesters, _) = loki.ingesters();
    let limit = ingesters.resources.limits.memory_bytes()?;
    Some(LokiBytes(limit / 4 * 3 + limit % 4 * 3 / 4))
}

/// The longest tier's period and an hour: the same slack Loki's own default keeps over 30 days
/// (721h), so a query over the whole period whose end is a little ahead of Loki's clock passes.
/// After `max_query_lookback` has moved the start up, no longer span is left to refuse.
fn max_query_length(longest: &Period) -> String {
    format!("{}h", longest.hours() + 1)
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
    let admits_someone =
        |p: &NetworkPolicy| p.spec.as_ref().and_then(|s| s.ingress.as_ref()).is_some_and(|i| !i.is_empty());
    let push = address::push_pods(env_name, &env.loki);
    let query = address::query_pods(env_name, &env.loki);
    let mut out = vec![cx.policy("loki", ns, ring, true)];
    out.extend(Some(cx.policy("loki-push", ns, &push, false)).filter(admits_someone));
    // In monolithic mode every replica both takes pushes and answers queries: one policy.
    if query != push {
        out.extend(Some(cx.policy("loki-query", ns, &query, false)).filter(admits_someone));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Quantities, StatefulTier, StatelessTier};

    fn tier(replicas: u32, memory: &str) -> StatefulTier {
        let q = |memory: &str| Quantities { cpu: "1".to_string(), memory: memory.to_string() };
        StatefulTier {
            replicas,
            volume: "10Gi".to_string(),
            resources: Resources { requests: q("256Mi"), limits: q(memory) },
        }
    }

    fn loki(mode: LokiMode, write_memory: &str, monolithic_memory: &str) -> Loki {
        let write = tier(3, write_memory);
        Loki {
            mode,
            replication_factor: 3,
            read: StatelessTier { replicas: 2, resources: write.resources.clone() },
            backend: tier(2, "4Gi"),
            write,
            monolithic: tier(3, monolithic_memory),
            limits: LokiLimits {
                ingestion_rate_mb: 8.0,
                ingestion_burst_size_mb: 12.0,
                per_stream_rate_limit: LokiBytes(1 << 20),
                per_stream_rate_limit_burst: LokiBytes(5 << 20),
                max_global_streams_per_user: 5000,
            },
        }
    }

    #[test]
    fn the_wal_replay_ceiling_is_three_quarters_of_the_ingesting_pods_memory_limit() {
        // Loki's default of 4GB would OOM-kill a 1Gi pod replaying its WAL.
        let ceiling = |l: &Loki| replay_memory_ceiling(l).map(|b| b.to_string());
        assert_eq!(ceiling(&loki(LokiMode::SimpleScalable, "1Gi", "8Gi")), Some("768MB".to_string()));
        assert_eq!(ceiling(&loki(LokiMode::Monolithic, "1Gi", "512Mi")), Some("384MB".to_string()));
        assert_eq!(ceiling(&loki(LokiMode::Monolithic, "1Gi", "3Ki")), Some("2304B".to_string()));
        assert_eq!(ceiling(&loki(LokiMode::Monolithic, "1Gi", "1Ti")), Some("768GB".to_string()));
        assert_eq!(ceiling(&loki(LokiMode::Monolithic, "1Gi", "1Ki")), Some("768B".to_string()));
    }

    #[test]
    fn the_longest_query_covers_the_longest_tier_and_an_hour() {
        assert_eq!(max_query_length(&Period::parse("2160h").unwrap()), "2161h");
        assert_eq!(max_query_length(&Period::parse("4d").unwrap()), "97h");
    }
}
