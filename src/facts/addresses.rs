//! Addresses: how each component's pods are selected, which ports they listen on, and the
//! Service names and URLs other components dial. The renderer that runs a component and every
//! renderer that reaches it (a collector pushing, Grafana querying, a NetworkPolicy admitting)
//! read the same function here, so a port or a selector cannot disagree between the two ends.

use std::collections::BTreeMap;

use crate::names::{object, service_host, Backend};

/// Pod labels: a selector, or the labels an object carries.
pub type Labels = BTreeMap<String, String>;

pub const NAME_LABEL: &str = "app.kubernetes.io/name";
pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";

/// The labels that select a workload's pods: name, component and instance. Selectors stay this
/// small because a Deployment's selector can never change after creation.
pub fn selector(name: &str, component: &str, instance: &str) -> Labels {
    BTreeMap::from([
        (NAME_LABEL.to_string(), name.to_string()),
        (COMPONENT_LABEL.to_string(), component.to_string()),
        (INSTANCE_LABEL.to_string(), instance.to_string()),
    ])
}

/// Every pod of one instance of a component, whatever its role (a ring's members).
pub fn instance(name: &str, instance: &str) -> Labels {
    BTreeMap::from([(NAME_LABEL.to_string(), name.to_string()), (INSTANCE_LABEL.to_string(), instance.to_string())])
}

/// The Alloy collector of a managed namespace.
pub mod collector {
    use super::{selector, Labels};
    use crate::model::CollectorPorts;
    use crate::names::object::COLLECTOR;

    /// The collector's pods, in whichever namespace.
    pub fn pods() -> Labels {
        selector("alloy", "collector", COLLECTOR)
    }

    /// The receivers a collector opens for its namespace's signals, as (port name, port).
    pub fn receivers(signals: &crate::model::Signals, ports: &CollectorPorts) -> Vec<(&'static str, u16)> {
        let mut open = Vec::new();
        if signals.traces || signals.metrics {
            open.push(("otlp-grpc", ports.otlp_grpc));
            open.push(("otlp-http", ports.otlp_http));
        }
        if signals.faro {
            open.push(("faro", ports.faro));
        }
        if signals.profiles {
            open.push(("pyroscope", ports.pyroscope));
        }
        open
    }

    /// Every port of the collector pod, by the name `collector.ports` gives it: one table for
    /// the checker (no two alike) and the renderer (open those whose receiver is on).
    pub fn ports(ports: &CollectorPorts) -> [(&'static str, u16); 5] {
        [
            ("http", ports.http),
            ("otlp_grpc", ports.otlp_grpc),
            ("otlp_http", ports.otlp_http),
            ("faro", ports.faro),
            ("pyroscope", ports.pyroscope),
        ]
    }
}

/// Loki: `loki-write` takes pushes, `loki-read` answers queries, `loki-backend` runs the
/// compactor (Simple Scalable); in monolithic mode every replica does everything.
pub mod loki {
    use super::*;
    use crate::model::{Loki, LokiMode};

    pub const HTTP_PORT: u16 = 3100;
    pub const GRPC_PORT: u16 = 9095;
    pub const MEMBERLIST_PORT: u16 = 7946;
    pub const BACKEND_SERVICE: &str = "loki-backend";
    pub const MEMBERLIST_SERVICE: &str = "loki-memberlist";

    /// The pods of one Loki role (`write`, `read`, `backend`, or `all`).
    pub fn role_pods(environment: &str, role: &str) -> Labels {
        selector("loki", role, &Backend::Loki.instance(environment))
    }

    /// Every pod of an environment's Loki (the memberlist ring).
    pub fn ring(environment: &str) -> Labels {
        instance("loki", &Backend::Loki.instance(environment))
    }

    /// The pods that accept pushes: the write target, or every replica in monolithic mode.
    pub fn push_pods(environment: &str, loki: &Loki) -> Labels {
        role_pods(environment, if loki.mode == LokiMode::SimpleScalable { "write" } else { "all" })
    }

    /// The pods that answer queries.
    pub fn query_pods(environment: &str, loki: &Loki) -> Labels {
        role_pods(environment, if loki.mode == LokiMode::SimpleScalable { "read" } else { "all" })
    }

