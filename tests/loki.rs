//! Loki as `obsc build --all` renders it for the shipped platform: per environment, the config
//! follows the topology (retention tiers, buckets, schema) and every address in it names an
//! object of the same render that serves it. The exact bytes are `rendered/`'s business.
//!
//! Where to add a test: a new Loki setting that the topology decides gets an assertion here,
//! for every environment of `common::SHIPPED`.

mod common;

use common::{
    args, find, list, mounted_config, namespace_objects, namespaces_with, pod_labels, reachable, resolve, ring_of,
    workloads, yaml, Environment, SHIPPED,
};
use serde_json::Value;

/// The environment's Loki config file, checked to be what its pods read.
fn config(env: &Environment) -> Value {
    yaml(&mounted_config(env.target, env.namespace, "loki.yaml", "loki", "loki.yaml"))
}

/// The Loki workloads of the environment (every Deployment and StatefulSet named `loki...`).
fn loki_workloads(objects: &[Value]) -> Vec<&Value> {
    workloads(objects).into_iter().filter(|w| w["metadata"]["labels"]["app.kubernetes.io/name"] == "loki").collect()
}

/// The `-target=` of a Loki workload.
fn loki_target(workload: &Value) -> String {
    let args = args(workload);
    let target = args.iter().find_map(|a| a.strip_prefix("-target=")).unwrap_or_else(|| panic!("no -target: {args:?}"));
    target.to_string()
}

#[test]
fn every_environment_and_only_those_have_a_loki() {
    let expected: std::collections::BTreeSet<String> =
        SHIPPED.iter().map(|e| format!("{}/{}", e.target, e.namespace)).collect();
    assert_eq!(namespaces_with("loki.yaml"), expected, "update common::SHIPPED with environments/*.ncl");
}

#[test]
fn retention_follows_the_tiers_of_the_environment() {
    for env in &SHIPPED {
        let config = config(env);
        let limits = &config["limits_config"];
        // Streams without a tier rule keep the default tier's period (`cdt`).
        assert_eq!(limits["retention_period"], env.cdt, "{}", env.name);
        // Every other tier is a stream rule on the `log_source` label the collector sets.
        let streams = list(&limits["retention_stream"]);
        assert_eq!(streams.len(), 1, "{}: one rule per non-default tier: {streams:?}", env.name);
        assert_eq!(streams[0]["selector"], "{log_source=\"partner-team\"}", "{}", env.name);
        assert_eq!(streams[0]["period"], env.partner_team, "{}", env.name);
        assert!(streams[0]["priority"].as_u64().is_some_and(|p| p >= 1), "{}", env.name);
        // Retention is applied by the compactor, which needs a store for delete requests.
        let compactor = &config["compactor"];
        assert_eq!(compactor["retention_enabled"], true, "{}", env.name);
        assert_eq!(compactor["delete_request_store"], "s3", "{}", env.name);
        assert_eq!(
            compactor["delete_request_store"], config["schema_config"]["configs"][0]["object_store"],
            "{}: delete requests go to the schema's object store",
            env.name
        );
    }
}

#[test]
fn the_schema_is_tsdb_v13_with_a_daily_index() {
    for env in &SHIPPED {
        let config = config(env);
        let configs = list(&config["schema_config"]["configs"]);
        assert_eq!(configs.len(), 1, "{}", env.name);
        let schema = &configs[0];
        // Moving `from` would orphan every stored chunk.
        assert_eq!(schema["from"], "2024-04-01", "{}", env.name);
        assert_eq!(schema["store"], "tsdb", "{}", env.name);
        assert_eq!(schema["schema"], "v13", "{}", env.name);
        assert_eq!(schema["object_store"], "s3", "{}", env.name);
        // Retention works per index period: 24h, which is why periods are whole days.
        assert_eq!(schema["index"]["period"], "24h", "{}", env.name);
    }
}

