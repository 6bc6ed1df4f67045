//! Mimir as `obsc build --all` renders it for the shipped platform: per environment, one
//! monolithic Mimir (with the alertmanager) in one memberlist ring, three buckets of its own on
//! the environment's storage, and exemplars kept so metrics link to traces.
//!
//! Where to add a test: a new Mimir setting that the topology decides gets an assertion here,
//! for every environment of `common::SHIPPED`.

mod common;

use std::collections::BTreeSet;

use common::{
    args, find, mounted_config, namespace_objects, pod_labels, reachable, resolve, ring_of, workloads, yaml,
    Environment, SHIPPED,
};
use serde_json::Value;

/// The environment's Mimir config file, checked to be what its pods read.
fn config(env: &Environment) -> Value {
    yaml(&mounted_config(env.target, env.namespace, "mimir.yaml", "mimir", "mimir.yaml"))
}

fn mimir_workloads(objects: &[Value]) -> Vec<&Value> {
    workloads(objects).into_iter().filter(|w| w["metadata"]["labels"]["app.kubernetes.io/name"] == "mimir").collect()
}

#[test]
fn blocks_rules_and_alerts_go_to_three_buckets_of_the_environment() {
    for env in &SHIPPED {
        let config = config(env);
        let buckets = [
            &config["blocks_storage"]["s3"]["bucket_name"],
            &config["ruler_storage"]["s3"]["bucket_name"],
            &config["alertmanager_storage"]["s3"]["bucket_name"],
        ];
        let expected =
            ["blocks", "ruler", "alertmanager"].map(|p| Value::from(format!("dts-metrics-{}-{p}", env.name)));
        assert_eq!(buckets.map(Clone::clone), expected, "{}", env.name);
        // Mimir refuses to start when the blocks share a bucket with the rules or the alerts.
        assert_eq!(buckets.iter().filter_map(|b| b.as_str()).collect::<BTreeSet<_>>().len(), 3, "{}", env.name);

        let s3 = &config["common"]["storage"]["s3"];
        assert_eq!(config["common"]["storage"]["backend"], "s3", "{}", env.name);
        assert_eq!(s3["access_key_id"], "${S3_ACCESS_KEY_ID}", "{}", env.name);
        assert_eq!(s3["secret_access_key"], "${S3_SECRET_ACCESS_KEY}", "{}", env.name);
        let endpoint = s3["endpoint"].as_str().unwrap();
        assert_eq!(endpoint, format!("{}-s3.{}.svc:8333", env.storage, env.storage_namespace));
        let gateway = resolve(endpoint);
        let objects = namespace_objects(env.namespace);
        for m in mimir_workloads(&objects) {
            assert!(args(m).contains(&"-config.expand-env=true"), "{}: the keys would stay literal", env.name);
            assert!(
                reachable(
                    (env.namespace, pod_labels(m)),
                    (env.storage_namespace, pod_labels(&gateway.workloads[0])),
                    gateway.target_port
                ),
                "{}: Mimir cannot reach {endpoint}",
                env.name
            );
        }
    }
}

#[test]
fn exemplars_are_kept() {
    // Mimir's default of 0 drops every exemplar and with them every metric-to-trace link.
    for env in &SHIPPED {
        let limit = config(env)["limits"]["max_global_exemplars_per_user"].as_u64();
        assert!(limit.is_some_and(|l| l > 0), "{}: max_global_exemplars_per_user = {limit:?}", env.name);
    }
}

#[test]
fn every_replica_runs_all_targets_and_the_alertmanager() {
    for env in &SHIPPED {
        let objects = namespace_objects(env.namespace);
        let mimirs = mimir_workloads(&objects);
        assert_eq!(mimirs.len(), 1, "{}", env.name);
        // `all` leaves the alertmanager out; the ruler's alerts need one.
        let targets: Vec<&str> = args(mimirs[0]).into_iter().filter(|a| a.starts_with("-target=")).collect();
        assert_eq!(targets, ["-target=all,alertmanager"], "{}", env.name);
    }
}

#[test]
fn pushes_arrive_where_mimir_listens_and_without_a_tenant() {
    for env in &SHIPPED {
        let config = config(env);
        let service = resolve(&format!("http://mimir.{}.svc:8080/api/v1/push", env.namespace));
        assert_eq!(service.target_port, config["server"]["http_listen_port"], "{}", env.name);
        // The collectors and Tempo send no X-Scope-OrgID.
        assert_eq!(config["multitenancy_enabled"], false, "{}", env.name);
    }
}

#[test]
fn the_ring_joins_through_the_headless_service_of_every_mimir_pod() {
    for env in &SHIPPED {
        let config = config(env);
        let ring = ring_of(&config, env.namespace, env.name);
        let objects = namespace_objects(env.namespace);
        assert_eq!(ring.workloads.len(), mimir_workloads(&objects).len(), "{}", env.name);
    }
}

#[test]
fn prod_replicates_three_ways_on_three_replicas() {
    // environments/prod.ncl: `mimir = { replicas = 3, replication_factor = 3 }`.
    let prod = SHIPPED.iter().find(|e| e.name == "prod").unwrap();
    let config = config(prod);
    for ring in [
        &config["ingester"]["ring"],
        &config["store_gateway"]["sharding_ring"],
        &config["alertmanager"]["sharding_ring"],
    ] {
        assert_eq!(ring["replication_factor"], 3);
    }
    assert_eq!(find(&namespace_objects(prod.namespace), "StatefulSet", "mimir")["spec"]["replicas"], 3);
}
