//! Tempo: one per environment, monolithic (`-target=all`). Tempo 3 scales out only with Kafka,
//! which this platform does not run, so there is exactly one replica (the checker insists).
//! Keys: grafana/tempo docs/sources/tempo/configuration/_index.md (v3.0); Tempo reads its config
//! strictly, so a key from Tempo 2 (`compactor`, `ingester`) would stop it from starting.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde::Serialize;

use super::dskit::Server;
use super::meta::Labels;
use super::{bug, pod, workload, Context, Image, Rendered};
use crate::buckets::{self, Purpose};
use crate::diag::Diagnostic;
use crate::facts::addresses::seaweedfs::BucketAddressing;
use crate::facts::addresses::tempo::{self as address, GRPC_PORT, HTTP_PORT, OTLP_GRPC_PORT, OTLP_HTTP_PORT};
use crate::facts::addresses::{mimir, seaweedfs};
use crate::model::{Environment, Tempo};
use crate::names::{object, Backend};
use crate::secrets;

const DATA: &str = "/var/tempo";
const CONFIG_DIR: &str = "/etc/tempo";
const CONFIG_FILE: &str = "tempo.yaml";

#[derive(Serialize)]
struct Config {
    server: Server,
    distributor: Distributor,
    storage: Storage,
    backend_worker: BackendWorker,
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_generator: Option<MetricsGenerator>,
    #[serde(skip_serializing_if = "Option::is_none")]
    overrides: Option<Overrides>,
    usage_report: UsageReport,
}

/// Anonymous usage reporting to Grafana Labs, on by default (grafana/tempo v3.0.2
/// pkg/usagestats/config.go, `usage_report` in cmd/tempo/app/config.go); the NetworkPolicy blocks
/// the egress anyway, so it would only fail and log.
#[derive(Serialize)]
struct UsageReport {
    reporting_enabled: bool,
}

#[derive(Serialize)]
struct Distributor {
    receivers: Receivers,
}

#[derive(Serialize)]
struct Receivers {
    otlp: Otlp,
}

#[derive(Serialize)]
struct Otlp {
    protocols: Protocols,
}

/// The receivers listen on localhost unless told otherwise.
#[derive(Serialize)]
struct Protocols {
    grpc: Endpoint,
    http: Endpoint,
}

#[derive(Serialize)]
struct Endpoint {
    endpoint: String,
}

#[derive(Serialize)]
struct Storage {
    trace: Trace,
}

#[derive(Serialize)]
struct Trace {
    backend: &'static str,
    s3: S3,
    wal: Path,
}

#[derive(Serialize)]
struct S3 {
    bucket: String,
    /// host:port, no scheme.
    endpoint: String,
    access_key: &'static str,
    secret_key: &'static str,
    insecure: bool,
    /// Tempo's switch for path-style requests (tempodb/backend/s3/config.go); it wins over
    /// `bucket_lookup_type`, which is left at auto.
    forcepathstyle: bool,
}

#[derive(Serialize)]
struct Path {
    path: String,
}

/// Tempo 3's compaction and retention run in the backend worker.
#[derive(Serialize)]
struct BackendWorker {
    compaction: Compaction,
}

#[derive(Serialize)]
struct Compaction {
    block_retention: String,
}

#[derive(Serialize)]
struct MetricsGenerator {
    processor: Processor,
    storage: GeneratorStorage,
}

#[derive(Serialize)]
struct Processor {
    span_metrics: SpanMetrics,
}

/// Span metrics carry the namespace (OpenTelemetry resource attribute `k8s.namespace.name`,
/// label `k8s_namespace_name`), so Grafana's environment overview can show spans per namespace.
#[derive(Serialize)]
struct SpanMetrics {
    dimensions: Vec<&'static str>,
}

#[derive(Serialize)]
struct GeneratorStorage {
    path: String,
    remote_write: Vec<RemoteWrite>,
}

#[derive(Serialize)]
struct RemoteWrite {
    url: String,
    /// Service-graph and span metrics carry exemplars that link back to traces.
    send_exemplars: bool,
}

/// The generator's processors are off until the overrides turn them on.
#[derive(Serialize)]
struct Overrides {
    defaults: OverrideDefaults,
}

#[derive(Serialize)]
struct OverrideDefaults {
    metrics_generator: GeneratorOverrides,
}

#[derive(Serialize)]
struct GeneratorOverrides {
    processors: Vec<&'static str>,
    /// The exemplar label of the trace id; Grafana's Mimir datasource reads the same constant
    /// (modules/overrides/config.go `trace_id_label_name`, default `traceID`).
    trace_id_label_name: &'static str,
}