#[test]
fn chunks_and_rules_go_to_the_environments_own_buckets_on_its_storage() {
    for env in &SHIPPED {
        let config = config(env);
        let chunks = &config["common"]["storage"]["s3"];
        let ruler = &config["ruler"]["storage"]["s3"];
        assert_eq!(config["ruler"]["storage"]["type"], "s3", "{}", env.name);
        assert_eq!(chunks["bucketnames"], format!("dts-logs-{}-chunks", env.name));
        assert_eq!(ruler["bucketnames"], format!("dts-logs-{}-ruler", env.name));
        for s3 in [chunks, ruler] {
            // SeaweedFS serves buckets by path, not by virtual host.
            assert_eq!(s3["s3forcepathstyle"], true, "{}", env.name);
            // The gateway of the environment's own storage instance, and Loki may reach it.
            let endpoint = s3["endpoint"].as_str().unwrap();
            assert_eq!(endpoint, format!("{}-s3.{}.svc:8333", env.storage, env.storage_namespace));
            let gateway = resolve(endpoint);
            let objects = namespace_objects(env.namespace);
            for w in loki_workloads(&objects) {
                assert!(
                    reachable(
                        (env.namespace, pod_labels(w)),
                        (env.storage_namespace, pod_labels(&gateway.workloads[0])),
                        gateway.target_port
                    ),
                    "{}: {} cannot reach {endpoint}",
                    env.name,
                    w["metadata"]["name"]
                );
            }
            // The keys are environment references, filled from a Secret.
            assert_eq!(s3["access_key_id"], "${S3_ACCESS_KEY_ID}");
            assert_eq!(s3["secret_access_key"], "${S3_SECRET_ACCESS_KEY}");
        }
        let objects = namespace_objects(env.namespace);
        for w in loki_workloads(&objects) {
            let name = &w["metadata"]["name"];
            assert!(
                args(w).contains(&"-config.expand-env=true"),
                "{}: {name} would read `${{...}}` literally",
                env.name
            );
            let container = common::main_container(w);
            for var in ["S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"] {
                let entry = list(&container["env"]).iter().find(|e| e["name"] == var);
                let entry = entry.unwrap_or_else(|| panic!("{}: {name} has no {var}", env.name));
                assert!(
                    entry["valueFrom"]["secretKeyRef"]["name"].is_string(),
                    "{}: {var} not from a Secret",
                    env.name
                );
            }
        }
    }
}

#[test]
fn the_ring_joins_through_the_headless_service_of_every_loki_pod() {
    for env in &SHIPPED {
        let config = config(env);
        assert_eq!(config["common"]["ring"]["kvstore"]["store"], "memberlist", "{}", env.name);
        let ring = ring_of(&config, env.namespace, env.name);
        // Every Loki pod is in the ring.
        let objects = namespace_objects(env.namespace);
        let all = loki_workloads(&objects);
        assert_eq!(ring.workloads.len(), all.len(), "{}: the ring Service misses Loki workloads", env.name);
    }
}

#[test]
fn the_mode_decides_the_workloads_and_the_compactor_is_where_it_runs() {
    for env in &SHIPPED {
        let objects = namespace_objects(env.namespace);
        let mut targets: Vec<String> = loki_workloads(&objects).iter().map(|w| loki_target(w)).collect();
        targets.sort();
        let expected = if env.loki_monolithic { vec!["all"] } else { vec!["backend", "read", "write"] };
        assert_eq!(targets, expected, "{}", env.name);
        // The compactor runs in the backend target (or in every monolithic replica).
        let config = config(env);
        let compactor = resolve(config["common"]["compactor_address"].as_str().unwrap());
        for w in &compactor.workloads {
            assert!(
                ["backend", "all"].contains(&loki_target(w).as_str()),
                "{}: compactor_address reaches {}",
                env.name,
                w["metadata"]["name"]
            );
        }
        assert_eq!(compactor.target_port, 3100, "{}", env.name);
        assert_eq!(config["server"]["http_listen_port"], 3100, "{}", env.name);
    }
}

#[test]
fn pushes_and_queries_reach_the_pods_that_serve_them() {
    for env in &SHIPPED {
        // The collectors and Grafana send no X-Scope-OrgID.
        assert_eq!(config(env)["auth_enabled"], false, "{}", env.name);
        for (service, serving) in [("loki-write", ["write", "all"]), ("loki-read", ["read", "all"])] {
            let resolved = resolve(&format!("http://{service}.{}.svc:3100", env.namespace));
            for w in &resolved.workloads {
                assert!(
                    serving.contains(&loki_target(w).as_str()),
                    "{}: {service} reaches {}",
                    env.name,
                    w["metadata"]["name"]
                );
            }
        }
    }
}

#[test]
fn prod_keeps_three_copies_on_three_writers() {
    // environments/prod.ncl: `loki.write.replicas = 3`, `replication_factor = 3`.
    let prod = SHIPPED.iter().find(|e| e.name == "prod").unwrap();
    assert_eq!(config(prod)["common"]["replication_factor"], 3);
    let objects = namespace_objects(prod.namespace);
    assert_eq!(find(&objects, "StatefulSet", "loki-write")["spec"]["replicas"], 3);
}
