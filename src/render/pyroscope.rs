//! Pyroscope (Phase 3): one per environment, monolithic, profiles in S3.
//! Keys: grafana/pyroscope docs/sources/configure-server/reference-configuration-parameters.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde::Serialize;

use super::meta::{self, Labels};
use super::{network, pod, workload, Context};
use crate::model::Environment;
use crate::names::{object, service_host, Backend};
use crate::plan::Object;
use crate::secrets;

pub const HTTP_PORT: u16 = 4040;
const CONFIG_DIR: &str = "/etc/pyroscope";
const CONFIG_FILE: &str = "pyroscope.yaml";

pub fn pods(environment: &str) -> Labels {
    meta::selector("pyroscope", "all", &Backend::Pyroscope.instance(environment))
}

pub fn url(monitoring_namespace: &str) -> String {
    format!("http://{}:{HTTP_PORT}", service_host(object::PYROSCOPE, monitoring_namespace))
}

#[derive(Serialize)]
struct Config {
    server: Server,
    storage: Storage,
}

#[derive(Serialize)]
struct Server {
    http_listen_port: u16,
}

#[derive(Serialize)]
struct Storage {
    backend: &'static str,
    s3: S3,
}

#[derive(Serialize)]
struct S3 {
    bucket_name: String,
    endpoint: String,
    access_key_id: &'static str,
    secret_access_key: &'static str,
    insecure: bool,
    bucket_lookup_type: &'static str,
}

fn config_text(cx: &Context, env_name: &str, env: &Environment) -> String {
    let storage = &cx.platform.storage[&env.storage];
    let config = Config {
        server: Server { http_listen_port: HTTP_PORT },
        storage: Storage {
            backend: "s3",
            s3: S3 {
                bucket_name: crate::buckets::name(Backend::Pyroscope, env_name, "blocks"),
                endpoint: super::seaweedfs::s3_endpoint(&env.storage, &storage.namespace),
                access_key_id: "${S3_ACCESS_KEY_ID}",
                secret_access_key: "${S3_SECRET_ACCESS_KEY}",
                insecure: true,
                bucket_lookup_type: "path",
            },
        },
    };
    crate::emit::yaml(&config).unwrap_or_default()
}

pub fn render(cx: &Context, env_name: &str, env: &Environment) -> (Vec<Object>, String) {
    let pyroscope = env.pyroscope.as_ref().expect("rendered only where Pyroscope exists");
    let ns = env.monitoring_namespace.as_str();
    let pods = pods(env_name);
    let config = config_text(cx, env_name, env);
    let credentials = secrets::s3_credentials(cx.platform, env_name, Backend::Pyroscope);
    let c = workload::backend_container(
        "pyroscope",
        &cx.image("pyroscope"),
        vec![format!("-config.file={CONFIG_DIR}/{CONFIG_FILE}"), "-config.expand-env=true".to_string()],
        &credentials,
        &[("http", HTTP_PORT)],
        &pyroscope.resources,
        // The image declares /data, /data-compactor and /data-metastore; each must be writable.
        vec![
            pod::mount("config", CONFIG_DIR, true),
            pod::mount("data", "/data", false),
            pod::mount("compactor", "/data-compactor", false),
            pod::mount("metastore", "/data-metastore", false),
            pod::mount("tmp", "/tmp", false),
        ],
    );
    let template = workload::template(
        &pods,
        vec![c],
        vec![
            pod::config_map_volume("config", "pyroscope"),
            pod::empty_dir("compactor", "5Gi"),
            pod::empty_dir("metastore", "1Gi"),
            pod::empty_dir("tmp", "1Gi"),
        ],
        Some(super::sha256(&config)),
    );
    let objects: Vec<Object> = vec![
        workload::config_map("pyroscope", ns, &pods, BTreeMap::from([(CONFIG_FILE.to_string(), config.clone())]))
            .into(),
        workload::headless("pyroscope-headless", ns, &pods, &[("http", HTTP_PORT)]).into(),
        workload::stateful_set(
            "pyroscope",
            ns,
            &pods,
            pyroscope.replicas,
            "pyroscope-headless",
            template,
            &pyroscope.volume,
        )
        .into(),
        workload::service(object::PYROSCOPE, ns, &pods, &[("http", HTTP_PORT)]).into(),
        policy(cx, env_name, env, &pods).into(),
    ];
    (objects, config)
}

fn policy(cx: &Context, env_name: &str, env: &Environment, pods: &Labels) -> NetworkPolicy {
    let ns = env.monitoring_namespace.as_str();
    let mut clients = super::collectors_of(cx, env_name);
    clients.extend(super::query_clients(cx, env_name));
    let ingress =
        if clients.is_empty() { Vec::new() } else { vec![network::allow_in(clients, vec![network::tcp(HTTP_PORT)])] };
    let target = cx.target_of_environment(env_name);
    network::policy("pyroscope", ns, pods, ingress, vec![network::dns(target), super::s3_egress(cx, env)])
}