    pub fn push_url(monitoring_namespace: &str) -> String {
        format!("http://{}:{HTTP_PORT}/loki/api/v1/push", service_host(object::LOKI_PUSH, monitoring_namespace))
    }

    /// What Grafana queries.
    pub fn query_url(monitoring_namespace: &str) -> String {
        format!("http://{}:{HTTP_PORT}", service_host(object::LOKI_QUERY, monitoring_namespace))
    }

    /// Where read and write targets reach the compactor (delete requests).
    pub fn compactor_url(monitoring_namespace: &str, loki: &Loki) -> String {
        let service = match loki.mode {
            LokiMode::SimpleScalable => BACKEND_SERVICE,
            LokiMode::Monolithic => object::LOKI_QUERY,
        };
        format!("http://{}:{HTTP_PORT}", service_host(service, monitoring_namespace))
    }

    /// `dns+` makes dskit resolve the headless Service to every member's address.
    pub fn memberlist_join(monitoring_namespace: &str) -> String {
        format!("dns+{}:{MEMBERLIST_PORT}", service_host(MEMBERLIST_SERVICE, monitoring_namespace))
    }
}

/// Tempo: one monolithic instance per environment.
pub mod tempo {
    use super::*;

    pub const HTTP_PORT: u16 = 3200;
    pub const GRPC_PORT: u16 = 9095;
    pub const OTLP_GRPC_PORT: u16 = 4317;
    pub const OTLP_HTTP_PORT: u16 = 4318;

    /// The exemplar label that carries a trace id, at both ends of a metric-to-trace link: Tempo's
    /// metrics generator writes it (`overrides.defaults.metrics_generator.trace_id_label_name`)
    /// and Grafana's Mimir datasources read it (`exemplarTraceIdDestinations[].name`).
    /// `trace_id`, not Tempo's own default `traceID` (grafana/tempo v3.0.2
    /// modules/generator/registry/histogram.go), because the collectors' application metrics
    /// already carry `trace_id`: Alloy's `otelcol.exporter.prometheus` writes that name
    /// (grafana/alloy v1.18.1 internal/component/otelcol/exporter/prometheus/internal/convert/convert.go),
    /// so one name links span metrics and application metrics alike.
    pub const EXEMPLAR_TRACE_ID_LABEL: &str = "trace_id";

    pub fn pods(environment: &str) -> Labels {
        selector("tempo", "all", &Backend::Tempo.instance(environment))
    }

    /// Where collectors send OTLP traces (gRPC, plaintext inside the cluster).
    pub fn otlp_endpoint(monitoring_namespace: &str) -> String {
        format!("{}:{OTLP_GRPC_PORT}", service_host(object::TEMPO, monitoring_namespace))
    }

    /// What Grafana queries.
    pub fn query_url(monitoring_namespace: &str) -> String {
        format!("http://{}:{HTTP_PORT}", service_host(object::TEMPO, monitoring_namespace))
    }
}

/// Mimir: monolithic replicas in one ring per environment.
pub mod mimir {
    use super::*;

    pub const HTTP_PORT: u16 = 8080;
    pub const GRPC_PORT: u16 = 9095;
    pub const MEMBERLIST_PORT: u16 = 7946;
    pub const MEMBERLIST_SERVICE: &str = "mimir-memberlist";
    /// Where Mimir serves its Alertmanager: the `api.alertmanager_http_prefix` default, left as
    /// it is (grafana/mimir docs/sources/mimir/configure/configuration-parameters/index.md, `api`
    /// block; the `alertmanager.external_url` default has the same path, as it must).
    pub const ALERTMANAGER_HTTP_PREFIX: &str = "/alertmanager";

    pub fn pods(environment: &str) -> Labels {
        selector("mimir", "all", &Backend::Mimir.instance(environment))
    }

    /// Prometheus remote-write endpoint.
    pub fn push_url(monitoring_namespace: &str) -> String {
        format!("http://{}:{HTTP_PORT}/api/v1/push", service_host(object::MIMIR, monitoring_namespace))
    }

    /// What Grafana queries (Prometheus API under `/prometheus`).
    pub fn query_url(monitoring_namespace: &str) -> String {
        format!("http://{}:{HTTP_PORT}/prometheus", service_host(object::MIMIR, monitoring_namespace))
    }

