//! Tempo as `obsc build --all` renders it for the shipped platform: per environment, it receives
//! OTLP where the collectors send it, stores blocks in the environment's own bucket for the
//! topology's retention, and its metrics generator writes to the Mimir beside it.
//!
//! Where to add a test: a new Tempo setting that the topology decides gets an assertion here,
//! for every environment of `common::SHIPPED`.

mod common;

use common::{
    args, find, list, mounted_config, namespace_objects, pod_labels, reachable, resolve, workloads, yaml, Environment,
    SHIPPED,
};
use serde_json::Value;

/// The environment's Tempo config file, checked to be what its pod reads.
fn config(env: &Environment) -> Value {
    yaml(&mounted_config(env.target, env.namespace, "tempo.yaml", "tempo", "tempo.yaml"))
}

/// The one Tempo StatefulSet of the environment.
fn tempo(objects: &[Value]) -> &Value {
    find(objects, "StatefulSet", "tempo")
}

#[test]
fn otlp_is_received_on_every_interface_through_the_tempo_service() {
    for env in &SHIPPED {
        let config = config(env);
        let protocols = &config["distributor"]["receivers"]["otlp"]["protocols"];
        // Tempo's default listens on localhost only, where no collector reaches it.
        assert_eq!(protocols["grpc"]["endpoint"], "0.0.0.0:4317", "{}", env.name);
        assert_eq!(protocols["http"]["endpoint"], "0.0.0.0:4318", "{}", env.name);
        for port in [4317, 4318] {
            let service = resolve(&format!("tempo.{}.svc:{port}", env.namespace));
            assert_eq!(service.target_port, port, "{}: the Service's {port} is not the receiver's port", env.name);
            let names: Vec<&Value> = service.workloads.iter().map(|w| &w["metadata"]["name"]).collect();
            assert_eq!(names, ["tempo"], "{}", env.name);
        }
    }
}

#[test]
fn one_monolithic_replica_per_environment() {
    // Tempo 3 has no HA without Kafka: the checker allows one replica, running every target.
    for env in &SHIPPED {
        let objects = namespace_objects(env.namespace);
        let tempos: Vec<&Value> = workloads(&objects)
            .into_iter()
            .filter(|w| w["metadata"]["labels"]["app.kubernetes.io/name"] == "tempo")
            .collect();
        assert_eq!(tempos.len(), 1, "{}", env.name);
        assert_eq!(tempos[0]["spec"]["replicas"], 1, "{}", env.name);
        assert!(args(tempos[0]).contains(&"-target=all"), "{}: {:?}", env.name, args(tempos[0]));
    }
}

#[test]
fn blocks_go_to_the_environments_bucket_for_its_retention() {
    for env in &SHIPPED {
        let config = config(env);
        let trace = &config["storage"]["trace"];
        assert_eq!(trace["backend"], "s3", "{}", env.name);
        let s3 = &trace["s3"];
        assert_eq!(s3["bucket"], format!("dts-traces-{}-blocks", env.name));
        assert_eq!(s3["forcepathstyle"], true, "{}", env.name);
        assert_eq!(s3["access_key"], "${S3_ACCESS_KEY_ID}", "{}", env.name);
        assert_eq!(s3["secret_key"], "${S3_SECRET_ACCESS_KEY}", "{}", env.name);
        let endpoint = s3["endpoint"].as_str().unwrap();
        assert_eq!(endpoint, format!("{}-s3.{}.svc:8333", env.storage, env.storage_namespace));
        let gateway = resolve(endpoint);
        let objects = namespace_objects(env.namespace);
        let tempo = tempo(&objects);
        assert!(args(tempo).contains(&"-config.expand-env=true"), "{}: the keys would stay literal", env.name);
        assert!(
            reachable(
                (env.namespace, pod_labels(tempo)),
                (env.storage_namespace, pod_labels(&gateway.workloads[0])),
                gateway.target_port
            ),
            "{}: Tempo cannot reach {endpoint}",
            env.name
        );
        assert_eq!(config["backend_worker"]["compaction"]["block_retention"], env.tempo_retention, "{}", env.name);
    }
}

#[test]
fn the_metrics_generator_writes_to_the_mimir_beside_it() {
    for env in &SHIPPED {
        let config = config(env);
        let generator = &config["metrics_generator"];
        let writes = list(&generator["storage"]["remote_write"]);
        assert_eq!(writes.len(), 1, "{}", env.name);
        assert_eq!(writes[0]["send_exemplars"], true, "{}: exemplars link span metrics to traces", env.name);
        let url = writes[0]["url"].as_str().unwrap();
        assert!(url.ends_with("/api/v1/push"), "{}: {url}", env.name);
        let mimir = resolve(url);
        assert_eq!(mimir.service["metadata"]["namespace"], env.namespace, "{}: {url}", env.name);
        assert!(
            mimir.workloads.iter().all(|w| w["metadata"]["labels"]["app.kubernetes.io/name"] == "mimir"),
            "{}: {url} reaches something else than Mimir",
            env.name
        );
        let objects = namespace_objects(env.namespace);
        let tempo = tempo(&objects);
        for m in &mimir.workloads {
            assert!(
                reachable((env.namespace, pod_labels(tempo)), (env.namespace, pod_labels(m)), mimir.target_port),
                "{}: the NetworkPolicies keep Tempo from Mimir",
                env.name
            );
        }
        // Grafana's service map and the overview's span rate come from these processors.
        let processors: Vec<&Value> =
            list(&config["overrides"]["defaults"]["metrics_generator"]["processors"]).iter().collect();
        assert!(processors.contains(&&Value::from("service-graphs")), "{}: {processors:?}", env.name);
        assert!(processors.contains(&&Value::from("span-metrics")), "{}: {processors:?}", env.name);
        let dimensions = list(&generator["processor"]["span_metrics"]["dimensions"]);
        assert!(dimensions.iter().any(|d| d == "k8s.namespace.name"), "{}: span metrics per namespace", env.name);
    }
}
