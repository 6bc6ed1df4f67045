//! Pyroscope (Phase 3): one per environment, monolithic, profiles in S3.
//! Keys: grafana/pyroscope docs/sources/configure-server/reference-configuration-parameters.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde::Serialize;

use super::meta::Labels;
use super::{bug, pod, workload, Context, Image, Rendered};
use crate::buckets::{self, Purpose};
use crate::diag::Diagnostic;
use crate::facts::addresses::pyroscope::{self as address, HTTP_PORT};
use crate::facts::addresses::seaweedfs::{self, BucketAddressing};
use crate::model::{Environment, Pyroscope};
use crate::names::{object, Backend};
use crate::secrets;

const CONFIG_DIR: &str = "/etc/pyroscope";
const CONFIG_FILE: &str = "pyroscope.yaml";

#[derive(Serialize)]
struct Config {
    server: Server,
    storage: Storage,
    analytics: Analytics,
}

/// Anonymous usage reporting to Grafana Labs, on by default (grafana/pyroscope
/// pkg/usagestats/reporter.go `reporting_enabled`, `analytics` in pkg/pyroscope/pyroscope.go);
/// the NetworkPolicy blocks the egress anyway, so it would only fail and log.
#[derive(Serialize)]
struct Analytics {
    reporting_enabled: bool,
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
    bucket_lookup_type: BucketLookup,
}

/// Pyroscope's spelling of the bucket addressing: exactly `path-style`, `virtual-hosted-style`
/// or `auto`; anything else (Mimir's `path` included) stops it at start-up with "invalid S3
/// bucket lookup type" (grafana/pyroscope pkg/objstore/providers/s3/config.go, v2.2.1 and main;
/// docs/sources/configure-server/reference-configuration-parameters/index.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum BucketLookup {
    #[allow(dead_code)] // Pyroscope's default; named so the spelling of every value is here.
    Auto,
    VirtualHostedStyle,
    PathStyle,
}

impl From<BucketAddressing> for BucketLookup {
    fn from(addressing: BucketAddressing) -> Self {
        match addressing {
            BucketAddressing::Path => BucketLookup::PathStyle,
            BucketAddressing::VirtualHost => BucketLookup::VirtualHostedStyle,
        }
    }
}

fn config_text(cx: &Context, env_name: &str, env: &Environment) -> Result<String, Box<Diagnostic>> {
    let storage = cx.storage(&env.storage)?;
    let config = Config {
        server: Server { http_listen_port: HTTP_PORT },
        storage: Storage {
            backend: "s3",
            s3: S3 {
                bucket_name: buckets::name(Backend::Pyroscope, env_name, Purpose::Blocks),
                endpoint: seaweedfs::s3_endpoint(&env.storage, &storage.namespace),
                access_key_id: "${S3_ACCESS_KEY_ID}",
                secret_access_key: "${S3_SECRET_ACCESS_KEY}",
                insecure: true,
                bucket_lookup_type: seaweedfs::BUCKET_ADDRESSING.into(),
            },
        },
        analytics: Analytics { reporting_enabled: false },
    };
    crate::serial::yaml(&config).map_err(|e| bug(format!("Pyroscope config of `{env_name}`: {e}")))
}

pub fn render(
    cx: &Context,
    env_name: &str,
    env: &Environment,
    pyroscope: &Pyroscope,
) -> Result<Rendered, Box<Diagnostic>> {
    let ns = env.monitoring_namespace.as_str();
    let pods = address::pods(env_name);
    let config = config_text(cx, env_name, env)?;
    let credentials = secrets::s3_credentials(cx.platform, env_name, Backend::Pyroscope);
    let c = workload::backend_container(
        "pyroscope",
        cx.image(Image::Pyroscope),
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
    let mut out = Rendered::default();
    out.push(workload::config_map("pyroscope", ns, &pods, BTreeMap::from([(CONFIG_FILE.to_string(), config.clone())])));
    out.push(workload::headless("pyroscope-headless", ns, &pods, &[("http", HTTP_PORT)]));
    out.push(workload::stateful_set(
        "pyroscope",
        ns,
        &pods,
        pyroscope.replicas,
        "pyroscope-headless",
        template,
        &pyroscope.volume,
    ));
    out.push(workload::service(object::PYROSCOPE, ns, &pods, &[("http", HTTP_PORT)]));
    out.push(policy(cx, env, &pods));
    out.config_file(ns, CONFIG_FILE, &config);
    Ok(out)
}

/// Derived from the flow table: who dials it, and what it dials.
fn policy(cx: &Context, env: &Environment, pods: &Labels) -> NetworkPolicy {
    cx.policy("pyroscope", &env.monitoring_namespace, pods, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(lookup: BucketLookup) -> String {
        crate::serial::yaml(&lookup).unwrap_or_default()
    }

    #[test]
    fn the_bucket_lookup_is_spelled_as_pyroscope_reads_it() {
        // Mimir's `path` stops Pyroscope at start-up.
        assert_eq!(yaml(BucketLookup::from(BucketAddressing::Path)), "path-style\n");
        assert_eq!(yaml(BucketLookup::from(BucketAddressing::VirtualHost)), "virtual-hosted-style\n");
        assert_eq!(yaml(BucketLookup::Auto), "auto\n");
    }
}