    pub fn memberlist_join(monitoring_namespace: &str) -> String {
        format!("dns+{}:{MEMBERLIST_PORT}", service_host(MEMBERLIST_SERVICE, monitoring_namespace))
    }

    /// The ruler's Alertmanager: the one in its own process (`-target=all,alertmanager`). The
    /// base URL with the prefix; the ruler's notifier appends `/api/v2/alerts` (grafana/mimir
    /// pkg/ruler/notifier.go; Mimir's own tutorial config uses this URL,
    /// docs/sources/mimir/get-started/play-with-grafana-mimir/config/mimir.yaml).
    pub fn local_alertmanager_url() -> String {
        format!("http://localhost:{HTTP_PORT}{ALERTMANAGER_HTTP_PREFIX}")
    }
}

/// Pyroscope: one monolithic instance per environment that has it.
pub mod pyroscope {
    use super::*;

    pub const HTTP_PORT: u16 = 4040;

    pub fn pods(environment: &str) -> Labels {
        selector("pyroscope", "all", &Backend::Pyroscope.instance(environment))
    }

    pub fn url(monitoring_namespace: &str) -> String {
        format!("http://{}:{HTTP_PORT}", service_host(object::PYROSCOPE, monitoring_namespace))
    }
}

/// The query port and pods of an environment's backend: what a query client (Grafana) dials.
pub fn query_port(backend: Backend) -> u16 {
    match backend {
        Backend::Loki => loki::HTTP_PORT,
        Backend::Tempo => tempo::HTTP_PORT,
        Backend::Mimir => mimir::HTTP_PORT,
        Backend::Pyroscope => pyroscope::HTTP_PORT,
    }
}

/// SeaweedFS: reached from outside its instance only through the S3 gateway Service.
pub mod seaweedfs {
    use super::*;
    use crate::model::StorageInstance;

    pub const S3_PORT: u16 = 8333;
    pub const MASTER_PORT: u16 = 9333;
    pub const VOLUME_PORT: u16 = 8080;
    pub const FILER_PORT: u16 = 8888;
    /// Every role's `-metricsPort` (SeaweedFS serves no metrics without one).
    pub const METRICS_PORT: u16 = 9327;
    /// SeaweedFS serves gRPC on the HTTP port + 10000.
    pub const GRPC_OFFSET: u16 = 10000;

    /// The pods of one role of an instance (`master`, `volume`, `filer`, `s3`, `server`,
    /// `buckets`).
    pub fn role_pods(instance: &str, role: &str) -> Labels {
        selector("seaweedfs", role, instance)
    }

    /// How a client names the bucket in an S3 request: in the path (`host/bucket/key`) or in the
    /// host name (`bucket.host/key`). Each backend spells the choice its own way; this is the
    /// choice, the backends' renderers write it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum BucketAddressing {
        Path,
        VirtualHost,
    }

    /// The S3 gateway is reached by its Service name and has no `-domainName`, so it serves
    /// buckets by path only.
    pub const BUCKET_ADDRESSING: BucketAddressing = BucketAddressing::Path;

    pub fn s3_service(instance: &str) -> String {
        format!("{instance}-s3")
    }

    /// The S3 endpoint (host:port) backends use.
    pub fn s3_endpoint(instance: &str, namespace: &str) -> String {
        format!("{}:{S3_PORT}", service_host(&s3_service(instance), namespace))
    }

    /// The pods serving S3: the gateway Deployment, or the single server when not HA.
    pub fn s3_pods(instance: &str, storage: &StorageInstance) -> Labels {
        selector("seaweedfs", if storage.ha { "s3" } else { "server" }, instance)
    }

    /// Every pod of one instance.
    pub fn instance_pods(instance: &str) -> Labels {
        super::instance("seaweedfs", instance)
    }
}

/// A Grafana.
pub mod grafana {
    use super::*;

    pub const HTTP_PORT: u16 = 3000;
    /// Alertmanager gossip between the replicas (memberlist: TCP and UDP).
    pub const ALERTING_PORT: u16 = 9094;
    /// The `app.kubernetes.io/name` of every object of a Grafana, also those it puts in the
    /// namespaces it reads dashboards from.
    pub const NAME: &str = "grafana";

    pub fn pods(grafana_name: &str) -> Labels {
        selector(NAME, "server", grafana_name)
    }
}