fn config_text(cx: &Context, env_name: &str, env: &Environment, tempo: &Tempo) -> Result<String, Box<Diagnostic>> {
    let storage = cx.storage(&env.storage)?;
    let generator = env.mimir.is_some().then(|| MetricsGenerator {
        processor: Processor { span_metrics: SpanMetrics { dimensions: vec!["k8s.namespace.name"] } },
        storage: GeneratorStorage {
            path: format!("{DATA}/generator/wal"),
            remote_write: vec![RemoteWrite { url: mimir::push_url(&env.monitoring_namespace), send_exemplars: true }],
        },
    });
    let overrides = env.mimir.is_some().then(|| Overrides {
        defaults: OverrideDefaults {
            metrics_generator: GeneratorOverrides {
                processors: vec!["service-graphs", "span-metrics"],
                trace_id_label_name: address::EXEMPLAR_TRACE_ID_LABEL,
            },
        },
    });
    let config = Config {
        server: Server { http_listen_port: HTTP_PORT, grpc_listen_port: GRPC_PORT },
        distributor: Distributor {
            receivers: Receivers {
                otlp: Otlp {
                    protocols: Protocols {
                        grpc: Endpoint { endpoint: format!("0.0.0.0:{OTLP_GRPC_PORT}") },
                        http: Endpoint { endpoint: format!("0.0.0.0:{OTLP_HTTP_PORT}") },
                    },
                },
            },
        },
        storage: Storage {
            trace: Trace {
                backend: "s3",
                s3: S3 {
                    bucket: buckets::name(Backend::Tempo, env_name, Purpose::Blocks),
                    endpoint: seaweedfs::s3_endpoint(&env.storage, &storage.namespace),
                    access_key: "${S3_ACCESS_KEY_ID}",
                    secret_key: "${S3_SECRET_ACCESS_KEY}",
                    insecure: true,
                    forcepathstyle: seaweedfs::BUCKET_ADDRESSING == BucketAddressing::Path,
                },
                wal: Path { path: format!("{DATA}/wal") },
            },
        },
        backend_worker: BackendWorker { compaction: Compaction { block_retention: tempo.retention.in_hours() } },
        metrics_generator: generator,
        overrides,
        usage_report: UsageReport { reporting_enabled: false },
    };
    crate::serial::yaml(&config).map_err(|e| bug(format!("Tempo config of `{env_name}`: {e}")))
}

pub fn render(cx: &Context, env_name: &str, env: &Environment, tempo: &Tempo) -> Result<Rendered, Box<Diagnostic>> {
    let ns = env.monitoring_namespace.as_str();
    let pods = address::pods(env_name);
    let config = config_text(cx, env_name, env, tempo)?;
    let credentials = secrets::s3_credentials(cx.platform, env_name, Backend::Tempo);
    let c = workload::backend_container(
        "tempo",
        cx.image(Image::Tempo),
        vec![
            format!("-config.file={CONFIG_DIR}/{CONFIG_FILE}"),
            "-config.expand-env=true".to_string(),
            "-target=all".to_string(),
        ],
        &credentials,
        &[("http", HTTP_PORT), ("grpc", GRPC_PORT), ("otlp-grpc", OTLP_GRPC_PORT), ("otlp-http", OTLP_HTTP_PORT)],
        &tempo.resources,
        vec![pod::mount("config", CONFIG_DIR, true), pod::mount("data", DATA, false), pod::mount("tmp", "/tmp", false)],
    );
    let template = workload::template(
        &pods,
        vec![c],
        vec![pod::config_map_volume("config", "tempo"), pod::empty_dir("tmp", "1Gi")],
        Some(super::sha256(&config)),
    );
    let mut out = Rendered::default();
    out.push(workload::config_map("tempo", ns, &pods, BTreeMap::from([(CONFIG_FILE.to_string(), config.clone())])));
    out.push(workload::headless("tempo-headless", ns, &pods, &[("http", HTTP_PORT)]));
    out.push(workload::stateful_set("tempo", ns, &pods, tempo.replicas, "tempo-headless", template, &tempo.volume));
    out.push(workload::service(
        object::TEMPO,
        ns,
        &pods,
        &[("http", HTTP_PORT), ("otlp-grpc", OTLP_GRPC_PORT), ("otlp-http", OTLP_HTTP_PORT)],
    ));
    out.push(policy(cx, env, &pods));
    out.config_file(ns, CONFIG_FILE, &config);
    Ok(out)
}

/// Derived from the flow table: who dials it, and what it dials.
fn policy(cx: &Context, env: &Environment, pods: &Labels) -> NetworkPolicy {
    cx.policy("tempo", &env.monitoring_namespace, pods, true)
}
