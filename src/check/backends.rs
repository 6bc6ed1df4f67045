//! Backends: replication factors a ring can hold through a restart, Tempo's single replica,
//! Mimir's exemplars, Loki's ingestion limits, and the deprecated Loki mode.

use super::{and_list, Checker};
use crate::model::{LokiLimits, LokiMode};

/// Alloy's `loki.write` sends batches of up to 1MiB (`batch_size` default, grafana/alloy v1.18.1
/// docs/sources/reference/components/loki/loki.write.md); obsc leaves it at that.
const COLLECTOR_LOG_BATCH_BYTES: f64 = 1024.0 * 1024.0;
/// Loki's MB in `ingestion_rate_mb` and `ingestion_burst_size_mb` (grafana/loki v3.7.6
/// pkg/validation/limits.go `bytesInMB`).
const LOKI_MB: f64 = 1024.0 * 1024.0;

pub(super) fn check(c: &mut Checker) {
    let p = c.platform;
    let mut simple_scalable = Vec::new();
    for (env_name, env) in &p.environments {
        let loki = &env.loki;
        if loki.mode == LokiMode::SimpleScalable {
            simple_scalable.push(env_name.clone());
        }
        let (ingesters, block) = loki.ingesters();
        ring(
            c,
            Ring {
                env_name,
                component: "loki",
                what: "Loki",
                copies: "copies of each stream",
                rings: "ingester ring",
                factor: loki.replication_factor,
                replicas: ingesters.replicas,
                replicas_field: format!("loki.{block}.replicas"),
                replica_kind: format!("{block} "),
            },
        );
        loki_limits(c, env_name, &loki.limits);
        if let Some(tempo) = &env.tempo {
            if tempo.replicas > 1 {
                c.error(
                    &["environments", env_name, "tempo", "replicas"],
                    format!(
                        "Tempo of `{env_name}` has {} replicas; Tempo 3 has no HA mode without Kafka",
                        tempo.replicas
                    ),
                    "run 1 replica: more than one monolithic Tempo is unsupported upstream",
                );
            }
        }
        if let Some(mimir) = &env.mimir {
            // One factor for the three rings of every replica (`-target=all,alertmanager`).
            ring(
                c,
                Ring {
                    env_name,
                    component: "mimir",
                    what: "Mimir",
                    copies: "copies of each series, block and alert",
                    rings: "ingester, store-gateway and alertmanager rings",
                    factor: mimir.replication_factor,
                    replicas: mimir.replicas,
                    replicas_field: "mimir.replicas".to_string(),
                    replica_kind: String::new(),
                },
            );
            if mimir.max_exemplars == 0 {
                c.error(
                    &["environments", env_name, "mimir", "max_exemplars"],
                    format!("Mimir of `{env_name}` stores no exemplars, so no metric links to its trace"),
                    "set `max_exemplars` above 0 (100000 is a good start)",
                );
            }
        }
    }
    if let Some(first) = simple_scalable.first() {
        c.warning(
            &["environments", first, "loki", "mode"],
            format!(
                "Loki runs in Simple Scalable mode in {}; upstream deprecated it and removes it in Loki 4.0",
                and_list(&simple_scalable)
            ),
            "plan the move to `mode = 'monolithic` (HA monolithic: every replica `-target=all`)",
        );
    }
}

/// A dskit ring's replication, as one component of one environment configures it.
struct Ring<'a> {
    env_name: &'a str,
    /// The topology key (`loki`, `mimir`).
    component: &'static str,
    /// The name in messages.
    what: &'static str,
    copies: &'static str,
    rings: &'static str,
    factor: u32,
    replicas: u32,
    replicas_field: String,
    /// `write `, `monolithic ` or nothing: which replicas hold the copies.
    replica_kind: String,
}

/// A write to a ring succeeds once a quorum of its copies (`factor / 2 + 1`, dskit
/// ring/replication_set.go) has it. A factor that leaves no copy to spare makes every restart,
/// rollout or node drain fail writes; and a factor above the replicas can never meet its quorum.
/// So: 1 (no HA), or 3 and more with at least as many replicas.
fn ring(c: &mut Checker, r: Ring) {
    let path = ["environments", r.env_name, r.component, "replication_factor"];
    let quorum = r.factor / 2 + 1;
    if r.factor > 1 && quorum == r.factor {
        c.error(
            &path,
            format!(
                "{} of `{}` keeps {} {} in its {}: a write needs {quorum} of them, so one replica down (a restart, a rollout) fails writes",
                r.what, r.env_name, r.factor, r.copies, r.rings
            ),
            format!(
                "set `replication_factor` to 1 (no HA), or to 3 with at least 3 replicas in `{}`",
                r.replicas_field
            ),
        );
    } else if r.factor > r.replicas {
        c.error(
            &path,
            format!(
                "{} of `{}` keeps {} {} but has {} {}replica(s)",
                r.what, r.env_name, r.factor, r.copies, r.replicas, r.replica_kind
            ),
            format!("raise `{}` to at least {} or lower `replication_factor`", r.replicas_field, r.factor),
        );
    }
}

/// Loki's ingestion limits must let the collectors' pushes through and hold a single stream
/// below the environment's rate, whichever mode Loki runs in.
fn loki_limits(c: &mut Checker, env_name: &str, limits: &LokiLimits) {
    let field = |name: &'static str| ["environments", env_name, "loki", "limits", name];
    // The distributor takes a whole push request from the burst (grafana/loki v3.7.6
    // pkg/distributor/distributor.go, `ingestionRateLimiter.AllowN`): a request larger than the
    // burst is refused every time it is retried.
    if limits.ingestion_burst_size_mb * LOKI_MB < COLLECTOR_LOG_BATCH_BYTES {
        c.error(
            &field("ingestion_burst_size_mb"),
            format!(
                "Loki of `{env_name}` takes bursts of {}MB (`ingestion_burst_size_mb`), less than one collector batch (1MB): a full batch is refused every time",
                limits.ingestion_burst_size_mb
            ),
            "set `ingestion_burst_size_mb` to 1 or more (Loki's default is 6)",
        );
    }
    let environment_rate = limits.ingestion_rate_mb * LOKI_MB;
    if limits.per_stream_rate_limit.bytes() as f64 >= environment_rate {
        c.error(
            &field("per_stream_rate_limit"),
            format!(
                "one stream of Loki `{env_name}` may push {}/s, as much as the whole environment (`ingestion_rate_mb = {}`): a single noisy container can throttle every namespace",
                limits.per_stream_rate_limit, limits.ingestion_rate_mb
            ),
            "keep `per_stream_rate_limit` well below `ingestion_rate_mb` (the defaults are 1MB and 8)",
        );
    }
    if limits.per_stream_rate_limit_burst < limits.per_stream_rate_limit {
        c.error(
            &field("per_stream_rate_limit_burst"),
            format!(
                "Loki of `{env_name}` lets a stream burst to {}, below its rate of {}/s",
                limits.per_stream_rate_limit_burst, limits.per_stream_rate_limit
            ),
            "set `per_stream_rate_limit_burst` to at least `per_stream_rate_limit` (Loki's default is 5 times it)",
        );
    }
}
